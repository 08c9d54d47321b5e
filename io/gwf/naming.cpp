#include "io/gwf/naming.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace deepclean::gwf {
namespace {

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_upper(c) || is_digit(c) || (c >= 'a' && c <= 'z'); }

// OBS: one or more site letters (H, L, V, K, G, "HLV" for multi-site files).
bool valid_observatory(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_upper(c)) return false;
  }
  return true;
}

// TAG: letters, digits and underscores; the dash is the field separator so it can never appear.
bool valid_tag(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_alnum(c) && c != '_') return false;
  }
  return true;
}

// Extension: dot-separated alphanumeric parts ("gwf", "xml.gz"), none empty, starting with a letter
// so that a fractional duration ("1.5.gwf") is not mistaken for duration 1 with extension "5.gwf".
bool valid_extension(std::string_view s) {
  if (s.empty() || s.back() == '.' || is_digit(s.front()) || s.front() == '.') return false;
  char prev = 0;
  for (char c : s) {
    if (c == '.' && prev == '.') return false;
    if (c != '.' && !is_alnum(c)) return false;
    prev = c;
  }
  return true;
}

std::optional<std::uint64_t> parse_uint(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

}  // namespace

std::optional<FrameFileName> parse_frame_file_name(std::string_view path) {
  const auto slash = path.find_last_of('/');
  const std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  // Exactly four dash-separated fields (how gwdatafind/lal split T050017 names, digest §10).
  std::vector<std::string_view> fields;
  std::size_t from = 0;
  while (true) {
    const auto dash = base.find('-', from);
    if (dash == std::string_view::npos) {
      fields.push_back(base.substr(from));
      break;
    }
    fields.push_back(base.substr(from, dash - from));
    from = dash + 1;
  }
  if (fields.size() != 4) return std::nullopt;
  const auto dot = fields[3].find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string_view dur_text = fields[3].substr(0, dot);
  const std::string_view ext = fields[3].substr(dot + 1);
  if (!valid_observatory(fields[0]) || !valid_tag(fields[1]) || !valid_extension(ext)) {
    return std::nullopt;
  }
  const auto gps = parse_uint(fields[2]);
  const auto duration = parse_uint(dur_text);
  if (!gps || !duration || *duration == 0) return std::nullopt;
  FrameFileName out;
  out.observatory = std::string(fields[0]);
  out.tag = std::string(fields[1]);
  out.gps = *gps;
  out.duration = *duration;
  out.extension = std::string(ext);
  return out;
}

std::string format_frame_file_name(const FrameFileName& name) {
  if (!valid_observatory(name.observatory)) {
    throw std::invalid_argument("T050017 observatory must be upper-case letters: '" + name.observatory + "'");
  }
  if (!valid_tag(name.tag)) {
    throw std::invalid_argument("T050017 tag must be letters, digits and underscores: '" + name.tag + "'");
  }
  if (name.duration == 0) throw std::invalid_argument("T050017 duration must be positive");
  if (!valid_extension(name.extension)) {
    throw std::invalid_argument("T050017 extension is not valid: '" + name.extension + "'");
  }
  return name.observatory + "-" + name.tag + "-" + std::to_string(name.gps) + "-" +
         std::to_string(name.duration) + "." + name.extension;
}

FrameFileName covering_frame_file_name(std::string observatory, std::string tag, double start,
                                       double end, std::string extension) {
  if (!(start >= 0) || !(end > start) || !std::isfinite(end)) {
    throw std::invalid_argument("covering_frame_file_name: need 0 <= start < end");
  }
  const double lo = std::floor(start);
  const double hi = std::ceil(end);
  FrameFileName out;
  out.observatory = std::move(observatory);
  out.tag = std::move(tag);
  out.gps = static_cast<std::uint64_t>(lo);
  out.duration = static_cast<std::uint64_t>(hi - lo);
  out.extension = std::move(extension);
  return out;
}

}  // namespace deepclean::gwf
