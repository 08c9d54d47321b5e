// POSIX cksum (digest §7), the checksum of frame structures and files: the one implementation the
// reader (verifying) and the writer (stamping) share.
#pragma once

#include <cstddef>
#include <cstdint>

namespace deepclean::gwf {

// CRC-32, polynomial 0x04C11DB7, MSB first, initial 0. Feed bytes with update(), then finish()
// appends the total length (least-significant byte first, only the bytes needed) and inverts.
class Cksum {
 public:
  void update(const std::byte* data, std::size_t n);
  void update_zeros(std::size_t n);
  std::uint32_t finish(std::uint64_t total_length) const;

 private:
  std::uint32_t crc_ = 0;
};

// The value `cksum` prints for these bytes: posix_cksum("123456789") == 930766865.
std::uint32_t posix_cksum(const std::byte* data, std::size_t n);

}  // namespace deepclean::gwf
