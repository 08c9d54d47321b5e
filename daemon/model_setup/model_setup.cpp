#include "daemon/model_setup/model_setup.hpp"

#include <spdlog/spdlog.h>

#include <cmath>

#include "core/model/device_estimator.hpp"
#include "daemon/model_setup/model_check.hpp"

namespace deepclean::daemon {

model::TorchSettings torch_settings(const config::Config& cfg) {
  model::TorchSettings t;
  t.intra_op_threads = cfg.model.threads;
  t.interop_threads = 1;
  return t;
}

model::RunnerOptions runner_options(const config::Config& cfg, const bundle::BundleInfo& info) {
  model::RunnerOptions o;
  o.device = cfg.model.device;
  o.kernel_length = static_cast<std::size_t>(std::llround(cfg.inference.kernel_seconds * info.sample_rate));
  o.max_batch = static_cast<std::size_t>(cfg.model.batch_size);
  o.cuda_fp16 = cfg.model.fp16;
  o.cuda_graph = cfg.model.cuda_graph;
  return o;
}

std::string witness_buffer_in_use(const config::Config& cfg) {
  if (cfg.model.witness_buffer != "auto") return cfg.model.witness_buffer;
  return model::parse_device(cfg.model.device).cuda ? "device" : "host";
}

EstimatorFactory estimator_factory(const config::Config& cfg) {
  if (witness_buffer_in_use(cfg) != "device") return {};
  return [](stream::Predictor& runner, const stream::KernelGeometry& g) {
    return model::make_device_noise_estimator(runner, g);
  };
}

model::LoadedModel load_configured_model(const config::Config& cfg, bool log_load) {
  const bundle::BundleInfo info = bundle::read_bundle_info(cfg.model.bundle);
  model::apply_torch_settings(torch_settings(cfg));  // throws if model.threads changed: a restart sets it
  if (!model_check_program().empty()) {
    ModelCheckLimits limits;
    limits.timeout_seconds = cfg.model.check_timeout_seconds;
    check_model_in_separate_process(cfg.model.bundle, runner_options(cfg, info).kernel_length, limits);
  }
  model::LoadedModel loaded = model::load_model(cfg.model.bundle, runner_options(cfg, info));
  if (log_load) {
    spdlog::info("model {} (id {}) on {}: loaded in {:.2f} s, warmed up in {:.2f} s; witness buffer on the {}{}",
                 loaded.info.version, loaded.info.id.substr(0, 12), loaded.report.device, loaded.report.load_seconds,
                 loaded.report.warmup_seconds, witness_buffer_in_use(cfg),
                 loaded.report.notes.empty() ? "" : "; " + loaded.report.notes);
  }
  if (const std::string w = streaming_training_mismatch(cfg, loaded.info); !w.empty()) spdlog::warn("{}", w);
  return loaded;
}

}  // namespace deepclean::daemon
