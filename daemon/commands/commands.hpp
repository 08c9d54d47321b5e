// Subcommands of the `deepclean` binary that need no model: `frame`, `simulate` and `ctl`. Each group adds
// itself to the CLI11 application; daemon/main.cpp lists the groups (the ones that load or make a
// model are in daemon/model_commands/).
#pragma once

namespace CLI {
class App;
}

namespace deepclean::cli {

// Each register function adds one or more subcommands. A subcommand's callback stores its exit
// status in `exit_code` (0 = success); errors are reported on stderr as one line naming the file.
// `deepclean frame ...` (frame.cpp): dump, channels, copy, verify, export.
void register_frame_commands(CLI::App& app, int& exit_code);
// `deepclean simulate` (simulate.cpp): the detector simulator.
void register_simulate_commands(CLI::App& app, int& exit_code);
// `deepclean ctl` (ctl.cpp): the client of a running service's control socket.
void register_ctl_command(CLI::App& app, int& exit_code);

}  // namespace deepclean::cli
