// Band ASD ratio: exact values for scaled signals (ASD is linear in amplitude), a known line
// removal, and the rolling window.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/dsp/welch.hpp"
#include "daemon/pipeline/asd_monitor.hpp"

using deepclean::daemon::BandAsdMonitor;

namespace {
std::vector<double> noise_second(std::mt19937& rng, double rate, double line_amp) {
  std::normal_distribution<double> g(0.0, 1.0);
  std::vector<double> x(static_cast<std::size_t>(rate));
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = g(rng) + line_amp * std::sin(2 * M_PI * 60.0 * static_cast<double>(i) / rate);
  }
  return x;
}
std::vector<double> scaled(const std::vector<double>& x, double k) {
  std::vector<double> y(x);
  for (double& v : y) v *= k;
  return y;
}
}  // namespace

TEST(BandAsdMonitor, ScaledSignalGivesTheScaleInEveryBand) {
  std::mt19937 rng(1);
  BandAsdMonitor m({{55, 65}, {10, 500}});
  EXPECT_TRUE(std::isnan(m.ratio(0)));
  for (int k = 0; k < 4; ++k) {
    const auto raw = noise_second(rng, 4096, 10.0);
    m.add(raw, scaled(raw, 0.25), 4096);
  }
  EXPECT_EQ(m.seconds(), 4u);
  EXPECT_NEAR(m.ratio(0), 0.25, 1e-12);
  EXPECT_NEAR(m.ratio(1), 0.25, 1e-12);
  EXPECT_EQ(BandAsdMonitor::label({55, 65}), "55-65");
}

TEST(BandAsdMonitor, RemovingALineLowersTheBandButNotOthers) {
  std::mt19937 rng(2);
  BandAsdMonitor m({{58, 62}, {100, 200}});
  for (int k = 0; k < 8; ++k) {
    std::mt19937 same(static_cast<unsigned>(k));
    const auto raw = noise_second(same, 2048, 50.0);
    std::mt19937 same2(static_cast<unsigned>(k));
    const auto clean = noise_second(same2, 2048, 0.0);  // the same noise without the line
    m.add(raw, clean, 2048);
  }
  // 1-Hz bins 58..62: a periodic-Hann on-bin line leaks only into bins 59 and 61, so bins 58 and 62
  // keep ratio 1 and bins 59-61 drop to about noise/line: the band mean is just above 2/5.
  EXPECT_GT(m.ratio(0), 0.4);
  EXPECT_LT(m.ratio(0), 0.45);
  EXPECT_NEAR(m.ratio(1), 1.0, 1e-9);  // identical noise elsewhere (Hann leakage of the line < 1e-9)
}

TEST(BandAsdMonitor, RollingWindowForgetsOldSeconds) {
  std::mt19937 rng(3);
  BandAsdMonitor m({{20, 80}}, 2);
  for (int k = 0; k < 3; ++k) {
    const auto raw = noise_second(rng, 1024, 0.0);
    m.add(raw, scaled(raw, 0.5), 1024);
  }
  for (int k = 0; k < 2; ++k) {
    const auto raw = noise_second(rng, 1024, 0.0);
    m.add(raw, scaled(raw, 0.1), 1024);
  }
  EXPECT_EQ(m.seconds(), 2u);
  EXPECT_NEAR(m.ratio(0), 0.1, 1e-9);
}

// The monitor computes only the band bins (a direct DFT); the figure must be what the full Welch
// PSD of dsp::welch_psd (held to scipy.signal.welch in tests/dsp) gives, bin for bin. Power-of-two
// and other lengths (dsp::welch_psd then uses Bluestein), bands with fractional edges, several
// seconds accumulated.
TEST(BandAsdMonitor, EqualsTheRatioFromTheFullWelchSpectrum) {
  for (const double rate : {16384.0, 1000.0, 4096.0}) {
    std::mt19937 rng(static_cast<unsigned>(rate));
    const std::vector<std::pair<double, double>> bands{{55, 65}, {9.5, 20.25}, {1, 3}};
    BandAsdMonitor m(bands);
    std::vector<double> sum_r, sum_c, freqs;
    for (int sec = 0; sec < 3; ++sec) {
      const auto raw = noise_second(rng, rate, 20.0);
      std::vector<double> clean(raw.size());
      for (std::size_t i = 0; i < raw.size(); ++i) clean[i] = 0.3 * raw[i] + (i ? 0.2 * raw[i - 1] : 0.0) + 0.01;
      m.add(raw, clean, rate);
      const auto r = deepclean::dsp::welch_psd(raw.data(), raw.size(), rate, raw.size());
      const auto c = deepclean::dsp::welch_psd(clean.data(), clean.size(), rate, clean.size());
      if (sum_r.empty()) {
        sum_r.assign(r.value.size(), 0.0);
        sum_c.assign(c.value.size(), 0.0);
        freqs = r.freqs;
      }
      for (std::size_t k = 0; k < r.value.size(); ++k) {
        sum_r[k] += r.value[k];
        sum_c[k] += c.value[k];
      }
    }
    for (std::size_t b = 0; b < bands.size(); ++b) {
      double sum = 0;
      std::size_t n = 0;
      for (std::size_t k = 0; k < freqs.size(); ++k) {
        if (freqs[k] < bands[b].first || freqs[k] > bands[b].second) continue;
        sum += std::sqrt(sum_c[k] / sum_r[k]);
        ++n;
      }
      ASSERT_GT(n, 0u);
      EXPECT_NEAR(m.ratio(b), sum / static_cast<double>(n), 1e-11 * sum / static_cast<double>(n))
          << "rate " << rate << " band " << b;
    }
  }
}
