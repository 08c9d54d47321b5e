// Subcommands of the `deepclean` binary. Each group lives in its own cmd_*.cpp and adds itself to
// the CLI11 application; main.cpp only lists the groups.
#pragma once

namespace CLI {
class App;
}

namespace deepclean::cli {

// Each register function adds one or more subcommands. A subcommand's callback stores its exit
// status in `exit_code` (0 = success); errors are reported on stderr as one line naming the file.
void register_frame_commands(CLI::App& app, int& exit_code);
// `deepclean simulate` (daemon/cmd_simulate.cpp): the detector simulator.
void register_simulate_commands(CLI::App& app, int& exit_code);
#ifdef DEEPCLEAN_WITH_TORCH
// `deepclean model ...` (daemon/torch_cmd_model.cpp): info, import-ml4gw.
void register_model_commands(CLI::App& app, int& exit_code);
void register_clean_commands(CLI::App& app, int& exit_code);
// `deepclean train` (daemon/torch_cmd_train.cpp, train/).
void register_train_command(CLI::App& app, int& exit_code);
// `deepclean run` (daemon/torch_cmd_run.cpp): the site service.
void register_run_command(CLI::App& app, int& exit_code);
#endif

}  // namespace deepclean::cli
