// LIGO-T050017 names (digest §10): <OBS>-<TAG>-<GPSSTART>-<DURATION>.<ext>, split on '-' into
// exactly four fields the way gwdatafind/lal CacheEntry do.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "io/gwf/naming.hpp"

namespace gwf = deepclean::gwf;

TEST(GwfNaming, ParsesLowLatencyNames) {
  const auto n = gwf::parse_frame_file_name("/dev/shm/kafka/H1/H-H1_llhoft-1400000000-1.gwf");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->observatory, "H");
  EXPECT_EQ(n->tag, "H1_llhoft");
  EXPECT_EQ(n->gps, 1400000000u);
  EXPECT_EQ(n->duration, 1u);
  EXPECT_EQ(n->extension, "gwf");
  const auto m = gwf::parse_frame_file_name("HLV-HW100916-968654552-1.gwf");  // a real file's name
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->observatory, "HLV");
  EXPECT_EQ(m->tag, "HW100916");
  EXPECT_EQ(m->gps, 968654552u);
  const auto r = gwf::parse_frame_file_name("F-TEST-600000000-60.gwf");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->duration, 60u);
  const auto x = gwf::parse_frame_file_name("L-L1_O3ReplayMDC_llhoft-1262304000-4096.xml.gz");
  ASSERT_TRUE(x.has_value());
  EXPECT_EQ(x->tag, "L1_O3ReplayMDC_llhoft");
  EXPECT_EQ(x->extension, "xml.gz");
}

TEST(GwfNaming, RejectsNamesOutsideTheConvention) {
  for (const char* bad : {
           "",
           "H-H1_llhoft-1400000000.gwf",             // three fields
           "H-H1-llhoft-1400000000-1.gwf",           // dash inside the tag -> five fields
           "H-H1_llhoft-1400000000-1",               // no extension
           "H-H1_llhoft-1400000000-1.",              // empty extension
           "H-H1_llhoft-1400000000-1.gwf.",          // trailing dot
           "H-H1_llhoft-1400000000-0.gwf",           // zero duration
           "H-H1_llhoft-14000x0000-1.gwf",           // non-digit GPS
           "H-H1_llhoft--1-1.gwf",                   // negative GPS
           "H-H1_llhoft-+1400000000-1.gwf",          // sign
           "H-H1_llhoft-1400000000-1.5.gwf",         // fractional duration
           "h-H1_llhoft-1400000000-1.gwf",           // lower-case observatory
           "-H1_llhoft-1400000000-1.gwf",            // empty observatory
           "H--1400000000-1.gwf",                    // empty tag
           "H-H1 llhoft-1400000000-1.gwf",           // space in tag
           "H-H1_llhoft-99999999999999999999-1.gwf", // GPS overflows 64 bits
           ".H-H1_llhoft-1400000000-1.gwf.123.tmp",  // the writer's temporary file
       }) {
    EXPECT_FALSE(gwf::parse_frame_file_name(bad).has_value()) << bad;
  }
}

TEST(GwfNaming, FormatsAndRoundTrips) {
  gwf::FrameFileName n;
  n.observatory = "L";
  n.tag = "L1_DEEPCLEAN_llhoft";
  n.gps = 1400000123;
  n.duration = 1;
  EXPECT_EQ(gwf::format_frame_file_name(n), "L-L1_DEEPCLEAN_llhoft-1400000123-1.gwf");
  const auto back = gwf::parse_frame_file_name(gwf::format_frame_file_name(n));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->tag, n.tag);
  EXPECT_EQ(back->gps, n.gps);
  n.gps = 0;
  EXPECT_EQ(gwf::format_frame_file_name(n), "L-L1_DEEPCLEAN_llhoft-0-1.gwf");
}

TEST(GwfNaming, FormatRejectsFieldsThatWouldNotParseBack) {
  gwf::FrameFileName n;
  n.observatory = "H";
  n.tag = "H1-llhoft";
  n.gps = 1;
  n.duration = 1;
  EXPECT_THROW(gwf::format_frame_file_name(n), std::invalid_argument);
  n.tag = "H1_llhoft";
  n.duration = 0;
  EXPECT_THROW(gwf::format_frame_file_name(n), std::invalid_argument);
  n.duration = 1;
  n.observatory = "h1";
  EXPECT_THROW(gwf::format_frame_file_name(n), std::invalid_argument);
  n.observatory = "H";
  n.extension = "";
  EXPECT_THROW(gwf::format_frame_file_name(n), std::invalid_argument);
}

TEST(GwfNaming, CoveringNameRoundsOutward) {
  // digest §10: start rounded down, duration rounded up so the span covers the data.
  auto n = gwf::covering_frame_file_name("H", "H1_llhoft", 1400000000.0, 1400000001.0);
  EXPECT_EQ(gwf::format_frame_file_name(n), "H-H1_llhoft-1400000000-1.gwf");
  n = gwf::covering_frame_file_name("H", "H1_llhoft", 1400000000.5, 1400000002.25);
  EXPECT_EQ(n.gps, 1400000000u);
  EXPECT_EQ(n.duration, 3u);
  EXPECT_THROW(gwf::covering_frame_file_name("H", "T", 10.0, 10.0), std::invalid_argument);
}
