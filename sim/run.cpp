#include "sim/run.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <memory>
#include <queue>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "io/gwf/writer.hpp"
#include "sim/random.hpp"

namespace deepclean::sim {
namespace {

namespace fs = std::filesystem;

struct Pending {
  double due = 0;       // realtime: GPS time; otherwise the generation slot
  std::uint64_t order = 0;
  int which = 0;        // 0 strain, 1 witness
  std::int64_t gps = 0;
  std::string dir, name, note;
  std::shared_ptr<const std::vector<std::byte>> bytes;
  bool operator>(const Pending& o) const { return due != o.due ? due > o.due : order > o.order; }
};

void write_all(int fd, const std::byte* p, std::size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "write " + path);
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

double cpu_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace

std::string strain_directory(const std::string& out, const std::string& ifo) {
  return (fs::path(out) / "kafka" / ifo).string();
}
std::string witness_directory(const std::string& out, const std::string& ifo) {
  return (fs::path(out) / "lldetchar" / ifo).string();
}
std::string strain_file_name(const std::string& ifo, std::int64_t gps) {
  return ifo.substr(0, 1) + "-" + ifo + "_llhoft-" + std::to_string(gps) + "-1.gwf";
}
std::string witness_file_name(const std::string& ifo, std::int64_t gps) {
  return ifo.substr(0, 1) + "-" + ifo + "_lldetchar-" + std::to_string(gps) + "-1.gwf";
}

double gps_now() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const double unix_s = std::chrono::duration<double>(now).count();
  return unix_s - 315964800.0 + 18.0;
}

void publish_bytes(const std::string& dir, const std::string& name, const std::vector<std::byte>& bytes) {
  const std::string tmp = dir + "/." + name + "." + std::to_string(::getpid()) + ".tmp";
  const std::string path = dir + "/" + name;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + tmp);
  try {
    write_all(fd, bytes.data(), bytes.size(), tmp);
    if (::fsync(fd) != 0) throw std::system_error(errno, std::generic_category(), "fsync " + tmp);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw std::system_error(errno, std::generic_category(), "close " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    throw std::system_error(e, std::generic_category(), "rename to " + path);
  }
  // The rename is durable once the directory is synced (a crash cannot bring back the old name).
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

RunStats run_simulation(const RunOptions& o) {
  if (o.duration < 0) throw std::invalid_argument("--duration must be >= 0");
  if (o.duration == 0 && !o.realtime) throw std::invalid_argument("--duration 0 (endless) needs --realtime");
  if (o.speed < 0 || (o.speed > 0 && o.realtime)) throw std::invalid_argument("--speed must be > 0, without --realtime");
  if (o.start < 0 || o.start + o.duration > 0xFFFFFFFFLL) throw std::invalid_argument("--start out of range");
  Simulator sim(o.sim);
  const std::string ifo = o.sim.ifo;
  const std::string dirs[2] = {strain_directory(o.out_dir, ifo), witness_directory(o.out_dir, ifo)};
  for (const auto& d : dirs) fs::create_directories(d);
  gwf::WriteOptions wo;
  wo.compression = o.compression;
  wo.zlib_level = o.zlib_level;

  RunStats stats;
  const auto wall0 = std::chrono::steady_clock::now();
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> queue;
  std::uint64_t order = 0;
  const bool endless = o.duration == 0;
  const std::int64_t end = o.start + o.duration;
  auto stopped = [&] { return o.stop != nullptr && o.stop->load(); };

  auto publish = [&](const Pending& p) {
    publish_bytes(p.dir, p.name, *p.bytes);
    ++stats.files;
    if (o.log) {
      *o.log << "publish " << (p.which == 0 ? "strain" : "witness") << " " << p.gps << " " << p.dir << "/" << p.name
             << (p.note.empty() ? "" : " " + p.note) << "\n"
             << std::flush;
    }
    if (o.retention > 0) {
      const std::int64_t old = p.gps - o.retention;
      if (old >= 0) {
        std::error_code ec;
        fs::remove(fs::path(p.dir) / (p.which == 0 ? strain_file_name(ifo, old) : witness_file_name(ifo, old)), ec);
      }
    }
  };

  auto generate = [&](std::int64_t gps) {
    const double c0 = cpu_now();
    SecondFrames fr = sim.generate(gps);
    const SecondFaults f = faults_for(o.faults, o.sim.seed, o.start, gps, sim.mains_channel());
    apply_frame_faults(f, o.sim.seed, gps, fr.strain, fr.witness, sim.strain_channel(), sim.state_channel());
    for (int w = 0; w < 2; ++w) {
      const FileFaults& ff = f.file[w];
      const std::string name = w == 0 ? strain_file_name(ifo, gps) : witness_file_name(ifo, gps);
      std::string note;
      for (const auto& d : ff.descriptions) note += (note.empty() ? "" : ",") + d;
      if (ff.missing) {
        if (o.log) *o.log << "skip " << (w == 0 ? "strain" : "witness") << " " << gps << " " << dirs[w] << "/" << name << " " << note << "\n" << std::flush;
        continue;
      }
      auto bytes = std::make_shared<std::vector<std::byte>>(gwf::encode_frames({w == 0 ? fr.strain : fr.witness}, wo));
      apply_byte_faults(ff, o.sim.seed, gps, w, *bytes);
      // Realtime: the site publishes a second shortly after it ends; witness and strain come from
      // different pipelines, so their delays differ and their order varies (deterministic jitter).
      double due = static_cast<double>(gps);
      if (o.realtime) {
        const double u = uniform01(stream_key(o.sim.seed, static_cast<std::uint64_t>(w) + 77, gps, 200));
        due = static_cast<double>(gps + 1) + (w == 0 ? 0.30 + 0.20 * u : 0.20 + 0.30 * u);
      }
      due += ff.late_seconds;
      // Within a slot the witness file goes first in the fast mode (order by `order`).
      Pending p{due, order++ + (w == 0 ? 1u : 0u), w, gps, dirs[w], name, note, bytes};
      if (!o.realtime) {
        // Fast mode: a late file goes out after the regular files of the second it is late into.
        p.order = 2 * static_cast<std::uint64_t>(stats.seconds) + (w == 0 ? 1u : 0u) +
                  (ff.late_seconds > 0 ? std::uint64_t{1} << 40 : 0u);
      }
      queue.push(p);
      if (ff.duplicate) {
        p.due += 1;
        p.order += 1u << 20;
        p.note = note.empty() ? "again" : note + ",again";
        queue.push(p);
      }
    }
    ++stats.seconds;
    stats.cpu_seconds += cpu_now() - c0;
  };

  std::int64_t gps = o.start;
  if (!o.realtime) {
    for (; gps < end && !stopped(); ++gps) {
      if (o.speed > 0) {  // paced: second gps no earlier than (gps - start) / speed after the start
        std::this_thread::sleep_until(wall0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                  std::chrono::duration<double>(static_cast<double>(gps - o.start) / o.speed)));
      }
      generate(gps);
      while (!queue.empty() && queue.top().due <= static_cast<double>(gps)) {
        const double c0 = cpu_now();
        publish(queue.top());
        queue.pop();
        stats.cpu_seconds += cpu_now() - c0;
      }
    }
    while (!queue.empty() && !stopped()) {
      publish(queue.top());
      queue.pop();
    }
  } else {
    while (!stopped()) {
      const double now = gps_now();
      if (!queue.empty() && queue.top().due <= now) {
        publish(queue.top());
        queue.pop();
        continue;
      }
      const bool more = endless || gps < end;
      if (more && now >= static_cast<double>(gps + 1)) {
        generate(gps++);
        continue;
      }
      if (!more && queue.empty()) break;
      double next = more ? static_cast<double>(gps + 1) : 1e300;
      if (!queue.empty()) next = std::min(next, queue.top().due);
      const double wait = std::min(std::max(next - now, 0.0), 0.1);
      std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    }
  }
  stats.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  return stats;
}

}  // namespace deepclean::sim
