#include "core/dsp/window.hpp"

#include <algorithm>
#include <cmath>

namespace deepclean::dsp {
namespace {
constexpr double kPi = 3.14159265358979323846;
}

std::vector<double> hann_rise(std::size_t L) {
  std::vector<double> w(L);
  for (std::size_t i = 0; i < L; ++i) {
    // The contract's formula, evaluated as written (streaming-spec.md step 7).
    const double s = std::sin(kPi * (static_cast<double>(i) + 0.5) / (2.0 * static_cast<double>(L)));
    w[i] = s * s;
  }
  return w;
}

std::vector<double> hann_fall(std::size_t L) {
  std::vector<double> w = hann_rise(L);
  std::reverse(w.begin(), w.end());
  return w;
}

void apply_edge_tapers(double* x, std::size_t n, std::size_t L) {
  if (L == 0 || n == 0) return;
  const std::vector<double> w = hann_rise(L);
  const std::size_t m = std::min(L, n);
  for (std::size_t i = 0; i < m; ++i) x[i] *= w[i];
  // Falling half: x[n-1-i] *= rise[i] (the fall read backwards).
  for (std::size_t i = 0; i < m; ++i) x[n - 1 - i] *= w[i];
}

}  // namespace deepclean::dsp
