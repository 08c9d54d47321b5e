// End-to-end tests of `deepclean frame dump|channels|copy|verify|export` (issue 2, item 5), running the built
// binary (DEEPCLEAN_BINARY) in temporary directories. Expected numbers come from
// ../shared/data/gwf/README.md (values read by an independent parser and FrameL's checker).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/test_support.hpp"
#include "io/gwf/reader.hpp"
#include "io/gwf/writer.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::string kShared = DEEPCLEAN_SHARED_DIR "/data/gwf";
const char* const kRealFiles[] = {"HLV-HW100916-968654552-1.gwf", "framel-8.02-exampleFull-test.gwf",
                                  "PyCBC_T2_0.gwf", "F-TEST-600000000-60.gwf"};

using Result = deepclean::testing::CliResult;
using deepclean::testing::TempDir;
std::string quote(const std::string& s) { return deepclean::testing::sh_quote(s); }
Result run_cli(const std::string& args, const fs::path& scratch) {
  return deepclean::testing::run_deepclean(args, scratch);
}

bool have_shared() { return fs::exists(kShared + "/README.md"); }
std::string real(const char* name) { return kShared + "/" + name; }

// README values are printed with 10 significant digits.
void expect_close(const json& got, double want, const std::string& what) {
  ASSERT_TRUE(got.is_number()) << what << " is " << got.dump();
  const double g = got.get<double>();
  EXPECT_LE(std::fabs(g - want), 6e-10 * std::fabs(want) + 1e-300) << what << ": " << g << " vs " << want;
}

const json& find_channel(const json& frame, const std::string& name, int nth = 0) {
  for (const auto& c : frame["channels"]) {
    if (c["name"] == name && nth-- == 0) return c;
  }
  static const json none;
  ADD_FAILURE() << "no channel " << name;
  return none;
}

std::vector<std::byte> slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> b(raw.size());
  if (!raw.empty()) std::memcpy(b.data(), raw.data(), raw.size());
  return b;
}

void spit(const fs::path& p, const std::vector<std::byte>& b) {
  std::ofstream o(p, std::ios::binary);
  o.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

}  // namespace

