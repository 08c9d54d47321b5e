#include "core/stream/cleaner.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace deepclean::stream {
namespace {

constexpr std::size_t kUnknown = std::numeric_limits<std::size_t>::max();

std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// seconds * rate as a whole number of samples; the contract's M, L and taper are sample counts.
std::size_t whole_samples(double seconds, int rate, const std::string& what) {
  if (!std::isfinite(seconds) || seconds < 0.0) {
    throw std::invalid_argument(what + " must be a finite number >= 0, got " + num(seconds));
  }
  const double x = seconds * static_cast<double>(rate);
  const double r = std::round(x);
  if (std::fabs(x - r) > 1e-6 * std::max(1.0, x)) {
    throw std::invalid_argument(what + " = " + num(seconds) + " s is " + num(x) + " samples at " +
                                std::to_string(rate) + " Hz, not a whole number");
  }
  return static_cast<std::size_t>(r);
}

void require_rate(int rate, const std::string& what) {
  if (rate <= 0) {
    throw std::invalid_argument(what + " must be a positive sample rate, got " +
                                std::to_string(rate));
  }
}

void require_finite(double v, const std::string& what) {
  if (!std::isfinite(v)) throw std::invalid_argument(what + " must be finite");
}

}  // namespace

void validate(const CleanerConfig& c) {
  require_rate(c.fs, "model rate fs");
  require_rate(c.strain_rate, "strain rate");
  if (c.witnesses.empty()) throw std::invalid_argument("at least one witness channel is needed");
  for (std::size_t i = 0; i < c.witnesses.size(); ++i) {
    const std::string name = "witness " + std::to_string(i);
    require_rate(c.witnesses[i].rate, name + " rate");
    require_finite(c.witnesses[i].mean, name + " mean");
    require_finite(c.witnesses[i].std, name + " std");
    dsp::Resampler check(c.witnesses[i].rate, c.fs, c.witness_resampler);  // throws on a bad design
  }
  require_finite(c.strain_mean, "strain mean");
  require_finite(c.strain_std, "strain std");
  c.geometry.validate(c.model_factor);
  if (c.block_seconds < 1) {
    throw std::invalid_argument("output block length must be at least 1 s, got " +
                                std::to_string(c.block_seconds));
  }
  whole_samples(c.memory_seconds, c.fs, "bandpass memory");
  whole_samples(c.look_ahead_seconds, c.fs, "bandpass look-ahead");
  whole_samples(c.taper_seconds, c.strain_rate, "subtraction taper");
  if (c.method == BandpassMethod::fir) {
    design_fir_bands(c.bands, whole_samples(c.look_ahead_seconds, c.fs, "bandpass look-ahead"), c.kaiser_beta, c.fs);
  } else if (c.method != BandpassMethod::none || !c.bands.empty()) {
    design_bands(c.bands, c.order, c.fs);
  }
  const dsp::Resampler interpolator(c.fs, c.strain_rate, c.noise_interpolator);
  if (c.strain_rate != c.fs) {
    for (const Band& b : c.bands) {
      if (b.hi > interpolator.passband_hz()) {
        throw std::invalid_argument("band [" + num(b.lo) + ", " + num(b.hi) +
                                    "] Hz is not inside the pass band [0, " +
                                    num(interpolator.passband_hz()) + "] Hz of the " +
                                    std::to_string(c.fs) + " -> " + std::to_string(c.strain_rate) +
                                    " Hz noise interpolator");
      }
    }
  }
}

double algorithmic_latency_seconds(const CleanerConfig& c) {
  validate(c);
  const double fs = static_cast<double>(c.fs);
  double seconds = static_cast<double>(c.geometry.num_averaged * c.geometry.stride) / fs;
  if (c.method == BandpassMethod::window || c.method == BandpassMethod::fir) {
    seconds += static_cast<double>(whole_samples(c.look_ahead_seconds, c.fs, "look-ahead")) / fs;
  }
  // Witnesses are resampled side by side: the slowest one sets the delay.
  double witness = 0.0;
  for (const auto& w : c.witnesses) {
    witness = std::max(witness, dsp::Resampler(w.rate, c.fs, c.witness_resampler).lookahead_seconds());
  }
  return seconds + witness +
         dsp::Resampler(c.fs, c.strain_rate, c.noise_interpolator).lookahead_seconds();
}

