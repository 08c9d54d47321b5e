#include "daemon/models/validation.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace deepclean::daemon::models {

namespace {

bool all_finite(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

nlohmann::ordered_json figure(double x) {
  return std::isfinite(x) ? nlohmann::ordered_json(x) : nlohmann::ordered_json(nullptr);
}

}  // namespace

bool fully_cleaned(const OutputSecond& out) {
  if (out.state.empty()) return false;
  return std::all_of(out.state.begin(), out.state.end(),
                     [](std::uint32_t s) { return (s & kCleaned) != 0 && (s & kInputOk) != 0; });
}

Validation::Validation(const stream::QualityMonitorConfig& monitor, ValidationSettings settings)
    : settings_(settings), comparison_(monitor) {
  if (!(settings_.seconds >= 1)) throw std::invalid_argument("models.validation_seconds must be at least 1");
  if (!(settings_.margin >= 0)) throw std::invalid_argument("models.margin must be >= 0");
  if (!(settings_.max_compute_seconds > 0)) throw std::invalid_argument("models.max_compute_seconds must be positive");
  needed_ = static_cast<std::size_t>(std::ceil(settings_.seconds));
}

double Validation::mean_compute() const { return compute_n_ ? compute_sum_ / static_cast<double>(compute_n_) : 0.0; }

void Validation::reject(std::string why) {
  status_ = Status::Rejected;
  reason_ = std::move(why);
}

void Validation::add_compute(double seconds) {
  if (status_ != Status::Running) return;
  compute_sum_ += seconds;
  max_compute_ = std::max(max_compute_, seconds);
  ++compute_n_;
  if (compute_n_ >= 5 && mean_compute() > 2 * settings_.max_compute_seconds) {
    reject(fmt::format("too slow: {:.3f} s of compute per second of data over its first {} seconds (at most {} s)",
                       mean_compute(), compute_n_, settings_.max_compute_seconds));
  }
}

void Validation::add(const OutputSecond& production, const OutputSecond& canary) {
  if (status_ != Status::Running) return;
  if (production.gps != canary.gps) {
    throw std::invalid_argument(fmt::format("validation: production's GPS {} and the canary's GPS {} differ",
                                            production.gps, canary.gps));
  }
  ++offered_;
  if (!all_finite(canary.cleaned) || (canary.noise && !all_finite(*canary.noise))) {
    reject(fmt::format("non-finite output at GPS {}", canary.gps));
    return;
  }
  // The canary's gate closing for a reason of its own while production's stays open rejects it: a
  // second in which both close (a moment of the data both models clean badly) does not, nor do the
  // seconds its gate stays closed after such a second, unless they outlast production's by
  // kClosedAloneSeconds (a validation that would never end).
  const bool closed = canary.gate.closed_by_model();
  if (closed && !production.gate.closed_by_model()) {
    if (canary_gate_open_) {
      reject(fmt::format("its do-no-harm gate closed at GPS {} while production's stayed open ({}{})", canary.gps,
                         canary.gate.reason, canary.gate.detail.empty() ? "" : ": " + canary.gate.detail));
      return;
    }
    if (++closed_alone_ >= kClosedAloneSeconds) {
      reject(fmt::format("its do-no-harm gate stayed closed {} s longer than production's (until GPS {})",
                         closed_alone_, canary.gps));
      return;
    }
  }
  if (!closed) closed_alone_ = 0;
  canary_gate_open_ = !closed;
  if (!fully_cleaned(production) || !fully_cleaned(canary)) return;
  const std::vector<double> h = production.raw_strain.data.to_double();
  if (h.size() != comparison_.samples_per_second() || production.cleaned.size() != h.size() ||
      canary.cleaned.size() != h.size()) {
    reject(fmt::format("GPS {}: {} strain samples, the comparison expects {}", canary.gps, canary.cleaned.size(),
                       comparison_.samples_per_second()));
    return;
  }
  comparison_.add(h.data(), production.cleaned.data(), canary.cleaned.data());
  if (!first_) first_ = canary.gps;
  last_ = canary.gps;
  if (comparison_.seconds() >= needed_) decide();
}

void Validation::decide() {
  for (const auto& r : comparison_.ratios()) {
    // A guard band is where cleaning must do no harm: removing less there than production does
    // (a ratio below 1) is no reason to keep a model that cleans the band worse.
    const double limit = (r.region.guard ? std::max(r.a, 1.0) : r.a) * (1 + settings_.margin);
    const bool pass = std::isfinite(r.b) && (!std::isfinite(r.a) || r.b <= limit);
    if (!pass) {
      reject(fmt::format("worse than production in the {} {} Hz: band ASD ratio {:.4f} against {:.4f} ({}margin {}: "
                         "at most {:.4f})",
                         r.region.guard ? "guard band" : "band", r.region.label, r.b, r.a,
                         r.region.guard ? "the larger of it and 1, " : "", settings_.margin, limit));
      return;
    }
  }
  if (mean_compute() > settings_.max_compute_seconds) {
    reject(fmt::format("too slow: {:.3f} s of compute per second of data on average (at most {} s)", mean_compute(),
                       settings_.max_compute_seconds));
    return;
  }
  status_ = Status::Passed;
  reason_ = fmt::format("validated over {} fully cleaned seconds (GPS {} to {}): matches or beats production in every "
                        "band, no harm in the guard bands",
                        comparison_.seconds(), *first_, *last_);
}

std::string Validation::report(const std::string& version, const std::string& id, const std::string& production_version,
                               const std::string& production_id, const std::string& time, std::uint64_t gps) const {
  nlohmann::ordered_json j;
  j["format"] = "deepclean-validation/1";
  j["version"] = version;
  j["id"] = id;
  j["production"] = {{"version", production_version}, {"id", production_id}};
  j["decision"] = status_ == Status::Passed ? "passed" : status_ == Status::Rejected ? "rejected" : "running";
  j["reason"] = reason_;
  j["time"] = time;
  j["gps"] = gps;
  j["window"] = {{"seconds", comparison_.seconds()},
                 {"seconds_needed", needed_},
                 {"seconds_offered", offered_},
                 {"first_gps", first_ ? nlohmann::ordered_json(*first_) : nlohmann::ordered_json(nullptr)},
                 {"last_gps", last_ ? nlohmann::ordered_json(*last_) : nlohmann::ordered_json(nullptr)}};
  j["margin"] = settings_.margin;
  j["regions"] = nlohmann::ordered_json::array();
  for (const auto& r : comparison_.ratios()) {
    j["regions"].push_back({{"region", r.region.label},
                            {"guard", r.region.guard},
                            {"production", figure(r.a)},
                            {"canary", figure(r.b)}});
  }
  j["compute"] = {{"mean_seconds", mean_compute()},
                  {"max_seconds", max_compute_},
                  {"budget_seconds", settings_.max_compute_seconds}};
  return j.dump(2) + "\n";
}

}  // namespace deepclean::daemon::models
