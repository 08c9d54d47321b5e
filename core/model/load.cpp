// load_model(): the bundle checked on the CPU, then the runner for the device asked for.
#include "core/model/load.hpp"

#include "core/model/torch_internal.hpp"
#include "core/model/torch_settings.hpp"

namespace deepclean::model {

using detail::Clock;
using detail::seconds_since;

LoadedModel load_model(const std::filesystem::path& directory, const RunnerOptions& options) {
  const auto t0 = Clock::now();
  const DeviceSpec device = parse_device(options.device);
  if (options.max_batch == 0) throw BundleError(directory.string() + ": max_batch must be at least 1");
  apply_torch_settings({});  // changes no pool; the one-time BLAS limit if the owner set nothing yet
  detail::CheckedModule checked = detail::load_checked(directory, options.kernel_length);
  LoadedModel out;
  out.info = checked.info;
  out.report.device = device.str();
  const std::size_t channels = out.info.channels();
  const std::string file = (directory / bundle::kModelFile).string();

  if (device.cuda) {
    check_device_available(device);  // always throws in a CPU-only build
#ifdef DEEPCLEAN_CUDA
    out.predictor = detail::make_cuda_runner(std::move(checked.module), device, channels, options, out.report);
    out.report.load_seconds = seconds_since(t0);
    return out;
#endif
  }

  out.report.load_seconds = seconds_since(t0);
  out.predictor = detail::make_cpu_runner(std::move(checked.module), channels, options, file, out.report);
  return out;
}

std::unique_ptr<stream::Predictor> make_runner(const std::filesystem::path& directory, const RunnerOptions& options) {
  return load_model(directory, options).predictor;
}

}  // namespace deepclean::model
