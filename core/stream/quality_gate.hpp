// The do-no-harm gate (docs/quality-gate.md): the weight q in [0, 1] that the contract's step 9
// multiplies the subtraction weight by (../shared/docs/streaming-spec.md). The gate is open (q = 1)
// while cleaning helps; it closes when the quality monitor says cleaning makes a band or a guard band
// worse (over its trailing window, or over the block being decided: the onset figures), when a
// figure is not finite, or when the input guard reports a bad witness; it reopens once the would-be
// cleaned output (still computed while closed) of the last `recover_seconds` is good (the cleaning
// bands in each of its seconds, the guard bands over all of it), and not before `min_closed_seconds`. q moves only along the contract's half-Hann shape,
// w[i] = sin^2(pi (i + 0.5) / (2R)), over `ramp_down_seconds` when closing and `ramp_up_seconds` when
// opening, starting at the first sample of the block the decision is made for: the decision for a
// block uses only that block and earlier data, so the gate adds no latency. While closed q = 0
// exactly, so the output is the raw strain bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/stream/quality_monitor.hpp"

namespace deepclean::stream {

struct GateConfig {
  double close_above = 1.0;        // a cleaning band's window figure above this closes the gate
  double onset_close_above = 1.25;  // ... its onset figure (two 0.25-s segments) above this
  double onset_floor = 0.0625;     // ... whose raw power counts as at least this share of the window's
                                   // mean pair (0: as measured; docs/quality-gate.md)
  double open_below = 0.9;         // ... below this (all bands) counts towards reopening
  double guard_close_above = 1.1;  // the same for the guard bands
  double guard_onset_close_above = 2.5;  // ... their onset figure (the smaller of two 1-s segments)
  double guard_open_below = 1.05;
  double min_closed_seconds = 8;   // dwell: closed at least this long
  double recover_seconds = 8;      // the would-be output of this many seconds must be good to reopen
                                   // (the monitor keeps its segments: QualityMonitorConfig::history_seconds)
  double ramp_down_seconds = 0.25;
  double ramp_up_seconds = 1.0;
};

// Throws std::invalid_argument naming the setting (thresholds <= 0, inverted hysteresis, ...).
void validate(const GateConfig& config);

enum class GateReason { none, band, guard, nonfinite, input };
const char* to_string(GateReason r);  // "band", "guard", "nonfinite", "input"

class QualityGate {
 public:
  QualityGate(GateConfig config, double rate);

  struct Step {
    bool changed = false;            // the gate opened or closed at this block
    bool open = true;                // its state after the block's decision
    GateReason reason = GateReason::none;  // why it is closed (none while open)
    std::string detail;              // the figures behind a change, for the log
    std::string figures;             // this block's figures, whether or not anything changed
    std::vector<double> window;      // the monitor's window figures (regions() order); empty: no figure
  };
  // Decides for the next block of `n` samples, given the monitor (its figures after the block was
  // added) and, when non-empty, the input guard's complaint; writes q for the block to `q`. On
  // reopening it trims the monitor's windows to the recovery period (QualityMonitor::keep_last).
  Step step(QualityMonitor& monitor, const std::string& input_bad, std::size_t n, std::vector<double>& q);

  bool open() const { return open_; }
  GateReason reason() const { return reason_; }
  const GateConfig& config() const { return config_; }

 private:
  void fill(std::size_t n, std::vector<double>& q);

  GateConfig config_;
  double rate_;
  std::vector<double> down_, up_;  // half-Hann rises of the two ramp lengths
  bool open_ = true;
  GateReason reason_ = GateReason::none;
  std::size_t recover_samples_ = 0;
  double closed_for_ = 0, good_for_ = 0;  // seconds (good_for_: the bands good in every block)
  // The ramp in progress: q = from + (to - from) * rise[pos] for pos < rise.size(), then q = to.
  double from_ = 1, to_ = 1;
  const std::vector<double>* ramp_ = nullptr;
  std::size_t pos_ = 0;
};

}  // namespace deepclean::stream
