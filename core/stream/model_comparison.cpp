#include "core/stream/model_comparison.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace deepclean::stream {

ModelComparison::ModelComparison(const QualityMonitorConfig& config) {
  // The monitor validates the settings and names the regions; only its regions are kept.
  QualityMonitorConfig c = config;
  c.window_seconds = std::max(c.window_seconds, c.segment_seconds);
  regions_ = QualityMonitor(c).regions();
  const auto n = static_cast<std::size_t>(std::llround(c.rate));
  if (std::abs(c.rate - static_cast<double>(n)) > 1e-9) {
    throw std::invalid_argument("model comparison: the strain rate must be a whole number of samples per second");
  }
  std::vector<std::size_t> bins;
  std::vector<bool> hit(regions_.size(), false);
  for (std::size_t k = 0; k <= n / 2; ++k) {
    const double f = dsp::BandDft::frequency(k, n, c.rate);
    for (std::size_t r = 0; r < regions_.size(); ++r) {
      if (in_region(regions_[r], c.bands[regions_[r].band], f)) {
        bins.push_back(k);
        region_of_bin_.push_back(r);
        hit[r] = true;
        break;
      }
    }
  }
  for (std::size_t r = 0; r < regions_.size(); ++r) {
    if (!hit[r]) {
      throw std::invalid_argument("model comparison: region " + regions_[r].label + " Hz holds no 1-Hz bin");
    }
  }
  psd_h_.resize(bins.size());
  psd_a_.resize(bins.size());
  psd_b_.resize(bins.size());
  dft_ = dsp::BandDft(n, c.rate, std::move(bins));
  reset();
}

void ModelComparison::reset() {
  ph_.assign(regions_.size(), 0.0);
  pa_.assign(regions_.size(), 0.0);
  pb_.assign(regions_.size(), 0.0);
  seconds_ = 0;
}

void ModelComparison::add(const double* h, const double* a, const double* b) {
  dft_.psd(h, psd_h_.data());
  dft_.psd2(a, b, psd_a_.data(), psd_b_.data());
  for (std::size_t i = 0; i < region_of_bin_.size(); ++i) {
    const std::size_t r = region_of_bin_[i];
    ph_[r] += psd_h_[i];
    pa_[r] += psd_a_[i];
    pb_[r] += psd_b_[i];
  }
  ++seconds_;
}

std::vector<RegionComparison> ModelComparison::ratios() const {
  std::vector<RegionComparison> out;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t r = 0; r < regions_.size(); ++r) {
    const bool ok = seconds_ > 0 && ph_[r] > 0;
    out.push_back({regions_[r], ok ? std::sqrt(pa_[r] / ph_[r]) : nan, ok ? std::sqrt(pb_[r] / ph_[r]) : nan});
  }
  return out;
}

}  // namespace deepclean::stream
