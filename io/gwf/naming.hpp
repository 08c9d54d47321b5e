// LIGO-T050017 file names: <OBS>-<TAG>-<GPSSTART>-<DURATION>.gwf (digest §10).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace deepclean::gwf {

struct FrameFileName {
  std::string observatory;  // "H", "L", "HLV"
  std::string tag;          // "H1_llhoft" (no dashes)
  std::uint64_t gps = 0;
  std::uint64_t duration = 0;
  std::string extension = "gwf";
};

// Parses a basename (a directory part is ignored); nullopt when it does not follow the convention.
std::optional<FrameFileName> parse_frame_file_name(std::string_view path);
// Throws std::invalid_argument when a field would not parse back (empty, a dash in the tag,
// observatory not upper-case letters, zero duration, bad extension).
std::string format_frame_file_name(const FrameFileName& name);

// The name of a file holding data from `start` to `end` (GPS seconds, end > start): integer start
// rounded down and duration rounded up so the span covers the data (digest §10).
FrameFileName covering_frame_file_name(std::string observatory, std::string tag, double start,
                                       double end, std::string extension = "gwf");

}  // namespace deepclean::gwf
