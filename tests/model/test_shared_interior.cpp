// The CPU runner's shared-interior evaluation (RunnerOptions::cpu_shared_interior) against the
// contract's own definition: P_j = model(kernel j), one forward pass per kernel. The DeepClean
// architecture with 21 witnesses, random weights and non-trivial BatchNorm statistics (the
// bundle_c21 fixture), K = 4096, strides of the benchmark (32, 64, 128 Hz at 4096 Hz).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <random>
#include <utility>
#include <vector>

#include "core/model/load.hpp"
#include "core/stream/noise_estimator.hpp"
#include "common/model_fixtures.hpp"

namespace deepclean::model {
namespace {

using deepclean::stream::Predictor;

constexpr std::size_t kK = 4096;

RunnerOptions options(bool shared, std::size_t crop, bool by_kernel) {
  RunnerOptions o;
  o.kernel_length = kK;
  o.max_batch = 128;
  o.warmup_calls = 1;
  o.cpu_shared_interior = shared;
  o.cpu_edge_crop = crop;
  o.cpu_kernel_by_kernel = by_kernel;
  return o;
}

// A standardised, strongly correlated witness stream like real data after the scaler: a random
// walk with its slow trend removed, then scaled to unit variance per channel.
std::vector<float> witness_stream(std::size_t channels, std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<float> x(channels * n);
  for (std::size_t c = 0; c < channels; ++c) {
    std::vector<double> v(n);
    double walk = 0.0, slow = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      walk += normal(rng);
      slow += 0.01 * (walk - slow);
      v[i] = walk - slow + 0.3 * normal(rng);
    }
    double mean = 0.0, var = 0.0;
    for (double a : v) mean += a;
    mean /= static_cast<double>(n);
    for (double a : v) var += (a - mean) * (a - mean);
    const double sd = std::sqrt(var / static_cast<double>(n));
    for (std::size_t i = 0; i < n; ++i) x[c * n + i] = static_cast<float>((v[i] - mean) / sd);
  }
  return x;
}

// (batch, C, K) windows of `x` (C x n) starting at j * s.
std::vector<float> windows(const std::vector<float>& x, std::size_t channels, std::size_t n, std::size_t batch,
                           std::size_t s) {
  std::vector<float> k(batch * channels * kK);
  for (std::size_t j = 0; j < batch; ++j) {
    for (std::size_t c = 0; c < channels; ++c) {
      std::copy_n(x.begin() + static_cast<std::ptrdiff_t>(c * n + j * s), kK,
                  k.begin() + static_cast<std::ptrdiff_t>((j * channels + c) * kK));
    }
  }
  return k;
}

double max_relative(const std::vector<float>& got, const std::vector<float>& ref) {
  double diff = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(got[i]) - static_cast<double>(ref[i])));
    scale = std::max(scale, std::abs(static_cast<double>(ref[i])));
  }
  EXPECT_GT(scale, 1e-3);
  return diff / scale;
}

// Largest relative deviation of `shared` from one forward per kernel over one second of kernels
// at 32, 64 and 128 Hz.
double deviation(Predictor& reference, Predictor& shared, std::size_t channels, const char* what) {
  double worst = 0.0;
  for (const std::size_t rate : {32U, 64U, 128U}) {
    const std::size_t s = kK / rate;
    const std::size_t batch = rate;
    const std::size_t n = (batch - 1) * s + kK;
    const std::vector<float> x = witness_stream(channels, n, static_cast<unsigned>(rate));
    const std::vector<float> k = windows(x, channels, n, batch, s);
    std::vector<float> ref(batch * kK), got(batch * kK);
    reference.predict(k.data(), batch, kK, ref.data());
    shared.predict(k.data(), batch, kK, got.data());
    const double d = max_relative(got, ref);
    std::cout << "[ shared interior, " << what << ", s = " << s << ", " << batch
              << " kernels ] max |P - P_ref| / max |P_ref| = " << d << "\n";
    worst = std::max(worst, d);
  }
  return worst;
}


