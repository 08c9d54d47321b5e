// The do-no-harm gate end to end (docs/quality-gate.md): the built binary simulates a detector whose
// coupling flips sign, or whose mains monitor drops out, mid-run (`deepclean simulate --scenario`),
// and cleans it with the committed demo bundle and the demo's settings (`deepclean clean`). The
// output frames are read back: gated from the second the harm starts in, raw bit for bit while
// gated, cleaned again after the change ends, and never gated without a change. The long runs and
// the other scenarios are tools/gate_scenarios.py (figures in docs/quality-gate.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "common/model_fixtures.hpp"
#include "core/dsp/welch.hpp"
#include "io/gwf/reader.hpp"

namespace fs = std::filesystem;
namespace gwf = deepclean::gwf;
using deepclean::model::testing::quote;
using deepclean::model::testing::run_command;

namespace {

constexpr std::uint64_t kStart = 1300030000;
constexpr int kSeconds = 48;

struct Outputs {
  std::vector<std::vector<double>> raw, cleaned;       // per second
  std::vector<std::vector<std::uint32_t>> state;       // per second, 16 values
  std::string summary;
};

Outputs simulate_and_clean(const fs::path& dir, const std::string& scenario) {
  fs::remove_all(dir);
  fs::create_directories(dir / "out");
  const std::string dc = DEEPCLEAN_BINARY;
  std::string cmd = quote(dc) + " simulate --out " + quote(dir / "sim") +
                    " --unrelated 0 --seed 2026 --compress raw --quiet --start " + std::to_string(kStart) +
                    " --duration " + std::to_string(kSeconds);
  if (!scenario.empty()) cmd += " --scenario " + scenario;
  const auto sim = run_command(cmd);
  EXPECT_EQ(sim.exit_code, 0) << sim.output;
  // demo/run.yaml's inference, band-pass and subtraction; the gate's defaults.
  std::ofstream(dir / "clean.yaml")
      << "ifo: H1\n"
         "input:\n"
         "  strain: {directory: sim/kafka/H1, frame_type: H1_llhoft, channel: H1:GDS-CALIB_STRAIN}\n"
         "  witness: {directory: sim/lldetchar/H1, frame_type: H1_lldetchar}\n"
         "  state_vector: {channel: H1:GDS-CALIB_STATE_VECTOR, mask: 3}\n"
         "output: {directory: out, compression: raw}\n"
         "model: {bundle: " << DEEPCLEAN_SOURCE_DIR << "/demo/bundle, threads: 2}\n"
         "inference: {kernel_seconds: 1, sampling_rate: 32, aggregation_seconds: 0.5}\n"
         "bandpass: {method: fir, look_ahead_seconds: 0.4375, bands: [[54, 66]]}\n"
         "subtraction: {taper_seconds: 1}\n"
         "logging: {level: info}\n";
  Outputs r;
  const auto clean = run_command("cd " + quote(dir) + " && " + quote(dc) + " clean --config clean.yaml --start " +
                                 std::to_string(kStart) + " --end " + std::to_string(kStart + kSeconds));
  EXPECT_EQ(clean.exit_code, 0) << clean.output;
  r.summary = clean.output;
  for (int k = 0; k < kSeconds; ++k) {
    const std::string g = std::to_string(kStart + static_cast<std::uint64_t>(k));
    auto in = gwf::FrameFile::open((dir / "sim/kafka/H1" / ("H-H1_llhoft-" + g + "-1.gwf")).string());
    auto out = gwf::FrameFile::open((dir / "out" / ("H-H1_llhoft_DEEPCLEAN-" + g + "-1.gwf")).string());
    r.raw.push_back(in.read_channel(0, "H1:GDS-CALIB_STRAIN").data.to_double());
    r.cleaned.push_back(out.read_channel(0, "H1:GDS-CALIB_STRAIN_DEEPCLEAN").data.to_double());
    std::vector<std::uint32_t> sv;
    for (double v : out.read_channel(0, "H1:DEEPCLEAN-STATE_VECTOR").data.to_double()) {
      sv.push_back(static_cast<std::uint32_t>(v));
    }
    r.state.push_back(sv);
  }
  return r;
}

// The largest band ASD ratio published/raw in 55-65 Hz over every 8-s window of the output, sliding by
// 1 s from 8 s in (the segment start's taper) to 2 s before the end: per 1-Hz bin sqrt of the PSDs
// (1-s Hann periodograms, scipy's welch of one segment) summed over the window, then the mean over
// the band's bins; tools/gate_scenarios.py's "worst 8 s".
double worst_8s_band(const Outputs& r) {
  std::vector<std::vector<double>> ph, pc;
  for (std::size_t k = 0; k < r.raw.size(); ++k) {
    const double fs = static_cast<double>(r.raw[k].size());
    ph.push_back(deepclean::dsp::welch_psd(r.raw[k].data(), r.raw[k].size(), fs, r.raw[k].size()).value);
    pc.push_back(deepclean::dsp::welch_psd(r.cleaned[k].data(), r.cleaned[k].size(), fs, r.cleaned[k].size()).value);
  }
  double worst = 0;
  for (int s0 = 8; s0 + 8 <= kSeconds - 2; ++s0) {
    double sum = 0;
    for (std::size_t bin = 55; bin <= 65; ++bin) {
      double h = 0, c = 0;
      for (int k = s0; k < s0 + 8; ++k) {
        h += ph[static_cast<std::size_t>(k)][bin];
        c += pc[static_cast<std::size_t>(k)][bin];
      }
      sum += std::sqrt(c / h);
    }
    worst = std::max(worst, sum / 11.0);
  }
  return worst;
}

bool gated(const Outputs& r, int k) {
  for (auto b : r.state[static_cast<std::size_t>(k)]) {
    if (b & 32u) return true;
  }
  return false;
}

// The first and last output second with the GATED bit (-1, -1: none).
std::pair<int, int> gated_span(const Outputs& r) {
  int first = -1, last = -1;
  for (int k = 0; k < kSeconds; ++k) {
    if (gated(r, k)) {
      if (first < 0) first = k;
      last = k;
    }
  }
  return {first, last};
}

}  // namespace

