// The sequencing rules of `deepclean run` (daemon/scheduling/scheduler.hpp), with a hand-driven clock: the
// expected actions are derived from the rules written in the header, not from the implementation.
#include <gtest/gtest.h>

#include "daemon/scheduling/scheduler.hpp"

using deepclean::daemon::ArrivalKind;
using deepclean::daemon::FileId;
using deepclean::daemon::SecondScheduler;
using deepclean::daemon::SteadyTime;
using Action = SecondScheduler::Action;
using std::chrono::milliseconds;

namespace {

constexpr std::uint64_t kG = 1300000000;
const SteadyTime t0 = SteadyTime{} + std::chrono::hours(1);

FileId id(std::uint64_t inode, std::int64_t mtime = 1) { return FileId{1, inode, mtime, 100}; }

SecondScheduler make() { return SecondScheduler(2, milliseconds(500), milliseconds(100), 100); }

}  // namespace

TEST(RunScheduler, WaitsForBothFilesThenAttemptsInOrder) {
  SecondScheduler s = make();
  s.start(kG, ArrivalKind::Late);
  EXPECT_EQ(s.next_action(t0).kind, Action::Wait);
  EXPECT_FALSE(s.next_action(t0).wake) << "no file yet: no deadline";
  EXPECT_EQ(s.arrived(kG, 0, id(1), t0), ArrivalKind::Expected);
  Action a = s.next_action(t0 + milliseconds(10));
  EXPECT_EQ(a.kind, Action::Wait);
  ASSERT_TRUE(a.wake);
  EXPECT_EQ(*a.wake, t0 + milliseconds(500));
  EXPECT_EQ(s.arrived(kG, 1, id(2), t0 + milliseconds(20)), ArrivalKind::Expected);
  a = s.next_action(t0 + milliseconds(20));
  EXPECT_EQ(a.kind, Action::Attempt);
  EXPECT_EQ(a.gps, kG);
  EXPECT_FALSE(a.last_chance);
  EXPECT_EQ(*s.seen_time(kG), t0 + milliseconds(20));
  s.done(true);
  EXPECT_EQ(s.next(), kG + 1);
  EXPECT_EQ(s.next_action(t0 + milliseconds(30)).kind, Action::Wait);
}

TEST(RunScheduler, OutOfOrderInsideTheTimeoutIsProcessedInOrder) {
  SecondScheduler s = make();
  s.start(kG, ArrivalKind::Late);
  // kG+1 arrives first: kG's clock starts now, but kG is still awaited.
  s.arrived(kG + 1, 0, id(3), t0);
  s.arrived(kG + 1, 1, id(4), t0);
  EXPECT_EQ(s.next_action(t0 + milliseconds(100)).kind, Action::Wait);
  s.arrived(kG, 0, id(1), t0 + milliseconds(200));
  s.arrived(kG, 1, id(2), t0 + milliseconds(200));
  Action a = s.next_action(t0 + milliseconds(200));
  EXPECT_EQ(a.kind, Action::Attempt);
  EXPECT_EQ(a.gps, kG);
  s.done(true);
  a = s.next_action(t0 + milliseconds(200));
  EXPECT_EQ(a.kind, Action::Attempt);
  EXPECT_EQ(a.gps, kG + 1);
}

TEST(RunScheduler, MissingRunGivenUpAtOnceAndLateFilesClassified) {
  SecondScheduler s = make();
  s.start(kG, ArrivalKind::Late);
  s.arrived(kG + 3, 0, id(7), t0);
  s.arrived(kG + 3, 1, id(8), t0);
  EXPECT_EQ(s.next_action(t0 + milliseconds(499)).kind, Action::Wait);
  Action a = s.next_action(t0 + milliseconds(500));
  ASSERT_EQ(a.kind, Action::GiveUp);
  EXPECT_EQ(a.gps, kG);
  EXPECT_EQ(a.count, 3u);
  s.gave_up(a.count);
  EXPECT_EQ(s.next(), kG + 3);
  EXPECT_EQ(s.next_action(t0 + milliseconds(500)).kind, Action::Attempt);
  s.done(true);
  // A file for a given-up second is late; the same file again is nothing new.
  EXPECT_EQ(s.arrived(kG + 1, 0, id(20), t0 + milliseconds(600)), ArrivalKind::Late);
  EXPECT_EQ(s.arrived(kG + 1, 0, id(20), t0 + milliseconds(700)), ArrivalKind::Rereport);
  // A rewrite of a processed second is a duplicate; a re-notification of its file is not.
  EXPECT_EQ(s.arrived(kG + 3, 0, id(7), t0 + milliseconds(700)), ArrivalKind::Rereport);
  EXPECT_EQ(s.arrived(kG + 3, 0, id(7, 2), t0 + milliseconds(700)), ArrivalKind::Duplicate);
}

