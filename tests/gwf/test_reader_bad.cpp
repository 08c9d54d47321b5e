// Malformed input: bit flips, truncation at every structure boundary, absurd lengths and counts.
// Every failure must be a FormatError naming the file, and its reason; never a crash or a hang.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "io/gwf/reader.hpp"
#include "reader_test_builder.hpp"

namespace {

using namespace deepclean::gwf;
using gwft::build_file;
using gwft::BuildOptions;
using gwft::ChanSpec;
using gwft::FrameSpec;
using gwft::VectSpec;
using gwft::f64_vect;
using gwft::one_channel;

const std::string kDir = DEEPCLEAN_SHARED_DIR "/data/gwf";

std::vector<std::byte> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> b(c.size());
  if (!c.empty()) std::memcpy(b.data(), c.data(), c.size());
  return b;
}

ReadOptions no_crc() {
  ReadOptions o;
  o.verify_checksums = false;
  return o;
}

// Opens and fully reads `bytes`; expects a FormatError naming `name` whose reason contains `why`.
void expect_error(const std::vector<std::byte>& bytes, const std::string& why, const ReadOptions& opt = {}) {
  const std::string name = "bad-input.gwf";
  try {
    const FrameFile f = FrameFile::from_bytes(bytes, name, opt);
    for (std::size_t i = 0; i < f.frame_count(); ++i) {
      (void)f.channels(i);
      (void)f.read_frame(i);
    }
    ADD_FAILURE() << "no error; expected: " << why;
  } catch (const FormatError& e) {
    EXPECT_EQ(e.file(), name);
    EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    EXPECT_NE(e.reason().find(why), std::string::npos) << "reason: " << e.reason() << "\nexpected: " << why;
    EXPECT_FALSE(e.structure().empty());
  }
}

void put_u64(std::vector<std::byte>& b, std::uint64_t at, std::uint64_t v) { std::memcpy(b.data() + at, &v, 8); }
void put_u16(std::vector<std::byte>& b, std::uint64_t at, std::uint16_t v) { std::memcpy(b.data() + at, &v, 2); }
void put_u32(std::vector<std::byte>& b, std::uint64_t at, std::uint32_t v) { std::memcpy(b.data() + at, &v, 4); }

// ---- bit flips -----------------------------------------------------------------------------
TEST(GwfBadInput, BitFlipsInARealFileAreAllCaughtByChecksums) {
  const std::string path = kDir + "/framel-8.02-exampleFull-test.gwf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " absent";
  const auto good = slurp(path);
  std::size_t listed = 0;
  for (std::size_t at = 0; at < good.size(); at += 331) {
    auto b = good;
    b[at] ^= std::byte{0x10};
    // Default options: the open fails (a checksum, or the structure the flip broke).
    EXPECT_THROW((void)FrameFile::from_bytes(b, "flip.gwf"), FormatError) << "flip at " << at;
    // Checksums off: whatever happens is a clean FormatError or a readable file, and verify()
    // lists the damage.
    try {
      const FrameFile f = FrameFile::from_bytes(b, "flip.gwf", no_crc());
      const auto problems = f.verify();
      EXPECT_FALSE(problems.empty()) << "flip at " << at;
      for (const auto& p : problems) EXPECT_EQ(p.rfind("flip.gwf: byte ", 0), 0u) << p;
      ++listed;
    } catch (const FormatError& e) {
      EXPECT_EQ(e.file(), "flip.gwf");
    }
  }
  EXPECT_GT(listed, 500u);  // most flips leave the structure walk intact and are listed by verify()
}

