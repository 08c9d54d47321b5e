// The service's output side: computed seconds queued in GPS order and published one by one (each an
// atomic rename), a one-second back-off while the output directory cannot be written, retention of
// old frames, and the per-frame metrics and log lines (band ASD ratio, gate, latency).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "daemon/ops/logging.hpp"
#include "daemon/ops/metrics.hpp"
#include "daemon/pipeline/asd_monitor.hpp"
#include "daemon/pipeline/output.hpp"
#include "io/gwf/writer.hpp"

namespace deepclean::daemon {

using SteadyTime = std::chrono::steady_clock::time_point;

// What made an output frame complete (the log line and deepclean_outputs_completed_total{by}): the
// arrival of an input second, the timeout of a second that did not come (its segment ended), a
// stalled stream, or a flush (reload, shutdown).
struct Completion {
  enum Kind { Arrival, Timeout, Stall, Flush } kind = Arrival;
  std::uint64_t input_gps = 0;  // the input second that arrived or timed out; the next expected otherwise
};

// GPS seconds of this configuration's own output frames in its output directory, ascending.
std::vector<std::uint64_t> output_seconds(const config::Config& cfg);

class OutputWriter {
 public:
  using Status = std::function<void(const std::string& text, bool force)>;
  // `metrics`, `warnings` must outlive the writer; `status` reports to systemd (STATUS=).
  OutputWriter(const config::Config& cfg, Metrics& metrics, RateLimitedWarnings& warnings, Status status);

  // After a reload: the output settings (directory, names, compression, retention) of `cfg`.
  void set_config(const config::Config& cfg) { cfg_ = cfg; }
  // The bands of the band ASD ratio metric (the model's cleaning bands); restarts its window.
  void set_bands(const std::vector<std::pair<double, double>>& bands);

  // Queues computed seconds (in GPS order) with the channel names they are written under.
  void enqueue(std::vector<OutputSecond> outs, const OutputNames& names, SteadyTime arrival, Completion by);
  // Publishes queued seconds in GPS order until one fails (then retried no sooner than 1 s later),
  // then applies retention.
  void write();
  // write(), ignoring the back-off (shutdown's last attempts).
  void write_now() {
    blocked_until_.reset();
    write();
  }

  std::size_t queued() const { return queue_.size(); }
  std::optional<std::pair<std::uint64_t, std::uint64_t>> queued_range() const;  // first and last GPS
  std::optional<std::uint64_t> last_written() const { return last_written_; }
  // Seconds spent publishing since the last call (the `write` stage of the metrics).
  double take_write_seconds();

 private:
  struct Queued {
    OutputSecond out;
    OutputNames names;
    std::string path;
    std::string frame_name;
    gwf::WriteOptions options;
    SteadyTime arrival;
    Completion by;
  };
  void published(const Queued& q, SteadyTime renamed);
  void apply_retention();

  config::Config cfg_;
  Metrics& metrics_;
  RateLimitedWarnings& warn_;
  Status status_;
  std::optional<BandAsdMonitor> asd_;
  std::deque<Queued> queue_;
  std::optional<SteadyTime> blocked_until_;
  std::uint64_t failures_ = 0;  // consecutive failed attempts
  SteadyTime last_error_log_{};
  std::optional<std::uint64_t> last_written_;
  std::optional<std::uint64_t> retained_through_;  // newest output when retention last ran
  double write_seconds_ = 0;
};

}  // namespace deepclean::daemon
