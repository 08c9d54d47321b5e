// `deepclean clean` and `deepclean check-config`: the offline cleaning loop and every check of a
// configuration short of cleaning.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/bundle/bundle.hpp"
#include "daemon/pipeline/pipeline.hpp"

namespace deepclean::daemon {

// Witness rates (model order) and strain rate read from the newest input second in the configured
// directories, if any; empty when no readable input frame is there.
struct ObservedRates {
  std::vector<double> witness;
  double strain = 0;
  std::uint64_t gps = 0;
};
ObservedRates observe_rates(const config::Config& cfg, const bundle::BundleInfo& bundle);

// `deepclean check-config`: every check short of cleaning; prints a report to `out`. Returns the
// problems found (empty: good). Needs LibTorch (the bundle's model is loaded on the CPU).
std::vector<std::string> check_config(const std::string& path, std::ostream& out);

struct CleanSummary {
  std::uint64_t seconds_requested = 0, seconds_in = 0, seconds_out = 0, seconds_cleaned = 0;
  std::uint64_t missing = 0, unusable = 0, write_errors = 0, segments = 0;
  double cleaned_fraction = 0;  // strain samples with g == 1 / samples written
  std::vector<std::pair<std::string, double>> band_asd_ratio;
  // The do-no-harm gate (gate.enabled): seconds with q < 1 by reason, transitions, state at the end.
  bool gate_enabled = false, gate_open_at_end = true;
  std::map<std::string, double> gated_seconds;
  std::uint64_t gate_closings = 0, gate_openings = 0;
  double wall_seconds = 0;
  // Busy time of each stage, measured on the thread that does it: read on the read-ahead thread,
  // clean and model on the main thread, write (frame building, band ASD monitor, durable publish)
  // on the writer thread. Reading and writing overlap the model, so they are not on the critical path.
  double read = 0, clean = 0, model = 0, write = 0;
  // Time the main thread was blocked waiting for the next input second (read_wait) or for room in
  // the write queue and, at the end, for the last frames to be published (write_wait).
  double read_wait = 0, write_wait = 0;
  double loop_seconds = 0;  // wall time of the per-second loop and the final flush (model load excluded)
};

// `deepclean clean`: cleans [start, end) from the configured input directories into the output
// directory, with a progress line on `progress` (may be null). Loads the model per the config.
CleanSummary clean_offline(const config::Config& cfg, std::uint64_t start, std::uint64_t end,
                           std::ostream* progress);
void print_summary(const CleanSummary& s, std::ostream& out);

}  // namespace deepclean::daemon
