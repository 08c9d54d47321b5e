// `deepclean clean` and `deepclean check-config` end to end: the built binary, a TorchScript DeepClean
// model (tools/fixtures/make_test_models.py), frames written by our writer, a corrupt and a missing
// witness frame. Skips when Debian's python3 with torch is absent (the model cannot be made).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <regex>
#include <sstream>

#include <unistd.h>

#include "common/model_fixtures.hpp"
#include "core/model/load.hpp"
#include "io/gwf/reader.hpp"
#include "io/gwf/writer.hpp"

namespace fs = std::filesystem;
namespace gwf = deepclean::gwf;
using deepclean::model::testing::fixture_dir;
using deepclean::model::testing::run_command;

namespace {

constexpr std::uint64_t kGps0 = 1300000000;
constexpr int kSeconds = 8;

void write_frames(const fs::path& dir) {
  fs::create_directories(dir / "strain");
  fs::create_directories(dir / "witness");
  std::mt19937 rng(3);
  std::normal_distribution<double> g(0.0, 1.0);
  for (int k = 0; k < kSeconds; ++k) {
    const auto gps = static_cast<std::uint32_t>(kGps0 + static_cast<std::uint64_t>(k));
    gwf::Frame sf;
    sf.name = "H1";
    sf.start = {gps, 0};
    std::vector<double> h(16384);
    for (auto& x : h) x = 1e-21 * g(rng);
    gwf::Channel hc;
    hc.name = "H1:GDS-CALIB_STRAIN";
    hc.sample_rate = 16384;
    hc.data = gwf::Vect::make(hc.name, h, 16384, "strain");
    sf.channels.push_back(hc);
    gwf::write_frame_file((dir / "strain" / ("H-H1_llhoft-" + std::to_string(gps) + "-1.gwf")).string(), {sf});
    if (k == 6) continue;  // missing witness frame
    gwf::Frame wf = sf;
    wf.channels.clear();
    const int rates[3] = {4096, 1024, 256};
    for (int c = 0; c < 3; ++c) {
      gwf::Channel wc;
      wc.name = "H1:PEM-WIT_0" + std::to_string(c) + "_DQ";
      wc.kind = gwf::ChannelKind::Adc;
      wc.sample_rate = rates[c];
      std::vector<float> w(static_cast<std::size_t>(rates[c]));
      for (auto& x : w) x = static_cast<float>(g(rng));
      wc.data = gwf::Vect::make(wc.name, w, rates[c]);
      wf.channels.push_back(wc);
    }
    const fs::path wpath = dir / "witness" / ("H-H1_lldetchar-" + std::to_string(gps) + "-1.gwf");
    gwf::write_frame_file(wpath.string(), {wf});
    if (k == 4) fs::resize_file(wpath, fs::file_size(wpath) / 2);  // truncated: corrupt
  }
}

std::string config_text(const fs::path& dir, const fs::path& bundle) {
  return "ifo: H1\n"
         "input:\n"
         "  strain: {directory: strain, frame_type: H1_llhoft, channel: H1:GDS-CALIB_STRAIN}\n"
         "  witness: {directory: witness, frame_type: H1_lldetchar}\n"
         "output: {directory: out, noise_channel: H1:GDS-CALIB_STRAIN_DEEPCLEAN_NOISE}\n"
         "model: {bundle: " + bundle.string() + ", threads: 1, batch_size: 32}\n"
         "inference: {kernel_seconds: 1, sampling_rate: 16, aggregation_seconds: 0.25}\n"
         "bandpass: {method: window, memory_seconds: 2, look_ahead_seconds: 0.25}\n"
         "subtraction: {taper_seconds: 0.25}\n";
  (void)dir;
}

std::string gps_of(int k) { return std::to_string(kGps0 + static_cast<std::uint64_t>(k)); }
fs::path output_of(const fs::path& dir, int k) {
  return dir / "out" / ("H-H1_llhoft_DEEPCLEAN-" + gps_of(k) + "-1.gwf");
}

// A fresh directory with the frames and the configuration; nullopt (with the reason) without fixtures.
std::optional<fs::path> make_case(const std::string& name, std::string* why) {
  const auto& fixtures = fixture_dir(why);
  if (!fixtures) return std::nullopt;
  const fs::path dir = fs::temp_directory_path() / ("deepclean-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  write_frames(dir);
  std::ofstream(dir / "H1.yaml") << config_text(dir, *fixtures / "bundle_c3");
  return dir;
}

deepclean::model::testing::CommandResult clean_range(const fs::path& dir) {
  return run_command("'" + std::string(DEEPCLEAN_BINARY) + "' clean --config '" + (dir / "H1.yaml").string() +
                     "' --start " + std::to_string(kGps0) + " --end " + std::to_string(kGps0 + kSeconds));
}

// The line of `text` holding `needle` (empty when none does).
std::string line_with(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) != std::string::npos) return line;
  }
  return {};
}

