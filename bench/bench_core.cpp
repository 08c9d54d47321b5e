// Streaming core per 1-s frame on one core (docs/benchmarks.md, "Streaming core"): the pieces of the
// cleaning contract around the model, at the DeepClean production geometry K = 4096, s = 8, N = 256,
// fs = 4096 Hz, strain at 16384 Hz. The model is a trivial fake; its cost is excluded from the
// averaging figure and reported with the kernel extraction separately.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "core/dsp/resample.hpp"
#include "core/stream/bandpass.hpp"
#include "core/stream/cleaner.hpp"
#include "core/stream/input_guard.hpp"
#include "core/stream/quality_gate.hpp"
#include "core/stream/quality_monitor.hpp"
#include "core/stream/kernel_ring.hpp"
#include "core/stream/noise_estimator.hpp"
#include "core/stream/prediction_averager.hpp"
#include "core/stream/subtraction_weight.hpp"

namespace ds = deepclean::stream;
namespace dsp = deepclean::dsp;

namespace {
constexpr int kFs = 4096;
constexpr int kStrainRate = 16384;
const ds::KernelGeometry kGeometry{4096, 8, 256};
constexpr std::size_t kKernelsPerFrame = kFs / 8;

std::vector<double> noise(std::size_t n, std::uint64_t seed) {
  std::vector<double> v(n);
  std::uint64_t s = seed;
  for (double& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;  // any broadband input will do
    x = static_cast<double>(s >> 11) * 0x1.0p-53 - 0.5;
  }
  return v;
}

// 21 witnesses of mixed native rates (the same mix as bench_dsp): one at 16384 Hz, four at 2048 Hz,
// eight at 512 Hz, eight at 256 Hz.
std::vector<int> witness_rates() {
  return {16384, 2048, 2048, 2048, 2048, 512, 512, 512, 512, 512, 512,
          512,   512,  256,  256,  256,  256, 256, 256, 256, 256};
}

// Cheapest possible model: the prediction is the first channel of the kernel.
class CopyPredictor final : public ds::Predictor {
 public:
  explicit CopyPredictor(std::size_t channels) : channels_(channels) {}
  std::size_t channels() const override { return channels_; }
  std::size_t max_batch() const override { return 128; }
  void predict(const float* kernels, std::size_t batch, std::size_t k, float* out) override {
    for (std::size_t b = 0; b < batch; ++b) {
      const float* src = kernels + b * channels_ * k;
      for (std::size_t i = 0; i < k; ++i) out[b * k + i] = src[i];
    }
  }

