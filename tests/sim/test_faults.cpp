// Fault injection (`--faults`): the grammar, and that each fault does exactly what it claims, checked by
// reading the published files back with gwf::FrameFile next to a clean run with the same seed.
#include <gtest/gtest.h>

#include "common/test_support.hpp"
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "io/gwf/reader.hpp"
#include "sim/faults.hpp"
#include "sim/run.hpp"

namespace sim = deepclean::sim;
namespace gwf = deepclean::gwf;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kT0 = 1400000100;
constexpr int kSeconds = 6;

struct TempDir : deepclean::testing::TempDir {
  TempDir() : deepclean::testing::TempDir("dc_sim_faults") {}
};

struct SimRun {
  fs::path root;
  std::string log;
  fs::path strain(std::int64_t g) const { return fs::path(sim::strain_directory(root.string(), "H1")) / sim::strain_file_name("H1", g); }
  fs::path witness(std::int64_t g) const { return fs::path(sim::witness_directory(root.string(), "H1")) / sim::witness_file_name("H1", g); }
  std::vector<std::string> lines() const {
    std::vector<std::string> v;
    std::istringstream in(log);
    for (std::string l; std::getline(in, l);) v.push_back(l);
    return v;
  }
};

SimRun simulate(const fs::path& root, const std::string& faults, std::int64_t start = kT0, int seconds = kSeconds) {
  sim::RunOptions o;
  o.out_dir = root.string();
  o.start = start;
  o.duration = seconds;
  o.sim.seed = 5;
  o.sim.unrelated = 10;
  o.faults = sim::FaultSpec::parse(faults);
  std::ostringstream log;
  o.log = &log;
  sim::run_simulation(o);
  return SimRun{root, log.str()};
}

std::vector<char> bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class Faults : public ::testing::Test {
 protected:
  TempDir tmp;
  SimRun clean;
  void SetUp() override { clean = simulate(tmp.path / "clean", ""); }
  SimRun with(const std::string& spec) { return simulate(tmp.path / "faulty", spec); }
  // Every file of `r` except the listed ones is byte-identical to the clean run's.
  void expect_others_clean(const SimRun& r, const std::set<fs::path>& except) {
    for (std::int64_t g = kT0; g < kT0 + kSeconds; ++g) {
      for (const auto& [a, b] : {std::pair{r.strain(g), clean.strain(g)}, std::pair{r.witness(g), clean.witness(g)}}) {
        if (except.count(a)) continue;
        ASSERT_TRUE(fs::exists(a)) << a;
        EXPECT_EQ(bytes_of(a), bytes_of(b)) << a;
      }
    }
  }
};

}  // namespace

TEST(FaultSpec, Grammar) {
  const auto s = sim::FaultSpec::parse("missing@12,late@20:3/strain,corrupt:0.01,nochan@3:H1:ASC-CHARD_P_OUT_DQ,svdrop@4:2");
  ASSERT_EQ(s.rules.size(), 5u);
  EXPECT_EQ(s.rules[0].kind, sim::FaultKind::Missing);
  EXPECT_TRUE(s.rules[0].at_second);
  EXPECT_EQ(s.rules[0].second, 12);
  EXPECT_EQ(s.rules[0].which, 3);
  EXPECT_EQ(s.rules[1].kind, sim::FaultKind::Late);
  EXPECT_EQ(s.rules[1].arg, "3");
  EXPECT_EQ(s.rules[1].which, 1);
  EXPECT_FALSE(s.rules[2].at_second);
  EXPECT_DOUBLE_EQ(s.rules[2].rate, 0.01);
  EXPECT_EQ(s.rules[3].arg, "H1:ASC-CHARD_P_OUT_DQ");
  EXPECT_EQ(s.rules[4].arg, "2");
  EXPECT_TRUE(sim::FaultSpec::parse("").rules.empty());
  for (const char* bad : {"missin@1", "missing", "missing@x", "late@3:0", "corrupt:2", "svdrop@1:17", "truncated@1:1.5",
                          "nan@1/both/x", "missing@1/left", "missing@1:5", "svdrop@1/witness", "missing@1,,late@2"}) {
    EXPECT_THROW(sim::FaultSpec::parse(bad), std::invalid_argument) << bad;
  }
}

