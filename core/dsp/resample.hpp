// Streaming, delay-compensated, linear-phase polyphase FIR resampler for rational ratios.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace deepclean::dsp {

// How the anti-aliasing / interpolation filter is designed (docs/dsp.md has the measured responses).
// With f_low = min(in_rate, out_rate) the filter is scipy.signal.firwin(numtaps, f_low / 2,
// window=("kaiser", beta), fs=in_rate*up): pass band [0, passband_hz], stop band from
// f_low - passband_hz (everything that would alias or image into the pass band), numtaps and beta from
// Kaiser's formulas (kaiserord) for `attenuation_db` over that transition.
struct ResamplerDesign {
  double passband_hz = 0;        // 0: 0.3 * f_low (60 % of the lower Nyquist frequency)
  double attenuation_db = 0;     // 0: 100 dB
  double max_lookahead_s = 0;    // 0: no limit; otherwise construction throws if the design needs more
};

// Output sample n of a stream sits at exactly t0 + n / out_rate, where t0 is the time of input
// sample 0. Input before t0 is taken as zero (state is reset at segment boundaries), i.e. the
// output equals scipy.signal.resample_poly(x, up, down, window=taps()) sample for sample, emitted
// as soon as the input it needs (up to lookahead_input_samples() past it) has been pushed.
// When in_rate == out_rate the resampler is the identity with zero look-ahead.
class Resampler {
 public:
  Resampler(int in_rate, int out_rate, const ResamplerDesign& design = {});
  void reset();
  // Push n input samples; appends every output sample that became computable to `out`.
  void push(const double* in, std::size_t n, std::vector<double>& out);
  // Number of output samples emitted since the last reset.
  std::size_t emitted() const;

  int in_rate() const;
  int out_rate() const;
  int up() const;    // out_rate / gcd
  int down() const;  // in_rate / gcd
  // Prototype filter at rate in_rate*up: odd length, symmetric, unit DC gain -- exactly what is passed
  // as resample_poly's `window=` (resample_poly multiplies it by `up`; so does this class).
  const std::vector<double>& taps() const;
  // Seconds of future input an output sample needs (half the filter span), part of the latency.
  double lookahead_seconds() const;
  // Largest number of input samples past an output sample's time that it needs: ceil(half / up).
  std::size_t lookahead_input_samples() const;
  double passband_hz() const { return passband_hz_; }    // 0 for the identity
  double stopband_hz() const { return stopband_hz_; }    // 0 for the identity
  double attenuation_db() const { return attenuation_db_; }

 private:
  std::vector<double> taps_;
  int in_rate_, out_rate_, up_, down_;
  double passband_hz_ = 0, stopband_hz_ = 0, attenuation_db_ = 0;
  std::int64_t half_ = 0;                       // (taps - 1) / 2, at rate in_rate*up
  // Polyphase branches stored back to back: branch p is coef_[off_[p] .. off_[p] + len_[p]) =
  // up * taps[p + m*up] for m = len-1 .. 0 (reversed, so it meets the input in increasing order).
  std::vector<double> coef_;
  std::vector<std::size_t> off_, len_;
  std::size_t longest_ = 0;
  std::vector<double> history_;                  // input samples, history_[0] has index base_
  std::int64_t base_ = 0;
  std::size_t consumed_ = 0;  // input samples pushed since reset
  std::size_t emitted_ = 0;
};

}  // namespace deepclean::dsp
