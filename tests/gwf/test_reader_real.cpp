// The four real frame files of ../shared/data/gwf reproduce every value of its README.md.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "io/gwf/reader.hpp"

namespace {

using namespace deepclean::gwf;

const std::string kDir = DEEPCLEAN_SHARED_DIR "/data/gwf";

std::string real_file(const std::string& name) { return kDir + "/" + name; }

#define REQUIRE_REAL(name)                                                                 \
  do {                                                                                     \
    if (!std::filesystem::exists(real_file(name))) {                                       \
      GTEST_SKIP() << "real frame " << real_file(name) << " absent";                       \
    }                                                                                      \
  } while (0)

struct Stats {
  std::size_t n = 0;
  double sum = 0, min = std::numeric_limits<double>::infinity(), max = -std::numeric_limits<double>::infinity(),
         first = std::numeric_limits<double>::quiet_NaN();
  std::size_t nonfinite = 0;
};

Stats stats(const Vect& v) {
  Stats s;
  const auto d = v.to_double();
  s.n = d.size();
  if (!d.empty()) s.first = d[0];
  for (const double x : d) {
    if (!std::isfinite(x)) {
      ++s.nonfinite;
      continue;
    }
    s.sum += x;
    s.min = std::min(s.min, x);
    s.max = std::max(s.max, x);
  }
  return s;
}

// README values carry 10 significant digits.
void expect_rel(double got, double want, const char* what) {
  EXPECT_NEAR(got, want, std::abs(want) * 1e-9) << what;
}

std::vector<std::byte> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> b(c.size());
  std::memcpy(b.data(), c.data(), c.size());
  return b;
}

