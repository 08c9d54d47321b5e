// The device noise estimator (core/model/device_estimator.cpp) against stream::CpuNoiseEstimator
// driven by the CPU runner: same kernels, same averaging, same y. It runs on the CPU unless
// DEEPCLEAN_TEST_DEVICE names a CUDA device (fixtures.hpp); the reference always runs on the CPU.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/model/device_estimator.hpp"
#include "core/stream/noise_estimator.hpp"
#include "common/model_fixtures.hpp"

namespace deepclean::model {
namespace {

// over_loaded: the estimator drives a runner from load_model() (what daemon/pipeline does on CUDA)
// instead of loading the bundle itself.
void run_both(const std::filesystem::path& bundle, const stream::KernelGeometry& g, std::size_t max_batch,
              bool over_loaded = false) {
  RunnerOptions o;
  o.kernel_length = g.kernel_length;
  o.max_batch = max_batch;
  o.warmup_calls = 1;
  auto runner = make_runner(bundle, o);
  stream::CpuNoiseEstimator reference(g, *runner);
  RunnerOptions od = o;
  od.device = testing::test_device();
  LoadedModel loaded;
  std::unique_ptr<stream::NoiseEstimator> device;
  if (over_loaded) {
    loaded = load_model(bundle, od);
    device = make_device_noise_estimator(*loaded.predictor, g);
  } else {
    device = make_device_noise_estimator(bundle, od, g);
  }
  ASSERT_EQ(device->channels(), reference.channels());
  const std::size_t c = device->channels();

  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0F, 1.0F);
  std::uniform_int_distribution<std::size_t> chunk(1, 3 * g.kernel_length);
  std::vector<double> y_ref, y_dev;
  std::size_t pushed = 0;
  for (int round = 0; round < 40; ++round) {
    if (round == 25) {  // segment boundary in the middle
      reference.reset();
      device->reset();
      EXPECT_EQ(device->next_sample(), reference.next_sample());
    }
    const std::size_t n = chunk(rng);
    const std::size_t ld = n + 5;  // rows padded: the estimator must honour ld
    std::vector<float> x(c * ld);
    for (float& v : x) v = normal(rng);
    reference.push(x.data(), n, ld);
    device->push(x.data(), n, ld);
    pushed += n;
    if (round % 3 == 0) {
      EXPECT_EQ(device->next_sample(), reference.next_sample()) << "round " << round;
      reference.pop(y_ref);
      device->pop(y_dev);
    }
  }
  reference.pop(y_ref);
  device->pop(y_dev);
  ASSERT_EQ(y_dev.size(), y_ref.size());
  ASSERT_GT(y_ref.size(), 10 * g.kernel_length);
  double max_diff = 0.0, max_ref = 0.0, sq_diff = 0.0, sq_ref = 0.0;
  for (std::size_t i = 0; i < y_ref.size(); ++i) {
    max_diff = std::max(max_diff, std::abs(y_dev[i] - y_ref[i]));
    max_ref = std::max(max_ref, std::abs(y_ref[i]));
    sq_diff += (y_dev[i] - y_ref[i]) * (y_dev[i] - y_ref[i]);
    sq_ref += y_ref[i] * y_ref[i];
  }
  const double rel_rms = std::sqrt(sq_diff / std::max(sq_ref, 1e-300));
  std::cout << "[ device estimator on " << od.device << ", K=" << g.kernel_length << " s=" << g.stride
            << " N=" << g.num_averaged << " B<=" << max_batch << " ] " << y_ref.size()
            << " samples of y, max abs diff " << max_diff << " (max |y| " << max_ref << "), relative RMS " << rel_rms
            << "\n";
  EXPECT_GT(max_ref, 1e-3);
  if (testing::testing_on_cuda()) {
    // Another device's float32 convolutions: the documented CUDA criterion.
    EXPECT_LE(rel_rms, testing::kCudaRelativeRms);
  } else {
    // Same float32 predictions, float64 sums that may add in another order.
    EXPECT_LE(max_diff, 1e-12 * max_ref);
  }
}

TEST(DeviceNoiseEstimator, MatchesCpuNoiseEstimator) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  run_both(fx / "bundle_c3", {256, 32, 4}, 3);
}

TEST(DeviceNoiseEstimator, MatchesCpuNoiseEstimatorAllOfKernelAveraged) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  run_both(fx / "bundle_c3", {128, 16, 8}, 5);  // a = 0: every predicted sample is used
}

TEST(DeviceNoiseEstimator, MatchesCpuNoiseEstimatorStrideEqualsKernel) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  run_both(fx / "bundle_c3", {64, 64, 1}, 2);  // no overlap at all
}

TEST(DeviceNoiseEstimator, OverALoadedRunnerMatchesCpuNoiseEstimator) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  run_both(fx / "bundle_c3", {256, 32, 4}, 3, /*over_loaded=*/true);
}

// A Predictor that is not a runner from load_model(): the device estimator cannot drive it.
class Wrapper final : public stream::Predictor {
 public:
  explicit Wrapper(stream::Predictor& inner) : inner_(inner) {}
  std::size_t channels() const override { return inner_.channels(); }
  std::size_t max_batch() const override { return inner_.max_batch(); }
  void predict(const float* k, std::size_t b, std::size_t n, float* out) override { inner_.predict(k, b, n, out); }

 private:
  stream::Predictor& inner_;
};

TEST(DeviceNoiseEstimator, RefusesAPredictorItCannotDrive) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  RunnerOptions o;
  o.kernel_length = 256;
  o.warmup_calls = 1;
  auto runner = make_runner(fx / "bundle_c3", o);
  Wrapper wrapped(*runner);
  try {
    (void)make_device_noise_estimator(wrapped, {256, 32, 4});
    FAIL() << "a wrapped predictor was accepted";
  } catch (const BundleError& e) {
    EXPECT_NE(std::string(e.what()).find("load_model"), std::string::npos) << e.what();
  }
}

TEST(DeviceNoiseEstimator, RejectsMismatchedKernelLength) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  RunnerOptions o;
  o.device = testing::test_device();
  o.kernel_length = 256;
  EXPECT_THROW((void)make_device_noise_estimator(fx / "bundle_c3", o, {128, 16, 8}), BundleError);
}

}  // namespace
}  // namespace deepclean::model
