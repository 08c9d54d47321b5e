// Reader decoding on constructed files: every numeric type x every compression code, both byte
// orders, the spec's zero-suppression example, POSIX cksum, dictionary mapping, TOC and no-TOC paths.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "io/gwf/decompress.hpp"
#include "io/gwf/reader.hpp"
#include "reader_test_builder.hpp"

namespace {

using namespace deepclean::gwf;
using gwft::build_file;
using gwft::BuildOptions;
using gwft::ChanSpec;
using gwft::FrameSpec;
using gwft::VectSpec;

std::vector<std::byte> bytes_of(std::initializer_list<unsigned> v) {
  std::vector<std::byte> out;
  for (unsigned x : v) out.push_back(static_cast<std::byte>(x));
  return out;
}

// ---- POSIX cksum (digest §7) ---------------------------------------------------------------
std::uint32_t cksum_bitwise(const std::vector<std::uint8_t>& d) {
  std::uint32_t crc = 0;
  auto feed = [&](std::uint8_t b) {
    for (int i = 7; i >= 0; --i) {
      const bool bit = ((b >> i) & 1) != 0;
      const bool top = (crc & 0x80000000u) != 0;
      crc <<= 1;
      if (top != bit) crc ^= 0x04C11DB7u;
    }
  };
  for (auto b : d) feed(b);
  for (std::size_t n = d.size(); n != 0; n >>= 8) feed(static_cast<std::uint8_t>(n & 0xFF));
  return ~crc;
}

TEST(GwfCksum, KnownValues) {
  const char* s = "123456789";
  EXPECT_EQ(posix_cksum(reinterpret_cast<const std::byte*>(s), 9), 930766865u);
  EXPECT_EQ(posix_cksum(nullptr, 0), 4294967295u);
}

TEST(GwfCksum, MatchesBitwiseDefinitionAtEveryLength) {
  std::mt19937 rng(7);
  for (std::size_t n = 0; n < 300; ++n) {
    std::vector<std::uint8_t> d(n);
    for (auto& b : d) b = static_cast<std::uint8_t>(rng());
    ASSERT_EQ(posix_cksum(reinterpret_cast<const std::byte*>(d.data()), n), cksum_bitwise(d)) << n;
  }
}

// ---- zero suppression: the spec's worked example (App. B, digest §6) -----------------------
const std::int16_t kZsInput[8] = {82, 85, 85, 81, 80, 82, 84, 85};
const std::uint16_t kZsWords[5] = {0x0003, 0x2D17, 0x37F8, 0x2963, 0x0025};

TEST(GwfZeroSuppress, SpecExampleLittleEndianPayload) {
  std::vector<std::byte> payload;
  for (auto w : kZsWords) {
    payload.push_back(static_cast<std::byte>(w & 0xFF));
    payload.push_back(static_cast<std::byte>(w >> 8));
  }
  std::vector<std::byte> out;
  detail::decode_payload(5 | 0x100, DataType::Int16, 8, payload.data(), payload.size(), false, out);
  ASSERT_EQ(out.size(), 16u);
  for (int i = 0; i < 8; ++i) {
    std::int16_t v;
    std::memcpy(&v, out.data() + 2 * i, 2);
    EXPECT_EQ(v, kZsInput[i]) << i;
  }
  // Decoding stops at nData, mid-block. The stream uses 70 of its 80 bits; a larger nData makes the
  // decoder read the short last block as full (3 bits of padding), then one empty block (4 bits),
  // so 12 values decode and the 13th runs out of stream. An nData beyond (64 stream bits / 4-bit
  // fields) x B = 48 is refused before allocating.
  EXPECT_NO_THROW(detail::decode_payload(5 | 0x100, DataType::Int16, 7, payload.data(), payload.size(), false, out));
  EXPECT_NO_THROW(detail::decode_payload(5 | 0x100, DataType::Int16, 12, payload.data(), payload.size(), false, out));
  try {
    detail::decode_payload(5 | 0x100, DataType::Int16, 13, payload.data(), payload.size(), false, out);
    ADD_FAILURE() << "13 values decoded from a 12-value stream";
  } catch (const detail::PayloadError& e) {
    EXPECT_NE(std::string(e.what()).find("stream ends"), std::string::npos) << e.what();
  }
  try {
    detail::decode_payload(5 | 0x100, DataType::Int16, 49, payload.data(), payload.size(), false, out);
    ADD_FAILURE() << "49 values accepted";
  } catch (const detail::PayloadError& e) {
    EXPECT_NE(std::string(e.what()).find("at most 48"), std::string::npos) << e.what();
  }
}

TEST(GwfZeroSuppress, SpecExampleBigEndianPayloadInLittleEndianFile) {
  // Without 0x100 the payload words are big-endian, whatever the file header says (digest §6).
  std::vector<std::byte> payload;
  for (auto w : kZsWords) {
    payload.push_back(static_cast<std::byte>(w >> 8));
    payload.push_back(static_cast<std::byte>(w & 0xFF));
  }
  std::vector<std::byte> out;
  detail::decode_payload(5, DataType::Int16, 8, payload.data(), payload.size(), false, out);
  for (int i = 0; i < 8; ++i) {
    std::int16_t v;
    std::memcpy(&v, out.data() + 2 * i, 2);
    EXPECT_EQ(v, kZsInput[i]) << i;
  }
}

// ---- test-side encoders (independent of the reader's decoders) -------------------------------
std::vector<std::byte> swap_units(std::vector<std::byte> b, std::size_t unit, bool big) {
  if (unit > 1 && big == gwft::kHostLittle) {
    for (std::size_t i = 0; i + unit <= b.size(); i += unit) std::reverse(b.begin() + static_cast<std::ptrdiff_t>(i), b.begin() + static_cast<std::ptrdiff_t>(i + unit));
  }
  return b;
}

std::vector<std::byte> zlib_compress(const std::vector<std::byte>& in) {
  uLongf n = compressBound(in.size());
  std::vector<std::byte> out(n);
  EXPECT_EQ(compress2(reinterpret_cast<Bytef*>(out.data()), &n, reinterpret_cast<const Bytef*>(in.data()),
                      in.size(), 6),
            Z_OK);
  out.resize(n);
  return out;
}

std::uint64_t word_at(const std::vector<std::byte>& b, std::size_t i, std::size_t w) {
  std::uint64_t v = 0;
  std::memcpy(&v, b.data() + i * w, w);  // little-endian host assumed by this helper
  return v;
}
void set_word(std::vector<std::byte>& b, std::size_t i, std::size_t w, std::uint64_t v) { std::memcpy(b.data() + i * w, &v, w); }

// Differences with wrap-around in the word width (host order in, host order out).
std::vector<std::byte> differentiate(const std::vector<std::byte>& host, std::size_t w) {
  std::vector<std::byte> out(host.size());
  const std::size_t n = host.size() / w;
  const std::uint64_t mask = w == 8 ? ~0ull : (1ull << (8 * w)) - 1;
  std::uint64_t prev = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t cur = word_at(host, i, w);
    set_word(out, i, w, (cur - prev) & mask);
    prev = cur;
  }
  return out;
}

