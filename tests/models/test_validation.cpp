// Validating a canary against production: whole-Hz lines whose leftover amplitude is known, so each
// region's ratio is known exactly (see tests/stream/test_model_comparison.cpp), and the decision rule
// of docs/model-lifecycle.md applied to them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

#include "daemon/models/validation.hpp"

namespace deepclean::daemon::models {
namespace {

constexpr double kRate = 512;
const double kPi = std::acos(-1.0);

// Raw strain: a 60-Hz line (the band 55-65), a 49-Hz line (lower guard) and a 71-Hz line (upper
// guard); the cleaned strain keeps `left` of the 60-Hz line and `guard_left` of the guard bands'
// lines, and adds `guard_extra` times a 74-Hz line (upper guard).
OutputSecond second(std::uint64_t gps, double left, double guard_extra = 0, double guard_left = 1) {
  OutputSecond o;
  o.gps = gps;
  std::vector<double> h(static_cast<std::size_t>(kRate));
  o.cleaned.resize(h.size());
  for (std::size_t i = 0; i < h.size(); ++i) {
    const double t = static_cast<double>(i) / kRate;
    const double line = 2.0 * std::sin(2 * kPi * 60 * t + 0.1 * static_cast<double>(gps));
    const double guard = std::sin(2 * kPi * 49 * t) + 0.5 * std::sin(2 * kPi * 71 * t);
    h[i] = line + guard;
    o.cleaned[i] = left * line + guard_left * guard + guard_extra * std::sin(2 * kPi * 74 * t);
  }
  o.raw_strain.name = "H1:STRAIN";
  o.raw_strain.sample_rate = kRate;
  o.raw_strain.data = gwf::Vect::make("H1:STRAIN", h, kRate);
  o.state.assign(kStateRate, kCleaned | kInputOk | kModelOk | kSubtracted);
  o.gate.enabled = true;
  return o;
}

// The default margin only absorbs rounding: a line's leftover differs between the models in the last bits.
void feed(Validation& v, const OutputSecond& production, const OutputSecond& canary, double compute) {
  v.add_compute(compute);
  v.add(production, canary);
}

Validation make(double seconds, double margin = 1e-9) {
  stream::QualityMonitorConfig m;
  m.rate = kRate;
  m.bands = {{55, 65}};
  m.guard_hz = 10;
  return Validation(m, {seconds, margin, 0.5});
}

TEST(Validation, ABetterCanaryPassesAfterTheWindowWithItsFiguresInTheReport) {
  Validation v = make(10);
  for (std::uint64_t g = 100; g < 109; ++g) feed(v, second(g, 0.5), second(g, 0.2), 0.1);
  EXPECT_EQ(v.status(), Validation::Status::Running);
  EXPECT_EQ(v.seconds(), 9u);
  feed(v, second(109, 0.5), second(109, 0.2), 0.3);
  ASSERT_EQ(v.status(), Validation::Status::Passed) << v.reason();
  EXPECT_NEAR(v.mean_compute(), 0.12, 1e-12);
  EXPECT_DOUBLE_EQ(v.max_compute(), 0.3);
  const auto j = nlohmann::json::parse(v.report("v2", "id2", "v1", "id1", "2026-12-07T00:00:00Z", 110));
  EXPECT_EQ(j["decision"], "passed");
  EXPECT_EQ(j["window"]["first_gps"], 100);
  EXPECT_EQ(j["window"]["last_gps"], 109);
  EXPECT_EQ(j["regions"][0]["region"], "55-65");
  // The band's power ratio: what is left of the line (its amplitude ratio).
  EXPECT_NEAR(j["regions"][0]["production"].get<double>(), 0.5, 1e-9);
  EXPECT_NEAR(j["regions"][0]["canary"].get<double>(), 0.2, 1e-9);
  EXPECT_NEAR(j["regions"][1]["canary"].get<double>(), 1.0, 1e-9);
  // Decided: later seconds change nothing.
  feed(v, second(110, 0.5), second(110, 5.0), 0.1);
  EXPECT_EQ(v.status(), Validation::Status::Passed);
}

TEST(Validation, AnEqualCanaryPassesAndAWorseOneIsRejectedNamingTheBand) {
  Validation same = make(5);
  Validation worse = make(5, 0.05);
  for (std::uint64_t g = 0; g < 5; ++g) {
    feed(same, second(g, 0.5), second(g, 0.5), 0.1);
    feed(worse, second(g, 0.5), second(g, 0.6), 0.1);  // 0.6 > 0.5 * 1.05
  }
  EXPECT_EQ(same.status(), Validation::Status::Passed) << same.reason();
  ASSERT_EQ(worse.status(), Validation::Status::Rejected);
  EXPECT_NE(worse.reason().find("band 55-65 Hz"), std::string::npos) << worse.reason();
  EXPECT_NE(worse.reason().find("0.6000 against 0.5000"), std::string::npos) << worse.reason();
  // The margin is relative: 0.6 is 20 % above 0.5, beyond a margin of 0.15 (an absolute one would
  // pass it) and within one of 0.25.
  Validation beyond = make(5, 0.15), within = make(5, 0.25);
  for (std::uint64_t g = 0; g < 5; ++g) {
    feed(beyond, second(g, 0.5), second(g, 0.6), 0.1);
    feed(within, second(g, 0.5), second(g, 0.6), 0.1);
  }
  EXPECT_EQ(beyond.status(), Validation::Status::Rejected);
  EXPECT_EQ(within.status(), Validation::Status::Passed);
}

TEST(Validation, HarmBesideTheBandRejectsEvenWhenTheBandIsBetter) {
  Validation v = make(5);
  for (std::uint64_t g = 0; g < 5; ++g) feed(v, second(g, 0.5), second(g, 0.1, 0.5), 0.1);
  ASSERT_EQ(v.status(), Validation::Status::Rejected);
  EXPECT_NE(v.reason().find("guard band 65-75 Hz"), std::string::npos) << v.reason();
}

// Beside the band the rule is no harm: production removing half of the guard bands' lines (ratio
// 0.5) and a canary removing a tenth (0.9) is no reason to keep production's worse band (0.5 against
// 0.2); a canary above 1 beside the band (more than the raw strain) is rejected by the test above.
TEST(Validation, RemovingLessThanProductionBesideTheBandIsNoHarm) {
  Validation v = make(5);
  for (std::uint64_t g = 0; g < 5; ++g) feed(v, second(g, 0.5, 0, 0.5), second(g, 0.2, 0, 0.9), 0.1);
  ASSERT_EQ(v.status(), Validation::Status::Passed) << v.reason();
  const auto r = v.ratios();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_NEAR(r[1].a, 0.5, 1e-9);
  EXPECT_NEAR(r[1].b, 0.9, 1e-9);
  // Production above 1 beside the band: the canary must not be worse than that.
  Validation worse = make(5);
  for (std::uint64_t g = 0; g < 5; ++g) feed(worse, second(g, 0.5, 0.5), second(g, 0.2, 0.8), 0.1);
  ASSERT_EQ(worse.status(), Validation::Status::Rejected);
  EXPECT_NE(worse.reason().find("guard band 65-75 Hz"), std::string::npos) << worse.reason();
}

TEST(Validation, NonFiniteOutputOrTheCanarysOwnGateClosingRejectsAtOnce) {
  Validation nan = make(100);
  OutputSecond c = second(7, 0.2);
  c.cleaned[3] = std::numeric_limits<double>::quiet_NaN();
  feed(nan, second(7, 0.5), c, 0.1);
  ASSERT_EQ(nan.status(), Validation::Status::Rejected);
  EXPECT_EQ(nan.reason(), "non-finite output at GPS 7");

  Validation gated = make(100);
  OutputSecond g = second(8, 0.2);
  g.gate.open = false;
  g.gate.reason = "band";
  g.gate.detail = "55-65 Hz ratio 1.30";
  feed(gated, second(8, 0.5), g, 0.1);
  ASSERT_EQ(gated.status(), Validation::Status::Rejected);
  EXPECT_NE(gated.reason().find("gate closed at GPS 8 while production's stayed open (band: 55-65 Hz ratio 1.30)"),
            std::string::npos)
      << gated.reason();

  // Both gates close in the same second (a moment of the data): not a reason; nor the seconds the
  // canary's stays closed after production's reopened, up to kClosedAloneSeconds.
  Validation both = make(100);
  OutputSecond closed_prod = second(8, 0.5);
  closed_prod.gate = g.gate;
  feed(both, closed_prod, g, 0.1);
  EXPECT_EQ(both.status(), Validation::Status::Running) << both.reason();
  std::uint64_t t = 9;
  for (; t < 9 + Validation::kClosedAloneSeconds - 1; ++t) {
    OutputSecond still = g;
    still.gps = t;
    feed(both, second(t, 0.5), still, 0.1);
  }
  EXPECT_EQ(both.status(), Validation::Status::Running) << both.reason();
  OutputSecond last = g;
  last.gps = t;
  feed(both, second(t, 0.5), last, 0.1);
  ASSERT_EQ(both.status(), Validation::Status::Rejected);
  EXPECT_NE(both.reason().find("stayed closed 30 s longer than production's"), std::string::npos) << both.reason();

  // A bad input closes both gates: not the canary's fault, and not a cleaned second either.
  Validation input = make(100);
  OutputSecond i = second(9, 0.2);
  i.gate.open = false;
  i.gate.reason = "input";
  i.state.assign(kStateRate, kInputOk | kModelOk | kGated);
  feed(input, second(9, 0.5), i, 0.1);
  EXPECT_EQ(input.status(), Validation::Status::Running);
  EXPECT_EQ(input.seconds(), 0u);
}

TEST(Validation, OnlyFullyCleanedSecondsCount) {
  Validation v = make(3);
  OutputSecond taper = second(1, 0.2);
  taper.state[0] = kInputOk | kModelOk | kInTaper | kSubtracted;  // segment start
  feed(v, second(1, 0.5), taper, 0.1);
  OutputSecond bad_input = second(2, 0.5);
  bad_input.state[5] &= ~kInputOk;
  feed(v, bad_input, second(2, 0.2), 0.1);
  EXPECT_EQ(v.seconds(), 0u);
  for (std::uint64_t g = 3; g < 6; ++g) feed(v, second(g, 0.5), second(g, 0.2), 0.1);
  EXPECT_EQ(v.status(), Validation::Status::Passed);
  EXPECT_EQ(*v.first_gps(), 3u);
  EXPECT_NE(v.reason().find("3 fully cleaned seconds (GPS 3 to 5)"), std::string::npos) << v.reason();
}

TEST(Validation, ACanaryTooSlowForRealTimeIsRejected) {
  Validation v = make(4);
  for (std::uint64_t g = 0; g < 4; ++g) feed(v, second(g, 0.5), second(g, 0.2), 0.8);
  ASSERT_EQ(v.status(), Validation::Status::Rejected);
  EXPECT_NE(v.reason().find("too slow: 0.800 s of compute per second of data on average"), std::string::npos)
      << v.reason();
  // Far too slow: rejected after five seconds, long before the window is full.
  Validation w = make(100);
  for (int i = 0; i < 4; ++i) w.add_compute(1.5);
  EXPECT_EQ(w.status(), Validation::Status::Running);
  w.add_compute(1.5);
  ASSERT_EQ(w.status(), Validation::Status::Rejected);
  EXPECT_NE(w.reason().find("over its first 5 seconds"), std::string::npos) << w.reason();
}

TEST(Validation, MismatchedSecondsAreAProgrammingError) {
  Validation v = make(4);
  EXPECT_THROW(v.add(second(1, 0.5), second(2, 0.5)), std::invalid_argument);
}

}  // namespace
}  // namespace deepclean::daemon::models