TEST(GateScenarios, CouplingFlipsSignMidRunAndBack) {
  const fs::path dir = fs::temp_directory_path() / ("deepclean-gate-flip-" + std::to_string(::getpid()));
  // The coupling into the strain is inverted from 24.5 s to 32 s after the start.
  const Outputs r = simulate_and_clean(dir, "coupling-scale@24.5-32:-1");
  ASSERT_EQ(r.state.size(), static_cast<std::size_t>(kSeconds));
  const auto [first, last] = gated_span(r);
  // Closed at the second the harm starts in: its 0.25-s ramp ends before 24.5 s.
  EXPECT_EQ(first, 24) << r.summary;
  EXPECT_EQ(r.state[24][0] & 32u, 32u);
  // Raw bit for bit from the end of the ramp to the reopening.
  for (int k = 24; k <= last - 1; ++k) {
    const auto& c = r.cleaned[static_cast<std::size_t>(k)];
    const auto& h = r.raw[static_cast<std::size_t>(k)];
    for (std::size_t i = (k == 24 ? 4096 : 0); i < c.size(); ++i) ASSERT_EQ(c[i], h[i]) << k << " " << i;
  }
  // Open again once the would-be output has been good in each of recover_seconds (8 s): the change
  // ends at 32 s, second 32's first onset pair starts at 31.75 s, so 33-40 are the good seconds and
  // the gate reopens at 40 (its 1-s ramp: the last second with the GATED bit).
  EXPECT_EQ(last, 40) << r.summary;
  EXPECT_LE(worst_8s_band(r), 1.05) << "issue 14's target for the published band";
  EXPECT_NE(r.summary.find("do-no-harm gate closed (band)"), std::string::npos) << r.summary;
  EXPECT_NE(r.summary.find("do-no-harm gate open again"), std::string::npos) << r.summary;
  EXPECT_NE(r.summary.find("closed 1 times, opened again 1 times"), std::string::npos) << r.summary;
  fs::remove_all(dir);
}

// The mains line moves by 1 Hz and stays there: the demo network, fed the moved line, keeps cleaning
// the band (its figure stays near 0.17) but adds 1.2-1.8 times the raw ASD at 45-55 Hz, second
// after second: below the guard bands' onset threshold (2.5, set above the bursts of networks not
// trained with the guard-band loss), so the 32-s guard window closes the gate once the harm has
// lasted (docs/quality-gate.md). The band is never harmed.
TEST(GateScenarios, MainsLineMovesAndTheGuardBandsCatchIt) {
  const fs::path dir = fs::temp_directory_path() / ("deepclean-gate-mains-" + std::to_string(::getpid()));
  const Outputs r = simulate_and_clean(dir, "mains-shift@24.5-48:1");
  const int first = gated_span(r).first;
  EXPECT_GE(first, 25) << r.summary;
  EXPECT_LE(first, 24 + 16) << "not within 16 s of the onset at 24.5 s\n" << r.summary;
  EXPECT_NE(r.summary.find("do-no-harm gate closed (guard)"), std::string::npos) << r.summary;
  EXPECT_NE(r.summary.find("closed 1 times, opened again 0 times; closed at the end"), std::string::npos) << r.summary;
  for (int k = first + 1; k < kSeconds - 1; ++k) {
    ASSERT_EQ(r.cleaned[static_cast<std::size_t>(k)], r.raw[static_cast<std::size_t>(k)]) << k;
  }
  EXPECT_LE(worst_8s_band(r), 1.05) << "issue 14's target for the published band";
  fs::remove_all(dir);
}

