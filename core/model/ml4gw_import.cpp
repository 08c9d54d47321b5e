// ML4GW deepcleanv2 training output -> model bundle. Torch-free: the scaler tensors come through
// detail::read_state_dict (state_dict.cpp), the model is copied byte for byte and then checked.
#include "core/model/ml4gw_import.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "core/bundle/sha256.hpp"
#include "core/model/load.hpp"
#include "core/model/state_dict.hpp"
#include "deepclean/version.hpp"

namespace deepclean::model {

using bundle::BundleError;
using bundle::BundleInfo;

namespace {

namespace fs = std::filesystem;

std::string at(const std::string& file, const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  if (m.is_null()) return file;
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

[[noreturn]] void fail(const std::string& file, const YAML::Node& node, const std::string& what) {
  throw BundleError(at(file, node) + ": " + what);
}

// freq_low / freq_high: a list of numbers, or one number for a single band.
std::vector<double> number_list(const std::string& file, const YAML::Node& n, const char* key) {
  std::vector<double> v;
  auto one = [&](const YAML::Node& x) {
    double d = 0.0;
    if (!x.IsScalar() || !YAML::convert<double>::decode(x, d) || !std::isfinite(d)) {
      fail(file, x, std::string("data.") + key + " must hold finite numbers");
    }
    v.push_back(d);
  };
  if (n.IsSequence()) {
    for (const YAML::Node& x : n) one(x);
  } else {
    one(n);
  }
  if (v.empty()) fail(file, n, std::string("data.") + key + " is empty");
  return v;
}

struct Scaler {
  std::vector<double> mean;
  std::vector<double> std;
};

Scaler read_scaler(const fs::path& file, std::size_t expected, const char* expected_shape) {
  auto tensors = detail::read_state_dict(file);
  Scaler s;
  for (const char* key : {"mean", "std"}) {
    const auto it = tensors.find(key);
    if (it == tensors.end()) throw BundleError(file.string() + ": no tensor '" + key + "' in the state dict");
    if (it->second.values.size() != expected) {
      std::ostringstream m;
      m << file.string() << ": tensor '" << key << "' has " << it->second.values.size() << " values, expected "
        << expected << " (shape " << expected_shape << ")";
      throw BundleError(m.str());
    }
    for (const double v : it->second.values) {
      if (!std::isfinite(v)) throw BundleError(file.string() + ": tensor '" + key + "' has non-finite values");
    }
    (std::string(key) == "mean" ? s.mean : s.std) = it->second.values;
  }
  return s;
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw BundleError(p.string() + ": cannot write");
}

}  // namespace

BundleInfo import_ml4gw(const fs::path& train_dir, const fs::path& out, const Ml4gwImportOptions& options) {
  if (!fs::is_directory(train_dir)) throw BundleError(train_dir.string() + ": training directory does not exist");
  const fs::path model = train_dir / "model.pt";
  const fs::path x_scaler = train_dir / "X_scaler.pt";
  const fs::path y_scaler = train_dir / "y_scaler.pt";
  const fs::path config = train_dir / "config.yaml";
  for (const fs::path& p : {model, x_scaler, y_scaler, config}) {
    if (!fs::is_regular_file(p)) throw BundleError(p.string() + ": missing");
  }
  if (options.sample_rate <= 0) throw BundleError(train_dir.string() + ": --sample-rate must be positive");

  const std::string cfile = config.string();
  YAML::Node root;
  try {
    root = YAML::LoadFile(cfile);
  } catch (const YAML::ParserException& e) {
    throw BundleError(cfile + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                      ": YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    throw BundleError(cfile + ": " + e.msg);
  }
  if (!root.IsMap() || !root["data"]) throw BundleError(cfile + ": no 'data' section (not a Lightning CLI config?)");
  YAML::Node data = root["data"];
  // A data module given by class_path keeps its arguments under init_args.
  if (data.IsMap() && data["init_args"] && !data["channels"]) data = data["init_args"];
  if (!data.IsMap()) fail(cfile, data, "'data' must be a mapping");
  auto need = [&](const char* key) {
    const YAML::Node n = data[key];
    if (!n) fail(cfile, data, std::string("missing data.") + key);
    return n;
  };

  const YAML::Node channels = need("channels");
  if (!channels.IsSequence() || channels.size() < 2) {
    fail(cfile, channels, "data.channels must list the strain channel followed by at least one witness");
  }
  std::vector<std::string> names;
  for (const YAML::Node& c : channels) {
    if (!c.IsScalar() || c.Scalar().empty()) fail(cfile, c, "data.channels entries must be channel names");
    names.push_back(c.Scalar());
  }
  BundleInfo info;
  info.strain_channel = names.front();
  info.witnesses.assign(names.begin() + 1, names.end());
  // ML4GW's dataset sorts the witnesses by name before stacking them into model input rows.
  std::sort(info.witnesses.begin(), info.witnesses.end());
  if (std::adjacent_find(info.witnesses.begin(), info.witnesses.end()) != info.witnesses.end()) {
    fail(cfile, channels, "data.channels lists a witness twice");
  }

  const std::vector<double> lo = number_list(cfile, need("freq_low"), "freq_low");
  const std::vector<double> hi = number_list(cfile, need("freq_high"), "freq_high");
  if (lo.size() != hi.size()) fail(cfile, data["freq_high"], "data.freq_low and data.freq_high differ in length");
  for (std::size_t i = 0; i < lo.size(); ++i) info.bands.push_back({lo[i], hi[i]});
  const YAML::Node order = need("filt_order");
  if (!order.IsScalar() || !YAML::convert<int>::decode(order, info.filter_order)) {
    fail(cfile, order, "data.filt_order must be an integer");
  }
  info.training_kernel_seconds = options.training_kernel_seconds;
  if (info.training_kernel_seconds <= 0.0) {
    const YAML::Node k = data["kernel_length"];
    if (!k) fail(cfile, data, "no data.kernel_length: give the training kernel with --training-kernel-seconds");
    if (!k.IsScalar() || !YAML::convert<double>::decode(k, info.training_kernel_seconds)) {
      fail(cfile, k, "data.kernel_length must be a number of seconds");
    }
  }
  if (const YAML::Node r = data["sample_rate"]; r && r.IsScalar()) {
    double rate = 0.0;
    if (YAML::convert<double>::decode(r, rate) && rate != options.sample_rate) {
      fail(cfile, r, "data.sample_rate is " + r.Scalar() + " but --sample-rate says " +
                         std::to_string(options.sample_rate));
    }
  }

  const std::size_t n = info.witnesses.size();
  const Scaler xs = read_scaler(x_scaler, n, ("(" + std::to_string(n) + ", 1)").c_str());
  const Scaler ys = read_scaler(y_scaler, 1, "(1,)");
  info.witness_means = xs.mean;
  info.witness_stds = xs.std;
  for (double& s : info.witness_stds) {
    if (s == 0.0) s = 1.0;  // ML4GW's rule for channels constant over the training data
  }
  info.strain_mean = ys.mean[0];
  info.strain_std = ys.std[0];
  info.sample_rate = options.sample_rate;
  info.version = options.version.empty() ? "ml4gw:" + fs::absolute(train_dir).lexically_normal().filename().string()
                                         : options.version;
  if (info.version == "ml4gw:") info.version = "ml4gw:" + fs::absolute(train_dir).parent_path().filename().string();

  // Provenance stays deterministic (no clock): importing the same files twice gives the same id.
  YAML::Emitter prov;
  prov << YAML::BeginMap;
  prov << YAML::Key << "source" << YAML::Value << "ML4GW deepcleanv2 training output";
  prov << YAML::Key << "train_dir" << YAML::Value << fs::absolute(train_dir).lexically_normal().string();
  prov << YAML::Key << "imported_by" << YAML::Value << std::string("deepclean ") + kVersion;
  prov << YAML::Key << "witness_order" << YAML::Value << "data.channels[1:] sorted by name";
  if (const YAML::Node f = data["fname"]; f && f.IsScalar()) {
    prov << YAML::Key << "training_data" << YAML::Value << f.Scalar();
  }
  prov << YAML::Key << "sha256" << YAML::Value << YAML::BeginMap;
  for (const fs::path& p : {model, x_scaler, y_scaler, config}) {
    prov << YAML::Key << p.filename().string() << YAML::Value << bundle::sha256_file_hex(p);
  }
  prov << YAML::EndMap << YAML::EndMap;
  info.provenance_yaml = prov.c_str();
  bundle::validate_bundle_fields(info, cfile);

  // Build next to the target and rename: a reader never sees a half-written bundle.
  if (fs::exists(out) && !options.overwrite) {
    throw BundleError(out.string() + ": already exists (use --force to replace it)");
  }
  const fs::path parent = fs::absolute(out).parent_path();
  fs::create_directories(parent);
  std::random_device rd;
  const fs::path tmp = parent / ("." + fs::absolute(out).filename().string() + ".tmp-" + std::to_string(rd()));
  fs::create_directory(tmp);
  std::size_t parameter_count = 0;
  try {
    fs::copy_file(model, tmp / bundle::kModelFile);
    write_file(tmp / bundle::kBundleFile, bundle::bundle_yaml(info));
    // Dry run at one second of data, rounded to the network's multiple of 16.
    const auto k = static_cast<std::size_t>(std::max(16, options.sample_rate / 16 * 16));
    parameter_count = check_bundle(tmp, k).parameter_count;
    if (fs::exists(out)) fs::remove_all(out);
    fs::rename(tmp, out);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  BundleInfo written = bundle::read_bundle_info(out);
  written.parameter_count = parameter_count;
  return written;
}

}  // namespace deepclean::model
