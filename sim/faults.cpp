#include "sim/faults.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

#include "sim/random.hpp"

namespace deepclean::sim {
namespace {

constexpr std::int64_t kAbsoluteFrom = 100000000;
enum : std::uint64_t { kFaultDraw = 101, kFlipDraw = 102, kDropDraw = 103 };

struct KindName {
  const char* name;
  FaultKind kind;
};
constexpr KindName kKinds[] = {{"missing", FaultKind::Missing},     {"late", FaultKind::Late},
                               {"dup", FaultKind::Duplicate},       {"duplicate", FaultKind::Duplicate},
                               {"truncated", FaultKind::Truncated}, {"corrupt", FaultKind::Corrupt},
                               {"nan", FaultKind::NaN},             {"svdrop", FaultKind::StateDrop},
                               {"nochan", FaultKind::NoChannel}};

[[noreturn]] void bad(const std::string& rule, const std::string& why) {
  throw std::invalid_argument("--faults: '" + rule + "': " + why);
}

double parse_number(const std::string& rule, const std::string& s, const char* what) {
  double v = 0;
  if (!parse_finite(s, v)) bad(rule, std::string("bad ") + what + " '" + s + "'");
  return v;
}

}  // namespace

bool parse_finite(const std::string& s, double& value) {
  std::size_t pos = 0;
  try {
    value = std::stod(s, &pos);
  } catch (const std::exception&) {
    return false;
  }
  return !s.empty() && pos == s.size() && std::isfinite(value);
}

namespace {

int default_which(FaultKind k) {
  switch (k) {
    case FaultKind::NaN:
    case FaultKind::StateDrop:
      return 1;
    case FaultKind::NoChannel:
      return 2;
    default:
      return 3;
  }
}

void check_arg(const std::string& rule, const FaultRule& r) {
  if (r.arg.empty()) return;
  switch (r.kind) {
    case FaultKind::Late: {
      const double v = parse_number(rule, r.arg, "delay");
      if (v < 1 || v > 3600 || v != std::floor(v)) bad(rule, "late delay must be a whole number of seconds 1..3600");
      break;
    }
    case FaultKind::Truncated: {
      const double v = parse_number(rule, r.arg, "fraction");
      if (!(v >= 0 && v < 1)) bad(rule, "truncation fraction must be in [0, 1)");
      break;
    }
    case FaultKind::Corrupt: {
      const double v = parse_number(rule, r.arg, "bit count");
      if (v < 1 || v > 1e6 || v != std::floor(v)) bad(rule, "bit flips must be a whole number 1..1000000");
      break;
    }
    case FaultKind::StateDrop: {
      const double v = parse_number(rule, r.arg, "sample count");
      if (v < 1 || v > 16 || v != std::floor(v)) bad(rule, "svdrop samples must be 1..16");
      break;
    }
    case FaultKind::NoChannel:
      break;
    default:
      bad(rule, std::string(fault_name(r.kind)) + " takes no argument");
  }
}

}  // namespace

const char* fault_name(FaultKind k) {
  switch (k) {
    case FaultKind::Missing: return "missing";
    case FaultKind::Late: return "late";
    case FaultKind::Duplicate: return "dup";
    case FaultKind::Truncated: return "truncated";
    case FaultKind::Corrupt: return "corrupt";
    case FaultKind::NaN: return "nan";
    case FaultKind::StateDrop: return "svdrop";
    case FaultKind::NoChannel: return "nochan";
  }
  return "?";
}

FaultSpec FaultSpec::parse(const std::string& text) {
  FaultSpec spec;
  std::size_t p = 0;
  while (p <= text.size()) {
    std::size_t e = text.find(',', p);
    if (e == std::string::npos) e = text.size();
    std::string rule = text.substr(p, e - p);
    p = e + 1;
    if (rule.empty()) {
      if (text.empty()) break;
      bad(rule, "empty rule");
    }
    FaultRule r;
    std::string body = rule;
    // "/which" suffix (channel names contain ':' but never '/').
    const std::size_t slash = body.rfind('/');
    bool which_given = false;
    if (slash != std::string::npos) {
      const std::string w = body.substr(slash + 1);
      if (w == "strain") r.which = 1;
      else if (w == "witness") r.which = 2;
      else if (w == "both") r.which = 3;
      else bad(rule, "target must be strain, witness or both");
      which_given = true;
      body = body.substr(0, slash);
    }
    const std::size_t k_end = body.find_first_of("@:");
    if (k_end == std::string::npos) bad(rule, "expected KIND@SECOND or KIND:RATE");
    const std::string kind = body.substr(0, k_end);
    bool known = false;
    for (const auto& kn : kKinds) {
      if (kind == kn.name) {
        r.kind = kn.kind;
        known = true;
      }
    }
    if (!known) bad(rule, "unknown fault '" + kind + "' (missing, late, dup, truncated, corrupt, nan, svdrop, nochan)");
    std::string rest = body.substr(k_end + 1);
    const std::size_t colon = rest.find(':');
    const std::string when = rest.substr(0, colon);
    if (colon != std::string::npos) r.arg = rest.substr(colon + 1);
    if (colon != std::string::npos && r.arg.empty()) bad(rule, "empty argument");
    if (body[k_end] == '@') {
      r.at_second = true;
      const double v = parse_number(rule, when, "second");
      if (v < 0 || v != std::floor(v) || v > 4294967295.0) bad(rule, "second must be a whole number >= 0");
      r.second = static_cast<std::int64_t>(v);
    } else {
      r.at_second = false;
      r.rate = parse_number(rule, when, "rate");
      if (!(r.rate >= 0 && r.rate <= 1)) bad(rule, "rate must be in [0, 1]");
    }
    check_arg(rule, r);
    if (!which_given) r.which = default_which(r.kind);
    if ((r.kind == FaultKind::StateDrop && r.which != 1) || (r.kind == FaultKind::NoChannel && which_given)) {
      bad(rule, std::string(fault_name(r.kind)) + " applies to the frame holding its channel; no target allowed");
    }
    spec.rules.push_back(std::move(r));
  }
  return spec;
}

SecondFaults faults_for(const FaultSpec& spec, std::uint64_t seed, std::int64_t start, std::int64_t gps,
                        const std::string& default_channel) {
  SecondFaults out;
  for (std::size_t ri = 0; ri < spec.rules.size(); ++ri) {
    const FaultRule& r = spec.rules[ri];
    bool hit;
    if (r.at_second) {
      hit = gps == (r.second < kAbsoluteFrom ? start + r.second : r.second);
    } else {
      // The draw depends on the rule's text-independent identity (kind and position) and the second.
      const std::uint64_t rule_key = mix64(static_cast<std::uint64_t>(r.kind) * 131 + ri);
      hit = uniform01(stream_key(seed, rule_key, gps, kFaultDraw)) < r.rate;
    }
    if (!hit) continue;
    const std::string desc = std::string(fault_name(r.kind)) + (r.arg.empty() ? "" : ":" + r.arg);
    if (r.kind == FaultKind::StateDrop) {
      out.state_drop = std::max(out.state_drop, r.arg.empty() ? 4 : std::stoi(r.arg));
      out.file[0].descriptions.push_back(desc);
      continue;
    }
    if (r.kind == FaultKind::NoChannel) {
      out.no_channel.push_back(r.arg.empty() ? default_channel : r.arg);
      out.file[1].descriptions.push_back("nochan:" + out.no_channel.back());
      continue;
    }
    for (int w = 0; w < 2; ++w) {
      if (!(r.which & (1 << w))) continue;
      FileFaults& f = out.file[w];
      f.descriptions.push_back(desc);
      switch (r.kind) {
        case FaultKind::Missing: f.missing = true; break;
        case FaultKind::Late: f.late_seconds = std::max(f.late_seconds, r.arg.empty() ? 3 : std::stoi(r.arg)); break;
        case FaultKind::Duplicate: f.duplicate = true; break;
        case FaultKind::Truncated: f.truncate_to = r.arg.empty() ? 0.5 : std::stod(r.arg); break;
        case FaultKind::Corrupt: f.bit_flips = r.arg.empty() ? 8 : std::stoi(r.arg); break;
        case FaultKind::NaN: f.nan = true; break;
        default: break;
      }
    }
  }
  return out;
}

int state_drop_start(std::uint64_t seed, std::int64_t gps, int count) {
  const int span = 16 - count + 1;
  return static_cast<int>(uniform01(stream_key(seed, 0, gps, kDropDraw)) * span);
}

void apply_frame_faults(const SecondFaults& f, std::uint64_t seed, std::int64_t gps, gwf::Frame& strain,
                        gwf::Frame& witness, const std::string& strain_channel, const std::string& state_channel) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (f.file[0].nan) {
    for (auto& c : strain.channels) {
      if (c.name != strain_channel) continue;
      double* d = c.data.as_mut<double>();
      for (std::uint64_t i = 0; i < c.data.size(); ++i) d[i] = nan;
    }
  }
  if (f.file[1].nan) {
    for (auto& c : witness.channels) {
      if (c.data.type != gwf::DataType::Float32) continue;
      float* d = c.data.as_mut<float>();
      for (std::uint64_t i = 0; i < c.data.size(); ++i) d[i] = std::numeric_limits<float>::quiet_NaN();
    }
  }
  if (f.state_drop > 0) {
    for (auto& c : strain.channels) {
      if (c.name != state_channel) continue;
      auto* d = c.data.as_mut<std::uint32_t>();
      const int s = state_drop_start(seed, gps, f.state_drop);
      for (int i = s; i < s + f.state_drop; ++i) d[i] &= ~std::uint32_t{3};
    }
  }
  for (const auto& name : f.no_channel) {
    for (gwf::Frame* fr : {&strain, &witness}) {
      auto& ch = fr->channels;
      ch.erase(std::remove_if(ch.begin(), ch.end(), [&](const gwf::Channel& c) { return c.name == name; }), ch.end());
    }
  }
}

