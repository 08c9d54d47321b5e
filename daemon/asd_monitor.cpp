#include "daemon/asd_monitor.hpp"

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>


namespace deepclean::daemon {

BandAsdMonitor::BandAsdMonitor(std::vector<std::pair<double, double>> bands, std::size_t window_seconds)
    : bands_(std::move(bands)), window_(window_seconds) {}

void BandAsdMonitor::plan(std::size_t n, double rate) {
  plan_n_ = n;
  plan_rate_ = rate;
  // One Hann segment per second: 1 Hz bins resolve the narrow (e.g. 58-62 Hz) cleaning bands. Bin k
  // is at k * rate / n Hz; keep every bin that some band contains (the same bins ratio() averages).
  const double df = rate / static_cast<double>(n);
  bins_.clear();
  freqs_.clear();
  for (std::size_t k = 0; k <= n / 2; ++k) {
    const double f = static_cast<double>(k) * df;
    for (const auto& [lo, hi] : bands_) {
      if (f >= lo && f <= hi) {
        bins_.push_back(k);
        freqs_.push_back(f);
        break;
      }
    }
  }
  cos_.resize(n);
  sin_.resize(n);
  win_.resize(n);
  double wss = 0;
  for (std::size_t m = 0; m < n; ++m) {
    const double phase = 2.0 * M_PI * static_cast<double>(m) / static_cast<double>(n);
    cos_[m] = std::cos(phase);
    sin_[m] = std::sin(phase);
    win_[m] = 0.5 - 0.5 * cos_[m];  // periodic ("fftbins") Hann, as dsp::welch_psd
    wss += win_[m] * win_[m];
  }
  scale_ = 1.0 / (rate * wss);
  work_.resize(n);
}

// dsp::welch_psd(x, n, rate, n) at bins_ only: one segment, mean removed, Hann window, one-sided.
std::vector<double> BandAsdMonitor::band_psd(const std::vector<double>& x) {
  const std::size_t n = x.size();
  double mean = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(n);
  for (std::size_t i = 0; i < n; ++i) work_[i] = (x[i] - mean) * win_[i];
  std::vector<double> psd(bins_.size());
  for (std::size_t b = 0; b < bins_.size(); ++b) {
    const std::size_t k = bins_[b];
    double re = 0, im = 0;
    std::size_t m = 0;  // k * i mod n, so the tables give exp(-2 pi i k i / n) exactly
    for (std::size_t i = 0; i < n; ++i) {
      re += work_[i] * cos_[m];
      im -= work_[i] * sin_[m];
      m += k;
      if (m >= n) m -= n;
    }
    const bool nyquist = n % 2 == 0 && k == n / 2;
    psd[b] = (re * re + im * im) * scale_ * (k != 0 && !nyquist ? 2.0 : 1.0);
  }
  return psd;
}

void BandAsdMonitor::add(const std::vector<double>& raw, const std::vector<double>& cleaned, double rate) {
  if (raw.size() != cleaned.size() || raw.empty()) {
    throw std::invalid_argument("BandAsdMonitor::add: raw and cleaned must be the same non-empty length");
  }
  if (raw.size() != plan_n_ || rate != plan_rate_) {  // first second, or the rate changed: start over
    plan(raw.size(), rate);
    sum_raw_.assign(freqs_.size(), 0.0);
    sum_clean_.assign(freqs_.size(), 0.0);
    history_.clear();
    count_ = 0;
  }
  const std::vector<double> r = band_psd(raw);
  const std::vector<double> c = band_psd(cleaned);
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
