// Internal to core/model: shared between the LibTorch translation units (torch_model.cpp and, in
// CUDA builds, cuda_runner.cpp). Never include this outside core/model: it pulls in LibTorch.
#pragma once

#include <torch/script.h>

#include <cstddef>
#include <filesystem>
#include <memory>

#include "core/model/runner.hpp"
#include "core/stream/predictor.hpp"

namespace deepclean::model::detail {

// A bundle that passed check_bundle(), with its TorchScript module (CPU, eval mode).
struct CheckedModule {
  BundleInfo info;
  torch::jit::Module module;
};
CheckedModule load_checked(const std::filesystem::path& directory, std::size_t kernel_length);

// What the device noise estimator (torch_estimator.cpp) drives in a runner made by load_model():
// forward passes on kernels that already live on the runner's device, on the runner's stream,
// with the runner's decisions (CUDA: fp16, graph capture, fixed batch shape; CPU: one forward per
// kernel). CpuRunner and CudaRunner implement it.
class DeviceForward {
 public:
  virtual ~DeviceForward() = default;
  virtual torch::Device forward_device() const = 0;
  // The stream the runner works on (CUDA), or nullopt (CPU).
  virtual c10::optional<c10::Stream> forward_stream() const = 0;
  // kernels: (b, C, K) float32 on forward_device(), 1 <= b <= max_batch. Returns (b, K) float32 on
  // that device; valid until the next call. Called with forward_stream() current.
  virtual torch::Tensor forward_kernels(const torch::Tensor& kernels) = 0;
};

// Applies RunnerOptions' thread counts once per process (see RunnerOptions).
void configure_threads(int intra_op, int interop);

#ifdef DEEPCLEAN_CUDA
// A high-priority stream from LibTorch's pool on CUDA device `device.index`, after checking that
// CUDA and that device are available (BundleError otherwise). cuda_runner.cpp.
c10::Stream cuda_stream_from_pool(const DeviceSpec& device);

// Builds the CUDA predictor for a module already validated on the CPU. Moves the module to the
// device, warms up, and decides fp16 / graph capture (filling `report`).
std::unique_ptr<stream::Predictor> make_cuda_runner(torch::jit::Module module, const DeviceSpec& device,
                                                    std::size_t channels, const RunnerOptions& options,
                                                    LoadReport& report);
#endif

// Deterministic pseudo-random kernels in [-2, 2) for dry runs, warm-up and accuracy checks; the
// same (seed, shape) always gives the same values.
torch::Tensor probe_input(std::size_t batch, std::size_t channels, std::size_t kernel_length,
                          std::uint64_t seed);

}  // namespace deepclean::model::detail
