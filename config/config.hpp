// The daemon's YAML configuration: schema, defaults and strict validation.
// Every error names file:line:column and says how to fix it (docs/configuration.md is the reference).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace deepclean::config {

enum class BandpassMethod { None, Causal, Window, Fir };
const char* method_name(BandpassMethod m);

enum class StartFrom { Resume, Newest, Gps };

// Where one stream of input frames lives: `<directory>/<O>-<frame_type>-<gps>-1.gwf`.
struct FrameSource {
  std::string directory;
  std::string frame_type;   // e.g. H1_llhoft (the T050017 tag)
  std::string observatory;  // e.g. H; default: first letter of the interferometer
};

struct StateMask {
  std::string channel;      // e.g. H1:GDS-CALIB_STATE_VECTOR
  std::uint32_t mask = 0;   // every sample must have all these bits set
};

// The do-no-harm gate and its input guard (docs/quality-gate.md; core/stream/quality_gate.hpp).
struct GateSettings {
  bool enabled = true;
  // quality monitor
  double window_seconds = 4;      // trailing window of the ratios
  double segment_seconds = 0.25;  // Hann segments (time resolution; frequency resolution 1/segment)
  double guard_hz = 10;           // guard bands on each side of every cleaning band
  double guard_segment_seconds = 1;  // their segments (1-Hz bins keep the band's lines out of them)
  double guard_window_seconds = 32;  // their trailing window (what leaks beside the band is bursty)
  // decision
  double close_above = 1.0;
  double onset_close_above = 1.25;
  double onset_floor = 0.0625;
  double open_below = 0.9;
  double guard_close_above = 1.1;
  double guard_open_below = 1.05;
  double guard_onset_close_above = 2.5;
  double min_closed_seconds = 8;
  double recover_seconds = 8;
  double ramp_down_seconds = 0.25;
  double ramp_up_seconds = 1.0;
  // input guard, per witness and input second
  double max_zscore = 10;               // RMS of the standardised witness; 0: off
  bool flatline = true;                 // a witness constant over the second (zeros included)
  double saturation_fraction = 0.01;    // share of samples at the second's extreme value; 0: off
};

// The sections of the file, one struct each, named and laid out as docs/configuration.md lists
// them. Each compares as a whole (operator==, over fields() which a static_assert in config.cpp holds
// to the struct's member count), so a reload's comparison cannot miss a member.
struct InputSettings {
  FrameSource strain;
  FrameSource witness;             // may equal strain (one frame type holds both)
  std::string strain_channel;      // input.strain.channel
  std::optional<StateMask> state;  // input.state_vector
  double timeout_seconds = 2.0;    // how long `run` waits for an expected second
  bool poll = false;               // force polling instead of inotify
  double poll_interval_seconds = 0.05;
  StartFrom start = StartFrom::Resume;
  std::uint64_t start_gps = 0;     // when start == Gps
};

struct OutputSettings {
  std::string directory;
  std::string frame_type;            // default: <strain frame type>_DEEPCLEAN
  std::string channel;               // default: <strain channel>_DEEPCLEAN
  std::string noise_channel;         // empty: no noise product
  std::string state_vector_channel;  // default: <ifo>:DEEPCLEAN-STATE_VECTOR
  std::vector<std::string> passthrough;
  std::string compression = "raw";   // raw | zlib (little gain on strain for its CPU: docs/benchmarks.md)
  int zlib_level = 1;
  double retention_seconds = 0;      // 0: keep every output frame
};

struct ModelSettings {
  std::string bundle;               // model bundle directory
  std::string device = "cpu";       // cpu | cuda | cuda:N
  int threads = 1;
  int batch_size = 64;
  bool fp16 = false;
  bool cuda_graph = false;
  // Where the witness ring buffer and the averaging of predictions live: "host" (core/stream's
  // CpuNoiseEstimator hands kernels to the runner), "device" (core/model's device estimator: only
  // new samples go to the model's device, one noise block comes back), "auto" (device on CUDA,
  // host on the CPU).
  std::string witness_buffer = "auto";
  // `deepclean run` checks each bundle in a separate process before loading it (a model.pt is a
  // program; docs/model-bundles.md, "Checked in a separate process"): how long that check may take.
  double check_timeout_seconds = 120;
};

