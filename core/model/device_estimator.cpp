// Contract steps 3-5 (kernels, predict, average) with the witness buffer and the averaging on the
// model's device. On a GPU this is the low-traffic path: only each push()'s new samples go to the
// device (through pinned memory, on the runner's own stream), kernels are strided views of the
// device buffer (no per-kernel copies on the host), the overlapping predictions are summed on the
// device, and pop() brings back one block of final y. The same code runs on the CPU, where the
// tests hold it to stream::CpuNoiseEstimator, the reference implementation of those steps.
#include <ATen/Context.h>
#include <ATen/ops/col2im.h>
#include <c10/core/StreamGuard.h>
#include <c10/util/Optional.h>
#include <torch/script.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "core/model/device_estimator.hpp"
#include "core/model/torch_internal.hpp"
#include "core/stream/prediction_averager.hpp"

namespace deepclean::model {
namespace {

std::int64_t i64(std::size_t v) { return static_cast<std::int64_t>(v); }

class TorchNoiseEstimator final : public stream::NoiseEstimator {
 public:
  // `runner` is a predictor made by load_model() (a CpuRunner or CudaRunner, which also implement
  // detail::DeviceForward); `owned` keeps it alive when the estimator loaded it itself.
  TorchNoiseEstimator(stream::Predictor& runner, std::unique_ptr<stream::Predictor> owned,
                      const stream::KernelGeometry& geometry)
      : owned_(std::move(owned)),
        forward_(as_device_forward(runner)),
        device_(forward_.forward_device()),
        stream_(forward_.forward_stream()),
        channels_(runner.channels()),
        geometry_(geometry),
        a_(geometry.first_used()),
        max_batch_(runner.max_batch()) {
    reset();
  }

  const stream::KernelGeometry& geometry() const override { return geometry_; }
  std::size_t channels() const override { return channels_; }
  std::size_t next_sample() const override { return next_out_; }

  void reset() override {
    x_start_ = 0;
    x_len_ = 0;
    kernels_ = 0;
    y_base_ = 0;
    next_out_ = a_;
    // Buffers are (re)allocated lazily at the first push; dropping them here also frees a segment's
    // device memory early.
    x_ = torch::Tensor();
    sums_ = torch::Tensor();
  }

  void push(const float* x, std::size_t n, std::size_t ld) override {
    if (n == 0) return;
    c10::OptionalStreamGuard stream_guard(stream_);
    c10::InferenceMode inference;
    const std::size_t k = geometry_.kernel_length;
    const std::size_t s = geometry_.stride;

    // 1. New samples into a (C, n) host tensor, pinned when they are going to a GPU.
    const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
    torch::Tensor host = torch::empty({i64(channels_), i64(n)}, device_.is_cuda() ? f32.pinned_memory(true) : f32);
    for (std::size_t c = 0; c < channels_; ++c) {
      std::memcpy(host.data_ptr<float>() + c * n, x + c * ld, n * sizeof(float));
    }

    // 2. Room in the device buffer: keep only what the next kernel still needs.
    const std::size_t keep_from = std::min(kernels_ * s, x_start_ + x_len_);
    make_room(x_, x_start_, x_len_, keep_from, x_len_ + n, torch::kFloat32, /*rows=*/channels_);
    x_.narrow(1, i64(x_len_), i64(n)).copy_(host, /*non_blocking=*/true);
    x_len_ += n;
    if (device_.is_cuda()) pinned_alive_ = host;  // the async copy reads it until the stream moves on

    // 3. Every complete kernel, in batches.
    const std::size_t total = x_start_ + x_len_;
    const std::size_t available = total >= k ? (total - k) / s + 1 : 0;
    while (kernels_ < available) {
      const std::size_t batch = std::min(available - kernels_, max_batch_);
      const std::size_t first = kernels_ * s - x_start_;
      const std::size_t span = (batch - 1) * s + k;
      // (C, span) -> (C, batch, K) strided view -> (batch, C, K); contiguous() packs it on the device.
      const torch::Tensor kernels =
          x_.narrow(1, i64(first), i64(span)).unfold(1, i64(k), i64(s)).permute({1, 0, 2}).contiguous();
      const torch::Tensor p = predict(kernels);
      accumulate(p, batch);
      kernels_ += batch;
    }
  }

  void pop(std::vector<double>& y) override {
    if (kernels_ == 0) return;
    const std::size_t final_end = a_ + kernels_ * geometry_.stride;
    if (final_end <= next_out_) return;
    c10::OptionalStreamGuard stream_guard(stream_);
    c10::InferenceMode inference;
    const std::size_t count = final_end - next_out_;
    // One device-to-host copy of the finished block of sums.
    const torch::Tensor block = sums_.narrow(0, i64(next_out_ - y_base_), i64(count)).to(torch::kCPU);
    const double* sums = block.data_ptr<double>();
    y.reserve(y.size() + count);
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t n = next_out_ + i;
      y.push_back(sums[i] / static_cast<double>(stream::PredictionAverager::terms(geometry_, n)));
    }
    next_out_ = final_end;
  }

