// Core DSP per 1-s frame (docs/benchmarks.md, "Core DSP"): witness resampling, the `window` band-pass
// (tapers + sosfiltfilt), the causal band-pass and the strain-rate up-sampling. Single thread.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/dsp/iir.hpp"
#include "core/dsp/resample.hpp"
#include "core/dsp/window.hpp"

namespace dsp = deepclean::dsp;

namespace {
constexpr int kFs = 4096;

std::vector<double> noise(std::size_t n, std::uint64_t seed) {
  std::vector<double> v(n);
  std::uint64_t s = seed;
  for (double& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;  // LCG; any broadband input will do
    x = static_cast<double>(s >> 11) * 0x1.0p-53 - 0.5;
  }
  return v;
}

// 21 witnesses of mixed native rates, as in an O3/O4 DeepClean channel list: one fast channel
// (16384 Hz), four at 2048 Hz, eight at 512 Hz and eight slow environment channels at 256 Hz.
const std::vector<int>& witness_rates() {
  static const std::vector<int> r = {16384, 2048, 2048, 2048, 2048, 512, 512, 512, 512, 512, 512, 512,
                                     512,   256,  256,  256,  256,  256, 256, 256, 256};
  return r;
}

void BM_ResampleWitnesses21(benchmark::State& state) {
  std::vector<std::unique_ptr<dsp::Resampler>> rs;
  std::vector<std::vector<double>> in;
  for (std::size_t i = 0; i < witness_rates().size(); ++i) {
    const int r = witness_rates()[i];
    rs.push_back(std::make_unique<dsp::Resampler>(r, kFs));
    in.push_back(noise(static_cast<std::size_t>(r), i + 1));
  }
  std::vector<double> out;
  out.reserve(2 * kFs);
  for (auto _ : state) {
    // One second of every witness (steady state: the resamplers keep their history between frames).
    for (std::size_t i = 0; i < rs.size(); ++i) {
      out.clear();
      rs[i]->push(in[i].data(), in[i].size(), out);
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.counters["witnesses"] = static_cast<double>(rs.size());
}
BENCHMARK(BM_ResampleWitnesses21)->Unit(benchmark::kMicrosecond);

// `window` method, one band: taper the first and last L samples, sosfiltfilt, over `seconds` of data.
void BM_WindowSosfiltfilt(benchmark::State& state) {
  const double seconds = static_cast<double>(state.range(0)) / 10.0;
  const auto n = static_cast<std::size_t>(seconds * kFs);
  const auto sos = dsp::butter_bandpass(8, 55, 65, kFs);
  const auto u = noise(n, 7);
  const std::size_t look_ahead = kFs / 2;  // 0.5 s
  const bool reuse = state.range(1) != 0;
  std::vector<double> buf(n), v(n), work;
  for (auto _ : state) {
    buf = u;
    dsp::apply_edge_tapers(buf.data(), buf.size(), look_ahead);
    if (reuse) {
      dsp::sosfiltfilt(sos, buf.data(), buf.size(), v.data(), work);  // scratch kept between frames
      benchmark::DoNotOptimize(v.data());
    } else {
      auto fresh = dsp::sosfiltfilt(sos, buf.data(), buf.size());  // allocates per call
      benchmark::DoNotOptimize(fresh.data());
    }
  }
  state.counters["seconds"] = seconds;
}
// 10.5 s (as asked) and 11.5 s (= 10 s memory + 1 s frame + 0.5 s look-ahead, streaming-spec step 7),
// with a reused scratch buffer (1) and with the allocating overload (0).
BENCHMARK(BM_WindowSosfiltfilt)
    ->ArgNames({"ds", "reuse"})
    ->Args({105, 1})
    ->Args({115, 1})
    ->Args({115, 0})
    ->Unit(benchmark::kMicrosecond);

void BM_CausalSosFilter1s(benchmark::State& state) {
  dsp::SosFilter f(dsp::butter_bandpass(8, 55, 65, kFs));
  const auto u = noise(kFs, 9);
  std::vector<double> v(kFs);
  for (auto _ : state) {
    f.process(u.data(), v.data(), v.size());
    benchmark::DoNotOptimize(v.data());
  }
}
BENCHMARK(BM_CausalSosFilter1s)->Unit(benchmark::kMicrosecond);

void BM_Upsample4096To16384_1s(benchmark::State& state) {
  dsp::Resampler r(kFs, 16384);
  const auto u = noise(kFs, 11);
  std::vector<double> out;
  out.reserve(2 * 16384);
  for (auto _ : state) {
    out.clear();
    r.push(u.data(), u.size(), out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_Upsample4096To16384_1s)->Unit(benchmark::kMicrosecond);

// Everything above for one frame, in sequence (resample 21 witnesses, window band-pass over 11.5 s,
// causal band-pass, up-sample).
void BM_CoreDspFrame(benchmark::State& state) {
  std::vector<std::unique_ptr<dsp::Resampler>> rs;
  std::vector<std::vector<double>> in;
  for (std::size_t i = 0; i < witness_rates().size(); ++i) {
    rs.push_back(std::make_unique<dsp::Resampler>(witness_rates()[i], kFs));
    in.push_back(noise(static_cast<std::size_t>(witness_rates()[i]), i + 1));
  }
  const auto sos = dsp::butter_bandpass(8, 55, 65, kFs);
  dsp::SosFilter causal(sos);
  dsp::Resampler upsample(kFs, 16384);
  const auto u = noise(static_cast<std::size_t>(11.5 * kFs), 7);
  std::vector<double> out, buf, w(u.size()), work, v(kFs), up;
  for (auto _ : state) {
    for (std::size_t i = 0; i < rs.size(); ++i) {
      out.clear();
      rs[i]->push(in[i].data(), in[i].size(), out);
    }
    buf = u;
    dsp::apply_edge_tapers(buf.data(), buf.size(), kFs / 2);
    dsp::sosfiltfilt(sos, buf.data(), buf.size(), w.data(), work);
    causal.process(w.data(), v.data(), kFs);
    up.clear();
    upsample.push(v.data(), kFs, up);
    benchmark::DoNotOptimize(up.data());
  }
}
BENCHMARK(BM_CoreDspFrame)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
