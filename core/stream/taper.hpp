// Half-Hann ramps used by contract step 7 (`window` method) and step 9 (subtraction weight):
// w[i] = sin^2(pi * (i + 0.5) / (2L)), i = 0 .. L-1, rising from ~0 to ~1 without reaching either.
// Kept here (not in core/dsp) because the exact formula is part of the cleaning contract.
#pragma once

#include <cmath>
#include <cstddef>

namespace deepclean::stream {

inline double half_hann_rise(std::size_t i, std::size_t length) {
  const double x = 3.14159265358979323846 * (static_cast<double>(i) + 0.5) /
                   (2.0 * static_cast<double>(length));
  const double s = std::sin(x);
  return s * s;
}

}  // namespace deepclean::stream
