#include "daemon/models/lifecycle.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <stdexcept>

#include "daemon/models/crossfade.hpp"

namespace deepclean::daemon::models {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kRecentKept = 64;  // published seconds kept for the canary's comparison

bool same_input(const InputSpec& a, const InputSpec& b) {
  return a.strain_channel == b.strain_channel && a.witness_channels == b.witness_channels;
}

std::string error_json(const std::string& text) { return nlohmann::json{{"ok", false}, {"error", text}}.dump(); }
std::string ok_json(const std::string& text) { return nlohmann::json{{"ok", true}, {"message", text}}.dump(); }

nlohmann::json figure(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }

}  // namespace

struct Lifecycle::Slot {
  std::string version;
  std::unique_ptr<Pipeline> pipeline;
  InputSpec spec;
  std::map<std::uint64_t, OutputSecond> pending;  // output seconds not yet published or compared
  bool cleaned_once = false;                       // has produced a fully cleaned second
  std::optional<std::uint64_t> last_pushed;        // each input second goes in once, whatever the role changes
};

Lifecycle::Lifecycle(LifecycleSettings settings, std::optional<Repository> repo, Record record,
                     std::string production_version, std::unique_ptr<Pipeline> production, Clock clock)
    : settings_(std::move(settings)), repo_(std::move(repo)), record_(std::move(record)), clock_(std::move(clock)) {
  production_ = std::make_unique<Slot>();
  production_->version = std::move(production_version);
  production_->spec = input_spec(production->config(), production->bundle());
  production_->pipeline = std::move(production);
  save();
}

Lifecycle::~Lifecycle() = default;

Pipeline& Lifecycle::production() { return *production_->pipeline; }
const InputSpec& Lifecycle::production_spec() const { return production_->spec; }
const std::string& Lifecycle::production_version() const { return production_->version; }

std::optional<std::string> Lifecycle::canary_version() const {
  if (canary_) return canary_->version;
  return loading_;
}

std::optional<std::string> Lifecycle::standby_version() const {
  if (standby_) return standby_->version;
  return std::nullopt;
}

std::vector<Decision> Lifecycle::take_decisions() { return std::exchange(new_decisions_, {}); }
std::vector<OutputSecond> Lifecycle::take_canary_outputs() { return std::exchange(canary_outputs_, {}); }

void Lifecycle::decided(const std::string& action) {
  if (!record_.decisions().empty() && record_.decisions().back().action == action) {
    new_decisions_.push_back(record_.decisions().back());
  }
}

void Lifecycle::save() {
  if (!repo_) return;
  try {
    repo_->write_record(record_);
  } catch (const std::exception& e) {
    spdlog::error("model repository: cannot save the record: {}", e.what());
  }
}

std::uint64_t Lifecycle::next_start() const {
  if (last_published_) return *last_published_ + 1;
  if (!production_->pending.empty()) return production_->pending.begin()->first;
  return 0;
}

// ---- the stream ----

void Lifecycle::push_slot(Slot& s, const SecondInput& in, const std::function<SecondInput(const InputSpec&)>* read) {
  if (s.last_pushed && *s.last_pushed >= in.gps) return;
  s.last_pushed = in.gps;
  SecondInput own;
  const SecondInput* use = &in;
  if (read && in.strain && !same_input(s.spec, production_->spec)) {
    own = (*read)(s.spec);
    use = &own;
  }
  if (&s == canary_.get() && in.good() && !use->good() &&
      (use->problem == InputProblem::MissingChannel || use->problem == InputProblem::BadRate)) {
    reject_canary("its channels do not match the input: " + use->detail);
    return;
  }
  Pipeline::PushResult r = s.pipeline->push(*use);
  for (auto& o : r.outputs) {
    const std::uint64_t g = o.gps;
    s.pending[g] = std::move(o);
  }
}

namespace {
StageTimes minus(const StageTimes& a, const StageTimes& b) {
  StageTimes d;
  d.clean = a.clean - b.clean;
  d.model = a.model - b.model;
  return d;
}
}  // namespace

