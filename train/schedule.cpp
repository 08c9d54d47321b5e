#include "train/schedule.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace deepclean::train {

PlateauSchedule::PlateauSchedule(double lr, double factor, int patience, double min_lr, double threshold,
                                 int cooldown)
    : lr_(lr),
      factor_(factor),
      min_lr_(min_lr),
      threshold_(threshold),
      patience_(patience),
      cooldown_(cooldown),
      best_(std::numeric_limits<double>::infinity()) {
  if (!(factor > 0 && factor <= 1)) throw std::invalid_argument("PlateauSchedule: factor must be in (0, 1]");
  if (patience < 0 || cooldown < 0 || !(min_lr >= 0) || !(threshold >= 0)) {
    throw std::invalid_argument("PlateauSchedule: negative patience, cooldown, min_lr or threshold");
  }
}

double PlateauSchedule::step(double loss) {
  // PyTorch's is_better for mode "min", threshold_mode "rel"; a NaN loss is never better.
  if (loss < best_ * (1.0 - threshold_)) {
    best_ = loss;
    bad_ = 0;
  } else {
    ++bad_;
  }
  if (cooldown_left_ > 0) {
    --cooldown_left_;
    bad_ = 0;
  }
  if (bad_ > patience_) {
    const double next = std::max(lr_ * factor_, min_lr_);
    if (lr_ - next > 1e-8) lr_ = next;
    cooldown_left_ = cooldown_;
    bad_ = 0;
  }
  return lr_;
}

std::vector<double> plateau_lrs(const std::vector<double>& losses, double lr, double factor, int patience,
                                double min_lr) {
  PlateauSchedule s(lr, factor, patience, min_lr);
  std::vector<double> out;
  for (double l : losses) {
    out.push_back(s.lr());
    s.step(l);
  }
  return out;
}

}  // namespace deepclean::train
