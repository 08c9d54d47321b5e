// Contract step 9's subtraction weight g at the strain's native rate, for one segment.
//
// With [p, q) the samples (at fs) that have a noise estimate, native sample m has an estimate when
// its time lies in [p/fs, q/fs), i.e. m in [mp, mq) with mp = ceil(p*fr/fs), mq = ceil(q*fr/fs).
// Inside, g = min(rise, fall):
//   rise = half_hann_rise(m - mp, T)     for m - mp < T, else 1   (T = taper_seconds * fr)
//   fall = half_hann_rise(mq - 1 - m, F) for mq - 1 - m < F, else 1
// where F = min(T, look-ahead * fr): the end can only be "already known" for samples within the
// look-ahead of it (docs/contract-notes.md), so the fall is shortened to what the look-ahead sees.
// Outside [mp, mq), g = 0.
#pragma once

#include <cstddef>

namespace deepclean::stream {

struct SubtractionWeight {
  std::size_t rise = 0;  // T, native samples
  std::size_t fall = 0;  // F, native samples
  std::size_t begin = 0;  // mp
  std::size_t end = 0;    // mq (begin == end: no estimate in the segment)

  double at(std::size_t m) const;
};

}  // namespace deepclean::stream
