// Every key of the configuration reference (docs/configuration.md) is known to config::keys(), and
// changing any one of them is seen as exactly that change: a reload cannot miss a key
// (config::changed_cleaning_keys decides whether it keeps the running pipeline).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace dc = deepclean::config;

namespace {

// The keys of docs/configuration.md: the first column of its tables, prefixed by the section
// ("## `input`" -> "input."); `logging` and `metrics` rows carry their full path; `ifo` is a section.
std::set<std::string> reference_keys() {
  std::ifstream in(std::string(DEEPCLEAN_SOURCE_DIR) + "/docs/configuration.md");
  EXPECT_TRUE(in.good());
  std::set<std::string> keys;
  std::string line, section;
  const std::regex heading("^## `([a-z_]+)`");
  const std::regex row("^\\| (`[^|]*`) \\|");
  const std::regex name("`([a-z0-9_.]+)`");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, heading)) {
      section = m[1];
      if (section == "ifo") keys.insert("ifo");
      continue;
    }
    if (line.rfind("## ", 0) == 0) section = line.find("`logging`") != std::string::npos ? "logging" : "";
    if (section.empty() || section == "ifo" || !std::regex_search(line, m, row)) continue;
    const std::string cell = m[1];
    for (auto it = std::sregex_iterator(cell.begin(), cell.end(), name); it != std::sregex_iterator(); ++it) {
      const std::string k = (*it)[1];
      keys.insert(section == "logging" ? k : section + "." + k);
    }
  }
  return keys;
}

// Every key set explicitly (so that no default derived from another key moves with it).
const char* kFull = R"(ifo: H1
input:
  strain: {directory: /in/strain, frame_type: H1_llhoft, observatory: H, channel: H1:GDS-CALIB_STRAIN}
  witness: {directory: /in/witness, frame_type: H1_lldetchar, observatory: H}
  state_vector: {channel: H1:GDS-CALIB_STATE_VECTOR, mask: 3}
  timeout_seconds: 2
  poll: false
  poll_interval_seconds: 0.05
  start: resume
output:
  directory: /out
  frame_type: H1_llhoft_DEEPCLEAN
  channel: H1:GDS-CALIB_STRAIN_DEEPCLEAN
  noise_channel: H1:DEEPCLEAN-NOISE
  state_vector_channel: H1:DEEPCLEAN-STATE_VECTOR
  passthrough: [H1:GDS-CALIB_STATE_VECTOR]
  compression: raw
  zlib_level: 1
  retention_seconds: 0
model: {bundle: /models/h1, device: cuda, threads: 1, batch_size: 64, fp16: false, cuda_graph: false,
        witness_buffer: auto, check_timeout_seconds: 120}
models: {repository: /models/repo, archive: /models/archive, candidate_directory: /out/canary,
         candidate_frame_type: H1_llhoft_DEEPCLEAN_CANARY, validation_seconds: 300, margin: 0.02,
         max_compute_seconds: 0.5, probation_seconds: 600, crossfade_seconds: 1, scan_interval_seconds: 10}
inference: {kernel_seconds: 1, sampling_rate: 32, aggregation_seconds: 0.5}
bandpass: {method: fir, memory_seconds: 10, look_ahead_seconds: 0.4375, kaiser_beta: 6, bands: [[54, 66]],
           order: 8}
subtraction: {taper_seconds: 1}
gate: {enabled: true, window_seconds: 4, segment_seconds: 0.25, guard_segment_seconds: 1,
       guard_window_seconds: 32, guard_hz: 10, close_above: 1.0, onset_close_above: 1.25, onset_floor: 0.0625,
       open_below: 0.9,
       guard_close_above: 1.1, guard_onset_close_above: 2.5, guard_open_below: 1.05, min_closed_seconds: 8,
       recover_seconds: 8, ramp_down_seconds: 0.25, ramp_up_seconds: 1, max_zscore: 10, flatline: true,
       saturation_fraction: 0.01}
