// Kaiser FIR design (scipy firwin/kaiser/kaiser_beta/kaiserord), the contract's Hann tapers, the DFT and
// Welch PSD (scipy.signal.welch defaults).
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/dsp/fir.hpp"
#include "core/dsp/welch.hpp"
#include "core/dsp/window.hpp"
#include "fixtures.hpp"

namespace dsp = deepclean::dsp;
using dsptest::noise;
using dsptest::rel_max;
using dsptest::split;

TEST(Fir, EqualsScipyFirwinKaiser) {
  const auto cases = dsptest::load("firwin.txt");
  int checked = 0;
  double worst = 0;
  for (const auto& [name, ref] : cases) {
    const auto p = split(name);
    std::vector<double> got;
    if (p[0] == "bp") {
      got = dsp::firwin_bandpass(std::stoul(p[1]), std::stod(p[2]), std::stod(p[3]), std::stod(p[4]), std::stod(p[5]));
    } else if (p[0] == "lp") {
      got = dsp::firwin_lowpass(std::stoul(p[1]), std::stod(p[2]), std::stod(p[3]), std::stod(p[4]));
    } else if (p[0] == "kaiser") {
      got = dsp::kaiser_window(std::stoul(p[1]), std::stod(p[2]));
    } else if (p[0] == "beta") {
      got = {dsp::kaiser_beta(std::stod(p[1]))};
    } else if (p[0] == "numtaps") {
      got = {static_cast<double>(dsp::kaiser_numtaps(std::stod(p[1]), std::stod(p[2]), std::stod(p[3])))};
    }
    ASSERT_EQ(got.size(), ref.size()) << name;
    const double e = rel_max(got, ref);
    worst = std::max(worst, e);
    EXPECT_LE(e, 1e-12) << name;
    ++checked;
  }
  EXPECT_EQ(checked, 23);
  std::printf("[ info ] firwin/kaiser: %d cases, worst rel max %.3g\n", checked, worst);
}

TEST(Fir, CentredApplicationHasNoDelay) {
  // v[n] = sum_k taps[k] u[n + L - k]: a band-pass of a 60 Hz sinusoid returns it in phase.
  const double fs = 4096;
  const std::size_t L = 410;
  const auto taps = dsp::firwin_bandpass(2 * L + 1, 55, 65, 8.0, fs);
  std::vector<double> u(8192);
  for (std::size_t i = 0; i < u.size(); ++i) u[i] = std::cos(2 * M_PI * 60 * static_cast<double>(i) / fs);
  const auto v = dsp::fir_centred(taps, u.data(), u.size());
  ASSERT_EQ(v.size(), u.size() - 2 * L);
  double err = 0;
  for (std::size_t j = 0; j < v.size(); ++j) err = std::max(err, std::abs(v[j] - u[j + L]));
  EXPECT_LT(err, 1e-3);  // unit gain at the band centre (firwin's scaling), Kaiser ripple beta=8
  // Brute-force check of the indexing on noise.
  const auto x = noise(3, 100);
  const std::vector<double> h = {0.1, -0.2, 0.5, 0.3, 0.05};
  const auto y = dsp::fir_centred(h, x.data(), x.size());
  ASSERT_EQ(y.size(), 96U);
  for (std::size_t n = 2; n < 98; ++n) {
    double acc = 0;
    for (std::size_t k = 0; k < 5; ++k) acc += h[k] * x[n + 2 - k];
    EXPECT_NEAR(y[n - 2], acc, 1e-15);
  }
  EXPECT_THROW(dsp::fir_centred({1.0, 2.0}, x.data(), x.size()), std::invalid_argument);
  EXPECT_THROW(dsp::firwin_bandpass(11, 65, 55, 5, fs), std::invalid_argument);
  EXPECT_THROW(dsp::firwin_lowpass(11, 3000, 5, fs), std::invalid_argument);
}

