// The pipeline against the contract: frames written with our writer, read back second by second,
// cleaned, and compared with a literal whole-segment evaluation of the contract
// (tests/common/cleaner_reference.hpp) with the same deterministic fake model.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>

#include "common/cleaner_reference.hpp"
#include "config/config.hpp"
#include "daemon/pipeline/input.hpp"
#include "daemon/pipeline/output.hpp"
#include "daemon/pipeline/pipeline.hpp"
#include "io/gwf/reader.hpp"
#include "io/gwf/writer.hpp"

namespace fs = std::filesystem;
namespace dd = deepclean::daemon;
namespace gwf = deepclean::gwf;
using deepclean::stream::testing::FakePredictor;
using deepclean::stream::testing::literal_clean;

namespace {

constexpr std::uint64_t kGps0 = 1400000000;
constexpr int kStrainRate = 1024;
constexpr int kFs = 256;
const std::vector<int> kWitnessRates{512, 256};
const std::vector<std::string> kWitnesses{"X1:PEM-MAINS", "X1:ASC-PIT"};

struct Fixture {
  std::string dir;
  std::vector<std::vector<double>> strain;                 // per second
  std::vector<std::vector<std::vector<double>>> witness;   // per second, per channel

  Fixture() {
    char tmpl[] = "/tmp/deepclean-pipeline-XXXXXX";
    dir = mkdtemp(tmpl);
    fs::create_directories(dir + "/strain");
    fs::create_directories(dir + "/witness");
  }
  ~Fixture() { fs::remove_all(dir); }

  // Writes `seconds` seconds of strain and witness frames; witness second `skip` is not written.
  void write(int seconds, int skip) {
    std::mt19937 rng(7);
    std::normal_distribution<double> noise(0.0, 1.0);
    for (int k = 0; k < seconds; ++k) {
      const std::uint64_t gps = kGps0 + static_cast<std::uint64_t>(k);
      std::vector<std::vector<double>> w(2);
      for (std::size_t c = 0; c < 2; ++c) {
        const int r = kWitnessRates[c];
        for (int i = 0; i < r; ++i) {
          const double t = k + static_cast<double>(i) / r;
          w[c].push_back((c == 0 ? 3.0 * std::sin(2 * M_PI * 30.0 * t) : std::sin(2 * M_PI * 0.7 * t)) +
                         0.1 * noise(rng));
        }
      }
      std::vector<double> h(kStrainRate);
      for (int i = 0; i < kStrainRate; ++i) {
        const double t = k + static_cast<double>(i) / kStrainRate;
        h[static_cast<std::size_t>(i)] =
            1e-21 * (noise(rng) + 2.0 * std::sin(2 * M_PI * 30.0 * t) * (1 + 0.3 * std::sin(2 * M_PI * 0.7 * t)));
      }
      gwf::Frame sf;
      sf.name = "X1";
      sf.start = {static_cast<std::uint32_t>(gps), 0};
      gwf::Channel hc;
      hc.name = "X1:STRAIN";
      hc.sample_rate = kStrainRate;
      hc.data = gwf::Vect::make(hc.name, h, kStrainRate, "strain");
      sf.channels.push_back(hc);
      gwf::Channel sv;
      sv.name = "X1:STATE";
      sv.sample_rate = 16;
      sv.data = gwf::Vect::make(sv.name, std::vector<std::uint32_t>(16, 3u), 16);
      sf.channels.push_back(sv);
      gwf::write_frame_file(dir + "/strain/X-X1_llhoft-" + std::to_string(gps) + "-1.gwf", {sf});
      strain.push_back(h);
      witness.push_back(w);
      if (k == skip) continue;
      gwf::Frame wf = sf;
      wf.channels.clear();
      for (std::size_t c = 0; c < 2; ++c) {
        gwf::Channel wc;
        wc.name = kWitnesses[c];
        wc.kind = gwf::ChannelKind::Adc;
        wc.sample_rate = kWitnessRates[c];
        wc.data = gwf::Vect::make(wc.name, w[c], kWitnessRates[c]);
        wf.channels.push_back(wc);
      }
      gwf::write_frame_file(dir + "/witness/X-X1_lldetchar-" + std::to_string(gps) + "-1.gwf", {wf});
    }
  }

