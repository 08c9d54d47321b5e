// Training configuration for `deepclean train --config FILE` (docs/training.md): strict YAML, every
// error "<file>:<line>:<column>: message". Torch-free.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace deepclean::train {

class TrainConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;  // what() = "<where>: <message>"
};

struct FrameDir {
  std::string directory;    // relative paths are taken from the config file's directory
  std::string frame_type;   // e.g. H1_llhoft
  std::string observatory;  // e.g. H (default: first letter of the strain channel)
};

// How the daemon will run the model (the `inference` and `bandpass` sections of its configuration):
// for streaming-aware training and for the streamed evaluation (contract steps 3-9 on the data).
struct StreamSettings {
  double kernel_seconds = 1.0;
  double sampling_rate = 32;         // kernels per second
  double aggregation_seconds = 0.5;  // the part [K - N s, K) of each kernel the stream averages
  std::string method = "window";     // none, causal, window, fir
  double look_ahead_seconds = 0.5;
  double memory_seconds = 10;
  double kaiser_beta = 6.0;
  double taper_seconds = 1.0;
  std::vector<std::pair<double, double>> bands;  // bandpass.bands; empty: the model's bands
};

struct TrainConfig {
  std::string source_file;
  // data
  FrameDir strain_frames;
  FrameDir witness_frames;
  // Or the live service's training archive (data.archive, docs/retraining.md): directory empty: none.
  FrameDir archive;
  std::uint64_t start = 0;  // GPS, inclusive
  std::uint64_t end = 0;    // GPS, exclusive
  std::string state_channel;  // empty: no state-vector check
  std::uint32_t state_mask = 0;
  // channels
  std::string strain_channel;
  std::vector<std::string> witnesses;  // model input order (sorted unless sort_witnesses: false)
  bool sort_witnesses = true;
  // model
  int sample_rate = 512;
  std::vector<std::pair<double, double>> bands{{55.0, 65.0}};
  int filter_order = 8;
  // training
  double kernel_seconds = 8.0;
  double kernel_stride_seconds = 1.0;  // sets the number of kernels per epoch (offsets are random)
  double fftlength_seconds = 2.0;      // Welch segment of the loss (half overlap)
  int batch_size = 32;
  double learning_rate = 1e-2;
  double weight_decay = 1e-5;
  int epochs = 30;
  double validation_fraction = 0.2;
  bool validation_first = false;       // validate on the oldest part, train on the newest (retrain: the
                                       // couplings drift); not a YAML key
  int patience = 5;                    // early stopping
  // Learning-rate schedule: ReduceLROnPlateau on the validation loss (train/schedule.hpp).
  double lr_factor = 0.2;              // 1 = no schedule
  int lr_patience = 2;                 // epochs without improvement tolerated before a reduction
  double min_learning_rate = -1;       // < 0 until parsed: learning_rate * lr_factor^2 (DC-2022)
  // Streaming-aware training: loss = (1 - w) * loss over each kernel + w * loss over its last
  // stream.aggregation_seconds, the part the live stream averages (0: the plain DeepClean loss).
  double stream_weight = 0.0;
  // Guard-band loss: + guard_weight x the ASD ratio (raw - prediction) / raw over guard_hz beside each
  // band, in each loss term: what the network predicts beside its band costs (0: none).
  double guard_weight = 0.0;
  double guard_hz = 10.0;
  // Start from this bundle's network (one `deepclean train` wrote, same witnesses and rate) instead of
  // a random initialisation: fine-tuning, e.g. with stream_weight for a bundle already trained.
  std::string initial_bundle;
  std::uint64_t seed = 1;
  int threads = 2;
  // `stream` section: present when the daemon's settings are given (streaming-aware training, streamed
  // evaluation); absent: neither.
  std::optional<StreamSettings> stream;
  // output
  std::string bundle;  // output directory
  std::string version = "deepclean-train";
  bool force = false;  // replace an existing bundle

  std::size_t kernel_samples() const;
};

TrainConfig parse_train_config(const std::string& yaml_text, const std::string& source_name);
TrainConfig load_train_config(const std::string& path);

}  // namespace deepclean::train
