#include "core/model/torch_internal.hpp"

#include <sstream>
#include <vector>

namespace deepclean::model::detail {

std::string short_message(std::string m) {
  const std::string marker = "RuntimeError: ";
  const auto at = m.rfind(marker);
  if (at != std::string::npos) m = m.substr(at + marker.size());
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  const auto nl = m.find('\n');
  if (nl != std::string::npos) m.resize(nl);
  return m;
}

std::string torch_message(const c10::Error& e) { return short_message(e.what_without_backtrace()); }

std::string shape_str(c10::IntArrayRef sizes) {
  std::ostringstream s;
  s << "(";
  for (std::size_t i = 0; i < sizes.size(); ++i) s << (i ? ", " : "") << sizes[i];
  s << ")";
  return s.str();
}

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

}  // namespace deepclean::model::detail
