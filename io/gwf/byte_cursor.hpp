// Bounds-checked reading of frame-file primitives (digest §1) for the reader. Internal header.
// Every read checks the remaining bytes of the current structure first; on failure it throws
// FormatError naming the file, the absolute byte offset, the structure and the reason (issue 2 item 3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "io/gwf/frame.hpp"

namespace deepclean::gwf::detail {

constexpr bool kHostLittle = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

inline std::uint16_t bswap(std::uint16_t v) { return __builtin_bswap16(v); }
inline std::uint32_t bswap(std::uint32_t v) { return __builtin_bswap32(v); }
inline std::uint64_t bswap(std::uint64_t v) { return __builtin_bswap64(v); }

// Loads an unsigned integer stored in the given byte order.
template <typename U>
inline U load(const std::byte* p, bool big_endian) {
  U v;
  std::memcpy(&v, p, sizeof v);
  if (big_endian == kHostLittle) v = bswap(v);
  return v;
}

struct Ptr {  // PTR_STRUCT (digest §1): class number as written in this file + instance
  std::uint16_t cls = 0;
  std::uint32_t instance = 0;
  bool null() const { return cls == 0 && instance == 0; }
};

class Cursor {
 public:
  Cursor(const std::byte* file, std::uint64_t begin, std::uint64_t end, bool big_endian,
         const std::string& file_name, std::string structure)
      : file_(file), pos_(begin), end_(end), big_(big_endian), name_(file_name), structure_(std::move(structure)) {}

  std::uint64_t pos() const { return pos_; }
  std::uint64_t end() const { return end_; }
  std::uint64_t remaining() const { return end_ - pos_; }
  const std::string& structure() const { return structure_; }
  void set_structure(std::string s) { structure_ = std::move(s); }
  const std::string& file_name() const { return name_; }

  [[noreturn]] void fail(const std::string& reason) const { fail_at(pos_, reason); }
  [[noreturn]] void fail_at(std::uint64_t offset, const std::string& reason) const {
    throw FormatError(name_, offset, structure_, reason);
  }

  void need(std::uint64_t n, const char* what) const {
    if (n > remaining()) {
      fail(std::string(what) + " needs " + std::to_string(n) + " bytes but only " +
           std::to_string(remaining()) + " remain in the structure");
    }
  }
  // A count read from the file that will size an allocation: n elements of at least `min_size`
  // bytes each must fit in what is left, so a forged count cannot allocate more than the file holds.
  std::uint64_t count(std::uint64_t n, std::uint64_t min_size, const char* what) const {
    if (min_size != 0 && n > remaining() / min_size) {
      fail(std::string(what) + " = " + std::to_string(n) + " elements cannot fit in the " +
           std::to_string(remaining()) + " bytes left in the structure");
    }
    return n;
  }

  std::uint8_t u8(const char* what) {
    need(1, what);
    return static_cast<std::uint8_t>(file_[pos_++]);
  }
  std::uint16_t u16(const char* what) { return get<std::uint16_t>(what); }
  std::uint32_t u32(const char* what) { return get<std::uint32_t>(what); }
  std::uint64_t u64(const char* what) { return get<std::uint64_t>(what); }
  std::int16_t i16(const char* what) { return static_cast<std::int16_t>(get<std::uint16_t>(what)); }
  std::int32_t i32(const char* what) { return static_cast<std::int32_t>(get<std::uint32_t>(what)); }
  float f32(const char* what) {
    const std::uint32_t b = get<std::uint32_t>(what);
    float f;
    std::memcpy(&f, &b, sizeof f);
    return f;
  }
  double f64(const char* what) {
    const std::uint64_t b = get<std::uint64_t>(what);
    double d;
    std::memcpy(&d, &b, sizeof d);
    return d;
  }
  Ptr ptr(const char* what) {
    Ptr p;
    p.cls = u16(what);
    p.instance = u32(what);
    return p;
  }
  // STRING (digest §1): INT_2U length including the NUL, the bytes, NUL. Length 0 is accepted as
  // empty (FrameL writes NULL strings so); trailing extra NULs are allowed (v7+), a NUL followed by
  // other bytes or a missing terminator is rejected.
  std::string str(const char* what) {
    const std::uint64_t at = pos_;
    const std::uint16_t n = u16(what);
    if (n == 0) return {};
    need(n, what);
    const char* s = reinterpret_cast<const char*>(file_ + pos_);
    const void* nul = std::memchr(s, 0, n);
    if (nul == nullptr) fail_at(at, std::string(what) + ": string of length " + std::to_string(n) + " has no terminating NUL");
    const auto len = static_cast<std::size_t>(static_cast<const char*>(nul) - s);
    for (std::size_t k = len; k < n; ++k) {
      if (s[k] != 0) fail_at(at, std::string(what) + ": string has bytes after its NUL terminator");
    }
    pos_ += n;
    return std::string(s, len);
  }
  const std::byte* bytes(std::uint64_t n, const char* what) {
    need(n, what);
    const std::byte* p = file_ + pos_;
    pos_ += n;
    return p;
  }
  void skip(std::uint64_t n, const char* what) { (void)bytes(n, what); }

 private:
  template <typename U>
  U get(const char* what) {
    need(sizeof(U), what);
    const U v = load<U>(file_ + pos_, big_);
    pos_ += sizeof(U);
    return v;
  }

  const std::byte* file_;
  std::uint64_t pos_;
  std::uint64_t end_;
  bool big_;
  const std::string& name_;
  std::string structure_;
};

}  // namespace deepclean::gwf::detail