// Zero-suppression encoder written from the digest's description (§6): block size in the first 16
// bits, then per block an (nBits-1) field and nBits-bit offset values, LSB first, W-bit words.
std::vector<std::byte> zs_encode(const std::vector<std::byte>& host_diffs, unsigned wbits, unsigned block, bool big) {
  const std::size_t w = wbits / 8;
  const unsigned field = wbits == 16 ? 4 : wbits == 32 ? 5 : 6;
  std::vector<bool> bits;
  auto put = [&](std::uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; ++i) bits.push_back(((v >> i) & 1) != 0);
  };
  put(block, 16);
  const std::size_t n = host_diffs.size() / w;
  for (std::size_t s = 0; s < n; s += block) {
    const std::size_t e = std::min(n, s + block);
    std::uint64_t m = 0;
    std::vector<std::int64_t> vals;
    for (std::size_t i = s; i < e; ++i) {
      std::uint64_t u = word_at(host_diffs, i, w);
      std::int64_t v = static_cast<std::int64_t>(u << (64 - wbits)) >> (64 - wbits);  // sign-extend
      vals.push_back(v);
      m |= static_cast<std::uint64_t>(v < 0 ? -v : v);
    }
    unsigned nb = 1;
    if (m != 0) {
      unsigned len = 0;
      while (len < 64 && (m >> len) != 0) ++len;
      nb = len + 1;
    }
    put(nb - 1, field);
    if (nb > 1) {
      for (auto v : vals) put(static_cast<std::uint64_t>(v) + ((1ull << (nb - 1)) - 1), nb);
    }
  }
  while (bits.size() % wbits != 0) bits.push_back(false);
  std::vector<std::byte> out(bits.size() / 8);
  for (std::size_t i = 0; i < bits.size(); ++i) {
    if (bits[i]) out[i / 8] |= static_cast<std::byte>(1u << (i % 8));
  }
  return swap_units(out, w, big);  // out is little-endian words; store in the requested order
}

