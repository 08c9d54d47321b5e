// `deepclean clean` (offline reprocessing) and `deepclean check-config` (validate without cleaning).
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

#include "config/config.hpp"
#include "daemon/model_commands/model_commands.hpp"
#include "daemon/ops/logging.hpp"
#include "daemon/offline/offline.hpp"

namespace deepclean::cli {

void register_clean_commands(CLI::App& app, int& exit_code) {
  auto* clean = app.add_subcommand(
      "clean", "Clean existing frames offline over [start, end), as fast as possible");
  static std::string config_path;
  static std::uint64_t start = 0, end = 0;
  clean->add_option("--config", config_path, "YAML configuration file")->required()->check(CLI::ExistingFile);
  clean->add_option("--start", start, "first GPS second")->required();
  clean->add_option("--end", end, "GPS second after the last one")->required();
  clean->callback([&exit_code]() {
    try {
      const config::Config cfg = config::load_config(config_path);
      daemon::setup_logging(cfg.logging.level, daemon::LogTarget::Stderr);
      if (end <= start) throw std::invalid_argument("--end must be after --start");
      const daemon::CleanSummary s = daemon::clean_offline(cfg, start, end, &std::cerr);
      daemon::print_summary(s, std::cout);
      exit_code = s.write_errors > 0 ? 1 : 0;
    } catch (const std::exception& e) {
      std::cerr << "deepclean clean: " << e.what() << "\n";
      exit_code = 1;
    }
  });

  auto* check = app.add_subcommand(
      "check-config", "Validate a configuration and its model bundle without cleaning anything");
  static std::string check_path;
  check->add_option("FILE", check_path, "YAML configuration file")->required();
  check->callback([&exit_code]() {
    const auto problems = daemon::check_config(check_path, std::cout);
    for (const auto& p : problems) std::cerr << "deepclean check-config: " << p << "\n";
    exit_code = problems.empty() ? 0 : 1;
  });
}

}  // namespace deepclean::cli
