// `deepclean run`. Threading: one io_context thread does everything that touches the pipeline:
// inotify/poll events, the sequencing timers, signals, inference, writing. Inference on that thread
// is deliberate: seconds must be processed strictly one after another anyway, a 1-s frame costs far
// less than a second to clean, signals then naturally land between two seconds ("finish the second
// in flight"), and the watchdog, pinged from this same thread, stops when inference hangs. Catch-up
// work is posted one second at a time so events and signals interleave with it. Only the SIGHUP
// model load runs on a helper thread (it can take seconds on a GPU); its result is posted back and
// swapped in between two seconds.
#include <malloc.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "config/config.hpp"
#include "core/model/device.hpp"
#include "core/model/load.hpp"
#include "daemon/archive/training_archive.hpp"
#include "daemon/control/control.hpp"
#include "daemon/model_setup/model_setup.hpp"
#include "daemon/models/lifecycle.hpp"
#include "daemon/ops/logging.hpp"
#include "daemon/ops/metrics.hpp"
#include "daemon/ops/notify.hpp"
#include "daemon/pipeline/input.hpp"
#include "daemon/pipeline/output.hpp"
#include "daemon/pipeline/pipeline.hpp"
#include "daemon/scheduling/scheduler.hpp"
#include "daemon/service/output_writer.hpp"
#include "daemon/service/service.hpp"
#include "deepclean/version.hpp"
#include "io/gwf/naming.hpp"
#include "io/gwf/writer.hpp"
#include "io/watch/directory_watcher.hpp"
#include "io/watch/frame_watcher.hpp"

namespace deepclean::daemon {

namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// Retry period of a half-written or unreadable input file before its timeout runs out.
constexpr auto kRetryInterval = std::chrono::milliseconds(100);
// Seconds behind the sequence remembered to tell late and duplicate files apart.
constexpr std::uint64_t kHistorySeconds = 4096;

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::optional<FileId> file_id(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  FileId id;
  id.device = st.st_dev;
  id.inode = st.st_ino;
  id.mtime_ns = std::int64_t{st.st_mtim.tv_sec} * 1000000000LL + std::int64_t{st.st_mtim.tv_nsec};
  id.size = static_cast<std::uint64_t>(st.st_size);
  return id;
}

// "a, b and c" for a log line.
std::string key_list(const std::vector<std::string>& keys) {
  std::string out;
  for (std::size_t i = 0; i < keys.size(); ++i) out += (i == 0 ? "" : i + 1 == keys.size() ? " and " : ", ") + keys[i];
  return out;
}

struct Reloaded {
  std::optional<config::Config> cfg;
  config::Config file;  // as read (cfg: with the repository's production bundle)
  model::LoadedModel model;
  std::string error;
};

// A canary loaded on the helper thread.
struct CanaryLoad {
  std::string version;
  std::unique_ptr<Pipeline> pipeline;
  InputSpec spec;
  std::string error;
};

std::chrono::milliseconds scan_interval(const config::Config& cfg) {
  return std::chrono::milliseconds(std::llround(cfg.models.scan_interval_seconds * 1000.0));
}

models::LifecycleSettings lifecycle_settings(const config::Config& cfg) {
  models::LifecycleSettings s;
  s.validation.seconds = cfg.models.validation_seconds;
  s.validation.margin = cfg.models.margin;
  s.validation.max_compute_seconds = cfg.models.max_compute_seconds;
  s.probation_seconds = cfg.models.probation_seconds;
  s.crossfade_seconds = cfg.models.crossfade_seconds;
  s.write_canary = !cfg.models.candidate_directory.empty();
  return s;
}

class Service {
 public:
  explicit Service(std::string path)
      : config_path_(std::move(path)),
        // Registered before the (slow) model load so a signal during start-up is queued, not fatal.
        stop_signals_(io_, SIGINT, SIGTERM),
        hup_(io_, SIGHUP),
        wake_(io_),
        tick_(io_),
        dog_(io_),
        warn_(std::chrono::seconds(30), 3) {}

  int run();

 private:
  bool start_up();
  void wait_for_input_directories(const std::vector<watch::WatchedType>& types);
  void choose_start(const std::vector<watch::FrameArrival>& present);
  void on_arrival(const watch::FrameArrival& a);
  void post_step();
  void step();
  void attempt(std::uint64_t gps, bool last_chance);
  void process(SecondInput in, double read_s);
  void give_up(std::uint64_t first, std::uint64_t count);
  void enqueue(std::vector<OutputSecond> outs, SteadyTime arrival, Completion by) {
    output_->enqueue(std::move(outs), pipeline().names(), arrival, by);
  }
  void account(const StageTimes& spent, double read_s, double write_s);
  // Model lifecycle (docs/model-lifecycle.md).
  bool choose_production(models::Repository& repo, models::Record& record, std::string& version);
  void shadow(const SecondInput& in, SteadyTime arrival, Completion by);
  void scan_repository();
  void apply_settings(const Reloaded& r);
  void archive_second(SecondInput in);
  void maybe_load_canary();
  void finish_canary_load(const std::shared_ptr<CanaryLoad>& r);
  void write_canary_frames();
  void lifecycle_metrics();
  std::string control(const std::vector<std::string>& words);
  Pipeline& pipeline() { return life_->production(); }
  void write_metrics();
  void status(const std::string& text, bool force = false);
  void arm_tick();
  void arm_watchdog();
  void arm_stop();
  void arm_hup();
  void request_reload();
  void finish_reload(const std::shared_ptr<Reloaded>& r);
  void shutdown(int signal);
  const config::FrameSource& source(std::size_t s) const {
    return s == 0 ? cfg_.input.strain : cfg_.input.witness;
  }

  std::string config_path_;
  asio::io_context io_;
  asio::signal_set stop_signals_;
  asio::signal_set hup_;
  asio::steady_timer wake_, tick_, dog_;
  RateLimitedWarnings warn_;
  ServiceNotifier notify_;

