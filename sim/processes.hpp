// Stationary random processes that stream across 1-s frames without discontinuities and without
// carried state: second k is a pure function of (seed, channel, k) (docs/simulator.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

namespace deepclean::sim {

// Gaussian noise with a prescribed one-sided amplitude spectral density, made by an FIR colouring
// filter applied to counter-based white noise. The FIR (length `taps`) is designed by frequency
// sampling the ASD on a taps-point grid (zero phase), delayed by taps/2 and Hann-windowed. Because the
// filter is finite, sample n depends only on white noise n-taps+1 .. n, i.e. on the white noise of
// seconds k-P .. k with P = ceil((taps-1)/rate); generating second k from exactly those seconds gives
// the same samples as filtering an infinite stream, so seconds join without seams.
// The realised PSD is |H(f)|^2 * 2 / rate, which equals asd(f)^2 smoothed over ~3 frequency bins of
// width rate/taps (the window's main lobe).
class ColouredNoise {
 public:
  ColouredNoise(int rate, std::size_t taps, const std::function<double(double)>& asd, std::uint64_t seed,
                std::uint64_t channel_key);
  int rate() const { return rate_; }
  std::size_t history_seconds() const { return history_; }
  // The `rate` samples of GPS second `gps`.
  void second(std::int64_t gps, double* out);
  const std::vector<double>& taps() const { return h_; }
  // The PSD the generator realises at f (|H(f)|^2 * 2 / rate, H evaluated from the taps).
  double realised_psd(double f) const;

 private:
  const std::vector<double>& white(std::int64_t gps);

  int rate_;
  std::size_t history_;
  std::size_t nfft_;
  std::uint64_t seed_, key_;
  std::vector<double> h_;
  std::vector<double> hre_, him_;  // FFT of the zero-padded taps
  std::map<std::int64_t, std::vector<double>> white_cache_;
  std::vector<double> re_, im_;
};

// A smooth slow process: a cubic B-spline through independent N(0,1) knots spaced `knot_samples`
// samples apart (knot j from (seed, channel, purpose, j)), scaled so its variance averages 1.
// Evaluated sample by sample, so it needs no state at all; its spectrum falls as sinc^8 above the
// knot rate.
class SplineProcess {
 public:
  SplineProcess(std::uint64_t seed, std::uint64_t channel_key, std::uint64_t purpose, std::int64_t knot_samples);
  // Value at sample index `tick` (global sample counter gps*rate + i).
  double at(std::int64_t tick) const;

 private:
  double knot(std::int64_t j) const;
  std::uint64_t seed_, key_, purpose_;
  std::int64_t knot_samples_;
};

// Floor division for possibly negative sample indices.
inline std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace deepclean::sim
