// Helpers of the bundle tests (tests/bundle, tests/model): damaged copies of fixture bundles and
// the BundleError they must raise.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "common/model_fixtures.hpp"
#include "core/bundle/bundle.hpp"

namespace deepclean::model::testing {

// Copy of a fixture bundle that a test may damage.
std::filesystem::path copy_bundle(const std::filesystem::path& fixtures, const std::string& name = "bundle_c3") {
  const std::filesystem::path dst = testing::scratch_dir("bundle");
  std::filesystem::copy(fixtures / name, dst, std::filesystem::copy_options::overwrite_existing | std::filesystem::copy_options::recursive);
  return dst;
}

// 1-based line of the first occurrence of `needle` in `text`.
int line_of(const std::string& text, const std::string& needle) {
  const auto pos = text.find(needle);
  EXPECT_NE(pos, std::string::npos) << needle;
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(pos), '\n'));
}

void replace_in(const std::filesystem::path& file, const std::string& from, const std::string& to) {
  std::string text = read_text(file);
  const auto pos = text.find(from);
  ASSERT_NE(pos, std::string::npos) << from;
  text.replace(pos, from.size(), to);
  write_text(file, text);
}

// Runs `fn`, expects a BundleError, returns its message.
template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const bundle::BundleError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no BundleError thrown";
  return {};
}

::testing::AssertionResult contains(const std::string& haystack, const std::string& needle) {
  if (haystack.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "message: " << haystack << "\n  lacks: " << needle;
}
#define EXPECT_CONTAINS(haystack, needle) EXPECT_TRUE(::deepclean::model::testing::contains((haystack), (needle)))


}  // namespace deepclean::model::testing
