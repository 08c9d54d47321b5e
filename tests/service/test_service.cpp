// `deepclean run` end to end: the built binary as a real process, a TorchScript DeepClean model
// (tools/fixtures/make_test_models.py), frames written one by one by our writer into temporary
// directories, sd_notify messages received on a datagram socket named in NOTIFY_SOCKET. Each test
// arranges its faults, then checks the output frames (one per input second with strain, flagged in
// the state vector), the counters of the metrics file and the log line that names the problem.
// Skips when Debian's python3 with torch is absent (the model cannot be made).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "common/test_support.hpp"
#include "common/model_fixtures.hpp"
#include "config/config.hpp"
#include "daemon/control/control.hpp"
#include "daemon/archive/training_archive.hpp"
#include "io/gwf/reader.hpp"
#include "io/gwf/writer.hpp"

namespace fs = std::filesystem;
namespace gwf = deepclean::gwf;
namespace dc = deepclean::config;
using deepclean::model::testing::fixture_dir;
using deepclean::testing::CliResult;
using deepclean::testing::DeepcleanProcess;
using deepclean::testing::run_deepclean;
using deepclean::testing::run_shell;
using deepclean::testing::sh_quote;
using deepclean::testing::eventually;
using deepclean::testing::parse_prometheus_text;
using deepclean::testing::read_file;
using deepclean::testing::write_file;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint64_t kG = 1300000000;
// Training's LibTorch threads (`training.threads`, `retrain.threads`). Under ThreadSanitizer one: the
// intra-op pool is libgomp's, uninstrumented, and TSan cannot follow its workers (false reports down to
// the static destructors at exit; tools/tsan.supp).
#if defined(__SANITIZE_THREAD__)
#define TRAIN_THREADS "1"
#else
#define TRAIN_THREADS "2"
#endif

void pause_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// The sd_notify side of systemd: a datagram socket whose path goes into NOTIFY_SOCKET, read
// continuously (as systemd does) so the daemon never blocks on a full socket.
class NotifyListener {
 public:
  explicit NotifyListener(fs::path path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    ::unlink(path_.c_str());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) ADD_FAILURE() << "bind " << path_;
    reader_ = std::thread([this] {
      char buf[4096];
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) continue;
        std::lock_guard<std::mutex> lock(mutex_);
        messages_.emplace_back(buf, static_cast<std::size_t>(n));
      }
    });
  }
  ~NotifyListener() {
    stop_ = true;
    reader_.join();
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  const fs::path& path() const { return path_; }
  std::vector<std::string> messages() {
    std::lock_guard<std::mutex> lock(mutex_);
    return messages_;
  }
  // How many lines of all datagrams start with `text`.
  std::size_t count(const std::string& text) {
    std::size_t c = 0;
    for (const auto& m : messages()) {
      std::istringstream lines(m);
      std::string line;
      while (std::getline(lines, line)) {
        if (line.rfind(text, 0) == 0) ++c;
      }
    }
    return c;
  }
  std::string all() {
    std::string s;
    for (const auto& m : messages()) s += "[" + m + "] ";
    return s;
  }

 private:
  fs::path path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<std::string> messages_;
  std::thread reader_;
};

// One `deepclean run` process with stdout and stderr in a log file and NOTIFY_SOCKET set.
class Daemon : public DeepcleanProcess {
 public:
  Daemon(const fs::path& config, const fs::path& log, const fs::path& notify,
         const std::vector<std::string>& extra_env = {})
      : DeepcleanProcess({"run", "--config", config.string()}, log, with_notify(notify, extra_env),
                         {"NOTIFY_SOCKET", "JOURNAL_STREAM"}) {}

 private:
  static std::vector<std::string> with_notify(const fs::path& notify, std::vector<std::string> env) {
    env.push_back("NOTIFY_SOCKET=" + notify.string());
    return env;
  }
};

// Metric samples of a Prometheus text file: "name{labels}" -> value.
std::map<std::string, double> parse_metrics(const fs::path& file) { return parse_prometheus_text(read_file(file)); }

enum class Fault { None, NanWitness, MissingChannel, StateFail };
enum class Delivery { Rename, InPlace };

const char* const kWitnessNames[3] = {"H1:PEM-WIT_00_DQ", "H1:PEM-WIT_01_DQ", "H1:PEM-WIT_02_DQ"};
constexpr int kWitnessRates[3] = {4096, 1024, 256};
constexpr int kStrainRate = 4096;

// A scratch site: input directories, configuration, output and metrics, and helpers around them.
class Site {
 public:
  explicit Site(const std::string& name) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("dcrun-" + std::to_string(::getpid()) + "-" + name + "-" + std::string(info->name()).substr(0, 20));
    fs::remove_all(dir_);
    for (const char* d : {"strain", "witness", "out", "metrics"}) fs::create_directories(dir_ / d);
  }
  ~Site() {
    std::error_code ec;
    if (!::testing::Test::HasFailure()) fs::remove_all(dir_, ec);
  }
  const fs::path& dir() const { return dir_; }
  fs::path config() const { return dir_ / "H1.yaml"; }
  fs::path metrics_file() const { return dir_ / "metrics" / "deepclean.prom"; }
  fs::path log() const { return dir_ / "daemon.log"; }
  fs::path notify() const { return dir_ / "notify.sock"; }
  fs::path strain_path(std::uint64_t g) const { return dir_ / "strain" / ("H-H1_llhoft-" + std::to_string(g) + "-1.gwf"); }
  fs::path witness_path(std::uint64_t g) const {
    return dir_ / "witness" / ("H-H1_lldetchar-" + std::to_string(g) + "-1.gwf");
  }
  fs::path out_path(std::uint64_t g) const {
    return dir_ / "out" / ("H-H1_llhoft_DEEPCLEAN-" + std::to_string(g) + "-1.gwf");
  }

  // `extra_input` lines go under `input:` (timeout, poll, start, state vector).
  void write_config(const fs::path& bundle, const std::string& extra_input, double timeout = 1.0,
                    const std::string& bandpass = "{method: window, memory_seconds: 2, look_ahead_seconds: 0.25}") const {
    std::ostringstream c;
    c << "ifo: H1\n"
         "input:\n"
         "  strain: {directory: strain, frame_type: H1_llhoft, channel: H1:GDS-CALIB_STRAIN}\n"
         "  witness: {directory: witness, frame_type: H1_lldetchar}\n"
      << "  timeout_seconds: " << timeout << "\n"
      << extra_input
      << "output: {directory: out}\n"
         "model: {bundle: "
      << bundle.string()
      << ", threads: 1, batch_size: 32" << model_extra << "}\n"
         "inference: {kernel_seconds: 1, sampling_rate: 16, aggregation_seconds: 0.25}\n"
      << "bandpass: " << bandpass << "\n"
         "subtraction: {taper_seconds: 0.25}\n"
         // The fixture model is untrained: on this random strain its subtraction adds noise, which
         // the do-no-harm gate rightly refuses (RunService.GateClosesLive... and test_gate_*.cpp);
         // the other tests are about the service, so they run without it.
      << "gate: {enabled: " << (gate ? "true" : "false") << ", window_seconds: 2, min_closed_seconds: 2, "
      << "recover_seconds: 2}\n"
         "logging: {level: debug}\n"
         "metrics: {path: metrics/deepclean.prom}\n"
      << extra;
    write_file(config(), c.str());
  }
  std::string extra;  // more sections (models, control)
  std::string model_extra;  // more keys of `model:` (", key: value")

  bool with_state = false;
  bool gate = false;  // the do-no-harm gate (off unless a test asks for it)

  std::vector<double> strain_values(std::uint64_t g) const {
    std::mt19937 rng(static_cast<std::uint32_t>(g));
    std::normal_distribution<double> n(0.0, 1.0);
    std::vector<double> h(kStrainRate);
    for (auto& x : h) x = 1e-21 * n(rng);
    return h;
  }

  std::vector<std::byte> strain_bytes(std::uint64_t g, Fault f) const { return gwf::encode_frames({strain_frame(g, f)}); }
  std::vector<std::byte> witness_bytes(std::uint64_t g, Fault f) const { return gwf::encode_frames({witness_frame(g, f)}); }

  gwf::Frame strain_frame(std::uint64_t g, Fault f) const {
    gwf::Frame fr;
    fr.name = "H1";
    fr.start = {static_cast<std::uint32_t>(g), 0};
    gwf::Channel h;
    h.name = "H1:GDS-CALIB_STRAIN";
    h.sample_rate = kStrainRate;
    h.data = gwf::Vect::make(h.name, strain_values(g), kStrainRate, "strain");
    fr.channels.push_back(h);
    if (with_state) {
      std::vector<std::uint32_t> sv(16, 3);
      if (f == Fault::StateFail) {
        for (std::size_t i = 0; i < 8; ++i) sv[i] = 1;  // HOFT_OK without OBSERVATION_INTENT
      }
      gwf::Channel s;
      s.name = "H1:GDS-CALIB_STATE_VECTOR";
      s.sample_rate = 16;
      s.data = gwf::Vect::make(s.name, sv, 16);
      fr.channels.push_back(s);
    }
    return fr;
  }

  gwf::Frame witness_frame(std::uint64_t g, Fault f) const {
    gwf::Frame fr;
    fr.name = "H1";
    fr.start = {static_cast<std::uint32_t>(g), 0};
    std::mt19937 rng(static_cast<std::uint32_t>(g) + 7);
    std::normal_distribution<double> n(0.0, 1.0);
    for (int c = 0; c < 3; ++c) {
      if (f == Fault::MissingChannel && c == 1) continue;
      gwf::Channel w;
      w.name = kWitnessNames[c];
      w.kind = gwf::ChannelKind::Adc;
      w.sample_rate = kWitnessRates[c];
      std::vector<float> v(static_cast<std::size_t>(kWitnessRates[c]));
      for (auto& x : v) x = static_cast<float>(n(rng));
      if (f == Fault::NanWitness && c == 2) v[100] = std::numeric_limits<float>::quiet_NaN();
      w.data = gwf::Vect::make(w.name, v, kWitnessRates[c]);
      fr.channels.push_back(w);
    }
    return fr;
  }

  // One frame per second holding the strain and the witnesses (no separate witness stream).
  void write_combined(std::uint64_t g) const {
    gwf::Frame fr = strain_frame(g, Fault::None);
    for (auto& c : witness_frame(g, Fault::None).channels) fr.channels.push_back(std::move(c));
    put(strain_path(g), gwf::encode_frames({fr}), Delivery::Rename);
  }

  static void put(const fs::path& path, const std::vector<std::byte>& bytes, Delivery d) {
    // Rename: written under a hidden name first, as the site's frame writers do.
    const fs::path target = d == Delivery::Rename ? path.parent_path() / ("." + path.filename().string() + ".tmp") : path;
    {
      std::ofstream out(target, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    if (d == Delivery::Rename) fs::rename(target, path);
  }

  void write(std::uint64_t g, Fault f = Fault::None, Delivery d = Delivery::Rename) const {
    put(witness_path(g), witness_bytes(g, f), d);
    put(strain_path(g), strain_bytes(g, f), d);
  }

  std::map<std::string, double> metrics() const { return parse_metrics(metrics_file()); }
  double metric(const std::string& key) const {
    const auto m = metrics();
    const auto it = m.find(key);
    return it == m.end() ? std::nan("") : it->second;
  }
  double seconds(const std::string& event) const {
    return metric("deepclean_seconds_total{event=\"" + event + "\"}");
  }

  std::vector<std::uint64_t> outputs() const {
    std::vector<std::uint64_t> g;
    for (const auto& e : fs::directory_iterator(dir_ / "out")) {
      const std::string n = e.path().filename().string();
      const std::string prefix = "H-H1_llhoft_DEEPCLEAN-";
      if (n.rfind(prefix, 0) == 0 && n.size() > 10 && n.substr(n.size() - 6) == "-1.gwf") {
        g.push_back(std::stoull(n.substr(prefix.size(), n.size() - prefix.size() - 6)));
      }
    }
    std::sort(g.begin(), g.end());
    return g;
  }
  bool has_outputs(std::uint64_t first, std::uint64_t last) const {
    for (std::uint64_t g = first; g <= last; ++g) {
      if (!fs::exists(out_path(g))) return false;
    }
    return true;
  }

  // The 16 state-vector words of an output frame.
  std::vector<std::uint32_t> state(std::uint64_t g) const {
    const auto f = gwf::FrameFile::open(out_path(g).string());
    std::vector<std::uint32_t> s;
    for (double v : f.read_channel(0, "H1:DEEPCLEAN-STATE_VECTOR").data.to_double()) s.push_back(static_cast<std::uint32_t>(v));
    return s;
  }
  std::vector<double> cleaned(std::uint64_t g) const {
    return gwf::FrameFile::open(out_path(g).string()).read_channel(0, "H1:GDS-CALIB_STRAIN_DEEPCLEAN").data.to_double();
  }

 private:
  fs::path dir_;
};

constexpr std::uint32_t kCleanedBit = 1u << 0, kInputOkBit = 1u << 1, kModelOkBit = 1u << 2;

bool all_bits(const std::vector<std::uint32_t>& s, std::uint32_t bits) {
  return s.size() == 16 && std::all_of(s.begin(), s.end(), [bits](std::uint32_t w) { return (w & bits) == bits; });
}
bool no_bit(const std::vector<std::uint32_t>& s, std::uint32_t bit) {
  return s.size() == 16 && std::none_of(s.begin(), s.end(), [bit](std::uint32_t w) { return (w & bit) != 0; });
}

// Outputs whose every slot is fully cleaned: must equal the metric of cleaned seconds.
double count_fully_cleaned(const Site& site) {
  double n = 0;
  for (std::uint64_t g : site.outputs()) n += all_bits(site.state(g), kCleanedBit) ? 1 : 0;
  return n;
}

// "state: reason" of a version of the running service's model repository (`deepclean ctl models`),
// "absent" when the record does not have it.
std::string model_state(const fs::path& config, const std::string& version, const fs::path& scratch) {
  const CliResult r = run_deepclean("ctl --config " + sh_quote(config.string()) + " --json models", scratch);
  if (r.rc != 0) return "ctl failed: " + r.err;
  const auto reply = nlohmann::json::parse(r.out);  // (a named value: the loop must not outlive it)
  for (const auto& v : reply["versions"]) {
    if (v["name"] == version) return v["state"].get<std::string>() + ": " + v["reason"].get<std::string>();
  }
  return "absent";
}

#define REQUIRE_MODEL(bundle)                              \
  std::string why_;                                        \
  const auto& fixtures_ = fixture_dir(&why_);              \
  if (!fixtures_) GTEST_SKIP() << why_;                    \
  const fs::path bundle = *fixtures_ / "bundle_c3"

// Starts the daemon and waits for READY=1 (after the model's warm-up).
#define START_DAEMON(var, site, listener) START_DAEMON_ENV(var, site, listener, std::vector<std::string>{})
#define START_DAEMON_ENV(var, site, listener, env)                                                    \
  Daemon var((site).config(), (site).log(), (listener).path(), env);                                  \
  ASSERT_TRUE(eventually([&] { return (listener).count("READY=1") >= 1 || !var.running(); }, 120)) \
      << var.log();                                                                                   \
  ASSERT_TRUE(var.running()) << var.log()

// Writes the site's configuration with `start: kG` and input timeout `timeout`, then starts the
// daemon as `var` (with its sd_notify listener) and waits for READY=1.
#define START_AT_KG(var, site, bundle, timeout)                                        \
  (site).write_config(bundle, "  start: " + std::to_string(kG) + "\n", timeout);        \
  NotifyListener notify((site).notify());                                             \
  START_DAEMON(var, site, notify)

}  // namespace

