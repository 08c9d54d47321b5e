// Steps 3-5 through the NoiseEstimator interface against the literal reading in fake_predictor.hpp.
#include "core/stream/noise_estimator.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "fake_predictor.hpp"

namespace deepclean::stream {
namespace {

std::vector<double> run_estimator(NoiseEstimator& est, const std::vector<float>& x,
                                  std::size_t channels, std::size_t total, std::size_t chunk) {
  std::vector<double> y;
  std::vector<float> staged;
  for (std::size_t start = 0; start < total; start += chunk) {
    const std::size_t n = std::min(chunk, total - start);
    staged.assign(channels * n, 0.0f);
    for (std::size_t c = 0; c < channels; ++c)
      for (std::size_t i = 0; i < n; ++i) staged[c * n + i] = x[c * total + start + i];
    est.push(staged.data(), n, n);
    est.pop(y);
  }
  return y;
}

std::vector<double> literal_y(const std::vector<float>& x, std::size_t channels, std::size_t total,
                              const KernelGeometry& g) {
  const auto kernels = testing::literal_kernels(x, channels, total, g.kernel_length, g.stride);
  std::vector<std::vector<float>> preds;
  for (const auto& kern : kernels) {
    std::vector<float> p(g.kernel_length);
    testing::fake_prediction(kern.data(), channels, g.kernel_length, p.data());
    preds.push_back(p);
  }
  return testing::literal_average(preds, g);
}

struct Case {
  KernelGeometry g;
  const char* what;
};

TEST(CpuNoiseEstimator, EqualsLiteralStepsThreeToFiveForAnyChunkingAndBatch) {
  const std::vector<Case> cases{
      {{64, 8, 8}, "N*s = K (a = 0)"},  {{64, 1, 16}, "s = 1"},   {{64, 64, 1}, "s = K"},
      {{48, 5, 7}, "a = 13, s does not divide K"}, {{32, 4, 2}, "a = 24"}, {{64, 8, 1}, "N = 1"}};
  const std::size_t channels = 3;
  for (const auto& tc : cases) {
    // Two segments of different lengths (the second starts after a gap): state must not leak.
    for (std::size_t total : {std::size_t{517}, std::size_t{203}, std::size_t{40}}) {
      const auto x = testing::random_channels(channels, total, static_cast<unsigned>(total));
      const auto expected = literal_y(x, channels, total, tc.g);
      testing::FakePredictor model(channels, 16);
      for (std::size_t batch : {std::size_t{1}, std::size_t{3}, std::size_t{16}}) {
        CpuNoiseEstimator est(tc.g, model, batch);
        for (std::size_t chunk : {std::size_t{1}, std::size_t{10}, std::size_t{64}, total}) {
          est.reset();
          EXPECT_EQ(est.next_sample(), tc.g.first_used());
          const auto y = run_estimator(est, x, channels, total, chunk);
          // Identical kernels, predictions and summation order: bit-for-bit equality.
          ASSERT_EQ(y, expected) << tc.what << " total=" << total << " batch=" << batch
                                 << " chunk=" << chunk;
        }
      }
      EXPECT_LE(model.largest_batch_seen, 16u);
    }
  }
}

TEST(CpuNoiseEstimator, SegmentShorterThanKHasNoEstimate) {
  const KernelGeometry g{64, 8, 4};
  testing::FakePredictor model(2, 8);
  CpuNoiseEstimator est(g, model);
  const auto x = testing::random_channels(2, 63, 1);
  EXPECT_TRUE(run_estimator(est, x, 2, 63, 63).empty());
  EXPECT_EQ(model.calls, 0u);
}

TEST(CpuNoiseEstimator, PredictsEachKernelOnceInBatchesUpToTheLimit) {
  const KernelGeometry g{64, 8, 4};
  testing::FakePredictor model(2, 5);
  CpuNoiseEstimator est(g, model);
  const auto x = testing::random_channels(2, 64 + 8 * 11, 1);
  run_estimator(est, x, 2, 64 + 8 * 11, 64 + 8 * 11);
  EXPECT_EQ(model.kernels_seen, 12u);
  EXPECT_EQ(model.calls, 3u);  // 5 + 5 + 2
  EXPECT_EQ(est.kernels_predicted(), 12u);
}

TEST(CpuNoiseEstimator, RejectsBatchAboveModelLimit) {
  testing::FakePredictor model(2, 4);
  EXPECT_THROW(CpuNoiseEstimator(KernelGeometry{64, 8, 4}, model, 5), std::invalid_argument);
  EXPECT_THROW(CpuNoiseEstimator(KernelGeometry{64, 8, 9}, model), std::invalid_argument);
}

}  // namespace
}  // namespace deepclean::stream
