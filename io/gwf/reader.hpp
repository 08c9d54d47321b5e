// Strict reader for IGWN frame files, versions 6, 7 and 8, either byte order.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "io/gwf/frame.hpp"

namespace deepclean::gwf {

struct ReadOptions {
  bool verify_checksums = true;  // structure CRCs (v8) and the file CRC
};

struct ChannelEntry {
  std::string name;
  ChannelKind kind;
  double sample_rate = 0;  // 0 when only known after decoding (TOC listing without decoding)
};

// An opened frame file. All bytes are read into memory at open (frames are small); every length,
// count and offset is checked against the file size before use. Errors are FormatError (naming the
// file, byte offset, structure and reason); a missing channel is ChannelNotFound.
class FrameFile {
 public:
  static FrameFile open(const std::string& path, const ReadOptions& options = {});
  static FrameFile from_bytes(std::vector<std::byte> bytes, std::string name,
                              const ReadOptions& options = {});
  FrameFile(FrameFile&&) noexcept;
  FrameFile& operator=(FrameFile&&) noexcept;
  ~FrameFile();

  const std::string& name() const;
  int version() const;           // 6, 7 or 8
  bool big_endian() const;
  int library() const;           // header byte 38 (v8): 0 unknown, 1 FrameL, 2 frameCPP
  std::size_t frame_count() const;

  // FrameH, FrDetector and FrHistory of frame i; no channels.
  Frame read_header(std::size_t i) const;
  // Everything of frame i, every adc/proc/sim channel decoded.
  Frame read_frame(std::size_t i) const;
  // Channel names of frame i (from the TOC when present, without decoding data).
  std::vector<ChannelEntry> channels(std::size_t i) const;
  // One named channel of frame i through the TOC (sequential scan when there is no TOC),
  // decoding only that channel's structures.
  Channel read_channel(std::size_t i, const std::string& channel) const;

  // Every checksum and structural problem found, one line each; empty when the file is good.
  std::vector<std::string> verify() const;

 private:
  struct Impl;
  explicit FrameFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class ChannelNotFound : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// POSIX cksum (digest §7): cksum("123456789") == 930766865.
std::uint32_t posix_cksum(const std::byte* data, std::size_t n);

}  // namespace deepclean::gwf
