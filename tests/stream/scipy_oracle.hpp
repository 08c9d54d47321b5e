// Runs the committed scipy oracles under tools/fixtures/ at test time. Tests call
// python_with_scipy() first and GTEST_SKIP() with its message when Debian's python3 + scipy is absent.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

namespace deepclean::stream::testing {

inline bool python_with_scipy() {
  static const bool ok = [] {
    const std::string cmd = std::string(DEEPCLEAN_PYTHON) + " -c 'import numpy, scipy.signal' 2>/dev/null";
    return std::system(cmd.c_str()) == 0;
  }();
  return ok;
}

inline std::string temp_path(const std::string& stem) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/deepclean_stream_" + stem + "_" +
         std::to_string(::getpid());
}

// Runs tools/fixtures/<script> IN OUT; returns false when the script fails.
inline bool run_oracle(const std::string& script, const std::string& in, const std::string& out) {
  const std::string cmd = std::string(DEEPCLEAN_PYTHON) + " " + DEEPCLEAN_SOURCE_DIR +
                          "/tools/fixtures/" + script + " " + in + " " + out;
  return std::system(cmd.c_str()) == 0;
}

}  // namespace deepclean::stream::testing