  deepclean::config::Config config(const std::string& method, int batch) const {
    const std::string yaml = "ifo: X1\n"
                             "input:\n"
                             "  strain: {directory: " + dir + "/strain, frame_type: X1_llhoft, channel: X1:STRAIN}\n"
                             "  witness: {directory: " + dir + "/witness, frame_type: X1_lldetchar}\n"
                             "  state_vector: {channel: X1:STATE, mask: 3}\n"
                             "output: {directory: " + dir + "/out, noise_channel: X1:NOISE, passthrough: [X1:STATE]}\n"
                             "model: {bundle: /unused, batch_size: " + std::to_string(batch) + "}\n"
                             "inference: {kernel_seconds: 1, sampling_rate: 32, aggregation_seconds: 0.5}\n"
                             "bandpass: {method: " + method + ", memory_seconds: 2, look_ahead_seconds: 0.25,"
                             " bands: [[20, 40]], order: 4}\n"
                             "subtraction: {taper_seconds: 0.5}\n"
                             // The literal contract with q = 1: the fake model's estimate is no
                             // cleaning, which the do-no-harm gate (test_gate_pipeline.cpp) would refuse.
                             "gate: {enabled: false}\n";
    return deepclean::config::parse_config(yaml, dir + "/cfg.yaml");
  }
};

deepclean::bundle::BundleInfo bundle() {
  deepclean::bundle::BundleInfo b;
  b.version = "test";
  b.id = "0123abcd";
  b.sample_rate = kFs;
  b.strain_channel = "X1:STRAIN";
  b.strain_mean = 1e-23;
  b.strain_std = 2e-21;
  b.witnesses = kWitnesses;
  b.witness_means = {0.1, -0.2};
  b.witness_stds = {2.0, 0.7};
  b.bands = {{20, 40}};
  b.filter_order = 4;
  return b;
}

std::vector<dd::OutputSecond> run_all(const deepclean::config::Config& cfg, int seconds,
                                      std::size_t max_batch) {
  dd::Pipeline p(cfg, bundle(), std::make_unique<FakePredictor>(2, max_batch));
  const dd::InputSpec spec = dd::input_spec(cfg, bundle());
  std::vector<dd::OutputSecond> out;
  for (int k = 0; k < seconds; ++k) {
    const dd::SecondInput in = dd::read_second(spec, kGps0 + static_cast<std::uint64_t>(k));
    auto r = p.push(in);
    EXPECT_TRUE(r.rejected.empty()) << r.rejected;
    for (auto& o : r.outputs) out.push_back(std::move(o));
  }
  for (auto& o : p.finish()) out.push_back(std::move(o));
  return out;
}

}  // namespace

class PipelineContract : public ::testing::TestWithParam<std::string> {};

TEST_P(PipelineContract, EveryStrainSecondOutAndSegmentsMatchTheLiteralContract) {
  Fixture fx;
  constexpr int kSeconds = 10, kSkip = 5;
  fx.write(kSeconds, kSkip);
  const auto cfg = fx.config(GetParam(), 64);
  const auto out = run_all(cfg, kSeconds, 64);

  // One output per input second with strain, in order, including the one without witnesses.
  ASSERT_EQ(out.size(), static_cast<std::size_t>(kSeconds));
  for (int k = 0; k < kSeconds; ++k) EXPECT_EQ(out[static_cast<std::size_t>(k)].gps, kGps0 + static_cast<std::uint64_t>(k));

  // The second without witness frame: raw strain exactly, input not ok, not cleaned.
  const auto& bad = out[kSkip];
  EXPECT_EQ(bad.cleaned, fx.strain[kSkip]);
  for (std::uint32_t b : bad.state) {
    EXPECT_EQ(b & dd::kInputOk, 0u);
    EXPECT_EQ(b & dd::kSubtracted, 0u);
  }

  // Each segment equals the literal evaluation of the contract over the whole segment.
  const auto ccfg = dd::cleaner_config(cfg, bundle(), {512, 256}, kStrainRate);
  for (const auto& [first, last] : std::vector<std::pair<int, int>>{{0, kSkip}, {kSkip + 1, kSeconds}}) {
    std::vector<std::vector<double>> w(2);
    std::vector<double> h;
    for (int k = first; k < last; ++k) {
      for (std::size_t c = 0; c < 2; ++c) {
        const auto& src = fx.witness[static_cast<std::size_t>(k)][c];
        w[c].insert(w[c].end(), src.begin(), src.end());
      }
      const auto& hs = fx.strain[static_cast<std::size_t>(k)];
      h.insert(h.end(), hs.begin(), hs.end());
    }
    const auto ref = literal_clean(ccfg, deepclean::stream::gps_ns(static_cast<std::int64_t>(kGps0) + first), w, h);
    ASSERT_GT(ref.q, ref.p) << "segment " << first << " has no estimate";
    double worst = 0, scale = 0;
    for (int k = first; k < last; ++k) {
      const auto& o = out[static_cast<std::size_t>(k)];
      ASSERT_TRUE(o.noise.has_value());
      for (std::size_t i = 0; i < static_cast<std::size_t>(kFs); ++i) {
        const double want = ref.noise[static_cast<std::size_t>(k - first) * kFs + i];
        worst = std::max(worst, std::abs((*o.noise)[i] - want));
        scale = std::max(scale, std::abs(want));
      }
      for (std::size_t i = 0; i < static_cast<std::size_t>(kStrainRate); ++i) {
        const std::size_t m = static_cast<std::size_t>(k - first) * kStrainRate + i;
        EXPECT_DOUBLE_EQ(o.cleaned[i], ref.strain[m]);
      }
    }
    EXPECT_GT(scale, 0.0);
    EXPECT_LE(worst, 1e-6 * scale) << "noise product differs from the contract";
  }
  // Some seconds well inside the first segment are fully cleaned, with every state bit set.
  EXPECT_EQ(out[2].state[8], dd::kCleaned | dd::kInputOk | dd::kModelOk | dd::kSubtracted);
}

