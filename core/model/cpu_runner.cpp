// The CPU runner: one forward pass per kernel (or one batched pass), or, for the consecutive
// windows the noise estimator passes, the shared-interior evaluation (RunnerOptions, load.hpp).
#include <ATen/Parallel.h>
#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <sstream>
#include <vector>

#include "core/model/load.hpp"
#include "core/model/torch_internal.hpp"

// ATen's at::parallel_for is a header template whose `#pragma omp parallel` is compiled in the
// caller's file: without -fopenmp it silently becomes a serial loop, and every op inside then opens
// its own OpenMP region (measured: 2 threads slower than 1; docs/benchmarks.md). core/model/CMakeLists.txt
// compiles the folder with the flag.
#if AT_PARALLEL_OPENMP && !defined(_OPENMP)
#error "core/model/cpu_runner.cpp must be compiled with -fopenmp when LibTorch uses OpenMP"
#endif

namespace deepclean::model::detail {
namespace {

// Samples at each end of a kernel whose prediction depends on the kernel's own zero padding. For
// the DeepClean network (Conv1d/ConvTranspose1d k=7, four stride-2 stages) propagating "touches a
// padded value" layer by layer gives positions [0, 81) on the left and [K-96, K) on the right for
// any K that is a multiple of 16; 96 covers both and keeps chunk starts on the 16-sample grid.
constexpr std::size_t kEdge = 96;

class CpuRunner final : public stream::Predictor, public DeviceForward {
 public:
  CpuRunner(torch::jit::Module module, std::size_t channels, std::size_t max_batch, bool kernel_by_kernel,
            std::size_t edge_crop, std::string file)
      : module_(std::move(module)),
        channels_(channels),
        max_batch_(max_batch),
        kernel_by_kernel_(kernel_by_kernel),
        edge_crop_(edge_crop),
        file_(std::move(file)) {}

  std::size_t channels() const override { return channels_; }
  std::size_t max_batch() const override { return max_batch_; }

  void set_shared(bool on) { shared_ = on; }
  bool shared() const { return shared_; }
  std::size_t shared_calls() const { return shared_calls_; }

  void predict(const float* kernels, std::size_t batch, std::size_t kernel_length, float* out) override {
    predict_from(kernels, batch, kernel_length, 0, out);
  }

  // Positions [needed_from, K) of every prediction are those of predict(), bit for bit: the shared
  // path runs the same forward passes for them (chunks are placed from the stream's end, so the
  // chunk holding a position does not depend on needed_from), and skips the left-edge crops and
  // the interior chunks that serve positions below needed_from only.
  void predict_from(const float* kernels, std::size_t batch, std::size_t kernel_length, std::size_t needed_from,
                    float* out) override {
    if (batch == 0) return;
    check_call(batch, kernel_length);
    std::lock_guard<std::mutex> lock(mutex_);
    c10::InferenceMode guard;
    if (shared_) {
      const std::size_t s = consecutive_stride(kernels, batch, kernel_length);
      if (s > 0 && shared_shapes_ok(kernel_length, s)) {
        const Plan p = plan(batch, kernel_length, s, needed_from);
        if (shared_pays(p, batch, kernel_length)) {
          predict_shared(stitched(kernels, batch, kernel_length, s), batch, kernel_length, s, p, out);
          ++shared_calls_;
          return;
        }
      }
    }
    predict_each(kernels, batch, kernel_length, out);
  }

  // Kernels read in place from the caller's stream (stream::CpuNoiseEstimator's ring): the shared
  // path takes the stream as a strided view, so neither the (batch, C, K) copy nor the check that
  // the kernels are consecutive is needed; the forward passes see the same values as through
  // predict_from(), so the positions it defines are bit for bit the same (tests/model).
  void predict_windows(const float* x, std::size_t ld, std::size_t stride, std::size_t batch,
                       std::size_t kernel_length, std::size_t needed_from, float* out) override {
    if (batch == 0) return;
    check_call(batch, kernel_length);
    if (shared_ && batch >= 2 && stride < kernel_length && shared_shapes_ok(kernel_length, stride)) {
      const Plan p = plan(batch, kernel_length, stride, needed_from);
      if (shared_pays(p, batch, kernel_length)) {
        std::lock_guard<std::mutex> lock(mutex_);
        c10::InferenceMode guard;
        const std::size_t total = (batch - 1) * stride + kernel_length;
        const torch::Tensor view = torch::from_blob(const_cast<float*>(x), {1, i64(channels_), i64(total)},
                                                    {i64(channels_ * ld), i64(ld), 1}, torch::kFloat32);
        predict_shared(view, batch, kernel_length, stride, p, out);
        ++shared_calls_;
        return;
      }
    }
    stream::Predictor::predict_windows(x, ld, stride, batch, kernel_length, needed_from, out);
  }

