// Streaming, delay-compensated, linear-phase polyphase FIR resampler for rational ratios.
#pragma once

#include <cstddef>
#include <vector>

namespace deepclean::dsp {

// How the anti-aliasing / interpolation filter is designed. The defaults are documented (with
// their pass band, stop-band attenuation and look-ahead) in docs/dsp.md.
struct ResamplerDesign {
  double passband_hz = 0;        // 0: chosen from the rates (see docs/dsp.md)
  double attenuation_db = 0;     // 0: default
  double max_lookahead_s = 0;    // 0: default (a few ms)
};

// Output sample n of a stream sits at exactly t0 + n / out_rate, where t0 is the time of input
// sample 0. Input before t0 is taken as zero (state is reset at segment boundaries), i.e. the
// output equals scipy.signal.resample_poly(x, up, down, window=taps()) sample for sample, emitted
// as soon as the input it needs (lookahead_input_samples() past it) has been pushed.
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
  // Prototype filter at rate in_rate*up (odd length, symmetric, gain `up` like resample_poly's).
  const std::vector<double>& taps() const;
  // Seconds of future input an output sample needs (half the filter span), part of the latency.
  double lookahead_seconds() const;

 private:
  std::vector<double> taps_;
  int in_rate_, out_rate_, up_, down_;
  std::vector<double> history_;  // input samples still needed
  std::size_t consumed_ = 0;     // input samples pushed since reset
  std::size_t emitted_ = 0;
};

}  // namespace deepclean::dsp
