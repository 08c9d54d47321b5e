#include "io/watch/frame_watcher.hpp"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace deepclean::watch {

namespace fs = std::filesystem;

namespace {

// statfs magic numbers of file systems that deliver no inotify events for remote changes
// (inotify(7): "Applications must fall back to polling").
bool is_network_fs(const std::string& dir) {
  struct statfs s {};
  if (statfs(dir.c_str(), &s) != 0) return false;
  const auto magic = static_cast<unsigned long>(s.f_type);
  constexpr unsigned long kNfs = 0x6969, kSmb = 0x517B, kCifs = 0xFF534D42, kSmb2 = 0xFE534D42,
                          kFuse = 0x65735546, kCeph = 0x00C36400, kAfs = 0x5346414F,
                          kLustre = 0x0BD00BD0, kGpfs = 0x47504653;
  return magic == kNfs || magic == kSmb || magic == kCifs || magic == kSmb2 || magic == kFuse ||
         magic == kCeph || magic == kAfs || magic == kLustre || magic == kGpfs;
}

std::int64_t mtime_ns(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return std::int64_t{st.st_mtim.tv_sec} * 1000000000LL + std::int64_t{st.st_mtim.tv_nsec};
}

}  // namespace

FrameWatcher::FrameWatcher(boost::asio::io_context& io, std::vector<WatchedType> types,
                           WatchOptions options, Callback on_arrival)
    : io_(io),
      types_(std::move(types)),
      options_(options),
      on_arrival_(std::move(on_arrival)),
      poll_timer_(io) {
  for (const auto& t : types_) {
    std::error_code ec;
    if (!fs::is_directory(t.directory, ec)) {
      throw std::system_error(ec ? ec : std::make_error_code(std::errc::not_a_directory),
                              "input directory " + t.directory);
    }
  }
}

FrameWatcher::~FrameWatcher() { stop(); }

bool FrameWatcher::match(std::size_t source, const std::string& name,
                         gwf::FrameFileName& parsed) const {
  if (name.empty() || name.front() == '.') return false;  // hidden temporaries of atomic writers
  const auto p = gwf::parse_frame_file_name(name);
  if (!p || p->extension != "gwf") return false;
  const WatchedType& t = types_[source];
  if (p->observatory != t.observatory || p->tag != t.frame_type) return false;
  parsed = *p;
  return true;
}

void FrameWatcher::report(std::size_t source, const std::string& name, bool only_if_new) {
  gwf::FrameFileName parsed;
  if (!match(source, name, parsed)) return;
  const std::string path = types_[source].directory + "/" + name;
  if (only_if_new) {
    const std::int64_t m = mtime_ns(path);
    if (m < 0) return;  // vanished meanwhile
    auto& dir_seen = seen_[types_[source].directory + "#" + std::to_string(source)];
    auto it = dir_seen.find(name);
    if (it != dir_seen.end() && it->second == m) return;
    dir_seen[name] = m;
  }
  FrameArrival a;
  a.path = path;
  a.source = source;
  a.gps = parsed.gps;
  a.duration = parsed.duration;
  a.seen = std::chrono::system_clock::now();
  on_arrival_(a);
}

std::vector<FrameArrival> FrameWatcher::scan() const {
  std::vector<FrameArrival> out;
  for (std::size_t s = 0; s < types_.size(); ++s) {
    std::error_code ec;
    for (fs::directory_iterator it(types_[s].directory, ec), end; !ec && it != end;
         it.increment(ec)) {
      const std::string name = it->path().filename().string();
      gwf::FrameFileName parsed;
      if (!match(s, name, parsed)) continue;
      FrameArrival a;
      a.path = it->path().string();
      a.source = s;
      a.gps = parsed.gps;
      a.duration = parsed.duration;
      a.seen = std::chrono::system_clock::now();
      out.push_back(std::move(a));
    }
    if (ec) throw std::system_error(ec, "listing input directory " + types_[s].directory);
  }
  std::sort(out.begin(), out.end(), [](const FrameArrival& a, const FrameArrival& b) {
    return a.gps != b.gps ? a.gps < b.gps : a.source < b.source;
  });
  return out;
}