  config::Config cfg_;
  config::Config file_cfg_;
  bool input_paused_ = false;  // the output queue reached kMaxQueuedOutputs (logged once per episode)  // the configuration as read from the file (model.bundle as written)
  std::string device_;
  model::DeviceSpec device_spec_;  // where the model runs (deepclean_gpu_memory_bytes on CUDA)
  std::unique_ptr<models::Lifecycle> life_;  // the model slots; production's pipeline is pipeline()
  InputSpec spec_;
  std::size_t sources_ = 1;
  std::unique_ptr<SecondScheduler> sched_;
  std::unique_ptr<watch::FrameWatcher> watcher_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<OutputWriter> output_;
  std::unique_ptr<watch::DirectoryWatcher> repo_watch_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<archive::Writer> archive_;  // the training archive (docs/retraining.md); null: none
  std::string repo_problem_;  // the repository's last scan error, logged once

  bool wait_first_ = false;       // start at the first file that arrives
  std::optional<std::pair<std::size_t, SteadyTime>> catch_up_;  // backlog at start-up, when
  bool step_posted_ = false;
  bool stopping_ = false;
  bool stall_flushed_ = false;
  bool waiting_ = false;
  std::uint64_t segments_seen_ = 0;
  SteadyTime last_push_arrival_{};
  SteadyTime last_activity_ = Clock::now();
  SteadyTime last_status_{};
  SteadyTime last_trim_ = Clock::now();  // the last malloc_trim (arm_tick)
  std::string last_status_text_;
  double reported_latency_ = 0;

  std::thread reload_thread_;
  std::thread canary_thread_;
  bool canary_loading_ = false;
  bool reloading_ = false;
  bool reload_again_ = false;
  int exit_code_ = 0;
};

int Service::run() {
  if (!start_up()) {
    if (watcher_) watcher_->stop();
    return 1;
  }
  // A handler that throws must not take the service down: log it and keep the loop going.
  for (;;) {
    try {
      io_.run();
      break;
    } catch (const std::exception& e) {
      spdlog::critical("internal error in the event loop: {}; continuing", e.what());
    }
  }
  if (reload_thread_.joinable()) reload_thread_.join();
  if (canary_thread_.joinable()) canary_thread_.join();
  return exit_code_;
}

// The input directories usually live on /dev/shm, which is empty after a reboot; the site's frame
// distribution makes them, possibly after this service has started. Failing would exhaust systemd's
// start limit within seconds, so the service waits for them before it goes on (and before READY=1):
// STATUS and a warning a minute name what is missing, and the start timeout is extended meanwhile. A
// SIGTERM (no handler is installed yet) ends the wait and the process.
void Service::wait_for_input_directories(const std::vector<watch::WatchedType>& types) {
  auto missing = [&types] {
    std::string m;
    for (const auto& t : types) {
      std::error_code ec;
      if (!fs::is_directory(t.directory, ec)) m += (m.empty() ? "" : ", ") + t.directory;
    }
    return m;
  };
  std::string m = missing();
  if (m.empty()) return;
  const auto t0 = Clock::now();
  auto last_warning = t0 - std::chrono::minutes(2);
  auto last_extend = t0 - std::chrono::minutes(1);
  while (!m.empty()) {
    const auto now = Clock::now();
    const auto waited = std::chrono::duration_cast<std::chrono::seconds>(now - t0).count();
    if (now - last_warning >= std::chrono::minutes(1)) {
      spdlog::warn("input directory {} does not exist{}: waiting for it (it is made by the frame distribution; "
                   "check input.*.directory in {} if it never appears)",
                   m, waited > 0 ? " after " + std::to_string(waited) + " s" : "", config_path_);
      last_warning = now;
    }
    if (now - last_extend >= std::chrono::seconds(10)) {
      notify_.status("waiting for input directory " + m + " (" + std::to_string(waited) + " s)");
      notify_.extend_timeout(std::chrono::seconds(30));
      last_extend = now;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    m = missing();
  }
  spdlog::info("input directories present after {:.1f} s of waiting",
               std::chrono::duration<double>(Clock::now() - t0).count());
}

bool Service::start_up() {
  try {
    cfg_ = config::load_config(config_path_);
    file_cfg_ = cfg_;
  } catch (const std::exception& e) {
    std::cerr << "deepclean run: " << e.what() << "\n";
    return false;
  }
  setup_logging(cfg_.logging.level);
  sources_ = cfg_.input.strain == cfg_.input.witness ? 1 : 2;
  std::vector<watch::WatchedType> types;
  types.push_back({cfg_.input.strain.directory, cfg_.input.strain.observatory, cfg_.input.strain.frame_type});
  if (sources_ == 2) {
    types.push_back({cfg_.input.witness.directory, cfg_.input.witness.observatory,
                     cfg_.input.witness.frame_type});
  }
  wait_for_input_directories(types);
  std::vector<watch::FrameArrival> present;
  try {
    watch::WatchOptions wo;
    wo.poll = cfg_.input.poll;
    wo.poll_interval = std::chrono::milliseconds(
        std::max<long long>(1, std::llround(cfg_.input.poll_interval_seconds * 1000.0)));
    wo.on_overflow = [this](std::size_t files) {
      if (metrics_) metrics_->inotify_overflow();
      warn_.warn("overflow", "inotify event queue overflowed (events were lost): rescanned the input directories, " +
                                 std::to_string(files) + " frame files listed; files already seen are ignored");
      post_step();
    };
    watcher_ = std::make_unique<watch::FrameWatcher>(io_, types, wo,
                                                     [this](const watch::FrameArrival& a) { on_arrival(a); });
    // Watch first, then list: a file landing in between is reported twice, never missed. Both
    // happen before the model load, so frames arriving during the load are new arrivals, not the
    // "input already on disk" that decides the start-up point.
    watcher_->start();
    present = watcher_->scan();
  } catch (const std::exception& e) {
    spdlog::critical("cannot watch the input: {}", e.what());
    return false;
  }
  std::optional<models::Repository> repo;
  models::Record record;
  std::string version;
  if (!cfg_.models.repository.empty()) {
    repo.emplace(cfg_.models.repository, cfg_.models.archive);
    try {
      record = repo->read_record();
    } catch (const std::exception& e) {
      spdlog::critical("cannot start: the model record: {} (repair it, or move it away to start the record afresh)",
                       e.what());
      return false;
    }
    if (!choose_production(*repo, record, version)) return false;
  }
  notify_.status("loading model " + cfg_.model.bundle);
  try {
    model::LoadedModel loaded = load_configured_model(cfg_, true);
    device_ = loaded.report.device;
    device_spec_ = model::parse_device(cfg_.model.device);
    auto production =
        std::make_unique<Pipeline>(cfg_, loaded.info, std::move(loaded.predictor), estimator_factory(cfg_));
    if (version.empty()) version = loaded.info.version;
    if (!record.in_state(models::State::Production)) {
      record.bootstrap(version, loaded.info.id,
                       repo ? "the first production of the repository: " + cfg_.model.bundle
                            : "model.bundle (no model repository)",
                       models::utc_now());
    }
    life_ = std::make_unique<models::Lifecycle>(lifecycle_settings(cfg_), std::move(repo), std::move(record), version,
                                                std::move(production));
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}: {}", cfg_.model.bundle, e.what());
    return false;
  }
  if (!cfg_.control.socket.empty()) {
    try {
      control_ = std::make_unique<ControlServer>(
          io_, cfg_.control.socket, [this](const std::vector<std::string>& words) { return control(words); });
    } catch (const std::exception& e) {
      spdlog::critical("cannot start: control socket {}", e.what());
      return false;
    }
  }
  if (!cfg_.training_archive.directory.empty()) {
    try {
      archive::Settings a;
      a.directory = cfg_.training_archive.directory;
      a.ifo = cfg_.ifo;
      a.frame_type = cfg_.training_archive.frame_type;
      a.span_seconds = static_cast<std::uint64_t>(cfg_.training_archive.span_seconds);
      a.chunk_seconds = static_cast<std::uint64_t>(cfg_.training_archive.chunk_seconds);
      a.max_bytes = static_cast<std::uint64_t>(cfg_.training_archive.max_megabytes * 1e6);
      archive_ = std::make_unique<archive::Writer>(a);
      const archive::WriterStats st = archive_->stats();
      spdlog::info("training archive {}: {} s kept in chunks of {} s{}; {}", a.directory.string(), a.span_seconds,
                   a.chunk_seconds, a.max_bytes ? fmt::format(", at most {} MB", cfg_.training_archive.max_megabytes) : "",
                   st.newest_gps ? fmt::format("holds GPS {} to {} ({:.1f} MB)", st.oldest_gps, st.newest_gps,
                                               static_cast<double>(st.bytes) / 1e6)
                                 : std::string("empty"));
    } catch (const std::exception& e) {
      spdlog::critical("cannot start: {}", e.what());
      return false;
    }
  }
  const bundle::BundleInfo& info = pipeline().bundle();
  spec_ = input_spec(cfg_, info);
  const double latency = pipeline().latency_seconds();
  reported_latency_ = latency;
  metrics_ = std::make_unique<Metrics>(kVersion, device_, info.id, info.version, latency);
  output_ = std::make_unique<OutputWriter>(cfg_, *metrics_, warn_,
                                           [this](const std::string& text, bool force) { status(text, force); });
  output_->set_bands(cleaning_bands(info));
  spdlog::info("deepclean {} run: {} from {}; device {}, model {} (id {}), algorithmic latency {:.3f} s (witnesses "
               "at {} Hz; updated once input is read)",
               kVersion, cfg_.ifo, config_path_, device_, info.version, info.id.substr(0, 12), latency,
               info.sample_rate);

  std::error_code ec;
  fs::create_directories(cfg_.output.directory, ec);
  if (ec) spdlog::error("output directory {}: {} (will retry when writing)", cfg_.output.directory, ec.message());

  sched_ = std::make_unique<SecondScheduler>(
      sources_, std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(cfg_.input.timeout_seconds)),
      kRetryInterval, kHistorySeconds);
  spdlog::info("input: strain {}/{}-{}-<gps>-1.gwf{}; {} ({}), timeout {} s; output {}", cfg_.input.strain.directory,
               cfg_.input.strain.observatory, cfg_.input.strain.frame_type,
               sources_ == 2 ? ", witnesses " + cfg_.input.witness.directory + "/" + cfg_.input.witness.observatory +
                                   "-" + cfg_.input.witness.frame_type + "-<gps>-1.gwf"
                             : std::string(", witnesses in the strain frames"),
               watcher_->using_inotify() ? "inotify" : "polling", watcher_->using_inotify() ? "events" : "fallback",
               cfg_.input.timeout_seconds, cfg_.output.directory);
  choose_start(present);

