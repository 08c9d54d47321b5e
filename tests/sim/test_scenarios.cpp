// The simulator's scenarios (`deepclean simulate --scenario`, docs/simulator.md): each change against
// the same simulator without it, sample by sample.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "sim/scenario.hpp"
#include "sim/simulator.hpp"

namespace sim = deepclean::sim;
namespace gwf = deepclean::gwf;

namespace {

constexpr std::int64_t kT0 = 1400000000;
constexpr int kRate = sim::model::kStrainRate;

sim::SimOptions opts(const std::string& scenario, sim::Coupling c = sim::Coupling::Both) {
  sim::SimOptions o;
  o.seed = 17;
  o.coupling = c;
  o.unrelated = 0;
  o.scenario = sim::Scenario::parse(scenario).resolved(static_cast<double>(kT0));
  return o;
}

std::vector<double> data(const gwf::Frame& f, std::string_view name) {
  const gwf::Channel* c = f.find(std::string(name));
  if (c == nullptr) throw std::runtime_error("no channel " + std::string(name));
  return c->data.to_double();
}

std::vector<double> strain(sim::Simulator& s, std::int64_t gps) { return data(s.generate(gps).strain, "H1:GDS-CALIB_STRAIN"); }

// |DFT| of one second at `hz` (1-Hz bins).
double amplitude(const std::vector<double>& x, double hz) {
  double re = 0, im = 0;
  const double n = static_cast<double>(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    re += x[i] * std::cos(2 * M_PI * hz * static_cast<double>(i) / n);
    im -= x[i] * std::sin(2 * M_PI * hz * static_cast<double>(i) / n);
  }
  return std::hypot(re, im);
}

// Power-weighted mean frequency of one second over 40-80 Hz (1-Hz bins).
double centroid(const std::vector<double>& x) {
  double num = 0, den = 0;
  for (int f = 40; f <= 80; ++f) {
    const double p = amplitude(x, f) * amplitude(x, f);
    num += f * p;
    den += p;
  }
  return num / den;
}

}  // namespace