TEST(CliFrame, DumpJsonReproducesTheReadmeValues) {
  if (!have_shared()) GTEST_SKIP() << "shared frame files absent (" << kShared << ")";
  TempDir t;
  std::string args = "frame dump --json";
  for (const char* f : kRealFiles) args += " " + quote(real(f));
  const Result r = run_cli(args, t.path);
  ASSERT_EQ(r.rc, 0) << r.err;
  const json all = json::parse(r.out);
  ASSERT_EQ(all.size(), 4u);

  // HLV-HW100916-968654552-1.gwf
  const json& hlv = all[0];
  EXPECT_EQ(hlv["file"], real(kRealFiles[0]));
  EXPECT_EQ(hlv["version"], 8);
  ASSERT_EQ(hlv["frames"].size(), 1u);
  EXPECT_EQ(hlv["frames"][0]["gps_start"], 968654552.0);
  EXPECT_EQ(hlv["frames"][0]["duration"], 1.0);
  ASSERT_EQ(hlv["frames"][0]["channels"].size(), 3u);
  struct P {
    const char* name;
    double sum, min, max;
  };
  for (const P& p : {P{"H1:LDAS-STRAIN", 1.857884737e-14, -1.022743529e-16, 1.097534322e-16},
                     P{"L1:LDAS-STRAIN", 1.291895112e-14, -8.105502323e-17, 8.053132291e-17},
                     P{"V1:h_16384Hz", -3.593927656e-16, -2.672835626e-18, 2.421357004e-18}}) {
    const json& c = find_channel(hlv["frames"][0], p.name);
    EXPECT_EQ(c["kind"], "proc");
    EXPECT_EQ(c["sample_rate"], 16384.0);
    EXPECT_EQ(c["type"], "float64");
    EXPECT_EQ(c["compress"], 257);
    EXPECT_EQ(c["n"], 16384);
    EXPECT_EQ(c["nonfinite"], 0);
    expect_close(c["sum"], p.sum, std::string(p.name) + " sum");
    expect_close(c["min"], p.min, std::string(p.name) + " min");
    expect_close(c["max"], p.max, std::string(p.name) + " max");
  }
  expect_close(find_channel(hlv["frames"][0], "H1:LDAS-STRAIN")["first"], 1.263298459e-17, "H1 first");

  // framel-8.02-exampleFull-test.gwf: 10 frames of 1 s from 925484675; frame 0 channel values.
  const json& fl = all[1];
  EXPECT_EQ(fl["version"], 8);
  ASSERT_EQ(fl["frames"].size(), 10u);
  for (std::size_t k = 0; k < 10; ++k) {
    EXPECT_EQ(fl["frames"][k]["gps_start"], 925484675.0 + static_cast<double>(k));
    EXPECT_EQ(fl["frames"][k]["duration"], 1.0);
  }
  const json& f0 = fl["frames"][0];
  const json& d1 = find_channel(f0, "D1");
  EXPECT_EQ(d1["kind"], "adc");
  EXPECT_EQ(d1["type"], "float32");
  EXPECT_EQ(d1["compress"], 256);
  EXPECT_EQ(d1["sample_rate"], 200.0);
  expect_close(d1["sum"], 141.1588552, "D1 sum");
  expect_close(d1["max"], 0.999999702, "D1 max");
  const json& bad = find_channel(f0, "Bad_data_(data[0]=nan)");
  expect_close(bad["sum"], 1989.9, "Bad_data sum");
  EXPECT_EQ(bad["nonfinite"], 2);
  EXPECT_TRUE(bad["first"].is_null());  // +Inf is not a JSON number
  const std::pair<const char*, double> adc_sums[] = {
      {"Adc3", -35032}, {"Adc2", 264228}, {"Adc1", 440122}, {"Adc0", 393228}, {"fastAdc0", 195406}};
  for (const auto& [name, sum] : adc_sums) {
    const json& c = find_channel(f0, name);
    EXPECT_EQ(c["type"], "int16") << name;
    EXPECT_EQ(c["compress"], 261) << name;
    EXPECT_EQ(c["sum"], sum) << name;
  }
  const json& fast1 = find_channel(f0, "fastAdc1");
  EXPECT_EQ(fast1["sample_rate"], 2000.0);
  EXPECT_EQ(fast1["n"], 2000);
  EXPECT_EQ(fast1["sum"], 200161.0);
  EXPECT_EQ(fast1["min"], -196.0);
  EXPECT_EQ(fast1["max"], 399.0);
  const json& proc = find_channel(f0, "fastProc");
  EXPECT_EQ(proc["kind"], "proc");
  EXPECT_EQ(proc["type"], "float32");
  EXPECT_EQ(proc["n"], 2000);
  EXPECT_EQ(proc["sum"], 400322.0);
  const json& sim_a = find_channel(f0, "sim1", 0);
  const json& sim_b = find_channel(f0, "sim1", 1);
  EXPECT_EQ(sim_a["kind"], "sim");
  EXPECT_EQ(sim_a["sum"], 19900.0);
  EXPECT_EQ(sim_a["min"], 0.0);
  EXPECT_EQ(sim_a["max"], 199.0);
  EXPECT_EQ(sim_b["sum"], 0.0);

  // PyCBC_T2_0.gwf (frameCPP): GPS 0, 128 s at 4096 Hz.
  const json& py = all[2];
  ASSERT_EQ(py["frames"].size(), 1u);
  EXPECT_EQ(py["frames"][0]["gps_start"], 0.0);
  EXPECT_EQ(py["frames"][0]["duration"], 128.0);
  const json& st = find_channel(py["frames"][0], "H1:TEST-STRAIN");
  EXPECT_EQ(st["n"], 524288);
  EXPECT_EQ(st["sample_rate"], 4096.0);
  EXPECT_EQ(st["compress"], 257);
  expect_close(st["sum"], -5.280088078e-22, "PyCBC sum");
  expect_close(st["min"], -8.551195009e-19, "PyCBC min");
  expect_close(st["max"], 9.175317653e-19, "PyCBC max");

  // F-TEST-600000000-60.gwf: v6 big-endian, 6 x 10 s, INT_4S ramp across the file.
  const json& ft = all[3];
  EXPECT_EQ(ft["version"], 6);
  ASSERT_EQ(ft["frames"].size(), 6u);
  for (std::size_t k = 0; k < 6; ++k) {
    const json& fr = ft["frames"][k];
    EXPECT_EQ(fr["gps_start"], 600000000.0 + 10.0 * static_cast<double>(k));
    EXPECT_EQ(fr["duration"], 10.0);
    const json& c = find_channel(fr, "H1:LSC-AS_Q");
    EXPECT_EQ(c["kind"], "adc");
    EXPECT_EQ(c["type"], "int32");
    EXPECT_EQ(c["compress"], 0);
    EXPECT_EQ(c["n"], 163840);
    EXPECT_EQ(c["sample_rate"], 16384.0);
    const double first = 163840.0 * static_cast<double>(k);
    EXPECT_EQ(c["first"], first);
    EXPECT_EQ(c["min"], first);
    EXPECT_EQ(c["max"], first + 163839.0);
    EXPECT_EQ(c["sum"], 163840.0 * first + 163839.0 * 163840.0 / 2);  // arithmetic series
  }
  EXPECT_EQ(ft["frames"][0]["channels"][0]["sum"], 13421690880.0);
  EXPECT_EQ(ft["frames"][5]["channels"][0]["sum"], 147639418880.0);
}

