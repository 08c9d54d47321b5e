// POSIX cksum (digest §7) with slicing-by-16 tables (16 KiB): a file's checksum costs little next to
// the 1-s budget of a frame (docs/benchmarks.md).
#include "io/gwf/cksum.hpp"

#include <array>

namespace deepclean::gwf {
namespace {

using Tables = std::array<std::array<std::uint32_t, 256>, 16>;

Tables make_tables() {
  Tables t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i << 24;
    for (int k = 0; k < 8; ++k) c = (c & 0x80000000u) != 0 ? (c << 1) ^ 0x04C11DB7u : c << 1;
    t[0][i] = c;
  }
  // t[k][x]: CRC contribution of byte x followed by k zero bytes.
  for (std::size_t k = 1; k < 16; ++k) {
    for (std::size_t i = 0; i < 256; ++i) {
      const std::uint32_t prev = t[k - 1][i];
      t[k][i] = (prev << 8) ^ t[0][prev >> 24];
    }
  }
  return t;
}

const Tables& tables() {
  static const Tables t = make_tables();
  return t;
}

inline std::uint32_t step(const Tables& t, std::uint32_t crc, std::uint8_t b) {
  return (crc << 8) ^ t[0][(crc >> 24) ^ b];
}

}  // namespace

void Cksum::update(const std::byte* data, std::size_t n) {
  const Tables& t = tables();
  std::uint32_t crc = crc_;
  const auto* p = reinterpret_cast<const std::uint8_t*>(data);
  while (n >= 16) {
    const std::uint32_t hi = crc ^ ((std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                                    (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]});
    crc = t[15][hi >> 24] ^ t[14][(hi >> 16) & 0xFF] ^ t[13][(hi >> 8) & 0xFF] ^ t[12][hi & 0xFF] ^
          t[11][p[4]] ^ t[10][p[5]] ^ t[9][p[6]] ^ t[8][p[7]] ^ t[7][p[8]] ^ t[6][p[9]] ^ t[5][p[10]] ^
          t[4][p[11]] ^ t[3][p[12]] ^ t[2][p[13]] ^ t[1][p[14]] ^ t[0][p[15]];
    p += 16;
    n -= 16;
  }
  while (n-- > 0) crc = step(t, crc, *p++);
  crc_ = crc;
}

void Cksum::update_zeros(std::size_t n) {
  const Tables& t = tables();
  while (n-- > 0) crc_ = step(t, crc_, 0);
}

std::uint32_t Cksum::finish(std::uint64_t total_length) const {
  const Tables& t = tables();
  std::uint32_t crc = crc_;
  for (std::uint64_t n = total_length; n != 0; n >>= 8) crc = step(t, crc, static_cast<std::uint8_t>(n & 0xFF));
  return ~crc;
}

std::uint32_t posix_cksum(const std::byte* data, std::size_t n) {
  Cksum c;
  c.update(data, n);
  return c.finish(n);
}

}  // namespace deepclean::gwf
