#include "io/gwf/compress.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace deepclean::gwf {
namespace {

template <typename U>
void diff_words(const std::byte* in, std::size_t n_words, std::byte* out) {
  U prev = 0;
  for (std::size_t i = 0; i < n_words; ++i) {
    U v;
    std::memcpy(&v, in + i * sizeof(U), sizeof(U));
    // Unsigned arithmetic gives the wrap-around the digest (§6) asks for.
    const U d = static_cast<U>(v - prev);
    std::memcpy(out + i * sizeof(U), &d, sizeof(U));
    prev = v;
  }
}

// LSB-first packing of fields into W-bit words (digest §6: a field may straddle two words, the low
// part going to the lower bits of word k and the high part to the low bits of word k+1).
class BitSink {
 public:
  explicit BitSink(unsigned word_bits) : w_(word_bits) {}
  void put(std::uint64_t value, unsigned n_bits) {
    while (n_bits > 0) {
      const std::size_t k = pos_ / w_;
      const unsigned off = static_cast<unsigned>(pos_ % w_);
      if (k >= words_.size()) words_.push_back(0);
      const unsigned take = std::min(n_bits, w_ - off);
      const std::uint64_t part = take >= 64 ? value : (value & ((std::uint64_t{1} << take) - 1));
      words_[k] |= part << off;
      value = take >= 64 ? 0 : (value >> take);
      n_bits -= take;
      pos_ += take;
    }
  }
  std::vector<std::byte> bytes() const {
    const std::size_t wb = w_ / 8;
    std::vector<std::byte> out(words_.size() * wb);
    for (std::size_t i = 0; i < words_.size(); ++i) {
      const std::uint64_t v = words_[i];
      if (wb == 2) {
        const auto x = static_cast<std::uint16_t>(v);
        std::memcpy(out.data() + i * wb, &x, wb);
      } else if (wb == 4) {
        const auto x = static_cast<std::uint32_t>(v);
        std::memcpy(out.data() + i * wb, &x, wb);
      } else {
        std::memcpy(out.data() + i * wb, &v, wb);
      }
    }
    return out;
  }

 private:
  unsigned w_;
  std::size_t pos_ = 0;
  std::vector<std::uint64_t> words_;
};

template <typename S>
std::optional<std::vector<std::byte>> zs_impl(const std::byte* diffs, std::size_t n,
                                              std::uint32_t block) {
  using U = std::make_unsigned_t<S>;
  constexpr unsigned kBits = 8 * sizeof(S);
  // Width of the nBits-1 field per digest §6 step 2: 4, 5 or 6 bits for 16-, 32-, 64-bit words.
  constexpr unsigned kField = kBits == 16 ? 4 : (kBits == 32 ? 5 : 6);
  BitSink sink(kBits);
  sink.put(block, 16);  // step 1: B occupies the first 16 bits for every word size
  std::vector<S> vals(block);
  for (std::size_t start = 0; start < n; start += block) {
    const std::size_t len = std::min<std::size_t>(block, n - start);
    std::uint64_t m = 0;
    for (std::size_t i = 0; i < len; ++i) {
      S v;
      std::memcpy(&v, diffs + (start + i) * sizeof(S), sizeof(S));
      if (v == std::numeric_limits<S>::min()) return std::nullopt;  // |v| not representable
      vals[i] = v;
      m |= static_cast<std::uint64_t>(static_cast<U>(v < 0 ? -v : v));
    }
    unsigned n_bits = 1;
    if (m != 0) {
      unsigned bl = 0;
      while (bl < 64 && (m >> bl) != 0) ++bl;
      n_bits = bl + 1;
    }
    sink.put(n_bits - 1, kField);
    if (n_bits > 1) {
      const std::uint64_t offset = (std::uint64_t{1} << (n_bits - 1)) - 1;
      for (std::size_t i = 0; i < len; ++i) {
        // Two's-complement sign extension to 64 bits, then the offset of step 3.
        const auto v64 = static_cast<std::uint64_t>(static_cast<std::int64_t>(vals[i]));
        sink.put(v64 + offset, n_bits);
      }
    }
  }
  return sink.bytes();
}

}  // namespace