TEST(CliFrame, DumpTextAndChannels) {
  if (!have_shared()) GTEST_SKIP() << "shared frame files absent (" << kShared << ")";
  TempDir t;
  const Result ch = run_cli("frame channels " + quote(real(kRealFiles[0])), t.path);
  ASSERT_EQ(ch.rc, 0) << ch.err;
  EXPECT_EQ(ch.out, "H1:LDAS-STRAIN 16384\nL1:LDAS-STRAIN 16384\nV1:h_16384Hz 16384\n");
  const Result fl = run_cli("frame channels " + quote(real(kRealFiles[1])), t.path);
  ASSERT_EQ(fl.rc, 0) << fl.err;
  EXPECT_NE(fl.out.find("fastAdc1 2000\n"), std::string::npos) << fl.out;
  EXPECT_NE(fl.out.find("sim1 200\n"), std::string::npos) << fl.out;
  const Result d = run_cli("frame dump " + quote(real(kRealFiles[0])), t.path);
  ASSERT_EQ(d.rc, 0) << d.err;
  EXPECT_NE(d.out.find("H1:LDAS-STRAIN proc 16384 Hz float64 compress 257 n 16384 sum 1.857884737e-14"),
            std::string::npos)
      << d.out;
}

TEST(CliFrame, CopyOfEveryRealFileVerifiesAndKeepsEveryValue) {
  if (!have_shared()) GTEST_SKIP() << "shared frame files absent (" << kShared << ")";
  TempDir t;
  for (const char* name : kRealFiles) {
    const auto src_file = deepclean::gwf::FrameFile::open(real(name));
    for (const char* mode : {"raw", "zlib", "diff-zlib"}) {
      const std::string ctx = std::string(name) + " --compress " + mode;
      const fs::path out = t.path / (std::string(mode) + "-" + name);
      const Result c = run_cli(std::string("frame copy --compress ") + mode + " " + quote(real(name)) +
                                     " " + quote(out.string()),
                                 t.path);
      ASSERT_EQ(c.rc, 0) << ctx << ": " << c.err;
      const Result v = run_cli("frame verify " + quote(out.string()), t.path);
      EXPECT_EQ(v.rc, 0) << ctx << ": " << v.err;
      EXPECT_TRUE(v.err.empty()) << ctx << ": " << v.err;
      // Every value equals the source's (decoded with the project's reader, bit for bit).
      const auto copy = deepclean::gwf::FrameFile::open(out.string());
      EXPECT_EQ(copy.version(), 8) << ctx;
      ASSERT_EQ(copy.frame_count(), src_file.frame_count()) << ctx;
      for (std::size_t k = 0; k < src_file.frame_count(); ++k) {
        const auto a = src_file.read_frame(k);
        const auto b = copy.read_frame(k);
        EXPECT_EQ(a.start, b.start) << ctx;
        EXPECT_EQ(a.dt, b.dt) << ctx;
        EXPECT_EQ(a.run, b.run) << ctx;
        EXPECT_EQ(a.frame_number, b.frame_number) << ctx;
        EXPECT_EQ(a.uleap_s, b.uleap_s) << ctx;
        EXPECT_EQ(a.name, b.name) << ctx;
        EXPECT_EQ(a.data_quality, b.data_quality) << ctx;
        ASSERT_EQ(a.detectors.size(), b.detectors.size()) << ctx;
        for (std::size_t d = 0; d < a.detectors.size(); ++d) {
          EXPECT_EQ(a.detectors[d].name, b.detectors[d].name) << ctx;
          EXPECT_EQ(a.detectors[d].prefix, b.detectors[d].prefix) << ctx;
          EXPECT_EQ(a.detectors[d].longitude, b.detectors[d].longitude) << ctx;
          EXPECT_EQ(a.detectors[d].local_time, b.detectors[d].local_time) << ctx;
        }
        ASSERT_EQ(a.history.size(), b.history.size()) << ctx;
        for (std::size_t h = 0; h < a.history.size(); ++h) {
          EXPECT_EQ(a.history[h].name, b.history[h].name) << ctx;
          EXPECT_EQ(a.history[h].time, b.history[h].time) << ctx;
          EXPECT_EQ(a.history[h].comment, b.history[h].comment) << ctx;
        }
        ASSERT_EQ(a.channels.size(), b.channels.size()) << ctx;
        for (std::size_t i = 0; i < a.channels.size(); ++i) {
          const auto& x = a.channels[i];
          const auto& y = b.channels[i];
          EXPECT_EQ(x.name, y.name) << ctx;
          EXPECT_EQ(x.kind, y.kind) << ctx << " " << x.name;
          EXPECT_EQ(x.sample_rate, y.sample_rate) << ctx << " " << x.name;
          EXPECT_EQ(x.time_offset, y.time_offset) << ctx << " " << x.name;
          EXPECT_EQ(x.adc.slope, y.adc.slope) << ctx << " " << x.name;
          EXPECT_EQ(x.adc.bias, y.adc.bias) << ctx << " " << x.name;
          EXPECT_EQ(x.adc.units, y.adc.units) << ctx << " " << x.name;
          EXPECT_EQ(x.data.type, y.data.type) << ctx << " " << x.name;
          EXPECT_EQ(x.data.nx, y.data.nx) << ctx << " " << x.name;
          EXPECT_EQ(x.data.dx, y.data.dx) << ctx << " " << x.name;
          EXPECT_EQ(x.data.unit_y, y.data.unit_y) << ctx << " " << x.name;
          EXPECT_TRUE(x.data.data == y.data.data) << ctx << " " << x.name << ": samples differ";
        }
      }
    }
  }
}

