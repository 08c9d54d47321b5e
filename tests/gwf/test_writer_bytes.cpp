// The bytes the writer produces, checked against the digest (../shared/docs/gwf-format.md) with an
// independent walker (test_writer_walk.hpp), zlib's own inflate, the system `cksum` program and the
// dictionaries of a real FrameL file. None of these checks use the writer's or the reader's code.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <cmath>
#include <complex>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "io/gwf/cksum.hpp"
#include "io/gwf/compress.hpp"
#include "io/gwf/writer.hpp"
#include "tests/gwf/test_writer_walk.hpp"
#include "common/test_support.hpp"

namespace gwf = deepclean::gwf;
using gwf::testing::Cursor;
using gwf::testing::reference_cksum;
using gwf::testing::walk;

namespace {

std::vector<std::byte> to_bytes(const std::string& s) {
  std::vector<std::byte> out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

template <typename T>
std::vector<std::byte> raw_bytes(const std::vector<T>& v) {
  std::vector<std::byte> out(v.size() * sizeof(T));
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

gwf::Channel proc_channel(const std::string& name, std::vector<double> values, double rate) {
  gwf::Channel c;
  c.name = name;
  c.kind = gwf::ChannelKind::Proc;
  c.sample_rate = rate;
  c.data = gwf::Vect::make(name, values, rate, "strain");
  return c;
}

// A 1-s frame: strain-like double channel, an int16 ADC with slope, an int32 sim ramp.
gwf::Frame sample_frame(std::uint32_t gps, std::uint32_t number) {
  gwf::Frame f;
  f.name = "LIGO";
  f.frame_number = number;
  f.start = {gps, 0};
  f.uleap_s = 18;
  f.dt = 1.0;
  gwf::Detector d;
  d.name = "LHO_4k";
  d.prefix = "H1";
  d.longitude = -2.08405676917;
  d.latitude = 0.81079526383;
  f.detectors.push_back(d);
  f.history.push_back({"deepclean", gps, "cleaned by deepclean test"});
  std::vector<double> strain(2048);
  for (std::size_t i = 0; i < strain.size(); ++i) strain[i] = 1e-21 * std::sin(0.01 * static_cast<double>(i));
  f.channels.push_back(proc_channel("H1:GDS-CALIB_STRAIN_CLEAN", strain, 2048));
  gwf::Channel adc;
  adc.name = "H1:PEM-CS_MAINSMON_EBAY_1_DQ";
  adc.kind = gwf::ChannelKind::Adc;
  adc.sample_rate = 256;
  adc.adc.slope = 0.5f;
  adc.adc.units = "counts";
  adc.adc.channel_number = 7;
  adc.adc.channel_group = 3;
  std::vector<std::int16_t> counts(256);
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = static_cast<std::int16_t>((i * 37) % 200) ;
  adc.data = gwf::Vect::make(adc.name, counts, 256.0, "counts");
  f.channels.push_back(adc);
  gwf::Channel sim;
  sim.name = "H1:SIM-RAMP";
  sim.kind = gwf::ChannelKind::Sim;
  sim.sample_rate = 512;
  std::vector<std::int32_t> ramp(512);
  for (std::size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<std::int32_t>(i);
  sim.data = gwf::Vect::make(sim.name, ramp, 512.0);
  f.channels.push_back(sim);
  return f;
}

std::string structure_name_at(const gwf::testing::Walk& w, const std::vector<std::byte>& b, std::size_t off) {
  for (const auto& s : w.structures) {
    if (s.offset == off) {
      Cursor c{&b, off + 14};
      const std::string cls = w.name_of(s.cls);
      if (cls == "FrAdcData" || cls == "FrProcData" || cls == "FrSimData" || cls == "FrDetector") {
        return cls + ":" + c.str();
      }
      return cls;
    }
  }
  return "<no structure at " + std::to_string(off) + ">";
}

// The FrSE rows both libraries write are identical (digest §4); this is frameCPP's class numbering.
const std::map<std::string, int> kFrameCppClasses = {
    {"FrameH", 3},       {"FrAdcData", 4},  {"FrDetector", 5}, {"FrEndOfFile", 6}, {"FrEndOfFrame", 7},
    {"FrHistory", 9},    {"FrProcData", 11}, {"FrRawData", 12}, {"FrSimData", 14},  {"FrTOC", 19},
    {"FrVect", 20}};

}  // namespace

TEST(GwfWriterCksum, MatchesPosixReferenceValues) {
  // digest §7: `printf 123456789 | cksum` -> 930766865; empty input -> 4294967295.
  const auto b = to_bytes("123456789");
  EXPECT_EQ(gwf::posix_cksum(b.data(), b.size()), 930766865u);
  EXPECT_EQ(gwf::posix_cksum(nullptr, 0), 4294967295u);
  EXPECT_EQ(reference_cksum(b.data(), b.size()), 930766865u);
  // The slicing path against the bit-at-a-time definition, all lengths 0..300 and a split feed.
  std::mt19937 rng(7);
  std::vector<std::byte> buf(300);
  for (auto& x : buf) x = static_cast<std::byte>(rng() & 0xFFu);
  for (std::size_t n = 0; n <= buf.size(); ++n) {
    ASSERT_EQ(gwf::posix_cksum(buf.data(), n), reference_cksum(buf.data(), n)) << n;
  }
  gwf::Cksum acc;
  acc.update(buf.data(), 13);
  acc.update(buf.data() + 13, 287);
  EXPECT_EQ(acc.finish(300), reference_cksum(buf.data(), 300));
}

TEST(GwfWriterCompress, ZeroSuppressionReproducesTheSpecExample) {
  // digest §6 / spec appendix B: B = 3, input 82 85 85 81 80 82 84 85 (2S) -> 0003 2D17 37F8 2963 0025.
  const std::vector<std::int16_t> in = {82, 85, 85, 81, 80, 82, 84, 85};
  const auto d = gwf::differentiate(raw_bytes(in).data(), in.size() * 2, 2);
  const auto zs = gwf::zero_suppress(d.data(), in.size(), 2, 3);
  ASSERT_TRUE(zs.has_value());
  ASSERT_EQ(zs->size(), 10u);
  std::vector<std::uint16_t> words(5);
  std::memcpy(words.data(), zs->data(), 10);
  EXPECT_EQ(words, (std::vector<std::uint16_t>{0x0003, 0x2D17, 0x37F8, 0x2963, 0x0025}));
}

TEST(GwfWriterCompress, ZeroSuppressionRejectsTheMostNegativeWord) {
  // digest §6 step 2: |INT_MIN| is not representable, the encoder must give up (store raw).
  const std::vector<std::int16_t> d16 = {0, -32768};
  EXPECT_FALSE(gwf::zero_suppress(raw_bytes(d16).data(), 2, 2, 12).has_value());
  const std::vector<std::int32_t> d32 = {5, INT32_MIN};
  EXPECT_FALSE(gwf::zero_suppress(raw_bytes(d32).data(), 2, 4, 8).has_value());
}

TEST(GwfWriterCompress, ZeroSuppressionAllZeroBlocksAndWideWords) {
  // An all-zero block writes only its nBits-1 = 0 field (digest §6 step 3). W=32: B in the low 16
  // bits of word 0, then 5-bit fields: two blocks of 8 zeros -> 16 + 5 + 5 bits = one word.
  const std::vector<std::int32_t> zeros(16, 0);
  const auto zs = gwf::zero_suppress(raw_bytes(zeros).data(), 16, 4, 8);
  ASSERT_TRUE(zs.has_value());
  ASSERT_EQ(zs->size(), 4u);
  std::uint32_t w0 = 0;
  std::memcpy(&w0, zs->data(), 4);
  EXPECT_EQ(w0, 8u);
  // W=64, one block of {1, -1}: m = 1 -> nBits 2 (field 1 in 6 bits), values +1 offset: 2, 0.
  const std::vector<std::int64_t> pm = {1, -1};
  const auto z64 = gwf::zero_suppress(raw_bytes(pm).data(), 2, 8, 8);
  ASSERT_TRUE(z64.has_value());
  ASSERT_EQ(z64->size(), 8u);
  std::uint64_t q = 0;
  std::memcpy(&q, z64->data(), 8);
  EXPECT_EQ(q, 8u | (1u << 16) | (2u << 22) | (0u << 24));
}

TEST(GwfWriterCompress, DifferentiationWrapsInTheWordWidth) {
  const std::vector<std::uint8_t> in = {250, 3, 3, 0};
  const auto d = gwf::differentiate(raw_bytes(in).data(), 4, 1);
  std::vector<std::uint8_t> got(4);
  std::memcpy(got.data(), d.data(), 4);
  EXPECT_EQ(got, (std::vector<std::uint8_t>{250, 9, 0, 253}));  // 3-250 = -247 = 9 mod 256
}

TEST(GwfWriterBytes, HeaderIsTheDigestLayout) {
  const auto b = gwf::encode_frames({sample_frame(1400000000, 0)});
  ASSERT_GE(b.size(), 40u);
  // digest §2, little-endian host.
  const std::array<std::uint8_t, 40> expect = {
      'I', 'G', 'W', 'D', 0, 8, 1, 2, 4, 8, 4, 8, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12,
      0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01, 0xDB, 0x0F, 0x49, 0x40,
      0x18, 0x2D, 0x44, 0x54, 0xFB, 0x21, 0x09, 0x40, 0, 1};
  for (std::size_t i = 0; i < 40; ++i) {
    EXPECT_EQ(std::to_integer<unsigned>(b[i]), expect[i]) << "header byte " << i;
  }
}

TEST(GwfWriterBytes, EveryStructureHasChkType1AndACorrectCrc) {
  const auto b = gwf::encode_frames({sample_frame(1400000000, 0), sample_frame(1400000001, 1)});
  const auto w = walk(b);
  ASSERT_GT(w.structures.size(), 10u);
  for (const auto& s : w.structures) {
    EXPECT_EQ(s.chk_type, 1) << w.name_of(s.cls) << " at " << s.offset;
    const std::size_t covered = w.name_of(s.cls) == "FrEndOfFile" ? s.length - 8 : s.length - 4;
    EXPECT_EQ(s.stored_chksum, reference_cksum(b.data() + s.offset, covered))
        << w.name_of(s.cls) << " at " << s.offset;
  }
}

TEST(GwfWriterBytes, EndOfFileFieldsAndFileChecksums) {
  const auto b = gwf::encode_frames({sample_frame(1400000000, 0), sample_frame(1400000001, 1)});
  const auto w = walk(b);
  const auto& eof = w.structures.back();
  EXPECT_EQ(w.name_of(eof.cls), "FrEndOfFile");
  EXPECT_EQ(eof.length, 46u);               // digest §5
  EXPECT_EQ(eof.offset + 46, b.size());     // always the last 46 bytes
  EXPECT_EQ(eof.instance, 0u);
  Cursor c{&b, eof.offset + 14};
  EXPECT_EQ(c.get<std::uint32_t>(), 2u);                 // nFrames
  EXPECT_EQ(c.get<std::uint64_t>(), b.size());           // nBytes
  const auto seek = c.get<std::uint64_t>();              // seekTOC
  const auto toc_at = b.size() - seek;
  EXPECT_EQ(structure_name_at(w, b, toc_at), "FrTOC");
  EXPECT_EQ(c.get<std::uint32_t>(), reference_cksum(b.data(), 40));  // chkSumFrHeader
  c.get<std::uint32_t>();                                            // chkSum (checked above)
  EXPECT_EQ(c.get<std::uint32_t>(), reference_cksum(b.data(), b.size() - 4));  // chkSumFile
}

TEST(GwfWriterBytes, FileChecksumsAgreeWithTheCksumProgram) {
  // digest §7: chkSumFrHeader = `head -c 40 f | cksum`, chkSumFile = `head -c -4 f | cksum`.
  if (std::system("command -v cksum >/dev/null 2>&1 && command -v head >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "no cksum/head program on this machine";
  }
  const auto b = gwf::encode_frames({sample_frame(1400000000, 0)});
  const auto dir = std::filesystem::temp_directory_path() / ("gwfw_cksum_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "x.gwf";
  {
    std::ofstream o(file, std::ios::binary);
    o.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  }
  auto run = [](const std::string& cmd) {
    std::string out;
    deepclean::testing::run_shell(cmd, &out);
    return out;
  };
  const auto header = std::stoul(run("head -c 40 '" + file.string() + "' | cksum"));
  const auto whole = std::stoul(run("head -c -4 '" + file.string() + "' | cksum"));
  std::filesystem::remove_all(dir);
  std::uint32_t stored_header = 0, stored_file = 0;
  std::memcpy(&stored_header, b.data() + b.size() - 46 + 14 + 20, 4);
  std::memcpy(&stored_file, b.data() + b.size() - 4, 4);
  EXPECT_EQ(stored_header, header);
  EXPECT_EQ(stored_file, whole);
}

TEST(GwfWriterBytes, DictionaryUsesFrameCppNumbersOnceBeforeFirstUse) {
  const auto b = gwf::encode_frames({sample_frame(1400000000, 0), sample_frame(1400000001, 1)});
  const auto w = walk(b);
  std::set<std::string> described;
  std::map<int, std::uint32_t> sh_instances;
  bool first_frame = true;
  std::uint32_t sh_count = 0, se_count = 0;
  for (const auto& s : w.structures) {
    const std::string n = w.name_of(s.cls);
    if (s.cls == 1) {
      Cursor c{&b, s.offset + 14};
      const std::string cls = c.str();
      EXPECT_TRUE(described.insert(cls).second) << cls << " described twice";
      EXPECT_EQ(c.get<std::uint16_t>(), kFrameCppClasses.at(cls)) << cls;
      EXPECT_EQ(s.instance, sh_count++) << "FrSH instances count across the frame (digest §3)";
    } else if (s.cls == 2) {
      EXPECT_EQ(s.instance, se_count++) << "FrSE instances count across the frame (digest §3)";
    } else {
      EXPECT_TRUE(described.count(n)) << n << " used before its FrSH";
    }
    if (n == "FrEndOfFrame") {
      sh_count = se_count = 0;
      first_frame = false;
    }
  }
  EXPECT_FALSE(first_frame);
  // The first structure of the file is FrSH(FrameH) (digest §4).
  Cursor c{&b, 40 + 14};
  EXPECT_EQ(w.structures.front().cls, 1);
  EXPECT_EQ(c.str(), "FrameH");
  // Spot checks of exact type strings (digest §4).
  const auto& vect = w.fields.at("FrVect");
  EXPECT_EQ(vect.size(), 14u);
  EXPECT_EQ(vect[5], (std::pair<std::string, std::string>{"data", "CHAR[nBytes]"}));
  EXPECT_EQ(vect[12], (std::pair<std::string, std::string>{"next", "PTR_STRUCT(FrVect *)"}));
  EXPECT_EQ(w.fields.at("FrTOC").size(), 62u);
  EXPECT_EQ(w.fields.at("FrEndOfFile").back().first, "chkSumFile");
}

TEST(GwfWriterBytes, DictionaryRowsEqualThoseOfARealFrameLFile) {
  const std::string path = DEEPCLEAN_SHARED_DIR "/data/gwf/framel-8.02-exampleFull-test.gwf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "shared frame files absent: " << path;
  std::ifstream in(path, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> real(raw.size());
  std::memcpy(real.data(), raw.data(), raw.size());
  const auto ref = walk(real);
  const auto ours = walk(gwf::encode_frames({sample_frame(1400000000, 0)}));
  ASSERT_GE(ours.fields.size(), 10u);
  for (const auto& [cls, rows] : ours.fields) {
    ASSERT_TRUE(ref.fields.count(cls)) << cls;
    EXPECT_EQ(rows, ref.fields.at(cls)) << "FrSE rows of " << cls;
  }
}

TEST(GwfWriterBytes, InstancesPointersAndVectorsFollowTheirOwners) {
  const auto f0 = sample_frame(1400000000, 0);
  const auto b = gwf::encode_frames({f0});
  const auto w = walk(b);
  std::map<std::string, std::uint32_t> counts;
  std::vector<const gwf::testing::Structure*> content;
  for (const auto& s : w.structures) {
    const std::string n = w.name_of(s.cls);
    if (s.cls == 1 || s.cls == 2) continue;
    EXPECT_EQ(s.instance, counts[n]++) << n;
    if (n == "FrEndOfFrame") counts.clear();
    content.push_back(&s);
  }
  // Order (digest §5): FrameH, FrDetector, FrHistory, FrRawData, FrAdcData+FrVect, FrProcData+FrVect,
  // FrSimData+FrVect, FrEndOfFrame, FrTOC, FrEndOfFile.
  std::vector<std::string> order;
  for (const auto* s : content) order.push_back(w.name_of(s->cls));
  EXPECT_EQ(order, (std::vector<std::string>{"FrameH", "FrDetector", "FrHistory", "FrRawData", "FrAdcData",
                                             "FrVect", "FrProcData", "FrVect", "FrSimData", "FrVect",
                                             "FrEndOfFrame", "FrTOC", "FrEndOfFile"}));
  // FrameH pointers: detectProc, history, rawData, procData, simData (digest §5).
  Cursor h{&b, content[0]->offset + 14};
  EXPECT_EQ(h.str(), "LIGO");
  h.get<std::int32_t>();
  h.get<std::uint32_t>();
  h.get<std::uint32_t>();
  EXPECT_EQ(h.get<std::uint32_t>(), 1400000000u);
  EXPECT_EQ(h.get<std::uint32_t>(), 0u);
  EXPECT_EQ(h.get<std::uint16_t>(), 18);
  EXPECT_EQ(h.get<double>(), 1.0);
  using P = std::pair<std::uint16_t, std::uint32_t>;
  EXPECT_EQ(h.ptr(), P(0, 0));   // type
  EXPECT_EQ(h.ptr(), P(0, 0));   // user
  EXPECT_EQ(h.ptr(), P(0, 0));   // detectSim
  EXPECT_EQ(h.ptr(), P(5, 0));   // detectProc
  EXPECT_EQ(h.ptr(), P(9, 0));   // history
  EXPECT_EQ(h.ptr(), P(12, 0));  // rawData
  EXPECT_EQ(h.ptr(), P(11, 0));  // procData
  EXPECT_EQ(h.ptr(), P(14, 0));  // simData
  // FrRawData.firstAdc -> (4,0).
  Cursor r{&b, content[3]->offset + 14};
  r.str();
  r.ptr();
  EXPECT_EQ(r.ptr(), P(4, 0));
  // FrProcData.data -> (20, 1), the FrVect right behind it, holding the source's bytes raw or zlib.
  Cursor p{&b, content[6]->offset + 14};
  EXPECT_EQ(p.str(), "H1:GDS-CALIB_STRAIN_CLEAN");
  p.str();
  EXPECT_EQ(p.get<std::uint16_t>(), 1);  // type: time series
  p.get<std::uint16_t>();
  EXPECT_EQ(p.get<double>(), 0.0);       // timeOffset
  EXPECT_EQ(p.get<double>(), 1.0);       // tRange = nx·dx
  p.get<double>();
  p.get<float>();
  p.get<double>();
  p.get<double>();
  EXPECT_EQ(p.get<std::uint16_t>(), 0);  // nAuxParam
  EXPECT_EQ(p.ptr(), P(20, content[7]->instance));
  EXPECT_EQ(content[7]->instance, 1u);
  Cursor v{&b, content[7]->offset + 14};
  EXPECT_EQ(v.str(), "H1:GDS-CALIB_STRAIN_CLEAN");
  const auto compress = v.get<std::uint16_t>();
  EXPECT_EQ(v.get<std::uint16_t>(), 2);      // 8R
  EXPECT_EQ(v.get<std::uint64_t>(), 2048u);  // nData
  const auto n_bytes = v.get<std::uint64_t>();
  std::vector<std::byte> payload(b.begin() + static_cast<std::ptrdiff_t>(v.p),
                                 b.begin() + static_cast<std::ptrdiff_t>(v.p + n_bytes));
  v.p += n_bytes;
  const auto& src = f0.channels[0].data.data;
  if (compress == 257) {  // digest §6: a zlib stream; zlib itself must expand it to the source
    std::vector<std::byte> out(src.size());
    uLongf out_len = out.size();
    ASSERT_EQ(uncompress(reinterpret_cast<Bytef*>(out.data()), &out_len,
                         reinterpret_cast<const Bytef*>(payload.data()), payload.size()),
              Z_OK);
    EXPECT_EQ(out_len, src.size());
    EXPECT_EQ(out, src);
    EXPECT_EQ(std::to_integer<int>(payload[0]), 0x78);
  } else {
    EXPECT_EQ(compress, 256);
    EXPECT_EQ(payload, src);
  }
  EXPECT_EQ(v.get<std::uint32_t>(), 1u);           // nDim
  EXPECT_EQ(v.get<std::uint64_t>(), 2048u);        // nx
  EXPECT_EQ(v.get<double>(), 1.0 / 2048);          // dx
  EXPECT_EQ(v.get<double>(), 0.0);                 // startX
  EXPECT_EQ(v.str(), "s");                         // unitX
  EXPECT_EQ(v.str(), "strain");                    // unitY
  EXPECT_EQ(v.ptr(), P(0, 0));                     // next
  EXPECT_EQ(v.p + 4, content[7]->offset + content[7]->length);
}

TEST(GwfWriterBytes, TocListsSortedNamesWithPositionsOfTheirStructures) {
  std::vector<gwf::Frame> frames = {sample_frame(1400000000, 0), sample_frame(1400000001, 1)};
  // A second proc channel whose name sorts first, and only in frame 1.
  frames[1].channels.push_back(proc_channel("H1:AAA", std::vector<double>(16, 1.0), 16));
  const auto b = gwf::encode_frames(frames);
  const auto w = walk(b);
  std::uint64_t seek = 0;
  std::memcpy(&seek, b.data() + b.size() - 46 + 14 + 4 + 8, 8);
  const auto t = gwf::testing::parse_toc(b, b.size() - seek);
  EXPECT_EQ(t.uleap_s, 18);
  EXPECT_EQ(t.n_frame, 2u);
  EXPECT_EQ(t.gtime_s, (std::vector<std::uint32_t>{1400000000u, 1400000001u}));
  EXPECT_EQ(t.frame, (std::vector<std::uint32_t>{0u, 1u}));
  EXPECT_EQ(t.dt, (std::vector<double>{1.0, 1.0}));
  // positionH: first byte of each frame (digest §8, FrameL): 40 = FrSH(FrameH) for frame 0.
  EXPECT_EQ(t.position_h[0], 40u);
  EXPECT_EQ(structure_name_at(w, b, t.position_h[1]), "FrameH");
  EXPECT_EQ(structure_name_at(w, b, t.first_adc[0]), "FrAdcData:H1:PEM-CS_MAINSMON_EBAY_1_DQ");
  EXPECT_EQ(t.detectors, (std::vector<std::string>{"LHO_4k"}));
  EXPECT_EQ(structure_name_at(w, b, t.detector_positions[0]), "FrDetector:LHO_4k");
  EXPECT_EQ(t.adc, (std::vector<std::string>{"H1:PEM-CS_MAINSMON_EBAY_1_DQ"}));
  EXPECT_EQ(t.adc_channel_id, (std::vector<std::uint32_t>{7}));
  EXPECT_EQ(t.adc_group_id, (std::vector<std::uint32_t>{3}));
  EXPECT_EQ(t.proc, (std::vector<std::string>{"H1:AAA", "H1:GDS-CALIB_STRAIN_CLEAN"}));
  EXPECT_EQ(t.sim, (std::vector<std::string>{"H1:SIM-RAMP"}));
  ASSERT_EQ(t.proc_pos.size(), 4u);  // [nProc][nFrame]
  EXPECT_EQ(t.proc_pos[0], 0u);      // H1:AAA absent from frame 0
  EXPECT_EQ(structure_name_at(w, b, t.proc_pos[1]), "FrProcData:H1:AAA");
  for (std::size_t fi = 0; fi < 2; ++fi) {
    EXPECT_EQ(structure_name_at(w, b, t.proc_pos[2 + fi]), "FrProcData:H1:GDS-CALIB_STRAIN_CLEAN");
    EXPECT_EQ(structure_name_at(w, b, t.adc_pos[fi]), "FrAdcData:H1:PEM-CS_MAINSMON_EBAY_1_DQ");
    EXPECT_EQ(structure_name_at(w, b, t.sim_pos[fi]), "FrSimData:H1:SIM-RAMP");
    // Positions lie inside their frame (FrameL drops the others, digest §8).
    EXPECT_GT(t.proc_pos[2 + fi], t.position_h[fi]);
  }
  EXPECT_LT(t.proc_pos[2], t.position_h[1]);
  EXPECT_EQ(t.tail_counts, (std::vector<std::uint32_t>(6, 0)));
  // nSH/SHid/SHname: every class described in the file except FrEndOfFile, in FrSH order.
  std::vector<std::pair<std::uint16_t, std::string>> expect_sh;
  for (const auto& [id, name] : w.sh_order) {
    if (name != "FrEndOfFile") expect_sh.emplace_back(static_cast<std::uint16_t>(id), name);
  }
  EXPECT_EQ(t.sh, expect_sh);
  // The TOC body ends right before its chkSum.
  for (const auto& s : w.structures) {
    if (s.offset == b.size() - seek) {
      EXPECT_EQ(t.end + 4, s.offset + s.length);
    }
  }
}

TEST(GwfWriterBytes, CompressionCodesAndRawFallback) {
  auto one = [](gwf::Channel c, gwf::Compression comp) {
    gwf::Frame f;
    f.start = {1000000000, 0};
    f.channels.push_back(std::move(c));
    gwf::WriteOptions o;
    o.compression = comp;
    o.zlib_level = 1;
    const auto b = gwf::encode_frames({f}, o);
    const auto w = walk(b);
    for (const auto& s : w.structures) {
      if (w.name_of(s.cls) == "FrVect") {
        Cursor v{&b, s.offset + 14};
        v.str();
        const auto code = v.get<std::uint16_t>();
        v.get<std::uint16_t>();
        v.get<std::uint64_t>();
        const auto nb = v.get<std::uint64_t>();
        return std::make_pair(code, std::vector<std::byte>(b.begin() + static_cast<std::ptrdiff_t>(v.p),
                                                           b.begin() + static_cast<std::ptrdiff_t>(v.p + nb)));
      }
    }
    return std::make_pair(std::uint16_t{0xFFFF}, std::vector<std::byte>{});
  };
  // Random full-range words do not shrink under zlib: stored raw, code 256 (digest §6 fallbacks).
  std::mt19937 rng(3);
  std::vector<std::uint32_t> noise(4096);
  for (auto& x : noise) x = static_cast<std::uint32_t>(rng());
  gwf::Channel c;
  c.name = "X1:NOISE";
  c.sample_rate = 4096;
  c.data = gwf::Vect::make(c.name, noise, 4096.0);
  auto [code, payload] = one(c, gwf::Compression::Zlib);
  EXPECT_EQ(code, 256);
  EXPECT_EQ(payload, raw_bytes(noise));
  // A ramp: zlib level 1 gives header 78 01 (digest §6), diff+zlib compresses it far better.
  std::vector<std::int32_t> ramp(4096);
  for (std::size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<std::int32_t>(1000 + 3 * i);
  c.data = gwf::Vect::make(c.name, ramp, 4096.0);
  auto [zcode, zpayload] = one(c, gwf::Compression::Zlib);
  EXPECT_EQ(zcode, 257);
  EXPECT_EQ(std::to_integer<int>(zpayload[0]), 0x78);
  EXPECT_EQ(std::to_integer<int>(zpayload[1]), 0x01);
  auto [dcode, dpayload] = one(c, gwf::Compression::DiffZlib);
  EXPECT_EQ(dcode, 259);
  EXPECT_LT(dpayload.size(), zpayload.size());
  // Expand 259 by hand: inflate, then running sum in 32 bits (digest §6).
  std::vector<std::int32_t> diffs(ramp.size());
  uLongf n = diffs.size() * 4;
  ASSERT_EQ(uncompress(reinterpret_cast<Bytef*>(diffs.data()), &n,
                       reinterpret_cast<const Bytef*>(dpayload.data()), dpayload.size()),
            Z_OK);
  std::uint32_t acc = 0;
  for (std::size_t i = 0; i < ramp.size(); ++i) {
    acc += static_cast<std::uint32_t>(diffs[i]);
    ASSERT_EQ(static_cast<std::int32_t>(acc), ramp[i]) << i;
  }
  // diff+zlib does not apply to float64: falls back to zlib (FrameL's rule).
  c.data = gwf::Vect::make(c.name, std::vector<double>(4096, 0.25), 4096.0);
  EXPECT_EQ(one(c, gwf::Compression::DiffZlib).first, 257);
  // Zero suppression of a slow int16 ramp: code 261.
  std::vector<std::int16_t> slow(4096);
  for (std::size_t i = 0; i < slow.size(); ++i) slow[i] = static_cast<std::int16_t>(i / 4);
  c.data = gwf::Vect::make(c.name, slow, 4096.0);
  EXPECT_EQ(one(c, gwf::Compression::DiffZero16).first, 261);
  // Raw requested: 256 and the bytes verbatim.
  auto [rcode, rpayload] = one(c, gwf::Compression::Raw);
  EXPECT_EQ(rcode, 256);
  EXPECT_EQ(rpayload, raw_bytes(slow));
}

TEST(GwfWriterBytes, RejectsInconsistentInput) {
  gwf::Frame f;
  f.channels.push_back(proc_channel("X1:A", {1.0, 2.0}, 2));
  f.channels.push_back(proc_channel("X1:A", {1.0, 2.0}, 2));
  EXPECT_THROW(gwf::encode_frames({f}), std::invalid_argument);  // names unique per frame (§5)
  f.channels.pop_back();
  f.channels[0].data.nx = {3};
  EXPECT_THROW(gwf::encode_frames({f}), std::invalid_argument);  // nData = Πnx (§5)
  EXPECT_THROW(gwf::encode_frames({}), std::invalid_argument);
  f.channels[0].data.nx = {2};
  gwf::WriteOptions o;
  o.zlib_level = 11;
  EXPECT_THROW(gwf::encode_frames({f}, o), std::invalid_argument);
}

TEST(GwfWriterBytes, RepeatedNamesWhenAllowedIndexTheLastLikeFrameL) {
  // framel-8.02-exampleFull-test.gwf holds two FrSimData `sim1` per frame and its FrTOC points at the
  // second (instance 1); copies of such files keep both and index the same one.
  gwf::Frame f = sample_frame(1400000000, 0);
  f.channels.push_back(f.channels[2]);  // a second "H1:SIM-RAMP"
  gwf::WriteOptions o;
  EXPECT_THROW(gwf::encode_frames({f}, o), std::invalid_argument);
  o.unique_names = false;
  const auto b = gwf::encode_frames({f}, o);
  const auto w = walk(b);
  std::uint64_t seek = 0;
  std::memcpy(&seek, b.data() + b.size() - 46 + 14 + 4 + 8, 8);
  const auto t = gwf::testing::parse_toc(b, b.size() - seek);
  ASSERT_EQ(t.sim, (std::vector<std::string>{"H1:SIM-RAMP"}));
  bool found = false;
  for (const auto& s : w.structures) {
    if (s.offset == t.sim_pos[0]) {
      found = true;
      EXPECT_EQ(w.name_of(s.cls), "FrSimData");
      EXPECT_EQ(s.instance, 1u);
    }
  }
  EXPECT_TRUE(found) << "TOC sim position " << t.sim_pos[0] << " is not a structure";
}
