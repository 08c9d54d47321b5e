#include "daemon/asd_monitor.hpp"

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "core/dsp/welch.hpp"

namespace deepclean::daemon {

BandAsdMonitor::BandAsdMonitor(std::vector<std::pair<double, double>> bands, std::size_t window_seconds)
    : bands_(std::move(bands)), window_(window_seconds) {}

void BandAsdMonitor::add(const std::vector<double>& raw, const std::vector<double>& cleaned, double rate) {
  if (raw.size() != cleaned.size() || raw.empty()) {
    throw std::invalid_argument("BandAsdMonitor::add: raw and cleaned must be the same non-empty length");
  }
  // One Hann segment per second: 1 Hz bins resolve the narrow (e.g. 58-62 Hz) cleaning bands.
  const dsp::Spectrum r = dsp::welch_psd(raw.data(), raw.size(), rate, raw.size());
  const dsp::Spectrum c = dsp::welch_psd(cleaned.data(), cleaned.size(), rate, cleaned.size());
  if (freqs_ != r.freqs) {  // first second, or the rate changed: start over
    freqs_ = r.freqs;
    sum_raw_.assign(freqs_.size(), 0.0);
    sum_clean_.assign(freqs_.size(), 0.0);
    history_.clear();
    count_ = 0;
  }
  for (std::size_t k = 0; k < freqs_.size(); ++k) {
    sum_raw_[k] += r.value[k];
    sum_clean_[k] += c.value[k];
  }
  ++count_;
  if (window_ > 0) {
    history_.emplace_back(r.value, c.value);
    if (history_.size() > window_) {
      const auto& old = history_.front();
      for (std::size_t k = 0; k < freqs_.size(); ++k) {
        sum_raw_[k] -= old.first[k];
        sum_clean_[k] -= old.second[k];
      }
      history_.pop_front();
      --count_;
    }
  }
}

double BandAsdMonitor::ratio(std::size_t band) const {
  const auto [lo, hi] = bands_.at(band);
  double sum = 0;
  std::size_t n = 0;
  for (std::size_t k = 0; k < freqs_.size(); ++k) {
    if (freqs_[k] < lo || freqs_[k] > hi || !(sum_raw_[k] > 0)) continue;
    sum += std::sqrt(std::max(0.0, sum_clean_[k]) / sum_raw_[k]);
    ++n;
  }
  return n == 0 ? std::numeric_limits<double>::quiet_NaN() : sum / static_cast<double>(n);
}

std::string BandAsdMonitor::label(const std::pair<double, double>& band) {
  std::ostringstream s;
  s << band.first << "-" << band.second;
  return s.str();
}

}  // namespace deepclean::daemon
