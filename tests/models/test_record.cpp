// The model record's transitions (docs/model-lifecycle.md): the life of a version from candidate to
// retired, the rejections, the rollback, the pin, and the record's JSON round trip.
#include <gtest/gtest.h>

#include <stdexcept>

#include "daemon/models/record.hpp"

namespace deepclean::daemon::models {
namespace {

State state_of(const Record& r, const std::string& name) {
  const Version* v = r.find(name);
  EXPECT_NE(v, nullptr) << name;
  return v ? v->state : State::Retired;
}

TEST(Record, AVersionGoesFromCandidateToRetired) {
  Record r;
  EXPECT_EQ(r.seen("v1", "id1", "t0"), Record::Seen::New);
  r.bootstrap("v1", "id1", "first production", "t0");
  EXPECT_EQ(state_of(r, "v1"), State::Production);
  EXPECT_EQ(r.seen("v2", "id2", "t1"), Record::Seen::New);
  EXPECT_EQ(r.seen("v2", "id2", "t1"), Record::Seen::Unchanged);
  EXPECT_EQ(state_of(r, "v2"), State::Candidate);
  ASSERT_NE(r.next_candidate(), nullptr);
  EXPECT_EQ(r.next_candidate()->name, "v2");
  EXPECT_EQ(r.seen("v3", "id3", "t1"), Record::Seen::New);
  EXPECT_EQ(r.next_candidate()->name, "v3") << "the newest first";
  EXPECT_EQ(r.candidates_before("v3"), std::vector<std::string>{"v2"});
  EXPECT_TRUE(r.candidates_before("v2").empty());
  r.vanished("v3");
  EXPECT_EQ(r.next_candidate()->name, "v2");
  r.start_canary("v2", "t2");
  EXPECT_EQ(state_of(r, "v2"), State::Canary);
  EXPECT_EQ(r.next_candidate(), nullptr);
  r.promote("v2", "validated", "t3", 1000);
  EXPECT_EQ(state_of(r, "v2"), State::Production);
  EXPECT_EQ(state_of(r, "v1"), State::Standby);
  EXPECT_EQ(r.find("v2")->since_gps, 1000u);
  r.retire("v1", "probation over", "t4");
  EXPECT_EQ(state_of(r, "v1"), State::Retired);
  ASSERT_EQ(r.decisions().size(), 4u);  // bootstrap, canary, promotion, retirement
  EXPECT_EQ(r.decisions()[2].action, "promoted");
  EXPECT_EQ(r.decisions()[2].version, "v2");
  EXPECT_EQ(r.decisions()[3].action, "retired");
}

TEST(Record, RejectedVersionsComeBackOnlyWithNewContent) {
  Record r;
  r.seen("v1", "id1", "t0");
  r.start_canary("v1", "t0");
  r.reject("v1", "bundle does not load", "t1", 0);
  EXPECT_EQ(state_of(r, "v1"), State::Rejected);
  EXPECT_EQ(r.find("v1")->reason, "bundle does not load");
  EXPECT_EQ(r.seen("v1", "id1", "t2"), Record::Seen::Unchanged);
  EXPECT_EQ(state_of(r, "v1"), State::Rejected);
  EXPECT_EQ(r.seen("v1", "id1b", "t3"), Record::Seen::Changed);  // a half-copied version completed
  EXPECT_EQ(state_of(r, "v1"), State::Candidate);
  r.vanished("v1");
  EXPECT_EQ(r.find("v1"), nullptr);
  r.seen("v2", "id2", "t4");
  r.start_canary("v2", "t4");
  r.requeue("v2", "the service restarted", "t5");
  EXPECT_EQ(state_of(r, "v2"), State::Candidate);
  EXPECT_EQ(r.find("v2")->reason, "the service restarted");
}

TEST(Record, LoadedVersionsKeepTheirStateWhenTheirFilesChangeOrGo) {
  Record r;
  r.bootstrap("v1", "id1", "first", "t0");
  EXPECT_EQ(r.seen("v1", "other", "t1"), Record::Seen::Changed);
  EXPECT_EQ(state_of(r, "v1"), State::Production);
  r.vanished("v1");
  EXPECT_EQ(state_of(r, "v1"), State::Production);
}

TEST(Record, RollbackRejectsProductionAndRestoresTheStandby) {
  Record r;
  r.bootstrap("v1", "id1", "first", "t0");
  r.seen("v2", "id2", "t1");
  r.start_canary("v2", "t1");
  r.promote("v2", "validated", "t2", 100);
  r.rollback("gate closed in probation", "t3", 150);
  EXPECT_EQ(state_of(r, "v1"), State::Production);
  EXPECT_EQ(state_of(r, "v2"), State::Rejected);
  EXPECT_EQ(r.find("v2")->reason, "rolled back: gate closed in probation");
  EXPECT_EQ(r.find("v1")->since_gps, 150u);
  EXPECT_THROW(r.rollback("again", "t4", 160), std::logic_error);  // no standby any more
}

TEST(Record, ImpossibleTransitionsThrowNamingTheVersion) {
  Record r;
  r.seen("v1", "id1", "t0");
  try {
    r.retire("v1", "x", "t1");
    FAIL() << "retired a candidate";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("v1 is candidate"), std::string::npos) << e.what();
  }
  r.seen("v2", "id2", "t0");
  r.start_canary("v1", "t1");
  EXPECT_THROW(r.start_canary("v2", "t1"), std::logic_error);  // one canary at a time
  EXPECT_THROW(r.pin("v1", "t1", 0), std::logic_error);        // only production can be pinned
  EXPECT_THROW(r.promote("nope", "x", "t1", 0), std::logic_error);
}

TEST(Record, PinHoldsProductionUntilUnpinnedOrReplaced) {
  Record r;
  r.bootstrap("v1", "id1", "first", "t0");
  r.pin("v1", "t1", 10);
  ASSERT_TRUE(r.pinned());
  EXPECT_EQ(*r.pinned(), "v1");
  r.unpin("t2", 11);
  EXPECT_FALSE(r.pinned());
  r.pin("v1", "t3", 12);
  r.seen("v2", "id2", "t4");
  r.promote("v2", "by an operator", "t5", 13);  // an operator's promotion moves the pin's subject away
  EXPECT_FALSE(r.pinned());
}

TEST(Record, JsonRoundTripKeepsEverything) {
  Record r;
  r.bootstrap("v1", "id1", "first", "t0");
  r.seen("v2", "id2", "t1");
  r.start_canary("v2", "t1");
  r.promote("v2", "validated \"quoted\"", "t2", 1234567890);
  r.pin("v2", "t3", 1234567891);
  r.seen("v3", "id3", "t4");
  const Record back = Record::from_json(r.to_json());
  EXPECT_EQ(back.to_json(), r.to_json());
  EXPECT_EQ(back.find("v2")->reason, "validated \"quoted\"");
  EXPECT_EQ(back.find("v2")->since_gps, 1234567890u);
  EXPECT_EQ(state_of(back, "v1"), State::Standby);
  EXPECT_EQ(state_of(back, "v3"), State::Candidate);
  ASSERT_TRUE(back.pinned());
  EXPECT_EQ(back.decisions().size(), r.decisions().size());
}

TEST(Record, BrokenRecordsAreRefusedWithTheReason) {
  EXPECT_THROW(Record::from_json("{"), std::invalid_argument);
  EXPECT_THROW(Record::from_json(R"({"format":"other"})"), std::invalid_argument);
  const std::string two_productions =
      R"({"format":"deepclean-model-record/1","pinned":null,"decisions":[],"versions":[)"
      R"({"name":"a","id":"1","state":"production","reason":"","since":"","since_gps":0},)"
      R"({"name":"b","id":"2","state":"production","reason":"","since":"","since_gps":0}]})";
  try {
    (void)Record::from_json(two_productions);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("more than one production"), std::string::npos);
  }
}

}  // namespace
}  // namespace deepclean::daemon::models