TEST(SharedInterior, EqualsOneForwardPerKernel) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  auto reference = make_runner(fx / "bundle_c21", options(false, 1024, true));
  LoadedModel shared = load_model(fx / "bundle_c21", options(true, 1024, true));
  EXPECT_NE(shared.report.notes.find("shared-interior evaluation on"), std::string::npos) << shared.report.notes;
  const double d = deviation(*reference, *shared.predictor, shared.info.channels(), "crops 1024 one by one");
  EXPECT_LE(d, 1e-6);
}

TEST(SharedInterior, BatchedShortCropsStayAtFloatRounding) {
  // Not the default: 192-sample crops in batches take other oneDNN paths than a full kernel does.
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  auto reference = make_runner(fx / "bundle_c21", options(false, 1024, true));
  auto shared = make_runner(fx / "bundle_c21", options(true, 192, false));
  const double d = deviation(*reference, *shared, 21, "crops 192 batched");
  EXPECT_LE(d, 1e-5);
}

TEST(SharedInterior, OtherKernelsTakeThePerKernelPath) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  auto reference = make_runner(fx / "bundle_c21", options(false, 1024, true));
  auto shared = make_runner(fx / "bundle_c21", options(true, 1024, true));
  const std::size_t c = 21, s = 64, batch = 24, n = (batch - 1) * s + kK;
  std::vector<float> k = windows(witness_stream(c, n, 3), c, n, batch, s);
  k[(5 * c + 4) * kK + 100] += 1.0F;  // kernel 5 no longer agrees with its neighbours
  std::vector<float> ref(batch * kK), got(batch * kK);
  reference->predict(k.data(), batch, kK, ref.data());
  shared->predict(k.data(), batch, kK, got.data());
  EXPECT_EQ(max_relative(got, ref), 0.0);  // same forward passes, bit for bit
}

TEST(SharedInterior, WindowsReadInPlaceGiveWhatTheCopiedKernelsGive) {
  // predict_windows() on kernels left in a ring-like buffer (leading dimension larger than the
  // stream) against predict_from() on the same kernels copied out, bit for bit on [a, K): strides
  // on the 16-sample grid take the strided shared path, stride 40 and a single kernel the copy.
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  auto runner = make_runner(fx / "bundle_c21", options(true, 1024, true));
  const std::size_t c = 21, a = 2048;
  for (const auto& [s, batch] : std::vector<std::pair<std::size_t, std::size_t>>{
           {64, 64}, {32, 128}, {128, 3}, {40, 20}, {64, 1}}) {
    const std::size_t n = (batch - 1) * s + kK, ld = n + 300;
    const std::vector<float> x = witness_stream(c, ld, static_cast<unsigned>(s + batch));
    const std::vector<float> k = windows(x, c, ld, batch, s);
    std::vector<float> copied(batch * kK), in_place(batch * kK, -7.0F);
    runner->predict_from(k.data(), batch, kK, a, copied.data());
    runner->predict_windows(x.data(), ld, s, batch, kK, a, in_place.data());
    std::size_t differing = 0;
    for (std::size_t j = 0; j < batch; ++j) {
      for (std::size_t i = a; i < kK; ++i) differing += in_place[j * kK + i] != copied[j * kK + i] ? 1U : 0U;
    }
    EXPECT_EQ(differing, 0U) << "s = " << s << ", " << batch << " kernels";
  }
}

// The runner behind the plain Predictor interface only: predict_from falls back to predict(), the
// whole prediction (what a caller without the needed-from hint gets).
class WithoutHint final : public Predictor {
 public:
  explicit WithoutHint(Predictor& inner) : inner_(inner) {}
  std::size_t channels() const override { return inner_.channels(); }
  std::size_t max_batch() const override { return inner_.max_batch(); }
  void predict(const float* kernels, std::size_t batch, std::size_t k, float* out) override {
    inner_.predict(kernels, batch, k, out);
  }

 private:
  Predictor& inner_;
};

