#include "daemon/models/crossfade.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace deepclean::daemon::models {

std::vector<double> crossfade_weights(double offset_seconds, double rate, std::size_t n, double seconds) {
  std::vector<double> w(n, 1.0);
  const double r = std::round(seconds * rate);
  const double k0 = std::round(offset_seconds * rate);
  const double pi = std::acos(-1.0);
  for (std::size_t i = 0; i < n; ++i) {
    const double k = k0 + static_cast<double>(i);
    if (k < 0) {
      w[i] = 0.0;
    } else if (k < r) {
      const double s = std::sin(pi * (k + 0.5) / (2.0 * r));
      w[i] = s * s;
    }
  }
  return w;
}

namespace {

void blend(std::vector<double>& out, const std::vector<double>& from, const std::vector<double>& to,
           const std::vector<double>& w) {
  out.resize(from.size());
  for (std::size_t i = 0; i < from.size(); ++i) out[i] = (1.0 - w[i]) * from[i] + w[i] * to[i];
}

}  // namespace

OutputSecond crossfade(const OutputSecond& from, const OutputSecond& to, std::uint64_t start, double seconds) {
  if (from.gps != to.gps || from.cleaned.size() != to.cleaned.size() || from.state.size() != to.state.size() ||
      from.noise.has_value() != to.noise.has_value() || (from.noise && from.noise->size() != to.noise->size())) {
    throw std::invalid_argument("crossfade: the two models' outputs for GPS " + std::to_string(from.gps) +
                                " and " + std::to_string(to.gps) + " do not match");
  }
  OutputSecond out = to;
  const double offset = static_cast<double>(from.gps) - static_cast<double>(start);
  const double rate = static_cast<double>(from.cleaned.size());
  blend(out.cleaned, from.cleaned, to.cleaned, crossfade_weights(offset, rate, from.cleaned.size(), seconds));
  if (from.noise) {
    blend(*out.noise, *from.noise, *to.noise,
          crossfade_weights(offset, static_cast<double>(from.noise->size()), from.noise->size(), seconds));
  }
  constexpr std::uint32_t kBoth = kCleaned | kInputOk | kModelOk;
  for (std::size_t i = 0; i < out.state.size(); ++i) {
    out.state[i] = (from.state[i] & to.state[i] & kBoth) | ((from.state[i] | to.state[i]) & ~kBoth);
  }
  out.history.clear();
  for (gwf::History h : from.history) {
    h.comment += "; crossfading out";
    out.history.push_back(std::move(h));
  }
  for (gwf::History h : to.history) {
    h.comment += "; crossfading in";
    out.history.push_back(std::move(h));
  }
  return out;
}

}  // namespace deepclean::daemon::models
