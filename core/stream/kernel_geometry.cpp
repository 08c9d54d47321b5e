#include "core/stream/kernel_geometry.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

namespace deepclean::stream {
namespace {

std::size_t whole(double value, const std::string& what) {
  const double r = std::round(value);
  if (!std::isfinite(value) || r < 1.0 || std::fabs(value - r) > 1e-9 * std::max(1.0, value)) {
    std::ostringstream msg;
    msg << what << " = " << value << " is not a whole number >= 1";
    throw std::invalid_argument(msg.str());
  }
  return static_cast<std::size_t>(r);
}

}  // namespace

KernelGeometry kernel_geometry_from_seconds(int fs, double kernel_seconds, double sampling_rate,
                                            double aggregation_seconds, std::size_t model_factor) {
  if (fs <= 0) throw std::invalid_argument("model rate fs must be positive");
  if (!(sampling_rate > 0.0)) throw std::invalid_argument("inference sampling_rate must be > 0");
  const double rate = static_cast<double>(fs);
  KernelGeometry g;
  g.kernel_length = whole(kernel_seconds * rate, "kernel_seconds * fs (K)");
  g.stride = whole(rate / sampling_rate, "fs / sampling_rate (stride s)");
  g.num_averaged = whole(aggregation_seconds * sampling_rate, "aggregation_seconds * sampling_rate (N)");
  g.validate(model_factor);
  return g;
}

void KernelGeometry::validate(std::size_t model_factor) const {
  const std::string k = std::to_string(kernel_length);
  const std::string s = std::to_string(stride);
  const std::string n = std::to_string(num_averaged);
  if (kernel_length == 0) throw std::invalid_argument("kernel length K must be at least 1 sample");
  if (model_factor == 0) throw std::invalid_argument("model length factor must be at least 1");
  if (kernel_length % model_factor != 0) {
    throw std::invalid_argument("kernel length K = " + k + " is not a multiple of " +
                                std::to_string(model_factor) +
                                ", which the model architecture requires");
  }
  if (stride == 0) throw std::invalid_argument("stride s must be at least 1 sample");
  if (stride > kernel_length) {
    throw std::invalid_argument("stride s = " + s + " exceeds the kernel length K = " + k +
                                " (samples between kernels would never be predicted)");
  }
  if (num_averaged == 0) {
    throw std::invalid_argument("number of averaged predictions N must be at least 1");
  }
  // Compare without forming N*s, which could overflow for absurd inputs.
  if (num_averaged > kernel_length / stride) {
    throw std::invalid_argument("N*s = " + n + "*" + s + " exceeds the kernel length K = " + k +
                                " (each prediction only has K samples to average)");
  }
}

}  // namespace deepclean::stream