TEST(GwfZeroSuppress, TestEncoderReproducesSpecExample) {
  std::vector<std::byte> host(16);
  std::memcpy(host.data(), kZsInput, 16);
  const auto enc = zs_encode(differentiate(host, 2), 16, 3, false);
  ASSERT_EQ(enc.size(), 10u);
  for (int i = 0; i < 5; ++i) {
    const unsigned w = std::to_integer<unsigned>(enc[2 * static_cast<std::size_t>(i)]) |
                       (std::to_integer<unsigned>(enc[2 * static_cast<std::size_t>(i) + 1]) << 8);
    EXPECT_EQ(w, kZsWords[i]) << i;
  }
}

// ---- every type x every compression, both file byte orders ----------------------------------
struct TypeCase {
  DataType t;
  std::size_t ws;
  bool integer;
};
const TypeCase kTypes[] = {
    {DataType::Int8, 1, true},      {DataType::Int16, 2, true},       {DataType::Float64, 8, false},
    {DataType::Float32, 4, false},  {DataType::Int32, 4, true},       {DataType::Int64, 8, true},
    {DataType::Complex64, 8, false}, {DataType::Complex128, 16, false}, {DataType::UInt16, 2, true},
    {DataType::UInt32, 4, true},    {DataType::UInt64, 8, true},      {DataType::UInt8, 1, true}};

// Host-order sample bytes of n elements: a bounded random walk for integers (so zero suppression
// has small differences), sines for floats.
std::vector<std::byte> samples(const TypeCase& tc, std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> b(n * tc.ws);
  std::int64_t walk = 40;
  for (std::size_t i = 0; i < n; ++i) {
    walk += static_cast<std::int64_t>(rng() % 21) - 10;
    const double x = std::sin(0.01 * static_cast<double>(i + seed)) * 1e3 + 0.25;
    std::byte* p = b.data() + i * tc.ws;
    switch (tc.t) {
      case DataType::Int8: { auto v = static_cast<std::int8_t>(walk % 100); std::memcpy(p, &v, 1); break; }
      case DataType::UInt8: { auto v = static_cast<std::uint8_t>(walk & 0xFF); std::memcpy(p, &v, 1); break; }
      case DataType::Int16: { auto v = static_cast<std::int16_t>(walk * 7); std::memcpy(p, &v, 2); break; }
      case DataType::UInt16: { auto v = static_cast<std::uint16_t>(walk * 7 + 30000); std::memcpy(p, &v, 2); break; }
      case DataType::Int32: { auto v = static_cast<std::int32_t>(walk * 1000 - 5); std::memcpy(p, &v, 4); break; }
      case DataType::UInt32: { auto v = static_cast<std::uint32_t>(walk * 1000 + 4000000000LL); std::memcpy(p, &v, 4); break; }
      case DataType::Int64: { auto v = static_cast<std::int64_t>(walk * 100000 - (1LL << 40)); std::memcpy(p, &v, 8); break; }
      case DataType::UInt64: { auto v = static_cast<std::uint64_t>(walk + (1LL << 62)); std::memcpy(p, &v, 8); break; }
      case DataType::Float32: { auto v = static_cast<float>(x); std::memcpy(p, &v, 4); break; }
      case DataType::Float64: { std::memcpy(p, &x, 8); break; }
      case DataType::Complex64: { std::complex<float> v(static_cast<float>(x), static_cast<float>(-x / 3)); std::memcpy(p, &v, 8); break; }
      case DataType::Complex128: { std::complex<double> v(x, x * 0.5); std::memcpy(p, &v, 16); break; }
      case DataType::String: break;
    }
  }
  return b;
}