// The other ways a model goes bad, each from 24.5 s to 32 s: the first and last second with the GATED
// bit, the reason of the closing, and the output raw bit for bit in between.
struct Case {
  const char* scenario;
  int first, last;
  const char* reason;
};

TEST(GateScenarios, EachScenarioGatesAndRecoversAtItsSeconds) {
  const Case cases[] = {
      // The harm starts at 24.5 s: the gate closes at 24 (its ramp is over by 24.25 s). It ends at 32;
      // second 32's first onset pair starts at 31.75 s, so 33-40 are the 8 good seconds: reopened at
      // 40 (the second of its ramp).
      {"coupling-off@24.5-32", 24, 40, "band"},
      {"coupling-phase@24.5-32:90", 24, 40, "band"},
      // A witness flat from 24.5 s: input second 25 is the first flat one; it gates outputs from
      // 25 - ceil(0.99 s latency) = 24. Input second 31 is the last: it reaches outputs up to
      // 31 + ceil(K + L = 1.4375 s) + 1 = 34. 35-42 are the 8 good seconds: reopened at 42.
      {"witness-flat@24.5-32:H1:ASC-CHARD_P_OUT_DQ", 24, 42, "input"},
  };
  for (const Case& c : cases) {
    const fs::path dir = fs::temp_directory_path() / ("deepclean-gate-case-" + std::to_string(::getpid()));
    const Outputs r = simulate_and_clean(dir, c.scenario);
    const auto [first, last] = gated_span(r);
    EXPECT_EQ(first, c.first) << c.scenario << "\n" << r.summary;
    EXPECT_EQ(last, c.last) << c.scenario << "\n" << r.summary;
    EXPECT_NE(r.summary.find(std::string("do-no-harm gate closed (") + c.reason + ")"), std::string::npos)
        << c.scenario << "\n" << r.summary;
    EXPECT_NE(r.summary.find("closed 1 times, opened again 1 times"), std::string::npos) << c.scenario << "\n" << r.summary;
    for (int k = first + 1; k < last; ++k) {
      ASSERT_EQ(r.cleaned[static_cast<std::size_t>(k)], r.raw[static_cast<std::size_t>(k)]) << c.scenario << " " << k;
    }
    EXPECT_LE(worst_8s_band(r), 1.05) << c.scenario << ": issue 14's target for the published band";
    fs::remove_all(dir);
  }
}

TEST(GateScenarios, MainsMonitorDropsOutAndTheInputGuardNamesIt) {
  const fs::path dir = fs::temp_directory_path() / ("deepclean-gate-zero-" + std::to_string(::getpid()));
  const Outputs r = simulate_and_clean(dir, "witness-zero@20-23");
  const auto [first, last] = gated_span(r);
  // The mains monitor reads 0 in seconds 20-22: outputs from 20 - ceil(0.99 s latency) = 19 on are
  // gated, before any of them is written. Input second 22 reaches outputs up to 22 + ceil(K + L =
  // 1.4375 s) + 1 = 25; 26-33 are the 8 good seconds: reopened at 33.
  EXPECT_EQ(first, 19) << r.summary;
  EXPECT_EQ(last, 33) << r.summary;
  EXPECT_LE(worst_8s_band(r), 1.05) << "issue 14's target for the published band";
  EXPECT_NE(r.summary.find("do-no-harm gate closed (input): GPS " + std::to_string(kStart + 20) +
                           ": H1:PEM-CS_MAINSMON_EBAY_1_DQ flat at 0 (all 1024 samples)"),
            std::string::npos)
      << r.summary;
  fs::remove_all(dir);
}

TEST(GateScenarios, NoChangeNoGate) {
  const fs::path dir = fs::temp_directory_path() / ("deepclean-gate-none-" + std::to_string(::getpid()));
  const Outputs r = simulate_and_clean(dir, "");
  for (int k = 0; k < kSeconds; ++k) EXPECT_FALSE(gated(r, k)) << k << "\n" << r.summary;
  EXPECT_NE(r.summary.find("gate:      0.0 s gated, closed 0 times"), std::string::npos) << r.summary;
  // Cleaned throughout: 0.133 over 30 min in docs/quality-gate.md (the same measure).
  const double worst = worst_8s_band(r);
  std::printf("worst 8 s of published output, 55-65 Hz: %.3f\n", worst);
  EXPECT_LT(worst, 0.2);
  fs::remove_all(dir);
}

