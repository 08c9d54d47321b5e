// Writer -> reader round trips: every FrVect type x every compression request, several frames per
// file, all three channel kinds, metadata, TOC lookups, and the reader's verify() on our output.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "io/gwf/compress.hpp"
#include "io/gwf/reader.hpp"
#include "io/gwf/writer.hpp"

namespace gwf = deepclean::gwf;

namespace {

// Values with structure (a slow ramp plus noise) so every compressor actually compresses, and a few
// extremes (type limits, negative values, NaN/Inf for floats) that must survive bit-exactly.
template <typename T>
std::vector<T> sample_values(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::vector<T> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double base = 50.0 * std::sin(0.003 * static_cast<double>(i)) + static_cast<double>(rng() % 7);
    if constexpr (std::is_same_v<T, std::complex<float>>) {
      v[i] = {static_cast<float>(base), static_cast<float>(-base / 3)};
    } else if constexpr (std::is_same_v<T, std::complex<double>>) {
      v[i] = {base * 1e-21, -base * 3e-22};
    } else if constexpr (std::is_floating_point_v<T>) {
      v[i] = static_cast<T>(base * 1e-3);
    } else if constexpr (std::is_signed_v<T>) {
      v[i] = static_cast<T>(static_cast<long long>(base));
    } else {
      v[i] = static_cast<T>(static_cast<unsigned long long>(base + 60));
    }
  }
  if constexpr (std::is_floating_point_v<T>) {
    v[1] = std::numeric_limits<T>::quiet_NaN();
    v[2] = std::numeric_limits<T>::infinity();
    v[3] = -std::numeric_limits<T>::denorm_min();
  } else if constexpr (std::is_integral_v<T>) {
    v[1] = std::numeric_limits<T>::min();
    v[2] = std::numeric_limits<T>::max();
  }
  return v;
}

template <typename T>
gwf::Channel channel(const std::string& name, gwf::ChannelKind kind, double rate, unsigned seed) {
  gwf::Channel c;
  c.name = name;
  c.kind = kind;
  c.sample_rate = rate;
  c.comment = "round trip";
  c.data = gwf::Vect::make(name, sample_values<T>(static_cast<std::size_t>(rate), seed), rate, "unit_y");
  return c;
}

void expect_same_channel(const gwf::Channel& got, const gwf::Channel& want, const std::string& ctx) {
  EXPECT_EQ(got.name, want.name) << ctx;
  EXPECT_EQ(got.kind, want.kind) << ctx;
  EXPECT_DOUBLE_EQ(got.sample_rate, want.sample_rate) << ctx;
  EXPECT_EQ(got.data.type, want.data.type) << ctx;
  EXPECT_EQ(got.data.nx, want.data.nx) << ctx;
  EXPECT_EQ(got.data.dx, want.data.dx) << ctx;
  EXPECT_EQ(got.data.start_x, want.data.start_x) << ctx;
  EXPECT_EQ(got.data.unit_x, want.data.unit_x) << ctx;
  EXPECT_EQ(got.data.unit_y, want.data.unit_y) << ctx;
  EXPECT_EQ(got.data.name, want.data.name) << ctx;
  // Bit-exact payload (NaN payloads included).
  EXPECT_TRUE(got.data.data == want.data.data) << ctx << ": decoded bytes differ";
}

struct TypeCase {
  const char* name;
  gwf::Channel (*make)(const std::string&, gwf::ChannelKind, double, unsigned);
};

const TypeCase kTypes[] = {
    {"int8", &channel<std::int8_t>},
    {"int16", &channel<std::int16_t>},
    {"int32", &channel<std::int32_t>},
    {"int64", &channel<std::int64_t>},
    {"uint8", &channel<std::uint8_t>},
    {"uint16", &channel<std::uint16_t>},
    {"uint32", &channel<std::uint32_t>},
    {"uint64", &channel<std::uint64_t>},
    {"float32", &channel<float>},
    {"float64", &channel<double>},
    {"complex64", &channel<std::complex<float>>},
    {"complex128", &channel<std::complex<double>>},
};

