// device_memory_in_use (runner.hpp): the `deepclean_gpu_memory_bytes` metric of `deepclean run`.
// Only the CUDA branch includes CUDA headers; it is compiled with DEEPCLEAN_CUDA only (a CUDA
// LibTorch), which the development machine does not have.
#include "core/model/runner.hpp"

#include <cstdint>

#ifdef DEEPCLEAN_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <torch/cuda.h>
#endif

namespace deepclean::model {

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
