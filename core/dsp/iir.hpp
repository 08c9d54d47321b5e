// Butterworth design and second-order-section (SOS) filtering in double precision, numerically equal
// to scipy.signal.butter(..., output="sos"), sosfilt (with zi) and sosfiltfilt.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

namespace deepclean::dsp {

// One row per section, scipy's layout: {b0, b1, b2, a0, a1, a2} with a0 == 1.
using Section = std::array<double, 6>;
using Sos = std::vector<Section>;

// scipy.signal.butter(order, [lo, hi], btype="bandpass", fs=fs, output="sos"): `order` sections.
// Throws std::invalid_argument unless 1 <= order <= 16 (and 0 < lo < hi < fs/2, fs > 0).
Sos butter_bandpass(int order, double lo, double hi, double fs);
// scipy.signal.butter(order, fc, btype="lowpass"/"highpass", fs=fs, output="sos"): ceil(order/2) sections.
Sos butter_lowpass(int order, double fc, double fs);
Sos butter_highpass(int order, double fc, double fs);

// Streaming cascade of direct-form-II-transposed biquads. The state has scipy's zi layout
// (n_sections x 2, row-major) and persists across process() calls, so chunked filtering equals
// filtering everything at once.
class SosFilter {
 public:
  explicit SosFilter(Sos sos);
  void reset();  // zero state
  // out may alias in.
  void process(const double* in, double* out, std::size_t n);
  const std::vector<double>& state() const { return zi_; }
  void set_state(std::vector<double> zi);  // size must be 2 * sections
  const Sos& sos() const { return sos_; }

 private:
  Sos sos_;
  std::vector<double> zi_;
};

// scipy.signal.sosfilt_zi(sos): the steady-state of a unit step (n_sections x 2, row-major).
std::vector<double> sosfilt_zi(const Sos& sos);

// scipy.signal.sosfiltfilt(sos, x) with its defaults (padtype="odd", padlen = 3 * (2 * n_sections + 1
// - min(#b2==0, #a2==0))). Throws std::invalid_argument when n <= padlen, like scipy.
std::vector<double> sosfiltfilt(const Sos& sos, const double* x, std::size_t n);
// The same into y[0, n) (may alias x), with `work` as scratch (grown as needed and reusable across calls):
// no allocation once `work` has reached n + 2 * padlen, which matters for the `window` method's
// ~47k-sample blocks (fresh ~0.4 MB buffers per call cost more in page faults than the filtering).
void sosfiltfilt(const Sos& sos, const double* x, std::size_t n, double* y, std::vector<double>& work);
// The padlen sosfiltfilt uses for `sos` (minimum input length is padlen + 1).
std::size_t sosfiltfilt_padlen(const Sos& sos);

}  // namespace deepclean::dsp
