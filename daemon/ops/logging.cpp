#include "daemon/ops/logging.hpp"

#include <sys/stat.h>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstdio>
#include <memory>

namespace deepclean::daemon {

namespace {

// True when stderr is connected to the journal: systemd sets JOURNAL_STREAM to "dev:inode" of it.
bool stderr_is_journal() {
  const char* js = std::getenv("JOURNAL_STREAM");
  if (!js) return false;
  struct stat st {};
  if (fstat(2, &st) != 0) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
  return dev == static_cast<unsigned long long>(st.st_dev) &&
         ino == static_cast<unsigned long long>(st.st_ino);
}

// `%*` flag: the sd-daemon(3) priority prefix for the message's level.
class PriorityFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const char* p = "<6>";
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug: p = "<7>"; break;
      case spdlog::level::info: p = "<6>"; break;
      case spdlog::level::warn: p = "<4>"; break;
      case spdlog::level::err: p = "<3>"; break;
      case spdlog::level::critical: p = "<2>"; break;
      default: break;
    }
    dest.append(p, p + 3);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<PriorityFlag>();
  }
};

}  // namespace

void set_log_level(const std::string& level) {
  spdlog::set_level(spdlog::level::from_str(level));
}

void setup_logging(const std::string& level, LogTarget target) {
  std::shared_ptr<spdlog::logger> logger;
  if (target == LogTarget::Journal || (target == LogTarget::Auto && stderr_is_journal())) {
    // The journal stamps time and priority itself.
    logger = std::make_shared<spdlog::logger>(
        "deepclean", std::make_shared<spdlog::sinks::systemd_sink_mt>("deepclean"));
  } else {
    logger = std::make_shared<spdlog::logger>(
        "deepclean", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<PriorityFlag>('*').set_pattern("%*%Y-%m-%d %H:%M:%S.%e %l: %v");
    logger->set_formatter(std::move(formatter));
  }
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  set_log_level(level);
}

RateLimitedWarnings::RateLimitedWarnings(std::chrono::seconds window, std::uint64_t burst)
    : window_(window), burst_(burst == 0 ? 1 : burst) {}

bool RateLimitedWarnings::warn(const std::string& key, const std::string& message,
                               std::chrono::steady_clock::time_point now) {
  auto it = entries_.find(key);
  if (it != entries_.end() && now - it->second.last_logged < window_) {
    if (it->second.logged >= burst_) {
      ++it->second.suppressed;
      return false;
    }
    ++it->second.logged;
    spdlog::warn("{}", message);
    return true;
  }
  std::uint64_t suppressed = 0;
  if (it != entries_.end()) suppressed = it->second.suppressed;
  entries_[key] = Entry{now, 0, 1};
  if (suppressed > 0) {
    spdlog::warn("{} ({} similar warnings suppressed in the last {} s)", message, suppressed,
                 window_.count());
  } else {
    spdlog::warn("{}", message);
  }
  return true;
}

}  // namespace deepclean::daemon
