// The do-no-harm gate inside the pipeline (docs/quality-gate.md): a model that cleans well until the
// coupling flips sign mid-run, and a witness that flatlines. The gated run is compared with the same
// run without the gate (gate.enabled: false), sample by sample.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>

#include "config/config.hpp"
#include "core/dsp/window.hpp"
#include "daemon/pipeline/output.hpp"
#include "daemon/pipeline/pipeline.hpp"

namespace dd = deepclean::daemon;
namespace gwf = deepclean::gwf;

namespace {

constexpr std::uint64_t kGps0 = 1400000000;
constexpr int kRate = 1024;  // strain
constexpr int kFs = 256;     // model and witness
constexpr int kSeconds = 44;

// The model a good training would give here: the coupled line is 2/3 of the standardised witness.
class OraclePredictor final : public deepclean::stream::Predictor {
 public:
  std::size_t channels() const override { return 1; }
  std::size_t max_batch() const override { return 64; }
  void predict(const float* kernels, std::size_t batch, std::size_t k, float* out) override {
    for (std::size_t i = 0; i < batch * k; ++i) out[i] = (2.0f / 3.0f) * kernels[i];
  }
};

deepclean::bundle::BundleInfo bundle() {
  deepclean::bundle::BundleInfo b;
  b.version = "oracle";
  b.id = "0123abcd";
  b.sample_rate = kFs;
  b.strain_channel = "X1:STRAIN";
  b.strain_mean = 0;
  b.strain_std = 1e-21;
  b.witnesses = {"X1:PEM-MAINS"};
  b.witness_means = {0};
  b.witness_stds = {1};
  b.bands = {{20, 40}};
  b.filter_order = 4;
  return b;
}

deepclean::config::Config config(bool gate) {
  const std::string yaml =
      "ifo: X1\n"
      "input:\n"
      "  strain: {directory: /unused, frame_type: X1_llhoft, channel: X1:STRAIN}\n"
      "  witness: {directory: /unused, frame_type: X1_lldetchar}\n"
      "output: {directory: /unused}\n"
      "model: {bundle: /unused}\n"
      "inference: {kernel_seconds: 1, sampling_rate: 32, aggregation_seconds: 0.5}\n"
      "bandpass: {method: fir, look_ahead_seconds: 0.25}\n"
      "subtraction: {taper_seconds: 0.5}\n"
      "gate: {enabled: " + std::string(gate ? "true" : "false") +
      ", window_seconds: 2, min_closed_seconds: 3, recover_seconds: 2, ramp_up_seconds: 1}\n";
  return deepclean::config::parse_config(yaml, "/cfg/gate.yaml");
}

// Second k: a 30 Hz line in the witness (amplitude 3) and, with coupling `sign(t)` * 2/3 of it, in
// the strain over white noise; the witness is flat (zeros) in the seconds [flat_from, flat_to).
std::vector<dd::SecondInput> inputs(double flip_from, double flip_to, int flat_from = -1, int flat_to = -1) {
  std::mt19937 rng(11);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<dd::SecondInput> all;
  for (int k = 0; k < kSeconds; ++k) {
    dd::SecondInput in;
    in.gps = kGps0 + static_cast<std::uint64_t>(k);
    std::vector<double> w(kFs), h(kRate);
    for (int i = 0; i < kFs; ++i) {
      const double t = k + static_cast<double>(i) / kFs;
      w[static_cast<std::size_t>(i)] =
          k >= flat_from && k < flat_to ? 0.0 : 3.0 * std::sin(2 * M_PI * 30.0 * t) + 0.1 * noise(rng);
    }
    for (int i = 0; i < kRate; ++i) {
      const double t = k + static_cast<double>(i) / kRate;
      const double sign = t >= flip_from && t < flip_to ? -1.0 : 1.0;
      h[static_cast<std::size_t>(i)] = 1e-21 * (noise(rng) + sign * 2.0 * std::sin(2 * M_PI * 30.0 * t));
    }
    gwf::Channel hc;
    hc.name = "X1:STRAIN";
    hc.sample_rate = kRate;
    hc.data = gwf::Vect::make(hc.name, h, kRate, "strain");
    in.strain = hc;
    in.strain_values = h;
    in.witnesses = {w};
    in.witness_rates = {static_cast<double>(kFs)};
    in.state_ok.assign(16, 1);
    all.push_back(std::move(in));
  }
  return all;
}

std::vector<dd::OutputSecond> run(bool gate, const std::vector<dd::SecondInput>& in, double* latency = nullptr) {
  dd::Pipeline p(config(gate), bundle(), std::make_unique<OraclePredictor>());
  std::vector<dd::OutputSecond> out;
  for (const auto& s : in) {
    auto r = p.push(s);
    EXPECT_TRUE(r.rejected.empty()) << r.rejected;
    for (auto& o : r.outputs) out.push_back(std::move(o));
  }
  for (auto& o : p.finish()) out.push_back(std::move(o));
  if (latency) *latency = p.latency_seconds();
  return out;
}

bool any_bit(const std::vector<std::uint32_t>& s, std::uint32_t bit) {
  for (auto b : s) {
    if (b & bit) return true;
  }
  return false;
}
bool all_bit(const std::vector<std::uint32_t>& s, std::uint32_t bit) {
  for (auto b : s) {
    if (!(b & bit)) return false;
  }
  return true;
}

}  // namespace

