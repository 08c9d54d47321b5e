#include "sim/scenario.hpp"

#include "sim/faults.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepclean::sim {
namespace {

double number(const std::string& s, const std::string& change, const char* what) {
  double v = 0;
  if (!parse_finite(s, v)) {
    throw std::invalid_argument("scenario change '" + change + "': " + what + " '" + s + "' is not a number");
  }
  return v;
}

}  // namespace

Scenario Scenario::parse(const std::string& text) {
  Scenario sc;
  std::stringstream all(text);
  std::string change;
  while (std::getline(all, change, ',')) {
    if (change.empty()) continue;
    const auto at = change.find('@');
    if (at == std::string::npos) {
      throw std::invalid_argument("scenario change '" + change + "': expected KIND@FROM[-TO][:ARG]");
    }
    const std::string kind = change.substr(0, at);
    std::string rest = change.substr(at + 1), arg;
    const auto colon = rest.find(':');
    if (colon != std::string::npos) {
      arg = rest.substr(colon + 1);
      rest = rest.substr(0, colon);
    }
    ScenarioChange c;
    c.text = change;
    const auto dash = rest.find('-', 1);  // a leading '-' would be a sign
    c.from = number(rest.substr(0, dash), change, "FROM");
    if (dash != std::string::npos) {
      c.to = number(rest.substr(dash + 1), change, "TO");
      if (!(c.to > c.from)) throw std::invalid_argument("scenario change '" + change + "': TO must be after FROM");
    }
    if (c.from < 0) throw std::invalid_argument("scenario change '" + change + "': FROM must be >= 0");
    const auto need = [&](const char* what) {
      if (arg.empty()) throw std::invalid_argument("scenario change '" + change + "': " + kind + " needs :" + what);
      return number(arg, change, what);
    };
    if (kind == "coupling-scale") {
      c.kind = ChangeKind::CouplingScale;
      c.value = need("FACTOR");
    } else if (kind == "coupling-off") {
      c.kind = ChangeKind::CouplingScale;
      if (!arg.empty()) throw std::invalid_argument("scenario change '" + change + "': coupling-off takes no argument");
      c.value = 0;
    } else if (kind == "coupling-phase") {
      c.kind = ChangeKind::CouplingPhase;
      c.value = need("DEGREES");
    } else if (kind == "mains-shift") {
      c.kind = ChangeKind::MainsShift;
      c.value = need("HZ");
      if (std::abs(c.value) > 30) throw std::invalid_argument("scenario change '" + change + "': |HZ| must be <= 30");
    } else if (kind == "coupling-wander" || kind == "phase-wander" || kind == "mains-drift") {
      c.kind = kind == "coupling-wander" ? ChangeKind::CouplingWander
               : kind == "phase-wander"  ? ChangeKind::PhaseWander
                                         : ChangeKind::MainsDrift;
      const auto slash = arg.find('/');
      c.period = kind == "mains-drift" ? 7200 : 1800;
      if (slash != std::string::npos) {
        c.period = number(arg.substr(slash + 1), change, kind == "mains-drift" ? "PERIOD" : "KNOT");
        arg = arg.substr(0, slash);
        if (!(c.period >= 1)) throw std::invalid_argument("scenario change '" + change + "': the period must be >= 1 s");
      }
      c.value = need(kind == "coupling-wander" ? "DEPTH" : kind == "phase-wander" ? "DEGREES" : "HZ");
      if (kind == "mains-drift" && std::abs(c.value) > 5) {
        throw std::invalid_argument("scenario change '" + change + "': |HZ| must be <= 5");
      }
    } else if (kind == "relock") {
      c.kind = ChangeKind::Relock;
      c.value = need("FACTOR");
      if (!std::isfinite(c.to)) throw std::invalid_argument("scenario change '" + change + "': relock needs FROM-TO");
    } else if (kind == "witness-flat" || kind == "witness-zero") {
      c.kind = kind == "witness-flat" ? ChangeKind::WitnessFlat : ChangeKind::WitnessZero;
      c.channel = arg;
    } else {
      throw std::invalid_argument("scenario change '" + change + "': unknown kind '" + kind +
                                  "' (coupling-scale, coupling-off, coupling-phase, mains-shift, witness-flat, "
                                  "witness-zero, coupling-wander, phase-wander, mains-drift, relock)");
    }
    sc.changes.push_back(std::move(c));
  }
  return sc;
}

Scenario Scenario::resolved(double start) const {
  Scenario out = *this;
  for (auto& c : out.changes) {
    if (c.from < 1e8) {
      c.from += start;
      if (std::isfinite(c.to)) c.to += start;
    }
  }
  return out;
}

}  // namespace deepclean::sim
