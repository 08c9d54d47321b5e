// Directory watching: which file events become frame arrivals, with inotify and with polling.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/test_support.hpp"
#include "io/watch/frame_watcher.hpp"

namespace fs = std::filesystem;
using deepclean::watch::FrameArrival;
using deepclean::watch::FrameWatcher;
using deepclean::watch::WatchedType;
using deepclean::watch::WatchOptions;

namespace {

using deepclean::testing::TempDir;

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// Runs the io_context until `n` arrivals were seen or 20 s passed (a loaded CI host).
std::vector<FrameArrival> collect(boost::asio::io_context& io, std::vector<FrameArrival>& got,
                                  std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (got.size() < n && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(20));
    io.restart();
  }
  return got;
}

void exercise(bool poll) {
  TempDir strain("watch-strain"), witness("watch-witness");
  boost::asio::io_context io;
  std::vector<FrameArrival> got;
  WatchOptions opt;
  opt.poll = poll;
  opt.poll_interval = std::chrono::milliseconds(10);
  FrameWatcher w(io,
                 {{strain.path.string(), "H", "H1_llhoft"}, {witness.path.string(), "H", "H1_lldetchar"}}, opt,
                 [&](const FrameArrival& a) { got.push_back(a); });
  write_file(strain.path.string() + "/H-H1_llhoft-1400000000-1.gwf", "already there");
  w.start();
  EXPECT_EQ(w.using_inotify(), !poll);

  // Ignored: another frame type, a hidden temporary, a non-.gwf name, a malformed name.
  write_file(strain.path.string() + "/H-H1_lldetchar-1400000001-1.gwf", "x");
  write_file(strain.path.string() + "/.H-H1_llhoft-1400000001-1.gwf.tmp", "x");
  write_file(strain.path.string() + "/H-H1_llhoft-1400000001-1.txt", "x");
  write_file(strain.path.string() + "/H-H1_llhoft-notgps-1.gwf", "x");
  // Reported: a write in place, and an atomic rename into the directory.
  write_file(strain.path.string() + "/H-H1_llhoft-1400000001-1.gwf", "in place");
  write_file(witness.path.string() + "/.tmp", "renamed");
  fs::rename(witness.path.string() + "/.tmp", witness.path.string() + "/H-H1_lldetchar-1400000001-1.gwf");

  collect(io, got, 2);
  io.run_for(std::chrono::milliseconds(100));  // nothing else may arrive
  ASSERT_EQ(got.size(), 2u);
  std::sort(got.begin(), got.end(),
            [](const FrameArrival& a, const FrameArrival& b) { return a.source < b.source; });
  EXPECT_EQ(got[0].source, 0u);
  EXPECT_EQ(got[0].gps, 1400000001u);
  EXPECT_EQ(got[0].duration, 1u);
  EXPECT_EQ(got[0].path, strain.path.string() + "/H-H1_llhoft-1400000001-1.gwf");
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

namespace {

bool by_gps_source(const FrameArrival& a, const FrameArrival& b) {
  return a.gps != b.gps ? a.gps < b.gps : a.source < b.source;
}

std::string frame(const std::string& dir, const std::string& type, std::uint64_t gps) {
  return dir + "/H-" + type + "-" + std::to_string(gps) + "-1.gwf";
}

}  // namespace

// Files whose events were lost (here: written before start(), which reports nothing already
// present) come out of the rescan that an IN_Q_OVERFLOW event triggers; the overflow event goes
// through the same parser as the events read from the inotify descriptor.
TEST(FrameWatcher, InjectedOverflowRescansBothDirectories) {
  TempDir strain("watch-strain"), witness("watch-witness");
  const std::string s = strain.path.string(), w = witness.path.string();
  boost::asio::io_context io;
  std::vector<FrameArrival> got;
  std::vector<std::size_t> rescans;
  WatchOptions opt;
  opt.on_overflow = [&](std::size_t files) { rescans.push_back(files); };
  FrameWatcher watcher(io, {{s, "H", "H1_llhoft"}, {w, "H", "H1_lldetchar"}}, opt,
                       [&](const FrameArrival& a) { got.push_back(a); });
  write_file(frame(s, "H1_llhoft", 1400000002), "x");
  write_file(frame(w, "H1_lldetchar", 1400000001), "x");
  write_file(frame(s, "H1_llhoft", 1400000001), "x");
  write_file(s + "/unrelated.txt", "x");
  watcher.start();
  ASSERT_TRUE(watcher.using_inotify());
  io.run_for(std::chrono::milliseconds(100));
  io.restart();
  EXPECT_TRUE(got.empty()) << "files present before start() are not events";

  ASSERT_TRUE(watcher.inject_overflow());
  EXPECT_EQ(watcher.overflows(), 1u);
  ASSERT_EQ(rescans, std::vector<std::size_t>{3u});
  ASSERT_EQ(got.size(), 3u);
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end(), by_gps_source)) << "reported in GPS order";
  EXPECT_EQ(got[0].path, frame(s, "H1_llhoft", 1400000001));
  EXPECT_EQ(got[0].source, 0u);
  EXPECT_EQ(got[1].path, frame(w, "H1_lldetchar", 1400000001));
  EXPECT_EQ(got[1].source, 1u);
  EXPECT_EQ(got[2].gps, 1400000002u);

  // The watch is still armed after the rescan.
  got.clear();
  write_file(frame(w, "H1_lldetchar", 1400000002), "x");
  collect(io, got, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].source, 1u);
  EXPECT_EQ(got[0].gps, 1400000002u);
  watcher.stop();
  EXPECT_FALSE(watcher.inject_overflow()) << "stopped";
}

