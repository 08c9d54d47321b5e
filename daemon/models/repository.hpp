// The model repository on disk (models.repository; docs/model-lifecycle.md): one subdirectory per
// version, each a model bundle, published atomically (written under a name starting with "." and
// renamed in). Names starting with "." are never versions: the record (.record.json), the default
// archive (.archive) and versions being written live there.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "daemon/models/record.hpp"

namespace deepclean::daemon::models {

inline constexpr const char* kRecordFile = ".record.json";
inline constexpr const char* kReportFile = "validation.json";

struct Entry {
  std::string name;
  std::filesystem::path path;
  std::string id;       // bundle id; "" when `problem` is set
  std::string problem;  // why this is not a bundle (missing file, unreadable bundle.yaml); "" when fine
  bool settled = true;  // unchanged for the settle time: a copy in place may still be going on
};

class Repository {
 public:
  // `archive` empty: <directory>/.archive.
  Repository(std::filesystem::path directory, std::filesystem::path archive = {},
             std::chrono::seconds settle = std::chrono::seconds(2));

  const std::filesystem::path& directory() const { return dir_; }
  const std::filesystem::path& archive_directory() const { return archive_; }
  std::filesystem::path path_of(const std::string& name) const { return dir_ / name; }
  std::chrono::seconds settle() const { return settle_; }

  // The versions present, by name. Throws std::runtime_error naming the directory when it cannot be
  // listed (gone, unreadable): the caller keeps running what it has.
  std::vector<Entry> scan() const;

  // The record (.record.json); an empty one when the file does not exist. Throws std::runtime_error
  // naming the file when it exists but cannot be read or parsed.
  Record read_record() const;
  // Written aside and renamed in. Throws std::runtime_error naming the file.
  void write_record(const Record& record) const;
  // <version>/validation.json, written aside and renamed in. Throws std::runtime_error naming the file.
  void write_report(const std::string& name, const std::string& json) const;
  // Moves the version's directory into the archive (a name already there gets a numeric suffix);
  // returns where it went. Throws std::runtime_error naming both paths.
  std::filesystem::path archive(const std::string& name) const;

 private:
  std::filesystem::path dir_, archive_;
  std::chrono::seconds settle_;
  // Bundle ids by version, with the files' modification times and sizes they were computed for: a
  // scan hashes only what changed.
  struct Hashed {
    std::filesystem::file_time_type model_time, yaml_time;
    std::uintmax_t model_size = 0, yaml_size = 0;
    std::string id;
  };
  mutable std::map<std::string, Hashed> ids_;
  // When each version's files were first seen as they are now (the steady clock): a version whose
  // modification time lies ahead of the wall clock (the clock was stepped back) settles once it has
  // not changed for the settle time.
  struct Unchanged {
    std::filesystem::file_time_type newest;
    std::uintmax_t sizes = 0;
    std::chrono::steady_clock::time_point since;
  };
  mutable std::map<std::string, Unchanged> unchanged_;
  mutable std::set<std::string> unnamable_;  // directory names that are not UTF-8 (logged once)
};

// The production version a start of the service loads (docs/model-lifecycle.md, "Restarts"): the
// record's production; without one, model.bundle (the repository's first production, which may live
// outside it), else the newest complete version by name. The record's production may be model.bundle
// outside the repository, named by its directory. Reads only; `error` says why there is none.
struct StartupProduction {
  std::string version;
  std::filesystem::path bundle;
  std::string how;    // for the log: where it came from
  std::string error;  // non-empty: nothing to start from
};
StartupProduction startup_production(const Repository& repo, const Record& record, const std::string& model_bundle);

// Writes `text` to `path` through `<path>.tmp` and a rename (readers never see half a file).
// Throws std::runtime_error naming the file.
void write_file_atomically(const std::filesystem::path& path, const std::string& text);

// The UTC time now, ISO 8601 to the second ("2026-12-07T08:15:00Z").
std::string utc_now();

}  // namespace deepclean::daemon::models
