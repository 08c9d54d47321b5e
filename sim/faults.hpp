// Fault injection for `deepclean simulate --faults SPEC` (grammar in docs/simulator.md):
//   SPEC  := RULE ("," RULE)*
//   RULE  := KIND "@" SECOND [":" ARG] ["/" WHICH]      fault at one second
//          | KIND ":" RATE [":" ARG] ["/" WHICH]         fault with probability RATE per second
//   KIND  := missing | late | dup | truncated | corrupt | nan | svdrop | nochan
//   WHICH := strain | witness | both
// SECOND below 100000000 counts from --start; larger values are absolute GPS seconds. Random faults
// are drawn from (seed, rule, GPS second), so they do not depend on where a run starts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "io/gwf/frame.hpp"

namespace deepclean::sim {

enum class FaultKind { Missing, Late, Duplicate, Truncated, Corrupt, NaN, StateDrop, NoChannel };
const char* fault_name(FaultKind k);

struct FaultRule {
  FaultKind kind = FaultKind::Missing;
  bool at_second = true;      // true: `second`; false: `rate`
  std::int64_t second = 0;    // as written (relative when < 1e8)
  double rate = 0;
  std::string arg;            // as written; empty for the default
  int which = 3;              // bit 0 strain, bit 1 witness
};

struct FaultSpec {
  std::vector<FaultRule> rules;
  // Throws std::invalid_argument naming the offending rule.
  static FaultSpec parse(const std::string& text);
};

// What happens to one file (index 0 strain, 1 witness) of one second.
struct FileFaults {
  bool missing = false;
  int late_seconds = 0;       // published this many seconds after its normal time
  bool duplicate = false;     // published again one second after the first time
  double truncate_to = -1;    // < 0: no; else keep floor(fraction * size) bytes
  int bit_flips = 0;
  bool nan = false;           // strain: GDS-CALIB_STRAIN all NaN; witness: every witness channel NaN
  std::vector<std::string> descriptions;  // e.g. "late:3", for the publication log
};

struct SecondFaults {
  FileFaults file[2];
  int state_drop = 0;                   // samples of the state vector with bits 0-1 cleared
  std::vector<std::string> no_channel;  // channels left out (of whichever frame holds them)
};

// The whole of `s` as a finite number (std::stod without trailing characters); false otherwise. Shared
// by the fault and scenario parsers.
bool parse_finite(const std::string& s, double& value);

SecondFaults faults_for(const FaultSpec& spec, std::uint64_t seed, std::int64_t start, std::int64_t gps,
                        const std::string& default_channel);

// Content faults (before encoding): NaN, state-vector drop, missing channels.
void apply_frame_faults(const SecondFaults& f, std::uint64_t seed, std::int64_t gps, gwf::Frame& strain,
                        gwf::Frame& witness, const std::string& strain_channel, const std::string& state_channel);
// Byte faults (after encoding): truncation and bit flips (which == 0 strain, 1 witness).
void apply_byte_faults(const FileFaults& f, std::uint64_t seed, std::int64_t gps, int which,
                       std::vector<std::byte>& bytes);

// The bit positions flipped by `bit_flips` flips in a file of `size` bytes (distinct, after the
// 40-byte file header); exposed for tests.
std::vector<std::uint64_t> flip_positions(std::uint64_t seed, std::int64_t gps, int which, int flips,
                                          std::uint64_t size);
// First state-vector sample dropped by `svdrop` with `count` samples.
int state_drop_start(std::uint64_t seed, std::int64_t gps, int count);

}  // namespace deepclean::sim
