// deepclean: real-time DeepClean noise subtraction for gravitational-wave strain.
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include "daemon/commands.hpp"
#include "deepclean/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"deepclean: removes witness-predicted noise from gravitational-wave strain frames"};
  app.set_version_flag("--version", std::string("deepclean ") + deepclean::kVersion);
  app.require_subcommand(1);
  int exit_code = 0;
  deepclean::cli::register_frame_commands(app, exit_code);
  deepclean::cli::register_simulate_commands(app, exit_code);
#ifdef DEEPCLEAN_WITH_TORCH
  deepclean::cli::register_model_commands(app, exit_code);
  deepclean::cli::register_clean_commands(app, exit_code);
  deepclean::cli::register_run_command(app, exit_code);
  deepclean::cli::register_train_command(app, exit_code);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "deepclean: " << e.what() << "\n";
    return 1;
  }
  return exit_code;
}
