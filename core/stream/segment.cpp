#include "core/stream/segment.hpp"

#include <stdexcept>
#include <string>

namespace deepclean::stream {
namespace {

// Floor division for a possibly negative numerator and a positive denominator.
std::int64_t floor_div(std::int64_t num, std::int64_t den) {
  std::int64_t q = num / den;
  if ((num % den) != 0 && num < 0) --q;
  return q;
}

void require_rate(int rate) {
  if (rate <= 0) {
    throw std::invalid_argument("sample rate must be positive, got " + std::to_string(rate));
  }
}

}  // namespace

SampleClock::SampleClock(GpsNs origin, int rate) : origin_(origin), rate_(rate) {
  require_rate(rate);
}

GpsNs SampleClock::time_of(std::int64_t n) const {
  // Split n into whole seconds and a remainder so that nothing overflows: (n mod rate) * 1e9 stays
  // below rate * 1e9 < 2^63 for any int rate.
  const std::int64_t sec = floor_div(n, rate_);
  const std::int64_t rem = n - sec * rate_;
  return origin_ + sec * kNsPerSecond + (rem * kNsPerSecond) / rate_;
}

std::int64_t SampleClock::index_ceil(GpsNs t) const {
  const std::int64_t d = t - origin_;
  const std::int64_t sec = floor_div(d, kNsPerSecond);
  const std::int64_t rem = d - sec * kNsPerSecond;  // [0, 1e9)
  // Smallest k with floor(k * 1e9 / rate) >= rem, i.e. k * 1e9 / rate > rem - 1, i.e.
  // k >= ceil(rem * rate / 1e9) (rounding down in time_of loses less than one ns).
  const std::int64_t k = (rem * rate_ + kNsPerSecond - 1) / kNsPerSecond;
  return sec * rate_ + k;
}

std::optional<std::int64_t> SampleClock::index_at(GpsNs t) const {
  const std::int64_t n = index_ceil(t);
  if (time_of(n) != t) return std::nullopt;
  return n;
}

std::optional<std::int64_t> samples_in(GpsNs duration, int rate) {
  require_rate(rate);
  const std::int64_t sec = floor_div(duration, kNsPerSecond);
  const std::int64_t rem = duration - sec * kNsPerSecond;
  if ((rem * rate) % kNsPerSecond != 0) return std::nullopt;
  return sec * rate + (rem * rate) / kNsPerSecond;
}

SegmentTracker::SegmentTracker(int rate) : rate_(rate) { require_rate(rate); }

Continuity SegmentTracker::observe(GpsNs start, std::size_t samples) {
  Continuity result = Continuity::first;
  if (clock_) {
    const GpsNs next = clock_->time_of(received_);
    if (start < next) return Continuity::overlap;
    if (start == next) {
      received_ += static_cast<std::int64_t>(samples);
      return Continuity::contiguous;
    }
    result = Continuity::gap;
  }
  clock_.emplace(start, rate_);
  received_ = static_cast<std::int64_t>(samples);
  return result;
}

void SegmentTracker::end_segment() {
  clock_.reset();
  received_ = 0;
}

std::optional<GpsNs> SegmentTracker::segment_start() const {
  if (!clock_) return std::nullopt;
  return clock_->origin();
}

std::optional<GpsNs> SegmentTracker::expected_next() const {
  if (!clock_) return std::nullopt;
  return clock_->time_of(received_);
}

}  // namespace deepclean::stream