logging: {level: info}
metrics: {path: /run/deepclean/H1.prom}
control: {socket: /run/deepclean/H1.sock}
training_archive: {directory: /archive/H1, frame_type: H1_DEEPCLEAN_ARCHIVE, span_seconds: 8192, chunk_seconds: 64,
                   max_megabytes: 0}
retrain: {span_seconds: 4096, held_out_fraction: 0.1, min_good_fraction: 0.5, cadence_seconds: 2048,
          min_span_seconds: 1024, relock_gap_seconds: 120, poll_seconds: 30, learning_rate: 0.005, epochs: 6,
          kernel_stride_seconds: 1, threads: 2}
)";

// Another valid value for each key (YAML).
const std::map<std::string, std::string> kOther = {
    {"ifo", "L1"},
    {"input.strain.directory", "/in/other"},
    {"input.strain.frame_type", "H1_HOFT_C00"},
    {"input.strain.observatory", "X"},
    {"input.strain.channel", "H1:GDS-CALIB_STRAIN_CLEAN"},
    {"input.witness.directory", "/in/other-witness"},
    {"input.witness.frame_type", "H1_R"},
    {"input.witness.observatory", "X"},
    {"input.state_vector.channel", "H1:DMT-DQ_VECTOR"},
    {"input.state_vector.mask", "1"},
    {"input.timeout_seconds", "3"},
    {"input.poll", "true"},
    {"input.poll_interval_seconds", "0.1"},
    {"input.start", "newest"},
    {"output.directory", "/out2"},
    {"output.frame_type", "H1_CLEAN"},
    {"output.channel", "H1:CLEAN"},
    {"output.noise_channel", "H1:NOISE"},
    {"output.state_vector_channel", "H1:SV"},
    {"output.passthrough", "[]"},
    {"output.compression", "zlib"},
    {"output.zlib_level", "6"},
    {"output.retention_seconds", "3600"},
    {"model.bundle", "/models/other"},
    {"model.device", "cuda:1"},
    {"model.threads", "2"},
    {"model.batch_size", "32"},
    {"model.fp16", "true"},
    {"model.cuda_graph", "true"},
    {"model.witness_buffer", "host"},
    {"model.check_timeout_seconds", "30"},
    {"inference.kernel_seconds", "2"},
    {"inference.sampling_rate", "64"},
    {"inference.aggregation_seconds", "0.25"},
    {"bandpass.method", "window"},
    {"bandpass.memory_seconds", "5"},
    {"bandpass.look_ahead_seconds", "0.5"},
    {"bandpass.kaiser_beta", "8"},
    {"bandpass.bands", "[[53, 67]]"},
    {"bandpass.order", "4"},
    {"subtraction.taper_seconds", "0.5"},
    {"gate.enabled", "false"},
    {"gate.window_seconds", "8"},
    {"gate.segment_seconds", "0.5"},
    {"gate.guard_segment_seconds", "2"},
    {"gate.guard_window_seconds", "16"},
    {"gate.guard_hz", "5"},
    {"gate.close_above", "1.2"},
    {"gate.onset_close_above", "1.5"},
    {"gate.onset_floor", "0"},
    {"gate.open_below", "0.8"},
    {"gate.guard_close_above", "1.2"},
    {"gate.guard_onset_close_above", "1.5"},
    {"gate.guard_open_below", "1.0"},
    {"gate.min_closed_seconds", "4"},
    {"gate.recover_seconds", "4"},
    {"gate.ramp_down_seconds", "0.5"},
    {"gate.ramp_up_seconds", "2"},
    {"gate.max_zscore", "20"},
    {"gate.flatline", "false"},
    {"gate.saturation_fraction", "0.05"},
    {"logging.level", "debug"},
    {"metrics.path", "/run/deepclean/other.prom"},
    {"models.repository", "/models/other-repo"},
    {"models.archive", "/models/other-archive"},
    {"models.candidate_directory", "/out/other-canary"},
    {"models.candidate_frame_type", "H1_CANARY"},
    {"models.validation_seconds", "60"},
    {"models.margin", "0"},
    {"models.max_compute_seconds", "0.25"},
    {"models.probation_seconds", "0"},
    {"models.crossfade_seconds", "0"},
    {"models.scan_interval_seconds", "1"},
    {"control.socket", "/run/deepclean/other.sock"},
    {"training_archive.directory", "/archive/other"},
    {"training_archive.frame_type", "H1_TRAINING"},
    {"training_archive.span_seconds", "4096"},
    {"training_archive.chunk_seconds", "32"},
    {"training_archive.max_megabytes", "2048"},
    {"retrain.span_seconds", "2048"},
    {"retrain.held_out_fraction", "0.2"},
    {"retrain.min_good_fraction", "0.8"},
    {"retrain.cadence_seconds", "600"},
    {"retrain.min_span_seconds", "512"},
    {"retrain.relock_gap_seconds", "600"},
    {"retrain.poll_seconds", "5"},
    {"retrain.learning_rate", "0.001"},
    {"retrain.epochs", "3"},
    {"retrain.kernel_stride_seconds", "0.5"},
    {"retrain.threads", "4"},
};

