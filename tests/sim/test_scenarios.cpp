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
            "coupling-phase, mains-shift, witness-flat, witness-zero)");
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
