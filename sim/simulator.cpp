#include "sim/simulator.hpp"

#include <cmath>
#include <stdexcept>

#include "sim/random.hpp"

namespace deepclean::sim {
namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;
// Purposes keep the streams of one channel apart.
enum : std::uint64_t { kSensorNoise = 2, kAmpKnots = 3, kPhaseKnots = 4, kPhases = 5, kUnrelated = 6, kWander = 7 };

const char* const kLoops[] = {"INP1", "MICH", "PRC1", "PRC2", "SRC1", "SRC2", "DHARD", "CHARD", "DSOFT", "CSOFT"};

// Coupled channels and their a_i (docs/simulator.md table).
double coupling_of(const std::string& loop_dof) {
  if (loop_dof == "CHARD_P") return 1.0;
  if (loop_dof == "DHARD_Y") return 0.7;
  if (loop_dof == "PRC2_P") return 0.5;
  if (loop_dof == "SRC1_Y") return 0.4;
  return 0.0;
}

// The strain sample index nearest GPS time t.
std::int64_t strain_tick(double t) { return static_cast<std::int64_t>(std::llround(t * model::kStrainRate)); }

// Phase (radians, in [0, 2 pi)) of a line at q/64 Hz at sample `tick` of a `rate` stream, computed in
// integers so it stays exact at GPS times of 1e9 s.
double line_phase(std::int64_t q, std::int64_t tick, std::int64_t rate) {
  const std::int64_t period = 64 * rate;
  std::int64_t m = (q * (tick % period)) % period;
  if (m < 0) m += period;
  return kTwoPi * static_cast<double>(m) / static_cast<double>(period);
}

gwf::Channel make_adc(const std::string& name, std::vector<float> v, int rate, const std::string& units) {
  gwf::Channel c;
  c.name = name;
  c.kind = gwf::ChannelKind::Adc;
  c.sample_rate = rate;
  c.adc.n_bits = 32;
  c.adc.units = units;
  c.data = gwf::Vect::make(name, v, rate, units);
  return c;
}

gwf::Frame frame_header(const std::string& ifo, std::int64_t gps) {
  gwf::Frame f;
  f.name = "LIGO";
  f.run = -1;  // negative run numbers mark simulated data (frame spec, FrameH)
  f.frame_number = 0;
  f.start = {static_cast<std::uint32_t>(gps), 0};
  f.dt = 1.0;
  if (ifo == "H1" || ifo == "L1") {
    gwf::Detector d;
    // Site coordinates (radians) as in LIGO-T980044: vertex longitude/latitude and elevation.
    if (ifo == "H1") {
      d.name = "LHO_4k";
      d.longitude = -2.08405676917;
      d.latitude = 0.81079526383;
      d.elevation = 142.554f;
    } else {
      d.name = "LLO_4k";
      d.longitude = -1.58430937078;
      d.latitude = 0.53342313506;
      d.elevation = -6.574f;
    }
    d.prefix = ifo;
    f.detectors.push_back(d);
  }
  return f;
}

}  // namespace

Coupling parse_coupling(const std::string& s) {
  if (s == "none") return Coupling::None;
  if (s == "linear") return Coupling::Linear;
  if (s == "bilinear") return Coupling::Bilinear;
  if (s == "both") return Coupling::Both;
  throw std::invalid_argument("coupling must be none, linear, bilinear or both, not '" + s + "'");
}

double detector_asd(double f) {
  using namespace model;
  const double F = std::max(std::fabs(f), kFloorHz);
  const double s = std::pow(kSeismicHz / F, 8);
  const double t = (kThermalHz / F) * (kThermalHz / F);
  const double q2 = kShot * kShot * (1 + (f / kShotPoleHz) * (f / kShotPoleHz));
  return kAsdScale * std::sqrt(s * s + t * t + q2);
}

double asc_motion_asd(double f) {
  using namespace model;
  const double a = f / kAscCorner1Hz, b = f / kAscCorner2Hz;
  return kAscAsd / (1 + a * a) / (1 + b * b * b * b);
}

