// End-to-end tests of `deepclean simulate` (issue 6, item 1) through the built binary (DEEPCLEAN_BINARY).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/test_support.hpp"
#include "io/gwf/reader.hpp"

namespace fs = std::filesystem;

namespace {

using deepclean::testing::CliResult;
using deepclean::testing::sh_quote;
using SimTempDir = deepclean::testing::TempDir;

CliResult simulate(const std::string& args, const fs::path& scratch) {
  return deepclean::testing::run_deepclean("simulate " + args, scratch);
}

std::vector<char> file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir)) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST(CliSimulate, WritesTheSiteLayoutDeterministically) {
  SimTempDir tmp;
  const std::string common = " --start 1400000000 --duration 3 --seed 4 --unrelated 50";
  const auto a = simulate("--out " + sh_quote((tmp.path / "a").string()) + common, tmp.path);
  ASSERT_EQ(a.rc, 0) << a.err;
  EXPECT_NE(a.err.find("3 s (GPS 1400000000..1400000003), 6 files"), std::string::npos) << a.err;
  EXPECT_EQ(listing(tmp.path / "a" / "kafka" / "H1"),
            (std::vector<std::string>{"H-H1_llhoft-1400000000-1.gwf", "H-H1_llhoft-1400000001-1.gwf",
                                      "H-H1_llhoft-1400000002-1.gwf"}));
  EXPECT_EQ(listing(tmp.path / "a" / "lldetchar" / "H1"),
            (std::vector<std::string>{"H-H1_lldetchar-1400000000-1.gwf", "H-H1_lldetchar-1400000001-1.gwf",
                                      "H-H1_lldetchar-1400000002-1.gwf"}));
  // One publication line per file.
  EXPECT_EQ(std::count(a.out.begin(), a.out.end(), '\n'), 6);
  // A second run starting one second later writes the same bytes for the seconds both cover.
  const auto b = simulate("--out " + sh_quote((tmp.path / "b").string()) +
                              " --start 1400000001 --duration 2 --seed 4 --unrelated 50 --quiet",
                          tmp.path);
  ASSERT_EQ(b.rc, 0) << b.err;
  EXPECT_TRUE(b.out.empty());
  for (const char* f : {"kafka/H1/H-H1_llhoft-1400000001-1.gwf", "kafka/H1/H-H1_llhoft-1400000002-1.gwf",
                        "lldetchar/H1/H-H1_lldetchar-1400000002-1.gwf"}) {
    EXPECT_EQ(file_bytes(tmp.path / "a" / f), file_bytes(tmp.path / "b" / f)) << f;
  }
  // The files read back with the strict reader, channels as documented.
  const auto strain = deepclean::gwf::FrameFile::open((tmp.path / "a/kafka/H1/H-H1_llhoft-1400000001-1.gwf").string());
  const auto fr = strain.read_frame(0);
  EXPECT_EQ(fr.start.sec, 1400000001u);
  ASSERT_NE(fr.find("H1:GDS-CALIB_STRAIN"), nullptr);
  EXPECT_EQ(fr.find("H1:GDS-CALIB_STRAIN")->data.size(), 16384u);
  ASSERT_NE(fr.find("H1:GDS-CALIB_STATE_VECTOR"), nullptr);
  const auto wit = deepclean::gwf::FrameFile::open((tmp.path / "a/lldetchar/H1/H-H1_lldetchar-1400000001-1.gwf").string());
  EXPECT_EQ(wit.channels(0).size(), 71u);
}