  // One forward pass per kernel (or one batched pass), whatever the kernels hold.
  void predict_each(const float* kernels, std::size_t batch, std::size_t kernel_length, float* out) {
    // The caller's buffer is wrapped, not copied; the network does not write to its input.
    const std::size_t step = kernel_by_kernel_ ? 1 : batch;
    for (std::size_t j = 0; j < batch; j += step) {
      const torch::Tensor in = torch::from_blob(const_cast<float*>(kernels + j * channels_ * kernel_length),
                                                {i64(step), i64(channels_), i64(kernel_length)}, torch::kFloat32);
      const torch::Tensor y = forward_checked(module_, in, file_).contiguous();
      std::memcpy(out + j * kernel_length, y.data_ptr<float>(), step * kernel_length * sizeof(float));
    }
  }

  torch::Device forward_device() const override { return torch::Device(torch::kCPU); }
  c10::optional<c10::Stream> forward_stream() const override { return c10::nullopt; }
  // One forward pass per kernel when kernel_by_kernel_ (predictions independent of the batch, bit
  // for bit, as in predict_each), else one batched pass.
  torch::Tensor forward_kernels(const torch::Tensor& kernels) override {
    std::lock_guard<std::mutex> lock(mutex_);
    c10::InferenceMode guard;
    const std::int64_t b = kernels.size(0);
    if (!kernel_by_kernel_ || b == 1) return forward_checked(module_, kernels.contiguous(), file_);
    std::vector<torch::Tensor> parts;
    parts.reserve(static_cast<std::size_t>(b));
    for (std::int64_t j = 0; j < b; ++j) {
      parts.push_back(forward_checked(module_, kernels.narrow(0, j, 1).contiguous(), file_));
    }
    return torch::cat(parts, 0);
  }

  // Warm-up of the edge-crop shape, so the profiling executor has optimised it before serving.
  void warm_crop(std::size_t kernel_length, int calls) {
    if (edge_crop_ == 0 || edge_crop_ > kernel_length) return;
    std::lock_guard<std::mutex> lock(mutex_);
    c10::InferenceMode guard;
    const std::size_t b = kernel_by_kernel_ ? 1 : max_batch_;
    const torch::Tensor x = probe_input(b, channels_, edge_crop_, 12);
    for (int i = 0; i < calls; ++i) (void)forward_checked(module_, x, file_);
  }

 private:
  void check_call(std::size_t batch, std::size_t kernel_length) const {
    if (batch > max_batch_) {
      throw BundleError(file_ + ": batch of " + std::to_string(batch) + " kernels exceeds max_batch " +
                        std::to_string(max_batch_));
    }
    if (kernel_length == 0 || kernel_length % 16 != 0) {
      throw BundleError(file_ + ": kernel length " + std::to_string(kernel_length) + " is not a positive multiple of 16");
    }
  }

  // s > 0 when every kernel j+1 equals kernel j moved by s samples in every channel, s a multiple of
  // 16 below K; 0 otherwise. The check is exact (bitwise), so the stitched stream below is exactly
  // what every kernel holds.
  std::size_t consecutive_stride(const float* k, std::size_t batch, std::size_t kl) const {
    if (batch < 2) return 0;
    const std::size_t kernel_size = channels_ * kl;
    const float* k0 = k;
    const float* k1 = k + kernel_size;
    for (std::size_t s = 16; s < kl; s += 16) {
      if (std::memcmp(k1, k0 + s, sizeof(float)) != 0) continue;  // cheap first-sample screen
      bool all = true;
      for (std::size_t j = 0; all && j + 1 < batch; ++j) {
        const float* a = k + j * kernel_size;
        const float* b = a + kernel_size;
        for (std::size_t c = 0; all && c < channels_; ++c) {
          all = std::memcmp(b + c * kl, a + c * kl + s, (kl - s) * sizeof(float)) == 0;
        }
      }
      if (all) return s;
    }
    return 0;
  }

