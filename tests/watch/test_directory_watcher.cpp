// DirectoryWatcher: a version renamed into the repository is seen within the debounce (inotify), a
// burst of changes is one call, and a repository that appears later is watched from then on.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "common/test_support.hpp"
#include "io/watch/directory_watcher.hpp"

namespace deepclean::watch {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Runs the io_context until `cond` holds or `limit` passes.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!cond() && std::chrono::steady_clock::now() < end) {
    io.run_for(10ms);
    io.restart();
  }
  return cond();
}

TEST(DirectoryWatcher, ChangesAreSeenAtOnceAndABurstIsOneCall) {
  deepclean::testing::TempDir tmp;
  const fs::path repo = tmp.path / "models";
  fs::create_directories(repo);
  boost::asio::io_context io;
  int calls = 0;
  DirectoryWatcher w(io, repo.string(), std::chrono::hours(1), [&] { ++calls; }, 100ms);
  w.start();
  EXPECT_EQ(calls, 1);  // at start
  EXPECT_TRUE(w.using_inotify());
  run_until(io, [] { return false; }, 150ms);
  // A version written aside and renamed in, with a few files: one debounced call.
  fs::create_directories(repo / ".v2.tmp");
  deepclean::testing::write_file(repo / ".v2.tmp" / "model.pt", "x");
  fs::rename(repo / ".v2.tmp", repo / "v2");
  deepclean::testing::write_file(repo / "v2" / "validation.json", "{}");
  ASSERT_TRUE(run_until(io, [&] { return calls >= 2; }, 2000ms));
  run_until(io, [] { return false; }, 300ms);
  EXPECT_EQ(calls, 2);
  fs::remove_all(repo / "v2");
  EXPECT_TRUE(run_until(io, [&] { return calls >= 3; }, 2000ms));
  w.stop();
}

TEST(DirectoryWatcher, ARepositoryMadeLaterIsWatchedFromThen) {
  deepclean::testing::TempDir tmp;
  const fs::path repo = tmp.path / "later";
  boost::asio::io_context io;
  int calls = 0;
  DirectoryWatcher w(io, repo.string(), 200ms, [&] { ++calls; }, 50ms);
  w.start();
  EXPECT_FALSE(w.using_inotify());  // nothing to watch yet; the periodic call goes on
  ASSERT_TRUE(run_until(io, [&] { return calls >= 2; }, 2000ms));
  fs::create_directories(repo);
  ASSERT_TRUE(run_until(io, [&] { return w.using_inotify(); }, 2000ms));
  w.stop();
}

// A copy seen in progress is looked at again once it has settled, with no event and long before
// the periodic call; the earliest of two requests wins.
TEST(DirectoryWatcher, CallAgainAfterADelayWithoutAnEvent) {
  deepclean::testing::TempDir tmp;
  boost::asio::io_context io;
  int calls = 0;
  DirectoryWatcher w(io, tmp.path.string(), std::chrono::hours(1), [&] { ++calls; }, 50ms);
  w.start();
  ASSERT_EQ(calls, 1);
  const auto t0 = std::chrono::steady_clock::now();
  w.call_again_after(900ms);
  w.call_again_after(300ms);
  ASSERT_TRUE(run_until(io, [&] { return calls >= 2; }, 3000ms));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 850ms);
  run_until(io, [] { return false; }, 900ms);
  EXPECT_EQ(calls, 2);  // the later request was replaced by the earlier one
  w.stop();
}

}  // namespace
}  // namespace deepclean::watch
