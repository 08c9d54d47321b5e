// Which input second `deepclean run` works on next, and when it stops waiting for one. Torch-free and
// clock-free (the caller passes the time), so the sequencing rules are unit-tested on their own.
//
// Rules (docs/operations.md, "How seconds are sequenced"):
// - Seconds are handed out strictly in GPS order, starting at start().
// - A second is attempted once every one of its source files (strain, witness) has been seen.
// - The timeout of a second counts from the first moment the input stream showed it had reached or
//   passed that second: the first file seen for it or for any later second. Until then the daemon is
//   knowingly waiting (a stalled writer produces no false "missing" seconds); once the timeout has
//   run out, the second is attempted with whatever is there (a last chance), or, when none of its
//   files exists, it is given up together with every following second that has no file either.
// - An attempt that fails in a way a writer can still fix (half-written or vanished file) is retried
//   after `retry_interval` or as soon as one of its files changes, until the timeout.
// - Files of seconds already behind the sequence are classified: the same file seen again is ignored
//   silently (an overflow rescan, a second event), a new file for a second that was given up is
//   late, a new file for a second that was processed is a duplicate.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace deepclean::daemon {

using SteadyTime = std::chrono::steady_clock::time_point;

// Identity of one version of a file: a rewrite or a new copy changes it, a second notification of
// the same file does not.
struct FileId {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t mtime_ns = 0;
  std::uint64_t size = 0;
  bool operator==(const FileId& o) const {
    return device == o.device && inode == o.inode && mtime_ns == o.mtime_ns && size == o.size;
  }
  bool operator!=(const FileId& o) const { return !(*this == o); }
};

enum class ArrivalKind {
  Expected,   // a file of a second still ahead (or not started yet): kept for its attempt
  Rereport,   // a file already known, reported again: nothing to do
  Late,       // a new file for a second that was given up
  Duplicate,  // a new file for a second that was processed
  Stale,      // a file of a second older than the remembered history: ignored
};
const char* arrival_name(ArrivalKind k);

class SecondScheduler {
 public:
  // `sources`: files per second (1 when witnesses live in the strain frames, else 2).
  // `history`: how many seconds behind the sequence are remembered to classify late files.
  SecondScheduler(std::size_t sources, std::chrono::nanoseconds timeout,
                  std::chrono::nanoseconds retry_interval, std::uint64_t history = 4096);

  // The first second to process. Files seen before (the start-up scan) for earlier seconds are
  // remembered as already there; new files for them later count as `before_start`
  // (Duplicate after a resume, where an earlier run processed them; Late otherwise).
  void start(std::uint64_t gps, ArrivalKind before_start);
  bool started() const { return started_; }
  std::uint64_t next() const { return next_; }
  void set_timeout(std::chrono::nanoseconds t) { timeout_ = t; }

  ArrivalKind arrived(std::uint64_t gps, std::size_t source, const FileId& id, SteadyTime now);
  // The file of `source` for second `gps` (still ahead) disappeared before it could be read.
  void forget(std::uint64_t gps, std::size_t source);

  struct Action {
    enum Kind { Wait, Attempt, GiveUp } kind = Wait;
    std::uint64_t gps = 0;
    std::uint64_t count = 0;            // GiveUp: seconds [gps, gps + count) have no file at all
    bool last_chance = false;           // Attempt: the timeout has run out; no more retries
    std::optional<SteadyTime> wake;     // Wait: when to ask again (none: wait for a file)
  };
  Action next_action(SteadyTime now) const;

  // The attempt of next() failed in a way that may fix itself: try again later (see above).
  void retry_later(SteadyTime now);
  // next() was processed (`complete`: with all of its files; otherwise it counts as given up for
  // files arriving later). Advances by one.
  void done(bool complete);
  // Seconds [next(), next() + count) were given up. Advances by `count`.
  void gave_up(std::uint64_t count);

  // When the newest file of second `gps` was seen (the arrival that made it complete).
  std::optional<SteadyTime> seen_time(std::uint64_t gps) const;
  // When a file for the current or a later second was last seen (stall detection).
  std::optional<SteadyTime> last_arrival() const { return last_arrival_; }
  // Seconds ahead of next() with at least one file (catch-up backlog).
  std::size_t backlog() const { return pending_.size(); }
  // The timeout deadline of next(), if the stream has reached it.
  std::optional<SteadyTime> deadline() const;

 private:
  struct Entry {
    std::vector<std::optional<FileId>> files;
    SteadyTime first_seen{};
    SteadyTime last_seen{};
    bool failed = false;        // last attempt failed and nothing changed since
    SteadyTime retry_at{};
    bool complete() const;
  };
  void remember(std::uint64_t gps, const std::vector<std::optional<FileId>>& files);
  void trim();
  bool given_up(std::uint64_t gps) const;

  std::size_t sources_;
  std::chrono::nanoseconds timeout_;
  std::chrono::nanoseconds retry_;
  std::uint64_t history_;
  bool started_ = false;
  std::uint64_t start_ = 0;
  std::uint64_t next_ = 0;
  ArrivalKind before_start_ = ArrivalKind::Late;
  std::map<std::uint64_t, Entry> pending_;                    // seconds >= next_ (or all, before start)
  std::map<std::uint64_t, std::vector<FileId>> past_;         // files seen for seconds < next_
  std::map<std::uint64_t, std::uint64_t> given_up_;           // [first, end) ranges behind next_
  std::optional<SteadyTime> last_arrival_;
};

}  // namespace deepclean::daemon