TEST(Window, HannHalvesFollowTheContractFormula) {
  for (std::size_t L : {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{2048}}) {
    const auto r = dsp::hann_rise(L);
    const auto f = dsp::hann_fall(L);
    ASSERT_EQ(r.size(), L);
    for (std::size_t i = 0; i < L; ++i) {
      const double s = std::sin(M_PI * (static_cast<double>(i) + 0.5) / (2.0 * static_cast<double>(L)));
      EXPECT_DOUBLE_EQ(r[i], s * s);
      EXPECT_DOUBLE_EQ(f[i], r[L - 1 - i]);
      EXPECT_NEAR(r[i] + r[L - 1 - i], 1.0, 1e-15);  // sin^2 + cos^2
      EXPECT_GT(r[i], 0.0);
      EXPECT_LT(r[i], 1.0);
    }
  }
  EXPECT_DOUBLE_EQ(dsp::hann_rise(1)[0], 0.5);
  std::vector<double> x(10, 1.0);
  dsp::apply_edge_tapers(x.data(), x.size(), 3);
  const auto r = dsp::hann_rise(3);
  const std::vector<double> expect = {r[0], r[1], r[2], 1, 1, 1, 1, r[2], r[1], r[0]};
  EXPECT_EQ(x, expect);
}

TEST(Dft, MatchesDirectSumForAnyLength) {
  for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{8}, std::size_t{12}, std::size_t{255},
                        std::size_t{300}, std::size_t{1024}}) {
    const auto xr = noise(10 + n, n), xi = noise(20 + n, n);
    std::vector<double> re = xr, im = xi;
    dsp::dft(re, im);
    double err = 0, scale = 0;
    for (std::size_t k = 0; k < n; ++k) {
      std::complex<long double> acc = 0;
      for (std::size_t j = 0; j < n; ++j) {
        const long double ang = -2.0L * 3.141592653589793238462643383279502884L * static_cast<long double>((k * j) % n) /
                                static_cast<long double>(n);
        acc += std::complex<long double>(static_cast<long double>(xr[j]), static_cast<long double>(xi[j])) * std::polar(1.0L, ang);
      }
      err = std::max(err, static_cast<double>(std::abs(std::complex<long double>(static_cast<long double>(re[k]), static_cast<long double>(im[k])) - acc)));
      scale = std::max(scale, static_cast<double>(std::abs(acc)));
    }
    EXPECT_LE(err / scale, 1e-13) << "n = " << n;
  }
}

TEST(Welch, EqualsScipyWelchDefaults) {
  const auto m = dsptest::load_map("welch.txt");
  int checked = 0;
  for (const auto& [name, ref] : m) {
    if (name.rfind("psd:", 0) != 0) continue;
    const auto p = split(name.substr(4));
    const double fs = std::stod(p[0]);
    const std::size_t n = std::stoul(p[1]), nperseg = std::stoul(p[2]);
    auto x = noise(std::stoull(p[3]), n);
    for (double& v : x) v += 0.25;
    const auto s = dsp::welch_psd(x.data(), n, fs, nperseg);
    ASSERT_EQ(s.value.size(), ref.size()) << name;
    const double e = rel_max(s.value, ref);
    EXPECT_LE(e, 1e-10) << name;
    EXPECT_LE(rel_max(s.freqs, m.at("f:" + name.substr(4))), 1e-15) << name;
    const auto a = dsp::welch_asd(x.data(), n, fs, nperseg);
    for (std::size_t k = 0; k < ref.size(); ++k) EXPECT_NEAR(a.value[k], std::sqrt(ref[k]), 1e-10 * std::sqrt(ref[k]) + 1e-300);
    std::printf("[ info ] welch %s: rel max %.3g\n", name.substr(4).c_str(), e);
    ++checked;
  }
  EXPECT_EQ(checked, 6);
}

TEST(Welch, WhiteNoiseLevelAndBandMean) {
  // Uniform noise on [-1, 1) has variance 1/3: its one-sided PSD is 2 * (1/3) / fs.
  const double fs = 1024;
  const auto x = noise(42, 1024 * 64);
  const auto s = dsp::welch_psd(x.data(), x.size(), fs, 1024);
  EXPECT_NEAR(dsp::band_mean(s, 10, 500), 2.0 / 3.0 / fs, 0.03 * 2.0 / 3.0 / fs);
  EXPECT_TRUE(std::isnan(dsp::band_mean(s, 600, 700)));
  EXPECT_THROW(dsp::welch_psd(x.data(), 0, fs, 16), std::invalid_argument);
  EXPECT_THROW(dsp::welch_psd(x.data(), 10, 0, 16), std::invalid_argument);
}