std::vector<std::pair<std::string, int>> Simulator::unrelated_channels(const std::string& ifo, std::size_t n) {
  // Four families of real-looking names, interleaved so that any prefix of the list mixes them.
  std::vector<std::vector<std::pair<std::string, int>>> fam(4);
  const char* optics[] = {"ETMX", "ETMY", "ITMX", "ITMY", "BS", "PRM", "PR2", "PR3", "SRM", "SR2", "SR3", "MC1", "MC2", "MC3"};
  const char* stages[] = {"M0", "M1", "L1", "L2"};
  const char* osems[] = {"UL", "UR", "LL", "LR"};
  for (const char* o : optics)
    for (const char* s : stages)
      for (const char* e : osems)
        fam[0].emplace_back(ifo + ":SUS-" + o + "_" + s + "_OSEMINF_" + e + "_OUT_DQ", 256);
  const char* chambers[] = {"HAM2", "HAM3", "HAM4", "HAM5", "HAM6", "BS", "ITMX", "ITMY", "ETMX", "ETMY"};
  const char* dofs[] = {"X", "Y", "Z", "RX", "RY", "RZ"};
  for (const char* c : chambers)
    for (int st = 1; st <= 2; ++st)
      for (const char* d : dofs)
        fam[1].emplace_back(ifo + ":ISI-" + c + "_ST" + std::to_string(st) + "_BLND_" + d + "_CPS_CUR_IN1_DQ",
                            st == 1 ? 512 : 1024);
  const char* stations[] = {"CS", "EX", "EY"};
  const char* places[] = {"BEAMTUBE", "VEA_FLOOR", "HAM2", "HAM3", "HAM5", "HAM6", "BSC1", "BSC2", "EBAY_RACK", "PSL_TABLE"};
  const char* axes[] = {"X", "Y", "Z"};
  for (const char* st : stations)
    for (const char* p : places)
      for (const char* a : axes) fam[2].emplace_back(ifo + ":PEM-" + st + "_ACC_" + p + "_" + a + "_DQ", 2048);
  for (const char* st : stations)
    for (const char* p : places) fam[2].emplace_back(ifo + ":PEM-" + st + "_MIC_" + p + "_DQ", 2048);
  for (const char* st : stations)
    for (const char* p : places) {
      fam[3].emplace_back(ifo + ":PEM-" + st + "_TEMP_" + p + "_DQ", 16);
      fam[3].emplace_back(ifo + ":PEM-" + st + "_WIND_" + p + "_SPEED_DQ", 16);
      for (const char* a : axes) fam[3].emplace_back(ifo + ":PEM-" + st + "_MAG_" + p + "_" + a + "_DQ", 64);
      fam[3].emplace_back(ifo + ":PEM-" + st + "_SEIS_" + p + "_Z_DQ", 128);
    }
  std::vector<std::pair<std::string, int>> out;
  std::size_t idx[4] = {0, 0, 0, 0};
  for (bool any = true; any && out.size() < n;) {
    any = false;
    for (std::size_t f = 0; f < 4 && out.size() < n; ++f) {
      if (idx[f] < fam[f].size()) {
        out.push_back(fam[f][idx[f]++]);
        any = true;
      }
    }
  }
  if (out.size() < n) {
    throw std::invalid_argument("at most " + std::to_string(out.size()) + " unrelated channels are available");
  }
  return out;
}

