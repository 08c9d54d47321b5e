// The model as the streaming core sees it: a function from a batch of kernels to a batch of
// predictions (contract step 4). core/model implements it with LibTorch; tests use fakes.
#pragma once

#include <cstddef>

namespace deepclean::stream {

class Predictor {
 public:
  virtual ~Predictor() = default;
  // Number of witness channels C the model takes.
  virtual std::size_t channels() const = 0;
  // kernels: `batch` kernels, each C x K float32, contiguous and row-major (batch, C, K).
  // out: batch x K float32. Batching must not change any prediction.
  virtual void predict(const float* kernels, std::size_t batch, std::size_t kernel_length,
                       float* out) = 0;
  // As predict(), for a caller that reads only positions [needed_from, K) of every prediction
  // (the noise estimator needs [a, K), a = KernelGeometry::first_used()). Those positions must be
  // exactly what predict() gives; positions [0, needed_from) of each row are unspecified (left as
  // they were or filled with anything), so an implementation may skip the work for them. The
  // default computes everything.
  virtual void predict_from(const float* kernels, std::size_t batch, std::size_t kernel_length,
                            std::size_t needed_from, float* out) {
    (void)needed_from;
    predict(kernels, batch, kernel_length, out);
  }
  // Largest batch predict() accepts in one call (the caller splits bigger ones).
  virtual std::size_t max_batch() const = 0;
};

}  // namespace deepclean::stream
