// The full check of a bundle on the CPU (check_bundle(), load.hpp): TorchScript load, finite
// parameters and buffers, a dry run of the expected shape, and batch independence; and the checks
// the runners share (a forward pass's output, the deterministic probe input).
#include <torch/script.h>

#include <algorithm>
#include <sstream>
#include <vector>

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

// Output of one forward pass as a float tensor of the expected (batch, K) shape, or a BundleError
// saying what came back instead.
torch::Tensor forward_checked(torch::jit::Module& module, const torch::Tensor& input, const std::string& file) {
  c10::IValue out;
  try {
    out = module.forward({input});
  } catch (const c10::Error& e) {
    throw BundleError(file + ": forward pass on input " + shape_str(input.sizes()) + " failed: " + torch_message(e));
  } catch (const std::exception& e) {  // torch::jit::JITException: an error raised inside the graph
    throw BundleError(file + ": forward pass on input " + shape_str(input.sizes()) + " failed: " + short_message(e.what()));
  }
  if (!out.isTensor()) {
    throw BundleError(file + ": forward() returned a " + out.tagKind() + ", expected one tensor of shape (B, K)");
  }
  torch::Tensor y = out.toTensor();
  const std::int64_t b = input.size(0);
  const std::int64_t k = input.size(2);
  if (y.dim() != 2 || y.size(0) != b || y.size(1) != k) {
    throw BundleError(file + ": output shape " + shape_str(y.sizes()) + " for input " + shape_str(input.sizes()) +
                      "; a DeepClean model must return (B, K) = (" + std::to_string(b) + ", " + std::to_string(k) + ")");
  }
  if (y.scalar_type() != torch::kFloat32) y = y.to(torch::kFloat32);
  return y;
}

torch::Tensor probe_input(std::size_t batch, std::size_t channels, std::size_t kernel_length, std::uint64_t seed) {
  // A 64-bit LCG rather than torch's generator: the values must not depend on global RNG state.
  std::vector<float> v(batch * channels * kernel_length);
  std::uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (float& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<float>(static_cast<double>(s >> 11U) * 0x1.0p-53 * 4.0 - 2.0);
  }
  return torch::from_blob(v.data(), {i64(batch), i64(channels), i64(kernel_length)}, torch::kFloat32).clone();
}

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