std::vector<IntervalState> summarise_weight(const std::vector<double>& weight, std::size_t samples) {
  if (samples == 0) throw std::invalid_argument("summarise_weight: interval must be >= 1 sample");
  std::vector<IntervalState> out;
  for (std::size_t begin = 0; begin < weight.size(); begin += samples) {
    const std::size_t end = std::min(weight.size(), begin + samples);
    IntervalState st{true, false};
    for (std::size_t i = begin; i < end; ++i) {
      st.cleaned = st.cleaned && weight[i] == 1.0;
      st.in_taper = st.in_taper || (weight[i] > 0.0 && weight[i] < 1.0);
    }
    out.push_back(st);
  }
  return out;
}

StrainCleaner::StrainCleaner(CleanerConfig config, std::unique_ptr<NoiseEstimator> estimator)
    : config_((validate(config), std::move(config))),
      estimator_(std::move(estimator)),
      interpolator_(config_.fs, config_.strain_rate, config_.noise_interpolator) {
  if (!estimator_) throw std::invalid_argument("StrainCleaner: no noise estimator");
  if (estimator_->channels() != config_.witnesses.size()) {
    throw std::invalid_argument("the model takes " + std::to_string(estimator_->channels()) +
                                " witness channels but " + std::to_string(config_.witnesses.size()) +
                                " are configured");
  }
  const KernelGeometry& g = estimator_->geometry();
  if (g.kernel_length != config_.geometry.kernel_length || g.stride != config_.geometry.stride ||
      g.num_averaged != config_.geometry.num_averaged) {
    throw std::invalid_argument("noise estimator geometry differs from the configuration");
  }
  const bool window = config_.method == BandpassMethod::window;
  const bool ahead = window || config_.method == BandpassMethod::fir;
  memory_ = window ? whole_samples(config_.memory_seconds, config_.fs, "memory") : 0;
  look_ahead_ = ahead ? whole_samples(config_.look_ahead_seconds, config_.fs, "look-ahead") : 0;
  taper_ = whole_samples(config_.taper_seconds, config_.strain_rate, "taper");
  // The fall before a known end can only use what the look-ahead shows (contract-notes.md).
  const std::size_t look_ahead_native =
      look_ahead_ * static_cast<std::size_t>(config_.strain_rate) / static_cast<std::size_t>(config_.fs);
  fall_ = std::min(taper_, look_ahead_native);
  weight_ = SubtractionWeight(taper_, fall_);
  bandpass_ = make_bandpass(
      BandpassConfig{config_.method, config_.bands, config_.order, memory_, look_ahead_, config_.kaiser_beta},
      config_.fs);
  for (const auto& w : config_.witnesses) {
    resamplers_.emplace_back(w.rate, config_.fs, config_.witness_resampler);
    witness_scale_.push_back(w.std == 0.0 ? 1.0 : w.std);
  }
  standardised_.resize(config_.witnesses.size());
}

double StrainCleaner::latency_seconds() const { return algorithmic_latency_seconds(config_); }

std::size_t StrainCleaner::native_ceil(std::size_t n_fs) const {
  const auto fr = static_cast<std::size_t>(config_.strain_rate);
  const auto fs = static_cast<std::size_t>(config_.fs);
  return (n_fs * fr + fs - 1) / fs;
}

std::size_t StrainCleaner::fs_ceil(std::size_t m) const {
  const auto fr = static_cast<std::size_t>(config_.strain_rate);
  const auto fs = static_cast<std::size_t>(config_.fs);
  return (m * fs + fr - 1) / fr;
}

