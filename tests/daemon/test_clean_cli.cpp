// `deepclean clean` and `deepclean check-config` end to end: the built binary, a TorchScript DeepClean
// model (tools/fixtures/make_test_models.py), frames written by our writer, a corrupt and a missing
// witness frame. Skips when Debian's python3 with torch is absent (the model cannot be made).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#ifdef DEEPCLEAN_WITH_TORCH
#include "../model/fixtures.hpp"
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
#endif
