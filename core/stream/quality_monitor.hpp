// The online quality monitor of the do-no-harm gate (docs/quality-gate.md): band power of the raw
// strain h and of the would-be cleaned strain c = h - g*v_up, in every cleaning band and in a guard
// band on each side of it, over a trailing window. The gate (quality_gate.hpp) decides on its figures;
// they are also the `deepclean_gate_ratio` metrics.
//
// Estimator. Consecutive samples are cut into Hann segments on a grid that starts at the last reset (a
// segment boundary of the stream): `segment_seconds` (0.25 s) hopped by half a segment for the
// cleaning bands, for time resolution, and `guard_segment_seconds` (1 s), not overlapping, for the
// guard bands, whose 1-Hz bins keep the strong lines inside the band from leaking into them. A segment is used only when
// the taper weight g is 1 on all of its samples. For each segment and region the PSD of h and of c is
// summed over the region's DFT bins. A region's ratio is
//     sqrt( sum over segments in the window of P_c  /  sum of P_h ),
// the segments in the window being those that end within the last `window_seconds` (the bands) or
// `guard_window_seconds` (the guard bands) of the samples
// added (and, for the second being written, over the segments that end inside it). Power is averaged before the ratio is taken (unlike the band ASD ratio metric, a mean of
// per-bin ASD ratios), so one loud segment counts with its power: what harm is.
//
// Statistical noise: for Gaussian noise each bin of a Hann segment has 2 degrees of freedom, and half-
// overlapping Hann segments are about 95 % independent, so a region with B bins and M segments sums
// ~2 * 0.95 * B * M degrees of freedom. Where c and h are independent (a band where cleaning removes
// most of the noise) the ratio's relative standard deviation is about 1 / sqrt(2 * 0.95 * B * M);
// where c is nearly h (a guard band) their fluctuations cancel and it is far smaller.
// docs/quality-gate.md tabulates it for the defaults.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <vector>

#include "core/dsp/band_dft.hpp"
#include "core/stream/bandpass.hpp"

namespace deepclean::stream {

struct QualityMonitorConfig {
  double rate = 0;                // strain samples per second
  std::vector<Band> bands;        // cleaning bands
  double guard_hz = 10;           // guard band width on each side of each band; 0: none
  double segment_seconds = 0.25;  // Hann segment length for the bands (hop: half of it)
  double guard_segment_seconds = 1;  // ... for the guard bands
  double window_seconds = 4;      // trailing window of the bands
  double guard_window_seconds = 32;  // ... of the guard bands: a network's prediction beside its band
                                     // comes in bursts (docs/quality-gate.md)
  double history_seconds = 0;     // segments kept for ratios_over() beyond the windows (the gate's
                                  // recovery period)
};

struct QualityRegion {
  std::string label;   // "55-65" for a band, "45-55" / "65-75" for its guards
  double low = 0, high = 0;
  bool guard = false;
  std::size_t band = 0;  // index of the cleaning band it belongs to
};

// Throws std::invalid_argument naming the setting.
void validate(const QualityMonitorConfig& config);

// Whether frequency f (Hz) is one of region q's: a band owns [lo, hi]; a guard band owns its side
// without the band's edge, [lo - G, lo) or (hi, hi + G]. `band` is the cleaning band q belongs to.
bool in_region(const QualityRegion& q, const Band& band, double f);

class QualityMonitor {
 public:
  explicit QualityMonitor(QualityMonitorConfig config);

  const QualityMonitorConfig& config() const { return config_; }
  const std::vector<QualityRegion>& regions() const { return regions_; }
  std::size_t segment_length() const { return bands_.seg; }
  std::size_t guard_segment_length() const { return guards_.seg; }

  // Consecutive samples: raw h, would-be cleaned c and the taper weight g (same length n), continuing
  // what was added since the last reset.
  void add(const double* h, const double* c, const double* g, std::size_t n);
  // A gap in the stream: forget the partial segment and the window.
  void reset();

  // Band segments in the window now; 0 means no figure (after a reset, or while g < 1).
  std::size_t segments() const { return bands_.window.size(); }
  std::size_t samples_added() const { return base_ + h_.size(); }
  // Ratio per region over the window (regions() order): NaN when there is no segment, or when a
  // segment had a non-finite sample or no raw power in the region.
  std::vector<double> ratios() const { return ratios_over(0); }
  // The same over the segments lying wholly within the last `samples` samples added (0: each
  // region's own window, the segments that end within it).
  std::vector<double> ratios_over(std::size_t samples) const;
  // The onset figure of each region for the second being written, over pairs of consecutive segments
  // the later of which ends within the last `samples` samples; the largest over those pairs.
  // A cleaning band: the ratio over the pair of 0.25-s segments. The band's raw power swings by 10x
  // between quarter-seconds (the mains line beats with its sidebands), so a power average over the
  // second lets one loud quarter hide a harm that starts in a quiet one; a pair (~12 degrees of
  // freedom) reacts within 0.25 s and stays far below 1 while cleaning works.
  // A guard band: the smaller of the two 1-s segments' ratios. The network's prediction beside its
  // band comes in bursts of a second or two that a power sum would follow; a harm that stays (a
  // mains line that moved) shows in two seconds in a row.
  // `floor` > 0: a cleaning band's pair is compared with at least `floor` times the raw power of the
  // window's mean pair (a quiet moment of the raw band is not where a harm shows; GateConfig::onset_floor).
  // -1 where there is no figure (no pair yet); NaN for a non-finite one.
  std::vector<double> onset_ratios(std::size_t samples, double floor = 0) const;
  // Forgets the segments that end before the last `samples` samples (the gate, reopening after a
  // harm, keeps only the recovery period that proved good).
  void keep_last(std::size_t samples);
  // Segments behind each region's figure over the last `samples` (as ratios_over); 0: no figure.
  std::vector<std::size_t> counts_over(std::size_t samples) const;
  std::vector<std::size_t> counts() const { return counts_over(0); }
  // Whether every segment the grid places in the last `samples` samples was measured: no reset, gap
  // or taper there (a figure over them is a figure of all of it).
  bool covers(std::size_t samples) const;

 private:
  struct Segment {
    std::size_t end = 0;         // samples since the last reset
    std::vector<double> ph, pc;  // power per region of the plan
  };
  // One segment length: its DFT, the regions it measures, its segments in the window.
  struct Plan {
    std::size_t seg = 0, hop = 0, next_end = 0, window_samples = 0, keep_samples = 0;
    dsp::BandDft dft;
    std::vector<std::size_t> regions;        // indices into regions_
    std::vector<std::size_t> slot_of_bin;    // dft.bins()[i] adds to regions[slot_of_bin[i]]
    std::deque<Segment> window;
    std::vector<double> psd_h, psd_c;
  };
  void plan(Plan& p, double seconds, double window_seconds, bool guard);
  void segment_at(Plan& p, std::size_t offset);
  static bool in_span(const Plan& p, const Segment& s, std::size_t samples, std::size_t end);  // buf_[offset .. offset + p.seg)

  QualityMonitorConfig config_;
  std::vector<QualityRegion> regions_;
  Plan bands_, guards_;
  std::vector<double> h_, c_, g_;  // samples not yet behind every segment, from base_
  std::size_t base_ = 0;           // samples since the last reset before h_[0]
};

}  // namespace deepclean::stream
