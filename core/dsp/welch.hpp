// Welch power spectral density, numerically equal to scipy.signal.welch(x, fs, nperseg=nperseg) with its
// defaults: periodic Hann window, noverlap = nperseg / 2, nfft = nperseg, detrend="constant" per
// segment, one-sided, scaling="density", average="mean". Used for band ASD ratios (cleaned / raw).
#pragma once

#include <cstddef>
#include <vector>

namespace deepclean::dsp {

struct Spectrum {
  std::vector<double> freqs;  // k * fs / nperseg, k = 0 .. nperseg/2
  std::vector<double> value;  // PSD (unit^2/Hz) or ASD (unit/sqrt(Hz))
};

// Throws std::invalid_argument for fs <= 0, nperseg == 0 or n == 0. As in scipy, nperseg > n is reduced
// to n (one segment).
Spectrum welch_psd(const double* x, std::size_t n, double fs, std::size_t nperseg);
// sqrt of welch_psd.
Spectrum welch_asd(const double* x, std::size_t n, double fs, std::size_t nperseg);

// Mean of a spectrum's values over the bins with lo <= f <= hi (NaN when none).
double band_mean(const Spectrum& s, double lo, double hi);

// In-place discrete Fourier transform X[k] = sum_n x[n] exp(-2 pi i k n / N) of any length (radix-2 for
// powers of two, Bluestein's chirp-z otherwise). Exposed for tests.
void dft(std::vector<double>& re, std::vector<double>& im);

}  // namespace deepclean::dsp