TEST(GwfBadInput, BitFlipInSampleDataNamesTheStructureChecksum) {
  const std::string path = kDir + "/HLV-HW100916-968654552-1.gwf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " absent";
  auto b = slurp(path);
  b[200000] ^= std::byte{0x01};  // inside the zlib payload of a FrVect
  try {
    (void)FrameFile::from_bytes(b, "hlv.gwf");
    ADD_FAILURE() << "flip not detected";
  } catch (const FormatError& e) {
    EXPECT_NE(e.reason().find("chkSumFile mismatch"), std::string::npos) << e.what();
  }
  const auto lines = FrameFile::from_bytes(b, "hlv.gwf", no_crc()).verify();
  bool vect_line = false, file_line = false;
  for (const auto& l : lines) {
    vect_line = vect_line || (l.find("FrVect") != std::string::npos && l.find("structure checksum mismatch") != std::string::npos);
    file_line = file_line || l.find("chkSumFile mismatch") != std::string::npos;
  }
  EXPECT_TRUE(vect_line);
  EXPECT_TRUE(file_line);
}

TEST(GwfBadInput, BitFlipInVersion6FileChecksum) {
  const std::string path = kDir + "/F-TEST-600000000-60.gwf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " absent";
  auto b = slurp(path);
  b[100000] ^= std::byte{0x80};
  expect_error(b, "file chkSum mismatch");
  const auto lines = FrameFile::from_bytes(b, "v6.gwf", no_crc()).verify();
  // The whole-file CRC and frame 0's FrEndOfFrame CRC both cover byte 100000.
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("file chkSum mismatch"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("FrEndOfFrame: frame 0 chkSum mismatch"), std::string::npos) << lines[1];
}

TEST(GwfBadInput, Version7FrameChecksumCheckedWhenTheFileChecksumIsOff) {
  gwft::BuildOptions o;
  o.version = 7;
  auto built = build_file({one_channel(f64_vect("X1:CH", 8))}, o);
  auto& b = built.bytes;
  // FrEndOfFile chkType := 0 (file CRC off), then damage a sample: only the frame CRC sees it.
  const std::uint64_t eof = b.size() - 42;
  put_u32(b, eof + 14 + 4 + 8, 0);
  b[built.vect_offsets[0] + 14 + 8 + 2 + 2 + 8 + 8 + 1] ^= std::byte{0x40};
  expect_error(b, "frame 0 chkSum mismatch");
  EXPECT_NO_THROW((void)FrameFile::from_bytes(b, "v7.gwf", no_crc()).read_frame(0));
}

TEST(GwfBadInput, WithoutTheFileChecksumEachDecodedStructureIsChecked) {
  const std::string path = kDir + "/HLV-HW100916-968654552-1.gwf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " absent";
  auto b = slurp(path);
  const FrameFile good = FrameFile::from_bytes(b, "hlv.gwf");
  b[200000] ^= std::byte{0x01};  // inside one FrVect's zlib payload
  ReadOptions o;
  o.verify_file_checksum = false;
  const FrameFile f = FrameFile::from_bytes(b, "hlv.gwf", o);  // opens: no whole-file pass
  int damaged = 0;
  // (channels() reads each proc channel's FrVect header for its rate, so it too would see the
  // damaged structure; take the names from the intact copy.)
  for (const auto& e : good.channels(0)) {
    try {
      EXPECT_EQ(f.read_channel(0, e.name).data.data, good.read_channel(0, e.name).data.data);
    } catch (const FormatError& err) {
      ++damaged;
      EXPECT_NE(err.reason().find("structure checksum mismatch"), std::string::npos) << err.what();
      EXPECT_EQ(err.structure().rfind("FrVect", 0), 0u) << err.structure();
    }
  }
  EXPECT_EQ(damaged, 1);
}

TEST(GwfBadInput, WithoutTheFileChecksumVersion6FramesAreCheckedOneByOne) {
  const std::string path = kDir + "/F-TEST-600000000-60.gwf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " absent";
  auto b = slurp(path);
  b[100000] ^= std::byte{0x80};  // frame 0
  ReadOptions o;
  o.verify_file_checksum = false;
  const FrameFile f = FrameFile::from_bytes(b, "v6.gwf", o);
  try {
    (void)f.read_channel(0, "H1:LSC-AS_Q");
    ADD_FAILURE() << "damaged frame 0 read";
  } catch (const FormatError& e) {
    EXPECT_NE(e.reason().find("frame 0 chkSum mismatch"), std::string::npos) << e.what();
  }
  EXPECT_EQ(f.read_channel(1, "H1:LSC-AS_Q").data.size(), 163840u);
}

