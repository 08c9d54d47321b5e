// Butterworth design, SosFilter, sosfilt_zi and sosfiltfilt against scipy 1.10.1 (fixtures written by
// tools/fixtures/dsp_fixtures.py) and against their own invariances.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/dsp/iir.hpp"
#include "fixtures.hpp"

namespace dsp = deepclean::dsp;
using dsptest::noise;
using dsptest::rel_max;
using dsptest::rel_rms;
using dsptest::split;

namespace {

// Filter named like the fixtures: kind:order:f[:f2]:fs.
dsp::Sos design(const std::vector<std::string>& p, std::size_t first = 0) {
  const std::string& kind = p[first];
  const int order = std::stoi(p[first + 1]);
  if (kind == "bp") return dsp::butter_bandpass(order, std::stod(p[first + 2]), std::stod(p[first + 3]), std::stod(p[first + 4]));
  if (kind == "lp") return dsp::butter_lowpass(order, std::stod(p[first + 2]), std::stod(p[first + 3]));
  if (kind == "hp") return dsp::butter_highpass(order, std::stod(p[first + 2]), std::stod(p[first + 3]));
  throw std::runtime_error("unknown filter kind " + kind);
}

std::size_t params_len(const std::string& kind) { return kind == "bp" ? 5 : 4; }

// |H(e^{iw})| of a cascade, evaluated directly from the coefficients.
double gain(const dsp::Sos& sos, double f, double fs) {
  const std::complex<double> z1 = std::polar(1.0, -2.0 * M_PI * f / fs);
  std::complex<double> h = 1.0;
  for (const auto& s : sos) h *= (s[0] + s[1] * z1 + s[2] * z1 * z1) / (s[3] + s[4] * z1 + s[5] * z1 * z1);
  return std::abs(h);
}

}  // namespace

// Row-relative error of section `s` of `sos` against row `r` of the scipy rows `ref`: numerator and
// denominator separately (the overall gain sits in row 0's numerator).
double row_error(const dsp::Sos& sos, std::size_t s, const std::vector<double>& ref, std::size_t r) {
  double worst = 0;
  for (std::size_t half = 0; half < 2; ++half) {
    double scale = 0, err = 0;
    for (std::size_t j = 0; j < 3; ++j) scale = std::max(scale, std::abs(ref[6 * r + 3 * half + j]));
    for (std::size_t j = 0; j < 3; ++j) err = std::max(err, std::abs(sos[s][3 * half + j] - ref[6 * r + 3 * half + j]));
    worst = std::max(worst, err / scale);
  }
  return worst;
}

TEST(Butter, CoefficientsEqualScipyRowByRow) {
  const auto cases = dsptest::load("butter.txt");
  ASSERT_GT(cases.size(), 300U);
  double worst = 0;
  std::string worst_name;
  int tie_swaps = 0;
  for (const auto& [name, ref] : cases) {
    const auto p = split(name);
    const dsp::Sos sos = design(p);
    ASSERT_EQ(sos.size() * 6, ref.size()) << name;
    for (std::size_t s = 0; s < sos.size(); ++s) {
      double e = row_error(sos, s, ref, s);
      if (e > 1e-10) {
        // The only allowed difference: a band symmetric about fs/4 has mirror-image poles p and -conj(p),
        // exactly equally close to the unit circle, and then scipy's order of those two rows is decided by
        // rounding (|1 - |p|| differ by ~1e-12 there). Accept the neighbour row when scipy's two rows
        // have the same pole radius (a2 = |p|^2) to 1e-10 -- nothing else may be permuted.
        for (std::size_t r : {s - 1, s + 1}) {
          if (s == 0 || r >= sos.size()) continue;
          if (std::abs(ref[6 * r + 5] - ref[6 * s + 5]) <= 1e-10 && row_error(sos, s, ref, r) <= 1e-10) {
            e = row_error(sos, s, ref, r);
            ++tie_swaps;
            break;
          }
        }
      }
      if (e > worst) {
        worst = e;
        worst_name = name;
      }
      EXPECT_LE(e, 1e-10) << name << " section " << s;
    }
  }
  // Only the symmetric bands [0.01, 2047.99] at 4096 Hz and [0.001, 0.499] at 1 Hz may tie.
  EXPECT_LE(tie_swaps, 40);
  std::printf("[ info ] butter: %zu designs, worst row-relative coefficient error %.3g (%s), %d rows matched "
              "their mirror-pole neighbour\n", cases.size(), worst, worst_name.c_str(), tie_swaps);
}

