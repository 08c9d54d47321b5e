// The do-no-harm gate's parts (docs/quality-gate.md): dsp::BandDft against dsp::welch_psd, the
// quality monitor against an independent scipy implementation (tools/fixtures/quality_monitor_oracle.py),
// the gate's decisions and ramps on signals whose ratios are known exactly (c = a * h has ratio |a|
// in every region), and the input guard's complaints.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/dsp/band_dft.hpp"
#include "core/dsp/welch.hpp"
#include "core/dsp/window.hpp"
#include "core/stream/input_guard.hpp"
#include "core/stream/quality_gate.hpp"
#include "core/stream/quality_monitor.hpp"
#include "scipy_oracle.hpp"

namespace ds = deepclean::stream;
namespace dsp = deepclean::dsp;

namespace {

std::vector<double> white(std::size_t n, unsigned seed, double sigma = 1.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> d(0.0, sigma);
  std::vector<double> x(n);
  for (double& v : x) v = d(rng);
  return x;
}

ds::QualityMonitorConfig small_monitor() {
  ds::QualityMonitorConfig m;
  m.rate = 1024;
  m.bands = {{20, 40}};
  m.guard_hz = 5;
  m.segment_seconds = 0.25;  // 256 samples: 4-Hz bins
  m.window_seconds = 2;
  m.guard_window_seconds = 2;
  return m;
}

}  // namespace

TEST(BandDft, EqualsWelchOfOneSegmentAtItsBins) {
  const std::size_t n = 512;
  const double rate = 2048;
  std::vector<double> x = white(n, 3);
  for (std::size_t i = 0; i < n; ++i) x[i] += 0.3 + 2.0 * std::sin(2 * M_PI * 60.0 * static_cast<double>(i) / rate);
  const std::vector<std::size_t> bins = dsp::BandDft::bins_between(n, rate, 52, 68);
  ASSERT_EQ(bins, (std::vector<std::size_t>{13, 14, 15, 16, 17}));  // 4-Hz bins 52 ... 68 Hz
  dsp::BandDft dft(n, rate, bins);
  std::vector<double> got(bins.size());
  dft.psd(x.data(), got.data());
  const dsp::Spectrum ref = dsp::welch_psd(x.data(), n, rate, n);  // tested against scipy elsewhere
  for (std::size_t b = 0; b < bins.size(); ++b) {
    EXPECT_NEAR(got[b], ref.value[bins[b]], 1e-12 * ref.value[bins[b]]) << bins[b];
  }
}

TEST(QualityMonitor, RegionsAndTheirBins) {
  ds::QualityMonitor m(small_monitor());
  ASSERT_EQ(m.regions().size(), 3u);
  EXPECT_EQ(m.regions()[0].label, "20-40");
  EXPECT_FALSE(m.regions()[0].guard);
  EXPECT_EQ(m.regions()[1].label, "15-20");
  EXPECT_EQ(m.regions()[2].label, "40-45");
  EXPECT_TRUE(m.regions()[1].guard && m.regions()[2].guard);
  EXPECT_EQ(m.segment_length(), 256u);
  EXPECT_EQ(m.guard_segment_length(), 1024u) << "1-s segments for the guard bands";
  // A band narrower than the resolution has no bin: an error naming the region and what to change.
  ds::QualityMonitorConfig narrow = small_monitor();
  narrow.bands = {{21, 23}};
  try {
    ds::QualityMonitor bad(narrow);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("region 21-23 Hz holds no frequency bin of 4 Hz resolution"),
              std::string::npos)
        << e.what();
  }
  narrow.bands = {{20, 510}};
  EXPECT_THROW(ds::QualityMonitor{narrow}, std::invalid_argument);  // guard beyond Nyquist
}

