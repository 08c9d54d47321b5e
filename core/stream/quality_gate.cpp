#include "core/stream/quality_gate.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "core/dsp/window.hpp"

namespace deepclean::stream {

void validate(const GateConfig& c) {
  const auto positive = [](double v, const char* what) {
    if (!(v > 0) || !std::isfinite(v)) throw std::invalid_argument(std::string(what) + " must be > 0");
  };
  positive(c.close_above, "gate.close_above");
  positive(c.onset_close_above, "gate.onset_close_above");
  positive(c.guard_onset_close_above, "gate.guard_onset_close_above");
  positive(c.open_below, "gate.open_below");
  positive(c.guard_close_above, "gate.guard_close_above");
  positive(c.guard_open_below, "gate.guard_open_below");
  if (!(c.open_below < c.close_above)) {
    throw std::invalid_argument("gate.open_below must be below gate.close_above (hysteresis)");
  }
  if (!(c.guard_open_below < c.guard_close_above)) {
    throw std::invalid_argument("gate.guard_open_below must be below gate.guard_close_above (hysteresis)");
  }
  if (!(c.min_closed_seconds >= 0) || !(c.recover_seconds >= 0)) {
    throw std::invalid_argument("gate.min_closed_seconds and gate.recover_seconds must be >= 0");
  }
  positive(c.ramp_down_seconds, "gate.ramp_down_seconds");
  positive(c.ramp_up_seconds, "gate.ramp_up_seconds");
}

const char* to_string(GateReason r) {
  switch (r) {
    case GateReason::band: return "band";
    case GateReason::guard: return "guard";
    case GateReason::nonfinite: return "nonfinite";
    case GateReason::input: return "input";
    case GateReason::none: break;
  }
  return "none";
}

QualityGate::QualityGate(GateConfig config, double rate) : config_(config), rate_(rate) {
  validate(config_);
  const auto samples = [&](double s) { return std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(s * rate))); };
  down_ = dsp::hann_rise(samples(config_.ramp_down_seconds));
  recover_samples_ = static_cast<std::size_t>(std::llround(config_.recover_seconds * rate));
  up_ = dsp::hann_rise(samples(config_.ramp_up_seconds));
}

void QualityGate::fill(std::size_t n, std::vector<double>& q) {
  q.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (ramp_ && pos_ < ramp_->size()) {
      q[i] = from_ + (to_ - from_) * (*ramp_)[pos_++];
    } else {
      ramp_ = nullptr;
      q[i] = to_;  // exactly 0 or 1
    }
  }
}