TEST(Butter, SectionCountsAndShape) {
  for (int order = 1; order <= 16; ++order) {
    EXPECT_EQ(dsp::butter_bandpass(order, 55, 65, 4096).size(), static_cast<std::size_t>(order));
    EXPECT_EQ(dsp::butter_lowpass(order, 100, 4096).size(), static_cast<std::size_t>((order + 1) / 2));
    EXPECT_EQ(dsp::butter_highpass(order, 100, 4096).size(), static_cast<std::size_t>((order + 1) / 2));
  }
  // Butterworth magnitude at the band edges is 1/sqrt(2) (-3 dB) and 1 at the (warped) centre.
  const auto sos = dsp::butter_bandpass(8, 55, 65, 4096);
  EXPECT_NEAR(gain(sos, 55, 4096), M_SQRT1_2, 1e-9);
  EXPECT_NEAR(gain(sos, 65, 4096), M_SQRT1_2, 1e-9);
  const auto lp = dsp::butter_lowpass(7, 300, 4096);
  EXPECT_NEAR(gain(lp, 300, 4096), M_SQRT1_2, 1e-9);
  EXPECT_NEAR(gain(lp, 0, 4096), 1.0, 1e-12);
  const auto hp = dsp::butter_highpass(6, 300, 4096);
  EXPECT_NEAR(gain(hp, 300, 4096), M_SQRT1_2, 1e-9);
  EXPECT_NEAR(gain(hp, 2048, 4096), 1.0, 1e-12);
}

