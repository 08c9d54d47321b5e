// `deepclean model import-ml4gw` and `deepclean model info` through the built binary.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "common/model_fixtures.hpp"

namespace deepclean::model {
namespace {

namespace fs = std::filesystem;
using testing::quote;
using testing::run_command;

const std::string kBinary = DEEPCLEAN_BINARY;

TEST(ModelCli, ImportThenInfo) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const fs::path out = testing::scratch_dir("cli") / "h1-bundle";
  const auto imp = run_command(quote(kBinary) + " model import-ml4gw " + quote(fx / "ml4gw_c21") +
                               " --sample-rate 4096 --version v-test --out " + quote(out));
  ASSERT_EQ(imp.exit_code, 0) << imp.output;
  ASSERT_TRUE(fs::is_regular_file(out / "model.pt"));
  ASSERT_TRUE(fs::is_regular_file(out / "bundle.yaml"));

  const auto info = run_command(quote(kBinary) + " model info " + quote(out));
  ASSERT_EQ(info.exit_code, 0) << info.output;
  const auto sum = run_command("cat " + quote(out / "model.pt") + " " + quote(out / "bundle.yaml") + " | sha256sum");
  EXPECT_NE(info.output.find("id:          " + sum.output.substr(0, 64) + "\n"), std::string::npos) << info.output;
  const YAML::Node e = YAML::LoadFile((fx / "expected_c21.yaml").string());
  EXPECT_NE(info.output.find("parameters:  " + std::to_string(e["parameter_count"].as<long>()) + "\n"),
            std::string::npos)
      << info.output;
  EXPECT_NE(info.output.find("version:     v-test\n"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("witnesses:   21 (model input order)\n"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("  0  " + e["witnesses"][0].as<std::string>() + "  mean"), std::string::npos)
      << info.output;
  EXPECT_NE(info.output.find("58-62 Hz, 118-122 Hz  (Butterworth order 8)"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("dry run:     ok, (1, 21, 4096) -> (1, 4096)"), std::string::npos) << info.output;

  // A second import to the same place is refused unless --force.
  const auto again = run_command(quote(kBinary) + " model import-ml4gw " + quote(fx / "ml4gw_c21") +
                                 " --sample-rate 4096 --out " + quote(out));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find(out.string() + ": already exists"), std::string::npos) << again.output;
}

TEST(ModelCli, InfoOnABrokenBundleFailsNamingTheFile) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const fs::path d = testing::scratch_dir("broken");
  fs::copy(fx / "bundle_c3", d, fs::copy_options::overwrite_existing | fs::copy_options::recursive);
  fs::copy_file(fx / "bad_shape/model.pt", d / "model.pt", fs::copy_options::overwrite_existing);
  const auto r = run_command(quote(kBinary) + " model info " + quote(d));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("deepclean model info: " + (d / "model.pt").string() + ": output shape (1, 3, 4096)"),
            std::string::npos)
      << r.output;
}

TEST(ModelCli, ImportOfAMissingDirectory) {
  const auto r = run_command(quote(kBinary) + " model import-ml4gw /nonexistent/train --sample-rate 4096 --out " +
                             quote(testing::scratch_dir("x") / "b"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("/nonexistent/train: training directory does not exist"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace deepclean::model
