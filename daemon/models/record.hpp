// The model repository's record (issue 15, docs/model-lifecycle.md): every version the service has
// seen, its state and why, the pin and the last decisions. One version at a time is production; one
// at a time is the canary (validated on the live stream); after a promotion the previous production
// stays loaded as standby for the probation window, for a rollback without a gap.
//
//   candidate --start_canary--> canary --promote--> production --promote(other)--> standby --retire--> retired
//       |                         |                     |                            |
//       +--------reject-----------+                     +--rollback--> rejected      +--rollback--> production
//
// The record is pure state (no files, no clock): the service applies the transitions and persists it
// (to_json/from_json) in the repository. A transition from a state it does not apply to throws
// std::logic_error naming the version and both states: the service checks before it acts.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deepclean::daemon::models {

enum class State { Candidate, Canary, Production, Standby, Rejected, Retired };
const char* state_name(State s);
std::optional<State> parse_state(std::string_view name);

struct Version {
  std::string name;             // the subdirectory of the repository
  std::string id;               // bundle id (content hash) when last seen
  State state = State::Candidate;
  std::string reason;           // of the last transition
  std::string since;            // UTC time of the last transition (ISO 8601)
  std::uint64_t since_gps = 0;  // GPS second it took effect at (promotion, rollback); 0: none
};

// One decision, for `deepclean ctl status` and the log.
struct Decision {
  std::string time;   // UTC, ISO 8601
  std::uint64_t gps = 0;
  std::string version;
  std::string action;  // canary, rejected, promoted, rolled back, retired, pinned, unpinned
  std::string reason;
};

class Record {
 public:
  static constexpr std::size_t kDecisionsKept = 32;

  const std::vector<Version>& versions() const { return versions_; }
  const Version* find(std::string_view name) const;
  // The version in that state (production, canary and standby are unique), or none.
  const Version* in_state(State s) const;
  const std::optional<std::string>& pinned() const { return pinned_; }
  const std::deque<Decision>& decisions() const { return decisions_; }

  enum class Seen { New, Unchanged, Changed };
  // A version found in the repository with content `id`. New: recorded as a candidate. Changed (its
  // content differs from the record's): a candidate, rejected or retired one is a candidate again; a
  // loaded one (canary, production, standby) keeps its state, since what runs is what was loaded.
  Seen seen(const std::string& name, const std::string& id, const std::string& now);
  // Its directory is gone: a candidate or rejected version is forgotten; a loaded one is kept.
  void vanished(const std::string& name);
  // The newest candidate (the last seen), the next canary: models go stale, so the newest is validated
  // first (the lifecycle sets the older ones aside as superseded).
  const Version* next_candidate() const;
  // The candidates seen before `name`, oldest first.
  std::vector<std::string> candidates_before(const std::string& name) const;

  // Transitions; `now` is the UTC time, `gps` the second it takes effect at.
  void start_canary(const std::string& name, const std::string& now);
  void reject(const std::string& name, const std::string& reason, const std::string& now, std::uint64_t gps);
  // A rejected version an operator asks for is a candidate again.
  void reconsider(const std::string& name, const std::string& reason, const std::string& now);
  // The canary goes back to the queue (a restart, a reload, an operator's choice of another version).
  void requeue(const std::string& name, const std::string& reason, const std::string& now);
  // `name` (canary, standby or, by an operator, a candidate) becomes production; the production one
  // becomes standby.
  void promote(const std::string& name, const std::string& reason, const std::string& now, std::uint64_t gps);
  // The standby is retired (probation over: moved to the archive).
  void retire(const std::string& name, const std::string& reason, const std::string& now);
  // Production is rejected with `reason`, the standby is production again.
  void rollback(const std::string& reason, const std::string& now, std::uint64_t gps);
  // The first production of a repository (no record yet), without validation: `reason` says why.
  void bootstrap(const std::string& name, const std::string& id, const std::string& reason, const std::string& now);
  void pin(const std::string& name, const std::string& now, std::uint64_t gps);
  void unpin(const std::string& now, std::uint64_t gps);

  std::string to_json() const;
  // Throws std::invalid_argument naming what is wrong (the caller names the file).
  static Record from_json(const std::string& text);

 private:
  Version& get(const std::string& name, std::initializer_list<State> from, const char* transition);
  void decide(const std::string& now, std::uint64_t gps, const std::string& version, const std::string& action,
              const std::string& reason);

  std::vector<Version> versions_;  // first seen first
  std::optional<std::string> pinned_;
  std::deque<Decision> decisions_;
};

}  // namespace deepclean::daemon::models
