// Incremental POSIX cksum (digest §7) for the reader's structure and file checksums. Internal header;
// the one-shot posix_cksum() is declared in reader.hpp.
#pragma once

#include <cstddef>
#include <cstdint>

namespace deepclean::gwf::detail {

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

std::uint32_t cksum_range(const std::byte* data, std::size_t n);

}  // namespace deepclean::gwf::detail