const gwf::Compression kCompressions[] = {gwf::Compression::Raw,        gwf::Compression::Zlib,
                                          gwf::Compression::DiffZlib,   gwf::Compression::DiffZero16,
                                          gwf::Compression::DiffZero32, gwf::Compression::DiffZero64};

}  // namespace

TEST(GwfWriterRoundTrip, EveryTypeTimesEveryCompression) {
  for (const auto& tc : kTypes) {
    for (const auto comp : kCompressions) {
      for (const auto kind : {gwf::ChannelKind::Proc, gwf::ChannelKind::Adc, gwf::ChannelKind::Sim}) {
        const std::string ctx = std::string(tc.name) + " compression " +
                                std::to_string(static_cast<int>(comp)) + " " + gwf::kind_name(kind);
        gwf::Frame f;
        f.name = "RT";
        f.start = {1400000000, 500000000};
        f.dt = 1.0;
        f.channels.push_back(tc.make("X1:RT-" + std::string(tc.name), kind, 1024, 11));
        gwf::WriteOptions o;
        o.compression = comp;
        auto bytes = gwf::encode_frames({f}, o);
        const auto file = gwf::FrameFile::from_bytes(std::move(bytes), ctx);
        EXPECT_TRUE(file.verify().empty()) << ctx;
        ASSERT_EQ(file.frame_count(), 1u) << ctx;
        const auto back = file.read_frame(0);
        ASSERT_EQ(back.channels.size(), 1u) << ctx;
        expect_same_channel(back.channels[0], f.channels[0], ctx);
        // Which on-disk code was used: the requested scheme when it applies to the type and
        // shrinks the data, else raw or zlib (digest §6 fallbacks); always with the LE flag.
        const std::uint16_t code = back.channels[0].data.compress;
        EXPECT_EQ(code & 0x100, 0x100) << ctx;
        const int scheme = code & 0xFF;
        if (comp == gwf::Compression::Raw) {
          EXPECT_EQ(scheme, 0) << ctx;
        } else if (gwf::compression_applies(comp, f.channels[0].data.type)) {
          EXPECT_TRUE(scheme == static_cast<int>(comp) || scheme == 0) << ctx << " code " << code;
        } else {
          EXPECT_TRUE(scheme == 1 || scheme == 0) << ctx << " code " << code;
        }
      }
    }
  }
}

TEST(GwfWriterRoundTrip, RequestedSchemesAreReallyUsedOnCompressibleData) {
  // A slow int16/int32/float64 ramp shrinks under every scheme: the code on disk must be the one
  // asked for (so the round trip above is not silently testing raw storage).
  struct C {
    gwf::Channel ch;
    gwf::Compression comp;
    int expect;
  };
  std::vector<std::int16_t> s16(4096);
  std::vector<std::int32_t> s32(4096);
  std::vector<double> f64(4096);
  for (std::size_t i = 0; i < 4096; ++i) {
    s16[i] = static_cast<std::int16_t>(i / 3);
    s32[i] = static_cast<std::int32_t>(i * 5);
    f64[i] = static_cast<double>(i / 8);
  }
  auto mk = [](const std::string& n, auto values) {
    gwf::Channel c;
    c.name = n;
    c.sample_rate = 4096;
    c.data = gwf::Vect::make(n, values, 4096.0);
    return c;
  };
  const std::vector<C> cases = {
      {mk("X1:A", s16), gwf::Compression::Zlib, 1},       {mk("X1:A", s16), gwf::Compression::DiffZlib, 3},
      {mk("X1:A", s16), gwf::Compression::DiffZero16, 5}, {mk("X1:A", s32), gwf::Compression::DiffZero32, 8},
      {mk("X1:A", s32), gwf::Compression::DiffZlib, 3},   {mk("X1:A", f64), gwf::Compression::DiffZero64, 10},
      {mk("X1:A", f64), gwf::Compression::Zlib, 1},
  };
  for (const auto& c : cases) {
    gwf::Frame f;
    f.start = {1000000000, 0};
    f.channels.push_back(c.ch);
    gwf::WriteOptions o;
    o.compression = c.comp;
    const auto file = gwf::FrameFile::from_bytes(gwf::encode_frames({f}, o), "scheme");
    const auto back = file.read_frame(0);
    EXPECT_EQ(back.channels[0].data.compress, 0x100 | c.expect);
    EXPECT_TRUE(back.channels[0].data.data == c.ch.data.data) << "scheme " << c.expect;
  }
}