TEST(RunService, FramesOneByOneByRenameAndInPlace) {
  REQUIRE_MODEL(bundle);
  Site site("onebyone");
  site.write_config(bundle, "");  // start: resume, with nothing on disk: the first frame to arrive
  NotifyListener notify(site.notify());
  START_DAEMON(d, site, notify);
  EXPECT_GE(notify.count("STATUS="), 1u) << notify.all();
  EXPECT_TRUE(d.logged("algorithmic latency")) << d.log();
  EXPECT_TRUE(d.logged("run: H1")) << d.log();

  for (std::uint64_t k = 0; k < 8; ++k) {
    site.write(kG + k, Fault::None, k % 2 == 0 ? Delivery::Rename : Delivery::InPlace);
    pause_ms(100);
  }
  // After the last frame the stream stalls: the segment is ended so its last seconds are written too.
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 7); })) << d.log();
  ASSERT_TRUE(eventually([&] { return site.seconds("out") == 8; })) << read_file(site.metrics_file());
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  EXPECT_GE(notify.count("STOPPING=1"), 1u) << notify.all();

  EXPECT_EQ(site.outputs().size(), 8u);
  for (std::uint64_t k = 0; k < 8; ++k) {
    const auto s = site.state(kG + k);
    EXPECT_TRUE(all_bits(s, kInputOkBit | kModelOkBit)) << k;
  }
  for (std::uint64_t k = 1; k < 7; ++k) EXPECT_TRUE(all_bits(site.state(kG + k), kCleanedBit)) << k;
  EXPECT_FALSE(all_bits(site.state(kG), kCleanedBit)) << "no estimate in the first 0.75 s of a segment";
  const auto m = site.metrics();
  EXPECT_EQ(site.seconds("in"), 8);
  EXPECT_EQ(site.seconds("missing"), 0);
  EXPECT_EQ(site.seconds("corrupt"), 0);
  EXPECT_EQ(site.seconds("cleaned"), count_fully_cleaned(site));
  EXPECT_EQ(site.metric("deepclean_segments_started_total"), 1);
  EXPECT_EQ(site.metric("deepclean_last_output_gps_seconds"), static_cast<double>(kG + 7));
  EXPECT_EQ(site.metric("deepclean_latency_seconds_count"), 8);
  EXPECT_GT(site.metric("deepclean_algorithmic_latency_seconds"), 0.5);
  EXPECT_EQ(site.metric("deepclean_latency_seconds_bucket{le=\"+Inf\"}"), 8);
  EXPECT_GT(site.metric("deepclean_latency_seconds_sum"), 0);
  for (const char* stage : {"read", "clean", "model", "write"}) {
    EXPECT_GT(site.metric("deepclean_stage_seconds_total{stage=\"" + std::string(stage) + "\"}"), 0) << stage;
    EXPECT_GE(site.metric("deepclean_stage_last_seconds{stage=\"" + std::string(stage) + "\"}"), 0) << stage;
  }
  bool info_cpu = false, asd_ratio = false, gpu = false;
  for (const auto& [k, v] : m) {
    if (k.rfind("deepclean_info{", 0) == 0) info_cpu = k.find("device=\"cpu\"") != std::string::npos && v == 1;
    // 6 fully cleaned seconds of white noise: some ratio, finite and positive (its value is
    // checked against scipy in test_asd_monitor).
    if (k.rfind("deepclean_band_asd_ratio{band=", 0) == 0) asd_ratio = std::isfinite(v) && v > 0;
    gpu = gpu || k.rfind("deepclean_gpu_memory_bytes", 0) == 0;
  }
  EXPECT_TRUE(info_cpu) << read_file(site.metrics_file());
  EXPECT_TRUE(asd_ratio) << read_file(site.metrics_file());
  EXPECT_FALSE(gpu) << "no GPU memory metric on the CPU";
  EXPECT_EQ(site.metric("deepclean_inotify_overflows_total"), 0);
  EXPECT_TRUE(d.logged("first input frame")) << d.log();
  EXPECT_TRUE(d.logged("; inotify (events), timeout")) << d.log();
  // logging.level debug: one summary line per second.
  for (std::uint64_t k = 0; k < 8; ++k) {
    EXPECT_TRUE(d.logged("GPS " + std::to_string(kG + k) + ": good, read ")) << k << d.log();
  }
  EXPECT_TRUE(d.logged("output second(s) ready, 0 queued; last output GPS")) << d.log();
}

TEST(RunService, OutOfOrderMissingLateAndDuplicate) {
  REQUIRE_MODEL(bundle);
  Site site("order");
  START_AT_KG(d, site, bundle, 1.0);

  for (std::uint64_t k : {0u, 1u, 2u}) site.write(kG + k);
  site.write(kG + 4);  // before 3, inside the timeout: still processed in order
  pause_ms(100);
  site.write(kG + 3);
  site.write(kG + 5);
  for (std::uint64_t k : {7u, 8u, 9u, 10u}) site.write(kG + k);  // 6 is withheld beyond the timeout: missing
  ASSERT_TRUE(eventually([&] { return site.seconds("missing") == 1; })) << d.log();
  site.write(kG + 6);  // too late now
  ASSERT_TRUE(eventually([&] { return site.seconds("late") >= 1; })) << d.log();
  site.write(kG + 1, Fault::None, Delivery::InPlace);  // rewrite of a processed second
  ASSERT_TRUE(eventually([&] { return site.seconds("duplicate") >= 1; })) << d.log();
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG + 7, kG + 10); })) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();

  const std::vector<std::uint64_t> want = {kG, kG + 1, kG + 2, kG + 3, kG + 4, kG + 5,
                                           kG + 7, kG + 8, kG + 9, kG + 10};
  EXPECT_EQ(site.outputs(), want);
  EXPECT_TRUE(all_bits(site.state(kG + 3), kCleanedBit)) << "3 was cleaned in its place, between 2 and 4";
  EXPECT_TRUE(all_bits(site.state(kG + 4), kCleanedBit));
  EXPECT_FALSE(all_bits(site.state(kG + 7), kCleanedBit)) << "a new segment starts after the missing second";
  EXPECT_EQ(site.seconds("in"), 10);
  EXPECT_EQ(site.seconds("out"), 10);
  EXPECT_EQ(site.seconds("missing"), 1);
  EXPECT_EQ(site.seconds("late"), 2) << "both files of the late second";
  EXPECT_EQ(site.seconds("duplicate"), 2) << "both rewritten files";
  EXPECT_EQ(site.metric("deepclean_segments_started_total"), 2);
  EXPECT_TRUE(d.logged("GPS " + std::to_string(kG + 6) + ": no frame")) << d.log();
  EXPECT_TRUE(d.logged("(missing)")) << d.log();
  EXPECT_TRUE(d.logged("H-H1_llhoft-" + std::to_string(kG + 6) + "-1.gwf arrived after the second was given up (late)"))
      << d.log();
  EXPECT_TRUE(d.logged("(duplicate)")) << d.log();
}

// Publish at the floor (issue 13): with `fir` and an algorithmic latency under 1 s, output g is
// renamed on the arrival of input g + 1 and not later; an input arriving before its predecessor
// waits for it; a missing second completes its predecessor at the timeout. The log and the
// metrics say what completed each frame.
TEST(RunService, PublishesEachSecondWhenTheInputThatCompletesItArrives) {
  REQUIRE_MODEL(bundle);
  Site site("floor");
  site.write_config(bundle, "  start: " + std::to_string(kG) + "\n", 1.5, "{method: fir, look_ahead_seconds: 0.25}");
  NotifyListener notify(site.notify());
  START_DAEMON(d, site, notify);
  ASSERT_LT(site.metric("deepclean_algorithmic_latency_seconds"), 1.0);

  site.write(kG);
  site.write(kG + 1);
  // Output kG needs nothing past input kG + 1: it is written now, well before the 1.5-s timeout of kG + 2
  // (which would also complete it) could run out.
  const auto t0 = Clock::now();
  ASSERT_TRUE(eventually([&] { return fs::exists(site.out_path(kG)); })) << d.log();
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 1.4) << d.log();
  EXPECT_FALSE(fs::exists(site.out_path(kG + 1))) << "output kG + 1 needs input kG + 2";
  site.write(kG + 3);  // before kG + 2: kept until kG + 2 is there
  pause_ms(300);
  EXPECT_FALSE(fs::exists(site.out_path(kG + 2))) << d.log();
  site.write(kG + 2);
  ASSERT_TRUE(eventually([&] { return fs::exists(site.out_path(kG + 2)); })) << d.log();
  EXPECT_FALSE(fs::exists(site.out_path(kG + 3)));
  // kG + 4 never comes: once kG + 5 shows the stream has passed it, its 1.5-s timeout runs, and at
  // its end output kG + 3 is written (the segment ends there).
  site.write(kG + 5);
  pause_ms(700);
  EXPECT_FALSE(fs::exists(site.out_path(kG + 3))) << "written before the timeout of kG + 4";
  ASSERT_TRUE(eventually([&] { return fs::exists(site.out_path(kG + 3)); })) << d.log();
  site.write(kG + 6);
  ASSERT_TRUE(eventually([&] { return fs::exists(site.out_path(kG + 5)); })) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();

  const auto line = [](std::uint64_t g, const std::string& by, std::uint64_t input) {
    return "GPS " + std::to_string(g) + ": output written, completed by " + by + " (input GPS " +
           std::to_string(input) + ", g" + (input >= g ? "+" : "-") +
           std::to_string(input >= g ? input - g : g - input) + ")";
  };
  for (std::uint64_t g : {kG, kG + 1, kG + 2, kG + 5}) {
    EXPECT_TRUE(d.logged(line(g, "the arrival of", g + 1))) << g << d.log();
  }
  EXPECT_TRUE(d.logged(line(kG + 3, "the timeout of", kG + 4))) << d.log();
  EXPECT_TRUE(d.logged(line(kG + 6, "a flush before", kG + 7))) << d.log();  // SIGTERM ends the segment
  EXPECT_EQ(site.outputs(), (std::vector<std::uint64_t>{kG, kG + 1, kG + 2, kG + 3, kG + 5, kG + 6}));
  EXPECT_EQ(site.metric("deepclean_outputs_completed_total{by=\"arrival\"}"), 4) << read_file(site.metrics_file());
  EXPECT_EQ(site.metric("deepclean_outputs_completed_total{by=\"timeout\"}"), 1);
  EXPECT_EQ(site.metric("deepclean_outputs_completed_total{by=\"flush\"}"), 1);
  EXPECT_EQ(site.metric("deepclean_output_input_lag_seconds"), 1);
}

TEST(RunService, HalfWrittenCorruptTruncatedMissingChannelNanAndStateMask) {
  REQUIRE_MODEL(bundle);
  Site site("bad");
  site.with_state = true;
  site.write_config(bundle,
                    "  start: " + std::to_string(kG) +
                        "\n  state_vector: {channel: H1:GDS-CALIB_STATE_VECTOR, mask: 3}\n",
                    1.0);
  NotifyListener notify(site.notify());
  START_DAEMON(d, site, notify);

  site.write(kG);
  site.write(kG + 1);
  // 2: the witness frame is first written half, in place, then completed.
  {
    Site::put(site.strain_path(kG + 2), site.strain_bytes(kG + 2, Fault::None), Delivery::Rename);
    auto bytes = site.witness_bytes(kG + 2, Fault::None);
    const std::vector<std::byte> half(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2));
    Site::put(site.witness_path(kG + 2), half, Delivery::InPlace);
    ASSERT_TRUE(eventually([&] { return d.logged("retrying until the timeout"); }, 10)) << d.log();
    Site::put(site.witness_path(kG + 2), bytes, Delivery::InPlace);
  }
  site.write(kG + 3);
  // 4: a corrupt witness frame (bytes flipped in the middle), never repaired.
  {
    Site::put(site.strain_path(kG + 4), site.strain_bytes(kG + 4, Fault::None), Delivery::Rename);
    auto bytes = site.witness_bytes(kG + 4, Fault::None);
    for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) bytes[i] = std::byte{0x5a};
    Site::put(site.witness_path(kG + 4), bytes, Delivery::Rename);
  }
  site.write(kG + 5);
  // 6: a truncated strain frame: no strain, so no output for this second.
  {
    Site::put(site.witness_path(kG + 6), site.witness_bytes(kG + 6, Fault::None), Delivery::Rename);
    auto bytes = site.strain_bytes(kG + 6, Fault::None);
    bytes.resize(bytes.size() * 2 / 3);
    Site::put(site.strain_path(kG + 6), bytes, Delivery::Rename);
  }
  site.write(kG + 7);
  site.write(kG + 8, Fault::MissingChannel);
  site.write(kG + 9);
  site.write(kG + 10, Fault::NanWitness);
  site.write(kG + 11);
  site.write(kG + 12, Fault::StateFail);
  site.write(kG + 13);
  site.write(kG + 14);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG + 13, kG + 14); })) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();

  std::vector<std::uint64_t> want;
  for (std::uint64_t k = 0; k <= 14; ++k) {
    if (k != 6) want.push_back(kG + k);
  }
  EXPECT_EQ(site.outputs(), want);
  EXPECT_TRUE(all_bits(site.state(kG + 2), kInputOkBit | kCleanedBit)) << "the completed file was used";
  EXPECT_FALSE(all_bits(site.state(kG + 3), kCleanedBit)) << "tapered: the segment's end was known in time";
  for (std::uint64_t k : {4u, 8u, 10u}) {
    const auto s = site.state(kG + k);
    EXPECT_TRUE(no_bit(s, kInputOkBit)) << k;
    EXPECT_TRUE(no_bit(s, kCleanedBit)) << k;
    EXPECT_EQ(site.cleaned(kG + k), site.strain_values(kG + k)) << "raw strain passes through, " << k;
  }
  const auto s12 = site.state(kG + 12);
  for (std::size_t i = 0; i < 16; ++i) EXPECT_EQ((s12[i] & kInputOkBit) != 0, i >= 8) << i;
  EXPECT_TRUE(no_bit(s12, kCleanedBit));
  EXPECT_EQ(site.seconds("corrupt"), 2);
  EXPECT_EQ(site.seconds("unusable"), 3);
  EXPECT_EQ(site.seconds("missing"), 0);
  EXPECT_EQ(site.seconds("in"), 14);
  EXPECT_EQ(site.seconds("out"), 14);
  EXPECT_EQ(site.seconds("cleaned"), count_fully_cleaned(site));
  // Segments: 0-3, 5, 7, 9, 11, 13-14.
  EXPECT_EQ(site.metric("deepclean_segments_started_total"), 6);
  EXPECT_TRUE(d.logged("H-H1_lldetchar-" + std::to_string(kG + 4) + "-1.gwf")) << d.log();
  EXPECT_TRUE(d.logged("(corrupt)")) << d.log();
  EXPECT_TRUE(d.logged("channel H1:PEM-WIT_01_DQ not found (missing_channel)")) << d.log();
  EXPECT_TRUE(d.logged("(nonfinite)")) << d.log();
  EXPECT_TRUE(d.logged("GPS " + std::to_string(kG + 6) + ": ")) << d.log();
  EXPECT_TRUE(d.logged("H-H1_llhoft-" + std::to_string(kG + 6) + "-1.gwf")) << "the truncated strain file is named";
  EXPECT_TRUE(d.logged("(corrupt); no output for this second")) << d.log();
  EXPECT_TRUE(d.logged("(state_mask)")) << d.log();
}

// The gate live: the untrained fixture model's subtraction adds noise to random strain, so the
// service must hand out the raw strain, say so once in the log, and show it in the metrics.
TEST(RunService, GateClosesLiveOnAModelThatAddsNoise) {
  REQUIRE_MODEL(bundle);
  Site site("gate");
  site.gate = true;
  site.write_config(bundle, "");
  NotifyListener notify(site.notify());
  START_DAEMON(d, site, notify);
  for (std::uint64_t k = 0; k < 10; ++k) {
    site.write(kG + k);
    pause_ms(100);
  }
  ASSERT_TRUE(eventually([&] { return site.seconds("out") == 10; })) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  EXPECT_TRUE(d.logged("do-no-harm gate closed (band)")) << d.log();
  EXPECT_EQ(site.metric("deepclean_gate_transitions_total{to=\"closed\"}"), 1.0) << read_file(site.metrics_file());
  EXPECT_EQ(site.metric("deepclean_gate_open"), 0.0) << read_file(site.metrics_file());
  EXPECT_GT(site.metric("deepclean_gated_seconds_total{reason=\"band\"}"), 1.0) << read_file(site.metrics_file());
  EXPECT_GT(site.metric("deepclean_gate_ratio{kind=\"band\",region=\"55-65\"}"), 1.0) << read_file(site.metrics_file());
  // Every second after the closing one: raw strain bit for bit, bit 5 in every slot, bit 0 in none.
  int closed = 0;
  for (std::uint64_t k = 0; k < 10; ++k) {
    const auto s = site.state(kG + k);
    if (closed == 0 && !s.empty() && (s.front() & 32u) != 0) closed = static_cast<int>(k);
  }
  ASSERT_GT(closed, 0) << d.log();
  for (std::uint64_t k = static_cast<std::uint64_t>(closed) + 1; k < 10; ++k) {
    EXPECT_EQ(site.cleaned(kG + k), site.strain_values(kG + k)) << k;
    EXPECT_TRUE(all_bits(site.state(kG + k), 32u)) << k;
    for (std::uint32_t b : site.state(kG + k)) EXPECT_EQ(b & kCleanedBit, 0u) << k;
  }
}