Published Lifecycle::push(const SecondInput& in) {
  Published p;
  if (production_->last_pushed && *production_->last_pushed >= in.gps) return p;
  production_->last_pushed = in.gps;
  const StageTimes before = production_->pipeline->stages();
  Pipeline::PushResult r = production_->pipeline->push(in);
  p.production = minus(production_->pipeline->stages(), before);
  p.rejected = std::move(r.rejected);
  for (auto& o : r.outputs) {
    const std::uint64_t g = o.gps;
    production_->pending[g] = std::move(o);
  }
  if (switch_ && switch_->from) push_slot(*switch_->from, in, nullptr);
  Published c = collect(false);
  p.outputs = std::move(c.outputs);
  return p;
}

Published Lifecycle::push_shadow(const SecondInput& in, const std::function<SecondInput(const InputSpec&)>& read) {
  shadow_compute_ = 0;
  // A rollback in phase 1 made the standby production before it had this second: it gets it now
  // (each slot takes each second once: push_slot skips what it had).
  for (Slot* s : {production_.get(), switch_ ? switch_->from : nullptr}) {
    if (!s) continue;
    const StageTimes before = s->pipeline->stages();
    push_slot(*s, in, &read);
    const StageTimes& now = s->pipeline->stages();
    shadow_compute_ += (now.clean - before.clean) + (now.model - before.model);
  }
  if (canary_) {
    const StageTimes before = canary_->pipeline->stages();
    push_slot(*canary_, in, &read);
    if (canary_) {
      const StageTimes& now = canary_->pipeline->stages();
      const double compute = (now.clean - before.clean) + (now.model - before.model);
      shadow_compute_ += compute;
      if (validation_ && in.strain) validation_->add_compute(compute);
      validate_canary();
    }
  }
  if (standby_ && !(switch_ && switch_->from == standby_.get())) {
    const StageTimes before = standby_->pipeline->stages();
    push_slot(*standby_, in, &read);
    const StageTimes& now = standby_->pipeline->stages();
    shadow_compute_ += (now.clean - before.clean) + (now.model - before.model);
    judge_closure(false);
    if (standby_) trim(*standby_);
  }
  return collect(false);
}

void Lifecycle::judge_closure(bool final) {
  if (!closure_) return;
  if (!standby_ || record_.pinned()) {
    closure_.reset();
    return;
  }
  const std::uint64_t g = closure_->gps;
  const auto s = standby_->pending.find(g);
  const bool cleaned = s != standby_->pending.end();
  // The standby has not cleaned that second (yet): wait for it, unless it never will.
  if (!cleaned && !final && !(standby_->last_pushed && *standby_->last_pushed > g + 4)) return;
  std::string why = std::move(closure_->reason);
  closure_.reset();
  if (cleaned && s->second.gate.closed_by_model()) {
    spdlog::info("model {}: its do-no-harm gate closed at GPS {} during probation, and so did the standby {}'s "
                 "({}): a moment of the data, not of the model; no rollback",
                 production_->version, g, standby_->version, s->second.gate.reason);
    return;
  }
  rollback(cleaned ? why + "; the standby " + standby_->version + "'s stayed open" : why);
}

Published Lifecycle::finish() {
  auto drain = [](Slot& s) {
    for (auto& o : s.pipeline->finish()) {
      const std::uint64_t g = o.gps;
      s.pending[g] = std::move(o);
    }
  };
  const StageTimes before = production_->pipeline->stages();
  drain(*production_);
  const StageTimes spent = minus(production_->pipeline->stages(), before);
  if (switch_ && switch_->from) drain(*switch_->from);
  Published p = collect(true);
  p.production = spent;
  if (canary_) {
    drain(*canary_);
    validate_canary();
  }
  if (standby_) {
    drain(*standby_);
    judge_closure(true);
    if (standby_) trim(*standby_);
  }
  Published more = collect(true);
  for (auto& o : more.outputs) p.outputs.push_back(std::move(o));
  return p;
}

void Lifecycle::trim(Slot& s) const {
  if (!last_published_) return;
  s.pending.erase(s.pending.begin(), s.pending.upper_bound(*last_published_));
}