Simulator::Simulator(SimOptions options) : opt_(std::move(options)) {
  if (opt_.ifo.size() != 2 || opt_.ifo[0] < 'A' || opt_.ifo[0] > 'Z') {
    throw std::invalid_argument("ifo must be two characters starting with an upper-case letter, e.g. H1");
  }
  using namespace model;
  const std::uint64_t seed = opt_.seed;
  strain_noise_ = std::make_unique<ColouredNoise>(kStrainRate, kStrainTaps, detector_asd, seed,
                                                  name_key(strain_channel()));
  for (std::size_t l = 0; l < 10; ++l) {
    for (int y = 0; y < 2; ++y) {
      const std::size_t i = 2 * l + static_cast<std::size_t>(y);
      const std::string dof = std::string(kLoops[l]) + (y ? "_Y" : "_P");
      AscChannel c;
      c.name = opt_.ifo + ":ASC-" + dof + "_OUT_DQ";
      c.rate = l < 6 ? 256 : 512;
      c.offset = 5.0 * static_cast<double>((7 * i) % 11) - 25.0;
      c.line_hz = 0.5 + 0.25 * static_cast<double>(i);
      c.coupling = coupling_of(dof);
      asc_noise_.push_back(std::make_unique<ColouredNoise>(
          c.rate, static_cast<std::size_t>(kAscTapsSeconds * c.rate), asc_motion_asd, seed, name_key(c.name)));
      line_phase_.push_back(kTwoPi * uniform01(stream_key(seed, name_key(c.name), 0, kPhases)));
      asc_.push_back(std::move(c));
    }
  }
  const std::uint64_t mk = name_key(mains_channel());
  mains_amp_ = std::make_unique<SplineProcess>(seed, mk, kAmpKnots, kAmpKnotSeconds * kMainsRate);
  mains_phase_ = std::make_unique<SplineProcess>(seed, mk, kPhaseKnots, kPhaseKnotSeconds * kMainsRate);
  for (std::size_t h = 0; h < std::size(kHarmonics); ++h) {
    harmonic_phase_.push_back(h == 0 ? 0.0 : kTwoPi * uniform01(stream_key(seed, mk, static_cast<std::int64_t>(h), kPhases)));
  }
  up_mains_ = std::make_unique<dsp::Resampler>(kMainsRate, kStrainRate);
  up_256_ = std::make_unique<dsp::Resampler>(256, kStrainRate);
  up_512_ = std::make_unique<dsp::Resampler>(512, kStrainRate);
  unrelated_ = unrelated_channels(opt_.ifo, opt_.unrelated);
  for (std::size_t i = 0; i < opt_.scenario.changes.size(); ++i) {
    const ScenarioChange& c = opt_.scenario.changes[i];
    const bool wanders = c.kind == ChangeKind::CouplingWander || c.kind == ChangeKind::PhaseWander;
    // Keyed by the change's place in the scenario: two wanders of one run are independent.
    wander_.push_back(wanders ? std::make_unique<SplineProcess>(seed, name_key(strain_channel()) + i, kWander,
                                                                std::llround(c.period * kStrainRate))
                              : nullptr);
    wander_origin_.push_back(wanders ? wander_.back()->at(strain_tick(c.from)) : 0.0);
  }
  for (const auto& c : opt_.scenario.changes) {
    if (c.channel.empty() || c.channel == mains_channel()) continue;
    bool found = false;
    for (const auto& a : asc_) found = found || a.name == c.channel;
    if (!found) {
      throw std::invalid_argument("scenario change '" + c.text + "': no witness channel '" + c.channel +
                                  "' (the mains monitor " + mains_channel() + " or an ASC channel, e.g. " +
                                  asc_.front().name + ")");
    }
  }
}

Simulator::~Simulator() = default;

