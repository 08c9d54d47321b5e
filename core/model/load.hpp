// Loading a model bundle into LibTorch and serving predictions (core/model's entry point). Torch-free
// header: the LibTorch types stay inside core/model's .cpp files (pimpl through stream::Predictor).
// Thread pools are process-wide and set beforehand: torch_settings.hpp.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include "core/bundle/bundle.hpp"
#include "core/model/device.hpp"
#include "core/stream/predictor.hpp"

namespace deepclean::model {

// core/model reports every problem as a bundle error naming the file (core/bundle/bundle.hpp).
using bundle::BundleError;
using bundle::BundleInfo;

struct RunnerOptions {
  std::string device = "cpu";
  std::size_t kernel_length = 4096;  // production K in samples (multiple of 16); dry run and warm-up use it
  std::size_t max_batch = 16;        // largest batch predict() takes
  int warmup_calls = 5;              // forward passes at the production shape before serving
  // CPU only. true: predict() runs one forward pass per kernel, so a prediction is bitwise the
  // same whatever batch it arrives in (oneDNN picks different convolution blockings for different
  // batch sizes, ~1e-6 relative apart); what batching would save is in docs/benchmarks.md ("Model
  // inference (CPU)"). false: one batched forward pass.
  bool cpu_kernel_by_kernel = true;
  // CPU only. When a batch holds consecutive windows of one stream (kernel j+1 is kernel j moved
  // by s samples, s a multiple of 16: what stream::CpuNoiseEstimator passes), predict() runs the
  // network once over the stitched stream in K-long chunks for every kernel's interior, and only
  // short edge crops of cpu_edge_crop samples per kernel for the 96 samples at each end that feel
  // the kernel's own zero padding (the DeepClean receptive field; docs/benchmarks.md derives it).
  // Every forward pass is then a shape the per-kernel path could also run, and a check at load
  // compares this path with one forward per kernel on probe data: it stays on only if the
  // largest difference is <= 1e-6 of the largest prediction (LoadReport::notes says otherwise).
  // cpu_edge_crop: a multiple of 16 in [192, K]. 1024 and up, one crop per forward
  // (cpu_kernel_by_kernel), reproduced the per-kernel predictions bit for bit with Debian's
  // LibTorch 1.13 and the reference BLAS (oneDNN picks another convolution path below 1024 samples:
  // ~1e-6 relative); with OpenBLAS, whose GEMM rounds by size, they differ by <= 7.1e-7.
  // Through Predictor::predict_from (the noise estimator passes a = KernelGeometry::first_used())
  // the left-edge crops and the chunks serving positions below a only are skipped; positions >= a
  // are bit for bit those of predict().
  bool cpu_shared_interior = true;
  std::size_t cpu_edge_crop = 1024;
  // CUDA only (ignored on CPU). Each is kept only if its outputs stay within 1e-3 relative RMS of
  // the plain float32 path on the warm-up input; otherwise the runner falls back and says so.
  bool cuda_fp16 = false;
  bool cuda_graph = false;
};

// What a successful load did, for logs and `deepclean model info`.
struct LoadReport {
  std::string device;
  double load_seconds = 0.0;
  double warmup_seconds = 0.0;
  // One predict() of max_batch kernels (C, K) after warm-up: unrelated kernels, or consecutive
  // windows at stride 32 when the CPU shared-interior path is on (what the noise estimator passes).
  double last_warmup_call_ms = 0.0;
  bool fp16 = false;                 // in use after the accuracy check
  bool cuda_graph = false;
  std::string notes;                 // e.g. why fp16 or graph capture was turned off
};

struct LoadedModel {
  bundle::BundleInfo info;
  std::unique_ptr<stream::Predictor> predictor;
  LoadReport report;
};

// Full check of a bundle on the CPU: bundle.yaml, TorchScript load, no non-finite parameter or
// buffer, a dry run (1, C, K) -> (1, K) with finite output, and batch independence (a kernel alone
// and inside a batch of two give the same prediction, which fails when BatchNorm was traced in
// training mode). Fills parameter_count. K must be a multiple of 16.
bundle::BundleInfo check_bundle(const std::filesystem::path& directory, std::size_t kernel_length);

// check_bundle, then the runner on options.device, warmed up. The predictor takes (B, C, K) float32
// kernels with B <= max_batch and any K that is a positive multiple of 16; results do not depend
// on B. predict() may be called from any thread (calls are serialised).
LoadedModel load_model(const std::filesystem::path& directory, const RunnerOptions& options);

// load_model(...).predictor.
std::unique_ptr<stream::Predictor> make_runner(const std::filesystem::path& directory,
                                               const RunnerOptions& options);

}  // namespace deepclean::model
