// Strict reader for IGWN frame files (versions 6, 7, 8; either byte order).
// Section numbers (§) refer to ../shared/docs/gwf-format.md ("the digest").
//
// Design: the whole file is held in memory. open() walks the structure headers once (jumping by
// `length`, decoding only the FrSH dictionary) to build an index of every structure, its resolved
// class and its frame; then it reads FrEndOfFile, checks the file checksums and reads the FrTOC.
// Channel data are decoded only on demand, through the TOC when there is one.
#include "io/gwf/reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "io/gwf/byte_cursor.hpp"
#include "io/gwf/cksum.hpp"
#include "io/gwf/decompress.hpp"

namespace deepclean::gwf {

using detail::Cursor;
using detail::Ptr;

namespace {

enum class Kind : std::uint8_t {
  Unknown,
  SH,
  SE,
  FrameH,
  AdcData,
  Detector,
  EndOfFile,
  EndOfFrame,
  Event,
  History,
  Msg,
  ProcData,
  RawData,
  SerData,
  SimData,
  SimEvent,
  StatData,
  Summary,
  Table,
  TOC,
  Vect,
};

struct KindName {
  const char* name;
  Kind kind;
};
// Class names as written in FrSH records (§4); the numbers are the file's choice.
constexpr KindName kKindNames[] = {
    {"FrSH", Kind::SH},           {"FrSE", Kind::SE},           {"FrameH", Kind::FrameH},
    {"FrAdcData", Kind::AdcData}, {"FrDetector", Kind::Detector}, {"FrEndOfFile", Kind::EndOfFile},
    {"FrEndOfFrame", Kind::EndOfFrame}, {"FrEvent", Kind::Event}, {"FrHistory", Kind::History},
    {"FrMsg", Kind::Msg},         {"FrProcData", Kind::ProcData}, {"FrRawData", Kind::RawData},
    {"FrSerData", Kind::SerData}, {"FrSimData", Kind::SimData}, {"FrSimEvent", Kind::SimEvent},
    {"FrStatData", Kind::StatData}, {"FrSummary", Kind::Summary}, {"FrTable", Kind::Table},
    {"FrTOC", Kind::TOC},         {"FrVect", Kind::Vect},
};

Kind kind_from_name(const std::string& n) {
  for (const auto& k : kKindNames) {
    if (n == k.name) return k.kind;
  }
  return Kind::Unknown;
}

const char* kind_str(Kind k) {
  for (const auto& e : kKindNames) {
    if (e.kind == k) return e.name;
  }
  return "unknown structure";
}

// One structure of the file, found by the header walk.
struct Rec {
  std::uint64_t off = 0;
  std::uint64_t len = 0;
  std::uint32_t instance = 0;
  std::uint16_t cls = 0;
  Kind kind = Kind::Unknown;
  std::uint8_t chk_type = 0;
};

std::uint64_t ref_key(std::uint16_t cls, std::uint32_t instance) {
  return (std::uint64_t{cls} << 32) | instance;
}

struct FrameIdx {
  std::size_t first = 0;       // record index of the FrameH
  std::size_t last = 0;        // record index of the FrEndOfFrame
  std::uint64_t begin = 0;     // first byte after the previous frame (where its dictionary may start)
  std::unordered_map<std::uint64_t, std::size_t> refs;  // (class, instance) -> record, this frame
};

struct TocEntry {
  std::string name;
  ChannelKind kind = ChannelKind::Adc;
  std::vector<std::uint64_t> pos;  // per frame; 0 = absent in that frame (§8)
};

std::string hex32(std::uint32_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

Kind owner_kind(ChannelKind k) {
  switch (k) {
    case ChannelKind::Adc: return Kind::AdcData;
    case ChannelKind::Proc: return Kind::ProcData;
    case ChannelKind::Sim: return Kind::SimData;
  }
  return Kind::Unknown;
}

bool is_channel_kind(Kind k) { return k == Kind::AdcData || k == Kind::ProcData || k == Kind::SimData; }

ChannelKind channel_kind(Kind k) {
  if (k == Kind::AdcData) return ChannelKind::Adc;
  if (k == Kind::SimData) return ChannelKind::Sim;
  return ChannelKind::Proc;
}

// Fields of an FrVect up to and including its payload location, before decoding (§5).
struct VectHead {
  std::string name;
  std::uint16_t compress = 0;
  DataType type = DataType::Float64;
  std::uint64_t n_data = 0;
  std::uint64_t n_bytes = 0;
  std::uint64_t data_off = 0;
  std::vector<std::uint64_t> nx;
  std::vector<double> dx, start_x;
  std::vector<std::string> unit_x;
  std::string unit_y;
  Ptr next;
};

// Channel owner fields before its vectors are resolved.
struct OwnerHead {
  Channel ch;
  Ptr data;
};

}  // namespace

struct FrameFile::Impl {
  std::string name;
  // The file's bytes: a vector handed to from_bytes, or an uninitialised buffer filled by open()
  // (no zero-fill pass over a multi-megabyte witness file before read() overwrites it).
  std::vector<std::byte> bytes;
  std::unique_ptr<std::byte[]> raw;
  const std::byte* base = nullptr;
  std::uint64_t length = 0;
  ReadOptions opt;
  FileInfo info;
  bool big = false;
  int version = 0;
  std::vector<Rec> recs;
  std::vector<FrameIdx> frames;
  std::size_t toc_rec = std::numeric_limits<std::size_t>::max();
  std::size_t eof_rec = 0;
  std::uint32_t eof_nframes = 0;
  std::uint64_t eof_nbytes = 0;
  std::uint32_t eof_chksum = 0;       // v8: FrEndOfFile's own structure chkSum
  bool file_crc_checked = false;      // the whole-file CRC was verified at open and matched
  bool have_toc = false;
  std::vector<TocEntry> toc;          // adc, then proc, then sim entries
  std::unordered_map<std::string, std::vector<std::size_t>> toc_by_name;
  bool toc_indexes[3] = {false, false, false};  // adc, proc, sim: false when the count was 0xFFFFFFFF

  const std::byte* data() const { return base; }
  std::uint64_t size() const { return length; }
  void parse_all() {
    parse_header();
    scan();
    parse_end_of_file();
    check_file_checksums();
    parse_toc();
  }
  bool v8() const { return version >= 8; }

  [[noreturn]] void fail(std::uint64_t off, const std::string& structure, const std::string& reason) const {
    throw FormatError(name, off, structure, reason);
  }

  std::string rec_name(const Rec& r) const {
    return std::string(kind_str(r.kind)) + (r.kind == Kind::Unknown ? " (class " + std::to_string(r.cls) + ")" : "") +
           " #" + std::to_string(r.instance);
  }

  // Cursor over a structure's body: after the 14-byte header, before the v8 trailing chkSum (§3).
  Cursor body(const Rec& r) const {
    const std::uint64_t end = r.off + r.len - (v8() ? 4 : 0);
    return Cursor(data(), r.off + 14, end, big, name, rec_name(r));
  }

