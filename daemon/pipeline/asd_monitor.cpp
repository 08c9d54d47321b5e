#include "daemon/pipeline/asd_monitor.hpp"

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>


namespace deepclean::daemon {

BandAsdMonitor::BandAsdMonitor(std::vector<std::pair<double, double>> bands, std::size_t window_seconds)
    : bands_(std::move(bands)), window_(window_seconds) {}

void BandAsdMonitor::plan(std::size_t n, double rate) {
  // One Hann segment per second: 1 Hz bins resolve the narrow (e.g. 58-62 Hz) cleaning bands. Keep
  // every bin that some band contains (the same bins ratio() averages).
  std::vector<std::size_t> bins;
  freqs_.clear();
  for (std::size_t k = 0; k <= n / 2; ++k) {
    const double f = dsp::BandDft::frequency(k, n, rate);
    for (const auto& [lo, hi] : bands_) {
      if (f >= lo && f <= hi) {
        bins.push_back(k);
        freqs_.push_back(f);
        break;
      }
    }
  }
  dft_ = dsp::BandDft(n, rate, std::move(bins));
}

void BandAsdMonitor::add(const std::vector<double>& raw, const std::vector<double>& cleaned, double rate) {
  if (raw.size() != cleaned.size() || raw.empty()) {
    throw std::invalid_argument("BandAsdMonitor::add: raw and cleaned must be the same non-empty length");
  }
  if (raw.size() != dft_.length() || rate != dft_.rate()) {  // first second, or the rate changed: start over
    plan(raw.size(), rate);
    sum_raw_.assign(freqs_.size(), 0.0);
    sum_clean_.assign(freqs_.size(), 0.0);
    history_.clear();
    count_ = 0;
  }
  std::vector<double> r(freqs_.size()), c(freqs_.size());
  dft_.psd(raw.data(), r.data());
  dft_.psd(cleaned.data(), c.data());
  for (std::size_t k = 0; k < freqs_.size(); ++k) {
    sum_raw_[k] += r[k];
    sum_clean_[k] += c[k];
  }
  ++count_;
  if (window_ > 0) {
    history_.emplace_back(r, c);
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