TEST(CliSimulate, OtherIfoAndFaults) {
  SimTempDir tmp;
  const auto r = simulate("--out " + sh_quote(tmp.path.string()) +
                              " --ifo L1 --start 1300000000 --duration 4 --faults missing@1/witness,late@0:2/strain",
                          tmp.path);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(listing(tmp.path / "lldetchar" / "L1"),
            (std::vector<std::string>{"L-L1_lldetchar-1300000000-1.gwf", "L-L1_lldetchar-1300000002-1.gwf",
                                      "L-L1_lldetchar-1300000003-1.gwf"}));
  EXPECT_EQ(listing(tmp.path / "kafka" / "L1").size(), 4u);
  EXPECT_NE(r.out.find("skip witness 1300000001"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("L-L1_llhoft-1300000000-1.gwf late:2"), std::string::npos) << r.out;
  const auto f = deepclean::gwf::FrameFile::open((tmp.path / "kafka/L1/L-L1_llhoft-1300000003-1.gwf").string());
  EXPECT_NE(f.read_frame(0).find("L1:GDS-CALIB_STRAIN"), nullptr);
}

TEST(CliSimulate, RejectsBadArguments) {
  SimTempDir tmp;
  const std::string out = " --out " + sh_quote(tmp.path.string());
  auto r = simulate(out + " --start 1400000000 --duration 2 --faults lost@3", tmp.path);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("unknown fault 'lost'"), std::string::npos) << r.err;
  r = simulate(out + " --start 1400000000 --duration 0", tmp.path);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("needs --realtime"), std::string::npos) << r.err;
  r = simulate(out + " --start yesterday --duration 2", tmp.path);
  EXPECT_EQ(r.rc, 1);
  r = simulate(out + " --start 1400000000 --duration 2 --coupling quadratic", tmp.path);
  EXPECT_NE(r.rc, 0);
}

// --realtime paces publication by the GPS clock: `--start now` publishes second s shortly after the
// clock passes s + 1, so two seconds take about two to three seconds.
TEST(CliSimulate, RealtimeFollowsTheGpsClock) {
  SimTempDir tmp;
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = simulate("--out " + sh_quote(tmp.path.string()) + " --start now --duration 2 --realtime --unrelated 10", tmp.path);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 4) << r.out;
  EXPECT_GT(took, 2.1);
  EXPECT_LT(took, 30.0);  // ~3.5 s unloaded; only guards against a hang (pacing is checked by the GPS test below)
  // GPS = UTC + 18 s - 315964800 s: the files' GPS seconds are within a few seconds of the clock now.
  const auto files = listing(tmp.path / "kafka" / "H1");
  ASSERT_EQ(files.size(), 2u);
  const long long gps = std::stoll(files[1].substr(std::string("H-H1_llhoft-").size(), 10));
  const long long now_gps = static_cast<long long>(std::time(nullptr)) - 315964800LL + 18;
  EXPECT_GE(now_gps, gps + 1);
  EXPECT_LE(now_gps, gps + 3);
  // The same seconds written without --realtime are the same bytes.
  const auto fast = simulate("--out " + sh_quote((tmp.path / "fast").string()) + " --start " + std::to_string(gps - 1) +
                                 " --duration 2 --unrelated 10 --quiet",
                             tmp.path);
  ASSERT_EQ(fast.rc, 0) << fast.err;
  for (const auto& f : files) EXPECT_EQ(file_bytes(tmp.path / "kafka/H1" / f), file_bytes(tmp.path / "fast/kafka/H1" / f)) << f;
}

TEST(CliSimulate, RetentionDeletesOldFiles) {
  SimTempDir tmp;
  const auto r = simulate("--out " + sh_quote(tmp.path.string()) +
                              " --start 1400000000 --duration 6 --retention 2 --unrelated 5 --quiet",
                          tmp.path);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(listing(tmp.path / "kafka" / "H1"),
            (std::vector<std::string>{"H-H1_llhoft-1400000004-1.gwf", "H-H1_llhoft-1400000005-1.gwf"}));
  EXPECT_EQ(listing(tmp.path / "lldetchar" / "H1"),
            (std::vector<std::string>{"H-H1_lldetchar-1400000004-1.gwf", "H-H1_lldetchar-1400000005-1.gwf"}));
}