std::vector<std::byte> zlib_compress(const std::byte* data, std::size_t n, int level) {
  if (level < 0 || level > 9) throw std::invalid_argument("zlib level must be 0..9");
  const uLong src_len = n;  // uLong is size_t wide on the LP64 systems we build for
  uLongf out_len = compressBound(src_len);
  std::vector<std::byte> out(out_len);
  const int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &out_len,
                           reinterpret_cast<const Bytef*>(data), src_len, level);
  if (rc != Z_OK) throw std::runtime_error("zlib compress2 failed with code " + std::to_string(rc));
  out.resize(out_len);
  return out;
}

std::vector<std::byte> differentiate(const std::byte* data, std::size_t n, std::size_t word) {
  if (word == 0 || n % word != 0) throw std::invalid_argument("differentiate: ragged word buffer");
  std::vector<std::byte> out(n);
  const std::size_t nw = n / word;
  switch (word) {
    case 1: diff_words<std::uint8_t>(data, nw, out.data()); break;
    case 2: diff_words<std::uint16_t>(data, nw, out.data()); break;
    case 4: diff_words<std::uint32_t>(data, nw, out.data()); break;
    case 8: diff_words<std::uint64_t>(data, nw, out.data()); break;
    default: throw std::invalid_argument("differentiate: word size must be 1, 2, 4 or 8");
  }
  return out;
}

std::uint32_t default_zero_suppress_block(std::size_t word) { return word == 2 ? 12u : 8u; }

std::optional<std::vector<std::byte>> zero_suppress(const std::byte* diffs, std::size_t n_words,
                                                    std::size_t word, std::uint32_t block) {
  if (block == 0 || block > 0xFFFFu) throw std::invalid_argument("zero_suppress: block must be 1..65535");
  switch (word) {
    case 2: return zs_impl<std::int16_t>(diffs, n_words, block);
    case 4: return zs_impl<std::int32_t>(diffs, n_words, block);
    case 8: return zs_impl<std::int64_t>(diffs, n_words, block);
    default: throw std::invalid_argument("zero_suppress: word size must be 2, 4 or 8");
  }
}

bool compression_applies(Compression scheme, DataType type) {
  if (type == DataType::String) return scheme == Compression::Raw;
  switch (scheme) {
    case Compression::Raw:
    case Compression::Zlib: return true;
    case Compression::DiffZlib:
      return type == DataType::Int8 || type == DataType::UInt8 || type == DataType::Int16 ||
             type == DataType::UInt16 || type == DataType::Int32 || type == DataType::UInt32;
    case Compression::DiffZero16: return type == DataType::Int16 || type == DataType::UInt16;
    case Compression::DiffZero32:
      return type == DataType::Int32 || type == DataType::UInt32 || type == DataType::Float32;
    case Compression::DiffZero64:
      return type == DataType::Int64 || type == DataType::UInt64 || type == DataType::Float64;
  }
  return false;
}

EncodedData encode_payload(DataType type, const std::byte* data, std::size_t n_bytes,
                           Compression requested, int zlib_level) {
  const std::uint16_t flag = host_is_little_endian() ? 0x100 : 0;
  EncodedData out;
  out.compress = flag;
  Compression scheme = requested;
  if (!compression_applies(scheme, type)) scheme = Compression::Zlib;
  if (scheme == Compression::Raw || type == DataType::String || n_bytes == 0) return out;
  const std::size_t w = word_size(type);
  std::vector<std::byte> packed;
  switch (scheme) {
    case Compression::Raw: return out;
    case Compression::Zlib: packed = zlib_compress(data, n_bytes, zlib_level); break;
    case Compression::DiffZlib: {
      const auto d = differentiate(data, n_bytes, w);
      packed = zlib_compress(d.data(), d.size(), zlib_level);
      break;
    }
    case Compression::DiffZero16:
    case Compression::DiffZero32:
    case Compression::DiffZero64: {
      const auto d = differentiate(data, n_bytes, w);
      auto zs = zero_suppress(d.data(), n_bytes / w, w, default_zero_suppress_block(w));
      if (!zs) return out;  // overflow: FrameL stores such vectors raw (digest §6)
      packed = std::move(*zs);
      break;
    }
  }
  if (packed.size() >= n_bytes) return out;  // did not shrink: keep raw (digest §6 fallbacks)
  out.raw = false;
  out.bytes = std::move(packed);
  out.compress = static_cast<std::uint16_t>(flag | static_cast<std::uint16_t>(scheme));
  return out;
}

}  // namespace deepclean::gwf
