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
std::string format_frame_file_name(const FrameFileName& name);

}  // namespace deepclean::gwf