 private:
  std::size_t channels_;
};

// Step 1: one second of each of the 21 witnesses resampled to fs, steady state.
void BM_ResampleWitnesses(benchmark::State& state) {
  std::vector<dsp::Resampler> rs;
  std::vector<std::vector<double>> in;
  for (int r : witness_rates()) {
    rs.emplace_back(r, kFs);
    in.push_back(noise(static_cast<std::size_t>(r), in.size() + 1));
  }
  std::vector<double> out;
  out.reserve(2 * kFs);
  for (auto _ : state) {
    for (std::size_t i = 0; i < rs.size(); ++i) {
      out.clear();
      rs[i].push(in[i].data(), in[i].size(), out);
      benchmark::DoNotOptimize(out.data());
    }
  }
}
BENCHMARK(BM_ResampleWitnesses)->Unit(benchmark::kMicrosecond);

// Step 5: 512 predictions (one frame at s = 8) averaged over their last N*s = 2048 samples, and the
// 4096 final samples taken. The predictions are precomputed: no model time.
void BM_AveragePredictions(benchmark::State& state) {
  ds::PredictionAverager avg(kGeometry);
  const auto p = noise(kKernelsPerFrame * kGeometry.kernel_length, 3);
  std::vector<float> preds(p.begin(), p.end());
  std::vector<double> y;
  y.reserve(2 * kFs);
  for (auto _ : state) {
    avg.add(preds.data(), kKernelsPerFrame);
    y.clear();
    avg.pop(y);
    benchmark::DoNotOptimize(y.data());
  }
}
BENCHMARK(BM_AveragePredictions)->Unit(benchmark::kMicrosecond);

// Step 3 on the CPU path: copying the frame's 512 kernels (21 x 4096 float32 each, 176 MB/s) into
// the model's (batch, C, K) input. A device estimator uses strided views instead; reported apart.
void BM_KernelExtraction(benchmark::State& state) {
  const std::size_t C = 21;
  ds::KernelRing ring(C, kGeometry.kernel_length, kGeometry.stride);
  const auto x = noise(C * kFs, 5);
  std::vector<float> xf(x.begin(), x.end());
  const auto max_batch = static_cast<std::size_t>(state.range(0));
  std::vector<float> batch(max_batch * C * kGeometry.kernel_length);
  for (auto _ : state) {
    ring.push(xf.data(), kFs, kFs);
    while (ring.ready() > 0) {
      ring.pop(batch.data(), max_batch);
      benchmark::DoNotOptimize(batch.data());
    }
  }
}
BENCHMARK(BM_KernelExtraction)->ArgName("batch")->Arg(128)->Arg(16)->Unit(benchmark::kMicrosecond);

// The fake model alone on one frame's 512 kernels (part of BM_StrainCleanerFrame, not of the core).
void BM_FakeModel(benchmark::State& state) {
  const std::size_t C = 21, k = kGeometry.kernel_length;
  CopyPredictor model(C);
  std::vector<float> kernels(128 * C * k, 0.5f), out(128 * k);
  for (auto _ : state) {
    for (std::size_t b = 0; b < kKernelsPerFrame; b += 128) {
      model.predict(kernels.data(), 128, k, out.data());
      benchmark::DoNotOptimize(out.data());
    }
  }
}
BENCHMARK(BM_FakeModel)->Unit(benchmark::kMicrosecond);

// Step 7 for one frame of u: order-8 Butterworth, one band (55-65 Hz), `window` (M = 10 s, L = 0.5 s)
// or `causal`. Steady state: the window method filters 11.5 s of u per 1-s block.
void bandpass_frame(benchmark::State& state, ds::BandpassMethod method) {
  auto bp = ds::make_bandpass(
      ds::BandpassConfig{method, {{55.0, 65.0}}, 8, 10 * kFs, kFs / 2}, kFs);
  bp->reset(0, ds::BlockGrid{kFs, 0});
  const auto u = noise(kFs, 7);
  std::vector<double> v;
  std::vector<unsigned char> est;
  for (int i = 0; i < 12; ++i) bp->push(u.data(), u.size());  // fill the memory
  for (auto _ : state) {
    bp->push(u.data(), u.size());
    v.clear();
    est.clear();
    bp->pop(v, est);
    benchmark::DoNotOptimize(v.data());
  }
}
void BM_BandpassWindow(benchmark::State& state) { bandpass_frame(state, ds::BandpassMethod::window); }
void BM_BandpassCausal(benchmark::State& state) { bandpass_frame(state, ds::BandpassMethod::causal); }
BENCHMARK(BM_BandpassWindow)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BandpassCausal)->Unit(benchmark::kMicrosecond);

// Steps 8-9: one frame of v up-sampled 4096 -> 16384 Hz and subtracted from the strain with g.
void BM_UpsampleAndSubtract(benchmark::State& state) {
  dsp::Resampler interp(kFs, kStrainRate);
  const auto v = noise(kFs, 9);
  const auto h = noise(kStrainRate, 11);
  ds::SubtractionWeight g(kStrainRate, kStrainRate / 2);
  g.set_interval(0, ds::SubtractionWeight::kUnknown);
  std::vector<double> vup, clean(kStrainRate);
  vup.reserve(2 * kStrainRate);
  std::size_t m0 = 0;
  for (auto _ : state) {
    vup.clear();
    interp.push(v.data(), v.size(), vup);
    for (std::size_t i = 0; i < vup.size() && i < clean.size(); ++i) {
      const double gm = g.at(m0 + i);
      clean[i] = gm == 0.0 ? h[i] : h[i] - gm * vup[i];
    }
    m0 += vup.size();
    benchmark::DoNotOptimize(clean.data());
  }
}
BENCHMARK(BM_UpsampleAndSubtract)->Unit(benchmark::kMicrosecond);