TEST(FrameWatcher, PollingHasNoOverflowToInject) {
  TempDir dir("watch-poll");
  boost::asio::io_context io;
  WatchOptions opt;
  opt.poll = true;
  FrameWatcher watcher(io, {{dir.path.string(), "H", "H1_llhoft"}}, opt, [](const FrameArrival&) {});
  watcher.start();
  EXPECT_FALSE(watcher.inject_overflow());
  EXPECT_EQ(watcher.overflows(), 0u);
}

// A real kernel overflow, without root: while the loop does not read, more events than
// fs.inotify.max_queued_events are queued (files with names the watcher ignores); the kernel then
// drops the events of the frame files written afterwards and queues IN_Q_OVERFLOW. The rescan
// must still report those frame files.
TEST(FrameWatcher, KernelQueueOverflowRescansAndFindsTheDroppedFiles) {
  long limit = 0;
  std::ifstream("/proc/sys/fs/inotify/max_queued_events") >> limit;
  if (limit <= 0 || limit > 65536) GTEST_SKIP() << "fs.inotify.max_queued_events is " << limit;
  TempDir dir("watch-overflow");
  const std::string d = dir.path.string();
  boost::asio::io_context io;
  std::vector<FrameArrival> got;
  std::vector<std::size_t> rescans;
  WatchOptions opt;
  opt.on_overflow = [&](std::size_t files) { rescans.push_back(files); };
  FrameWatcher watcher(io, {{d, "H", "H1_llhoft"}}, opt, [&](const FrameArrival& a) { got.push_back(a); });
  watcher.start();
  ASSERT_TRUE(watcher.using_inotify());
  for (long i = 0; i < limit + 16; ++i) {
    std::FILE* f = std::fopen((d + "/junk" + std::to_string(i)).c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);  // one IN_CLOSE_WRITE each
  }
  for (std::uint64_t g = 1400000000; g < 1400000003; ++g) write_file(frame(d, "H1_llhoft", g), "x");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (rescans.empty() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(20));
    io.restart();
  }
  EXPECT_GE(watcher.overflows(), 1u);
  ASSERT_FALSE(rescans.empty());
  EXPECT_EQ(rescans.front(), 3u) << "the rescan lists the frame files, not the other names";
  EXPECT_EQ(got.size(), 3u) << "their own events were dropped: each file is reported once, by the rescan";
  std::set<std::uint64_t> seen;
  for (const auto& a : got) seen.insert(a.gps);
  EXPECT_EQ(seen, (std::set<std::uint64_t>{1400000000, 1400000001, 1400000002}));
  watcher.stop();
}