TEST(QualityMonitor, ScaledCopyHasExactlyThatRatioEverywhere) {
  ds::QualityMonitor m(small_monitor());
  const std::vector<double> h = white(3 * 1024, 5);
  std::vector<double> c(h.size()), g(h.size(), 1.0);
  for (std::size_t i = 0; i < h.size(); ++i) c[i] = -0.25 * h[i];
  EXPECT_EQ(m.segments(), 0u);
  m.add(h.data(), c.data(), g.data(), 1000);  // blocks of any length
  m.add(h.data() + 1000, c.data() + 1000, g.data() + 1000, h.size() - 1000);
  // Window 2 s = 16 hops of 128 samples: the segments ending in (1 s, 3 s].
  EXPECT_EQ(m.segments(), 16u);
  for (double r : m.ratios()) EXPECT_NEAR(r, 0.25, 1e-14);
}

TEST(QualityMonitor, TaperedSamplesGiveNoFigureAndNonFiniteDataGivesNaN) {
  ds::QualityMonitor m(small_monitor());
  const std::vector<double> h = white(2048, 6);
  std::vector<double> c = h, g(h.size(), 1.0);
  for (std::size_t i = 0; i < 1024; ++i) g[i] = 0.5;  // the first second in a taper
  m.add(h.data(), c.data(), g.data(), 1024);
  EXPECT_EQ(m.segments(), 0u) << "no segment lies where g == 1";
  for (double r : m.ratios()) EXPECT_TRUE(std::isnan(r));
  m.add(h.data() + 1024, c.data() + 1024, g.data() + 1024, 1024);
  EXPECT_EQ(m.segments(), 7u) << "segments ending at 1.25 ... 2.0 s";
  for (double r : m.ratios()) EXPECT_DOUBLE_EQ(r, 1.0);
  c[1900] = std::nan("");
  m.reset();
  m.add(h.data() + 1024, c.data() + 1024, g.data() + 1024, 1024);
  EXPECT_GT(m.segments(), 0u);
  for (double r : m.ratios()) EXPECT_TRUE(std::isnan(r)) << "a NaN in the cleaned data is never a good figure";
}

TEST(QualityMonitor, AgreesWithScipyOracle) {
  if (!ds::testing::python_with_scipy()) GTEST_SKIP() << "Debian's python3 with scipy is needed for the oracle";
  const ds::QualityMonitorConfig cfg = small_monitor();
  const std::vector<std::size_t> blocks{1024, 1024, 700, 1348, 1024, 1024, 1024, 1024};
  std::size_t total = 0;
  for (std::size_t b : blocks) total += b;
  // Raw: noise + a 30 Hz line; cleaned: the line partly removed, a 17 Hz line added in the guard band
  // from 4 s on, and a taper on part of the third block.
  std::vector<double> h = white(total, 8), c(total), g(total, 1.0);
  for (std::size_t i = 0; i < total; ++i) {
    const double t = static_cast<double>(i) / cfg.rate;
    const double line = 3.0 * std::sin(2 * M_PI * 30.0 * t);
    h[i] += line;
    c[i] = h[i] - 0.9 * line + (t >= 4.0 ? 0.8 * std::sin(2 * M_PI * 17.0 * t) : 0.0);
    if (i >= 2100 && i < 2600) g[i] = 0.7;
  }
  const std::string in = ds::testing::temp_path("qm_in"), out = ds::testing::temp_path("qm_out");
  {
    std::ofstream j(in + ".json");
    j << "{\"rate\": " << cfg.rate << ", \"segment_seconds\": " << cfg.segment_seconds
      << ", \"guard_segment_seconds\": " << cfg.guard_segment_seconds << ", \"guard_window_seconds\": "
      << cfg.guard_window_seconds << ", \"window_seconds\": "
      << cfg.window_seconds << ", \"guard_hz\": " << cfg.guard_hz << ", \"bands\": [[20, 40]], \"blocks\": [";
    for (std::size_t i = 0; i < blocks.size(); ++i) j << (i ? ", " : "") << blocks[i];
    j << "]}";
    std::ofstream b(in + ".bin", std::ios::binary);
    for (const auto* v : {&h, &c, &g}) {
      b.write(reinterpret_cast<const char*>(v->data()), static_cast<std::streamsize>(v->size() * sizeof(double)));
    }
  }
  ASSERT_TRUE(ds::testing::run_oracle("quality_monitor_oracle.py", in, out));
  std::ifstream expect(out);
  ds::QualityMonitor m(cfg);
  std::size_t at = 0;
  for (std::size_t k = 0; k < blocks.size(); ++k) {
    m.add(h.data() + at, c.data() + at, g.data() + at, blocks[k]);
    at += blocks[k];
    std::string line;
    ASSERT_TRUE(std::getline(expect, line));
    std::istringstream row(line);
    const std::vector<double> got = m.ratios();
    for (std::size_t r = 0; r < got.size(); ++r) {
      std::string word;
      row >> word;
      if (word == "nan") {
        EXPECT_TRUE(std::isnan(got[r])) << "block " << k << " region " << r;
      } else {
        EXPECT_NEAR(got[r], std::stod(word), 1e-10 * std::stod(word)) << "block " << k << " region " << r;
      }
    }
  }
  std::remove((in + ".json").c_str());
  std::remove((in + ".bin").c_str());
  std::remove(out.c_str());
}