TEST(GwfBadInput, StructureChecksumCheckedWhenTheFileHasNoFileChecksum) {
  // Per-structure CRCs on, file CRC off (header byte 39 = 0): a flip is caught when that structure
  // is decoded.
  auto built = build_file({one_channel(f64_vect("X1:CH", 8))});
  auto& b = built.bytes;
  b[39] = std::byte{0};
  put_u32(b, b.size() - 4, 0);
  const std::uint64_t vect = built.vect_offsets[0];
  b[vect + 14 + 2 + 6 + 2 + 2 + 8 + 8 + 3] ^= std::byte{0x04};  // a sample byte
  expect_error(b, "structure checksum mismatch");
  EXPECT_NO_THROW((void)FrameFile::from_bytes(b, "x.gwf", no_crc()).read_frame(0));
}

// ---- truncation ----------------------------------------------------------------------------
TEST(GwfBadInput, TruncationAtEveryStructureBoundaryOfARealFile) {
  const std::string path = kDir + "/framel-8.02-exampleFull-test.gwf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " absent";
  const auto good = slurp(path);
  // Structure starts, found by walking the v8 little-endian lengths (digest §3).
  std::vector<std::uint64_t> starts;
  for (std::uint64_t p = 40; p < good.size();) {
    starts.push_back(p);
    std::uint64_t len;
    std::memcpy(&len, good.data() + p, 8);
    p += len;
  }
  ASSERT_EQ(starts.size(), 18u + 260 + 10 + 10 + 2 + 132 + 20 + 10 + 80 + 10 + 10 + 10 + 10 + 20 + 30 + 20 + 20 + 10 + 1 + 1);
  std::vector<std::uint64_t> cuts = {0, 5, 39, 40};
  for (const auto s : starts) {
    cuts.push_back(s);       // exactly at a boundary
    cuts.push_back(s + 7);   // inside a structure header
    cuts.push_back(s + 20);  // inside a body
  }
  for (const auto cut : cuts) {
    if (cut >= good.size()) continue;
    SCOPED_TRACE(cut);
    std::vector<std::byte> b(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut));
    const std::string why = cut < 40 ? "shorter than the 40-byte header" : "truncated";
    expect_error(b, why);
    expect_error(b, why, no_crc());
  }
}

// ---- absurd lengths and counts (valid checksums: the values themselves are rejected) -----------
TEST(GwfBadInput, HugeNDim) {
  auto v = f64_vect("X1:CH", 4);
  v.n_dim_override = 0xFFFFFFFFu;
  expect_error(build_file({one_channel(v)}).bytes, "nDim = 4294967295 elements cannot fit");
}

TEST(GwfBadInput, HugeNBytes) {
  auto v = f64_vect("X1:CH", 4);
  v.n_bytes_override = 0x7FFFFFFFFFFFFFFFull;
  expect_error(build_file({one_channel(v)}).bytes, "data (nBytes) needs 9223372036854775807 bytes");
}

TEST(GwfBadInput, RawNDataDisagreesWithNBytes) {
  auto v = f64_vect("X1:CH", 4);
  v.n_data = 5;
  v.nx = {5};
  expect_error(build_file({one_channel(v)}).bytes, "uncompressed nBytes 32 != nData x wordsize 40");
}

TEST(GwfBadInput, NDataDisagreesWithNx) {
  auto v = f64_vect("X1:CH", 4);
  v.nx = {3};
  expect_error(build_file({one_channel(v)}).bytes, "nData 4 != product of nx 3");
}

TEST(GwfBadInput, ZlibBombBeyondTheDeflateLimitIsRefusedBeforeAllocating) {
  auto v = f64_vect("X1:CH", 4);
  v.compress = 257;
  v.payload = gwft::encode_values(std::vector<double>{0, 0, 0, 0}, false);  // 32 bytes "compressed"
  v.n_data = std::uint64_t{1} << 20;  // 8 MiB claimed from 32 bytes (> 1032 x 32)
  v.nx = {v.n_data};
  expect_error(build_file({one_channel(v)}).bytes, "more than any zlib stream can expand");
  v.n_data = std::uint64_t{1} << 40;  // 8 TiB: the reader's per-vector limit answers first
  v.nx = {v.n_data};
  expect_error(build_file({one_channel(v)}).bytes, "exceeds the reader's limit");
}