// The summary's stage lines parse as tools/bench-clean.sh expects, and the critical path is
// consistent: the model and the waits fit in the loop's wall time.
void expect_stage_lines(const std::string& output) {
  std::smatch m;
  const std::string stages = line_with(output, "stages:");
  ASSERT_TRUE(std::regex_search(stages, m, std::regex(R"(^stages: +read ([\d.]+) s \([\d.]+%\), clean ([\d.]+) s )"
                                                      R"(\([\d.]+%\), model ([\d.]+) s \([\d.]+%\), write ([\d.]+) s )"
                                                      R"(\([\d.]+%\)$)")))
      << output;
  const double model = std::stod(m[3]), clean = std::stod(m[2]);
  EXPECT_GT(std::stod(m[4]), 0.0) << stages;  // timed on the writer thread (encode + fsync: > 1 ms)
  const std::string crit = line_with(output, "critical path:");
  ASSERT_TRUE(std::regex_search(crit, m, std::regex(R"(^critical path: model ([\d.]+) s, clean ([\d.]+) s, read wait )"
                                                    R"(([\d.]+) s, write wait ([\d.]+) s, loop ([\d.]+) s: non-model )"
                                                    R"(([\d.]+)% of the loop's wall time$)")))
      << output;
  EXPECT_DOUBLE_EQ(std::stod(m[1]), model) << crit;
  EXPECT_DOUBLE_EQ(std::stod(m[2]), clean) << crit;
  const double loop = std::stod(m[5]);
  EXPECT_GT(loop, 0.0) << crit;
  EXPECT_LE(model + clean + std::stod(m[3]) + std::stod(m[4]), loop + 0.01) << crit;
  EXPECT_NEAR(std::stod(m[6]), 100.0 * (loop - model) / loop, 0.1 + 0.2 / loop) << crit;  // 3 decimals
}

}  // namespace