namespace {

// Drives a monitor and a gate block by block with c = a_k * h (+ extras) for block k.
struct GateRun {
  ds::QualityMonitor monitor;
  ds::QualityGate gate;
  std::vector<double> q_all;
  std::vector<ds::QualityGate::Step> steps;
  explicit GateRun(ds::GateConfig g, ds::QualityMonitorConfig m = small_monitor()) : monitor(m), gate(g, 1024) {}
  void block(const std::vector<double>& h, const std::vector<double>& c, const std::string& input_bad = {}) {
    const std::vector<double> g(h.size(), 1.0);
    monitor.add(h.data(), c.data(), g.data(), h.size());
    std::vector<double> q;
    steps.push_back(gate.step(monitor, input_bad, h.size(), q));
    q_all.insert(q_all.end(), q.begin(), q.end());
  }
};

ds::GateConfig small_gate() {
  ds::GateConfig g;
  g.close_above = 1.0;
  g.open_below = 0.9;
  g.guard_close_above = 1.1;
  g.guard_open_below = 1.05;
  g.min_closed_seconds = 3;
  g.recover_seconds = 2;
  g.ramp_down_seconds = 0.0625;  // 64 samples
  g.ramp_up_seconds = 0.5;       // 512 samples
  return g;
}

}  // namespace

TEST(QualityGate, ClosesAtTheFirstBadBlockAndReopensAfterDwellAndRecovery) {
  GateRun run(small_gate());
  for (unsigned k = 0; k < 14; ++k) {
    const std::vector<double> h = white(1024, 100 + k);
    const double a = k >= 5 && k <= 7 ? 2.0 : 0.1;  // cleaning doubles the band's ASD in blocks 5-7
    std::vector<double> c(h.size());
    for (std::size_t i = 0; i < h.size(); ++i) c[i] = a * h[i];
    run.block(h, c);
  }
  // Block 5: the window (4, 6] s holds 7 segments at ratio 2 and 9 at about 0.1: power ratio ~1.8.
  for (unsigned k = 0; k < 14; ++k) {
    const auto& s = run.steps[k];
    EXPECT_EQ(s.changed, k == 5 || k == 10) << k;
    EXPECT_EQ(s.open, k < 5 || k >= 10) << k;
  }
  EXPECT_EQ(run.steps[5].reason, ds::GateReason::band);
  EXPECT_NE(run.steps[5].detail.find("band 20-40 Hz 1."), std::string::npos) << run.steps[5].detail;
  // Block 10 reopens: the gate has been closed for 3 s (blocks 5-7) from block 8 on, but block 8's
  // onset figure (its first pair of 0.25-s segments starts at 7.75 s) still sees block 7: the band
  // is good in blocks 9 and 10, the 2 s of recover_seconds.
  const std::vector<double> down = dsp::hann_rise(64), up = dsp::hann_rise(512);
  for (std::size_t i = 0; i < run.q_all.size(); ++i) {
    const std::size_t k = i / 1024, j = i % 1024;
    double want = 1.0;
    if (k == 5) want = j < 64 ? 1.0 - down[j] : 0.0;
    if (k > 5 && k < 10) want = 0.0;
    if (k == 10) want = j < 512 ? up[j] : 1.0;
    ASSERT_NEAR(run.q_all[i], want, 1e-15) << "block " << k << " sample " << j;
    if (want == 0.0 || want == 1.0) {
      ASSERT_EQ(run.q_all[i], want) << "exact outside the ramps";
    }
  }
  // Continuous: no step larger than the half-Hann's steepest, pi / (2R).
  double steepest = 0;
  for (std::size_t i = 1; i < run.q_all.size(); ++i) steepest = std::max(steepest, std::abs(run.q_all[i] - run.q_all[i - 1]));
  EXPECT_LE(steepest, M_PI / (2 * 64) + 1e-12);
  EXPECT_GT(steepest, 0.01);
}

