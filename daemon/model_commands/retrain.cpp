// `deepclean retrain --config SERVICE.yaml [--once]` (docs/retraining.md): fine-tunes the model
// repository's production version on the training archive's newest span and publishes the result
// into the repository, for the live service's canary validation, only when it beats production on
// the span's held-out newest part, both cleaned there as the service cleans. One cycle:
//   1. production: the repository record's production version (its bundle is the parent);
//   2. the span (the trigger's: the newest observing segment's newest `retrain.span_seconds`), split
//      into a training part and the held-out newest `retrain.held_out_fraction`; too few good
//      seconds skip the cycle;
//   3. training: `deepclean train`'s trainer, from the parent's weights, with the parent's channels,
//      rate and bands, the service's inference and band-pass as the streamed settings;
//   4. judgement: both bundles cleaned over the held-out part the way the service cleans (the
//      streamed figure); published only when the candidate's band ASD ratio is lower in every band;
//   5. publication: `<repository>/retrain-<end GPS>` renamed in with `provenance.json` beside the
//      bundle (parent, span, settings, both figures). A candidate that is not published is removed.
// Without --once it watches the archive and runs a cycle on the triggers of
// daemon/archive/retrain_trigger.hpp: every `retrain.cadence_seconds` of archive time, and after a
// lock loss once the new lock holds `retrain.min_span_seconds`.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <thread>

#include "config/config.hpp"
#include "core/bundle/bundle.hpp"
#include "daemon/archive/retrain_trigger.hpp"
#include "daemon/archive/training_archive.hpp"
#include "daemon/model_commands/model_commands.hpp"
#include "daemon/model_commands/training_frames.hpp"
#include "daemon/models/repository.hpp"
#include "train/config.hpp"
#include "train/trainer.hpp"

namespace deepclean::cli {
namespace {

namespace fs = std::filesystem;

enum class Outcome { Published, NotPublished, Skipped };

struct Cycle {
  Outcome outcome = Outcome::Skipped;
  std::string message;
};

train::StreamSettings stream_settings(const config::Config& c) {
  train::StreamSettings s;
  s.kernel_seconds = c.inference.kernel_seconds;
  s.sampling_rate = c.inference.sampling_rate;
  s.aggregation_seconds = c.inference.aggregation_seconds;
  s.method = config::method_name(c.bandpass.method);
  s.look_ahead_seconds = c.bandpass.look_ahead_seconds;
  s.memory_seconds = c.bandpass.memory_seconds;
  s.kaiser_beta = c.bandpass.kaiser_beta;
  s.taper_seconds = c.subtraction.taper_seconds;
  s.bands = c.bandpass.bands;
  return s;
}

daemon::archive::Settings archive_settings(const config::Config& c) {
  if (c.training_archive.directory.empty()) throw std::runtime_error("no training archive (training_archive.directory)");
  if (c.models.repository.empty()) throw std::runtime_error("no model repository (models.repository)");
  daemon::archive::Settings as;
  as.directory = c.training_archive.directory;
  as.ifo = c.ifo;
  as.frame_type = c.training_archive.frame_type;
  return as;
}

// The end GPS of the newest published cycle (`retrain-<end GPS>`), the last cycle a restart knows
// of; staging directories a killed cycle left behind are removed.
std::optional<std::uint64_t> last_published_end(const fs::path& repository) {
  std::optional<std::uint64_t> last;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(repository, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(".retrain-", 0) == 0 && name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
      fs::remove_all(e.path(), ec);
      continue;
    }
    if (name.rfind("retrain-", 0) != 0 || name.size() == 8) continue;
    const std::string digits = name.substr(8);
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 12) continue;
    const std::uint64_t g = std::stoull(digits);
    if (!last || g > *last) last = g;
  }
  return last;
}

