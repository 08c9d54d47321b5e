// CUDA runner. Compiled only with -DDEEPCLEAN_CUDA=ON against a CUDA LibTorch (a PyTorch install):
// Debian's CPU LibTorch ships the CUDA headers but not libtorch_cuda, so this file has never been
// compiled or run on the development machine. It is kept small and isolated for that reason.
//
// Design (why each piece):
//  - One dedicated high-priority stream from the pool: our copies and kernels do not queue behind
//    other work on the default stream, and CUDA-graph capture requires a non-default stream.
//  - Pinned host staging buffers for input and output: only page-locked memory makes the
//    host<->device copies asynchronous and full-speed. The caller's buffer is pageable, so it is
//    memcpy'd into the staging buffer first (a few MB per call at most).
//  - Every forward pass runs at the one fixed shape (max_batch, C, K): unused rows are zeroed and
//    their outputs dropped. A fixed shape means cuDNN picks one algorithm for all calls, so a
//    kernel's prediction cannot depend on how many kernels came with it (BatchNorm is in eval
//    mode, rows are independent), and it is what a CUDA graph needs (static shapes and addresses).
//  - cuDNN deterministic, benchmark off: two runs over the same data give the same bits.
//  - TF32 off (cuDNN and cuBLAS): LibTorch lets cuDNN run float32 convolutions in TF32 (10-bit
//    mantissa) on Ampere and later by default, ~1e-3 relative per layer. "float32" here is IEEE
//    float32, the reference the fp16/graph checks below and the tests compare against. Set in
//    cuda_stream_from_pool(), which both CUDA paths (this runner, device_estimator.cpp) go through;
//    process-wide, like the cuDNN flags.
//  - fp16 and graph capture are optimisations that must not change the science: each is checked at
//    load against the float32 eager path on deterministic probe kernels and kept only if the
//    relative RMS difference is <= 1e-3 (the criterion); the outcome lands in LoadReport.
#include <ATen/Context.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>

#include "core/model/torch_internal.hpp"

namespace deepclean::model::detail {
namespace {

constexpr double kMaxRelativeRms = 1e-3;

std::int64_t i64(std::size_t v) { return static_cast<std::int64_t>(v); }

double relative_rms(const torch::Tensor& got, const torch::Tensor& ref) {
  const torch::Tensor g = got.to(torch::kCPU, torch::kFloat64);
  const torch::Tensor r = ref.to(torch::kCPU, torch::kFloat64);
  const double num = (g - r).pow(2).sum().item<double>();
  const double den = r.pow(2).sum().item<double>();
  return std::sqrt(num / std::max(den, 1e-300));
}

class CudaRunner final : public stream::Predictor, public DeviceForward {
 public:
  CudaRunner(torch::jit::Module module, const DeviceSpec& spec, std::size_t channels, const RunnerOptions& options,
             LoadReport& report)
      : device_(torch::kCUDA, static_cast<c10::DeviceIndex>(spec.index)),
        stream_(c10::cuda::getStreamFromPool(/*isHighPriority=*/true, static_cast<c10::DeviceIndex>(spec.index))),
        channels_(channels),
        max_batch_(options.max_batch),
        kernel_length_(options.kernel_length),
        module_(std::move(module)) {
    at::globalContext().setDeterministicCuDNN(true);
    at::globalContext().setBenchmarkCuDNN(false);
    c10::cuda::CUDAGuard device_guard(device_);
    c10::cuda::CUDAStreamGuard stream_guard(stream_);
    {
      // Module::to() replaces parameter data in place; doing that with inference tensors would
      // leave parameters that cannot be touched outside InferenceMode, so convert first.
      torch::NoGradGuard no_grad;
      module_.to(device_);
      module_.eval();
      if (options.cuda_fp16) {
        half_ = module_.clone();
        half_.to(torch::kHalf);
      }
    }
    c10::InferenceMode inference;

    const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
    in_host_ = torch::empty({i64(max_batch_), i64(channels_), i64(kernel_length_)}, f32.pinned_memory(true));
    out_host_ = torch::empty({i64(max_batch_), i64(kernel_length_)}, f32.pinned_memory(true));
    in_dev_ = torch::zeros({i64(max_batch_), i64(channels_), i64(kernel_length_)}, f32.device(device_));

    // Warm-up on our stream at the serving shape: lets the TorchScript profiling executor settle
    // on its optimised graph (also a precondition for capturing it) and loads the cuDNN kernels.
    in_dev_.copy_(probe_input(max_batch_, channels_, kernel_length_, 11));
    for (int i = 0; i < std::max(options.warmup_calls, 3); ++i) (void)eager(module_, false);

    // Reference for the accuracy checks: the plain float32 path on fixed probe kernels.
    in_dev_.copy_(probe_input(max_batch_, channels_, kernel_length_, 13));
    const torch::Tensor reference = eager(module_, false).clone();
    std::ostringstream notes;

    if (options.cuda_fp16) {
      for (int i = 0; i < std::max(options.warmup_calls, 3); ++i) (void)eager(half_, true);
      const double rms = relative_rms(eager(half_, true), reference);
      use_half_ = rms <= kMaxRelativeRms;
      notes << "fp16 relative RMS vs float32 " << rms << (use_half_ ? " (kept); " : " (above 1e-3, fp16 off); ");
    }
    if (options.cuda_graph) {
      graph_ = std::make_unique<at::cuda::CUDAGraph>();
      graph_->capture_begin();
      graph_out_ = eager(use_half_ ? half_ : module_, use_half_);
      graph_->capture_end();
      graph_->replay();
      const double rms = relative_rms(graph_out_, reference);
      if (rms <= kMaxRelativeRms) {
        notes << "CUDA graph relative RMS vs float32 " << rms << " (kept)";
      } else {
        notes << "CUDA graph relative RMS vs float32 " << rms << " (above 1e-3, graph off)";
        graph_.reset();
        graph_out_ = torch::Tensor();
      }
    }
    stream_.synchronize();
    report.fp16 = use_half_;
    report.cuda_graph = graph_ != nullptr;
    report.notes = notes.str();
  }

