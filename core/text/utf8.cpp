#include "core/text/utf8.hpp"

#include <utility>

namespace deepclean::text {

std::optional<std::size_t> first_invalid_utf8(std::string_view s) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  std::size_t i = 0;
  while (i < s.size()) {
    const unsigned c = byte(i);
    std::size_t n = 0;
    unsigned lo = 0x80, hi = 0xBF;  // the allowed range of the second byte (RFC 3629 table)
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;  // no UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    } else {
      return i;
    }
    if (i + n >= s.size()) return i;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      const unsigned b = byte(i + k);
      if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return i;
    }
    i += n + 1;
  }
  return std::nullopt;
}

std::optional<std::size_t> first_control_character(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) return i;
  }
  return std::nullopt;
}

std::string file_text_problem(std::string_view s, const std::string& file) {
  for (const auto& [bad, what] : {std::make_pair(first_invalid_utf8(s), "not UTF-8 text"),
                                   std::make_pair(first_control_character(s), "a control character")}) {
    if (!bad) continue;
    const auto [line, column] = line_column(s, *bad);
    return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + what + " (byte " +
           std::to_string(static_cast<unsigned char>(s[*bad])) + ")";
  }
  return "";
}

std::string value_problem(std::string_view s) {
  if (first_invalid_utf8(s)) return "is not UTF-8 text";
  if (first_control_character(s)) return "holds a control character";
  return "";
}

std::pair<std::size_t, std::size_t> line_column(std::string_view s, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < s.size(); ++i) {
    if (s[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

}  // namespace deepclean::text