TEST(GwfReaderReal, HlvHardwareInjectionV8FrameL820) {
  const std::string n = "HLV-HW100916-968654552-1.gwf";
  REQUIRE_REAL(n);
  const FrameFile f = FrameFile::open(real_file(n));
  const FileInfo& in = f.info();
  EXPECT_EQ(in.file_size, 377295u);
  EXPECT_EQ(f.version(), 8);
  EXPECT_EQ(in.minor_version, 20);
  EXPECT_FALSE(f.big_endian());
  EXPECT_EQ(f.library(), 1);
  EXPECT_EQ(in.checksum_scheme, 1);
  ASSERT_EQ(f.frame_count(), 1u);
  const std::map<std::string, std::size_t> counts = {
      {"FrSH", 8},         {"FrSE", 149},       {"FrameH", 1}, {"FrDetector", 1}, {"FrHistory", 1},
      {"FrProcData", 3},   {"FrVect", 3},       {"FrEndOfFrame", 1}, {"FrTOC", 1}, {"FrEndOfFile", 1}};
  EXPECT_EQ(in.structure_counts, counts);
  const std::map<std::string, int> classes = {{"FrameH", 3},       {"FrDetector", 4}, {"FrVect", 5},
                                              {"FrProcData", 6},   {"FrEndOfFrame", 9}, {"FrHistory", 12},
                                              {"FrTOC", 20},       {"FrEndOfFile", 21}};
  EXPECT_EQ(in.class_numbers, classes);
  EXPECT_EQ(in.file_checksum, 0x82ff4699u);
  EXPECT_EQ(in.header_checksum, 0x715f3bd1u);
  EXPECT_EQ(in.seek_toc, 670u);

  const Frame fr = f.read_frame(0);
  EXPECT_EQ(fr.name, "V1:h_16384Hz");
  EXPECT_EQ(fr.start.sec, 968654552u);
  EXPECT_EQ(fr.start.nsec, 0u);
  EXPECT_EQ(fr.dt, 1.0);
  EXPECT_EQ(fr.uleap_s, 35);
  ASSERT_EQ(fr.detectors.size(), 1u);
  ASSERT_EQ(fr.history.size(), 1u);
  // The linked list FrameH.procData -> #0 -> #1 -> #2 is stored in this order.
  ASSERT_EQ(fr.channels.size(), 3u);
  const char* names[3] = {"H1:LDAS-STRAIN", "L1:LDAS-STRAIN", "V1:h_16384Hz"};
  const double sums[3] = {1.857884737e-14, 1.291895112e-14, -3.593927656e-16};
  const double mins[3] = {-1.022743529e-16, -8.105502323e-17, -2.672835626e-18};
  const double maxs[3] = {1.097534322e-16, 8.053132291e-17, 2.421357004e-18};
  for (int k = 0; k < 3; ++k) {
    const Channel& c = fr.channels[static_cast<std::size_t>(k)];
    SCOPED_TRACE(names[k]);
    EXPECT_EQ(c.name, names[k]);
    EXPECT_EQ(c.kind, ChannelKind::Proc);
    EXPECT_EQ(c.sample_rate, 16384.0);
    EXPECT_EQ(c.data.type, DataType::Float64);
    EXPECT_EQ(c.data.compress, 257);
    EXPECT_EQ(c.proc.type, 1);
    EXPECT_EQ(c.proc.t_range, 1.0);
    EXPECT_EQ(c.data.unit_y, "strain");
    ASSERT_EQ(c.data.unit_x.size(), 1u);
    EXPECT_EQ(c.data.unit_x[0], "second");
    const Stats s = stats(c.data);
    EXPECT_EQ(s.n, 16384u);
    EXPECT_EQ(s.nonfinite, 0u);
    expect_rel(s.sum, sums[k], "sum");
    expect_rel(s.min, mins[k], "min");
    expect_rel(s.max, maxs[k], "max");
    EXPECT_DOUBLE_EQ(channel_t0(fr, c), 968654552.0);
    // Through the TOC, the same samples.
    const Channel t = f.read_channel(0, names[k]);
    EXPECT_EQ(t.data.data, c.data.data);
  }
  expect_rel(stats(fr.channels[0].data).first, 1.263298459e-17, "first");
  EXPECT_TRUE(f.verify().empty());
  // zlib stream header 0x78 0x01 (level 1) at the start of each FrVect payload: offset + 14-byte
  // header + STRING name + compress, type (2 + 2) + nData, nBytes (8 + 8).
  const auto bytes = slurp(real_file(n));
  int vects = 0;
  for (const auto& s : f.structures()) {
    if (s.type != "FrVect") continue;
    ++vects;
    EXPECT_EQ(s.class_number, 5);
    EXPECT_EQ(s.frame, 0);
    std::uint16_t name_len;
    std::memcpy(&name_len, bytes.data() + s.offset + 14, 2);
    const std::size_t data_at = s.offset + 14 + 2 + name_len + 4 + 16;
    EXPECT_EQ(std::to_integer<int>(bytes[data_at]), 0x78);
    EXPECT_EQ(std::to_integer<int>(bytes[data_at + 1]), 0x01);
  }
  EXPECT_EQ(vects, 3);
  EXPECT_EQ(f.structures().back().type, "FrEndOfFile");
  EXPECT_EQ(f.structures().back().offset + f.structures().back().length, 377295u);
}

