// Subcommands of the `deepclean` binary that load or make a model (they link LibTorch through
// core/model): same conventions as daemon/commands/commands.hpp.
#pragma once

namespace CLI {
class App;
}

namespace deepclean::cli {

// `deepclean model ...` (model.cpp): info, import-ml4gw.
void register_model_commands(CLI::App& app, int& exit_code);
// `deepclean clean` and `deepclean check-config` (clean.cpp): daemon/offline.
void register_clean_commands(CLI::App& app, int& exit_code);
// `deepclean train` (train.cpp): train/.
void register_train_command(CLI::App& app, int& exit_code);
// `deepclean run` (run.cpp): the site service, daemon/service.
void register_run_command(CLI::App& app, int& exit_code);
// `deepclean retrain` (retrain.cpp): fine-tuning production on the training archive.
void register_retrain_command(CLI::App& app, int& exit_code);

}  // namespace deepclean::cli
