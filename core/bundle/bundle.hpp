// Model bundles: a directory with a TorchScript `model.pt` and a `bundle.yaml` describing it.
// core/bundle is torch-free: configuration, pipeline and CLI code use it without linking LibTorch;
// loading and running the model is core/model's. The format is documented field by field in
// docs/model-bundles.md.
#pragma once

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace deepclean::bundle {

inline constexpr const char* kBundleFormat = "deepclean-bundle/1";
inline constexpr const char* kModelFile = "model.pt";
inline constexpr const char* kBundleFile = "bundle.yaml";

// Every bundle, import and runner problem. what() starts with the file it concerns
// ("<file>: ..." or "<file>:<line>:<column>: ..." for YAML), so a caller can print it as is.
class BundleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Band {
  double low_hz = 0.0;
  double high_hz = 0.0;
};

struct BundleInfo {
  std::filesystem::path directory;
  std::string format = kBundleFormat;
  std::string version;               // free text chosen by whoever made the bundle
  int sample_rate = 0;               // Hz; the model's sample rate fs
  double training_kernel_seconds = 0.0;
  std::string strain_channel;
  double strain_mean = 0.0;          // un-standardisation of the prediction: u = y*std + mean
  double strain_std = 1.0;
  std::vector<std::string> witnesses;  // model input order (row c of a kernel is witnesses[c])
  std::vector<double> witness_means;
  // As used: a std of exactly 0 in the file (a constant channel) reads as 1, the contract's rule.
  std::vector<double> witness_stds;
  std::vector<Band> bands;
  int filter_order = 8;
  std::string provenance_yaml;       // the `provenance` mapping re-emitted as YAML ("" when absent)
  std::string id;                    // hex SHA-256 of model.pt bytes followed by bundle.yaml bytes
  std::size_t parameter_count = 0;   // filled by check_bundle/load_model (needs the model); else 0

  std::size_t channels() const { return witnesses.size(); }
};

// Reads and validates bundle.yaml (types, ranges, unknown keys) and computes the id. Does not load
// the TorchScript model: use model::check_bundle() (core/model/load.hpp) for the full check.
BundleInfo read_bundle_info(const std::filesystem::path& directory);
// The bundle.yaml part of read_bundle_info: `text` parsed and validated, messages naming `file`
// (directory and id are left empty).
BundleInfo parse_bundle_yaml(const std::string& text, const std::string& file);

// Content hash of a bundle directory: SHA-256 over model.pt then bundle.yaml.
std::string compute_bundle_id(const std::filesystem::path& directory);

// bundle.yaml text for `info` (directory, id and parameter_count are not written).
std::string bundle_yaml(const BundleInfo& info);

// Checks the fields of `info` that bundle.yaml constrains; `file` names the source in messages.
void validate_bundle_fields(const BundleInfo& info, const std::string& file);

}  // namespace deepclean::bundle
