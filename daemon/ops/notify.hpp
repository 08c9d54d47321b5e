// systemd service notifications (sd_notify(3)). Without NOTIFY_SOCKET every call is a no-op, so
// the same binary runs in a terminal, in tests and under systemd.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace deepclean::daemon {

class ServiceNotifier {
 public:
  ServiceNotifier();
  void ready(const std::string& status);
  void reloading();
  void stopping();
  void status(const std::string& status);
  void extend_timeout(std::chrono::seconds s);  // while warming up a model
  // Ping the watchdog; call only when the loop made progress (or is knowingly waiting for input).
  void watchdog();
  // The watchdog period the service manager asked for (ping at half of it), if any.
  std::optional<std::chrono::microseconds> watchdog_timeout() const { return watchdog_; }

 private:
  std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace deepclean::daemon
