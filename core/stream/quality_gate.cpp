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

QualityGate::Step QualityGate::step(const QualityMonitor& monitor, const std::string& input_bad, std::size_t n,
                                    std::vector<double>& q) {
  const double seconds = static_cast<double>(n) / rate_;
  Step s;
  // Two figures per cleaning band: over the trailing window, and the onset figure of this block (the
  // worst pair of consecutive segments ending in it: a harm starting late in the block shows there);
  // guard bands have the window figure. The worst region relative to its own threshold names the
  // harm; a non-finite figure is harm first.
  GateReason harm = GateReason::none;
  bool good = monitor.segments() > 0;  // no figure: cannot count towards reopening
  std::ostringstream figures;
  if (monitor.segments() > 0) {
    s.window = monitor.ratios();
    const std::vector<double>& window = s.window;
    const std::vector<std::size_t> counts = monitor.counts();
    const bool has_block = monitor.segments_over(n) > 0;
    const std::vector<double> block = monitor.onset_ratios(n);
    double worst = 1.0;
    for (std::size_t i = 0; i < window.size(); ++i) {
      const QualityRegion& reg = monitor.regions()[i];
      const double close = reg.guard ? config_.guard_close_above : config_.close_above;
      const double open = reg.guard ? config_.guard_open_below : config_.open_below;
      if (counts[i] == 0) {  // no figure yet (a guard band's 1-s segments after a gap): cannot judge it
        good = false;
        continue;
      }
      figures << (i ? ", " : "") << (reg.guard ? "guard " : "band ") << reg.label << " Hz " << window[i];
      // The block's own figure for the cleaning bands only: a guard band holds a bin or two, too few
      // for one second, and what leaks into it through a band-pass edge is steady, not sudden.
      const bool own = has_block && !reg.guard && !(block[i] < 0);  // NaN counts (as harm)
      if (own) figures << " (this second " << block[i] << ")";
      // The onset figure only closes the gate, at its own (higher) threshold: it reacts within a
      // quarter second to a large harm, and a weak model's quarter-seconds reach 1.04 on clean data.
      // Reopening is decided on the window figures.
      const std::pair<double, double> checks[2] = {{window[i], close},
                                                    {own ? block[i] : window[i], own ? config_.onset_close_above : close}};
      for (const auto& [r, limit] : checks) {
        if (!std::isfinite(r)) {
          harm = GateReason::nonfinite;
        } else if (r / limit > worst && harm != GateReason::nonfinite) {
          worst = r / limit;
          harm = reg.guard ? GateReason::guard : GateReason::band;
        }
      }
      good = good && std::isfinite(window[i]) && window[i] < open && !(own && !std::isfinite(block[i]));
    }
  }
  if (!input_bad.empty()) {
    harm = GateReason::input;
    good = false;
  }

  // The ramp starts at the block's first sample, from wherever q is now (continuous).
  const double q_now = ramp_ && pos_ > 0 ? from_ + (to_ - from_) * (*ramp_)[pos_ - 1] : to_;
  if (open_ && harm != GateReason::none) {
    open_ = false;
    reason_ = harm;
    closed_for_ = 0;
    good_for_ = 0;
    from_ = q_now;
    to_ = 0;
    ramp_ = &down_;
    pos_ = 0;
    s.changed = true;
    s.detail = harm == GateReason::input ? input_bad : figures.str();
  } else if (!open_) {
    if (harm != GateReason::none) reason_ = harm;
    good_for_ = good ? good_for_ + seconds : 0;
    if (closed_for_ >= config_.min_closed_seconds && good_for_ >= config_.recover_seconds && good) {
      open_ = true;
      reason_ = GateReason::none;
      from_ = q_now;
      to_ = 1;
      ramp_ = &up_;
      pos_ = 0;
      s.changed = true;
      s.detail = figures.str();
    }
  }
  s.figures = figures.str();
  fill(n, q);
  if (!open_) closed_for_ += seconds;
  s.open = open_;
  s.reason = reason_;
  return s;
}

}  // namespace deepclean::stream
