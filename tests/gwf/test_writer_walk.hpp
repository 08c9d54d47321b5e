// Test-only, independent view of v8 frame bytes, written from the digest (../shared/docs/gwf-format.md)
// without any of the writer's (or reader's) code: a structure walker, a bit-at-a-time POSIX cksum,
// dictionary and FrTOC parsing. Used to check what the writer produces byte by byte.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace deepclean::gwf::testing {

// POSIX cksum one bit at a time, straight from the definition (digest §7).
inline std::uint32_t reference_cksum(const std::byte* data, std::size_t n) {
  std::uint32_t crc = 0;
  auto feed = [&crc](std::uint8_t byte) {
    for (unsigned bit = 8; bit-- > 0;) {
      const bool in = ((static_cast<unsigned>(byte) >> bit) & 1u) != 0;
      const bool top = (crc & 0x80000000u) != 0;
      crc <<= 1;
      if (in != top) crc ^= 0x04C11DB7u;
    }
  };
  for (std::size_t i = 0; i < n; ++i) feed(std::to_integer<std::uint8_t>(data[i]));
  for (std::uint64_t len = n; len != 0; len >>= 8) feed(static_cast<std::uint8_t>(len & 0xFFu));
  return ~crc;
}

// Little-endian cursor (the writer under test runs on little-endian hosts; the header check
// asserts the byte order first).
struct Cursor {
  const std::vector<std::byte>* b;
  std::size_t p;
  template <typename T>
  T get() {
    if (p + sizeof(T) > b->size()) throw std::out_of_range("cursor past the end");
    T v;
    std::memcpy(&v, b->data() + p, sizeof v);
    p += sizeof v;
    return v;
  }
  std::string str() {
    const auto n = get<std::uint16_t>();
    if (n == 0 || p + n > b->size()) throw std::out_of_range("bad STRING");
    std::string s(reinterpret_cast<const char*>(b->data() + p), n - 1u);
    if (std::to_integer<char>((*b)[p + n - 1u]) != '\0') throw std::runtime_error("STRING without NUL");
    p += n;
    return s;
  }
  std::pair<std::uint16_t, std::uint32_t> ptr() {
    const auto c = get<std::uint16_t>();
    const auto i = get<std::uint32_t>();
    return {c, i};
  }
};

struct Structure {
  std::size_t offset = 0;
  std::uint64_t length = 0;
  std::uint8_t chk_type = 0;
  std::uint8_t cls = 0;
  std::uint32_t instance = 0;
  std::uint32_t stored_chksum = 0;  // the INT_4U that ends the body (FrEndOfFile: its chkSum)
};

struct Walk {
  std::vector<Structure> structures;
  std::map<int, std::string> class_names;                                        // FrSH
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> fields;  // FrSE (name, type)
  std::vector<std::pair<int, std::string>> sh_order;
  std::string name_of(std::uint8_t cls) const {
    const auto it = class_names.find(cls);
    return it == class_names.end() ? (cls == 1 ? "FrSH" : cls == 2 ? "FrSE" : "?") : it->second;
  }
};

inline Walk walk(const std::vector<std::byte>& b) {
  Walk w;
  std::size_t off = 40;
  std::string last_sh;
  while (off < b.size()) {
    Cursor c{&b, off};
    Structure s;
    s.offset = off;
    s.length = c.get<std::uint64_t>();
    s.chk_type = c.get<std::uint8_t>();
    s.cls = c.get<std::uint8_t>();
    s.instance = c.get<std::uint32_t>();
    if (s.length < 18 || off + s.length > b.size()) throw std::runtime_error("bad structure length");
    const std::size_t chk_at = w.name_of(s.cls) == "FrEndOfFile" ? off + s.length - 8 : off + s.length - 4;
    std::memcpy(&s.stored_chksum, b.data() + chk_at, 4);
    if (s.cls == 1) {
      last_sh = c.str();
      const auto id = c.get<std::uint16_t>();
      w.class_names[id] = last_sh;
      w.sh_order.emplace_back(id, last_sh);
      w.fields[last_sh];
    } else if (s.cls == 2) {
      std::string n = c.str();
      std::string t = c.str();
      w.fields[last_sh].emplace_back(std::move(n), std::move(t));
    }
    w.structures.push_back(s);
    off += s.length;
  }
  if (off != b.size()) throw std::runtime_error("structures overrun the file");
  return w;
}

