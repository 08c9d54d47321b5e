// The crossfade of a model switch: the contract's half-Hann shape, sample by sample, its two halves
// adding to one (sin^2 + cos^2), and the state bits and history of the blended seconds.
#include <gtest/gtest.h>

#include <cmath>

#include "daemon/models/crossfade.hpp"

namespace deepclean::daemon::models {
namespace {

const double kPi = std::acos(-1.0);

OutputSecond constant(std::uint64_t gps, double value, std::size_t rate, std::uint32_t bits, const std::string& model) {
  OutputSecond o;
  o.gps = gps;
  o.cleaned.assign(rate, value);
  o.noise = std::vector<double>(rate / 2, -value);
  o.noise_rate = static_cast<double>(rate / 2);
  o.state.assign(kStateRate, bits);
  o.history.push_back({"deepclean", static_cast<std::uint32_t>(gps), "model " + model});
  return o;
}

TEST(Crossfade, WeightsFollowTheHalfHannRiseAndItsMirrorAddsToOne) {
  const double rate = 64;
  const double seconds = 2.0;  // R = 128 samples over two seconds
  const auto w0 = crossfade_weights(0, rate, 64, seconds);
  const auto w1 = crossfade_weights(1, rate, 64, seconds);
  std::vector<double> w = w0;
  w.insert(w.end(), w1.begin(), w1.end());
  ASSERT_EQ(w.size(), 128u);
  for (std::size_t k = 0; k < w.size(); ++k) {
    const double s = std::sin(kPi * (static_cast<double>(k) + 0.5) / 256.0);
    EXPECT_NEAR(w[k], s * s, 1e-15) << k;
    EXPECT_NEAR(w[k] + w[127 - k], 1.0, 1e-14) << k;
    if (k > 0) {
      EXPECT_GT(w[k], w[k - 1]);
    }
  }
  for (double x : crossfade_weights(2, rate, 64, seconds)) EXPECT_EQ(x, 1.0);   // after the switch
  for (double x : crossfade_weights(-1, rate, 64, seconds)) EXPECT_EQ(x, 0.0);  // before it
  for (double x : crossfade_weights(0, rate, 64, 0.0)) EXPECT_EQ(x, 1.0);       // no crossfade
}

TEST(Crossfade, BlendsCleanedAndNoiseAndCombinesStateBitsAndHistory) {
  const std::uint32_t from_bits = kCleaned | kInputOk | kModelOk | kSubtracted;
  const std::uint32_t to_bits = kInputOk | kModelOk | kSubtracted | kGated;
  const OutputSecond from = constant(10, 1.0, 32, from_bits, "A");
  const OutputSecond to = constant(10, 3.0, 32, to_bits, "B");
  const OutputSecond out = crossfade(from, to, 10, 1.0);
  const auto w = crossfade_weights(0, 32, 32, 1.0);
  for (std::size_t i = 0; i < 32; ++i) EXPECT_NEAR(out.cleaned[i], 1.0 + 2.0 * w[i], 1e-15) << i;
  const auto wn = crossfade_weights(0, 16, 16, 1.0);
  ASSERT_TRUE(out.noise);
  for (std::size_t i = 0; i < 16; ++i) EXPECT_NEAR((*out.noise)[i], -1.0 - 2.0 * wn[i], 1e-15) << i;
  // Cleaned only where both are; gated where either is.
  for (std::uint32_t s : out.state) EXPECT_EQ(s, kInputOk | kModelOk | kSubtracted | kGated);
  ASSERT_EQ(out.history.size(), 2u);
  EXPECT_EQ(out.history[0].comment, "model A; crossfading out");
  EXPECT_EQ(out.history[1].comment, "model B; crossfading in");
  // A second after the switch is `to`'s samples exactly.
  const OutputSecond after = crossfade(constant(11, 1.0, 32, from_bits, "A"), constant(11, 3.0, 32, to_bits, "B"), 10, 1.0);
  for (double x : after.cleaned) EXPECT_EQ(x, 3.0);
}

TEST(Crossfade, RefusesSecondsThatDoNotMatch) {
  const OutputSecond a = constant(10, 1.0, 32, kCleaned, "A");
  EXPECT_THROW(crossfade(a, constant(11, 1.0, 32, kCleaned, "B"), 10, 1.0), std::invalid_argument);
  EXPECT_THROW(crossfade(a, constant(10, 1.0, 64, kCleaned, "B"), 10, 1.0), std::invalid_argument);
}

}  // namespace
}  // namespace deepclean::daemon::models
