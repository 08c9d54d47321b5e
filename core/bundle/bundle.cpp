// bundle.yaml: strict reading (every problem reported as file:line:column) and writing.
#include "core/bundle/bundle.hpp"

#include "core/text/utf8.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "core/bundle/sha256.hpp"

namespace deepclean::bundle {
namespace {

std::string at(const std::string& file, const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  if (m.is_null()) return file;
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

[[noreturn]] void fail(const std::string& file, const YAML::Node& node, const std::string& what) {
  throw BundleError(at(file, node) + ": " + what);
}

// Reads key `key` of mapping `map`, which must exist.
YAML::Node required(const std::string& file, const YAML::Node& map, const char* key) {
  YAML::Node n = map[key];
  if (!n) fail(file, map, std::string("missing key '") + key + "'");
  return n;
}

std::string as_string(const std::string& file, const YAML::Node& n, const char* what) {
  if (!n.IsScalar() || n.Scalar().empty()) fail(file, n, std::string(what) + " must be a non-empty string");
  // (YAML's escapes can make any byte: "\_" comes out of yaml-cpp as a lone 0xA0)
  if (const std::string p = text::value_problem(n.Scalar()); !p.empty()) fail(file, n, std::string(what) + " " + p);
  return n.Scalar();
}

double as_finite(const std::string& file, const YAML::Node& n, const char* what) {
  double v = 0.0;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v)) {
    fail(file, n, std::string(what) + " must be a number");
  }
  if (!std::isfinite(v)) fail(file, n, std::string(what) + " is not finite");
  return v;
}

int as_int(const std::string& file, const YAML::Node& n, const char* what) {
  int v = 0;
  if (!n.IsScalar() || !YAML::convert<int>::decode(n, v)) {
    fail(file, n, std::string(what) + " must be an integer");
  }
  return v;
}

void check_keys(const std::string& file, const YAML::Node& map, const std::set<std::string>& allowed,
                const char* where) {
  if (!map.IsMap()) fail(file, map, std::string(where) + " must be a mapping");
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) fail(file, kv.first, std::string("a key in ") + where + " must be a plain name");
    const std::string key = kv.first.as<std::string>();
    if (allowed.count(key) == 0) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(file, kv.first, "unknown key '" + key + "' in " + where + " (expected one of: " + list + ")");
    }
  }
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw BundleError(p.string() + ": cannot open for reading");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

void validate_bundle_fields(const BundleInfo& info, const std::string& file) {
  auto bad = [&](const std::string& what) { throw BundleError(file + ": " + what); };
  if (info.sample_rate <= 0) bad("sample_rate must be positive");
  if (!(info.training_kernel_seconds > 0.0) || !std::isfinite(info.training_kernel_seconds)) {
    bad("training_kernel_seconds must be positive");
  }
  if (info.version.empty()) bad("version must not be empty");
  // Names go into logs, metric labels, JSON and frame files: no control characters (a NUL would
  // also cut the name short when written back).
  const auto has_control = [](const std::string& t) {
    return std::any_of(t.begin(), t.end(), [](char ch) {
      const auto u = static_cast<unsigned char>(ch);
      return u < 0x20 || u == 0x7F;
    });
  };
  if (has_control(info.version)) bad("version contains a control character");
  if (has_control(info.strain_channel)) bad("strain channel contains a control character");
  for (const std::string& w : info.witnesses) {
    if (has_control(w)) bad("a witness name contains a control character");
  }
  if (info.strain_channel.empty()) bad("strain channel must not be empty");
  if (!(info.strain_std > 0.0) || !std::isfinite(info.strain_std) || !std::isfinite(info.strain_mean)) {
    bad("strain std must be positive and finite, mean finite");
  }
  if (info.witnesses.empty()) bad("no witness channels");
  if (info.witness_means.size() != info.witnesses.size() ||
      info.witness_stds.size() != info.witnesses.size()) {
    bad("witness mean/std count differs from the witness count");
  }
  std::set<std::string> seen;
  for (std::size_t c = 0; c < info.witnesses.size(); ++c) {
    const std::string& w = info.witnesses[c];
    if (w.empty()) bad("witness " + std::to_string(c) + " has an empty name");
    if (!seen.insert(w).second) bad("witness '" + w + "' is listed twice");
    if (w == info.strain_channel) bad("witness '" + w + "' is also the strain channel");
    if (!std::isfinite(info.witness_means[c]) || !std::isfinite(info.witness_stds[c]) ||
        info.witness_stds[c] < 0.0) {
      bad("witness '" + w + "': mean must be finite and std finite and non-negative");
    }
  }
  if (info.bands.empty()) bad("no cleaning bands");
  const double nyquist = 0.5 * info.sample_rate;
  for (const Band& b : info.bands) {
    if (!(b.low_hz > 0.0 && b.low_hz < b.high_hz && b.high_hz < nyquist)) {
      std::ostringstream s;
      s << "band [" << b.low_hz << ", " << b.high_hz << "] Hz must satisfy 0 < low < high < " << nyquist
        << " (Nyquist)";
      bad(s.str());
    }
  }
  // core/dsp designs Butterworth filters of order 1..16.
  if (info.filter_order < 1 || info.filter_order > 16) bad("filter_order must be in 1..16");
}

