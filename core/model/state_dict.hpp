// Internal to core/model: reading a torch.save()d state_dict (state_dict.cpp), for the ML4GW import.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace deepclean::model::detail {

struct PlainTensor {
  std::vector<std::int64_t> shape;
  std::vector<double> values;  // row-major
};

// Reads a torch.save()d dict of tensors (a state_dict) and returns its tensors by name.
// Throws BundleError naming the file when it is not such a file.
std::map<std::string, PlainTensor> read_state_dict(const std::filesystem::path& file);

}  // namespace deepclean::model::detail