// Encodes host-order samples with compression code `code` (scheme | maybe 0x100) for a file of
// byte order `file_big`.
std::vector<std::byte> encode(const TypeCase& tc, const std::vector<std::byte>& host, std::uint16_t code, bool file_big) {
  const unsigned scheme = code & 0xFFu;
  const bool payload_big = scheme == 0 ? file_big : (code & 0x100) == 0;
  const bool cplx = tc.t == DataType::Complex64 || tc.t == DataType::Complex128;
  const std::size_t unit = cplx ? tc.ws / 2 : tc.ws;
  switch (scheme) {
    case 0: return swap_units(host, unit, payload_big);
    case 1: return zlib_compress(swap_units(host, unit, payload_big));
    case 3: return zlib_compress(swap_units(differentiate(host, tc.ws), tc.ws, payload_big));
    default: {
      // Complex: all real parts, then all imaginary parts (spec App. B).
      std::vector<std::byte> words = host;
      if (cplx) {
        const std::size_t n = host.size() / tc.ws;
        for (std::size_t i = 0; i < n; ++i) {
          std::memcpy(words.data() + i * unit, host.data() + i * tc.ws, unit);
          std::memcpy(words.data() + (n + i) * unit, host.data() + i * tc.ws + unit, unit);
        }
      }
      return zs_encode(differentiate(words, unit), static_cast<unsigned>(unit * 8), scheme == 5 ? 12 : 8, payload_big);
    }
  }
}

std::vector<std::uint16_t> codes_for(const TypeCase& tc) {
  std::vector<std::uint16_t> s = {0, 1};
  if (tc.integer) s.push_back(3);
  if (tc.t == DataType::Int16 || tc.t == DataType::UInt16) s.push_back(5);
  if (tc.ws == 4 && tc.t != DataType::Int8) s.push_back(8);
  if (tc.t == DataType::Complex64) s.push_back(8);
  if (tc.ws == 8 && tc.t != DataType::Complex64) s.push_back(10);
  if (tc.t == DataType::Complex128) s.push_back(10);
  std::sort(s.begin(), s.end());
  s.erase(std::unique(s.begin(), s.end()), s.end());
  std::vector<std::uint16_t> out;
  for (auto c : s) {
    out.push_back(c);
    out.push_back(static_cast<std::uint16_t>(c | 0x100));
  }
  return out;
}

class GwfEveryTypeAndCode : public ::testing::TestWithParam<bool> {};

TEST_P(GwfEveryTypeAndCode, DecodesToTheSamples) {
  const bool file_big = GetParam();
  FrameSpec f;
  std::vector<std::vector<std::byte>> expect;
  unsigned seed = 1;
  for (const auto& tc : kTypes) {
    for (const auto code : codes_for(tc)) {
      const std::size_t n = 1000 + seed;  // not a multiple of any block size
      const auto host = samples(tc, n, seed++);
      ChanSpec c;
      c.name = std::string("X1:") + type_name(tc.t) + "_" + std::to_string(code);
      c.kind = ChannelKind::Proc;
      VectSpec v;
      v.name = c.name;
      v.compress = code;
      v.type = static_cast<std::uint16_t>(tc.t);
      v.n_data = n;
      v.payload = encode(tc, host, code, file_big);
      v.nx = {n};
      v.dx = {1.0 / 1024};
      v.start_x = {0};
      v.unit_x = {"s"};
      c.vects.push_back(v);
      f.chans.push_back(c);
      expect.push_back(host);
    }
  }
  BuildOptions o;
  o.big = file_big;
  const auto built = build_file({f}, o);
  const FrameFile file = FrameFile::from_bytes(built.bytes, "built.gwf");
  EXPECT_EQ(file.big_endian(), file_big);
  const Frame fr = file.read_frame(0);
  ASSERT_EQ(fr.channels.size(), expect.size());
  for (std::size_t k = 0; k < expect.size(); ++k) {
    SCOPED_TRACE(fr.channels[k].name);
    EXPECT_EQ(fr.channels[k].data.data, expect[k]);
    EXPECT_EQ(fr.channels[k].sample_rate, 1024.0);
    EXPECT_EQ(file.read_channel(0, fr.channels[k].name).data.data, expect[k]);
  }
  EXPECT_TRUE(file.verify().empty());
  // Checksums off gives the same samples.
  ReadOptions off;
  off.verify_checksums = false;
  const FrameFile file2 = FrameFile::from_bytes(built.bytes, "built.gwf", off);
  EXPECT_EQ(file2.read_frame(0).channels.back().data.data, expect.back());
}

