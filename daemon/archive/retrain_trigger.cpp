#include "daemon/archive/retrain_trigger.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <set>

#include "io/gwf/reader.hpp"


namespace deepclean::daemon::archive {

std::vector<Segment> observing_segments(const std::vector<std::uint64_t>& seconds, std::uint64_t gap) {
  std::vector<Segment> out;
  for (const std::uint64_t g : seconds) {
    // The hole before g is g - end seconds long.
    if (out.empty() || g - out.back().end >= gap) {
      out.push_back({g, g + 1, 1});
    } else {
      out.back().end = g + 1;
      ++out.back().seconds;
    }
  }
  return out;
}

const char* trigger_name(Trigger t) {
  switch (t) {
    case Trigger::None: return "none";
    case Trigger::Cadence: return "cadence";
    case Trigger::Relock: return "relock";
    case Trigger::Manual: return "manual";
  }
  return "?";
}

Decision next_cycle(const TriggerSettings& s, const std::vector<Segment>& segments,
                    std::optional<std::uint64_t> last_end, bool manual) {
  Decision d;
  if (segments.empty()) {
    d.why = "the training archive holds no second yet";
    return d;
  }
  const Segment& cur = segments.back();
  const std::uint64_t length = cur.end - cur.start;
  // A lock no cycle has seen: the newest segment follows a lock loss and began after the last cycle.
  const bool new_lock = segments.size() > 1 && (!last_end || *last_end <= cur.start);
  const std::uint64_t lost = segments.size() > 1 ? cur.start - segments[segments.size() - 2].end : 0;
  if (!manual && last_end && cur.end <= *last_end) {
    d.why = fmt::format("nothing archived since the last cycle's end (GPS {})", *last_end);
    return d;
  }
  if (length < s.min_span) {
    d.why = new_lock ? fmt::format("the observing segment that began at GPS {} after a lock loss of {} s holds {} s; "
                                   "a cycle needs {} s (retrain.min_span_seconds)",
                                   cur.start, lost, length, s.min_span)
                     : fmt::format("the newest observing segment (GPS {}-{}) holds {} s; a cycle needs {} s "
                                   "(retrain.min_span_seconds)",
                                   cur.start, cur.end, length, s.min_span);
    return d;
  }
  d.end = cur.end;
  d.start = cur.end - std::min(s.span, length);
  if (manual) {
    d.trigger = Trigger::Manual;
    d.why = "asked for (--once)";
  } else if (new_lock) {
    d.trigger = Trigger::Relock;
    d.why = fmt::format("a new observing segment began at GPS {} after a lock loss of {} s", cur.start, lost);
  } else if (!last_end) {
    d.trigger = Trigger::Cadence;
    d.why = "no cycle yet";
  } else if (cur.end - *last_end >= s.cadence) {
    d.trigger = Trigger::Cadence;
    d.why = fmt::format("the archive reached GPS {}, {} s after the last cycle's end", cur.end, cur.end - *last_end);
  } else {
    d.start = d.end = 0;
    d.why = fmt::format("the next cycle when the archive reaches GPS {}", *last_end + s.cadence);
  }
  return d;
}

std::vector<std::uint64_t> SecondsIndex::update() {
  errors_.clear();
  const std::vector<Chunk> chunks = list_chunks(s_);
  std::set<std::filesystem::path> present;
  std::vector<std::uint64_t> all;
  for (const Chunk& c : chunks) {
    present.insert(c.path);
    auto it = seconds_of_.find(c.path);
    if (it == seconds_of_.end()) {
      try {
        std::vector<std::uint64_t> gps;
        for (const auto& [g, frame] : chunk_seconds(gwf::FrameFile::open(c.path.string()), c.path.string())) {
          if (g >= c.first && g < c.first + c.span) gps.push_back(g);
        }
        it = seconds_of_.emplace(c.path, std::move(gps)).first;
      } catch (const std::exception& e) {
        errors_.push_back(c.path.string() + ": " + e.what());
        continue;
      }
    }
    all.insert(all.end(), it->second.begin(), it->second.end());
  }
  for (auto it = seconds_of_.begin(); it != seconds_of_.end();) {
    it = present.count(it->first) ? std::next(it) : seconds_of_.erase(it);
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

}  // namespace deepclean::daemon::archive
