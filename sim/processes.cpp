#include "sim/processes.hpp"

#include <cmath>
#include <iterator>
#include <stdexcept>

#include "core/dsp/welch.hpp"
#include "sim/random.hpp"

namespace deepclean::sim {
namespace {
constexpr double kPi = 3.14159265358979323846;
constexpr std::uint64_t kWhitePurpose = 1;
}  // namespace

ColouredNoise::ColouredNoise(int rate, std::size_t taps, const std::function<double(double)>& asd,
                             std::uint64_t seed, std::uint64_t channel_key)
    : rate_(rate), seed_(seed), key_(channel_key) {
  if (rate <= 0 || (rate & (rate - 1)) != 0) throw std::invalid_argument("ColouredNoise: rate must be a power of two");
  if (taps < 4 || taps % 2 != 0) throw std::invalid_argument("ColouredNoise: taps must be even and >= 4");
  const auto r = static_cast<std::size_t>(rate);
  history_ = (taps - 1 + r - 1) / r;
  nfft_ = 1;
  while (nfft_ < (history_ + 1) * r) nfft_ <<= 1;

  // Frequency sampling: real, even (zero-phase) response on the taps-point grid. White noise of unit
  // variance has one-sided PSD 2/rate, so |H| = asd * sqrt(rate/2) gives PSD asd^2.
  const std::size_t L = taps;
  std::vector<double> re(L, 0.0), im(L, 0.0);
  const double gain = std::sqrt(static_cast<double>(rate) / 2.0);
  for (std::size_t k = 0; k <= L / 2; ++k) {
    const double f = static_cast<double>(k) * static_cast<double>(rate) / static_cast<double>(L);
    re[k] = asd(f) * gain;
    if (k > 0 && k < L / 2) re[L - k] = re[k];
  }
  dsp::dft(re, im);  // a real even sequence's DFT is real and even: this is L * h0[n]
  h_.assign(L, 0.0);
  for (std::size_t n = 0; n < L; ++n) {
    // Delay by L/2 (causal, linear phase) and taper the truncation with a Hann window; the window's
    // transform {1/4, 1/2, 1/4} (after the half-length shift) keeps the gain on smooth spectra.
    const double h0 = re[(n + L / 2) % L] / static_cast<double>(L);
    const double w = 0.5 - 0.5 * std::cos(2.0 * kPi * static_cast<double>(n) / static_cast<double>(L));
    h_[n] = h0 * w;
  }
  hre_.assign(nfft_, 0.0);
  him_.assign(nfft_, 0.0);
  for (std::size_t n = 0; n < L; ++n) hre_[n] = h_[n];
  dsp::dft(hre_, him_);
}

const std::vector<double>& ColouredNoise::white(std::int64_t gps) {
  auto it = white_cache_.find(gps);
  if (it != white_cache_.end()) return it->second;
  std::vector<double> w(static_cast<std::size_t>(rate_));
  Gaussian g(stream_key(seed_, key_, gps, kWhitePurpose));
  g.fill(w.data(), w.size());
  // Keep only what the next seconds of a sequential run need (and stay bounded for any access order).
  const auto keep = static_cast<std::int64_t>(history_) + 2;
  while (!white_cache_.empty() && white_cache_.begin()->first < gps - keep) white_cache_.erase(white_cache_.begin());
  while (!white_cache_.empty() && white_cache_.rbegin()->first > gps + keep) {
    white_cache_.erase(std::prev(white_cache_.end()));
  }
  return white_cache_.emplace(gps, std::move(w)).first->second;
}

void ColouredNoise::second(std::int64_t gps, double* out) {
  const auto r = static_cast<std::size_t>(rate_);
  re_.assign(nfft_, 0.0);
  im_.assign(nfft_, 0.0);
  for (std::size_t s = 0; s <= history_; ++s) {
    const auto& w = white(gps - static_cast<std::int64_t>(history_ - s));
    for (std::size_t i = 0; i < r; ++i) re_[s * r + i] = w[i];
  }
  dsp::dft(re_, im_);
  // Multiply by H and conjugate, so that a second forward DFT gives N * conj(ifft) = N * ifft (real).
  for (std::size_t k = 0; k < nfft_; ++k) {
    const double a = re_[k] * hre_[k] - im_[k] * him_[k];
    const double b = re_[k] * him_[k] + im_[k] * hre_[k];
    re_[k] = a;
    im_[k] = -b;
  }
  dsp::dft(re_, im_);
  const double inv = 1.0 / static_cast<double>(nfft_);
  for (std::size_t i = 0; i < r; ++i) out[i] = re_[history_ * r + i] * inv;
}

double ColouredNoise::realised_psd(double f) const {
  double a = 0, b = 0;
  for (std::size_t n = 0; n < h_.size(); ++n) {
    const double ph = -2.0 * kPi * f * static_cast<double>(n) / rate_;
    a += h_[n] * std::cos(ph);
    b += h_[n] * std::sin(ph);
  }
  return (a * a + b * b) * 2.0 / rate_;
}

SplineProcess::SplineProcess(std::uint64_t seed, std::uint64_t channel_key, std::uint64_t purpose,
                             std::int64_t knot_samples)
    : seed_(seed), key_(channel_key), purpose_(purpose), knot_samples_(knot_samples) {
  if (knot_samples <= 0) throw std::invalid_argument("SplineProcess: knot spacing must be positive");
}

double SplineProcess::knot(std::int64_t j) const { return normal_from_key(stream_key(seed_, key_, j, purpose_)); }

double SplineProcess::at(std::int64_t tick) const {
  const std::int64_t j = floor_div(tick, knot_samples_);
  const double u = static_cast<double>(tick - j * knot_samples_) / static_cast<double>(knot_samples_);
  const double u2 = u * u, u3 = u2 * u;
  const double b0 = (1 - u) * (1 - u) * (1 - u) / 6.0;
  const double b1 = (3 * u3 - 6 * u2 + 4) / 6.0;
  const double b2 = (-3 * u3 + 3 * u2 + 3 * u + 1) / 6.0;
  const double b3 = u3 / 6.0;
  // Sum of squared basis weights lies in [0.46, 0.5]; 1/sqrt(0.48) makes the mean variance ~1.
  constexpr double kNorm = 1.4433756729740643;
  return kNorm * (b0 * knot(j - 1) + b1 * knot(j) + b2 * knot(j + 1) + b3 * knot(j + 2));
}

}  // namespace deepclean::sim