INSTANTIATE_TEST_SUITE_P(ByteOrder, GwfEveryTypeAndCode, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "BigEndianFile" : "LittleEndianFile"; });

// ---- big-endian specifics with explicit bytes ----------------------------------------------
TEST(GwfBigEndian, RawDoublesAndAdcFieldsFromExplicitBytes) {
  FrameSpec f;
  f.gps_s = 1234567890;
  f.gps_n = 500000000;
  ChanSpec c;
  c.name = "H1:BE";
  c.kind = ChannelKind::Adc;
  c.rate = 4;
  c.time_offset = 0.25;
  c.slope = 2.0f;
  c.bias = -1.5f;
  c.units = "V";
  VectSpec v;
  v.name = "H1:BE";
  v.compress = 0;
  v.type = 2;
  v.n_data = 2;
  // 1.0 and -2.0 as big-endian IEEE doubles.
  v.payload = bytes_of({0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0xC0, 0x00, 0, 0, 0, 0, 0, 0});
  v.nx = {2};
  v.dx = {0.25};
  v.start_x = {0.125};
  v.unit_x = {"s"};
  c.vects = {v};
  f.chans = {c};
  BuildOptions o;
  o.big = true;
  const auto built = build_file({f}, o);
  EXPECT_EQ(std::to_integer<int>(built.bytes[12]), 0x12);  // big-endian byte-order mark
  const FrameFile file = FrameFile::from_bytes(built.bytes, "be.gwf");
  EXPECT_TRUE(file.big_endian());
  const Frame fr = file.read_frame(0);
  const Channel& ch = fr.channels.at(0);
  EXPECT_EQ(ch.data.real_at(0), 1.0);
  EXPECT_EQ(ch.data.real_at(1), -2.0);
  EXPECT_EQ(ch.adc.slope, 2.0f);
  EXPECT_EQ(ch.adc.bias, -1.5f);
  EXPECT_EQ(ch.adc.units, "V");
  EXPECT_EQ(ch.sample_rate, 4.0);
  EXPECT_EQ(fr.start.sec, 1234567890u);
  EXPECT_EQ(fr.start.nsec, 500000000u);
  // t0 = GTimeS + 1e-9 GTimeN + timeOffset + startX[0] (digest §5).
  EXPECT_DOUBLE_EQ(channel_t0(fr, ch), 1234567890.5 + 0.25 + 0.125);
}

TEST(GwfBigEndian, RawCode256StillUsesTheHeaderOrder) {
  FrameSpec f;
  ChanSpec c;
  c.name = "X";
  c.kind = ChannelKind::Sim;
  c.rate = 1;
  VectSpec v;
  v.name = "X";
  v.compress = 256;  // "LE" bit set, but raw data follow the header (digest §6)
  v.type = 4;
  v.n_data = 1;
  v.payload = bytes_of({0x01, 0x02, 0x03, 0x04});
  v.nx = {1};
  v.dx = {1};
  v.start_x = {0};
  v.unit_x = {""};
  c.vects = {v};
  f.chans = {c};
  BuildOptions o;
  o.big = true;
  const FrameFile file = FrameFile::from_bytes(build_file({f}, o).bytes, "be256.gwf");
  EXPECT_EQ(file.read_channel(0, "X").data.real_at(0), static_cast<double>(0x01020304));
}