TEST(RunService, PollingDirectory) {
  REQUIRE_MODEL(bundle);
  Site site("poll");
  // Frames at the live cadence (one per second) with a timeout shorter than that: the wait for a
  // second only starts once the stream has reached it, so nothing is missing and no segment breaks.
  site.write_config(bundle, "  poll: true\n  poll_interval_seconds: 0.05\n  start: " + std::to_string(kG) + "\n", 0.5);
  NotifyListener notify(site.notify());
  START_DAEMON(d, site, notify);
  EXPECT_TRUE(d.logged("polling")) << d.log();
  for (std::uint64_t k = 0; k < 6; ++k) {
    site.write(kG + k, Fault::None, k == 3 ? Delivery::InPlace : Delivery::Rename);
    pause_ms(k < 4 ? 1000 : 50);
  }
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 5); })) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  EXPECT_EQ(site.outputs().size(), 6u);
  EXPECT_EQ(site.seconds("in"), 6);
  EXPECT_EQ(site.seconds("out"), 6);
  EXPECT_EQ(site.seconds("missing"), 0);
  EXPECT_EQ(site.metric("deepclean_segments_started_total"), 1);
  for (std::uint64_t k = 1; k < 5; ++k) EXPECT_TRUE(all_bits(site.state(kG + k), kCleanedBit)) << k;
}

TEST(RunService, OutputDirectoryUnwritableThenWritableAgain) {
  REQUIRE_MODEL(bundle);
  Site site("outfail");
  // A long input timeout: the pauses of this test must not end the segment (stall rule).
  START_AT_KG(d, site, bundle, 5.0);
  for (std::uint64_t k = 0; k < 3; ++k) site.write(kG + k);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 1); })) << d.log();
  // Make the output directory unwritable in a way that holds for root too: a regular file takes
  // its place (chmod does not stop root).
  const fs::path out = site.dir() / "out", moved = site.dir() / "out.moved", blocker = site.dir() / "out.blocker";
  write_file(blocker, "not a directory\n");
  fs::rename(out, moved);
  fs::rename(blocker, out);
  for (std::uint64_t k = 3; k < 7; ++k) {
    site.write(kG + k);
    pause_ms(50);
  }
  ASSERT_TRUE(eventually([&] { return site.metric("deepclean_output_errors_total") >= 2; })) << d.log();
  EXPECT_TRUE(d.logged("cannot write output frame")) << d.log();
  EXPECT_TRUE(d.logged("retrying every second")) << d.log();
  EXPECT_GE(site.metric("deepclean_output_queue_seconds"), 1);
  EXPECT_TRUE(d.running());
  fs::remove(out);
  fs::rename(moved, out);
  site.write(kG + 7);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 6); })) << d.log();
  d.signal(SIGTERM);  // flushes 7, held back for look-ahead
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  EXPECT_EQ(site.outputs().size(), 8u);
  EXPECT_EQ(site.metric("deepclean_output_queue_seconds"), 0);
  EXPECT_EQ(site.seconds("in"), 8);
  EXPECT_TRUE(d.logged("output directory writable again")) << d.log();
  // Only the output side failed: the segment was never broken.
  EXPECT_EQ(site.metric("deepclean_segments_started_total"), 1);
  for (std::uint64_t k = 1; k < 7; ++k) EXPECT_TRUE(all_bits(site.state(kG + k), kCleanedBit)) << k;
}

namespace {

// Puts this test process (and so the daemon it starts) in its own mount namespace, entering a user
// namespace first when not root, so that a small tmpfs can be mounted without touching the host.
// Returns "" on success, else why it is not possible here (the test then skips).
std::string enter_private_mount_namespace() {
  const uid_t uid = ::getuid();
  const gid_t gid = ::getgid();
  if (::unshare(uid == 0 ? CLONE_NEWNS : CLONE_NEWUSER | CLONE_NEWNS) != 0) {
    return std::string("unshare: ") + std::strerror(errno);
  }
  if (uid != 0) {
    write_file("/proc/self/setgroups", "deny");
    write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1");
    write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1");
  }
  // Mounts made below stay in this namespace.
  if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return std::string("mount --make-rprivate /: ") + std::strerror(errno);
  }
  return "";
}

// A tmpfs of `options` ("size=4m") on `at`, in a private mount namespace, unmounted when this goes;
// `why` says why not when it could not be made (the test then skips).
class PrivateTmpfs {
 public:
  PrivateTmpfs(fs::path at, const char* options) : at_(std::move(at)) {
    if (const std::string ns = enter_private_mount_namespace(); !ns.empty()) {
      why = "cannot make a private tmpfs here (" + ns + ")";
    } else if (::mount("tmpfs", at_.c_str(), "tmpfs", 0, options) != 0) {
      why = "cannot mount a tmpfs on " + at_.string() + ": " + std::strerror(errno);
    }
  }
  ~PrivateTmpfs() {
    if (why.empty()) ::umount2(at_.c_str(), MNT_DETACH);
  }
  PrivateTmpfs(const PrivateTmpfs&) = delete;
  PrivateTmpfs& operator=(const PrivateTmpfs&) = delete;
  std::string why;

 private:
  fs::path at_;
};

}  // namespace

// The output file system full (ENOSPC), then space again: each failed second is logged with the
// reason, counted and retried every second; no second is lost and the segment is not broken. The
// output directory is a 4 MiB tmpfs in a private mount namespace, filled up by a filler file.
TEST(RunService, OutputFileSystemFullThenSpaceAgain) {
  REQUIRE_MODEL(bundle);
  Site site("outfull");
  const fs::path out = site.dir() / "out";
  const PrivateTmpfs tmpfs(out, "size=4m");
  if (!tmpfs.why.empty()) GTEST_SKIP() << tmpfs.why;
  // Fill it: write until the file system says ENOSPC.
  const fs::path filler = out / "filler.bin";
  {
    const int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    const std::vector<char> block(65536, 'x');
    int err = 0;
    for (int i = 0; i < 1000 && err == 0; ++i) {
      if (::write(fd, block.data(), block.size()) < 0) err = errno;
    }
    ::close(fd);
    ASSERT_EQ(err, ENOSPC) << "the 4 MiB tmpfs did not fill up";
  }
  START_AT_KG(d, site, bundle, 5.0);
  for (std::uint64_t k = 0; k < 4; ++k) {
    site.write(kG + k);
    pause_ms(50);
  }
  ASSERT_TRUE(eventually([&] { return site.metric("deepclean_output_errors_total") >= 2; })) << d.log();
  EXPECT_TRUE(d.logged("cannot write output frame")) << d.log();
  EXPECT_TRUE(d.logged("No space left on device")) << d.log();
  EXPECT_TRUE(d.logged("retrying every second")) << d.log();
  EXPECT_GE(site.metric("deepclean_output_queue_seconds"), 1);
  EXPECT_TRUE(d.running());
  EXPECT_TRUE(site.outputs().empty());
  // Space again: the queued seconds go out, in order, and the stream carries on.
  fs::remove(filler);
  site.write(kG + 4);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 3); })) << d.log();
  EXPECT_TRUE(d.logged("output directory writable again")) << d.log();
  d.signal(SIGTERM);  // flushes the seconds held back for look-ahead
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  EXPECT_EQ(site.outputs().size(), 5u);
  EXPECT_EQ(site.metric("deepclean_output_queue_seconds"), 0);
  EXPECT_EQ(site.metric("deepclean_segments_started_total"), 1);
  for (std::uint64_t k = 1; k < 4; ++k) EXPECT_TRUE(all_bits(site.state(kG + k), kCleanedBit)) << k;
  // No temporary file was left behind by the failed attempts.
  for (const auto& e : fs::directory_iterator(out)) {
    EXPECT_EQ(e.path().extension(), ".gwf") << e.path();
    EXPECT_NE(e.path().filename().string().front(), '.') << e.path();
  }
}

// Chaos at the file system (issue 18; docs/operations.md "Troubleshooting"). The output file
// system remounted read-only (EROFS), then read-write: as for a full one, every second is retried,
// none is lost, the segment is not broken.
TEST(RunService, OutputFileSystemReadOnlyThenWritableAgain) {
  REQUIRE_MODEL(bundle);
  Site site("outro");
  const fs::path out = site.dir() / "out";
  const PrivateTmpfs tmpfs(out, "size=64m");
  if (!tmpfs.why.empty()) GTEST_SKIP() << tmpfs.why;
  START_AT_KG(d, site, bundle, 5.0);
  for (std::uint64_t k = 0; k < 3; ++k) site.write(kG + k);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 1); })) << d.log();
  ASSERT_EQ(::mount("tmpfs", out.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, "size=64m"), 0) << std::strerror(errno);
  for (std::uint64_t k = 3; k < 7; ++k) {
    site.write(kG + k);
    pause_ms(50);
  }
  ASSERT_TRUE(eventually([&] { return site.metric("deepclean_output_errors_total") >= 2; })) << d.log();
  EXPECT_TRUE(d.logged("Read-only file system")) << d.log();
  EXPECT_TRUE(d.running());
  ASSERT_EQ(::mount("tmpfs", out.c_str(), "tmpfs", MS_REMOUNT, "size=64m"), 0) << std::strerror(errno);
  site.write(kG + 7);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 6); })) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  EXPECT_EQ(site.outputs().size(), 8u);
  EXPECT_TRUE(d.logged("output directory writable again")) << d.log();
  EXPECT_EQ(site.metric("deepclean_segments_started_total"), 1);
  for (std::uint64_t k = 1; k < 7; ++k) EXPECT_TRUE(all_bits(site.state(kG + k), kCleanedBit)) << k;
}

// The output directory deleted under the running service (an operator's `rm -rf`): it is made again
// at the next write, with no error and no second skipped from then on.
TEST(RunService, OutputDirectoryDeletedIsMadeAgain) {
  REQUIRE_MODEL(bundle);
  Site site("outgone");
  START_AT_KG(d, site, bundle, 5.0);
  for (std::uint64_t k = 0; k < 3; ++k) site.write(kG + k);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 1); })) << d.log();
  ASSERT_TRUE(eventually([&] { return site.metric("deepclean_last_output_gps_seconds") == double(kG + 1); })) << d.log();
  fs::remove_all(site.dir() / "out");
  for (std::uint64_t k = 3; k < 6; ++k) {
    site.write(kG + k);
    pause_ms(50);
  }
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG + 2, kG + 4); })) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  EXPECT_EQ(site.outputs(), (std::vector<std::uint64_t>{kG + 2, kG + 3, kG + 4, kG + 5}));
  EXPECT_EQ(site.metric("deepclean_output_errors_total"), 0);
  EXPECT_EQ(site.seconds("out"), 6);
  EXPECT_TRUE(d.logged("GPS " + std::to_string(kG + 2) + ": the output directory " + (site.dir() / "out").string() +
                       " was missing (deleted while running?): made it again"))
      << d.log();
}

// The metrics file cannot be written (its directory replaced by a file): a warning names the file and
// the reason, cleaning is untouched, and the file is written again once it can be; a deleted directory
// is made again. The process's memory gauges agree with the kernel's count.
TEST(RunService, MetricsPathUnwritableThenWritableAgain) {
  REQUIRE_MODEL(bundle);
  Site site("metricsfail");
  START_AT_KG(d, site, bundle, 5.0);
  for (std::uint64_t k = 0; k < 2; ++k) site.write(kG + k);
  ASSERT_TRUE(eventually([&] { return site.seconds("in") == 2; })) << d.log();
  const fs::path dir = site.dir() / "metrics", moved = site.dir() / "metrics.moved";
  fs::rename(dir, moved);
  write_file(dir, "not a directory\n");
  for (std::uint64_t k = 2; k < 6; ++k) {
    site.write(kG + k);
    pause_ms(50);
  }
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 4); })) << d.log();
  EXPECT_TRUE(eventually([&] { return d.logged("cannot write the metrics file"); })) << d.log();
  EXPECT_TRUE(d.running());
  fs::remove(dir);
  fs::rename(moved, dir);
  site.write(kG + 6);
  ASSERT_TRUE(eventually([&] { return site.seconds("in") == 7; })) << d.log();
  // The directory deleted (a tmpfs remounted, a cleanup script): made again, with a line saying so.
  fs::remove_all(dir);
  site.write(kG + 7);
  ASSERT_TRUE(eventually([&] { return site.seconds("in") == 8; })) << d.log();
  EXPECT_TRUE(d.logged("the metrics file's directory " + dir.string() + " was missing: made it")) << d.log();
  // The process's memory as the kernel counts it (VmRSS) agrees with the file's gauge, sampled about
  // when the file was written; the heap in use is a part of it.
  const double rss = site.metric("deepclean_resident_memory_bytes");
  std::ifstream status("/proc/" + std::to_string(d.pid()) + "/status");
  double vm_rss_kib = 0;
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) vm_rss_kib = std::strtod(line.c_str() + 6, nullptr);
  }
  EXPECT_NEAR(rss, vm_rss_kib * 1024, 0.1 * vm_rss_kib * 1024);
  const double heap = site.metric("deepclean_heap_bytes{kind=\"in_use\"}");
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  EXPECT_GE(heap, 0) << "a sanitizer's allocator replaces glibc's, whose mallinfo2 then sees little or nothing";
#else
  EXPECT_GT(heap, 1e6);  // the model, its buffers and the pipeline's rings
  EXPECT_LT(heap, rss);
#endif
  EXPECT_GE(site.metric("deepclean_heap_bytes{kind=\"free\"}"), 0);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  EXPECT_EQ(site.outputs().size(), 8u);
  EXPECT_EQ(site.seconds("out"), 8);
}

// More than the output queue's bound (120 s) cannot be written: input pauses on disk with one error
// line saying so, and once the directory takes frames again every second is written, in order.
TEST(RunService, OutputQueueFullPausesInputAndSaysSo) {
  REQUIRE_MODEL(bundle);
  Site site("queuefull");
  START_AT_KG(d, site, bundle, 30.0);
  const fs::path out = site.dir() / "out", moved = site.dir() / "out.moved";
  fs::rename(out, moved);
  write_file(out, "not a directory\n");
  constexpr std::uint64_t n = 135;
  for (std::uint64_t k = 0; k < n; ++k) site.write(kG + k);
  ASSERT_TRUE(eventually([&] { return d.logged("output queue full (120 s"); }, 120)) << d.log();
  EXPECT_TRUE(eventually([&] { return site.metric("deepclean_output_queue_seconds") == 120; })) << d.log();
  EXPECT_LT(site.seconds("in"), double(n)) << "input was paused";
  fs::remove(out);
  fs::rename(moved, out);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + n - 2); }, 120)) << d.log();
  EXPECT_TRUE(d.logged("input resumes at GPS")) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  EXPECT_EQ(site.outputs().size(), n);
  EXPECT_EQ(site.seconds("out"), double(n));
  EXPECT_EQ(site.metric("deepclean_segments_started_total"), 1);
}

// A slow disk: every rename into the output directory takes 1.5 s (slower than the data) for a
// while. The service falls behind, then catches up: every second written once, in order, cleaned.
TEST(RunService, SlowOutputDiskFallsBehindThenCatchesUp) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "an LD_PRELOAD shim cannot come before the sanitizer's runtime";
#endif
  REQUIRE_MODEL(bundle);
  Site site("slowdisk");
  const fs::path flag = site.dir() / "slow.ms";
  site.write_config(bundle, "  start: " + std::to_string(kG) + "\n", 30.0);
  NotifyListener notify(site.notify());
  START_DAEMON_ENV(d, site, notify,
                   (std::vector<std::string>{std::string("LD_PRELOAD=") + DEEPCLEAN_SLOW_FS_LIB,
                                             "DEEPCLEAN_SLOW_FS_FLAG=" + flag.string(),
                                             "DEEPCLEAN_SLOW_FS_DIR=" + (site.dir() / "out").string()}));
  for (std::uint64_t k = 0; k < 3; ++k) site.write(kG + k);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 1); })) << d.log();
  write_file(flag, "1500\n");
  const auto t0 = Clock::now();
  for (std::uint64_t k = 3; k < 9; ++k) {
    site.write(kG + k);
    pause_ms(250);
  }
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG + 2, kG + 3); }, 30)) << d.log();
  EXPECT_GE(std::chrono::duration<double>(Clock::now() - t0).count(), 2.5) << "the shim did not slow the writes";
  EXPECT_FALSE(site.has_outputs(kG + 7, kG + 7)) << "fell behind";
  fs::remove(flag);
  site.write(kG + 9);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 8); }, 30)) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  EXPECT_EQ(site.outputs().size(), 10u);
  EXPECT_EQ(site.metric("deepclean_output_errors_total"), 0);
  EXPECT_EQ(site.metric("deepclean_segments_started_total"), 1);
  for (std::uint64_t k = 1; k < 9; ++k) EXPECT_TRUE(all_bits(site.state(kG + k), kCleanedBit)) << k;
}

