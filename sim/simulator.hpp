// The detector simulator behind `deepclean simulate` (docs/simulator.md): 1-s strain (llhoft) and
// witness (lldetchar) frames in which the strain carries mains noise coupled linearly and bilinearly
// (mains x angular motion) from the witnesses written next to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/dsp/resample.hpp"
#include "io/gwf/frame.hpp"
#include "sim/processes.hpp"
#include "sim/scenario.hpp"

namespace deepclean::sim {

enum class Coupling { None, Linear, Bilinear, Both };
Coupling parse_coupling(const std::string& s);  // none|linear|bilinear|both

struct SimOptions {
  std::string ifo = "H1";        // two characters; the observatory letter is the first
  std::uint64_t seed = 1;
  std::size_t unrelated = 300;   // channels in the witness frame that play no part in the coupling
  Coupling coupling = Coupling::Both;
  Scenario scenario;             // changes at GPS times (Scenario::resolved), docs/simulator.md
};

// Model constants, all documented in docs/simulator.md.
namespace model {
constexpr int kStrainRate = 16384;
constexpr int kStateRate = 16;
constexpr int kMainsRate = 1024;
constexpr std::uint32_t kStateGood = 0x1E3;  // bits 0, 1 (HOFT_OK, OBS_INTENT) and 5..8 (no HW injections)
// Detector noise ASD (strain/sqrt(Hz)): A * sqrt((fs/F)^16 + (ft/F)^4 + q^2 (1 + (f/fp)^2)), F = max(f, fmin)
constexpr double kAsdScale = 1.2e-23, kSeismicHz = 10, kThermalHz = 30, kShot = 0.8, kShotPoleHz = 450,
                 kFloorHz = 4;
constexpr std::size_t kStrainTaps = 16384;  // 1-s colouring FIR: 1 Hz design resolution
// Mains monitor: A0 (1 + wa S_a(t)) sum_h c_h cos(h (2 pi 60 t + wp S_p(t)) + psi_h) + sensor noise
constexpr double kMainsHz = 60, kMainsAmp = 1.0, kMainsAmpWander = 0.03, kMainsPhaseWander = 0.3,
                 kMainsNoise = 1e-3;
constexpr int kAmpKnotSeconds = 2, kPhaseKnotSeconds = 8;
constexpr int kHarmonics[] = {1, 2, 3, 5};
constexpr double kHarmonicAmp[] = {1.0, 0.01, 0.08, 0.02};
// ASC witnesses: offset + coloured motion (ASD G / (1 + (f/f1)^2) / (1 + (f/f2)^4)) + line + sensor noise
constexpr double kAscAsd = 10, kAscCorner1Hz = 1, kAscCorner2Hz = 6, kAscLineAmp = 5, kAscNoise = 1e-3;
constexpr int kAscTapsSeconds = 4;
// Coupling into strain: beta * M(t) + alpha * M(t) * sum_i a_i (ASC_i(t) - offset_i)
constexpr double kAlpha = 6e-22, kBeta = 3e-21;
}  // namespace model

double detector_asd(double f);  // the documented curve
double asc_motion_asd(double f);

struct AscChannel {
  std::string name;       // "<IFO>:ASC-CHARD_P_OUT_DQ"
  int rate = 256;
  double offset = 0;      // counts
  double line_hz = 0;     // a multiple of 1/64 Hz
  double coupling = 0;    // a_i (0: not coupled)
};

struct SecondFrames {
  gwf::Frame strain;
  gwf::Frame witness;
};

class Simulator {
 public:
  explicit Simulator(SimOptions options);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // The two frames of GPS second `gps` (0 <= gps < 2^32). A pure function of (options, gps).
  SecondFrames generate(std::int64_t gps);

  const SimOptions& options() const { return opt_; }
  std::string observatory() const { return opt_.ifo.substr(0, 1); }
  std::string strain_channel() const { return opt_.ifo + ":GDS-CALIB_STRAIN"; }
  std::string state_channel() const { return opt_.ifo + ":GDS-CALIB_STATE_VECTOR"; }
  std::string mains_channel() const { return opt_.ifo + ":PEM-CS_MAINSMON_EBAY_1_DQ"; }
  const std::vector<AscChannel>& asc_channels() const { return asc_; }

  // The scenario at GPS time t (docs/simulator.md, "Scenarios"): the factor on the coupling into the
  // strain, the coupling's delay in degrees at 60 Hz, the mains frequency's offset (Hz) and the
  // carrier phase the offsets have added since they began (rad), and whether the detector is locked
  // (observing). Without a scenario: 1, 0, 0, 0, true.
  double coupling_scale(double t) const;
  double coupling_degrees(double t) const;
  double mains_offset_hz(double t) const;
  double mains_phase_added(double t) const;
  bool locked(double t) const;
  // Names and rates of the unrelated channels (fixed list; the first `unrelated` are used).
  static std::vector<std::pair<std::string, int>> unrelated_channels(const std::string& ifo, std::size_t n);

 private:
  struct Witnesses {
    std::vector<float> mains;
    std::vector<std::vector<float>> asc;
  };
  const Witnesses& witnesses(std::int64_t gps);
  std::vector<double> upsampled(std::int64_t gps, int which);  // 0: mains, 1: ASC at 256 Hz, 2: ASC at 512 Hz
  std::vector<double> native_signal(std::int64_t gps, int which);
  std::vector<double> coupled(std::int64_t gps);  // the noise the witnesses couple into second gps
  // A witness channel's value written at GPS time t (witness-flat holds it).
  float witness_value(const std::string& channel, double t);

  SimOptions opt_;
  std::vector<AscChannel> asc_;
  std::unique_ptr<ColouredNoise> strain_noise_;
  std::vector<std::unique_ptr<ColouredNoise>> asc_noise_;
  std::unique_ptr<SplineProcess> mains_amp_, mains_phase_;
  std::vector<std::unique_ptr<SplineProcess>> wander_;  // per scenario change: its S(t) (wander kinds)
  std::vector<double> wander_origin_;                   // per scenario change: S(FROM) (0 for other kinds)
  double wander(std::size_t change, double t) const;     // S(min(t, TO)) - S(FROM), 0 before FROM
  std::vector<double> harmonic_phase_;
  std::vector<double> line_phase_;
  std::map<std::int64_t, Witnesses> cache_;
  std::unique_ptr<dsp::Resampler> up_mains_, up_256_, up_512_;
  std::vector<std::pair<std::string, int>> unrelated_;
};

}  // namespace deepclean::sim
