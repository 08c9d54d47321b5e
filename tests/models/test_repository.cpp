// The repository on disk: which directories are versions, the record written and read back, the
// validation report, the archive.
#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>

#include "common/test_support.hpp"
#include "core/bundle/bundle.hpp"
#include "daemon/models/repository.hpp"

namespace deepclean::daemon::models {
namespace {

namespace fs = std::filesystem;
using deepclean::testing::read_file;
using deepclean::testing::TempDir;
using deepclean::testing::write_file;

void make_version(const fs::path& dir, const std::string& model_bytes) {
  fs::create_directories(dir);
  write_file(dir / "model.pt", model_bytes);
  write_file(dir / "bundle.yaml", "format: deepclean-bundle/1\n");
}

TEST(Repository, ListsCompleteVersionsByNameAndNamesWhatIsMissing) {
  TempDir tmp;
  make_version(tmp.path / "v2", "two");
  make_version(tmp.path / "v1", "one");
  make_version(tmp.path / ".incoming-v3", "three");  // being written aside
  fs::create_directories(tmp.path / "v4");
  write_file(tmp.path / "v4" / "bundle.yaml", "x");  // copied in place, model.pt not yet there
  write_file(tmp.path / "notes.txt", "not a version");
  const Repository repo(tmp.path, {}, std::chrono::seconds(0));
  const auto entries = repo.scan();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].name, "v1");
  EXPECT_EQ(entries[1].name, "v2");
  EXPECT_EQ(entries[2].name, "v4");
  // The id is the bundle's content hash (core/bundle).
  EXPECT_EQ(entries[0].id, bundle::compute_bundle_id(tmp.path / "v1"));
  EXPECT_NE(entries[0].id, entries[1].id);
  EXPECT_TRUE(entries[0].problem.empty());
  EXPECT_EQ(entries[2].problem, "model.pt is missing");
  EXPECT_TRUE(entries[2].id.empty());
  EXPECT_TRUE(entries[0].settled);
  // With a settle time longer than the files' age nothing has settled yet.
  const Repository slow(tmp.path, {}, std::chrono::seconds(3600));
  for (const auto& e : slow.scan()) EXPECT_FALSE(e.settled) << e.name;
}

TEST(Repository, AMissingRepositoryIsAnErrorNamingIt) {
  TempDir tmp;
  const Repository repo(tmp.path / "gone");
  try {
    (void)repo.scan();
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find((tmp.path / "gone").string()), std::string::npos) << e.what();
  }
}

TEST(Repository, RecordAndReportAreWrittenWholeAndReadBack) {
  TempDir tmp;
  make_version(tmp.path / "v1", "one");
  const Repository repo(tmp.path);
  EXPECT_TRUE(repo.read_record().versions().empty());  // no record yet
  Record r;
  r.bootstrap("v1", "id1", "first", "2026-12-07T00:00:00Z");
  repo.write_record(r);
  EXPECT_FALSE(fs::exists(tmp.path / ".record.json.tmp"));
  EXPECT_EQ(repo.read_record().to_json(), r.to_json());
  repo.write_report("v1", "{\"decision\": \"passed\"}\n");
  EXPECT_EQ(read_file(tmp.path / "v1" / "validation.json"), "{\"decision\": \"passed\"}\n");
  write_file(tmp.path / ".record.json", "{ not json");
  try {
    (void)repo.read_record();
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(".record.json"), std::string::npos) << e.what();
  }
}

TEST(Repository, ArchiveMovesTheVersionWithItsReportAndNeverOverwrites) {
  TempDir tmp;
  const Repository repo(tmp.path / "repo", tmp.path / "archive");
  make_version(tmp.path / "repo" / "v1", "one");
  repo.write_report("v1", "{}\n");
  const fs::path first = repo.archive("v1");
  EXPECT_EQ(first, tmp.path / "archive" / "v1");
  EXPECT_FALSE(fs::exists(tmp.path / "repo" / "v1"));
  EXPECT_EQ(read_file(first / "model.pt"), "one");
  EXPECT_TRUE(fs::exists(first / "validation.json"));
  make_version(tmp.path / "repo" / "v1", "one again");
  const fs::path second = repo.archive("v1");
  EXPECT_EQ(second, tmp.path / "archive" / "v1.1");
  EXPECT_EQ(read_file(second / "model.pt"), "one again");
  EXPECT_THROW(repo.archive("v1"), std::runtime_error);  // nothing left to move
  // The default archive is a hidden directory inside the repository (never listed as a version).
  EXPECT_EQ(Repository(tmp.path / "repo").archive_directory(), tmp.path / "repo" / ".archive");
}

// What a start loads (startup_production): every rule of docs/model-lifecycle.md, "Restarts", on a
// repository on disk, including a first production that lives outside the repository as model.bundle
// (a restart, `deepclean check-config` and `deepclean retrain` find it there).
TEST(Repository, TheStartUpProductionIsTheRecordsThenModelBundleThenTheNewestVersion) {
  TempDir tmp("repo-startup");
  const fs::path dir = tmp.path / "repo";
  make_version(dir / "v1", "one");
  make_version(dir / "v3", "three");
  fs::create_directories(dir / "v4");  // incomplete: no bundle.yaml
  write_file(dir / "v4" / "model.pt", "four");
  make_version(tmp.path / "site" / "first", "outside");
  const Repository repo(dir);
  const std::string outside = (tmp.path / "site" / "first").string();

  // No record: model.bundle, else the newest complete version by name (v3, not the incomplete v4).
  Record none;
  auto p = startup_production(repo, none, outside + "/");
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.version, "first");
  EXPECT_EQ(p.bundle, tmp.path / "site" / "first");
  p = startup_production(repo, none, "");
  EXPECT_EQ(p.version, "v3");
  EXPECT_EQ(p.bundle, dir / "v3");

  // The record's production: in the repository, whatever model.bundle says.
  Record r;
  r.bootstrap("v1", "id1", "first", "2026-12-07T00:00:00Z");
  p = startup_production(repo, r, outside);
  EXPECT_EQ(p.version, "v1");
  EXPECT_EQ(p.bundle, dir / "v1");
  EXPECT_NE(p.how.find("production version v1 (since 2026-12-07T00:00:00Z)"), std::string::npos) << p.how;

  // ... or model.bundle outside it, named by its directory.
  Record f;
  f.bootstrap("first", "idf", "first", "2026-12-07T00:00:00Z");
  p = startup_production(repo, f, outside);
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.bundle, tmp.path / "site" / "first");
  // Neither: an error naming the version, the repository and the record.
  p = startup_production(repo, f, "");
  EXPECT_NE(p.error.find("the production version first is not in the model repository " + dir.string()),
            std::string::npos)
      << p.error;
  EXPECT_NE(p.error.find(".record.json"), std::string::npos) << p.error;

  // An empty repository without model.bundle.
  fs::create_directories(tmp.path / "empty");
  p = startup_production(Repository(tmp.path / "empty"), none, "");
  EXPECT_NE(p.error.find("holds no complete version and model.bundle is not set"), std::string::npos) << p.error;
}

}  // namespace
}  // namespace deepclean::daemon::models