TEST(Butter, BadParametersThrowClearly) {
  auto msg = [](auto fn) {
    try {
      fn();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  EXPECT_NE(msg([] { dsp::butter_bandpass(8, 55, 2100, 4096); }).find("fs/2 = 2048"), std::string::npos);
  EXPECT_NE(msg([] { dsp::butter_bandpass(8, 55, 2048, 4096); }).find("high edge"), std::string::npos);
  EXPECT_NE(msg([] { dsp::butter_bandpass(8, 65, 55, 4096); }).find("must be below"), std::string::npos);
  EXPECT_NE(msg([] { dsp::butter_bandpass(8, 60, 60, 4096); }).find("must be below"), std::string::npos);
  EXPECT_NE(msg([] { dsp::butter_bandpass(8, 0, 60, 4096); }).find("low edge"), std::string::npos);
  EXPECT_NE(msg([] { dsp::butter_bandpass(8, 55, 65, 0); }).find("sample rate"), std::string::npos);
  EXPECT_NE(msg([] { dsp::butter_bandpass(8, 55, 65, -4096); }).find("sample rate"), std::string::npos);
  EXPECT_NE(msg([] { dsp::butter_bandpass(0, 55, 65, 4096); }).find("order must be in 1..16"), std::string::npos);
  EXPECT_NE(msg([] { dsp::butter_bandpass(17, 55, 65, 4096); }).find("order must be in 1..16"), std::string::npos);
  EXPECT_NE(msg([] { dsp::butter_lowpass(4, 3000, 4096); }).find("cutoff"), std::string::npos);
  EXPECT_NE(msg([] { dsp::butter_highpass(4, -1, 4096); }).find("cutoff"), std::string::npos);
  EXPECT_NE(msg([] { dsp::butter_lowpass(4, std::nan(""), 4096); }).find("cutoff"), std::string::npos);
}

TEST(SosFilter, EqualsScipySosfiltWithZi) {
  const auto m = dsptest::load_map("sosfilt.txt");
  int checked = 0;
  for (const auto& [name, ref] : m) {
    if (name.rfind("y:", 0) != 0) continue;
    const auto p = split(name.substr(2));
    const std::size_t k = params_len(p[0]);
    const std::size_t n = std::stoul(p[k]);
    const auto x = noise(std::stoull(p[k + 1]), n);
    const dsp::Sos sos = design(p);
    const auto zi = noise(std::stoull(p[k + 2]), 2 * sos.size());
    dsp::SosFilter f(sos);
    f.set_state(zi);
    std::vector<double> y(n);
    f.process(x.data(), y.data(), n);
    const double e = rel_rms(y, ref);
    EXPECT_LE(e, 1e-10) << name;
    EXPECT_LE(rel_max(f.state(), m.at("zf:" + name.substr(2))), 1e-10) << name;
    EXPECT_LE(rel_max(dsp::sosfilt_zi(sos), m.at("zi_steady:" + name.substr(2))), 1e-10) << name;
    std::printf("[ info ] sosfilt %s: rel RMS %.3g, zf rel max %.3g, sosfilt_zi rel max %.3g\n", name.c_str(), e,
                rel_max(f.state(), m.at("zf:" + name.substr(2))), rel_max(dsp::sosfilt_zi(sos), m.at("zi_steady:" + name.substr(2))));
    ++checked;
  }
  EXPECT_EQ(checked, 5);
}

TEST(SosFilter, ChunkedEqualsWholeExactly) {
  const double fs = 4096;
  const auto sos = dsp::butter_bandpass(8, 15, 500, fs);
  const auto x = noise(77, static_cast<std::size_t>(6 * fs));
  dsp::SosFilter whole(sos);
  std::vector<double> ref(x.size());
  whole.process(x.data(), ref.data(), x.size());
  for (std::size_t chunk : {std::size_t{1}, std::size_t{4096}, std::size_t{6963}, std::size_t{1000}}) {
    dsp::SosFilter f(sos);
    std::vector<double> y(x.size());
    for (std::size_t i = 0; i < x.size(); i += chunk) {
      const std::size_t n = std::min(chunk, x.size() - i);
      f.process(x.data() + i, y.data() + i, n);
    }
    EXPECT_EQ(y, ref) << "chunk " << chunk;  // bit-identical, not just close
    EXPECT_EQ(f.state(), whole.state());
  }
  // In place (out aliases in) gives the same numbers.
  dsp::SosFilter g(sos);
  std::vector<double> inplace = x;
  g.process(inplace.data(), inplace.data(), inplace.size());
  EXPECT_EQ(inplace, ref);
  // reset() returns to the zero state.
  g.reset();
  std::vector<double> again(x.size());
  g.process(x.data(), again.data(), x.size());
  EXPECT_EQ(again, ref);
}

TEST(SosFilter, SteadyStateZiGivesConstantOutputForStep) {
  // sosfilt_zi is the state after an infinitely long unit step: filtering ones from it keeps every
  // section's state fixed, so the output is H(1) = the DC gain from the first sample on.
  const auto sos = dsp::butter_lowpass(7, 200, 4096);
  dsp::SosFilter f(sos);
  f.set_state(dsp::sosfilt_zi(sos));
  const std::vector<double> ones(100, 1.0);
  std::vector<double> y(100);
  f.process(ones.data(), y.data(), y.size());
  for (double v : y) EXPECT_NEAR(v, 1.0, 1e-12);
  EXPECT_THROW(f.set_state(std::vector<double>(3)), std::invalid_argument);
}

TEST(Sosfiltfilt, EqualsScipy) {
  const auto cases = dsptest::load("sosfiltfilt.txt");
  ASSERT_EQ(cases.size(), 7U);
  for (const auto& [name, ref] : cases) {
    const auto p = split(name);
    const std::size_t k = params_len(p[0]);
    const std::size_t n = std::stoul(p[k]);
    const auto x = noise(std::stoull(p[k + 1]), n);
    const dsp::Sos sos = design(p);
    const auto y = dsp::sosfiltfilt(sos, x.data(), n);
    ASSERT_EQ(y.size(), ref.size());
    const double e = rel_rms(y, ref);
    EXPECT_LE(e, 1e-10) << name;
    std::printf("[ info ] sosfiltfilt %s (padlen %zu): rel RMS %.3g, rel max %.3g\n", name.c_str(),
                dsp::sosfiltfilt_padlen(sos), e, rel_max(y, ref));
  }
}

TEST(Sosfiltfilt, PadlenRuleAndShortInput) {
  // 3 * (2 * sections + 1 - min(#b2 == 0, #a2 == 0)): odd low-pass orders have one first-order section.
  EXPECT_EQ(dsp::sosfiltfilt_padlen(dsp::butter_bandpass(8, 55, 65, 4096)), 51U);
  EXPECT_EQ(dsp::sosfiltfilt_padlen(dsp::butter_lowpass(5, 100, 1024)), 3U * (2 * 3 + 1 - 1));
  EXPECT_EQ(dsp::sosfiltfilt_padlen(dsp::butter_lowpass(4, 100, 1024)), 15U);
  const auto sos = dsp::butter_bandpass(8, 55, 65, 4096);
  const auto x = noise(5, 52);
  EXPECT_THROW(dsp::sosfiltfilt(sos, x.data(), 51), std::invalid_argument);
  EXPECT_EQ(dsp::sosfiltfilt(sos, x.data(), 52).size(), 52U);
}

TEST(Sosfiltfilt, WorkspaceVariantIsIdenticalAndMayAlias) {
  const auto sos = dsp::butter_bandpass(8, 55, 65, 4096);
  std::vector<double> work;
  for (std::size_t n : {std::size_t{52}, std::size_t{5000}, std::size_t{300}}) {  // work grows, then is reused
    const auto x = noise(n, n);
    const auto ref = dsp::sosfiltfilt(sos, x.data(), n);
    std::vector<double> y(n);
    dsp::sosfiltfilt(sos, x.data(), n, y.data(), work);
    EXPECT_EQ(y, ref);
    std::vector<double> inplace = x;
    dsp::sosfiltfilt(sos, inplace.data(), n, inplace.data(), work);
    EXPECT_EQ(inplace, ref);
  }
}

TEST(SosFilter, EqualsPlainSampleBySampleLoopForAnySectionCountAndLength) {
  // Brute-force reference: scipy's sample-major DF-II-T loop, written out. The pipelined cascade must
  // give bit-identical samples and final state for 1..16 sections and block lengths around the
  // pipeline depth.
  for (int order = 1; order <= 16; ++order) {
    const auto sos = dsp::butter_bandpass(order, 20, 300, 2048);
    const auto zi0 = noise(static_cast<std::uint64_t>(order), 2 * sos.size());
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{8},
                          std::size_t{9}, std::size_t{15}, std::size_t{200}}) {
      const auto x = noise(100 + n, n);
      std::vector<double> zi = zi0, ref = x;
      for (std::size_t i = 0; i < n; ++i) {
        double v = ref[i];
        for (std::size_t s = 0; s < sos.size(); ++s) {
          const auto& c = sos[s];
          const double y = c[0] * v + zi[2 * s];
          zi[2 * s] = c[1] * v - c[4] * y + zi[2 * s + 1];
          zi[2 * s + 1] = c[2] * v - c[5] * y;
          v = y;
        }
        ref[i] = v;
      }
      dsp::SosFilter f(sos);
      f.set_state(zi0);
      std::vector<double> y(n);
      f.process(x.data(), y.data(), n);
      EXPECT_EQ(y, ref) << "order " << order << " n " << n;
      EXPECT_EQ(f.state(), zi) << "order " << order << " n " << n;
    }
  }
}
