// Counter-based randomness for the simulator: every random number is a pure function of
// (seed, channel, index), so any second can be generated on its own and comes out identical however
// a run is started or chunked (docs/simulator.md, "Determinism").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace deepclean::sim {

// SplitMix64's finaliser: a bijective 64-bit mix with full avalanche.
std::uint64_t mix64(std::uint64_t x);
// FNV-1a of a channel name: a stable key that does not depend on the standard library.
std::uint64_t name_key(std::string_view name);
// Key of one stream: (seed, channel key, index, purpose), mixed so that neighbouring indices give
// unrelated streams.
std::uint64_t stream_key(std::uint64_t seed, std::uint64_t channel, std::int64_t index, std::uint64_t purpose);

// Uniform in [0, 1) from the top 53 bits of a key.
double uniform01(std::uint64_t key);
// One standard normal from a key (Box-Muller on two derived uniforms).
double normal_from_key(std::uint64_t key);

// xoshiro256** seeded from a key through SplitMix64, with Box-Muller normals. std::normal_distribution
// is not used because its algorithm differs between standard libraries.
class Gaussian {
 public:
  explicit Gaussian(std::uint64_t key);
  std::uint64_t next_u64();
  double uniform();  // [0, 1)
  double normal();
  void fill(double* out, std::size_t n);

 private:
  std::uint64_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace deepclean::sim