const Simulator::Witnesses& Simulator::witnesses(std::int64_t gps) {
  auto it = cache_.find(gps);
  if (it != cache_.end()) return it->second;
  using namespace model;
  Witnesses w;
  // Mains monitor.
  {
    const std::uint64_t mk = name_key(mains_channel());
    std::vector<double> noise(kMainsRate);
    Gaussian(stream_key(opt_.seed, mk, gps, kSensorNoise)).fill(noise.data(), noise.size());
    w.mains.resize(kMainsRate);
    for (std::int64_t i = 0; i < kMainsRate; ++i) {
      const std::int64_t tick = gps * kMainsRate + i;
      // 60 Hz carrier phase from integers (60 * tick mod 1024), exact at any GPS time.
      std::int64_t cyc = (60 * (tick % kMainsRate)) % kMainsRate;
      if (cyc < 0) cyc += kMainsRate;
      double carrier = kTwoPi * static_cast<double>(cyc) / kMainsRate + kMainsPhaseWander * mains_phase_->at(tick);
      // mains-shift and mains-drift: the frequency moves (phase continuous).
      carrier += mains_phase_added(static_cast<double>(tick) / kMainsRate);
      const double amp = kMainsAmp * (1 + kMainsAmpWander * mains_amp_->at(tick));
      double v = 0;
      for (std::size_t h = 0; h < std::size(kHarmonics); ++h) {
        v += kHarmonicAmp[h] * std::cos(kHarmonics[h] * carrier + harmonic_phase_[h]);
      }
      w.mains[static_cast<std::size_t>(i)] = static_cast<float>(amp * v + kMainsNoise * noise[static_cast<std::size_t>(i)]);
    }
  }
  // ASC witnesses.
  w.asc.resize(asc_.size());
  for (std::size_t c = 0; c < asc_.size(); ++c) {
    const auto& ch = asc_[c];
    const auto n = static_cast<std::size_t>(ch.rate);
    std::vector<double> motion(n), noise(n);
    asc_noise_[c]->second(gps, motion.data());
    Gaussian(stream_key(opt_.seed, name_key(ch.name), gps, kSensorNoise)).fill(noise.data(), n);
    const std::int64_t q = std::lround(ch.line_hz * 64);
    w.asc[c].resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::int64_t tick = gps * ch.rate + static_cast<std::int64_t>(i);
      const double line = kAscLineAmp * std::sin(line_phase(q, tick, ch.rate) + line_phase_[c]);
      w.asc[c][i] = static_cast<float>(ch.offset + motion[i] + line + kAscNoise * noise[i]);
    }
  }
  // A sequential run needs gps-1 .. gps+1; keep a few seconds.
  while (cache_.size() >= 4) cache_.erase(cache_.begin());
  return cache_.emplace(gps, std::move(w)).first->second;
}

std::vector<double> Simulator::native_signal(std::int64_t gps, int which) {
  const Witnesses& w = witnesses(gps);
  if (which == 0) return std::vector<double>(w.mains.begin(), w.mains.end());
  const int rate = which == 1 ? 256 : 512;
  std::vector<double> u(static_cast<std::size_t>(rate), 0.0);
  for (std::size_t c = 0; c < asc_.size(); ++c) {
    if (asc_[c].rate != rate || asc_[c].coupling == 0) continue;
    // The written float32 values, less the channel's documented offset.
    for (std::size_t i = 0; i < u.size(); ++i) {
      u[i] += asc_[c].coupling * (static_cast<double>(w.asc[c][i]) - asc_[c].offset);
    }
  }
  return u;
}

std::vector<double> Simulator::upsampled(std::int64_t gps, int which) {
  dsp::Resampler& r = which == 0 ? *up_mains_ : which == 1 ? *up_256_ : *up_512_;
  // The interpolation filter spans well under a second either way, so seconds gps-1 .. gps+1 give
  // second gps exactly as an endless stream would (no seams, no carried state).
  r.reset();
  std::vector<double> out;
  out.reserve(3 * model::kStrainRate);
  for (std::int64_t s = gps - 1; s <= gps + 1; ++s) {
    const auto x = native_signal(s, which);
    r.push(x.data(), x.size(), out);
  }
  if (out.size() < 2 * static_cast<std::size_t>(model::kStrainRate)) {
    throw std::logic_error("simulator: interpolation filter longer than a second");
  }
  return std::vector<double>(out.begin() + model::kStrainRate, out.begin() + 2 * model::kStrainRate);
}

std::vector<double> Simulator::coupled(std::int64_t gps) {
  using namespace model;
  const bool lin = opt_.coupling == Coupling::Linear || opt_.coupling == Coupling::Both;
  const bool bil = opt_.coupling == Coupling::Bilinear || opt_.coupling == Coupling::Both;
  std::vector<double> c(kStrainRate, 0.0);
  if (!lin && !bil) return c;
  const auto m = upsampled(gps, 0);
  std::vector<double> u;
  if (bil) {
    const auto u256 = upsampled(gps, 1);
    const auto u512 = upsampled(gps, 2);
    u.resize(c.size());
    for (std::size_t i = 0; i < c.size(); ++i) u[i] = u256[i] + u512[i];
  }
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (lin) c[i] += kBeta * m[i];
    if (bil) c[i] += kAlpha * m[i] * u[i];
  }
  return c;
}

