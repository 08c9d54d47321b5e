// `deepclean run`: the long-running site service (docs/operations.md). One Boost.Asio io_context
// thread watches the input directories, runs the timers and signals, and processes each second;
// model reloads (SIGHUP) load on a helper thread and are swapped in between two seconds.
#pragma once

#include <cstddef>
#include <string>

namespace deepclean::daemon {

// Runs until SIGTERM/SIGINT. Returns the process exit status: 0 after a clean stop with every
// output written; 1 when start-up failed or outputs could not be written before exiting.
int run_service(const std::string& config_path);

// How many computed output seconds are kept in memory while the output directory cannot be
// written; once reached, input seconds wait on disk (they are read later, in order).
constexpr std::size_t kMaxQueuedOutputs = 120;

}  // namespace deepclean::daemon