TEST(QualityGate, GuardBandHarmNaNAndInputEachCloseItWithTheirReason) {
  for (int which = 0; which < 3; ++which) {
    GateRun run(small_gate());
    for (unsigned k = 0; k < 6; ++k) {
      const std::vector<double> h = white(1024, 200 + k);
      std::vector<double> c(h.size());
      for (std::size_t i = 0; i < h.size(); ++i) {
        c[i] = 0.1 * h[i];
        // which 0: a 44 Hz tone (upper guard band) added by the cleaning from block 3 on.
        if (which == 0 && k >= 3) c[i] += 3.0 * std::sin(2 * M_PI * 44.0 * static_cast<double>(i) / 1024.0);
      }
      if (which == 1 && k == 3) c[500] = std::nan("");
      run.block(h, c, which == 2 && k == 3 ? "X1:PEM-MAINS flat at 0 (all 512 samples)" : "");
    }
    for (unsigned k = 0; k < 6; ++k) EXPECT_EQ(run.steps[k].open, k < 3) << which << " block " << k;
    const ds::GateReason want[] = {ds::GateReason::guard, ds::GateReason::nonfinite, ds::GateReason::input};
    EXPECT_EQ(run.steps[3].reason, want[which]) << which;
    if (which == 2) {
      EXPECT_EQ(run.steps[3].detail, "X1:PEM-MAINS flat at 0 (all 512 samples)");
      // The input is fine again from block 4, and so is the figure, but the dwell holds it closed.
      EXPECT_EQ(run.steps[5].reason, ds::GateReason::input);
    }
  }
}

TEST(QualityGate, NoFigureKeepsTheStateAndCleanDataNeverCloses) {
  GateRun run(small_gate());
  ds::QualityMonitor idle(small_monitor());  // nothing added: no figure
  std::vector<double> q;
  const auto s = run.gate.step(idle, "", 1024, q);
  EXPECT_TRUE(s.open);
  EXPECT_FALSE(s.changed);
  for (double v : q) ASSERT_EQ(v, 1.0);
  for (unsigned k = 0; k < 30; ++k) {
    const std::vector<double> h = white(1024, 300 + k);
    std::vector<double> c(h.size());
    for (std::size_t i = 0; i < h.size(); ++i) c[i] = 0.8 * h[i];  // helps, a little
    run.block(h, c);
    ASSERT_TRUE(run.steps.back().open) << k;
  }
}

// 10-Hz guard bands: a 48-Hz tone (a bin centre of the 0.25-s segments, two bins from the band's
// edge) is seen in the upper guard band and not at all in the band.
ds::QualityMonitorConfig wide_guards() {
  ds::QualityMonitorConfig m = small_monitor();
  m.guard_hz = 10;
  return m;
}

// What a cleaning that helps (c = 0.1 h) but adds a tone of amplitude `amp` at `hz` leaves.
std::vector<double> cleaned_with_tone(const std::vector<double>& h, double amp, double hz) {
  std::vector<double> c(h.size());
  for (std::size_t i = 0; i < h.size(); ++i) c[i] = 0.1 * h[i] + amp * std::sin(2 * M_PI * hz * static_cast<double>(i) / 1024.0);
  return c;
}

