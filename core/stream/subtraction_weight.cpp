#include "core/stream/subtraction_weight.hpp"

#include <algorithm>

#include "core/dsp/window.hpp"

namespace deepclean::stream {

SubtractionWeight::SubtractionWeight(std::size_t rise, std::size_t fall)
    : rise_(dsp::hann_rise(rise)), fall_(dsp::hann_rise(fall)) {}

double SubtractionWeight::at(std::size_t m) const {
  if (m < begin_ || m >= end_) return 0.0;
  double g = 1.0;
  if (m - begin_ < rise_.size()) g = rise_[m - begin_];
  if (end_ - 1 - m < fall_.size()) g = std::min(g, fall_[end_ - 1 - m]);
  return g;
}

}  // namespace deepclean::stream
