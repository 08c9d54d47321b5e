// Unit tests of the simulator's building blocks (sim/random, sim/processes): counter-based streams,
// the FIR colouring checked against a brute-force convolution of the same white noise, and the
// realised spectrum against the requested ASD.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/dsp/welch.hpp"
#include "sim/processes.hpp"
#include "sim/random.hpp"

namespace sim = deepclean::sim;

namespace {
double test_asd(double f) { return 1.0 / (1.0 + (f / 10.0) * (f / 10.0)) + 0.05; }
}  // namespace

TEST(SimRandom, StreamsDependOnlyOnTheirKey) {
  sim::Gaussian a(sim::stream_key(7, sim::name_key("X1:A"), 1234, 1));
  sim::Gaussian b(sim::stream_key(7, sim::name_key("X1:A"), 1234, 1));
  sim::Gaussian c(sim::stream_key(7, sim::name_key("X1:A"), 1235, 1));
  int same = 0;
  for (int i = 0; i < 100; ++i) {
    const double x = a.normal();
    EXPECT_EQ(x, b.normal());
    same += x == c.normal();
  }
  EXPECT_EQ(same, 0);
}

TEST(SimRandom, NormalsHaveUnitVariance) {
  sim::Gaussian g(42);
  const int n = 200000;
  double s = 0, s2 = 0, s4 = 0;
  for (int i = 0; i < n; ++i) {
    const double x = g.normal();
    s += x;
    s2 += x * x;
    s4 += x * x * x * x;
  }
  // Standard errors: mean 1/sqrt(n) = 0.0022, variance sqrt(2/n) = 0.0032, 4th moment sqrt(96/n) = 0.022.
  EXPECT_NEAR(s / n, 0.0, 0.01);
  EXPECT_NEAR(s2 / n, 1.0, 0.015);
  EXPECT_NEAR(s4 / n, 3.0, 0.1);
}

// Second k of the coloured noise equals the direct convolution sum_m h[m] w[n - m] of the counter-based
// white noise (regenerated here from its keys), including samples whose support spans earlier seconds.
TEST(SimColouredNoise, EqualsBruteForceConvolutionAcrossSeconds) {
  const int rate = 256;
  const std::uint64_t seed = 9, key = sim::name_key("X1:TEST");
  sim::ColouredNoise cn(rate, 512, test_asd, seed, key);
  ASSERT_EQ(cn.history_seconds(), 2u);
  const std::int64_t k = 1000;
  std::vector<double> white;  // seconds k-2 .. k
  for (std::int64_t s = k - 2; s <= k; ++s) {
    std::vector<double> w(rate);
    sim::Gaussian(sim::stream_key(seed, key, s, 1)).fill(w.data(), w.size());
    white.insert(white.end(), w.begin(), w.end());
  }
  std::vector<double> got(rate);
  cn.second(k, got.data());
  const auto& h = cn.taps();
  double max_err = 0, rms = 0;
  for (int i = 0; i < rate; ++i) {
    double acc = 0;
    const int n = 2 * rate + i;
    for (std::size_t m = 0; m < h.size(); ++m) acc += h[m] * white[static_cast<std::size_t>(n) - m];
    max_err = std::max(max_err, std::fabs(acc - got[static_cast<std::size_t>(i)]));
    rms += acc * acc;
  }
  rms = std::sqrt(rms / rate);
  EXPECT_LT(max_err, 1e-12 * rms * 1e3);
}

TEST(SimColouredNoise, SecondsDoNotDependOnGenerationOrder) {
  sim::ColouredNoise a(512, 2048, test_asd, 3, 17), b(512, 2048, test_asd, 3, 17);
  std::vector<double> x(512), y(512);
  for (std::int64_t s = 50; s < 56; ++s) a.second(s, x.data());
  b.second(55, y.data());
  EXPECT_EQ(x, y);
}

// The realised |H|^2 * 2/fs follows the requested ASD^2 where the ASD is smooth (window smoothing only).
TEST(SimColouredNoise, RealisedPsdFollowsTheDesign) {
  sim::ColouredNoise cn(1024, 2048, test_asd, 1, 1);
  for (double f : {0.0, 3.0, 7.5, 20.0, 55.0, 100.0, 300.0, 500.0}) {
    const double want = test_asd(f) * test_asd(f);
    EXPECT_NEAR(cn.realised_psd(f) / want, 1.0, 0.02) << f;
  }
  // And a long realisation's Welch PSD agrees with it.
  std::vector<double> x;
  std::vector<double> sec(1024);
  for (std::int64_t s = 0; s < 200; ++s) {
    cn.second(s, sec.data());
    x.insert(x.end(), sec.begin(), sec.end());
  }
  const auto p = deepclean::dsp::welch_psd(x.data(), x.size(), 1024, 4096);
  for (double lo : {5.0, 40.0, 150.0, 400.0}) {
    double want = 0;
    int n = 0;
    for (double f = lo; f <= lo + 20; f += 1) {
      want += cn.realised_psd(f);
      ++n;
    }
    want /= n;
    // 200 s, 99 half-overlapping 4-s segments, 81 bins: the band mean's relative error is ~1 %.
    EXPECT_NEAR(deepclean::dsp::band_mean(p, lo, lo + 20) / want, 1.0, 0.03) << lo;
  }
}

// The B-spline process is continuous and has unit mean variance.
TEST(SimSplineProcess, SmoothAndNormalised) {
  sim::SplineProcess sp(5, 6, 7, 100);
  double s2 = 0, max_step = 0;
  const int n = 400000;
  double prev = sp.at(-1);
  for (int i = 0; i < n; ++i) {
    const double v = sp.at(i);
    s2 += v * v;
    max_step = std::max(max_step, std::fabs(v - prev));
    prev = v;
  }
  EXPECT_NEAR(s2 / n, 1.0, 0.1);  // 4000 knots: ~ 3 % standard error
  EXPECT_LT(max_step, 0.2);       // slope of a cubic B-spline through N(0,1) knots, per 1/100 knot
}
