// The check of a bundle in a separate process (daemon/model_setup/model_check.hpp): hostile model
// files (tools/fixtures/make_test_models.py) are refused with the reason, and what they would do to a
// process that loads them is shown on `deepclean model info` run directly.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <string>

#include "common/model_fixtures.hpp"
#include "core/bundle/bundle.hpp"
#include "daemon/model_setup/model_check.hpp"

namespace deepclean::daemon {
namespace {

namespace fs = std::filesystem;
using model::testing::quote;
using model::testing::run_command;

const std::string kBinary = DEEPCLEAN_BINARY;

// bundle_c3 with another model.pt.
fs::path bundle_with(const fs::path& fx, const std::string& model_dir, const std::string& name) {
  const fs::path d = model::testing::scratch_dir(name);
  fs::copy(fx / "bundle_c3", d, fs::copy_options::overwrite_existing | fs::copy_options::recursive);
  fs::copy_file(fx / model_dir / "model.pt", d / "model.pt", fs::copy_options::overwrite_existing);
  return d;
}

// The message of the BundleError the check throws ("" when it passes).
std::string check(const fs::path& bundle, double timeout = 120) {
  ModelCheckLimits limits;
  limits.timeout_seconds = timeout;
  try {
    check_model_in_separate_process(bundle, 4096, limits);
  } catch (const bundle::BundleError& e) {
    return e.what();
  }
  return "";
}

class ModelCheck : public ::testing::Test {
 protected:
  void SetUp() override { set_model_check_program(kBinary); }
  void TearDown() override { set_model_check_program(""); }
};

TEST_F(ModelCheck, AGoodBundlePasses) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  EXPECT_EQ(check(fx / "bundle_c3"), "");
  EXPECT_EQ(check(fx / "bundle_c21"), "");
}

// A model.pt whose TorchScript source overflows the loader's stack: loading it kills the process
// that loads it (shown by running `deepclean model info` on it directly); the check says so instead.
TEST_F(ModelCheck, AModelThatCrashesTheLoaderIsRefusedWithTheSignal) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const fs::path b = bundle_with(fx, "hostile_crash", "crash");
  const auto direct = run_command(quote(kBinary) + " model info " + quote(b));
  EXPECT_EQ(direct.exit_code, 128 + SIGSEGV) << direct.output;
  const std::string e = check(b);
  EXPECT_NE(e.find((b / "model.pt").string() + ": crashed its check"), std::string::npos) << e;
  EXPECT_NE(e.find("with signal " + std::to_string(SIGSEGV) + " (Segmentation fault)"), std::string::npos) << e;
  EXPECT_NE(e.find("the model is not loaded"), std::string::npos) << e;
}

TEST_F(ModelCheck, AModelThatNeverFinishesIsStoppedAtTheTimeout) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const fs::path b = bundle_with(fx, "hostile_loop", "loop");
  const auto t0 = std::chrono::steady_clock::now();
  const std::string e = check(b, 3);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(e.find((b / "model.pt").string() + ": its check did not finish within 3 s (model.check_timeout_seconds)"),
            std::string::npos)
      << e;
  EXPECT_GE(took, 3.0);
  EXPECT_LT(took, 10.0);  // killed at the deadline, not left running
}

// forward() takes 6 GiB: under the check's 4 GiB address-space limit the allocation fails, and the
// reason names the limit. (Loaded in the service, it would have taken the 6 GiB.)
TEST_F(ModelCheck, AModelThatAllocatesWithoutBoundIsRefusedUnderTheLimit) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const fs::path b = bundle_with(fx, "hostile_alloc", "alloc");
  const std::string e = check(b);
  EXPECT_NE(e.find((b / "model.pt").string() + ": forward pass on input (1, 3, 4096) failed"), std::string::npos) << e;
  EXPECT_NE(e.find("can't allocate memory: you tried to allocate 6442450944 bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("(the check runs with a 4 GiB address-space limit)"), std::string::npos) << e;
}

// The check's own verdicts come back word for word: the same text as `deepclean model info`.
TEST_F(ModelCheck, TheChecksOwnErrorIsPassedOnWordForWord) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const fs::path b = bundle_with(fx, "bad_nan", "nan");
  const auto direct = run_command(quote(kBinary) + " model info " + quote(b));
  ASSERT_EQ(direct.exit_code, 1) << direct.output;
  const std::string prefix = "deepclean model info: ";
  const auto at = direct.output.find(prefix);
  ASSERT_NE(at, std::string::npos) << direct.output;
  std::string said = direct.output.substr(at + prefix.size());
  said = said.substr(0, said.find('\n'));
  EXPECT_EQ(check(b), said);
  EXPECT_NE(said.find("has non-finite values"), std::string::npos) << said;
  // Not a TorchScript archive at all.
  const fs::path junk = bundle_with(fx, "bad_nan", "junk");
  { std::ofstream(junk / "model.pt", std::ios::trunc) << "not a zip archive\n"; }
  EXPECT_NE(check(junk).find((junk / "model.pt").string() + ": not a loadable TorchScript archive"),
            std::string::npos)
      << check(junk);
}

TEST_F(ModelCheck, ACheckProgramThatCannotRunIsSaidSo) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  set_model_check_program("/nonexistent/deepclean");
  const std::string e = check(fx / "bundle_c3");
  EXPECT_NE(e.find("cannot run its check: /nonexistent/deepclean could not be started"), std::string::npos) << e;
}

}  // namespace
}  // namespace deepclean::daemon
