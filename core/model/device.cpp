// Device parsing and checks, and the `deepclean_gpu_memory_bytes` figure. Only the CUDA branches
// include CUDA headers; they are compiled with DEEPCLEAN_CUDA only (a CUDA LibTorch), which the
// development machine does not have (tools/check-cuda-syntax.sh checks them there).
#include "core/model/device.hpp"

#include <cctype>
#include <cstdint>

#ifdef DEEPCLEAN_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <torch/cuda.h>
#endif

#include "core/bundle/bundle.hpp"

namespace deepclean::model {

using bundle::BundleError;

bool cuda_support_built() {
#ifdef DEEPCLEAN_CUDA
  return true;
#else
  return false;
#endif
}

DeviceSpec parse_device(const std::string& text) {
  if (text == "cpu") return {};
  if (text == "cuda") return {true, 0};
  const std::string prefix = "cuda:";
  if (text.size() > prefix.size() && text.compare(0, prefix.size(), prefix) == 0 &&
      text.size() - prefix.size() <= 3) {
    int index = 0;
    for (std::size_t i = prefix.size(); i < text.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
        index = -1;
        break;
      }
      index = index * 10 + (text[i] - '0');
    }
    if (index >= 0) return {true, index};
  }
  throw BundleError("device '" + text + "': expected 'cpu', 'cuda' or 'cuda:N'");
}

void check_device_available(const DeviceSpec& device) {
  if (!device.cuda) return;
#ifdef DEEPCLEAN_CUDA
  if (!torch::cuda::is_available()) {
    throw BundleError("device '" + device.str() + "': CUDA is not available (no GPU or driver visible to LibTorch)");
  }
  // size_t in LibTorch 1.x and early 2.x, c10::DeviceIndex (int8_t) in later 2.x.
  const auto count = static_cast<std::int64_t>(torch::cuda::device_count());
  if (device.index < 0 || device.index >= count) {
    throw BundleError("device '" + device.str() + "': only " + std::to_string(count) + " CUDA device(s) present");
  }
#else
  throw BundleError("device '" + device.str() +
                    "': this deepclean was built without CUDA (configure with -DDEEPCLEAN_CUDA=ON and "
                    "DEEPCLEAN_TORCH_PREFIX pointing at a CUDA PyTorch)");
#endif
}

std::optional<std::size_t> device_memory_in_use(const DeviceSpec& device) {
  if (!device.cuda) return std::nullopt;
#ifdef DEEPCLEAN_CUDA
  // device_count() is size_t in LibTorch 1.13 and a signed DeviceIndex in 2.x: compare as int64.
  if (!torch::cuda::is_available() || device.index < 0 ||
      static_cast<std::int64_t>(device.index) >= static_cast<std::int64_t>(torch::cuda::device_count())) {
    return std::nullopt;
  }
  // Bytes in live tensors (not the larger cache the allocator reserved from the driver). Index 0
  // of the stat array is StatType::AGGREGATE (all pools) in every LibTorch since 1.9.
  // The parameter is `int` in 1.13 and c10::DeviceIndex (int8_t) in 2.x; the index was just
  // checked against device_count(), so the narrowing cast cannot change it.
  const auto stats =
      c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(device.index));
  const std::int64_t bytes = stats.allocated_bytes[0].current;
  return bytes < 0 ? std::size_t{0} : static_cast<std::size_t>(bytes);
#else
  return std::nullopt;
#endif
}

}  // namespace deepclean::model