TEST(GwfReaderReal, FrameLExampleFullEveryStructure) {
  const std::string n = "framel-8.02-exampleFull-test.gwf";
  REQUIRE_REAL(n);
  const FrameFile f = FrameFile::open(real_file(n));
  const FileInfo& in = f.info();
  EXPECT_EQ(in.file_size, 229945u);
  EXPECT_EQ(f.version(), 8);
  EXPECT_EQ(in.minor_version, 2);
  EXPECT_FALSE(f.big_endian());
  EXPECT_EQ(f.library(), 1);
  EXPECT_EQ(in.checksum_scheme, 1);
  ASSERT_EQ(f.frame_count(), 10u);
  const std::map<std::string, std::size_t> counts = {
      {"FrSH", 18},        {"FrSE", 260},      {"FrameH", 10},      {"FrDetector", 10}, {"FrStatData", 2},
      {"FrVect", 132},     {"FrHistory", 20},  {"FrRawData", 10},   {"FrAdcData", 80},  {"FrSerData", 10},
      {"FrTable", 10},     {"FrMsg", 10},      {"FrProcData", 10},  {"FrSimData", 20},  {"FrEvent", 30},
      {"FrSimEvent", 20},  {"FrSummary", 20},  {"FrEndOfFrame", 10}, {"FrTOC", 1},      {"FrEndOfFile", 1}};
  EXPECT_EQ(in.structure_counts, counts);
  const std::map<std::string, int> classes = {
      {"FrameH", 4},     {"FrAdcData", 5},  {"FrDetector", 6},  {"FrEndOfFrame", 7}, {"FrEvent", 8},
      {"FrMsg", 9},      {"FrHistory", 10}, {"FrRawData", 11},  {"FrProcData", 12},  {"FrSimData", 13},
      {"FrSimEvent", 14}, {"FrSerData", 15}, {"FrStatData", 16}, {"FrSummary", 17},  {"FrTable", 18},
      {"FrTOC", 19},     {"FrVect", 20},    {"FrEndOfFile", 21}};
  EXPECT_EQ(in.class_numbers, classes);
  EXPECT_EQ(in.file_checksum, 0x3a2e97b0u);
  EXPECT_EQ(in.toc_offset, 226229u);
  EXPECT_EQ(in.seek_toc, 3716u);
  ASSERT_EQ(in.toc_frame_positions.size(), 10u);
  EXPECT_EQ(in.toc_frame_positions[0], 40u);  // the FrSH before the first FrameH
  {
    const auto st = f.structures();
    ASSERT_FALSE(st.empty());
    EXPECT_EQ(st[0].offset, 40u);
    EXPECT_EQ(st[0].type, "FrSH");
    std::size_t toc_seen = 0;
    for (const auto& s : st) {
      if (s.type == "FrTOC") {
        ++toc_seen;
        EXPECT_EQ(s.offset, 226229u);
        EXPECT_EQ(s.frame, -1);
      }
    }
    EXPECT_EQ(toc_seen, 1u);
    // FrTable table_1's columns: FrVect `value` (4R, 5) whose next is FrVect `channel`, a STRING
    // vector of five empty strings in nBytes 15. FrStatData `filter`: 10 REAL_8 FIR coefficients.
    bool value = false, channel = false, filter = false;
    for (const auto& s : st) {
      if (s.type != "FrVect" || s.frame != 0) continue;
      const Vect v = f.read_vect_at(s.offset);
      if (v.name == "value") {
        value = true;
        EXPECT_EQ(v.type, DataType::Float32);
        EXPECT_EQ(v.size(), 5u);
      }
      if (v.name == "channel") {
        channel = true;
        EXPECT_EQ(v.type, DataType::String);
        EXPECT_EQ(v.strings, std::vector<std::string>(5));
        EXPECT_EQ(s.length, 14u + (2 + 8) + 2 + 2 + 8 + 8 + 15 + 4 + 8 + 8 + 8 + v.unit_x.at(0).size() + 3 +
                                v.unit_y.size() + 3 + 6 + 4);
      }
      if (v.type == DataType::Float64 && v.size() == 10) filter = true;
    }
    EXPECT_TRUE(value);
    EXPECT_TRUE(channel);
    EXPECT_TRUE(filter);
    EXPECT_THROW((void)f.read_vect_at(41), std::invalid_argument);
  }

  for (std::size_t i = 0; i < 10; ++i) {
    const Frame h = f.read_header(i);
    EXPECT_EQ(h.start.sec, 925484675u + i);
    EXPECT_EQ(h.dt, 1.0);
    EXPECT_EQ(h.uleap_s, 34);
  }
  const Frame fr = f.read_frame(0);
  ASSERT_EQ(fr.detectors.size(), 1u);
  EXPECT_EQ(fr.detectors[0].name, "demo");
  EXPECT_EQ(fr.detectors[0].local_time, 3600);
  bool fast_proc_history = false;
  for (const auto& h : fr.history) fast_proc_history = fast_proc_history || h.name == "fastProc";
  EXPECT_TRUE(fast_proc_history);

  struct Adc {
    const char* name;
    double rate;
    DataType type;
    int compress;
    double sum;
  };
  const Adc adcs[8] = {{"D1", 200, DataType::Float32, 256, 141.1588552},
                       {"Bad_data_(data[0]=nan)", 200, DataType::Float32, 256, 1989.9},
                       {"Adc3", 200, DataType::Int16, 261, -35032},
                       {"Adc2", 200, DataType::Int16, 261, 264228},
                       {"Adc1", 200, DataType::Int16, 261, 440122},
                       {"Adc0", 200, DataType::Int16, 261, 393228},
                       {"fastAdc1", 2000, DataType::Int16, 261, 200161},
                       {"fastAdc0", 2000, DataType::Int16, 261, 195406}};
  ASSERT_EQ(fr.channels.size(), 11u);  // 8 adc, 1 proc, 2 sim
  for (std::size_t k = 0; k < 8; ++k) {
    const Channel& c = fr.channels[k];
    SCOPED_TRACE(adcs[k].name);
    EXPECT_EQ(c.name, adcs[k].name);
    EXPECT_EQ(c.kind, ChannelKind::Adc);
    EXPECT_EQ(c.sample_rate, adcs[k].rate);
    EXPECT_EQ(c.data.type, adcs[k].type);
    EXPECT_EQ(c.data.compress, adcs[k].compress);
    const Stats s = stats(c.data);
    EXPECT_EQ(s.n, static_cast<std::size_t>(adcs[k].rate));
    expect_rel(s.sum, adcs[k].sum, "sum");
    const Channel t = f.read_channel(0, adcs[k].name);
    EXPECT_EQ(t.data.data, c.data.data);
  }
  EXPECT_NEAR(stats(fr.channels[0].data).max, 0.999999702, 1e-9);
  {
    const Stats s = stats(fr.channels[1].data);
    EXPECT_EQ(s.nonfinite, 2u);
    EXPECT_TRUE(std::isinf(s.first) && s.first > 0);
    EXPECT_TRUE(std::isnan(fr.channels[1].data.real_at(1)));
  }
  {
    const Channel& c = fr.channels[6];
    const Stats s = stats(c.data);
    EXPECT_EQ(s.min, -196);
    EXPECT_EQ(s.max, 399);
    EXPECT_EQ(c.adc.slope, 3.0517578125e-4f);
    EXPECT_EQ(c.adc.units, "Volts");
  }
  {
    const Channel& c = fr.channels[8];
    EXPECT_EQ(c.name, "fastProc");
    EXPECT_EQ(c.kind, ChannelKind::Proc);
    EXPECT_EQ(c.data.type, DataType::Float32);
    EXPECT_EQ(c.data.compress, 256);
    const Stats s = stats(c.data);
    EXPECT_EQ(s.n, 2000u);
    EXPECT_EQ(s.sum, 400322);
    // fastProc = 2 x fastAdc1, sample by sample.
    for (std::uint64_t i = 0; i < 2000; ++i) ASSERT_EQ(c.data.real_at(i), 2 * fr.channels[6].data.real_at(i));
  }
  for (std::size_t k = 9; k < 11; ++k) {
    const Channel& c = fr.channels[k];
    EXPECT_EQ(c.name, "sim1");
    EXPECT_EQ(c.kind, ChannelKind::Sim);
    EXPECT_EQ(c.data.type, DataType::Int32);
    EXPECT_EQ(c.data.compress, 256);
    ASSERT_EQ(c.data.size(), 200u);
    for (std::uint64_t i = 0; i < 200; ++i) {
      ASSERT_EQ(c.data.real_at(i), k == 9 ? static_cast<double>(i) : 0.0);
    }
  }
  EXPECT_TRUE(f.verify().empty());
}