  arm_stop();
  arm_hup();
  arm_tick();
  arm_watchdog();
  if (life_->repository()) {
    spdlog::info("model repository {}: production {}; new versions are validated for {} s against it (margin {}), "
                 "probation {} s{}",
                 life_->repository()->directory().string(), life_->production_version(), cfg_.models.validation_seconds,
                 cfg_.models.margin, cfg_.models.probation_seconds,
                 control_ ? ", control socket " + control_->path() : std::string());
    repo_watch_ = std::make_unique<watch::DirectoryWatcher>(
        io_, life_->repository()->directory().string(), scan_interval(cfg_), [this] { scan_repository(); });
    repo_watch_->start();
  }
  lifecycle_metrics();
  write_metrics();  // before READY=1: whoever waits for it finds the metrics file there
  notify_.ready(wait_first_ ? "ready, waiting for the first input frame"
                            : "ready, starting at GPS " + std::to_string(sched_->next()));
  post_step();
  return true;
}

// The production version at start: the record's; on a first start model.bundle, or else the newest
// complete version. What was loaded besides production before a restart is not loaded now: a canary
// is validated again, a standby in probation is retired.
bool Service::choose_production(models::Repository& repo, models::Record& record, std::string& version) {
  const std::string now = models::utc_now();
  if (const models::Version* c = record.in_state(models::State::Canary)) {
    record.requeue(c->name, "the service restarted: validating it again", now);
  }
  if (const models::Version* s = record.in_state(models::State::Standby)) {
    const std::string name = s->name;
    record.retire(name, "the service restarted during its probation", now);
    std::error_code ec;
    if (fs::is_directory(repo.path_of(name), ec)) {
      try {
        spdlog::info("model {} retired (the service restarted during its probation): moved to {}", name,
                     repo.archive(name).string());
      } catch (const std::exception& e) {
        spdlog::error("model {}: cannot archive it: {}", name, e.what());
      }
    }
  }
  const models::StartupProduction p = models::startup_production(repo, record, cfg_.model.bundle);
  if (!p.error.empty()) {
    spdlog::critical("cannot start: {}", p.error);
    return false;
  }
  version = p.version;
  cfg_.model.bundle = p.bundle.string();
  spdlog::info("model repository {}: {}", repo.directory().string(), p.how);
  return true;
}