INSTANTIATE_TEST_SUITE_P(Methods, PipelineContract, ::testing::Values("none", "causal", "window", "fir"));

namespace {

// When each output second came out: push index of the input that completed it (inputs.size() for
// finish()), and its content.
struct Published {
  std::map<std::uint64_t, std::size_t> at;
  std::map<std::uint64_t, dd::OutputSecond> out;
  double latency = 0;
};

Published publish(const deepclean::config::Config& cfg, const std::vector<dd::SecondInput>& inputs) {
  dd::Pipeline p(cfg, bundle(), std::make_unique<FakePredictor>(2, 64));
  Published r;
  const auto take = [&r](std::vector<dd::OutputSecond> outs, std::size_t k) {
    for (auto& o : outs) {
      EXPECT_EQ(r.at.count(o.gps), 0u) << "GPS " << o.gps << " written twice";
      r.at[o.gps] = k;
      r.out[o.gps] = std::move(o);
    }
  };
  for (std::size_t k = 0; k < inputs.size(); ++k) take(p.push(inputs[k]).outputs, k);
  take(p.finish(), inputs.size());
  r.latency = p.latency_seconds();
  return r;
}

}  // namespace

// The publish rule (streaming-spec.md, "Latency"): each output second is written exactly once, in
// order, at the first push after which all of its samples are final. "First" is checked against
// the contract itself: changing the input that completed output g (its witnesses, or making a
// missing second good) changes output g, so g could not have been written any earlier. With `fir`
// (and `causal`) that input is g + ceil(algorithmic latency); `window` with the strain above fs
// waits one block more (docs/contract-notes.md, "Latency").
TEST(Pipeline, PublishesEachSecondOnceAtTheFirstInputThatCompletesIt) {
  Fixture fx;
  constexpr int kSeconds = 12, kSkip = 7;  // witness frame of second 7 missing: the segment ends there
  fx.write(kSeconds, kSkip);
  for (const std::string method : {"causal", "window", "fir"}) {
    SCOPED_TRACE(method);
    const auto cfg = fx.config(method, 64);
    const dd::InputSpec spec = dd::input_spec(cfg, bundle());
    std::vector<dd::SecondInput> inputs;
    for (int k = 0; k < kSeconds; ++k) inputs.push_back(dd::read_second(spec, kGps0 + static_cast<std::uint64_t>(k)));
    inputs.push_back(dd::SecondInput{});  // a second without any frame: nothing to write, the segment ends
    inputs.back().gps = kGps0 + kSeconds;
    inputs.back().problem = dd::InputProblem::MissingFile;
    const Published base = publish(cfg, inputs);
    ASSERT_EQ(base.at.size(), static_cast<std::size_t>(kSeconds));
    const auto d = static_cast<std::size_t>(std::ceil(base.latency - 1e-9));
    for (std::size_t g = 0; g < static_cast<std::size_t>(kSeconds); ++g) {
      const std::uint64_t gps = kGps0 + g;
      ASSERT_EQ(base.at.count(gps), 1u) << g;
      const std::size_t k = base.at.at(gps);
      EXPECT_GE(k, g);
      if (g > 0) {
        EXPECT_GE(k, base.at.at(gps - 1)) << "in GPS order";
      }
      // The segment's own seconds are out at g + d, unless its end (second kSkip, or the end of
      // input) comes first.
      const std::size_t end = g < kSkip ? kSkip : static_cast<std::size_t>(kSeconds);
      const std::size_t want = g == kSkip ? g  // raw: right after the end of the segment before it
                               : std::min(g + d + (method == "window" ? 1 : 0), end);
      EXPECT_EQ(k, want) << "output " << g;
      if (k == g || g == kSkip) continue;  // written on its own arrival (or raw): nothing earlier to rule out
      // Change the input that completed g: output g changes.
      std::vector<dd::SecondInput> changed = inputs;
      if (k == kSkip) {
        changed[k] = dd::read_second(spec, kGps0 + k);
        changed[k].witnesses = changed[k - 1].witnesses;  // the missing witnesses, made up
        changed[k].witness_rates = changed[k - 1].witness_rates;
        changed[k].problem = dd::InputProblem::None;
        changed[k].detail.clear();
      } else if (k < static_cast<std::size_t>(kSeconds)) {
        for (auto& w : changed[k].witnesses) {
          for (std::size_t i = 0; i < w.size(); ++i) w[i] += 3.0 * std::sin(0.37 * static_cast<double>(i));
        }
      } else {
        continue;  // completed by the end of input
      }
      const Published other = publish(cfg, changed);
      ASSERT_EQ(other.out.count(gps), 1u);
      EXPECT_NE(other.out.at(gps).cleaned, base.out.at(gps).cleaned)
          << "output " << g << " does not depend on input " << k << ": it was written late";
    }
  }
}