TEST_F(Faults, Missing) {
  const auto r = with("missing@2,missing@4/strain");
  EXPECT_FALSE(fs::exists(r.strain(kT0 + 2)));
  EXPECT_FALSE(fs::exists(r.witness(kT0 + 2)));
  EXPECT_FALSE(fs::exists(r.strain(kT0 + 4)));
  EXPECT_TRUE(fs::exists(r.witness(kT0 + 4)));
  expect_others_clean(r, {r.strain(kT0 + 2), r.witness(kT0 + 2), r.strain(kT0 + 4)});
}

TEST_F(Faults, LatePublishesAfterLaterSeconds) {
  const auto r = with("late@1:3/strain");
  expect_others_clean(r, {});
  const auto lines = r.lines();
  auto index_of = [&](const std::string& what, std::int64_t g) {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].rfind("publish " + what + " " + std::to_string(g) + " ", 0) == 0) return static_cast<int>(i);
    }
    return -1;
  };
  const int late = index_of("strain", kT0 + 1);
  ASSERT_GE(late, 0);
  EXPECT_NE(lines[static_cast<std::size_t>(late)].find("late:3"), std::string::npos);
  // Published after the files of second t0+4 (three seconds later) and before those of t0+5.
  EXPECT_GT(late, index_of("strain", kT0 + 4));
  EXPECT_LT(late, index_of("witness", kT0 + 5));
  EXPECT_LT(index_of("witness", kT0 + 1), index_of("strain", kT0 + 2));
}

TEST_F(Faults, DuplicatePublishedTwice) {
  const auto r = with("dup@2/witness");
  expect_others_clean(r, {});
  int count = 0;
  for (const auto& l : r.lines()) count += l.find(r.witness(kT0 + 2).string()) != std::string::npos;
  EXPECT_EQ(count, 2);
  EXPECT_EQ(r.lines().size(), 2u * kSeconds + 1);
}

TEST_F(Faults, Truncated) {
  const auto r = with("truncated@3:0.25");
  expect_others_clean(r, {r.strain(kT0 + 3), r.witness(kT0 + 3)});
  for (const auto& [a, b] : {std::pair{r.strain(kT0 + 3), clean.strain(kT0 + 3)}, std::pair{r.witness(kT0 + 3), clean.witness(kT0 + 3)}}) {
    const auto got = bytes_of(a), full = bytes_of(b);
    EXPECT_EQ(got.size(), full.size() / 4);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), full.begin()));
    EXPECT_THROW(gwf::FrameFile::open(a.string()), gwf::FormatError);
  }
}

TEST_F(Faults, CorruptFlipsExactlyTheBits) {
  const auto r = with("corrupt@1:5/strain");
  expect_others_clean(r, {r.strain(kT0 + 1)});
  const auto got = bytes_of(r.strain(kT0 + 1)), full = bytes_of(clean.strain(kT0 + 1));
  ASSERT_EQ(got.size(), full.size());
  int flipped = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    flipped += __builtin_popcount(static_cast<unsigned char>(got[i] ^ full[i]));
    if (i < 40) {
      EXPECT_EQ(got[i], full[i]);
    }
  }
  EXPECT_EQ(flipped, 5);
  EXPECT_THROW(gwf::FrameFile::open(r.strain(kT0 + 1).string()), gwf::FormatError);
  EXPECT_FALSE(gwf::FrameFile::verify_file(r.strain(kT0 + 1).string()).empty());
}

TEST_F(Faults, NanStrainAndWitness) {
  const auto r = with("nan@2,nan@3/witness");
  expect_others_clean(r, {r.strain(kT0 + 2), r.witness(kT0 + 3)});
  const auto f = gwf::FrameFile::open(r.strain(kT0 + 2).string()).read_frame(0);
  const auto h = f.find("H1:GDS-CALIB_STRAIN")->data.to_double();
  ASSERT_EQ(h.size(), 16384u);
  for (double x : h) ASSERT_TRUE(std::isnan(x));
  // The state vector is untouched.
  const auto c = gwf::FrameFile::open(clean.strain(kT0 + 2).string()).read_frame(0);
  EXPECT_EQ(f.find("H1:GDS-CALIB_STATE_VECTOR")->data.data, c.find("H1:GDS-CALIB_STATE_VECTOR")->data.data);
  const auto w = gwf::FrameFile::open(r.witness(kT0 + 3).string()).read_frame(0);
  EXPECT_EQ(w.channels.size(), 31u);
  for (const auto& ch : w.channels) {
    for (double x : ch.data.to_double()) ASSERT_TRUE(std::isnan(x)) << ch.name;
  }
}

