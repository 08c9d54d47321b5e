// Files from a second, independent encoder: fuzz/make_seeds.py (Python struct + zlib, its own
// zero-suppression and checksum code) writes v8 little/big-endian, v7 and v6 files with codes 0, 1,
// 3, 5, 8, 10, complex and string vectors. The reader must return the samples the script encoded.
#include <gtest/gtest.h>

#include <complex>
#include <cstdlib>
#include <unistd.h>
#include <filesystem>
#include <string>
#include <vector>

#include "io/gwf/reader.hpp"

namespace {

using namespace deepclean::gwf;
namespace fs = std::filesystem;

// The sample formulas of make_seeds.py.
std::vector<long long> ramp() {
  std::vector<long long> v;
  for (long long i = -20; i < 44; ++i) v.push_back(i);
  return v;
}
std::vector<long long> wave() {
  std::vector<long long> v;
  for (long long i = 0; i < 64; ++i) v.push_back(((i * 37) % 200) - 100);
  return v;
}

class GwfPythonSeeds : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(DEEPCLEAN_PYTHON)) GTEST_SKIP() << DEEPCLEAN_PYTHON << " absent";
    dir_ = fs::temp_directory_path() / ("gwf-seeds-" + std::to_string(::getpid()));
    const std::string cmd = std::string(DEEPCLEAN_PYTHON) + " " + DEEPCLEAN_SOURCE_DIR "/fuzz/make_seeds.py " + dir_.string();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

void check_common(const Frame& fr, std::size_t frame_index) {
  const auto w = wave();
  const auto r = ramp();
  EXPECT_EQ(fr.start.sec, 1400000000u + frame_index);
  const Channel* zs = fr.find("X1:ADC_I2_ZS");
  ASSERT_NE(zs, nullptr);
  EXPECT_EQ(zs->kind, ChannelKind::Adc);
  EXPECT_EQ(zs->data.type, DataType::Int16);
  EXPECT_EQ(zs->data.compress & 0xFF, 5);
  EXPECT_EQ(zs->adc.slope, 2.0f);
  EXPECT_EQ(zs->adc.bias, 0.5f);
  EXPECT_EQ(zs->adc.units, "V");
  EXPECT_EQ(zs->sample_rate, 64.0);
  ASSERT_EQ(zs->data.size(), 64u);
  for (std::size_t i = 0; i < 64; ++i) ASSERT_EQ(zs->data.as<std::int16_t>()[i], w[i]) << i;
  const Channel* dz = fr.find("X1:ADC_U1_DZ");
  ASSERT_NE(dz, nullptr);
  EXPECT_EQ(dz->data.compress & 0xFF, 3);
  for (std::size_t i = 0; i < 64; ++i) ASSERT_EQ(dz->data.as<std::uint8_t>()[i], static_cast<std::uint8_t>(r[i] & 0xFF)) << i;
  const Channel* z = fr.find("X1:PROC_F8_Z");
  ASSERT_NE(z, nullptr);
  EXPECT_EQ(z->sample_rate, 64.0);
  for (std::size_t i = 0; i < 64; ++i) ASSERT_EQ(z->data.as<double>()[i], static_cast<double>(w[i]) * 0.25) << i;
  const Channel* s = fr.find("X1:SIM_I4");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kind, ChannelKind::Sim);
  EXPECT_EQ(s->sample_rate, 64.0);
  for (std::size_t i = 0; i < 64; ++i) ASSERT_EQ(s->data.as<std::int32_t>()[i], r[i]) << i;
}

void check_full(const Frame& fr) {
  const auto w = wave();
  const auto r = ramp();
  const Channel* f4 = fr.find("X1:PROC_F4_ZS");
  ASSERT_NE(f4, nullptr);
  EXPECT_EQ(f4->data.compress & 0xFF, 8);
  for (std::size_t i = 0; i < 64; ++i) ASSERT_EQ(f4->data.as<float>()[i], static_cast<float>(r[i]) * 0.5f) << i;
  const Channel* i8 = fr.find("X1:PROC_I8_ZS");
  ASSERT_NE(i8, nullptr);
  EXPECT_EQ(i8->data.compress & 0xFF, 10);
  for (std::size_t i = 0; i < 64; ++i) ASSERT_EQ(i8->data.as<std::int64_t>()[i], w[i] * 1000003) << i;
  const Channel* c8 = fr.find("X1:PROC_C8");
  ASSERT_NE(c8, nullptr);
  ASSERT_EQ(c8->data.size(), 32u);
  for (std::size_t k = 0; k < 32; ++k) {
    const auto v = c8->data.as<std::complex<float>>()[k];
    ASSERT_EQ(v.real(), static_cast<float>(r[2 * k]) * 0.5f);
    ASSERT_EQ(v.imag(), static_cast<float>(r[2 * k + 1]) * 0.5f);
  }
  const Channel* c16 = fr.find("X1:PROC_C16_Z");
  ASSERT_NE(c16, nullptr);
  for (std::size_t k = 0; k < 32; ++k) {
    const auto v = c16->data.as<std::complex<double>>()[k];
    ASSERT_EQ(v.real(), static_cast<double>(w[2 * k]) * 0.125);
    ASSERT_EQ(v.imag(), static_cast<double>(w[2 * k + 1]) * 0.125);
  }
  const Channel* str = fr.find("X1:SIM_STR");
  ASSERT_NE(str, nullptr);
  EXPECT_EQ(str->data.type, DataType::String);
  EXPECT_EQ(str->data.strings, (std::vector<std::string>{"a", "", "bc"}));
}

TEST_F(GwfPythonSeeds, EverySeedDecodesToTheScriptsSamples) {
  const struct {
    const char* file;
    int version;
    bool big;
    std::size_t frames;
    bool full;
  } cases[] = {{"seed-v8-le-toc.gwf", 8, false, 2, true},  {"seed-v8-le-notoc.gwf", 8, false, 1, true},
               {"seed-v8-be-toc.gwf", 8, true, 2, true},   {"seed-v8-le-ffff.gwf", 8, false, 2, false},
               {"seed-v7-be-toc.gwf", 7, true, 2, false},  {"seed-v6-le-notoc.gwf", 6, false, 3, false}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const FrameFile f = FrameFile::open((dir_ / c.file).string());
    EXPECT_EQ(f.version(), c.version);
    EXPECT_EQ(f.big_endian(), c.big);
    ASSERT_EQ(f.frame_count(), c.frames);
    for (std::size_t i = 0; i < c.frames; ++i) {
      const Frame fr = f.read_frame(i);
      check_common(fr, i);
      if (c.full) check_full(fr);
      ASSERT_EQ(fr.detectors.size(), 1u);
      EXPECT_EQ(fr.detectors[0].prefix, "X1");
      EXPECT_EQ(fr.detectors[0].local_time, 3600);
      for (const auto& e : f.channels(i)) {
        EXPECT_EQ(f.read_channel(i, e.name).data.data, fr.find(e.name)->data.data) << e.name;
      }
    }
    EXPECT_TRUE(f.verify().empty());
  }
}

}  // namespace