void StrainCleaner::start_segment(GpsNs start) {
  if (open_) end_segment();
  GpsNs within_second = start % kNsPerSecond;
  if (within_second < 0) within_second += kNsPerSecond;
  std::vector<int> rates{config_.fs, config_.strain_rate};
  for (const auto& w : config_.witnesses) rates.push_back(w.rate);
  for (int r : rates) {
    if (!samples_in(within_second, r)) {
      throw std::invalid_argument("segment start " + std::to_string(start) +
                                  " ns is not on the sample grid of a " + std::to_string(r) +
                                  " Hz channel");
    }
  }
  const GpsNs block_ns = gps_ns(config_.block_seconds);
  GpsNs into_block = start % block_ns;
  if (into_block < 0) into_block += block_ns;
  const GpsNs to_boundary = into_block == 0 ? 0 : block_ns - into_block;
  const auto block_fs = static_cast<std::size_t>(config_.block_seconds * config_.fs);
  const auto block_native = static_cast<std::size_t>(config_.block_seconds * config_.strain_rate);
  grid_fs_ = BlockGrid{block_fs, static_cast<std::size_t>(*samples_in(to_boundary, config_.fs))};
  grid_native_ =
      BlockGrid{block_native, static_cast<std::size_t>(*samples_in(to_boundary, config_.strain_rate))};

  // Contract "Segments": every piece of stream state starts afresh.
  const std::size_t a = config_.geometry.first_used();
  estimator_->reset();
  bandpass_->reset(a, grid_fs_);
  for (auto& r : resamplers_) r.reset();
  interpolator_.reset();
  for (auto& x : standardised_) x.clear();
  h_.clear();
  v_.clear();
  vup_.clear();
  h_base_ = v_base_ = vup_base_ = 0;
  first_estimated_.reset();
  end_estimated_.reset();
  next_native_ = next_fs_ = 0;
  start_ = start;
  open_ = true;
  ended_ = false;
  // Samples n < a have no estimate: v = 0 there (steps 5 and 9).
  append_noise(std::vector<double>(a, 0.0), std::vector<unsigned char>(a, 0));
}

void StrainCleaner::push_strain(const double* h, std::size_t n) {
  if (!open_) throw std::logic_error("push_strain: no segment is open");
  h_.insert(h_.end(), h, h + n);
  emit_blocks();
}

void StrainCleaner::push_witness(std::size_t c, const double* w, std::size_t n) {
  if (!open_) throw std::logic_error("push_witness: no segment is open");
  if (c >= resamplers_.size()) {
    throw std::invalid_argument("push_witness: no witness " + std::to_string(c));
  }
  scratch_.clear();
  resamplers_[c].push(w, n, scratch_);  // step 1
  const double mean = config_.witnesses[c].mean;
  const double scale = witness_scale_[c];
  auto& x = standardised_[c];
  // Step 2 in double, rounded once to the model's float32.
  for (double v : scratch_) x.push_back(static_cast<float>((v - mean) / scale));
  drain_witnesses();
  emit_blocks();
}

void StrainCleaner::drain_witnesses() {
  std::size_t m = kUnknown;
  for (const auto& x : standardised_) m = std::min(m, x.size());
  if (m == 0 || m == kUnknown) return;
  const std::size_t channels = standardised_.size();
  packed_.resize(channels * m);
  for (std::size_t c = 0; c < channels; ++c) {
    auto& x = standardised_[c];
    std::copy(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(m), packed_.begin() +
              static_cast<std::ptrdiff_t>(c * m));
    x.erase(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(m));
  }
  estimator_->push(packed_.data(), m, m);  // steps 3-5
  y_.clear();
  estimator_->pop(y_);
  if (y_.empty()) return;
  u_.resize(y_.size());
  for (std::size_t i = 0; i < y_.size(); ++i) {
    u_[i] = y_[i] * config_.strain_std + config_.strain_mean;  // step 6
  }
  bandpass_->push(u_.data(), u_.size());  // step 7
  v_new_.clear();
  estimated_new_.clear();
  bandpass_->pop(v_new_, estimated_new_);
  append_noise(v_new_, estimated_new_);
}

void StrainCleaner::append_noise(const std::vector<double>& v,
                                 const std::vector<unsigned char>& estimated) {
  const std::size_t at = v_base_ + v_.size();
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (estimated[i] != 0) {
      if (!first_estimated_) first_estimated_ = at + i;
    } else if (first_estimated_ && !end_estimated_) {
      end_estimated_ = at + i;
    }
  }
  v_.insert(v_.end(), v.begin(), v.end());
  interpolator_.push(v.data(), v.size(), vup_);  // step 8
}