float Simulator::witness_value(const std::string& channel, double t) {
  const auto gps = static_cast<std::int64_t>(std::floor(t));
  const Witnesses& w = witnesses(gps);
  const double frac = t - static_cast<double>(gps);
  if (channel == mains_channel()) {
    return w.mains[static_cast<std::size_t>(std::floor(frac * model::kMainsRate))];
  }
  for (std::size_t c = 0; c < asc_.size(); ++c) {
    if (asc_[c].name == channel) return w.asc[c][static_cast<std::size_t>(std::floor(frac * asc_[c].rate))];
  }
  throw std::invalid_argument("scenario: no witness channel '" + channel + "'");
}

double Simulator::wander(std::size_t change, double t) const {
  const ScenarioChange& c = opt_.scenario.changes[change];
  if (t < c.from) return 0;
  return wander_[change]->at(strain_tick(std::min(t, c.to))) - wander_origin_[change];
}

double Simulator::coupling_scale(double t) const {
  double scale = 1;
  for (std::size_t i = 0; i < opt_.scenario.changes.size(); ++i) {
    const ScenarioChange& c = opt_.scenario.changes[i];
    if (c.kind == ChangeKind::CouplingScale && c.active(t)) scale *= c.value;
    if (c.kind == ChangeKind::CouplingWander) scale *= 1 + c.value * wander(i, t);
    if (c.kind == ChangeKind::Relock && t >= c.to) scale *= c.value;
  }
  return scale;
}

double Simulator::coupling_degrees(double t) const {
  double degrees = 0;
  for (std::size_t i = 0; i < opt_.scenario.changes.size(); ++i) {
    const ScenarioChange& c = opt_.scenario.changes[i];
    if (c.kind == ChangeKind::CouplingPhase && c.active(t)) degrees += c.value;
    if (c.kind == ChangeKind::PhaseWander) degrees += c.value * wander(i, t);
  }
  return degrees;
}

double Simulator::mains_offset_hz(double t) const {
  double hz = 0;
  for (const auto& c : opt_.scenario.changes) {
    if (c.kind == ChangeKind::MainsShift && c.active(t)) hz += c.value;
    if (c.kind == ChangeKind::MainsDrift && c.active(t)) hz += c.value * std::sin(kTwoPi * (t - c.from) / c.period);
  }
  return hz;
}

double Simulator::mains_phase_added(double t) const {
  double phase = 0;
  for (const auto& c : opt_.scenario.changes) {
    if (t <= c.from) continue;
    const double u = std::min(t, c.to) - c.from;  // held from TO on: the frequency is back, the phase stays
    if (c.kind == ChangeKind::MainsShift) phase += kTwoPi * c.value * u;
    // The integral of 2 pi HZ sin(2 pi u / P): HZ P (1 - cos(2 pi u / P)).
    if (c.kind == ChangeKind::MainsDrift) phase += c.value * c.period * (1 - std::cos(kTwoPi * u / c.period));
  }
  return phase;
}

bool Simulator::locked(double t) const {
  for (const auto& c : opt_.scenario.changes) {
    if (c.kind == ChangeKind::Relock && c.active(t)) return false;
  }
  return true;
}

