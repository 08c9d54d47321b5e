// Contract step 5: y[n] = mean{ P_j[n - j*s] : j >= 0, j*s + a <= n < j*s + K }, defined for n >= a,
// divided by the number of terms actually present, accumulated in double. y[n] is final once kernel
// floor((n - a) / s) has been added, so after J kernels the final samples are [a, a + J*s).
#pragma once

#include <cstddef>
#include <vector>

#include "core/stream/kernel_geometry.hpp"

namespace deepclean::stream {

class PredictionAverager {
 public:
  // Throws std::invalid_argument for a geometry that breaks 1 <= s <= K, N >= 1, N*s <= K.
  explicit PredictionAverager(const KernelGeometry& geometry);

  void reset();  // segment boundary

  // Predictions of the next `batch` kernels (kernels() .. kernels() + batch - 1), each K float32.
  void add(const float* predictions, std::size_t batch);

  // Append every final y sample not yet taken, in order; the first one of a segment is y[a].
  void pop(std::vector<double>& y);

  // Number of terms averaged into y[n] (n >= a): kernels j with j*s + a <= n < j*s + K.
  static std::size_t terms(const KernelGeometry& geometry, std::size_t n);

  std::size_t kernels() const { return kernels_; }      // kernels added since the reset
  std::size_t next_sample() const { return next_out_; }  // index n of the next sample pop() gives
  std::size_t final_end() const;                          // a + kernels() * s
  const KernelGeometry& geometry() const { return geometry_; }

 private:
  KernelGeometry geometry_;
  std::size_t a_;
  // Running sums of y[n] * terms(n) for n in [base_, base_ + sums_.size()); sums_[head_..] is live.
  std::vector<double> sums_;
  std::size_t base_ = 0;
  std::size_t head_ = 0;
  std::size_t next_out_ = 0;
  std::size_t kernels_ = 0;
};

}  // namespace deepclean::stream
