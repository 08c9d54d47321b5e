// Internal to core/model: what its LibTorch translation units share. Never include this outside
// core/model: it pulls in LibTorch (which is why core/model's public headers do not).
#pragma once

#include <torch/script.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "core/bundle/bundle.hpp"
#include "core/model/device.hpp"
#include "core/model/load.hpp"
#include "core/model/torch_errors.hpp"
#include "core/stream/predictor.hpp"

namespace deepclean::model::detail {

using Clock = std::chrono::steady_clock;

inline std::int64_t i64(std::size_t v) { return static_cast<std::int64_t>(v); }

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Output of one forward pass as a float tensor of the expected (batch, K) shape, or a BundleError
// naming `file` and saying what came back instead. bundle_check.cpp.
torch::Tensor forward_checked(torch::jit::Module& module, const torch::Tensor& input, const std::string& file);

// A bundle that passed check_bundle(), with its TorchScript module (CPU, eval mode).
// bundle_check.cpp.
struct CheckedModule {
  BundleInfo info;
  torch::jit::Module module;
};
CheckedModule load_checked(const std::filesystem::path& directory, std::size_t kernel_length);

// What the device noise estimator (device_estimator.cpp) drives in a runner made by load_model():
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

// The CPU predictor for a module validated by load_checked(), warmed up at the production shapes,
// its shared-interior path checked against one forward per kernel (filling `report`).
// cpu_runner.cpp.
std::unique_ptr<stream::Predictor> make_cpu_runner(torch::jit::Module module, std::size_t channels,
                                                   const RunnerOptions& options, const std::string& file,
                                                   LoadReport& report);

#ifdef DEEPCLEAN_CUDA
// A high-priority stream from LibTorch's pool on CUDA device `device.index`, after checking that
// CUDA and that device are available (BundleError otherwise). cuda_runner.cpp.
c10::Stream cuda_stream_from_pool(const DeviceSpec& device);

// Builds the CUDA predictor for a module already validated on the CPU. Moves the module to the
// device, warms up, and decides fp16 / graph capture (filling `report`). cuda_runner.cpp.
std::unique_ptr<stream::Predictor> make_cuda_runner(torch::jit::Module module, const DeviceSpec& device,
                                                    std::size_t channels, const RunnerOptions& options,
                                                    LoadReport& report);
#endif

// Deterministic pseudo-random kernels in [-2, 2) for dry runs, warm-up and accuracy checks; the
// same (seed, shape) always gives the same values. bundle_check.cpp.
torch::Tensor probe_input(std::size_t batch, std::size_t channels, std::size_t kernel_length,
                          std::uint64_t seed);

}  // namespace deepclean::model::detail
