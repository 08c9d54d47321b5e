#include "core/stream/noise_estimator.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace deepclean::stream {
namespace {

std::size_t checked_batch(Predictor& predictor, std::size_t requested) {
  const std::size_t limit = predictor.max_batch();
  if (limit == 0) throw std::invalid_argument("predictor accepts no kernels (max_batch() == 0)");
  if (requested == 0) return limit;
  if (requested > limit) {
    throw std::invalid_argument("batch size " + std::to_string(requested) +
                                " exceeds the predictor's max_batch() " + std::to_string(limit));
  }
  return requested;
}

}  // namespace

CpuNoiseEstimator::CpuNoiseEstimator(const KernelGeometry& geometry, Predictor& predictor,
                                     std::size_t batch_size)
    : predictor_(predictor),
      batch_size_(checked_batch(predictor, batch_size)),
      ring_((geometry.validate(1), predictor.channels()), geometry.kernel_length, geometry.stride),
      averager_(geometry) {}

void CpuNoiseEstimator::reset() {
  ring_.reset();
  averager_.reset();
}

void CpuNoiseEstimator::push(const float* x, std::size_t n, std::size_t ld) {
  ring_.push(x, n, ld);
  const std::size_t k = ring_.kernel_length();
  while (ring_.ready() > 0) {
    const std::size_t batch = std::min(ring_.ready(), batch_size_);
    // Grow only: resizing down and up again would zero-fill up to max_batch * C * K floats
    // (44 MB at 128 kernels of (21, 4096)) whenever the batch size changes.
    if (kernels_.size() < batch * ring_.channels() * k) kernels_.resize(batch * ring_.channels() * k);
    if (predictions_.size() < batch * k) predictions_.resize(batch * k);
    ring_.pop(kernels_.data(), batch);
    // The averager reads positions [a, K) of each prediction only (contract step 5).
    predictor_.predict_from(kernels_.data(), batch, k, averager_.geometry().first_used(),
                            predictions_.data());
    ++calls_;
    averager_.add(predictions_.data(), batch);
  }
}

void CpuNoiseEstimator::pop(std::vector<double>& y) { averager_.pop(y); }

}  // namespace deepclean::stream
