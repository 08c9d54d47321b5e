#include "core/stream/prediction_averager.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "core/stream/kernel_geometry.hpp"

namespace deepclean::stream {
namespace {

TEST(PredictionAverager, HandComputedMeansWithTrueCounts) {
  // K = 4, s = 2, N = 2 => a = 0. Kernel j predicts the constant j + 1 and covers y[2j, 2j + 4).
  const KernelGeometry g{4, 2, 2};
  PredictionAverager avg(g);
  std::vector<double> y;
  const std::vector<float> p0(4, 1.0f), p1(4, 2.0f), p2(4, 3.0f);
  avg.add(p0.data(), 1);
  avg.pop(y);
  // Kernel 0 finalises y[0], y[1] (floor((n - a)/s) = 0).
  ASSERT_EQ(y, (std::vector<double>{1.0, 1.0}));
  avg.add(p1.data(), 1);
  avg.add(p2.data(), 1);
  avg.pop(y);
  EXPECT_EQ(y, (std::vector<double>{1.0, 1.0, 1.5, 1.5, 2.5, 2.5}));
  EXPECT_EQ(avg.final_end(), 6u);
}

TEST(PredictionAverager, UsesOnlyPositionsFromA) {
  // K = 8, s = 2, N = 2 => a = 4: position i of kernel j lands on y[2j + i] for i in [4, 8).
  const KernelGeometry g{8, 2, 2};
  PredictionAverager avg(g);
  std::vector<float> p(8);
  for (std::size_t i = 0; i < 8; ++i) p[i] = static_cast<float>(10 * i);
  avg.add(p.data(), 1);
  std::vector<double> y;
  avg.pop(y);
  EXPECT_EQ(avg.next_sample(), 6u);
  ASSERT_EQ(y, (std::vector<double>{40.0, 50.0}));  // y[4], y[5]: only kernel 0 covers them
  avg.add(p.data(), 1);
  avg.pop(y);
  // y[6] = (P_0[6] + P_1[4]) / 2 = (60 + 40) / 2, y[7] = (70 + 50) / 2.
  EXPECT_EQ(y, (std::vector<double>{40.0, 50.0, 50.0, 60.0}));
}

TEST(PredictionAverager, TermCountReachesNAtKMinusS) {
  const KernelGeometry g{4096, 8, 256};  // a = 2048
  EXPECT_EQ(PredictionAverager::terms(g, 2047), 0u);
  EXPECT_EQ(PredictionAverager::terms(g, 2048), 1u);
  EXPECT_EQ(PredictionAverager::terms(g, 2055), 1u);
  EXPECT_EQ(PredictionAverager::terms(g, 2056), 2u);
  EXPECT_EQ(PredictionAverager::terms(g, 4087), 255u);  // last of the K - s - a warm-up samples
  EXPECT_EQ(PredictionAverager::terms(g, 4088), 256u);  // n >= K - s: always N
  EXPECT_EQ(PredictionAverager::terms(g, 1000000), 256u);
}

TEST(PredictionAverager, RejectsInconsistentGeometry) {
  EXPECT_THROW(PredictionAverager(KernelGeometry{64, 8, 9}), std::invalid_argument);
  EXPECT_THROW(PredictionAverager(KernelGeometry{64, 0, 1}), std::invalid_argument);
  EXPECT_THROW(PredictionAverager(KernelGeometry{64, 65, 1}), std::invalid_argument);
  EXPECT_THROW(PredictionAverager(KernelGeometry{64, 8, 0}), std::invalid_argument);
  EXPECT_NO_THROW(PredictionAverager(KernelGeometry{64, 8, 8}));
}

}  // namespace
}  // namespace deepclean::stream

namespace deepclean::stream {
namespace {

TEST(KernelGeometry, FromConfigurationSeconds) {
  // DeepClean production (streaming-reference.md 1.5): 1 s kernels, 512 Hz inference, 0.5 s averaging.
  const KernelGeometry g = kernel_geometry_from_seconds(4096, 1.0, 512.0, 0.5, 16);
  EXPECT_EQ(g.kernel_length, 4096u);
  EXPECT_EQ(g.stride, 8u);
  EXPECT_EQ(g.num_averaged, 256u);
  EXPECT_EQ(g.first_used(), 2048u);
  EXPECT_THROW(kernel_geometry_from_seconds(4096, 1.0, 3000.0, 0.5, 16), std::invalid_argument);
  EXPECT_THROW(kernel_geometry_from_seconds(4096, 1.0, 512.0, 1.5, 16), std::invalid_argument);
  EXPECT_THROW(kernel_geometry_from_seconds(4096, 1.001, 512.0, 0.5, 16), std::invalid_argument);
  EXPECT_THROW(kernel_geometry_from_seconds(1000, 1.0, 100.0, 0.5, 16), std::invalid_argument);  // K=1000
  EXPECT_THROW(kernel_geometry_from_seconds(0, 1.0, 512.0, 0.5, 16), std::invalid_argument);
}

}  // namespace
}  // namespace deepclean::stream
