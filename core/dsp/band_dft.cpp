#include "core/dsp/band_dft.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace deepclean::dsp {

BandDft::BandDft(std::size_t n, double rate, std::vector<std::size_t> bins)
    : n_(n), rate_(rate), bins_(std::move(bins)), cos_(n), sin_(n), win_(n), work_(n), work2_(n) {
  if (n < 2 || !(rate > 0)) throw std::invalid_argument("BandDft: needs n >= 2 samples and a positive rate");
  for (std::size_t k : bins_) {
    if (k > n / 2) throw std::invalid_argument("BandDft: bin " + std::to_string(k) + " is above Nyquist");
  }
  double wss = 0;
  for (std::size_t m = 0; m < n; ++m) {
    const double phase = 2.0 * M_PI * static_cast<double>(m) / static_cast<double>(n);
    cos_[m] = std::cos(phase);
    sin_[m] = std::sin(phase);
    win_[m] = 0.5 - 0.5 * cos_[m];  // periodic ("fftbins") Hann, as dsp::welch_psd
    wss += win_[m] * win_[m];
  }
  scale_ = 1.0 / (rate * wss);
}

std::vector<std::size_t> BandDft::bins_between(std::size_t n, double rate, double low, double high) {
  std::vector<std::size_t> out;
  for (std::size_t k = 0; k <= n / 2; ++k) {
    const double f = frequency(k, n, rate);
    if (f >= low && f <= high) out.push_back(k);
  }
  return out;
}

void BandDft::psd(const double* x, double* out) {
  psd2(x, nullptr, out, nullptr);
}

void BandDft::psd2(const double* x, const double* y, double* out_x, double* out_y) {
  const auto prepare = [&](const double* v, std::vector<double>& work) {
    double mean = 0;
    for (std::size_t i = 0; i < n_; ++i) mean += v[i];
    mean /= static_cast<double>(n_);
    for (std::size_t i = 0; i < n_; ++i) work[i] = (v[i] - mean) * win_[i];
  };
  prepare(x, work_);
  if (y) prepare(y, work2_);
  const bool pow2 = (n_ & (n_ - 1)) == 0;
  for (std::size_t b = 0; b < bins_.size(); ++b) {
    const std::size_t k = bins_[b];
    double re = 0, im = 0, re2 = 0, im2 = 0;
    if (pow2 && y) {
      // k * i mod n by a mask: no branch, and one pass over the twiddles for both signals.
      const std::size_t mask = n_ - 1;
      for (std::size_t i = 0; i < n_; ++i) {
        const std::size_t m = (k * i) & mask;
        re += work_[i] * cos_[m];
        im -= work_[i] * sin_[m];
        re2 += work2_[i] * cos_[m];
        im2 -= work2_[i] * sin_[m];
      }
    } else {
      std::size_t m = 0;  // k * i mod n, so the tables give exp(-2 pi i k i / n) exactly
      for (std::size_t i = 0; i < n_; ++i) {
        re += work_[i] * cos_[m];
        im -= work_[i] * sin_[m];
        if (y) {
          re2 += work2_[i] * cos_[m];
          im2 -= work2_[i] * sin_[m];
        }
        m += k;
        if (m >= n_) m -= n_;
      }
    }
    const bool nyquist = n_ % 2 == 0 && k == n_ / 2;
    const double scale = scale_ * (k != 0 && !nyquist ? 2.0 : 1.0);
    out_x[b] = (re * re + im * im) * scale;
    if (y) out_y[b] = (re2 * re2 + im2 * im2) * scale;
  }
}

}  // namespace deepclean::dsp
