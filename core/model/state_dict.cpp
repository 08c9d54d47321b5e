#include "core/model/state_dict.hpp"

#include <torch/script.h>
#include <torch/serialize.h>

#include <fstream>
#include <iterator>

#include "core/model/torch_internal.hpp"

namespace deepclean::model::detail {

std::map<std::string, PlainTensor> read_state_dict(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw BundleError(file.string() + ": missing or unreadable");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  c10::IValue value;
  try {
    // torch.save writes a zip archive holding a pickle; pickle_load reads exactly that format.
    value = torch::pickle_load(bytes);
  } catch (const c10::Error& e) {
    throw BundleError(file.string() + ": not a torch.save()d file: " + torch_message(e));
  }
  if (!value.isGenericDict()) {
    throw BundleError(file.string() + ": holds a " + value.tagKind() + ", expected a state_dict (dict of tensors)");
  }
  std::map<std::string, PlainTensor> out;
  for (const auto& kv : value.toGenericDict()) {
    if (!kv.key().isString() || !kv.value().isTensor()) continue;
    const torch::Tensor t = kv.value().toTensor().to(torch::kFloat64).contiguous();
    PlainTensor p;
    p.shape.assign(t.sizes().begin(), t.sizes().end());
    p.values.assign(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
    out.emplace(kv.key().toStringRef(), std::move(p));
  }
  return out;
}

}  // namespace deepclean::model::detail