Published Lifecycle::collect(bool final) {
  Published p;
  while (!production_->pending.empty()) {
    auto it = production_->pending.begin();
    const std::uint64_t g = it->first;
    if (last_published_ && g <= *last_published_) {  // published by the model it replaced
      production_->pending.erase(it);
      continue;
    }
    OutputSecond out;
    const auto span = static_cast<std::uint64_t>(std::ceil(switch_ ? switch_->seconds : 0.0));
    if (switch_ && g >= switch_->start && g < switch_->start + span && switch_->from) {
      Slot& from = *switch_->from;
      const auto f = from.pending.find(g);
      if (f != from.pending.end()) {
        try {
          out = crossfade(f->second, it->second, switch_->start, switch_->seconds);
        } catch (const std::invalid_argument& e) {
          spdlog::warn("GPS {}: {}; publishing {}'s output alone", g, e.what(), production_->version);
          out = std::move(it->second);
        }
      } else if (final || (!from.pending.empty() && from.pending.rbegin()->first > g)) {
        out = std::move(it->second);  // the leaving model has no output for this second
      } else {
        break;  // wait for the leaving model's output of this second
      }
    } else {
      out = std::move(it->second);
    }
    production_->pending.erase(it);
    last_published_ = g;
    if (fully_cleaned(out)) production_->cleaned_once = true;
    if (canary_) {
      recent_production_[g] = out;
      while (recent_production_.size() > kRecentKept) recent_production_.erase(recent_production_.begin());
    }
    const GateReport gate = out.gate;
    p.outputs.push_back(std::move(out));
    if (switch_) {
      if (switch_->from) trim(*switch_->from);
      if (g + 1 >= switch_->start + span) {
        if (switch_->leaving) {
          spdlog::info("switch done at GPS {}: {} unloaded", g, switch_->leaving->version);
        } else {
          spdlog::info("switch done at GPS {}: {} cleans alone, {} on standby", g, production_->version,
                       standby_ ? standby_->version : std::string("none"));
        }
        switch_.reset();
        if (standby_ && probation_end_ && g + 1 >= *probation_end_) {
          retire_standby("probation over (" + fmt::format("{}", settings_.probation_seconds) + " s)");
        }
      }
      continue;
    }
    // The gate closing during probation is judged once the standby has cleaned the same second
    // (judge_closure, after push_shadow): the closing second of each closure, not the seconds it
    // stays closed.
    if (standby_ && !record_.pinned() && gate.closed_by_model() && production_gate_open_ && !closure_) {
      closure_ = Closure{g, fmt::format("its do-no-harm gate closed at GPS {} during probation ({}{})", g, gate.reason,
                                        gate.detail.empty() ? "" : ": " + gate.detail)};
    }
    production_gate_open_ = !gate.closed();
    if (standby_ && probation_end_ && g + 1 >= *probation_end_ && !closure_) {
      retire_standby(fmt::format("probation over: {} s without the gate closing", settings_.probation_seconds));
    }
  }
  return p;
}

void Lifecycle::validate_canary() {
  if (!canary_) return;
  for (auto it = canary_->pending.begin(); it != canary_->pending.end();) {
    const std::uint64_t g = it->first;
    if (!last_published_ || g > *last_published_) break;
    OutputSecond& c = it->second;
    if (fully_cleaned(c)) canary_->cleaned_once = true;
    const auto p = recent_production_.find(g);
    if (p != recent_production_.end()) {
      if (!validation_) {
        const Pipeline& prod = *production_->pipeline;
        validation_ = std::make_unique<Validation>(
            monitor_config(prod.config(), prod.bundle(), static_cast<double>(p->second.cleaned.size())),
            settings_.validation);
      }
      validation_->add(p->second, c);
    }
    if (settings_.write_canary) canary_outputs_.push_back(std::move(c));
    it = canary_->pending.erase(it);
    if (validation_ && validation_->status() == Validation::Status::Rejected) break;
  }
  // Seconds production published without a canary output are compared no more.
  if (last_published_) {
    const std::uint64_t keep_from = canary_->pending.empty() ? *last_published_ + 1 : canary_->pending.begin()->first;
    recent_production_.erase(recent_production_.begin(), recent_production_.lower_bound(keep_from));
  }
  if (promote_when_ready_ && *promote_when_ready_ == canary_->version && canary_->cleaned_once) {
    promote_when_ready_.reset();
    promote_canary(pin_when_promoted_ ? "promoted and pinned by an operator" : "promoted by an operator");
    return;
  }
  if (!validation_) return;
  if (validation_->status() == Validation::Status::Rejected) {
    reject_canary(validation_->reason());
  } else if (validation_->status() == Validation::Status::Passed) {
    if (record_.pinned()) {
      if (!waiting_logged_) {
        waiting_logged_ = true;
        spdlog::info("model {}: {}; not promoted while {} is pinned (deepclean ctl unpin)", canary_->version,
                     validation_->reason(), *record_.pinned());
      }
      return;
    }
    promote_canary(validation_->reason());
  }
}

