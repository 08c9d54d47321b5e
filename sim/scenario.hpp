// Scenarios for `deepclean simulate --scenario SPEC` that make a trained model go bad on purpose
// (docs/simulator.md, "Scenarios"), to exercise the do-no-harm gate (docs/quality-gate.md):
//   SPEC   := CHANGE ("," CHANGE)*
//   CHANGE := KIND "@" FROM ["-" TO] [":" ARG]
//   KIND   := coupling-scale   ARG: factor on the coupling into the strain (-1 flips its sign)
//           | coupling-off     the coupling into the strain stops (coupling-scale with 0)
//           | coupling-phase   ARG: degrees at 60 Hz; the coupled noise is delayed by ARG/360/60 s
//           | mains-shift      ARG: Hz added to the mains frequency (witness and strain alike)
//           | witness-flat     ARG: channel (default the mains monitor); holds its value at FROM
//           | witness-zero     ARG: channel (default the mains monitor); reads 0
//           slow drift (hours), continuous at FROM and held at TO:
//           | coupling-wander  ARG: DEPTH[/KNOT]: the coupling scaled by 1 + DEPTH (S(t) - S(FROM)), S a
//                              smooth unit-variance process with knots every KNOT s (default 1800)
//           | phase-wander     ARG: DEGREES[/KNOT]: the coupling delayed by DEGREES (S(t) - S(FROM)) at 60 Hz
//           | mains-drift      ARG: HZ[/PERIOD]: the mains frequency offset by HZ sin(2 pi (t - FROM) / PERIOD)
//                              (default 7200 s), witness and strain alike
//           | relock           ARG: FACTOR: lock lost from FROM to TO (the state vector reads 0), the
//                              coupling scaled by FACTOR from TO on (TO required)
// FROM and TO are seconds, fractions allowed: below 1e8 they count from --start, otherwise they are
// GPS times. Without TO a change lasts to the end of the run. Deterministic: a change is a function
// of time only, so the frames are the same for every run with the same seed.
#pragma once

#include <limits>
#include <string>
#include <vector>

namespace deepclean::sim {

enum class ChangeKind {
  CouplingScale, CouplingPhase, MainsShift, WitnessFlat, WitnessZero,
  CouplingWander, PhaseWander, MainsDrift, Relock
};

struct ScenarioChange {
  ChangeKind kind = ChangeKind::CouplingScale;
  double from = 0;                                        // GPS seconds (after resolve())
  double to = std::numeric_limits<double>::infinity();
  double value = 0;                                       // factor, degrees or Hz
  double period = 0;                                      // drift: knot spacing or period, seconds
  std::string channel;                                    // witness-*: empty = the mains monitor
  std::string text;                                       // as written, for logs and errors
  bool active(double t) const { return t >= from && t < to; }
};

struct Scenario {
  std::vector<ScenarioChange> changes;
  // Throws std::invalid_argument naming the change that does not parse.
  static Scenario parse(const std::string& text);
  // Times below 1e8 made absolute from `start`.
  Scenario resolved(double start) const;
  bool empty() const { return changes.empty(); }
};

}  // namespace deepclean::sim