TEST(GwfReaderReal, PyCbcWrittenByFrameCpp) {
  const std::string n = "PyCBC_T2_0.gwf";
  REQUIRE_REAL(n);
  const FrameFile f = FrameFile::open(real_file(n));
  const FileInfo& in = f.info();
  EXPECT_EQ(in.file_size, 4065168u);
  EXPECT_EQ(f.version(), 8);
  EXPECT_EQ(in.minor_version, 1);
  EXPECT_FALSE(f.big_endian());
  EXPECT_EQ(f.library(), 2);
  EXPECT_EQ(in.checksum_scheme, 1);
  const std::map<std::string, int> classes = {{"FrameH", 3},     {"FrEndOfFile", 6}, {"FrEndOfFrame", 7},
                                              {"FrProcData", 11}, {"FrTOC", 19},      {"FrVect", 20}};
  EXPECT_EQ(in.class_numbers, classes);
  EXPECT_EQ(in.file_checksum, 0xccda9526u);
  ASSERT_EQ(in.toc_frame_positions.size(), 1u);
  EXPECT_EQ(in.toc_frame_positions[0], 2414u);  // the FrameH itself
  ASSERT_EQ(f.frame_count(), 1u);
  const Frame fr = f.read_frame(0);
  EXPECT_EQ(fr.name, "gwpy");
  EXPECT_EQ(fr.start.sec, 0u);
  EXPECT_EQ(fr.dt, 128.0);
  EXPECT_EQ(fr.uleap_s, 19);
  EXPECT_EQ(fr.data_quality, 11u);
  ASSERT_EQ(fr.channels.size(), 1u);
  const Channel& c = fr.channels[0];
  EXPECT_EQ(c.name, "H1:TEST-STRAIN");
  EXPECT_EQ(c.comment, "None");
  EXPECT_EQ(c.proc.type, 1);
  EXPECT_EQ(c.proc.t_range, 128.0);
  EXPECT_EQ(c.data.name, "");
  EXPECT_EQ(c.data.type, DataType::Float64);
  EXPECT_EQ(c.data.compress, 257);
  EXPECT_EQ(c.sample_rate, 4096.0);
  EXPECT_EQ(c.data.unit_x.at(0), "s");
  EXPECT_EQ(c.data.unit_y, "");
  const Stats s = stats(c.data);
  EXPECT_EQ(s.n, 524288u);
  expect_rel(s.sum, -5.280088078e-22, "sum");
  expect_rel(s.min, -8.551195009e-19, "min");
  expect_rel(s.max, 9.175317653e-19, "max");
  // nSim/nSer/nSummary are 0xFFFFFFFF ("not indexed", no arrays follow): the TOC still parses and
  // the proc channel is found through it; an absent sim name is looked for by scanning.
  const auto list = f.channels(0);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].name, "H1:TEST-STRAIN");
  EXPECT_EQ(list[0].sample_rate, 4096.0);
  {
    // zlib header 0x78 0x9c (level 6) on the unnamed FrVect (STRING of length 1: just the NUL).
    const auto bytes = slurp(real_file(n));
    for (const auto& st : f.structures()) {
      if (st.type != "FrVect") continue;
      const std::size_t data_at = st.offset + 14 + 3 + 4 + 16;
      EXPECT_EQ(std::to_integer<int>(bytes[data_at]), 0x78);
      EXPECT_EQ(std::to_integer<int>(bytes[data_at + 1]), 0x9c);
    }
    // The TOC's positionH is the FrameH structure itself.
    for (const auto& st : f.structures()) {
      if (st.type == "FrameH") {
        EXPECT_EQ(st.offset, 2414u);
      }
    }
  }
  EXPECT_EQ(f.read_channel(0, "H1:TEST-STRAIN").data.data, c.data.data);
  EXPECT_THROW(f.read_channel(0, "H1:NOPE"), ChannelNotFound);
  EXPECT_TRUE(f.verify().empty());
}