namespace {
// Debian's libfaketime (package libfaketime), "" when absent.
std::string faketime_library() {
  for (const char* p : {"/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
                        "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1", "/usr/lib/faketime/libfaketimeMT.so.1"}) {
    if (fs::exists(p)) return p;
  }
  return "";
}
}  // namespace

// The wall clock stepped back an hour, then forward two (NTP, an operator's `date -s`), under the
// running service (libfaketime; the steady clock is left alone, as a real step leaves it). GPS
// time comes from the frames, timeouts from the steady clock: every second is written once, none
// is declared missing, and a model version copied in after the step back (its files' times now
// an hour ahead of the service's clock) is still picked up.
TEST(RunService, WallClockStepsChangeNothing) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "an LD_PRELOAD library cannot come before the sanitizer's runtime";
#endif
  REQUIRE_MODEL(fixture_bundle);
  const std::string faketime = faketime_library();
  if (faketime.empty()) GTEST_SKIP() << "libfaketime is not installed (tools/install-deps.sh installs it)";
  Site site("clockstep");
  const fs::path repo = site.dir() / "models";
  fs::create_directories(repo);
  fs::copy(fixture_bundle, repo / "v1", fs::copy_options::recursive);
  site.extra = "models: {repository: models, validation_seconds: 1000, scan_interval_seconds: 1}\ncontrol: {socket: ctl.sock}\n";
  site.write_config(repo / "v1", "  start: " + std::to_string(kG) + "\n", 5.0);
  const fs::path offset = site.dir() / "faketime";
  write_file(offset, "+0\n");
  NotifyListener notify(site.notify());
  START_DAEMON_ENV(d, site, notify,
                   (std::vector<std::string>{"LD_PRELOAD=" + faketime, "FAKETIME_TIMESTAMP_FILE=" + offset.string(),
                                             "FAKETIME_CACHE_DURATION=1", "FAKETIME_DONT_FAKE_MONOTONIC=1",
                                             "NO_FAKE_STAT=1"}));  // file times stay the kernel's, as after a real step
  std::uint64_t next = kG;
  auto feed = [&](int seconds) {
    for (int i = 0; i < seconds; ++i) {
      site.write(next++);
      pause_ms(200);
    }
  };
  feed(4);
  write_file(offset, "-3600\n");
  pause_ms(1500);  // past libfaketime's cache of the offset
  feed(4);
  fs::copy(fixture_bundle, repo / ".v2.tmp", fs::copy_options::recursive);
  {
    std::string y = read_file(repo / ".v2.tmp" / "bundle.yaml");
    y.replace(y.find("version: fixture-c3"), std::strlen("version: fixture-c3"), "version: fixture-c3-v2");
    write_file(repo / ".v2.tmp" / "bundle.yaml", y);
  }
  fs::rename(repo / ".v2.tmp", repo / "v2");
  bool canary = false;
  for (int i = 0; i < 40 && !canary; ++i) {
    feed(1);
    canary = model_state(site.config(), "v2", site.dir()).rfind("canary", 0) == 0;
  }
  EXPECT_TRUE(canary) << model_state(site.config(), "v2", site.dir()) << "\n" << d.log();
  {  // the step reached the service: its log stamps that line an hour behind this process's clock
    const std::string log = d.log();
    const auto at = log.find("new version v2");
    ASSERT_NE(at, std::string::npos) << log;
    const auto line = log.rfind('>', at);  // "<6>2026-12-07 21:12:48.030 info: ..."
    std::tm tm{};
    ASSERT_NE(::strptime(log.substr(line + 1, 19).c_str(), "%Y-%m-%d %H:%M:%S", &tm), nullptr) << log.substr(line, 40);
    tm.tm_isdst = -1;  // spdlog stamps local time
    EXPECT_GE(static_cast<double>(std::time(nullptr) - std::mktime(&tm)), 3000.0) << log.substr(line, 40);
  }
  write_file(offset, "+7200\n");
  pause_ms(1500);
  feed(4);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, next - 2); })) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  EXPECT_EQ(site.outputs().size(), next - kG);
  EXPECT_EQ(site.seconds("in"), double(next - kG));
  EXPECT_EQ(site.seconds("missing"), 0);
  EXPECT_EQ(site.metric("deepclean_outputs_completed_total{by=\"timeout\"}"), 0);
  EXPECT_EQ(site.metric("deepclean_segments_started_total"), 1);
}

// Model files that would end a process loading them (tools/fixtures/make_test_models.py): one that
// crashes torch::jit::load (SIGSEGV), one whose forward() never returns. A reload to either is
// refused with the reason from the check in a separate process; the service cleans on, unharmed.
TEST(RunService, HostileModelsAreRefusedAndTheServiceCleansOn) {
  REQUIRE_MODEL(bundle);
  Site site("hostile");
  const fs::path crash = site.dir() / "bundle_crash", loop = site.dir() / "bundle_loop";
  for (const auto& [dir, model] : {std::pair{crash, "hostile_crash"}, std::pair{loop, "hostile_loop"}}) {
    fs::copy(bundle, dir, fs::copy_options::recursive);
    fs::copy_file(bundle.parent_path() / model / "model.pt", dir / "model.pt", fs::copy_options::overwrite_existing);
  }
  site.model_extra = ", check_timeout_seconds: 3";
  const std::string start = "  start: " + std::to_string(kG) + "\n";
  site.write_config(bundle, start, 10.0);
  NotifyListener notify(site.notify());
  START_DAEMON(d, site, notify);
  for (std::uint64_t k = 0; k < 3; ++k) site.write(kG + k);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 1); })) << d.log();

  site.write_config(crash, start, 10.0);
  d.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return site.metric("deepclean_config_reloads_total{result=\"rejected\"}") == 1; }))
      << d.log();
  EXPECT_TRUE(d.logged((crash / "model.pt").string() + ": crashed its check")) << d.log();
  EXPECT_TRUE(d.logged("with signal " + std::to_string(SIGSEGV) + " (Segmentation fault)")) << d.log();
  EXPECT_TRUE(d.logged("keeping model fixture-c3")) << d.log();
  for (std::uint64_t k = 3; k < 5; ++k) site.write(kG + k);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 3); })) << d.log();

  site.write_config(loop, start, 10.0);
  d.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return site.metric("deepclean_config_reloads_total{result=\"rejected\"}") == 2; }, 20))
      << d.log();
  EXPECT_TRUE(d.logged((loop / "model.pt").string() + ": its check did not finish within 3 s")) << d.log();
  for (std::uint64_t k = 5; k < 7; ++k) site.write(kG + k);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 5); })) << d.log();
  EXPECT_TRUE(d.running());
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  EXPECT_EQ(site.outputs().size(), 7u);
  EXPECT_EQ(site.seconds("out"), 7);
  EXPECT_EQ(site.metric("deepclean_segments_started_total"), 1) << "the refused reloads did not end the segment";
  EXPECT_TRUE(all_bits(site.state(kG + 5), kCleanedBit));
}

TEST(RunService, ReloadWithBrokenThenValidBundle) {
  REQUIRE_MODEL(fixture_bundle);
  Site site("reload");
  const fs::path a = site.dir() / "bundle_a", b = site.dir() / "bundle_b", bad = site.dir() / "bundle_bad";
  for (const auto& p : {a, b, bad}) fs::copy(fixture_bundle, p, fs::copy_options::recursive);
  {
    std::string y = read_file(b / "bundle.yaml");
    const auto at = y.find("version: fixture-c3");
    ASSERT_NE(at, std::string::npos);
    y.replace(at, std::strlen("version: fixture-c3"), "version: fixture-c3-reloaded");
    write_file(b / "bundle.yaml", y);
    write_file(bad / "model.pt", "this is not a TorchScript archive");
  }
  const std::string start = "  start: " + std::to_string(kG) + "\n";
  // A long input timeout: waiting for the reloads must not end segments by the stall rule, so the
  // segment count below only reflects the reloads.
  site.write_config(a, start, 10.0);
  NotifyListener notify(site.notify());
  START_DAEMON(d, site, notify);
  for (std::uint64_t k = 0; k < 4; ++k) site.write(kG + k);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 2); })) << d.log();

  site.write_config(bad, start, 10.0);
  d.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return notify.count("READY=1") >= 2; })) << notify.all() << d.log();
  EXPECT_EQ(notify.count("RELOADING=1"), 1u) << notify.all();
  EXPECT_TRUE(d.logged("reload rejected")) << d.log();
  EXPECT_TRUE(d.logged("keeping model fixture-c3")) << d.log();
  ASSERT_TRUE(eventually([&] { return site.metric("deepclean_config_reloads_total{result=\"rejected\"}") == 1; }));
  for (std::uint64_t k = 4; k < 6; ++k) site.write(kG + k);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 4); })) << d.log();

  site.write_config(b, start, 10.0);
  d.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return notify.count("READY=1") >= 3; })) << notify.all() << d.log();
  EXPECT_EQ(notify.count("RELOADING=1"), 2u) << notify.all();
  EXPECT_TRUE(d.logged("reloaded")) << d.log();
  ASSERT_TRUE(eventually([&] { return site.metric("deepclean_config_reloads_total{result=\"ok\"}") == 1; }));
  for (std::uint64_t k = 6; k < 8; ++k) site.write(kG + k);

  // Only an operational setting changes: the model and the open segment are kept.
  site.write_config(b, start, 9.0);
  d.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return notify.count("READY=1") >= 4; })) << notify.all() << d.log();
  EXPECT_TRUE(d.logged("cleaning settings unchanged (changed: input.timeout_seconds), the segment continues"))
      << d.log();
  for (std::uint64_t k = 8; k < 10; ++k) site.write(kG + k);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 8); })) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();

  EXPECT_EQ(site.outputs().size(), 10u) << "no output gap across the reloads";
  EXPECT_EQ(site.seconds("in"), 10);
  EXPECT_EQ(site.seconds("out"), 10);
  EXPECT_EQ(site.metric("deepclean_config_reloads_total{result=\"ok\"}"), 2);
  // The valid new bundle ends the first segment (swap between seconds 5 and 6); the rejected reload and
  // the settings-only reload do not.
  EXPECT_EQ(site.metric("deepclean_segments_started_total"), 2);
  const auto m = site.metrics();
  bool new_label = false;
  for (const auto& [k, v] : m) {
    if (k.rfind("deepclean_info{", 0) == 0) new_label = k.find("model_version=\"fixture-c3-reloaded\"") != std::string::npos;
  }
  EXPECT_TRUE(new_label) << read_file(site.metrics_file());
  EXPECT_TRUE(all_bits(site.state(kG + 4), kCleanedBit)) << "the rejected reload did not break the segment";
  EXPECT_TRUE(all_bits(site.state(kG + 8), kCleanedBit)) << "the new model cleans";
}

// Every key of the configuration reference, changed one at a time on a running service and
// reloaded: either the reload applies it (`deepclean ctl config`, the values the service runs with,
// then equal the file's) or it is refused as a whole with "needs a restart: KEY" and nothing
// changes; which one is config::keys()' OnReload, as docs/configuration.md documents. Changes
// accumulate (applied keys are not put back), so the walk also reloads over many changed keys.
TEST(RunService, ReloadAppliesEveryKeyOrSaysItNeedsARestart) {
  REQUIRE_MODEL(fixture_bundle);
  Site site("reloadkeys");
  const fs::path repo = site.dir() / "models";
  fs::create_directories(repo);
  fs::copy(fixture_bundle, repo / "v1", fs::copy_options::recursive);
  site.with_state = true;
  site.extra =
      "models: {repository: models, scan_interval_seconds: 5}\n"
      "control: {socket: ctl.sock}\n"
      "training_archive: {directory: archive}\n";
  site.write_config(repo / "v1",
                    "  start: " + std::to_string(kG) + "\n  state_vector: {channel: H1:GDS-CALIB_STATE_VECTOR, mask: 3}\n",
                    10.0);
  // The values in force, asked on the control socket as `deepclean ctl config` asks.
  auto running = [&] {
    std::map<std::string, std::string> v;
    const auto reply = nlohmann::json::parse(deepclean::daemon::control_request((site.dir() / "ctl.sock").string(), {"config"}));
    for (const auto& [k, x] : reply["keys"].items()) v[k] = x.get<std::string>();
    return v;
  };
  auto of_file = [&] {
    std::map<std::string, std::string> v;
    for (const auto& [k, x] : dc::key_values(dc::load_config(site.config().string()))) v[k] = x;
    return v;
  };
  // A live value for every key: valid here, different from the one running.
  const std::map<std::string, std::string> other = {
      {"ifo", "L1"},
      {"input.strain.directory", "strain2"},
      {"input.strain.frame_type", "H1_other"},
      {"input.strain.observatory", "X"},
      {"input.strain.channel", "H1:GDS-CALIB_STRAIN_X"},
      {"input.witness.directory", "witness2"},
      {"input.witness.frame_type", "H1_other"},
      {"input.witness.observatory", "X"},
      {"input.state_vector.channel", "H1:OTHER-STATE_VECTOR"},
      {"input.state_vector.mask", "1"},
      {"input.timeout_seconds", "9"},
      {"input.poll", "true"},
      {"input.poll_interval_seconds", "0.1"},
      {"input.start", "newest"},
      {"output.directory", "out2"},
      {"output.frame_type", "H1_CLEAN2"},
      {"output.channel", "H1:CLEAN2"},
      {"output.noise_channel", "H1:NOISE2"},
      {"output.state_vector_channel", "H1:SV2"},
      {"output.passthrough", "[H1:PEM-WIT_00_DQ]"},
      {"output.compression", "zlib"},
      {"output.zlib_level", "6"},
      {"output.retention_seconds", "3600"},
      {"model.bundle", "models/other"},
      {"model.device", "cuda"},
      {"model.threads", "2"},
      {"model.batch_size", "16"},
      {"model.fp16", "true"},
      {"model.cuda_graph", "true"},
      {"model.witness_buffer", "device"},
      {"model.check_timeout_seconds", "60"},
      {"models.repository", "models2"},
      {"models.archive", "models-archive"},
      {"models.candidate_directory", "canary"},
      {"models.candidate_frame_type", "H1_CANARY2"},
      {"models.validation_seconds", "60"},
      {"models.margin", "0"},
      {"models.max_compute_seconds", "0.25"},
      {"models.probation_seconds", "0"},
      {"models.crossfade_seconds", "0"},
      {"models.scan_interval_seconds", "1"},
      {"inference.kernel_seconds", "2"},
      {"inference.sampling_rate", "8"},
      {"inference.aggregation_seconds", "0.5"},
      {"bandpass.method", "fir"},
      {"bandpass.memory_seconds", "3"},
      {"bandpass.look_ahead_seconds", "0.5"},
      {"bandpass.kaiser_beta", "8"},
      {"bandpass.bands", "[[50, 70]]"},
      {"bandpass.order", "4"},
      {"subtraction.taper_seconds", "0.5"},
      {"gate.enabled", "true"},
      {"gate.window_seconds", "3"},
      {"gate.segment_seconds", "0.5"},
      {"gate.guard_segment_seconds", "2"},
      {"gate.guard_window_seconds", "16"},
      {"gate.guard_hz", "5"},
      {"gate.close_above", "1.2"},
      {"gate.onset_close_above", "1.5"},
      {"gate.onset_floor", "0"},
      {"gate.open_below", "0.8"},
      {"gate.guard_close_above", "1.2"},
      {"gate.guard_onset_close_above", "3"},
      {"gate.guard_open_below", "1.0"},
      {"gate.min_closed_seconds", "4"},
      {"gate.recover_seconds", "4"},
      {"gate.ramp_down_seconds", "0.5"},
      {"gate.ramp_up_seconds", "2"},
      {"gate.max_zscore", "20"},
      {"gate.flatline", "false"},
      {"gate.saturation_fraction", "0.05"},
      {"logging.level", "info"},
      {"metrics.path", "metrics/other.prom"},
      {"control.socket", "ctl2.sock"},
      {"training_archive.directory", "archive2"},
      {"training_archive.frame_type", "H1_TRAINING2"},
      {"training_archive.span_seconds", "4096"},
      {"training_archive.chunk_seconds", "32"},
      {"training_archive.max_megabytes", "100"},
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
  // Refusals that are right here, with what they must say: with a repository production is the
  // repository's; without CUDA, the CUDA settings are invalid (on a GPU host these are applied).
  const std::map<std::string, std::string> may_refuse = {
      {"model.bundle", "with models.repository set production is the repository's version v1"},
      {"model.device", "cuda"},
      {"model.fp16", "need a CUDA device"},
      {"model.cuda_graph", "need a CUDA device"},
  };

  NotifyListener notify(site.notify());
  START_DAEMON(d, site, notify);
  for (std::uint64_t k = 0; k < 3; ++k) site.write(kG + k);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG); })) << d.log();
  {  // `deepclean ctl config` as an operator reads it
    const CliResult r = run_deepclean("ctl --config " + sh_quote(site.config().string()) + " config", site.dir());
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_NE(r.out.find("gate.close_above: 1\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("input.start: " + std::to_string(kG) + "\n"), std::string::npos) << r.out;
  }
  double reloads = 0;
  std::string metrics_path = site.metrics_file().string();
  auto reload = [&] {
    d.signal(SIGHUP);
    ++reloads;
    return eventually([&] {
      const auto m = parse_metrics(metrics_path);
      auto count = [&](const char* result) {
        const auto it = m.find(std::string("deepclean_config_reloads_total{result=\"") + result + "\"}");
        return it == m.end() ? 0.0 : it->second;
      };
      return count("ok") + count("rejected") == reloads;
    }, 60);
  };
  std::size_t walked = 0;
  for (const auto& k : dc::keys()) {
    const auto alt = other.find(k.key);
    ASSERT_NE(alt, other.end()) << k.key << ": give it a live value in `other`";
    const std::string before = read_file(site.config());
    const std::map<std::string, std::string> was = running();
    YAML::Node root = YAML::Load(before);
    std::vector<std::string> parts;
    std::stringstream ss(k.key);
    for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
    std::vector<YAML::Node> path{root};
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) path.push_back(path.back()[parts[i]]);
    path.back()[parts.back()] = YAML::Load(alt->second);
    YAML::Emitter out;
    out << root;
    write_file(site.config(), out.c_str());
    if (k.key == "metrics.path") metrics_path = (site.dir() / "metrics" / "other.prom").string();  // where it counts now
    const std::size_t log_before = d.log().size();
    ASSERT_TRUE(reload()) << k.key << "\n" << d.log();
    const std::string said = d.log().substr(log_before);
    const std::map<std::string, std::string> now = running();
    const bool refused = said.find("reload rejected") != std::string::npos;
    EXPECT_EQ(refused, k.restart() || (refused && may_refuse.count(k.key) == 1)) << k.key << "\n" << said;
    if (refused) {
      EXPECT_EQ(now, was) << k.key << ": a refused reload changed the running configuration";
      if (k.restart()) {
        // (a default derived from the key, e.g. training_archive.frame_type from ifo, may be listed too)
        const auto at = said.find("reload rejected: needs a restart: ");
        const std::string listed = at == std::string::npos ? "" : said.substr(at, said.find(" (no key", at) - at);
        EXPECT_NE(listed.find(k.key), std::string::npos) << k.key << "\n" << said;
      } else if (may_refuse.count(k.key) == 1) {
        EXPECT_NE(said.find(may_refuse.at(k.key)), std::string::npos) << k.key << "\n" << said;
      }
      write_file(site.config(), before);  // the running value back, for the keys that follow
    } else {
      EXPECT_NE(said.find("reloaded " + site.config().string()), std::string::npos) << k.key << "\n" << said;
      std::map<std::string, std::string> expected = of_file();
      EXPECT_NE(expected.at(k.key), was.at(k.key)) << k.key << ": the value in `other` is the running one";
      expected["model.bundle"] = was.at("model.bundle");  // production's, with a repository
      EXPECT_EQ(now, expected) << k.key << ": accepted but not in force";
      if (k.key == "metrics.path") {
        EXPECT_TRUE(fs::exists(metrics_path)) << "the reload's metrics went to the new path";
      }
    }
    ++walked;
  }
  EXPECT_EQ(walked, dc::keys().size());
  EXPECT_TRUE(d.running()) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
}

