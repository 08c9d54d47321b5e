// What a configuration asks of core/model: the process's LibTorch settings, the runner options and
// where contract steps 3-5 run. Shared by `deepclean clean`, `check-config` and `run`.
#pragma once

#include <string>

#include "config/config.hpp"
#include "core/bundle/bundle.hpp"
#include "core/model/load.hpp"
#include "core/model/torch_settings.hpp"
#include "daemon/pipeline/pipeline.hpp"

namespace deepclean::daemon {

// LibTorch's process-wide settings for `model.threads` (intra-op) and one inter-op thread. Applied
// once per process, before the first load (model::apply_torch_settings).
model::TorchSettings torch_settings(const config::Config& cfg);
// The model runner options a configuration asks for.
model::RunnerOptions runner_options(const config::Config& cfg, const bundle::BundleInfo& info);
// How the pipeline does contract steps 3-5 for `model.witness_buffer`: "device", or "auto" on a
// CUDA device, gives core/model's device estimator over the loaded runner (witness ring and
// averaging on the model's device); otherwise the host path (unset factory).
EstimatorFactory estimator_factory(const config::Config& cfg);
// "device" or "host": what estimator_factory(cfg) chose, for logs.
std::string witness_buffer_in_use(const config::Config& cfg);

// The model `cfg` names, loaded and warmed up on its device after the process's LibTorch settings
// are applied (torch_settings); a warning is logged when the streaming settings differ from those
// the model was trained for, and with `log_load` a line saying what was loaded and how long it took.
// Throws (bundle::BundleError and others) with the reason. Any thread.
model::LoadedModel load_configured_model(const config::Config& cfg, bool log_load);

}  // namespace deepclean::daemon