void Service::choose_start(const std::vector<watch::FrameArrival>& present) {
  std::optional<std::uint64_t> oldest, newest;
  const auto now = Clock::now();
  for (const auto& a : present) {
    if (a.duration != 1) continue;
    if (const auto id = file_id(a.path)) sched_->arrived(a.gps, a.source, *id, now);
    if (a.source != 0) continue;
    if (!oldest || a.gps < *oldest) oldest = a.gps;
    if (!newest || a.gps > *newest) newest = a.gps;
  }
  std::string why;
  std::optional<std::uint64_t> start;
  ArrivalKind before = ArrivalKind::Late;
  switch (cfg_.input.start) {
    case config::StartFrom::Resume: {
      const auto outs = output_seconds(cfg_);
      if (!outs.empty()) {
        start = outs.back() + 1;
        before = ArrivalKind::Duplicate;
        why = "resuming after the newest output frame, GPS " + std::to_string(outs.back());
        if (oldest && *oldest > *start) {
          spdlog::warn("outputs end at GPS {} but the input on disk begins at GPS {}: {} seconds can no longer "
                       "be cleaned", outs.back(), *oldest, *oldest - *start);
          start = oldest;
        }
      } else if (newest) {
        start = newest;
        why = "no output frame yet: starting at the newest input second";
      }
      break;
    }
    case config::StartFrom::Newest:
      if (newest) {
        start = newest;
        why = "the newest input second";
      }
      break;
    case config::StartFrom::Gps:
      start = cfg_.input.start_gps;
      why = "configured start";
      break;
  }
  if (start) {
    sched_->start(*start, before);
    spdlog::info("starting at GPS {} ({}); {} seconds already on disk to catch up", *start, why, sched_->backlog());
    if (sched_->backlog() > 1) catch_up_ = std::make_pair(sched_->backlog(), Clock::now());
  } else {
    wait_first_ = true;
    spdlog::info("no input frame yet: starting at the first one that arrives");
  }
}

void Service::on_arrival(const watch::FrameArrival& a) {
  if (stopping_ || a.duration != 1) return;
  const auto id = file_id(a.path);
  if (!id) {
    if (!sched_->started() || a.gps >= sched_->next()) {
      metrics_->count(SecondEvent::Vanished);
      warn_.warn("vanished", "GPS " + std::to_string(a.gps) + ": " + a.path +
                                 " vanished before it could be read (vanished)");
    }
    return;
  }
  const ArrivalKind kind = sched_->arrived(a.gps, a.source, *id, Clock::now());
  switch (kind) {
    case ArrivalKind::Rereport:
      return;
    case ArrivalKind::Stale:
      spdlog::debug("GPS {}: {} is older than the remembered history; ignored", a.gps, a.path);
      return;
    case ArrivalKind::Late:
      metrics_->count(SecondEvent::Late);
      warn_.warn("late", "GPS " + std::to_string(a.gps) + ": " + a.path +
                             " arrived after the second was given up (late); not reprocessed");
      write_metrics();
      return;
    case ArrivalKind::Duplicate:
      metrics_->count(SecondEvent::Duplicate);
      warn_.warn("duplicate", "GPS " + std::to_string(a.gps) + ": " + a.path +
                                  " rewritten after the second was processed (duplicate); ignored");
      write_metrics();
      return;
    case ArrivalKind::Expected:
      stall_flushed_ = false;
      if (wait_first_) {
        wait_first_ = false;
        sched_->start(a.gps, ArrivalKind::Late);
        spdlog::info("first input frame {}: starting at GPS {}", a.path, a.gps);
      }
      break;
  }
  post_step();
}

void Service::post_step() {
  if (step_posted_ || stopping_) return;
  step_posted_ = true;
  asio::post(io_, [this] {
    step_posted_ = false;
    step();
  });
}

void Service::step() {
  if (stopping_) return;
  last_activity_ = Clock::now();
  if (output_->queued() >= kMaxQueuedOutputs) {
    // Back-pressure: inputs stay on disk until the output directory takes frames again (tick).
    status("output directory not writable: " + std::to_string(output_->queued()) + " output seconds queued, input paused");
    if (!input_paused_) {
      input_paused_ = true;
      spdlog::error("output queue full ({} s, GPS {} to {}): input paused at GPS {} until the output directory {} takes "
                    "frames again; input seconds the frame distribution deletes from {} before then are lost",
                    output_->queued(), output_->queued_range()->first, output_->queued_range()->second, sched_->next(),
                    cfg_.output.directory, cfg_.input.strain.directory);
    }
    return;
  }
  if (input_paused_) {
    input_paused_ = false;
    spdlog::info("output queue below its bound again ({} s queued): input resumes at GPS {}", output_->queued(),
                 sched_->next());
  }
  const SecondScheduler::Action a = sched_->next_action(Clock::now());
  switch (a.kind) {
    case SecondScheduler::Action::Wait:
      waiting_ = true;
      if (a.wake) {
        wake_.expires_at(*a.wake);
        wake_.async_wait([this](const boost::system::error_code& ec) {
          if (!ec) step();
        });
      }
      status(sched_->started() ? "waiting for GPS " + std::to_string(sched_->next()) +
                                     (output_->last_written() ? ", last output GPS " + std::to_string(*output_->last_written()) : "")
                               : "waiting for the first input frame");
      return;
    case SecondScheduler::Action::GiveUp:
      waiting_ = false;
      give_up(a.gps, a.count);
      break;
    case SecondScheduler::Action::Attempt:
      waiting_ = false;
      attempt(a.gps, a.last_chance);
      break;
  }
  post_step();
}

