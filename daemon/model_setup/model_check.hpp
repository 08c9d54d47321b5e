// A bundle is checked in a separate process before the service loads it (issue 18; docs/model-bundles.md,
// "Checked in a separate process"). A TorchScript archive is a program, and PyTorch treats it as
// one: torch::jit::load has crashed on crafted files (pytorch/pytorch#77573, #179581), and a model's
// forward() can allocate without bound or loop for ever. Such a model.pt must cost the service a
// refused model with a reason, not the process that cleans: `deepclean model info` (TorchScript
// load, finite weights, the dry run) runs first as a child under an address-space limit and a time
// limit, and only a bundle it passes is loaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace deepclean::daemon {

struct ModelCheckLimits {
  double timeout_seconds = 120;               // then the child is killed (SIGKILL)
  std::uint64_t address_space_bytes = 4ULL << 30;  // RLIMIT_AS of the child
};

// The program whose `model info BUNDLE --kernel-length K` checks a bundle: "/proc/self/exe" in
// `deepclean run`; empty (the default, for library users and tests of other parts): no separate check.
void set_model_check_program(const std::string& program);
const std::string& model_check_program();

// Runs the check; returns when the child passed the bundle. Throws bundle::BundleError naming
// model.pt and what happened: the check's own error (a bad archive, non-finite weights, a wrong
// shape, memory exhausted under the limit), a crash (the signal), or the timeout.
void check_model_in_separate_process(const std::filesystem::path& bundle, std::size_t kernel_length,
                                     const ModelCheckLimits& limits);

}  // namespace deepclean::daemon
