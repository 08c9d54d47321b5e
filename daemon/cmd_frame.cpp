// `deepclean frame ...`: dump, channels, copy, verify. (Implemented with the frame I/O issue.)
#include <CLI/CLI.hpp>

#include "daemon/commands.hpp"

namespace deepclean::cli {

void register_frame_commands(CLI::App& app, int& exit_code) {
  auto* frame = app.add_subcommand("frame", "Inspect, verify and re-encode IGWN frame files (.gwf)");
  frame->require_subcommand(1);
  (void)exit_code;
}

}  // namespace deepclean::cli
