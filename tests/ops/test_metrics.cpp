// The metrics file is checked with an independent parser (python3-prometheus-client) when present.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <sstream>

#include "daemon/ops/metrics.hpp"
#include "common/test_support.hpp"

using deepclean::daemon::Metrics;
using deepclean::daemon::SecondEvent;

namespace {

std::string run(const std::string& cmd) {
  std::string out;
  deepclean::testing::run_shell(cmd, &out);
  return out;
}

std::unique_ptr<Metrics> sample() {
  auto p = std::make_unique<Metrics>("0.1.0", "cpu", "abc123", "v1", 0.75);
  Metrics& m = *p;
  m.count(SecondEvent::In, 10);
  m.count(SecondEvent::Out, 9);
  m.count(SecondEvent::Missing);
  m.segment_started();
  m.segment_started();
  m.output_written(1400000009, 0.3, "arrival", 1);
  m.output_written(1400000010, 0.03, "timeout", 2);
  m.stage_time("infer", 0.25);
  m.stage_time("infer", 0.5);
  m.band_asd_ratio("55-65", 0.12);
  return p;
}

}  // namespace

TEST(Metrics, TextHasNoTimestampsAndCumulativeBuckets) {
  const std::string text = sample()->render();
  EXPECT_NE(text.find("deepclean_seconds_total{event=\"in\"} 10\n"), std::string::npos) << text;
  EXPECT_NE(text.find("deepclean_seconds_total{event=\"missing\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("deepclean_segments_started_total 2\n"), std::string::npos);
  EXPECT_NE(text.find("deepclean_last_output_gps_seconds 1400000010\n"), std::string::npos);
  EXPECT_NE(text.find("deepclean_latency_seconds_bucket{le=\"0.05\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("deepclean_latency_seconds_bucket{le=\"0.5\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("deepclean_stage_seconds_total{stage=\"infer\"} 0.75\n"), std::string::npos);
  EXPECT_NE(text.find("deepclean_outputs_completed_total{by=\"arrival\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("deepclean_outputs_completed_total{by=\"timeout\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("deepclean_outputs_completed_total{by=\"flush\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("deepclean_output_input_lag_seconds 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("deepclean_info{device=\"cpu\",model_id=\"abc123\",model_version=\"v1\","
                      "version=\"0.1.0\"} 1\n"),
            std::string::npos);
  // node_exporter rejects a whole file with client-side timestamps: every sample line must end
  // right after its value.
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto close = line.rfind('}');
    const std::string tail = line.substr(close == std::string::npos ? 0 : close + 1);
    std::istringstream fields(tail);
    std::string name_or_value, value, extra;
    fields >> name_or_value >> value >> extra;
    EXPECT_TRUE(extra.empty()) << "timestamp in: " << line;
  }
  EXPECT_EQ(text.back(), '\n');
}

TEST(Metrics, FileIsWrittenAtomicallyAndParsesWithPrometheusClient) {
  const std::string dir = std::filesystem::temp_directory_path() / "deepclean-metrics-test";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/deepclean_H1.prom";
  std::string error;
  ASSERT_TRUE(sample()->write(path, error)) << error;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    EXPECT_EQ(e.path().filename(), "deepclean_H1.prom");  // no temporary left behind
  }
  if (run(std::string(DEEPCLEAN_PYTHON) + " -c 'import prometheus_client' 2>&1").find("Error") !=
      std::string::npos) {
    std::filesystem::remove_all(dir);
    GTEST_SKIP() << "python3-prometheus-client is not installed (tools/install-deps.sh installs it)";
  }
  const std::string script =
      "import sys\n"
      "from prometheus_client.parser import text_string_to_metric_families as parse\n"
      "for fam in parse(open(sys.argv[1]).read()):\n"
      "    for s in fam.samples:\n"
      "        if s.timestamp is not None: print('TIMESTAMP', s.name)\n"
      "        if s.name in ('deepclean_seconds_total', 'deepclean_latency_seconds_count',\n"
      "                      'deepclean_band_asd_ratio'):\n"
      "            print(s.name, ','.join(f'{k}={v}' for k, v in sorted(s.labels.items())), s.value)\n";
  std::ofstream(dir + "/parse.py") << script;
  const std::string out = run(std::string(DEEPCLEAN_PYTHON) + " " + dir + "/parse.py " + path);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(out.find("TIMESTAMP"), std::string::npos) << out;
  EXPECT_NE(out.find("deepclean_seconds_total event=out 9.0"), std::string::npos) << out;
  EXPECT_NE(out.find("deepclean_latency_seconds_count  2.0"), std::string::npos) << out;
  EXPECT_NE(out.find("deepclean_band_asd_ratio band=55-65 0.12"), std::string::npos) << out;
}

TEST(Metrics, UnwritableDirectoryIsReportedNotThrown) {
  std::string error;
  EXPECT_FALSE(sample()->write("/nonexistent-dir/x.prom", error));
  EXPECT_NE(error.find("/nonexistent-dir/x.prom.tmp."), std::string::npos) << error;
}

TEST(Metrics, GpuMemoryGaugeOnlyOnceReported) {
  Metrics m("0.1.0", "cpu", "abc", "v1", 0.5);
  EXPECT_EQ(m.render().find("deepclean_gpu_memory_bytes"), std::string::npos)
      << "a CPU service has no GPU memory metric";
  m.gpu_memory(123456789.0);
  EXPECT_NE(m.render().find("deepclean_gpu_memory_bytes 123456789\n"), std::string::npos) << m.render();
  m.gpu_memory(1024.0);
  EXPECT_NE(m.render().find("deepclean_gpu_memory_bytes 1024\n"), std::string::npos) << m.render();
}

TEST(Metrics, InotifyOverflowCounter) {
  Metrics m("0.1.0", "cpu", "abc", "v1", 0.5);
  EXPECT_NE(m.render().find("deepclean_inotify_overflows_total 0\n"), std::string::npos);
  m.inotify_overflow();
  m.inotify_overflow();
  EXPECT_NE(m.render().find("deepclean_inotify_overflows_total 2\n"), std::string::npos);
}

TEST(Metrics, GateOpenGatedSecondsTransitionsAndRatios) {
  Metrics m("0.1.0", "cpu", "abc", "v1", 0.5);
  const std::string fresh = m.render();
  EXPECT_NE(fresh.find("deepclean_gate_open 1\n"), std::string::npos) << fresh;
  EXPECT_NE(fresh.find("deepclean_gated_seconds_total{reason=\"input\"} 0\n"), std::string::npos) << fresh;
  // The closing second counts the share of its samples with q < 1; the reopening ramp is not counted.
  m.gate(false, "band", 0.9375, true, {{"55-65", 1.33}, {"45-55", 0.99}}, {false, true});
  m.gate(false, "band", 1.0, false, {{"55-65", 1.9}, {"45-55", 1.0}}, {false, true});
  m.gate(true, "", 0.25, true, {{"55-65", 0.0625}, {"45-55", 0.95}}, {false, true});  // reopening ramp: not counted
  const std::string r = m.render();
  EXPECT_NE(r.find("deepclean_gate_open 1\n"), std::string::npos) << r;
  EXPECT_NE(r.find("deepclean_gated_seconds_total{reason=\"band\"} 1.9375\n"), std::string::npos) << r;
  EXPECT_NE(r.find("deepclean_gate_transitions_total{to=\"closed\"} 1\n"), std::string::npos) << r;
  EXPECT_NE(r.find("deepclean_gate_transitions_total{to=\"open\"} 1\n"), std::string::npos) << r;
  EXPECT_NE(r.find("deepclean_gate_ratio{kind=\"band\",region=\"55-65\"} 0.0625\n"), std::string::npos) << r;
  EXPECT_NE(r.find("deepclean_gate_ratio{kind=\"guard\",region=\"45-55\"} 0.95\n"), std::string::npos) << r;
}

// Every metric the service can write is named in the operator guide's table and in the README.
TEST(Metrics, EveryMetricIsDocumented) {
  auto m = sample();
  m->gpu_memory(1.0);  // the CUDA-only gauge too
  m->reload(true);
  m->gate(true, "", 0, false, {{"55-65", 0.06}}, {false});  // the gate's ratio gauge has series
  m->model_slots({{"production", "v1", "id1"}, {"canary", "v2", "id2"}}, 3, 300, {{"55-65", false, 0.06, 0.05}});
  m->model_decision("canary");  // the model lifecycle's families have series
  m->training_archive({1e6, 64, 1, 0, 0});  // the training archive's, registered on the first call
  std::set<std::string> families;
  std::istringstream lines(m->render());
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    std::istringstream f(line.substr(7));
    std::string name;
    f >> name;
    families.insert(name);
  }
  EXPECT_EQ(families.size(), 30u) << "the rows of the table in docs/operations.md#metrics";
  const auto read = [](const std::string& rel) {
    std::ifstream in(std::string(DEEPCLEAN_SOURCE_DIR) + "/" + rel);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  const std::string ops = read("docs/operations.md"), readme = read("README.md");
  ASSERT_FALSE(ops.empty());
  ASSERT_FALSE(readme.empty());
  for (const auto& name : families) {
    EXPECT_NE(ops.find("| `" + name + "` |"), std::string::npos) << name << " missing from docs/operations.md#metrics";
    EXPECT_NE(readme.find("`" + name), std::string::npos) << name << " missing from README.md";
  }
}

TEST(Metrics, ReloadReplacesTheInfoLabels) {
  Metrics m("0.1.0", "cpu", "abc", "v1", 0.5);
  m.model("def", "v2");
  std::string text = m.render();
  EXPECT_NE(text.find("deepclean_info{device=\"cpu\",model_id=\"def\",model_version=\"v2\",version=\"0.1.0\"} 1\n"),
            std::string::npos) << text;
  EXPECT_EQ(text.find("model_id=\"abc\""), std::string::npos) << "one info sample only";
  m.model("ghi", "v3", "cuda:0");
  text = m.render();
  EXPECT_NE(text.find("deepclean_info{device=\"cuda:0\",model_id=\"ghi\",model_version=\"v3\",version=\"0.1.0\"} 1\n"),
            std::string::npos) << text;
}

// The model slots (docs/model-lifecycle.md): each call replaces the set of loaded versions and the
// canary's figures; decisions count by action.
TEST(Metrics, ModelSlotsReplaceTheLoadedSetAndDecisionsCountByAction) {
  Metrics m("0.1.0", "cpu", "abc", "v1", 0.5);
  m.model_slots({{"production", "v1", "id1"}, {"canary", "v2", "id2"}}, 3, 300,
                {{"55-65", false, 0.06, 0.05}, {"45-55", true, 0.9, 0.95}});
  std::string r = m.render();
  EXPECT_NE(r.find("deepclean_model_slot_info{model_id=\"id1\",role=\"production\",version=\"v1\"} 1\n"), std::string::npos) << r;
  EXPECT_NE(r.find("deepclean_model_slot_info{model_id=\"id2\",role=\"canary\",version=\"v2\"} 1\n"), std::string::npos) << r;
  EXPECT_NE(r.find("deepclean_canary_validation_seconds 3\n"), std::string::npos) << r;
  EXPECT_NE(r.find("deepclean_canary_validation_needed_seconds 300\n"), std::string::npos) << r;
  EXPECT_NE(r.find("deepclean_canary_band_ratio{kind=\"band\",model=\"canary\",region=\"55-65\"} 0.05\n"), std::string::npos) << r;
  EXPECT_NE(r.find("deepclean_canary_band_ratio{kind=\"guard\",model=\"production\",region=\"45-55\"} 0.9\n"), std::string::npos) << r;
  // Promoted: v2 production, v1 standby, no canary, no ratios.
  m.model_slots({{"production", "v2", "id2"}, {"standby", "v1", "id1"}}, 0, 0, {});
  m.model_decision("promoted");
  m.model_decision("canary");
  m.model_decision("canary");
  r = m.render();
  EXPECT_EQ(r.find("role=\"canary\""), std::string::npos) << r;
  EXPECT_EQ(r.find("deepclean_canary_band_ratio{"), std::string::npos) << r;
  EXPECT_NE(r.find("deepclean_model_slot_info{model_id=\"id1\",role=\"standby\",version=\"v1\"} 1\n"), std::string::npos) << r;
  EXPECT_NE(r.find("deepclean_canary_validation_seconds 0\n"), std::string::npos) << r;
  EXPECT_NE(r.find("deepclean_model_decisions_total{action=\"promoted\"} 1\n"), std::string::npos) << r;
  EXPECT_NE(r.find("deepclean_model_decisions_total{action=\"canary\"} 2\n"), std::string::npos) << r;
}

// The training archive's figures: absent until the first call; counters follow the writer's totals.
TEST(Metrics, TrainingArchiveAppearsOnlyWithAnArchiveAndCountsChunksByResult) {
  Metrics m("0.1.0", "cpu", "abc", "v1", 0.5);
  EXPECT_EQ(m.render().find("deepclean_training_archive"), std::string::npos);
  m.training_archive({2.5e6, 128, 2, 0, 0});
  m.training_archive({3.5e6, 192, 5, 2, 1});
  const std::string r = m.render();
  EXPECT_NE(r.find("deepclean_training_archive_bytes 3500000\n"), std::string::npos) << r;
  EXPECT_NE(r.find("deepclean_training_archive_seconds 192\n"), std::string::npos) << r;
  EXPECT_NE(r.find("deepclean_training_archive_chunks_total{result=\"written\"} 5\n"), std::string::npos) << r;
  EXPECT_NE(r.find("deepclean_training_archive_chunks_total{result=\"removed\"} 2\n"), std::string::npos) << r;
  EXPECT_NE(r.find("deepclean_training_archive_chunks_total{result=\"dropped\"} 1\n"), std::string::npos) << r;
}
