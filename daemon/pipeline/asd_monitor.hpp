// Band ASD ratio cleaned/raw (Welch), the figure of merit operators and the demo watch: below 1 the
// subtraction removes noise; DeepClean's own monitors use the same ratio of ASDs averaged over a band.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "core/dsp/band_dft.hpp"

namespace deepclean::daemon {

class BandAsdMonitor {
 public:
  // `window_seconds` 0: average over everything added (offline summary); otherwise a rolling window
  // of that many seconds (live metric).
  BandAsdMonitor(std::vector<std::pair<double, double>> bands, std::size_t window_seconds = 0);

  // One fully cleaned second: raw and cleaned strain at `rate` Hz (1 s of samples each).
  void add(const std::vector<double>& raw, const std::vector<double>& cleaned, double rate);

  std::size_t seconds() const { return count_; }
  // Mean over the band's frequency bins of ASD_cleaned / ASD_raw (Welch PSDs with 1-s Hann segments,
  // averaged over the seconds added); NaN before any second was added.
  double ratio(std::size_t band) const;
  const std::vector<std::pair<double, double>>& bands() const { return bands_; }
  static std::string label(const std::pair<double, double>& band);  // "55-65"

 private:
  std::vector<std::pair<double, double>> bands_;
  // The PSD at just the band bins (dsp::BandDft), not two full FFTs (docs/benchmarks.md, "After the
  // band ASD monitor computes only its band bins"). Rebuilt when the length or rate of a second changes.
  void plan(std::size_t n, double rate);

  std::size_t window_;
  std::size_t count_ = 0;
  dsp::BandDft dft_;
  std::vector<double> freqs_;            // frequencies of dft_.bins()
  std::vector<double> sum_raw_, sum_clean_;  // PSD sums over the seconds in the window
  std::deque<std::pair<std::vector<double>, std::vector<double>>> history_;  // rolling window
};

}  // namespace deepclean::daemon