TEST(RunScheduler, PartialSecondGetsALastChanceAndLaterFilesAreLate) {
  SecondScheduler s = make();
  s.start(kG, ArrivalKind::Late);
  s.arrived(kG, 0, id(1), t0);  // the witness never comes
  Action a = s.next_action(t0 + milliseconds(500));
  EXPECT_EQ(a.kind, Action::Attempt);
  EXPECT_TRUE(a.last_chance);
  s.done(false);
  EXPECT_EQ(s.arrived(kG, 1, id(2), t0 + milliseconds(900)), ArrivalKind::Late);
}

TEST(RunScheduler, FailedAttemptRetriesOnChangeOrAfterTheIntervalUntilTheTimeout) {
  SecondScheduler s = make();
  s.start(kG, ArrivalKind::Late);
  s.arrived(kG, 0, id(1), t0);
  s.arrived(kG, 1, id(2), t0);
  ASSERT_EQ(s.next_action(t0).kind, Action::Attempt);
  s.retry_later(t0);  // half-written
  Action a = s.next_action(t0 + milliseconds(50));
  EXPECT_EQ(a.kind, Action::Wait);
  EXPECT_EQ(*a.wake, t0 + milliseconds(100));
  EXPECT_EQ(s.next_action(t0 + milliseconds(100)).kind, Action::Attempt);
  s.retry_later(t0 + milliseconds(100));
  // The writer finishes: a new version of the witness file means an attempt at once.
  s.arrived(kG, 1, id(2, 5), t0 + milliseconds(120));
  a = s.next_action(t0 + milliseconds(120));
  EXPECT_EQ(a.kind, Action::Attempt);
  EXPECT_FALSE(a.last_chance);
  s.retry_later(t0 + milliseconds(120));
  a = s.next_action(t0 + milliseconds(500));
  EXPECT_EQ(a.kind, Action::Attempt);
  EXPECT_TRUE(a.last_chance) << "the timeout counts from the first file of the second";
}

TEST(RunScheduler, VanishedFileIsForgottenAndAwaitedAgain) {
  SecondScheduler s = make();
  s.start(kG, ArrivalKind::Late);
  s.arrived(kG, 0, id(1), t0);
  s.arrived(kG, 1, id(2), t0);
  s.forget(kG, 1);
  Action a = s.next_action(t0 + milliseconds(10));
  EXPECT_EQ(a.kind, Action::Wait);
  s.forget(kG, 0);
  EXPECT_EQ(s.backlog(), 0u);
  EXPECT_FALSE(s.next_action(t0 + milliseconds(900)).wake) << "nothing left: waiting for input";
}

TEST(RunScheduler, StartUpScanFilesAreNotLateAndBeforeStartArrivalsFollowTheStartMode) {
  SecondScheduler s = make();
  // The start-up scan saw kG-2..kG+1; resume at kG.
  for (std::uint64_t g = kG - 2; g <= kG + 1; ++g) {
    s.arrived(g, 0, id(g), t0);
    s.arrived(g, 1, id(g + 100), t0);
  }
  EXPECT_FALSE(s.last_arrival());
  s.start(kG, ArrivalKind::Duplicate);
  EXPECT_EQ(s.backlog(), 2u);
  EXPECT_EQ(s.last_arrival(), t0) << "the backlog is the stream's latest activity";
  EXPECT_EQ(s.arrived(kG - 2, 0, id(kG - 2), t0), ArrivalKind::Rereport);  // overflow rescan
  EXPECT_EQ(s.arrived(kG - 1, 0, id(9999), t0), ArrivalKind::Duplicate);
  EXPECT_EQ(s.arrived(kG - 1000, 0, id(9998), t0), ArrivalKind::Stale);
  EXPECT_EQ(s.next_action(t0).kind, Action::Attempt);
}

TEST(RunScheduler, HugeGapIsOneGiveUpNotOneStepPerSecond) {
  SecondScheduler s = make();
  s.start(kG, ArrivalKind::Late);
  s.arrived(kG + 1000000, 0, id(1), t0);
  const Action a = s.next_action(t0 + milliseconds(600));
  ASSERT_EQ(a.kind, Action::GiveUp);
  EXPECT_EQ(a.count, 1000000u);
  s.gave_up(a.count);
  EXPECT_EQ(s.next(), kG + 1000000);
  EXPECT_EQ(s.arrived(kG + 999999, 0, id(2), t0), ArrivalKind::Late);
}