// ---- transitions ----

void Lifecycle::promote_canary(std::string reason) {  // by value: it may be the validation's, reset below
  const std::uint64_t start = next_start();
  const std::string version = canary_->version;
  if (validation_ && repo_) {
    try {
      repo_->write_report(version, validation_->report(version, canary_->pipeline->bundle().id, production_->version,
                                                       production_->pipeline->bundle().id, clock_(), start));
    } catch (const std::exception& e) {
      spdlog::error("model {}: cannot write its validation report: {}", version, e.what());
    }
  }
  if (standby_) retire_standby("replaced as standby by the promotion of " + version);
  const std::string old = production_->version;
  standby_ = std::move(production_);
  production_ = std::move(canary_);
  canary_.reset();
  validation_.reset();
  waiting_logged_ = false;
  recent_production_.clear();
  trim(*production_);  // what the old production already published
  switch_ = Switch{start, settings_.crossfade_seconds, nullptr, standby_.get()};
  probation_end_ = start + static_cast<std::uint64_t>(std::ceil(settings_.probation_seconds));
  production_gate_open_ = true;
  closure_.reset();
  record_.promote(version, reason, clock_(), start);
  decided("promoted");
  if (pin_when_promoted_) {
    pin_when_promoted_ = false;
    record_.pin(version, clock_(), start);
    decided("pinned");
  }
  save();
  spdlog::info("model {} promoted at GPS {}: {}; {} on standby for {} s of probation (crossfade {} s)", version, start,
               reason, old, settings_.probation_seconds, settings_.crossfade_seconds);
  if (settings_.crossfade_seconds <= 0) {
    switch_.reset();
    if (settings_.probation_seconds <= 0) retire_standby("no probation (models.probation_seconds is 0)");
  }
}

void Lifecycle::rollback(std::string reason) {
  const std::uint64_t start = next_start();
  std::unique_ptr<Slot> bad = std::move(production_);
  production_ = std::move(standby_);
  standby_.reset();
  probation_end_.reset();
  closure_.reset();
  trim(*production_);  // what the rolled-back version already published
  Slot* from = bad.get();
  const std::string bad_version = bad->version;
  switch_ = Switch{start, settings_.crossfade_seconds, std::move(bad), from};
  record_.rollback(reason, clock_(), start);
  decided("rolled back");
  save();
  spdlog::warn("model {} rolled back at GPS {}: {}; {} is production again", bad_version, start, reason,
               production_->version);
  if (settings_.crossfade_seconds <= 0) switch_.reset();
}

void Lifecycle::reject_canary(std::string reason) {  // by value: it may be the validation's, reset below
  if (!canary_) return;
  const std::string version = canary_->version;
  if (validation_ && repo_) {
    try {
      repo_->write_report(version, validation_->report(version, canary_->pipeline->bundle().id, production_->version,
                                                       production_->pipeline->bundle().id, clock_(), next_start()));
    } catch (const std::exception& e) {
      spdlog::error("model {}: cannot write its validation report: {}", version, e.what());
    }
  }
  canary_.reset();
  validation_.reset();
  waiting_logged_ = false;
  recent_production_.clear();
  if (promote_when_ready_ == version) {
    promote_when_ready_.reset();
    pin_when_promoted_ = false;
  }
  record_.reject(version, reason, clock_(), last_published_.value_or(0));
  decided("rejected");
  save();
  spdlog::warn("model {} rejected: {}; production {} unaffected", version, reason, production_->version);
}