// The model lifecycle (docs/model-lifecycle.md): a repository of versions, validated on the live
// stream as a canary before they are promoted.
struct ModelsSettings {
  std::string repository;                // empty: no repository, `model.bundle` only (as before)
  std::string archive;                   // retired versions; empty: <repository>/.archive
  std::string candidate_directory;       // the canary's cleaned frames; empty: not written
  std::string candidate_frame_type;      // default: <output frame type>_CANARY
  double validation_seconds = 300;       // fully cleaned seconds the canary is compared over
  double margin = 0.02;                  // a band passes when canary ratio <= production ratio * (1 + margin)
  double max_compute_seconds = 0.5;      // the canary's mean compute per second of data
  double probation_seconds = 600;        // the previous production stays loaded this long
  double crossfade_seconds = 1.0;        // the switch's half-Hann crossfade; 0: at the boundary
  double scan_interval_seconds = 10;     // periodic scan besides inotify
};

struct InferenceSettings {
  double kernel_seconds = 1.0;
  double sampling_rate = 64;         // kernels per second: stride s = fs / rate
  double aggregation_seconds = 0.5;  // N = aggregation_seconds * rate
};

// Bands and order default to the bundle's.
struct BandpassSettings {
  BandpassMethod method = BandpassMethod::Window;
  double memory_seconds = 10;
  double look_ahead_seconds = 0.5;
  double kaiser_beta = 6.0;                      // `fir`: window=("kaiser", beta) of the 2L + 1 taps
  std::vector<std::pair<double, double>> bands;  // empty: the bundle's
  int order = 0;                                 // 0: the bundle's
};

struct SubtractionSettings {
  double taper_seconds = 1.0;
};

struct LoggingSettings {
  std::string level = "info";  // trace debug info warn error
};

struct MetricsSettings {
  std::string path;  // empty: no metrics file
};

struct ControlSettings {
  std::string socket;  // the operator's Unix socket (`deepclean ctl`); empty: none
};

// The training archive (docs/retraining.md): the good input seconds kept for retraining.
struct TrainingArchiveSettings {
  std::string directory;      // empty: no archive
  std::string frame_type;     // default: <ifo>_DEEPCLEAN_ARCHIVE
  double span_seconds = 8192;  // kept back from the newest archived second
  double chunk_seconds = 64;   // seconds per file
  double max_megabytes = 0;    // byte budget of the archive; 0: none
};

// `deepclean retrain` (docs/retraining.md): fine-tuning production on the archive's newest span.
struct RetrainSettings {
  double span_seconds = 4096;       // the archive's newest seconds a cycle uses
  double held_out_fraction = 0.1;   // the newest part of the span: never trained on, both models judged on it
  double min_good_fraction = 0.5;   // fewer good seconds in the span: the cycle is skipped
  double cadence_seconds = 2048;    // a cycle when the archive has grown this much since the last one
  double min_span_seconds = 1024;   // the least observing time a cycle trains on
  double relock_gap_seconds = 120;  // a hole this long ends an observing segment (a lock loss)
  double poll_seconds = 30;         // how often the archive is looked at for a trigger
  double learning_rate = 0.005;     // a tenth of the demo's first stage (the reference: a tenth of training's)
  double epochs = 6;
  double kernel_stride_seconds = 1;  // kernels per epoch: one per this many seconds (random offsets)
  double threads = 2;
};

