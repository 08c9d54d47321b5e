// `deepclean model ...`: inspect a model bundle, import an ML4GW training output. Left out of
// torch-free builds (torch_ prefix); it does not include LibTorch itself, only core/model's API.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include "core/bundle/bundle.hpp"
#include "core/model/ml4gw_import.hpp"
#include "core/model/load.hpp"
#include "core/model/torch_settings.hpp"
#include "daemon/model_commands/model_commands.hpp"

namespace deepclean::cli {
namespace {

std::string number(double v) {
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

void print_bundle(std::ostream& out, const bundle::BundleInfo& b) {
  out << "bundle:      " << b.directory.string() << "\n";
  out << "id:          " << b.id << "\n";
  out << "version:     " << b.version << "\n";
  out << "format:      " << b.format << "\n";
  out << "sample rate: " << b.sample_rate << " Hz\n";
  out << "training kernel: " << number(b.training_kernel_seconds) << " s\n";
  out << "parameters:  " << b.parameter_count << "\n";
  out << "strain:      " << b.strain_channel << "  mean " << number(b.strain_mean) << "  std "
      << number(b.strain_std) << "\n";
  out << "witnesses:   " << b.channels() << " (model input order)\n";
  for (std::size_t c = 0; c < b.channels(); ++c) {
    out << "  " << c << "  " << b.witnesses[c] << "  mean " << number(b.witness_means[c]) << "  std "
        << number(b.witness_stds[c]) << "\n";
  }
  out << "bands:       ";
  for (std::size_t i = 0; i < b.bands.size(); ++i) {
    out << (i ? ", " : "") << number(b.bands[i].low_hz) << "-" << number(b.bands[i].high_hz) << " Hz";
  }
  out << "  (Butterworth order " << b.filter_order << ")\n";
  if (!b.provenance_yaml.empty()) {
    out << "provenance:\n";
    std::istringstream lines(b.provenance_yaml);
    for (std::string line; std::getline(lines, line);) out << "  " << line << "\n";
  }
}

std::size_t default_kernel(int sample_rate) {
  return static_cast<std::size_t>(std::max(16, sample_rate / 16 * 16));
}

}  // namespace

void register_model_commands(CLI::App& app, int& exit_code) {
  auto* group = app.add_subcommand("model", "Inspect model bundles and import trained models");
  group->require_subcommand(1);

  struct InfoArgs {
    std::string bundle;
    std::size_t kernel_length = 0;
    bool load = false;
    std::string device = "cpu";
    std::size_t max_batch = 16;
    int threads = 0;
    bool batched = false;
  };
  auto info_args = std::make_shared<InfoArgs>();
  auto* info = group->add_subcommand("info", "Check a model bundle (files, TorchScript, dry run) and print it");
  info->add_option("BUNDLE", info_args->bundle, "Bundle directory (model.pt + bundle.yaml)")->required();
  info->add_option("--kernel-length", info_args->kernel_length,
                   "Kernel length K in samples for the dry run (default: one second at the model rate)");
  info->add_flag("--load", info_args->load, "Also load on --device, warm up and report timings");
  info->add_option("--device", info_args->device, "cpu, cuda or cuda:N (with --load)");
  info->add_option("--max-batch", info_args->max_batch, "Batch size for --load");
  info->add_option("--threads", info_args->threads, "LibTorch intra-op threads for --load (0: default)");
  info->add_flag("--batched", info_args->batched, "With --load on cpu: one batched forward pass, not one per kernel");
  info->callback([info_args, &exit_code] {
    try {
      const bundle::BundleInfo header = bundle::read_bundle_info(info_args->bundle);
      const std::size_t k = info_args->kernel_length ? info_args->kernel_length : default_kernel(header.sample_rate);
      const bundle::BundleInfo b = model::check_bundle(info_args->bundle, k);
      print_bundle(std::cout, b);
      std::cout << "dry run:     ok, (1, " << b.channels() << ", " << k << ") -> (1, " << k << ")\n";
      if (info_args->load) {
        model::RunnerOptions o;
        o.device = info_args->device;
        o.kernel_length = k;
        o.max_batch = info_args->max_batch;
        o.cpu_kernel_by_kernel = !info_args->batched;
        model::apply_torch_settings({info_args->threads, 0});
        const model::LoadedModel m = model::load_model(info_args->bundle, o);
        std::cout << "load:        device " << m.report.device << ", load " << number(m.report.load_seconds)
                  << " s, warm-up " << number(m.report.warmup_seconds) << " s, forward (" << o.max_batch << ", "
                  << b.channels() << ", " << k << ") " << number(m.report.last_warmup_call_ms) << " ms\n";
        if (!m.report.notes.empty()) std::cout << "notes:       " << m.report.notes << "\n";
      }
      exit_code = 0;
    } catch (const std::exception& e) {
      std::cerr << "deepclean model info: " << e.what() << "\n";
      exit_code = 1;
    }
  });

  struct ImportArgs {
    std::string train_dir;
    std::string out;
    model::Ml4gwImportOptions options;
  };
  auto import_args = std::make_shared<ImportArgs>();
  auto* imp = group->add_subcommand("import-ml4gw", "Convert an ML4GW deepcleanv2 training output into a bundle");
  imp->add_option("TRAIN_DIR", import_args->train_dir, "Directory with model.pt, X_scaler.pt, y_scaler.pt, config.yaml")
      ->required();
  imp->add_option("--sample-rate", import_args->options.sample_rate, "Model sample rate in Hz (e.g. 4096)")
      ->required();
  imp->add_option("--out", import_args->out, "Bundle directory to create")->required();
  imp->add_option("--version", import_args->options.version, "Version string (default: ml4gw:<TRAIN_DIR name>)");
  imp->add_option("--training-kernel-seconds", import_args->options.training_kernel_seconds,
                  "Training kernel length when config.yaml has no data.kernel_length");
  imp->add_flag("--force", import_args->options.overwrite, "Replace an existing bundle at --out");
  imp->callback([import_args, &exit_code] {
    try {
      const bundle::BundleInfo b = model::import_ml4gw(import_args->train_dir, import_args->out, import_args->options);
      std::cout << "imported " << import_args->train_dir << " -> " << import_args->out << "\n";
      print_bundle(std::cout, b);
      exit_code = 0;
    } catch (const std::exception& e) {
      std::cerr << "deepclean model import-ml4gw: " << e.what() << "\n";
      exit_code = 1;
    }
  });
}

}  // namespace deepclean::cli