void Service::attempt(std::uint64_t gps, bool last_chance) {
  const auto t0 = Clock::now();
  SecondInput in = read_second(spec_, gps);
  const double read_s = secs(Clock::now() - t0);
  if (!last_chance && (in.problem == InputProblem::Corrupt || in.problem == InputProblem::MissingFile)) {
    // A writer may still be busy with the file, or a rewrite may follow: try again until the timeout.
    bool gone = false;
    if (in.problem == InputProblem::MissingFile) {
      for (std::size_t s = 0; s < sources_; ++s) {
        const std::string path = frame_path(source(s), gps);
        std::error_code ec;
        if (!fs::exists(path, ec)) {
          gone = true;
          sched_->forget(gps, s);
          metrics_->count(SecondEvent::Vanished);
          warn_.warn("vanished", "GPS " + std::to_string(gps) + ": " + path +
                                     " vanished before it could be read (vanished); waiting for it until the timeout");
        }
      }
    }
    if (!gone) {
      spdlog::debug("GPS {}: {}; retrying until the timeout", gps, in.detail);
      sched_->retry_later(Clock::now());
    }
    return;
  }
  try {
    process(std::move(in), read_s);
  } catch (const std::exception& e) {
    // Never let one second take the service down; the segment is restarted by the next one.
    spdlog::error("GPS {}: internal error while cleaning: {}; second skipped", gps, e.what());
    metrics_->count(SecondEvent::Unusable);
    if (sched_->next() == gps) sched_->done(false);
  }
}

void Service::process(SecondInput in, double read_s) {
  const std::uint64_t gps = in.gps;
  const SteadyTime arrival = sched_->seen_time(gps).value_or(Clock::now());
  if (in.strain) metrics_->count(SecondEvent::In);
  if (!in.good()) {
    const SecondEvent ev = in.problem == InputProblem::MissingFile ? SecondEvent::Missing
                           : in.problem == InputProblem::Corrupt   ? SecondEvent::Corrupt
                                                                   : SecondEvent::Unusable;
    metrics_->count(ev);
    std::string msg = "GPS " + std::to_string(gps) + ": " + in.detail + " (" + problem_name(in.problem) + ")";
    if (in.problem == InputProblem::MissingFile) msg += " after the " + fmt::format("{}", cfg_.input.timeout_seconds) + " s timeout";
    msg += in.strain ? "; writing the raw strain" : "; no output for this second";
    warn_.warn(problem_name(in.problem), msg);
  }
  for (const auto& w : in.warnings) warn_.warn("passthrough", "GPS " + std::to_string(gps) + ": " + w);
  models::Published r = life_->push(in);
  if (!r.rejected.empty()) {
    metrics_->count(SecondEvent::Unusable);
    warn_.warn("rejected", "GPS " + std::to_string(gps) + ": cannot clean: " + r.rejected + "; writing the raw strain");
  }
  sched_->done(in.problem != InputProblem::MissingFile && in.problem != InputProblem::Corrupt);
  last_push_arrival_ = arrival;
  const std::size_t n_out = r.outputs.size();
  const Completion by{in.problem == InputProblem::MissingFile ? Completion::Timeout : Completion::Arrival, gps};
  enqueue(std::move(r.outputs), arrival, by);
  output_->write();
  const double write_s = output_->take_write_seconds();
  account(r.production, read_s, write_s);
  spdlog::debug("GPS {}: {}, read {:.1f} ms, clean {:.1f} ms, model {:.1f} ms, write {:.1f} ms; {} output second(s) "
                "ready, {} queued; last output GPS {}",
                gps, in.good() ? "good" : problem_name(in.problem), read_s * 1e3, r.production.clean * 1e3,
                r.production.model * 1e3, write_s * 1e3, n_out, output_->queued(),
                output_->last_written() ? std::to_string(*output_->last_written()) : "none");
  shadow(in, arrival, by);
  if (catch_up_ && sched_->backlog() == 0) {
    const double took = secs(Clock::now() - catch_up_->second);
    spdlog::info("caught up: the {} seconds found on disk at start-up were processed in {:.1f} s ({:.1f}x real time)",
                 catch_up_->first, took, took > 0 ? static_cast<double>(catch_up_->first) / took : 0.0);
    catch_up_.reset();
  }
  if (archive_ && in.good() && in.strain) archive_second(std::move(in));
  if (archive_) {
    const archive::WriterStats st = archive_->stats();
    metrics_->training_archive({static_cast<double>(st.bytes),
                                st.newest_gps ? static_cast<double>(st.newest_gps - st.oldest_gps + 1) : 0.0,
                                st.chunks_written, st.chunks_removed, st.chunks_dropped});
  }
  write_metrics();
  status("cleaning: last input GPS " + std::to_string(gps) +
         (output_->last_written() ? ", last output GPS " + std::to_string(*output_->last_written()) : "") +
         (output_->queued() == 0 ? "" : ", " + std::to_string(output_->queued()) + " outputs queued"));
}

void Service::give_up(std::uint64_t first, std::uint64_t count) {
  metrics_->count(SecondEvent::Missing, count);
  std::string files = frame_path(cfg_.input.strain, first);
  if (sources_ == 2) files += " and " + frame_path(cfg_.input.witness, first);
  std::string msg = "GPS " + std::to_string(first) + ": no frame (" + files + ") within the " +
                    fmt::format("{}", cfg_.input.timeout_seconds) + " s timeout (missing)";
  if (count > 1) msg += "; " + std::to_string(count) + " seconds missing through GPS " + std::to_string(first + count - 1);
  warn_.warn("missing", msg + "; the segment ends");
  SecondInput in;
  in.gps = first;
  in.problem = InputProblem::MissingFile;
  models::Published r = life_->push(in);  // ends the open segments
  sched_->gave_up(count);
  const Completion by{Completion::Timeout, first};
  enqueue(std::move(r.outputs), last_push_arrival_, by);
  output_->write();
  account(r.production, 0, output_->take_write_seconds());
  shadow(in, last_push_arrival_, by);
  write_metrics();
}

void Service::account(const StageTimes& spent, double read_s, double write_s) {
  metrics_->stage_time("read", read_s);
  metrics_->stage_time("clean", spent.clean);
  metrics_->stage_time("model", spent.model);
  metrics_->stage_time("write", write_s);
  (void)output_->take_write_seconds();  // what was not passed in is not counted (as before)
  // The latency depends on the witness rates (resampler halves), known once input was read.
  const double latency = pipeline().latency_seconds();
  if (latency != reported_latency_) {
    if (reported_latency_ > 0) {
      spdlog::info("algorithmic latency {:.3f} s with the witness rates of the input", latency);
    }
    reported_latency_ = latency;
    metrics_->algorithmic_latency(latency);
  }
  if (pipeline().segments_started() < segments_seen_) segments_seen_ = 0;  // another pipeline is production now
  while (segments_seen_ < pipeline().segments_started()) {
    metrics_->segment_started();
    ++segments_seen_;
  }
  if (const auto bytes = model::device_memory_in_use(device_spec_)) metrics_->gpu_memory(static_cast<double>(*bytes));
}

