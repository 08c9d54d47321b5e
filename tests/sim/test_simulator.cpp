// Tests of the detector simulator (issue 6, item 1): determinism, the strain's noise curve, the
// coupling (magnitude, bilinearity, computed from the written witnesses).
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/dsp/welch.hpp"
#include "io/gwf/reader.hpp"
#include "io/gwf/writer.hpp"
#include "sim/simulator.hpp"

namespace sim = deepclean::sim;
namespace gwf = deepclean::gwf;
namespace dsp = deepclean::dsp;

namespace {

constexpr std::int64_t kT0 = 1400000000;

sim::SimOptions opts(sim::Coupling c = sim::Coupling::Both, std::uint64_t seed = 11, std::size_t unrelated = 20) {
  sim::SimOptions o;
  o.seed = seed;
  o.coupling = c;
  o.unrelated = unrelated;
  return o;
}

std::vector<double> strain_of(const gwf::Frame& f) { return f.channels.at(0).data.to_double(); }

std::vector<double> strain_run(sim::Simulator& s, std::int64_t t0, int seconds) {
  std::vector<double> h;
  for (int k = 0; k < seconds; ++k) {
    const auto v = strain_of(s.generate(t0 + k).strain);
    h.insert(h.end(), v.begin(), v.end());
  }
  return h;
}

// The name by value (a view): with `const std::string&`, GCC 14's -Wdangling-reference flags every
// call with a literal (a temporary string) although the result refers into the frame.
const gwf::Channel& channel(const gwf::Frame& f, std::string_view name) {
  const gwf::Channel* c = f.find(std::string(name));
  if (c == nullptr) throw std::runtime_error("no channel " + std::string(name));
  return *c;
}

}  // namespace

TEST(Simulator, SameSeedSameBytesAnyStartOrChunking) {
  sim::Simulator a(opts()), b(opts()), c(opts());
  std::vector<std::vector<std::byte>> seq;
  for (std::int64_t g = kT0; g < kT0 + 6; ++g) {
    const auto fr = a.generate(g);
    seq.push_back(gwf::encode_frames({fr.strain}));
    seq.push_back(gwf::encode_frames({fr.witness}));
  }
  // A run that starts at t0+4 produces the same files for t0+4 and t0+5.
  for (std::int64_t g = kT0 + 4; g < kT0 + 6; ++g) {
    const auto fr = b.generate(g);
    EXPECT_EQ(gwf::encode_frames({fr.strain}), seq[static_cast<std::size_t>(2 * (g - kT0))]);
    EXPECT_EQ(gwf::encode_frames({fr.witness}), seq[static_cast<std::size_t>(2 * (g - kT0) + 1)]);
  }
  // Out of order (backwards) as well.
  for (std::int64_t g = kT0 + 5; g >= kT0 + 2; --g) {
    const auto fr = c.generate(g);
    EXPECT_EQ(gwf::encode_frames({fr.strain}), seq[static_cast<std::size_t>(2 * (g - kT0))]);
  }
  // Another seed gives other data.
  sim::Simulator d(opts(sim::Coupling::Both, 12));
  EXPECT_NE(gwf::encode_frames({d.generate(kT0).strain}), seq[0]);
}

