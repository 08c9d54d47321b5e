// Offline cleaning and configuration checks. Uses core/model's loader (LibTorch stays inside
// core/model).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <iomanip>
#include <mutex>
#include <ostream>
#include <sstream>
#include <thread>
#include <unistd.h>

#include "daemon/offline/offline.hpp"

#include "core/model/load.hpp"
#include "daemon/model_setup/model_setup.hpp"
#include "daemon/models/repository.hpp"
#include "daemon/pipeline/asd_monitor.hpp"
#include "daemon/pipeline/input.hpp"
#include "daemon/pipeline/output.hpp"
#include "daemon/pipeline/pipeline.hpp"
#include "io/gwf/naming.hpp"
#include "io/gwf/reader.hpp"
#include "io/gwf/writer.hpp"

namespace deepclean::daemon {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string fmt_duration(double s) {
  std::ostringstream o;
  if (!std::isfinite(s) || s < 0) return "?";
  const long long t = std::llround(s);
  if (t >= 3600) o << t / 3600 << "h" << std::setw(2) << std::setfill('0') << (t % 3600) / 60 << "m";
  else if (t >= 60) o << t / 60 << "m" << std::setw(2) << std::setfill('0') << t % 60 << "s";
  else o << t << "s";
  return o.str();
}

// The newest GPS second with a strain frame in the strain directory.
std::vector<std::uint64_t> strain_seconds(const config::Config& cfg) {
  std::vector<std::uint64_t> out;
  std::error_code ec;
  for (fs::directory_iterator it(cfg.input.strain.directory, ec), end; !ec && it != end; it.increment(ec)) {
    const auto n = gwf::parse_frame_file_name(it->path().filename().string());
    if (n && n->tag == cfg.input.strain.frame_type && n->observatory == cfg.input.strain.observatory &&
        n->duration == 1) {
      out.push_back(n->gps);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// How far reading may run ahead of the second being pushed, and how many output seconds may wait
// for the writer before the main thread blocks.
constexpr std::size_t kReadAhead = 2;
constexpr std::size_t kWriteQueue = 4;

// Reads the input seconds [start, end) in GPS order on its own thread, at most `depth` seconds
// ahead of the one the caller took last (read_second only reads files, so it can run beside the
// model). An exception from reading is handed to the caller after the seconds read before it.
class ReadAhead {
 public:
  ReadAhead(InputSpec spec, std::uint64_t start, std::uint64_t end, std::size_t depth)
      : spec_(std::move(spec)), start_(start), end_(end), depth_(depth), thread_([this] { run(); }) {}
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;
  ~ReadAhead() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    space_.notify_all();
    thread_.join();
  }

  // The next second in GPS order (call at most end - start times); blocks until it has been read
  // and adds the time blocked to `waited`.
  SecondInput next(double& waited) {
    const auto t0 = Clock::now();
    std::unique_lock<std::mutex> lk(m_);
    ready_.wait(lk, [&] { return !queue_.empty() || error_; });
    waited += since(t0);
    if (queue_.empty()) std::rethrow_exception(error_);
    SecondInput in = std::move(queue_.front());
    queue_.pop_front();
    lk.unlock();
    space_.notify_one();
    return in;
  }
  // Time spent reading (final once every second has been taken).
  double busy() const {
    std::lock_guard<std::mutex> lk(m_);
    return busy_;
  }

 private:
  void run() {
    try {
      for (std::uint64_t gps = start_; gps < end_; ++gps) {
        {
          std::unique_lock<std::mutex> lk(m_);
          space_.wait(lk, [&] { return stop_ || queue_.size() < depth_; });
          if (stop_) return;
        }
        // Only this thread adds to the queue, so there is still room after the unlocked read.
        const auto t0 = Clock::now();
        SecondInput in = read_second(spec_, gps);
        const double dt = since(t0);
        {
          std::lock_guard<std::mutex> lk(m_);
          busy_ += dt;
          queue_.push_back(std::move(in));
        }
        ready_.notify_one();
      }
    } catch (...) {
      {
        std::lock_guard<std::mutex> lk(m_);
        error_ = std::current_exception();
      }
      ready_.notify_one();
    }
  }

  const InputSpec spec_;
  const std::uint64_t start_, end_;
  const std::size_t depth_;
  mutable std::mutex m_;
  std::condition_variable ready_, space_;  // a second was queued; room in the queue (or stop)
  std::deque<SecondInput> queue_;           // guarded by m_, as are the three below
  bool stop_ = false;
  double busy_ = 0;
  std::exception_ptr error_;
  std::thread thread_;  // last: starts once the members above are constructed
};

// What the writer thread counted; read by the main thread only after the join.
struct WriteCounts {
  std::uint64_t seconds_out = 0, seconds_cleaned = 0, write_errors = 0;
  std::uint64_t samples_written = 0, samples_cleaned = 0;
  double busy = 0;  // building, monitoring and publishing
  bool gate_enabled = false, gate_open = true;
  std::map<std::string, double> gated;  // seconds with q < 1 by reason
  std::uint64_t closings = 0, openings = 0;
};

// Publishes output seconds in the order given on its own thread, with at most `depth` waiting
// (push blocks when full). The writer thread alone touches the band ASD monitor and the counts
// until finish() (or the destructor) has joined it. A failed publish is logged with the GPS and
// the reason and counted, as before; any other exception stops the writer and is rethrown by the
// next push or by finish().
class WriteBehind {
 public:
  WriteBehind(const config::Config& cfg, OutputNames names, BandAsdMonitor& asd, std::size_t depth)
      : cfg_(cfg),
        names_(std::move(names)),
        asd_(asd),
        wopt_(write_options(cfg)),
        depth_(depth),
        thread_([this] { run(); }) {}
  WriteBehind(const WriteBehind&) = delete;
  WriteBehind& operator=(const WriteBehind&) = delete;
  // Also on the way out of an exception: the frames queued so far are still published.
  ~WriteBehind() { join(); }

  // Queue one output second; adds the time blocked for room to `waited`.
  void push(OutputSecond&& o, double& waited) {
    const auto t0 = Clock::now();
    std::unique_lock<std::mutex> lk(m_);
    space_.wait(lk, [&] { return queue_.size() < depth_ || error_; });
    waited += since(t0);
    if (error_) std::rethrow_exception(error_);
    queue_.push_back(std::move(o));
    lk.unlock();
    ready_.notify_one();
  }
  // Publishes what is queued, joins the thread (the time it takes is added to `waited`) and
  // returns the counts.
  const WriteCounts& finish(double& waited) {
    const auto t0 = Clock::now();
    join();
    waited += since(t0);
    if (error_) std::rethrow_exception(error_);  // joined: no lock needed
    return counts_;
  }

 private:
  void join() noexcept {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lk(m_);
      closing_ = true;
    }
    ready_.notify_one();
    thread_.join();
  }

  void run() {
    for (;;) {
      OutputSecond o;
      {
        std::unique_lock<std::mutex> lk(m_);
        ready_.wait(lk, [&] { return closing_ || !queue_.empty(); });
        if (queue_.empty()) return;  // closing, and everything is published
        o = std::move(queue_.front());
        queue_.pop_front();
      }
      space_.notify_one();
      try {
        write(o);
      } catch (...) {
        {
          std::lock_guard<std::mutex> lk(m_);
          error_ = std::current_exception();
        }
        space_.notify_one();
        return;
      }
    }
  }

  void write(const OutputSecond& o) {
    const auto t0 = Clock::now();
    const std::size_t cleaned_samples = static_cast<std::size_t>(
        std::count_if(o.state.begin(), o.state.end(), [](std::uint32_t b) { return b & kCleaned; }));
    if (cleaned_samples == o.state.size()) {
      asd_.add(physical_values(o.raw_strain), o.cleaned, o.raw_strain.sample_rate);
      ++counts_.seconds_cleaned;
    }
    counts_.samples_written += o.cleaned.size();
    if (o.gate.enabled) {
      spdlog::debug("GPS {}: gate {}: {}", o.gps, o.gate.open ? "open" : "closed (" + o.gate.reason + ")",
                    o.gate.figures.empty() ? "no figure" : o.gate.figures);
      counts_.gate_enabled = true;
      counts_.gate_open = o.gate.open;
      if (o.gate.gated_fraction > 0 && !o.gate.reason.empty()) counts_.gated[o.gate.reason] += o.gate.gated_fraction;
      if (o.gate.changed) {
        (o.gate.open ? counts_.openings : counts_.closings) += 1;
        if (o.gate.open) {
          spdlog::info("{}", gate_change_text(o));
        } else {
          spdlog::warn("{}", gate_change_text(o));
        }
      }
    }
    counts_.samples_cleaned += cleaned_samples * o.cleaned.size() / o.state.size();
    try {
      gwf::write_frame_file(output_path(cfg_, o.gps), {build_output_frame(o, names_, cfg_.ifo)}, wopt_);
      ++counts_.seconds_out;
    } catch (const std::exception& e) {
      ++counts_.write_errors;
      spdlog::error("GPS {}: {}", o.gps, e.what());
    }
    counts_.busy += since(t0);
  }

  const config::Config& cfg_;
  const OutputNames names_;
  BandAsdMonitor& asd_;  // writer thread only, until joined
  const gwf::WriteOptions wopt_;
  const std::size_t depth_;
  WriteCounts counts_;  // writer thread only, until joined
  std::mutex m_;
  std::condition_variable ready_, space_;  // a second was queued (or closing); room (or an error)
  std::deque<OutputSecond> queue_;          // guarded by m_, as are the two below
  bool closing_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: starts once the members above are constructed
};

}  // namespace

ObservedRates observe_rates(const config::Config& cfg, const bundle::BundleInfo& bundle) {
  const InputSpec spec = input_spec(cfg, bundle);
  const auto seconds = strain_seconds(cfg);
  // Try the newest few seconds: the very newest may be half-written.
  for (auto it = seconds.rbegin(); it != seconds.rend() && it - seconds.rbegin() < 5; ++it) {
    const SecondInput in = read_second(spec, *it);
    if (in.strain && in.witnesses.size() == bundle.witnesses.size()) {
      return {in.witness_rates, in.strain->sample_rate, *it};
    }
  }
  return {};
}

namespace {

// Why this process cannot write `dir` (or create it under its nearest existing parent); empty if it can.
// Under the packaged unit a read-only file system is ProtectSystem=strict: the reason names the drop-in.
std::string unwritable(const fs::path& dir, const std::string& what, const std::string& config_path) {
  fs::path p = dir;
  std::error_code ec;
  while (!p.empty() && !fs::exists(p, ec)) p = p.parent_path();
  if (!p.empty() && ::access(p.c_str(), W_OK) == 0) return {};
  const int err = p.empty() ? ENOENT : errno;
  std::string msg = what + " " + dir.string() + " is not writable or creatable (checked " +
                    (p.empty() ? std::string("no existing parent") : p.string()) + ": " + std::strerror(err) + ")";
  if (err == EROFS && std::getenv("INVOCATION_ID") != nullptr) {  // systemd sets INVOCATION_ID for services
    msg += "; the unit's ProtectSystem=strict makes it read-only for the service: allow it in a drop-in, `systemctl edit "
           "deepclean@" + fs::path(config_path).stem().string() + "`, with the lines `[Service]` and `ReadWritePaths=" +
           dir.string() + "` (the directory must exist before the service starts)";
  }
  return msg;
}

}  // namespace

std::vector<std::string> check_config(const std::string& path, std::ostream& out) {
  std::vector<std::string> problems;
  config::Config cfg;
  try {
    cfg = config::load_config(path);
  } catch (const config::ConfigError& e) {
    return {e.what()};
  }
  out << "configuration: " << path << " (" << cfg.ifo << ")\n";
  try {
    model::check_device_available(model::parse_device(cfg.model.device));
  } catch (const std::exception& e) {
    problems.push_back(cfg.source_file + ": model.device: " + e.what());
  }
  bundle::BundleInfo info;
  if (!cfg.models.repository.empty()) {
    // The bundle a start would load: the repository's production, model.bundle or its newest version.
    try {
      const daemon::models::Repository repo(cfg.models.repository, cfg.models.archive);
      const auto p = daemon::models::startup_production(repo, repo.read_record(), cfg.model.bundle);
      if (!p.error.empty()) throw std::runtime_error(p.error);
      out << "model repository: " << repo.directory().string() << ": " << p.how << "\n";
      cfg.model.bundle = p.bundle.string();
    } catch (const std::exception& e) {
      problems.push_back(cfg.source_file + ": models.repository: " + e.what());
      return problems;
    }
  }
  try {
    const int fs = bundle::read_bundle_info(cfg.model.bundle).sample_rate;
    info = model::check_bundle(cfg.model.bundle,
                               static_cast<std::size_t>(std::llround(cfg.inference.kernel_seconds * fs)));
  } catch (const std::exception& e) {
    problems.push_back(cfg.source_file + ": model.bundle: " + e.what());
    return problems;
  }
  out << "model bundle:  " << info.directory.string() << "\n"
      << "  id " << info.id << ", version " << info.version << ", " << info.channels()
      << " witnesses at " << info.sample_rate << " Hz, " << info.parameter_count << " parameters\n";

  if (const std::string w = streaming_training_mismatch(cfg, info); !w.empty()) out << "warning:       " << w << "\n";
  ObservedRates rates = observe_rates(cfg, info);
  const bool observed = !rates.witness.empty();
  if (!observed) {
    rates.witness.assign(info.channels(), info.sample_rate);
    rates.strain = info.sample_rate;
  }
  try {
    const stream::CleanerConfig cc = cleaner_config(cfg, info, rates.witness, rates.strain);
    const auto& g = cc.geometry;
    out << "stream:        K = " << g.kernel_length << ", s = " << g.stride << ", N = " << g.num_averaged
        << ", a = " << g.first_used() << " samples at fs = " << cc.fs << " Hz\n"
        << "band-pass:     " << config::method_name(cfg.bandpass.method);
    if (cc.method == stream::BandpassMethod::fir) {
      const auto L = static_cast<std::size_t>(std::llround(cc.look_ahead_seconds * cc.fs));
      out << ", " << 2 * L + 1 << " taps (Kaiser beta " << cc.kaiser_beta << "), look-ahead " << cc.look_ahead_seconds
          << " s";
    } else {
      out << ", order " << cc.order;
      if (cc.method == stream::BandpassMethod::window) {
        out << ", look-ahead " << cc.look_ahead_seconds << " s, memory " << cc.memory_seconds << " s";
      }
    }
    out << ", bands";
    for (const auto& b : cc.bands) out << " [" << b.lo << ", " << b.hi << "]";
    out << "\n";
    const double total = stream::algorithmic_latency_seconds(cc);
    const double averaging = static_cast<double>(g.num_averaged * g.stride) / cc.fs;
    const bool ahead = cc.method == stream::BandpassMethod::window || cc.method == stream::BandpassMethod::fir;
    const double bandpass = ahead ? cc.look_ahead_seconds : 0.0;
    out << "latency:       " << std::fixed << std::setprecision(4) << total << " s algorithmic = " << averaging
        << " averaging + " << bandpass << " band-pass look-ahead (" << config::method_name(cfg.bandpass.method) << ") + "
        << total - averaging - bandpass << " resampling and interpolation"
        << (observed ? " (witness rates read from GPS " + std::to_string(rates.gps) + ")"
                     : " (no input frame found: witness resampling not included)")
        << "\n" << std::defaultfloat;
  } catch (const std::exception& e) {
    // Messages that already point into the file (file:line:column) are kept as they are.
    const std::string what = e.what();
    problems.push_back(what.rfind(cfg.source_file + ":", 0) == 0 ? what : cfg.source_file + ": " + what);
  }
  // A missing input directory is not an error: after a reboot /dev/shm is empty until the site's frame
  // distribution makes it again, and `run` waits for it. Say so, so that a typo is still seen.
  for (const auto* src : {&cfg.input.strain, &cfg.input.witness}) {
    std::error_code ec;
    if (src == &cfg.input.witness && src->directory == cfg.input.strain.directory) continue;
    if (!fs::is_directory(src->directory, ec)) {
      out << "warning:       input directory " << src->directory
          << " does not exist (yet): `deepclean run` waits for it to appear\n";
    }
  }
  // The output directory must exist and be writable, or be creatable; the metrics directory must exist.
  const std::string out_problem = unwritable(cfg.output.directory, "output directory", path);
  if (!out_problem.empty()) problems.push_back(cfg.source_file + ": " + out_problem);
  if (!cfg.metrics.path.empty()) {
    const fs::path dir = fs::path(cfg.metrics.path).parent_path();
    std::error_code ec;
    const std::string m = fs::is_directory(dir, ec) ? unwritable(dir, "metrics directory", path)
                                                    : "metrics directory " + dir.string() + " does not exist";
    if (!m.empty()) problems.push_back(cfg.source_file + ": " + m);
  }
  out << (problems.empty() ? "configuration OK\n" : "");
  return problems;
}

CleanSummary clean_offline(const config::Config& cfg, std::uint64_t start, std::uint64_t end,
                           std::ostream* progress) {
  CleanSummary s;
  s.seconds_requested = end > start ? end - start : 0;
  const auto t_start = Clock::now();
  model::LoadedModel loaded = load_configured_model(cfg, true);
  Pipeline pipeline(cfg, loaded.info, std::move(loaded.predictor), estimator_factory(cfg));
  const InputSpec spec = input_spec(cfg, loaded.info);
  fs::create_directories(cfg.output.directory);

  // The bundle's bands (what the model cleans), not bandpass.bands (the filter's, often wider).
  BandAsdMonitor asd(cleaning_bands(loaded.info));

  // Reading runs ahead and writing behind on their own threads, so the main thread's critical path
  // is the clean DSP and the model (plus any wait for an input second or for room to write).
  const auto t_loop = Clock::now();
  ReadAhead reader(spec, start, end, kReadAhead);
  WriteBehind writer(cfg, pipeline.names(), asd, kWriteQueue);
  auto last_progress = Clock::now();
  for (std::uint64_t gps = start; gps < end; ++gps) {
    const SecondInput in = reader.next(s.read_wait);
    if (in.strain) ++s.seconds_in;
    if (!in.good()) {
      if (in.problem == InputProblem::MissingFile && !in.strain) ++s.missing;
      else ++s.unusable;
      spdlog::warn("GPS {}: {} ({}){}", gps, in.detail, problem_name(in.problem),
                   in.strain ? "; writing the raw strain" : "; no output for this second");
    }
    for (const auto& w : in.warnings) spdlog::warn("GPS {}: {}", gps, w);
    Pipeline::PushResult r = pipeline.push(in);
    if (!r.rejected.empty()) spdlog::warn("GPS {}: cannot clean: {}; writing the raw strain", gps, r.rejected);
    for (auto& o : r.outputs) writer.push(std::move(o), s.write_wait);
    if (progress && (since(last_progress) >= 1.0 || gps + 1 == end)) {
      last_progress = Clock::now();
      const double done = static_cast<double>(gps + 1 - start);
      const double wall = since(t_start);
      const double speed = done / wall;
      *progress << "\r" << static_cast<std::uint64_t>(done) << "/" << s.seconds_requested << " s  "
                << std::fixed << std::setprecision(1) << speed << "x real time  ETA "
                << fmt_duration((static_cast<double>(s.seconds_requested) - done) / speed) << "   "
                << std::defaultfloat << std::flush;
    }
  }
  for (auto& o : pipeline.finish()) writer.push(std::move(o), s.write_wait);
  const WriteCounts& written = writer.finish(s.write_wait);
  s.loop_seconds = since(t_loop);
  if (progress) *progress << "\n";

  s.seconds_out = written.seconds_out;
  s.seconds_cleaned = written.seconds_cleaned;
  s.write_errors = written.write_errors;
  s.gate_enabled = written.gate_enabled;
  s.gate_open_at_end = written.gate_open;
  s.gated_seconds = written.gated;
  s.gate_closings = written.closings;
  s.gate_openings = written.openings;
  s.segments = pipeline.segments_started();
  s.cleaned_fraction = written.samples_written ? static_cast<double>(written.samples_cleaned) /
                                                     static_cast<double>(written.samples_written)
                                               : 0;
  for (std::size_t b = 0; b < asd.bands().size(); ++b) {
    s.band_asd_ratio.emplace_back(BandAsdMonitor::label(asd.bands()[b]), asd.ratio(b));
  }
  s.wall_seconds = since(t_start);
  s.read = reader.busy();
  s.write = written.busy;
  s.clean = pipeline.stages().clean;
  s.model = pipeline.stages().model;
  return s;
}

void print_summary(const CleanSummary& s, std::ostream& out) {
  const double processing = s.read + s.clean + s.model + s.write;
  out << "seconds:   " << s.seconds_requested << " requested, " << s.seconds_in << " in (with strain), "
      << s.seconds_out << " out, " << s.seconds_cleaned << " fully cleaned\n"
      << "problems:  " << s.missing << " missing, " << s.unusable << " unusable, " << s.write_errors
      << " write errors\n"
      << "segments:  " << s.segments << "\n"
      << "cleaned:   " << std::fixed << std::setprecision(3) << s.cleaned_fraction
      << " of output samples (g = 1)\n";
  for (const auto& [band, r] : s.band_asd_ratio) {
    out << "band ASD ratio cleaned/raw " << band << " Hz: " << std::setprecision(4) << r << "\n";
  }
  if (s.gate_enabled) {
    double total = 0;
    for (const auto& [why, sec] : s.gated_seconds) total += sec;
    out << "gate:      " << std::setprecision(1) << total << " s gated";
    if (total > 0) {
      out << " (";
      bool first = true;
      for (const auto& [why, sec] : s.gated_seconds) {
        out << (first ? "" : ", ") << why << " " << sec << " s";
        first = false;
      }
      out << ")";
    }
    out << ", closed " << s.gate_closings << " times, opened again " << s.gate_openings << " times; "
        << (s.gate_open_at_end ? "open" : "closed") << " at the end\n";
  } else {
    out << "gate:      off (gate.enabled: false)\n";
  }
  out << "speed:     " << std::setprecision(1)
      << (s.wall_seconds > 0 ? static_cast<double>(s.seconds_requested) / s.wall_seconds : 0.0)
      << "x real time (" << std::setprecision(2) << s.wall_seconds << " s wall, model load included)\n";
  auto pct = [&](double x) { return processing > 0 ? 100.0 * x / processing : 0.0; };
  out << std::setprecision(3) << "stages:    read " << s.read << " s (" << std::setprecision(1) << pct(s.read)
      << "%), clean " << std::setprecision(3) << s.clean << " s (" << std::setprecision(1) << pct(s.clean)
      << "%), model " << std::setprecision(3) << s.model << " s (" << std::setprecision(1) << pct(s.model)
      << "%), write " << std::setprecision(3) << s.write << " s (" << std::setprecision(1) << pct(s.write)
      << "%)\n";
  // The main thread's time: what is not the model here is what reading and writing did not hide.
  const double non_model = s.loop_seconds > 0 ? 100.0 * (s.loop_seconds - s.model) / s.loop_seconds : 0.0;
  out << std::setprecision(3) << "critical path: model " << s.model << " s, clean " << s.clean
      << " s, read wait " << s.read_wait << " s, write wait " << s.write_wait << " s, loop " << s.loop_seconds
      << " s: non-model " << std::setprecision(1) << non_model << "% of the loop's wall time\n"
      << std::defaultfloat;
}

}  // namespace deepclean::daemon
