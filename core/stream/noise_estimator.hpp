// Contract steps 3-5 behind one interface: standardised witness samples in, final averaged
// predictions y out. The CPU implementation below chains KernelRing -> Predictor -> PredictionAverager;
// a device implementation (ring buffer and averaging on the GPU, one block of y back per frame) can
// replace it without the rest of the stream noticing, as long as it gives the same y.
#pragma once

#include <cstddef>
#include <vector>

#include "core/stream/kernel_geometry.hpp"
#include "core/stream/kernel_ring.hpp"
#include "core/stream/prediction_averager.hpp"
#include "core/stream/predictor.hpp"

namespace deepclean::stream {

class NoiseEstimator {
 public:
  virtual ~NoiseEstimator() = default;
  virtual const KernelGeometry& geometry() const = 0;
  virtual std::size_t channels() const = 0;
  // Segment boundary: drop all samples, kernels and partial averages.
  virtual void reset() = 0;
  // Append n standardised samples x[n] of every witness (channel c at x[c * ld + i]), in the model's
  // channel order. Kernels that became complete are predicted before this returns. If the model
  // throws, the exception propagates and the estimator must be reset (the segment ends).
  virtual void push(const float* x, std::size_t n, std::size_t ld) = 0;
  // Append every final y sample not taken yet. After a reset the first one is y[a].
  virtual void pop(std::vector<double>& y) = 0;
  // Index n (at fs, from the segment start) of the sample the next pop() starts with.
  virtual std::size_t next_sample() const = 0;
};

class CpuNoiseEstimator final : public NoiseEstimator {
 public:
  // Predictions are requested with predictor.predict_windows(..., a, ...) on the kernels in place
  // in the ring: only positions [a, K) of each are averaged (a = geometry.first_used()). `predictor` must outlive the estimator. batch_size 0 means predictor.max_batch(); any value
  // gives the same y (contract step 4). Throws std::invalid_argument for a bad geometry.
  CpuNoiseEstimator(const KernelGeometry& geometry, Predictor& predictor, std::size_t batch_size = 0);

  const KernelGeometry& geometry() const override { return averager_.geometry(); }
  std::size_t channels() const override { return ring_.channels(); }
  void reset() override;
  void push(const float* x, std::size_t n, std::size_t ld) override;
  void pop(std::vector<double>& y) override;
  std::size_t next_sample() const override { return averager_.next_sample(); }

  std::size_t kernels_predicted() const { return averager_.kernels(); }
  std::size_t predictor_calls() const { return calls_; }

 private:
  Predictor& predictor_;
  std::size_t batch_size_;
  KernelRing ring_;
  PredictionAverager averager_;
  std::vector<float> predictions_;
  std::size_t calls_ = 0;
};

}  // namespace deepclean::stream