  void expect_end(const Cursor& c) const {
    if (c.remaining() != 0) {
      c.fail(std::to_string(c.remaining()) + " bytes left over after the last field (length disagrees with the " +
             (v8() ? std::string("v8") : "v" + std::to_string(version)) + " layout)");
    }
  }

  // Where a v8 structure's chkSum sits: last 4 bytes, except FrEndOfFile whose chkSum is followed by
  // chkSumFile (§5, §7).
  std::uint64_t crc_pos(const Rec& r) const { return r.off + r.len - (r.kind == Kind::EndOfFile ? 8 : 4); }
  std::uint32_t stored_crc(const Rec& r) const { return detail::load<std::uint32_t>(data() + crc_pos(r), big); }
  std::uint32_t computed_crc(const Rec& r) const { return posix_cksum(data() + r.off, crc_pos(r) - r.off); }
  // v8 per-structure checksum (§7). Skipped when the whole-file CRC already matched at open: that
  // CRC covers every byte of every structure, re-checking each one on every read adds nothing.
  void check_crc(const Rec& r, bool crc) const {
    if (!crc || !v8() || file_crc_checked || r.chk_type != 1) return;
    const std::uint32_t s = stored_crc(r), c = computed_crc(r);
    if (s != c) fail(crc_pos(r), rec_name(r), "structure checksum mismatch: stored " + hex32(s) + ", computed " + hex32(c));
  }

  // ---- open --------------------------------------------------------------------------------
  void parse_header();
  void scan();
  void parse_end_of_file();
  void check_file_checksums();
  void parse_toc();
  std::vector<std::string> file_checksum_problems(bool whole_file = true) const;
  void check_frame_crc(std::size_t i, bool crc) const;
  std::string frame_checksum_problem(std::size_t i) const;

  // ---- lookups -----------------------------------------------------------------------------
  const FrameIdx& frame_at(std::size_t i) const {
    if (i >= frames.size()) {
      throw std::out_of_range(name + ": frame " + std::to_string(i) + " requested, file has " +
                              std::to_string(frames.size()));
    }
    return frames[i];
  }
  // Record at absolute offset `pos`, which must be a structure start inside frame `fi` of kind `k`.
  std::size_t rec_at(std::uint64_t pos, const FrameIdx& fi, Kind k, const std::string& what) const {
    const auto it = std::lower_bound(recs.begin(), recs.end(), pos, [](const Rec& r, std::uint64_t p) { return r.off < p; });
    const std::size_t idx = static_cast<std::size_t>(it - recs.begin());
    const Rec& toc_r = recs[toc_rec];
    if (it == recs.end() || it->off != pos) {
      fail(toc_r.off, "FrTOC", what + ": position " + std::to_string(pos) + " is not the start of a structure");
    }
    if (idx < fi.first || idx > fi.last) {
      fail(toc_r.off, "FrTOC", what + ": position " + std::to_string(pos) + " lies outside its frame");
    }
    if (it->kind != k) {
      fail(toc_r.off, "FrTOC", what + ": position " + std::to_string(pos) + " holds " + kind_str(it->kind) + ", expected " + kind_str(k));
    }
    return idx;
  }
  std::size_t resolve(const FrameIdx& fi, Ptr p, Kind expected, const Rec& from, const char* field) const {
    const auto it = fi.refs.find(ref_key(p.cls, p.instance));
    if (it == fi.refs.end()) {
      fail(from.off, rec_name(from), std::string(field) + " points at class " + std::to_string(p.cls) + " instance " +
                                         std::to_string(p.instance) + ", which is not in this frame");
    }
    if (recs[it->second].kind != expected) {
      fail(from.off, rec_name(from), std::string(field) + " points at a " + kind_str(recs[it->second].kind) + ", expected " +
                                         kind_str(expected));
    }
    return it->second;
  }

