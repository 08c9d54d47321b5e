#include "core/stream/kernel_ring.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace deepclean::stream {

KernelRing::KernelRing(std::size_t channels, std::size_t kernel_length, std::size_t stride)
    : channels_(channels), kernel_length_(kernel_length), stride_(stride) {
  if (channels == 0) throw std::invalid_argument("KernelRing: at least one channel is needed");
  if (kernel_length == 0) throw std::invalid_argument("KernelRing: kernel length K must be >= 1");
  if (stride == 0 || stride > kernel_length) {
    throw std::invalid_argument("KernelRing: stride s must satisfy 1 <= s <= K");
  }
  capacity_ = 2 * kernel_length;
  store_.assign(channels_ * capacity_, 0.0f);
}

void KernelRing::reset() {
  base_ = 0;
  received_ = 0;
  next_kernel_ = 0;
}

void KernelRing::discard_consumed() {
  const std::size_t keep_from = std::min(next_kernel_ * stride_, received_);
  const auto drop = keep_from - base_;
  if (drop == 0) return;
  const auto held = received_ - keep_from;
  for (std::size_t c = 0; c < channels_; ++c) {
    float* row = store_.data() + c * capacity_;
    std::copy(row + drop, row + drop + held, row);
  }
  base_ = keep_from;
}

void KernelRing::push(const float* x, std::size_t n, std::size_t ld) {
  if (n == 0) return;
  auto held = received_ - base_;
  if (held + n > capacity_) {
    discard_consumed();
    held = received_ - base_;
  }
  if (held + n > capacity_) {
    // Grow geometrically; rows move to their new offsets.
    std::size_t cap = capacity_;
    while (held + n > cap) cap *= 2;
    std::vector<float> bigger(channels_ * cap, 0.0f);
    for (std::size_t c = 0; c < channels_; ++c) {
      const float* row = store_.data() + c * capacity_;
      std::copy(row, row + held, bigger.data() + c * cap);
    }
    store_.swap(bigger);
    capacity_ = cap;
  }
  for (std::size_t c = 0; c < channels_; ++c) {
    std::copy(x + c * ld, x + c * ld + n, store_.data() + c * capacity_ + held);
  }
  received_ += n;
}

std::size_t KernelRing::ready() const {
  // Kernel j is complete once j*s + K <= received.
  if (received_ < kernel_length_) return 0;
  const std::size_t complete = (received_ - kernel_length_) / stride_ + 1;
  return (complete - next_kernel_);
}

std::size_t KernelRing::pop(float* out, std::size_t max_kernels) {
  const std::size_t count = std::min(ready(), max_kernels);
  for (std::size_t b = 0; b < count; ++b) {
    const auto offset = next_kernel_ * stride_ - base_;
    for (std::size_t c = 0; c < channels_; ++c) {
      const float* src = store_.data() + c * capacity_ + offset;
      std::copy(src, src + kernel_length_, out + (b * channels_ + c) * kernel_length_);
    }
    ++next_kernel_;
  }
  return count;
}

KernelRing::Windows KernelRing::peek(std::size_t max_kernels) const {
  Windows w;
  w.count = std::min(ready(), max_kernels);
  w.ld = capacity_;
  w.data = store_.data() + (next_kernel_ * stride_ - base_);
  return w;
}

void KernelRing::skip(std::size_t n) {
  if (n > ready()) {
    throw std::invalid_argument("KernelRing::skip: " + std::to_string(n) + " kernels asked, " +
                                std::to_string(ready()) + " ready");
  }
  next_kernel_ += n;
}

}  // namespace deepclean::stream
