// Welch's method (Welch 1967): average of modified periodograms of overlapping, detrended, windowed
// segments. Arrangement and normalisation as scipy 1.10.1's welch defaults (see welch.hpp), so the two
// agree to rounding.
#include "core/dsp/welch.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

namespace deepclean::dsp {
namespace {
constexpr double kPi = 3.14159265358979323846;

bool is_pow2(std::size_t n) { return n > 0 && (n & (n - 1)) == 0; }

// Iterative radix-2 decimation-in-time FFT; sign = -1 forward, +1 inverse (unscaled).
void fft_pow2(std::vector<double>& re, std::vector<double>& im, double sign) {
  const std::size_t n = re.size();
  for (std::size_t i = 1, j = 0; i < n; ++i) {
    std::size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      std::swap(re[i], re[j]);
      std::swap(im[i], im[j]);
    }
  }
  for (std::size_t len = 2; len <= n; len <<= 1) {
    const std::size_t half = len / 2;
    // Twiddles computed directly (not by recurrence) to keep the error at a few ulps.
    for (std::size_t k = 0; k < half; ++k) {
      const double ang = sign * 2.0 * kPi * static_cast<double>(k) / static_cast<double>(len);
      const double wr = std::cos(ang), wi = std::sin(ang);
      for (std::size_t s = 0; s < n; s += len) {
        const std::size_t a = s + k, b = a + half;
        const double tr = re[b] * wr - im[b] * wi;
        const double ti = re[b] * wi + im[b] * wr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
      }
    }
  }
}

// Bluestein: X[k] = conj(c[k]) * sum_n (x[n] conj(c[n])) c[k-n] with chirp c[n] = exp(i pi n^2 / N),
// the convolution done with power-of-two FFTs.
void dft_bluestein(std::vector<double>& re, std::vector<double>& im) {
  const std::size_t n = re.size();
  std::size_t m = 1;
  while (m < 2 * n - 1) m <<= 1;
  std::vector<double> cr(n), ci(n);
  for (std::size_t k = 0; k < n; ++k) {
    // k^2 mod 2N keeps the angle argument small and exact.
    const std::size_t k2 = (k * k) % (2 * n);
    const double ang = kPi * static_cast<double>(k2) / static_cast<double>(n);
    cr[k] = std::cos(ang);
    ci[k] = std::sin(ang);
  }
  std::vector<double> ar(m, 0.0), ai(m, 0.0), br(m, 0.0), bi(m, 0.0);
  for (std::size_t k = 0; k < n; ++k) {
    // a = x * conj(c)
    ar[k] = re[k] * cr[k] + im[k] * ci[k];
    ai[k] = im[k] * cr[k] - re[k] * ci[k];
  }
  br[0] = cr[0];
  bi[0] = ci[0];
  for (std::size_t k = 1; k < n; ++k) {
    br[k] = br[m - k] = cr[k];
    bi[k] = bi[m - k] = ci[k];
  }
  fft_pow2(ar, ai, -1.0);
  fft_pow2(br, bi, -1.0);
  for (std::size_t k = 0; k < m; ++k) {
    const double r = ar[k] * br[k] - ai[k] * bi[k];
    const double i = ar[k] * bi[k] + ai[k] * br[k];
    ar[k] = r;
    ai[k] = i;
  }
  fft_pow2(ar, ai, 1.0);
  const double inv = 1.0 / static_cast<double>(m);
  for (std::size_t k = 0; k < n; ++k) {
    const double r = ar[k] * inv, i = ai[k] * inv;
    re[k] = r * cr[k] + i * ci[k];
    im[k] = i * cr[k] - r * ci[k];
  }
}
}  // namespace

void dft(std::vector<double>& re, std::vector<double>& im) {
  if (re.size() != im.size()) throw std::invalid_argument("dft: real and imaginary parts differ in length");
  if (re.size() <= 1) return;
  if (is_pow2(re.size())) {
    fft_pow2(re, im, -1.0);
  } else {
    dft_bluestein(re, im);
  }
}

Spectrum welch_psd(const double* x, std::size_t n, double fs, std::size_t nperseg) {
  if (!(fs > 0) || !std::isfinite(fs)) throw std::invalid_argument("welch: sample rate must be positive");
  if (nperseg == 0) throw std::invalid_argument("welch: nperseg must be positive");
  if (n == 0) throw std::invalid_argument("welch: empty input");
  if (nperseg > n) nperseg = n;
  const std::size_t noverlap = nperseg / 2;
  const std::size_t step = nperseg - noverlap;
  const std::size_t nseg = (n - noverlap) / step;
  const std::size_t nf = nperseg / 2 + 1;

  // Periodic ("fftbins") Hann window, 0.5 - 0.5 cos(2 pi i / nperseg).
  std::vector<double> win(nperseg);
  double wss = 0.0;
  for (std::size_t i = 0; i < nperseg; ++i) {
    win[i] = 0.5 - 0.5 * std::cos(2.0 * kPi * static_cast<double>(i) / static_cast<double>(nperseg));
    wss += win[i] * win[i];
  }
  const double scale = 1.0 / (fs * wss);

  Spectrum s;
  s.value.assign(nf, 0.0);
  std::vector<double> re(nperseg), im(nperseg);
  for (std::size_t g = 0; g < nseg; ++g) {
    const double* seg = x + g * step;
    double mean = 0.0;
    for (std::size_t i = 0; i < nperseg; ++i) mean += seg[i];
    mean /= static_cast<double>(nperseg);
    for (std::size_t i = 0; i < nperseg; ++i) {
      re[i] = (seg[i] - mean) * win[i];
      im[i] = 0.0;
    }
    dft(re, im);
    for (std::size_t k = 0; k < nf; ++k) {
      double p = (re[k] * re[k] + im[k] * im[k]) * scale;
      // One-sided: fold the negative frequencies onto the positive ones (not DC, not Nyquist).
      const bool nyquist = (nperseg % 2 == 0) && k == nf - 1;
      if (k != 0 && !nyquist) p *= 2.0;
      s.value[k] += p;
    }
  }
  for (double& v : s.value) v /= static_cast<double>(nseg);
  s.freqs.resize(nf);
  const double df = 1.0 / (static_cast<double>(nperseg) * (1.0 / fs));
  for (std::size_t k = 0; k < nf; ++k) s.freqs[k] = static_cast<double>(k) * df;
  return s;
}

Spectrum welch_asd(const double* x, std::size_t n, double fs, std::size_t nperseg) {
  Spectrum s = welch_psd(x, n, fs, nperseg);
  for (double& v : s.value) v = std::sqrt(v);
  return s;
}

double band_mean(const Spectrum& s, double lo, double hi) {
  double sum = 0.0;
  std::size_t count = 0;
  for (std::size_t k = 0; k < s.freqs.size(); ++k) {
    if (s.freqs[k] >= lo && s.freqs[k] <= hi) {
      sum += s.value[k];
      ++count;
    }
  }
  return count ? sum / static_cast<double>(count) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace deepclean::dsp
