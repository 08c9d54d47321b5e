// Kaiser-windowed FIR design, numerically equal to scipy.signal.firwin(..., window=("kaiser", beta))
// (scale=True), kaiser_beta and kaiserord, plus a centred ("zero-phase" after the delay) FIR apply.
// Used by the resampler's anti-aliasing/interpolation filter and by the planned `fir` band-pass method
// of the cleaning contract (streaming-spec.md step 7).
#pragma once

#include <cstddef>
#include <vector>

namespace deepclean::dsp {

// scipy.signal.windows.kaiser(m, beta, sym=True).
std::vector<double> kaiser_window(std::size_t m, double beta);
// scipy.signal.kaiser_beta(atten_db): the Kaiser beta giving `atten_db` of stop-band attenuation.
double kaiser_beta(double atten_db);
// scipy.signal.kaiserord(atten_db, width_hz / (fs / 2)).first: taps needed for a transition of
// `width_hz` at rate `fs` (Kaiser's empirical formula). Throws std::invalid_argument for atten < 8 dB.
std::size_t kaiser_numtaps(double atten_db, double width_hz, double fs);

// scipy.signal.firwin(numtaps, cutoff_hz, window=("kaiser", beta), fs=fs): low-pass, unit DC gain.
std::vector<double> firwin_lowpass(std::size_t numtaps, double cutoff_hz, double beta, double fs);
// scipy.signal.firwin(numtaps, [lo, hi], pass_zero=False, window=("kaiser", beta), fs=fs): band-pass,
// unit gain at the band centre. numtaps odd for the contract's centred use (2L + 1).
std::vector<double> firwin_bandpass(std::size_t numtaps, double lo, double hi, double beta, double fs);

// Centred FIR of odd length 2L+1: v[n] = sum_k taps[k] * u[n + L - k] for n in [L, n_in - L), i.e. the
// samples whose whole support lies inside the input (n_in - 2L outputs; empty when n_in <= 2L).
std::vector<double> fir_centred(const std::vector<double>& taps, const double* u, std::size_t n_in);

}  // namespace deepclean::dsp
