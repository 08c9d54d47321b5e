// Contract step 7: band-pass of the un-standardised noise estimate u, per segment. Each method is a
// NoiseBandpass: final u samples in (from n = a on), final v samples out, each marked as an estimate or
// not. `window` works per output block; `fir` has no block structure (v[n] needs u up to n + L).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "core/dsp/iir.hpp"

namespace deepclean::stream {

enum class BandpassMethod { none, causal, window, fir };

struct Band {
  double lo = 0;  // Hz
  double hi = 0;  // Hz
};

struct BandpassConfig {
  BandpassMethod method = BandpassMethod::window;
  std::vector<Band> bands;  // filtered separately, results summed
  int order = 8;            // scipy.signal.butter order
  std::size_t memory = 0;      // M: samples of past u for the `window` method
  std::size_t look_ahead = 0;  // L: samples of future u (`window`: also the taper; `fir`: 2L + 1 taps)
  double kaiser_beta = 6.0;    // `fir`: the Kaiser window's beta
};

// Output blocks at fs in segment-relative samples: boundaries at `first_boundary + k * length`
// (k >= 0) besides the segment start, i.e. block 0 is [0, first_boundary) when first_boundary > 0.
struct BlockGrid {
  std::size_t length = 0;          // samples per output frame at fs
  std::size_t first_boundary = 0;  // in [0, length)
  // [begin, end) of the block holding sample n.
  std::size_t block_begin(std::size_t n) const;
  std::size_t block_end(std::size_t n) const;
};

class NoiseBandpass {
 public:
  virtual ~NoiseBandpass() = default;
  // A segment starts; its u begins at sample `first` (= a).
  virtual void reset(std::size_t first, const BlockGrid& grid) = 0;
  // Final u samples, consecutive from `first`.
  virtual void push(const double* u, std::size_t n) = 0;
  // No more u in this segment: u ends where the pushed samples end (the `e` of the window method).
  virtual void end() = 0;
  // Append every v sample that became final, consecutive from `first`; estimated[i] is 0 where the
  // method gives no estimate (v is then 0).
  virtual void pop(std::vector<double>& v, std::vector<unsigned char>& estimated) = 0;
  // Samples of u past an output sample that it may need (the method's share of the latency).
  virtual std::size_t look_ahead() const = 0;
  // Before end(): a lower bound on where the estimated samples will end (q), from the u seen so far,
  // assuming an estimate has started. Lets the subtraction weight be decided without waiting for v.
  virtual std::size_t estimate_extent() const = 0;
};

// Designs one Butterworth band-pass per band (scipy.signal.butter(order, [lo, hi], "bandpass", fs=fs,
// output="sos")). Throws std::invalid_argument naming the bad band or order.
std::vector<dsp::Sos> design_bands(const std::vector<Band>& bands, int order, int fs);

// The `fir` method's filters: per band scipy.signal.firwin(2L + 1, [lo, hi], pass_zero=False, fs=fs,
// window=("kaiser", beta)). Throws std::invalid_argument naming the bad band, L = 0 or a bad beta.
std::vector<std::vector<double>> design_fir_bands(const std::vector<Band>& bands, std::size_t look_ahead,
                                                  double beta, int fs);

// Throws std::invalid_argument for an inconsistent configuration (see design_bands; `none` accepts
// an empty band list).
std::unique_ptr<NoiseBandpass> make_bandpass(const BandpassConfig& config, int fs);

// Buffers window_block() reuses between blocks (the slices are ~47k samples; allocating them per
// block costs more than filtering them).
struct WindowScratch {
  std::vector<double> tapered, filtered, work;
};

// The `window` method's computation for one block: from the slice u[lo, hi) (`slice`, `slice_length`
// samples), Hann half tapers on its first and last L samples, sosfiltfilt per band, summed, written
// for the kept samples slice[keep_offset, keep_offset + keep_length) to v. Returns false, writing
// nothing, when the slice is too short for sosfiltfilt (scipy raises there): no estimate.
bool window_block(const std::vector<dsp::Sos>& bands, std::size_t look_ahead, const double* slice,
                  std::size_t slice_length, std::size_t keep_offset, std::size_t keep_length,
                  double* v, WindowScratch& scratch);

// The `fir` method's computation (docs/contract-notes.md, step 7): v[n] = sum_k taps[k] u[n + L - k]
// for the 2L + 1 taps (the bands' filters summed), where u is 0 outside [first, end). Writes v for
// n in [from, to), which must satisfy to + L <= end or the segment's end be `end`. `u` holds the
// samples [u_begin, end) and must start at or before max(first, from - L).
void fir_apply(const std::vector<double>& taps, const double* u, std::size_t u_begin, std::size_t first,
               std::size_t end, std::size_t from, std::size_t to, double* v);

}  // namespace deepclean::stream