TEST(GatePipeline, CouplingFlipsSignMidSecondThenBack) {
  // The coupling is inverted from 20.5 s to 30.5 s: subtracting the model's estimate then doubles
  // the line instead of removing it.
  const auto in = inputs(20.5, 30.5);
  const auto gated = run(true, in), plain = run(false, in);
  ASSERT_EQ(gated.size(), static_cast<std::size_t>(kSeconds));
  ASSERT_EQ(plain.size(), static_cast<std::size_t>(kSeconds));
  int closed_at = -1, opened_at = -1;
  for (int k = 0; k < kSeconds; ++k) {
    const auto& g = gated[static_cast<std::size_t>(k)].gate;
    ASSERT_TRUE(g.enabled);
    if (g.changed && !g.open) {
      EXPECT_EQ(closed_at, -1) << "closed twice";
      closed_at = k;
      EXPECT_EQ(g.reason, "band");
      EXPECT_NE(g.detail.find("band 20-40 Hz "), std::string::npos) << g.detail;
    }
    if (g.changed && g.open) opened_at = k;
  }
  // Gated at the second the harm starts in (no added latency: its ramp runs from 20.0 to 20.25 s,
  // before the harm starts), reopened once the band has been good in each of recover_seconds (2 s).
  EXPECT_EQ(closed_at, 20);
  // The harm is in the strain, not in the estimate: the would-be output is good again from 30.5 s.
  // Second 30 holds the harm; 31 (whose earliest onset pair starts at 30.75 s) and 32 are good: open
  // at 32.
  EXPECT_EQ(opened_at, 32);
  const std::vector<double> down = deepclean::dsp::hann_rise(256);  // ramp_down_seconds 0.25 at 1024 Hz
  for (int k = 0; k < kSeconds; ++k) {
    const auto& g = gated[static_cast<std::size_t>(k)];
    const auto& p = plain[static_cast<std::size_t>(k)];
    const std::vector<double>& h = in[static_cast<std::size_t>(k)].strain_values;
    if (k < closed_at || k > opened_at) {
      // Open and not ramping: exactly the ungated output, no GATED bit.
      EXPECT_EQ(g.cleaned, p.cleaned) << k;
      EXPECT_EQ(g.state, p.state) << k;
      EXPECT_FALSE(any_bit(g.state, dd::kGated)) << k;
      EXPECT_TRUE(g.gate.open) << k;
    } else if (k > closed_at && k < opened_at) {
      EXPECT_EQ(g.cleaned, h) << "second " << k << ": gated output is the raw strain, bit for bit";
      EXPECT_TRUE(all_bit(g.state, dd::kGated)) << k;
      EXPECT_FALSE(any_bit(g.state, dd::kCleaned | dd::kSubtracted)) << k;
      EXPECT_FALSE(g.gate.open) << k;
    }
  }
  // The closing second: q = 1 - half-Hann rise over its first 256 samples, then 0 (raw exactly).
  {
    const auto& g = gated[20].cleaned;
    const auto& p = plain[20].cleaned;
    const auto& h = in[20].strain_values;
    for (std::size_t i = 0; i < g.size(); ++i) {
      if (i >= 256) {
        ASSERT_EQ(g[i], h[i]) << i;
      } else {
        ASSERT_NEAR(g[i], h[i] - (1.0 - down[i]) * (h[i] - p[i]), 1e-12 * std::abs(h[i])) << i;
      }
    }
    EXPECT_EQ(gated[20].state[0] & dd::kGated, dd::kGated);
  }
  // q recovered from the outputs is continuous across the seconds around both transitions.
  double q_prev = 1.0, steepest = 0;
  for (int k = closed_at - 1; k <= opened_at + 1; ++k) {
    const auto& g = gated[static_cast<std::size_t>(k)].cleaned;
    const auto& p = plain[static_cast<std::size_t>(k)].cleaned;
    const auto& h = in[static_cast<std::size_t>(k)].strain_values;
    for (std::size_t i = 0; i < g.size(); ++i) {
      const double corr = h[i] - p[i];
      if (std::abs(corr) < 1e-3 * 1e-21) continue;  // q not observable where nothing is subtracted
      const double q = (h[i] - g[i]) / corr;
      steepest = std::max(steepest, std::abs(q - q_prev));
      q_prev = q;
    }
  }
  EXPECT_LE(steepest, M_PI / (2 * 256) + 1e-6) << "the gate's weight jumps";
}