TEST(Simulator, FrameContents) {
  sim::Simulator s(opts(sim::Coupling::Both, 11, 300));
  const auto fr = s.generate(kT0);
  EXPECT_EQ(fr.strain.start.sec, kT0);
  EXPECT_EQ(fr.strain.dt, 1.0);
  const auto& h = channel(fr.strain, "H1:GDS-CALIB_STRAIN");
  EXPECT_EQ(h.kind, gwf::ChannelKind::Proc);
  EXPECT_EQ(h.data.type, gwf::DataType::Float64);
  EXPECT_EQ(h.data.size(), 16384u);
  const auto& sv = channel(fr.strain, "H1:GDS-CALIB_STATE_VECTOR");
  EXPECT_EQ(sv.data.type, gwf::DataType::UInt32);
  ASSERT_EQ(sv.data.size(), 16u);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(sv.data.as<std::uint32_t>()[i] & 3u, 3u);
  EXPECT_EQ(fr.witness.channels.size(), 1u + 20u + 300u);
  const auto& m = channel(fr.witness, "H1:PEM-CS_MAINSMON_EBAY_1_DQ");
  EXPECT_EQ(m.kind, gwf::ChannelKind::Adc);
  EXPECT_EQ(m.data.type, gwf::DataType::Float32);
  EXPECT_EQ(m.sample_rate, 1024);
  for (const char* n : {"INP1_P", "MICH_Y", "PRC1_P", "PRC2_Y", "SRC1_P", "SRC2_Y", "DHARD_P", "CHARD_Y", "DSOFT_P", "CSOFT_Y"}) {
    const auto& c = channel(fr.witness, std::string("H1:ASC-") + n + "_OUT_DQ");
    EXPECT_EQ(c.kind, gwf::ChannelKind::Adc);
    EXPECT_TRUE(c.sample_rate == 256 || c.sample_rate == 512);
  }
  // Unrelated channels span 16 .. 2048 Hz and have unique names.
  double lo = 1e9, hi = 0;
  std::set<std::string> names;
  for (const auto& c : fr.witness.channels) {
    lo = std::min(lo, c.sample_rate);
    hi = std::max(hi, c.sample_rate);
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
  }
  EXPECT_EQ(lo, 16);
  EXPECT_EQ(hi, 2048);
}

// Without coupling the strain's Welch ASD follows the documented detector curve.
TEST(Simulator, StrainAsdMatchesTheDocumentedCurve) {
  sim::Simulator s(opts(sim::Coupling::None));
  const auto h = strain_run(s, kT0, 32);
  // 1-s segments (1 Hz bins): the Hann leakage of the seismic wall (PSD ~1e6 above the bucket below
  // 4 Hz) falls below 1e-3 of the bucket beyond ~10 bins.
  const auto asd = dsp::welch_asd(h.data(), h.size(), 16384, 16384);
  struct Band {
    double lo, hi;
  };
  for (Band b : {Band{20, 40}, Band{40, 80}, Band{80, 150}, Band{150, 300}, Band{300, 1000}, Band{1000, 4000}}) {
    double want = 0;
    int n = 0;
    for (double f = b.lo; f <= b.hi; f += 1) {
      want += sim::detector_asd(f);
      ++n;
    }
    want /= n;
    // 63 half-overlapping segments and >= 21 bins: a few tenths of a percent of statistical error,
    // so a 3 % tolerance tests the curve (the FIR's window smoothing is < 0.5 % in these bands).
    EXPECT_NEAR(dsp::band_mean(asd, b.lo, b.hi) / want, 1.0, 0.03) << b.lo << "-" << b.hi;
  }
  // The documented curve: ~1e-23 in the bucket, seismic wall below 10 Hz.
  EXPECT_NEAR(sim::detector_asd(200) / 1.05e-23, 1.0, 0.02);
  EXPECT_GT(sim::detector_asd(5) / sim::detector_asd(100), 100);
  EXPECT_GT(dsp::band_mean(asd, 4, 6) / dsp::band_mean(asd, 90, 110), 100);
}

// The coupled noise dominates 55-65 Hz: an ideal subtraction (strain without coupling, same seed, so the
// same detector noise) reaches a band ASD ratio far below 0.2; far from 60 Hz nothing changes.
TEST(Simulator, CouplingDominatesTheBand) {
  sim::Simulator with(opts(sim::Coupling::Both)), without(opts(sim::Coupling::None));
  const auto hw = strain_run(with, kT0, 32);
  const auto hn = strain_run(without, kT0, 32);
  const auto aw = dsp::welch_asd(hw.data(), hw.size(), 16384, 16384);
  const auto an = dsp::welch_asd(hn.data(), hn.size(), 16384, 16384);
  double ratio = 0;
  int n = 0;
  for (std::size_t k = 0; k < aw.freqs.size(); ++k) {
    if (aw.freqs[k] < 55 || aw.freqs[k] > 65) continue;
    ratio += an.value[k] / aw.value[k];
    ++n;
    EXPECT_LT(an.value[k] / aw.value[k], 0.2) << aw.freqs[k];
  }
  ratio /= n;
  EXPECT_LT(ratio, 0.1);
  EXPECT_GT(dsp::band_mean(aw, 55, 65) / dsp::band_mean(an, 55, 65), 10);
  // Quiet bands unchanged (the 120/180/300 Hz mains harmonics are outside them).
  EXPECT_NEAR(dsp::band_mean(aw, 80, 110) / dsp::band_mean(an, 80, 110), 1.0, 0.02);
  EXPECT_NEAR(dsp::band_mean(aw, 400, 1000) / dsp::band_mean(an, 400, 1000), 1.0, 0.01);
}