TEST(CliFrame, VerifyReportsEachProblemOfACorruptedCopyOnItsOwnLine) {
  if (!have_shared()) GTEST_SKIP() << "shared frame files absent (" << kShared << ")";
  TempDir t;
  const fs::path good = t.path / "good.gwf";
  ASSERT_EQ(run_cli("frame copy --compress raw " + quote(real(kRealFiles[0])) + " " + quote(good.string()),
                      t.path)
                .rc,
            0);
  const Result ok = run_cli("frame verify " + quote(good.string()), t.path);
  EXPECT_EQ(ok.rc, 0) << ok.err;
  // Flip one bit inside the samples of the first and of the last FrVect: two structure checksums
  // and the file checksum are now wrong.
  auto bytes = slurp(good);
  const std::size_t first_payload = bytes.size() / 4;  // inside the first raw 16384-sample FrVect
  const std::size_t last_payload = bytes.size() * 3 / 4;
  bytes[first_payload] ^= std::byte{0x10};
  bytes[last_payload] ^= std::byte{0x01};
  const fs::path bad = t.path / "bad.gwf";
  spit(bad, bytes);
  const Result v = run_cli("frame verify " + quote(bad.string()) + " " + quote(good.string()), t.path);
  EXPECT_NE(v.rc, 0);
  const auto lines = v.err_lines();
  EXPECT_GE(lines.size(), 3u) << v.err;  // 2 structure CRCs + the file CRC
  for (const auto& l : lines) EXPECT_NE(l.find(bad.string()), std::string::npos) << l;
  EXPECT_NE(v.out.find(good.string() + ": OK"), std::string::npos) << v.out;
}

