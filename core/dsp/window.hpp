// Tapers of the cleaning contract (docs: streaming-spec.md, step 7 `window` method and step 9 weights).
#pragma once

#include <cstddef>
#include <vector>

namespace deepclean::dsp {

// Rising half of a Hann taper of length L: w[i] = sin^2(pi * (i + 0.5) / (2L)), i = 0 .. L-1.
// Symmetric about the half-way point (w[i] + w[L-1-i] == 1 up to rounding), never exactly 0 or 1.
std::vector<double> hann_rise(std::size_t L);
// Falling half: the rise mirrored, fall[i] = rise[L-1-i].
std::vector<double> hann_fall(std::size_t L);

// Multiplies the first L samples of x by hann_rise(L) and the last L samples by hann_fall(L), as the
// `window` method does before sosfiltfilt. When n < 2L the two tapers overlap and both apply; L = 0 does
// nothing.
void apply_edge_tapers(double* x, std::size_t n, std::size_t L);

}  // namespace deepclean::dsp