Cycle run_cycle(const config::Config& c, const daemon::archive::Decision& d, std::ostream& log) {
  const daemon::models::Repository repo(c.models.repository, c.models.archive);
  const daemon::models::Record record = repo.read_record();
  if (!record.in_state(daemon::models::State::Production)) {
    throw std::runtime_error("model repository " + repo.directory().string() +
                             " has no production version yet (start `deepclean run` on it first)");
  }
  const auto production = daemon::models::startup_production(repo, record, c.model.bundle);
  if (!production.error.empty()) throw std::runtime_error(production.error);
  const std::string parent_version = production.version;
  const fs::path parent_dir = production.bundle;
  const bundle::BundleInfo parent = bundle::read_bundle_info(parent_dir);
  const daemon::archive::Settings as = archive_settings(c);
  const std::uint64_t start = d.start, end = d.end;
  const auto held = static_cast<std::uint64_t>(std::ceil(static_cast<double>(end - start) * c.retrain.held_out_fraction));
  const std::uint64_t split = end - held;

  train::TrainConfig tc;
  tc.source_file = "deepclean retrain";
  tc.archive = {as.directory.string(), as.frame_type, c.ifo.substr(0, 1)};
  tc.strain_channel = parent.strain_channel;
  tc.witnesses = parent.witnesses;  // the parent's input order
  tc.sort_witnesses = false;
  tc.sample_rate = parent.sample_rate;
  tc.bands.clear();
  for (const auto& b : parent.bands) tc.bands.emplace_back(b.low_hz, b.high_hz);
  tc.filter_order = parent.filter_order;
  // demo/finetune.yaml's settings (docs/training.md), with the retrain section's rate and epochs.
  tc.kernel_seconds = 4;
  tc.kernel_stride_seconds = c.retrain.kernel_stride_seconds;
  tc.fftlength_seconds = 1;
  tc.batch_size = 16;
  tc.learning_rate = c.retrain.learning_rate;
  tc.min_learning_rate = tc.learning_rate * tc.lr_factor * tc.lr_factor;
  tc.epochs = static_cast<int>(c.retrain.epochs);
  tc.patience = 8;
  tc.stream_weight = 0.5;
  tc.guard_weight = 0.5;
  tc.initial_bundle = parent_dir.string();
  // The couplings drift: train on the newest part of the span (the trainer's early-stopping
  // validation takes the oldest), the held-out newest judges the candidate.
  tc.validation_first = true;
  tc.threads = static_cast<int>(c.retrain.threads);
  tc.stream = stream_settings(c);
  const std::string version = "retrain-" + std::to_string(end);
  if (fs::exists(repo.path_of(version))) {
    return {Outcome::Skipped, "version " + version + " is already in the repository (nothing new archived)"};
  }
  const fs::path staging = repo.directory() / ("." + version + ".tmp");
  tc.bundle = staging.string();
  tc.version = version;
  tc.force = true;

  // 2. the training part; too little observing time skips the cycle.
  tc.start = start;
  tc.end = split;
  log << "retrain: production " << parent_version << "; training on GPS " << start << "-" << split << ", held out "
      << split << "-" << end << "\n";
  const train::Dataset data = train::load_dataset(tc, training_frames(tc), log);
  const double good = static_cast<double>(data.seconds_good) / static_cast<double>(split - start);
  if (good < c.retrain.min_good_fraction) {
    return {Outcome::Skipped, fmt::format("{:.0f} % of GPS {}-{} is good in the archive (retrain.min_good_fraction "
                                          "{:.0f} %): not enough observing time",
                                          100 * good, start, split, 100 * c.retrain.min_good_fraction)};
  }
  train::TrainConfig hc = tc;
  hc.start = split;
  hc.end = end;
  const train::Dataset held_out = train::load_dataset(hc, training_frames(hc), log);
  if (held_out.good_samples() == 0) return {Outcome::Skipped, fmt::format("no good second in the held-out GPS {}-{}", split, end)};

  // 3. training.
  auto discard = [&staging] {
    std::error_code ec;
    fs::remove_all(staging, ec);
  };
  train::TrainResult r;
  try {
    r = train::train(tc, data, log);
  } catch (const std::exception& e) {  // a diverged run (non-finite loss) among them
    discard();
    return {Outcome::NotPublished, "candidate " + version + ": " + e.what() + ": nothing published"};
  }
  if (!std::isfinite(r.best_valid_loss)) {
    discard();
    return {Outcome::NotPublished, "candidate " + version + ": the training diverged (validation loss not finite): "
                                                            "nothing published"};
  }
  // 4. judgement on the held-out part, as the service cleans.
  const auto cand = train::evaluate_bundle_streamed(staging, held_out, *tc.stream);
  const auto prod = train::evaluate_bundle_streamed(parent_dir, held_out, *tc.stream);
  nlohmann::ordered_json bands = nlohmann::ordered_json::array();
  bool better = !cand.empty() && cand.size() == prod.size();
  std::string figures;
  for (std::size_t b = 0; b < cand.size() && b < prod.size(); ++b) {
    const auto [lo, hi] = tc.bands.at(b);
    bands.push_back({{"band", fmt::format("{:g}-{:g}", lo, hi)}, {"candidate", cand[b].band}, {"production", prod[b].band}});
    better = better && std::isfinite(cand[b].band) && cand[b].band < prod[b].band;
    figures += fmt::format("{}band {:g}-{:g} Hz: {:.4f} against {:.4f} for {}", figures.empty() ? "" : "; ", lo, hi,
                           cand[b].band, prod[b].band, parent_version);
  }
  if (!better) {
    discard();
    return {Outcome::NotPublished, "candidate " + version + " does not beat production on the held-out GPS " +
                                       std::to_string(split) + "-" + std::to_string(end) + " (" + figures +
                                       "): not published"};
  }
  // 5. publication: provenance beside the bundle, then renamed in (the service sees it whole).
  nlohmann::ordered_json p;
  p["format"] = "deepclean-retrain/1";
  p["version"] = version;
  p["parent"] = {{"version", parent_version}, {"id", parent.id}};
  p["training"] = {{"gps", {start, split}}, {"good_seconds", data.seconds_good}, {"learning_rate", tc.learning_rate},
                   {"epochs_run", r.epochs_run}, {"best_epoch", r.best_epoch}, {"seconds", r.seconds}};
  p["held_out"] = {{"gps", {split, end}}, {"bands", bands}};
  daemon::models::write_file_atomically(staging / "provenance.json", p.dump(2) + "\n");
  fs::rename(staging, repo.path_of(version));
  return {Outcome::Published, "published " + version + " into " + repo.directory().string() + " (" + figures +
                                  "); the service validates it as a canary"};
}

}  // namespace

