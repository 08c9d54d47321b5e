// The switch from one model to another inside a running segment (promotion, rollback; issue 15,
// docs/model-lifecycle.md). Both models clean the same input with their own warm state, so there is
// no segment end and no taper: for the switch seconds the output is a crossfade of the two cleaned
// strains,
//     c = (1 - w) * c_from + w * c_to,   w[k] = sin^2(pi (k + 0.5) / (2R)) for k < R, 1 after,
// k the strain sample since the switch's first sample and R = round(seconds * rate) (the contract's
// half-Hann taper shape). As h is common, this is the crossfade of the two subtracted noises. The
// noise channel is blended the same way at its own rate. R = 0 switches at the boundary.
#pragma once

#include <cstdint>
#include <vector>

#include "daemon/pipeline/output.hpp"

namespace deepclean::daemon::models {

// w for `n` samples at `rate` of the second starting `offset_seconds` after the switch began.
std::vector<double> crossfade_weights(double offset_seconds, double rate, std::size_t n, double seconds);

// The output of second `from.gps` (== to.gps) during a switch that began at GPS `start` and lasts
// `seconds`. State bits: cleaned, input OK and model OK where both have them; in taper, subtracted and
// gated where either has; the history records of both (marked); the gate report of `to`. Throws
// std::invalid_argument when the two seconds do not match (GPS, sample counts, rates).
OutputSecond crossfade(const OutputSecond& from, const OutputSecond& to, std::uint64_t start, double seconds);

}  // namespace deepclean::daemon::models