bool operator==(const FrameSource& a, const FrameSource& b);
inline bool operator!=(const FrameSource& a, const FrameSource& b) { return !(a == b); }
bool operator==(const StateMask& a, const StateMask& b);
inline bool operator!=(const StateMask& a, const StateMask& b) { return !(a == b); }
bool operator==(const InputSettings& a, const InputSettings& b);
inline bool operator!=(const InputSettings& a, const InputSettings& b) { return !(a == b); }
bool operator==(const OutputSettings& a, const OutputSettings& b);
inline bool operator!=(const OutputSettings& a, const OutputSettings& b) { return !(a == b); }
bool operator==(const ModelSettings& a, const ModelSettings& b);
inline bool operator!=(const ModelSettings& a, const ModelSettings& b) { return !(a == b); }
bool operator==(const ModelsSettings& a, const ModelsSettings& b);
inline bool operator!=(const ModelsSettings& a, const ModelsSettings& b) { return !(a == b); }
bool operator==(const InferenceSettings& a, const InferenceSettings& b);
inline bool operator!=(const InferenceSettings& a, const InferenceSettings& b) { return !(a == b); }
bool operator==(const BandpassSettings& a, const BandpassSettings& b);
inline bool operator!=(const BandpassSettings& a, const BandpassSettings& b) { return !(a == b); }
bool operator==(const SubtractionSettings& a, const SubtractionSettings& b);
inline bool operator!=(const SubtractionSettings& a, const SubtractionSettings& b) { return !(a == b); }
bool operator==(const GateSettings& a, const GateSettings& b);
inline bool operator!=(const GateSettings& a, const GateSettings& b) { return !(a == b); }
bool operator==(const LoggingSettings& a, const LoggingSettings& b);
inline bool operator!=(const LoggingSettings& a, const LoggingSettings& b) { return !(a == b); }
bool operator==(const MetricsSettings& a, const MetricsSettings& b);
inline bool operator!=(const MetricsSettings& a, const MetricsSettings& b) { return !(a == b); }
bool operator==(const ControlSettings& a, const ControlSettings& b);
inline bool operator!=(const ControlSettings& a, const ControlSettings& b) { return !(a == b); }
bool operator==(const TrainingArchiveSettings& a, const TrainingArchiveSettings& b);
inline bool operator!=(const TrainingArchiveSettings& a, const TrainingArchiveSettings& b) { return !(a == b); }
bool operator==(const RetrainSettings& a, const RetrainSettings& b);
inline bool operator!=(const RetrainSettings& a, const RetrainSettings& b) { return !(a == b); }

struct Config {
  std::string source_file;  // the YAML file this came from
  // "file:line:column" of every key present in the file, by key path ("bandpass.bands"), so that
  // checks needing the model bundle (band edges against its Nyquist frequency) can point at the line.
  std::map<std::string, std::string> locations;
  // locations[key] when the key is in the file, else source_file.
  std::string where(const std::string& key) const;

  std::string ifo;  // H1, L1, V1, K1
  InputSettings input;
  OutputSettings output;
  ModelSettings model;
  ModelsSettings models;
  InferenceSettings inference;
  BandpassSettings bandpass;
  SubtractionSettings subtraction;
  GateSettings gate;
  LoggingSettings logging;
  MetricsSettings metrics;
  ControlSettings control;
  TrainingArchiveSettings training_archive;
  RetrainSettings retrain;
};

// A configuration problem: `where` is "file:line:column" (or just "file").
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string where, std::string message, std::string hint = {});
  const std::string& where() const { return where_; }
  const std::string& hint() const { return hint_; }

 private:
  std::string where_;
  std::string hint_;
};

// Parses and validates everything that can be checked without the model bundle or the file system.
Config load_config(const std::string& path);
Config parse_config(const std::string& yaml_text, const std::string& source_name);

}  // namespace deepclean::config

namespace deepclean::config {

// What a reload (SIGHUP) does when a key's value changed in the file:
//   Kept:     applied, and the running pipeline and its open segment are kept (operational keys:
//             logging, metrics, timeouts, retention, the lifecycle's thresholds, retrain.*, which
//             `deepclean retrain` reads at each cycle);
//   Pipeline: applied by starting the pipeline anew between two seconds (what shapes the output);
//   Restart:  the reload is refused as a whole, "needs a restart: KEY", and the running
//             configuration is kept (what is bound at start: watched directories, the control
//             socket, the repository, the training archive, the thread pool).
enum class OnReload { Kept, Pipeline, Restart };

// Every key of the configuration, by its path as docs/configuration.md names it ("gate.close_above").
struct KeyInfo {
  std::string key;
  OnReload on_reload;
  bool cleaning() const { return on_reload == OnReload::Pipeline; }
  bool restart() const { return on_reload == OnReload::Restart; }
};
const std::vector<KeyInfo>& keys();
// The keys whose values differ between a and b (keys() order). A section that differs as a whole
// with none of its keys in the list (a member the key table does not name) is reported as
// "<section>.*", so a change is never missed.
std::vector<std::string> changed_keys(const Config& a, const Config& b);
// The subset that changes the cleaning ("<section>.*" counts as one): empty when a reload may keep
// the running pipeline.
std::vector<std::string> changed_cleaning_keys(const Config& a, const Config& b);
// The subset that a reload cannot apply (OnReload::Restart).
std::vector<std::string> changed_restart_keys(const Config& a, const Config& b);
// Every key with its value as text, in keys() order (`deepclean ctl config` shows the running ones).
std::vector<std::pair<std::string, std::string>> key_values(const Config& c);

}  // namespace deepclean::config
