#include "daemon/models/record.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <stdexcept>

namespace deepclean::daemon::models {

namespace {

constexpr std::pair<State, const char*> kNames[] = {
    {State::Candidate, "candidate"}, {State::Canary, "canary"},     {State::Production, "production"},
    {State::Standby, "standby"},     {State::Rejected, "rejected"}, {State::Retired, "retired"},
};

}  // namespace

const char* state_name(State s) {
  for (const auto& [state, name] : kNames) {
    if (state == s) return name;
  }
  return "?";
}

std::optional<State> parse_state(std::string_view name) {
  for (const auto& [state, n] : kNames) {
    if (name == n) return state;
  }
  return std::nullopt;
}

const Version* Record::find(std::string_view name) const {
  for (const Version& v : versions_) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

const Version* Record::in_state(State s) const {
  for (const Version& v : versions_) {
    if (v.state == s) return &v;
  }
  return nullptr;
}

const Version* Record::next_candidate() const {
  for (auto it = versions_.rbegin(); it != versions_.rend(); ++it) {
    if (it->state == State::Candidate) return &*it;
  }
  return nullptr;
}

std::vector<std::string> Record::candidates_before(const std::string& name) const {
  std::vector<std::string> out;
  for (const Version& v : versions_) {
    if (v.name == name) break;
    if (v.state == State::Candidate) out.push_back(v.name);
  }
  return out;
}

Version& Record::get(const std::string& name, std::initializer_list<State> from, const char* transition) {
  auto it = std::find_if(versions_.begin(), versions_.end(), [&](const Version& v) { return v.name == name; });
  if (it == versions_.end()) throw std::logic_error(std::string(transition) + ": no version " + name + " in the record");
  if (std::find(from.begin(), from.end(), it->state) == from.end()) {
    throw std::logic_error(std::string(transition) + ": version " + name + " is " + state_name(it->state));
  }
  return *it;
}

void Record::decide(const std::string& now, std::uint64_t gps, const std::string& version, const std::string& action,
                    const std::string& reason) {
  decisions_.push_back({now, gps, version, action, reason});
  while (decisions_.size() > kDecisionsKept) decisions_.pop_front();
}

Record::Seen Record::seen(const std::string& name, const std::string& id, const std::string& now) {
  for (Version& v : versions_) {
    if (v.name != name) continue;
    if (v.id == id) return Seen::Unchanged;
    v.id = id;
    if (v.state == State::Candidate || v.state == State::Rejected || v.state == State::Retired) {
      v.state = State::Candidate;
      v.reason = "content changed";
      v.since = now;
      v.since_gps = 0;
    }
    return Seen::Changed;
  }
  versions_.push_back({name, id, State::Candidate, "new in the repository", now, 0});
  return Seen::New;
}

void Record::vanished(const std::string& name) {
  versions_.erase(std::remove_if(versions_.begin(), versions_.end(),
                                 [&](const Version& v) {
                                   return v.name == name &&
                                          (v.state == State::Candidate || v.state == State::Rejected);
                                 }),
                  versions_.end());
}

void Record::start_canary(const std::string& name, const std::string& now) {
  if (const Version* c = in_state(State::Canary)) {
    throw std::logic_error("start_canary: version " + c->name + " is already the canary");
  }
  Version& v = get(name, {State::Candidate}, "start_canary");
  v.state = State::Canary;
  v.reason = "loading and validating";
  v.since = now;
  decide(now, 0, name, "canary", v.reason);
}

void Record::reject(const std::string& name, const std::string& reason, const std::string& now, std::uint64_t gps) {
  Version& v = get(name, {State::Candidate, State::Canary}, "reject");
  v.state = State::Rejected;
  v.reason = reason;
  v.since = now;
  v.since_gps = gps;
  decide(now, gps, name, "rejected", reason);
}

void Record::reconsider(const std::string& name, const std::string& reason, const std::string& now) {
  Version& v = get(name, {State::Rejected}, "reconsider");
  v.state = State::Candidate;
  v.reason = reason;
  v.since = now;
}

void Record::requeue(const std::string& name, const std::string& reason, const std::string& now) {
  Version& v = get(name, {State::Canary}, "requeue");
  v.state = State::Candidate;
  v.reason = reason;
  v.since = now;
}

void Record::promote(const std::string& name, const std::string& reason, const std::string& now, std::uint64_t gps) {
  Version& v = get(name, {State::Candidate, State::Canary, State::Standby}, "promote");
  for (Version& old : versions_) {
    if (old.state == State::Production) {
      old.state = State::Standby;
      old.reason = "replaced by " + name + "; kept loaded for the probation window";
      old.since = now;
      old.since_gps = gps;
    } else if (old.state == State::Standby && old.name != name) {
      // Only one standby: the older one is no longer loaded.
      old.state = State::Retired;
      old.reason = "replaced as standby by the promotion of " + name;
      old.since = now;
      old.since_gps = gps;
    }
  }
  v.state = State::Production;
  v.reason = reason;
  v.since = now;
  v.since_gps = gps;
  if (pinned_ && *pinned_ != name) pinned_.reset();
  decide(now, gps, name, "promoted", reason);
}

void Record::retire(const std::string& name, const std::string& reason, const std::string& now) {
  Version& v = get(name, {State::Standby}, "retire");
  v.state = State::Retired;
  v.reason = reason;
  v.since = now;
  decide(now, 0, name, "retired", reason);
}

void Record::rollback(const std::string& reason, const std::string& now, std::uint64_t gps) {
  const Version* s = in_state(State::Standby);
  const Version* p = in_state(State::Production);
  if (!s || !p) throw std::logic_error("rollback: no standby version to roll back to");
  const std::string to = s->name;
  const std::string from = p->name;
  Version& bad = get(from, {State::Production}, "rollback");
  bad.state = State::Rejected;
  bad.reason = "rolled back: " + reason;
  bad.since = now;
  bad.since_gps = gps;
  Version& good = get(to, {State::Standby}, "rollback");
  good.state = State::Production;
  good.reason = "production again after the rollback of " + from;
  good.since = now;
  good.since_gps = gps;
  pinned_.reset();
  decide(now, gps, from, "rolled back", reason + "; " + to + " is production again");
}

void Record::bootstrap(const std::string& name, const std::string& id, const std::string& reason,
                       const std::string& now) {
  if (const Version* p = in_state(State::Production)) {
    throw std::logic_error("bootstrap: version " + p->name + " is already production");
  }
  (void)seen(name, id, now);
  Version& v = get(name, {State::Candidate, State::Rejected, State::Retired}, "bootstrap");
  v.state = State::Production;
  v.reason = reason;
  v.since = now;
  decide(now, 0, name, "promoted", reason);
}

void Record::pin(const std::string& name, const std::string& now, std::uint64_t gps) {
  (void)get(name, {State::Production}, "pin");
  pinned_ = name;
  decide(now, gps, name, "pinned", "by an operator: no automatic promotion or rollback until unpinned");
}

void Record::unpin(const std::string& now, std::uint64_t gps) {
  if (!pinned_) return;
  const std::string name = *pinned_;
  pinned_.reset();
  decide(now, gps, name, "unpinned", "by an operator");
}

std::string Record::to_json() const {
  nlohmann::ordered_json j;
  j["format"] = "deepclean-model-record/1";
  j["pinned"] = pinned_ ? nlohmann::ordered_json(*pinned_) : nlohmann::ordered_json(nullptr);
  j["versions"] = nlohmann::ordered_json::array();
  for (const Version& v : versions_) {
    j["versions"].push_back({{"name", v.name},
                             {"id", v.id},
                             {"state", state_name(v.state)},
                             {"reason", v.reason},
                             {"since", v.since},
                             {"since_gps", v.since_gps}});
  }
  j["decisions"] = nlohmann::ordered_json::array();
  for (const Decision& d : decisions_) {
    j["decisions"].push_back(
        {{"time", d.time}, {"gps", d.gps}, {"version", d.version}, {"action", d.action}, {"reason", d.reason}});
  }
  return j.dump(2) + "\n";
}

Record Record::from_json(const std::string& text) {
  Record r;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    if (j.value("format", std::string()) != "deepclean-model-record/1") {
      throw std::invalid_argument("not a deepclean model record (format deepclean-model-record/1 expected)");
    }
    if (!j.at("pinned").is_null()) r.pinned_ = j.at("pinned").get<std::string>();
    std::size_t unique[3] = {0, 0, 0};
    for (const auto& v : j.at("versions")) {
      Version x;
      x.name = v.at("name").get<std::string>();
      x.id = v.at("id").get<std::string>();
      const auto s = parse_state(v.at("state").get<std::string>());
      if (!s) throw std::invalid_argument("version " + x.name + ": unknown state " + v.at("state").dump());
      x.state = *s;
      x.reason = v.at("reason").get<std::string>();
      x.since = v.at("since").get<std::string>();
      x.since_gps = v.at("since_gps").get<std::uint64_t>();
      if (r.find(x.name)) throw std::invalid_argument("version " + x.name + " is listed twice");
      if (x.state == State::Production) ++unique[0];
      if (x.state == State::Canary) ++unique[1];
      if (x.state == State::Standby) ++unique[2];
      r.versions_.push_back(std::move(x));
    }
    if (unique[0] > 1 || unique[1] > 1 || unique[2] > 1) {
      throw std::invalid_argument("more than one production, canary or standby version");
    }
    if (r.pinned_ && (!r.find(*r.pinned_) || r.find(*r.pinned_)->state != State::Production)) {
      throw std::invalid_argument("the pinned version " + *r.pinned_ + " is not production");
    }
    for (const auto& d : j.at("decisions")) {
      r.decisions_.push_back({d.at("time").get<std::string>(), d.at("gps").get<std::uint64_t>(),
                              d.at("version").get<std::string>(), d.at("action").get<std::string>(),
                              d.at("reason").get<std::string>()});
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(e.what());
  }
  return r;
}

}  // namespace deepclean::daemon::models
