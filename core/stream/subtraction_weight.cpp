#include "core/stream/subtraction_weight.hpp"

#include <algorithm>

#include "core/stream/taper.hpp"

namespace deepclean::stream {

double SubtractionWeight::at(std::size_t m) const {
  if (m < begin || m >= end) return 0.0;
  double g = 1.0;
  if (m - begin < rise) g = half_hann_rise(m - begin, rise);
  if (end - 1 - m < fall) g = std::min(g, half_hann_rise(end - 1 - m, fall));
  return g;
}

}  // namespace deepclean::stream
