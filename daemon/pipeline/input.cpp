#include "daemon/pipeline/input.hpp"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "io/gwf/reader.hpp"

namespace deepclean::daemon {

const char* problem_name(InputProblem p) {
  switch (p) {
    case InputProblem::None: return "none";
    case InputProblem::MissingFile: return "missing";
    case InputProblem::Corrupt: return "corrupt";
    case InputProblem::MissingChannel: return "missing_channel";
    case InputProblem::BadRate: return "bad_rate";
    case InputProblem::NonFinite: return "nonfinite";
    case InputProblem::StateMask: return "state_mask";
  }
  return "unknown";
}

std::string frame_path(const config::FrameSource& source, std::uint64_t gps) {
  return source.directory + "/" + source.observatory + "-" + source.frame_type + "-" +
         std::to_string(gps) + "-1.gwf";
}

namespace {

// Stored values `v` of channel `c` turned into physical values in place (physical_values).
void calibrate(const gwf::Channel& c, std::vector<double>& v) {
  if (c.kind == gwf::ChannelKind::Adc && (c.adc.slope != 0.0f || c.adc.bias != 0.0f)) {
    const double slope = static_cast<double>(c.adc.slope);
    const double bias = static_cast<double>(c.adc.bias);
    for (double& x : v) x = x * slope + bias;
  }
}

}  // namespace

std::vector<double> physical_values(const gwf::Channel& c) {
  std::vector<double> v = c.data.to_double();
  calibrate(c, v);
  return v;
}

namespace {

// Why a second is unusable, carried out of the reading code to the result.
struct Problem {
  InputProblem kind;
  std::string detail;
};

// One opened frame file holding second `gps`; throws Problem.
gwf::FrameFile open_second(const std::string& path, std::uint64_t gps, bool verify) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Problem{InputProblem::MissingFile, path + ": no such file"};
  gwf::ReadOptions options;
  options.verify_checksums = verify;
  try {
    gwf::FrameFile f = gwf::FrameFile::open(path, options);
    if (f.frame_count() != 1) {
      throw Problem{InputProblem::Corrupt, path + ": holds " + std::to_string(f.frame_count()) +
                                               " frames, expected one 1-s frame"};
    }
    const gwf::Frame h = f.read_header(0);
    if (h.start.sec != gps || h.start.nsec != 0 || h.dt != 1.0) {
      throw Problem{InputProblem::Corrupt,
                    path + ": frame covers GPS " + std::to_string(h.start.seconds()) + " + " +
                        std::to_string(h.dt) + " s, expected " + std::to_string(gps) + " + 1 s"};
    }
    return f;
  } catch (const gwf::FormatError& e) {
    throw Problem{InputProblem::Corrupt, e.what()};
  } catch (const std::system_error& e) {
    throw Problem{InputProblem::MissingFile, path + ": " + e.what()};
  }
}

gwf::Channel read_channel(const gwf::FrameFile& f, const std::string& path, const std::string& name) {
  gwf::Channel c;
  try {
    c = f.read_channel(0, name);
  } catch (const gwf::ChannelNotFound&) {
    throw Problem{InputProblem::MissingChannel, path + ": channel " + name + " not found"};
  } catch (const gwf::FormatError& e) {
    throw Problem{InputProblem::Corrupt, e.what()};
  }
  const double rate = c.sample_rate;
  const std::uint64_t n = c.data.size();
  if (!(rate >= 1.0) || rate != std::floor(rate) || static_cast<double>(n) != rate) {
    throw Problem{InputProblem::BadRate, path + ": channel " + name + " has " + std::to_string(n) +
                                             " samples at " + std::to_string(rate) +
                                             " Hz, expected a whole number of Hz and 1 s of data"};
  }
  if (c.time_offset != 0.0 || (!c.data.start_x.empty() && c.data.start_x[0] != 0.0)) {
    throw Problem{InputProblem::Corrupt, path + ": channel " + name +
                                             " does not start at the frame's start time"};
  }
  return c;
}

// Index of the first NaN or Inf in `v`, or v.size() when every sample is finite.
std::size_t first_nonfinite(const std::vector<double>& v) {
  // A branch-free pass over the whole vector in integer arithmetic, which compilers vectorise; the
  // index is looked up only when something was found, which good seconds never need. A double is
  // NaN or ±Inf exactly when its exponent field is all ones (e == kExp below); adding one to the
  // exponent field then carries into the top bit, which nothing else sets.
  constexpr std::uint64_t kExp = 0x7ff0000000000000ULL;
  constexpr std::uint64_t kOne = 0x0010000000000000ULL;
  std::uint64_t any = 0;
  for (const double x : v) {
    std::uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    any |= (bits & kExp) + kOne;
  }
  if ((any >> 63) == 0) return v.size();
  std::size_t i = 0;
  while (i < v.size() && std::isfinite(v[i])) ++i;
  return i;
}

Problem nonfinite(std::size_t i, const std::string& path, const std::string& name) {
  return Problem{InputProblem::NonFinite,
                 path + ": channel " + name + " sample " + std::to_string(i) + " is not finite"};
}

void require_finite(const std::vector<double>& v, const std::string& path, const std::string& name) {
  const std::size_t i = first_nonfinite(v);
  if (i != v.size()) throw nonfinite(i, path, name);
}

// 16 slots per second; a slot passes when every state sample inside it has all mask bits set.
std::vector<std::uint8_t> state_slots(const gwf::Channel& c, std::uint32_t mask) {
  constexpr std::size_t kSlots = 16;
  std::vector<std::uint8_t> ok(kSlots, 1);
  const std::vector<double> v = c.data.to_double();
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double x = v[i];
    const bool pass = std::isfinite(x) && x >= 0 && x <= 4294967295.0 &&
                      (static_cast<std::uint32_t>(x) & mask) == mask;
    if (!pass) ok[i * kSlots / v.size()] = 0;
  }
  return ok;
}

}  // namespace

