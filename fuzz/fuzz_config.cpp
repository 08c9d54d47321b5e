// libFuzzer entry for the YAML configuration (issue 18): any text must give a Config or a
// config::ConfigError naming file:line:column, never a crash, a hang, another exception type or
// undefined behaviour. A parsed configuration is also shown key by key (`deepclean ctl config`) and
// compared with itself (a reload's comparison).
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace dc = deepclean::config;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const dc::Config c = dc::parse_config(text, "fuzz.yaml");
    if (!dc::changed_keys(c, c).empty()) __builtin_trap();  // a configuration differs from itself
    std::size_t n = 0;
    for (const auto& kv : dc::key_values(c)) n += kv.second.size();
    (void)n;
  } catch (const dc::ConfigError& e) {
    if (e.where().rfind("fuzz.yaml", 0) != 0) __builtin_trap();  // an error that does not name the file
  }
  return 0;
}
