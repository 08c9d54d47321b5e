// FrVect payload encoders and the POSIX cksum CRC used by the writer (digest §6, §7).
// Decoders belong to the reader (reader.cpp); these are the writing halves.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "io/gwf/frame.hpp"

namespace deepclean::gwf {

// True when this machine stores multi-byte words little-endian. The writer emits host order and
// announces it in the file header (digest §1, §2) and with the 0x100 flag of the compression code (§6).
constexpr bool host_is_little_endian() {
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
  return __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
#else
#error "unknown byte order"
#endif
}

// zlib stream (RFC 1950, what frames call "gzip", digest §6 code 1) at `level` 0..9.
std::vector<std::byte> zlib_compress(const std::byte* data, std::size_t n, int level);

// Differentiation in the word width (digest §6): out[0] = in[0], out[i] = in[i] - in[i-1] modulo
// 2^(8*word). `word` is 1, 2, 4 or 8; host-order words in and out.
std::vector<std::byte> differentiate(const std::byte* data, std::size_t n, std::size_t word);

// Zero-suppression bit stream of already differentiated signed words of `word` bytes (2, 4 or 8),
// digest §6 steps 1–4, written in host word order. nullopt when a value cannot be represented
// (the most negative word), which callers treat as "store raw". `block` is B (FrameL: 12 for
// 16-bit words, 8 otherwise).
std::optional<std::vector<std::byte>> zero_suppress(const std::byte* diffs, std::size_t n_words,
                                                    std::size_t word, std::uint32_t block);
std::uint32_t default_zero_suppress_block(std::size_t word);

// The payload of one FrVect as it goes into the file.
struct EncodedData {
  bool raw = true;               // true: store the caller's bytes unchanged (`bytes` is left empty)
  std::vector<std::byte> bytes;  // the compressed payload when !raw
  std::uint16_t compress = 0;    // on-disk code: scheme | 0x100 on little-endian hosts
};

// Encodes host-order element bytes of `type` with the requested scheme. A scheme that does not
// apply to the type falls back to zlib (FrameL's rule, digest §6); any result that is not smaller
// than the raw bytes, or a zero-suppression overflow, is stored raw. String vectors are never passed
// here (they are never compressed).
EncodedData encode_payload(DataType type, const std::byte* data, std::size_t n_bytes,
                           Compression requested, int zlib_level);

// Whether `scheme` is defined for `type` (digest §6 table).
bool compression_applies(Compression scheme, DataType type);

}  // namespace deepclean::gwf