// The guard bands' onset figure: the smaller of two consecutive 1-s segments' ratios. With c = a_k h
// in block k every segment's ratio is exactly a_k, so the figure for block k is min(a_{k-1}, a_k).
TEST(QualityMonitor, GuardOnsetFigureIsTheSmallerOfTwoSecondsInARow) {
  ds::QualityMonitor m(small_monitor());
  const double a[] = {0.5, 3.0, 0.5, 3.0, 4.0, 0.2};
  for (unsigned k = 0; k < 6; ++k) {
    const std::vector<double> h = white(1024, 700 + k), g(1024, 1.0);
    std::vector<double> c(h.size());
    for (std::size_t i = 0; i < h.size(); ++i) c[i] = a[k] * h[i];
    m.add(h.data(), c.data(), g.data(), h.size());
    const std::vector<double> onset = m.onset_ratios(1024);
    for (std::size_t r = 1; r < 3; ++r) {  // the two guard regions
      if (k == 0) {
        EXPECT_EQ(onset[r], -1.0) << "no pair yet";
      } else {
        EXPECT_NEAR(onset[r], std::min(a[k - 1], a[k]), 1e-12) << k;
      }
    }
  }
}

// The cleaning band's onset figure with a floor (GateConfig::onset_floor): a pair of quarter-seconds
// is measured against at least `floor` x the raw power of the window's mean pair. Two seconds of
// h = white noise cleaned to c = 0.1 h, then a second whose last half second of raw strain is 1000x
// quieter in amplitude (a lull of the coupled noise) while the residual keeps its level.
// Expected (white noise: every quarter of power P before the lull, 1e-6 P in it; the window holds
// 8 quarters, 2 of them quiet, so its mean pair is 1.5 P): without a floor the quiet pair reads
// sqrt(0.02 P / 2e-6 P) = 100; with the floor 1/16 it reads sqrt(0.02 P / (1.5 P / 16)) = 0.46,
// about a quarter of the 1.25 that closes the gate, while a harm of twice the band's usual
// amplitude in the quiet pair still reads sqrt(8 P / (1.5 P / 16)) = 9.2. Where no pair is quiet the
// floor changes nothing (the same figure, exactly). Tolerances: 12 degrees of freedom per pair.
TEST(QualityMonitor, BandOnsetFigureMeasuresAQuietPairAgainstTheFloor) {
  const auto run = [](double residual_sigma, double floor, std::vector<std::vector<double>>* per_block) {
    ds::QualityMonitor m(small_monitor());
    std::vector<double> last;
    for (unsigned k = 0; k < 3; ++k) {
      std::vector<double> h = white(1024, 900 + k), g(1024, 1.0), c(1024);
      const std::vector<double> r = white(1024, 950 + k, residual_sigma);
      for (std::size_t i = 0; i < h.size(); ++i) {
        if (k == 2 && i >= 512) h[i] *= 1e-3;
        c[i] = k == 2 ? r[i] : 0.1 * h[i];
      }
      m.add(h.data(), c.data(), g.data(), h.size());
      last = m.onset_ratios(1024, floor);
      if (per_block) per_block->push_back(last);
    }
    return last[0];
  };
  std::vector<std::vector<double>> plain, floored;
  EXPECT_GT(run(0.1, 0, &plain), 50.0);
  const double quiet = run(0.1, 1.0 / 16, &floored);
  EXPECT_GT(quiet, 0.46 / 1.6);
  EXPECT_LT(quiet, 0.46 * 1.6);
  EXPECT_GT(run(2.0, 1.0 / 16, nullptr), 9.2 / 1.6) << "a harm in the quiet pair still closes the gate";
  for (unsigned k = 0; k < 2; ++k) {
    EXPECT_EQ(plain[k], floored[k]) << "block " << k << ": no quiet pair";
  }
}

