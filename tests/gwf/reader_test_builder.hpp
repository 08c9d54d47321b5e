// Test-only byte builder for small frame files (either byte order, v8 or v7 layouts), written
// field by field from the digest's tables (../shared/docs/gwf-format.md §2-§8) independently of the
// reader and the writer. It writes exactly what the spec structs say, including absurd values, so
// the reader's strictness can be tested on files whose checksums are still valid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "io/gwf/frame.hpp"
#include "io/gwf/reader.hpp"

namespace gwft {

using deepclean::gwf::ChannelKind;

constexpr bool kHostLittle = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

struct Buf {
  bool big = false;
  std::vector<std::byte> b;

  void raw(const void* p, std::size_t n) {
    const auto* s = static_cast<const std::byte*>(p);
    b.insert(b.end(), s, s + n);
  }
  template <typename U>
  void num(U v) {
    std::byte tmp[sizeof(U)];
    std::memcpy(tmp, &v, sizeof(U));
    if (big == kHostLittle) {
      for (std::size_t i = 0; i < sizeof(U) / 2; ++i) std::swap(tmp[i], tmp[sizeof(U) - 1 - i]);
    }
    raw(tmp, sizeof(U));
  }
  void u8(std::uint8_t v) { b.push_back(std::byte{v}); }
  void u16(std::uint16_t v) { num(v); }
  void u32(std::uint32_t v) { num(v); }
  void u64(std::uint64_t v) { num(v); }
  void i16(std::int16_t v) { num(v); }
  void i32(std::int32_t v) { num(v); }
  void f32(float v) { num(v); }
  void f64(double v) { num(v); }
  // STRING: INT_2U length including NUL, bytes, NUL (§1).
  void str(const std::string& s) {
    u16(static_cast<std::uint16_t>(s.size() + 1));
    raw(s.data(), s.size());
    u8(0);
  }
  void ptr(std::uint16_t cls, std::uint32_t inst) {
    u16(cls);
    u32(inst);
  }
};

struct VectSpec {
  std::string name;
  std::uint16_t compress = 0;
  std::uint16_t type = 2;
  std::uint64_t n_data = 0;
  std::vector<std::byte> payload;  // already encoded, in the byte order the test wants
  std::vector<std::uint64_t> nx;
  std::vector<double> dx, start_x;
  std::vector<std::string> unit_x;
  std::string unit_y;
  std::optional<std::uint32_t> n_dim_override;   // nDim written instead of nx.size()
  std::optional<std::uint64_t> n_bytes_override; // nBytes written instead of payload.size()
};

struct ChanSpec {
  std::string name;
  ChannelKind kind = ChannelKind::Proc;
  double rate = 0;  // adc/sim sampleRate
  double time_offset = 0;
  float slope = 0, bias = 0;
  std::string units;
  std::vector<VectSpec> vects;     // data, then chained by next
  bool cycle = false;              // last vect's next points back at the first
};

struct FrameSpec {
  std::string name = "TEST";
  std::uint32_t gps_s = 1000000000, gps_n = 0;
  std::uint16_t uleap = 37;
  double dt = 1.0;
  std::vector<ChanSpec> chans;
  bool history = true;
};

struct BuildOptions {
  int version = 8;
  bool big = false;
  bool crc = true;   // chkType 1 + real CRCs, header byte 39 = 1
  bool toc = true;
  bool toc_not_indexed_sim = false;  // write nSim = 0xFFFFFFFF (frameCPP style)
  std::map<std::string, std::uint16_t> classes = {
      {"FrameH", 3},      {"FrAdcData", 4}, {"FrDetector", 5}, {"FrEndOfFile", 6}, {"FrEndOfFrame", 7},
      {"FrHistory", 9},   {"FrProcData", 11}, {"FrSimData", 14}, {"FrTOC", 19},    {"FrVect", 20}};
};

struct Built {
  std::vector<std::byte> bytes;
  std::vector<std::uint64_t> struct_offsets;  // every structure start, in order
  std::vector<std::uint64_t> vect_offsets;    // FrVect starts
  std::uint64_t toc_offset = 0;
};

inline std::uint32_t crc_of(const std::vector<std::byte>& b, std::size_t from, std::size_t n) {
  return deepclean::gwf::posix_cksum(b.data() + from, n);
}

// Writes the file described by `frames` with the digest's field order.
inline Built build_file(const std::vector<FrameSpec>& frames, const BuildOptions& o = {}) {
  Built out;
  const bool v8 = o.version >= 8;
  Buf file{o.big, {}};
  // Header (§2).
  file.raw("IGWD\0", 5);
  file.u8(static_cast<std::uint8_t>(o.version));
  file.u8(static_cast<std::uint8_t>(o.version >= 8 ? 1 : 20));
  for (int s : {2, 4, 8, 4, 8}) file.u8(static_cast<std::uint8_t>(s));
  file.u16(0x1234);
  file.u32(0x12345678u);
  file.u64(0x0123456789ABCDEFull);
  file.f32(3.14159265358979f);
  file.f64(3.141592653589793);
  if (v8) {
    file.u8(0);
    file.u8(o.crc ? 1 : 0);
  } else {
    file.u8(static_cast<std::uint8_t>('A'));
    file.u8(static_cast<std::uint8_t>('Z'));
  }
  auto cls = [&](const std::string& n) { return o.classes.at(n); };
  auto emit = [&](std::uint16_t c, std::uint32_t inst, const Buf& body) {
    const std::uint64_t off = file.b.size();
    out.struct_offsets.push_back(off);
    const std::uint64_t len = 14 + body.b.size() + (v8 ? 4 : 0);
    file.u64(len);
    if (v8) {
      file.u8(o.crc ? 1 : 0);
      file.u8(static_cast<std::uint8_t>(c));
    } else {
      file.u16(c);
    }
    file.u32(inst);
    file.raw(body.b.data(), body.b.size());
    if (v8) file.u32(o.crc ? crc_of(file.b, off, file.b.size() - off) : 0);
    return off;
  };
  auto body = [&] { return Buf{o.big, {}}; };
  // Dictionary: one FrSH per class, up front (FrSE rows are optional for a reader that hard-codes
  // the layouts; the class numbers are what matters, §4).
  {
    std::uint32_t inst = 0;
    for (const auto& [name, num] : o.classes) {
      Buf b = body();
      b.str(name);
      b.u16(num);
      b.str("");
      emit(1, inst++, b);
    }
  }
  std::vector<std::uint64_t> pos_h;
  // Names per kind -> per-frame positions, for the TOC.
  std::map<std::string, std::vector<std::uint64_t>> toc_pos[3];
  for (std::size_t fi = 0; fi < frames.size(); ++fi) {
    const FrameSpec& f = frames[fi];
    Buf h = body();
    h.str(f.name);
    h.i32(0);
    h.u32(static_cast<std::uint32_t>(fi));
    h.u32(0);
    h.u32(f.gps_s);
    h.u32(f.gps_n);
    h.u16(f.uleap);
    h.f64(f.dt);
    for (int k = 0; k < 13; ++k) h.ptr(0, 0);
    pos_h.push_back(emit(cls("FrameH"), 0, h));
    if (f.history) {
      Buf hb = body();
      hb.str("builder");
      hb.u32(f.gps_s);
      hb.str("test file");
      hb.ptr(0, 0);
      emit(cls("FrHistory"), 0, hb);
    }
    std::uint32_t inst[3] = {0, 0, 0};
    std::uint32_t vinst = 0;
    for (const ChanSpec& c : f.chans) {
      const auto k = static_cast<std::size_t>(c.kind);
      const std::uint32_t first_vect = vinst;
      Buf b = body();
      b.str(c.name);
      b.str("");
      const std::uint16_t data_cls = c.vects.empty() ? 0 : cls("FrVect");
      if (c.kind == ChannelKind::Adc) {
        b.u32(0);
        b.u32(0);
        b.u32(16);
        b.f32(c.bias);
        b.f32(c.slope);
        b.str(c.units);
        b.f64(c.rate);
        b.f64(c.time_offset);
        b.f64(0);
        b.f32(0);
        b.u16(0);
        b.ptr(data_cls, first_vect);
        b.ptr(0, 0);
        b.ptr(0, 0);
      } else if (c.kind == ChannelKind::Proc) {
        b.u16(1);
        b.u16(0);
        b.f64(c.time_offset);
        b.f64(1.0);
        b.f64(0);
        b.f32(0);
        b.f64(0);
        b.f64(0);
        b.u16(1);
        b.f64(2.5);
        b.str("aux");
        b.ptr(data_cls, first_vect);
        for (int p = 0; p < 4; ++p) b.ptr(0, 0);
      } else {
        if (o.version == 6) {
          b.f32(static_cast<float>(c.rate));
        } else {
          b.f64(c.rate);
        }
        b.f64(c.time_offset);
        b.f64(0);
        b.f32(0);
        b.ptr(data_cls, first_vect);
        for (int p = 0; p < 3; ++p) b.ptr(0, 0);
      }
      const char* owner = c.kind == ChannelKind::Adc ? "FrAdcData" : c.kind == ChannelKind::Proc ? "FrProcData" : "FrSimData";
      const std::uint64_t off = emit(cls(owner), inst[k]++, b);
      auto& tp = toc_pos[k][c.name];
      tp.resize(frames.size(), 0);
      tp[fi] = off;
      for (std::size_t vi = 0; vi < c.vects.size(); ++vi) {
        const VectSpec& v = c.vects[vi];
        Buf vb = body();
        vb.str(v.name);
        vb.u16(v.compress);
        vb.u16(v.type);
        vb.u64(v.n_data);
        vb.u64(v.n_bytes_override ? *v.n_bytes_override : v.payload.size());
        vb.raw(v.payload.data(), v.payload.size());
        vb.u32(v.n_dim_override ? *v.n_dim_override : static_cast<std::uint32_t>(v.nx.size()));
        for (auto x : v.nx) vb.u64(x);
        for (auto x : v.dx) vb.f64(x);
        for (auto x : v.start_x) vb.f64(x);
        for (const auto& x : v.unit_x) vb.str(x);
        vb.str(v.unit_y);
        if (vi + 1 < c.vects.size()) {
          vb.ptr(cls("FrVect"), vinst + 1);
        } else if (c.cycle) {
          vb.ptr(cls("FrVect"), first_vect);
        } else {
          vb.ptr(0, 0);
        }
        out.vect_offsets.push_back(emit(cls("FrVect"), vinst++, vb));
      }
    }
    Buf e = body();
    e.i32(0);
    e.u32(static_cast<std::uint32_t>(fi));
    if (v8) {
      e.u32(f.gps_s);
      e.u32(f.gps_n);
    } else {
      e.u32(o.crc ? 1 : 0);  // chkType
      e.u32(0);              // chkSum, patched below
    }
    const std::uint64_t eofr = emit(cls("FrEndOfFrame"), 0, e);
    if (!v8 && o.crc) {
      // v6/v7 frame checksum: FrameH start to FrEndOfFrame end, chkSum field as zero (the layout
      // observed in the real v6 file, see the reader).
      const std::uint32_t c = crc_of(file.b, pos_h.back(), file.b.size() - pos_h.back());
      Buf tmp{o.big, {}};
      tmp.u32(c);
      std::memcpy(file.b.data() + eofr + 26, tmp.b.data(), 4);
    }
  }
  if (o.toc) {
    const auto nf = static_cast<std::uint32_t>(frames.size());
    Buf t = body();
    t.i16(37);
    t.u32(nf);
    for (std::uint32_t i = 0; i < nf; ++i) t.u32(0);
    for (const auto& f : frames) t.u32(f.gps_s);
    for (const auto& f : frames) t.u32(f.gps_n);
    for (const auto& f : frames) t.f64(f.dt);
    for (std::uint32_t i = 0; i < nf; ++i) t.i32(0);
    for (std::uint32_t i = 0; i < nf; ++i) t.u32(i);
    for (auto p : pos_h) t.u64(p);
    for (int a = 0; a < 4; ++a) {
      for (std::uint32_t i = 0; i < nf; ++i) t.u64(0);
    }
    t.u32(0);  // nSH
    t.u32(0);  // nDetector
    t.u32(0);  // nStatType
    if (v8) t.u32(0);  // nTotalStat
    for (std::size_t k = 0; k < 3; ++k) {
      if (k == 2 && o.toc_not_indexed_sim) {
        t.u32(0xFFFFFFFFu);
        continue;
      }
      t.u32(static_cast<std::uint32_t>(toc_pos[k].size()));
      for (const auto& [n, p] : toc_pos[k]) t.str(n);  // std::map: sorted by strcmp (§8)
      if (k == 0) {
        for (std::size_t q = 0; q < toc_pos[0].size(); ++q) t.u32(0);
        for (std::size_t q = 0; q < toc_pos[0].size(); ++q) t.u32(0);
      }
      for (const auto& [n, p] : toc_pos[k]) {
        for (auto x : p) t.u64(x);
      }
    }
    t.u32(0);  // nSer
    t.u32(0);  // nSummary
    t.u32(0);  // nEventType
    if (v8) t.u32(0);
    t.u32(0);  // nSimEventType
    if (v8) t.u32(0);
    out.toc_offset = emit(cls("FrTOC"), 0, t);
  }
  // FrEndOfFile (§5, §9), always the last structure.
  const std::uint64_t eof_len = v8 ? 46 : 14 + 4 + 8 + 4 + 4 + 8;
  const std::uint64_t total = file.b.size() + eof_len;
  const std::uint64_t seek_toc = o.toc ? total - out.toc_offset : 0;
  const std::uint64_t off = file.b.size();
  out.struct_offsets.push_back(off);
  file.u64(eof_len);
  if (v8) {
    file.u8(o.crc ? 1 : 0);
    file.u8(static_cast<std::uint8_t>(cls("FrEndOfFile")));
  } else {
    file.u16(cls("FrEndOfFile"));
  }
  file.u32(0);
  file.u32(static_cast<std::uint32_t>(frames.size()));
  if (v8) {
    file.u64(total);
    file.u64(seek_toc);
    file.u32(o.crc ? crc_of(file.b, 0, 40) : 0);
    file.u32(o.crc ? crc_of(file.b, off, file.b.size() - off) : 0);
    file.u32(o.crc ? crc_of(file.b, 0, file.b.size()) : 0);
  } else {
    file.u64(total);
    file.u32(o.crc ? 1 : 0);
    const std::size_t chk_at = file.b.size();
    file.u32(0);
    file.u64(seek_toc);
    if (o.crc) {
      // v6/v7: CRC of the whole file with the chkSum field zero (§7).
      const std::uint32_t c = crc_of(file.b, 0, file.b.size());
      Buf tmp{o.big, {}};
      tmp.u32(c);
      std::memcpy(file.b.data() + chk_at, tmp.b.data(), 4);
    }
  }
  out.bytes = std::move(file.b);
  return out;
}

// Encodes values in the given byte order (raw payloads, or input for compression).
template <typename T>
std::vector<std::byte> encode_values(const std::vector<T>& v, bool big) {
  Buf b{big, {}};
  for (const T& x : v) b.num(x);
  return std::move(b.b);
}


// A raw little-endian FLOAT64 FrVect of n values 0, 0.5, 1, ... at 64 Hz, named `name`.
inline VectSpec f64_vect(const std::string& name, std::size_t n) {
  std::vector<double> vals(n);
  for (std::size_t i = 0; i < n; ++i) vals[i] = static_cast<double>(i) * 0.5;
  VectSpec v;
  v.name = name;
  v.type = 2;
  v.compress = 256;
  v.n_data = n;
  v.payload = encode_values(vals, false);
  v.nx = {n};
  v.dx = {1.0 / 64};
  v.start_x = {0};
  v.unit_x = {"s"};
  return v;
}

// One frame holding one FrAdcData channel X1:CH at 64 Hz whose data is `v`.
inline FrameSpec one_channel(const VectSpec& v) {
  FrameSpec f;
  ChanSpec c;
  c.name = "X1:CH";
  c.kind = deepclean::gwf::ChannelKind::Adc;
  c.rate = 64;
  c.vects = {v};
  f.chans = {c};
  return f;
}

}  // namespace gwft
