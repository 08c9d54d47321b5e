// Polyphase rational resampler. Output n is the sample at t0 + n/out_rate of the zero-stuffed input
// (rate in_rate*up) filtered with up*taps centred on it:
//   y[n] = up * sum_k taps[k] * xu[n*down + half - k],  xu[j] = x[j/up] if up divides j, else 0,
// which is what scipy.signal.resample_poly(x, up, down, window=taps) computes (its pre-pad and
// pre-remove exactly cancel the filter delay). Only taps with k = (n*down + half) mod up (+ m*up) meet
// a non-zero xu, so each output is one short dot product with a single polyphase branch.
#include "core/dsp/resample.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>

#include "core/dsp/fir.hpp"

namespace deepclean::dsp {
namespace {
// Four partial sums: breaks the add-latency chain (the compiler may not reassociate doubles itself). The
// summation order is fixed, so results do not depend on chunking; it differs from resample_poly's only
// by rounding (~1e-16 relative).
double dot(const double* b, const double* x, std::size_t n) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  std::size_t r = 0;
  for (; r + 4 <= n; r += 4) {
    s0 += b[r] * x[r];
    s1 += b[r + 1] * x[r + 1];
    s2 += b[r + 2] * x[r + 2];
    s3 += b[r + 3] * x[r + 3];
  }
  for (; r < n; ++r) s0 += b[r] * x[r];
  return (s0 + s1) + (s2 + s3);
}

std::string fmt(double v) {
  std::ostringstream s;
  s.precision(6);
  s << v;
  return s.str();
}
}  // namespace

Resampler::Resampler(int in_rate, int out_rate, const ResamplerDesign& design)
    : in_rate_(in_rate), out_rate_(out_rate), up_(1), down_(1) {
  if (in_rate <= 0 || out_rate <= 0) {
    throw std::invalid_argument("Resampler: sample rates must be positive, got " + std::to_string(in_rate) +
                                " -> " + std::to_string(out_rate) + " Hz");
  }
  const int g = std::gcd(in_rate, out_rate);
  up_ = out_rate / g;
  down_ = in_rate / g;
  if (!std::isfinite(design.passband_hz) || !std::isfinite(design.attenuation_db) ||
      !std::isfinite(design.max_lookahead_s) || design.max_lookahead_s < 0) {
    throw std::invalid_argument("Resampler: design parameters must be finite and non-negative");
  }
  if (up_ == 1 && down_ == 1) {
    taps_ = {1.0};
  } else {
    const double f_low = static_cast<double>(std::min(in_rate, out_rate));
    passband_hz_ = design.passband_hz > 0 ? design.passband_hz : 0.3 * f_low;
    attenuation_db_ = design.attenuation_db > 0 ? design.attenuation_db : 100.0;
    if (design.passband_hz < 0 || !(passband_hz_ < f_low / 2)) {
      throw std::invalid_argument("Resampler " + std::to_string(in_rate) + " -> " + std::to_string(out_rate) +
                                  " Hz: pass band " + fmt(passband_hz_) + " Hz must be below the lower Nyquist " +
                                  fmt(f_low / 2) + " Hz");
    }
    if (design.attenuation_db < 0 || attenuation_db_ < 21 || attenuation_db_ > 300) {
      throw std::invalid_argument("Resampler: stop-band attenuation must be in [21, 300] dB, got " +
                                  fmt(attenuation_db_));
    }
    stopband_hz_ = f_low - passband_hz_;
    const double fs_int = static_cast<double>(in_rate) * up_;
    std::size_t numtaps = kaiser_numtaps(attenuation_db_, stopband_hz_ - passband_hz_, fs_int);
    if (numtaps % 2 == 0) ++numtaps;  // odd: an integer centre, so the delay is compensated exactly
    if (numtaps > (std::size_t{1} << 24)) {
      throw std::invalid_argument("Resampler " + std::to_string(in_rate) + " -> " + std::to_string(out_rate) +
                                  " Hz: the design needs " + std::to_string(numtaps) +
                                  " taps; widen the transition (lower pass band)");
    }
    taps_ = firwin_lowpass(numtaps, f_low / 2, kaiser_beta(attenuation_db_), fs_int);
  }
  half_ = static_cast<std::int64_t>((taps_.size() - 1) / 2);
  if (design.max_lookahead_s > 0 && lookahead_seconds() > design.max_lookahead_s) {
    throw std::invalid_argument("Resampler " + std::to_string(in_rate) + " -> " + std::to_string(out_rate) +
                                " Hz: the filter (pass band " + fmt(passband_hz_) + " Hz, " +
                                fmt(attenuation_db_) + " dB) needs " + fmt(lookahead_seconds() * 1e3) +
                                " ms of look-ahead, more than the allowed " + fmt(design.max_lookahead_s * 1e3) +
                                " ms; lower the pass band or the attenuation");
  }
  // Polyphase branches, each reversed so that a branch meets the input in increasing index order.
  const auto up = static_cast<std::size_t>(up_);
  off_.resize(up);
  len_.resize(up);
  for (std::size_t ph = 0; ph < up; ++ph) {
    off_[ph] = coef_.size();
    const std::size_t first = coef_.size();
    for (std::size_t k = ph; k < taps_.size(); k += up) coef_.push_back(static_cast<double>(up_) * taps_[k]);
    std::reverse(coef_.begin() + static_cast<std::ptrdiff_t>(first), coef_.end());
    len_[ph] = coef_.size() - first;
    longest_ = std::max(longest_, len_[ph]);
  }
  reset();
}

