#include <cctype>

#include "core/model/runner.hpp"

namespace deepclean::model {

DeviceSpec parse_device(const std::string& text) {
  if (text == "cpu") return {};
  if (text == "cuda") return {true, 0};
  const std::string prefix = "cuda:";
  if (text.size() > prefix.size() && text.compare(0, prefix.size(), prefix) == 0 &&
      text.size() - prefix.size() <= 3) {
    int index = 0;
    for (std::size_t i = prefix.size(); i < text.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
        index = -1;
        break;
      }
      index = index * 10 + (text[i] - '0');
    }
    if (index >= 0) return {true, index};
  }
  throw BundleError("device '" + text + "': expected 'cpu', 'cuda' or 'cuda:N'");
}

}  // namespace deepclean::model