TEST(CliFrame, UnreadableInputGivesOneLineNamingTheFile) {
  TempDir t;
  const fs::path missing = t.path / "missing.gwf";
  const fs::path text = t.path / "text.gwf";
  {
    std::ofstream o(text);
    o << "this is not a frame file\n";
  }
  for (const fs::path& p : {missing, text}) {
    for (const std::string cmd :
         {"frame dump", "frame dump --json", "frame channels", "frame verify", "frame copy"}) {
      std::string args = cmd + " " + quote(p.string());
      if (cmd == "frame copy") args += " " + quote((t.path / "out.gwf").string());
      const Result r = run_cli(args, t.path);
      EXPECT_NE(r.rc, 0) << args;
      const auto lines = r.err_lines();
      ASSERT_EQ(lines.size(), 1u) << args << ": " << r.err;
      EXPECT_NE(lines[0].find(p.string()), std::string::npos) << lines[0];
    }
  }
  EXPECT_FALSE(fs::exists(t.path / "out.gwf"));
}

TEST(CliFrame, TruncatedFileIsRejectedByEveryCommand) {
  if (!have_shared()) GTEST_SKIP() << "shared frame files absent (" << kShared << ")";
  TempDir t;
  auto bytes = slurp(real(kRealFiles[0]));
  bytes.resize(bytes.size() / 2);
  const fs::path cut = t.path / "cut.gwf";
  spit(cut, bytes);
  for (const std::string cmd : {"frame dump", "frame channels", "frame verify"}) {
    const Result r = run_cli(cmd + " " + quote(cut.string()), t.path);
    EXPECT_NE(r.rc, 0) << cmd;
    ASSERT_GE(r.err_lines().size(), 1u) << cmd;
    for (const auto& l : r.err_lines()) EXPECT_NE(l.find(cut.string()), std::string::npos) << l;
  }
}

TEST(CliFrame, CopyToAnUnwritablePlaceNamesTheOutput) {
  if (!have_shared()) GTEST_SKIP() << "shared frame files absent (" << kShared << ")";
  TempDir t;
  const fs::path out = t.path / "no_such_dir" / "x.gwf";
  const Result r = run_cli("frame copy " + quote(real(kRealFiles[0])) + " " + quote(out.string()), t.path);
  EXPECT_NE(r.rc, 0);
  ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
  EXPECT_NE(r.err.find(out.string()), std::string::npos) << r.err;
  const Result bad_mode = run_cli("frame copy --compress lzma " + quote(real(kRealFiles[0])) + " " +
                                        quote((t.path / "y.gwf").string()),
                                    t.path);
  EXPECT_NE(bad_mode.rc, 0);
  EXPECT_FALSE(fs::exists(t.path / "y.gwf"));
}

namespace {

// One 1-s frame at `gps`: a float64 proc channel at 64 Hz (sample i: (gps - 1400000000) + i / 1000) and a
// float32 ADC channel at 16 Hz (sample i: -i / 2); `with_adc` false leaves the ADC channel out.
deepclean::gwf::Frame export_frame(std::uint32_t gps, bool with_adc = true) {
  namespace gwf = deepclean::gwf;
  gwf::Frame f;
  f.name = "LIGO";
  f.start = {gps, 0};
  f.dt = 1.0;
  std::vector<double> x(64);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = (gps - 1400000000) + 1e-3 * static_cast<double>(i);
  gwf::Channel p;
  p.name = "H1:TEST-PROC";
  p.kind = gwf::ChannelKind::Proc;
  p.sample_rate = 64;
  p.data = gwf::Vect::make(p.name, x, 64.0);
  f.channels.push_back(p);
  if (with_adc) {
    std::vector<float> y(16);
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = -0.5f * static_cast<float>(i);
    gwf::Channel a;
    a.name = "H1:TEST-ADC";
    a.kind = gwf::ChannelKind::Adc;
    a.sample_rate = 16;
    a.data = gwf::Vect::make(a.name, y, 16.0);
    f.channels.push_back(a);
  }
  return f;
}

std::vector<double> doubles_of(const std::string& bytes) {
  std::vector<double> v(bytes.size() / sizeof(double));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(double));
  return v;
}

}  // namespace

