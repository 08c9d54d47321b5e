#include "core/stream/kernel_geometry.hpp"

#include <stdexcept>
#include <string>

namespace deepclean::stream {

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
