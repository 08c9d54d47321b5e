// The model alone on the CPU: milliseconds per kernel forward for the ways core/model can run it.
// Usage: bench_model BUNDLE [THREADS [SECONDS_PER_CASE]]
// One process per thread count (LibTorch fixes its pools once); choose the BLAS with
// LD_LIBRARY_PATH (see docs/benchmarks.md, "Model inference (CPU)"). CPU time is process CPU time
// (all threads), wall is steady-clock; on a shared machine CPU time is the one to compare.
#include <ATen/Parallel.h>
#include <time.h>
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/passes/frozen_graph_optimizations.h>
#include <torch/script.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "core/model/load.hpp"
#include "core/model/torch_settings.hpp"

namespace {

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Runs f (which does `kernels` kernels' worth of work) until `budget` seconds of wall time have
// passed (at least 3 times, after 2 warm-up calls) and prints per-kernel wall and CPU times.
void measure(const std::string& name, std::size_t kernels, double budget, const std::function<void()>& f) {
  f();
  f();
  int n = 0;
  const double w0 = wall_seconds();
  const double c0 = cpu_seconds();
  while (n < 3 || wall_seconds() - w0 < budget) {
    f();
    ++n;
  }
  const double wall = (wall_seconds() - w0) / n / static_cast<double>(kernels) * 1e3;
  const double cpu = (cpu_seconds() - c0) / n / static_cast<double>(kernels) * 1e3;
  std::printf("%-44s %8.3f ms/kernel wall %8.3f ms/kernel cpu  (%d calls)\n", name.c_str(), wall, cpu, n);
  std::fflush(stdout);
}

torch::Tensor random_input(std::int64_t b, std::int64_t c, std::int64_t k, std::uint64_t seed) {
  std::vector<float> v(static_cast<std::size_t>(b * c * k));
  std::uint64_t s = seed;
  for (float& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<float>(static_cast<double>(s >> 11U) * 0x1.0p-53 * 4.0 - 2.0);
  }
  return torch::from_blob(v.data(), {b, c, k}, torch::kFloat32).clone();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s BUNDLE [THREADS [SECONDS_PER_CASE]]\n", argv[0]);
    return 2;
  }
  const std::string bundle = argv[1];
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  const double budget = argc > 3 ? std::atof(argv[3]) : 3.0;
  constexpr std::int64_t kK = 4096;
  constexpr std::int64_t kBatch = 16;

  namespace dm = deepclean::model;
  dm::RunnerOptions base;
  base.kernel_length = kK;
  base.max_batch = 128;
  base.cpu_shared_interior = false;
  dm::apply_torch_settings({threads, 1});
  dm::LoadedModel each = dm::load_model(bundle, base);
  const auto c = static_cast<std::int64_t>(each.info.channels());
  std::printf("bundle %s: C = %lld, K = %lld, intra-op threads %d (at::get_num_threads %d)\n", bundle.c_str(),
              static_cast<long long>(c), static_cast<long long>(kK), threads, at::get_num_threads());

  const torch::Tensor x1 = random_input(1, c, kK, 1);
  const torch::Tensor xb = random_input(kBatch, c, kK, 2);
  std::vector<float> out(static_cast<std::size_t>(128 * kK));

  // 1. Raw TorchScript module, as loaded, and after freeze / optimize_for_inference.
  torch::jit::Module module = torch::jit::load(bundle + "/model.pt");
  module.eval();
  c10::InferenceMode inference;
  measure("torchscript forward (1, C, K)", 1, budget, [&] { (void)module.forward({x1}); });
  measure("torchscript forward (16, C, K)", kBatch, budget, [&] { (void)module.forward({xb}); });
  torch::jit::Module frozen = torch::jit::freeze(module.clone());
  measure("frozen forward (1, C, K)", 1, budget, [&] { (void)frozen.forward({x1}); });
  torch::jit::Module to_optimize = module.clone();
  torch::jit::Module optimized = torch::jit::optimize_for_inference(to_optimize);
  measure("optimize_for_inference forward (1, C, K)", 1, budget, [&] { (void)optimized.forward({x1}); });

  // 2. The runner: one forward per kernel (default), one batched pass, and the shared-interior
  //    path on consecutive windows at the benchmark strides (one second of kernels per call).
  measure("runner per kernel, 16 kernels", kBatch, budget,
          [&] { each.predictor->predict(xb.data_ptr<float>(), kBatch, kK, out.data()); });
  dm::RunnerOptions batched = base;
  batched.cpu_kernel_by_kernel = false;
  batched.max_batch = kBatch;
  dm::LoadedModel bat = dm::load_model(bundle, batched);
  measure("runner batched, 16 kernels", kBatch, budget,
          [&] { bat.predictor->predict(xb.data_ptr<float>(), kBatch, kK, out.data()); });

  struct Variant {
    const char* name;
    std::size_t crop;
    bool by_kernel;
  };
  for (const Variant v : {Variant{"shared, crops 1024 one by one", 1024, true},
                          Variant{"shared, crops 192 batched", 192, false}}) {
    dm::RunnerOptions o = base;
    o.cpu_shared_interior = true;
    o.cpu_edge_crop = v.crop;
    o.cpu_kernel_by_kernel = v.by_kernel;
    dm::LoadedModel m = dm::load_model(bundle, o);
    std::printf("  load: %s\n", m.report.notes.c_str());
    for (const std::int64_t rate : {32, 64, 128}) {
      const std::int64_t s = kK / rate;
      const std::int64_t b = rate;  // one second of data
      const torch::Tensor stream = random_input(1, c, (b - 1) * s + kK, 3)[0];
      const torch::Tensor windows = stream.unfold(1, kK, s).permute({1, 0, 2}).contiguous();
      std::vector<float> ref(static_cast<std::size_t>(b * kK));
      each.predictor->predict(windows.data_ptr<float>(), static_cast<std::size_t>(b), kK, ref.data());
      m.predictor->predict(windows.data_ptr<float>(), static_cast<std::size_t>(b), kK, out.data());
      double diff = 0.0, scale = 0.0;
      for (std::size_t i = 0; i < ref.size(); ++i) {
        diff = std::max(diff, static_cast<double>(std::abs(out[i] - ref[i])));
        scale = std::max(scale, static_cast<double>(std::abs(ref[i])));
      }
      const std::string name = std::string("runner ") + v.name + ", " + std::to_string(rate) + " Hz";
      measure(name, static_cast<std::size_t>(b), budget,
              [&] { m.predictor->predict(windows.data_ptr<float>(), static_cast<std::size_t>(b), kK, out.data()); });
      std::printf("    max |shared - per kernel| / max |per kernel| = %.3g\n", diff / scale);
    }
  }
  return 0;
}