TEST(CliFrame, ExportWritesTheSamplesOfContiguousFramesAsFloat64) {
  TempDir t;
  std::vector<std::string> files;
  for (std::uint32_t g : {1400000000u, 1400000001u, 1400000002u}) {
    files.push_back((t.path / ("H-H1_TEST-" + std::to_string(g) + "-1.gwf")).string());
    deepclean::gwf::write_frame_file(files.back(), {export_frame(g)});
  }
  const std::string all = quote(files[0]) + " " + quote(files[1]) + " " + quote(files[2]);

  const Result proc = run_cli("frame export --channel H1:TEST-PROC " + all, t.path);
  ASSERT_EQ(proc.rc, 0) << proc.err;
  ASSERT_EQ(proc.out.size(), 3u * 64u * sizeof(double));
  const auto v = doubles_of(proc.out);
  for (std::size_t k = 0; k < 3; ++k) {
    for (std::size_t i = 0; i < 64; ++i) {
      EXPECT_EQ(v[k * 64 + i], static_cast<double>(k) + 1e-3 * static_cast<double>(i)) << k << " " << i;
    }
  }
  EXPECT_NE(proc.err.find("192 samples at 64 Hz from GPS 1400000000 to 1400000003 (3 frames)"), std::string::npos)
      << proc.err;

  // float32 ADC values come out as float64, to a file.
  const fs::path out = t.path / "adc.f64";
  const Result adc = run_cli("frame export --channel H1:TEST-ADC --out " + quote(out.string()) + " " + all, t.path);
  ASSERT_EQ(adc.rc, 0) << adc.err;
  EXPECT_TRUE(adc.out.empty());
  std::ifstream in(out, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto a = doubles_of(bytes);
  ASSERT_EQ(a.size(), 48u);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], -0.5 * static_cast<double>(i % 16)) << i;
}

TEST(CliFrame, ExportRefusesGapsAndMissingChannelsNamingTheFile) {
  TempDir t;
  const fs::path a = t.path / "H-H1_TEST-1400000000-1.gwf";
  const fs::path gap = t.path / "H-H1_TEST-1400000002-1.gwf";
  const fs::path no_adc = t.path / "H-H1_TEST-1400000001-1.gwf";
  deepclean::gwf::write_frame_file(a.string(), {export_frame(1400000000)});
  deepclean::gwf::write_frame_file(gap.string(), {export_frame(1400000002)});
  deepclean::gwf::write_frame_file(no_adc.string(), {export_frame(1400000001, false)});
  const fs::path out = t.path / "x.f64";

  const Result r1 =
      run_cli("frame export --channel H1:TEST-PROC --out " + quote(out.string()) + " " + quote(a.string()) + " " +
                  quote(gap.string()),
              t.path);
  EXPECT_NE(r1.rc, 0);
  ASSERT_EQ(r1.err_lines().size(), 1u) << r1.err;
  EXPECT_NE(r1.err.find(gap.string()), std::string::npos) << r1.err;
  EXPECT_NE(r1.err.find("not at 1400000001"), std::string::npos) << r1.err;

  const Result r2 = run_cli("frame export --channel H1:TEST-ADC --out " + quote(out.string()) + " " +
                                quote(a.string()) + " " + quote(no_adc.string()),
                            t.path);
  EXPECT_NE(r2.rc, 0);
  ASSERT_EQ(r2.err_lines().size(), 1u) << r2.err;
  EXPECT_NE(r2.err.find(no_adc.string()), std::string::npos) << r2.err;
  EXPECT_NE(r2.err.find("no channel H1:TEST-ADC"), std::string::npos) << r2.err;
  EXPECT_FALSE(fs::exists(out));  // nothing partial left behind

  const Result r3 = run_cli("frame export " + quote(a.string()), t.path);  // --channel is required
  EXPECT_NE(r3.rc, 0);
}
