// Internal to core/model: LibTorch's errors as one line a user can read. Light on purpose (c10's
// exception and array types only), so files that need no TorchScript do not pay for its headers.
#pragma once

#include <c10/util/ArrayRef.h>
#include <c10/util/Exception.h>

#include <cstddef>
#include <sstream>
#include <string>

namespace deepclean::model::detail {

// LibTorch's messages carry a C++ backtrace, and errors raised inside a TorchScript graph carry
// the Python traceback of the trace; users need the one line that says what went wrong.
inline std::string short_message(std::string m) {
  const std::string marker = "RuntimeError: ";
  const auto at = m.rfind(marker);
  if (at != std::string::npos) m = m.substr(at + marker.size());
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  const auto nl = m.find('\n');
  if (nl != std::string::npos) m.resize(nl);
  return m;
}

inline std::string torch_message(const c10::Error& e) { return short_message(e.what_without_backtrace()); }

// "(2, 6, 512)".
inline std::string shape_str(c10::IntArrayRef sizes) {
  std::ostringstream s;
  s << "(";
  for (std::size_t i = 0; i < sizes.size(); ++i) s << (i ? ", " : "") << sizes[i];
  s << ")";
  return s.str();
}

}  // namespace deepclean::model::detail