TEST(RunService, SigtermMidStreamThenRestartResumesWithoutGapOrDuplicate) {
  REQUIRE_MODEL(bundle);
  Site site("restart");
  site.write_config(bundle, "");  // start: resume (the default)
  NotifyListener notify(site.notify());
  std::map<std::uint64_t, fs::file_time_type> first_run;
  {
    START_DAEMON(d, site, notify);
    for (std::uint64_t k = 0; k < 5; ++k) {
      site.write(kG + k);
      pause_ms(50);
    }
    ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 2); })) << d.log();
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(10), 0) << d.log();
    // The second in flight and those held for look-ahead were flushed before exiting.
    EXPECT_TRUE(site.has_outputs(kG, kG + 4)) << d.log();
    for (std::uint64_t k = 0; k < 5; ++k) first_run[kG + k] = fs::last_write_time(site.out_path(kG + k));
  }
  for (std::uint64_t k = 5; k < 9; ++k) site.write(kG + k);  // while the daemon is down
  fs::remove(site.log());
  NotifyListener notify2(site.dir() / "notify2.sock");
  START_DAEMON(d2, site, notify2);
  EXPECT_TRUE(d2.logged("resuming after the newest output frame, GPS " + std::to_string(kG + 4))) << d2.log();
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG + 5, kG + 7); })) << d2.log();
  ASSERT_TRUE(eventually([&] { return d2.logged("caught up: the 4 seconds found on disk"); })) << d2.log();
  site.write(kG + 9);
  site.write(kG + 10);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 10); })) << d2.log();
  d2.signal(SIGTERM);
  EXPECT_EQ(d2.wait_exit(10), 0) << d2.log();

  EXPECT_EQ(site.outputs().size(), 11u);
  for (const auto& [g, t] : first_run) EXPECT_EQ(fs::last_write_time(site.out_path(g)), t) << "rewritten: " << g;
  EXPECT_EQ(site.seconds("in"), 6);
  EXPECT_EQ(site.seconds("out"), 6);
  EXPECT_EQ(site.seconds("missing"), 0);
  EXPECT_EQ(site.seconds("duplicate"), 0);
  EXPECT_EQ(site.metric("deepclean_last_output_gps_seconds"), static_cast<double>(kG + 10));
}

TEST(RunService, VanishedFileRetentionAndWatchdog) {
  REQUIRE_MODEL(bundle);
  Site site("vanish");
  site.write_config(bundle, "  start: " + std::to_string(kG) + "\n");
  {
    std::string y = read_file(site.config());
    y.replace(y.find("output: {directory: out}"), std::strlen("output: {directory: out}"),
              "output: {directory: out, retention_seconds: 2}");
    write_file(site.config(), y);
  }
  // Files retention must never touch: another frame type and a file that is not a frame.
  const fs::path other_type = site.dir() / "out" / ("H-H1_OTHER-" + std::to_string(kG) + "-1.gwf"),
                 not_frame = site.dir() / "out" / "notes.txt";
  write_file(other_type, "x");
  write_file(not_frame, "x");
  NotifyListener notify(site.notify());
  // As systemd would with WatchdogSec=1: pings are expected every half period.
  START_DAEMON_ENV(d, site, notify, std::vector<std::string>{"WATCHDOG_USEC=1000000"});
  for (std::uint64_t k = 0; k < 3; ++k) site.write(kG + k);
  // 3: the witness frame is removed right after it appeared (a ring buffer deleting it, say).
  Site::put(site.witness_path(kG + 3), site.witness_bytes(kG + 3, Fault::None), Delivery::Rename);
  fs::remove(site.witness_path(kG + 3));
  Site::put(site.strain_path(kG + 3), site.strain_bytes(kG + 3, Fault::None), Delivery::Rename);
  for (std::uint64_t k = 4; k < 7; ++k) site.write(kG + k);
  ASSERT_TRUE(eventually([&] { return site.metric("deepclean_last_output_gps_seconds") == kG + 6; })) << d.log();
  ASSERT_TRUE(eventually([&] { return notify.count("WATCHDOG=1") >= 2; })) << notify.all();
  d.signal(SIGINT);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();

  EXPECT_EQ(site.seconds("vanished"), 1);
  EXPECT_EQ(site.seconds("missing"), 1) << "the vanished witness never came back";
  EXPECT_EQ(site.seconds("out"), 7);
  EXPECT_TRUE(d.logged("H-H1_lldetchar-" + std::to_string(kG + 3) + "-1.gwf vanished before it could be read")) << d.log();
  // Retention 2 s: only the outputs of the newest three seconds are left.
  const std::vector<std::uint64_t> kept = {kG + 4, kG + 5, kG + 6};
  EXPECT_EQ(site.outputs(), kept);
  EXPECT_TRUE(fs::exists(other_type)) << "another frame type is not ours";
  EXPECT_TRUE(fs::exists(not_frame));
  for (std::uint64_t k = 0; k < 4; ++k) {
    EXPECT_TRUE(d.logged("retention: deleted the output frame of GPS " + std::to_string(kG + k))) << k << d.log();
  }
}

TEST(RunService, WitnessesInsideTheStrainFrames) {
  REQUIRE_MODEL(bundle);
  Site site("combined");
  site.write_config(bundle, "  start: " + std::to_string(kG) + "\n");
  {
    std::string y = read_file(site.config());
    const std::string w = "  witness: {directory: witness, frame_type: H1_lldetchar}\n";
    y.erase(y.find(w), w.size());
    write_file(site.config(), y);
  }
  NotifyListener notify(site.notify());
  START_DAEMON(d, site, notify);
  for (std::uint64_t k : {0u, 1u, 2u, 3u, 5u, 6u}) site.write_combined(kG + k);  // 4 never comes
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG + 5, kG + 6); })) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  const std::vector<std::uint64_t> want = {kG, kG + 1, kG + 2, kG + 3, kG + 5, kG + 6};
  EXPECT_EQ(site.outputs(), want);
  EXPECT_EQ(site.seconds("missing"), 1);
  EXPECT_EQ(site.seconds("in"), 6);
  EXPECT_EQ(site.metric("deepclean_segments_started_total"), 2);
  EXPECT_TRUE(all_bits(site.state(kG + 1), kCleanedBit | kInputOkBit));
  EXPECT_TRUE(d.logged("witnesses in the strain frames")) << d.log();
}

TEST(RunService, SigtermWhileTheOutputDirectoryIsUnwritableExitsOneAndTheRestartRedoesTheSeconds) {
  REQUIRE_MODEL(bundle);
  Site site("stopfail");
  site.write_config(bundle, "", 5.0);  // start: resume
  NotifyListener notify(site.notify());
  const fs::path out = site.dir() / "out", moved = site.dir() / "out.moved", blocker = site.dir() / "out.blocker";
  {
    START_DAEMON(d, site, notify);
    site.write(kG);
    site.write(kG + 1);
    ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG); })) << d.log();
    write_file(blocker, "not a directory\n");
    fs::rename(out, moved);
    fs::rename(blocker, out);
    site.write(kG + 2);
    site.write(kG + 3);
    ASSERT_TRUE(eventually([&] { return site.metric("deepclean_output_errors_total") >= 1; })) << d.log();
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(20), 1) << "outputs left unwritten: exit status 1\n" << d.log();
    EXPECT_TRUE(d.logged("could not be written before stopping")) << d.log();
    EXPECT_GE(notify.count("STOPPING=1"), 1u) << notify.all();
  }
  fs::remove(out);
  fs::rename(moved, out);
  const std::vector<std::uint64_t> first = {kG};
  EXPECT_EQ(site.outputs(), first);
  fs::remove(site.log());
  NotifyListener notify2(site.dir() / "notify2.sock");
  START_DAEMON(d2, site, notify2);
  EXPECT_TRUE(d2.logged("resuming after the newest output frame, GPS " + std::to_string(kG))) << d2.log();
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 2); })) << d2.log();
  d2.signal(SIGTERM);
  EXPECT_EQ(d2.wait_exit(10), 0) << d2.log();
  const std::vector<std::uint64_t> want = {kG, kG + 1, kG + 2, kG + 3};
  EXPECT_EQ(site.outputs(), want) << "the restart redid the unwritten seconds";
  EXPECT_EQ(site.seconds("in"), 3);
  EXPECT_EQ(site.seconds("duplicate"), 0);
  EXPECT_EQ(site.seconds("missing"), 0);
}

// The other vanishing: the file was there when announced and when first tried, and is gone at the
// retry (the attempt path, not the arrival path of VanishedFileRetentionAndWatchdog). The second
// waits for it again and is cleaned normally when it comes back within the timeout.
TEST(RunService, FileVanishingBetweenTwoAttemptsIsCountedAndAwaitedAgain) {
  REQUIRE_MODEL(bundle);
  Site site("vanish2");
  // A long timeout: the steps below must all happen within it even on a slow host.
  START_AT_KG(d, site, bundle, 20.0);
  for (std::uint64_t k = 0; k < 3; ++k) site.write(kG + k);
  // 3: the strain frame is complete, the witness frame half written: attempts retry every 0.1 s.
  const std::uint64_t g = kG + 3;
  Site::put(site.strain_path(g), site.strain_bytes(g, Fault::None), Delivery::Rename);
  auto wit = site.witness_bytes(g, Fault::None);
  Site::put(site.witness_path(g), std::vector<std::byte>(wit.begin(), wit.begin() + static_cast<std::ptrdiff_t>(wit.size() / 2)),
            Delivery::InPlace);
  ASSERT_TRUE(eventually([&] { return d.logged("retrying until the timeout"); })) << d.log();
  fs::remove(site.strain_path(g));  // gone before the next attempt reads it
  ASSERT_TRUE(eventually([&] { return d.logged("vanished before it could be read (vanished); waiting for it"); }))
      << d.log();
  Site::put(site.witness_path(g), wit, Delivery::InPlace);
  Site::put(site.strain_path(g), site.strain_bytes(g, Fault::None), Delivery::Rename);
  site.write(kG + 4);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 3); })) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  EXPECT_EQ(site.outputs().size(), 5u);
  EXPECT_EQ(site.seconds("vanished"), 1);
  EXPECT_EQ(site.seconds("missing"), 0);
  EXPECT_EQ(site.seconds("corrupt"), 0);
  EXPECT_EQ(site.seconds("in"), 5);
  EXPECT_EQ(site.metric("deepclean_segments_started_total"), 1);
  EXPECT_TRUE(all_bits(site.state(g), kCleanedBit | kInputOkBit)) << "cleaned with the files that came back";
  EXPECT_TRUE(d.logged("H-H1_llhoft-" + std::to_string(g) + "-1.gwf vanished before it could be read")) << d.log();
}

// After a reboot the input directories on /dev/shm appear only when the site's frame distribution makes
// them, possibly after the service started: it waits for them (a warning and STATUS name them; no
// READY=1 yet), then starts as usual and cleans what arrives.
TEST(RunService, WaitsForInputDirectoriesThatDoNotExistYet) {
  REQUIRE_MODEL(bundle);
  Site site("nodirs");
  fs::remove_all(site.dir() / "strain");
  fs::remove_all(site.dir() / "witness");
  site.write_config(bundle, "");
  NotifyListener notify(site.notify());
  Daemon d(site.config(), site.log(), notify.path(), {});
  ASSERT_TRUE(eventually([&] { return d.logged("does not exist: waiting for it"); }, 30)) << d.log();
  ASSERT_TRUE(eventually([&] { return notify.count("STATUS=waiting for input directory ") >= 1; }, 10)) << notify.all();
  const std::string status = notify.all();
  EXPECT_NE(status.find((site.dir() / "strain").string()), std::string::npos) << status;
  EXPECT_NE(status.find((site.dir() / "witness").string()), std::string::npos) << status;
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_TRUE(d.running()) << d.log();
  EXPECT_EQ(notify.count("READY=1"), 0u) << notify.all();
  fs::create_directories(site.dir() / "strain");
  fs::create_directories(site.dir() / "witness");
  ASSERT_TRUE(eventually([&] { return notify.count("READY=1") >= 1 || !d.running(); }, 120)) << d.log();
  EXPECT_TRUE(d.logged("input directories present after ")) << d.log();
  for (std::uint64_t k = 0; k < 4; ++k) site.write(kG + k);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 2); })) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  const std::vector<std::uint64_t> want = {kG, kG + 1, kG + 2, kG + 3};
  EXPECT_EQ(site.outputs(), want);
}