  // Chunk and crop starts of the shared evaluation (positions in the stitched stream).
  struct Plan {
    std::vector<std::size_t> chunks;  // chunk i serves stream positions [from[i], to[i])
    std::vector<std::size_t> from;
    std::vector<std::size_t> to;
    std::vector<std::size_t> crops;
    std::size_t interior_from = 0;    // first position of each kernel taken from the chunks
  };

  // Chunks of exactly K, each valid on [kEdge, K - kEdge) of itself, laid from the end of the
  // stream backwards: chunk 0 ends where the stream ends, chunk i starts K - 2 kEdge before chunk
  // i - 1 (all starts on the kernels' 16-sample grid), and the first one is clamped to the stream
  // start. Only as many as reach down to the first needed interior position are run, so which
  // chunk (and forward pass) produces a position is the same for every needed_from.
  Plan plan(std::size_t batch, std::size_t kl, std::size_t s, std::size_t needed_from) const {
    Plan p;
    const std::size_t total = (batch - 1) * s + kl;
    p.interior_from = std::max(kEdge, std::min(needed_from, kl - kEdge));
    if (p.interior_from < kl - kEdge) {
      const std::size_t lo = p.interior_from;  // first needed interior position over all kernels
      std::size_t upper = total - kEdge;
      std::size_t st = total - kl;
      while (upper > lo) {
        p.chunks.push_back(st);
        p.from.push_back(std::max(lo, st + kEdge));
        p.to.push_back(upper);
        upper = st + kEdge;
        if (st == 0) break;
        st = st >= kl - 2 * kEdge ? st - (kl - 2 * kEdge) : 0;
      }
    }
    // A crop starting where kernel j starts serves j's left edge (needed only when needed_from is
    // inside it); one ending where kernel j ends serves its right edge; the same crop can do both
    // for two different kernels.
    for (std::size_t j = 0; j < batch; ++j) {
      if (needed_from < kEdge) p.crops.push_back(j * s);
      p.crops.push_back(j * s + kl - edge_crop_);
    }
    std::sort(p.crops.begin(), p.crops.end());
    p.crops.erase(std::unique(p.crops.begin(), p.crops.end()), p.crops.end());
    return p;
  }

  // The shared path's geometric preconditions (stride on the 16-sample grid, crops that fit).
  bool shared_shapes_ok(std::size_t kl, std::size_t s) const {
    return s % 16 == 0 && edge_crop_ % 16 == 0 && edge_crop_ >= 2 * kEdge && edge_crop_ < kl && kl >= 4 * kEdge;
  }

  bool shared_pays(const Plan& p, std::size_t batch, std::size_t kl) const {
    // Forward cost ~ samples, plus a fixed per-call cost of about 32 samples' worth for small crops.
    const double cost = static_cast<double>(p.chunks.size() * kl + p.crops.size() * (edge_crop_ + 32));
    return cost < 0.8 * static_cast<double>(batch * kl);
  }

  // The stream (1, C, (batch - 1) s + K) that consecutive kernels at stride s were cut from:
  // kernel 0, then the last s samples of every further kernel.
  torch::Tensor stitched(const float* kernels, std::size_t batch, std::size_t kl, std::size_t s) const {
    const std::size_t total = (batch - 1) * s + kl;
    const std::size_t kernel_size = channels_ * kl;
    torch::Tensor stream = torch::empty({1, i64(channels_), i64(total)}, torch::kFloat32);
    float* st = stream.data_ptr<float>();
    for (std::size_t c = 0; c < channels_; ++c) {
      std::memcpy(st + c * total, kernels + c * kl, kl * sizeof(float));
      for (std::size_t j = 1; j < batch; ++j) {
        std::memcpy(st + c * total + (j - 1) * s + kl, kernels + j * kernel_size + c * kl + (kl - s),
                    s * sizeof(float));
      }
    }
    return stream;
  }

