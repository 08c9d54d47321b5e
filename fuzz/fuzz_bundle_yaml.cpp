// libFuzzer entry for a model bundle's bundle.yaml (issue 18): any text must give a BundleInfo
// whose fields pass validate_bundle_fields, or a bundle::BundleError naming the file, never a
// crash, a hang, another exception type or undefined behaviour. (model.pt, the TorchScript half of
// a bundle, is LibTorch's to read; tests/model loads hostile ones.)
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/bundle/bundle.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace b = deepclean::bundle;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const b::BundleInfo info = b::parse_bundle_yaml(text, "bundle.yaml");
    b::validate_bundle_fields(info, "bundle.yaml");  // what was accepted is valid
    // Written back and read again: the same fields.
    const b::BundleInfo again = b::parse_bundle_yaml(b::bundle_yaml(info), "again.yaml");
    if (again.witnesses != info.witnesses || again.sample_rate != info.sample_rate ||
        again.bands.size() != info.bands.size() || again.version != info.version) {
      __builtin_trap();
    }
  } catch (const b::BundleError& e) {
    if (std::string(e.what()).rfind("bundle.yaml", 0) != 0) __builtin_trap();
  }
  return 0;
}
