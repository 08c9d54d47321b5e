// Contract step 9's subtraction weight g at the strain's native rate, for one segment.
//
// With [p, q) the samples (at fs) that have a noise estimate, native sample m has an estimate when
// its time lies in [p/fs, q/fs), i.e. m in [mp, mq) with mp = ceil(p*fr/fs), mq = ceil(q*fr/fs).
// Inside, g = min(rise, fall), with the contract's half-Hann w_L[i] = sin^2(pi (i + 0.5) / (2L)):
//   rise = w_T[m - mp]      for m - mp < T, else 1   (T = taper_seconds * fr)
//   fall = w_F[mq - 1 - m]  for mq - 1 - m < F, else 1
// where F = min(T, look-ahead * fr): the end can only be "already known" for samples within the
// look-ahead of it (docs/contract-notes.md), so the fall is shortened to what the look-ahead sees.
// Outside [mp, mq), g = 0.
#pragma once

#include <cstddef>
#include <limits>
#include <vector>

namespace deepclean::stream {

class SubtractionWeight {
 public:
  static constexpr std::size_t kUnknown = std::numeric_limits<std::size_t>::max();

  SubtractionWeight(std::size_t rise, std::size_t fall);
  // [mp, mq) in native samples; kUnknown for a bound not known yet (no estimate seen / no end seen).
  void set_interval(std::size_t begin, std::size_t end) {
    begin_ = begin;
    end_ = end;
  }
  double at(std::size_t m) const;
  std::size_t rise() const { return rise_.size(); }
  std::size_t fall() const { return fall_.size(); }

 private:
  std::vector<double> rise_, fall_;
  std::size_t begin_ = kUnknown, end_ = kUnknown;
};

}  // namespace deepclean::stream
