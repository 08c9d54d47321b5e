// A literal, whole-segment evaluation of contract steps 1-9 (streaming-spec.md) with the edge choices
// of docs/contract-notes.md: plain loops over kernels and blocks, no streaming state. The streaming
// StrainCleaner must reproduce it for any chunking and batching.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <vector>

#include "core/dsp/fir.hpp"
#include "core/dsp/iir.hpp"
#include "core/dsp/resample.hpp"
#include "core/stream/cleaner.hpp"
#include "core/stream/segment.hpp"
#include "common/fake_predictor.hpp"

namespace deepclean::stream::testing {

struct ReferenceOutput {
  std::vector<double> strain;  // native rate, whole segment
  std::vector<double> weight;  // native rate
  std::vector<double> noise;   // fs, the fs samples whose time lies in the segment
  std::size_t e = 0;           // witness samples at fs (end of x)
  std::size_t p = 0, q = 0;    // estimated samples [p, q) at fs (p == q: none)
};

inline double sin2_ramp(std::size_t i, std::size_t length) {
  const double s = std::sin(M_PI * (static_cast<double>(i) + 0.5) / (2.0 * static_cast<double>(length)));
  return s * s;
}

inline ReferenceOutput literal_clean(const CleanerConfig& c, GpsNs start,
                                     const std::vector<std::vector<double>>& witnesses,
                                     const std::vector<double>& h) {
  ReferenceOutput out;
  const std::size_t C = witnesses.size();
  const auto fs = static_cast<std::size_t>(c.fs), fr = static_cast<std::size_t>(c.strain_rate);
  // Step 1: each witness resampled as one piece (resample_poly semantics of dsp::Resampler).
  std::vector<std::vector<double>> w_fs(C);
  std::size_t e = SIZE_MAX;
  for (std::size_t ch = 0; ch < C; ++ch) {
    dsp::Resampler r(c.witnesses[ch].rate, c.fs, c.witness_resampler);
    r.push(witnesses[ch].data(), witnesses[ch].size(), w_fs[ch]);
    e = std::min(e, w_fs[ch].size());
  }
  out.e = e;
  // Step 2.
  std::vector<float> x(C * e);
  for (std::size_t ch = 0; ch < C; ++ch) {
    const double sd = c.witnesses[ch].std == 0.0 ? 1.0 : c.witnesses[ch].std;
    for (std::size_t n = 0; n < e; ++n)
      x[ch * e + n] = static_cast<float>((w_fs[ch][n] - c.witnesses[ch].mean) / sd);
  }
  // Steps 3-5.
  const KernelGeometry& g = c.geometry;
  const auto kernels = literal_kernels(x, C, e, g.kernel_length, g.stride);
  std::vector<std::vector<float>> preds;
  for (const auto& k : kernels) {
    std::vector<float> p(g.kernel_length);
    fake_prediction(k.data(), C, g.kernel_length, p.data());
    preds.push_back(p);
  }
  const std::vector<double> y = literal_average(preds, g);
  const std::size_t a = g.first_used(), f = a + y.size();
  // Step 6: u[n] for n in [a, f).
  std::vector<double> u(f, 0.0);
  for (std::size_t n = a; n < f; ++n) u[n] = y[n - a] * c.strain_std + c.strain_mean;
  // Step 7.
  std::vector<double> v(f, 0.0);
  std::vector<bool> est(f, false);
  std::vector<dsp::Sos> soses;
  for (const Band& b : c.bands) soses.push_back(dsp::butter_bandpass(c.order, b.lo, b.hi, c.fs));
  const auto L = static_cast<std::size_t>(std::llround(c.look_ahead_seconds * c.fs));
  const auto M = static_cast<std::size_t>(std::llround(c.memory_seconds * c.fs));
  if (c.method == BandpassMethod::none) {
    for (std::size_t n = a; n < f; ++n) { v[n] = u[n]; est[n] = true; }
  } else if (c.method == BandpassMethod::causal) {
    for (const auto& sos : soses) {
      dsp::SosFilter filt(sos);
      std::vector<double> out_band(f - a);
      filt.process(u.data() + a, out_band.data(), f - a);
      for (std::size_t n = a; n < f; ++n) v[n] += out_band[n - a];
    }
    for (std::size_t n = a; n < f; ++n) est[n] = true;
  } else if (c.method == BandpassMethod::fir) {
    // v[n] = sum_k taps[k] u[n + L - k] per band, u = 0 outside [a, f); every sample estimated.
    for (const Band& b : c.bands) {
      const auto taps = dsp::firwin_bandpass(2 * L + 1, b.lo, b.hi, c.kaiser_beta, c.fs);
      for (std::size_t n = a; n < f; ++n) {
        double acc = 0.0;
        for (std::size_t k = 0; k < taps.size(); ++k) {
          if (n + L >= k && n + L - k >= a && n + L - k < f) acc += taps[k] * u[n + L - k];
        }
        v[n] += acc;
      }
    }
    for (std::size_t n = a; n < f; ++n) est[n] = true;
  } else {
    // Blocks: the fs samples of each output frame, frames at multiples of block_seconds of GPS time.
    const std::size_t block = static_cast<std::size_t>(c.block_seconds) * fs;
    const auto abs0 = static_cast<std::size_t>(*SampleClock(0, c.fs).index_at(start));
    std::size_t n = a;
    while (n < f) {
      const std::size_t k = (abs0 + n) / block;
      const std::size_t b0 = k * block > abs0 ? k * block - abs0 : 0;
      const std::size_t b1 = (k + 1) * block - abs0;
      const std::size_t lo = std::max<std::size_t>(a, b0 >= M ? b0 - M : 0);
      const std::size_t hi = std::min(b1 + L, f);
      std::vector<double> slice(u.begin() + static_cast<std::ptrdiff_t>(lo),
                                u.begin() + static_cast<std::ptrdiff_t>(hi));
      for (std::size_t i = 0; i < L && i < slice.size(); ++i) slice[i] *= sin2_ramp(i, L);
      for (std::size_t i = 0; i < L && i < slice.size(); ++i) slice[slice.size() - 1 - i] *= sin2_ramp(i, L);
      const std::size_t keep_hi = std::min(b1, f);
      if (slice.size() > dsp::sosfiltfilt_padlen(soses[0])) {
        for (const auto& sos : soses) {
          const auto filtered = dsp::sosfiltfilt(sos, slice.data(), slice.size());
          for (std::size_t m = n; m < keep_hi; ++m) v[m] += filtered[m - lo];
        }
        for (std::size_t m = n; m < keep_hi; ++m) est[m] = true;
      }
      n = keep_hi;
    }
  }
  std::optional<std::size_t> p, q;
  for (std::size_t n = 0; n < f; ++n) {
    if (est[n] && !p) p = n;
    if (!est[n] && p && !q) q = n;
  }
  if (!p) p = f;
  if (!q) q = f;
  out.p = *p;
  out.q = *q;
  // Step 8: v is 0 where there is no estimate, before and after.
  const std::size_t H = h.size();
  const std::size_t e_fs = (H * fs + fr - 1) / fr;
  dsp::Resampler interp(c.fs, c.strain_rate, c.noise_interpolator);
  std::vector<double> v_full(std::max(f, e_fs) + interp.lookahead_input_samples() + 16, 0.0);
  for (std::size_t n = 0; n < f; ++n) v_full[n] = v[n];
  std::vector<double> v_up;
  interp.push(v_full.data(), v_full.size(), v_up);
  out.noise.assign(v_full.begin(), v_full.begin() + static_cast<std::ptrdiff_t>(e_fs));
  // Step 9.
  const auto T = static_cast<std::size_t>(std::llround(c.taper_seconds * c.strain_rate));
  const bool ahead = c.method == BandpassMethod::window || c.method == BandpassMethod::fir;
  const std::size_t F = ahead ? std::min(T, L * fr / fs) : 0;
  const std::size_t mp = (out.p * fr + fs - 1) / fs, mq = (out.q * fr + fs - 1) / fs;
  for (std::size_t m = 0; m < H; ++m) {
    double gm = 0.0;
    if (m >= mp && m < mq) {
      const double rise = m - mp < T ? sin2_ramp(m - mp, T) : 1.0;
      const double fall = mq - 1 - m < F ? sin2_ramp(mq - 1 - m, F) : 1.0;
      gm = std::min(rise, fall);
    }
    out.weight.push_back(gm);
    out.strain.push_back(gm == 0.0 ? h[m] : h[m] - gm * v_up[m]);
  }
  return out;
}

}  // namespace deepclean::stream::testing