SecondFrames Simulator::generate(std::int64_t gps) {
  if (gps < 0 || gps > 0xFFFFFFFELL) throw std::invalid_argument("simulator: GPS second out of range");
  using namespace model;
  SecondFrames out;
  // Witness frame.
  out.witness = frame_header(opt_.ifo, gps);
  {
    const Witnesses w = witnesses(gps);  // a copy: witness_value() below may evict the cache entry
    // witness-flat / witness-zero change what a sensor reports, not the coupling it witnessed.
    const auto reported = [&](const std::string& name, std::vector<float> v, int rate) {
      for (const auto& ch : opt_.scenario.changes) {
        if (ch.kind != ChangeKind::WitnessFlat && ch.kind != ChangeKind::WitnessZero) continue;
        if ((ch.channel.empty() ? mains_channel() : ch.channel) != name) continue;
        const float hold = ch.kind == ChangeKind::WitnessFlat ? witness_value(name, ch.from) : 0.0f;
        for (std::size_t i = 0; i < v.size(); ++i) {
          if (ch.active(static_cast<double>(gps) + static_cast<double>(i) / rate)) v[i] = hold;
        }
      }
      return v;
    };
    out.witness.channels.push_back(make_adc(mains_channel(), reported(mains_channel(), w.mains, kMainsRate), kMainsRate, "V"));
    for (std::size_t c = 0; c < asc_.size(); ++c) {
      out.witness.channels.push_back(
          make_adc(asc_[c].name, reported(asc_[c].name, w.asc[c], asc_[c].rate), asc_[c].rate, "counts"));
    }
    for (const auto& [name, rate] : unrelated_) {
      const std::uint64_t key = name_key(name);
      // Per-channel scale and offset depend on the name only (stable across seeds); the noise on the seed.
      const double scale = std::pow(10.0, 3.0 * uniform01(mix64(key)) - 1.0);
      const double offset = std::round(200.0 * (uniform01(mix64(key + 1)) - 0.5));
      std::vector<double> noise(static_cast<std::size_t>(rate));
      Gaussian(stream_key(opt_.seed, key, gps, kUnrelated)).fill(noise.data(), noise.size());
      std::vector<float> v(noise.size());
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(offset + scale * noise[i]);
      out.witness.channels.push_back(make_adc(name, std::move(v), rate, "counts"));
    }
  }
  // Strain frame: detector noise plus the coupled noise, changed by the scenario's coupling-scale
  // (factor) and coupling-phase (delay) where they are active.
  std::vector<double> h(kStrainRate);
  strain_noise_->second(gps, h.data());
  if (opt_.coupling != Coupling::None) {
    const std::vector<double> c = coupled(gps);
    std::vector<double> before, after;  // seconds gps -+ 1, only when a delay reaches into them
    for (std::size_t i = 0; i < h.size(); ++i) {
      const double t = static_cast<double>(gps) + static_cast<double>(i) / kStrainRate;
      const double scale = coupling_scale(t), degrees = coupling_degrees(t);
      if (scale == 0) continue;
      const auto j = static_cast<std::int64_t>(i) -
                     static_cast<std::int64_t>(std::llround(degrees / 360.0 / kMainsHz * kStrainRate));
      double v = 0;
      if (j < 0) {
        if (before.empty()) before = coupled(gps - 1);
        v = before[static_cast<std::size_t>(j + kStrainRate)];
      } else if (j >= kStrainRate) {
        if (after.empty()) after = coupled(gps + 1);
        v = after[static_cast<std::size_t>(j - kStrainRate)];
      } else {
        v = c[static_cast<std::size_t>(j)];
      }
      h[i] += scale * v;
    }
  }
  out.strain = frame_header(opt_.ifo, gps);
  gwf::Channel hc;
  hc.name = strain_channel();
  hc.kind = gwf::ChannelKind::Proc;
  hc.sample_rate = kStrainRate;
  hc.proc.t_range = 1.0;
  hc.data = gwf::Vect::make(hc.name, h, kStrainRate, "strain");
  out.strain.channels.push_back(std::move(hc));
  gwf::Channel sv;
  sv.name = state_channel();
  sv.kind = gwf::ChannelKind::Proc;
  sv.sample_rate = kStateRate;
  sv.proc.t_range = 1.0;
  std::vector<std::uint32_t> state(kStateRate, kStateGood);
  for (int i = 0; i < kStateRate; ++i) {
    if (!locked(static_cast<double>(gps) + static_cast<double>(i) / kStateRate)) state[static_cast<std::size_t>(i)] = 0;
  }
  sv.data = gwf::Vect::make(sv.name, std::move(state), kStateRate);
  out.strain.channels.push_back(std::move(sv));
  return out;
}

}  // namespace deepclean::sim
