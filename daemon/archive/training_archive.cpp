#include "daemon/archive/training_archive.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <regex>
#include <stdexcept>
#include <system_error>

#include "daemon/pipeline/input.hpp"
#include "io/gwf/reader.hpp"
#include "io/gwf/writer.hpp"

namespace deepclean::daemon::archive {

namespace fs = std::filesystem;

std::vector<Chunk> list_chunks(const Settings& s) {
  std::vector<Chunk> out;
  std::error_code ec;
  if (!fs::is_directory(s.directory, ec)) return out;
  const std::regex name("^" + s.ifo.substr(0, 1) + "-" + s.frame_type + "-([0-9]+)-([0-9]+)\\.gwf$");
  for (const auto& e : fs::directory_iterator(s.directory, ec)) {
    std::smatch m;
    const std::string n = e.path().filename().string();
    if (!std::regex_match(n, m, name)) continue;
    Chunk c;
    c.path = e.path();
    c.first = std::stoull(m[1].str());
    c.span = std::stoull(m[2].str());
    std::error_code size_ec;
    c.bytes = fs::file_size(e.path(), size_ec);
    if (size_ec || c.span == 0) continue;  // vanished meanwhile, or not one of ours
    out.push_back(c);
  }
  std::sort(out.begin(), out.end(), [](const Chunk& a, const Chunk& b) { return a.first < b.first; });
  return out;
}

// ---- writer ----

Writer::Writer(Settings s) : s_(std::move(s)) {
  if (s_.chunk_seconds == 0) throw std::invalid_argument("training archive: chunk_seconds must be at least 1");
  std::error_code ec;
  fs::create_directories(s_.directory, ec);
  if (ec || !fs::is_directory(s_.directory)) {
    throw std::runtime_error("training archive " + s_.directory.string() + ": cannot create the directory" +
                             (ec ? ": " + ec.message() : std::string()));
  }
  const auto present = list_chunks(s_);
  if (!present.empty()) {
    stats_.oldest_gps = present.front().first;
    stats_.newest_gps = present.back().first + present.back().span - 1;
    for (const Chunk& c : present) stats_.bytes += c.bytes;
    last_added_ = stats_.newest_gps;  // a restart continues after what is there
  }
  thread_ = std::thread([this] { run(); });
}

Writer::~Writer() {
  flush();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Writer::add(Second s) {
  if (last_added_ && s.gps <= *last_added_) return;
  if (!filling_.seconds.empty() && s.gps >= filling_.first + s_.chunk_seconds) hand_over();
  if (filling_.seconds.empty()) filling_.first = s.gps;
  last_added_ = s.gps;
  const bool full = s.gps + 1 >= filling_.first + s_.chunk_seconds;
  filling_.seconds.push_back(std::move(s));
  if (full) hand_over();
}

void Writer::hand_over() {
  if (filling_.seconds.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(filling_));
  }
  filling_ = Pending{};
  cv_.notify_all();
}

void Writer::flush() {
  hand_over();
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

WriterStats Writer::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void Writer::run() {
  for (;;) {
    Pending p;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_ and nothing left
      p = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    write(p);
    retain();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      busy_ = false;
    }
    idle_.notify_all();
  }
}

namespace {

gwf::Frame archived_frame(const Second& s, const std::string& ifo) {
  gwf::Frame f;
  f.name = ifo;
  f.start = {static_cast<std::uint32_t>(s.gps), 0};
  f.dt = 1.0;
  f.history.push_back({"deepclean", static_cast<std::uint32_t>(s.gps), "deepclean training archive"});
  f.channels.push_back(s.strain);
  for (std::size_t i = 0; i < s.witnesses.size(); ++i) {
    gwf::Channel c;
    c.name = s.witness_names[i];
    c.kind = gwf::ChannelKind::Proc;
    c.sample_rate = s.witness_rates[i];
    std::vector<float> v(s.witnesses[i].begin(), s.witnesses[i].end());
    c.data = gwf::Vect::make(c.name, v, c.sample_rate);
    f.channels.push_back(std::move(c));
  }
  return f;
}

}  // namespace

void Writer::write(Pending& p) {
  const std::uint64_t last = p.seconds.back().gps;
  const fs::path path = s_.directory / fmt::format("{}-{}-{}-{}.gwf", s_.ifo.substr(0, 1), s_.frame_type, p.first,
                                                    last - p.first + 1);
  std::vector<gwf::Frame> frames;
  frames.reserve(p.seconds.size());
  for (const Second& s : p.seconds) frames.push_back(archived_frame(s, s_.ifo));
  gwf::WriteOptions options;
  options.compression = s_.compression;
  for (int attempt = 0;; ++attempt) {
    try {
      gwf::write_frame_file(path.string(), frames, options);
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.chunks_written;
      stats_.seconds_written += p.seconds.size();
      return;
    } catch (const std::system_error& e) {
      const bool full = e.code() == std::errc::no_space_on_device;
      const std::vector<Chunk> present = full && attempt == 0 ? list_chunks(s_) : std::vector<Chunk>{};
      if (!present.empty()) {
        spdlog::warn("training archive: no space left for {}: removing the oldest chunk {} and trying again",
                     path.string(), present.front().path.string());
        std::error_code ec;
        fs::remove(present.front().path, ec);
        std::lock_guard<std::mutex> lock(mutex_);
        ++stats_.chunks_removed;
        continue;
      }
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.chunks_dropped;
      stats_.last_error = e.what();
      spdlog::error("training archive: cannot write {} ({} seconds from GPS {}): {}; those seconds are not archived, "
                    "cleaning goes on",
                    path.string(), p.seconds.size(), p.first, e.what());
      return;
    } catch (const std::exception& e) {  // frames that cannot be encoded: a bug, but never stop cleaning
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.chunks_dropped;
      stats_.last_error = e.what();
      spdlog::error("training archive: cannot encode {}: {}", path.string(), e.what());
      return;
    }
  }
}

void Writer::retain() {
  std::vector<Chunk> present = list_chunks(s_);
  std::uint64_t removed = 0;
  auto remove = [&](const Chunk& c) {
    std::error_code ec;
    if (fs::remove(c.path, ec)) ++removed;
  };
  if (!present.empty()) {
    std::uint64_t end = 0;
    for (const Chunk& c : present) end = std::max(end, c.first + c.span);
    const std::uint64_t keep_from = end > s_.span_seconds ? end - s_.span_seconds : 0;
    std::vector<Chunk> kept;
    for (const Chunk& c : present) {
      if (c.first + c.span <= keep_from) {
        remove(c);
      } else {
        kept.push_back(c);
      }
    }
    present = std::move(kept);
  }
  std::uintmax_t bytes = 0;
  for (const Chunk& c : present) bytes += c.bytes;
  // The byte budget: the oldest go first; the newest chunk stays even when alone over it.
  while (s_.max_bytes > 0 && bytes > s_.max_bytes && present.size() > 1) {
    remove(present.front());
    bytes -= present.front().bytes;
    present.erase(present.begin());
  }
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.chunks_removed += removed;
  stats_.bytes = bytes;
  stats_.oldest_gps = present.empty() ? 0 : present.front().first;
  stats_.newest_gps = present.empty() ? 0 : present.back().first + present.back().span - 1;
}

// ---- reader ----

struct Reader::Open {
  fs::path path;
  gwf::FrameFile file;
  std::map<std::uint64_t, std::size_t> frame_of;  // GPS -> frame index
};

std::map<std::uint64_t, std::size_t> chunk_seconds(const gwf::FrameFile& f, const std::string& file) {
  std::map<std::uint64_t, std::size_t> out;
  for (std::size_t i = 0; i < f.frame_count(); ++i) {
    const gwf::Frame h = f.read_header(i);
    if (h.start.nsec != 0 || h.dt != 1.0) {
      throw gwf::FormatError(file, 0, "FrameH", "frame " + std::to_string(i) + " is not one whole GPS second");
    }
    out[h.start.sec] = i;
  }
  return out;
}

Reader::Reader(Settings s) : s_(std::move(s)), chunks_(list_chunks(s_)) {}

std::optional<std::pair<std::uint64_t, std::uint64_t>> Reader::extent() const {
  if (chunks_.empty()) return std::nullopt;
  std::uint64_t end = 0;
  for (const Chunk& c : chunks_) end = std::max(end, c.first + c.span);
  return std::make_pair(chunks_.front().first, end);
}

ReadSecond Reader::read(std::uint64_t gps, const std::string& strain_channel,
                        const std::vector<std::string>& witness_channels) const {
  ReadSecond r;
  auto it = std::upper_bound(chunks_.begin(), chunks_.end(), gps,
                             [](std::uint64_t g, const Chunk& c) { return g < c.first; });
  if (it == chunks_.begin() || gps >= std::prev(it)->first + std::prev(it)->span) {
    r.reason = "hole";
    r.detail = "GPS " + std::to_string(gps) + " is not in the training archive " + s_.directory.string();
    return r;
  }
  const Chunk& c = *std::prev(it);
  const std::string file = c.path.string();
  try {
    if (!open_ || open_->path != c.path) {
      auto o = std::make_shared<Open>(Open{c.path, gwf::FrameFile::open(file), {}});
      o->frame_of = chunk_seconds(o->file, file);
      open_ = std::move(o);
    }
    const auto f = open_->frame_of.find(gps);
    if (f == open_->frame_of.end()) {
      r.reason = "hole";
      r.detail = file + ": GPS " + std::to_string(gps) + " was not archived (not a good input second)";
      return r;
    }
    auto values = [&](const std::string& name, double& rate) {
      const gwf::Channel ch = open_->file.read_channel(f->second, name);
      rate = ch.sample_rate;
      std::vector<double> v = physical_values(ch);
      if (static_cast<double>(v.size()) != rate) {
        throw gwf::FormatError(file, 0, "FrVect", "channel " + name + " does not hold 1 s of data");
      }
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (!std::isfinite(v[i])) {
          r.reason = "non-finite";
          throw std::domain_error(file + ": channel " + name + " sample " + std::to_string(i) + " is not finite");
        }
      }
      return v;
    };
    r.strain = values(strain_channel, r.strain_rate);
    for (const std::string& w : witness_channels) {
      double rate = 0;
      r.witnesses.push_back(values(w, rate));
      r.witness_rates.push_back(rate);
    }
    r.good = true;
  } catch (const gwf::ChannelNotFound& e) {
    r = ReadSecond{};
    r.reason = "missing channel";
    r.detail = file + ": " + e.what();
  } catch (const gwf::FormatError& e) {
    r = ReadSecond{};
    r.reason = "corrupt";
    r.detail = e.what();
  } catch (const std::domain_error& e) {
    const std::string reason = r.reason;
    r = ReadSecond{};
    r.reason = reason;
    r.detail = e.what();
  } catch (const std::system_error& e) {
    r = ReadSecond{};
    r.reason = "corrupt";
    r.detail = file + ": " + e.what();
  }
  return r;
}

}  // namespace deepclean::daemon::archive
