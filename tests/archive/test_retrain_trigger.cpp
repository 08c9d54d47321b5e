// When `deepclean retrain` runs a cycle and on which span (daemon/archive/retrain_trigger.hpp): the
// observing segments of an archive with short holes and lock losses, the cadence and relock triggers
// on a timeline worked out by hand from the rules of docs/retraining.md, and the archive's seconds
// read back from real chunk files.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <numeric>

#include "archive/archive_fixtures.hpp"
#include "common/test_support.hpp"
#include "daemon/archive/retrain_trigger.hpp"

namespace deepclean::daemon::archive {
namespace {

namespace fs = std::filesystem;
using deepclean::testing::TempDir;

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {  // [from, to)
  std::vector<std::uint64_t> v(to - from);
  std::iota(v.begin(), v.end(), from);
  return v;
}

std::vector<std::uint64_t> operator+(std::vector<std::uint64_t> a, const std::vector<std::uint64_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(RetrainTrigger, ShortHolesStayInsideASegmentALockLossEndsIt) {
  // 100-199, a 5-s hole, 205-299, a 119-s hole (one short of the gap), 419-499, a 120-s hole, 620-699.
  const auto s = range(100, 200) + range(205, 300) + range(419, 500) + range(620, 700);
  const auto segs = observing_segments(s, 120);
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0].start, 100u);
  EXPECT_EQ(segs[0].end, 500u);
  EXPECT_EQ(segs[0].seconds, 100u + 95 + 81);
  EXPECT_EQ(segs[1].start, 620u);
  EXPECT_EQ(segs[1].end, 700u);
  EXPECT_EQ(segs[1].seconds, 80u);
  EXPECT_TRUE(observing_segments({}, 120).empty());
  EXPECT_EQ(observing_segments(s, 1).size(), 4u);  // every hole a lock loss
}

// A day's timeline in archive time: cadence 2048, span 4096, min_span 1024, gap 120.
TEST(RetrainTrigger, CadenceAndRelockOnAHandWorkedTimeline) {
  const TriggerSettings ts{2048, 4096, 1024, 120};
  constexpr std::uint64_t t0 = 1'000'000'000;
  std::optional<std::uint64_t> last;

  // A first lock, 500 s archived: too short for any cycle, even asked for.
  auto segs = observing_segments(range(t0, t0 + 500), 120);
  Decision d = next_cycle(ts, segs, last);
  EXPECT_EQ(d.trigger, Trigger::None);
  EXPECT_NE(d.why.find("holds 500 s; a cycle needs 1024 s"), std::string::npos) << d.why;
  EXPECT_EQ(next_cycle(ts, segs, last, true).trigger, Trigger::None);

  // 1024 s: the first cycle (no cycle yet), on all of it.
  segs = observing_segments(range(t0, t0 + 1024), 120);
  d = next_cycle(ts, segs, last);
  EXPECT_EQ(d.trigger, Trigger::Cadence);
  EXPECT_EQ(d.start, t0);
  EXPECT_EQ(d.end, t0 + 1024);
  last = d.end;

  // 2047 s later: not yet; 2048 s later: a cadence cycle on the newest 3072 s (the whole lock).
  segs = observing_segments(range(t0, t0 + 1024 + 2047), 120);
  d = next_cycle(ts, segs, last);
  EXPECT_EQ(d.trigger, Trigger::None);
  EXPECT_NE(d.why.find("when the archive reaches GPS " + std::to_string(t0 + 1024 + 2048)), std::string::npos) << d.why;
  segs = observing_segments(range(t0, t0 + 3072), 120);
  d = next_cycle(ts, segs, last);
  EXPECT_EQ(d.trigger, Trigger::Cadence);
  EXPECT_EQ(d.start, t0);
  EXPECT_EQ(d.end, t0 + 3072);
  last = d.end;

  // Another 2048 s with a 30-s hole of bad seconds inside: cadence, the newest 4096 s of the lock.
  auto lock1 = range(t0, t0 + 4000) + range(t0 + 4030, t0 + 5120);
  d = next_cycle(ts, observing_segments(lock1, 120), last);
  EXPECT_EQ(d.trigger, Trigger::Cadence);
  EXPECT_EQ(d.start, t0 + 5120 - 4096);
  EXPECT_EQ(d.end, t0 + 5120);
  last = d.end;

  // Lock loss at t0+6000 for 900 s. The old lock ran on to 6000: 880 s past the last cycle, nothing.
  lock1 = lock1 + range(t0 + 5120, t0 + 6000);
  d = next_cycle(ts, observing_segments(lock1, 120), last);
  EXPECT_EQ(d.trigger, Trigger::None);
  // The new lock from t0+6900: waits for 1024 s of it, although the cadence is due meanwhile
  // (t0+7168 = last + 2048) — a cycle never trains across the lock loss.
  const std::uint64_t relock = t0 + 6900;
  d = next_cycle(ts, observing_segments(lock1 + range(relock, relock + 1000), 120), last);
  EXPECT_EQ(d.trigger, Trigger::None);
  EXPECT_NE(d.why.find("began at GPS " + std::to_string(relock) + " after a lock loss of 900 s holds 1000 s"),
            std::string::npos)
      << d.why;
  d = next_cycle(ts, observing_segments(lock1 + range(relock, relock + 1024), 120), last);
  EXPECT_EQ(d.trigger, Trigger::Relock);
  EXPECT_EQ(d.start, relock);
  EXPECT_EQ(d.end, relock + 1024);
  last = d.end;

  // The new lock no longer counts as new: the cadence again, from the relock cycle's end.
  d = next_cycle(ts, observing_segments(lock1 + range(relock, relock + 1024 + 2047), 120), last);
  EXPECT_EQ(d.trigger, Trigger::None);
  d = next_cycle(ts, observing_segments(lock1 + range(relock, relock + 1024 + 2048), 120), last);
  EXPECT_EQ(d.trigger, Trigger::Cadence);
  EXPECT_EQ(d.start, relock);  // 3072 s of the new lock, nothing of the old
  EXPECT_EQ(d.end, relock + 3072);

  // Asked for (--once): now, on the newest lock, whatever the cadence.
  d = next_cycle(ts, observing_segments(lock1 + range(relock, relock + 1100), 120), last, true);
  EXPECT_EQ(d.trigger, Trigger::Manual);
  EXPECT_EQ(d.start, relock);
  EXPECT_EQ(d.end, relock + 1100);
}

TEST(RetrainTrigger, TheIndexListsTheSecondsOfRealChunksAndNamesAnUnreadableOne) {
  TempDir dir("trigger");
  const Settings s = test::settings(dir.path / "a", 8, 100000);
  std::vector<std::uint64_t> want;
  {
    Writer w(s);
    for (std::uint64_t g = 2000; g < 2040; ++g) {
      if (g % 11 == 3 || (g >= 2020 && g < 2030)) continue;  // holes: single seconds and a whole chunk
      w.add(test::second(g));
      want.push_back(g);
    }
  }
  SecondsIndex index(s);
  EXPECT_EQ(index.update(), want);
  EXPECT_TRUE(index.errors().empty());
  const auto segs = observing_segments(index.update(), 5);
  ASSERT_EQ(segs.size(), 2u);  // the 10-s hole 2020-2029 is a lock loss at gap 5, the 1-s holes are not
  EXPECT_EQ(segs[0].start, 2000u);
  EXPECT_EQ(segs[0].end, 2020u);
  EXPECT_EQ(segs[1].start, 2030u);
  EXPECT_EQ(segs[1].end, 2040u);

  // A corrupt chunk is named and counts as a hole; a removed one is forgotten.
  const auto chunks = list_chunks(s);
  ASSERT_GE(chunks.size(), 4u);
  const auto second_chunk = std::find_if(chunks.begin(), chunks.end(), [](const Chunk& c) { return c.first == 2008; });
  ASSERT_NE(second_chunk, chunks.end());
  std::ofstream(second_chunk->path, std::ios::binary | std::ios::trunc) << "not a frame file";
  SecondsIndex fresh(s);
  std::vector<std::uint64_t> without;
  for (auto g : want) {
    if (g < 2008 || g >= 2016) without.push_back(g);
  }
  EXPECT_EQ(fresh.update(), without);
  ASSERT_EQ(fresh.errors().size(), 1u);
  EXPECT_NE(fresh.errors()[0].find(second_chunk->path.filename().string()), std::string::npos) << fresh.errors()[0];
  fs::remove(chunks.back().path);
  without.erase(std::remove_if(without.begin(), without.end(), [&](auto g) { return g >= chunks.back().first; }),
                without.end());
  EXPECT_EQ(fresh.update(), without);
}

}  // namespace
}  // namespace deepclean::daemon::archive
