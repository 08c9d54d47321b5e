// Directory watching: which file events become frame arrivals, with inotify and with polling.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "io/watch/frame_watcher.hpp"

namespace fs = std::filesystem;
using deepclean::watch::FrameArrival;
using deepclean::watch::FrameWatcher;
using deepclean::watch::WatchedType;
using deepclean::watch::WatchOptions;

namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/deepclean-watch-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// Runs the io_context until `n` arrivals were seen or 2 s passed.
std::vector<FrameArrival> collect(boost::asio::io_context& io, std::vector<FrameArrival>& got,
                                  std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (got.size() < n && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(20));
    io.restart();
  }
  return got;
}

void exercise(bool poll) {
  TempDir strain, witness;
  boost::asio::io_context io;
  std::vector<FrameArrival> got;
  WatchOptions opt;
  opt.poll = poll;
  opt.poll_interval = std::chrono::milliseconds(10);
  FrameWatcher w(io,
                 {{strain.path(), "H", "H1_llhoft"}, {witness.path(), "H", "H1_lldetchar"}}, opt,
                 [&](const FrameArrival& a) { got.push_back(a); });
  write_file(strain.path() + "/H-H1_llhoft-1400000000-1.gwf", "already there");
  w.start();
  EXPECT_EQ(w.using_inotify(), !poll);

  // Ignored: another frame type, a hidden temporary, a non-.gwf name, a malformed name.
  write_file(strain.path() + "/H-H1_lldetchar-1400000001-1.gwf", "x");
  write_file(strain.path() + "/.H-H1_llhoft-1400000001-1.gwf.tmp", "x");
  write_file(strain.path() + "/H-H1_llhoft-1400000001-1.txt", "x");
  write_file(strain.path() + "/H-H1_llhoft-notgps-1.gwf", "x");
  // Reported: a write in place, and an atomic rename into the directory.
  write_file(strain.path() + "/H-H1_llhoft-1400000001-1.gwf", "in place");
  write_file(witness.path() + "/.tmp", "renamed");
  fs::rename(witness.path() + "/.tmp", witness.path() + "/H-H1_lldetchar-1400000001-1.gwf");

  collect(io, got, 2);
  io.run_for(std::chrono::milliseconds(100));  // nothing else may arrive
  ASSERT_EQ(got.size(), 2u);
  std::sort(got.begin(), got.end(),
            [](const FrameArrival& a, const FrameArrival& b) { return a.source < b.source; });
  EXPECT_EQ(got[0].source, 0u);
  EXPECT_EQ(got[0].gps, 1400000001u);
  EXPECT_EQ(got[0].duration, 1u);
  EXPECT_EQ(got[0].path, strain.path() + "/H-H1_llhoft-1400000001-1.gwf");
  EXPECT_EQ(got[1].source, 1u);
  EXPECT_EQ(got[1].gps, 1400000001u);

  // scan() lists what is present, in GPS order, for start-up and after an overflow.
  const auto present = w.scan();
  ASSERT_EQ(present.size(), 3u);
  EXPECT_EQ(present[0].gps, 1400000000u);
  EXPECT_EQ(present[1].gps, 1400000001u);
  EXPECT_EQ(present[1].source, 0u);
  EXPECT_EQ(present[2].source, 1u);
  w.stop();
}

}  // namespace

TEST(FrameWatcher, InotifyReportsCloseWriteAndRenameOfMatchingNamesOnly) { exercise(false); }

TEST(FrameWatcher, PollingReportsTheSameArrivals) { exercise(true); }

TEST(FrameWatcher, MissingDirectoryIsAClearError) {
  boost::asio::io_context io;
  try {
    FrameWatcher w(io, {{"/nonexistent/dir", "H", "H1_llhoft"}}, {}, [](const FrameArrival&) {});
    FAIL() << "no error";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("input directory /nonexistent/dir"), std::string::npos)
        << e.what();
  }
}
