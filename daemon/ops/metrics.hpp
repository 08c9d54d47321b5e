// The metrics file: Prometheus text format (node_exporter's textfile collector), rewritten
// atomically (temporary file + rename) after every second. Every metric is documented in the README.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace deepclean::daemon {

// What happened to an input second (one counter each, `deepclean_input_seconds_total{result=...}`
// is not used: operators alert on each kind separately).
enum class SecondEvent { In, Out, Cleaned, Missing, Late, Corrupt, Duplicate, Vanished, Unusable };

class Metrics {
 public:
  Metrics(const std::string& version, const std::string& device, const std::string& model_id,
          const std::string& model_version, double algorithmic_latency_s);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  void count(SecondEvent e, std::uint64_t n = 1);
  void segment_started();
  // latency: input arrival → rename; `by`: what completed the frame (arrival, timeout, stall, flush);
  // `lag`: that input second's GPS minus the output's (1 at the floor for latency ≤ 1 s).
  void output_written(std::uint64_t gps, double latency_s, const std::string& by, std::int64_t lag);
  void stage_time(const std::string& stage, double seconds);
  void band_asd_ratio(const std::string& band, double ratio);
  // The do-no-harm gate after one output second: open or closed (with the reason), the share of the
  // second with q < 1 (added to the reason's gated seconds), a transition, and the monitor's ratios by
  // region (`guard` flags the guard bands).
  void gate(bool open, const std::string& reason, double gated_fraction, bool changed,
            const std::vector<std::pair<std::string, double>>& ratios, const std::vector<bool>& guard);
  // Device memory held by the model's tensors. The gauge exists only once this was called: the
  // service calls it on CUDA only, so a CPU service has no deepclean_gpu_memory_bytes at all.
  void gpu_memory(double bytes);
  // The training archive (docs/retraining.md), from its writer's totals; absent without an archive.
  struct ArchiveFigures {
    double bytes = 0, seconds_held = 0;  // seconds held: newest - oldest + 1 (holes included)
    std::uint64_t written = 0, removed = 0, dropped = 0;  // chunks, since the start
  };
  void training_archive(const ArchiveFigures& a);
  void inotify_overflow();  // the input watch lost events and rescanned the directories
  void output_errors(std::uint64_t n = 1);
  void reload(bool ok);
  // The deepclean_info labels after a reload; an empty `device` keeps the current one.
  void model(const std::string& model_id, const std::string& model_version, const std::string& device = "");
  void algorithmic_latency(double seconds);  // after a reload changed the configuration
  void output_queue(std::size_t seconds);    // outputs waiting for the output directory
  // The process's resident memory (/proc/self/statm) and its C heap (glibc's mallinfo2: bytes in use,
  // and bytes free but still held, which fragmentation makes grow), sampled now. A textfile collector
  // has no process metrics of its own; these tell a leak (in use grows) from fragmentation (free grows).
  void process_memory();

  // The model slots (docs/model-lifecycle.md).
  struct ModelSlot {
    std::string role;  // production, canary, standby
    std::string version, id;
  };
  struct CanaryRatio {
    std::string region;
    bool guard = false;
    double production = 0, canary = 0;
  };
  // The loaded versions by role (replacing the previous set), the canary's validation progress (0
  // and 0 without a canary) and figures so far.
  void model_slots(const std::vector<ModelSlot>& slots, double validation_seconds, double validation_needed,
                   const std::vector<CanaryRatio>& ratios);
  void model_decision(const std::string& action);  // promoted, rejected, rolled back, ...

  std::uint64_t value(SecondEvent e) const;  // for tests and summaries

  // The whole text exposition.
  std::string render() const;
  // Writes render() to `path` atomically; false (with errno-style text in `error`) on failure.
  bool write(const std::string& path, std::string& error) const;

 private:
  struct Families;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> f_;
};

}  // namespace deepclean::daemon