  // ---- decoding ----------------------------------------------------------------------------
  Frame decode_frame_h(const Rec& r, bool crc) const;
  Detector decode_detector(const Rec& r, bool crc) const;
  History decode_history(const Rec& r, bool crc) const;
  OwnerHead decode_owner(const Rec& r, bool crc) const;
  VectHead decode_vect_head(const Rec& r, bool crc) const;
  Vect decode_vect(const Rec& r, bool crc) const;
  Channel decode_channel(const FrameIdx& fi, std::size_t idx, bool crc) const;
  Frame read_header(std::size_t i, bool crc) const;
  Frame read_frame(std::size_t i, bool crc) const;
  std::string owner_name(const Rec& r) const;
  std::vector<std::size_t> find_channel_recs(std::size_t i, const std::string& channel) const;
};

// ---- file header (§2) ----------------------------------------------------------------------
void FrameFile::Impl::parse_header() {
  const std::string st = "file header";
  if (size() < 40) fail(0, st, "file is " + std::to_string(size()) + " bytes, shorter than the 40-byte header");
  const std::byte* h = data();
  if (std::memcmp(h, "IGWD\0", 5) != 0) fail(0, st, "not a frame file (originator is not \"IGWD\\0\")");
  version = std::to_integer<int>(h[5]);
  if (version < 6 || version > 8) fail(5, st, "unsupported frame format version " + std::to_string(version) + " (6, 7, 8 are read)");
  const int sizes[5] = {2, 4, 8, 4, 8};
  for (int k = 0; k < 5; ++k) {
    if (std::to_integer<int>(h[7 + k]) != sizes[k]) {
      fail(static_cast<std::uint64_t>(7 + k), st, "primitive size " + std::to_string(std::to_integer<int>(h[7 + k])) +
                                                     " where " + std::to_string(sizes[k]) + " is required");
    }
  }
  const auto b12 = std::to_integer<unsigned>(h[12]), b13 = std::to_integer<unsigned>(h[13]);
  if (b12 == 0x12 && b13 == 0x34) {
    big = true;
  } else if (b12 == 0x34 && b13 == 0x12) {
    big = false;
  } else {
    fail(12, st, "byte-order mark is neither 0x1234 nor 0x3412");
  }
  if (detail::load<std::uint32_t>(h + 14, big) != 0x12345678u) fail(14, st, "INT_4 test value is not 0x12345678");
  if (detail::load<std::uint64_t>(h + 18, big) != 0x0123456789ABCDEFull) fail(18, st, "INT_8 test value is not 0x0123456789ABCDEF");
  if (detail::load<std::uint32_t>(h + 26, big) != 0x40490FDBu) fail(26, st, "REAL_4 test value is not pi");
  if (detail::load<std::uint64_t>(h + 30, big) != 0x400921FB54442D18ull) fail(30, st, "REAL_8 test value is not pi");
  info.version = version;
  info.minor_version = std::to_integer<int>(h[6]);
  info.big_endian = big;
  info.file_size = size();
  if (v8()) {
    info.library = std::to_integer<int>(h[38]);
    info.checksum_scheme = std::to_integer<int>(h[39]);
    if (info.checksum_scheme > 1) fail(39, st, "unknown file checksum scheme " + std::to_string(info.checksum_scheme));
  }
}

// ---- structure walk (§3, §4) ---------------------------------------------------------------
void FrameFile::Impl::scan() {
  std::unordered_map<std::uint16_t, Kind> classes;
  std::uint64_t pos = 40;
  bool in_frame = false;
  bool saw_eof = false;
  std::uint64_t frame_begin = 40;
  const std::uint64_t min_len = v8() ? 18 : 14;
  while (pos < size()) {
    if (size() - pos < 14) fail(pos, "structure header", "file ends inside a structure header (truncated file)");
    Rec r;
    r.off = pos;
    r.len = detail::load<std::uint64_t>(data() + pos, big);
    if (v8()) {
      r.chk_type = std::to_integer<std::uint8_t>(data()[pos + 8]);
      r.cls = std::to_integer<std::uint8_t>(data()[pos + 9]);
    } else {
      r.cls = detail::load<std::uint16_t>(data() + pos + 8, big);
    }
    r.instance = detail::load<std::uint32_t>(data() + pos + 10, big);
    if (r.cls == 1) {
      r.kind = Kind::SH;
    } else if (r.cls == 2) {
      r.kind = Kind::SE;
    } else {
      const auto it = classes.find(r.cls);
      r.kind = it == classes.end() ? Kind::Unknown : it->second;
    }
    const std::string sname = rec_name(r);
    if (r.len < min_len) fail(pos, sname, "length " + std::to_string(r.len) + " is shorter than a structure header");
    if (r.len > size() - pos) {
      fail(pos, sname, "length " + std::to_string(r.len) + " runs past the end of the file (" +
                           std::to_string(size() - pos) + " bytes left; truncated file?)");
    }
    if (v8() && r.chk_type > 1) fail(pos + 8, sname, "unknown chkType " + std::to_string(r.chk_type));
    if (r.kind == Kind::SH) {
      // The dictionary steers every later decode; without a whole-file CRC check its structures
      // are checked here (they are a few dozen bytes each).
      if (opt.verify_checksums && !opt.verify_file_checksum) check_crc(r, true);
      Cursor c = body(r);
      const std::string cname = c.str("FrSH name");
      const std::uint16_t num = c.u16("FrSH class");
      (void)c.str("FrSH comment");
      expect_end(c);
      if (num == 1 || num == 2) fail(pos, sname, "FrSH redefines reserved class " + std::to_string(num));
      const Kind k = kind_from_name(cname);
      if (k == Kind::SH || k == Kind::SE) fail(pos, sname, "FrSH describes " + cname + ", which has a fixed class");
      classes[num] = k;
      info.class_numbers[cname] = num;
    }
    const std::size_t idx = recs.size();
    recs.push_back(r);
    {
      std::string key = r.kind == Kind::Unknown ? "class " + std::to_string(r.cls) : kind_str(r.kind);
      ++info.structure_counts[key];
    }
    switch (r.kind) {
      case Kind::SH:
      case Kind::SE:
      case Kind::Unknown: break;  // dictionary and unknown structures may sit anywhere; skipped by length (§3)
      case Kind::FrameH:
        if (in_frame) fail(pos, sname, "FrameH before the previous frame's FrEndOfFrame");
        in_frame = true;
        frames.emplace_back();
        frames.back().first = idx;
        frames.back().begin = frame_begin;
        break;
      case Kind::EndOfFrame:
        if (!in_frame) fail(pos, sname, "FrEndOfFrame without a FrameH");
        in_frame = false;
        frames.back().last = idx;
        frame_begin = pos + r.len;
        break;
      case Kind::TOC:
      case Kind::EndOfFile:
        if (in_frame) fail(pos, sname, "frame " + std::to_string(frames.size() - 1) + " has no FrEndOfFrame");
        if (r.kind == Kind::TOC) {
          if (toc_rec != std::numeric_limits<std::size_t>::max()) fail(pos, sname, "second FrTOC in the file");
          toc_rec = idx;
        }
        break;
      default:
        if (!in_frame) fail(pos, sname, std::string(kind_str(r.kind)) + " outside any frame");
        break;
    }
    if (in_frame || r.kind == Kind::EndOfFrame) frames.back().refs.emplace(ref_key(r.cls, r.instance), idx);
    pos += r.len;
    if (r.kind == Kind::EndOfFile) {
      saw_eof = true;
      eof_rec = idx;
      if (pos != size()) fail(pos, "FrEndOfFile", std::to_string(size() - pos) + " bytes follow FrEndOfFile");
      break;
    }
  }
  if (!saw_eof) fail(size(), "FrEndOfFile", "file ends without FrEndOfFile (truncated file?)");
}

// ---- FrEndOfFile (§5, §9) ------------------------------------------------------------------
void FrameFile::Impl::parse_end_of_file() {
  const Rec& r = recs[eof_rec];
  Cursor c = body(r);
  eof_nframes = c.u32("nFrames");
  eof_nbytes = c.u64("nBytes");
  if (v8()) {
    info.seek_toc = c.u64("seekTOC");
    info.header_checksum = c.u32("chkSumFrHeader");
    eof_chksum = c.u32("chkSum");
    // The body cursor stops before the last 4 bytes, which hold chkSumFile (§5: length 46).
    expect_end(c);
    info.file_checksum = detail::load<std::uint32_t>(data() + r.off + r.len - 4, big);
  } else {
    const std::uint32_t chk_type = c.u32("chkType");
    info.checksum_scheme = static_cast<int>(chk_type);
    info.file_checksum = c.u32("chkSum");
    info.seek_toc = c.u64("seekTOC");
    expect_end(c);
    if (chk_type > 1) fail(r.off, rec_name(r), "unknown chkType " + std::to_string(chk_type));
  }
  if (eof_nbytes != size()) {
    fail(r.off, rec_name(r), "nBytes " + std::to_string(eof_nbytes) + " != file size " + std::to_string(size()));
  }
  if (eof_nframes != frames.size()) {
    fail(r.off, rec_name(r), "nFrames " + std::to_string(eof_nframes) + " but the file holds " + std::to_string(frames.size()) + " frames");
  }
  if (info.seek_toc != 0) {
    if (info.seek_toc > size()) fail(r.off, rec_name(r), "seekTOC " + std::to_string(info.seek_toc) + " exceeds the file size");
    info.toc_offset = size() - info.seek_toc;
    if (toc_rec == std::numeric_limits<std::size_t>::max() || recs[toc_rec].off != info.toc_offset) {
      fail(r.off, rec_name(r), "seekTOC " + std::to_string(info.seek_toc) + " does not lead to the FrTOC");
    }
  }
}

// ---- file checksums (§7) -------------------------------------------------------------------
std::vector<std::string> FrameFile::Impl::file_checksum_problems(bool whole_file) const {
  std::vector<std::string> out;
  const Rec& r = recs[eof_rec];
  if (v8()) {
    if (info.checksum_scheme == 1) {
      const std::uint32_t h = posix_cksum(data(), 40);
      if (h != info.header_checksum) {
        out.push_back(name + ": byte " + std::to_string(r.off + 34) + ": FrEndOfFile: chkSumFrHeader mismatch: stored " +
                      hex32(info.header_checksum) + ", computed " + hex32(h));
      }
      const std::uint32_t f = whole_file ? posix_cksum(data(), size() - 4) : info.file_checksum;
      if (f != info.file_checksum) {
        out.push_back(name + ": byte " + std::to_string(size() - 4) + ": FrEndOfFile: chkSumFile mismatch: stored " +
                      hex32(info.file_checksum) + ", computed " + hex32(f));
      }
    }
  } else if (info.checksum_scheme == 1 && whole_file) {
    // v6/v7: cksum of the whole file with the 4 chkSum bytes taken as zero (§7).
    const std::uint64_t at = r.off + 14 + 4 + 8 + 4;
    Cksum ck;
    ck.update(data(), static_cast<std::size_t>(at));
    ck.update_zeros(4);
    ck.update(data() + at + 4, size() - at - 4);
    const std::uint32_t f = ck.finish(size());
    if (f != info.file_checksum) {
      out.push_back(name + ": byte " + std::to_string(at) + ": FrEndOfFile: file chkSum mismatch: stored " +
                    hex32(info.file_checksum) + ", computed " + hex32(f));
    }
  }
  return out;
}

// v6/v7 FrEndOfFrame {chkType, chkSum}: cksum from the FrameH's first byte to the end of the
// FrEndOfFrame with the chkSum field taken as zero (established on both frames checked of the real
// v6 file F-TEST-600000000-60.gwf; the spec text does not spell the range out). Empty when fine.
std::string FrameFile::Impl::frame_checksum_problem(std::size_t i) const {
  if (v8()) return {};
  const FrameIdx& fi = frames[i];
  const Rec& h = recs[fi.first];
  const Rec& e = recs[fi.last];
  if (e.len != 30) return {};  // not the v6 layout; expect_end reports it
  const std::uint32_t chk_type = detail::load<std::uint32_t>(data() + e.off + 22, big);
  if (chk_type == 0) return {};
  const std::uint32_t stored = detail::load<std::uint32_t>(data() + e.off + 26, big);
  if (chk_type != 1) return name + ": byte " + std::to_string(e.off + 22) + ": FrEndOfFrame: unknown chkType " + std::to_string(chk_type);
  Cksum ck;
  ck.update(data() + h.off, e.off + 26 - h.off);
  ck.update_zeros(4);
  const std::uint64_t total = e.off + e.len - h.off;
  const std::uint32_t c = ck.finish(total);
  if (c == stored) return {};
  return name + ": byte " + std::to_string(e.off + 26) + ": FrEndOfFrame: frame " + std::to_string(i) +
         " chkSum mismatch: stored " + hex32(stored) + ", computed " + hex32(c);
}

void FrameFile::Impl::check_file_checksums() {
  if (!opt.verify_checksums) return;
  // FrEndOfFile's own chkSum first (cheap), then the header and (optionally) whole-file CRCs.
  check_crc(recs[eof_rec], true);
  const auto problems = file_checksum_problems(opt.verify_file_checksum);
  if (!problems.empty()) {
    const Rec& r = recs[eof_rec];
    fail(r.off, "FrEndOfFile", problems.front().substr(problems.front().find("FrEndOfFile: ") + 13));
  }
  file_crc_checked = opt.verify_file_checksum && info.checksum_scheme == 1;
}

void FrameFile::Impl::check_frame_crc(std::size_t i, bool crc) const {
  if (!crc || file_crc_checked || v8()) return;
  const std::string p = frame_checksum_problem(i);
  if (!p.empty()) fail(recs[frames[i].last].off, "FrEndOfFrame", p.substr(p.find("FrEndOfFrame: ") + 14));
}

// ---- FrTOC (§8) ----------------------------------------------------------------------------
void FrameFile::Impl::parse_toc() {
  if (info.seek_toc == 0) return;
  const Rec& r = recs[toc_rec];
  check_crc(r, opt.verify_checksums);
  Cursor c = body(r);
  constexpr std::uint32_t kNotIndexed = 0xFFFFFFFFu;
  auto cnt = [&](const char* what, bool* indexed = nullptr) -> std::uint64_t {
    const std::uint32_t n = c.u32(what);
    if (indexed != nullptr) *indexed = n != kNotIndexed;
    return n == kNotIndexed ? 0 : n;  // "not indexed": no arrays follow (§8)
  };
  auto skip_arr = [&](std::uint64_t n, std::uint64_t w, const char* what) {
    c.count(n, w, what);
    c.skip(n * w, what);
  };
  auto strs = [&](std::uint64_t n, const char* what) {
    c.count(n, 2, what);
    std::vector<std::string> v;
    v.reserve(n);
    for (std::uint64_t k = 0; k < n; ++k) v.push_back(c.str(what));
    return v;
  };
  auto u64s = [&](std::uint64_t n, const char* what) {
    c.count(n, 8, what);
    std::vector<std::uint64_t> v(n);
    for (auto& x : v) x = c.u64(what);
    return v;
  };
  info.toc_uleap_s = c.i16("ULeapS");
  const std::uint32_t n_frame_raw = c.u32("nFrame");
  if (n_frame_raw != frames.size()) {
    c.fail("nFrame " + std::to_string(n_frame_raw) + " but the file holds " + std::to_string(frames.size()) + " frames");
  }
  const std::uint64_t nf = n_frame_raw;
  skip_arr(nf, 4, "dataQuality");
  skip_arr(nf, 4, "GTimeS");
  skip_arr(nf, 4, "GTimeN");
  skip_arr(nf, 8, "dt");
  skip_arr(nf, 4, "runs");
  skip_arr(nf, 4, "frame");
  info.toc_frame_positions = u64s(nf, "positionH");
  skip_arr(nf, 8, "nFirstADC");
  skip_arr(nf, 8, "nFirstSer");
  skip_arr(nf, 8, "nFirstTable");
  skip_arr(nf, 8, "nFirstMsg");
  const std::uint64_t n_sh = cnt("nSH");
  skip_arr(n_sh, 2, "SHid");
  (void)strs(n_sh, "SHname");
  const std::uint64_t n_det = cnt("nDetector");
  (void)strs(n_det, "nameDetector");
  skip_arr(n_det, 8, "positionDetector");
  const std::uint64_t n_stat_type = cnt("nStatType");
  if (v8()) {
    (void)strs(n_stat_type, "nameStat");
    (void)strs(n_stat_type, "detector");
    skip_arr(n_stat_type, 4, "nStatInstance");
    const std::uint64_t n_total = cnt("nTotalStat");
    skip_arr(n_total, 4, "tStart");
    skip_arr(n_total, 4, "tEnd");
    skip_arr(n_total, 4, "version");
    skip_arr(n_total, 8, "positionStat");
  } else {
    // v6: static data grouped per type (§8).
    c.count(n_stat_type, 8, "nStatType");
    for (std::uint64_t k = 0; k < n_stat_type; ++k) {
      (void)c.str("nameStat");
      (void)c.str("detector");
      const std::uint64_t n = c.u32("nStatInstance");
      skip_arr(n, 4, "tStart");
      skip_arr(n, 4, "tEnd");
      skip_arr(n, 4, "version");
      skip_arr(n, 8, "positionStat");
    }
  }
  auto positions = [&](std::uint64_t n, const char* what) {
    c.count(n, 8, what);
    if (nf != 0 && n > std::numeric_limits<std::uint64_t>::max() / nf) c.fail(std::string(what) + ": size overflows");
    return u64s(n * nf, what);
  };
  auto add_entries = [&](ChannelKind kind, const std::vector<std::string>& names, const std::vector<std::uint64_t>& pos) {
    for (std::size_t k = 0; k < names.size(); ++k) {
      TocEntry e;
      e.name = names[k];
      e.kind = kind;
      e.pos.assign(pos.begin() + static_cast<std::ptrdiff_t>(k * nf), pos.begin() + static_cast<std::ptrdiff_t>((k + 1) * nf));
      toc.push_back(std::move(e));
    }
  };
  const std::uint64_t n_adc = cnt("nADC", &toc_indexes[0]);
  {
    const auto names = strs(n_adc, "name");
    skip_arr(n_adc, 4, "channelID");
    skip_arr(n_adc, 4, "groupID");
    add_entries(ChannelKind::Adc, names, positions(n_adc, "positionADC"));
  }
  const std::uint64_t n_proc = cnt("nProc", &toc_indexes[1]);
  {
    const auto names = strs(n_proc, "nameProc");
    add_entries(ChannelKind::Proc, names, positions(n_proc, "positionProc"));
  }
  const std::uint64_t n_sim = cnt("nSim", &toc_indexes[2]);
  {
    const auto names = strs(n_sim, "nameSim");
    add_entries(ChannelKind::Sim, names, positions(n_sim, "positionSim"));
  }
  const std::uint64_t n_ser = cnt("nSer");
  (void)strs(n_ser, "nameSer");
  (void)positions(n_ser, "positionSer");
  const std::uint64_t n_sum = cnt("nSummary");
  (void)strs(n_sum, "nameSum");
  (void)positions(n_sum, "positionSum");
  for (int pass = 0; pass < 2; ++pass) {
    const char* const what = pass == 0 ? "nEventType" : "nSimEventType";
    const std::uint64_t n_type = cnt(what);
    (void)strs(n_type, "event name");
    c.count(n_type, 4, "nEvent");
    std::uint64_t sum = 0;
    for (std::uint64_t k = 0; k < n_type; ++k) sum += c.u32("nEvent");
    // v8 repeats the total (nTotalEvent / nTotalSEvent); v6 has only the per-type counts (§8).
    const std::uint64_t total = v8() ? cnt("nTotalEvent") : sum;
    skip_arr(total, 4, "GTimeS event");
    skip_arr(total, 4, "GTimeN event");
    skip_arr(total, 4, "amplitude event");
    skip_arr(total, 8, "position event");
  }
  expect_end(c);
  // positionH: FrameL points at the frame's first byte (its dictionary), frameCPP at the FrameH (§8).
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const std::uint64_t p = info.toc_frame_positions[i];
    if (p < frames[i].begin || p > recs[frames[i].first].off) {
      fail(r.off, "FrTOC", "positionH[" + std::to_string(i) + "] = " + std::to_string(p) + " is not at frame " + std::to_string(i));
    }
  }
  for (std::size_t k = 0; k < toc.size(); ++k) toc_by_name[toc[k].name].push_back(k);
  have_toc = true;
}

// ---- structure decoders (§5) ---------------------------------------------------------------
Frame FrameFile::Impl::decode_frame_h(const Rec& r, bool crc) const {
  check_crc(r, crc);
  Cursor c = body(r);
  Frame f;
  f.name = c.str("name");
  f.run = c.i32("run");
  f.frame_number = c.u32("frame");
  f.data_quality = c.u32("dataQuality");
  f.start.sec = c.u32("GTimeS");
  f.start.nsec = c.u32("GTimeN");
  f.uleap_s = c.u16("ULeapS");
  f.dt = c.f64("dt");
  for (const char* p : {"type", "user", "detectSim", "detectProc", "history", "rawData", "procData", "simData",
                        "event", "simEvent", "summaryData", "auxData", "auxTable"}) {
    (void)c.ptr(p);
  }
  expect_end(c);
  return f;
}

Detector FrameFile::Impl::decode_detector(const Rec& r, bool crc) const {
  check_crc(r, crc);
  Cursor c = body(r);
  Detector d;
  d.name = c.str("name");
  const std::byte* pre = c.bytes(2, "prefix");
  for (int k = 0; k < 2; ++k) {
    const char ch = static_cast<char>(pre[k]);
    if (ch != 0) d.prefix.push_back(ch);
  }
  d.longitude = c.f64("longitude");
  d.latitude = c.f64("latitude");
  d.elevation = c.f32("elevation");
  d.arm_x_azimuth = c.f32("armXazimuth");
  d.arm_y_azimuth = c.f32("armYazimuth");
  d.arm_x_altitude = c.f32("armXaltitude");
  d.arm_y_altitude = c.f32("armYaltitude");
  d.arm_x_midpoint = c.f32("armXmidpoint");
  d.arm_y_midpoint = c.f32("armYmidpoint");
  d.local_time = c.i32("localTime");
  (void)c.ptr("aux");
  (void)c.ptr("table");
  (void)c.ptr("next");
  expect_end(c);
  return d;
}

History FrameFile::Impl::decode_history(const Rec& r, bool crc) const {
  check_crc(r, crc);
  Cursor c = body(r);
  History h;
  h.name = c.str("name");
  h.time = c.u32("time");
  h.comment = c.str("comment");
  (void)c.ptr("next");
  expect_end(c);
  return h;
}

std::string FrameFile::Impl::owner_name(const Rec& r) const {
  Cursor c = body(r);
  return c.str("name");
}

OwnerHead FrameFile::Impl::decode_owner(const Rec& r, bool crc) const {
  check_crc(r, crc);
  Cursor c = body(r);
  OwnerHead o;
  Channel& ch = o.ch;
  ch.name = c.str("name");
  ch.comment = c.str("comment");
  c.set_structure(rec_name(r) + " '" + ch.name + "'");
  if (r.kind == Kind::AdcData) {
    ch.kind = ChannelKind::Adc;
    ch.adc.channel_group = c.u32("channelGroup");
    ch.adc.channel_number = c.u32("channelNumber");
    ch.adc.n_bits = c.u32("nBits");
    ch.adc.bias = c.f32("bias");
    ch.adc.slope = c.f32("slope");
    ch.adc.units = c.str("units");
    ch.sample_rate = c.f64("sampleRate");
    ch.time_offset = c.f64("timeOffset");
    ch.f_shift = c.f64("fShift");
    ch.phase = c.f32("phase");
    ch.adc.data_valid = c.u16("dataValid");
    o.data = c.ptr("data");
    (void)c.ptr("aux");
    (void)c.ptr("next");
  } else if (r.kind == Kind::ProcData) {
    ch.kind = ChannelKind::Proc;
    ch.proc.type = c.u16("type");
    ch.proc.sub_type = c.u16("subType");
    ch.time_offset = c.f64("timeOffset");
    ch.proc.t_range = c.f64("tRange");
    ch.f_shift = c.f64("fShift");
    ch.phase = c.f32("phase");
    ch.proc.f_range = c.f64("fRange");
    ch.proc.bw = c.f64("BW");
    const std::uint16_t n_aux = c.u16("nAuxParam");
    c.count(n_aux, 8 + 2, "nAuxParam");
    ch.proc.aux_param.resize(n_aux);
    for (auto& v : ch.proc.aux_param) v = c.f64("auxParam");
    ch.proc.aux_param_names.resize(n_aux);
    for (auto& v : ch.proc.aux_param_names) v = c.str("auxParamNames");
    o.data = c.ptr("data");
    (void)c.ptr("aux");
    (void)c.ptr("table");
    (void)c.ptr("history");
    (void)c.ptr("next");
  } else {
    ch.kind = ChannelKind::Sim;
    // v6 stores FrSimData.sampleRate as REAL_4 (§9); v7 and v8 as REAL_8.
    ch.sample_rate = version == 6 ? static_cast<double>(c.f32("sampleRate")) : c.f64("sampleRate");
    ch.time_offset = c.f64("timeOffset");
    ch.f_shift = c.f64("fShift");
    ch.phase = c.f32("phase");
    o.data = c.ptr("data");
    (void)c.ptr("input");
    (void)c.ptr("table");
    (void)c.ptr("next");
  }
  expect_end(c);
  return o;
}

VectHead FrameFile::Impl::decode_vect_head(const Rec& r, bool crc) const {
  check_crc(r, crc);
  Cursor c = body(r);
  VectHead v;
  v.name = c.str("name");
  c.set_structure(rec_name(r) + " '" + v.name + "'");
  v.compress = c.u16("compress");
  const std::uint64_t type_at = c.pos();
  const std::uint16_t type = c.u16("type");
  if (type > 12) c.fail_at(type_at, "unknown data type " + std::to_string(type));
  v.type = static_cast<DataType>(type);
  v.n_data = c.u64("nData");
  v.n_bytes = c.u64("nBytes");
  v.data_off = c.pos();
  c.skip(v.n_bytes, "data (nBytes)");
  const std::uint32_t n_dim = c.u32("nDim");
  // nx, dx, startX take 24 bytes per dimension and each unitX string at least 2.
  c.count(n_dim, 26, "nDim");
  v.nx.resize(n_dim);
  for (auto& x : v.nx) x = c.u64("nx");
  v.dx.resize(n_dim);
  for (auto& x : v.dx) x = c.f64("dx");
  v.start_x.resize(n_dim);
  for (auto& x : v.start_x) x = c.f64("startX");
  v.unit_x.resize(n_dim);
  for (auto& x : v.unit_x) x = c.str("unitX");
  v.unit_y = c.str("unitY");
  v.next = c.ptr("next");
  expect_end(c);
  if (n_dim != 0) {
    std::uint64_t prod = 1;
    for (const auto x : v.nx) {
      if (x != 0 && prod > std::numeric_limits<std::uint64_t>::max() / x) c.fail_at(v.data_off, "product of nx overflows");
      prod *= x;
    }
    if (prod != v.n_data) {
      c.fail_at(v.data_off, "nData " + std::to_string(v.n_data) + " != product of nx " + std::to_string(prod));
    }
  }
  return v;
}

Vect FrameFile::Impl::decode_vect(const Rec& r, bool crc) const {
  VectHead h = decode_vect_head(r, crc);
  Vect v;
  v.name = std::move(h.name);
  v.type = h.type;
  v.compress = h.compress;
  v.nx = std::move(h.nx);
  v.dx = std::move(h.dx);
  v.start_x = std::move(h.start_x);
  v.unit_x = std::move(h.unit_x);
  v.unit_y = std::move(h.unit_y);
  const std::string sname = rec_name(r) + " '" + v.name + "'";
  if (h.type == DataType::String) {
    // STRING vectors: nData STRINGs back to back, never compressed (§6).
    if ((h.compress & 0xFFu) != 0) fail(h.data_off, sname, "compressed STRING vector (compress " + std::to_string(h.compress) + ")");
    Cursor c(data(), h.data_off, h.data_off + h.n_bytes, big, name, sname);
    c.count(h.n_data, 2, "nData");
    v.strings.reserve(h.n_data);
    for (std::uint64_t k = 0; k < h.n_data; ++k) v.strings.push_back(c.str("string element"));
    if (c.remaining() != 0) c.fail("nBytes holds " + std::to_string(c.remaining()) + " bytes past the last string");
    return v;
  }
  const std::size_t ws = word_size(h.type);
  if (h.n_data > opt.max_vect_bytes / ws) {
    fail(h.data_off, sname, "nData " + std::to_string(h.n_data) + " x wordsize " + std::to_string(ws) +
                                " exceeds the reader's limit of " + std::to_string(opt.max_vect_bytes) + " bytes per FrVect");
  }
  try {
    detail::decode_payload(h.compress, h.type, h.n_data, data() + h.data_off, h.n_bytes, big, v.data);
  } catch (const detail::PayloadError& e) {
    fail(h.data_off, sname, e.what());
  } catch (const std::bad_alloc&) {
    fail(h.data_off, sname, "cannot allocate " + std::to_string(h.n_data) + " x " + std::to_string(ws) + " bytes");
  }
  return v;
}

Channel FrameFile::Impl::decode_channel(const FrameIdx& fi, std::size_t idx, bool crc) const {
  const Rec& r = recs[idx];
  OwnerHead o = decode_owner(r, crc);
  Channel ch = std::move(o.ch);
  // Follow data -> next -> next ... ; a repeated record means a cycle (strictness: never hang).
  std::vector<Vect> vects;
  std::unordered_set<std::size_t> seen;
  Ptr p = o.data;
  std::size_t from = idx;
  const char* field = "data";
  while (!p.null()) {
    const std::size_t vi = resolve(fi, p, Kind::Vect, recs[from], field);
    if (!seen.insert(vi).second) fail(recs[from].off, rec_name(recs[from]), std::string(field) + " pointer closes a cycle of FrVects");
    const VectHead h = decode_vect_head(recs[vi], crc);
    vects.push_back(decode_vect(recs[vi], false));
    p = h.next;
    from = vi;
    field = "next";
  }
  if (vects.empty()) fail(r.off, rec_name(r) + " '" + ch.name + "'", "channel has no data FrVect");
  // Several FrVects: the one named like the channel, else the unnamed one (§5, gwpy PR #478).
  std::size_t pick = 0;
  bool found = false;
  for (std::size_t k = 0; k < vects.size() && !found; ++k) {
    if (vects[k].name == ch.name) {
      pick = k;
      found = true;
    }
  }
  for (std::size_t k = 0; k < vects.size() && !found; ++k) {
    if (vects[k].name.empty()) {
      pick = k;
      found = true;
    }
  }
  ch.data = std::move(vects[pick]);
  for (std::size_t k = 0; k < vects.size(); ++k) {
    if (k != pick) ch.extra.push_back(std::move(vects[k]));
  }
  // FrProcData has no sampleRate: 1/dx[0] (§5).
  if (ch.kind == ChannelKind::Proc) {
    ch.sample_rate = (!ch.data.dx.empty() && ch.data.dx[0] > 0) ? 1.0 / ch.data.dx[0] : 0.0;
  }
  return ch;
}

Frame FrameFile::Impl::read_header(std::size_t i, bool crc) const {
  const FrameIdx& fi = frame_at(i);
  check_frame_crc(i, crc);
  Frame f = decode_frame_h(recs[fi.first], crc);
  for (std::size_t k = fi.first + 1; k < fi.last; ++k) {
    if (recs[k].kind == Kind::Detector) f.detectors.push_back(decode_detector(recs[k], crc));
    if (recs[k].kind == Kind::History) f.history.push_back(decode_history(recs[k], crc));
  }
  return f;
}

std::vector<std::size_t> FrameFile::Impl::find_channel_recs(std::size_t i, const std::string& channel) const {
  const FrameIdx& fi = frame_at(i);
  std::vector<std::size_t> out;
  bool scan_needed = !have_toc;
  if (have_toc) {
    const auto it = toc_by_name.find(channel);
    if (it != toc_by_name.end()) {
      for (const std::size_t k : it->second) {
        const TocEntry& e = toc[k];
        if (e.pos[i] == 0) continue;
        out.push_back(rec_at(e.pos[i], fi, owner_kind(e.kind), "'" + channel + "'"));
      }
    }
    for (bool ix : toc_indexes) scan_needed = scan_needed || !ix;
  }
  if (scan_needed && out.empty()) {
    for (std::size_t k = fi.first + 1; k < fi.last; ++k) {
      const Rec& r = recs[k];
      if (!is_channel_kind(r.kind)) continue;
      if (have_toc && toc_indexes[static_cast<std::size_t>(channel_kind(r.kind))]) continue;
      if (owner_name(r) == channel) out.push_back(k);
    }
  }
  return out;
}

// ---- FrameFile -----------------------------------------------------------------------------
FrameFile::FrameFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FrameFile::FrameFile(FrameFile&&) noexcept = default;
FrameFile& FrameFile::operator=(FrameFile&&) noexcept = default;
FrameFile::~FrameFile() = default;

FrameFile FrameFile::open(const std::string& path, const ReadOptions& options) {
  // A directory or device would "open" as a stream with a meaningless size: insist on a regular file.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw std::runtime_error(path + ": " + (ec ? ec.message() : std::string("not a regular file")));
  }
  const std::uintmax_t n = std::filesystem::file_size(path, ec);
  if (ec) throw std::runtime_error(path + ": " + ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open for reading");
  auto impl = std::make_unique<Impl>();
  impl->name = path;
  impl->opt = options;
  impl->raw.reset(new std::byte[n == 0 ? 1 : n]);  // default-initialised: read() fills it
  impl->base = impl->raw.get();
  impl->length = n;
  if (n > 0 && !in.read(reinterpret_cast<char*>(impl->raw.get()), static_cast<std::streamsize>(n))) {
    throw std::runtime_error(path + ": read error (file shrank while being read?)");
  }
  impl->parse_all();
  return FrameFile(std::move(impl));
}

FrameFile FrameFile::from_bytes(std::vector<std::byte> bytes, std::string name, const ReadOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->name = std::move(name);
  impl->bytes = std::move(bytes);
  impl->base = impl->bytes.data();
  impl->length = impl->bytes.size();
  impl->opt = options;
  impl->parse_all();
  return FrameFile(std::move(impl));
}

const std::string& FrameFile::name() const { return impl_->name; }
int FrameFile::version() const { return impl_->version; }
bool FrameFile::big_endian() const { return impl_->big; }
int FrameFile::library() const { return impl_->info.library; }
std::size_t FrameFile::frame_count() const { return impl_->frames.size(); }
const FileInfo& FrameFile::info() const { return impl_->info; }

std::vector<StructureInfo> FrameFile::structures() const {
  const Impl& m = *impl_;
  std::vector<StructureInfo> out;
  out.reserve(m.recs.size());
  std::size_t fi = 0;
  for (std::size_t k = 0; k < m.recs.size(); ++k) {
    const Rec& r = m.recs[k];
    while (fi < m.frames.size() && k > m.frames[fi].last) ++fi;
    StructureInfo s;
    s.offset = r.off;
    s.length = r.len;
    s.type = r.kind == Kind::Unknown ? "class " + std::to_string(r.cls) : kind_str(r.kind);
    s.class_number = r.cls;
    s.instance = r.instance;
    if (fi < m.frames.size() && k >= m.frames[fi].first && k <= m.frames[fi].last) s.frame = static_cast<int>(fi);
    out.push_back(std::move(s));
  }
  return out;
}

Vect FrameFile::read_vect_at(std::uint64_t offset) const {
  const Impl& m = *impl_;
  const auto it = std::lower_bound(m.recs.begin(), m.recs.end(), offset, [](const Rec& r, std::uint64_t p) { return r.off < p; });
  if (it == m.recs.end() || it->off != offset || it->kind != Kind::Vect) {
    throw std::invalid_argument(m.name + ": no FrVect starts at byte " + std::to_string(offset));
  }
  if (!m.v8() && m.opt.verify_checksums && !m.file_crc_checked) {
    for (std::size_t i = 0; i < m.frames.size(); ++i) {
      if (m.recs[m.frames[i].first].off <= offset && offset < m.recs[m.frames[i].last].off) m.check_frame_crc(i, true);
    }
  }
  return m.decode_vect(*it, m.opt.verify_checksums);
}

Frame FrameFile::read_header(std::size_t i) const { return impl_->read_header(i, impl_->opt.verify_checksums); }

Frame FrameFile::Impl::read_frame(std::size_t i, bool crc) const {
  Frame f = read_header(i, crc);
  const FrameIdx& fi = frames[i];
  for (std::size_t k = fi.first + 1; k < fi.last; ++k) {
    if (is_channel_kind(recs[k].kind)) f.channels.push_back(decode_channel(fi, k, crc));
  }
  return f;
}

Frame FrameFile::read_frame(std::size_t i) const { return impl_->read_frame(i, impl_->opt.verify_checksums); }

std::vector<ChannelEntry> FrameFile::channels(std::size_t i) const {
  const Impl& m = *impl_;
  const FrameIdx& fi = m.frame_at(i);
  const bool crc = m.opt.verify_checksums;
  m.check_frame_crc(i, crc);
  std::vector<std::size_t> idx;
  std::unordered_map<std::size_t, const std::string*> toc_names;  // record -> name the TOC gives it
  if (m.have_toc) {
    for (const TocEntry& e : m.toc) {
      if (e.pos[i] == 0) continue;
      const std::size_t k = m.rec_at(e.pos[i], fi, owner_kind(e.kind), "'" + e.name + "'");
      if (toc_names.emplace(k, &e.name).second) idx.push_back(k);
    }
  }
  for (std::size_t k = fi.first + 1; k < fi.last; ++k) {
    const Rec& r = m.recs[k];
    if (!is_channel_kind(r.kind)) continue;
    if (m.have_toc && m.toc_indexes[static_cast<std::size_t>(channel_kind(r.kind))]) continue;
    idx.push_back(k);
  }
  std::sort(idx.begin(), idx.end());  // file order, with or without a TOC
  std::vector<ChannelEntry> out;
  out.reserve(idx.size());
  for (const std::size_t k : idx) {
    // Owner fields only; the data FrVect header gives a proc channel's rate, its payload stays encoded.
    OwnerHead o = m.decode_owner(m.recs[k], crc);
    const auto tn = toc_names.find(k);
    if (tn != toc_names.end() && *tn->second != o.ch.name) {
      m.fail(m.recs[m.toc_rec].off, "FrTOC", "'" + *tn->second + "' points at the structure of '" + o.ch.name + "'");
    }
    double rate = o.ch.sample_rate;
    if (o.ch.kind == ChannelKind::Proc && !o.data.null()) {
      const std::size_t vi = m.resolve(fi, o.data, Kind::Vect, m.recs[k], "data");
      const VectHead h = m.decode_vect_head(m.recs[vi], crc);
      rate = (!h.dx.empty() && h.dx[0] > 0) ? 1.0 / h.dx[0] : 0.0;
    }
    out.push_back(ChannelEntry{std::move(o.ch.name), o.ch.kind, rate});
  }
  return out;
}

Channel FrameFile::read_channel(std::size_t i, const std::string& channel) const {
  const Impl& m = *impl_;
  const auto recs = m.find_channel_recs(i, channel);
  if (recs.empty()) throw ChannelNotFound(m.name + ": frame " + std::to_string(i) + " has no channel '" + channel + "'");
  m.check_frame_crc(i, m.opt.verify_checksums);  // v6/v7 without a verified file CRC only
  Channel ch = m.decode_channel(m.frames[i], recs.front(), m.opt.verify_checksums);
  if (ch.name != channel) {
    m.fail(m.recs[recs.front()].off, m.rec_name(m.recs[recs.front()]), "FrTOC names it '" + channel + "' but the structure is '" + ch.name + "'");
  }
  return ch;
}

std::vector<std::string> FrameFile::verify() const {
  const Impl& m = *impl_;
  std::vector<std::string> out;
  auto line = [&](std::uint64_t off, const std::string& st, const std::string& why) {
    out.push_back(m.name + ": byte " + std::to_string(off) + ": " + st + ": " + why);
  };
  if (m.v8()) {
    for (const Rec& r : m.recs) {
      if (r.chk_type == 1) {
        const std::uint32_t s = m.stored_crc(r), c = m.computed_crc(r);
        if (s != c) line(m.crc_pos(r), m.rec_name(r), "structure checksum mismatch: stored " + hex32(s) + ", computed " + hex32(c));
      } else if (m.stored_crc(r) != 0) {
        line(m.crc_pos(r), m.rec_name(r), "chkType 0 but chkSum is not 0");
      }
    }
  }
  for (auto& l : m.file_checksum_problems()) out.push_back(std::move(l));
  for (std::size_t i = 0; i < m.frames.size(); ++i) {
    std::string p = m.frame_checksum_problem(i);
    if (!p.empty()) out.push_back(std::move(p));
  }
  for (std::size_t i = 0; i < m.frames.size(); ++i) {
    try {
      const Frame f = m.read_frame(i, false);  // checksums were listed above
      // FrEndOfFrame must repeat the FrameH's run and frame number (and v8 its GPS time) (§5).
      const Rec& er = m.recs[m.frames[i].last];
      Cursor c = m.body(er);
      const std::int32_t run = c.i32("run");
      const std::uint32_t frame = c.u32("frame");
      if (run != f.run || frame != f.frame_number) {
        line(er.off, m.rec_name(er), "run/frame " + std::to_string(run) + "/" + std::to_string(frame) +
                                         " differ from FrameH " + std::to_string(f.run) + "/" + std::to_string(f.frame_number));
      }
      if (m.v8()) {
        const std::uint32_t s = c.u32("GTimeS"), n = c.u32("GTimeN");
        if (s != f.start.sec || n != f.start.nsec) line(er.off, m.rec_name(er), "GPS time differs from its FrameH");
      } else {
        (void)c.u32("chkType");
        (void)c.u32("chkSum");
      }
      m.expect_end(c);
      if (f.start.nsec >= 1000000000u) line(m.recs[m.frames[i].first].off, "FrameH", "GTimeN >= 1e9");
      if (m.have_toc) {
        for (const TocEntry& e : m.toc) {
          if (e.pos[i] == 0) continue;
          const std::size_t k = m.rec_at(e.pos[i], m.frames[i], owner_kind(e.kind), "'" + e.name + "'");
          if (m.owner_name(m.recs[k]) != e.name) line(m.recs[m.toc_rec].off, "FrTOC", "'" + e.name + "' points at a structure with another name");
        }
      }
    } catch (const FormatError& e) {
      out.push_back(e.what());
    }
  }
  return out;
}

std::vector<std::string> FrameFile::verify_file(const std::string& path) {
  try {
    ReadOptions o;
    o.verify_checksums = false;
    return open(path, o).verify();
  } catch (const std::exception& e) {
    return {e.what()};
  }
}

double channel_t0(const Frame& f, const Channel& c) {
  const double start_x = c.data.start_x.empty() ? 0.0 : c.data.start_x[0];
  return f.start.seconds() + c.time_offset + start_x;
}

}  // namespace deepclean::gwf