BundleInfo read_bundle_info(const std::filesystem::path& directory) {
  const std::filesystem::path yaml_path = directory / kBundleFile;
  const std::filesystem::path model_path = directory / kModelFile;
  const std::string file = yaml_path.string();
  if (!std::filesystem::is_directory(directory)) {
    throw BundleError(directory.string() + ": model bundle directory does not exist");
  }
  if (!std::filesystem::is_regular_file(yaml_path)) throw BundleError(file + ": missing");
  if (!std::filesystem::is_regular_file(model_path)) throw BundleError(model_path.string() + ": missing");
  BundleInfo info = parse_bundle_yaml(read_text(yaml_path), file);
  info.directory = directory;
  info.id = compute_bundle_id(directory);
  return info;
}

namespace {
BundleInfo parse_bundle_text(const std::string& text, const std::string& file);
}  // namespace

// Every problem is a BundleError naming the file, a conversion yaml-cpp refuses included.
BundleInfo parse_bundle_yaml(const std::string& text, const std::string& file) {
  try {
    return parse_bundle_text(text, file);
  } catch (const YAML::Exception& e) {
    throw BundleError(file + (e.mark.is_null() ? std::string()
                                               : ":" + std::to_string(e.mark.line + 1) + ":" +
                                                     std::to_string(e.mark.column + 1)) +
                      ": " + e.msg);
  }
}

namespace {
BundleInfo parse_bundle_text(const std::string& text, const std::string& file) {
  // The version and channel names go into metric labels and JSON, which need UTF-8.
  if (const std::string p = text::file_text_problem(text, file); !p.empty()) throw BundleError(p);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw BundleError(file + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                      ": YAML syntax error: " + e.msg);
  }
  if (!root || root.IsNull()) throw BundleError(file + ": empty file");

  BundleInfo info;
  check_keys(file, root,
             {"format", "version", "sample_rate", "training_kernel_seconds", "strain", "witnesses", "bands",
              "filter_order", "provenance"},
             "bundle.yaml");
  const YAML::Node format = required(file, root, "format");
  info.format = as_string(file, format, "format");
  if (info.format != kBundleFormat) {
    fail(file, format, "unsupported format '" + info.format + "' (this deepclean reads " + kBundleFormat + ")");
  }
  info.version = as_string(file, required(file, root, "version"), "version");
  const YAML::Node rate = required(file, root, "sample_rate");
  info.sample_rate = as_int(file, rate, "sample_rate");
  if (info.sample_rate <= 0) fail(file, rate, "sample_rate must be positive");
  const YAML::Node tk = required(file, root, "training_kernel_seconds");
  info.training_kernel_seconds = as_finite(file, tk, "training_kernel_seconds");
  if (info.training_kernel_seconds <= 0.0) fail(file, tk, "training_kernel_seconds must be positive");

  const YAML::Node strain = required(file, root, "strain");
  check_keys(file, strain, {"channel", "mean", "std"}, "strain");
  info.strain_channel = as_string(file, required(file, strain, "channel"), "strain.channel");
  info.strain_mean = as_finite(file, required(file, strain, "mean"), "strain.mean");
  const YAML::Node sstd = required(file, strain, "std");
  info.strain_std = as_finite(file, sstd, "strain.std");
  if (info.strain_std <= 0.0) fail(file, sstd, "strain.std must be positive (it scales every prediction)");

