// The full check of a bundle (model::check_bundle): parameters counted like Python, and one clear,
// file-naming error for each way the model itself can be broken.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <regex>

#include "common/bundle_edits.hpp"
#include "common/model_fixtures.hpp"
#include "core/bundle/bundle.hpp"
#include "core/model/load.hpp"

namespace deepclean::model {
namespace {

namespace fs = std::filesystem;
using testing::copy_bundle;
using testing::error_of;
using testing::read_text;
using testing::replace_in;
using testing::write_text;

TEST(Bundle, CheckCountsParametersLikePython) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const YAML::Node expected = YAML::LoadFile((fx / "expected_c3.yaml").string());
  const BundleInfo b = check_bundle(fx / "bundle_c3", 1024);
  EXPECT_EQ(b.parameter_count, expected["parameter_count"].as<std::size_t>());
}

TEST(BundleErrors, MissingYamlFile) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const fs::path d = copy_bundle(fx);
  fs::remove(d / "bundle.yaml");
  EXPECT_CONTAINS(error_of([&] { check_bundle(d, 1024); }), (d / "bundle.yaml").string() + ": missing");
}

TEST(BundleErrors, WrongChannelCount) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const fs::path d = copy_bundle(fx);
  BundleInfo b = bundle::read_bundle_info(d);
  b.witnesses.pop_back();
  b.witness_means.pop_back();
  b.witness_stds.pop_back();
  write_text(d / "bundle.yaml", bundle::bundle_yaml(b));
  const std::string msg = error_of([&] { check_bundle(d, 1024); });
  EXPECT_CONTAINS(msg, (d / "model.pt").string() + ": the model takes 3 witness channels but");
  EXPECT_CONTAINS(msg, "bundle.yaml lists 2");
}

TEST(BundleErrors, NonFiniteWeight) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const fs::path d = copy_bundle(fx);
  fs::copy_file(fx / "bad_nan/model.pt", d / "model.pt", fs::copy_options::overwrite_existing);
  EXPECT_CONTAINS(error_of([&] { check_bundle(d, 1024); }),
                  (d / "model.pt").string() + ": parameter 'downsampler.1.0.weight' has non-finite values");
}

TEST(BundleErrors, NonFiniteBatchNormStatistic) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const fs::path d = copy_bundle(fx);
  fs::copy_file(fx / "bad_inf_buffer/model.pt", d / "model.pt", fs::copy_options::overwrite_existing);
  EXPECT_CONTAINS(error_of([&] { check_bundle(d, 1024); }),
                  (d / "model.pt").string() + ": buffer 'upsampler.0.1.running_var' has non-finite values");
}

TEST(BundleErrors, OutputShapeMismatch) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const fs::path d = copy_bundle(fx);
  fs::copy_file(fx / "bad_shape/model.pt", d / "model.pt", fs::copy_options::overwrite_existing);
  EXPECT_CONTAINS(error_of([&] { check_bundle(d, 1024); }),
                  (d / "model.pt").string() + ": output shape (1, 3, 1024) for input (1, 3, 1024)");
}

TEST(BundleErrors, KernelLengthNotMultipleOf16) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  EXPECT_CONTAINS(error_of([&] { check_bundle(fx / "bundle_c3", 1000); }),
                  (fx / "bundle_c3/model.pt").string() + ": kernel length 1000 is not a positive multiple of 16");
}

TEST(BundleErrors, BatchNormTracedInTrainingMode) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const fs::path d = copy_bundle(fx);
  fs::copy_file(fx / "bad_train_mode/model.pt", d / "model.pt", fs::copy_options::overwrite_existing);
  EXPECT_CONTAINS(error_of([&] { check_bundle(d, 1024); }), "a kernel's prediction changes with its batch");
}

TEST(BundleErrors, NotTorchScript) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const fs::path d = copy_bundle(fx);
  write_text(d / "model.pt", "this is not a zip archive");
  EXPECT_CONTAINS(error_of([&] { check_bundle(d, 1024); }),
                  (d / "model.pt").string() + ": not a loadable TorchScript archive");
}

}  // namespace
}  // namespace deepclean::model
