#include "daemon/models/repository.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/bundle/bundle.hpp"
#include "core/text/utf8.hpp"

namespace deepclean::daemon::models {

namespace fs = std::filesystem;

namespace {

std::runtime_error io_error(const fs::path& path, const std::string& what) {
  return std::runtime_error(path.string() + ": " + what);
}

}  // namespace

Repository::Repository(fs::path directory, fs::path archive, std::chrono::seconds settle)
    : dir_(std::move(directory)), archive_(archive.empty() ? dir_ / ".archive" : std::move(archive)), settle_(settle) {}

namespace {
const std::string& name_of(const Entry& e) { return e.name; }
const std::string& name_of(const std::string& s) { return s; }
}  // namespace

std::vector<Entry> Repository::scan() const {
  std::error_code ec;
  fs::directory_iterator it(dir_, ec);
  if (ec) throw io_error(dir_, "cannot list the model repository: " + ec.message());
  std::vector<Entry> out;
  const auto now = fs::file_time_type::clock::now();
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) throw io_error(dir_, "cannot list the model repository: " + ec.message());
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (text::first_invalid_utf8(name)) {  // it could not be named in the record, a reply or a metric
      if (unnamable_.insert(name).second) {
        spdlog::error("model repository {}: a directory whose name is not UTF-8 text is ignored; rename it",
                      dir_.string());
      }
      continue;
    }
    std::error_code e2;
    if (!it->is_directory(e2)) continue;
    Entry entry;
    entry.name = name;
    entry.path = it->path();
    // The newest modification among the directory and its two files decides whether it settled.
    auto newest = fs::last_write_time(entry.path, e2);
    Hashed h;
    for (const char* f : {bundle::kBundleFile, bundle::kModelFile}) {
      const fs::path p = entry.path / f;
      std::error_code e3;
      if (!fs::is_regular_file(p, e3)) {
        if (entry.problem.empty()) entry.problem = std::string(f) + " is missing";
        continue;
      }
      const auto t = fs::last_write_time(p, e3);
      const auto size = fs::file_size(p, e3);
      if (!e3 && t > newest) newest = t;
      (f == std::string(bundle::kModelFile) ? h.model_time : h.yaml_time) = t;
      (f == std::string(bundle::kModelFile) ? h.model_size : h.yaml_size) = size;
    }
    // Settled: modified at least the settle time ago by the wall clock, or (a modification time in
    // the future after the clock was stepped back) unchanged for the settle time by the steady clock.
    const std::uintmax_t sizes = h.model_size + h.yaml_size;
    const auto steady_now = std::chrono::steady_clock::now();
    auto u = unchanged_.find(name);
    if (u == unchanged_.end() || u->second.newest != newest || u->second.sizes != sizes) {
      u = unchanged_.insert_or_assign(name, Unchanged{newest, sizes, steady_now}).first;
    }
    entry.settled = !e2 && (now - newest >= settle_ || steady_now - u->second.since >= settle_);
    if (entry.problem.empty()) {
      const auto cached = ids_.find(name);
      if (cached != ids_.end() && cached->second.model_time == h.model_time && cached->second.yaml_time == h.yaml_time &&
          cached->second.model_size == h.model_size && cached->second.yaml_size == h.yaml_size) {
        entry.id = cached->second.id;
      } else {
        try {
          entry.id = bundle::compute_bundle_id(entry.path);
          h.id = entry.id;
          ids_[name] = h;
        } catch (const std::exception& e) {
          entry.problem = e.what();
        }
      }
    }
    out.push_back(std::move(entry));
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  for (auto u = unchanged_.begin(); u != unchanged_.end();) {  // versions gone since
    const bool present = std::binary_search(out.begin(), out.end(), u->first,
                                            [](const auto& a, const auto& b) { return name_of(a) < name_of(b); });
    u = present ? std::next(u) : unchanged_.erase(u);
  }
  return out;
}

Record Repository::read_record() const {
  const fs::path path = dir_ / kRecordFile;
  std::error_code ec;
  if (!fs::exists(path, ec)) return {};
  std::ifstream in(path);
  if (!in) throw io_error(path, std::string("cannot read: ") + std::strerror(errno));
  std::ostringstream s;
  s << in.rdbuf();
  try {
    return Record::from_json(s.str());
  } catch (const std::exception& e) {
    throw io_error(path, e.what());
  }
}

void Repository::write_record(const Record& record) const { write_file_atomically(dir_ / kRecordFile, record.to_json()); }

void Repository::write_report(const std::string& name, const std::string& json) const {
  write_file_atomically(path_of(name) / kReportFile, json);
}

fs::path Repository::archive(const std::string& name) const {
  const fs::path from = path_of(name);
  std::error_code ec;
  fs::create_directories(archive_, ec);
  if (ec) throw io_error(archive_, "cannot create the archive directory: " + ec.message());
  fs::path to = archive_ / name;
  for (int i = 1; fs::exists(to, ec); ++i) to = archive_ / (name + "." + std::to_string(i));
  fs::rename(from, to, ec);
  if (ec == std::errc::cross_device_link) {
    // Another file system: copy, then remove the original.
    fs::copy(from, to, fs::copy_options::recursive, ec);
    if (!ec) fs::remove_all(from, ec);
  }
  if (ec) throw io_error(from, "cannot move it to " + to.string() + ": " + ec.message());
  return to;
}

void write_file_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw io_error(tmp, std::string("cannot write: ") + std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw io_error(tmp, std::string("cannot write: ") + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw io_error(tmp, std::string("cannot write: ") + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw io_error(path, std::string("cannot rename the new file in: ") + std::strerror(err));
  }
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

StartupProduction startup_production(const Repository& repo, const Record& record, const std::string& model_bundle) {
  StartupProduction r;
  std::error_code ec;
  const fs::path given = fs::path(model_bundle).lexically_normal();
  const fs::path bundle = given.filename().empty() ? given.parent_path() : given;  // "dir/" -> "dir"
  if (const Version* p = record.in_state(State::Production)) {
    r.version = p->name;
    if (fs::is_directory(repo.path_of(p->name), ec)) {
      r.bundle = repo.path_of(p->name);
      r.how = "production version " + p->name + " (since " + p->since + ")";
    } else if (!model_bundle.empty() && bundle.filename() == p->name && fs::is_directory(bundle, ec)) {
      r.bundle = bundle;
      r.how = "production version " + p->name + " (since " + p->since + "), model.bundle " + bundle.string();
    } else {
      r.error = "the production version " + p->name + " is not in the model repository " + repo.directory().string() +
                (model_bundle.empty() ? "" : " and is not model.bundle") +
                " any more; put it back, or promote another with `deepclean ctl` once started from it (edit " +
                (repo.directory() / kRecordFile).string() + " to make it production)";
    }
    return r;
  }
  if (!model_bundle.empty()) {
    r.version = bundle.filename().string();
    r.bundle = bundle;
    r.how = "no production version yet: model.bundle " + model_bundle + " is the first (version " + r.version + ")";
    return r;
  }
  std::vector<Entry> entries;
  try {
    entries = repo.scan();
  } catch (const std::exception& e) {
    r.error = std::string(e.what()) + ", and model.bundle is not set";
    return r;
  }
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (!it->problem.empty()) continue;
    r.version = it->name;
    r.bundle = it->path;
    r.how = "no production version yet: the newest version by name, " + it->name + ", is the first";
    return r;
  }
  r.error = "the model repository " + repo.directory().string() + " holds no complete version and model.bundle is not set";
  return r;
}

}  // namespace deepclean::daemon::models