  const YAML::Node wit = required(file, root, "witnesses");
  if (!wit.IsSequence() || wit.size() == 0) fail(file, wit, "witnesses must be a non-empty list");
  for (const YAML::Node& w : wit) {
    check_keys(file, w, {"name", "mean", "std"}, "a witness entry");
    const std::string name = as_string(file, required(file, w, "name"), "witness name");
    for (const std::string& prev : info.witnesses) {
      if (prev == name) fail(file, w, "witness '" + name + "' is listed twice");
    }
    if (name == info.strain_channel) fail(file, w, "witness '" + name + "' is also the strain channel");
    info.witnesses.push_back(name);
    info.witness_means.push_back(as_finite(file, required(file, w, "mean"), "witness mean"));
    const YAML::Node sn = required(file, w, "std");
    double s = as_finite(file, sn, "witness std");
    if (s < 0.0) fail(file, sn, "witness std must not be negative");
    if (s == 0.0) s = 1.0;  // constant channel at training time: the contract divides by 1
    info.witness_stds.push_back(s);
  }

  const YAML::Node bands = required(file, root, "bands");
  if (!bands.IsSequence() || bands.size() == 0) fail(file, bands, "bands must be a non-empty list of [low, high]");
  for (const YAML::Node& b : bands) {
    if (!b.IsSequence() || b.size() != 2) fail(file, b, "a band must be [low_hz, high_hz]");
    Band band{as_finite(file, b[0], "band low"), as_finite(file, b[1], "band high")};
    if (!(band.low_hz > 0.0 && band.low_hz < band.high_hz && band.high_hz < 0.5 * info.sample_rate)) {
      fail(file, b, "band must satisfy 0 < low < high < sample_rate/2");
    }
    info.bands.push_back(band);
  }
  const YAML::Node order = required(file, root, "filter_order");
  info.filter_order = as_int(file, order, "filter_order");
  if (info.filter_order < 1 || info.filter_order > 16) fail(file, order, "filter_order must be in 1..16");

  if (const YAML::Node prov = root["provenance"]; prov && !prov.IsNull()) {
    YAML::Emitter e;
    e << prov;
    info.provenance_yaml = e.c_str();
  }
  validate_bundle_fields(info, file);
  return info;
}
}  // namespace

std::string compute_bundle_id(const std::filesystem::path& directory) {
  Sha256 h;
  try {
    sha256_update_file(h, directory / kModelFile);
    sha256_update_file(h, directory / kBundleFile);
  } catch (const std::runtime_error& e) {
    throw BundleError(e.what());
  }
  return h.finish_hex();
}

std::string bundle_yaml(const BundleInfo& info) {
  YAML::Emitter e;
  // 17 significant digits: every double (and so every float32 scaler value) reads back exactly.
  e.SetDoublePrecision(17);
  // ASCII out, anything else escaped: yaml-cpp writes some characters (U+00A0) as one raw byte, which
  // is not UTF-8 and would not read back (fuzz_bundle_yaml's finding).
  e.SetOutputCharset(YAML::EscapeNonAscii);
  e << YAML::BeginMap;
  e << YAML::Key << "format" << YAML::Value << info.format;
  e << YAML::Key << "version" << YAML::Value << YAML::DoubleQuoted << info.version;
  e << YAML::Key << "sample_rate" << YAML::Value << info.sample_rate;
  e << YAML::Key << "training_kernel_seconds" << YAML::Value << info.training_kernel_seconds;
  e << YAML::Key << "strain" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "channel" << YAML::Value << info.strain_channel;
  e << YAML::Key << "mean" << YAML::Value << info.strain_mean;
  e << YAML::Key << "std" << YAML::Value << info.strain_std;
  e << YAML::EndMap;
  e << YAML::Key << "witnesses" << YAML::Value << YAML::BeginSeq;
  for (std::size_t c = 0; c < info.witnesses.size(); ++c) {
    e << YAML::Flow << YAML::BeginMap;
    e << YAML::Key << "name" << YAML::Value << info.witnesses[c];
    e << YAML::Key << "mean" << YAML::Value << info.witness_means.at(c);
    e << YAML::Key << "std" << YAML::Value << info.witness_stds.at(c);
    e << YAML::EndMap;
  }
  e << YAML::EndSeq;
  e << YAML::Key << "bands" << YAML::Value << YAML::BeginSeq;
  for (const Band& b : info.bands) e << YAML::Flow << YAML::BeginSeq << b.low_hz << b.high_hz << YAML::EndSeq;
  e << YAML::EndSeq;
  e << YAML::Key << "filter_order" << YAML::Value << info.filter_order;
  if (!info.provenance_yaml.empty()) {
    e << YAML::Key << "provenance" << YAML::Value << YAML::Load(info.provenance_yaml);
  }
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace deepclean::bundle
