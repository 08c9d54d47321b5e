// Two models' cleaned strain compared over the same seconds, for validating a canary against the
// production model (issue 15; docs/model-lifecycle.md). For each region of the quality monitor (each
// cleaning band and a guard band on each side, quality_monitor.hpp), the band power of the raw strain h
// and of each model's cleaned strain is summed over every second added, and a model's ratio is
//     r = sqrt( sum of P_cleaned / sum of P_h ),
// the monitor's figure over a whole validation window instead of its trailing seconds. Each second is
// one Hann segment of the second's samples (1-Hz bins, the monitor's guard-band estimator), so seconds
// need not be consecutive: a caller adds only the seconds both models cleaned fully.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/dsp/band_dft.hpp"
#include "core/stream/quality_monitor.hpp"

namespace deepclean::stream {

struct RegionComparison {
  QualityRegion region;
  double a = 0, b = 0;  // the ratio of model a and of model b (NaN without a second)
};

class ModelComparison {
 public:
  // Regions: config.bands with config.guard_hz guard bands, as the monitor builds them (only rate,
  // bands and guard_hz are used). Throws std::invalid_argument as validate(QualityMonitorConfig).
  explicit ModelComparison(const QualityMonitorConfig& config);

  const std::vector<QualityRegion>& regions() const { return regions_; }
  std::size_t samples_per_second() const { return dft_.length(); }

  // One second: raw h and the two cleaned versions, samples_per_second() samples each. A non-finite
  // sample makes that model's ratios NaN from then on.
  void add(const double* h, const double* a, const double* b);
  std::size_t seconds() const { return seconds_; }
  std::vector<RegionComparison> ratios() const;
  void reset();

 private:
  std::vector<QualityRegion> regions_;
  dsp::BandDft dft_;
  std::vector<std::size_t> region_of_bin_;  // dft_.bins()[i] belongs to regions_[region_of_bin_[i]]
  std::vector<double> ph_, pa_, pb_;          // summed power per region
  std::vector<double> psd_h_, psd_a_, psd_b_;  // per bin, scratch
  std::size_t seconds_ = 0;
};

}  // namespace deepclean::stream