// Bilinear coupling puts sidebands at 60 +- f_line of the coupled ASC channels' lines (CHARD_P has its
// line at 4.0 Hz, DHARD_Y at 3.75 Hz); linear coupling of the witnesses cannot.
TEST(Simulator, BilinearSidebands) {
  auto peak_contrast = [](const std::vector<double>& h, double f) {
    const auto p = dsp::welch_psd(h.data(), h.size(), 16384, 8 * 16384);  // 1/8 Hz bins
    const double at = dsp::band_mean(p, f - 0.07, f + 0.07);
    const double side = 0.5 * (dsp::band_mean(p, f - 0.65, f - 0.35) + dsp::band_mean(p, f + 0.35, f + 0.65));
    return at / side;
  };
  sim::Simulator bil(opts(sim::Coupling::Bilinear)), lin(opts(sim::Coupling::Linear));
  const auto hb = strain_run(bil, kT0, 32);
  const auto hl = strain_run(lin, kT0, 32);
  for (double f : {56.0, 64.0, 56.25, 63.75}) {
    EXPECT_GT(peak_contrast(hb, f), 10) << f;
    EXPECT_LT(peak_contrast(hl, f), 3) << f;
  }
  EXPECT_GT(peak_contrast(hl, 60.0), 100);  // the linear coupling's 60 Hz line
  // The witness itself has the line the sideband comes from.
  std::vector<double> chard;
  for (int k = 0; k < 32; ++k) {
    const auto fr = bil.generate(kT0 + k);
    const auto v = channel(fr.witness, "H1:ASC-CHARD_P_OUT_DQ").data.to_double();
    chard.insert(chard.end(), v.begin(), v.end());
  }
  const auto pc = dsp::welch_psd(chard.data(), chard.size(), 512, 8 * 512);
  EXPECT_GT(dsp::band_mean(pc, 3.93, 4.07) / dsp::band_mean(pc, 4.35, 4.65), 10);
}

// The coupling is the documented formula applied to the witness values written to the frames:
// h_both - h_none = beta M + alpha M sum_i a_i (ASC_i - offset_i). At the witnesses' own sample
// instants the band-limited interpolation returns the written samples (up to the share of their white
// sensor noise above the interpolation pass band), so the formula is checked there, at 256 Hz.
TEST(Simulator, CouplingUsesTheWrittenWitnesses) {
  sim::Simulator with(opts(sim::Coupling::Both)), without(opts(sim::Coupling::None));
  const std::int64_t g = kT0 + 3;
  const auto fw = with.generate(g);
  const auto hn = strain_of(without.generate(g).strain);
  const auto hw = strain_of(fw.strain);
  const auto m = channel(fw.witness, "H1:PEM-CS_MAINSMON_EBAY_1_DQ").data.to_double();
  double err2 = 0, sig2 = 0;
  for (int n = 0; n < 256; ++n) {
    double u = 0;
    for (const auto& a : with.asc_channels()) {
      if (a.coupling == 0) continue;
      const auto x = channel(fw.witness, a.name).data.to_double();
      u += a.coupling * (x[static_cast<std::size_t>(n * a.rate / 256)] - a.offset);
    }
    const double mm = m[static_cast<std::size_t>(4 * n)];
    const double want = sim::model::kBeta * mm + sim::model::kAlpha * mm * u;
    const double got = hw[static_cast<std::size_t>(64 * n)] - hn[static_cast<std::size_t>(64 * n)];
    err2 += (got - want) * (got - want);
    sig2 += want * want;
  }
  EXPECT_LT(std::sqrt(err2 / sig2), 2e-3);
  EXPECT_GT(std::sqrt(sig2 / 256), 1e-21);
}
