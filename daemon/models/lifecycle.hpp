// The model slots of `deepclean run` and their lifecycle (issue 15, docs/model-lifecycle.md).
//
// Slots: production (its output is published), the canary (a new version validated against
// production on the same input, its output only compared and optionally written aside), the standby
// (the previous production during its probation window, kept running so that a rollback has a warm
// model). Each slot is a whole Pipeline (its own witness ring, averaging, filter, monitor and gate),
// pushed the same input seconds in GPS order.
//
// Publishing: production's output seconds, in GPS order. A switch (promotion, rollback) starts at the
// first second not yet published and crossfades the leaving and the arriving model's outputs over
// models.crossfade_seconds (crossfade.hpp); no segment ends and no second is published twice.
//
// Order per input second, so that the canary never delays production's output: push() (production,
// and the leaving model during a switch), publish, push_shadow() (the canary and the standby).
//
// Torch-free: the service loads models (on a helper thread) and hands their pipelines in; the
// record and reports go to the repository when there is one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/models/record.hpp"
#include "daemon/models/repository.hpp"
#include "daemon/models/validation.hpp"
#include "daemon/pipeline/input.hpp"
#include "daemon/pipeline/pipeline.hpp"

namespace deepclean::daemon::models {

struct LifecycleSettings {
  ValidationSettings validation;
  double probation_seconds = 600;
  double crossfade_seconds = 1.0;
  bool write_canary = false;  // keep the canary's outputs for the candidate directory
};

// What one push produced for publishing.
struct Published {
  std::vector<OutputSecond> outputs;  // GPS order
  std::string rejected;               // production could not clean the second (written raw)
  StageTimes production;              // production's clean and model time for this call (the pipeline
                                      // that was production when it began: a rollback may follow)
};

class Lifecycle {
 public:
  using Clock = std::function<std::string()>;  // UTC time for the record (tests fix it)

  // `repo` empty: no repository (the model came from model.bundle; no canary ever). `record` is the
  // repository's, with `production_version` in state production.
  Lifecycle(LifecycleSettings settings, std::optional<Repository> repo, Record record, std::string production_version,
            std::unique_ptr<Pipeline> production, Clock clock = utc_now);
  ~Lifecycle();

  // ---- the stream ----
  // Phase 1: production (and the leaving model during a switch).
  Published push(const SecondInput& in);
  // Phase 2, after publishing phase 1: the canary and the standby. `read` reads the same second for
  // a slot whose InputSpec differs from production's (other witness channels).
  Published push_shadow(const SecondInput& in, const std::function<SecondInput(const InputSpec&)>& read);
  // No more input for now (a stall, shutdown): every slot ends its segment; every pending output.
  Published finish();
  // The canary's output seconds since the last call (models.candidate_directory).
  std::vector<OutputSecond> take_canary_outputs();

  Pipeline& production();
  const InputSpec& production_spec() const;
  const std::string& production_version() const;
  std::optional<std::string> canary_version() const;
  std::optional<std::string> standby_version() const;
  bool switching() const { return switch_.has_value(); }
  const Record& record() const { return record_; }
  const std::optional<Repository>& repository() const { return repo_; }
  const Validation* validation() const { return validation_.get(); }
  // Compute (clean + model stages, seconds) of the shadow slots in the last push_shadow().
  double shadow_compute() const { return shadow_compute_; }
  // Decisions taken since the last call (for metrics): actions as in the record.
  std::vector<Decision> take_decisions();

  // Settings for what comes next (a reload): the running validation keeps its own.
  void set_settings(const LifecycleSettings& s) { settings_ = s; }
  // A reload that changes the cleaning (SIGHUP): production's pipeline gets the new configuration
  // and model (its segment ends; the flushed outputs are returned), a switch in progress ends, the
  // canary goes back to the queue and the standby is retired (both ran with the old configuration).
  Published replace_production(const config::Config& cfg, const bundle::BundleInfo& info,
                               std::unique_ptr<stream::Predictor> predictor, EstimatorFactory estimator,
                               const std::string& version);

  // ---- the repository ----
  // After a scan: new, changed and vanished versions.
  void scanned(const std::vector<Entry>& entries);
  // The version to load as the canary now (recorded as canary), when none is loading or running.
  std::optional<std::pair<std::string, std::filesystem::path>> next_load();
  // The loader's result for the version next_load() gave: its pipeline and input, or why it failed.
  void loaded(const std::string& version, std::unique_ptr<Pipeline> pipeline, const InputSpec& spec,
              const std::string& error);
  bool loading() const { return loading_.has_value(); }

  // ---- the operator (control socket) ----
  // status, models, promote V, rollback, pin V, unpin: a JSON object's text ({"ok": false, "error"}
  // for a refused command).
  std::string command(const std::vector<std::string>& words);

 private:
  struct Slot;
  struct Switch {
    std::uint64_t start = 0;
    double seconds = 0;
    std::unique_ptr<Slot> leaving;  // rolled back or, after a promotion, nullptr (the standby leaves)
    Slot* from = nullptr;
  };
  void push_slot(Slot& s, const SecondInput& in, const std::function<SecondInput(const InputSpec&)>* read);
  Published collect(bool final);
  void validate_canary();
  void trim(Slot& s) const;
  void begin_switch(std::unique_ptr<Slot> to, const std::string& why);
  void promote_canary(std::string reason);
  void rollback(std::string reason);
  void reject_canary(std::string reason);
  void retire_standby(std::string reason);
  // A gate closing of production's during probation: rolled back unless the standby's gate closed in
  // that second too (both models failing on the same data is no reason to go back). `final`: no more
  // input is coming (the standby will not clean that second later).
  void judge_closure(bool final);
  void save();
  void decided(const std::string& action);
  std::uint64_t next_start() const;  // the first second not yet published
  std::string status_json() const;

  LifecycleSettings settings_;
  std::optional<Repository> repo_;
  Record record_;
  Clock clock_;
  std::unique_ptr<Slot> production_, canary_, standby_;
  std::optional<Switch> switch_;
  std::optional<std::uint64_t> last_published_;
  std::optional<std::uint64_t> probation_end_;  // GPS: the standby is retired when it is published
  struct Closure {
    std::uint64_t gps = 0;
    std::string reason;
  };
  std::optional<Closure> closure_;    // production's gate closed at this second of its probation: judged
                                      // once the standby has cleaned it (judge_closure)
  bool production_gate_open_ = true;  // production's gate in the last second published
  std::unique_ptr<Validation> validation_;
  std::map<std::uint64_t, OutputSecond> recent_production_;  // published, for the canary's comparison
  std::optional<std::string> loading_;
  std::optional<std::string> promote_when_ready_;  // an operator's promote/pin of a version being loaded
  bool pin_when_promoted_ = false;
  bool waiting_logged_ = false;  // a validated canary waits for an unpin (logged once)
  std::vector<OutputSecond> canary_outputs_;
  std::vector<Decision> new_decisions_;
  double shadow_compute_ = 0;
};

}  // namespace deepclean::daemon::models
