// Contract step 3: kernel j is x[:, j*s : j*s + K] (C channels, K samples at fs, float32), emitted
// exactly when its last sample has arrived. Kernels are never padded: nothing exists before the first
// sample of the segment, so kernel 0 ends at sample K - 1.
#pragma once

#include <cstddef>
#include <vector>

namespace deepclean::stream {

class KernelRing {
 public:
  // Throws std::invalid_argument unless channels >= 1, K >= 1 and 1 <= s <= K.
  KernelRing(std::size_t channels, std::size_t kernel_length, std::size_t stride);

  // Segment boundary: forget every sample (contract "Segments": all stream state is reset).
  void reset();

  // Append n samples of every channel: channel c's samples are x[c * ld + i], i < n.
  void push(const float* x, std::size_t n, std::size_t ld);

  // Kernels whose last sample has arrived and that were not popped yet.
  std::size_t ready() const;
  // Index j of the next kernel pop() returns.
  std::size_t next_kernel() const { return next_kernel_; }
  // Samples pushed since the last reset.
  std::size_t samples() const { return received_; }

  // Copy up to max_kernels ready kernels, oldest first, into out as (batch, C, K) row-major.
  // Returns how many were written.
  std::size_t pop(float* out, std::size_t max_kernels);

  // The next ready kernels in place, for a reader that does not want them copied: kernel
  // next_kernel() + j (j < count) of channel c is the K samples starting at
  // data[c * ld + j * stride()]. count = min(ready(), max_kernels). Valid until the next push() or
  // reset(); skip(count) then consumes them (what pop() would have returned).
  struct Windows {
    const float* data = nullptr;
    std::size_t ld = 0;
    std::size_t count = 0;
  };
  Windows peek(std::size_t max_kernels) const;
  // Consume n <= ready() kernels without copying them. Throws std::invalid_argument past ready().
  void skip(std::size_t n);

  std::size_t channels() const { return channels_; }
  std::size_t kernel_length() const { return kernel_length_; }
  std::size_t stride() const { return stride_; }

 private:
  void discard_consumed();

  std::size_t channels_, kernel_length_, stride_;
  // Per channel, samples [base_, received_) in one contiguous run (channel c at c * capacity_),
  // so every kernel is a plain contiguous copy. base_ only moves forward to the start of the next
  // kernel; consumed samples are dropped in bulk once they are half of the storage.
  std::vector<float> store_;
  std::size_t capacity_ = 0;
  std::size_t base_ = 0;
  std::size_t received_ = 0;
  std::size_t next_kernel_ = 0;
};

}  // namespace deepclean::stream