void Lifecycle::retire_standby(std::string reason) {
  if (!standby_) return;
  const std::string version = standby_->version;
  standby_.reset();
  probation_end_.reset();
  closure_.reset();
  const Version* v = record_.find(version);
  if (v && v->state == State::Standby) {
    record_.retire(version, reason, clock_());
    decided("retired");
  }
  std::string where;
  if (repo_) {
    std::error_code ec;
    if (std::filesystem::is_directory(repo_->path_of(version), ec)) {
      try {
        where = "; moved to " + repo_->archive(version).string();
      } catch (const std::exception& e) {
        spdlog::error("model {}: cannot archive it: {}", version, e.what());
      }
    }
  }
  save();
  spdlog::info("model {} retired: {}{}", version, reason, where);
}

Published Lifecycle::replace_production(const config::Config& cfg, const bundle::BundleInfo& info,
                                        std::unique_ptr<stream::Predictor> predictor, EstimatorFactory estimator,
                                        const std::string& version) {
  for (auto& o : production_->pipeline->replace(cfg, info, std::move(predictor), std::move(estimator))) {
    const std::uint64_t g = o.gps;
    production_->pending[g] = std::move(o);
  }
  switch_.reset();
  if (canary_) {
    record_.requeue(canary_->version, "the configuration changed: validating again", clock_());
    canary_.reset();
    validation_.reset();
    recent_production_.clear();
  }
  if (loading_) {  // its result, built with the old configuration, is ignored when it comes
    record_.requeue(*loading_, "the configuration changed: validating again", clock_());
    loading_.reset();
  }
  retire_standby("the configuration changed (reload)");
  production_->version = version;
  production_->spec = input_spec(cfg, info);
  save();
  return collect(true);
}

// ---- the repository ----

void Lifecycle::scanned(const std::vector<Entry>& entries) {
  if (!repo_) return;
  bool changed = false;
  const std::string now = clock_();
  std::set<std::string> present;
  for (const Entry& e : entries) {
    present.insert(e.name);
    if (!e.settled) continue;
    const std::string id = e.problem.empty() ? e.id : "incomplete";
    const Record::Seen seen = record_.seen(e.name, id, now);
    if (seen == Record::Seen::Unchanged) continue;
    changed = true;
    const Version* v = record_.find(e.name);
    if (!e.problem.empty() && v && v->state == State::Candidate) {
      record_.reject(e.name, "not a complete bundle: " + e.problem, now, last_published_.value_or(0));
      decided("rejected");
      spdlog::warn("model repository: {} rejected: not a complete bundle: {}", e.path.string(), e.problem);
      continue;
    }
    if (seen == Record::Seen::New) {
      spdlog::info("model repository: new version {} (id {})", e.name, e.id.substr(0, 12));
    } else if (v && (v->state == State::Production || v->state == State::Standby)) {
      spdlog::warn("model repository: the files of {} ({}) changed; the loaded copy keeps running", e.name,
                   state_name(v->state));
    } else if (canary_ && canary_->version == e.name) {
      spdlog::warn("model repository: the files of the canary {} changed: validating the new content", e.name);
      canary_.reset();
      validation_.reset();
      record_.requeue(e.name, "content changed while validating", now);
    } else {
      spdlog::info("model repository: {} changed: a candidate again", e.name);
    }
  }
  std::vector<std::string> gone;
  for (const Version& v : record_.versions()) {
    if (present.count(v.name) == 0 && v.state != State::Retired) gone.push_back(v.name);
  }
  for (const std::string& name : gone) {
    const Version* v = record_.find(name);
    if (canary_ && canary_->version == name) {
      reject_canary("its directory vanished from the repository");
      changed = true;
    } else if (v->state == State::Candidate || v->state == State::Rejected) {
      record_.vanished(name);
      changed = true;
    }
  }
  if (changed) save();
}