void FrameWatcher::start() {
  stopped_ = false;
  bool poll = options_.poll;
  for (const auto& t : types_) poll = poll || is_network_fs(t.directory);
  if (!poll) {
    const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd >= 0) {
      inotify_ = std::make_unique<boost::asio::posix::stream_descriptor>(io_, fd);
      std::map<std::string, int> dir_wd;
      for (std::size_t s = 0; s < types_.size(); ++s) {
        const std::string& dir = types_[s].directory;
        auto it = dir_wd.find(dir);
        if (it == dir_wd.end()) {
          const int wd = inotify_add_watch(fd, dir.c_str(),
                                           IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR);
          if (wd < 0) {
            const int err = errno;
            inotify_.reset();
            throw std::system_error(err, std::generic_category(), "watching " + dir);
          }
          it = dir_wd.emplace(dir, wd).first;
        }
        wd_sources_[it->second].push_back(s);
      }
      arm_inotify();
      return;
    }
    // No inotify instance available (limits reached, or a sandbox): fall back to polling.
  }
  // Polling: remember what is there now so only later arrivals are reported.
  for (std::size_t s = 0; s < types_.size(); ++s) {
    auto& dir_seen = seen_[types_[s].directory + "#" + std::to_string(s)];
    for (const auto& a : scan()) {
      if (a.source == s) dir_seen[fs::path(a.path).filename().string()] = mtime_ns(a.path);
    }
  }
  arm_poll();
}

void FrameWatcher::stop() {
  stopped_ = true;
  poll_timer_.cancel();
  if (inotify_) {
    boost::system::error_code ec;
    inotify_->cancel(ec);
    inotify_->close(ec);
    inotify_.reset();
  }
}

void FrameWatcher::arm_inotify() {
  inotify_->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                       [this](const boost::system::error_code& ec) {
                         if (ec || stopped_ || !inotify_) return;
                         drain_inotify();
                         if (inotify_) arm_inotify();
                       });
}

void FrameWatcher::drain_inotify() {
  // Large enough for many events; the kernel never splits one event across reads.
  alignas(inotify_event) char buf[64 * (sizeof(inotify_event) + NAME_MAX + 1)];
  for (;;) {
    const ssize_t n = ::read(inotify_->native_handle(), buf, sizeof buf);
    if (n <= 0) return;  // EAGAIN: drained
    dispatch_events(buf, static_cast<std::size_t>(n));
    if (!inotify_) return;  // stopped by a callback
  }
}

void FrameWatcher::dispatch_events(const char* buf, std::size_t n) {
  std::size_t off = 0;
  while (off + sizeof(inotify_event) <= n) {
    inotify_event ev;
    std::memcpy(&ev, buf + off, sizeof ev);
    const char* name_ptr = buf + off + sizeof(inotify_event);
    off += sizeof(inotify_event) + ev.len;
    if (ev.mask & IN_Q_OVERFLOW) {
      rescan_after_overflow();
      continue;
    }
    if (ev.len == 0 || off > n) continue;
    const std::string name(name_ptr, strnlen(name_ptr, ev.len));
    auto it = wd_sources_.find(ev.wd);
    if (it == wd_sources_.end()) continue;
    for (std::size_t s : it->second) report(s, name, false);
  }
}

void FrameWatcher::rescan_after_overflow() {
  // Events were lost: report everything present; the consumer ignores what it already has.
  ++overflows_;
  std::vector<FrameArrival> present;
  try {
    present = scan();
  } catch (const std::system_error&) {
    // A directory that cannot be listed right now: report what could be seen (nothing).
  }
  for (const auto& a : present) on_arrival_(a);
  if (options_.on_overflow) options_.on_overflow(present.size());
}

bool FrameWatcher::inject_overflow() {
  if (!inotify_ || stopped_) return false;
  alignas(inotify_event) char buf[sizeof(inotify_event)];
  inotify_event ev{};
  ev.wd = -1;
  ev.mask = IN_Q_OVERFLOW;
  ev.len = 0;
  std::memcpy(buf, &ev, sizeof ev);
  dispatch_events(buf, sizeof buf);
  return true;
}

void FrameWatcher::arm_poll() {
  poll_timer_.expires_after(options_.poll_interval);
  poll_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    poll_once();
    arm_poll();
  });
}

void FrameWatcher::poll_once() {
  for (std::size_t s = 0; s < types_.size(); ++s) {
    std::error_code ec;
    std::vector<std::string> names;
    for (fs::directory_iterator it(types_[s].directory, ec), end; !ec && it != end;
         it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    std::sort(names.begin(), names.end());
    for (const auto& name : names) report(s, name, true);
    // Forget names that are gone so the map does not grow with the retention window.
    auto& dir_seen = seen_[types_[s].directory + "#" + std::to_string(s)];
    for (auto it = dir_seen.begin(); it != dir_seen.end();) {
      if (!std::binary_search(names.begin(), names.end(), it->first)) {
        it = dir_seen.erase(it);
      } else {
        ++it;
      }
    }
  }
}

}  // namespace deepclean::watch
