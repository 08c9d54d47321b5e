#include "core/stream/kernel_ring.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "common/fake_predictor.hpp"

namespace deepclean::stream {
namespace {

// Pushes x (C x total) in chunks of `chunk` samples, popping at most `batch` kernels at a time, and
// returns every kernel in emission order, checking none is emitted before its last sample exists.
// in_place: kernels are read through peek()/skip() instead of being copied out by pop().
std::vector<std::vector<float>> stream_kernels(const std::vector<float>& x, std::size_t channels,
                                               std::size_t total, std::size_t k, std::size_t s,
                                               std::size_t chunk, std::size_t batch, bool in_place = false) {
  KernelRing ring(channels, k, s);
  std::vector<std::vector<float>> out;
  std::vector<float> buf;
  std::vector<float> staged;
  for (std::size_t start = 0; start < total; start += chunk) {
    const std::size_t n = std::min(chunk, total - start);
    testing::stage_chunk(x, channels, total, start, n, staged);
    ring.push(staged.data(), n, n);
    while (ring.ready() > 0) {
      const std::size_t j = ring.next_kernel();
      // Emitted exactly when its last sample arrived: the previous push had not completed it.
      EXPECT_LE(j * s + k, start + n);
      if (in_place) {
        const KernelRing::Windows w = ring.peek(batch);
        EXPECT_EQ(w.count, std::min(batch, ring.ready()));
        for (std::size_t b = 0; b < w.count; ++b) {
          std::vector<float> kern(channels * k);
          for (std::size_t c = 0; c < channels; ++c) {
            std::copy_n(w.data + c * w.ld + b * s, k, kern.begin() + static_cast<std::ptrdiff_t>(c * k));
          }
          out.push_back(kern);
        }
        ring.skip(w.count);
        continue;
      }
      buf.resize(batch * channels * k);
      const std::size_t got = ring.pop(buf.data(), batch);
      for (std::size_t b = 0; b < got; ++b)
        out.emplace_back(buf.begin() + static_cast<std::ptrdiff_t>(b * channels * k),
                         buf.begin() + static_cast<std::ptrdiff_t>((b + 1) * channels * k));
    }
    EXPECT_TRUE(ring.samples() < k || (ring.samples() - k) / s + 1 == ring.next_kernel());
  }
  return out;
}

TEST(KernelRing, KernelsEqualLiteralSlicesForAnyChunking) {
  const std::size_t channels = 3, total = 1000;
  const auto x = testing::random_channels(channels, total, 7);
  for (const auto& [k, s] : std::vector<std::pair<std::size_t, std::size_t>>{
           {64, 8}, {64, 1}, {64, 64}, {48, 5}, {16, 16}}) {
    const auto expected = testing::literal_kernels(x, channels, total, k, s);
    for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{64}, std::size_t{333}, total}) {
      for (std::size_t batch : {std::size_t{1}, std::size_t{4}, std::size_t{1000}}) {
        for (const bool in_place : {false, true}) {
          const auto got = stream_kernels(x, channels, total, k, s, chunk, batch, in_place);
          ASSERT_EQ(got.size(), expected.size())
              << "K=" << k << " s=" << s << " chunk=" << chunk << " in place " << in_place;
          for (std::size_t j = 0; j < got.size(); ++j) ASSERT_EQ(got[j], expected[j]) << "kernel " << j;
        }
      }
    }
  }
}

TEST(KernelRing, NoKernelBeforeKSamplesAndNoneAfterReset) {
  KernelRing ring(2, 32, 4);
  std::vector<float> x(2 * 31, 1.0f);
  ring.push(x.data(), 31, 31);
  EXPECT_EQ(ring.ready(), 0u);
  std::vector<float> one{2.0f, 3.0f};
  ring.push(one.data(), 1, 1);
  EXPECT_EQ(ring.ready(), 1u);
  // A reset (segment boundary) forgets the 32 samples: the next kernel needs 32 new ones.
  ring.reset();
  EXPECT_EQ(ring.ready(), 0u);
  ring.push(x.data(), 31, 31);
  EXPECT_EQ(ring.ready(), 0u);
  EXPECT_EQ(ring.next_kernel(), 0u);
  ring.push(one.data(), 1, 1);
  ASSERT_EQ(ring.ready(), 1u);
  std::vector<float> kern(2 * 32);
  ASSERT_EQ(ring.pop(kern.data(), 8), 1u);
  EXPECT_EQ(kern[31], 2.0f);
  EXPECT_EQ(kern[63], 3.0f);
  EXPECT_EQ(kern[0], 1.0f);
  // Next kernel (j = 1) ends at sample 35: needs exactly 4 more samples.
  std::vector<float> three(2 * 3, 5.0f);
  ring.push(three.data(), 3, 3);
  EXPECT_EQ(ring.ready(), 0u);
  ring.push(one.data(), 1, 1);
  EXPECT_EQ(ring.ready(), 1u);
}

TEST(KernelRing, SkipPastTheReadyKernelsIsRefused) {
  KernelRing ring(1, 8, 4);
  std::vector<float> x(12, 1.0f);
  ring.push(x.data(), 12, 12);  // kernels 0 and 1 complete
  ASSERT_EQ(ring.ready(), 2u);
  EXPECT_EQ(ring.peek(5).count, 2u);
  EXPECT_THROW(ring.skip(3), std::invalid_argument);
  ring.skip(2);
  EXPECT_EQ(ring.ready(), 0u);
  EXPECT_EQ(ring.next_kernel(), 2u);
  EXPECT_EQ(ring.peek(5).count, 0u);
}

TEST(KernelRing, RejectsBadShapes) {
  EXPECT_THROW(KernelRing(0, 16, 1), std::invalid_argument);
  EXPECT_THROW(KernelRing(1, 0, 1), std::invalid_argument);
  EXPECT_THROW(KernelRing(1, 16, 0), std::invalid_argument);
  EXPECT_THROW(KernelRing(1, 16, 17), std::invalid_argument);
}

}  // namespace
}  // namespace deepclean::stream