void Service::write_metrics() {
  if (cfg_.metrics.path.empty() || !metrics_) return;
  std::string error;
  metrics_->process_memory();
  if (metrics_->write(cfg_.metrics.path, error)) return;
  // A missing directory is made (as the output directory is): a fresh tmpfs, or a path set by a reload.
  const fs::path dir = fs::path(cfg_.metrics.path).parent_path();
  std::error_code ec;
  if (!dir.empty() && !fs::exists(dir, ec) && !ec && fs::create_directories(dir, ec)) {
    spdlog::info("the metrics file's directory {} was missing: made it", dir.string());
    if (metrics_->write(cfg_.metrics.path, error)) return;
  }
  warn_.warn("metrics", "cannot write the metrics file: " + error);
}

void Service::status(const std::string& text, bool force) {
  // systemd reads these datagrams itself; at most one per second keeps the socket from filling
  // when a second costs little (catch-up), `force` marks a change of state worth reporting at once.
  const auto now = Clock::now();
  if (text == last_status_text_) return;
  if (!force && now - last_status_ < std::chrono::seconds(1)) return;
  last_status_ = now;
  last_status_text_ = text;
  notify_.status(text);
}

void Service::arm_tick() {
  tick_.expires_after(std::chrono::seconds(1));
  tick_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    last_activity_ = Clock::now();
    // glibc keeps memory freed inside its heaps (its mmap threshold rises after large frees, so
    // later large buffers come from the heap), and the process's RSS crept up by about 20 % over a
    // day (docs/reliability.md, "Soak"): hand the free pages back once a minute, between seconds.
    if (last_activity_ - last_trim_ >= std::chrono::seconds(60)) {
      last_trim_ = last_activity_;
      ::malloc_trim(0);
      spdlog::debug("malloc_trim: {:.2f} ms", 1e3 * secs(Clock::now() - last_trim_));
    }
    if (output_->queued() > 0) {
      output_->write();
      write_metrics();
      if (output_->queued() < kMaxQueuedOutputs) post_step();
    }
    // The stream stopped: end the segment so the seconds held back for look-ahead are written now
    // rather than whenever input resumes. No second is declared missing for a stall. The next frame
    // is due one second (the frame cadence) after the last one, and overdue `timeout` after that.
    const auto last = sched_->last_arrival();
    if (waiting_ && !stall_flushed_ && last && !sched_->deadline() &&
        Clock::now() - *last >= std::chrono::duration<double>(1.0 + cfg_.input.timeout_seconds)) {
      stall_flushed_ = true;
      models::Published r = life_->finish();
      write_canary_frames();
      if (!r.outputs.empty()) {
        spdlog::info("no input for {:.1f} s while waiting for GPS {}: segment ended so its last {} output seconds "
                     "are written",
                     secs(Clock::now() - *last), sched_->next(), r.outputs.size());
        enqueue(std::move(r.outputs), last_push_arrival_, Completion{Completion::Stall, sched_->next()});
        output_->write();
        account(r.production, 0, output_->take_write_seconds());
        write_metrics();
      }
    }
    arm_tick();
  });
}

void Service::arm_watchdog() {
  const auto timeout = notify_.watchdog_timeout();
  if (!timeout) return;
  dog_.expires_after(*timeout / 2);
  dog_.async_wait([this, timeout](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    // This handler runs on the loop's own thread, so it cannot run while a second hangs; the check
    // below also stops the pings if the loop were alive but no longer doing its work.
    if (Clock::now() - last_activity_ < *timeout) notify_.watchdog();
    arm_watchdog();
  });
}

void Service::arm_stop() {
  stop_signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (!ec) shutdown(sig);
  });
}

void Service::arm_hup() {
  hup_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec || stopping_) return;
    request_reload();
    arm_hup();
  });
}

void Service::request_reload() {
  notify_.reloading();
  if (reloading_) {
    spdlog::info("SIGHUP: a reload is already in progress; another one follows it");
    reload_again_ = true;
    return;
  }
  spdlog::info("SIGHUP: re-reading {} and its model bundle", config_path_);
  reloading_ = true;
  if (reload_thread_.joinable()) reload_thread_.join();
  const config::Config running = file_cfg_;
  // With a repository the production version is the lifecycle's, not model.bundle.
  const std::string production_bundle =
      life_->repository() ? life_->repository()->path_of(life_->production_version()).string() : std::string();
  reload_thread_ = std::thread([this, running, production_bundle] {
    auto r = std::make_shared<Reloaded>();
    try {
      config::Config c = config::load_config(config_path_);
      // All or nothing: a key bound at start refuses the whole reload (docs/configuration.md, "Reloading").
      if (const auto restart = config::changed_restart_keys(c, running); !restart.empty()) {
        throw std::invalid_argument("needs a restart: " + key_list(restart) +
                                    " (no key of the file was applied; restart the service to apply them, or put "
                                    "the running values back)");
      }
      if (!production_bundle.empty() && c.model.bundle != running.model.bundle) {
        throw std::invalid_argument("model.bundle changed, but with models.repository set production is the "
                                    "repository's version " + fs::path(production_bundle).filename().string() +
                                    " (model.bundle only seeds a new repository): put a bundle into the repository "
                                    "and `deepclean ctl promote VERSION`, or put model.bundle back");
      }
      r->file = c;
      if (!production_bundle.empty()) c.model.bundle = production_bundle;
      r->model = load_configured_model(c, false);
      // What Pipeline's constructor would reject, checked here so a bad one never ends a segment.
      (void)cleaner_config(c, r->model.info,
                           std::vector<double>(r->model.info.witnesses.size(), r->model.info.sample_rate),
                           r->model.info.sample_rate);
      r->cfg = std::move(c);
    } catch (const std::exception& e) {
      r->error = e.what();
    }
    asio::post(io_, [this, r] { finish_reload(r); });
  });
}

