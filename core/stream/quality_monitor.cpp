#include "core/stream/quality_monitor.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace deepclean::stream {
namespace {

std::string hz(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

void validate(const QualityMonitorConfig& c) {
  if (!(c.rate > 0)) throw std::invalid_argument("quality monitor: the strain rate must be positive");
  if (c.bands.empty()) throw std::invalid_argument("quality monitor: no cleaning band");
  if (!(c.guard_hz >= 0)) throw std::invalid_argument("gate.guard_hz must be >= 0");
  for (const auto& [seconds, key] : {std::pair<double, const char*>{c.segment_seconds, "gate.segment_seconds"},
                                     {c.guard_segment_seconds, "gate.guard_segment_seconds"}}) {
    const double seg = seconds * c.rate;
    if (!(seconds > 0) || seg < 4 || std::abs(seg / 2 - std::round(seg / 2)) > 1e-9) {
      throw std::invalid_argument(std::string(key) + " * strain rate must be an even number of samples >= 4");
    }
  }
  if (!(c.window_seconds >= c.segment_seconds)) {
    throw std::invalid_argument("gate.window_seconds must be at least gate.segment_seconds");
  }
  if (!(c.guard_window_seconds >= c.guard_segment_seconds)) {
    throw std::invalid_argument("gate.guard_window_seconds must be at least gate.guard_segment_seconds");
  }
  if (!(c.history_seconds >= 0)) throw std::invalid_argument("quality monitor: history_seconds must be >= 0");
  for (const Band& b : c.bands) {
    if (!(b.lo > 0 && b.lo < b.hi && b.hi + c.guard_hz < c.rate / 2)) {
      throw std::invalid_argument("quality monitor: band " + hz(b.lo) + "-" + hz(b.hi) + " Hz with " +
                                  hz(c.guard_hz) + " Hz guard bands does not fit below Nyquist (" +
                                  hz(c.rate / 2) + " Hz)");
    }
  }
}

bool in_region(const QualityRegion& q, const Band& band, double f) {
  if (!q.guard) return f >= q.low && f <= q.high;
  return q.high == band.lo ? (f >= q.low && f < q.high) : (f > q.low && f <= q.high);
}

QualityMonitor::QualityMonitor(QualityMonitorConfig config) : config_(std::move(config)) {
  validate(config_);
  for (std::size_t b = 0; b < config_.bands.size(); ++b) {
    const Band& band = config_.bands[b];
    regions_.push_back({hz(band.lo) + "-" + hz(band.hi), band.lo, band.hi, false, b});
    if (config_.guard_hz > 0) {
      const double lo = std::max(0.0, band.lo - config_.guard_hz);
      regions_.push_back({hz(lo) + "-" + hz(band.lo), lo, band.lo, true, b});
      regions_.push_back({hz(band.hi) + "-" + hz(band.hi + config_.guard_hz), band.hi, band.hi + config_.guard_hz,
                          true, b});
    }
  }
  plan(bands_, config_.segment_seconds, config_.window_seconds, false);
  if (config_.guard_hz > 0) plan(guards_, config_.guard_segment_seconds, config_.guard_window_seconds, true);
  reset();
}

void QualityMonitor::plan(Plan& p, double seconds, double window_seconds, bool guard) {
  p.seg = static_cast<std::size_t>(std::llround(seconds * config_.rate));
  p.window_samples = static_cast<std::size_t>(std::llround(window_seconds * config_.rate));
  p.keep_samples =
      std::max(p.window_samples, static_cast<std::size_t>(std::llround(config_.history_seconds * config_.rate)));
  // Band segments overlap by half (Welch's usual), for time resolution; guard segments do not: what
  // leaks beside the band is steady, and they are 87 % of the monitor's cost (docs/benchmarks.md).
  p.hop = guard ? p.seg : p.seg / 2;
  for (std::size_t r = 0; r < regions_.size(); ++r) {
    if (regions_[r].guard == guard) p.regions.push_back(r);
  }
  std::vector<std::size_t> bins;
  std::vector<bool> hit(p.regions.size(), false);
  for (std::size_t k = 0; k <= p.seg / 2; ++k) {
    const double f = dsp::BandDft::frequency(k, p.seg, config_.rate);
    for (std::size_t slot = 0; slot < p.regions.size(); ++slot) {
      const QualityRegion& q = regions_[p.regions[slot]];
      if (in_region(q, config_.bands[q.band], f)) {
        bins.push_back(k);
        p.slot_of_bin.push_back(slot);
        hit[slot] = true;
        break;
      }
    }
  }
  for (std::size_t slot = 0; slot < p.regions.size(); ++slot) {
    if (!hit[slot]) {
      throw std::invalid_argument("quality monitor: region " + regions_[p.regions[slot]].label +
                                  " Hz holds no frequency bin of " + hz(config_.rate / static_cast<double>(p.seg)) +
                                  " Hz resolution: lengthen gate." + (guard ? "guard_segment_seconds" : "segment_seconds") +
                                  " or widen the band");
    }
  }
  p.psd_h.resize(bins.size());
  p.psd_c.resize(bins.size());
  p.dft = dsp::BandDft(p.seg, config_.rate, std::move(bins));
}

void QualityMonitor::reset() {
  h_.clear();
  c_.clear();
  g_.clear();
  base_ = 0;
  for (Plan* p : {&bands_, &guards_}) {
    p->next_end = p->seg;
    p->window.clear();
  }
}

void QualityMonitor::add(const double* h, const double* c, const double* g, std::size_t n) {
  h_.insert(h_.end(), h, h + n);
  c_.insert(c_.end(), c, c + n);
  g_.insert(g_.end(), g, g + n);
  const std::size_t end = base_ + h_.size();
  std::size_t keep_from = end;
  for (Plan* p : {&bands_, &guards_}) {
    if (p->seg == 0) continue;  // no guard bands
    while (p->next_end <= end) {
      segment_at(*p, p->next_end - p->seg - base_);
      p->next_end += p->hop;
    }
    keep_from = std::min(keep_from, p->next_end - p->seg);  // what the plan's next segment needs
    while (!p->window.empty() && p->window.front().end + p->keep_samples <= end) p->window.pop_front();
  }
  if (keep_from > base_) {
    const auto drop = static_cast<std::ptrdiff_t>(std::min(keep_from - base_, h_.size()));
    h_.erase(h_.begin(), h_.begin() + drop);
    c_.erase(c_.begin(), c_.begin() + drop);
    g_.erase(g_.begin(), g_.begin() + drop);
    base_ += static_cast<std::size_t>(drop);
  }
}

void QualityMonitor::segment_at(Plan& p, std::size_t offset) {
  for (std::size_t i = offset; i < offset + p.seg; ++i) {
    if (g_[i] != 1.0) return;  // a taper (segment start or end): not a figure of the cleaning
  }
  Segment s;
  s.end = base_ + offset + p.seg;
  s.ph.assign(p.regions.size(), 0.0);
  s.pc.assign(p.regions.size(), 0.0);
  p.dft.psd2(h_.data() + offset, c_.data() + offset, p.psd_h.data(), p.psd_c.data());
  for (std::size_t i = 0; i < p.slot_of_bin.size(); ++i) {
    s.ph[p.slot_of_bin[i]] += p.psd_h[i];
    s.pc[p.slot_of_bin[i]] += p.psd_c[i];
  }
  p.window.push_back(std::move(s));
}

std::vector<std::size_t> QualityMonitor::counts_over(std::size_t samples) const {
  std::vector<std::size_t> out(regions_.size(), 0);
  const std::size_t end = samples_added();
  for (const Plan* p : {&bands_, &guards_}) {
    for (std::size_t slot = 0; slot < p->regions.size(); ++slot) {
      for (const Segment& s : p->window) out[p->regions[slot]] += in_span(*p, s, samples, end) ? 1u : 0u;
    }
  }
  return out;
}

std::vector<double> QualityMonitor::onset_ratios(std::size_t samples, double floor) const {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> out(regions_.size(), -1.0);
  const std::size_t end = samples_added();
  for (const Plan* p : {&bands_, &guards_}) {
    const std::deque<Segment>& w = p->window;
    const bool guard = p == &guards_;
    for (std::size_t slot = 0; slot < p->regions.size(); ++slot) {
      double worst = -1;
      bool finite = true;
      // A cleaning band's pair is measured against at least `floor` times the raw power of a mean
      // pair of the window: a lull of the raw band (the coupled noise's envelope passing through
      // zero) leaves almost nothing to harm, and a residual far below the band's usual level is not
      // a harm in it.
      double least = 0;
      if (!guard && floor > 0 && !w.empty()) {
        double sum = 0;
        for (const Segment& s : w) sum += s.ph[slot];
        least = floor * 2 * sum / static_cast<double>(w.size());
      }
      for (std::size_t j = 1; j < w.size(); ++j) {
        if (w[j].end + samples <= end) continue;
        if (w[j].end - w[j - 1].end != p->hop) continue;  // not consecutive (a taper between them)
        const double h0 = w[j - 1].ph[slot], h1 = w[j].ph[slot], c0 = w[j - 1].pc[slot], c1 = w[j].pc[slot];
        if (!std::isfinite(h0 + h1 + c0 + c1) || !(guard ? h0 > 0 && h1 > 0 : h0 + h1 > 0)) {
          finite = false;
          continue;
        }
        // A band: the power of the pair. A guard band: the smaller of its two seconds, so that one
        // second of the network's bursts beside the band does not count, two bad seconds in a row do.
        worst = std::max(worst, guard ? std::sqrt(std::min(c0 / h0, c1 / h1))
                                        : std::sqrt((c0 + c1) / std::max(h0 + h1, least)));
      }
      if (!finite) {
        out[p->regions[slot]] = nan;
      } else if (worst >= 0) {
        out[p->regions[slot]] = worst;
      }
    }
  }
  return out;
}

bool QualityMonitor::in_span(const Plan& p, const Segment& s, std::size_t samples, std::size_t end) {
  // The region's own window: the segments that end in it. Otherwise: those wholly in the last samples.
  return samples == 0 ? s.end + p.window_samples > end : s.end - p.seg + samples >= end;
}

bool QualityMonitor::covers(std::size_t samples) const {
  const std::size_t end = samples_added();
  if (samples > end) return false;
  for (const Plan* p : {&bands_, &guards_}) {
    if (p->seg == 0) continue;
    if (samples > p->keep_samples) return false;
    // Segment starts since the reset: 0, hop, 2 hop, ...; those in [end - samples, end - seg].
    std::size_t expected = 0;
    if (end >= p->seg && samples >= p->seg) {
      const std::size_t lo = end - samples, last = (end - p->seg) / p->hop;
      const std::size_t first = (lo + p->hop - 1) / p->hop;
      expected = last >= first ? last - first + 1 : 0;
    }
    std::size_t have = 0;
    for (const Segment& s : p->window) have += in_span(*p, s, samples, end) ? 1u : 0u;
    if (have < expected) return false;
  }
  return true;
}

void QualityMonitor::keep_last(std::size_t samples) {
  const std::size_t end = samples_added();
  for (Plan* p : {&bands_, &guards_}) {
    while (!p->window.empty() && !in_span(*p, p->window.front(), samples, end)) p->window.pop_front();
  }
}

std::vector<double> QualityMonitor::ratios_over(std::size_t samples) const {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> out(regions_.size(), nan);
  const std::size_t end = samples_added();
  for (const Plan* p : {&bands_, &guards_}) {
    for (std::size_t slot = 0; slot < p->regions.size(); ++slot) {
      double sh = 0, sc = 0;
      std::size_t n = 0;
      for (const Segment& s : p->window) {
        if (!in_span(*p, s, samples, end)) continue;
        sh += s.ph[slot];
        sc += s.pc[slot];
        ++n;
      }
      // A non-finite sum (NaN or inf in the data) or no raw power gives NaN: the gate counts it as harm.
      if (n > 0) out[p->regions[slot]] = std::isfinite(sh) && std::isfinite(sc) && sh > 0 ? std::sqrt(sc / sh) : nan;
    }
  }
  return out;
}

}  // namespace deepclean::stream