TEST(RunService, StartAtTheNewestSecondOnDisk) {
  REQUIRE_MODEL(bundle);
  Site site("newest");
  for (std::uint64_t k = 0; k < 5; ++k) site.write(kG + k);
  site.write_config(bundle, "  start: newest\n");
  NotifyListener notify(site.notify());
  START_DAEMON(d, site, notify);
  EXPECT_TRUE(d.logged("starting at GPS " + std::to_string(kG + 4) + " (the newest input second)")) << d.log();
  site.write(kG + 5);
  site.write(kG + 6);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG + 4, kG + 5); })) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  const std::vector<std::uint64_t> want = {kG + 4, kG + 5, kG + 6};
  EXPECT_EQ(site.outputs(), want);
  EXPECT_EQ(site.seconds("in"), 3);
  EXPECT_EQ(site.seconds("missing"), 0);
  EXPECT_EQ(site.seconds("late"), 0) << "files older than the start point are not late";
  EXPECT_EQ(site.metric("deepclean_segments_started_total"), 1);
}

TEST(RunService, ConfiguredStartBeforeTheInputOnDiskGivesUpTheSecondsInBetween) {
  REQUIRE_MODEL(bundle);
  Site site("gpsstart");
  for (std::uint64_t k = 3; k < 6; ++k) site.write(kG + k);
  START_AT_KG(d, site, bundle, 1.0);
  EXPECT_TRUE(d.logged("starting at GPS " + std::to_string(kG) + " (configured start)")) << d.log();
  ASSERT_TRUE(eventually([&] { return site.seconds("missing") == 3 && site.has_outputs(kG + 3, kG + 5); })) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  const std::vector<std::uint64_t> want = {kG + 3, kG + 4, kG + 5};
  EXPECT_EQ(site.outputs(), want);
  EXPECT_EQ(site.seconds("in"), 3);
  EXPECT_EQ(site.seconds("missing"), 3) << "one give-up for the run of three absent seconds";
  EXPECT_TRUE(d.logged("GPS " + std::to_string(kG) + ": no frame")) << d.log();
  EXPECT_TRUE(d.logged("3 seconds missing through GPS " + std::to_string(kG + 2))) << d.log();
}

TEST(RunService, ResumeAfterADowntimeLongerThanTheInputOnDisk) {
  REQUIRE_MODEL(bundle);
  Site site("downtime");
  // The newest output of an earlier run is GPS kG+1 (only its name matters for resuming); the input
  // ring buffer now begins at kG+5.
  write_file(site.out_path(kG + 1), "");
  for (std::uint64_t k = 5; k < 8; ++k) site.write(kG + k);
  site.write_config(bundle, "");  // start: resume
  NotifyListener notify(site.notify());
  START_DAEMON(d, site, notify);
  EXPECT_TRUE(d.logged("outputs end at GPS " + std::to_string(kG + 1) + " but the input on disk begins at GPS " +
                       std::to_string(kG + 5) + ": 3 seconds can no longer be cleaned"))
      << d.log();
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG + 5, kG + 7); })) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  const std::vector<std::uint64_t> want = {kG + 1, kG + 5, kG + 6, kG + 7};
  EXPECT_EQ(site.outputs(), want);
  EXPECT_EQ(site.seconds("in"), 3);
  EXPECT_EQ(site.seconds("missing"), 0);
}

// A real inotify queue overflow (no root needed): the daemon is stopped (SIGSTOP) while more files
// than fs.inotify.max_queued_events are written into its strain directory, then the frames of the
// next three seconds, whose events the kernel drops. After SIGCONT the overflow's rescan finds them.
TEST(RunService, InotifyQueueOverflowRescanFindsTheFramesWhoseEventsWereLost) {
  long limit = 0;
  std::ifstream("/proc/sys/fs/inotify/max_queued_events") >> limit;
  if (limit <= 0 || limit > 65536) GTEST_SKIP() << "fs.inotify.max_queued_events is " << limit;
  REQUIRE_MODEL(bundle);
  Site site("overflow");
  // A long timeout: the pause must not end the segment (stall rule) or give anything up.
  START_AT_KG(d, site, bundle, 20.0);
  site.write(kG);
  site.write(kG + 1);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG); })) << d.log();
  d.signal(SIGSTOP);
  for (long i = 0; i < limit + 16; ++i) {
    std::FILE* f = std::fopen((site.dir() / "strain" / ("junk" + std::to_string(i))).c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  for (std::uint64_t k = 2; k < 5; ++k) site.write(kG + k);
  d.signal(SIGCONT);
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 3); })) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  EXPECT_EQ(site.outputs().size(), 5u);
  EXPECT_GE(site.metric("deepclean_inotify_overflows_total"), 1);
  EXPECT_EQ(site.seconds("in"), 5);
  EXPECT_EQ(site.seconds("duplicate"), 0) << "files seen before the overflow are not new";
  EXPECT_EQ(site.seconds("late"), 0);
  EXPECT_EQ(site.seconds("missing"), 0);
  EXPECT_EQ(site.metric("deepclean_segments_started_total"), 1);
  for (std::uint64_t k = 1; k < 4; ++k) EXPECT_TRUE(all_bits(site.state(kG + k), kCleanedBit)) << k;
  EXPECT_TRUE(d.logged("inotify event queue overflowed (events were lost): rescanned the input directories, 10 frame "
                       "files listed"))
      << d.log();
}


// The model lifecycle end to end (docs/model-lifecycle.md): a real repository, `deepclean run` and
// `deepclean ctl`. A new version (the fixture model under another version, so cleaning equally well)
// is validated and promoted with no segment end; an operator rolls back; a broken version and one
// with NaN weights are rejected; the repository goes away and comes back; another user's `ctl` cannot reach the socket; a restart takes production from the record.
TEST(RunService, ModelRepositoryCanaryPromotionRollbackAndCtl) {
  REQUIRE_MODEL(fixture_bundle);
  Site site("lifecycle");
  const fs::path repo = site.dir() / "models";
  fs::create_directories(repo);
  fs::copy(fixture_bundle, repo / "v1", fs::copy_options::recursive);
  site.extra =
      "models: {repository: models, validation_seconds: 3, margin: 0.05, probation_seconds: 600, "
      "crossfade_seconds: 1, scan_interval_seconds: 5}\n"
      "control: {socket: ctl.sock}\n";
  // A long input timeout: the pauses below for `ctl` must not end the segment by the stall rule.
  site.write_config(repo / "v1", "  start: " + std::to_string(kG) + "\n", 10.0);
  const std::string ctl = "ctl --config " + sh_quote(site.config().string()) + " ";
  auto status = [&] {
    const CliResult r = run_deepclean(ctl + "--json status", site.dir());
    return r.rc == 0 ? nlohmann::json::parse(r.out) : nlohmann::json{{"rc", r.rc}, {"err", r.err}};
  };
  auto state_of = [&](const std::string& version) { return model_state(site.config(), version, site.dir()); };
  std::uint64_t next = kG;
  // Feeds one second at a time (150 ms apart) until `done`, at most `most` seconds.
  auto feed_until = [&](const std::function<bool()>& done, int most) {
    for (int i = 0; i < most && !done(); ++i) {
      site.write(next++);
      pause_ms(150);
    }
    return done();
  };

  NotifyListener notify(site.notify());
  START_DAEMON(d, site, notify);
  EXPECT_TRUE(d.logged("model repository")) << d.log();
  const auto s0 = status();
  ASSERT_EQ(s0.value("production", nlohmann::json())["version"], "v1") << s0.dump() << d.log();
  feed_until([] { return false; }, 4);

  // Publish v2 atomically: written under a hidden name, renamed in.
  fs::copy(fixture_bundle, repo / ".v2.tmp", fs::copy_options::recursive);
  {
    std::string y = read_file(repo / ".v2.tmp" / "bundle.yaml");
    const auto at = y.find("version: fixture-c3");
    ASSERT_NE(at, std::string::npos);
    y.replace(at, std::strlen("version: fixture-c3"), "version: fixture-c3-v2");
    write_file(repo / ".v2.tmp" / "bundle.yaml", y);
  }
  fs::rename(repo / ".v2.tmp", repo / "v2");
  ASSERT_TRUE(feed_until([&] { return state_of("v2").rfind("production", 0) == 0; }, 60))
      << state_of("v2") << "\n" << d.log();
  const auto s1 = status();
  EXPECT_EQ(s1["production"]["version"], "v2") << s1.dump();
  EXPECT_EQ(s1["standby"]["version"], "v1") << s1.dump();
  const auto report = nlohmann::json::parse(read_file(repo / "v2" / "validation.json"));
  EXPECT_EQ(report["decision"], "passed") << report.dump();
  EXPECT_GE(report["window"]["seconds"].get<int>(), 3);
  EXPECT_TRUE(d.logged("model v2 promoted at GPS")) << d.log();
  feed_until([] { return false; }, 3);

  // An operator rolls back.
  const CliResult rb = run_deepclean(ctl + "rollback", site.dir());
  ASSERT_EQ(rb.rc, 0) << rb.err << d.log();
  EXPECT_NE(rb.out.find("v1 is production again"), std::string::npos) << rb.out;
  EXPECT_EQ(status()["production"]["version"], "v1");
  EXPECT_EQ(state_of("v2"), "rejected: rolled back: by an operator");
  const CliResult again = run_deepclean(ctl + "rollback", site.dir());
  EXPECT_EQ(again.rc, 1);  // refused, with the reason
  EXPECT_NE(again.err.find("deepclean ctl rollback: "), std::string::npos) << again.err;

  // A broken version: rejected with the loader's reason, production unaffected.
  fs::create_directories(repo / ".v3.tmp");
  fs::copy(fixture_bundle / "bundle.yaml", repo / ".v3.tmp" / "bundle.yaml");
  write_file(repo / ".v3.tmp" / "model.pt", "this is not a TorchScript archive");
  fs::rename(repo / ".v3.tmp", repo / "v3");
  ASSERT_TRUE(feed_until([&] { return state_of("v3").rfind("rejected", 0) == 0; }, 30)) << state_of("v3") << d.log();
  EXPECT_NE(state_of("v3").find("does not load"), std::string::npos) << state_of("v3");
  EXPECT_EQ(status()["production"]["version"], "v1");
  // NaN weights (the fixture network with one NaN parameter): rejected by the load's checks.
  fs::copy(fixture_bundle, repo / ".v4.tmp", fs::copy_options::recursive);
  fs::copy_file(fixture_bundle.parent_path() / "bad_nan/model.pt", repo / ".v4.tmp" / "model.pt",
                fs::copy_options::overwrite_existing);
  fs::rename(repo / ".v4.tmp", repo / "v4");
  ASSERT_TRUE(feed_until([&] { return state_of("v4").rfind("rejected", 0) == 0; }, 30)) << state_of("v4") << d.log();
  EXPECT_NE(state_of("v4").find("non-finite"), std::string::npos) << state_of("v4");
  EXPECT_EQ(status()["production"]["version"], "v1");

  // The repository disappears for a while: production keeps cleaning, the error is logged once.
  // (Seen at once by inotify; once back, at the latest by the periodic scan, 5 s.)
  fs::rename(repo, site.dir() / "models.away");
  feed_until([&] { return d.logged("cannot list the model repository"); }, 60);
  EXPECT_TRUE(d.logged("production v1 keeps running")) << d.log();
  feed_until([] { return false; }, 2);
  fs::rename(site.dir() / "models.away", repo);
  EXPECT_TRUE(feed_until([&] { return d.logged("can be read again"); }, 60)) << d.log();

  // Another user cannot even reach the owner-only socket.
  if (::geteuid() == 0 && run_shell("command -v setpriv > /dev/null") == 0) {
    std::string out;
    const int rc = run_shell("setpriv --reuid=65534 --regid=65534 --clear-groups " + sh_quote(DEEPCLEAN_BINARY) +
                                 " ctl --socket " + sh_quote((site.dir() / "ctl.sock").string()) + " status 2>&1",
                             &out);
    EXPECT_EQ(rc, 2) << out;
    EXPECT_NE(out.find("Permission denied"), std::string::npos) << out;
  }
  feed_until([] { return false; }, 3);
  const std::uint64_t last = next - 1;
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, last - 1); })) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();

  // Every second written exactly once, one segment throughout: the promotion and the rollback
  // ended none, and every second around them is fully cleaned with a validated model.
  EXPECT_EQ(site.outputs().size(), last - kG + 1);
  EXPECT_EQ(site.seconds("in"), static_cast<double>(last - kG + 1));
  EXPECT_EQ(site.seconds("out"), static_cast<double>(last - kG + 1));
  EXPECT_EQ(site.metric("deepclean_segments_started_total"), 1) << read_file(site.metrics_file());
  for (std::uint64_t g = kG + 1; g + 1 < last; ++g) {
    EXPECT_TRUE(all_bits(site.state(g), kCleanedBit | kModelOkBit)) << g;
  }
  EXPECT_EQ(site.metric("deepclean_model_decisions_total{action=\"promoted\"}"), 1) << read_file(site.metrics_file());
  EXPECT_EQ(site.metric("deepclean_model_decisions_total{action=\"rolled back\"}"), 1);
  int production_slots = 0;
  for (const auto& [key, value] : site.metrics()) {
    if (key.rfind("deepclean_model_slot_info{", 0) == 0 && key.find("role=\"production\"") != std::string::npos) {
      ++production_slots;
      EXPECT_NE(key.find("version=\"v1\""), std::string::npos) << key;
    }
  }
  EXPECT_EQ(production_slots, 1) << read_file(site.metrics_file());

  // A restart takes production from the record.
  NotifyListener notify2(site.dir() / "notify2.sock");
  Daemon d2(site.config(), site.dir() / "daemon2.log", notify2.path());
  ASSERT_TRUE(eventually([&] { return notify2.count("READY=1") >= 1 || !d2.running(); }, 120)) << d2.log();
  EXPECT_TRUE(d2.logged("production version v1 (since")) << d2.log();
  EXPECT_EQ(status()["production"]["version"], "v1");
  d2.signal(SIGTERM);
  EXPECT_EQ(d2.wait_exit(10), 0) << d2.log();
}

