// Strict reader for IGWN frame files, versions 6, 7 and 8, either byte order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/gwf/cksum.hpp"  // posix_cksum, which the reader verifies
#include "io/gwf/frame.hpp"

namespace deepclean::gwf {

struct ReadOptions {
  bool verify_checksums = true;  // structure CRCs (v8) and the file CRC
  // With verify_checksums: check the whole-file checksum at open (v8 chkSumFile, v6/v7 FrEndOfFile
  // chkSum; one pass over the file). When false, each structure is checked as it is decoded instead
  // (v8 per-structure chkSum; v6/v7 the frame's FrEndOfFrame chkSum), which suits reading a few
  // channels of a large frame through the TOC. The v8 header checksum is checked either way.
  bool verify_file_checksum = true;
  // Largest decoded FrVect accepted, in bytes. The format's own bounds (raw: nBytes; compressed:
  // at most 1032 x nBytes, the deflate limit) still let a small forged file ask for gigabytes; real
  // channels are far below this (128 s of 16384 Hz complex128 is 32 MiB).
  std::uint64_t max_vect_bytes = std::uint64_t{1} << 30;
};

struct ChannelEntry {
  std::string name;
  ChannelKind kind;
  double sample_rate = 0;  // 0 when only known after decoding (TOC listing without decoding)
};

// File-level facts (header, dictionary, FrEndOfFile, TOC) for tools and tests.
struct FileInfo {
  int version = 0;             // header byte 5
  int minor_version = 0;       // header byte 6 (library minor version)
  bool big_endian = false;
  int library = 0;             // v8 header byte 38 (0 for v6/v7, whose byte 38 is 'A')
  int checksum_scheme = 0;     // v8 header byte 39 (1 = CRC); v6/v7: FrEndOfFile chkType
  std::uint64_t file_size = 0;
  std::uint32_t file_checksum = 0;    // as stored: v8 chkSumFile, v6/v7 FrEndOfFile chkSum
  std::uint32_t header_checksum = 0;  // as stored: v8 chkSumFrHeader (0 for v6/v7)
  std::uint64_t seek_toc = 0;         // FrEndOfFile seekTOC (0: no TOC)
  std::uint64_t toc_offset = 0;       // file offset of the FrTOC (0: none)
  std::vector<std::uint64_t> toc_frame_positions;  // FrTOC positionH per frame
  std::int32_t toc_uleap_s = 0;
  std::map<std::string, int> class_numbers;          // FrSH name -> class number used by this file
  std::map<std::string, std::size_t> structure_counts;  // "FrSH", "FrSE", "FrVect", ... (unknown: "class N")
};

// One structure of the file as the header walk found it (digest §3).
struct StructureInfo {
  std::uint64_t offset = 0;   // first byte (the `length` field)
  std::uint64_t length = 0;
  std::string type;           // "FrVect", "FrSH", ...; "class N" when no FrSH describes it
  int class_number = 0;       // as written in this file
  std::uint32_t instance = 0;
  int frame = -1;             // index of the frame it belongs to, -1 outside frames
};

// An opened frame file. All bytes are read into memory at open (frames are small); every length,
// count and offset is checked against the file size before use. Errors are FormatError (naming the
// file, byte offset, structure and reason); a missing channel is ChannelNotFound; a file that cannot
// be read from disk is std::runtime_error naming the path; a frame index past frame_count() is
// std::out_of_range. Methods are const and keep no mutable state: one FrameFile may be read from
// several threads at once.
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
  const FileInfo& info() const;
  std::vector<StructureInfo> structures() const;  // every structure, in file order
  // Decodes the FrVect that starts at `offset` (from structures()): for vectors that hang off
  // structures the model does not cover (FrTable columns, FrStatData, FrEvent data, ...).
  Vect read_vect_at(std::uint64_t offset) const;

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
  // With verify_checksums on, open() already throws on a whole-file checksum mismatch; to list the
  // problems of a damaged file open it with verify_checksums = false (or use verify_file).
  std::vector<std::string> verify() const;
  // Opens `path` without failing on checksums and returns verify()'s lines; a file that cannot be
  // opened at all gives one line (the FormatError message or the I/O error).
  static std::vector<std::string> verify_file(const std::string& path);

 private:
  struct Impl;
  explicit FrameFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class ChannelNotFound : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// GPS time of the first sample of `c` in frame `f` (digest §5):
// GTimeS + 1e-9·GTimeN + timeOffset + startX[0]; sample i is at t0 + i·dx[0] (= i / sample_rate).
double channel_t0(const Frame& f, const Channel& c);

}  // namespace deepclean::gwf
