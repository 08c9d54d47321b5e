// Watching input directories for frame files: inotify through Boost.Asio (IN_CLOSE_WRITE and
// IN_MOVED_TO), a full rescan after IN_Q_OVERFLOW, and polling where inotify is unavailable or not
// wanted (network file systems give no inotify events). Only names following T050017 with a
// wanted frame type are reported; the GPS time in the name, not the event order, sequences them.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "io/gwf/naming.hpp"

namespace deepclean::watch {

struct WatchedType {
  std::string directory;
  std::string observatory;  // "H"
  std::string frame_type;   // "H1_llhoft"
};

struct FrameArrival {
  std::string path;
  std::size_t source = 0;  // index into the watched types
  std::uint64_t gps = 0;
  std::uint64_t duration = 0;
  std::chrono::system_clock::time_point seen;  // when the watcher learnt of the file
};

struct WatchOptions {
  bool poll = false;                                   // force polling
  std::chrono::milliseconds poll_interval{50};
  // Called after an inotify queue overflow (events were lost) once the directories were rescanned,
  // with the number of matching files the rescan reported. Optional.
  std::function<void(std::size_t files)> on_overflow;
};

class FrameWatcher {
 public:
  using Callback = std::function<void(const FrameArrival&)>;

  // Does not start watching; call start(). Throws std::system_error naming the directory when a
  // directory cannot be watched or listed.
  FrameWatcher(boost::asio::io_context& io, std::vector<WatchedType> types, WatchOptions options,
               Callback on_arrival);
  ~FrameWatcher();
  FrameWatcher(const FrameWatcher&) = delete;
  FrameWatcher& operator=(const FrameWatcher&) = delete;

  // Begins watching (inotify when possible, else polling). Files already present are NOT
  // reported; use scan() for them.
  void start();
  void stop();

  // Every matching frame file present now, sorted by (gps, source).
  std::vector<FrameArrival> scan() const;

  bool using_inotify() const { return inotify_ != nullptr; }
  std::uint64_t overflows() const { return overflows_; }

  // Test seam: feeds one synthetic IN_Q_OVERFLOW event (wd -1, no name, as the kernel sends it)
  // through the same event parser that reads the inotify descriptor, so the real rescan runs. The
  // kernel's queue limit (fs.inotify.max_queued_events) can only be lowered by root, and filling
  // the default 16384 events reliably is slow. Inotify mode only; returns false when polling.
  bool inject_overflow();

 private:
  void arm_inotify();
  void drain_inotify();
  void dispatch_events(const char* buf, std::size_t n);
  void rescan_after_overflow();
  void arm_poll();
  void poll_once();
  void report(std::size_t source, const std::string& name, bool only_if_new);
  bool match(std::size_t source, const std::string& name, gwf::FrameFileName& parsed) const;

  boost::asio::io_context& io_;
  std::vector<WatchedType> types_;
  WatchOptions options_;
  Callback on_arrival_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> inotify_;
  std::map<int, std::vector<std::size_t>> wd_sources_;  // watch descriptor -> sources
  boost::asio::steady_timer poll_timer_;
  // Polling: name -> modification time seen last, per directory.
  std::map<std::string, std::map<std::string, std::int64_t>> seen_;
  std::uint64_t overflows_ = 0;
  bool stopped_ = true;
};

}  // namespace deepclean::watch