  // `stream` (1, C, total), contiguous or a strided view: kernel j is stream[..., j s : j s + K].
  void predict_shared(const torch::Tensor& stream, std::size_t batch, std::size_t kl, std::size_t s, const Plan& p,
                      float* out) {
    const std::size_t total = (batch - 1) * s + kl;

    // Interiors: one long prediction over [interior_from, total - kEdge), in K-long chunks.
    // Chunks and crops are independent forward passes: with several intra-op threads they run side
    // by side, each single-threaded inside at::parallel_for (LibTorch runs nested parallel regions
    // inline), which avoids a barrier per layer on these small shapes. They write disjoint outputs.
    // at::parallel_for's OpenMP pragma is compiled here, hence -fopenmp for this file (see the
    // check after the includes).
    std::vector<float> interior(total, 0.0F);
    at::parallel_for(0, i64(p.chunks.size()), 1, [&](std::int64_t b, std::int64_t e) {
      c10::InferenceMode worker_guard;
      for (auto i = static_cast<std::size_t>(b); i < static_cast<std::size_t>(e); ++i) {
        const std::size_t c0 = p.chunks[i];
        const std::size_t from = p.from[i];
        const std::size_t to = p.to[i];
        const torch::Tensor y =
            forward_checked(module_, stream.narrow(2, i64(c0), i64(kl)).contiguous(), file_).contiguous();
        std::memcpy(interior.data() + from, y.data_ptr<float>() + (from - c0), (to - from) * sizeof(float));
      }
    });
    if (!p.chunks.empty()) {
      const std::size_t f = p.interior_from;
      for (std::size_t j = 0; j < batch; ++j) {
        std::memcpy(out + j * kl + f, interior.data() + j * s + f, (kl - kEdge - f) * sizeof(float));
      }
    }

    // Edges: crops of edge_crop_ samples, one per forward (or batched when the runner batches).
    const std::size_t step = kernel_by_kernel_ ? 1 : max_batch_;
    const std::size_t groups = (p.crops.size() + step - 1) / step;
    at::parallel_for(0, i64(groups), 1, [&](std::int64_t gb, std::int64_t ge) {
      c10::InferenceMode worker_guard;
      for (auto g = static_cast<std::size_t>(gb); g < static_cast<std::size_t>(ge); ++g) {
        crop_group(stream, p.crops, g * step, std::min(step, p.crops.size() - g * step), batch, kl, s, out);
      }
    });
  }

  // Forward of crops [i, i + n) of `starts` (one batch) and their edges into `out`.
  void crop_group(const torch::Tensor& stream, const std::vector<std::size_t>& starts, std::size_t i, std::size_t n,
                  std::size_t batch, std::size_t kl, std::size_t s, float* out) {
    const std::size_t w = edge_crop_;
    const std::vector<std::size_t>& crops = starts;
    {
      torch::Tensor in;
      if (n == 1) {
        in = stream.narrow(2, i64(crops[i]), i64(w)).contiguous();
      } else {
        std::vector<torch::Tensor> parts;
        for (std::size_t q = 0; q < n; ++q) parts.push_back(stream.narrow(2, i64(crops[i + q]), i64(w)));
        in = torch::cat(parts, 0);
      }
      const torch::Tensor y = forward_checked(module_, in, file_).contiguous();
      const float* yp = y.data_ptr<float>();
      for (std::size_t q = 0; q < n; ++q) {
        const std::size_t at = crops[i + q];
        const float* row = yp + q * w;
        if (at % s == 0 && at / s < batch) {  // left edge of kernel at / s
          std::memcpy(out + (at / s) * kl, row, kEdge * sizeof(float));
        }
        const std::size_t end = at + w;  // right edge of the kernel ending here
        if (end >= kl && (end - kl) % s == 0 && (end - kl) / s < batch) {
          std::memcpy(out + ((end - kl) / s) * kl + (kl - kEdge), row + (w - kEdge), kEdge * sizeof(float));
        }
      }
    }
  }