  std::size_t channels() const override { return channels_; }
  std::size_t max_batch() const override { return max_batch_; }

  void predict(const float* kernels, std::size_t batch, std::size_t kernel_length, float* out) override {
    if (batch == 0) return;
    check_shape(batch, kernel_length);
    std::lock_guard<std::mutex> lock(mutex_);
    c10::cuda::CUDAGuard device_guard(device_);
    c10::cuda::CUDAStreamGuard stream_guard(stream_);
    c10::InferenceMode inference;
    const std::size_t in_count = batch * channels_ * kernel_length_;
    std::memcpy(in_host_.data_ptr<float>(), kernels, in_count * sizeof(float));
    in_dev_.narrow(0, 0, i64(batch)).copy_(in_host_.narrow(0, 0, i64(batch)), /*non_blocking=*/true);
    if (batch < max_batch_) in_dev_.narrow(0, i64(batch), i64(max_batch_ - batch)).zero_();
    const torch::Tensor y = run_static();
    out_host_.narrow(0, 0, i64(batch)).copy_(y.narrow(0, 0, i64(batch)), /*non_blocking=*/true);
    // One host sync per call: the copy into out_host_ must be complete before we read it.
    stream_.synchronize();
    std::memcpy(out, out_host_.data_ptr<float>(), batch * kernel_length_ * sizeof(float));
  }

  // DeviceForward, for the device noise estimator: kernels already on the GPU go through the same
  // static input buffer, fixed shape, fp16 and graph decisions as predict(), with no host copy.
  torch::Device forward_device() const override { return device_; }
  c10::optional<c10::Stream> forward_stream() const override { return c10::Stream(stream_); }
  torch::Tensor forward_kernels(const torch::Tensor& kernels) override {
    const auto batch = static_cast<std::size_t>(kernels.size(0));
    check_shape(batch, static_cast<std::size_t>(kernels.size(2)));
    std::lock_guard<std::mutex> lock(mutex_);
    c10::cuda::CUDAGuard device_guard(device_);
    c10::cuda::CUDAStreamGuard stream_guard(stream_);
    c10::InferenceMode inference;
    in_dev_.narrow(0, 0, i64(batch)).copy_(kernels);
    if (batch < max_batch_) in_dev_.narrow(0, i64(batch), i64(max_batch_ - batch)).zero_();
    // A copy: the graph's output buffer is overwritten by the next replay.
    return run_static().narrow(0, 0, i64(batch)).clone();
  }

 private:
  void check_shape(std::size_t batch, std::size_t kernel_length) const {
    if (batch > max_batch_) throw BundleError("cuda runner: batch of " + std::to_string(batch) + " exceeds max_batch");
    // The static buffers (and a captured graph) exist for one K only.
    if (kernel_length != kernel_length_) {
      throw BundleError("cuda runner: kernel length " + std::to_string(kernel_length) + " differs from the " +
                        std::to_string(kernel_length_) + " it was loaded for");
    }
  }

  // The model over in_dev_ on our stream: the captured graph when kept, else an eager pass.
  torch::Tensor run_static() {
    if (graph_) {
      graph_->replay();
      return graph_out_;
    }
    return eager(use_half_ ? half_ : module_, use_half_);
  }

  // Forward pass over the whole static input on the current (our) stream, float32 result.
  torch::Tensor eager(torch::jit::Module& m, bool half) {
    const torch::Tensor in = half ? in_dev_.to(torch::kHalf) : in_dev_;
    torch::Tensor y = m.forward({in}).toTensor();
    if (y.dim() != 2 || y.size(0) != i64(max_batch_) || y.size(1) != i64(kernel_length_)) {
      throw BundleError("cuda runner: unexpected output shape from the model");
    }
    return y.scalar_type() == torch::kFloat32 ? y : y.to(torch::kFloat32);
  }

  torch::Device device_;
  c10::cuda::CUDAStream stream_;
  std::size_t channels_;
  std::size_t max_batch_;
  std::size_t kernel_length_;
  torch::jit::Module module_;
  torch::jit::Module half_;
  bool use_half_ = false;
  torch::Tensor in_host_, out_host_, in_dev_, graph_out_;
  std::unique_ptr<at::cuda::CUDAGraph> graph_;
  std::mutex mutex_;
};

}  // namespace

c10::Stream cuda_stream_from_pool(const DeviceSpec& device) {
  check_device_available(device);
  // IEEE float32, not TF32 (see the design notes at the top).
  at::globalContext().setAllowTF32CuDNN(false);
  at::globalContext().setAllowTF32CuBLAS(false);
  return c10::cuda::getStreamFromPool(/*isHighPriority=*/true, static_cast<c10::DeviceIndex>(device.index));
}

std::unique_ptr<stream::Predictor> make_cuda_runner(torch::jit::Module module, const DeviceSpec& device,
                                                    std::size_t channels, const RunnerOptions& options,
                                                    LoadReport& report) {
  (void)cuda_stream_from_pool(device);  // availability and device-index checks
  return std::make_unique<CudaRunner>(std::move(module), device, channels, options, report);
}

}  // namespace deepclean::model::detail