// Issue 15's valid but worse models, as real LibTorch networks on the simulated detector of the
// demo: production is the committed demo bundle (trained on the simulator's coupling); the canaries
// are the same network with random weights (`deepclean train` for one epoch at learning rate 1e-12: the
// initial weights with the data's scalers) and one trained on other data (the simulator with the
// coupling's sign flipped). Each is loaded, run in the shadow and rejected on the live stream, never
// promoted; production's output is bit for bit that of `deepclean clean` with the demo bundle alone.
TEST(RunService, RealCanariesWithRandomWeightsOrTrainedOnOtherDataAreNeverPromoted) {
  constexpr std::uint64_t kS = 1300040000, kOther = 1300050000;
  constexpr int kSeconds = 72;
  const fs::path dir = fs::temp_directory_path() / ("dcrun-" + std::to_string(::getpid()) + "-realcanaries");
  fs::remove_all(dir);
  for (const char* d : {"in/kafka/H1", "in/lldetchar/H1", "out-run", "out-clean", "models"}) fs::create_directories(dir / d);
  const std::string dc = sh_quote(DEEPCLEAN_BINARY);
  const std::string sim = dc + " simulate --unrelated 0 --compress raw --quiet ";
  std::string out;
  ASSERT_EQ(run_shell(sim + "--out " + sh_quote((dir / "sim").string()) + " --seed 2026 --start " +
                          std::to_string(kS) + " --duration " + std::to_string(kSeconds) + " 2>&1",
                      &out),
            0)
      << out;
  ASSERT_EQ(run_shell(sim + "--out " + sh_quote((dir / "other").string()) + " --seed 99 --start " +
                          std::to_string(kOther) + " --duration 96 --scenario coupling-scale@0:-1 2>&1",
                      &out),
            0)
      << out;
  // demo/train.yaml's channels and model; a short run of its training settings.
  auto train = [&](const std::string& data, std::uint64_t start, int seconds, const std::string& training,
                   const std::string& name) {
    const fs::path config = dir / (name + ".train.yaml");
    write_file(config,
               "data:\n"
               "  strain:  {directory: " + data + "/kafka/H1, frame_type: H1_llhoft}\n"
               "  witness: {directory: " + data + "/lldetchar/H1, frame_type: H1_lldetchar}\n"
               "  start: " + std::to_string(start) + "\n  end: " + std::to_string(start + static_cast<std::uint64_t>(seconds)) + "\n"
               "  state: {channel: H1:GDS-CALIB_STATE_VECTOR, mask: 3}\n"
               "channels:\n"
               "  strain: H1:GDS-CALIB_STRAIN\n"
               "  witnesses: [H1:PEM-CS_MAINSMON_EBAY_1_DQ, H1:ASC-CHARD_P_OUT_DQ, H1:ASC-DHARD_Y_OUT_DQ,\n"
               "              H1:ASC-PRC2_P_OUT_DQ, H1:ASC-SRC1_Y_OUT_DQ, H1:ASC-MICH_P_OUT_DQ]\n"
               "model: {sample_rate: 512, bands: [[55, 65]], filter_order: 8}\n"
               "training: {kernel_seconds: 4, kernel_stride_seconds: 0.5, fftlength_seconds: 1, batch_size: 16,\n"
               "           validation_fraction: 0.2, patience: 6, seed: 7, threads: " TRAIN_THREADS ", " + training + "}\n"
               "output: {bundle: " + name + ", version: " + name + ", force: true}\n");
    std::string log;
    const int rc = run_shell(dc + " train --config " + sh_quote(config.string()) + " 2>&1", &log);
    EXPECT_EQ(rc, 0) << log;
    return rc == 0;
  };
  ASSERT_TRUE(train("sim", kS, 48, "learning_rate: 1e-12, epochs: 1", "random-weights"));
  ASSERT_TRUE(train("other", kOther, 96, "learning_rate: 0.05, epochs: 8", "flipped-coupling"));
  fs::copy(fs::path(DEEPCLEAN_SOURCE_DIR) / "demo/bundle", dir / "models/v1", fs::copy_options::recursive);

  // demo/run.yaml's inference, band-pass and subtraction, the gate's defaults.
  const std::string common =
      "output: {directory: OUT, compression: raw}\n"
      "inference: {kernel_seconds: 1, sampling_rate: 32, aggregation_seconds: 0.5}\n"
      "bandpass: {method: fir, look_ahead_seconds: 0.4375, bands: [[54, 66]]}\n"
      "subtraction: {taper_seconds: 1}\n"
      "logging: {level: info}\n";
  auto config = [&](const std::string& input, const std::string& output, const std::string& rest) {
    std::string c = "ifo: H1\ninput:\n"
                    "  strain: {directory: " + input + "/kafka/H1, frame_type: H1_llhoft, channel: H1:GDS-CALIB_STRAIN}\n"
                    "  witness: {directory: " + input + "/lldetchar/H1, frame_type: H1_lldetchar}\n"
                    "  state_vector: {channel: H1:GDS-CALIB_STATE_VECTOR, mask: 3}\n" + common + rest;
    c.replace(c.find("OUT"), 3, output);
    return c;
  };
  write_file(dir / "run.yaml", config("in", "out-run",
                                      "  timeout_seconds: 10\n  start: " + std::to_string(kS) + "\n"
                                      "model: {threads: 1, batch_size: 64}\n"
                                      "metrics: {path: metrics.prom}\n"
                                      "models: {repository: models, validation_seconds: 8, scan_interval_seconds: 0.5}\n"
                                      "control: {socket: ctl.sock}\n"));
  {  // `input:` keys must stay under input: move the two lines written after the common part.
    std::string y = read_file(dir / "run.yaml");
    const std::string keys = "  timeout_seconds: 10\n  start: " + std::to_string(kS) + "\n";
    y.erase(y.find(keys), keys.size());
    y.insert(y.find("output:"), keys);
    write_file(dir / "run.yaml", y);
  }
  write_file(dir / "clean.yaml", config("sim", "out-clean",
                                        "model: {bundle: " + (dir / "models/v1").string() + ", threads: 1, batch_size: 64}\n"));

  auto state_of = [&](const std::string& version) { return model_state(dir / "run.yaml", version, dir); };
  std::uint64_t next = kS;
  auto feed_until = [&](const std::function<bool()>& done) {
    while (!done() && next < kS + kSeconds) {
      for (const char* s : {"lldetchar/H1/H-H1_lldetchar-", "kafka/H1/H-H1_llhoft-"}) {
        const std::string name = std::string(s) + std::to_string(next) + "-1.gwf";
        const fs::path to = dir / "in" / name;
        fs::copy_file(dir / "sim" / name, to.parent_path() / ("." + to.filename().string()));
        fs::rename(to.parent_path() / ("." + to.filename().string()), to);
      }
      ++next;
      pause_ms(150);
    }
    return done();
  };
  auto publish = [&](const std::string& bundle, const std::string& version) {
    fs::copy(dir / bundle, dir / "models" / ("." + version), fs::copy_options::recursive);
    fs::rename(dir / "models" / ("." + version), dir / "models" / version);
  };

  NotifyListener notify(dir / "notify.sock");
  Daemon d(dir / "run.yaml", dir / "daemon.log", notify.path());
  ASSERT_TRUE(eventually([&] { return notify.count("READY=1") >= 1 || !d.running(); }, 120)) << d.log();
  ASSERT_TRUE(d.running()) << d.log();
  const std::uint64_t first_canary = kS + 4;
  feed_until([&] { return next == first_canary; });

  // Random weights: loaded, run in the shadow, rejected.
  publish("random-weights", "v2");
  ASSERT_TRUE(feed_until([&] { return state_of("v2").rfind("rejected", 0) == 0; })) << state_of("v2") << d.log();
  const std::string v2 = state_of("v2");
  std::cout << "random weights: " << v2 << "\n";
  // Worse in the band than production by far, or gated at once for adding noise: either way named.
  EXPECT_TRUE(v2.find("worse than production") != std::string::npos || v2.find("gate closed") != std::string::npos)
      << v2;
  const auto report = nlohmann::json::parse(read_file(dir / "models/v2/validation.json"));
  EXPECT_EQ(report["decision"], "rejected") << report.dump();
  EXPECT_EQ(report["production"]["version"], "v1") << report.dump();

  // Trained on other data (the coupling flipped): rejected as well.
  publish("flipped-coupling", "v3");
  ASSERT_TRUE(feed_until([&] { return state_of("v3").rfind("rejected", 0) == 0; })) << state_of("v3") << d.log();
  const std::string v3 = state_of("v3");
  std::cout << "trained on other data: " << v3 << "\n";
  EXPECT_TRUE(v3.find("worse than production") != std::string::npos || v3.find("gate closed") != std::string::npos)
      << v3;
  feed_until([] { return false; });  // the rest of the simulated seconds
  const std::uint64_t last = kS + kSeconds - 1;
  ASSERT_TRUE(eventually([&] {
    return fs::exists(dir / "out-run" / ("H-H1_llhoft_DEEPCLEAN-" + std::to_string(last - 1) + "-1.gwf"));
  })) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  const auto metrics = parse_metrics(dir / "metrics.prom");
  EXPECT_EQ(metrics.at("deepclean_model_decisions_total{action=\"rejected\"}"), 2);
  const auto promoted = metrics.find("deepclean_model_decisions_total{action=\"promoted\"}");
  EXPECT_TRUE(promoted == metrics.end() || promoted->second == 0);
  EXPECT_EQ(metrics.at("deepclean_segments_started_total"), 1);
  EXPECT_TRUE(d.logged("model v2 rejected")) << d.log();

  // Production untouched: every output second equals that of the demo bundle alone, bit for bit.
  const CliResult clean = run_deepclean("clean --config " + sh_quote((dir / "clean.yaml").string()) + " --start " +
                                            std::to_string(kS) + " --end " + std::to_string(kS + kSeconds),
                                        dir);
  ASSERT_EQ(clean.rc, 0) << clean.err;
  int fully_cleaned = 0;
  for (std::uint64_t g = kS; g <= last; ++g) {
    const std::string name = "H-H1_llhoft_DEEPCLEAN-" + std::to_string(g) + "-1.gwf";
    ASSERT_TRUE(fs::exists(dir / "out-run" / name)) << name;
    const auto a = gwf::FrameFile::open((dir / "out-run" / name).string());
    const auto b = gwf::FrameFile::open((dir / "out-clean" / name).string());
    for (const char* ch : {"H1:GDS-CALIB_STRAIN_DEEPCLEAN", "H1:DEEPCLEAN-STATE_VECTOR"}) {
      EXPECT_EQ(a.read_channel(0, ch).data.to_double(), b.read_channel(0, ch).data.to_double()) << name << " " << ch;
    }
    std::vector<std::uint32_t> sv;
    for (double v : a.read_channel(0, "H1:DEEPCLEAN-STATE_VECTOR").data.to_double()) sv.push_back(static_cast<std::uint32_t>(v));
    fully_cleaned += all_bits(sv, kCleanedBit | kModelOkBit) ? 1 : 0;
  }
  EXPECT_GE(fully_cleaned, kSeconds - 3);  // all but the segment's ends
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

// The training archive (docs/retraining.md) filled by the live service: every good second in 4-s
// chunks, a second with a NaN witness a hole, the chunk being filled written at stop; read back bit
// for bit (the strain as written by the site, the witnesses as float32 of their values).
TEST(RunService, TrainingArchiveKeepsTheGoodSeconds) {
  REQUIRE_MODEL(bundle);
  Site site("archive");
  site.extra = "training_archive: {directory: archive, chunk_seconds: 4, span_seconds: 1000}\n";
  site.write_config(bundle, "  start: " + std::to_string(kG) + "\n");
  NotifyListener notify(site.notify());
  START_DAEMON(d, site, notify);
  for (std::uint64_t k = 0; k < 7; ++k) {
    site.write(kG + k, k == 2 ? Fault::NanWitness : Fault::None);
    pause_ms(100);
  }
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 5); })) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  EXPECT_TRUE(d.logged("training archive " + (site.dir() / "archive").string() + ": 1000 s kept in chunks of 4 s; empty"))
      << d.log();

  namespace ar = deepclean::daemon::archive;
  ar::Settings s;
  s.directory = site.dir() / "archive";
  s.ifo = "H1";
  s.frame_type = "H1_DEEPCLEAN_ARCHIVE";
  std::vector<std::string> chunks;
  for (const auto& c : ar::list_chunks(s)) chunks.push_back(c.path.filename().string());
  EXPECT_EQ(chunks, (std::vector<std::string>{"H-H1_DEEPCLEAN_ARCHIVE-" + std::to_string(kG) + "-4.gwf",
                                              "H-H1_DEEPCLEAN_ARCHIVE-" + std::to_string(kG + 4) + "-3.gwf"}));
  const ar::Reader r(s);
  for (std::uint64_t g = kG; g < kG + 7; ++g) {
    const ar::ReadSecond x =
        r.read(g, "H1:GDS-CALIB_STRAIN", {kWitnessNames[0], kWitnessNames[1], kWitnessNames[2]});
    if (g == kG + 2) {
      EXPECT_EQ(x.reason, "hole") << x.detail;
      continue;
    }
    ASSERT_TRUE(x.good) << g << ": " << x.detail;
    EXPECT_EQ(x.strain, site.strain_values(g)) << g;
    const gwf::Frame w = site.witness_frame(g, Fault::None);
    for (std::size_t c = 0; c < 3; ++c) EXPECT_EQ(x.witnesses[c], w.channels[c].data.to_double()) << g << " " << c;
  }
  EXPECT_GE(site.metric("deepclean_training_archive_chunks_total{result=\"written\"}"), 1);
  EXPECT_GT(site.metric("deepclean_training_archive_bytes"), 0);
}

// The training archive on a full file system (a 1-MiB tmpfs, about ten 2-s chunks): the oldest
// chunks make room for the newest, every second is still cleaned and written, nothing waits.
TEST(RunService, TrainingArchiveOnAFullDiskDropsTheOldestAndNeverBlocksCleaning) {
  REQUIRE_MODEL(bundle);
  Site site("archivefull");
  const fs::path archive = site.dir() / "archive";
  fs::create_directories(archive);
  const PrivateTmpfs tmpfs(archive, "size=1m");
  if (!tmpfs.why.empty()) GTEST_SKIP() << tmpfs.why;
  site.extra = "training_archive: {directory: archive, chunk_seconds: 2, span_seconds: 100000}\n";
  site.write_config(bundle, "  start: " + std::to_string(kG) + "\n");
  NotifyListener notify(site.notify());
  START_DAEMON(d, site, notify);
  constexpr std::uint64_t kSeconds = 40;
  for (std::uint64_t k = 0; k < kSeconds; ++k) {
    site.write(kG + k);
    pause_ms(60);
  }
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + kSeconds - 2); })) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(10), 0) << d.log();
  EXPECT_EQ(site.outputs().size(), kSeconds);
  EXPECT_EQ(site.metric("deepclean_segments_started_total"), 1);
  EXPECT_TRUE(d.logged("training archive: no space left for")) << d.log();
  EXPECT_GE(site.metric("deepclean_training_archive_chunks_total{result=\"removed\"}"), 1);
  // What is left is the newest stretch, up to the last second.
  deepclean::daemon::archive::Settings s;
  s.directory = archive;
  s.ifo = "H1";
  s.frame_type = "H1_DEEPCLEAN_ARCHIVE";
  const auto chunks = deepclean::daemon::archive::list_chunks(s);
  ASSERT_FALSE(chunks.empty());
  EXPECT_GT(chunks.front().first, kG) << "the oldest chunks were removed";
  EXPECT_EQ(chunks.back().first + chunks.back().span, kG + kSeconds);
}

// The metrics file as Prometheus reads it (README: node_exporter's textfile collector): after a real
// run, `promtool check metrics` finds nothing to say, and node_exporter, started on the metrics
// directory, serves every sample of the file with its value and reports no textfile error. The two
// programs come from Debian's packages, unpacked by tools/install-deps.sh into build-tools/prometheus.
TEST(RunService, MetricsFilePassesPromtoolAndNodeExporterServesIt) {
  REQUIRE_MODEL(bundle);
  const fs::path tools = fs::path(DEEPCLEAN_SOURCE_DIR) / "build-tools/prometheus/usr/bin";
  const fs::path promtool = tools / "promtool", exporter = tools / "prometheus-node-exporter";
  if (!fs::exists(promtool) || !fs::exists(exporter)) {
    GTEST_SKIP() << "promtool and prometheus-node-exporter are not in " << tools << " (tools/install-deps.sh unpacks them)";
  }
  if (run_shell("command -v curl > /dev/null") != 0) GTEST_SKIP() << "curl is not installed";
  Site site("promtool");
  site.gate = true;  // the gate's families too
  site.write_config(bundle, "  start: " + std::to_string(kG) + "\n");
  NotifyListener notify(site.notify());
  START_DAEMON(d, site, notify);
  for (std::uint64_t k = 0; k < 5; ++k) {
    site.write(kG + k);
    pause_ms(100);
  }
  ASSERT_TRUE(eventually([&] { return site.has_outputs(kG, kG + 3); })) << d.log();
  d.signal(SIGTERM);
  ASSERT_EQ(d.wait_exit(10), 0) << d.log();

  std::string lint;
  EXPECT_EQ(run_shell(sh_quote(promtool.string()) + " check metrics < " + sh_quote(site.metrics_file().string()) + " 2>&1",
                      &lint),
            0)
      << lint;
  EXPECT_EQ(lint, "") << "promtool's lint findings";

  // A free port: bound, read back, released (node_exporter binds it a moment later).
  int port = 0;
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t n = sizeof a;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n), 0);
    port = ntohs(a.sin_port);
    ::close(fd);
  }
  DeepcleanProcess ne({}, site.dir() / "node_exporter.log", {}, {},
                      {exporter.string(), "--web.listen-address=127.0.0.1:" + std::to_string(port),
                       "--collector.disable-defaults", "--collector.textfile",
                       "--collector.textfile.directory=" + (site.dir() / "metrics").string()});
  std::string scraped;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/metrics";
  ASSERT_TRUE(eventually([&] { return run_shell("curl -sf " + url, &scraped) == 0; }, 20)) << ne.log();
  ne.signal(SIGTERM);
  ne.wait_exit(10);
  const auto served = parse_prometheus_text(scraped);
  EXPECT_EQ(served.at("node_textfile_scrape_error"), 0) << scraped;
  const auto file = site.metrics();
  int samples = 0;
  for (const auto& [key, value] : file) {
    if (key.rfind("deepclean_", 0) != 0) continue;
    ++samples;
    ASSERT_EQ(served.count(key), 1u) << key << " is not served\n" << scraped;
    if (std::isnan(value)) {
      EXPECT_TRUE(std::isnan(served.at(key))) << key;
    } else {
      EXPECT_EQ(served.at(key), value) << key;
    }
  }
  EXPECT_GT(samples, 40);
}

