// Archive seconds for the tests of daemon/archive: a strain and two witnesses of seeded noise.
#pragma once

#include <cstdint>
#include <filesystem>
#include <random>
#include <vector>

#include "daemon/archive/training_archive.hpp"

namespace deepclean::daemon::archive::test {

constexpr int kStrainRate = 256, kWitnessRate = 64;

inline Settings settings(const std::filesystem::path& dir, std::uint64_t chunk, std::uint64_t span) {
  Settings s;
  s.directory = dir;
  s.ifo = "H1";
  s.frame_type = "H1_DEEPCLEAN_ARCHIVE";
  s.chunk_seconds = chunk;
  s.span_seconds = span;
  return s;
}

inline std::vector<double> values(std::uint64_t gps, int channel, int n, double scale) {
  std::mt19937 rng(static_cast<std::uint32_t>(gps * 7 + static_cast<std::uint64_t>(channel)));
  std::normal_distribution<double> d(0.0, scale);
  std::vector<double> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = d(rng);
  return v;
}

inline Second second(std::uint64_t gps) {
  Second s;
  s.gps = gps;
  s.strain.name = "H1:GDS-CALIB_STRAIN";
  s.strain.kind = gwf::ChannelKind::Proc;
  s.strain.sample_rate = kStrainRate;
  s.strain.data = gwf::Vect::make(s.strain.name, values(gps, 0, kStrainRate, 1e-21), kStrainRate, "strain");
  s.witness_names = {"H1:PEM-A", "H1:ASC-B"};
  s.witnesses = {values(gps, 1, kWitnessRate, 3.0), values(gps, 2, kWitnessRate, 1e3)};
  s.witness_rates = {kWitnessRate, kWitnessRate};
  return s;
}

}  // namespace deepclean::daemon::archive::test