std::optional<std::pair<std::string, std::filesystem::path>> Lifecycle::next_load() {
  if (!repo_ || canary_ || loading_ || switch_) return std::nullopt;
  std::string name;
  if (promote_when_ready_) {
    const Version* v = record_.find(*promote_when_ready_);
    if (v && v->state == State::Candidate) name = v->name;
  }
  if (name.empty()) {
    // A canary may validate during another's probation (three models run then): waiting for the
    // probation to end would add up to models.probation_seconds to every candidate's age. Should it
    // pass, the model on probation becomes the standby and the older one retires.
    const Version* v = record_.next_candidate();
    if (!v) return std::nullopt;
    name = v->name;
    for (const std::string& old : record_.candidates_before(name)) {
      record_.reject(old, "superseded by the newer candidate " + name + " (the newest is validated first)", clock_(),
                     last_published_.value_or(0));
      decided("rejected");
      spdlog::info("model {}: superseded by the newer candidate {}, which is validated instead", old, name);
    }
  }
  record_.start_canary(name, clock_());
  decided("canary");
  save();
  loading_ = name;
  spdlog::info("model {}: loading it as the canary", name);
  return std::make_pair(name, repo_->path_of(name));
}

void Lifecycle::loaded(const std::string& version, std::unique_ptr<Pipeline> pipeline, const InputSpec& spec,
                       const std::string& error) {
  if (!loading_ || *loading_ != version) return;
  loading_.reset();
  const Version* v = record_.find(version);
  if (!v || v->state != State::Canary) return;  // requeued or gone meanwhile
  auto slot = std::make_unique<Slot>();
  slot->version = version;
  slot->spec = spec;
  slot->pipeline = std::move(pipeline);
  canary_ = std::move(slot);
  std::string why;
  if (!error.empty()) {
    why = "does not load: " + error;
  } else {
    const bundle::BundleInfo& p = production_->pipeline->bundle();
    const bundle::BundleInfo& c = canary_->pipeline->bundle();
    if (c.sample_rate != p.sample_rate) {
      why = fmt::format("its sample rate {} Hz differs from production's {} Hz (the noise channel's layout would "
                        "change: deploy it with a restart)",
                        c.sample_rate, p.sample_rate);
    } else if (c.strain_channel != p.strain_channel) {
      why = "it predicts " + c.strain_channel + ", production " + p.strain_channel;
    }
  }
  if (!why.empty()) {
    reject_canary(why);
    return;
  }
  spdlog::info("model {} (id {}) loaded: validating it against {} over {} fully cleaned seconds", version,
               canary_->pipeline->bundle().id.substr(0, 12), production_->version, settings_.validation.seconds);
}

// ---- the operator ----

std::string Lifecycle::command(const std::vector<std::string>& words) {
  const std::string& verb = words.at(0);
  const std::string arg = words.size() > 1 ? words[1] : std::string();
  const bool needs_arg = verb == "promote" || verb == "pin";
  if (needs_arg ? words.size() != 2 : words.size() != 1) {
    return error_json("usage: status | models | config | promote VERSION | rollback | pin VERSION | unpin");
  }
  if (verb == "status") return status_json();
  if (verb == "models") {
    // The record's own serialisation of its versions (one format for the file and the reply).
    nlohmann::json j{{"ok", true}, {"versions", nlohmann::json::parse(record_.to_json())["versions"]}};
    return j.dump();
  }
  if (!repo_) return error_json("no model repository is configured (models.repository): nothing to " + verb);
  if (switch_) return error_json("a switch between two models is in progress; try again in a few seconds");
  if (verb == "unpin") {
    if (!record_.pinned()) return error_json("nothing is pinned");
    record_.unpin(clock_(), next_start());
    decided("unpinned");
    save();
    if (canary_ && validation_ && validation_->status() == Validation::Status::Passed) {
      promote_canary(validation_->reason());
      return ok_json("unpinned; the validated canary " + production_->version + " was promoted");
    }
    return ok_json("unpinned");
  }
  if (verb == "rollback") {
    if (!standby_) {
      return error_json("no standby to roll back to (the previous production is retired once its probation is over): "
                        "promote a version instead");
    }
    const std::string to = standby_->version;
    rollback("by an operator");
    return ok_json("rolled back: " + to + " is production again from GPS " + std::to_string(next_start()));
  }
  // promote V, pin V
  const bool pin = verb == "pin";
  if (arg == production_->version) {
    if (!pin) return error_json(arg + " is already production");
    record_.pin(arg, clock_(), next_start());
    decided("pinned");
    save();
    return ok_json("pinned " + arg + ": no automatic promotion or rollback until unpinned");
  }
  const Version* v = record_.find(arg);
  if (!v) return error_json("no version " + arg + " in the repository " + repo_->directory().string());
  if (v->state == State::Retired) {
    return error_json(arg + " is retired (in the archive): copy it back into the repository under a new name");
  }
  if (v->state == State::Rejected && v->id == "incomplete") return error_json(arg + " is not a complete bundle");
  if (canary_ && canary_->version == arg) {
    pin_when_promoted_ = pin;
    const std::string progress =
        validation_ ? fmt::format(" after {} of {} s of validation", validation_->seconds(), validation_->seconds_needed())
                    : std::string(" before validation began");
    promote_canary(std::string(pin ? "promoted and pinned" : "promoted") + " by an operator" + progress);
    return ok_json(arg + " is production from GPS " + std::to_string(record_.find(arg)->since_gps));
  }
  if (standby_ && standby_->version == arg) {
    rollback("by an operator, who " + std::string(pin ? "pinned " : "promoted ") + arg);
    if (pin) {
      record_.pin(arg, clock_(), next_start());
      decided("pinned");
      save();
    }
    return ok_json(arg + " is production again");
  }
  // A candidate (or a rejected version an operator insists on): load it now, promote it once warm.
  if (canary_) {
    const std::string other = canary_->version;
    canary_.reset();
    validation_.reset();
    recent_production_.clear();
    record_.requeue(other, "set aside: an operator asked for " + arg, clock_());
  }
  if (v->state == State::Rejected) record_.reconsider(arg, "an operator asked for it", clock_());
  promote_when_ready_ = arg;
  pin_when_promoted_ = pin;
  save();
  return ok_json("loading " + arg + "; it becomes production once it cleans (see `deepclean ctl status`)");
}