// `deepclean retrain` end to end (docs/retraining.md): `deepclean run` fills the training archive
// from simulated frames of the demo's detector, then one retrain cycle per case:
//   - production is the demo bundle with its strain scale three times too large: fine-tuning (which
//     takes its scalers from the data) cleans again, the candidate is published into the repository
//     with its provenance and figures;
//   - production is the trained demo bundle and the fine-tuning's learning rate is absurd (0.5): the
//     candidate is worse on the held-out part and is not published, nothing is left behind;
//   - production's weights hold a NaN, so the training's loss is NaN (diverged): not published;
//   - less observing time than retrain.min_span_seconds: the cycle is skipped, saying why.
TEST(RunService, RetrainPublishesOnlyACandidateThatBeatsProductionOnTheHeldOutPart) {
  constexpr std::uint64_t kS = 1300060000;
  constexpr int kSeconds = 112;
  const fs::path dir = fs::temp_directory_path() / ("dcrun-" + std::to_string(::getpid()) + "-retrain");
  fs::remove_all(dir);
  fs::create_directories(dir / "models");
  const std::string dc = sh_quote(DEEPCLEAN_BINARY);
  std::string out;
  ASSERT_EQ(run_shell(dc + " simulate --unrelated 0 --compress raw --quiet --out " + sh_quote((dir / "sim").string()) +
                          " --seed 2026 --start " + std::to_string(kS) + " --duration " + std::to_string(kSeconds) +
                          " 2>&1",
                      &out),
            0)
      << out;
  fs::copy(fs::path(DEEPCLEAN_SOURCE_DIR) / "demo/bundle", dir / "models/v1", fs::copy_options::recursive);
  const std::string common =
      "ifo: H1\ninput:\n"
      "  strain: {directory: sim/kafka/H1, frame_type: H1_llhoft, channel: H1:GDS-CALIB_STRAIN}\n"
      "  witness: {directory: sim/lldetchar/H1, frame_type: H1_lldetchar}\n"
      "  state_vector: {channel: H1:GDS-CALIB_STATE_VECTOR, mask: 3}\n"
      "  timeout_seconds: 2\n  start: " + std::to_string(kS) + "\n"
      "output: {directory: out, compression: raw}\n"
      "model: {threads: 1}\n"
      "inference: {kernel_seconds: 1, sampling_rate: 32, aggregation_seconds: 0.5}\n"
      "bandpass: {method: fir, look_ahead_seconds: 0.4375, bands: [[54, 66]]}\n"
      "subtraction: {taper_seconds: 1}\n"
      "training_archive: {directory: archive, chunk_seconds: 16}\n";
  write_file(dir / "run.yaml", common + "models: {repository: models}\n");
  {
    NotifyListener notify(dir / "notify.sock");
    Daemon d(dir / "run.yaml", dir / "daemon.log", notify.path());
    ASSERT_TRUE(eventually([&] {
      return fs::exists(dir / "out" / ("H-H1_llhoft_DEEPCLEAN-" + std::to_string(kS + kSeconds - 2) + "-1.gwf")) ||
             !d.running();
    }, 120)) << d.log();
    d.signal(SIGTERM);
    ASSERT_EQ(d.wait_exit(10), 0) << d.log();
  }
  // A mis-scaled production: the demo bundle whose strain scale (bundle.yaml `strain.std`) is three
  // times too large, so that it subtracts three times the noise (band ratio about 2), in a repository
  // of its own. Fine-tuning takes its scalers from the data: the candidate cleans again.
  fs::create_directories(dir / "models-scaled");
  fs::copy(fs::path(DEEPCLEAN_SOURCE_DIR) / "demo/bundle", dir / "models-scaled/v1", fs::copy_options::recursive);
  {
    std::string y = read_file(dir / "models-scaled/v1/bundle.yaml");
    const std::string key = "  std: 5.9971242012325974e-21";
    ASSERT_NE(y.find(key), std::string::npos) << y;
    y.replace(y.find(key), key.size(), "  std: 1.7991372603697792e-20");
    write_file(dir / "models-scaled/v1/bundle.yaml", y);
  }
  fs::copy_file(dir / "models/.record.json", dir / "models-scaled/.record.json");

  const std::string cycle = "retrain --once --config ";
  // The mis-scaled production: published.
  write_file(dir / "scaled.yaml", common + "models: {repository: models-scaled}\n"
                                           "retrain: {threads: " TRAIN_THREADS ", span_seconds: 96, min_span_seconds: 64, held_out_fraction: 0.25, "
                                           "epochs: 2, kernel_stride_seconds: 0.5}\n");
  CliResult r = run_deepclean(cycle + sh_quote((dir / "scaled.yaml").string()), dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("retrain: published: published retrain-" + std::to_string(kS + kSeconds)), std::string::npos)
      << r.out << r.err;
  const fs::path published = dir / "models-scaled" / ("retrain-" + std::to_string(kS + kSeconds));
  ASSERT_TRUE(fs::exists(published / "model.pt")) << r.out;
  const auto p = nlohmann::json::parse(read_file(published / "provenance.json"));
  EXPECT_EQ(p["parent"]["version"], "v1");
  EXPECT_EQ(p["training"]["gps"][0].get<std::uint64_t>(), kS + kSeconds - 96);
  EXPECT_EQ(p["held_out"]["gps"][0].get<std::uint64_t>(), kS + kSeconds - 24);
  EXPECT_EQ(p["held_out"]["gps"][1].get<std::uint64_t>(), kS + kSeconds);
  const auto& band = p["held_out"]["bands"][0];
  EXPECT_LT(band["candidate"].get<double>(), band["production"].get<double>()) << p.dump();
  EXPECT_LT(band["candidate"].get<double>(), 0.2) << p.dump();
  EXPECT_GT(band["production"].get<double>(), 1.5) << p.dump();
  std::cout << "mis-scaled production: " << r.out;

  // The trained demo bundle in production, an absurd learning rate: not published, nothing left.
  write_file(dir / "good.yaml", common + "models: {repository: models}\n"
                                         "retrain: {threads: " TRAIN_THREADS ", span_seconds: 96, min_span_seconds: 64, held_out_fraction: 0.25, "
                                         "epochs: 1, kernel_stride_seconds: 0.5, learning_rate: 0.5}\n");
  r = run_deepclean(cycle + sh_quote((dir / "good.yaml").string()), dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("retrain: not published: candidate retrain-" + std::to_string(kS + kSeconds) +
                       " does not beat production"),
            std::string::npos)
      << r.out << r.err;
  std::cout << "demo-bundle production: " << r.out;
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir / "models")) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{".record.json", "v1"}));

  // A training that diverges: a production whose first weight is NaN (made with torch), so that the
  // fine-tuning's loss is NaN from its first batch: nothing published, nothing left behind.
  fs::create_directories(dir / "models-nan");
  fs::copy(fs::path(DEEPCLEAN_SOURCE_DIR) / "demo/bundle", dir / "models-nan/v1", fs::copy_options::recursive);
  fs::copy_file(dir / "models/.record.json", dir / "models-nan/.record.json");
  const std::string edit = std::string(DEEPCLEAN_PYTHON) + " -c " +
                           sh_quote("import sys, torch; m = torch.jit.load(sys.argv[1]); "
                                    "p = next(m.parameters()); p.data.view(-1)[0] = float('nan'); m.save(sys.argv[1])") +
                           " " + sh_quote((dir / "models-nan/v1/model.pt").string()) + " 2>&1";
  if (run_shell(edit, &out) != 0) {
    std::cout << "no torch in " << DEEPCLEAN_PYTHON << " (" << out << "): the diverging case is not run\n";
  } else {
    write_file(dir / "nan.yaml", common + "models: {repository: models-nan}\n"
                                          "retrain: {threads: " TRAIN_THREADS ", span_seconds: 96, min_span_seconds: 64, held_out_fraction: 0.25, "
                                          "epochs: 1, kernel_stride_seconds: 0.5}\n");
    r = run_deepclean(cycle + sh_quote((dir / "nan.yaml").string()), dir);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_NE(r.out.find("retrain: not published: candidate retrain-" + std::to_string(kS + kSeconds) +
                         ": training diverged (non-finite loss): nothing published"),
              std::string::npos)
        << r.out << r.err;
    std::vector<std::string> nan_left;
    for (const auto& e : fs::directory_iterator(dir / "models-nan")) nan_left.push_back(e.path().filename().string());
    std::sort(nan_left.begin(), nan_left.end());
    EXPECT_EQ(nan_left, (std::vector<std::string>{".record.json", "v1"}));
  }

  // Less observing time than a cycle needs: skipped.
  write_file(dir / "long.yaml", common + "models: {repository: models}\nretrain: {threads: " TRAIN_THREADS ", span_seconds: 100000, "
                                         "min_span_seconds: 1024}\n");
  r = run_deepclean(cycle + sh_quote((dir / "long.yaml").string()), dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("retrain: skipped: the newest observing segment (GPS " + std::to_string(kS) + "-" +
                       std::to_string(kS + kSeconds) + ") holds " + std::to_string(kSeconds) +
                       " s; a cycle needs 1024 s"),
            std::string::npos)
      << r.out;
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

// `deepclean retrain` watching the archive (no --once), its triggers driven by a real service's
// archive (the repository's first production is model.bundle outside it, found again by check-config,
// by the service's restart and by the retrain): the simulator loses lock for 30 s at +100 s (relock@100-130: the state vector reads 0),
// the service cleans and archives up to +190 s and stops. The retrain process, started then, sees two
// observing segments separated by the 30-s hole (retrain.relock_gap_seconds 20) and runs a relock
// cycle on the new lock only, GPS +130 to +190; then it waits for more (the cadence: 40 s past +190). The
// service is started again over +190 to +260 (the retrain process stopped meanwhile, SIGSTOP, to see
// the archive whole): the archive reaches +260 and a cadence cycle follows on
// the newest 64 s (span_seconds) of the lock, +196 to +260, never reaching back across the lock loss.
TEST(RunService, RetrainRunsOnARelockAndThenAtTheCadenceAsTheArchiveGrows) {
  constexpr std::uint64_t kS = 1300070000;
  const fs::path dir = fs::temp_directory_path() / ("dcrun-" + std::to_string(::getpid()) + "-retrain-loop");
  fs::remove_all(dir);
  fs::create_directories(dir / "models");
  const std::string dc = sh_quote(DEEPCLEAN_BINARY);
  auto simulate = [&](std::uint64_t start, int seconds) {
    std::string out;
    return run_shell(dc + " simulate --unrelated 0 --compress raw --quiet --out " + sh_quote((dir / "sim").string()) +
                         " --seed 2027 --start " + std::to_string(start) + " --duration " + std::to_string(seconds) +
                         " --scenario relock@" + std::to_string(kS + 100) + "-" + std::to_string(kS + 130) +
                         ":1.0 2>&1",
                     &out) == 0;
  };
  write_file(dir / "run.yaml",
             "ifo: H1\ninput:\n"
             "  strain: {directory: sim/kafka/H1, frame_type: H1_llhoft, channel: H1:GDS-CALIB_STRAIN}\n"
             "  witness: {directory: sim/lldetchar/H1, frame_type: H1_lldetchar}\n"
             "  state_vector: {channel: H1:GDS-CALIB_STATE_VECTOR, mask: 3}\n"
             "  timeout_seconds: 1\n  start: " + std::to_string(kS) + "\n"
             "output: {directory: out, compression: raw}\n"
             "model: {threads: 1, bundle: " + (fs::path(DEEPCLEAN_SOURCE_DIR) / "demo/bundle").string() + "}\n"
             "inference: {kernel_seconds: 1, sampling_rate: 32, aggregation_seconds: 0.5}\n"
             "bandpass: {method: fir, look_ahead_seconds: 0.4375, bands: [[54, 66]]}\n"
             "subtraction: {taper_seconds: 1}\n"
             "models: {repository: models}\n"
             "training_archive: {directory: archive, chunk_seconds: 16}\n"
             "retrain: {threads: " TRAIN_THREADS ", span_seconds: 64, min_span_seconds: 48, relock_gap_seconds: 20, cadence_seconds: 40, "
             "held_out_fraction: 0.25, epochs: 1, poll_seconds: 0.2, threads: 1}\n");
  auto clean_until = [&](std::uint64_t last) {
    NotifyListener notify(dir / "notify.sock");
    Daemon d(dir / "run.yaml", dir / "daemon.log", notify.path());
    const bool done = eventually([&] {
      return fs::exists(dir / "out" / ("H-H1_llhoft_DEEPCLEAN-" + std::to_string(last) + "-1.gwf")) || !d.running();
    }, 120);
    d.signal(SIGTERM);
    return done && d.wait_exit(10) == 0;
  };
  ASSERT_TRUE(simulate(kS, 190));
  // check-config of a configuration with a repository and no model.bundle: the bundle a start loads.
  CliResult check = run_deepclean("check-config " + sh_quote((dir / "run.yaml").string()), dir);
  EXPECT_EQ(check.rc, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("no production version yet: model.bundle " + std::string(DEEPCLEAN_SOURCE_DIR) +
                           "/demo/bundle is the first (version bundle)"),
            std::string::npos)
      << check.out;
  ASSERT_TRUE(clean_until(kS + 189)) << read_file(dir / "daemon.log");
  check = run_deepclean("check-config " + sh_quote((dir / "run.yaml").string()), dir);
  EXPECT_EQ(check.rc, 0) << check.out << check.err;
  EXPECT_NE(check.out.find(": production version bundle (since "), std::string::npos) << check.out;

  DeepcleanProcess retrain({"retrain", "--config", (dir / "run.yaml").string()}, dir / "retrain.log");
  const std::string relock = "retrain: cycle (relock: a new observing segment began at GPS " + std::to_string(kS + 130) +
                             " after a lock loss of 30 s) on GPS " + std::to_string(kS + 130) + "-" +
                             std::to_string(kS + 190);
  const std::string waiting =
      "retrain: waiting: nothing archived since the last cycle's end (GPS " + std::to_string(kS + 190) + ")";
  ASSERT_TRUE(eventually([&] { return retrain.logged(waiting) || !retrain.running(); }, 120)) << retrain.log();
  EXPECT_TRUE(retrain.logged(relock)) << retrain.log();
  EXPECT_TRUE(retrain.logged("retrain: published: ") || retrain.logged("retrain: not published: ")) << retrain.log();

  // Paused while the service archives the rest, so that it looks at the archive once it is whole.
  retrain.signal(SIGSTOP);
  ASSERT_TRUE(simulate(kS + 190, 70));
  ASSERT_TRUE(clean_until(kS + 259)) << read_file(dir / "daemon.log");
  // The restart found its production outside the repository again.
  EXPECT_NE(read_file(dir / "daemon.log").find(": production version bundle (since "), std::string::npos);
  retrain.signal(SIGCONT);
  const std::string cadence = "retrain: cycle (cadence: the archive reached GPS " + std::to_string(kS + 260) +
                              ", 70 s after the last cycle's end) on GPS " + std::to_string(kS + 196) + "-" +
                              std::to_string(kS + 260);
  ASSERT_TRUE(eventually([&] {
    const std::string log = retrain.log();
    const auto at = log.find(cadence);
    return (at != std::string::npos && log.find("published: ", at) != std::string::npos) || !retrain.running();
  }, 120)) << retrain.log();
  retrain.signal(SIGTERM);
  EXPECT_EQ(retrain.wait_exit(10), 128 + SIGTERM);
  // Two cycles, no other: the relock and the cadence.
  const std::string log = retrain.log();
  std::size_t cycles = 0;
  for (auto at = log.find("retrain: cycle ("); at != std::string::npos; at = log.find("retrain: cycle (", at + 1)) ++cycles;
  EXPECT_EQ(cycles, 2u) << log;
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}
