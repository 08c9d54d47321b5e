// Shared helpers of the dsp tests: the scipy fixture reader (tests/dsp/data/*.txt, written by
// tools/fixtures/dsp_fixtures.py) and the splitmix64 noise both sides draw test inputs from.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace dsptest {

// Records "case <name> <count>" followed by <count> numbers; '#' lines are comments.
inline std::vector<std::pair<std::string, std::vector<double>>> load(const std::string& file) {
  const std::string path = std::string(DEEPCLEAN_SOURCE_DIR) + "/tests/dsp/data/" + file;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open fixture " + path + " (regenerate: /usr/bin/python3 tools/fixtures/dsp_fixtures.py)");
  std::vector<std::pair<std::string, std::vector<double>>> out;
  std::string tok;
  while (in >> tok) {
    if (tok[0] == '#') {
      std::getline(in, tok);
      continue;
    }
    if (tok != "case") throw std::runtime_error("bad fixture token '" + tok + "' in " + path);
    std::string name;
    std::size_t count = 0;
    in >> name >> count;
    std::vector<double> v(count);
    for (std::size_t i = 0; i < count; ++i) {
      std::string num;
      in >> num;
      v[i] = std::strtod(num.c_str(), nullptr);
    }
    if (!in) throw std::runtime_error("truncated fixture " + path + " at " + name);
    out.emplace_back(name, std::move(v));
  }
  return out;
}

inline std::map<std::string, std::vector<double>> load_map(const std::string& file) {
  std::map<std::string, std::vector<double>> m;
  for (auto& [k, v] : load(file)) m[k] = v;
  return m;
}

inline std::vector<std::string> split(const std::string& s, char sep = ':') {
  std::vector<std::string> parts;
  std::stringstream ss(s);
  std::string p;
  while (std::getline(ss, p, sep)) parts.push_back(p);
  return parts;
}

// splitmix64 (Steele, Lea & Flood 2014), 53-bit uniform mapped to [-1, 1); identical to noise() in
// tools/fixtures/dsp_fixtures.py.
inline std::vector<double> noise(std::uint64_t seed, std::size_t n) {
  std::vector<double> out(n);
  std::uint64_t state = seed;
  for (std::size_t i = 0; i < n; ++i) {
    state += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    out[i] = static_cast<double>(z >> 11) * 0x1.0p-53 * 2.0 - 1.0;
  }
  return out;
}

// ||a - b|| / ||b|| over the common length.
inline double rel_rms(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

// max |a - b| / max |b| over the common length.
inline double rel_max(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    num = std::max(num, std::abs(a[i] - b[i]));
    den = std::max(den, std::abs(b[i]));
  }
  return den > 0 ? num / den : num;
}

}  // namespace dsptest