std::string Lifecycle::status_json() const {
  nlohmann::json j;
  j["ok"] = true;
  j["repository"] = repo_ ? nlohmann::json(repo_->directory().string()) : nlohmann::json(nullptr);
  const bundle::BundleInfo& pb = production_->pipeline->bundle();
  nlohmann::json prod{{"version", production_->version}, {"id", pb.id}};
  if (const Version* v = record_.find(production_->version)) {
    prod["since"] = v->since;
    prod["since_gps"] = v->since_gps;
  }
  j["production"] = prod;
  if (canary_ || loading_) {
    nlohmann::json c{{"version", canary_ ? canary_->version : *loading_}};
    if (loading_) {
      c["phase"] = "loading";
    } else if (validation_ && validation_->status() == Validation::Status::Passed) {
      c["phase"] = "validated, waiting (production is pinned)";
    } else {
      c["phase"] = "validating";
    }
    c["seconds"] = validation_ ? validation_->seconds() : 0;
    c["seconds_needed"] = static_cast<std::size_t>(std::ceil(settings_.validation.seconds));
    c["ratios"] = nlohmann::json::array();
    if (validation_) {
      c["mean_compute_seconds"] = validation_->mean_compute();
      for (const auto& r : validation_->ratios()) {
        c["ratios"].push_back(
            {{"region", r.region.label}, {"guard", r.region.guard}, {"production", figure(r.a)}, {"canary", figure(r.b)}});
      }
    }
    j["canary"] = c;
  } else {
    j["canary"] = nullptr;
  }
  if (standby_) {
    const std::uint64_t now = next_start();
    j["standby"] = {{"version", standby_->version},
                    {"probation_left_seconds", probation_end_ && *probation_end_ > now ? *probation_end_ - now : 0}};
  } else {
    j["standby"] = nullptr;
  }
  j["pinned"] = record_.pinned() ? nlohmann::json(*record_.pinned()) : nlohmann::json(nullptr);
  j["switching"] = switch_.has_value();
  j["decisions"] = nlohmann::json::array();
  const auto& d = record_.decisions();
  for (std::size_t i = d.size() > 10 ? d.size() - 10 : 0; i < d.size(); ++i) {
    j["decisions"].push_back({{"time", d[i].time},
                              {"gps", d[i].gps},
                              {"version", d[i].version},
                              {"action", d[i].action},
                              {"reason", d[i].reason}});
  }
  return j.dump();
}

}  // namespace deepclean::daemon::models