TEST_F(Faults, StateVectorDrop) {
  const auto r = with("svdrop@2:3");
  expect_others_clean(r, {r.strain(kT0 + 2)});
  const auto f = gwf::FrameFile::open(r.strain(kT0 + 2).string()).read_frame(0);
  const auto& sv = f.find("H1:GDS-CALIB_STATE_VECTOR")->data;
  ASSERT_EQ(sv.size(), 16u);
  std::vector<int> bad;
  for (int i = 0; i < 16; ++i) {
    const std::uint32_t v = sv.as<std::uint32_t>()[i];
    if ((v & 3u) == 3u) {
      EXPECT_EQ(v, 0x1E3u);
    } else {
      EXPECT_EQ(v, 0x1E0u);  // only bits 0 and 1 cleared
      bad.push_back(i);
    }
  }
  ASSERT_EQ(bad.size(), 3u);
  EXPECT_EQ(bad[2] - bad[0], 2);  // consecutive 1/16-s samples
  // The strain data are those of the clean run.
  const auto c = gwf::FrameFile::open(clean.strain(kT0 + 2).string()).read_frame(0);
  EXPECT_EQ(f.find("H1:GDS-CALIB_STRAIN")->data.data, c.find("H1:GDS-CALIB_STRAIN")->data.data);
}

TEST_F(Faults, MissingChannels) {
  const auto r = with("nochan@1,nochan@2:H1:ASC-CHARD_P_OUT_DQ,nochan@3:H1:GDS-CALIB_STATE_VECTOR");
  expect_others_clean(r, {r.witness(kT0 + 1), r.witness(kT0 + 2), r.strain(kT0 + 3)});
  auto names = [](const fs::path& p) {
    std::set<std::string> s;
    for (const auto& e : gwf::FrameFile::open(p.string()).channels(0)) s.insert(e.name);
    return s;
  };
  auto expect_only_missing = [&](const fs::path& a, const fs::path& b, const std::string& gone) {
    auto want = names(b);
    ASSERT_EQ(want.erase(gone), 1u) << gone;
    EXPECT_EQ(names(a), want);
  };
  expect_only_missing(r.witness(kT0 + 1), clean.witness(kT0 + 1), "H1:PEM-CS_MAINSMON_EBAY_1_DQ");
  expect_only_missing(r.witness(kT0 + 2), clean.witness(kT0 + 2), "H1:ASC-CHARD_P_OUT_DQ");
  expect_only_missing(r.strain(kT0 + 3), clean.strain(kT0 + 3), "H1:GDS-CALIB_STATE_VECTOR");
}

// Random-rate faults hit the seconds faults_for() draws, and those draws depend on the GPS second only,
// not on where a run starts.
TEST_F(Faults, RandomRatesAreDeterministicPerSecond) {
  const std::string spec = "missing:0.4/witness";
  const auto fs1 = sim::FaultSpec::parse(spec);
  std::set<std::int64_t> expected;
  for (std::int64_t g = kT0; g < kT0 + 40; ++g) {
    const auto a = sim::faults_for(fs1, 5, kT0, g, "");
    const auto b = sim::faults_for(fs1, 5, kT0 + 7, g, "");
    EXPECT_EQ(a.file[1].missing, b.file[1].missing);
    EXPECT_FALSE(a.file[0].missing);
    if (a.file[1].missing) expected.insert(g);
  }
  // 40 draws at p = 0.4: 16 +- 3.1 expected.
  EXPECT_GT(expected.size(), 6u);
  EXPECT_LT(expected.size(), 26u);
  const auto r = with(spec);
  for (std::int64_t g = kT0; g < kT0 + kSeconds; ++g) {
    EXPECT_EQ(fs::exists(r.witness(g)), expected.count(g) == 0) << g;
    EXPECT_TRUE(fs::exists(r.strain(g)));
  }
}

TEST_F(Faults, AbsoluteSeconds) {
  const auto r = with("missing@" + std::to_string(kT0 + 1) + "/strain");
  EXPECT_FALSE(fs::exists(r.strain(kT0 + 1)));
  expect_others_clean(r, {r.strain(kT0 + 1)});
}
