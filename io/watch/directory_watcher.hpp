// Watching one directory for any change (the model repository: versions renamed in, removed,
// rewritten): inotify through Boost.Asio, with the callback debounced (a version renamed in with its
// report written beside it is one change), and a periodic call besides, which also covers file
// systems without inotify and a directory that does not exist yet or was replaced.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace deepclean::watch {

class DirectoryWatcher {
 public:
  // `changed` runs on the io_context's thread: at start(), `debounce` after inotify events, and every
  // `interval`.
  DirectoryWatcher(boost::asio::io_context& io, std::string directory, std::chrono::milliseconds interval,
                   std::function<void()> changed, std::chrono::milliseconds debounce = std::chrono::milliseconds(200));
  ~DirectoryWatcher();
  DirectoryWatcher(const DirectoryWatcher&) = delete;
  DirectoryWatcher& operator=(const DirectoryWatcher&) = delete;

  void start();
  void stop();
  // One more call `delay` from now, without an event (a copy seen in progress, to look at once it
  // has settled); the earliest of several requests wins.
  void call_again_after(std::chrono::milliseconds delay);
  bool using_inotify() const { return wd_ >= 0; }
  // The periodic scan's interval from now on (the next scan is `interval` from now).
  void set_interval(std::chrono::milliseconds interval);

 private:
  void add_watch();
  void read_events();
  void arm_periodic();
  void arm_debounce();

  boost::asio::io_context& io_;
  std::string dir_;
  std::chrono::milliseconds interval_, debounce_;
  std::function<void()> changed_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> inotify_;
  int wd_ = -1;
  bool debounce_armed_ = false;
  bool later_armed_ = false;
  bool stopped_ = false;
  boost::asio::steady_timer periodic_, debounced_, later_;
  alignas(8) char buf_[8192];
};

}  // namespace deepclean::watch
