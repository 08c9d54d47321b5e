#include "core/stream/prediction_averager.hpp"

#include <stdexcept>

namespace deepclean::stream {

PredictionAverager::PredictionAverager(const KernelGeometry& geometry) : geometry_(geometry) {
  geometry_.validate(1);
  a_ = geometry_.first_used();
  reset();
}

void PredictionAverager::reset() {
  sums_.clear();
  head_ = 0;
  base_ = a_;
  next_out_ = a_;
  kernels_ = 0;
}

std::size_t PredictionAverager::final_end() const { return a_ + kernels_ * geometry_.stride; }

std::size_t PredictionAverager::terms(const KernelGeometry& geometry, std::size_t n) {
  const std::size_t a = geometry.first_used();
  const std::size_t k = geometry.kernel_length;
  const std::size_t s = geometry.stride;
  if (n < a) return 0;
  const std::size_t newest = (n - a) / s;                 // largest j with j*s + a <= n
  const std::size_t oldest = n >= k ? (n - k) / s + 1 : 0;  // smallest j with n < j*s + K
  return (newest - oldest + 1);
}

void PredictionAverager::add(const float* predictions, std::size_t batch) {
  const std::size_t k = geometry_.kernel_length;
  const std::size_t s = geometry_.stride;
  for (std::size_t b = 0; b < batch; ++b) {
    const float* p = predictions + b * k;
    // Kernel j covers y[j*s + a, j*s + K) with its positions [a, K). Every y[n] it touches is not
    // final yet (final samples end at j*s + a), so it is still held in sums_.
    const std::size_t first = kernels_ * s + a_;
    const auto offset = first - base_;
    const std::size_t needed = offset + (k - a_);
    if (sums_.size() < needed) sums_.resize(needed, 0.0);
    double* dst = sums_.data() + offset;
    for (std::size_t i = a_; i < k; ++i) dst[i - a_] += static_cast<double>(p[i]);
    ++kernels_;
  }
}

void PredictionAverager::pop(std::vector<double>& y) {
  const std::size_t end = final_end();
  y.reserve(y.size() + (end - next_out_));
  for (std::size_t n = next_out_; n < end; ++n) {
    const auto idx = n - base_;
    y.push_back(sums_[idx] / static_cast<double>(terms(geometry_, n)));
  }
  head_ = end - base_;
  next_out_ = end;
  // Drop finished sums in bulk so the storage stays about N*s long.
  if (head_ > 0 && head_ >= sums_.size() / 2) {
    sums_.erase(sums_.begin(), sums_.begin() + static_cast<std::ptrdiff_t>(head_));
    base_ += head_;
    head_ = 0;
  }
}

}  // namespace deepclean::stream