// ---- channel structure -------------------------------------------------------------------
VectSpec f64_vect(const std::string& name, std::vector<double> vals, double dx = 1.0 / 16, bool big = false) {
  VectSpec v;
  v.name = name;
  v.type = 2;
  v.compress = 256;
  v.n_data = vals.size();
  v.payload = gwft::encode_values(vals, big);  // raw: the file header's order
  v.nx = {vals.size()};
  v.dx = {dx};
  v.start_x = {0};
  v.unit_x = {"s"};
  return v;
}

TEST(GwfChannels, PicksTheVectNamedLikeTheChannelThenTheUnnamedOne) {
  FrameSpec f;
  ChanSpec a;
  a.name = "V1:A";
  a.vects = {f64_vect("other", {1, 2}), f64_vect("V1:A", {3, 4}), f64_vect("", {5, 6})};
  ChanSpec b;
  b.name = "V1:B";
  b.vects = {f64_vect("other", {1}), f64_vect("", {7})};
  f.chans = {a, b};
  const FrameFile file = FrameFile::from_bytes(build_file({f}).bytes, "multi.gwf");
  const Channel ca = file.read_channel(0, "V1:A");
  EXPECT_EQ(ca.data.name, "V1:A");
  EXPECT_EQ(ca.data.real_at(0), 3.0);
  ASSERT_EQ(ca.extra.size(), 2u);
  EXPECT_EQ(ca.extra[0].name, "other");
  const Channel cb = file.read_channel(0, "V1:B");
  EXPECT_EQ(cb.data.name, "");
  EXPECT_EQ(cb.data.real_at(0), 7.0);
}

TEST(GwfChannels, ProcRateIsOneOverDxAndStringVectorsDecode) {
  FrameSpec f;
  ChanSpec c;
  c.name = "P";
  c.vects = {f64_vect("P", {1, 2, 3}, 1.0 / 2048)};
  VectSpec s;
  s.name = "labels";
  s.type = 8;
  s.n_data = 3;
  gwft::Buf sb{false, {}};
  sb.str("a");
  sb.str("");
  sb.str("xyz");
  s.payload = sb.b;
  s.nx = {3};
  s.dx = {1};
  s.start_x = {0};
  s.unit_x = {""};
  c.vects.push_back(s);
  f.chans = {c};
  const FrameFile file = FrameFile::from_bytes(build_file({f}).bytes, "str.gwf");
  const Channel ch = file.read_channel(0, "P");
  EXPECT_EQ(ch.sample_rate, 2048.0);
  EXPECT_EQ(ch.proc.aux_param, std::vector<double>{2.5});
  EXPECT_EQ(ch.proc.aux_param_names, std::vector<std::string>{"aux"});
  ASSERT_EQ(ch.extra.size(), 1u);
  EXPECT_EQ(ch.extra[0].strings, (std::vector<std::string>{"a", "", "xyz"}));
}

std::vector<FrameSpec> three_frames(bool big = false) {
  std::vector<FrameSpec> frames;
  for (std::uint32_t k = 0; k < 3; ++k) {
    FrameSpec f;
    f.gps_s = 1400000000 + k;
    for (int c = 0; c < 5; ++c) {
      ChanSpec ch;
      ch.name = "L1:CH" + std::to_string(c);
      ch.kind = c % 3 == 0 ? ChannelKind::Adc : c % 3 == 1 ? ChannelKind::Proc : ChannelKind::Sim;
      ch.rate = 16;
      ch.vects = {f64_vect(ch.name, {static_cast<double>(100 * k + static_cast<std::uint32_t>(c)), 1.0}, 1.0 / 16, big)};
      f.chans.push_back(ch);
    }
    frames.push_back(f);
  }
  return frames;
}

void check_three_frames(const FrameFile& file) {
  ASSERT_EQ(file.frame_count(), 3u);
  for (std::size_t k = 0; k < 3; ++k) {
    const auto list = file.channels(k);
    ASSERT_EQ(list.size(), 5u);
    for (int c = 0; c < 5; ++c) {
      EXPECT_EQ(list[static_cast<std::size_t>(c)].name, "L1:CH" + std::to_string(c));
      EXPECT_EQ(list[static_cast<std::size_t>(c)].sample_rate, 16.0);
      const Channel ch = file.read_channel(k, "L1:CH" + std::to_string(c));
      EXPECT_EQ(ch.data.real_at(0), static_cast<double>(100 * k + static_cast<std::size_t>(c)));
    }
    EXPECT_EQ(file.read_header(k).start.sec, 1400000000u + k);
  }
  EXPECT_THROW(file.read_channel(1, "L1:NONE"), ChannelNotFound);
  EXPECT_THROW(file.read_frame(3), std::out_of_range);
  EXPECT_TRUE(file.verify().empty());
}

