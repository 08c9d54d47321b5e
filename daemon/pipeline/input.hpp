// Reading one GPS second of input: the strain frame and the witness frame, checked against what
// the contract calls a good second (every required channel present, at its rate, finite, state mask
// passing). The result says exactly what is wrong, naming the file, so the loop can count and log it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "io/gwf/frame.hpp"

namespace deepclean::daemon {

enum class InputProblem {
  None,
  MissingFile,     // a frame file of this second does not exist
  Corrupt,         // unreadable: malformed bytes, bad checksum, wrong GPS or duration
  MissingChannel,  // a required channel is not in the frame
  BadRate,         // a channel's rate or sample count differs from what the segment expects
  NonFinite,       // NaN or Inf in the strain or a witness
  StateMask,       // the state-vector mask failed for at least one sample
};
const char* problem_name(InputProblem p);

// What the pipeline needs to read for each second.
struct InputSpec {
  config::FrameSource strain_source;
  config::FrameSource witness_source;
  std::string strain_channel;
  std::vector<std::string> witness_channels;  // model input order
  std::optional<config::StateMask> state;
  std::vector<std::string> passthrough;
  bool verify_checksums = true;
};

struct SecondInput {
  std::uint64_t gps = 0;
  InputProblem problem = InputProblem::None;
  std::string detail;  // "<file>: <reason>" when problem != None

  // Present whenever the strain frame could be read, even if the second is not cleanable, so the
  // raw strain can still be written out.
  std::optional<gwf::Channel> strain;
  // physical_values(*strain), computed by read_second whenever it sets `strain` (the conversion it
  // needs for the finiteness check anyway), so the pipeline does not convert the strain again.
  // Empty in a SecondInput built by hand: Pipeline::push then converts `strain` itself. Whoever
  // changes `strain` after read_second must update or clear this too.
  std::vector<double> strain_values;
  // Witness samples in physical units (stored · slope + bias for ADC channels), model order.
  std::vector<std::vector<double>> witnesses;
  std::vector<double> witness_rates;
  // 16 samples per second: 1 where the state mask passed (all ones without a state channel).
  std::vector<std::uint8_t> state_ok;
  std::vector<gwf::Channel> passthrough;     // those found; missing ones are listed in warnings
  std::vector<std::string> warnings;         // non-fatal problems (a missing pass-through channel)

  bool good() const { return problem == InputProblem::None; }
};

// `<directory>/<observatory>-<frame_type>-<gps>-1.gwf`
std::string frame_path(const config::FrameSource& source, std::uint64_t gps);

// Reads and checks second `gps`. Never throws for bad input: problems are reported in the result.
SecondInput read_second(const InputSpec& spec, std::uint64_t gps);

// Physical values of a channel: stored · slope + bias for ADC channels with a non-zero slope or
// bias (gwpy's convention: slope = bias = 0 means uncalibrated), stored values otherwise.
std::vector<double> physical_values(const gwf::Channel& c);

}  // namespace deepclean::daemon
