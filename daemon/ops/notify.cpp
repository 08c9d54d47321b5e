#include "daemon/ops/notify.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>

namespace deepclean::daemon {

ServiceNotifier::ServiceNotifier() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_ = std::chrono::microseconds(static_cast<std::int64_t>(usec));
  }
}

void ServiceNotifier::ready(const std::string& s) {
  sd_notify(0, ("READY=1\nSTATUS=" + s).c_str());
}
void ServiceNotifier::reloading() { sd_notify(0, "RELOADING=1"); }
void ServiceNotifier::stopping() { sd_notify(0, "STOPPING=1"); }
void ServiceNotifier::status(const std::string& s) { sd_notify(0, ("STATUS=" + s).c_str()); }
void ServiceNotifier::extend_timeout(std::chrono::seconds s) {
  sd_notify(0, ("EXTEND_TIMEOUT_USEC=" + std::to_string(s.count() * 1000000)).c_str());
}
void ServiceNotifier::watchdog() {
  if (watchdog_) sd_notify(0, "WATCHDOG=1");
}

}  // namespace deepclean::daemon
