// Deterministic stand-ins for the model (contract step 4) and a literal, loop-by-loop reading of
// contract steps 3 and 5, used as the reference the streaming pieces must reproduce.
#pragma once

#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

#include "core/stream/kernel_geometry.hpp"
#include "core/stream/predictor.hpp"

namespace deepclean::stream::testing {

// Samples [start, start + n) of every channel of `x` (channel-major, `total` samples per channel)
// into `staged`, channel-major with n per channel: what one push of a stream chunk carries.
inline void stage_chunk(const std::vector<float>& x, std::size_t channels, std::size_t total, std::size_t start,
                        std::size_t n, std::vector<float>& staged) {
  staged.assign(channels * n, 0.0f);
  for (std::size_t c = 0; c < channels; ++c) {
    for (std::size_t i = 0; i < n; ++i) staged[c * n + i] = x[c * total + start + i];
  }
}

// Each prediction sample mixes several channels and positions of its own kernel (including
// positions after it), so a kernel cut at the wrong offset, a swapped channel or a prediction
// placed at the wrong position changes the result. It depends on nothing but its kernel.
inline void fake_prediction(const float* kernel, std::size_t channels, std::size_t k, float* out) {
  for (std::size_t i = 0; i < k; ++i) {
    float acc = 0.001f * static_cast<float>(i);
    for (std::size_t c = 0; c < channels; ++c) {
      const float w = 1.0f / static_cast<float>(c + 1);
      acc += w * kernel[c * k + i] - 0.25f * w * kernel[c * k + (i * 7 + 3) % k];
    }
    out[i] = acc;
  }
}

class FakePredictor final : public Predictor {
 public:
  FakePredictor(std::size_t channels, std::size_t max_batch) : channels_(channels), max_(max_batch) {}
  std::size_t channels() const override { return channels_; }
  std::size_t max_batch() const override { return max_; }
  void predict(const float* kernels, std::size_t batch, std::size_t k, float* out) override {
    largest_batch_seen = std::max(largest_batch_seen, batch);
    for (std::size_t b = 0; b < batch; ++b) {
      fake_prediction(kernels + b * channels_ * k, channels_, k, out + b * k);
    }
    calls += 1;
    kernels_seen += batch;
  }
  std::size_t calls = 0;
  std::size_t kernels_seen = 0;
  std::size_t largest_batch_seen = 0;

 private:
  std::size_t channels_, max_;
};

// x: C rows of `total` samples (row-major). Returns the kernels of step 3 that exist, each C x K.
inline std::vector<std::vector<float>> literal_kernels(const std::vector<float>& x, std::size_t channels,
                                                       std::size_t total, std::size_t k,
                                                       std::size_t s) {
  std::vector<std::vector<float>> kernels;
  for (std::size_t j = 0; j * s + k <= total; ++j) {
    std::vector<float> kern(channels * k);
    for (std::size_t c = 0; c < channels; ++c)
      for (std::size_t i = 0; i < k; ++i) kern[c * k + i] = x[c * total + j * s + i];
    kernels.push_back(kern);
  }
  return kernels;
}

// Step 5 exactly as written: for every n >= a whose finalising kernel floor((n - a)/s) exists, the
// mean (in double, terms added in increasing j) of P_j[n - j*s] over j with j*s + a <= n < j*s + K.
// Returned vector index i holds y[a + i].
inline std::vector<double> literal_average(const std::vector<std::vector<float>>& predictions,
                                           const KernelGeometry& g) {
  const std::size_t k = g.kernel_length, s = g.stride, a = g.first_used();
  const std::size_t kernels = predictions.size();
  std::vector<double> y;
  for (std::size_t n = a;; ++n) {
    if ((n - a) / s >= kernels) break;  // finalising kernel never arrives
    double sum = 0.0;
    std::size_t count = 0;
    for (std::size_t j = 0; j < kernels; ++j) {
      if (j * s + a <= n && n < j * s + k) {
        sum += static_cast<double>(predictions[j][n - j * s]);
        ++count;
      }
    }
    y.push_back(sum / static_cast<double>(count));
  }
  return y;
}

inline std::vector<float> random_channels(std::size_t channels, std::size_t total, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(channels * total);
  for (float& v : x) v = dist(gen);
  return x;
}

}  // namespace deepclean::stream::testing