TEST(GwfBadInput, DecodedSizeAboveTheReadersLimit) {
  // 64 MiB of zeros deflates to about 64 kB: within the format's 1032:1 bound, refused by a 1 MiB
  // max_vect_bytes before anything is inflated.
  auto v = f64_vect("X1:CH", 4);
  v.compress = 257;
  v.payload.assign(70000, std::byte{0});
  v.n_data = std::uint64_t{8} << 20;
  v.nx = {v.n_data};
  ReadOptions o;
  o.max_vect_bytes = 1 << 20;
  expect_error(build_file({one_channel(v)}).bytes, "exceeds the reader's limit of 1048576 bytes", o);
}

std::vector<std::byte> deflate(const std::vector<std::byte>& in) {
  uLongf n = compressBound(in.size());
  std::vector<std::byte> out(n);
  compress2(reinterpret_cast<Bytef*>(out.data()), &n, reinterpret_cast<const Bytef*>(in.data()), in.size(), 9);
  out.resize(n);
  return out;
}

TEST(GwfBadInput, ZlibStreamLongerOrShorterThanNData) {
  const std::vector<std::byte> zeros(8 * 100000);  // 100000 doubles of 0
  auto v = f64_vect("X1:CH", 4);
  v.compress = 257;
  v.payload = deflate(zeros);
  v.n_data = 1000;  // the stream holds 100x more
  v.nx = {1000};
  expect_error(build_file({one_channel(v)}).bytes, "zlib stream expands past nData");
  v.n_data = 100001;
  v.nx = {100001};
  expect_error(build_file({one_channel(v)}).bytes, "zlib stream holds 800000 bytes");
  v.n_data = 100000;
  v.nx = {100000};
  v.payload.resize(v.payload.size() - 6);  // lose the end of the stream and its Adler-32
  expect_error(build_file({one_channel(v)}).bytes, "zlib stream ends before its end marker");
  v.payload.assign(16, std::byte{0x55});
  expect_error(build_file({one_channel(v)}).bytes, "zlib");
}

TEST(GwfBadInput, ZeroSuppressedStreamRunsOut) {
  VectSpec v;
  v.name = "X1:CH";
  v.type = 1;
  v.compress = 5 | 0x100;
  // Block size 8, then a block of nBits = 16 (field 15) for 8 values but only one word follows.
  v.payload = {std::byte{8}, std::byte{0}, std::byte{0x0F}, std::byte{0}};
  v.n_data = 8;
  v.nx = {8};
  v.dx = {1};
  v.start_x = {0};
  v.unit_x = {"s"};
  expect_error(build_file({one_channel(v)}).bytes, "zero-suppressed stream ends inside a block");
  v.payload = {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}};  // block size 0
  expect_error(build_file({one_channel(v)}).bytes, "block size 0");
  v.payload = {std::byte{8}, std::byte{0}, std::byte{0}};  // not whole 16-bit words
  expect_error(build_file({one_channel(v)}).bytes, "not a whole number of 16-bit words");
  v.type = 2;  // ZS16 on doubles
  v.payload = {std::byte{8}, std::byte{0}, std::byte{0}, std::byte{0}};
  expect_error(build_file({one_channel(v)}).bytes, "zero suppression code 5 needs a 2-byte integer type");
}

TEST(GwfBadInput, UnknownTypeAndCompression) {
  auto v = f64_vect("X1:CH", 4);
  v.type = 13;
  expect_error(build_file({one_channel(v)}).bytes, "unknown data type 13");
  v = f64_vect("X1:CH", 4);
  v.compress = 7;
  expect_error(build_file({one_channel(v)}).bytes, "unsupported compression scheme 7");
  v.compress = 0x300;
  expect_error(build_file({one_channel(v)}).bytes, "unknown compression code 768");
}

