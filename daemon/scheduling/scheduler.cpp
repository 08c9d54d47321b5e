#include "daemon/scheduling/scheduler.hpp"

#include <algorithm>
#include <stdexcept>

namespace deepclean::daemon {

const char* arrival_name(ArrivalKind k) {
  switch (k) {
    case ArrivalKind::Expected: return "expected";
    case ArrivalKind::Rereport: return "rereport";
    case ArrivalKind::Late: return "late";
    case ArrivalKind::Duplicate: return "duplicate";
    case ArrivalKind::Stale: return "stale";
  }
  return "unknown";
}

SecondScheduler::SecondScheduler(std::size_t sources, std::chrono::nanoseconds timeout,
                                 std::chrono::nanoseconds retry_interval, std::uint64_t history)
    : sources_(sources), timeout_(timeout), retry_(retry_interval), history_(std::max<std::uint64_t>(history, 1)) {
  if (sources_ == 0) throw std::invalid_argument("SecondScheduler: no sources");
}

bool SecondScheduler::Entry::complete() const {
  return std::all_of(files.begin(), files.end(), [](const auto& f) { return f.has_value(); });
}

void SecondScheduler::start(std::uint64_t gps, ArrivalKind before_start) {
  started_ = true;
  start_ = next_ = gps;
  before_start_ = before_start;
  for (auto it = pending_.begin(); it != pending_.end() && it->first < gps;) {
    remember(it->first, it->second.files);
    it = pending_.erase(it);
  }
  // Files already there for the seconds ahead count as the stream's latest activity.
  for (const auto& [g, e] : pending_) {
    if (!last_arrival_ || e.last_seen > *last_arrival_) last_arrival_ = e.last_seen;
  }
  trim();
}

void SecondScheduler::remember(std::uint64_t gps, const std::vector<std::optional<FileId>>& files) {
  auto& ids = past_[gps];
  for (const auto& f : files) {
    if (f && std::find(ids.begin(), ids.end(), *f) == ids.end()) ids.push_back(*f);
  }
}

void SecondScheduler::trim() {
  const std::uint64_t oldest = next_ > history_ ? next_ - history_ : 0;
  past_.erase(past_.begin(), past_.lower_bound(oldest));
  while (!given_up_.empty() && given_up_.begin()->second <= oldest) given_up_.erase(given_up_.begin());
}

bool SecondScheduler::given_up(std::uint64_t gps) const {
  auto it = given_up_.upper_bound(gps);
  if (it == given_up_.begin()) return false;
  --it;
  return gps >= it->first && gps < it->second;
}

ArrivalKind SecondScheduler::arrived(std::uint64_t gps, std::size_t source, const FileId& id,
                                     SteadyTime now) {
  if (source >= sources_) throw std::out_of_range("SecondScheduler: source index");
  if (!started_ || gps >= next_) {
    Entry& e = pending_[gps];
    if (e.files.empty()) {
      e.files.resize(sources_);
      e.first_seen = now;
    }
    if (e.files[source] == id) return ArrivalKind::Rereport;
    e.files[source] = id;
    e.last_seen = now;
    e.failed = false;  // something changed: worth another attempt at once
    if (started_) last_arrival_ = now;
    return ArrivalKind::Expected;
  }
  auto known = past_.find(gps);
  if (known != past_.end() && std::find(known->second.begin(), known->second.end(), id) != known->second.end()) {
    return ArrivalKind::Rereport;
  }
  if (next_ - gps > history_) return ArrivalKind::Stale;
  past_[gps].push_back(id);
  if (gps < start_) return before_start_;
  return given_up(gps) ? ArrivalKind::Late : ArrivalKind::Duplicate;
}

void SecondScheduler::forget(std::uint64_t gps, std::size_t source) {
  auto it = pending_.find(gps);
  if (it == pending_.end() || source >= sources_) return;
  it->second.files[source].reset();
  it->second.failed = false;
  if (std::none_of(it->second.files.begin(), it->second.files.end(), [](const auto& f) { return f.has_value(); })) {
    pending_.erase(it);
  }
}

std::optional<SteadyTime> SecondScheduler::deadline() const {
  if (!started_) return std::nullopt;
  std::optional<SteadyTime> evidence;
  for (auto it = pending_.lower_bound(next_); it != pending_.end(); ++it) {
    if (!evidence || it->second.first_seen < *evidence) evidence = it->second.first_seen;
  }
  if (!evidence) return std::nullopt;
  return *evidence + timeout_;
}

SecondScheduler::Action SecondScheduler::next_action(SteadyTime now) const {
  Action a;
  a.gps = next_;
  if (!started_) return a;
  const std::optional<SteadyTime> due = deadline();
  if (!due) return a;  // nothing at or after next_ yet: knowingly waiting for input
  const bool expired = now >= *due;
  auto it = pending_.find(next_);
  if (it != pending_.end()) {
    const Entry& e = it->second;
    if (expired) {
      a.kind = Action::Attempt;
      a.last_chance = true;
      return a;
    }
    if (e.complete() && (!e.failed || now >= e.retry_at)) {
      a.kind = Action::Attempt;
      return a;
    }
    a.wake = e.complete() ? std::min(*due, e.retry_at) : *due;
    return a;
  }
  if (!expired) {
    a.wake = *due;
    return a;
  }
  // No file of next_ at all: give it up with every following second that has none either.
  const auto later = pending_.upper_bound(next_);
  a.kind = Action::GiveUp;
  a.count = later == pending_.end() ? 1 : later->first - next_;
  return a;
}

void SecondScheduler::retry_later(SteadyTime now) {
  auto it = pending_.find(next_);
  if (it == pending_.end()) return;
  it->second.failed = true;
  it->second.retry_at = now + retry_;
}

void SecondScheduler::done(bool complete) {
  auto it = pending_.find(next_);
  if (it != pending_.end()) {
    remember(next_, it->second.files);
    pending_.erase(it);
  } else {
    past_[next_];
  }
  if (!complete) given_up_[next_] = next_ + 1;
  ++next_;
  trim();
}

void SecondScheduler::gave_up(std::uint64_t count) {
  if (count == 0) return;
  const std::uint64_t end = next_ + count;
  for (auto it = pending_.lower_bound(next_); it != pending_.end() && it->first < end;) {
    remember(it->first, it->second.files);
    it = pending_.erase(it);
  }
  // Merge with a range ending right here so a long outage stays one entry.
  if (!given_up_.empty()) {
    auto last = std::prev(given_up_.end());
    if (last->second == next_) {
      last->second = end;
    } else {
      given_up_[next_] = end;
    }
  } else {
    given_up_[next_] = end;
  }
  next_ = end;
  trim();
}

std::optional<SteadyTime> SecondScheduler::seen_time(std::uint64_t gps) const {
  auto it = pending_.find(gps);
  if (it == pending_.end()) return std::nullopt;
  return it->second.last_seen;
}

}  // namespace deepclean::daemon
