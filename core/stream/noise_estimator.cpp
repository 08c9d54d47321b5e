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
    // The kernels are read in place from the ring (predict_windows); nothing is copied here.
    const KernelRing::Windows w = ring_.peek(batch_size_);
    if (predictions_.size() < w.count * k) predictions_.resize(w.count * k);
    // The averager reads positions [a, K) of each prediction only (contract step 5).
    predictor_.predict_windows(w.data, w.ld, ring_.stride(), w.count, k, averager_.geometry().first_used(),
                               predictions_.data());
    ring_.skip(w.count);
    ++calls_;
    averager_.add(predictions_.data(), w.count);
  }
}

void CpuNoiseEstimator::pop(std::vector<double>& y) { averager_.pop(y); }

}  // namespace deepclean::stream
