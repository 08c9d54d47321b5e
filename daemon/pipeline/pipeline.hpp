// The pipeline shared by `deepclean clean` (offline) and `deepclean run` (live): input seconds in,
// in GPS order; one output frame per input second that has strain, out, in order, as soon as all
// of its samples are final. It owns the contract's segment rules at the granularity of seconds:
// a good second continues the segment only when it is the next second with the same channel rates;
// anything else ends it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/bundle/bundle.hpp"
#include "core/stream/cleaner.hpp"
#include "core/stream/noise_estimator.hpp"
#include "core/stream/predictor.hpp"
#include "core/stream/quality_gate.hpp"
#include "core/stream/quality_monitor.hpp"
#include "daemon/pipeline/input.hpp"
#include "daemon/pipeline/output.hpp"

namespace deepclean::daemon {

// Wall time spent per stage, cumulative (seconds).
struct StageTimes {
  double read = 0;      // reading and checking input frames (caller's)
  double clean = 0;     // resampling, averaging, band-pass, subtraction (excluding the model)
  double model = 0;     // model forward passes
  double write = 0;     // building and publishing output frames (caller's)
};

// The stream configuration implied by a configuration and a bundle, for witnesses at `rates`
// (native Hz, model order) and strain at `strain_rate`. Throws std::invalid_argument naming the
// setting that does not fit (e.g. a stride that does not divide fs).
stream::CleanerConfig cleaner_config(const config::Config& cfg, const bundle::BundleInfo& bundle,
                                     const std::vector<double>& witness_rates, double strain_rate);

// A bundle trained for the live stream (`deepclean train` with `training.stream_weight`: provenance
// `streaming`) is trained for one kernel length and aggregation window. When the configuration uses
// others, the warning to give at load, naming both; empty when they agree or the bundle says nothing.
std::string streaming_training_mismatch(const config::Config& cfg, const bundle::BundleInfo& bundle);

// The do-no-harm gate's monitor (the bundle's cleaning bands, at the strain rate) and decision settings.
stream::QualityMonitorConfig monitor_config(const config::Config& cfg, const bundle::BundleInfo& bundle,
                                           double strain_rate);
stream::GateConfig gate_config(const config::Config& cfg);

// The InputSpec of a configuration and bundle.
InputSpec input_spec(const config::Config& cfg, const bundle::BundleInfo& bundle);

// `<output directory>/<observatory>-<output frame type>-<gps>-1.gwf`: where second `gps` is published.
std::string output_path(const config::Config& cfg, std::uint64_t gps);
// How output frames are encoded (output.compression, output.zlib_level).
gwf::WriteOptions write_options(const config::Config& cfg);
// The bands the model was trained to clean (the bundle's), where the band ASD ratio is measured;
// `bandpass.bands` only shapes the filter (it is often set wider: docs/configuration.md).
std::vector<std::pair<double, double>> cleaning_bands(const bundle::BundleInfo& info);

// Builds contract steps 3-5 (witness ring, predictions, averaging) for a segment's geometry over
// the loaded model. Unset: stream::CpuNoiseEstimator over the model (the host path).
// daemon::estimator_factory() (daemon/model_setup) gives core/model's device estimator when
// `model.witness_buffer` asks for it (on CUDA by default).
using EstimatorFactory =
    std::function<std::unique_ptr<stream::NoiseEstimator>(stream::Predictor& model, const stream::KernelGeometry&)>;

class Pipeline {
 public:
  // `predictor` is the loaded model (any Predictor; tests use fakes). Throws std::invalid_argument
  // for a configuration that cannot work with this bundle. With `estimator` set, the estimator it
  // makes does steps 3-5 and all of its time counts as the model stage.
  Pipeline(config::Config cfg, bundle::BundleInfo bundle, std::unique_ptr<stream::Predictor> predictor,
           EstimatorFactory estimator = {});
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;  // the model timer refers to stages_
  Pipeline& operator=(const Pipeline&) = delete;

  struct PushResult {
    std::vector<OutputSecond> outputs;  // output seconds that became complete, in GPS order
    // Non-empty when the second was readable but cannot be cleaned with this model and
    // configuration (e.g. a witness rate the resampler cannot convert); it is written raw.
    std::string rejected;
  };
  // Feed one input second (good or not), in increasing GPS order.
  PushResult push(const SecondInput& in);
  // No more input for now (end of an offline run, shutdown): ends the segment and returns every
  // pending output second.
  std::vector<OutputSecond> finish();

  // Swap in a new model and configuration between two seconds (SIGHUP): the open segment ends
  // first, so outputs stay consistent; returns the flushed outputs.
  std::vector<OutputSecond> replace(config::Config cfg, bundle::BundleInfo bundle,
                                    std::unique_ptr<stream::Predictor> predictor, EstimatorFactory estimator = {});

  // Algorithmic latency for the witness rates seen (or, before any input, for witnesses at fs).
  double latency_seconds() const;
  std::uint64_t segments_started() const { return segments_; }
  const StageTimes& stages() const { return stages_; }
  StageTimes& stages() { return stages_; }
  const config::Config& config() const { return cfg_; }
  const bundle::BundleInfo& bundle() const { return bundle_; }
  const OutputNames& names() const { return names_; }
  std::vector<gwf::History> history(std::uint64_t gps) const;

 private:
  struct Pending;
  void end_segment();
  void start_segment(const SecondInput& in);
  void collect_blocks();
  std::vector<OutputSecond> pop_complete();
  std::vector<double> gate_second(Pending& p, GateReport& report);  // q for p's samples; applies it
  std::string input_complaint(const SecondInput& in) const;

  config::Config cfg_;
  bundle::BundleInfo bundle_;
  std::unique_ptr<stream::Predictor> predictor_;   // the model
  std::unique_ptr<stream::Predictor> timed_;       // predictor_ timed into stages_.model
  EstimatorFactory estimator_;                     // unset: CpuNoiseEstimator over timed_
  OutputNames names_;
  std::unique_ptr<stream::StrainCleaner> cleaner_;  // for the current rates
  std::vector<double> rates_;                       // witness rates of cleaner_
  double strain_rate_ = 0;
  std::optional<std::uint64_t> next_gps_;           // the second that continues the segment
  std::uint64_t segment_start_ = 0;
  std::deque<Pending> pending_;
  std::uint64_t segments_ = 0;
  // The do-no-harm gate (cfg_.gate.enabled): its monitor follows the cleaner's segments.
  std::unique_ptr<stream::QualityMonitor> monitor_;
  std::unique_ptr<stream::QualityGate> gate_;
  double gate_rate_ = 0;              // strain rate of monitor_ and gate_
  std::uint64_t monitor_segment_ = 0;  // the segment whose samples monitor_ holds (0: none)
  std::deque<std::pair<std::uint64_t, std::string>> bad_inputs_;  // input guard: (GPS, complaint)
  StageTimes stages_;
};

}  // namespace deepclean::daemon
