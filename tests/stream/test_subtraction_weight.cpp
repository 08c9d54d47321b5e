#include "core/stream/subtraction_weight.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/stream/cleaner.hpp"

namespace deepclean::stream {
namespace {

// sin^2(pi (i + 0.5) / 6), i = 0, 1, 2: the contract's half-Hann of length 3, by hand.
const double kRamp3[3] = {0.0669872981077807, 0.5, 0.9330127018922193};

TEST(SubtractionWeight, RiseFallAndOutside) {
  SubtractionWeight g(3, 3);
  g.set_interval(10, 20);
  EXPECT_EQ(g.at(9), 0.0);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_NEAR(g.at(10 + i), kRamp3[i], 1e-15);
  for (std::size_t m = 13; m < 17; ++m) EXPECT_EQ(g.at(m), 1.0);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_NEAR(g.at(19 - i), kRamp3[i], 1e-15);
  EXPECT_EQ(g.at(20), 0.0);
}

TEST(SubtractionWeight, OverlappingRampsTakeTheSmaller) {
  SubtractionWeight g(3, 3);
  g.set_interval(0, 4);  // rise over 0..2, fall over 1..3
  EXPECT_NEAR(g.at(0), kRamp3[0], 1e-15);
  EXPECT_NEAR(g.at(1), kRamp3[1], 1e-15);  // min(rise 0.5, fall w[2])
  EXPECT_NEAR(g.at(2), kRamp3[1], 1e-15);  // min(rise w[2], fall 0.5)
  EXPECT_NEAR(g.at(3), kRamp3[0], 1e-15);
}

TEST(SubtractionWeight, UnknownBoundsAndZeroTaper) {
  SubtractionWeight g(0, 0);
  g.set_interval(5, SubtractionWeight::kUnknown);
  EXPECT_EQ(g.at(4), 0.0);
  EXPECT_EQ(g.at(5), 1.0);  // T = 0: a step
  EXPECT_EQ(g.at(1'000'000'000), 1.0);
  g.set_interval(SubtractionWeight::kUnknown, SubtractionWeight::kUnknown);
  EXPECT_EQ(g.at(5), 0.0);
}

TEST(SummariseWeight, SixteenHzIntervals) {
  std::vector<double> w(10, 1.0);
  w[0] = 0.0;
  w[5] = 0.5;
  const auto s = summarise_weight(w, 4);  // intervals [0,4) [4,8) [8,10)
  ASSERT_EQ(s.size(), 3u);
  EXPECT_FALSE(s[0].cleaned);
  EXPECT_FALSE(s[0].in_taper);
  EXPECT_FALSE(s[1].cleaned);
  EXPECT_TRUE(s[1].in_taper);
  EXPECT_TRUE(s[2].cleaned);
  EXPECT_FALSE(s[2].in_taper);
}

}  // namespace
}  // namespace deepclean::stream
