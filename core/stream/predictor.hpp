// The model as the streaming core sees it: a function from a batch of kernels to a batch of
// predictions (contract step 4). core/model implements it with LibTorch; tests use fakes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

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
  // As predict_from(), for `batch` consecutive windows of one stream held in place: kernel j's
  // channel c is the K samples starting at x[c * ld + j * stride] (the caller's ring buffer; no
  // (batch, C, K) copy is made by the caller). Must give exactly what predict_from() gives for
  // those kernels copied out. The default makes that copy and calls predict_from(); a runner that
  // can evaluate the stream directly (core/model's CPU runner) overrides it.
  virtual void predict_windows(const float* x, std::size_t ld, std::size_t stride, std::size_t batch,
                               std::size_t kernel_length, std::size_t needed_from, float* out) {
    const std::size_t c_count = channels();
    scratch_.resize(batch * c_count * kernel_length);
    for (std::size_t j = 0; j < batch; ++j) {
      for (std::size_t c = 0; c < c_count; ++c) {
        std::copy_n(x + c * ld + j * stride, kernel_length, scratch_.data() + (j * c_count + c) * kernel_length);
      }
    }
    predict_from(scratch_.data(), batch, kernel_length, needed_from, out);
  }
  // Largest batch predict() accepts in one call (the caller splits bigger ones).
  virtual std::size_t max_batch() const = 0;

 private:
  std::vector<float> scratch_;  // predict_windows()' default copy (grows only)
};

}  // namespace deepclean::stream
