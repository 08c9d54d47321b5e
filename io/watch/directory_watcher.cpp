#include "io/watch/directory_watcher.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>

namespace deepclean::watch {

namespace {
constexpr std::uint32_t kEvents =
    IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF;
}  // namespace

DirectoryWatcher::DirectoryWatcher(boost::asio::io_context& io, std::string directory,
                                   std::chrono::milliseconds interval, std::function<void()> changed,
                                   std::chrono::milliseconds debounce)
    : io_(io),
      dir_(std::move(directory)),
      interval_(interval),
      debounce_(debounce),
      changed_(std::move(changed)),
      periodic_(io),
      debounced_(io),
      later_(io) {}

DirectoryWatcher::~DirectoryWatcher() { stop(); }

void DirectoryWatcher::start() {
  stopped_ = false;
  const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd >= 0) {
    inotify_ = std::make_unique<boost::asio::posix::stream_descriptor>(io_, fd);
    add_watch();
    read_events();
  }
  arm_periodic();
  changed_();
}

void DirectoryWatcher::stop() {
  stopped_ = true;
  periodic_.cancel();
  debounced_.cancel();
  later_.cancel();
  later_armed_ = false;
  if (inotify_) {
    boost::system::error_code ec;
    inotify_->close(ec);
    inotify_.reset();
  }
  wd_ = -1;
}

void DirectoryWatcher::add_watch() {
  if (!inotify_ || wd_ >= 0) return;
  wd_ = inotify_add_watch(inotify_->native_handle(), dir_.c_str(), kEvents);  // -1 while it does not exist
}

void DirectoryWatcher::read_events() {
  inotify_->async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
    if (ec || stopped_ || !inotify_) return;
    bool any = false;
    for (;;) {
      const ssize_t n = ::read(inotify_->native_handle(), buf_, sizeof buf_);
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        const auto* e = reinterpret_cast<const inotify_event*>(buf_ + off);
        // The directory itself went away or was replaced: watch it again when it is back.
        if ((e->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) != 0 && e->wd == wd_) {
          inotify_rm_watch(inotify_->native_handle(), wd_);
          wd_ = -1;
        }
        any = true;
        off += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      }
    }
    if (any) arm_debounce();
    read_events();
  });
}

void DirectoryWatcher::arm_debounce() {
  if (debounce_armed_) return;
  debounce_armed_ = true;
  debounced_.expires_after(debounce_);
  debounced_.async_wait([this](const boost::system::error_code& ec) {
    debounce_armed_ = false;
    if (ec || stopped_) return;
    changed_();
  });
}

void DirectoryWatcher::call_again_after(std::chrono::milliseconds delay) {
  if (stopped_) return;
  const auto at = boost::asio::steady_timer::clock_type::now() + delay;
  if (later_armed_ && later_.expiry() <= at) return;
  later_armed_ = true;
  later_.expires_at(at);  // a wait already pending ends with operation_aborted
  later_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    later_armed_ = false;
    if (stopped_) return;
    changed_();
  });
}

void DirectoryWatcher::set_interval(std::chrono::milliseconds interval) {
  interval_ = interval;
  if (!stopped_) arm_periodic();  // the pending wait ends with operation_aborted
}

void DirectoryWatcher::arm_periodic() {
  periodic_.expires_after(interval_);
  periodic_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    add_watch();
    changed_();
    arm_periodic();
  });
}

}  // namespace deepclean::watch