std::vector<std::uint64_t> flip_positions(std::uint64_t seed, std::int64_t gps, int which, int flips,
                                          std::uint64_t size) {
  std::vector<std::uint64_t> bits;
  if (size <= 40 || flips <= 0) return bits;
  const std::uint64_t nbits = (size - 40) * 8;
  const auto want = std::min<std::uint64_t>(static_cast<std::uint64_t>(flips), nbits);
  Gaussian g(stream_key(seed, static_cast<std::uint64_t>(which), gps, kFlipDraw));
  std::set<std::uint64_t> seen;
  while (seen.size() < want) seen.insert(40 * 8 + g.next_u64() % nbits);
  bits.assign(seen.begin(), seen.end());
  return bits;
}

void apply_byte_faults(const FileFaults& f, std::uint64_t seed, std::int64_t gps, int which,
                       std::vector<std::byte>& bytes) {
  if (f.bit_flips > 0) {
    for (std::uint64_t b : flip_positions(seed, gps, which, f.bit_flips, bytes.size())) {
      bytes[b / 8] ^= std::byte{static_cast<unsigned char>(1u << (b % 8))};
    }
  }
  if (f.truncate_to >= 0) {
    bytes.resize(static_cast<std::size_t>(std::floor(static_cast<double>(bytes.size()) * f.truncate_to)));
  }
}

}  // namespace deepclean::sim