TEST(SharedInterior, NeededFromGivesTheSamePredictionsOnTheUsedRange) {
  // predict_from(a) skips left-edge crops and chunks serving [0, a) only; [a, K) must be bit for
  // bit predict()'s. a = 2048 is the benchmark's (K - N*s with 0.5 s averaged); the others cover
  // a inside the left edge, a off the 16-sample grid and a inside the right edge.
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  auto shared = make_runner(fx / "bundle_c21", options(true, 1024, true));
  const std::size_t c = 21;
  const float sentinel = -12345.0F;
  for (const std::size_t rate : {32U, 64U, 128U}) {
    const std::size_t s = kK / rate, batch = rate, n = (batch - 1) * s + kK;
    const std::vector<float> k = windows(witness_stream(c, n, static_cast<unsigned>(rate) + 40), c, n, batch, s);
    std::vector<float> all(batch * kK);
    shared->predict(k.data(), batch, kK, all.data());
    for (const std::size_t a : {std::size_t{2048}, std::size_t{50}, std::size_t{1000}, std::size_t{4040}}) {
      std::vector<float> from(batch * kK, sentinel);
      shared->predict_from(k.data(), batch, kK, a, from.data());
      std::size_t differing = 0;
      for (std::size_t j = 0; j < batch; ++j) {
        for (std::size_t i = a; i < kK; ++i) differing += from[j * kK + i] != all[j * kK + i] ? 1U : 0U;
      }
      EXPECT_EQ(differing, 0U) << "s = " << s << ", a = " << a;
      if (a >= 96) {
        // The work before a was skipped: kernel 0's left edge was never computed.
        EXPECT_EQ(from[0], sentinel) << "s = " << s << ", a = " << a;
      }
    }
  }
}

// Contract steps 3-5 through each estimator, fed `seconds` 1-s blocks of x (C channels, leading
// dimension seconds * kK) as the pipeline does; returns every estimate it pops.
std::vector<std::vector<double>> estimate(std::vector<stream::CpuNoiseEstimator*> estimators,
                                          const std::vector<float>& x, std::size_t seconds) {
  std::vector<std::vector<double>> y(estimators.size());
  for (std::size_t t = 0; t < seconds; ++t) {
    for (auto* e : estimators) e->push(x.data() + t * kK, kK, seconds * kK);
  }
  for (std::size_t i = 0; i < estimators.size(); ++i) estimators[i]->pop(y[i]);
  return y;
}

TEST(SharedInterior, NoiseEstimateIsTheSameWithAndWithoutTheHint) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  auto shared = make_runner(fx / "bundle_c21", options(true, 1024, true));
  WithoutHint plain(*shared);
  for (const std::size_t s : {std::size_t{128}, std::size_t{32}}) {
    const stream::KernelGeometry g{kK, s, kK / 2 / s};  // 0.5 s averaged: a = 2048
    stream::CpuNoiseEstimator with(g, *shared, 128), without(g, plain, 128);
    const std::size_t c = 21, seconds = 3;
    const auto y = estimate({&with, &without}, witness_stream(c, seconds * kK, 11), seconds);
    const std::vector<double>& y1 = y[0];
    const std::vector<double>& y2 = y[1];
    ASSERT_GT(y1.size(), kK);
    EXPECT_EQ(y1, y2) << "s = " << s;  // bit for bit
  }
}

TEST(SharedInterior, NoiseEstimateEqualsPerKernelContract) {
  // Contract steps 3-5 through stream::CpuNoiseEstimator, fed 1-s blocks as the pipeline does.
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  auto reference = make_runner(fx / "bundle_c21", options(false, 1024, true));
  auto shared = make_runner(fx / "bundle_c21", options(true, 1024, true));
  const stream::KernelGeometry g{kK, 64, 32};  // 64 Hz, 0.5 s averaged
  stream::CpuNoiseEstimator a(g, *reference, 128), b(g, *shared, 128);
  const std::size_t c = 21, seconds = 4;
  const auto y = estimate({&a, &b}, witness_stream(c, seconds * kK, 9), seconds);
  const std::vector<double>& ya = y[0];
  const std::vector<double>& yb = y[1];
  ASSERT_EQ(ya.size(), yb.size());
  ASSERT_GT(ya.size(), kK);
  double diff = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < ya.size(); ++i) {
    diff = std::max(diff, std::abs(ya[i] - yb[i]));
    scale = std::max(scale, std::abs(ya[i]));
  }
  std::cout << "[ shared interior, noise estimate over " << ya.size() << " samples ] max relative deviation "
            << diff / scale << "\n";
  EXPECT_LE(diff, 1e-6 * scale);
}

}  // namespace
}  // namespace deepclean::model