TEST(Scenario, ParsesChangesAndRejectsBadOnesByName) {
  const auto s = sim::Scenario::parse("coupling-scale@30:-1,coupling-off@40.5-50,witness-zero@60:H1:ASC-CHARD_P_OUT_DQ");
  ASSERT_EQ(s.changes.size(), 3u);
  EXPECT_EQ(s.changes[0].kind, sim::ChangeKind::CouplingScale);
  EXPECT_EQ(s.changes[0].value, -1.0);
  EXPECT_TRUE(std::isinf(s.changes[0].to));
  EXPECT_EQ(s.changes[1].value, 0.0);
  EXPECT_EQ(s.changes[1].from, 40.5);
  EXPECT_EQ(s.changes[1].to, 50.0);
  EXPECT_EQ(s.changes[2].channel, "H1:ASC-CHARD_P_OUT_DQ");
  const auto r = s.resolved(1000.0);
  EXPECT_EQ(r.changes[1].from, 1040.5);
  EXPECT_EQ(r.changes[1].to, 1050.0);
  EXPECT_EQ(sim::Scenario::parse("coupling-off@1400000123").resolved(1000.0).changes[0].from, 1400000123.0)
      << "a GPS time stays as it is";
  const auto error = [](const std::string& text) {
    try {
      sim::Scenario::parse(text);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(error("coupling-scale@30"), "scenario change 'coupling-scale@30': coupling-scale needs :FACTOR");
  EXPECT_EQ(error("coupling-flip@30"),
            "scenario change 'coupling-flip@30': unknown kind 'coupling-flip' (coupling-scale, coupling-off, "
            "coupling-phase, mains-shift, witness-flat, witness-zero, coupling-wander, phase-wander, mains-drift, relock)");
  EXPECT_EQ(error("coupling-off@x"), "scenario change 'coupling-off@x': FROM 'x' is not a number");
  EXPECT_EQ(error("coupling-off@50-40"), "scenario change 'coupling-off@50-40': TO must be after FROM");
  EXPECT_EQ(error("coupling-off"), "scenario change 'coupling-off': expected KIND@FROM[-TO][:ARG]");
  EXPECT_THROW(sim::Simulator(opts("witness-zero@1:H1:ASC-NOPE_P_OUT_DQ")), std::invalid_argument);
}

TEST(Scenario, CouplingOffScaleAndPhaseChangeOnlyTheCoupledNoise) {
  // Second kT0 + 1, changed from its middle on (FROM 1.5 s after the start).
  sim::Simulator plain(opts("")), none(opts("", sim::Coupling::None));
  sim::Simulator off(opts("coupling-off@1.5")), flip(opts("coupling-scale@1.5:-1")), phase(opts("coupling-phase@1.5:90"));
  const auto h = strain(plain, kT0 + 1), n = strain(none, kT0 + 1);
  const auto h_off = strain(off, kT0 + 1), h_flip = strain(flip, kT0 + 1), h_phase = strain(phase, kT0 + 1);
  double c_max = 0;
  for (std::size_t i = 0; i < h.size(); ++i) c_max = std::max(c_max, std::abs(h[i] - n[i]));
  ASSERT_GT(c_max, 1e-21) << "the coupled noise is there";
  const std::size_t half = kRate / 2;
  const auto d = static_cast<std::size_t>(std::llround(90.0 / 360.0 / 60.0 * kRate));  // 68 samples
  for (std::size_t i = 0; i < h.size(); ++i) {
    if (i < half) {
      ASSERT_EQ(h_off[i], h[i]) << i;
      ASSERT_EQ(h_flip[i], h[i]) << i;
      ASSERT_EQ(h_phase[i], h[i]) << i;
    } else {
      ASSERT_EQ(h_off[i], n[i]) << "no coupling at all, bit for bit: " << i;
      ASSERT_NEAR(h_flip[i] - n[i], -(h[i] - n[i]), 1e-12 * c_max) << i;
      ASSERT_NEAR(h_phase[i] - n[i], h[i - d] - n[i - d], 1e-12 * c_max) << "delayed by 1/4 period at 60 Hz: " << i;
    }
  }
  // The witnesses are what they were: the sensors did not change, the coupling did.
  const auto w = plain.generate(kT0 + 1).witness, w_off = off.generate(kT0 + 1).witness;
  EXPECT_EQ(data(w, "H1:PEM-CS_MAINSMON_EBAY_1_DQ"), data(w_off, "H1:PEM-CS_MAINSMON_EBAY_1_DQ"));
}

TEST(Scenario, WitnessFlatAndZeroChangeTheSensorNotTheStrain) {
  const std::string asc = "H1:ASC-CHARD_P_OUT_DQ";
  sim::Simulator plain(opts("")), zero(opts("witness-zero@2.25-3.5")), flat(opts("witness-flat@2.5:" + asc));
  for (std::int64_t k = 1; k <= 4; ++k) {
    const auto p = plain.generate(kT0 + k), z = zero.generate(kT0 + k), f = flat.generate(kT0 + k);
    EXPECT_EQ(data(z.strain, "H1:GDS-CALIB_STRAIN"), data(p.strain, "H1:GDS-CALIB_STRAIN")) << k;
    EXPECT_EQ(data(f.strain, "H1:GDS-CALIB_STRAIN"), data(p.strain, "H1:GDS-CALIB_STRAIN")) << k;
    const auto m = data(p.witness, "H1:PEM-CS_MAINSMON_EBAY_1_DQ"), mz = data(z.witness, "H1:PEM-CS_MAINSMON_EBAY_1_DQ");
    for (std::size_t i = 0; i < m.size(); ++i) {
      const double t = static_cast<double>(k) + static_cast<double>(i) / static_cast<double>(m.size());
      ASSERT_EQ(mz[i], t >= 2.25 && t < 3.5 ? 0.0 : m[i]) << k << " " << i;
    }
  }
  const auto second2 = data(plain.generate(kT0 + 2).witness, asc);
  const double held = second2.at(second2.size() / 2);  // its value at 2.5 s
  for (std::int64_t k = 3; k <= 4; ++k) {
    for (double v : data(flat.generate(kT0 + k).witness, asc)) ASSERT_EQ(v, held) << k;
  }
  EXPECT_EQ(data(flat.generate(kT0 + 3).witness, "H1:ASC-DHARD_Y_OUT_DQ"),
            data(plain.generate(kT0 + 3).witness, "H1:ASC-DHARD_Y_OUT_DQ"))
      << "only the named channel";
}

TEST(Scenario, MainsShiftMovesTheLineInWitnessAndStrainAlike) {
  sim::Simulator plain(opts("")), none(opts("", sim::Coupling::None)), shifted(opts("mains-shift@2:3"));
  const auto m = data(shifted.generate(kT0 + 5).witness, "H1:PEM-CS_MAINSMON_EBAY_1_DQ");
  const auto m0 = data(plain.generate(kT0 + 5).witness, "H1:PEM-CS_MAINSMON_EBAY_1_DQ");
  EXPECT_GT(amplitude(m, 63), 10 * amplitude(m, 60)) << "the mains monitor's line moved to 63 Hz";
  EXPECT_GT(amplitude(m0, 60), 10 * amplitude(m0, 63));
  // The coupled noise in the strain (carrier and its sidebands from the angular motion) moves with it.
  const auto n = strain(none, kT0 + 5), h = strain(shifted, kT0 + 5), h0 = strain(plain, kT0 + 5);
  std::vector<double> c(h.size()), c0(h.size());
  for (std::size_t i = 0; i < h.size(); ++i) {
    c[i] = h[i] - n[i];
    c0[i] = h0[i] - n[i];
  }
  EXPECT_NEAR(centroid(c) - centroid(c0), 3.0, 0.3);
  EXPECT_NEAR(centroid(c0), 60.0, 0.5);
  // A second whose interpolation filter does not reach FROM (2 s) is unchanged.
  EXPECT_EQ(strain(shifted, kT0), strain(plain, kT0));
}

// ---- slow drift (issue 16) --------------------------------------------------------------------------

// The coupled noise of seconds gps-1 .. gps+1 laid end to end: the strain with the coupling less the
// strain without it (the same detector noise, bit for bit).
std::vector<double> coupled3(sim::Simulator& with, sim::Simulator& without, std::int64_t gps) {
  std::vector<double> c;
  for (std::int64_t g = gps - 1; g <= gps + 1; ++g) {
    const auto a = strain(with, g), b = strain(without, g);
    for (std::size_t i = 0; i < a.size(); ++i) c.push_back(a[i] - b[i]);
  }
  return c;
}

TEST(Scenario, DriftingCouplingIsTheSimulatorsOwnScaleAndDelaySampleBySample) {
  // Short knots so that a test sees the drift; a second far from FROM and one before it.
  sim::Simulator drift(opts("coupling-wander@100:0.5/60,phase-wander@100:40/60"));
  sim::Simulator plain(opts("")), none(opts("", sim::Coupling::None));
  EXPECT_EQ(drift.coupling_scale(kT0 + 100), 1.0);  // continuous at FROM
  EXPECT_EQ(drift.coupling_degrees(kT0 + 100), 0.0);
  EXPECT_EQ(strain(drift, kT0 + 50), strain(plain, kT0 + 50));
  for (const std::int64_t g : {kT0 + 171, kT0 + 433}) {
    const auto c = coupled3(plain, none, g);
    const auto h = strain(drift, g), n = strain(none, g);
    double worst = 0, size = 0;
    for (std::size_t i = 0; i < h.size(); ++i) {
      const double t = static_cast<double>(g) + static_cast<double>(i) / kRate;
      const auto delay = std::llround(drift.coupling_degrees(t) / 360.0 / 60.0 * kRate);
      const double want = drift.coupling_scale(t) * c[static_cast<std::size_t>(static_cast<std::int64_t>(i) + kRate - delay)];
      worst = std::max(worst, std::abs(h[i] - n[i] - want));
      size = std::max(size, std::abs(want));
    }
    EXPECT_LT(worst, 1e-9 * size) << g;
    // The drift is real: the factor and the delay have moved away from 1 and 0.
    EXPECT_GT(std::abs(drift.coupling_scale(static_cast<double>(g)) - 1), 0.01) << g;
    EXPECT_GT(std::abs(drift.coupling_degrees(static_cast<double>(g))), 0.5) << g;
  }
}

TEST(Scenario, CouplingWanderHasItsDefinedSpreadAndTimescaleOverTwoHundredHours) {
  // (scale - 1) / DEPTH = S(t) - S(FROM): S of unit variance, knots every 1800 s.
  sim::Simulator s(opts("coupling-wander@0:0.4/1800"));
  std::vector<double> w;
  for (double t = 0; t < 200 * 3600.0; t += 60) w.push_back((s.coupling_scale(static_cast<double>(kT0) + t) - 1) / 0.4);
  double mean = 0;
  for (double v : w) mean += v;
  mean /= static_cast<double>(w.size());
  auto cov = [&](std::size_t lag) {
    double a = 0;
    for (std::size_t i = 0; i + lag < w.size(); ++i) a += (w[i] - mean) * (w[i + lag] - mean);
    return a / static_cast<double>(w.size() - lag);
  };
  const double var = cov(0);
  EXPECT_NEAR(std::sqrt(var), 1.0, 0.15);           // unit variance (400 knots: a few % of sampling error)
  EXPECT_GT(cov(450 / 60) / var, 0.8);               // smooth over a quarter knot
  EXPECT_LT(std::abs(cov(4 * 1800 / 60) / var), 0.15);  // independent four knots (2 h) apart
}

TEST(Scenario, MainsDriftMovesTheMonitorsFrequencyAsDefined) {
  // HZ 0.5, PERIOD 400 s: +0.5 Hz at FROM + 100 s, -0.5 Hz at FROM + 300 s.
  sim::Simulator s(opts("mains-drift@20:0.5/400"));
  EXPECT_NEAR(s.mains_offset_hz(kT0 + 120), 0.5, 1e-12);
  EXPECT_NEAR(s.mains_offset_hz(kT0 + 320), -0.5, 1e-12);
  EXPECT_EQ(s.mains_phase_added(kT0 + 20), 0.0);
  // The frequency measured from the monitor: the 60-Hz phase's slope over 6 s, in 0.25-s blocks.
  auto measured = [&](std::int64_t from) {
    std::vector<double> x;
    for (std::int64_t g = from; g < from + 6; ++g) {
      const auto v = data(s.generate(g).witness, "H1:PEM-CS_MAINSMON_EBAY_1_DQ");
      x.insert(x.end(), v.begin(), v.end());
    }
    constexpr int kM = 1024, kBlock = kM / 4;
    std::vector<double> phase;
    for (std::size_t b = 0; b + kBlock <= x.size(); b += kBlock) {
      double re = 0, im = 0;
      for (std::size_t i = b; i < b + kBlock; ++i) {
        const double t = static_cast<double>(i) / kM;
        re += x[i] * std::cos(2 * M_PI * 60 * t);
        im -= x[i] * std::sin(2 * M_PI * 60 * t);
      }
      double p = std::atan2(im, re);
      while (!phase.empty() && p - phase.back() > M_PI) p -= 2 * M_PI;
      while (!phase.empty() && p - phase.back() < -M_PI) p += 2 * M_PI;
      phase.push_back(p);
    }
    return (phase.back() - phase.front()) / (0.25 * static_cast<double>(phase.size() - 1)) / (2 * M_PI);
  };
  EXPECT_NEAR(measured(kT0 + 2), 0.0, 0.03);     // before FROM
  EXPECT_NEAR(measured(kT0 + 117), 0.5, 0.03);   // around the peak
  EXPECT_NEAR(measured(kT0 + 317), -0.5, 0.03);  // around the trough
}

TEST(Scenario, RelockClearsTheStateVectorThenChangesTheCoupling) {
  sim::Simulator s(opts("relock@30-90:1.7"));
  sim::Simulator plain(opts("")), none(opts("", sim::Coupling::None));
  auto state = [&](std::int64_t g) { return data(s.generate(g).strain, "H1:GDS-CALIB_STATE_VECTOR"); };
  EXPECT_EQ(state(kT0 + 29), std::vector<double>(16, sim::model::kStateGood));
  EXPECT_EQ(state(kT0 + 30), std::vector<double>(16, 0.0));
  EXPECT_EQ(state(kT0 + 89), std::vector<double>(16, 0.0));
  EXPECT_EQ(state(kT0 + 90), std::vector<double>(16, sim::model::kStateGood));
  EXPECT_TRUE(s.locked(kT0 + 29.99));
  EXPECT_FALSE(s.locked(kT0 + 30));
  EXPECT_EQ(strain(s, kT0 + 60), strain(plain, kT0 + 60));  // the coupling changes at TO, not at FROM
  const auto h = strain(s, kT0 + 95), p = strain(plain, kT0 + 95), n = strain(none, kT0 + 95);
  double worst = 0, size = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    worst = std::max(worst, std::abs((h[i] - n[i]) - 1.7 * (p[i] - n[i])));
    size = std::max(size, std::abs(p[i] - n[i]));
  }
  EXPECT_LT(worst, 1e-9 * size);
  EXPECT_THROW(sim::Scenario::parse("relock@30:1.5"), std::invalid_argument);  // needs TO
  EXPECT_THROW(sim::Scenario::parse("mains-drift@0:9"), std::invalid_argument);
  EXPECT_THROW(sim::Scenario::parse("coupling-wander@0:0.3/0"), std::invalid_argument);
  const auto w = sim::Scenario::parse("coupling-wander@0:0.3,phase-wander@0:20/900,mains-drift@5:0.1");
  EXPECT_EQ(w.changes[0].period, 1800);
  EXPECT_EQ(w.changes[1].period, 900);
  EXPECT_EQ(w.changes[2].period, 7200);
}
