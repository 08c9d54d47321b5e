// `deepclean run --config FILE`: the long-running service (daemon/service/service.hpp, docs/operations.md).
#include <CLI/CLI.hpp>

#include <string>

#include "daemon/model_commands/model_commands.hpp"
#include "daemon/model_setup/model_check.hpp"
#include "daemon/service/service.hpp"

namespace deepclean::cli {

void register_run_command(CLI::App& app, int& exit_code) {
  auto* run = app.add_subcommand(
      "run", "Run as a service: watch the input directories and clean every second as it arrives");
  static std::string config_path;
  run->add_option("--config", config_path, "YAML configuration file")->required()->check(CLI::ExistingFile);
  run->callback([&exit_code]() {
    // Every bundle is checked in a child process (this binary's `model info`) before it is loaded.
    daemon::set_model_check_program("/proc/self/exe");
    exit_code = daemon::run_service(config_path);
  });
}

}  // namespace deepclean::cli
