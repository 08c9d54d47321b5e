// ModelComparison against closed-form band powers: sines at whole-Hz frequencies fall on DFT bins of a
// 1-s Hann segment and leak only into the two neighbouring bins, so a region's power ratio is known
// exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/stream/model_comparison.hpp"

namespace deepclean::stream {
namespace {

constexpr double kRate = 512;
const double kPi = std::acos(-1.0);

std::vector<double> sine(double f, double amp, double phase) {
  std::vector<double> x(static_cast<std::size_t>(kRate));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = amp * std::sin(2 * kPi * f * static_cast<double>(i) / kRate + phase);
  return x;
}

std::vector<double> plus(std::vector<double> a, const std::vector<double>& b, double k = 1.0) {
  for (std::size_t i = 0; i < a.size(); ++i) a[i] += k * b[i];
  return a;
}

QualityMonitorConfig config() {
  QualityMonitorConfig c;
  c.rate = kRate;
  c.bands = {{55, 65}};
  c.guard_hz = 10;
  return c;
}

TEST(ModelComparison, RatiosPerRegionAreTheAmplitudeRatiosOfWhatIsLeft) {
  ModelComparison cmp(config());
  ASSERT_EQ(cmp.regions().size(), 3u);  // 55-65 and its guards 45-55, 65-75
  EXPECT_EQ(cmp.regions()[0].label, "55-65");
  EXPECT_EQ(cmp.regions()[1].label, "45-55");
  EXPECT_EQ(cmp.regions()[2].label, "65-75");
  for (int s = 0; s < 5; ++s) {
    const std::vector<double> line = sine(60, 3.0, 0.3 * s);
    // Power in each guard band, far enough (>= 2 bins) from the band's edge bins not to leak into it.
    const std::vector<double> guards = plus(sine(49, 1.0, 0.1), sine(71, 0.5, 0.2));
    const std::vector<double> h = plus(line, guards);
    const std::vector<double> a = plus(h, line, -0.5);                          // leaves half the line
    // A fifth of the line; adds a line at 74 Hz (bins 73-75) beside the one at 71 Hz (bins 70-72):
    // no shared bin, so the upper guard's power doubles.
    const std::vector<double> b = plus(plus(h, line, -0.8), sine(74, 0.5, 1.0));
    cmp.add(h.data(), a.data(), b.data());
  }
  EXPECT_EQ(cmp.seconds(), 5u);
  const auto r = cmp.ratios();
  EXPECT_NEAR(r[0].a, 0.5, 1e-9);
  EXPECT_NEAR(r[0].b, 0.2, 1e-9);
  EXPECT_NEAR(r[1].a, 1.0, 1e-9);
  EXPECT_NEAR(r[1].b, 1.0, 1e-9);
  EXPECT_NEAR(r[2].a, 1.0, 1e-9);
  EXPECT_NEAR(r[2].b, std::sqrt(2.0), 1e-9);
}

TEST(ModelComparison, NonFiniteSamplesMakeThatModelsRatiosNan) {
  ModelComparison cmp(config());
  std::vector<double> h = plus(sine(60, 1, 0), sine(50, 1, 0));
  std::vector<double> a = h;
  std::vector<double> b = h;
  b[100] = std::numeric_limits<double>::quiet_NaN();
  cmp.add(h.data(), a.data(), b.data());
  const auto r = cmp.ratios();
  EXPECT_NEAR(r[0].a, 1.0, 1e-12);
  EXPECT_TRUE(std::isnan(r[0].b));
  cmp.reset();
  EXPECT_EQ(cmp.seconds(), 0u);
  EXPECT_TRUE(std::isnan(cmp.ratios()[0].a));  // no second: no figure
}

TEST(ModelComparison, RejectsBandsThatDoNotFit) {
  QualityMonitorConfig c = config();
  c.bands = {{250, 260}};  // guard beyond Nyquist (256 Hz)
  EXPECT_THROW(ModelComparison{c}, std::invalid_argument);
}

}  // namespace
}  // namespace deepclean::stream
