// When `deepclean retrain` runs a cycle, and on which span (issue 16, docs/retraining.md, "Triggers").
// Everything is decided in archive (GPS) time, from the seconds the training archive holds, so a run
// fed faster than real time retrains at the same GPS cadence as a live one:
//   - observing segments: the archived seconds, a hole of `relock_gap` seconds or more ending a
//     segment (a lock loss); shorter holes (a corrupt frame, a few bad seconds) stay inside it;
//   - a cycle trains on the newest segment only, its newest `span` seconds, never across a lock
//     loss, and only once that holds `min_span` seconds;
//   - relock: the newest segment began after the last cycle's end (no cycle has seen this lock):
//     a cycle as soon as it holds `min_span` seconds;
//   - cadence: the newest archived second is `cadence` past the last cycle's end (or there was no
//     cycle yet).
// Torch-free and pure, so the rules are tested directly.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/archive/training_archive.hpp"

namespace deepclean::daemon::archive {

struct Segment {
  std::uint64_t start = 0, end = 0;  // GPS [start, end): first and one past the last archived second
  std::uint64_t seconds = 0;         // archived seconds in it (the rest are short holes)
};

// Maximal runs of `seconds` (sorted, unique) whose holes are shorter than `gap`.
std::vector<Segment> observing_segments(const std::vector<std::uint64_t>& seconds, std::uint64_t gap);

struct TriggerSettings {
  std::uint64_t cadence = 2048, span = 4096, min_span = 1024, relock_gap = 120;
};

enum class Trigger { None, Cadence, Relock, Manual };
const char* trigger_name(Trigger t);  // "none", "cadence", "relock", "manual"

struct Decision {
  Trigger trigger = Trigger::None;
  std::uint64_t start = 0, end = 0;  // the span to use: GPS [start, end)
  std::string why;                   // one clause for the log
};

// The next cycle given the archive's observing segments and the end GPS of the last cycle (nullopt:
// none yet). `manual` (`--once`): a cycle now on the newest segment, whatever the triggers say.
// No cycle (Trigger::None, the reason in `why`) when the newest segment is shorter than min_span, or
// nothing triggers.
Decision next_cycle(const TriggerSettings& s, const std::vector<Segment>& segments,
                    std::optional<std::uint64_t> last_end, bool manual = false);

// The archive's seconds, read from its chunk files' frame headers; a chunk is read once (chunks are
// written whole and never change), and chunks that retention removed are forgotten. A chunk that
// cannot be read counts as a hole and is named in `errors()` (and read again next time).
class SecondsIndex {
 public:
  explicit SecondsIndex(Settings s) : s_(std::move(s)) {}
  std::vector<std::uint64_t> update();  // every archived second, sorted
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  Settings s_;
  std::map<std::filesystem::path, std::vector<std::uint64_t>> seconds_of_;
  std::vector<std::string> errors_;
};

}  // namespace deepclean::daemon::archive