TEST(GwfWriterRoundTrip, MultiFrameFileWithMetadataAndTocLookup) {
  std::vector<gwf::Frame> frames;
  for (std::uint32_t k = 0; k < 4; ++k) {
    gwf::Frame f;
    f.name = "LIGO";
    f.run = -3;
    f.frame_number = 100 + k;
    f.data_quality = 5;
    f.start = {1400000000 + 4 * k, 0};
    f.dt = 4.0;
    f.uleap_s = 18;
    gwf::Detector d;
    d.name = "LLO_4k";
    d.prefix = "L1";
    d.longitude = -1.58430937078;
    d.latitude = 0.53342313506;
    d.elevation = -6.574f;
    d.arm_x_azimuth = 4.40317772346f;
    d.local_time = -21600;
    f.detectors.push_back(d);
    f.history.push_back({"deepclean", 1400000000 + k, "first"});
    f.history.push_back({"deepclean-model", 1399999000, "second"});
    auto strain = channel<double>("L1:GDS-CALIB_STRAIN_CLEAN", gwf::ChannelKind::Proc, 2048, k);
    strain.data.nx = {4 * 2048};
    strain.data.data.clear();
    for (int rep = 0; rep < 4; ++rep) {
      const auto part = gwf::Vect::make("", sample_values<double>(2048, k + 10u * static_cast<unsigned>(rep)), 2048.0);
      strain.data.data.insert(strain.data.data.end(), part.data.begin(), part.data.end());
    }
    strain.proc.aux_param = {1.5, -2.0};
    strain.proc.aux_param_names = {"alpha", "beta"};
    strain.time_offset = 0.25;
    f.channels.push_back(strain);
    auto adc = channel<std::int16_t>("L1:PEM-EY_MAG_DQ", gwf::ChannelKind::Adc, 256, k);
    adc.adc.slope = 0.125f;
    adc.adc.bias = -1.0f;
    adc.adc.units = "nT";
    adc.adc.n_bits = 16;
    adc.adc.channel_group = 2;
    adc.adc.channel_number = 9;
    f.channels.push_back(adc);
    if (k % 2 == 1) f.channels.push_back(channel<float>("L1:ONLY_ODD", gwf::ChannelKind::Sim, 64, k));
    frames.push_back(f);
  }
  gwf::WriteOptions o;
  o.compression = gwf::Compression::DiffZlib;
  o.zlib_level = 9;
  const auto file = gwf::FrameFile::from_bytes(gwf::encode_frames(frames, o), "multi");
  EXPECT_TRUE(file.verify().empty());
  EXPECT_EQ(file.version(), 8);
  EXPECT_FALSE(file.big_endian());
  ASSERT_EQ(file.frame_count(), 4u);
  for (std::size_t k = 0; k < 4; ++k) {
    const auto got = file.read_frame(k);
    const auto& want = frames[k];
    EXPECT_EQ(got.name, want.name);
    EXPECT_EQ(got.run, want.run);
    EXPECT_EQ(got.frame_number, want.frame_number);
    EXPECT_EQ(got.data_quality, want.data_quality);
    EXPECT_EQ(got.start, want.start);
    EXPECT_EQ(got.dt, want.dt);
    EXPECT_EQ(got.uleap_s, want.uleap_s);
    ASSERT_EQ(got.detectors.size(), 1u);
    EXPECT_EQ(got.detectors[0].name, "LLO_4k");
    EXPECT_EQ(got.detectors[0].prefix, "L1");
    EXPECT_EQ(got.detectors[0].longitude, want.detectors[0].longitude);
    EXPECT_EQ(got.detectors[0].elevation, want.detectors[0].elevation);
    EXPECT_EQ(got.detectors[0].arm_x_azimuth, want.detectors[0].arm_x_azimuth);
    EXPECT_EQ(got.detectors[0].local_time, -21600);
    ASSERT_EQ(got.history.size(), 2u);
    EXPECT_EQ(got.history[1].name, "deepclean-model");
    EXPECT_EQ(got.history[1].time, 1399999000u);
    EXPECT_EQ(got.history[1].comment, "second");
    ASSERT_EQ(got.channels.size(), want.channels.size());
    for (const auto& wc : want.channels) {
      const auto* gc = got.find(wc.name);
      ASSERT_NE(gc, nullptr) << wc.name;
      expect_same_channel(*gc, wc, "frame " + std::to_string(k) + " " + wc.name);
      EXPECT_EQ(gc->time_offset, wc.time_offset);
      // Through the TOC too.
      const auto via_toc = file.read_channel(k, wc.name);
      EXPECT_TRUE(via_toc.data.data == wc.data.data) << wc.name;
    }
    const auto* s = got.find("L1:GDS-CALIB_STRAIN_CLEAN");
    EXPECT_EQ(s->proc.aux_param, (std::vector<double>{1.5, -2.0}));
    EXPECT_EQ(s->proc.aux_param_names, (std::vector<std::string>{"alpha", "beta"}));
    EXPECT_DOUBLE_EQ(s->proc.t_range, 4.0);  // nx·dx filled in for a time series (digest §5)
    const auto* a = got.find("L1:PEM-EY_MAG_DQ");
    EXPECT_EQ(a->adc.slope, 0.125f);
    EXPECT_EQ(a->adc.bias, -1.0f);
    EXPECT_EQ(a->adc.units, "nT");
    EXPECT_EQ(a->adc.n_bits, 16u);
    EXPECT_EQ(a->adc.channel_group, 2u);
    EXPECT_EQ(a->adc.channel_number, 9u);
    EXPECT_EQ(file.channels(k).size(), want.channels.size());
  }
  EXPECT_THROW(file.read_channel(0, "L1:ONLY_ODD"), gwf::ChannelNotFound);
}

