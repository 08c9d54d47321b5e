// Which device a model runs on, and what this build and this machine offer.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace deepclean::model {

struct DeviceSpec {
  bool cuda = false;
  int index = 0;  // CUDA device ordinal; 0 for "cuda"
  std::string str() const { return cuda ? "cuda:" + std::to_string(index) : "cpu"; }
};

// True when this build has the CUDA runner (DEEPCLEAN_CUDA); whether a GPU is present is decided at load.
bool cuda_support_built();

// "cpu", "cuda" or "cuda:N"; anything else throws bundle::BundleError naming the accepted forms.
DeviceSpec parse_device(const std::string& text);

// Throws bundle::BundleError when `device` cannot be used by this process: CUDA asked of a CPU-only
// build, no GPU or driver visible to LibTorch, or an ordinal past the devices present. The CPU always
// passes. load_model() checks this first; check-config uses it to catch the problem before `run`.
void check_device_available(const DeviceSpec& device);

// Bytes of device memory LibTorch holds in tensors on `device` right now (the CUDA caching
// allocator's allocated bytes, all pools). std::nullopt on the CPU and in builds without
// DEEPCLEAN_CUDA: there is no device memory to report.
std::optional<std::size_t> device_memory_in_use(const DeviceSpec& device);

}  // namespace deepclean::model