TEST(GatePipeline, CleanDataIsNeverGated) {
  const auto in = inputs(1e9, 1e9);
  const auto gated = run(true, in), plain = run(false, in);
  ASSERT_EQ(gated.size(), plain.size());
  for (std::size_t k = 0; k < gated.size(); ++k) {
    EXPECT_TRUE(gated[k].gate.open) << k;
    EXPECT_EQ(gated[k].cleaned, plain[k].cleaned) << k;
    EXPECT_FALSE(any_bit(gated[k].state, dd::kGated)) << k;
  }
  // And the cleaning works: the monitor's band ratio (window 2 s) is well below 1 mid-run.
  const auto& r = gated[20].gate.ratios;
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].first, "20-40");
  EXPECT_LT(r[0].second, 0.3);
  EXPECT_EQ(r[1].first, "10-20");  // guard bands of 10 Hz (the default)
  EXPECT_EQ(r[2].first, "40-50");
  EXPECT_GT(r[1].second, 0.9);     // beside the band the cleaning changes little
  EXPECT_LT(r[1].second, 1.05);
  EXPECT_GT(r[2].second, 0.9);
  EXPECT_LT(r[2].second, 1.05);
}

TEST(GatePipeline, FlatWitnessGatesTheOutputsItReachesBeforeTheyAreWritten) {
  // The witness is zeros in seconds 16-17: the input guard names it, and every output second whose
  // estimate can see those samples is gated, from 16 - ceil(latency) on, although the band figure
  // itself never says harm (a zero estimate subtracts nothing).
  const auto in = inputs(1e9, 1e9, 16, 18);
  double latency = 0;
  const auto gated = run(true, in, &latency);
  const int first = 16 - static_cast<int>(std::ceil(latency));
  int closed_at = -1;
  for (int k = 0; k < kSeconds; ++k) {
    const auto& g = gated[static_cast<std::size_t>(k)].gate;
    if (g.changed && !g.open) {
      closed_at = k;
      EXPECT_EQ(g.reason, "input");
      EXPECT_EQ(g.detail, "GPS " + std::to_string(kGps0 + 16) + ": X1:PEM-MAINS flat at 0 (all 256 samples)");
    }
  }
  EXPECT_EQ(closed_at, first);
  // Still closed for every second the flat input can reach: K 1 s + L 0.25 s + 1 s after second 17.
  for (int k = first + 1; k <= 17 + 3; ++k) EXPECT_FALSE(gated[static_cast<std::size_t>(k)].gate.open) << k;
  for (int k = 0; k < first; ++k) EXPECT_TRUE(gated[static_cast<std::size_t>(k)].gate.open) << k;
  EXPECT_TRUE(gated.back().gate.open) << "reopened once the witness was back and the figures good";
}