TEST(GwfReaderReal, FTestVersion6BigEndianRamp) {
  const std::string n = "F-TEST-600000000-60.gwf";
  REQUIRE_REAL(n);
  const FrameFile f = FrameFile::open(real_file(n));
  const FileInfo& in = f.info();
  EXPECT_EQ(in.file_size, 3941675u);
  EXPECT_EQ(f.version(), 6);
  EXPECT_EQ(in.minor_version, 20);
  EXPECT_TRUE(f.big_endian());
  EXPECT_EQ(in.file_checksum, 0x486d9ea7u);
  ASSERT_EQ(f.frame_count(), 6u);
  for (std::size_t k = 0; k < 6; ++k) {
    SCOPED_TRACE(k);
    const Frame fr = f.read_frame(k);
    EXPECT_EQ(fr.start.sec, 600000000u + 10 * k);
    EXPECT_EQ(fr.dt, 10.0);
    ASSERT_EQ(fr.channels.size(), 1u);
    const Channel& c = fr.channels[0];
    EXPECT_EQ(c.name, "H1:LSC-AS_Q");
    EXPECT_EQ(c.kind, ChannelKind::Adc);
    EXPECT_EQ(c.sample_rate, 16384.0);
    EXPECT_EQ(c.data.type, DataType::Int32);
    EXPECT_EQ(c.data.compress, 0);
    EXPECT_EQ(c.adc.slope, 0.0f);
    EXPECT_EQ(c.adc.bias, 0.0f);
    EXPECT_EQ(c.adc.units, "count");
    ASSERT_EQ(c.data.size(), 163840u);
    const std::int32_t* v = c.data.as<std::int32_t>();
    std::int64_t sum = 0;
    for (std::size_t i = 0; i < 163840; ++i) {
      ASSERT_EQ(v[i], static_cast<std::int32_t>(163840 * k + i));
      sum += v[i];
    }
    if (k == 0) {
      EXPECT_EQ(sum, 13421690880);
    }
    if (k == 5) {
      EXPECT_EQ(sum, 147639418880);
    }
    EXPECT_EQ(f.read_channel(k, "H1:LSC-AS_Q").data.data, c.data.data);
    EXPECT_DOUBLE_EQ(channel_t0(fr, c), 600000000.0 + 10.0 * static_cast<double>(k));
  }
  EXPECT_TRUE(f.verify().empty());
}

// The checksums the reader reports equal POSIX cksum of the bytes, as the README states them.
TEST(GwfReaderReal, ChecksumsMatchCksumOfTheBytes) {
  REQUIRE_REAL("HLV-HW100916-968654552-1.gwf");
  const auto b = slurp(real_file("HLV-HW100916-968654552-1.gwf"));
  EXPECT_EQ(posix_cksum(b.data(), b.size() - 4), 0x82ff4699u);  // head -c -4 | cksum
  EXPECT_EQ(posix_cksum(b.data(), 40), 0x715f3bd1u);            // head -c 40 | cksum
  REQUIRE_REAL("F-TEST-600000000-60.gwf");
  auto v6 = slurp(real_file("F-TEST-600000000-60.gwf"));
  // v6: whole file with the FrEndOfFile chkSum (bytes 26..29 of the 42-byte FrEndOfFile) zeroed.
  const std::size_t at = v6.size() - 42 + 14 + 4 + 8 + 4;
  for (std::size_t k = 0; k < 4; ++k) v6[at + k] = std::byte{0};
  EXPECT_EQ(posix_cksum(v6.data(), v6.size()), 0x486d9ea7u);
}

}  // namespace
