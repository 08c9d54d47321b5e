// Logging: spdlog to the systemd journal when stderr is the journal (JOURNAL_STREAM), otherwise to
// stderr with syslog priority prefixes (<3>, <4>, <6>, <7>) that journald and syslog understand.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace deepclean::daemon {

enum class LogTarget { Auto, Journal, Stderr };

// Installs the default spdlog logger. `level`: trace, debug, info, warn, error.
void setup_logging(const std::string& level, LogTarget target = LogTarget::Auto);
void set_log_level(const std::string& level);

// Repeated identical warnings are rate-limited: the first is logged, later ones within `window`
// are counted, and the next one logged after the window says how many were suppressed. `burst`
// messages per key are let through in each window before suppression starts.
class RateLimitedWarnings {
 public:
  explicit RateLimitedWarnings(std::chrono::seconds window = std::chrono::seconds(60),
                               std::uint64_t burst = 1);
  // `key` groups messages (e.g. "missing witness frame"); returns true when it was logged.
  bool warn(const std::string& key, const std::string& message,
            std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

 private:
  struct Entry {
    std::chrono::steady_clock::time_point last_logged;  // start of the current window
    std::uint64_t suppressed = 0;
    std::uint64_t logged = 0;  // in the current window
  };
  std::chrono::seconds window_;
  std::uint64_t burst_;
  std::map<std::string, Entry> entries_;
};

}  // namespace deepclean::daemon
