// The witness buffer and the averaging of predictions on the model's device (core/model/device_estimator.cpp).
#pragma once

#include <filesystem>
#include <memory>

#include "core/model/load.hpp"
#include "core/stream/kernel_geometry.hpp"
#include "core/stream/noise_estimator.hpp"

namespace deepclean::model {

// Contract steps 3-5 on the runner's device: witness buffer and averaging live where the model
// runs. On CUDA only each push()'s new samples cross to the GPU (pinned memory, the runner's
// stream), kernels are strided views of the device buffer, the runner's forward pass (with its
// fp16 / graph decisions) runs on them, overlapping predictions are summed on the device (float64)
// and pop() copies back one block of final y. On the CPU it evaluates one kernel per forward pass
// and equals stream::CpuNoiseEstimator over a CPU runner (tests/model); there the CPU runner's
// shared-interior path through stream::CpuNoiseEstimator is the faster choice (daemon/pipeline
// uses this estimator on CUDA only). Batches are up to the runner's max_batch kernels.
//
// Over a predictor returned by load_model() (not a wrapper of one: BundleError), which must
// outlive the estimator; geometry.kernel_length must be the K it was loaded for.
std::unique_ptr<stream::NoiseEstimator> make_device_noise_estimator(stream::Predictor& runner,
                                                                    const stream::KernelGeometry& geometry);
// Loads the bundle itself (load_model(directory, options)) and keeps the runner.
// geometry.kernel_length must equal options.kernel_length.
std::unique_ptr<stream::NoiseEstimator> make_device_noise_estimator(const std::filesystem::path& directory,
                                                                    const RunnerOptions& options,
                                                                    const stream::KernelGeometry& geometry);

}  // namespace deepclean::model