// FrTOC, v8 layout of digest §8 (only the parts the writer fills; the rest must be counts of 0).
struct Toc {
  std::int16_t uleap_s = 0;
  std::uint32_t n_frame = 0;
  std::vector<std::uint32_t> dq, gtime_s, gtime_n, frame;
  std::vector<double> dt;
  std::vector<std::int32_t> runs;
  std::vector<std::uint64_t> position_h, first_adc;
  std::vector<std::pair<std::uint16_t, std::string>> sh;
  std::vector<std::string> detectors;
  std::vector<std::uint64_t> detector_positions;
  std::vector<std::string> adc, proc, sim;
  std::vector<std::uint32_t> adc_channel_id, adc_group_id;
  std::vector<std::uint64_t> adc_pos, proc_pos, sim_pos;  // [name][frame]
  std::vector<std::uint32_t> tail_counts;  // nSer, nSummary, nEventType, nTotalEvent, nSimEventType, nTotalSEvent
  std::size_t end = 0;                     // cursor after the last field (before chkSum)
};

inline Toc parse_toc(const std::vector<std::byte>& b, std::size_t offset) {
  Cursor c{&b, offset + 14};
  Toc t;
  t.uleap_s = c.get<std::int16_t>();
  t.n_frame = c.get<std::uint32_t>();
  const std::uint32_t nf = t.n_frame;
  auto arr32 = [&](std::vector<std::uint32_t>& v, std::uint32_t n) {
    for (std::uint32_t i = 0; i < n; ++i) v.push_back(c.get<std::uint32_t>());
  };
  auto arr64 = [&](std::vector<std::uint64_t>& v, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) v.push_back(c.get<std::uint64_t>());
  };
  auto strs = [&](std::vector<std::string>& v, std::uint32_t n) {
    for (std::uint32_t i = 0; i < n; ++i) v.push_back(c.str());
  };
  arr32(t.dq, nf);
  arr32(t.gtime_s, nf);
  arr32(t.gtime_n, nf);
  for (std::uint32_t i = 0; i < nf; ++i) t.dt.push_back(c.get<double>());
  for (std::uint32_t i = 0; i < nf; ++i) t.runs.push_back(c.get<std::int32_t>());
  arr32(t.frame, nf);
  arr64(t.position_h, nf);
  arr64(t.first_adc, nf);
  std::vector<std::uint64_t> unused;
  arr64(unused, 3u * nf);  // nFirstSer, nFirstTable, nFirstMsg
  const auto n_sh = c.get<std::uint32_t>();
  std::vector<std::uint16_t> ids;
  for (std::uint32_t i = 0; i < n_sh; ++i) ids.push_back(c.get<std::uint16_t>());
  for (std::uint32_t i = 0; i < n_sh; ++i) t.sh.emplace_back(ids[i], c.str());
  const auto n_det = c.get<std::uint32_t>();
  strs(t.detectors, n_det);
  arr64(t.detector_positions, n_det);
  if (c.get<std::uint32_t>() != 0) throw std::runtime_error("nStatType != 0");
  if (c.get<std::uint32_t>() != 0) throw std::runtime_error("nTotalStat != 0");
  const auto n_adc = c.get<std::uint32_t>();
  strs(t.adc, n_adc);
  arr32(t.adc_channel_id, n_adc);
  arr32(t.adc_group_id, n_adc);
  arr64(t.adc_pos, std::uint64_t{n_adc} * nf);
  const auto n_proc = c.get<std::uint32_t>();
  strs(t.proc, n_proc);
  arr64(t.proc_pos, std::uint64_t{n_proc} * nf);
  const auto n_sim = c.get<std::uint32_t>();
  strs(t.sim, n_sim);
  arr64(t.sim_pos, std::uint64_t{n_sim} * nf);
  arr32(t.tail_counts, 6);
  t.end = c.p;
  return t;
}

}  // namespace deepclean::gwf::testing