void register_retrain_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "retrain", "Fine-tune the production model on the training archive and publish it into the model repository "
                 "when it beats production (docs/retraining.md)");
  static std::string config_path;
  static bool once = false;
  cmd->add_option("-c,--config", config_path, "the service's configuration (training_archive, models, retrain)")
      ->required();
  cmd->add_flag("--once", once, "one cycle, then exit (default: a cycle every retrain.cadence_seconds)");
  cmd->callback([&exit_code]() {
    try {
      config::Config c = config::load_config(config_path);
      auto triggers = [](const config::Config& k) {
        return daemon::archive::TriggerSettings{static_cast<std::uint64_t>(k.retrain.cadence_seconds),
                                                static_cast<std::uint64_t>(k.retrain.span_seconds),
                                                static_cast<std::uint64_t>(k.retrain.min_span_seconds),
                                                static_cast<std::uint64_t>(k.retrain.relock_gap_seconds)};
      };
      daemon::archive::TriggerSettings ts = triggers(c);
      daemon::archive::SecondsIndex index(archive_settings(c));
      std::optional<std::uint64_t> last_end = last_published_end(c.models.repository);
      std::cerr << "retrain: archive " << c.training_archive.directory << ", repository " << c.models.repository
                << "; " << (last_end ? "the newest published cycle ended at GPS " + std::to_string(*last_end)
                                     : std::string("no cycle published yet"))
                << "\n";
      std::string waiting, reread_problem;
      for (;;) {
        // The retrain section is read again at each look (a reload of the service does not reach this
        // process); what this process is bound to (the archive, the repository) needs a restart.
        if (!once) {
          std::string problem;
          try {
            const config::Config fresh = config::load_config(config_path);
            std::vector<std::string> bound;
            for (const std::string& k : config::changed_keys(fresh, c)) {
              if (k.rfind("training_archive.", 0) == 0 || k == "models.repository" || k == "models.archive") {
                bound.push_back(k);
              }
            }
            if (!bound.empty()) {
              std::string list;
              for (const auto& k : bound) list += (list.empty() ? "" : ", ") + k;
              problem = "needs a restart: " + list + " (the retrain section is not applied either)";
            } else if (!(fresh.retrain == c.retrain)) {
              c.retrain = fresh.retrain;
              ts = triggers(c);
              std::cerr << "retrain: " << config_path << ": the retrain section changed: applied from this look on\n";
            }
          } catch (const std::exception& e) {
            problem = std::string("cannot read it again: ") + e.what() + " (the running values are kept)";
          }
          if (problem != reread_problem && !problem.empty()) std::cerr << "retrain: " << config_path << ": " << problem << "\n";
          reread_problem = problem;
        }
        const auto segments = daemon::archive::observing_segments(index.update(), ts.relock_gap);
        for (const std::string& e : index.errors()) std::cerr << "retrain: unreadable archive chunk " << e << "\n";
        const daemon::archive::Decision d = daemon::archive::next_cycle(ts, segments, last_end, once);
        if (d.trigger == daemon::archive::Trigger::None) {
          if (once) {
            std::cout << "retrain: skipped: " << d.why << "\n" << std::flush;
            break;
          }
          if (d.why != waiting) std::cerr << "retrain: waiting: " << d.why << "\n";
          waiting = d.why;
          std::this_thread::sleep_for(std::chrono::duration<double>(c.retrain.poll_seconds));
          continue;
        }
        waiting.clear();
        std::cout << "retrain: cycle (" << daemon::archive::trigger_name(d.trigger) << ": " << d.why << ") on GPS "
                  << d.start << "-" << d.end << "\n" << std::flush;
        Cycle r;
        try {
          r = run_cycle(c, d, std::cerr);
        } catch (const std::exception& e) {  // a bad archive, an unreadable production: this cycle only
          r = {Outcome::Skipped, e.what()};
        }
        const char* what = r.outcome == Outcome::Published ? "published" : r.outcome == Outcome::NotPublished
                                                                               ? "not published"
                                                                               : "skipped";
        std::cout << "retrain: " << what << ": " << r.message << "\n" << std::flush;
        last_end = d.end;
        if (once) break;
      }
      exit_code = 0;
    } catch (const std::exception& e) {
      std::cerr << "deepclean retrain: " << e.what() << "\n";
      exit_code = 1;
    }
  });
}

}  // namespace deepclean::cli