TEST(CleanCommand, EverySecondWithStrainIsWrittenAndBadWitnessFramesAreCounted) {
  std::string why;
  const auto& fixtures = fixture_dir(&why);
  if (!fixtures) GTEST_SKIP() << why;
  const fs::path dir = fs::temp_directory_path() / ("deepclean-clean-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  write_frames(dir);
  std::ofstream(dir / "H1.yaml") << config_text(dir, *fixtures / "bundle_c3");

  const std::string bin = DEEPCLEAN_BINARY;
  const auto check = run_command("'" + bin + "' check-config '" + (dir / "H1.yaml").string() + "'");
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("K = 4096, s = 256, N = 4, a = 3072"), std::string::npos) << check.output;
  EXPECT_NE(check.output.find("configuration OK"), std::string::npos) << check.output;

  const auto r = run_command("'" + bin + "' clean --config '" + (dir / "H1.yaml").string() + "' --start " +
                             std::to_string(kGps0) + " --end " + std::to_string(kGps0 + kSeconds));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("8 requested, 8 in (with strain), 8 out"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("0 missing, 2 unusable"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("GPS 1300000004: "), std::string::npos) << r.output;  // corrupt, named
  EXPECT_NE(r.output.find("H-H1_lldetchar-1300000006-1.gwf: no such file"), std::string::npos) << r.output;
  // Seconds 0-3, 5 and 7 are three segments: the corrupt (4) and missing (6) witness frames end them.
  EXPECT_NE(r.output.find("segments:  3"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("0 write errors"), std::string::npos) << r.output;
  expect_stage_lines(r.output);

  // Every output verifies; the unusable seconds are raw strain, bit for bit.
  for (int k = 0; k < kSeconds; ++k) {
    const std::string gps = std::to_string(kGps0 + static_cast<std::uint64_t>(k));
    const auto out = gwf::FrameFile::open((dir / "out" / ("H-H1_llhoft_DEEPCLEAN-" + gps + "-1.gwf")).string());
    EXPECT_TRUE(out.verify().empty());
    const auto cleaned = out.read_channel(0, "H1:GDS-CALIB_STRAIN_DEEPCLEAN").data.to_double();
    const auto raw = gwf::FrameFile::open((dir / "strain" / ("H-H1_llhoft-" + gps + "-1.gwf")).string())
                         .read_channel(0, "H1:GDS-CALIB_STRAIN")
                         .data.to_double();
    const auto state = out.read_channel(0, "H1:DEEPCLEAN-STATE_VECTOR").data.to_double();
    const bool fully = std::all_of(state.begin(), state.end(), [](double b) { return (static_cast<int>(b) & 1) != 0; });
    if (k == 4 || k == 6) {
      EXPECT_EQ(cleaned, raw) << gps;
      EXPECT_FALSE(fully);
    }
    if (fully) {
      EXPECT_NE(cleaned, raw) << gps;
    }
  }
  fs::remove_all(dir);
}

// Publishing happens on a writer thread: a failed publish is still logged with its GPS and path,
// counted once per second, and not fatal; the exit status says there were write errors. Here every
// output path is taken by a directory (works as root too, where permissions would not stop us).
TEST(CleanCommand, EveryFailedPublishIsCountedAndNamed) {
  std::string why;
  const auto dir = make_case("clean-unwritable", &why);
  if (!dir) GTEST_SKIP() << why;
  for (int k = 0; k < kSeconds; ++k) fs::create_directories(output_of(*dir, k));

  const auto r = clean_range(*dir);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("8 requested, 8 in (with strain), 0 out"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("0 missing, 2 unusable, 8 write errors"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("segments:  3"), std::string::npos) << r.output;
  for (int k = 0; k < kSeconds; ++k) {
    const std::string line = line_with(r.output, "GPS " + gps_of(k) + ": cannot");
    EXPECT_NE(line.find(output_of(*dir, k).filename().string()), std::string::npos) << r.output;
    EXPECT_NE(line.find("error"), std::string::npos) << line;
  }
  expect_stage_lines(r.output);
  // Nothing but the squatting directories: no temporary files left behind.
  std::size_t entries = 0;
  for (const auto& e : fs::directory_iterator(*dir / "out")) {
    ++entries;
    EXPECT_TRUE(e.is_directory()) << e.path();
  }
  EXPECT_EQ(entries, static_cast<std::size_t>(kSeconds));
  fs::remove_all(*dir);
}

// Some publishes fail, the others go through in the same run; a rerun of the range once the
// paths are free writes every frame. Checks the writer thread's counts against the fixture's
// known bad seconds (4 corrupt, 6 missing witness: raw strain, not fully cleaned).
TEST(CleanCommand, FailedPublishesDoNotStopTheOthersAndARerunWritesEveryFrame) {
  std::string why;
  const auto dir = make_case("clean-partial", &why);
  if (!dir) GTEST_SKIP() << why;
  fs::create_directories(output_of(*dir, 1));
  fs::create_directories(output_of(*dir, 5));

  const auto r = clean_range(*dir);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("8 requested, 8 in (with strain), 6 out"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("0 missing, 2 unusable, 2 write errors"), std::string::npos) << r.output;
  for (int k = 0; k < kSeconds; ++k) {
    const std::string line = line_with(r.output, "GPS " + gps_of(k) + ": cannot");
    if (k == 1 || k == 5) {
      EXPECT_NE(line.find(output_of(*dir, k).filename().string()), std::string::npos) << r.output;
    } else {
      EXPECT_EQ(line, "") << r.output;
      ASSERT_TRUE(fs::is_regular_file(output_of(*dir, k))) << gps_of(k);
      EXPECT_TRUE(gwf::FrameFile::open(output_of(*dir, k).string()).verify().empty()) << gps_of(k);
    }
  }

  fs::remove_all(*dir / "out");
  const auto again = clean_range(*dir);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("8 requested, 8 in (with strain), 8 out"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("0 missing, 2 unusable, 0 write errors"), std::string::npos) << again.output;
  expect_stage_lines(again.output);
  // Fully cleaned seconds: every one but the unusable ones (4, 6) and the seconds their segments'
  // tapers reach; the summary's count is the number of output frames whose state says so.
  int fully = 0;
  std::size_t gwf_files = 0;
  for (const auto& e : fs::directory_iterator(*dir / "out")) gwf_files += e.path().extension() == ".gwf";
  EXPECT_EQ(gwf_files, static_cast<std::size_t>(kSeconds));
  for (int k = 0; k < kSeconds; ++k) {
    const auto out = gwf::FrameFile::open(output_of(*dir, k).string());
    EXPECT_TRUE(out.verify().empty()) << gps_of(k);
    const auto state = out.read_channel(0, "H1:DEEPCLEAN-STATE_VECTOR").data.to_double();
    fully += std::all_of(state.begin(), state.end(), [](double b) { return (static_cast<int>(b) & 1) != 0; });
  }
  EXPECT_NE(again.output.find("8 out, " + std::to_string(fully) + " fully cleaned"), std::string::npos)
      << again.output;
  fs::remove_all(*dir);
}
// `model.witness_buffer: device` (the path a CUDA device takes by default, here on the CPU) gives
// the cleaned strain and noise of the host path: the same kernels, one forward pass each, against
// the host path's shared-interior evaluation (within 1e-6 of the largest prediction, checked at
// load and in tests/model), with float64 sums that may add in another order.
TEST(CleanCommand, DeviceWitnessBufferCleansLikeTheHostPath) {
  std::string why;
  const auto dir = make_case("clean-device-buffer", &why);
  if (!dir) GTEST_SKIP() << why;
  const auto host = clean_range(*dir);
  ASSERT_EQ(host.exit_code, 0) << host.output;
  fs::rename(*dir / "out", *dir / "out-host");
  std::string text = config_text(*dir, *fixture_dir(&why) / "bundle_c3");
  text.replace(text.find("batch_size: 32}"), 15, "batch_size: 32, witness_buffer: device}");
  std::ofstream(*dir / "H1.yaml") << text;
  const auto device = clean_range(*dir);
  ASSERT_EQ(device.exit_code, 0) << device.output;
  EXPECT_NE(device.output.find("witness buffer on the device"), std::string::npos) << device.output;
  EXPECT_NE(host.output.find("witness buffer on the host"), std::string::npos) << host.output;
  EXPECT_EQ(line_with(device.output, "segments:"), line_with(host.output, "segments:"));
  const std::vector<std::string> channels{"H1:GDS-CALIB_STRAIN_DEEPCLEAN", "H1:GDS-CALIB_STRAIN_DEEPCLEAN_NOISE"};
  std::vector<double> worst(2, 0.0), scale(2, 0.0);
  std::size_t cleaned_differs = 0;
  for (int k = 0; k < kSeconds; ++k) {
    const std::string name = "H-H1_llhoft_DEEPCLEAN-" + gps_of(k) + "-1.gwf";
    const auto a = gwf::FrameFile::open((*dir / "out-host" / name).string());
    const auto b = gwf::FrameFile::open((*dir / "out" / name).string());
    const std::string raw_path = (*dir / "strain" / ("H-H1_llhoft-" + gps_of(k) + "-1.gwf")).string();
    const auto raw = gwf::FrameFile::open(raw_path).read_channel(0, "H1:GDS-CALIB_STRAIN").data.to_double();
    for (std::size_t c = 0; c < channels.size(); ++c) {
      const auto x = a.read_channel(0, channels[c]).data.to_double();
      const auto y = b.read_channel(0, channels[c]).data.to_double();
      ASSERT_EQ(x.size(), y.size()) << name << " " << channels[c];
      for (std::size_t i = 0; i < x.size(); ++i) {
        // The cleaned strain is compared by what was subtracted from the raw strain.
        const double xv = c == 0 ? raw[i] - x[i] : x[i];
        const double yv = c == 0 ? raw[i] - y[i] : y[i];
        worst[c] = std::max(worst[c], std::abs(xv - yv));
        scale[c] = std::max(scale[c], std::abs(xv));
        cleaned_differs += c == 0 && x[i] != raw[i] ? 1U : 0U;
      }
    }
    EXPECT_EQ(a.read_channel(0, "H1:DEEPCLEAN-STATE_VECTOR").data.to_double(),
              b.read_channel(0, "H1:DEEPCLEAN-STATE_VECTOR").data.to_double())
        << name;
  }
  EXPECT_GT(cleaned_differs, 0U);  // something was subtracted
  for (std::size_t c = 0; c < channels.size(); ++c) {
    std::cout << "[ witness buffer device vs host, " << channels[c] << ": max |difference| " << worst[c]
              << " of max |value| " << scale[c] << " ]\n";
    EXPECT_GT(scale[c], 0.0) << channels[c];
    EXPECT_LE(worst[c], 1e-5 * scale[c]) << channels[c];
  }
  fs::remove_all(*dir);
}

// `fir` in check-config: its taps, window and look-ahead, the latency's parts, and the problems that need
// the bundle's rate (a band beyond Nyquist, a look-ahead that is not whole samples) at file:line:column.
TEST(CleanCommand, CheckConfigDescribesAndChecksTheFirBandpass) {
  std::string why;
  const auto dir = make_case("check-config-fir", &why);
  if (!dir) GTEST_SKIP() << why;
  const std::string base = config_text(*dir, *fixture_dir(&why) / "bundle_c3");
  const auto check = [&](const std::string& bandpass) {
    std::string text = base;
    const std::size_t at = text.find("bandpass: ");
    text.replace(at, text.find('\n', at) - at, bandpass);
    std::ofstream(*dir / "H1.yaml") << text;
    return run_command("'" + std::string(DEEPCLEAN_BINARY) + "' check-config '" + (*dir / "H1.yaml").string() + "'");
  };
  const auto ok = check("bandpass: {method: fir, look_ahead_seconds: 0.25, kaiser_beta: 8}");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  // bundle_c3: fs = 4096 Hz, so L = 1024 samples and 2L + 1 = 2049 taps.
  EXPECT_NE(ok.output.find("band-pass:     fir, 2049 taps (Kaiser beta 8), look-ahead 0.25 s, bands"), std::string::npos)
      << ok.output;
  EXPECT_NE(ok.output.find(" s algorithmic = 0.2500 averaging + 0.2500 band-pass look-ahead (fir) + "), std::string::npos)
      << ok.output;
  const auto nyquist = check("bandpass: {method: fir, look_ahead_seconds: 0.25, bands: [[55, 65], [1000, 2100]]}");
  EXPECT_NE(nyquist.exit_code, 0);
  EXPECT_NE(nyquist.output.find("H1.yaml:8:58: `bandpass.bands`: band [1000 Hz, 2100 Hz]: high edge is not below the "
                                "Nyquist frequency 2048 Hz of the model rate 4096 Hz"),
            std::string::npos)
      << nyquist.output;
  const auto partial = check("bandpass: {method: fir, look_ahead_seconds: 0.0001}");
  EXPECT_NE(partial.exit_code, 0);
  EXPECT_NE(partial.output.find("H1.yaml:8:45: `bandpass.look_ahead_seconds` · fs must be a whole number"),
            std::string::npos)
      << partial.output;
  fs::remove_all(*dir);
}

// check-config asks whether the configured device can be used, so that `run` (and the unit's
// ExecStartPre) fails before start-up rather than at model load; the other checks still run.
TEST(CleanCommand, CheckConfigRefusesADeviceThisBuildCannotUse) {
  if (deepclean::model::cuda_support_built()) {
    GTEST_SKIP() << "CUDA build: Runner.CudaUnavailableIsAClearError covers a CUDA build without a GPU";
  }
  std::string why;
  const auto dir = make_case("check-config-device", &why);
  if (!dir) GTEST_SKIP() << why;
  std::string text = config_text(*dir, *fixture_dir(&why) / "bundle_c3");
  text.replace(text.find("threads: 1"), 10, "device: cuda:0, threads: 1");
  std::ofstream(*dir / "H1.yaml") << text;
  const auto r = run_command("'" + std::string(DEEPCLEAN_BINARY) + "' check-config '" + (*dir / "H1.yaml").string() + "'");
  EXPECT_NE(r.exit_code, 0) << r.output;
  const std::string problem = line_with(r.output, ": model.device: ");
  EXPECT_NE(problem.find("H1.yaml: model.device: device 'cuda:0': this deepclean was built without CUDA"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("configuration OK"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("K = 4096, s = 256, N = 4, a = 3072"), std::string::npos) << r.output;  // went on
  fs::remove_all(*dir);
}

// An output directory the service cannot write because the unit's ProtectSystem=strict makes it read-only:
// check-config names the path and the drop-in that fixes it. The read-only file system is a read-only bind
// mount in a private mount namespace (root only); INVOCATION_ID is what systemd sets for a service.
TEST(CleanCommand, CheckConfigNamesTheDropInForAReadOnlyOutputDirectory) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a read-only bind mount in a private mount namespace";
  std::string why;
  const auto dir = make_case("check-config-rofs", &why);
  if (!dir) GTEST_SKIP() << why;
  fs::create_directories(*dir / "ro");
  std::string text = config_text(*dir, *fixture_dir(&why) / "bundle_c3");
  text.replace(text.find("directory: out,"), 15, "directory: " + (*dir / "ro" / "cleaned").string() + ",");
  std::ofstream(*dir / "X7.yaml") << text;
  const std::string ro = (*dir / "ro").string();
  const auto r = run_command("unshare -m sh -c \"mount --bind '" + ro + "' '" + ro + "' && mount -o remount,bind,ro '" +
                             ro + "' && INVOCATION_ID=0123 '" + std::string(DEEPCLEAN_BINARY) + "' check-config '" +
                             (*dir / "X7.yaml").string() + "'\"");
  if (r.output.find("unshare failed") != std::string::npos || r.output.find("mount: ") != std::string::npos) {
    fs::remove_all(*dir);
    GTEST_SKIP() << "no private mount namespace here: " << r.output;
  }
  EXPECT_NE(r.exit_code, 0) << r.output;
  const std::string problem = line_with(r.output, "output directory");
  EXPECT_NE(problem.find("X7.yaml: output directory " + ro + "/cleaned is not writable or creatable (checked " + ro +
                         ": Read-only file system); the unit's ProtectSystem=strict"),
            std::string::npos)
      << r.output;
  EXPECT_NE(problem.find("`systemctl edit deepclean@X7`, with the lines `[Service]` and `ReadWritePaths=" + ro +
                         "/cleaned`"),
            std::string::npos)
      << r.output;
  fs::remove_all(*dir);
}

