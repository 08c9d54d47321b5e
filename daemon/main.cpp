// deepclean: real-time DeepClean noise subtraction for gravitational-wave strain.
#include <CLI/CLI.hpp>

#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <cstring>
#include <exception>
#include <iostream>

#include "daemon/commands/commands.hpp"
#include "deepclean/version.hpp"
#ifdef DEEPCLEAN_WITH_TORCH
#include "daemon/model_commands/model_commands.hpp"
#endif

#ifdef DEEPCLEAN_WITH_TORCH
namespace {

// LibTorch's CPU thread pool is libgomp, whose default wait policy spins at every parallel-region
// barrier; on a loaded or shared host two intra-op threads then cost ~20x the CPU of one
// (docs/benchmarks.md, "Model inference (CPU)"). libgomp reads OMP_WAIT_POLICY once, in its own
// constructor, so the variable must be in the environment when the process starts. When it is
// unset, the process re-executes itself (same pid, argv and open files) with
// OMP_WAIT_POLICY=PASSIVE added; an explicit setting, whatever its value, is left alone, and the
// re-executed process sees the variable set, so it does not loop. This runs from .preinit_array:
// before any shared library's constructor, so libgomp and LibTorch's static initialisation
// (~0.7 s of CPU) have not run yet and the re-exec costs only the dynamic loading. If the exec
// fails (no /proc), the process carries on as it is. Commands that never start an OpenMP thread
// (frame, simulate, ctl, --help, --version) skip the re-exec: it costs ~0.4 s of CPU (loading LibTorch).
void passive_openmp_wait(int argc, char** argv, char** envp) {
  if (argc < 2 || argv == nullptr || envp == nullptr || argv[1] == nullptr) return;
  for (const char* torch_free : {"frame", "simulate", "ctl"}) {
    if (std::strcmp(argv[1], torch_free) == 0) return;
  }
  if (argv[1][0] == '-') return;
  constexpr const char* kName = "OMP_WAIT_POLICY=";
  std::size_t n = 0;
  for (; envp[n] != nullptr; ++n) {
    if (std::strncmp(envp[n], kName, std::strlen(kName)) == 0) return;  // set by the user: keep it
  }
  // No allocation this early: a fixed table, and no re-exec for an absurdly large environment.
  static char* env[4096];
  static char passive[] = "OMP_WAIT_POLICY=PASSIVE";
  if (n + 2 > sizeof(env) / sizeof(env[0])) return;
  for (std::size_t i = 0; i < n; ++i) env[i] = envp[i];
  env[n] = passive;
  env[n + 1] = nullptr;
  ::execve("/proc/self/exe", argv, env);
  // Only reached when the exec failed: run without it.
}

__attribute__((section(".preinit_array"), used)) void (*const passive_openmp_wait_entry)(int, char**, char**) =
    &passive_openmp_wait;

}  // namespace
#endif

int main(int argc, char** argv) {
#ifdef __GLIBC__
  // Each second allocates and frees buffers from 128 KB to tens of MB (frames, resampler and
  // filter blocks, the noise estimator's kernels, LibTorch's activations). With glibc's dynamic
  // thresholds many of them are mmap()ed and unmapped, or trimmed off the heap, and fault their
  // pages in again the next second. Keeping blocks below 64 MiB in the heap and up to 128 MiB of
  // freed heap reserved halved the `clean` stage of `deepclean clean` (docs/benchmarks.md); a
  // service reuses that memory every second. (A trim threshold alone, which also freezes the mmap
  // threshold at 128 KiB, is much worse: every LibTorch activation is then mmap()ed.)
  const int mmap_ok = ::mallopt(M_MMAP_THRESHOLD, 64 << 20);
  if (mmap_ok == 1) ::mallopt(M_TRIM_THRESHOLD, 128 << 20);
#endif
  CLI::App app{"deepclean: removes witness-predicted noise from gravitational-wave strain frames"};
  app.set_version_flag("--version", std::string("deepclean ") + deepclean::kVersion);
  app.require_subcommand(1);
  int exit_code = 0;
  deepclean::cli::register_frame_commands(app, exit_code);
  deepclean::cli::register_simulate_commands(app, exit_code);
  deepclean::cli::register_ctl_command(app, exit_code);
#ifdef DEEPCLEAN_WITH_TORCH
  deepclean::cli::register_model_commands(app, exit_code);
  deepclean::cli::register_clean_commands(app, exit_code);
  deepclean::cli::register_run_command(app, exit_code);
  deepclean::cli::register_train_command(app, exit_code);
  deepclean::cli::register_retrain_command(app, exit_code);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "deepclean: " << e.what() << "\n";
    return 1;
  }
  return exit_code;
}
