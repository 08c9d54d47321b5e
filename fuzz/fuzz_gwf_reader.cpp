// libFuzzer entry for the frame reader: any bytes must give a FrameFile or a FormatError, never a
// crash, hang, leak or undefined behaviour (issue 2 item 3). Each input is read three times: with
// checksums off (so mutations reach the structure decoders instead of stopping at the file CRC),
// with the whole-file checksum, and with per-structure checksums only.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "io/gwf/reader.hpp"

namespace {

void exercise(const std::vector<std::byte>& bytes, bool checksums, bool file_checksum) {
  using namespace deepclean::gwf;
  ReadOptions opt;
  opt.verify_checksums = checksums;
  opt.verify_file_checksum = file_checksum;
  try {
    const FrameFile f = FrameFile::from_bytes(bytes, "fuzz.gwf", opt);
    (void)f.info();
    for (std::size_t i = 0; i < f.frame_count(); ++i) {
      try {
        (void)f.read_header(i);
        for (const auto& e : f.channels(i)) {
          try {
            const Channel c = f.read_channel(i, e.name);
            if (c.data.size() != 0 && c.data.type != DataType::String) (void)c.data.real_at(c.data.size() - 1);
          } catch (const FormatError&) {
          }
        }
      } catch (const FormatError&) {
      }
      try {
        const Frame fr = f.read_frame(i);
        for (const auto& c : fr.channels) (void)channel_t0(fr, c);
      } catch (const FormatError&) {
      }
    }
    for (const auto& s : f.structures()) {
      if (s.type != "FrVect") continue;
      try {
        (void)f.read_vect_at(s.offset);
      } catch (const FormatError&) {
      }
    }
    (void)f.verify();
  } catch (const FormatError&) {
    // Expected for malformed input.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>(data[i]);
  exercise(bytes, false, false);
  exercise(bytes, true, true);
  exercise(bytes, true, false);  // per-structure checks only
  return 0;
}
