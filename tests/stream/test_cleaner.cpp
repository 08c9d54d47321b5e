// StrainCleaner (contract steps 1-9) against the literal whole-segment reading in cleaner_reference.hpp,
// for every band-pass method, any chunking and any batch size, through segment starts and gaps.
#include "core/stream/cleaner.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

#include "common/cleaner_reference.hpp"
#include "common/fake_predictor.hpp"

namespace deepclean::stream {
namespace {

CleanerConfig small_config(BandpassMethod method) {
  CleanerConfig c;
  c.fs = 256;
  c.strain_rate = 1024;
  // Mixed rates (down, up and pass-through) and a constant channel (std 0 is treated as 1).
  c.witnesses = {{256, 0.5, 2.0}, {512, -1.0, 0.0}, {128, 0.0, 3.0}};
  c.strain_mean = 1e-3;
  c.strain_std = 2.0;
  c.geometry = {64, 4, 8};  // a = 32
  c.method = method;
  c.bands = {{20.0, 40.0}, {45.0, 55.0}};
  c.order = 4;
  c.memory_seconds = 1.0;
  c.look_ahead_seconds = 0.25;
  c.taper_seconds = 0.5;
  return c;
}

struct Input {
  GpsNs start;
  std::vector<std::vector<double>> witnesses;
  std::vector<double> strain;
};

Input make_input(const CleanerConfig& c, GpsNs start, double seconds, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> dist(0.0, 1.0);
  Input in{start, {}, {}};
  for (const auto& w : c.witnesses) {
    std::vector<double> x(static_cast<std::size_t>(seconds * w.rate));
    for (double& v : x) v = dist(gen);
    in.witnesses.push_back(x);
  }
  in.strain.resize(static_cast<std::size_t>(seconds * c.strain_rate));
  for (double& v : in.strain) v = 1e-2 * dist(gen);
  in.strain[0] = -0.0;  // g = 0 there: the output must keep the sign bit
  return in;
}

struct StreamOutput {
  std::vector<double> strain, weight, noise;
  std::vector<CleanedBlock> blocks;
  std::size_t blocks_before_end = 0;
};

std::unique_ptr<NoiseEstimator> estimator(const CleanerConfig& c, testing::FakePredictor& model,
                                          std::size_t batch) {
  return std::make_unique<CpuNoiseEstimator>(c.geometry, model, batch);
}

void collect(StrainCleaner& cl, StreamOutput& r) {
  while (cl.has_block()) r.blocks.push_back(cl.pop_block());
}

// Pushes the input in chunks of `chunk_ns` of time (every channel cut at the same times), or, when
// seed != 0, in random independent chunk sizes per channel.
StreamOutput stream(StrainCleaner& cl, const Input& in, GpsNs chunk_ns, unsigned seed = 0) {
  StreamOutput r;
  cl.start_segment(in.start);
  const std::size_t C = in.witnesses.size();
  std::vector<std::size_t> pos(C + 1, 0);
  const auto total = [&](std::size_t i) { return i < C ? in.witnesses[i].size() : in.strain.size(); };
  const auto rate = [&](std::size_t i) {
    return i < C ? cl.config().witnesses[i].rate : cl.config().strain_rate;
  };
  std::mt19937 gen(seed);
  for (GpsNs t = chunk_ns;; t += chunk_ns) {
    // Strain last in even steps, first in odd ones: the order of channels must not matter.
    const bool strain_first = (t / chunk_ns) % 2 == 1;
    for (std::size_t k = 0; k <= C; ++k) {
      const std::size_t ch = strain_first ? (k + C) % (C + 1) : k;
      const std::size_t to =
          seed != 0 ? std::min(total(ch), pos[ch] + std::uniform_int_distribution<std::size_t>(0, 300)(gen))
                    : std::min(total(ch), static_cast<std::size_t>(SampleClock(0, rate(ch)).index_ceil(t)));
      if (to > pos[ch]) {
        if (ch < C) cl.push_witness(ch, in.witnesses[ch].data() + pos[ch], to - pos[ch]);
        else cl.push_strain(in.strain.data() + pos[ch], to - pos[ch]);
        pos[ch] = to;
      }
    }
    collect(cl, r);
    bool all = true;
    for (std::size_t i = 0; i <= C; ++i) all = all && pos[i] == total(i);
    if (all) break;
  }
  r.blocks_before_end = r.blocks.size();
  cl.end_segment();
  collect(cl, r);
  for (const auto& b : r.blocks) {
    r.strain.insert(r.strain.end(), b.strain.begin(), b.strain.end());
    r.weight.insert(r.weight.end(), b.weight.begin(), b.weight.end());
    r.noise.insert(r.noise.end(), b.noise.begin(), b.noise.end());
  }
  return r;
}

double max_abs(const std::vector<double>& x) {
  double m = 0;
  for (double v : x) m = std::max(m, std::fabs(v));
  return m;
}

void expect_matches_reference(const StreamOutput& r, const testing::ReferenceOutput& ref, const Input& in,
                              const char* what) {
  ASSERT_EQ(r.strain.size(), ref.strain.size()) << what;
  ASSERT_EQ(r.noise.size(), ref.noise.size()) << what;
  EXPECT_EQ(r.weight, ref.weight) << what;
  const double vs = std::max(1e-300, max_abs(ref.noise));
  for (std::size_t n = 0; n < ref.noise.size(); ++n)
    ASSERT_NEAR(r.noise[n], ref.noise[n], 1e-12 * vs) << what << " v[" << n << "]";
  const double hs = max_abs(in.strain) + vs;
  for (std::size_t m = 0; m < ref.strain.size(); ++m) {
    ASSERT_NEAR(r.strain[m], ref.strain[m], 1e-12 * hs) << what << " clean[" << m << "]";
    if (r.weight[m] == 0.0) {
      // g = 0: the raw strain, bit for bit.
      ASSERT_EQ(std::memcmp(&r.strain[m], &in.strain[m], sizeof(double)), 0) << what << " m=" << m;
    }
  }
}

const GpsNs kT0 = gps_ns(1'400'000'000);

TEST(StrainCleaner, EqualsLiteralContractForEveryMethodAndChunking) {
  for (BandpassMethod method :
       {BandpassMethod::none, BandpassMethod::causal, BandpassMethod::window, BandpassMethod::fir}) {
    const CleanerConfig c = small_config(method);
    // Starts half-way through a GPS second: the first output block is half a frame.
    const Input in = make_input(c, kT0 + gps_ns(0, 500'000'000), 7.25, 1);
    const auto ref = testing::literal_clean(c, in.start, in.witnesses, in.strain);
    ASSERT_GT(ref.q, ref.p);  // the reference has an estimate to compare
    testing::FakePredictor model(3, 64);
    StreamOutput first;
    bool have_first = false;
    for (std::size_t batch : {std::size_t{1}, std::size_t{7}, std::size_t{64}}) {
      StrainCleaner cl(c, estimator(c, model, batch));
      for (GpsNs chunk : {gps_ns(0, 976'563), gps_ns(1), gps_ns(1, 700'000'000), gps_ns(100)}) {
        if (batch != 7 && chunk == gps_ns(0, 976'563)) continue;  // one sample at a time: once
        const StreamOutput r = stream(cl, in, chunk);
        expect_matches_reference(r, ref, in, "chunked");
        if (!have_first) {
          first = r;
          have_first = true;
        } else {
          // Identical, not merely close, whatever the chunking or batch.
          EXPECT_EQ(r.strain, first.strain);
          EXPECT_EQ(r.noise, first.noise);
        }
      }
      const StreamOutput random = stream(cl, in, gps_ns(0, 10'000'000), 42 + static_cast<unsigned>(batch));
      EXPECT_EQ(random.strain, first.strain);
      EXPECT_EQ(random.noise, first.noise);
    }
  }
}

TEST(StrainCleaner, BlocksFollowOutputFramesAndAreEmittedWhileStreaming) {
  const CleanerConfig c = small_config(BandpassMethod::window);
  const Input in = make_input(c, kT0 + gps_ns(0, 500'000'000), 7.25, 2);
  testing::FakePredictor model(3, 64);
  StrainCleaner cl(c, estimator(c, model, 0));
  const StreamOutput r = stream(cl, in, gps_ns(0, 250'000'000));
  // [0.5, 1), [1, 2) ... [7, 7.75): 8 blocks, each one output frame's share of the segment.
  ASSERT_EQ(r.blocks.size(), 8u);
  EXPECT_EQ(r.blocks[0].start, kT0 + gps_ns(0, 500'000'000));
  EXPECT_EQ(r.blocks[0].strain.size(), 512u);
  EXPECT_EQ(r.blocks[0].noise.size(), 128u);
  for (std::size_t k = 1; k < 8; ++k) {
    EXPECT_EQ(r.blocks[k].start, kT0 + gps_ns(static_cast<std::int64_t>(k)));
    EXPECT_EQ(r.blocks[k].strain_offset, 512 + (k - 1) * 1024);
    EXPECT_EQ(r.blocks[k].noise_offset, 128 + (k - 1) * 256);
    EXPECT_EQ(r.blocks[k].last, k == 7);
  }
  EXPECT_EQ(r.blocks[7].strain.size(), 768u);
  // Latency here is ~0.25 s (N*s) + 0.25 s (L) + filter halves, plus up to one block because the
  // interpolator needs the next block's first samples: everything but the last two or three blocks is
  // out before the end is known.
  EXPECT_GE(r.blocks_before_end, 5u);
}

// With the strain at fs (identity interpolator) a block must come out at the very sample that makes
// it final: the kernel finalising u[b1 - 1] (none, causal) or u[b1 + L - 1] (window, fir) has just arrived.
TEST(StrainCleaner, BlocksAreEmittedExactlyWhenFinal) {
  for (BandpassMethod method :
       {BandpassMethod::none, BandpassMethod::causal, BandpassMethod::window, BandpassMethod::fir}) {
    CleanerConfig c = small_config(method);
    c.strain_rate = 256;
    c.witnesses = {{256, 0.0, 1.0}, {256, 1.0, 2.0}, {256, 0.0, 0.0}};  // identity resamplers
    c.taper_seconds = 0.25;  // T = 64 = L: the fall covers the whole look-ahead
    testing::FakePredictor model(3, 16);
    StrainCleaner cl(c, estimator(c, model, 0));
    const Input in = make_input(c, kT0, 6.0, 9);
    cl.start_segment(kT0);
    std::vector<std::size_t> emitted_at;
    for (std::size_t n = 0; n < in.strain.size(); ++n) {
      cl.push_strain(&in.strain[n], 1);
      for (std::size_t ch = 0; ch < 3; ++ch) cl.push_witness(ch, &in.witnesses[ch][n], 1);
      while (cl.has_block()) {
        cl.pop_block();
        emitted_at.push_back(n + 1);
      }
    }
    const KernelGeometry& g = c.geometry;
    const bool ahead = method == BandpassMethod::window || method == BandpassMethod::fir;
    const std::size_t a = g.first_used(), L = ahead ? 64 : 0;
    const std::size_t f = a + ((in.strain.size() - g.kernel_length) / g.stride + 1) * g.stride;
    std::size_t expected_blocks = 0;
    for (std::size_t k = 0;; ++k) {
      const std::size_t b1 = (k + 1) * 256;
      const std::size_t last_u = b1 + L - 1;  // the last u sample the block needs
      if (last_u >= f) break;
      const std::size_t j = (last_u - a) / g.stride;  // kernel that finalises it
      ASSERT_LT(k, emitted_at.size());
      EXPECT_EQ(emitted_at[k], std::max(b1, j * g.stride + g.kernel_length)) << "block " << k;
      ++expected_blocks;
    }
    EXPECT_EQ(emitted_at.size(), expected_blocks);  // the rest waits for the end
    cl.end_segment();
    EXPECT_TRUE(cl.has_block());
  }
}

TEST(StrainCleaner, SegmentsAndGapsStartAfresh) {
  const CleanerConfig c = small_config(BandpassMethod::window);
  testing::FakePredictor model(3, 16);
  StrainCleaner cl(c, estimator(c, model, 0));
  const Input first = make_input(c, kT0, 5.0, 3);
  const Input second = make_input(c, kT0 + gps_ns(9), 3.5, 4);   // after a gap
  const Input third = make_input(c, kT0 + gps_ns(13), 3.0, 5);   // right after `second` ended early
  // Starts 1/16 s before a frame boundary: the first block (16 fs samples) lies wholly before a = 32.
  const Input fourth = make_input(c, kT0 + gps_ns(20) - gps_ns(0, 62'500'000), 4.0625, 6);
  for (const Input* in : {&first, &second, &third, &fourth, &first}) {
    const auto ref = testing::literal_clean(c, in->start, in->witnesses, in->strain);
    expect_matches_reference(stream(cl, *in, gps_ns(0, 300'000'000)), ref, *in, "segment");
  }
}

TEST(StrainCleaner, SegmentShorterThanAKernelIsLeftRaw) {
  const CleanerConfig c = small_config(BandpassMethod::window);
  testing::FakePredictor model(3, 16);
  StrainCleaner cl(c, estimator(c, model, 0));
  const Input in = make_input(c, kT0, 0.25, 6);  // 64 fs samples, but resampler delay leaves fewer
  const StreamOutput r = stream(cl, in, gps_ns(0, 62'500'000));
  ASSERT_EQ(r.strain.size(), in.strain.size());
  EXPECT_EQ(std::memcmp(r.strain.data(), in.strain.data(), in.strain.size() * sizeof(double)), 0);
  EXPECT_EQ(max_abs(r.weight), 0.0);
  EXPECT_EQ(max_abs(r.noise), 0.0);
  EXPECT_EQ(model.calls, 0u);
}

// Ramps at the segment edges, against sin^2(pi (i + 0.5) / 8) evaluated independently.
TEST(StrainCleaner, SubtractionWeightRampsHaveExactHalfHannValues) {
  const double ramp4[4] = {0.03806023374435662, 0.3086582838174551, 0.6913417161825449,
                           0.9619397662556434};
  for (BandpassMethod method : {BandpassMethod::window, BandpassMethod::causal, BandpassMethod::fir}) {
    CleanerConfig c = small_config(method);
    c.taper_seconds = 4.0 / 1024.0;  // T = 4 strain samples
    testing::FakePredictor model(3, 16);
    StrainCleaner cl(c, estimator(c, model, 0));
    const Input in = make_input(c, kT0, 4.0, 7);
    const auto ref = testing::literal_clean(c, in.start, in.witnesses, in.strain);
    const StreamOutput r = stream(cl, in, gps_ns(0, 500'000'000));
    const std::size_t a = c.geometry.first_used();
    ASSERT_EQ(ref.p, a);
    const std::size_t mp = a * 4;  // first estimated strain sample: time a / fs
    EXPECT_EQ(r.weight[mp - 1], 0.0);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(r.weight[mp + i], ramp4[i], 1e-15) << i;
    EXPECT_EQ(r.weight[mp + 4], 1.0);
    // The estimate ends where the finalising kernels stop: q = a + J s, J = floor((e - K)/s) + 1.
    const std::size_t J = (ref.e - c.geometry.kernel_length) / c.geometry.stride + 1;
    const std::size_t q = a + J * c.geometry.stride;
    ASSERT_EQ(ref.q, q);
    const std::size_t mq = q * 4;
    ASSERT_LT(mq, r.weight.size());
    EXPECT_EQ(r.weight[mq], 0.0);
    if (method != BandpassMethod::causal) {
      // End known within the look-ahead (L = 64 fs samples >= T): the same ramp mirrored.
      for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(r.weight[mq - 1 - i], ramp4[i], 1e-15) << i;
      EXPECT_EQ(r.weight[mq - 5], 1.0);
    } else {
      // No look-ahead: the end is never known in advance, g stays 1 up to the last estimate.
      EXPECT_EQ(r.weight[mq - 1], 1.0);
    }
    EXPECT_TRUE(r.blocks.back().in_taper(0) == false);
    const auto states = summarise_weight(r.weight, 64);  // 1/16 s intervals at 1024 Hz
    EXPECT_FALSE(states[0].cleaned);
    EXPECT_FALSE(states[0].in_taper);  // [0, 64): g = 0
    EXPECT_TRUE(states[mp / 64].in_taper);
    EXPECT_TRUE(states[mp / 64 + 2].cleaned);
  }
}

TEST(StrainCleaner, FallIsShortenedToTheLookAhead) {
  CleanerConfig c = small_config(BandpassMethod::window);
  c.taper_seconds = 1.0;         // T = 1024 strain samples
  c.look_ahead_seconds = 0.125;  // L = 32 fs samples = 128 strain samples
  testing::FakePredictor model(3, 16);
  StrainCleaner cl(c, estimator(c, model, 0));
  const Input in = make_input(c, kT0, 6.0, 8);
  const auto ref = testing::literal_clean(c, in.start, in.witnesses, in.strain);
  const StreamOutput r = stream(cl, in, gps_ns(0, 100'000'000));
  expect_matches_reference(r, ref, in, "short fall");
  const std::size_t mq = ref.q * 4;
  EXPECT_NEAR(r.weight[mq - 1], std::pow(std::sin(M_PI * 0.5 / 256.0), 2), 1e-15);
  EXPECT_EQ(r.weight[mq - 129], 1.0);
  EXPECT_LT(r.weight[mq - 128], 1.0);
}

TEST(StrainCleaner, StartOffTheSampleGridIsRejected) {
  const CleanerConfig c = small_config(BandpassMethod::none);
  testing::FakePredictor model(3, 16);
  StrainCleaner cl(c, estimator(c, model, 0));
  // 1/256 s is on the fs grid but not on the 128 Hz witness grid.
  EXPECT_THROW(cl.start_segment(kT0 + gps_ns(0, 3'906'250)), std::invalid_argument);
  EXPECT_NO_THROW(cl.start_segment(kT0 + gps_ns(0, 62'500'000)));  // 1/16 s
  std::vector<double> x(10, 0.0);
  cl.end_segment();
  EXPECT_THROW(cl.push_strain(x.data(), 10), std::logic_error);
}

// Contract "Latency", by hand: N*s/fs + L/fs + the witness resamplers' and interpolator's halves.
TEST(Latency, HandComputedConfigurations) {
  CleanerConfig c;
  c.fs = 4096;
  c.strain_rate = 4096;
  c.witnesses = std::vector<WitnessChannel>(21, WitnessChannel{4096, 0.0, 1.0});
  c.geometry = {4096, 8, 256};
  c.bands = {{55.0, 65.0}};
  c.method = BandpassMethod::window;
  c.memory_seconds = 10;
  c.look_ahead_seconds = 0.5;
  // Everything at fs: no resampling, 2048/4096 s of averaging + 0.5 s of look-ahead.
  EXPECT_DOUBLE_EQ(algorithmic_latency_seconds(c), 1.0);
  c.method = BandpassMethod::causal;
  EXPECT_DOUBLE_EQ(algorithmic_latency_seconds(c), 0.5);
  // N = 128 at s = 8 (0.25 s), look-ahead 1 s, strain at 16384 Hz and one witness at 256 Hz: the
  // half lengths are (taps - 1) / 2 samples at the filters' internal rates in_rate * up.
  c.method = BandpassMethod::window;
  c.geometry = {4096, 8, 128};
  c.look_ahead_seconds = 1.0;
  c.strain_rate = 16384;
  c.witnesses[3].rate = 256;
  const dsp::Resampler up_witness(256, 4096), up_noise(4096, 16384);
  const double witness_half = static_cast<double>((up_witness.taps().size() - 1) / 2) / (256.0 * 16);
  const double noise_half = static_cast<double>((up_noise.taps().size() - 1) / 2) / (4096.0 * 4);
  EXPECT_DOUBLE_EQ(algorithmic_latency_seconds(c), 0.25 + 1.0 + witness_half + noise_half);
  EXPECT_GT(witness_half, 0.0);
}

TEST(CleanerConfigValidation, BadParametersGiveClearErrors) {
  const auto expect_error = [](const CleanerConfig& c, const char* needle) {
    try {
      validate(c);
      ADD_FAILURE() << "no error for: " << needle;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  CleanerConfig c = small_config(BandpassMethod::window);
  EXPECT_NO_THROW(validate(c));
  CleanerConfig bad = c;
  bad.bands = {{20.0, 130.0}};
  expect_error(bad, "Nyquist");
  bad = c;
  bad.bands = {{20.0, 100.0}};  // below fs/2 but beyond the interpolator's pass band (76.8 Hz)
  expect_error(bad, "interpolator");
  bad = c;
  bad.geometry = {64, 8, 9};
  expect_error(bad, "N*s");
  bad = c;
  bad.geometry = {72, 8, 4};
  expect_error(bad, "multiple of 16");
  bad = c;
  bad.geometry = {64, 0, 4};
  expect_error(bad, "stride");
  bad = c;
  bad.geometry = {64, 65, 1};
  expect_error(bad, "stride");
  bad = c;
  bad.fs = 0;
  expect_error(bad, "model rate");
  bad = c;
  bad.strain_rate = 0;
  expect_error(bad, "strain rate");
  bad = c;
  bad.witnesses[1].rate = 0;
  expect_error(bad, "witness 1 rate");
  bad = c;
  bad.witnesses.clear();
  expect_error(bad, "witness");
  bad = c;
  bad.look_ahead_seconds = 0.001;
  expect_error(bad, "whole number");
  bad = c;
  bad.taper_seconds = -1;
  expect_error(bad, "taper");
  bad = c;
  bad.order = 0;
  expect_error(bad, "order");
  testing::FakePredictor two_channels(2, 8);
  EXPECT_THROW(StrainCleaner(c, std::make_unique<CpuNoiseEstimator>(c.geometry, two_channels)),
               std::invalid_argument);
  testing::FakePredictor three(3, 8);
  EXPECT_THROW(StrainCleaner(c, std::make_unique<CpuNoiseEstimator>(KernelGeometry{64, 8, 4}, three)),
               std::invalid_argument);
}

}  // namespace
}  // namespace deepclean::stream
