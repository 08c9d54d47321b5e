#include "core/stream/segment.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace deepclean::stream {
namespace {

TEST(SampleClock, ExactAtGpsTimesMonthsApart) {
  const GpsNs t0 = gps_ns(1'400'000'000);
  const SampleClock clock(t0, 16384);
  // 90 days of 16384 Hz samples: 127,401,984,000 samples, still exactly 90 days later.
  const std::int64_t n = std::int64_t{90} * 86400 * 16384;
  EXPECT_EQ(clock.time_of(n), gps_ns(1'400'000'000 + 90 * 86400));
  // One sample later: 1e9 / 16384 = 61035.15625 ns, rounded down.
  EXPECT_EQ(clock.time_of(n + 1), gps_ns(1'400'000'000 + 90 * 86400, 61035));
  EXPECT_EQ(clock.index_at(clock.time_of(n + 1)), n + 1);
  EXPECT_EQ(clock.index_at(gps_ns(1'400'000'000 + 90 * 86400, 61036)), std::nullopt);
  EXPECT_EQ(clock.index_ceil(gps_ns(1'400'000'000 + 90 * 86400, 61036)), n + 2);
  // Every sample of one second round-trips.
  for (std::int64_t i = 0; i < 16384; ++i) ASSERT_EQ(clock.index_at(clock.time_of(n + i)), n + i);
  // Before the origin.
  EXPECT_EQ(clock.time_of(-16384), gps_ns(1'399'999'999));
  EXPECT_EQ(clock.index_at(gps_ns(1'399'999'999)), -16384);
}

TEST(SampleClock, SamplesInDurations) {
  EXPECT_EQ(samples_in(gps_ns(1), 16384), 16384);
  EXPECT_EQ(samples_in(gps_ns(0, 62'500'000), 16384), 1024);  // 1/16 s
  EXPECT_EQ(samples_in(gps_ns(0, 1), 4096), std::nullopt);
  EXPECT_THROW(samples_in(gps_ns(1), 0), std::invalid_argument);
  EXPECT_THROW(SampleClock(0, 0), std::invalid_argument);
  EXPECT_THROW(SegmentTracker(-1), std::invalid_argument);
}

TEST(SegmentTracker, ContiguousGapOverlap) {
  SegmentTracker seg(4096);
  const GpsNs t = gps_ns(1'400'000'000);
  EXPECT_FALSE(seg.open());
  EXPECT_EQ(seg.observe(t, 4096), Continuity::first);
  EXPECT_EQ(seg.observe(t + gps_ns(1), 4096), Continuity::contiguous);
  EXPECT_EQ(seg.samples_in_segment(), 8192);
  EXPECT_EQ(seg.expected_next(), t + gps_ns(2));
  // A repeated second overlaps and changes nothing.
  EXPECT_EQ(seg.observe(t + gps_ns(1), 4096), Continuity::overlap);
  EXPECT_EQ(seg.samples_in_segment(), 8192);
  // A missing second: a gap, and the new segment starts at the new chunk.
  EXPECT_EQ(seg.observe(t + gps_ns(3), 4096), Continuity::gap);
  EXPECT_EQ(seg.segment_start(), t + gps_ns(3));
  EXPECT_EQ(seg.samples_in_segment(), 4096);
  // A chunk off the sample grid (half a sample late) is a gap too.
  EXPECT_EQ(seg.observe(t + gps_ns(4) + 122'070, 100), Continuity::gap);
  seg.end_segment();
  EXPECT_FALSE(seg.open());
  EXPECT_EQ(seg.observe(t + gps_ns(9), 1), Continuity::first);
}

}  // namespace
}  // namespace deepclean::stream
