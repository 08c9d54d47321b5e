#include "core/stream/bandpass.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

#include "core/dsp/fir.hpp"
#include "core/dsp/window.hpp"

namespace deepclean::stream {
namespace {

std::string hz(double v) {
  std::ostringstream s;
  s << v << " Hz";
  return s.str();
}

// Methods without look-ahead: every u sample pushed gives its v sample at once, all estimated.
class ImmediateBandpass : public NoiseBandpass {
 public:
  void reset(std::size_t first, const BlockGrid&) override {
    restart();
    pending_.clear();
    u_end_ = first;
  }
  void push(const double* u, std::size_t n) override {
    u_end_ += n;
    const std::size_t at = pending_.size();
    pending_.resize(at + n, 0.0);
    filter(u, n, pending_.data() + at);
  }
  void end() override {}
  void pop(std::vector<double>& v, std::vector<unsigned char>& estimated) override {
    v.insert(v.end(), pending_.begin(), pending_.end());
    estimated.insert(estimated.end(), pending_.size(), 1);
    pending_.clear();
  }
  std::size_t look_ahead() const override { return 0; }
  std::size_t estimate_extent() const override { return u_end_; }

 protected:
  virtual void restart() = 0;
  // Writes v for n consecutive u samples into `v` (zero-initialised).
  virtual void filter(const double* u, std::size_t n, double* v) = 0;

 private:
  std::vector<double> pending_;
  std::size_t u_end_ = 0;
};

// Step 7 `none`: v = u.
class PassThroughBandpass final : public ImmediateBandpass {
 protected:
  void restart() override {}
  void filter(const double* u, std::size_t n, double* v) override { std::copy(u, u + n, v); }
};

// Step 7 `causal`: v = sum over bands of sosfilt(sos, u[a:]) from zero state at n = a.
class CausalBandpass final : public ImmediateBandpass {
 public:
  explicit CausalBandpass(const std::vector<dsp::Sos>& bands) {
    for (const auto& sos : bands) filters_.emplace_back(sos);
  }

 protected:
  void restart() override {
    for (auto& f : filters_) f.reset();
  }
  void filter(const double* u, std::size_t n, double* v) override {
    scratch_.resize(n);
    for (auto& f : filters_) {
      f.process(u, scratch_.data(), n);
      for (std::size_t i = 0; i < n; ++i) v[i] += scratch_[i];
    }
  }

 private:
  std::vector<dsp::SosFilter> filters_;
  std::vector<double> scratch_;
};

// Step 7 `window`: per output block [b0, b1), u[max(a, b0 - M) : min(b1 + L, e)] tapered, filtered
// zero-phase, and [max(a, b0), b1) kept. e is where u ends (known only after end()).
class WindowBandpass final : public NoiseBandpass {
 public:
  WindowBandpass(const std::vector<dsp::Sos>& bands, std::size_t memory, std::size_t look_ahead)
      : bands_(bands), memory_(memory), look_ahead_(look_ahead) {
    for (const auto& sos : bands_) padlen_ = std::max(padlen_, dsp::sosfiltfilt_padlen(sos));
  }

  void reset(std::size_t first, const BlockGrid& grid) override {
    first_ = first;
    grid_ = grid;
    u_.clear();
    u_base_ = first;
    next_out_ = first;
    ended_ = false;
    v_.clear();
    estimated_.clear();
  }
  void push(const double* u, std::size_t n) override {
    u_.insert(u_.end(), u, u + n);
    process();
  }
  void end() override {
    ended_ = true;
    process();
  }
  void pop(std::vector<double>& v, std::vector<unsigned char>& estimated) override {
    v.insert(v.end(), v_.begin(), v_.end());
    estimated.insert(estimated.end(), estimated_.begin(), estimated_.end());
    v_.clear();
    estimated_.clear();
  }
  std::size_t look_ahead() const override { return look_ahead_; }
  // u is known up to U, so e >= U. The estimate ends at e unless the block holding e - 1 has a slice
  // too short to filter, in which case it ends where that block's kept samples start. If the block
  // holding U - 1 already has a long enough slice, any later end gives q >= U.
  std::size_t estimate_extent() const override {
    const std::size_t u = u_end();
    if (u <= first_) return first_;
    const std::size_t b0 = grid_.block_begin(u - 1);
    const std::size_t slice_begin = std::max(first_, b0 >= memory_ ? b0 - memory_ : 0);
    if (u - slice_begin > padlen_) return u;
    return std::max(first_, b0);
  }

 private:
  std::size_t u_end() const { return u_base_ + u_.size(); }

