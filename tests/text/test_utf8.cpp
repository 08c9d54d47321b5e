// UTF-8 validity (core/text) against the definition itself: every string of one to three bytes, and
// the 4-byte boundaries, checked against a brute-force decoder (a code point is valid when its
// shortest encoding is exactly these bytes and it is neither a surrogate nor above U+10FFFF).
#include <gtest/gtest.h>

#include <string>

#include "core/text/utf8.hpp"

namespace {

using deepclean::text::first_invalid_utf8;
using deepclean::text::line_column;

// The canonical UTF-8 encoding of code point cp (RFC 3629 section 3).
std::string encode(unsigned cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

bool is_scalar(unsigned cp) { return cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF); }

// Brute force: is `s` a concatenation of canonical encodings of scalar values? (greedy is exact
// because UTF-8 is prefix-free: the lead byte fixes the length)
bool valid_by_definition(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    bool matched = false;
    for (std::size_t n = 1; n <= 4 && i + n <= s.size() && !matched; ++n) {
      // decode n bytes by the bit layout, then compare with the canonical encoding
      const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
      unsigned cp = 0;
      if (n == 1) cp = b(0);
      if (n == 2) cp = ((b(0) & 0x1Fu) << 6) | (b(1) & 0x3Fu);
      if (n == 3) cp = ((b(0) & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
      if (n == 4) cp = ((b(0) & 0x07u) << 18) | ((b(1) & 0x3Fu) << 12) | ((b(2) & 0x3Fu) << 6) | (b(3) & 0x3Fu);
      if (is_scalar(cp) && encode(cp) == s.substr(i, n)) {
        i += n;
        matched = true;
      }
    }
    if (!matched) return false;
  }
  return true;
}

TEST(Utf8, EveryStringOfUpToThreeBytesAgreesWithTheDefinition) {
  std::size_t checked = 0, valid = 0;
  for (unsigned len = 1; len <= 3; ++len) {
    const unsigned long total = 1ul << (8 * len);
    std::string s(len, '\0');
    for (unsigned long v = 0; v < total; ++v) {
      for (unsigned k = 0; k < len; ++k) s[k] = static_cast<char>((v >> (8 * k)) & 0xFF);
      const bool ours = !first_invalid_utf8(s).has_value();
      ASSERT_EQ(ours, valid_by_definition(s)) << len << " bytes, value " << v;
      ++checked;
      valid += ours ? 1 : 0;
    }
  }
  EXPECT_EQ(checked, 256u + 65536u + 16777216u);
  // Valid strings counted by the definition's own arithmetic: 1 byte: 128; 2: 128^2 + 1920 (the
  // two-byte scalars); 3: 128^3 + 2*128*1920 + 61440 (three-byte scalars: 0x800..0xFFFF less 2048
  // surrogates).
  EXPECT_EQ(valid, 128u + (16384u + 1920u) + (2097152u + 2u * 128u * 1920u + 61440u));
}

TEST(Utf8, FourByteBoundariesAndTheOffsetOfTheFirstBadByte) {
  for (unsigned cp : {0x10000u, 0x1F600u, 0x10FFFFu}) EXPECT_FALSE(first_invalid_utf8(encode(cp))) << cp;
  EXPECT_EQ(first_invalid_utf8("\xF4\x90\x80\x80"), 0u);   // U+110000
  EXPECT_EQ(first_invalid_utf8("\xF0\x8F\xBF\xBF"), 0u);   // overlong U+FFFF
  EXPECT_EQ(first_invalid_utf8("\xF5\x80\x80\x80"), 0u);
  EXPECT_EQ(first_invalid_utf8("ok \xF0\x9F\x98"), 3u);     // truncated at the end
  EXPECT_EQ(first_invalid_utf8("version: \xBBh1"), 9u);    // the fuzzer's bundle.yaml
  EXPECT_EQ(line_column("a: 1\nb: \xBB", 8), (std::pair<std::size_t, std::size_t>{2, 4}));
}

}  // namespace
