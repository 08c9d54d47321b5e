// Segment bookkeeping (contract "Segments"): GPS time <-> sample index at any integer rate, exactly,
// and detection of where contiguous input stops. Times are integer nanoseconds since the GPS epoch:
// GPS seconds are ~1.4e9, far beyond the 2^53 resolution a double would keep at 16384 Hz after a
// few months, so no floating point is used anywhere here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace deepclean::stream {

// Nanoseconds since the GPS epoch (int64 covers +-292 years).
using GpsNs = std::int64_t;
inline constexpr GpsNs kNsPerSecond = 1'000'000'000;
constexpr GpsNs gps_ns(std::int64_t seconds, std::int64_t nanoseconds = 0) {
  return seconds * kNsPerSecond + nanoseconds;
}

// The sample grid of one channel: sample n sits at origin + n / rate seconds. Rates need not divide
// 1e9 (16384 Hz does not), so times are rounded down to whole nanoseconds, and index_at() inverts
// that rounding exactly.
class SampleClock {
 public:
  SampleClock(GpsNs origin, int rate);  // throws std::invalid_argument for rate <= 0
  GpsNs origin() const { return origin_; }
  int rate() const { return static_cast<int>(rate_); }
  // floor(origin + n / rate) in ns; n may be negative.
  GpsNs time_of(std::int64_t n) const;
  // The n with time_of(n) == t, or nothing when t is not on this grid.
  std::optional<std::int64_t> index_at(GpsNs t) const;
  // Number of samples with time in [origin, t): the first index whose time is >= t.
  std::int64_t index_ceil(GpsNs t) const;

 private:
  GpsNs origin_;
  std::int64_t rate_;
};

// Samples of `rate` in `duration` ns, when that is a whole number (e.g. a 1-s frame at 16384 Hz).
std::optional<std::int64_t> samples_in(GpsNs duration, int rate);

// How a chunk of input relates to the segment being cleaned.
enum class Continuity {
  first,       // no segment was open: the chunk starts one
  contiguous,  // starts exactly where the previous chunk ended: same segment
  gap,         // starts later (or off the sample grid): the previous segment ended, a new one starts
  overlap,     // starts before the previous chunk ended: the chunk is not accepted
};

// Follows chunk start times on the sample grid of one reference channel (the strain) and says
// where a segment ends. The contract's other reasons (corrupt frame, non-finite sample, failed
// state mask) are the caller's to report through end_segment().
class SegmentTracker {
 public:
  explicit SegmentTracker(int rate);  // throws std::invalid_argument for rate <= 0
  // A chunk of `samples` samples starting at `start`. On `first`/`gap` a new segment starts at
  // `start`; on `overlap` nothing changes.
  Continuity observe(GpsNs start, std::size_t samples);
  // Close the open segment (the next observe() returns `first`).
  void end_segment();
  bool open() const { return clock_.has_value(); }
  // Start of the open segment and the time the next contiguous chunk must start at.
  std::optional<GpsNs> segment_start() const;
  std::optional<GpsNs> expected_next() const;
  // Samples of the reference rate received in the open segment.
  std::int64_t samples_in_segment() const { return received_; }

 private:
  int rate_;
  std::optional<SampleClock> clock_;
  std::int64_t received_ = 0;
};

}  // namespace deepclean::stream