void Service::finish_reload(const std::shared_ptr<Reloaded>& r) {
  if (reload_thread_.joinable()) reload_thread_.join();
  reloading_ = false;
  if (stopping_) return;
  const bundle::BundleInfo& old = pipeline().bundle();
  if (!r->error.empty()) {
    spdlog::error("reload rejected: {}; keeping model {} (id {}) and the running configuration", r->error,
                  old.version, old.id.substr(0, 12));
    metrics_->reload(false);
  } else {
    const std::uint64_t at = sched_->next();
    models::Published outs;
    // Every key that changed (config::keys() classifies them): none that shapes the output and the
    // same model keep the running pipeline and its open segment.
    const std::vector<std::string> changed = config::changed_keys(*r->cfg, cfg_);
    const std::vector<std::string> cleaning = config::changed_cleaning_keys(*r->cfg, cfg_);
    if (r->model.info.id == old.id && cleaning.empty()) {
      const std::string bundle_version = old.version;
      apply_settings(*r);
      metrics_->reload(true);
      spdlog::info("reloaded {}: model {} and cleaning settings unchanged{}, the segment continues", config_path_,
                   bundle_version, changed.empty() ? std::string() : " (changed: " + key_list(changed) + ")");
      write_metrics();
      notify_.ready("reload done, model " + bundle_version);
      if (reload_again_) {
        reload_again_ = false;
        request_reload();
      }
      post_step();
      return;
    }
    try {
      const std::string version = life_->repository() ? life_->production_version() : r->model.info.version;
      outs = life_->replace_production(*r->cfg, r->model.info, std::move(r->model.predictor),
                                       estimator_factory(*r->cfg), version);
      apply_settings(*r);
      device_spec_ = model::parse_device(cfg_.model.device);
      spec_ = life_->production_spec();
      const bundle::BundleInfo& info = pipeline().bundle();
      device_ = r->model.report.device;
      metrics_->model(info.id, info.version, device_);
      metrics_->algorithmic_latency(pipeline().latency_seconds());
      output_->set_bands(cleaning_bands(info));
      metrics_->reload(true);
      spdlog::info("reloaded {}: model {} (id {}) on {}, algorithmic latency {:.3f} s{}; the new model cleans from "
                   "GPS {} on",
                   config_path_, info.version, info.id.substr(0, 12), r->model.report.device,
                   pipeline().latency_seconds(),
                   cleaning.empty() ? std::string() : " (changed: " + key_list(cleaning) + ")", at);
    } catch (const std::exception& e) {
      spdlog::error("reload failed while swapping: {}; keeping model {}", e.what(), pipeline().bundle().version);
      metrics_->reload(false);
    }
    enqueue(std::move(outs.outputs), last_push_arrival_, Completion{Completion::Flush, sched_->next()});
    output_->write();
    account(outs.production, 0, output_->take_write_seconds());
    lifecycle_metrics();
  }
  write_metrics();
  notify_.ready("reload done, model " + pipeline().bundle().version);
  if (reload_again_) {
    reload_again_ = false;
    request_reload();
  }
  post_step();
}

// The keys a reload applies without a new pipeline (config::OnReload::Kept), once it is accepted.
void Service::apply_settings(const Reloaded& r) {
  const double scan_before = cfg_.models.scan_interval_seconds;
  cfg_ = *r.cfg;
  file_cfg_ = r.file;
  output_->set_config(cfg_);
  life_->set_settings(lifecycle_settings(cfg_));
  sched_->set_timeout(std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(cfg_.input.timeout_seconds)));
  set_log_level(cfg_.logging.level);
  if (repo_watch_ && cfg_.models.scan_interval_seconds != scan_before) repo_watch_->set_interval(scan_interval(cfg_));
}

// ---- model lifecycle (docs/model-lifecycle.md) ----

// The canary and the standby, once production's output of the second is out.
void Service::shadow(const SecondInput& in, SteadyTime arrival, Completion by) {
  if (!life_->canary_version() && !life_->standby_version() && !life_->switching()) return;
  const std::uint64_t gps = in.gps;
  models::Published r = life_->push_shadow(in, [gps](const InputSpec& spec) { return read_second(spec, gps); });
  metrics_->stage_time("shadow", life_->shadow_compute());
  if (!r.outputs.empty()) {
    enqueue(std::move(r.outputs), arrival, by);
    output_->write();
    (void)output_->take_write_seconds();
  }
  write_canary_frames();
  spec_ = life_->production_spec();  // a promotion may bring other witness channels
  lifecycle_metrics();
  maybe_load_canary();
}

// ---- training archive (docs/retraining.md) ----

// A good second, for retraining: the strain as read and production's witnesses (moved: `in` is done).
void Service::archive_second(SecondInput in) {
  archive::Second a;
  a.gps = in.gps;
  a.strain = std::move(*in.strain);
  a.witness_names = spec_.witness_channels;
  a.witnesses = std::move(in.witnesses);
  a.witness_rates = std::move(in.witness_rates);
  archive_->add(std::move(a));
}

void Service::scan_repository() {
  if (stopping_ || !life_->repository()) return;
  try {
    const std::vector<models::Entry> entries = life_->repository()->scan();
    if (!repo_problem_.empty()) {
      spdlog::info("model repository {} can be read again", life_->repository()->directory().string());
      repo_problem_.clear();
    }
    life_->scanned(entries);
    // A version still being copied in place: look again once it can have settled (no event may come).
    if (std::any_of(entries.begin(), entries.end(), [](const models::Entry& e) { return !e.settled; })) {
      repo_watch_->call_again_after(std::chrono::duration_cast<std::chrono::milliseconds>(life_->repository()->settle()) +
                                    std::chrono::milliseconds(250));
    }
  } catch (const std::exception& e) {
    if (repo_problem_ != e.what()) {
      repo_problem_ = e.what();
      spdlog::error("{}; production {} keeps running", e.what(), life_->production_version());
    }
  }
  lifecycle_metrics();
  maybe_load_canary();
}