TEST(GwfBadInput, CycleInTheFrVectChain) {
  FrameSpec f = one_channel(f64_vect("a", 2));
  f.chans[0].vects.push_back(f64_vect("b", 2));
  f.chans[0].cycle = true;
  expect_error(build_file({f}).bytes, "cycle");
}

BuildOptions patchable() {
  BuildOptions o;
  o.crc = false;  // patched bytes would otherwise fail a checksum first
  return o;
}

TEST(GwfBadInput, StructureLengthPastTheEndOrTooShort) {
  auto built = build_file({one_channel(f64_vect("X1:CH", 4))}, patchable());
  auto b = built.bytes;
  put_u64(b, built.vect_offsets[0], 1ull << 62);
  expect_error(b, "runs past the end of the file");
  b = built.bytes;
  put_u64(b, built.vect_offsets[0], 3);
  expect_error(b, "shorter than a structure header");
  b = built.bytes;
  put_u64(b, built.vect_offsets[0], 24);  // legal-looking but cuts the FrVect: the walk derails
  expect_error(b, "");
}

TEST(GwfBadInput, StringLengthPastTheEnd) {
  auto built = build_file({one_channel(f64_vect("X1:CH", 4))}, patchable());
  auto b = built.bytes;
  put_u16(b, built.vect_offsets[0] + 14, 0xFFFF);  // FrVect name length
  expect_error(b, "name needs 65535 bytes");
  b = built.bytes;
  // Replace the name's NUL terminator: the string is no longer terminated.
  b[built.vect_offsets[0] + 14 + 2 + 5] = std::byte{'!'};
  expect_error(b, "no terminating NUL");
}

TEST(GwfBadInput, DataPointerToAMissingStructure) {
  auto built = build_file({one_channel(f64_vect("X1:CH", 4))}, patchable());
  // FrAdcData is the structure right before the FrVect; its data PTR_STRUCT is 3 pointers + v8
  // chkSum before its end: instance field of `data` is at end - 4 - 18 + 2.
  std::size_t k = 0;
  while (built.struct_offsets[k + 1] != built.vect_offsets[0]) ++k;
  const std::uint64_t adc = built.struct_offsets[k];
  const std::uint64_t adc_end = built.vect_offsets[0];
  (void)adc;
  put_u32(built.bytes, adc_end - 4 - 18 + 2, 77);
  expect_error(built.bytes, "instance 77, which is not in this frame");
}

TEST(GwfBadInput, HeaderProblems) {
  const auto good = build_file({one_channel(f64_vect("X1:CH", 4))}).bytes;
  auto b = good;
  b[0] = std::byte{'X'};
  expect_error(b, "not a frame file");
  b = good;
  b[5] = std::byte{5};
  expect_error(b, "unsupported frame format version 5");
  b = good;
  b[12] = std::byte{0x99};
  expect_error(b, "byte-order mark");
  b = good;
  b[8] = std::byte{8};
  expect_error(b, "primitive size");
  expect_error({}, "shorter than the 40-byte header");
}

TEST(GwfBadInput, EndOfFileDisagreements) {
  auto built = build_file({one_channel(f64_vect("X1:CH", 4))}, patchable());
  auto b = built.bytes;
  const std::uint64_t eof = b.size() - 46;
  put_u32(b, eof + 14, 3);
  expect_error(b, "nFrames 3 but the file holds 1 frames");
  b = built.bytes;
  put_u64(b, eof + 18, 12345);
  expect_error(b, "nBytes 12345 != file size");
  b = built.bytes;
  put_u64(b, eof + 26, 99);
  expect_error(b, "does not lead to the FrTOC");
  b = built.bytes;
  put_u64(b, eof + 26, 1ull << 40);
  expect_error(b, "exceeds the file size");
  b = built.bytes;
  b.push_back(std::byte{0});
  expect_error(b, "");
}