// Everything through StrainCleaner (steps 1-9, `window` or `causal`), one frame of input per iteration,
// with the copying fake model in batches of 16 kernels: includes the kernel extraction and the fake's
// own loop (batches of 128 double the extraction: 44 MB per batch no longer stays in cache).
void BM_StrainCleanerFrame(benchmark::State& state) {
  ds::CleanerConfig c;
  c.fs = kFs;
  c.strain_rate = kStrainRate;
  for (int r : witness_rates()) c.witnesses.push_back({r, 0.0, 1.0});
  c.geometry = kGeometry;
  c.method = state.range(0) == 0 ? ds::BandpassMethod::window : ds::BandpassMethod::causal;
  c.bands = {{55.0, 65.0}};
  c.order = 8;
  CopyPredictor model(c.witnesses.size());
  ds::StrainCleaner cl(c, std::make_unique<ds::CpuNoiseEstimator>(c.geometry, model, 16));
  std::vector<std::vector<double>> w;
  for (int r : witness_rates()) w.push_back(noise(static_cast<std::size_t>(r), w.size() + 1));
  const auto h = noise(kStrainRate, 13);
  cl.start_segment(ds::gps_ns(1'400'000'000));
  const auto push_second = [&] {
    cl.push_strain(h.data(), h.size());
    for (std::size_t i = 0; i < w.size(); ++i) cl.push_witness(i, w[i].data(), w[i].size());
    while (cl.has_block()) benchmark::DoNotOptimize(cl.pop_block().strain.data());
  };
  for (int i = 0; i < 12; ++i) push_second();  // past the start-up of the segment
  for (auto _ : state) push_second();
}
BENCHMARK(BM_StrainCleanerFrame)->Arg(0)->Arg(1)->ArgName("causal")->Unit(benchmark::kMillisecond);

// The do-no-harm gate per second of 16384-Hz strain with the defaults (docs/quality-gate.md): the
// quality monitor (0.25-s Hann segments every 0.125 s, band 55-65 Hz and 10-Hz guard bands: 7 DFT
// bins per segment, raw and would-be cleaned), the gate's decision and q, and the input guard over
// the demo's 6 witnesses (512-2048 Hz).
void BM_GateSecond(benchmark::State& state) {
  ds::QualityMonitorConfig mc;
  mc.rate = kStrainRate;
  mc.bands = {{55.0, 65.0}};
  mc.guard_hz = 10;
  ds::QualityMonitor monitor(mc);
  ds::QualityGate gate(ds::GateConfig{}, kStrainRate);
  const auto h = noise(kStrainRate, 21);
  std::vector<double> c(h.size()), g(h.size(), 1.0), q;
  for (std::size_t i = 0; i < h.size(); ++i) c[i] = 0.1 * h[i];
  std::vector<std::vector<double>> w;
  for (int r : witness_rates()) w.push_back(noise(static_cast<std::size_t>(r), w.size() + 31));
  const ds::InputGuardConfig guard;
  for (auto _ : state) {
    std::string bad;
    for (const auto& x : w) bad += ds::witness_complaint(x.data(), x.size(), 0.0, 1.0, guard);
    monitor.add(h.data(), c.data(), g.data(), h.size());
    benchmark::DoNotOptimize(gate.step(monitor, bad, h.size(), q));
    benchmark::DoNotOptimize(q.data());
  }
}
BENCHMARK(BM_GateSecond)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