TEST(GwfWriterRoundTrip, ExtraVectorsAndStringVectorsSurvive) {
  gwf::Frame f;
  f.start = {1000000000, 0};
  auto c = channel<double>("X1:MAIN", gwf::ChannelKind::Proc, 128, 1);
  c.extra.push_back(gwf::Vect::make("X1:MAIN_aux", sample_values<float>(32, 2), 32.0));
  gwf::Vect s;
  s.name = "labels";
  s.type = gwf::DataType::String;
  s.strings = {"a", "", "ccc"};
  s.nx = {3};
  s.dx = {1.0};
  s.start_x = {0.0};
  s.unit_x = {""};
  c.extra.push_back(s);
  f.channels.push_back(c);
  const auto file = gwf::FrameFile::from_bytes(gwf::encode_frames({f}), "extra");
  EXPECT_TRUE(file.verify().empty());
  const auto back = file.read_frame(0);
  ASSERT_EQ(back.channels.size(), 1u);
  expect_same_channel(back.channels[0], c, "main");
  ASSERT_EQ(back.channels[0].extra.size(), 2u);
  EXPECT_TRUE(back.channels[0].extra[0].data == c.extra[0].data);
  EXPECT_EQ(back.channels[0].extra[0].name, "X1:MAIN_aux");
  EXPECT_EQ(back.channels[0].extra[1].strings, s.strings);
}

TEST(GwfWriterRoundTrip, EmptyFrameAndEmptyVector) {
  gwf::Frame empty;
  empty.start = {1000000000, 0};
  gwf::Frame with_empty = empty;
  with_empty.channels.push_back(channel<double>("X1:EMPTY", gwf::ChannelKind::Proc, 8, 0));
  with_empty.channels[0].data.data.clear();
  with_empty.channels[0].data.nx = {0};
  const auto file = gwf::FrameFile::from_bytes(gwf::encode_frames({empty, with_empty}), "empty");
  EXPECT_TRUE(file.verify().empty());
  EXPECT_TRUE(file.read_frame(0).channels.empty());
  const auto back = file.read_frame(1);
  ASSERT_EQ(back.channels.size(), 1u);
  EXPECT_EQ(back.channels[0].data.size(), 0u);
}
