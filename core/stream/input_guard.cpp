#include "core/stream/input_guard.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace deepclean::stream {

std::string witness_complaint(const double* x, std::size_t n, double mean, double std,
                              const InputGuardConfig& config) {
  if (n == 0) return {};
  std::ostringstream why;
  if (config.flatline) {
    bool flat = true;
    for (std::size_t i = 1; i < n && flat; ++i) flat = x[i] == x[0];
    if (flat) {
      why << "flat at " << x[0] << " (all " << n << " samples)";
      return why.str();
    }
  }
  if (config.max_zscore > 0) {
    const double s = std == 0.0 ? 1.0 : std;  // the contract's step 2: std 0 is treated as 1
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double z = (x[i] - mean) / s;
      sum += z * z;
    }
    const double rms = std::sqrt(sum / static_cast<double>(n));
    if (!(rms <= config.max_zscore)) {
      why << "RMS z-score " << rms << " > " << config.max_zscore << " (the bundle's mean " << mean << ", std " << std
          << ")";
      return why.str();
    }
  }
  if (config.saturation_fraction > 0) {
    double peak = 0;
    for (std::size_t i = 0; i < n; ++i) peak = std::max(peak, std::abs(x[i]));
    std::size_t at_peak = 0;
    for (std::size_t i = 0; i < n; ++i) at_peak += std::abs(x[i]) == peak ? 1u : 0u;
    if (peak > 0 && at_peak >= 3 && static_cast<double>(at_peak) >= config.saturation_fraction * static_cast<double>(n)) {
      why << "saturated: " << at_peak << " of " << n << " samples at |x| = " << peak;
      return why.str();
    }
  }
  return {};
}

}  // namespace deepclean::stream
