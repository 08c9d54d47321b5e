// `deepclean train --config FILE`: train a DeepClean model on frames and write a bundle
// (train/, docs/training.md). `--evaluate BUNDLE` instead cleans the config's data range offline
// with an existing bundle and prints the band ASD ratio.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <iostream>
#include <memory>
#include <sstream>

#include "daemon/archive/training_archive.hpp"
#include "daemon/model_commands/model_commands.hpp"
#include "daemon/model_commands/training_frames.hpp"
#include "daemon/pipeline/input.hpp"
#include "train/config.hpp"
#include "train/trainer.hpp"

namespace deepclean::cli {

train::SecondReader training_frames(const train::TrainConfig& cfg) {
  if (!cfg.archive.directory.empty()) {
    daemon::archive::Settings a;
    a.directory = cfg.archive.directory;
    a.ifo = cfg.archive.observatory;  // only its first letter names the files
    a.frame_type = cfg.archive.frame_type;
    auto reader = std::make_shared<daemon::archive::Reader>(a);
    return [reader, strain = cfg.strain_channel, witnesses = cfg.witnesses](std::uint64_t gps) {
      daemon::archive::ReadSecond r = reader->read(gps, strain, witnesses);
      train::RawSecond s;
      s.good = r.good;
      s.reason = r.reason;
      s.detail = r.detail;
      s.strain = std::move(r.strain);
      s.strain_rate = r.strain_rate;
      s.witnesses = std::move(r.witnesses);
      s.witness_rates = std::move(r.witness_rates);
      return s;
    };
  }
  daemon::InputSpec spec;
  spec.strain_source = {cfg.strain_frames.directory, cfg.strain_frames.frame_type, cfg.strain_frames.observatory};
  spec.witness_source = {cfg.witness_frames.directory, cfg.witness_frames.frame_type, cfg.witness_frames.observatory};
  spec.strain_channel = cfg.strain_channel;
  spec.witness_channels = cfg.witnesses;
  if (!cfg.state_channel.empty()) spec.state = config::StateMask{cfg.state_channel, cfg.state_mask};
  return [spec](std::uint64_t gps) {
    const daemon::SecondInput in = daemon::read_second(spec, gps);
    train::RawSecond s;
    s.good = in.good();
    s.detail = in.detail;
    if (!s.good) {
      s.reason = daemon::problem_name(in.problem);
      return s;
    }
    s.strain = in.strain_values;  // read_second's physical values of the strain
    s.strain_rate = in.strain->sample_rate;
    s.witnesses = in.witnesses;
    s.witness_rates = in.witness_rates;
    return s;
  };
}

namespace {

std::string describe(const train::StreamSettings& s) {
  std::ostringstream o;
  o << "the daemon's cleaning: K " << s.kernel_seconds << " s, " << s.sampling_rate << " kernels/s, aggregation "
    << s.aggregation_seconds << " s, " << s.method;
  if (s.method == "window" || s.method == "fir") o << " look-ahead " << s.look_ahead_seconds << " s";
  if (!s.bands.empty() && s.method != "none") {
    o << ", bands";
    for (const auto& [lo, hi] : s.bands) o << " " << lo << "-" << hi << " Hz";
  }
  return o.str();
}

}  // namespace

void register_train_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("train", "Train a DeepClean model on frames and write a model bundle");
  static std::string config_path;
  static std::string evaluate;
  cmd->add_option("--config", config_path, "training configuration (YAML, docs/training.md)")->required();
  cmd->add_option("--evaluate", evaluate,
                  "do not train: clean the config's data range with this bundle and print the band ASD ratio");
  cmd->callback([&exit_code]() {
    try {
      const train::TrainConfig cfg = train::load_train_config(config_path);
      if (evaluate.empty() && !cfg.force && std::filesystem::exists(cfg.bundle)) {
        // Checked again before writing; here so that a refusal does not cost reading the frames.
        throw std::runtime_error(cfg.bundle + ": already exists (set output.force: true to replace it)");
      }
      std::cerr << "reading " << cfg.end - cfg.start << " s of frames (GPS " << cfg.start << "-" << cfg.end << ")\n";
      const train::Dataset data = train::load_dataset(cfg, training_frames(cfg), std::cerr);
      if (!evaluate.empty()) {
        const auto r = train::evaluate_bundle(evaluate, data);
        std::vector<train::BandFigures> streamed;
        if (cfg.stream) streamed = train::evaluate_bundle_streamed(evaluate, data, *cfg.stream);
        for (std::size_t b = 0; b < r.size(); ++b) {
          const auto [lo, hi] = cfg.bands.at(b);
          std::printf("band %g-%g Hz: ASD ratio cleaned/raw %.4f", lo, hi, r[b].band);
          if (cfg.stream) std::printf("  streamed %.4f (%s)", streamed.at(b).band, describe(*cfg.stream).c_str());
          std::printf("\n");
          // Beside the band, where the do-no-harm gate looks (about 1: the network predicts nothing there).
          std::printf("beside it, %g-%g / %g-%g Hz: %.4f / %.4f", std::max(0.0, lo - train::kGuardHz), lo, hi,
                      hi + train::kGuardHz, r[b].below, r[b].above);
          if (cfg.stream) std::printf("  streamed %.4f / %.4f", streamed.at(b).below, streamed.at(b).above);
          std::printf("\n");
        }
        exit_code = 0;
        return;
      }
      const train::TrainResult r = train::train(cfg, data, std::cerr);
      std::printf("bundle %s\nid %s\nparameters %zu\nepochs %d (best %d)  valid loss %.4f  valid ASD ratio %.4f  "
                  "training time %.1f s\n",
                  r.bundle.directory.string().c_str(), r.bundle.id.c_str(), r.bundle.parameter_count, r.epochs_run,
                  r.best_epoch, r.best_valid_loss, r.valid_asd_ratio, r.seconds);
      if (cfg.stream) {
        std::printf("valid ASD ratio streamed %.4f (%s)\n", r.valid_asd_ratio_streamed, describe(*cfg.stream).c_str());
        std::printf("valid ASD ratio beside the band streamed %.4f / %.4f (%g Hz below / above)\n", r.valid_streamed.below,
                    r.valid_streamed.above, train::kGuardHz);
      }
      exit_code = 0;
    } catch (const std::exception& e) {
      std::cerr << "deepclean train: " << e.what() << "\n";
      exit_code = 1;
    }
  });
}

}  // namespace deepclean::cli