TEST(GwfChannels, MultiFrameWithToc) {
  const auto built = build_file(three_frames());
  ASSERT_NE(built.toc_offset, 0u);
  check_three_frames(FrameFile::from_bytes(built.bytes, "toc.gwf"));
}

TEST(GwfChannels, MultiFrameWithoutTocIsScanned) {
  BuildOptions o;
  o.toc = false;
  const FrameFile file = FrameFile::from_bytes(build_file(three_frames(), o).bytes, "notoc.gwf");
  EXPECT_EQ(file.info().seek_toc, 0u);
  check_three_frames(file);
}

TEST(GwfChannels, TocWithNotIndexedSimCountFallsBackToScanning) {
  BuildOptions o;
  o.toc_not_indexed_sim = true;  // nSim = 0xFFFFFFFF, no arrays follow (frameCPP)
  check_three_frames(FrameFile::from_bytes(build_file(three_frames(), o).bytes, "ffff.gwf"));
}

TEST(GwfChannels, FrameLClassNumbersAreMappedThroughTheDictionary) {
  BuildOptions o;
  o.classes = {{"FrameH", 4},     {"FrAdcData", 5}, {"FrDetector", 6}, {"FrEndOfFrame", 7}, {"FrHistory", 10},
               {"FrProcData", 12}, {"FrSimData", 13}, {"FrTOC", 19},     {"FrVect", 20},      {"FrEndOfFile", 21}};
  const FrameFile file = FrameFile::from_bytes(build_file(three_frames(), o).bytes, "framel.gwf");
  EXPECT_EQ(file.info().class_numbers.at("FrProcData"), 12);
  check_three_frames(file);
}

TEST(GwfChannels, Version7BigEndianAndVersion6Layouts) {
  for (int ver : {6, 7}) {
    SCOPED_TRACE(ver);
    BuildOptions o;
    o.version = ver;
    o.big = true;
    const auto built = build_file(three_frames(true), o);
    const FrameFile file = FrameFile::from_bytes(built.bytes, "v67.gwf");
    EXPECT_EQ(file.version(), ver);
    check_three_frames(file);
    // v6 stores FrSimData.sampleRate as REAL_4, v7 as REAL_8 (digest §9): both decode to 16.
    EXPECT_EQ(file.read_channel(0, "L1:CH2").sample_rate, 16.0);
    EXPECT_EQ(file.info().checksum_scheme, 1);
  }
}

TEST(GwfChannels, UnknownStructuresAreSkippedByLength) {
  // Insert a structure of an undeclared class between two channels: the reader skips it.
  BuildOptions o;
  o.toc = false;  // positions would shift; the scan path is what is exercised here
  auto built = build_file(three_frames(), o);
  // Splice it in before the second FrVect of frame 0 (checksums off: the file CRC changes).
  const std::uint64_t at = built.vect_offsets[1];
  gwft::Buf u{false, {}};
  u.u64(14 + 6 + 4);
  u.u8(0);
  u.u8(99);  // class 99: no FrSH describes it
  u.u32(0);
  u.raw("abcdef", 6);
  u.u32(0);
  auto& b = built.bytes;
  b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), u.b.begin(), u.b.end());
  // FrEndOfFile.nBytes must follow the new size.
  const std::size_t eof = b.size() - 46;
  gwft::Buf nb{false, {}};
  nb.u64(b.size());
  std::memcpy(b.data() + eof + 14 + 4, nb.b.data(), 8);
  ReadOptions off;
  off.verify_checksums = false;
  const FrameFile file = FrameFile::from_bytes(b, "unknown.gwf", off);
  EXPECT_EQ(file.info().structure_counts.at("class 99"), 1u);
  const Frame fr = file.read_frame(0);
  EXPECT_EQ(fr.channels.size(), 5u);
}

}  // namespace