std::string with(const std::string& key, const std::string& value) {
  YAML::Node root = YAML::Load(kFull);
  std::vector<std::string> parts;
  std::stringstream ss(key);
  for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
  // yaml-cpp's operator[] on a node returns a handle into the tree: walk down, then assign.
  std::vector<YAML::Node> path{root};
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) path.push_back(path.back()[parts[i]]);
  path.back()[parts.back()] = YAML::Load(value);
  YAML::Emitter out;
  out << root;
  return out.c_str();
}

}  // namespace

TEST(ConfigKeys, TheReferenceAndTheKeyTableNameTheSameKeys) {
  const std::set<std::string> doc = reference_keys();
  std::set<std::string> table;
  for (const auto& k : dc::keys()) table.insert(k.key);
  ASSERT_GT(doc.size(), 50u) << "the reference's tables were not read";
  for (const auto& k : doc) EXPECT_EQ(table.count(k), 1u) << k << " is in docs/configuration.md but not in config::keys()";
  for (const auto& k : table) EXPECT_EQ(doc.count(k), 1u) << k << " is in config::keys() but not in docs/configuration.md";
}

TEST(ConfigKeys, ChangingAnyOneKeyIsSeenAsExactlyThatKey) {
  const dc::Config base = dc::parse_config(kFull, "full.yaml");
  EXPECT_TRUE(dc::changed_keys(base, dc::parse_config(kFull, "again.yaml")).empty());
  for (const auto& k : dc::keys()) {
    const auto it = kOther.find(k.key);
    ASSERT_NE(it, kOther.end()) << k.key << ": give it another value in kOther";
    dc::Config changed;
    try {
      changed = dc::parse_config(with(k.key, it->second), "changed.yaml");
    } catch (const std::exception& e) {
      ADD_FAILURE() << k.key << ": " << e.what();
      continue;
    }
    EXPECT_EQ(dc::changed_keys(changed, base), std::vector<std::string>{k.key}) << k.key;
    EXPECT_EQ(dc::changed_cleaning_keys(changed, base).size(), k.cleaning() ? 1u : 0u) << k.key;
    EXPECT_EQ(dc::changed_restart_keys(changed, base).size(), k.restart() ? 1u : 0u) << k.key;
    // The values `deepclean ctl config` shows differ in exactly that key.
    const auto was = dc::key_values(base), now = dc::key_values(changed);
    ASSERT_EQ(was.size(), now.size());
    for (std::size_t i = 0; i < was.size(); ++i) {
      EXPECT_EQ(was[i].first, now[i].first);
      EXPECT_EQ(was[i].second == now[i].second, was[i].first != k.key) << k.key << " vs " << was[i].first;
    }
    // Compared as wholes, exactly the key's own section differs (ifo is a top-level member).
    const std::string section = k.key.substr(0, k.key.find('.'));
    const std::map<std::string, bool> same = {
        {"ifo", changed.ifo == base.ifo},
        {"input", changed.input == base.input},
        {"output", changed.output == base.output},
        {"model", changed.model == base.model},
        {"models", changed.models == base.models},
        {"inference", changed.inference == base.inference},
        {"bandpass", changed.bandpass == base.bandpass},
        {"subtraction", changed.subtraction == base.subtraction},
        {"gate", changed.gate == base.gate},
        {"logging", changed.logging == base.logging},
        {"control", changed.control == base.control},
        {"metrics", changed.metrics == base.metrics},
        {"training_archive", changed.training_archive == base.training_archive},
        {"retrain", changed.retrain == base.retrain},
    };
    ASSERT_EQ(same.count(section), 1u) << k.key << ": a key of no known section";
    for (const auto& [name, equal] : same) EXPECT_EQ(equal, name != section) << k.key << " vs section " << name;
  }
}

