// UTF-8 validity of text from outside (configuration and bundle files, control requests, directory
// names): what is not valid UTF-8 cannot go into a JSON reply, a Prometheus label or a YAML file.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace deepclean::text {

// The offset of the first byte that does not start or continue a well-formed UTF-8 sequence
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF); nullopt when all is valid.
std::optional<std::size_t> first_invalid_utf8(std::string_view s);

// The offset of the first control character other than tab, line feed and carriage return (C0 and
// DEL): YAML allows none in a file; nullopt when there is none.
std::optional<std::size_t> first_control_character(std::string_view s);

// The first problem of a whole YAML file's text: "file:L:C: not UTF-8 text (byte N)" or
// "file:L:C: a control character (byte N)"; "" when there is none.
std::string file_text_problem(std::string_view s, const std::string& file);

// What is wrong with a value read from a file (after YAML's escapes, which can make any byte):
// "is not UTF-8 text", "holds a control character", or "" when nothing is.
std::string value_problem(std::string_view s);

// "line L, column C" (1-based, columns in bytes) of byte `offset` of `s`.
std::pair<std::size_t, std::size_t> line_column(std::string_view s, std::size_t offset);

}  // namespace deepclean::text
