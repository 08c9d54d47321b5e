// Unit tests of the simulator's building blocks (sim/random, sim/processes).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/dsp/welch.hpp"
#include "sim/processes.hpp"
#include "sim/random.hpp"

namespace sim = deepclean::sim;

TEST(SimRandom, SameKeySameStream) {
  sim::Gaussian a(sim::stream_key(7, sim::name_key("X1:A"), 1234, 1));
  sim::Gaussian b(sim::stream_key(7, sim::name_key("X1:A"), 1234, 1));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.normal(), b.normal());
}
