// Windowed-sinc FIR design. The formulas are the textbook ones (Kaiser & Schafer 1980 for beta and the
// length estimate; ideal band-pass = difference of two sincs), in the same arrangement scipy 1.10.1's
// firwin uses so results agree to rounding: sinc arguments normalised to the Nyquist rate, taps centred
// on (numtaps-1)/2, window applied, then scaled to unit gain at DC (low-pass) or at the band centre.
#include "core/dsp/fir.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

namespace deepclean::dsp {
namespace {
constexpr double kPi = 3.14159265358979323846;

std::string fmt(double v) {
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

// Modified Bessel function I0 by its power series sum ((x/2)^k / k!)^2: every term is positive, so the
// sum has no cancellation and converges to full precision for the beta range used here (< 40).
double bessel_i0(double x) {
  const double q = x * x / 4.0;
  double term = 1.0, sum = 1.0;
  for (int k = 1; k < 500; ++k) {
    term *= q / (static_cast<double>(k) * static_cast<double>(k));
    sum += term;
    if (term < sum * 1e-18) break;
  }
  return sum;
}

double sinc(double x) {
  if (x == 0.0) return 1.0;
  const double a = kPi * x;
  return std::sin(a) / a;
}

void check_taps(std::size_t numtaps, double fs) {
  if (numtaps < 1) throw std::invalid_argument("firwin: numtaps must be at least 1");
  if (!(fs > 0) || !std::isfinite(fs)) throw std::invalid_argument("firwin: sample rate must be positive, got " + fmt(fs));
}

// h[n] += c * sinc(c * m) for band edge c normalised to Nyquist, m = n - (numtaps - 1)/2.
void add_sinc(std::vector<double>& h, double c, double sign) {
  const double alpha = 0.5 * static_cast<double>(h.size() - 1);
  for (std::size_t n = 0; n < h.size(); ++n) {
    const double m = static_cast<double>(n) - alpha;
    h[n] += sign * c * sinc(c * m);
  }
}

void window_and_scale(std::vector<double>& h, double beta, double scale_freq) {
  const std::vector<double> w = kaiser_window(h.size(), beta);
  const double alpha = 0.5 * static_cast<double>(h.size() - 1);
  double s = 0.0;
  for (std::size_t n = 0; n < h.size(); ++n) {
    h[n] *= w[n];
    const double m = static_cast<double>(n) - alpha;
    s += h[n] * std::cos(kPi * m * scale_freq);
  }
  for (double& v : h) v /= s;
}
}  // namespace

std::vector<double> kaiser_window(std::size_t m, double beta) {
  if (m == 0) return {};
  if (m == 1) return {1.0};
  std::vector<double> w(m);
  const double alpha = 0.5 * static_cast<double>(m - 1);
  const double den = bessel_i0(beta);
  for (std::size_t n = 0; n < m; ++n) {
    const double r = (static_cast<double>(n) - alpha) / alpha;
    w[n] = bessel_i0(beta * std::sqrt(std::max(0.0, 1.0 - r * r))) / den;
  }
  return w;
}

double kaiser_beta(double a) {
  if (a > 50) return 0.1102 * (a - 8.7);
  if (a > 21) return 0.5842 * std::pow(a - 21, 0.4) + 0.07886 * (a - 21);
  return 0.0;
}

std::size_t kaiser_numtaps(double atten_db, double width_hz, double fs) {
  if (!(atten_db >= 8) || !std::isfinite(atten_db)) {
    throw std::invalid_argument("kaiser_numtaps: attenuation must be at least 8 dB, got " + fmt(atten_db));
  }
  if (!(width_hz > 0) || !(fs > 0)) {
    throw std::invalid_argument("kaiser_numtaps: transition width and rate must be positive");
  }
  const double width = width_hz / (fs / 2);
  const double n = (atten_db - 7.95) / 2.285 / (kPi * width) + 1;
  if (!(n < 1e12)) throw std::invalid_argument("kaiser_numtaps: transition of " + fmt(width_hz) + " Hz is too narrow");
  return static_cast<std::size_t>(std::ceil(n));
}

std::vector<double> firwin_lowpass(std::size_t numtaps, double cutoff_hz, double beta, double fs) {
  check_taps(numtaps, fs);
  if (!(cutoff_hz > 0) || !(cutoff_hz < fs / 2)) {
    throw std::invalid_argument("firwin: cutoff " + fmt(cutoff_hz) + " Hz must satisfy 0 < f < fs/2 = " + fmt(fs / 2));
  }
  std::vector<double> h(numtaps, 0.0);
  add_sinc(h, cutoff_hz / (fs / 2), 1.0);
  window_and_scale(h, beta, 0.0);
  return h;
}

std::vector<double> firwin_bandpass(std::size_t numtaps, double lo, double hi, double beta, double fs) {
  check_taps(numtaps, fs);
  if (!(lo > 0) || !(hi < fs / 2) || !(lo < hi)) {
    throw std::invalid_argument("firwin: band [" + fmt(lo) + ", " + fmt(hi) + "] Hz must satisfy 0 < lo < hi < fs/2 = " +
                                fmt(fs / 2));
  }
  const double nyq = fs / 2;
  std::vector<double> h(numtaps, 0.0);
  add_sinc(h, hi / nyq, 1.0);
  add_sinc(h, lo / nyq, -1.0);
  window_and_scale(h, beta, 0.5 * (lo / nyq + hi / nyq));
  return h;
}

std::vector<double> fir_centred(const std::vector<double>& taps, const double* u, std::size_t n_in) {
  if (taps.size() % 2 != 1) throw std::invalid_argument("fir_centred: taps must have odd length 2L+1");
  const std::size_t len = taps.size();
  if (n_in < len) return {};
  std::vector<double> v(n_in - len + 1);
  // v[n] (n = L + j) = sum_k taps[k] u[j + 2L - k]; for symmetric taps this is the plain correlation.
  for (std::size_t j = 0; j < v.size(); ++j) {
    double acc = 0.0;
    const double* up = u + j + len - 1;
    for (std::size_t k = 0; k < len; ++k) acc += taps[k] * *(up - k);
    v[j] = acc;
  }
  return v;
}

}  // namespace deepclean::dsp
