// The DeepClean trainer behind `deepclean train` (docs/training.md). Torch-free interface: the
// network, the loss and the optimiser live in trainer.cpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "core/model/bundle.hpp"
#include "train/config.hpp"

namespace deepclean::train {

// One GPS second as read from the frames (the CLI wraps daemon::read_second).
struct RawSecond {
  bool good = false;
  std::string detail;  // why not good, naming the file
  std::vector<double> strain;
  double strain_rate = 0;
  std::vector<std::vector<double>> witnesses;  // config order
  std::vector<double> witness_rates;
};
using SecondReader = std::function<RawSecond(std::uint64_t gps)>;

// Strain and witnesses resampled to the model rate, unscaled, time-aligned (sample 0 of every
// series at the same time `t0`).
struct Dataset {
  int sample_rate = 0;
  double t0 = 0;  // GPS time of sample 0
  std::vector<double> strain;
  std::vector<std::string> witness_names;
  std::vector<std::vector<double>> witnesses;
  std::size_t samples() const { return strain.size(); }
};

// Reads [cfg.start, cfg.end) through `reader` and resamples each channel to cfg.sample_rate with
// dsp::Resampler. The first second (resampler start-up) is dropped. Throws std::runtime_error on a
// bad second (the message names the file).
Dataset load_dataset(const TrainConfig& cfg, const SecondReader& reader);

struct TrainResult {
  model::BundleInfo bundle;     // as written (id, parameter_count filled)
  int epochs_run = 0;
  int best_epoch = 0;           // 1-based
  double best_valid_loss = 0;   // band-mean ASD ratio of the loss on validation kernels
  double valid_asd_ratio = 0;   // offline cleaning of the validation part, BandAsdMonitor's ratio (1-s Welch)
  double seconds = 0;           // wall time of the training loop
};

// Trains on `data` and writes the bundle at cfg.bundle (through a temporary sibling directory,
// checked with model::check_bundle before the rename). Progress lines go to `log`.
TrainResult train(const TrainConfig& cfg, const Dataset& data, std::ostream& log);

// Offline cleaning of `data` with a bundle: standardise, one forward pass over the whole series,
// un-standardise, band-pass zero-phase, subtract. Returns the mean over band bins of
// ASD(cleaned)/ASD(raw) per band (Welch, 1-s Hann segments, half overlap), skipping `edge_seconds`
// at both ends.
std::vector<double> evaluate_bundle(const std::filesystem::path& bundle, const Dataset& data,
                                    double edge_seconds = 1.0);

}  // namespace deepclean::train
