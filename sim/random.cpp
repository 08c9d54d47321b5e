#include "sim/random.hpp"

#include <cmath>

namespace deepclean::sim {
namespace {
constexpr double kTwoPi = 6.283185307179586476925286766559;
std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

std::uint64_t name_key(std::string_view name) {
  std::uint64_t h = 0xCBF29CE484222325ULL;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ULL;
  }
  return h;
}

std::uint64_t stream_key(std::uint64_t seed, std::uint64_t channel, std::int64_t index, std::uint64_t purpose) {
  std::uint64_t k = mix64(seed ^ 0x5DEECE66DULL);
  k = mix64(k ^ channel);
  k = mix64(k ^ static_cast<std::uint64_t>(index));
  return mix64(k ^ (purpose * 0xD6E8FEB86659FD93ULL));
}

double uniform01(std::uint64_t key) { return static_cast<double>(key >> 11) * 0x1.0p-53; }

double normal_from_key(std::uint64_t key) {
  const double u1 = 1.0 - uniform01(mix64(key));  // (0, 1]: log is finite
  const double u2 = uniform01(mix64(key ^ 0xA0761D6478BD642FULL));
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

Gaussian::Gaussian(std::uint64_t key) {
  for (auto& s : s_) {
    key += 0x9E3779B97F4A7C15ULL;
    s = mix64(key);
  }
}

std::uint64_t Gaussian::next_u64() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Gaussian::uniform() { return uniform01(next_u64()); }

double Gaussian::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  const double u1 = 1.0 - uniform();
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double a = kTwoPi * u2;
  spare_ = r * std::sin(a);
  has_spare_ = true;
  return r * std::cos(a);
}

void Gaussian::fill(double* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = normal();
}

}  // namespace deepclean::sim
