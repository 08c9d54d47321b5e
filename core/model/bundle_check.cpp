// The full check of a bundle on the CPU (check_bundle(), load.hpp): TorchScript load, finite
// parameters and buffers, a dry run of the expected shape, and batch independence.
#include <torch/script.h>

#include <algorithm>
#include <sstream>

#include "core/model/load.hpp"
#include "core/model/torch_internal.hpp"

namespace deepclean::model {
namespace detail {
namespace {

// The model's input channel count as declared by its first Conv1d, if it has one; used only to
// explain a failed dry run.
std::int64_t declared_input_channels(const torch::jit::Module& module) {
  for (const auto& sub : module.named_modules()) {
    const auto type = sub.value.type()->name();
    if (!type || type->name() != "Conv1d") continue;
    if (!sub.value.hasattr("weight")) continue;
    const c10::IValue w = sub.value.attr("weight");
    if (w.isTensor() && w.toTensor().dim() == 3) return w.toTensor().size(1);
  }
  return -1;
}

}  // namespace

CheckedModule load_checked(const std::filesystem::path& directory, std::size_t kernel_length) {
  CheckedModule c;
  c.info = bundle::read_bundle_info(directory);
  const std::string file = (directory / bundle::kModelFile).string();
  if (kernel_length == 0 || kernel_length % 16 != 0) {
    throw BundleError(file + ": kernel length " + std::to_string(kernel_length) +
                      " is not a positive multiple of 16 (the DeepClean network halves the length four times)");
  }
  try {
    c.module = torch::jit::load(file, torch::Device(torch::kCPU));
  } catch (const c10::Error& e) {
    throw BundleError(file + ": not a loadable TorchScript archive: " + torch_message(e));
  }
  c.module.eval();

  // Non-finite weights or BatchNorm statistics would poison every prediction silently.
  std::size_t params = 0;
  for (const auto& p : c.module.named_parameters(/*recurse=*/true)) {
    params += static_cast<std::size_t>(p.value.numel());
    if (p.value.is_floating_point() && !torch::isfinite(p.value).all().item<bool>()) {
      throw BundleError(file + ": parameter '" + p.name + "' has non-finite values");
    }
  }
  for (const auto& b : c.module.named_buffers(/*recurse=*/true)) {
    if (b.value.is_floating_point() && !torch::isfinite(b.value).all().item<bool>()) {
      throw BundleError(file + ": buffer '" + b.name + "' has non-finite values");
    }
  }
  c.info.parameter_count = params;

  const std::size_t channels = c.info.channels();
  c10::InferenceMode guard;
  const torch::Tensor pair = probe_input(2, channels, kernel_length, 7);
  torch::Tensor one;
  try {
    one = forward_checked(c.module, pair.slice(0, 0, 1).contiguous(), file);
  } catch (const BundleError&) {
    const std::int64_t declared = declared_input_channels(c.module);
    if (declared > 0 && declared != i64(channels)) {
      throw BundleError(file + ": the model takes " + std::to_string(declared) + " witness channels but " +
                        (directory / bundle::kBundleFile).string() + " lists " + std::to_string(channels));
    }
    throw;
  }
  if (!torch::isfinite(one).all().item<bool>()) {
    throw BundleError(file + ": dry run on finite input produced non-finite output");
  }
  // BatchNorm traced in training mode normalises with batch statistics: then a kernel's prediction
  // depends on its batch mates, which the contract forbids. Compare alone vs. in a batch of two.
  const torch::Tensor both = forward_checked(c.module, pair, file);
  const double scale = std::max(one.abs().max().item<double>(), 1e-30);
  const double diff = (both.slice(0, 0, 1) - one).abs().max().item<double>();
  if (!(diff <= 1e-5 * scale)) {
    std::ostringstream s;
    s << file << ": a kernel's prediction changes with its batch (max relative difference " << diff / scale
      << "); was the model traced in training mode (BatchNorm using batch statistics)?";
    throw BundleError(s.str());
  }
  return c;
}

}  // namespace detail

BundleInfo check_bundle(const std::filesystem::path& directory, std::size_t kernel_length) {
  return detail::load_checked(directory, kernel_length).info;
}

}  // namespace deepclean::model
