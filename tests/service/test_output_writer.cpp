// The service's output side (daemon/service/output_writer.hpp) on its own: frames published and
// read back, a directory that cannot be written (its parent is a file) holding the queue
// with a one-second back-off and no frame lost, and retention deleting exactly the frames older
// than retention_seconds behind the newest.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/ops/logging.hpp"
#include "daemon/ops/metrics.hpp"
#include "daemon/pipeline/output.hpp"
#include "daemon/pipeline/pipeline.hpp"
#include "daemon/service/output_writer.hpp"
#include "io/gwf/reader.hpp"

namespace deepclean::daemon {
namespace {

namespace fs = std::filesystem;

config::Config config_for(const fs::path& out_dir, int retention_seconds) {
  const std::string yaml = "ifo: H1\n"
                           "input:\n  strain:\n    directory: /nonexistent/in\n    frame_type: H1_llhoft\n"
                           "    channel: H1:GDS-CALIB_STRAIN\n"
                           "output:\n  directory: " + out_dir.string() + "\n  retention_seconds: " +
                           std::to_string(retention_seconds) + "\n"
                           "model:\n  bundle: /nonexistent/bundle\n";
  return config::parse_config(yaml, "test.yaml");
}

OutputSecond second(std::uint64_t gps) {
  OutputSecond o;
  o.gps = gps;
  o.raw_strain.name = "H1:GDS-CALIB_STRAIN";
  o.raw_strain.sample_rate = 64;
  std::vector<double> h(64);
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = 1e-21 * static_cast<double>(gps % 7 + i);
  o.raw_strain.data = gwf::Vect::make(o.raw_strain.name, h, 64, "strain");
  o.cleaned = h;
  o.state.assign(kStateRate, kInputOk);
  return o;
}

std::vector<OutputSecond> seconds(std::uint64_t first, std::uint64_t n) {
  std::vector<OutputSecond> v;
  for (std::uint64_t g = first; g < first + n; ++g) v.push_back(second(g));
  return v;
}

double counter(const Metrics& m, const fs::path& file, const std::string& name) {
  std::string error;
  EXPECT_TRUE(m.write(file.string(), error)) << error;
  std::ifstream in(file);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::smatch match;
  if (!std::regex_search(text, match, std::regex("\n" + name + " ([0-9.e+]+)"))) return -1;
  return std::stod(match[1]);
}

struct Fixture {
  fs::path root = fs::temp_directory_path() / ("output-writer-" + std::to_string(::getpid()));
  Metrics metrics{"test", "cpu", "id", "version", 1.0};
  RateLimitedWarnings warnings{std::chrono::seconds(30), 3};
  std::vector<std::string> statuses;
  Fixture() {
    fs::remove_all(root);
    fs::create_directories(root);
  }
  ~Fixture() { fs::remove_all(root); }
  OutputWriter writer(const config::Config& cfg) {
    return OutputWriter(cfg, metrics, warnings, [this](const std::string& t, bool) { statuses.push_back(t); });
  }
};

const OutputNames kNames{"H1:GDS-CALIB_STRAIN_DEEPCLEAN", "", "H1:DEEPCLEAN-STATE_VECTOR"};

TEST(OutputWriter, PublishesEverySecondWithTheValuesGiven) {
  Fixture f;
  const config::Config cfg = config_for(f.root / "out", 0);
  OutputWriter w = f.writer(cfg);
  w.enqueue(seconds(1400000000, 3), kNames, std::chrono::steady_clock::now(), {Completion::Arrival, 1400000001});
  EXPECT_EQ(w.queued(), 3u);
  w.write();
  EXPECT_EQ(w.queued(), 0u);
  ASSERT_TRUE(w.last_written());
  EXPECT_EQ(*w.last_written(), 1400000002u);
  EXPECT_EQ(output_seconds(cfg), (std::vector<std::uint64_t>{1400000000, 1400000001, 1400000002}));
  const gwf::FrameFile file = gwf::FrameFile::open(output_path(cfg, 1400000001));
  const gwf::Channel c = file.read_channel(0, "H1:GDS-CALIB_STRAIN_DEEPCLEAN");
  // Written in the raw channel's type (float64 here): the values exactly.
  EXPECT_EQ(c.data.to_double(), second(1400000001).cleaned);
}

TEST(OutputWriter, AnUnwritableDirectoryHoldsTheQueueAndBacksOffThenWritesEverySecondInOrder) {
  Fixture f;
  // The output directory's parent is a regular file: creating the directory fails.
  { std::ofstream(f.root / "blocker") << "x"; }
  const config::Config cfg = config_for(f.root / "blocker" / "out", 0);
  OutputWriter w = f.writer(cfg);
  w.enqueue(seconds(1400000010, 2), kNames, std::chrono::steady_clock::now(), {Completion::Arrival, 1400000011});
  w.write();
  EXPECT_EQ(w.queued(), 2u);
  EXPECT_FALSE(w.last_written());
  EXPECT_EQ(counter(f.metrics, f.root / "m.prom", "deepclean_output_errors_total"), 1);
  ASSERT_FALSE(f.statuses.empty());
  EXPECT_NE(f.statuses.back().find("2 output seconds queued"), std::string::npos) << f.statuses.back();
  // Within the back-off a new second queues behind the others and nothing is attempted.
  w.enqueue(seconds(1400000012, 1), kNames, std::chrono::steady_clock::now(), {Completion::Arrival, 1400000012});
  w.write();
  EXPECT_EQ(counter(f.metrics, f.root / "m.prom", "deepclean_output_errors_total"), 1);
  ASSERT_TRUE(w.queued_range());
  EXPECT_EQ(w.queued_range()->first, 1400000010u);
  EXPECT_EQ(w.queued_range()->second, 1400000012u);
  // The directory becomes writable: the next attempt (here without waiting) writes all three in order.
  fs::remove(f.root / "blocker");
  w.write_now();
  EXPECT_EQ(w.queued(), 0u);
  EXPECT_EQ(output_seconds(cfg), (std::vector<std::uint64_t>{1400000010, 1400000011, 1400000012}));
  EXPECT_EQ(*w.last_written(), 1400000012u);
}

TEST(OutputWriter, RetentionDeletesExactlyTheFramesOlderThanTheWindow) {
  Fixture f;
  const config::Config cfg = config_for(f.root / "out", 3);
  OutputWriter w = f.writer(cfg);
  // Someone else's frame in the same directory is never touched.
  fs::create_directories(cfg.output.directory);
  { std::ofstream(cfg.output.directory + "/H-OTHER_TYPE-1399999990-1.gwf") << "x"; }
  w.enqueue(seconds(1400000020, 6), kNames, std::chrono::steady_clock::now(), {Completion::Arrival, 1400000025});
  w.write();
  // Newest 1400000025, retention 3 s: frames with gps >= 1400000022 are kept.
  EXPECT_EQ(output_seconds(cfg), (std::vector<std::uint64_t>{1400000022, 1400000023, 1400000024, 1400000025}));
  EXPECT_TRUE(fs::exists(cfg.output.directory + "/H-OTHER_TYPE-1399999990-1.gwf"));
}

}  // namespace
}  // namespace deepclean::daemon