 private:
  // Ensures `buf` (rows x capacity, or 1-D when rows == 0) holds columns [keep_from, ...) of the
  // segment with room for `needed_end - (keep_from - start)` columns: shifts the kept columns to the
  // front, grows by doubling when that is not enough. New space is zero (the sums rely on it).
  void make_room(torch::Tensor& buf, std::size_t& start, std::size_t& len, std::size_t keep_from,
                 std::size_t needed_len, torch::ScalarType dtype, std::size_t rows) {
    const int dim = rows > 0 ? 1 : 0;
    const std::size_t capacity = buf.defined() ? static_cast<std::size_t>(buf.size(dim)) : 0;
    if (needed_len <= capacity) return;
    const std::size_t drop = keep_from - start;
    const std::size_t kept = len - drop;
    const std::size_t wanted = needed_len - drop;
    // Shift within the same size when the dropped columns make enough room; otherwise double, so a
    // long segment settles at a fixed buffer and reallocates only to shift.
    const std::size_t new_capacity = wanted <= capacity ? capacity : std::max(wanted, 2 * capacity);
    const auto options = torch::TensorOptions().dtype(dtype).device(device_);
    torch::Tensor fresh = rows > 0 ? torch::zeros({i64(rows), i64(new_capacity)}, options)
                                   : torch::zeros({i64(new_capacity)}, options);
    if (kept > 0) fresh.narrow(dim, 0, i64(kept)).copy_(buf.narrow(dim, i64(drop), i64(kept)));
    buf = fresh;
    start = keep_from;
    len = kept;
  }

  torch::Tensor predict(const torch::Tensor& kernels) {
    const torch::Tensor p = forward_.forward_kernels(kernels);
    if (p.dim() != 2 || p.size(0) != kernels.size(0) || p.size(1) != kernels.size(2)) {
      throw BundleError("device noise estimator: unexpected output shape from the runner");
    }
    return p;
  }

  static detail::DeviceForward& as_device_forward(stream::Predictor& runner) {
    auto* f = dynamic_cast<detail::DeviceForward*>(&runner);
    if (!f) {
      throw BundleError("device noise estimator: the predictor was not made by load_model() (a wrapper cannot "
                        "be driven on the device)");
    }
    return *f;
  }

  // Overlap-add of the used part [a, K) of each prediction into the float64 running sums: kernel j
  // covers samples [j*s + a, j*s + K). col2im with a 1 x (K - a) window and stride s is exactly
  // that sum, done in one call on the device.
  void accumulate(const torch::Tensor& p, std::size_t batch) {
    const std::size_t k = geometry_.kernel_length;
    const std::size_t s = geometry_.stride;
    const std::size_t used = k - a_;
    const std::size_t n0 = kernels_ * s + a_;  // first sample this batch touches (>= next_out_)
    const std::size_t span = (batch - 1) * s + used;
    if (!sums_.defined()) {
      y_base_ = next_out_;
      y_len_ = 0;
    }
    // Samples before next_out_ were popped already and may be dropped.
    make_room(sums_, y_base_, y_len_, next_out_, n0 + span - y_base_, torch::kFloat64, /*rows=*/0);
    const torch::Tensor cols = p.narrow(1, i64(a_), i64(used)).to(torch::kFloat64).t().unsqueeze(0);  // (1, used, B)
    const torch::Tensor summed =
        at::col2im(cols, {1, i64(span)}, {1, i64(used)}, {1, 1}, {0, 0}, {1, i64(s)}).view({-1});
    sums_.narrow(0, i64(n0 - y_base_), i64(span)).add_(summed);
    y_len_ = std::max(y_len_, n0 + span - y_base_);
  }

  std::unique_ptr<stream::Predictor> owned_;
  detail::DeviceForward& forward_;
  torch::Device device_;
  c10::optional<c10::Stream> stream_;
  std::size_t channels_;
  stream::KernelGeometry geometry_;
  std::size_t a_;
  std::size_t max_batch_;

  torch::Tensor x_;             // (C, capacity) witness samples; column 0 is segment sample x_start_
  std::size_t x_start_ = 0;
  std::size_t x_len_ = 0;
  std::size_t kernels_ = 0;     // kernels predicted since the reset
  torch::Tensor sums_;          // float64 running sums of y[n] * terms(n); element 0 is sample y_base_
  std::size_t y_base_ = 0;
  std::size_t y_len_ = 0;
  std::size_t next_out_ = 0;
  torch::Tensor pinned_alive_;
};

}  // namespace

std::unique_ptr<stream::NoiseEstimator> make_device_noise_estimator(stream::Predictor& runner,
                                                                    const stream::KernelGeometry& geometry) {
  geometry.validate(16);
  return std::make_unique<TorchNoiseEstimator>(runner, nullptr, geometry);
}

std::unique_ptr<stream::NoiseEstimator> make_device_noise_estimator(const std::filesystem::path& directory,
                                                                    const RunnerOptions& options,
                                                                    const stream::KernelGeometry& geometry) {
  geometry.validate(16);
  if (geometry.kernel_length != options.kernel_length) {
    throw BundleError(directory.string() + ": geometry kernel length " + std::to_string(geometry.kernel_length) +
                      " differs from RunnerOptions::kernel_length " + std::to_string(options.kernel_length));
  }
  // The full load: checks, warm-up and, on CUDA, the fp16 / graph decisions of the runner.
  LoadedModel loaded = load_model(directory, options);
  stream::Predictor& runner = *loaded.predictor;
  return std::make_unique<TorchNoiseEstimator>(runner, std::move(loaded.predictor), geometry);
}

}  // namespace deepclean::model
