// `deepclean simulate`: the detector simulator (issue 6, item 1; docs/simulator.md). Torch-free.
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <string>

#include "daemon/commands/commands.hpp"
#include "sim/run.hpp"

namespace deepclean::cli {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop.store(true); }

struct SimArgs {
  std::string out, start, faults, scenario, ifo = "H1", coupling = "both", compress = "zlib";
  std::int64_t duration = -1;
  std::int64_t retention = 0;
  std::uint64_t seed = 1;
  std::size_t unrelated = 300;
  bool realtime = false, quiet = false;
  double speed = 0;
};

int run_simulate(const SimArgs& a) {
  try {
    sim::RunOptions o;
    o.out_dir = a.out;
    o.realtime = a.realtime;
    o.speed = a.speed;
    if (a.start == "now") {
      // The first second that has not begun yet, so that its frame is complete one second later.
      o.start = static_cast<std::int64_t>(sim::gps_now()) + 1;
    } else {
      std::size_t pos = 0;
      const long long v = std::stoll(a.start, &pos);
      if (pos != a.start.size() || v < 0) throw std::invalid_argument("--start must be a GPS second or 'now'");
      o.start = v;
    }
    o.duration = a.duration;
    o.sim.ifo = a.ifo;
    o.sim.seed = a.seed;
    o.sim.unrelated = a.unrelated;
    o.sim.coupling = sim::parse_coupling(a.coupling);
    o.faults = sim::FaultSpec::parse(a.faults);
    o.sim.scenario = sim::Scenario::parse(a.scenario).resolved(static_cast<double>(o.start));
    o.compression = a.compress == "raw" ? gwf::Compression::Raw : gwf::Compression::Zlib;
    o.retention = a.retention;
    o.log = a.quiet ? nullptr : &std::cout;
    o.stop = &g_stop;
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    const auto st = sim::run_simulation(o);
    char line[256];
    std::snprintf(line, sizeof line,
                  "deepclean simulate: %lld s (GPS %lld..%lld), %lld files, %.1f ms CPU per second, %.2f s wall\n",
                  static_cast<long long>(st.seconds), static_cast<long long>(o.start),
                  static_cast<long long>(o.start + st.seconds), static_cast<long long>(st.files),
                  st.seconds > 0 ? 1e3 * st.cpu_seconds / static_cast<double>(st.seconds) : 0.0, st.wall_seconds);
    std::cerr << line;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "deepclean simulate: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

void register_simulate_commands(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<SimArgs>();
  auto* s = app.add_subcommand("simulate",
                               "Write simulated 1-s strain (llhoft) and witness (lldetchar) frames "
                               "(docs/simulator.md)");
  s->add_option("--out", args->out, "output root: frames go to OUT/kafka/IFO and OUT/lldetchar/IFO")->required();
  s->add_option("--start", args->start, "first GPS second, or 'now'")->required();
  s->add_option("--duration", args->duration, "seconds to write (0 with --realtime: until SIGINT/SIGTERM)")
      ->required()
      ->check(CLI::NonNegativeNumber);
  s->add_flag("--realtime", args->realtime, "publish each second when the GPS clock has passed it");
  s->add_option("--speed", args->speed,
                "without --realtime: publish at this many simulated seconds per wall second (default: as fast as "
                "possible)")
      ->check(CLI::PositiveNumber);
  s->add_option("--seed", args->seed, "random seed (default 1)");
  s->add_option("--faults", args->faults, "fault injection spec, e.g. missing@12,late@20:3,corrupt:0.01");
  s->add_option("--scenario", args->scenario,
                 "make a trained model go bad, e.g. coupling-scale@30:-1,witness-zero@60-70 (docs/simulator.md)");
  s->add_option("--ifo", args->ifo, "interferometer (default H1)");
  s->add_option("--unrelated", args->unrelated, "unrelated witness-frame channels (default 300)");
  s->add_option("--coupling", args->coupling, "none, linear, bilinear or both (default both)")
      ->check(CLI::IsMember({"none", "linear", "bilinear", "both"}));
  s->add_option("--compress", args->compress, "raw or zlib (default zlib, level 1)")
      ->check(CLI::IsMember({"raw", "zlib"}));
  s->add_option("--retention", args->retention, "delete files this many seconds old (default 0: keep all)")
      ->check(CLI::NonNegativeNumber);
  s->add_flag("--quiet", args->quiet, "no line per published file");
  s->callback([args, &exit_code] { exit_code = run_simulate(*args); });
}

}  // namespace deepclean::cli
