// Steps 3-5 through the NoiseEstimator interface against the literal reading in fake_predictor.hpp.
#include "core/stream/noise_estimator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "common/fake_predictor.hpp"

namespace deepclean::stream {
namespace {

std::vector<double> run_estimator(NoiseEstimator& est, const std::vector<float>& x,
                                  std::size_t channels, std::size_t total, std::size_t chunk) {
  std::vector<double> y;
  std::vector<float> staged;
  for (std::size_t start = 0; start < total; start += chunk) {
    const std::size_t n = std::min(chunk, total - start);
    testing::stage_chunk(x, channels, total, start, n, staged);
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

// FakePredictor that honours Predictor::predict_from by poisoning what the caller said it does not
// need: positions [0, needed_from) of every prediction become NaN.
class PoisonedPrefixPredictor final : public Predictor {
 public:
  PoisonedPrefixPredictor(std::size_t channels, std::size_t max_batch) : inner_(channels, max_batch) {}
  std::size_t channels() const override { return inner_.channels(); }
  std::size_t max_batch() const override { return inner_.max_batch(); }
  void predict(const float* kernels, std::size_t batch, std::size_t k, float* out) override {
    inner_.predict(kernels, batch, k, out);
    ++full_calls;
  }
  void predict_from(const float* kernels, std::size_t batch, std::size_t k, std::size_t needed_from,
                    float* out) override {
    inner_.predict(kernels, batch, k, out);
    for (std::size_t b = 0; b < batch; ++b) {
      std::fill(out + b * k, out + b * k + needed_from, std::numeric_limits<float>::quiet_NaN());
    }
    needed.push_back(needed_from);
  }
  std::size_t full_calls = 0;
  std::vector<std::size_t> needed;

 private:
  testing::FakePredictor inner_;
};

TEST(CpuNoiseEstimator, AsksOnlyForPositionsFromAAndNeverReadsBefore) {
  // The estimator passes a = K - N*s as the first needed position; predictions whose [0, a) are NaN
  // still give exactly the literal y, so nothing before a is read.
  const std::vector<Case> cases{{{64, 8, 8}, "a = 0"}, {{48, 5, 7}, "a = 13"}, {{32, 4, 2}, "a = 24"},
                                {{64, 8, 1}, "N = 1, a = 56"}, {{64, 1, 16}, "s = 1, a = 48"}};
  const std::size_t channels = 3, total = 301;
  const auto x = testing::random_channels(channels, total, 5);
  for (const auto& tc : cases) {
    PoisonedPrefixPredictor model(channels, 7);
    CpuNoiseEstimator est(tc.g, model);
    const auto y = run_estimator(est, x, channels, total, 37);
    ASSERT_EQ(y, literal_y(x, channels, total, tc.g)) << tc.what;
    EXPECT_EQ(model.full_calls, 0u) << tc.what;
    ASSERT_FALSE(model.needed.empty()) << tc.what;
    for (const std::size_t a : model.needed) EXPECT_EQ(a, tc.g.first_used()) << tc.what;
  }
}

TEST(Predictor, PredictFromDefaultsToTheWholePrediction) {
  testing::FakePredictor model(2, 4);
  const std::size_t k = 32;
  const auto x = testing::random_channels(2, 3 * k, 8);  // three unrelated 2 x K kernels
  std::vector<float> all(3 * k), from(3 * k, -1.0f);
  model.predict(x.data(), 3, k, all.data());
  static_cast<Predictor&>(model).predict_from(x.data(), 3, k, 20, from.data());
  EXPECT_EQ(from, all);
}

TEST(Predictor, PredictWindowsDefaultsToPredictFromOnTheCopiedKernels) {
  // Three windows at stride 5 of a 2-channel stream stored with leading dimension 100 (a ring
  // buffer with room to spare): the default copies kernel j = x[c * 100 + 5 j + i] and predicts.
  testing::FakePredictor model(2, 4);
  const std::size_t k = 32, s = 5, ld = 100;
  const auto x = testing::random_channels(2, ld, 9);
  std::vector<float> kernels(3 * 2 * k);
  for (std::size_t j = 0; j < 3; ++j)
    for (std::size_t c = 0; c < 2; ++c)
      for (std::size_t i = 0; i < k; ++i) kernels[(j * 2 + c) * k + i] = x[c * ld + j * s + i];
  std::vector<float> expected(3 * k), got(3 * k, -1.0f);
  model.predict(kernels.data(), 3, k, expected.data());
  static_cast<Predictor&>(model).predict_windows(x.data(), ld, s, 3, k, 0, got.data());
  EXPECT_EQ(got, expected);
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