TEST(Pipeline, ResultDoesNotDependOnBatchSize) {
  Fixture fx;
  fx.write(6, -1);
  const auto a = run_all(fx.config("window", 1), 6, 1);
  const auto b = run_all(fx.config("window", 64), 6, 64);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].cleaned, b[k].cleaned);
    EXPECT_EQ(*a[k].noise, *b[k].noise);
    EXPECT_EQ(a[k].state, b[k].state);
  }
}

// Records which entry point the pipeline's estimator calls: kernels must reach the model in place
// (predict_windows, through the pipeline's stage timer), never copied out first.
class EntryPoints final : public deepclean::stream::Predictor {
 public:
  EntryPoints(std::size_t* windows, std::size_t* copied) : inner_(2, 16), windows_(windows), copied_(copied) {}
  std::size_t channels() const override { return inner_.channels(); }
  std::size_t max_batch() const override { return inner_.max_batch(); }
  void predict(const float* k, std::size_t b, std::size_t n, float* out) override {
    ++*copied_;
    inner_.predict(k, b, n, out);
  }
  void predict_windows(const float* x, std::size_t ld, std::size_t stride, std::size_t batch, std::size_t k,
                       std::size_t needed_from, float* out) override {
    ++*windows_;
    inner_.predict_windows(x, ld, stride, batch, k, needed_from, out);
  }

 private:
  FakePredictor inner_;
  std::size_t* windows_;
  std::size_t* copied_;
};

TEST(Pipeline, KernelsReachTheModelInPlace) {
  Fixture fx;
  fx.write(3, -1);
  const auto cfg = fx.config("window", 16);
  std::size_t windows = 0, copied = 0;
  dd::Pipeline p(cfg, bundle(), std::make_unique<EntryPoints>(&windows, &copied));
  const dd::InputSpec spec = dd::input_spec(cfg, bundle());
  for (int k = 0; k < 3; ++k) (void)p.push(dd::read_second(spec, kGps0 + static_cast<std::uint64_t>(k)));
  (void)p.finish();
  EXPECT_GT(windows, 0U);
  EXPECT_EQ(copied, 0U);
  EXPECT_GT(p.stages().model, 0.0);
}

TEST(Pipeline, OutputFrameRoundTripsThroughOurReader) {
  Fixture fx;
  fx.write(3, -1);
  const auto cfg = fx.config("window", 16);
  dd::Pipeline p(cfg, bundle(), std::make_unique<FakePredictor>(2, 16));
  const auto out = run_all(cfg, 3, 16);
  ASSERT_EQ(out.size(), 3u);
  const gwf::Frame f = dd::build_output_frame(out[1], p.names(), "X1");
  const std::string path = fx.dir + "/X-X1_llhoft_DEEPCLEAN-" + std::to_string(kGps0 + 1) + "-1.gwf";
  gwf::write_frame_file(path, {f});
  const auto file = gwf::FrameFile::open(path);
  ASSERT_TRUE(file.verify().empty());
  const gwf::Channel c = file.read_channel(0, "X1:STRAIN_DEEPCLEAN");
  EXPECT_EQ(c.sample_rate, kStrainRate);
  EXPECT_EQ(c.data.type, gwf::DataType::Float64);
  EXPECT_EQ(c.data.to_double(), out[1].cleaned);
  const gwf::Channel n = file.read_channel(0, "X1:NOISE");
  EXPECT_EQ(n.sample_rate, kFs);
  EXPECT_EQ(n.data.to_double(), *out[1].noise);
  const gwf::Channel s = file.read_channel(0, "X1:DEEPCLEAN-STATE_VECTOR");
  EXPECT_EQ(s.sample_rate, 16);
  EXPECT_EQ(s.data.type, gwf::DataType::UInt32);
  const gwf::Channel pass = file.read_channel(0, "X1:STATE");
  EXPECT_EQ(pass.data.to_double(), std::vector<double>(16, 3.0));
  const gwf::Frame h = file.read_header(0);
  ASSERT_EQ(h.history.size(), 1u);
  EXPECT_NE(h.history[0].comment.find("id 0123abcd"), std::string::npos) << h.history[0].comment;
}