void StrainCleaner::end_segment() {
  if (!open_) return;
  bandpass_->end();
  v_new_.clear();
  estimated_new_.clear();
  bandpass_->pop(v_new_, estimated_new_);
  append_noise(v_new_, estimated_new_);
  const std::size_t v_end = v_base_ + v_.size();
  if (!first_estimated_) first_estimated_ = v_end;  // no estimate anywhere: empty [p, q)
  if (!end_estimated_) end_estimated_ = v_end;
  ended_ = true;
  // Past the estimate v is 0 by definition (not padding): extend it until both the noise product and
  // the interpolated noise cover the whole strain of the segment.
  const std::size_t h_end = h_base_ + h_.size();
  const std::size_t need = fs_ceil(h_end) + interpolator_.lookahead_input_samples() + 1;
  if (need > v_end) {
    append_noise(std::vector<double>(need - v_end, 0.0), std::vector<unsigned char>(need - v_end, 0));
  }
  while (vup_base_ + vup_.size() < h_end) {
    append_noise(std::vector<double>(1, 0.0), std::vector<unsigned char>(1, 0));
  }
  emit_blocks();
  open_ = false;
}

void StrainCleaner::update_weight() {
  weight_.set_interval(first_estimated_ ? native_ceil(*first_estimated_) : SubtractionWeight::kUnknown,
                       end_estimated_ ? native_ceil(*end_estimated_) : SubtractionWeight::kUnknown);
}

bool StrainCleaner::weight_known_before(std::size_t m_end) const {
  if (ended_ || end_estimated_) return true;
  const std::size_t v_known = v_base_ + v_.size();
  // No estimate yet: p >= v_known, so g = 0 for every strain sample before native_ceil(v_known).
  if (!first_estimated_) return m_end <= native_ceil(v_known);
  // The estimate has started and not ended: q >= v_known, and q >= what the band-pass can already
  // vouch for from the u it holds. The fall only reaches F samples before mq.
  const std::size_t q_low = std::max(v_known, bandpass_->estimate_extent());
  return m_end + fall_ <= native_ceil(q_low);
}

void StrainCleaner::emit_blocks() {
  update_weight();
  const SubtractionWeight& g = weight_;
  const SampleClock clock(start_, config_.strain_rate);
  for (;;) {
    const std::size_t h_end = h_base_ + h_.size();
    const std::size_t b0 = next_native_, f0 = next_fs_;
    std::size_t b1 = grid_native_.block_end(b0), f1 = grid_fs_.block_end(f0);
    if (ended_) {
      if (b0 >= h_end) break;
      b1 = std::min(b1, h_end);
      f1 = std::min(f1, fs_ceil(h_end));
    } else if (h_end < b1 || vup_base_ + vup_.size() < b1 || v_base_ + v_.size() < f1 ||
               !weight_known_before(b1)) {
      break;
    }
    CleanedBlock block;
    block.start = clock.time_of(static_cast<std::int64_t>(b0));
    block.strain_offset = b0;
    block.noise_offset = f0;
    block.strain.resize(b1 - b0);
    block.weight.resize(b1 - b0);
    block.correction.resize(b1 - b0);
    for (std::size_t m = b0; m < b1; ++m) {
      const double gm = g.at(m);
      const double h = h_[m - h_base_];
      // Step 9; g == 0 returns the raw sample itself, bit for bit.
      const double gv = gm == 0.0 ? 0.0 : gm * vup_[m - vup_base_];
      block.strain[m - b0] = gm == 0.0 ? h : h - gv;
      block.weight[m - b0] = gm;
      block.correction[m - b0] = gv;
    }
    block.noise.assign(v_.begin() + static_cast<std::ptrdiff_t>(f0 - v_base_),
                       v_.begin() + static_cast<std::ptrdiff_t>(f1 - v_base_));
    block.last = ended_ && b1 >= h_end;
    blocks_.push_back(std::move(block));
    next_native_ = b1;
    next_fs_ = f1;
    h_.erase(h_.begin(), h_.begin() + static_cast<std::ptrdiff_t>(b1 - h_base_));
    h_base_ = b1;
    vup_.erase(vup_.begin(), vup_.begin() + static_cast<std::ptrdiff_t>(b1 - vup_base_));
    vup_base_ = b1;
    v_.erase(v_.begin(), v_.begin() + static_cast<std::ptrdiff_t>(f1 - v_base_));
    v_base_ = f1;
  }
}

CleanedBlock StrainCleaner::pop_block() {
  if (blocks_.empty()) throw std::logic_error("pop_block: no block is ready");
  CleanedBlock b = std::move(blocks_.front());
  blocks_.pop_front();
  return b;
}

}  // namespace deepclean::stream
