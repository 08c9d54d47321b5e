// Validation of a canary against production on the live stream (issue 15, docs/model-lifecycle.md).
// Every output second both models produced is offered; the seconds both cleaned fully (state bit
// "cleaned" on every slot, inputs good) are compared in every band and guard band of the quality
// monitor (stream::ModelComparison). Once `seconds` such seconds are in:
//   passed   when in every cleaning band the canary's ratio is at most production's × (1 + `margin`),
//            in every guard band at most the larger of production's and 1 × (1 + `margin`) (no more
//            harm beside the band than production does: removing less noise there is not harm), and
//            the canary's compute per second averaged at most `max_compute_seconds`;
//   rejected otherwise, naming the first region (or the compute) that failed.
// It is rejected at once when its output has a non-finite sample, or its do-no-harm gate closes for a
// reason of its own (a band, a guard band, a non-finite figure) in a second in which production's
// does not (a bad input closes both gates and is not the canary's fault; nor is a moment of the data
// that closes both), or stays closed kClosedAloneSeconds longer than production's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/stream/model_comparison.hpp"
#include "daemon/pipeline/output.hpp"

namespace deepclean::daemon::models {

struct ValidationSettings {
  double seconds = 300;             // fully cleaned seconds compared
  double margin = 0.0;              // a region passes when canary <= production * (1 + margin)
  double max_compute_seconds = 0.5;  // the canary's mean compute per second of data
};

class Validation {
 public:
  enum class Status { Running, Passed, Rejected };
  static constexpr std::size_t kClosedAloneSeconds = 30;

  // `monitor`: rate, cleaning bands and guard width (the production pipeline's monitor_config).
  Validation(const stream::QualityMonitorConfig& monitor, ValidationSettings settings);

  // The two outputs of one second (same GPS). Ignored once decided.
  void add(const OutputSecond& production, const OutputSecond& canary);
  // The canary's compute for one input second (seconds). After 5 seconds, a mean above twice the
  // budget rejects at once: such a model would hold up the service for the whole window.
  void add_compute(double seconds);

  Status status() const { return status_; }
  const std::string& reason() const { return reason_; }
  std::size_t seconds() const { return comparison_.seconds(); }
  std::size_t seconds_needed() const { return needed_; }
  std::optional<std::uint64_t> first_gps() const { return first_; }
  std::optional<std::uint64_t> last_gps() const { return last_; }
  std::vector<stream::RegionComparison> ratios() const { return comparison_.ratios(); }  // a: production, b: canary
  double mean_compute() const;
  double max_compute() const { return max_compute_; }
  const ValidationSettings& settings() const { return settings_; }

  // The report (JSON object text) for `version` against `production_version`.
  std::string report(const std::string& version, const std::string& id, const std::string& production_version,
                     const std::string& production_id, const std::string& time, std::uint64_t gps) const;

 private:
  void decide();
  void reject(std::string why);

  ValidationSettings settings_;
  stream::ModelComparison comparison_;
  std::size_t needed_ = 0;
  Status status_ = Status::Running;
  std::string reason_;
  std::optional<std::uint64_t> first_, last_;
  bool canary_gate_open_ = true;   // the canary's gate in the last second offered
  std::size_t closed_alone_ = 0;   // seconds in a row its gate was closed and production's open
  double compute_sum_ = 0, max_compute_ = 0;
  std::size_t compute_n_ = 0;
  std::uint64_t offered_ = 0;  // output seconds offered, counted or not
};

// Whether every state slot of `out` says fully cleaned with good input (the seconds validation counts).
bool fully_cleaned(const OutputSecond& out);

}  // namespace deepclean::daemon::models