  void process() {
    for (;;) {
      const std::size_t b0 = grid_.block_begin(next_out_);
      const std::size_t b1 = grid_.block_end(next_out_);
      std::size_t keep_end = b1;
      std::size_t slice_end = b1 + look_ahead_;
      if (ended_) {
        if (next_out_ >= u_end()) return;
        keep_end = std::min(b1, u_end());
        slice_end = std::min(slice_end, u_end());
      } else if (u_end() < slice_end) {
        return;  // the block's look-ahead has not arrived and the end is not known
      }
      const std::size_t slice_begin = std::max(first_, b0 >= memory_ ? b0 - memory_ : 0);
      const std::size_t keep = keep_end - next_out_;
      const std::size_t at = v_.size();
      v_.resize(at + keep, 0.0);
      const bool ok = window_block(bands_, look_ahead_, u_.data() + (slice_begin - u_base_),
                                   slice_end - slice_begin, next_out_ - slice_begin, keep,
                                   v_.data() + at, scratch_);
      estimated_.insert(estimated_.end(), keep, ok ? 1 : 0);
      next_out_ = keep_end;
      // The next block starts at keep_end and reaches back M samples at most.
      const std::size_t keep_from = std::max(first_, keep_end >= memory_ ? keep_end - memory_ : 0);
      const std::size_t drop = std::min(keep_from - std::min(keep_from, u_base_), u_.size());
      if (drop > 0) {
        u_.erase(u_.begin(), u_.begin() + static_cast<std::ptrdiff_t>(drop));
        u_base_ += drop;
      }
    }
  }

  std::vector<dsp::Sos> bands_;
  std::size_t memory_, look_ahead_;
  std::size_t padlen_ = 0;
  std::size_t first_ = 0;
  BlockGrid grid_;
  std::vector<double> u_;
  std::size_t u_base_ = 0;
  std::size_t next_out_ = 0;
  bool ended_ = false;
  std::vector<double> v_;
  std::vector<unsigned char> estimated_;
  WindowScratch scratch_;
};

// Step 7 `fir`: v[n] = sum_k taps[k] u[n + L - k] with u = 0 outside [a, e) (docs/contract-notes.md).
// v[n] is final once u[n + L] is, or when the segment ends; every v in [a, e) is an estimate.
class FirBandpass final : public NoiseBandpass {
 public:
  FirBandpass(const std::vector<std::vector<double>>& bands, std::size_t look_ahead) : look_ahead_(look_ahead) {
    taps_.assign(2 * look_ahead + 1, 0.0);
    for (const auto& t : bands) {
      for (std::size_t k = 0; k < taps_.size(); ++k) taps_[k] += t[k];
    }
  }

  void reset(std::size_t first, const BlockGrid&) override {
    first_ = first;
    u_.clear();
    u_base_ = first;
    next_out_ = first;
    ended_ = false;
    v_.clear();
  }
  void push(const double* u, std::size_t n) override {
    u_.insert(u_.end(), u, u + n);
    process();
  }
  void end() override {
    ended_ = true;
    process();
  }
  void pop(std::vector<double>& v, std::vector<unsigned char>& estimated) override {
    v.insert(v.end(), v_.begin(), v_.end());
    estimated.insert(estimated.end(), v_.size(), 1);
    v_.clear();
  }
  std::size_t look_ahead() const override { return look_ahead_; }
  // Every u sample has its v: the estimate ends where u ends, which is at least where it is now.
  std::size_t estimate_extent() const override { return u_end(); }

 private:
  std::size_t u_end() const { return u_base_ + u_.size(); }
  void process() {
    const std::size_t end = u_end();
    const std::size_t until = ended_ ? end : (end >= first_ + look_ahead_ ? end - look_ahead_ : first_);
    if (until <= next_out_) return;
    const std::size_t at = v_.size();
    v_.resize(at + (until - next_out_));
    fir_apply(taps_, u_.data(), u_base_, first_, end, next_out_, until, v_.data() + at);
    next_out_ = until;
    // Keep the L samples of past the next output needs.
    const std::size_t keep = std::max(first_, next_out_ >= look_ahead_ ? next_out_ - look_ahead_ : 0);
    if (keep > u_base_) {
      u_.erase(u_.begin(), u_.begin() + static_cast<std::ptrdiff_t>(keep - u_base_));
      u_base_ = keep;
    }
  }

