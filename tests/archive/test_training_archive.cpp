// The training archive (daemon/archive): chunk files with holes read back second by second, exactly
// (the strain as stored, the witnesses as float32 of their physical values); retention by age and by
// bytes; a restart continues after what is on disk; a corrupt chunk or a missing channel is named.
#include <gtest/gtest.h>

#include <cmath>

#include "archive/archive_fixtures.hpp"
#include "common/test_support.hpp"
#include "daemon/archive/training_archive.hpp"

namespace deepclean::daemon::archive {
namespace {

namespace fs = std::filesystem;
using deepclean::testing::TempDir;
using namespace test;  // NOLINT: the archive fixtures

std::vector<std::string> names(const std::vector<Chunk>& chunks) {
  std::vector<std::string> n;
  for (const Chunk& c : chunks) n.push_back(c.path.filename().string());
  return n;
}

TEST(TrainingArchive, ChunksWithHolesAreReadBackExactly) {
  TempDir dir("archive");
  const Settings s = settings(dir.path / "a", 8, 1000);
  {
    Writer w(s);
    for (std::uint64_t g = 1000; g < 1020; ++g) {
      if (g != 1005) w.add(second(g));  // 1005: not a good second, a hole
    }
    w.add(second(1003));  // out of order: ignored
    w.flush();
    const WriterStats st = w.stats();
    EXPECT_EQ(st.chunks_written, 3u);
    EXPECT_EQ(st.seconds_written, 19u);
    EXPECT_EQ(st.oldest_gps, 1000u);
    EXPECT_EQ(st.newest_gps, 1019u);
  }
  // Full chunks of 8 s; the partial one (written at stop) is named for what it covers.
  EXPECT_EQ(names(list_chunks(s)), (std::vector<std::string>{"H-H1_DEEPCLEAN_ARCHIVE-1000-8.gwf",
                                                             "H-H1_DEEPCLEAN_ARCHIVE-1008-8.gwf",
                                                             "H-H1_DEEPCLEAN_ARCHIVE-1016-4.gwf"}));
  const Reader r(s);
  ASSERT_TRUE(r.extent().has_value());
  EXPECT_EQ(r.extent()->first, 1000u);
  EXPECT_EQ(r.extent()->second, 1020u);
  for (std::uint64_t g = 1000; g < 1020; ++g) {
    const ReadSecond x = r.read(g, "H1:GDS-CALIB_STRAIN", {"H1:ASC-B", "H1:PEM-A"});
    if (g == 1005) {
      EXPECT_FALSE(x.good);
      EXPECT_EQ(x.reason, "hole");
      EXPECT_NE(x.detail.find("H-H1_DEEPCLEAN_ARCHIVE-1000-8.gwf: GPS 1005 was not archived"), std::string::npos)
          << x.detail;
      continue;
    }
    ASSERT_TRUE(x.good) << g << ": " << x.detail;
    EXPECT_EQ(x.strain, values(g, 0, kStrainRate, 1e-21)) << g;  // the strain as stored: bit for bit
    EXPECT_EQ(x.strain_rate, kStrainRate);
    ASSERT_EQ(x.witnesses.size(), 2u);
    // In the order asked for, float32 of the physical values.
    const auto b = values(g, 2, kWitnessRate, 1e3), a = values(g, 1, kWitnessRate, 3.0);
    for (int i = 0; i < kWitnessRate; ++i) {
      EXPECT_EQ(x.witnesses[0][static_cast<std::size_t>(i)], static_cast<double>(static_cast<float>(b[static_cast<std::size_t>(i)])));
      EXPECT_EQ(x.witnesses[1][static_cast<std::size_t>(i)], static_cast<double>(static_cast<float>(a[static_cast<std::size_t>(i)])));
    }
    EXPECT_EQ(x.witness_rates, (std::vector<double>{kWitnessRate, kWitnessRate}));
  }
  const ReadSecond outside = r.read(999, "H1:GDS-CALIB_STRAIN", {});
  EXPECT_EQ(outside.reason, "hole");
  const ReadSecond missing = r.read(1001, "H1:GDS-CALIB_STRAIN", {"H1:NOT-THERE"});
  EXPECT_EQ(missing.reason, "missing channel");
  EXPECT_NE(missing.detail.find("H-H1_DEEPCLEAN_ARCHIVE-1000-8.gwf"), std::string::npos) << missing.detail;
  EXPECT_NE(missing.detail.find("H1:NOT-THERE"), std::string::npos) << missing.detail;
}

TEST(TrainingArchive, RetentionByAgeKeepsTheSpanBehindTheNewestSecond) {
  TempDir dir("archive");
  const Settings s = settings(dir.path, 4, 16);
  Writer w(s);
  for (std::uint64_t g = 1000; g < 1040; ++g) w.add(second(g));
  w.flush();
  // The newest second is 1039: chunks ending at or before 1040 - 16 = 1024 are gone.
  EXPECT_EQ(names(list_chunks(s)), (std::vector<std::string>{"H-H1_DEEPCLEAN_ARCHIVE-1024-4.gwf",
                                                             "H-H1_DEEPCLEAN_ARCHIVE-1028-4.gwf",
                                                             "H-H1_DEEPCLEAN_ARCHIVE-1032-4.gwf",
                                                             "H-H1_DEEPCLEAN_ARCHIVE-1036-4.gwf"}));
  const WriterStats st = w.stats();
  EXPECT_EQ(st.chunks_written, 10u);
  EXPECT_EQ(st.chunks_removed, 6u);
  EXPECT_EQ(st.oldest_gps, 1024u);
  std::uintmax_t bytes = 0;
  for (const Chunk& c : list_chunks(s)) bytes += c.bytes;
  EXPECT_EQ(st.bytes, bytes);
}

TEST(TrainingArchive, RetentionByBytesDropsTheOldestFirst) {
  TempDir dir("archive");
  Settings s = settings(dir.path, 4, 100000);
  std::uintmax_t one = 0;
  {
    Writer probe(settings(dir.path / "probe", 4, 100000));
    for (std::uint64_t g = 1000; g < 1004; ++g) probe.add(second(g));
    probe.flush();
    one = probe.stats().bytes;
  }
  ASSERT_GT(one, 0u);
  s.max_bytes = one * 5 / 2;  // room for two chunks and a half
  Writer w(s);
  for (std::uint64_t g = 1000; g < 1024; ++g) w.add(second(g));
  w.flush();
  const auto chunks = list_chunks(s);
  ASSERT_EQ(chunks.size(), 2u) << "six chunks of about " << one << " bytes under a budget of " << s.max_bytes;
  EXPECT_EQ(chunks.front().first, 1016u);
  EXPECT_EQ(chunks.back().first, 1020u);
  EXPECT_LE(w.stats().bytes, s.max_bytes);
}

TEST(TrainingArchive, ARestartContinuesAfterWhatIsOnDisk) {
  TempDir dir("archive");
  const Settings s = settings(dir.path, 8, 1000);
  {
    Writer w(s);
    for (std::uint64_t g = 1000; g < 1010; ++g) w.add(second(g));
  }  // stop: the partial chunk 1008-1009 is written
  Writer again(s);
  EXPECT_EQ(again.stats().oldest_gps, 1000u);
  EXPECT_EQ(again.stats().newest_gps, 1009u);
  again.add(second(1009));  // redone after the restart: already archived
  for (std::uint64_t g = 1010; g < 1013; ++g) again.add(second(g));
  again.flush();
  EXPECT_EQ(names(list_chunks(s)), (std::vector<std::string>{"H-H1_DEEPCLEAN_ARCHIVE-1000-8.gwf",
                                                             "H-H1_DEEPCLEAN_ARCHIVE-1008-2.gwf",
                                                             "H-H1_DEEPCLEAN_ARCHIVE-1010-3.gwf"}));
  const Reader r(s);
  for (std::uint64_t g = 1000; g < 1013; ++g) EXPECT_TRUE(r.read(g, "H1:GDS-CALIB_STRAIN", {"H1:PEM-A"}).good) << g;
}

TEST(TrainingArchive, ACorruptChunkIsNamedAndTheOthersStillRead) {
  TempDir dir("archive");
  const Settings s = settings(dir.path, 4, 1000);
  {
    Writer w(s);
    for (std::uint64_t g = 1000; g < 1008; ++g) w.add(second(g));
  }
  const fs::path bad = dir.path / "H-H1_DEEPCLEAN_ARCHIVE-1000-4.gwf";
  std::string bytes = deepclean::testing::read_file(bad);
  bytes.resize(bytes.size() / 2);  // truncated
  deepclean::testing::write_file(bad, bytes);
  const Reader r(s);
  const ReadSecond x = r.read(1001, "H1:GDS-CALIB_STRAIN", {"H1:PEM-A"});
  EXPECT_FALSE(x.good);
  EXPECT_EQ(x.reason, "corrupt");
  EXPECT_NE(x.detail.find(bad.filename().string()), std::string::npos) << x.detail;
  EXPECT_TRUE(r.read(1005, "H1:GDS-CALIB_STRAIN", {"H1:PEM-A"}).good);
}

}  // namespace
}  // namespace deepclean::daemon::archive