TEST(QualityMonitor, CoversOnlyWhatItMeasuredAndKeepsTheLastSamples) {
  ds::QualityMonitorConfig cfg = small_monitor();
  cfg.history_seconds = 3;
  ds::QualityMonitor m(cfg);
  const auto add = [&](unsigned seed, double taper) {
    const std::vector<double> h = white(1024, seed), g(1024, taper);
    std::vector<double> c(h.size());
    for (std::size_t i = 0; i < h.size(); ++i) c[i] = 0.5 * h[i];
    m.add(h.data(), c.data(), g.data(), h.size());
  };
  add(1, 1.0);
  EXPECT_TRUE(m.covers(1024));
  EXPECT_FALSE(m.covers(2048)) << "only one second since the reset";
  add(2, 0.5);  // a taper: no segment there
  add(3, 1.0);
  add(4, 1.0);
  EXPECT_TRUE(m.covers(2048));
  EXPECT_FALSE(m.covers(3072)) << "the tapered second is in it";
  EXPECT_FALSE(m.covers(4 * 1024)) << "more than history_seconds";
  // 2 s of history kept beyond the 2-s windows: the figure over the last 3 s sums 3 guard segments.
  add(5, 1.0);
  add(6, 1.0);
  EXPECT_TRUE(m.covers(3072));
  EXPECT_EQ(m.counts_over(3072)[1], 3u);
  EXPECT_EQ(m.counts()[1], 2u) << "the window itself is still 2 s";
  m.keep_last(1024);
  EXPECT_EQ(m.counts()[1], 1u);
  EXPECT_FALSE(m.covers(2048));
  EXPECT_NEAR(m.ratios()[1], 0.5, 1e-12);
}

// One second of the network's burst beside the band is let through; two in a row close the gate.
TEST(QualityGate, GuardOnsetClosesOnTwoBadSecondsNotOne) {
  ds::GateConfig gc = small_gate();
  gc.guard_close_above = 20;  // the window figure out of the way
  gc.guard_open_below = 1.05;
  gc.guard_onset_close_above = 2.5;
  GateRun run(gc, wide_guards());
  const double guard_amp[] = {0, 0, 1, 0, 0, 1, 1, 0};  // a 48-Hz tone the cleaning adds (upper guard)
  for (unsigned k = 0; k < 8; ++k) {
    const std::vector<double> h = white(1024, 900 + k);
    run.block(h, cleaned_with_tone(h, guard_amp[k], 48.0));
  }
  for (unsigned k = 0; k < 8; ++k) EXPECT_EQ(run.steps[k].open, k < 6) << k << " " << run.steps[k].figures;
  EXPECT_EQ(run.steps[6].reason, ds::GateReason::guard);
  EXPECT_NE(run.steps[6].detail.find("guard 40-50 Hz"), std::string::npos) << run.steps[6].detail;
}

// Reopening judges the last recover_seconds, and the windows then forget the harm: a guard window
// longer than the recovery would otherwise close the gate again at once.
TEST(QualityGate, ReopensOnTheRecoveryPeriodAndForgetsTheHarm) {
  ds::QualityMonitorConfig mc = wide_guards();
  mc.guard_window_seconds = 8;
  mc.history_seconds = 2;
  ds::GateConfig gc = small_gate();  // min_closed 3 s, recover 2 s
  GateRun run(gc, mc);
  for (unsigned k = 0; k < 16; ++k) {
    const std::vector<double> h = white(1024, 1100 + k);
    const double tone = k == 4 || k == 5 ? 1.0 : 0.0;  // the cleaning adds a 48-Hz tone in blocks 4-5
    run.block(h, cleaned_with_tone(h, tone, 48.0));
  }
  // Closed at block 4 (the 8-s window figure); closed 3 s by block 7; the last 2 s good from block 7
  // (blocks 6-7): reopened at 7 and open to the end although the 8-s window would still hold 4-5.
  for (unsigned k = 0; k < 16; ++k) EXPECT_EQ(run.steps[k].open, k < 4 || k >= 7) << k << " " << run.steps[k].figures;
  EXPECT_EQ(run.steps[4].reason, ds::GateReason::guard);
  EXPECT_NE(run.steps[7].detail.find("over the last 2 s: band 20-40 Hz 0.1"), std::string::npos) << run.steps[7].detail;
}