  std::vector<double> taps_;
  std::size_t look_ahead_;
  std::size_t first_ = 0;
  std::vector<double> u_;
  std::size_t u_base_ = 0;
  std::size_t next_out_ = 0;
  bool ended_ = false;
  std::vector<double> v_;
};

}  // namespace

std::vector<std::vector<double>> design_fir_bands(const std::vector<Band>& bands, std::size_t look_ahead,
                                                  double beta, int fs) {
  if (fs <= 0) throw std::invalid_argument("band-pass: sample rate must be positive");
  if (look_ahead == 0) {
    throw std::invalid_argument("band-pass `fir`: look-ahead must be at least one sample at " + std::to_string(fs) +
                                " Hz (the filter has 2L + 1 taps)");
  }
  if (!(beta >= 0.0 && beta <= 50.0)) {
    throw std::invalid_argument("band-pass `fir`: Kaiser beta must be in [0, 50]");
  }
  if (bands.empty()) throw std::invalid_argument("band-pass: at least one band is needed");
  const double nyquist = 0.5 * static_cast<double>(fs);
  std::vector<std::vector<double>> out;
  for (const Band& b : bands) {
    const std::string name = "band [" + hz(b.lo) + ", " + hz(b.hi) + "]";
    if (!(b.lo > 0.0) || !(b.lo < b.hi)) throw std::invalid_argument(name + ": needs 0 < low < high");
    if (!(b.hi < nyquist)) {
      throw std::invalid_argument(name + ": high edge is not below the Nyquist frequency " + hz(nyquist) +
                                  " of the model rate " + std::to_string(fs) + " Hz");
    }
    out.push_back(dsp::firwin_bandpass(2 * look_ahead + 1, b.lo, b.hi, beta, static_cast<double>(fs)));
  }
  return out;
}

void fir_apply(const std::vector<double>& taps, const double* u, std::size_t u_begin, std::size_t first,
               std::size_t end, std::size_t from, std::size_t to, double* v) {
  const std::size_t L = taps.size() / 2;
  for (std::size_t n = from; n < to; ++n) {
    // Terms with first <= n + L - k < end.
    const std::size_t k_lo = n + L + 1 > end ? n + L + 1 - end : 0;
    const std::size_t k_hi = std::min(2 * L, n + L - first);  // n >= first, so n + L - first >= 0
    const double* un = u + (n + L - u_begin);                  // un[-k] = u[n + L - k]
    double acc = 0.0;
    for (std::size_t k = k_lo; k <= k_hi; ++k) acc += taps[k] * *(un - k);
    v[n - from] = acc;
  }
}


std::size_t BlockGrid::block_begin(std::size_t n) const {
  if (n < first_boundary) return 0;
  return first_boundary + ((n - first_boundary) / length) * length;
}

std::size_t BlockGrid::block_end(std::size_t n) const {
  if (n < first_boundary) return first_boundary;
  return block_begin(n) + length;
}

std::vector<dsp::Sos> design_bands(const std::vector<Band>& bands, int order, int fs) {
  if (fs <= 0) throw std::invalid_argument("band-pass: sample rate must be positive");
  if (order < 1 || order > 16) {
    throw std::invalid_argument("band-pass: Butterworth order must be in [1, 16], got " +
                                std::to_string(order));
  }
  if (bands.empty()) throw std::invalid_argument("band-pass: at least one band is needed");
  const double nyquist = 0.5 * static_cast<double>(fs);
  std::vector<dsp::Sos> out;
  for (const Band& b : bands) {
    const std::string name = "band [" + hz(b.lo) + ", " + hz(b.hi) + "]";
    if (!(b.lo > 0.0) || !(b.lo < b.hi)) {
      throw std::invalid_argument(name + ": needs 0 < low < high");
    }
    if (!(b.hi < nyquist)) {
      throw std::invalid_argument(name + ": high edge is not below the Nyquist frequency " +
                                  hz(nyquist) + " of the model rate " + std::to_string(fs) + " Hz");
    }
    out.push_back(dsp::butter_bandpass(order, b.lo, b.hi, static_cast<double>(fs)));
  }
  return out;
}

std::unique_ptr<NoiseBandpass> make_bandpass(const BandpassConfig& config, int fs) {
  switch (config.method) {
    case BandpassMethod::none:
      if (!config.bands.empty()) design_bands(config.bands, config.order, fs);  // validate anyway
      return std::make_unique<PassThroughBandpass>();
    case BandpassMethod::causal:
      return std::make_unique<CausalBandpass>(design_bands(config.bands, config.order, fs));
    case BandpassMethod::window:
      return std::make_unique<WindowBandpass>(design_bands(config.bands, config.order, fs),
                                              config.memory, config.look_ahead);
    case BandpassMethod::fir:
      return std::make_unique<FirBandpass>(
          design_fir_bands(config.bands, config.look_ahead, config.kaiser_beta, fs), config.look_ahead);
  }
  throw std::invalid_argument("band-pass: unknown method");
}

bool window_block(const std::vector<dsp::Sos>& bands, std::size_t look_ahead, const double* slice,
                  std::size_t slice_length, std::size_t keep_offset, std::size_t keep_length,
                  double* v, WindowScratch& scratch) {
  for (const auto& sos : bands) {
    if (slice_length <= dsp::sosfiltfilt_padlen(sos)) return false;
  }
  scratch.tapered.assign(slice, slice + slice_length);
  // Rising half on the first L samples, falling half on the last L; a slice shorter than 2L gets
  // both factors where they overlap (the literal reading of "multiply its first and last L samples").
  dsp::apply_edge_tapers(scratch.tapered.data(), slice_length, look_ahead);
  scratch.filtered.resize(slice_length);
  std::fill(v, v + keep_length, 0.0);
  for (const auto& sos : bands) {
    dsp::sosfiltfilt(sos, scratch.tapered.data(), slice_length, scratch.filtered.data(), scratch.work);
    for (std::size_t i = 0; i < keep_length; ++i) v[i] += scratch.filtered[keep_offset + i];
  }
  return true;
}

}  // namespace deepclean::stream
