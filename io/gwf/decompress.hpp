// Decoding of FrVect payloads (digest §6): raw, zlib, differentiation, zero suppression.
// Internal to the reader; exposed for its unit tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "io/gwf/frame.hpp"

namespace deepclean::gwf::detail {

// Thrown for a payload that cannot be decoded; the reader rewraps it as FormatError with the file,
// offset and structure.
class PayloadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Largest expansion ratio a deflate stream can reach (a 258-byte match coded in about 2 bits gives
// 1032:1). A declared nData·wordsize above this multiple of nBytes cannot be a valid zlib payload, so
// we refuse it before allocating (zlib-bomb and forged-nData guard).
constexpr std::uint64_t kMaxInflateRatio = 1032;

// Decodes `n_bytes` of payload stored with `compress` into `n_data` elements of `type`, in host byte
// order, replacing `out`. Raw payloads are in the file header's byte order; compressed payloads in
// the order given by the 0x100 bit (set = little-endian), digest §6.
void decode_payload(std::uint16_t compress, DataType type, std::uint64_t n_data,
                    const std::byte* payload, std::uint64_t n_bytes, bool file_big_endian,
                    std::vector<std::byte>& out);

}  // namespace deepclean::gwf::detail
