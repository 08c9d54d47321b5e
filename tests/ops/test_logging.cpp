// Rate limiting of repeated warnings (daemon/ops/logging.hpp), with a hand-driven clock; the expected
// lines follow the rule in the header and docs/operations.md ("3 per 30 s; the next one after that
// says how many were suppressed").
#include <gtest/gtest.h>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/ops/logging.hpp"

using deepclean::daemon::RateLimitedWarnings;
using std::chrono::seconds;

namespace {

// Routes spdlog's default logger into a string for the lifetime of the object.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto logger = std::make_shared<spdlog::logger>("captured", sink);
    logger->set_pattern("%l: %v");
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::vector<std::string> lines() const {
    std::vector<std::string> l;
    std::istringstream in(out_.str());
    for (std::string s; std::getline(in, s);) l.push_back(s);
    return l;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace

TEST(RateLimitedWarnings, ThreePerWindowThenACountOfTheSuppressed) {
  CapturedLog log;
  RateLimitedWarnings w(seconds(30), 3);
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  std::vector<bool> logged;
  for (int i = 0; i < 6; ++i) logged.push_back(w.warn("missing", "GPS " + std::to_string(i) + ": missing", t0 + seconds(i)));
  EXPECT_EQ(logged, (std::vector<bool>{true, true, true, false, false, false}));
  EXPECT_TRUE(w.warn("late", "GPS 9: late", t0 + seconds(6))) << "another kind has its own budget";
  // The window of "missing" began with its first line at t0: 30 s later the next one goes through
  // and carries the count.
  EXPECT_FALSE(w.warn("missing", "GPS 29: missing", t0 + seconds(29)));
  EXPECT_TRUE(w.warn("missing", "GPS 30: missing", t0 + seconds(30)));
  EXPECT_TRUE(w.warn("missing", "GPS 31: missing", t0 + seconds(31))) << "a new window: 3 more";
  const std::vector<std::string> want = {
      "warning: GPS 0: missing",
      "warning: GPS 1: missing",
      "warning: GPS 2: missing",
      "warning: GPS 9: late",
      "warning: GPS 30: missing (4 similar warnings suppressed in the last 30 s)",
      "warning: GPS 31: missing",
  };
  EXPECT_EQ(log.lines(), want);
}