SecondInput read_second(const InputSpec& spec, std::uint64_t gps) {
  SecondInput in;
  in.gps = gps;
  in.state_ok.assign(16, 1);
  const std::string strain_path = frame_path(spec.strain_source, gps);
  const std::string witness_path = frame_path(spec.witness_source, gps);
  try {
    gwf::FrameFile strain_file = open_second(strain_path, gps, spec.verify_checksums);
    in.strain = read_channel(strain_file, strain_path, spec.strain_channel);
    for (const auto& name : spec.passthrough) {
      try {
        in.passthrough.push_back(strain_file.read_channel(0, name));
      } catch (const std::exception& e) {
        in.warnings.push_back(strain_path + ": pass-through channel " + name + ": " + e.what());
      }
    }
    // One conversion serves the finiteness check (on the stored values, as before) and the
    // physical values the pipeline cleans (SecondInput::strain_values).
    in.strain_values = in.strain->data.to_double();
    const std::size_t bad = first_nonfinite(in.strain_values);
    calibrate(*in.strain, in.strain_values);
    if (bad != in.strain_values.size()) throw nonfinite(bad, strain_path, spec.strain_channel);
    if (spec.state) {
      const gwf::Channel sv = read_channel(strain_file, strain_path, spec.state->channel);
      in.state_ok = state_slots(sv, spec.state->mask);
    }

    std::optional<gwf::FrameFile> separate;
    if (witness_path != strain_path) separate = open_second(witness_path, gps, spec.verify_checksums);
    const gwf::FrameFile& wf = separate ? *separate : strain_file;
    for (const auto& name : spec.witness_channels) {
      const gwf::Channel c = read_channel(wf, witness_path, name);
      in.witnesses.push_back(physical_values(c));
      in.witness_rates.push_back(c.sample_rate);
      require_finite(in.witnesses.back(), witness_path, name);
    }
    for (std::size_t k = 0; k < in.state_ok.size(); ++k) {
      if (!in.state_ok[k]) {
        throw Problem{InputProblem::StateMask,
                      strain_path + ": " + spec.state->channel + " fails mask " +
                          std::to_string(spec.state->mask) + " at " + std::to_string(gps) + " + " +
                          std::to_string(static_cast<double>(k) / 16.0) + " s"};
      }
    }
  } catch (const Problem& p) {
    in.problem = p.kind;
    in.detail = p.detail;
  }
  return in;
}

}  // namespace deepclean::daemon