// A NaN closes the gate; once the data are finite again it reopens on the recovery rules, not when a
// long window has let go of the NaN segment (here 8 s).
TEST(QualityGate, ReopensAfterANaNWithoutWaitingForTheWindow) {
  ds::QualityMonitorConfig mc = small_monitor();
  mc.guard_window_seconds = 8;
  mc.history_seconds = 2;
  GateRun run(small_gate(), mc);  // min_closed 3 s, recover 2 s
  for (unsigned k = 0; k < 12; ++k) {
    const std::vector<double> h = white(1024, 1300 + k);
    std::vector<double> c = cleaned_with_tone(h, 0.0, 48.0);
    if (k == 3) c[500] = std::nan("");
    run.block(h, c);
  }
  // Closed at 3 (nonfinite). Block 4's guard onset pair still holds second 3; blocks 5 and 6 are
  // good, and by 6 the gate has been closed 3 s: reopened at 6 (the 8-s guard window would hold
  // the NaN until block 11).
  for (unsigned k = 0; k < 12; ++k) EXPECT_EQ(run.steps[k].open, k < 3 || k >= 6) << k << " " << run.steps[k].figures;
  EXPECT_EQ(run.steps[3].reason, ds::GateReason::nonfinite);
}

TEST(QualityGate, InconsistentSettingsAreRejected) {
  ds::GateConfig g = small_gate();
  g.open_below = 1.2;
  EXPECT_THROW(ds::validate(g), std::invalid_argument);
  g = small_gate();
  g.close_above = 0;
  EXPECT_THROW(ds::validate(g), std::invalid_argument);
  g = small_gate();
  g.guard_open_below = 1.1;
  EXPECT_THROW(ds::validate(g), std::invalid_argument);
  g = small_gate();
  g.ramp_up_seconds = 0;
  EXPECT_THROW(ds::validate(g), std::invalid_argument);
  EXPECT_NO_THROW(ds::validate(small_gate()));
}

TEST(InputGuard, FlatZerosSaturatedAndOutOfRangeWitnesses) {
  ds::InputGuardConfig cfg;
  const std::vector<double> ok = white(2048, 9, 2.0);
  EXPECT_EQ(ds::witness_complaint(ok.data(), ok.size(), 0.0, 2.0, cfg), "");
  const std::vector<double> zeros(2048, 0.0);
  EXPECT_EQ(ds::witness_complaint(zeros.data(), zeros.size(), 0.0, 2.0, cfg), "flat at 0 (all 2048 samples)");
  const std::vector<double> stuck(512, 3.5);
  EXPECT_EQ(ds::witness_complaint(stuck.data(), stuck.size(), 0.0, 2.0, cfg), "flat at 3.5 (all 512 samples)");
  // 24 sigma away from the training mean: RMS z-score about sqrt(24^2 + 1), summed here by brute force.
  std::vector<double> moved = ok;
  double sum = 0;
  for (double& v : moved) {
    v += 48.0;
    sum += (v / 2.0) * (v / 2.0);
  }
  std::ostringstream rms;
  rms << std::sqrt(sum / static_cast<double>(moved.size()));
  EXPECT_NEAR(std::sqrt(sum / static_cast<double>(moved.size())), 24.0, 0.1);
  EXPECT_EQ(ds::witness_complaint(moved.data(), moved.size(), 0.0, 2.0, cfg),
            "RMS z-score " + rms.str() + " > 10 (the bundle's mean 0, std 2)");
  // A sine of amplitude 10 clipped at 4: about 74 % of its samples sit at +-4.
  std::vector<double> clipped(2048);
  for (std::size_t i = 0; i < clipped.size(); ++i) {
    clipped[i] = std::clamp(10.0 * std::sin(2 * M_PI * 7.3 * static_cast<double>(i) / 2048.0), -4.0, 4.0);
  }
  const std::string sat = ds::witness_complaint(clipped.data(), clipped.size(), 0.0, 5.0, cfg);
  EXPECT_EQ(sat.rfind("saturated: ", 0), 0u) << sat;
  EXPECT_NE(sat.find(" of 2048 samples at |x| = 4"), std::string::npos) << sat;
  // Every check can be turned off.
  cfg.flatline = false;
  cfg.max_zscore = 0;
  cfg.saturation_fraction = 0;
  EXPECT_EQ(ds::witness_complaint(zeros.data(), zeros.size(), 0.0, 2.0, cfg), "");
  EXPECT_EQ(ds::witness_complaint(clipped.data(), clipped.size(), 0.0, 5.0, cfg), "");
}
