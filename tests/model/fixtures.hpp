// Test fixtures for core/model: the TorchScript models and reference tensors that
// tools/fixtures/make_test_models.py writes with Debian's python3-torch. They are generated once
// per build tree (cached under the ctest working directory, keyed by the script's hash) instead of
// being committed; tests skip cleanly when DEEPCLEAN_PYTHON has no torch.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/model/sha256.hpp"

namespace deepclean::model::testing {

namespace fs = std::filesystem;

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

inline CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }

// Directory holding the generated fixtures, or nullopt (with the reason) when Python/torch is absent.
inline const std::optional<fs::path>& fixture_dir(std::string* why = nullptr) {
  static std::string reason;
  static const std::optional<fs::path> dir = []() -> std::optional<fs::path> {
    const std::string python = DEEPCLEAN_PYTHON;
    if (run_command("'" + python + "' -c 'import torch, yaml'").exit_code != 0) {
      reason = python + " with torch and yaml is not available";
      return std::nullopt;
    }
    const fs::path script = fs::path(DEEPCLEAN_SOURCE_DIR) / "tools/fixtures/make_test_models.py";
    const fs::path root = fs::current_path() / "model_fixtures";
    const fs::path target = root / sha256_file_hex(script).substr(0, 16);
    if (fs::is_regular_file(target / "torch_version.txt")) return target;
    // Several test processes may race here (ctest -j): each writes its own directory and renames.
    fs::create_directories(root);
    std::random_device rd;
    const fs::path tmp = root / (".tmp-" + std::to_string(rd()));
    const CommandResult r = run_command("'" + python + "' " + quote(script) + " --out " + quote(tmp));
    if (r.exit_code != 0) {
      reason = "make_test_models.py failed: " + r.output;
      return std::nullopt;
    }
    std::error_code ec;
    fs::rename(tmp, target, ec);
    if (ec) fs::remove_all(tmp, ec);  // another process won the race; its copy is identical
    if (!fs::is_regular_file(target / "torch_version.txt")) {
      reason = "fixture directory " + target.string() + " incomplete";
      return std::nullopt;
    }
    return target;
  }();
  if (why) *why = reason;
  return dir;
}

#define DEEPCLEAN_REQUIRE_FIXTURES(var)                                   \
  std::string fixture_reason_;                                            \
  const auto& fixture_opt_ = ::deepclean::model::testing::fixture_dir(&fixture_reason_); \
  if (!fixture_opt_) GTEST_SKIP() << fixture_reason_;                     \
  const std::filesystem::path var = *fixture_opt_

inline std::vector<float> read_f32(const fs::path& p) {
  std::ifstream in(p, std::ios::binary | std::ios::ate);
  const auto size = static_cast<std::size_t>(in.tellg());
  std::vector<float> v(size / sizeof(float));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  return v;
}

// A fresh, empty directory per test.
inline fs::path scratch_dir(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path d = fs::current_path() / "model_scratch" /
                     (std::string(info->test_suite_name()) + "." + info->name() + "." + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

}  // namespace deepclean::model::testing