void Resampler::reset() {
  // longest - 1 zeros stand for the input before t0.
  history_.assign(longest_ > 0 ? longest_ - 1 : 0, 0.0);
  base_ = -static_cast<std::int64_t>(history_.size());
  consumed_ = 0;
  emitted_ = 0;
}

void Resampler::push(const double* in, std::size_t n, std::vector<double>& out) {
  if (n == 0) return;
  if (up_ == 1 && down_ == 1) {
    out.insert(out.end(), in, in + n);
    consumed_ += n;
    emitted_ += n;
    return;
  }
  history_.insert(history_.end(), in, in + n);
  consumed_ += n;
  const auto consumed = static_cast<std::int64_t>(consumed_);
  const std::int64_t up = up_, down = down_;
  // Output n needs input up to top = floor((n*down + half) / up) through branch (n*down + half) mod up.
  // One division per push; then (top, phase) advance by (down / up, down mod up) per output.
  const std::int64_t j0 = static_cast<std::int64_t>(emitted_) * down + half_;
  std::int64_t top = j0 / up;
  std::int64_t phase = j0 % up;
  const std::int64_t step_top = down / up, step_phase = down % up;
  const double* hist = history_.data();  // hist[i - base_] is input sample i
  while (top < consumed) {
    const auto ph = static_cast<std::size_t>(phase);
    const std::size_t len = len_[ph];
    out.push_back(dot(coef_.data() + off_[ph], hist + (top - base_ - (static_cast<std::int64_t>(len) - 1)), len));
    ++emitted_;
    top += step_top;
    phase += step_phase;
    if (phase >= up) {
      phase -= up;
      ++top;
    }
  }
  // Drop input no future output needs: the next output's oldest sample is top - (longest - 1). Erase
  // only when at least half the buffer goes, so the copying stays amortised O(1) per sample.
  const std::int64_t keep_from = top - (static_cast<std::int64_t>(longest_) - 1);
  const std::int64_t drop = std::min(keep_from - base_, static_cast<std::int64_t>(history_.size()));
  if (drop > 0 && static_cast<std::size_t>(drop) * 2 >= history_.size()) {
    history_.erase(history_.begin(), history_.begin() + drop);
    base_ += drop;
  }
}

std::size_t Resampler::emitted() const { return emitted_; }
int Resampler::in_rate() const { return in_rate_; }
int Resampler::out_rate() const { return out_rate_; }
int Resampler::up() const { return up_; }
int Resampler::down() const { return down_; }
const std::vector<double>& Resampler::taps() const { return taps_; }

double Resampler::lookahead_seconds() const {
  return static_cast<double>(half_) / (static_cast<double>(in_rate_) * up_);
}

std::size_t Resampler::lookahead_input_samples() const {
  return static_cast<std::size_t>((half_ + up_ - 1) / up_);
}

}  // namespace deepclean::dsp