TEST(GwfBadInput, TocPositionThatIsNotTheChannel) {
  auto built = build_file({one_channel(f64_vect("X1:CH", 4))}, patchable());  // no CRCs to break
  // The last 8 bytes of the TOC's positionADC row hold the channel's position: find it by value.
  std::size_t k = 0;
  while (built.struct_offsets[k + 1] != built.vect_offsets[0]) ++k;
  const std::uint64_t adc = built.struct_offsets[k];
  auto& b = built.bytes;
  bool patched = false;
  for (std::uint64_t p = built.toc_offset; p + 8 <= b.size() - 46; ++p) {
    std::uint64_t v;
    std::memcpy(&v, b.data() + p, 8);
    if (v == adc) {
      put_u64(b, p, built.vect_offsets[0]);  // points at the FrVect instead
      patched = true;
      break;
    }
  }
  ASSERT_TRUE(patched);
  try {
    const FrameFile f = FrameFile::from_bytes(b, "toc.gwf");
    (void)f.read_channel(0, "X1:CH");
    ADD_FAILURE() << "bad TOC position accepted";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.structure(), "FrTOC");
    EXPECT_NE(e.reason().find("holds FrVect, expected FrAdcData"), std::string::npos) << e.what();
  }
}

TEST(GwfBadInput, AbsurdTocCounts) {
  auto built = build_file({one_channel(f64_vect("X1:CH", 4))}, patchable());
  // v8 FrTOC body for one frame (digest §8): ULeapS 2, nFrame 4, dataQuality/GTimeS/GTimeN 3x4,
  // dt 8, runs 4, frame 4, positionH 8, nFirstADC/Ser/Table/Msg 4x8, then nSH, nDetector,
  // nStatType, nTotalStat (4 each), then nADC.
  const std::uint64_t body = built.toc_offset + 14;
  const std::uint64_t n_adc_at = body + 2 + 4 + 12 + 8 + 4 + 4 + 8 + 32 + 16;
  std::uint32_t n_adc;
  std::memcpy(&n_adc, built.bytes.data() + n_adc_at, 4);
  ASSERT_EQ(n_adc, 1u);  // the builder's one ADC: the offset arithmetic is right
  auto b = built.bytes;
  put_u32(b, n_adc_at, 0x7FFFFFFFu);
  expect_error(b, "name = 2147483647 elements cannot fit");
  b = built.bytes;
  put_u32(b, body + 2, 0xFFFFFFF0u);
  expect_error(b, "nFrame 4294967280 but the file holds 1 frames");
  b = built.bytes;
  put_u32(b, body + 2 + 4 + 12 + 8 + 4 + 4 + 8 + 32, 0x40000000u);  // nSH
  expect_error(b, "SHid = 1073741824 elements cannot fit");
}

TEST(GwfBadInput, VerifyFileListsProblemsAndOpenFailures) {
  const auto lines = FrameFile::verify_file("/nonexistent/dir/X-Y-1-1.gwf");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("/nonexistent/dir/X-Y-1-1.gwf"), std::string::npos);
  // A directory is not a frame file (and must not be read as one of absurd size).
  const std::string dir = std::filesystem::temp_directory_path().string();
  EXPECT_THROW((void)FrameFile::open(dir), std::runtime_error);
  const auto dlines = FrameFile::verify_file(dir);
  ASSERT_EQ(dlines.size(), 1u);
  EXPECT_NE(dlines[0].find(dir), std::string::npos);
  // A damaged file on disk: verify_file lists the checksum problems instead of failing.
  const std::string path = kDir + "/HLV-HW100916-968654552-1.gwf";
  if (!std::filesystem::exists(path)) return;
  auto b = slurp(path);
  b[1000] ^= std::byte{0x02};
  const auto tmp = std::filesystem::temp_directory_path() / "deepclean-reader-verify-file.gwf";
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  }
  const auto flines = FrameFile::verify_file(tmp.string());
  std::filesystem::remove(tmp);
  EXPECT_GE(flines.size(), 2u);  // the structure's CRC and the file CRC
  for (const auto& l : flines) EXPECT_EQ(l.rfind(tmp.string() + ": byte ", 0), 0u) << l;
}

}  // namespace
