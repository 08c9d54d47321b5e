// The one-sided power spectral density of one Hann-windowed segment at a few chosen DFT bins: what
// scipy.signal.welch(x, fs, window="hann", nperseg=n, noverlap=0, detrend="constant") gives for a
// single segment, at those bins only. A direct DFT of a handful of bins (11 for a 10-Hz band with
// 1-Hz bins) costs a fraction of a full FFT of a 16384-Hz second, which the band monitors need every
// second.
#pragma once

#include <cstddef>
#include <vector>

namespace deepclean::dsp {

class BandDft {
 public:
  BandDft() = default;
  // Segments of n samples at `rate` Hz; `bins` are DFT indices in [0, n/2].
  BandDft(std::size_t n, double rate, std::vector<std::size_t> bins);

  // The DFT bins whose frequency k * rate / n lies in [low, high] (both inclusive).
  static std::vector<std::size_t> bins_between(std::size_t n, double rate, double low, double high);
  static double frequency(std::size_t k, std::size_t n, double rate) {
    return static_cast<double>(k) * rate / static_cast<double>(n);
  }

  std::size_t length() const { return n_; }
  double rate() const { return rate_; }
  const std::vector<std::size_t>& bins() const { return bins_; }

  // PSD of x[0 .. n) at bins(), written to out[0 .. bins().size()): the segment's mean removed, a
  // periodic Hann window, density scaling 1 / (rate * sum w^2), doubled except at 0 and Nyquist.
  void psd(const double* x, double* out);
  // Both at once (sharing the twiddle factors): psd(x, out_x) and psd(y, out_y).
  void psd2(const double* x, const double* y, double* out_x, double* out_y);

 private:
  std::size_t n_ = 0;
  double rate_ = 0;
  std::vector<std::size_t> bins_;
  std::vector<double> cos_, sin_, win_, work_, work2_;
  double scale_ = 0;
};

}  // namespace deepclean::dsp
