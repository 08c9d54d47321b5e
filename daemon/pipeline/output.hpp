// Building and publishing the one output frame of an input second (contract, "Products written for
// every input second").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/gwf/frame.hpp"
#include "io/gwf/writer.hpp"

namespace deepclean::daemon {

// Bits of the 16 Hz output state vector, one value per 1/16 s (documented in the README).
enum StateBit : std::uint32_t {
  kCleaned = 1u << 0,     // g·q = 1 for every strain sample of the slot: fully cleaned
  kInputOk = 1u << 1,     // every input of the slot was present, finite and passed the state mask
  kModelOk = 1u << 2,     // a validated model was loaded and used
  kInTaper = 1u << 3,     // 0 < g < 1 somewhere in the slot (segment start or end ramp)
  kSubtracted = 1u << 4,  // g·q > 0 somewhere in the slot: some noise was subtracted
  kGated = 1u << 5,       // the do-no-harm gate's q < 1 somewhere in the slot (docs/quality-gate.md)
};
constexpr std::size_t kStateRate = 16;

struct OutputNames {
  std::string strain;        // cleaned strain channel
  std::string noise;         // empty: not written
  std::string state_vector;
};

// What the do-no-harm gate did for one output second (docs/quality-gate.md).
struct GateReport {
  bool enabled = false;
  bool open = true;             // after this second's decision
  std::string reason;           // why it is closed: band, guard, nonfinite, input ("" while open)
  bool changed = false;         // opened or closed at this second
  std::string detail;           // the figures (or the input's complaint) behind a change
  std::string figures;          // this second's figures (debug log)
  double gated_fraction = 0;    // share of the second's samples with q < 1
  // The monitor's ratios after this second, by region ("55-65", guard "50-55", ...); empty while it
  // has no figure (segment start, taper).
  std::vector<std::pair<std::string, double>> ratios;
  std::vector<bool> guard;      // per ratio: a guard band

  bool closed() const { return enabled && !open; }
  // Closed for a reason of the model's own (a band, a guard band, a non-finite figure): a bad input
  // closes every model's gate and is no model's fault.
  bool closed_by_model() const { return closed() && reason != "input"; }
};

// One second of products.
struct OutputSecond {
  std::uint64_t gps = 0;
  gwf::Channel raw_strain;             // the input strain channel (type, rate, units kept)
  std::vector<double> cleaned;         // at the strain rate
  std::optional<std::vector<double>> noise;  // v at fs, 0 where there is no estimate
  double noise_rate = 0;
  std::vector<std::uint32_t> state;    // kStateRate values
  std::vector<gwf::Channel> passthrough;
  std::vector<gwf::History> history;
  GateReport gate;
};

// The log line of a gate transition at `out`: why it closed and the figures, or that it opened again.
std::string gate_change_text(const OutputSecond& out);

// The frame for `out`: cleaned strain (same rate and type as the raw strain), optional noise at fs
// (float64), the 16 Hz state vector (uint32), pass-through channels, history records.
gwf::Frame build_output_frame(const OutputSecond& out, const OutputNames& names,
                              const std::string& frame_name);

// Per-slot state bits from the subtraction weight g and the gate's weight q at the strain rate (q empty:
// 1 throughout) and the per-slot input flags.
std::vector<std::uint32_t> state_bits(const std::vector<double>& g, const std::vector<double>& q,
                                      const std::vector<std::uint8_t>& input_ok, bool model_ok);

}  // namespace deepclean::daemon
