// The DeepClean trainer behind `deepclean train` (docs/training.md). Torch-free interface: the
// network, the loss and the optimiser live in trainer.cpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "core/bundle/bundle.hpp"
#include "train/config.hpp"
#include "train/segments.hpp"

namespace deepclean::train {

// One GPS second as read from the frames (the CLI wraps daemon::read_second).
struct RawSecond {
  bool good = false;
  std::string reason;  // why not good, one word (daemon::problem_name: missing, corrupt, ...)
  std::string detail;  // why not good, naming the file: "<file>: <reason>"
  std::vector<double> strain;
  double strain_rate = 0;
  std::vector<std::vector<double>> witnesses;  // config order
  std::vector<double> witness_rates;
};
using SecondReader = std::function<RawSecond(std::uint64_t gps)>;

// Strain and witnesses resampled to the model rate, unscaled, on one timeline: sample i of every
// series is at GPS t0 + i / sample_rate, t0 = the config's start. Only the samples inside
// `segments` are data (zero elsewhere): each segment is a run of consecutive good seconds,
// resampled as one stream, less its first second (the resampler's start-up) and the resampler's
// look-ahead at its end.
struct Dataset {
  int sample_rate = 0;
  double t0 = 0;  // GPS time of sample 0
  std::vector<double> strain;
  std::vector<std::string> witness_names;
  std::vector<std::vector<double>> witnesses;
  std::vector<Segment> segments;  // good samples, in time order
  // What reading found.
  std::size_t seconds_read = 0;
  std::size_t seconds_good = 0;
  std::map<std::string, std::size_t> bad_seconds;  // by reason
  std::size_t good_runs = 0;        // runs of consecutive good seconds (segments before start-up is dropped)
  std::size_t startup_samples = 0;  // dropped at the start of each run (resampler start-up)
  std::size_t samples() const { return strain.size(); }
  std::size_t good_samples() const;
};

// Reads [cfg.start, cfg.end) through `reader` and resamples each channel to cfg.sample_rate with
// dsp::Resampler, one stream per run of good seconds. A bad second (any reason the reader gives:
// missing or corrupt frame, missing channel, non-finite samples, state mask) does not stop
// reading: it gets a one-line warning on `log` naming the file and the reason and ends the run;
// a change of a channel's rate also starts a new run. A summary line goes to `log` at the end.
// Throws std::runtime_error only when no good data remain.
Dataset load_dataset(const TrainConfig& cfg, const SecondReader& reader, std::ostream& log);

// Where the kernels come from (train/segments.hpp): the dataset's segments split in time into
// training and validation pieces, the random-offset sampler for training kernels and the
// validation kernels. Every kernel lies inside one piece.
struct KernelPlan {
  std::size_t kernel = 0;  // samples
  Split split;
  std::size_t kernels_per_epoch = 0;
  std::vector<std::size_t> valid_offsets;
  std::size_t train_samples() const;
  std::size_t valid_samples() const;
};
// Throws std::runtime_error when there is not one training and one validation kernel.
KernelPlan plan_kernels(const TrainConfig& cfg, const Dataset& data);

// A band's ASD ratio cleaned/raw, and the same in the guard bands beside it: [lo - kGuardHz, lo) and
// (hi, hi + kGuardHz], where the daemon's do-no-harm gate watches for a prediction the band-pass lets
// through (docs/quality-gate.md). About 1 there when the network predicts nothing beside its band.
constexpr double kGuardHz = 10;
struct BandFigures {
  double band = std::numeric_limits<double>::quiet_NaN();
  double below = std::numeric_limits<double>::quiet_NaN(), above = std::numeric_limits<double>::quiet_NaN();
};

struct TrainResult {
  bundle::BundleInfo bundle;     // as written (id, parameter_count filled)
  int epochs_run = 0;
  int best_epoch = 0;           // 1-based
  double best_valid_loss = 0;   // band-mean ASD ratio of the loss on validation kernels
  double final_learning_rate = 0;
  double valid_asd_ratio = 0;   // offline cleaning of the validation part, BandAsdMonitor's ratio (1-s Welch)
  // With a `stream` section: the same part cleaned the way the daemon cleans (its code, the section's
  // settings), over the samples cleaned with the full weight; NaN otherwise.
  double valid_asd_ratio_streamed = std::numeric_limits<double>::quiet_NaN();
  BandFigures valid_streamed;   // the first band's streamed figures, the guard bands' included
  double seconds = 0;           // wall time of the training loop
};

// Trains on `data` and writes the bundle at cfg.bundle (through a temporary sibling directory,
// checked with model::check_bundle before the rename). Progress lines go to `log`.
TrainResult train(const TrainConfig& cfg, const Dataset& data, std::ostream& log);

// Offline cleaning of `data` with a bundle: per segment, standardise, one forward pass, un-standardise,
// band-pass zero-phase, subtract. Returns per band the mean over its bins of ASD(cleaned)/ASD(raw)
// (Welch, 1-s Hann segments, half overlap; PSDs averaged over the segments' Welch segments), and the
// same in the guard bands beside it, skipping `edge_seconds` at both ends of each segment.
std::vector<BandFigures> evaluate_bundle(const std::filesystem::path& bundle, const Dataset& data,
                                    double edge_seconds = 1.0);

// The figure the daemon reaches: `data` cleaned by core/stream's StrainCleaner (contract steps 3-9,
// the daemon's code and model loader) with `stream`'s kernel, aggregation and band-pass, one second
// at a time per segment (each starting on its first whole GPS second), witnesses and strain at the
// model rate; band ratios as evaluate_bundle's, over the samples cleaned with g = 1.
std::vector<BandFigures> evaluate_bundle_streamed(const std::filesystem::path& bundle, const Dataset& data,
                                             const StreamSettings& stream);

}  // namespace deepclean::train