void Service::maybe_load_canary() {
  if (canary_loading_ || stopping_) return;
  const auto next = life_->next_load();
  if (!next) return;
  canary_loading_ = true;
  if (canary_thread_.joinable()) canary_thread_.join();
  config::Config c = cfg_;
  c.model.bundle = next->second.string();
  canary_thread_ = std::thread([this, c, version = next->first] {
    auto r = std::make_shared<CanaryLoad>();
    r->version = version;
    try {
      model::LoadedModel m = load_configured_model(c, false);
      r->spec = input_spec(c, m.info);
      r->pipeline = std::make_unique<Pipeline>(c, m.info, std::move(m.predictor), estimator_factory(c));
    } catch (const std::exception& e) {
      r->error = e.what();
    }
    asio::post(io_, [this, r] { finish_canary_load(r); });
  });
}

void Service::finish_canary_load(const std::shared_ptr<CanaryLoad>& r) {
  if (canary_thread_.joinable()) canary_thread_.join();
  canary_loading_ = false;
  if (stopping_) return;
  life_->loaded(r->version, std::move(r->pipeline), r->spec, r->error);
  lifecycle_metrics();
  write_metrics();
  maybe_load_canary();  // the next one, if this one was rejected at once
}

void Service::write_canary_frames() {
  std::vector<OutputSecond> outs = life_->take_canary_outputs();
  if (outs.empty() || cfg_.models.candidate_directory.empty()) return;
  config::Config c = cfg_;
  c.output.directory = cfg_.models.candidate_directory;
  c.output.frame_type = cfg_.models.candidate_frame_type;
  std::error_code ec;
  fs::create_directories(c.output.directory, ec);
  for (const OutputSecond& o : outs) {
    const std::string path = output_path(c, o.gps);
    try {
      gwf::write_frame_file(path, {build_output_frame(o, pipeline().names(), cfg_.ifo)}, write_options(cfg_));
    } catch (const std::exception& e) {
      warn_.warn("canary_output", "canary frame " + path + ": " + e.what() + " (not written)");
    }
  }
}

void Service::lifecycle_metrics() {
  if (!metrics_ || !life_) return;
  std::vector<Metrics::ModelSlot> slots{{"production", life_->production_version(), pipeline().bundle().id}};
  const models::Record& rec = life_->record();
  if (const auto c = life_->canary_version()) {
    const models::Version* v = rec.find(*c);
    slots.push_back({"canary", *c, v ? v->id : std::string()});
  }
  if (const auto s = life_->standby_version()) {
    const models::Version* v = rec.find(*s);
    slots.push_back({"standby", *s, v ? v->id : std::string()});
  }
  std::vector<Metrics::CanaryRatio> ratios;
  double seconds = 0, needed = 0;
  if (const models::Validation* v = life_->validation(); v && life_->canary_version()) {
    seconds = static_cast<double>(v->seconds());
    needed = static_cast<double>(v->seconds_needed());
    for (const auto& r : v->ratios()) ratios.push_back({r.region.label, r.region.guard, r.a, r.b});
  } else if (life_->canary_version()) {
    needed = std::ceil(cfg_.models.validation_seconds);
  }
  metrics_->model_slots(slots, seconds, needed, ratios);
  for (const models::Decision& d : life_->take_decisions()) metrics_->model_decision(d.action);
  const bundle::BundleInfo& info = pipeline().bundle();
  metrics_->model(info.id, info.version);
}

std::string Service::control(const std::vector<std::string>& words) {
  // The configuration in force: the file as last accepted (at start or by a reload), model.bundle
  // being production's bundle with a repository.
  if (words.size() == 1 && words[0] == "config") {
    nlohmann::ordered_json keys;
    for (const auto& [key, value] : config::key_values(cfg_)) keys[key] = value;
    return nlohmann::ordered_json{{"ok", true}, {"file", config_path_}, {"keys", keys}}.dump();
  }
  std::string reply = life_->command(words);
  if (words[0] != "status" && words[0] != "models") {  // (and not config: answered above)
    std::string line;
    for (const auto& w : words) line += (line.empty() ? "" : " ") + w;
    spdlog::info("control: `{}`: {}", line, reply);
    spec_ = life_->production_spec();
    lifecycle_metrics();
    write_metrics();
    maybe_load_canary();
  }
  return reply;
}

void Service::shutdown(int signal) {
  if (stopping_) return;
  stopping_ = true;
  spdlog::info("{} received: finishing the open segment and stopping", signal == SIGINT ? "SIGINT" : "SIGTERM");
  notify_.stopping();
  watcher_->stop();
  wake_.cancel();
  tick_.cancel();
  dog_.cancel();
  boost::system::error_code ec;
  stop_signals_.cancel(ec);
  hup_.cancel(ec);
  if (repo_watch_) repo_watch_->stop();
  control_.reset();
  if (archive_) archive_->flush();  // the chunk being filled: a restart continues after it
  try {
    models::Published r = life_->finish();
    write_canary_frames();
    enqueue(std::move(r.outputs), last_push_arrival_, Completion{Completion::Flush, sched_->next()});
    account(r.production, 0, 0);
  } catch (const std::exception& e) {
    spdlog::error("finishing the segment: {}", e.what());
  }
  // A few quick retries if the output directory is failing right now, then give up: the unwritten
  // seconds are redone by the next start (resume begins after the newest output on disk).
  const auto give_up_at = Clock::now() + std::chrono::seconds(2);
  for (;;) {
    output_->write_now();
    if (output_->queued() == 0 || Clock::now() >= give_up_at) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (output_->queued() > 0) {
    spdlog::error("{} output seconds (GPS {} to {}) could not be written before stopping; a restart redoes them if "
                  "their input is still on disk",
                  output_->queued(), output_->queued_range()->first, output_->queued_range()->second);
    exit_code_ = 1;
  }
  write_metrics();
  spdlog::info("stopped; last output GPS {}", output_->last_written() ? std::to_string(*output_->last_written()) : "none");
  io_.stop();
}

}  // namespace

int run_service(const std::string& config_path) {
  // Every buffer of 64 kB or more (a second of strain, a frame's vectors) gets its own mapping,
  // returned on free. With glibc's default the mmap threshold rises after the first large free and
  // such buffers come from the heap, where they fragmented it: in the 24-h soak the heap held up to
  // 155 MB free in 72-86 kB holes (docs/reliability.md, "Soak"). Costs about 10 % more CPU per second.
  ::mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  Service service(config_path);
  return service.run();
}

}  // namespace deepclean::daemon
