// Kernel length K, stride s and averaging count N of contract steps 3-5, with the derived first used
// sample a = K - N*s (../shared/docs/streaming-spec.md, "Names").
#pragma once

#include <cstddef>

namespace deepclean::stream {

struct KernelGeometry {
  std::size_t kernel_length = 0;  // K, samples at fs
  std::size_t stride = 0;         // s, samples between consecutive kernels
  std::size_t num_averaged = 0;   // N, predictions averaged per sample once warm

  // a = K - N*s: kernel position of the first sample of a prediction that is used (step 5).
  std::size_t first_used() const { return kernel_length - num_averaged * stride; }

  // Throws std::invalid_argument with a message naming the violated rule: K >= 1, K a multiple of
  // `model_factor` (16 for DeepClean's four stride-2 layers), 1 <= s <= K, N >= 1, N*s <= K.
  void validate(std::size_t model_factor) const;
};

// The configuration's view (docs/configuration.md, `inference`): K = kernel_seconds * fs,
// s = fs / sampling_rate, N = aggregation_seconds * sampling_rate, each required to be a whole
// number; then validate(model_factor). Throws std::invalid_argument naming the setting.
KernelGeometry kernel_geometry_from_seconds(int fs, double kernel_seconds, double sampling_rate,
                                            double aggregation_seconds, std::size_t model_factor);

}  // namespace deepclean::stream
