// Contract step 7 methods against scipy (tools/fixtures/window_bandpass.py, fir_bandpass.py), a
// brute-force convolution, and their own streaming invariances.
#include "core/stream/bandpass.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <stdexcept>
#include <vector>

#include "core/dsp/fir.hpp"
#include "core/dsp/iir.hpp"
#include "scipy_oracle.hpp"

namespace deepclean::stream {
namespace {

std::vector<double> random_u(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> dist(0.0, 1.0);
  std::vector<double> u(n);
  for (double& x : u) x = dist(gen);
  return u;
}

struct Output {
  std::vector<double> v;
  std::vector<unsigned char> estimated;
};

Output run(NoiseBandpass& bp, std::size_t a, const BlockGrid& grid, const std::vector<double>& u,
           std::size_t chunk) {
  Output out;
  bp.reset(a, grid);
  for (std::size_t i = 0; i < u.size(); i += chunk) {
    bp.push(u.data() + i, std::min(chunk, u.size() - i));
    bp.pop(out.v, out.estimated);
  }
  bp.end();
  bp.pop(out.v, out.estimated);
  return out;
}

struct WindowCase {
  std::size_t a, memory, look_ahead, first_boundary, length, samples;
  const char* what;
};

TEST(WindowBandpass, MatchesScipyReadingOfTheSpec) {
  if (!testing::python_with_scipy()) GTEST_SKIP() << "no " DEEPCLEAN_PYTHON " with numpy/scipy";
  const int fs = 256, order = 4;
  const std::vector<Band> bands{{20.0, 40.0}, {60.0, 70.0}};
  const std::vector<WindowCase> cases{
      {32, 256, 64, 128, 256, 1500, "blocks with b0 < a, memory reaching back to a, e mid-block"},
      {0, 64, 0, 0, 256, 900, "no look-ahead, no taper, a = 0"},
      {200, 1000, 300, 50, 256, 700, "slices shorter than 2L: both tapers overlap"},
      {240, 0, 8, 256, 256, 40, "first block too short for sosfiltfilt: no estimate"}};
  for (const auto& tc : cases) {
    const auto u = random_u(tc.samples, 11);
    const std::string in = testing::temp_path("window_in"), out = testing::temp_path("window_out");
    {
      std::ofstream f(in);
      f.precision(17);
      f << fs << ' ' << order << ' ' << tc.a << ' ' << tc.memory << ' ' << tc.look_ahead << ' '
        << tc.first_boundary << ' ' << tc.length << '\n';
      for (const auto& b : bands) f << b.lo << ' ' << b.hi << ' ';
      f << '\n';
      for (double x : u) f << x << '\n';
    }
    ASSERT_TRUE(testing::run_oracle("window_bandpass.py", in, out)) << tc.what;
    std::vector<double> expected;
    std::vector<int> expected_est;
    {
      std::ifstream f(out);
      double v = 0;
      int e = 0;
      while (f >> v >> e) {
        expected.push_back(v);
        expected_est.push_back(e);
      }
    }
    std::remove(in.c_str());
    std::remove(out.c_str());
    ASSERT_EQ(expected.size(), tc.samples) << tc.what;

    const BlockGrid grid{tc.length, tc.first_boundary};
    auto bp = make_bandpass(
        BandpassConfig{BandpassMethod::window, bands, order, tc.memory, tc.look_ahead}, fs);
    EXPECT_EQ(bp->look_ahead(), tc.look_ahead);
    const Output got = run(*bp, tc.a, grid, u, 37);
    ASSERT_EQ(got.v.size(), tc.samples) << tc.what;
    double err = 0, ref = 0;
    for (std::size_t i = 0; i < tc.samples; ++i) {
      ASSERT_EQ(static_cast<int>(got.estimated[i]), expected_est[i]) << tc.what << " sample " << i;
      err += (got.v[i] - expected[i]) * (got.v[i] - expected[i]);
      ref += expected[i] * expected[i];
    }
    if (ref > 0) EXPECT_LE(std::sqrt(err / ref), 1e-10) << tc.what;
    else EXPECT_EQ(err, 0.0) << tc.what;
  }
}

TEST(WindowBandpass, ChunkingDoesNotChangeAnything) {
  const std::vector<Band> bands{{20.0, 40.0}};
  auto bp = make_bandpass(BandpassConfig{BandpassMethod::window, bands, 8, 300, 50}, 256);
  const BlockGrid grid{256, 100};
  const auto u = random_u(2000, 3);
  const Output whole = run(*bp, 48, grid, u, u.size());
  for (std::size_t chunk : std::vector<std::size_t>{1, 17, 256, 435}) {
    const Output part = run(*bp, 48, grid, u, chunk);
    EXPECT_EQ(part.v, whole.v) << chunk;
    EXPECT_EQ(part.estimated, whole.estimated) << chunk;
  }
}

TEST(WindowBandpass, BlockIsFinalOnlyOnceItsLookAheadArrived) {
  // a = 10, blocks of 100 from 0, L = 30: block [0, 100) needs u up to 130 (exclusive).
  auto bp = make_bandpass(BandpassConfig{BandpassMethod::window, {{20.0, 40.0}}, 2, 50, 30}, 256);
  bp->reset(10, BlockGrid{100, 0});
  const auto u = random_u(300, 5);
  Output out;
  bp->push(u.data(), 119);  // u[10 .. 129) : one short
  bp->pop(out.v, out.estimated);
  EXPECT_TRUE(out.v.empty());
  bp->push(u.data() + 119, 1);
  bp->pop(out.v, out.estimated);
  EXPECT_EQ(out.v.size(), 90u);  // [a, b1) = [10, 100)
}

// `fir` against scipy.signal.firwin + numpy.convolve over the whole estimate (tools/fixtures/fir_bandpass.py).
TEST(FirBandpass, MatchesScipyFirwinConvolution) {
  if (!testing::python_with_scipy()) GTEST_SKIP() << "no " DEEPCLEAN_PYTHON " with numpy/scipy";
  const int fs = 256;
  const std::vector<Band> bands{{20.0, 40.0}, {60.0, 70.0}};
  struct Case {
    std::size_t a, look_ahead, samples;
    double beta;
    const char* what;
  };
  const std::vector<Case> cases{{32, 64, 1500, 6.0, "L = 0.25 s, a > 0"},
                                {0, 1, 300, 0.0, "L = 1 sample, rectangular window"},
                                {5, 100, 150, 8.6, "estimate shorter than the filter: both edges truncated"}};
  for (const auto& tc : cases) {
    const auto u = random_u(tc.samples, 21);
    const std::string in = testing::temp_path("fir_in"), out = testing::temp_path("fir_out");
    {
      std::ofstream f(in);
      f.precision(17);
      f << fs << ' ' << tc.look_ahead << ' ' << tc.beta << '\n';
      for (const auto& b : bands) f << b.lo << ' ' << b.hi << ' ';
      f << '\n';
      for (double x : u) f << x << '\n';
    }
    ASSERT_TRUE(testing::run_oracle("fir_bandpass.py", in, out)) << tc.what;
    std::vector<double> expected;
    {
      std::ifstream f(out);
      double v = 0;
      while (f >> v) expected.push_back(v);
    }
    std::remove(in.c_str());
    std::remove(out.c_str());
    ASSERT_EQ(expected.size(), tc.samples) << tc.what;
    BandpassConfig cfg{BandpassMethod::fir, bands, 0, 0, tc.look_ahead, tc.beta};
    auto bp = make_bandpass(cfg, fs);
    EXPECT_EQ(bp->look_ahead(), tc.look_ahead);
    const Output got = run(*bp, tc.a, BlockGrid{256, 0}, u, 37);
    ASSERT_EQ(got.v.size(), tc.samples) << tc.what;
    double err = 0, ref = 0;
    for (std::size_t i = 0; i < tc.samples; ++i) {
      ASSERT_EQ(got.estimated[i], 1) << tc.what << " sample " << i;
      err += (got.v[i] - expected[i]) * (got.v[i] - expected[i]);
      ref += expected[i] * expected[i];
    }
    ASSERT_GT(ref, 0.0);
    EXPECT_LE(std::sqrt(err / ref), 1e-12) << tc.what;
  }
}

// Brute force: each band's taps (dsp::firwin_bandpass) convolved term by term over u padded with zeros,
// in long double; and the streamed v is final exactly when u[n + L] has arrived, whatever the chunking.
TEST(FirBandpass, EqualsBruteForceConvolutionForAnyChunking) {
  const int fs = 512;
  const std::vector<Band> bands{{55.0, 65.0}, {110.0, 130.0}};
  const std::size_t L = 80, a = 17;
  const auto u = random_u(1200, 4);
  std::vector<long double> expected(u.size(), 0.0L);
  for (const auto& b : bands) {
    const auto taps = dsp::firwin_bandpass(2 * L + 1, b.lo, b.hi, 6.0, fs);
    for (std::size_t n = 0; n < u.size(); ++n) {
      for (std::size_t k = 0; k < taps.size(); ++k) {
        const long long i = static_cast<long long>(n + L) - static_cast<long long>(k);
        if (i >= 0 && i < static_cast<long long>(u.size())) {
          expected[n] += static_cast<long double>(taps[k]) * static_cast<long double>(u[static_cast<std::size_t>(i)]);
        }
      }
    }
  }
  auto bp = make_bandpass(BandpassConfig{BandpassMethod::fir, bands, 0, 0, L, 6.0}, fs);
  const Output whole = run(*bp, a, BlockGrid{512, 0}, u, u.size());
  ASSERT_EQ(whole.v.size(), u.size());
  for (std::size_t n = 0; n < u.size(); ++n) {
    ASSERT_NEAR(whole.v[n], static_cast<double>(expected[n]), 1e-13) << n;
  }
  for (std::size_t chunk : std::vector<std::size_t>{1, 13, 80, 81, 512}) {
    const Output part = run(*bp, a, BlockGrid{512, 0}, u, chunk);
    EXPECT_EQ(part.v, whole.v) << chunk;  // bit for bit
  }
  // Finality: after U samples of u (from a), exactly the v with n + L < a + U are out.
  bp->reset(a, BlockGrid{512, 0});
  Output out;
  for (std::size_t pushed = 1; pushed <= 300; ++pushed) {
    bp->push(u.data() + pushed - 1, 1);
    bp->pop(out.v, out.estimated);
    ASSERT_EQ(out.v.size(), pushed > L ? pushed - L : 0) << pushed;
    EXPECT_GE(bp->estimate_extent(), a + pushed);
  }
  bp->end();  // the last L samples wait for the end
  bp->pop(out.v, out.estimated);
  EXPECT_EQ(out.v.size(), 300u);
}

TEST(FirBandpass, RejectsWhatCannotBeMet) {
  const auto make = [](std::vector<Band> bands, std::size_t L, double beta) {
    return make_bandpass(BandpassConfig{BandpassMethod::fir, std::move(bands), 0, 0, L, beta}, 512);
  };
  EXPECT_THROW(make({{55.0, 65.0}}, 0, 6.0), std::invalid_argument);    // no look-ahead: no filter
  EXPECT_THROW(make({{55.0, 256.0}}, 100, 6.0), std::invalid_argument); // at Nyquist
  EXPECT_THROW(make({{65.0, 55.0}}, 100, 6.0), std::invalid_argument);
  EXPECT_THROW(make({{55.0, 65.0}}, 100, -1.0), std::invalid_argument);
  EXPECT_THROW(make({}, 100, 6.0), std::invalid_argument);
  try {
    make({{55.0, 300.0}}, 100, 6.0);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("Nyquist"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[55 Hz, 300 Hz]"), std::string::npos) << e.what();
  }
}

TEST(CausalBandpass, ZeroStateAtAAndChunkInvariant) {
  const std::vector<Band> bands{{20.0, 40.0}, {50.0, 60.0}};
  auto bp = make_bandpass(BandpassConfig{BandpassMethod::causal, bands, 4, 0, 0}, 256);
  // An impulse at n = a: v[a] is the sum over bands of each filter's b0 (zero initial state).
  std::vector<double> impulse(50, 0.0);
  impulse[0] = 1.0;
  const Output out = run(*bp, 7, BlockGrid{256, 0}, impulse, 50);
  double b0 = 0;
  for (const auto& b : bands) b0 += dsp::butter_bandpass(4, b.lo, b.hi, 256)[0][0];
  EXPECT_EQ(out.v[0], b0);
  const auto u = random_u(1000, 9);
  const Output whole = run(*bp, 7, BlockGrid{256, 0}, u, u.size());
  EXPECT_EQ(run(*bp, 7, BlockGrid{256, 0}, u, 3).v, whole.v);
  EXPECT_EQ(whole.v.size(), u.size());
}

TEST(NoneBandpass, IsIdentity) {
  auto bp = make_bandpass(BandpassConfig{BandpassMethod::none, {}, 8, 0, 0}, 256);
  const auto u = random_u(100, 1);
  const Output out = run(*bp, 5, BlockGrid{256, 0}, u, 7);
  EXPECT_EQ(out.v, u);
  EXPECT_EQ(out.estimated, std::vector<unsigned char>(100, 1));
}

TEST(Bandpass, RejectsBadBands) {
  const auto make = [](std::vector<Band> bands, int order) {
    return make_bandpass(BandpassConfig{BandpassMethod::window, std::move(bands), order, 0, 0}, 4096);
  };
  EXPECT_THROW(make({{55.0, 2048.0}}, 8), std::invalid_argument);  // at Nyquist
  EXPECT_THROW(make({{55.0, 3000.0}}, 8), std::invalid_argument);  // above Nyquist
  EXPECT_THROW(make({{65.0, 55.0}}, 8), std::invalid_argument);
  EXPECT_THROW(make({{0.0, 55.0}}, 8), std::invalid_argument);
  EXPECT_THROW(make({}, 8), std::invalid_argument);
  EXPECT_THROW(make({{55.0, 65.0}}, 0), std::invalid_argument);
  EXPECT_THROW(make({{55.0, 65.0}}, 17), std::invalid_argument);
  try {
    make({{55.0, 3000.0}}, 8);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("Nyquist"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(make({{55.0, 65.0}, {115.0, 125.0}}, 8));
}

}  // namespace
}  // namespace deepclean::stream