// The classification a reload relies on: what shapes the output restarts the pipeline (the gate's
// settings included), operations alone do not.
TEST(ConfigKeys, GateSettingsAreCleaningAndLoggingIsNot) {
  std::map<std::string, bool> cleaning;
  for (const auto& k : dc::keys()) cleaning[k.key] = k.cleaning();
  EXPECT_TRUE(cleaning.at("gate.close_above"));
  EXPECT_TRUE(cleaning.at("gate.enabled"));
  EXPECT_TRUE(cleaning.at("model.witness_buffer"));
  EXPECT_TRUE(cleaning.at("bandpass.look_ahead_seconds"));
  EXPECT_FALSE(cleaning.at("logging.level"));
  EXPECT_FALSE(cleaning.at("metrics.path"));
  EXPECT_FALSE(cleaning.at("input.timeout_seconds"));
  EXPECT_FALSE(cleaning.at("output.retention_seconds"));
}

// What a reload cannot apply is what the running process bound at start: the watched input, the
// control socket, the repository, the training archive, LibTorch's thread pool.
TEST(ConfigKeys, KeysBoundAtStartNeedARestartAndTheRestAreApplied) {
  std::set<std::string> restart;
  for (const auto& k : dc::keys()) {
    if (k.restart()) restart.insert(k.key);
    EXPECT_FALSE(k.restart() && k.cleaning()) << k.key;
  }
  const std::set<std::string> expected = {
      "ifo", "input.strain.directory", "input.strain.frame_type", "input.strain.observatory",
      "input.witness.directory", "input.witness.frame_type", "input.witness.observatory", "input.poll",
      "input.poll_interval_seconds", "input.start", "model.threads", "models.repository", "models.archive",
      "control.socket", "training_archive.directory", "training_archive.frame_type", "training_archive.span_seconds",
      "training_archive.chunk_seconds", "training_archive.max_megabytes"};
  EXPECT_EQ(restart, expected);
}

// The text of a value: what the reference would write, numbers in their shortest exact form.
TEST(ConfigKeys, ValuesAreShownAsTheFileWritesThem) {
  std::map<std::string, std::string> v;
  for (const auto& [k, x] : dc::key_values(dc::parse_config(kFull, "full.yaml"))) v[k] = x;
  std::map<std::string, std::string> other(kOther.begin(), kOther.end());
  EXPECT_EQ(v.at("ifo"), "H1");
  EXPECT_EQ(v.at("input.state_vector.mask"), "3");
  EXPECT_EQ(v.at("input.start"), "resume");
  EXPECT_EQ(v.at("input.poll_interval_seconds"), "0.05");
  EXPECT_EQ(v.at("bandpass.method"), "fir");
  EXPECT_EQ(v.at("bandpass.look_ahead_seconds"), "0.4375");
  EXPECT_EQ(v.at("bandpass.bands"), "[[54, 66]]");
  EXPECT_EQ(v.at("output.passthrough"), "[H1:GDS-CALIB_STATE_VECTOR]");
  for (const char* key : {"gate.close_above", "retrain.learning_rate", "bandpass.bands", "output.passthrough",
                          "input.start", "model.fp16"}) {
    const dc::Config c = dc::parse_config(with(key, other.at(key)), "changed.yaml");
    std::map<std::string, std::string> w;
    for (const auto& [k, x] : dc::key_values(c)) w[k] = x;
    EXPECT_EQ(w.at(key), other.at(key)) << key;
  }
}
