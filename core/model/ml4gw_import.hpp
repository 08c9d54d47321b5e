// Conversion of an ML4GW deepcleanv2 training output directory into a model bundle.
#pragma once

#include <filesystem>
#include <string>

#include "core/bundle/bundle.hpp"

namespace deepclean::model {

struct Ml4gwImportOptions {
  int sample_rate = 0;                   // Hz; ML4GW's config.yaml does not always record it
  std::string version;                   // empty: "ml4gw:<training directory name>"
  double training_kernel_seconds = 0.0;  // 0: data.kernel_length of config.yaml (required there then)
  bool overwrite = false;                // replace an existing bundle at `out`
};

// Reads TRAIN_DIR/{model.pt, X_scaler.pt, y_scaler.pt, config.yaml}, writes out/{model.pt,
// bundle.yaml} atomically (a temporary sibling directory renamed into place) after check_bundle()
// passed on it. Witnesses are ML4GW's data.channels[1:] sorted by name (the order its dataset
// feeds the model); the strain is data.channels[0]. Returns the checked bundle.
bundle::BundleInfo import_ml4gw(const std::filesystem::path& train_dir, const std::filesystem::path& out,
                        const Ml4gwImportOptions& options);

}  // namespace deepclean::model