  torch::jit::Module module_;
  std::size_t channels_;
  std::size_t max_batch_;
  bool kernel_by_kernel_;
  std::size_t edge_crop_;
  std::string file_;
  bool shared_ = false;
  std::size_t shared_calls_ = 0;
  std::mutex mutex_;
};

// Consecutive windows (stride s) of a pseudo-random stream, as stream::CpuNoiseEstimator passes
// them: (batch, C, K).
torch::Tensor probe_windows(std::size_t batch, std::size_t channels, std::size_t kernel_length, std::size_t s,
                            std::uint64_t seed) {
  const std::size_t n = (batch - 1) * s + kernel_length;
  const torch::Tensor stream = probe_input(1, channels, n, seed);
  torch::Tensor out = torch::empty({i64(batch), i64(channels), i64(kernel_length)}, torch::kFloat32);
  const float* src = stream.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  for (std::size_t j = 0; j < batch; ++j) {
    for (std::size_t c = 0; c < channels; ++c) {
      std::memcpy(dst + (j * channels + c) * kernel_length, src + c * n + j * s, kernel_length * sizeof(float));
    }
  }
  return out;
}

// Largest |shared - per kernel| over the largest |per kernel| on probe windows, at two strides.
double shared_deviation(CpuRunner& runner, std::size_t channels, std::size_t kernel_length, std::size_t max_batch) {
  double worst = 0.0;
  for (const std::size_t s : {std::size_t{32}, std::size_t{112}}) {
    const std::size_t batch = std::min<std::size_t>(max_batch, 12);
    if (batch < 2 || s >= kernel_length) continue;
    const torch::Tensor x = probe_windows(batch, channels, kernel_length, s, 17 + s);
    std::vector<float> each(batch * kernel_length), shared(batch * kernel_length);
    runner.predict_each(x.data_ptr<float>(), batch, kernel_length, each.data());
    const std::size_t before = runner.shared_calls();
    runner.predict(x.data_ptr<float>(), batch, kernel_length, shared.data());
    if (runner.shared_calls() == before) continue;  // not worth it at this shape: nothing to check
    double diff = 0.0, scale = 1e-30;
    for (std::size_t i = 0; i < each.size(); ++i) {
      diff = std::max(diff, static_cast<double>(std::abs(each[i] - shared[i])));
      scale = std::max(scale, static_cast<double>(std::abs(each[i])));
    }
    worst = std::max(worst, diff / scale);
  }
  return worst;
}

}  // namespace

std::unique_ptr<stream::Predictor> make_cpu_runner(torch::jit::Module module, std::size_t channels,
                                                   const RunnerOptions& options, const std::string& file,
                                                   LoadReport& report) {
  auto runner = std::make_unique<CpuRunner>(std::move(module), channels, options.max_batch,
                                            options.cpu_kernel_by_kernel, options.cpu_edge_crop, file);
  // The TorchScript profiling executor optimises a graph only after it has seen a shape a few
  // times; serving must not pay that on the first real frames. Warm up at every shape the
  // forward pass will see: one kernel, and (batched mode) the largest batch.
  const auto t1 = Clock::now();
  std::vector<float> sink(options.max_batch * options.kernel_length);
  std::vector<std::size_t> shapes{1};
  if (!options.cpu_kernel_by_kernel && options.max_batch > 1) shapes.push_back(options.max_batch);
  for (const std::size_t b : shapes) {
    const torch::Tensor x = probe_input(b, channels, options.kernel_length, 11);
    for (int i = 0; i < options.warmup_calls; ++i) {
      runner->predict(x.data_ptr<float>(), b, options.kernel_length, sink.data());
    }
  }
  const std::size_t crop = options.cpu_edge_crop;
  if (options.cpu_shared_interior && (crop % 16 != 0 || crop < 2 * kEdge)) {
    throw BundleError(file + ": cpu_edge_crop " + std::to_string(crop) + " must be a multiple of 16 and at least " +
                      std::to_string(2 * kEdge));
  }
  if (options.cpu_shared_interior && crop < options.kernel_length) {
    runner->warm_crop(options.kernel_length, options.warmup_calls);
    runner->set_shared(true);
    const double dev = shared_deviation(*runner, channels, options.kernel_length, options.max_batch);
    std::ostringstream note;
    if (dev <= 1e-6) {
      note << "cpu shared-interior evaluation on (edge crops " << options.cpu_edge_crop
           << "; max relative deviation from one forward per kernel on probe data " << dev << ")";
    } else {
      runner->set_shared(false);
      note << "cpu shared-interior evaluation off: it deviates by " << dev
           << " relative from one forward per kernel on probe data (limit 1e-6)";
    }
    report.notes += (report.notes.empty() ? "" : "; ") + note.str();
  }
  report.warmup_seconds = seconds_since(t1);
  // One call at the largest batch, timed for the report. With the shared-interior path on, the
  // batch is what stream::CpuNoiseEstimator passes (consecutive windows, here at stride 32), not
  // max_batch unrelated kernels that would take max_batch forward passes the service never runs.
  const bool windows = runner->shared() && options.max_batch > 1 && options.kernel_length > 32;
  const torch::Tensor x = windows ? probe_windows(options.max_batch, channels, options.kernel_length, 32, 13)
                                  : probe_input(options.max_batch, channels, options.kernel_length, 13);
  const auto t2 = Clock::now();
  runner->predict(x.data_ptr<float>(), options.max_batch, options.kernel_length, sink.data());
  report.last_warmup_call_ms = 1e3 * seconds_since(t2);
  return runner;
}

}  // namespace deepclean::model::detail