QualityGate::Step QualityGate::step(QualityMonitor& monitor, const std::string& input_bad, std::size_t n,
                                    std::vector<double>& q) {
  Step s;
  // Two figures per region: over its trailing window, and the onset figure of this block (the worst
  // pair of consecutive segments ending in it: a harm starting late in the block shows there). The
  // onset figures only close the gate, at their own (higher) thresholds. The worst figure relative
  // to its threshold names the harm; a non-finite figure is harm first.
  GateReason harm = GateReason::none;
  bool harm_now = !input_bad.empty();  // harm in this block itself (what forbids reopening now)
  std::ostringstream figures;
  if (monitor.segments() > 0) {
    s.window = monitor.ratios();
    const std::vector<double>& window = s.window;
    const std::vector<std::size_t> counts = monitor.counts();
    const std::vector<double> onset = monitor.onset_ratios(n, config_.onset_floor);
    double worst = 1.0;
    for (std::size_t i = 0; i < window.size(); ++i) {
      const QualityRegion& reg = monitor.regions()[i];
      if (counts[i] == 0) continue;  // no figure yet (a guard band's 1-s segments after a gap)
      const double close = reg.guard ? config_.guard_close_above : config_.close_above;
      const double onset_close = reg.guard ? config_.guard_onset_close_above : config_.onset_close_above;
      figures << (i ? ", " : "") << (reg.guard ? "guard " : "band ") << reg.label << " Hz " << window[i];
      const bool own = !(onset[i] < 0);  // NaN counts (as harm)
      if (own) figures << " (this second " << onset[i] << ")";
      const std::pair<double, double> checks[2] = {{window[i], close},
                                                    {own ? onset[i] : window[i], own ? onset_close : close}};
      for (const auto& [r, limit] : checks) {
        if (!std::isfinite(r)) {
          harm = GateReason::nonfinite;
        } else if (r / limit > worst && harm != GateReason::nonfinite) {
          worst = r / limit;
          harm = reg.guard ? GateReason::guard : GateReason::band;
        }
      }
      // Only the block's own figures: a window still holding an old NaN segment must not keep the gate
      // closed once the recovery period is clean (the recovery figures must be finite anyway).
      harm_now = harm_now || (own && !(onset[i] <= onset_close));
    }
  }
  if (!input_bad.empty()) harm = GateReason::input;

  // Reopening: no harm in this block (its onset figures, the input guard, a non-finite figure), the
  // gate has been closed min_closed_seconds, every cleaning band has been good in each of the last
  // recover_seconds (its figure over each block, all of the block measured), and each guard band
  // over the last recover_seconds as a whole (one second beside the band can burst on clean data).
  // The window figures do not count here: a window longer than the recovery period still holds the
  // harm the gate closed on.
  bool band_block_good = !harm_now && monitor.covers(n);
  if (band_block_good) {
    const std::vector<double> b = monitor.ratios_over(n);
    for (std::size_t i = 0; i < b.size(); ++i) {
      if (!monitor.regions()[i].guard) band_block_good = band_block_good && std::isfinite(b[i]) && b[i] < config_.open_below;
    }
  }
  good_for_ = band_block_good ? good_for_ + static_cast<double>(n) / rate_ : 0;
  bool reopen = false;
  std::ostringstream recovery;
  if (!open_ && !harm_now && closed_for_ >= config_.min_closed_seconds && good_for_ >= config_.recover_seconds &&
      monitor.covers(recover_samples_)) {
    const std::vector<double> r = monitor.ratios_over(recover_samples_);
    reopen = true;
    recovery << "over the last " << config_.recover_seconds << " s: ";
    for (std::size_t i = 0; i < r.size(); ++i) {
      const QualityRegion& reg = monitor.regions()[i];
      reopen = reopen && std::isfinite(r[i]) && r[i] < (reg.guard ? config_.guard_open_below : config_.open_below);
      recovery << (i ? ", " : "") << (reg.guard ? "guard " : "band ") << reg.label << " Hz " << r[i];
    }
  }

  // The ramp starts at the block's first sample, from wherever q is now (continuous).
  const double q_now = ramp_ && pos_ > 0 ? from_ + (to_ - from_) * (*ramp_)[pos_ - 1] : to_;
  if (open_ && harm != GateReason::none) {
    open_ = false;
    reason_ = harm;
    closed_for_ = 0;
    from_ = q_now;
    to_ = 0;
    ramp_ = &down_;
    pos_ = 0;
    s.changed = true;
    s.detail = harm == GateReason::input ? input_bad : figures.str();
  } else if (!open_ && reopen) {
    open_ = true;
    reason_ = GateReason::none;
    from_ = q_now;
    to_ = 1;
    ramp_ = &up_;
    pos_ = 0;
    s.changed = true;
    s.detail = recovery.str();
    // What the windows held from before the recovery period was the harm the gate closed on: the
    // figures start again from the period that proved good.
    if (recover_samples_ > 0) monitor.keep_last(recover_samples_);
  } else if (!open_ && harm != GateReason::none) {
    reason_ = harm;
  }
  s.figures = figures.str();
  fill(n, q);
  if (!open_) closed_for_ += static_cast<double>(n) / rate_;
  s.open = open_;
  s.reason = reason_;
  return s;
}

}  // namespace deepclean::stream
