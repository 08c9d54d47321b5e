#include "config/config.hpp"

#include "core/text/utf8.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>
#include <type_traits>
#include <utility>

namespace deepclean::config {

const char* method_name(BandpassMethod m) {
  switch (m) {
    case BandpassMethod::None: return "none";
    case BandpassMethod::Causal: return "causal";
    case BandpassMethod::Window: return "window";
    case BandpassMethod::Fir: return "fir";
  }
  return "unknown";
}

std::string Config::where(const std::string& key) const {
  const auto it = locations.find(key);
  return it == locations.end() ? source_file : it->second;
}

ConfigError::ConfigError(std::string where, std::string message, std::string hint)
    : std::runtime_error(where + ": " + message + (hint.empty() ? "" : " (hint: " + hint + ")")),
      where_(std::move(where)),
      hint_(std::move(hint)) {}

namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// A YAML mapping whose keys must all be known: every get*() marks a key as used, and finish()
// rejects the rest, suggesting the closest known key (a typo is the usual cause).
class Section {
 public:
  Section(const YAML::Node& node, std::string path, const std::string& file,
          std::map<std::string, std::string>* locations = nullptr)
      : node_(node), path_(std::move(path)), file_(file), locations_(locations) {
    if (node_ && !node_.IsNull() && !node_.IsMap()) {
      throw error(node_, "`" + display() + "` must be a mapping of keys to values");
    }
  }

  std::string where(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    if (m.is_null()) return file_;
    return file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  }
  std::string where() const { return where(node_); }
  ConfigError error(const YAML::Node& n, const std::string& msg, const std::string& hint = {}) const {
    return ConfigError(where(n), msg, hint);
  }
  std::string key_path(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }
  std::string display() const { return path_.empty() ? "(top level)" : path_; }

  YAML::Node child(const std::string& key) {
    known_.insert(key);
    if (!node_ || !node_.IsMap()) return YAML::Node();
    YAML::Node n = node_[key];
    if (locations_ != nullptr && n && !n.Mark().is_null()) (*locations_)[key_path(key)] = where(n);
    return n;
  }
  bool has(const std::string& key) {
    const YAML::Node n = child(key);
    return n && !n.IsNull();
  }
  Section section(const std::string& key) { return Section(child(key), key_path(key), file_, locations_); }

  std::string str(const std::string& key, const std::string& fallback, bool required = false) {
    const YAML::Node n = child(key);
    if (!n || n.IsNull()) {
      if (required) {
        throw ConfigError(where(), "missing required key `" + key_path(key) + "`",
                          "add `" + key + ": ...` under `" + display() + "`");
      }
      return fallback;
    }
    if (!n.IsScalar()) throw error(n, "`" + key_path(key) + "` must be a string");
    if (const std::string p = text::value_problem(n.Scalar()); !p.empty()) throw error(n, "`" + key_path(key) + "` " + p);
    return n.Scalar();
  }

  double number(const std::string& key, double fallback) {
    const YAML::Node n = child(key);
    if (!n || n.IsNull()) return fallback;
    if (!n.IsScalar()) throw error(n, "`" + key_path(key) + "` must be a number");
    const std::string& s = n.Scalar();
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != s.size() || s.empty() || !std::isfinite(v)) {
      throw error(n, "`" + key_path(key) + "` must be a finite number, got `" + s + "`");
    }
    return v;
  }

  long long integer(const std::string& key, long long fallback) {
    const YAML::Node n = child(key);
    if (!n || n.IsNull()) return fallback;
    if (!n.IsScalar()) throw error(n, "`" + key_path(key) + "` must be an integer");
    const std::string& s = n.Scalar();
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(s, &used, 0);  // base 0: 3, 0x3 and 0b.. (not supported) alike
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != s.size() || s.empty()) {
      throw error(n, "`" + key_path(key) + "` must be an integer, got `" + s + "`");
    }
    return v;
  }

  bool boolean(const std::string& key, bool fallback) {
    const YAML::Node n = child(key);
    if (!n || n.IsNull()) return fallback;
    bool v = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
      throw error(n, "`" + key_path(key) + "` must be true or false");
    }
    return v;
  }

  // Rejects keys nobody asked for.
  void finish() const {
    if (!node_ || !node_.IsMap()) return;
    for (const auto& kv : node_) {
      if (!kv.first.IsScalar()) throw error(kv.first, "a key of " + display() + " must be a plain name, not a " +
                                                                 (kv.first.IsMap() ? "mapping" : "list"));
      const std::string key = kv.first.as<std::string>();
      if (known_.count(key)) continue;
      std::string best;
      std::size_t best_d = 3;  // suggest only close matches
      for (const auto& k : known_) {
        const std::size_t d = edit_distance(key, k);
        if (d < best_d) {
          best_d = d;
          best = k;
        }
      }
      std::string known_list;
      for (const auto& k : known_) known_list += (known_list.empty() ? "" : ", ") + k;
      throw ConfigError(where(kv.first), "unknown key `" + key_path(key) + "`",
                        best.empty() ? "known keys here: " + known_list
                                     : "did you mean `" + best + "`?");
    }
  }

  const YAML::Node& node() const { return node_; }

 private:
  YAML::Node node_;
  std::string path_;
  const std::string& file_;
  std::map<std::string, std::string>* locations_;
  std::set<std::string> known_;
};

// "H1", "L1", "V1", "K1": an upper-case letter then a digit or upper-case letter. (Plain code
// rather than <regex>: GCC 12's <regex> trips -Wmaybe-uninitialized under the sanitizers.)
bool is_ifo(const std::string& s) {
  auto upper = [](char ch) { return ch >= 'A' && ch <= 'Z'; };
  auto digit = [](char ch) { return ch >= '0' && ch <= '9'; };
  return s.size() == 2 && upper(s[0]) && (upper(s[1]) || digit(s[1]));
}

// "cpu", "cuda" or "cuda:N".
bool is_device(const std::string& s) {
  if (s == "cpu" || s == "cuda") return true;
  if (s.rfind("cuda:", 0) != 0 || s.size() == 5) return false;
  return std::all_of(s.begin() + 5, s.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

void require(bool ok, const Section& s, const YAML::Node& n, const std::string& msg,
             const std::string& hint = {}) {
  if (!ok) throw s.error(n ? n : s.node(), msg, hint);
}

std::string resolve_path(const std::string& p, const std::string& base_dir) {
  if (p.empty() || p.front() == '/' || base_dir.empty()) return p;
  return base_dir + "/" + p;
}

FrameSource read_source(Section& s, const std::string& ifo, const std::string& base_dir) {
  FrameSource f;
  f.directory = resolve_path(s.str("directory", "", true), base_dir);
  f.frame_type = s.str("frame_type", "", true);
  require(f.frame_type.find('-') == std::string::npos, s, s.child("frame_type"),
          "`" + s.key_path("frame_type") + "` must not contain '-' (T050017 names are split on it)");
  f.observatory = s.str("observatory", ifo.substr(0, 1));
  require(!f.observatory.empty() && f.observatory.find('-') == std::string::npos, s,
          s.child("observatory"), "`" + s.key_path("observatory") + "` must be letters such as H");
  return f;
}

}  // namespace

namespace {
Config parse_config_text(const std::string& yaml_text, const std::string& source_name);
}  // namespace

// Every problem is a ConfigError naming the file: a conversion yaml-cpp refuses in a corner the
// checks above did not foresee is reported at its position too (fuzz_config).
Config parse_config(const std::string& yaml_text, const std::string& source_name) {
  try {
    return parse_config_text(yaml_text, source_name);
  } catch (const YAML::Exception& e) {
    throw ConfigError(e.mark.is_null() ? source_name
                                       : source_name + ":" + std::to_string(e.mark.line + 1) + ":" +
                                             std::to_string(e.mark.column + 1),
                      "not a valid configuration: " + e.msg);
  }
}

namespace {
Config parse_config_text(const std::string& yaml_text, const std::string& source_name) {
  // YAML is Unicode, and every value may end up in a JSON reply, a metric label or a log line.
  if (const std::string p = text::file_text_problem(yaml_text, source_name); !p.empty()) {
    const auto colon = p.find(": ", source_name.size());  // "file:L:C" then the problem
    throw ConfigError(p.substr(0, colon), p.substr(colon + 2) + "; save the file as UTF-8 text");
  }
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    const std::string where = e.mark.is_null() ? source_name
                                               : source_name + ":" + std::to_string(e.mark.line + 1) +
                                                     ":" + std::to_string(e.mark.column + 1);
    throw ConfigError(where, "not valid YAML: " + e.msg);
  }
  if (!root || root.IsNull()) throw ConfigError(source_name, "the configuration is empty");

  Config c;
  c.source_file = source_name;
  const std::size_t slash = source_name.rfind('/');
  const std::string base_dir = slash == std::string::npos ? "." : source_name.substr(0, slash);

  Section top(root, "", source_name, &c.locations);
  c.ifo = top.str("ifo", "", true);
  require(is_ifo(c.ifo), top, top.child("ifo"),
          "`ifo` must be an interferometer prefix such as H1, L1, V1 or K1, got `" + c.ifo + "`");

  {
    Section in = top.section("input");
    require(in.node() && in.node().IsMap(), top, root, "missing required section `input`");
    Section strain = in.section("strain");
    require(strain.node() && strain.node().IsMap(), in, in.node(),
            "missing required section `input.strain`");
    c.input.strain_channel = strain.str("channel", "", true);
    c.input.strain = read_source(strain, c.ifo, base_dir);
    strain.finish();
    if (in.has("witness")) {
      Section w = in.section("witness");
      c.input.witness = read_source(w, c.ifo, base_dir);
      w.finish();
    } else {
      c.input.witness = c.input.strain;
    }
    if (in.has("state_vector")) {
      Section sv = in.section("state_vector");
      StateMask m;
      m.channel = sv.str("channel", "", true);
      const long long mask = sv.integer("mask", -1);
      require(mask >= 1 && mask <= 0xFFFFFFFFLL, sv, sv.child("mask"),
              "`input.state_vector.mask` must be an integer in 1 … 4294967295",
              "e.g. 3 requires bits 0 (HOFT_OK) and 1 (OBSERVATION_INTENT)");
      m.mask = static_cast<std::uint32_t>(mask);
      c.input.state = m;
      sv.finish();
    }
    c.input.timeout_seconds = in.number("timeout_seconds", c.input.timeout_seconds);
    require(c.input.timeout_seconds > 0 && c.input.timeout_seconds <= 3600, in, in.child("timeout_seconds"),
            "`input.timeout_seconds` must be in (0, 3600]");
    c.input.poll = in.boolean("poll", c.input.poll);
    c.input.poll_interval_seconds = in.number("poll_interval_seconds", c.input.poll_interval_seconds);
    require(c.input.poll_interval_seconds > 0 && c.input.poll_interval_seconds <= 10, in,
            in.child("poll_interval_seconds"), "`input.poll_interval_seconds` must be in (0, 10]");
    const std::string start = in.str("start", "resume");
    if (start == "resume") {
      c.input.start = StartFrom::Resume;
    } else if (start == "newest") {
      c.input.start = StartFrom::Newest;
    } else {
      const long long gps = in.integer("start", 0);
      require(gps > 0, in, in.child("start"),
              "`input.start` must be resume, newest or a GPS second");
      c.input.start = StartFrom::Gps;
      c.input.start_gps = static_cast<std::uint64_t>(gps);
    }
    in.finish();
  }

  {
    Section out = top.section("output");
    require(out.node() && out.node().IsMap(), top, root, "missing required section `output`");
    c.output.directory = resolve_path(out.str("directory", "", true), base_dir);
    c.output.frame_type = out.str("frame_type", c.input.strain.frame_type + "_DEEPCLEAN");
    require(c.output.frame_type.find('-') == std::string::npos, out, out.child("frame_type"),
            "`output.frame_type` must not contain '-'");
    c.output.channel = out.str("channel", c.input.strain_channel + "_DEEPCLEAN");
    c.output.noise_channel = out.str("noise_channel", "");
    c.output.state_vector_channel = out.str("state_vector_channel", c.ifo + ":DEEPCLEAN-STATE_VECTOR");
    const YAML::Node pt = out.child("passthrough");
    if (pt && !pt.IsNull()) {
      require(pt.IsSequence(), out, pt, "`output.passthrough` must be a list of channel names");
      for (const auto& n : pt) {
        require(n.IsScalar(), out, n, "`output.passthrough` entries must be channel names");
        if (const std::string p = text::value_problem(n.Scalar()); !p.empty()) {
          throw ConfigError(c.where("output.passthrough"), "a channel of `output.passthrough` " + p);
        }
        c.output.passthrough.push_back(n.Scalar());
      }
    }
    c.output.compression = out.str("compression", c.output.compression);
    require(c.output.compression == "raw" || c.output.compression == "zlib", out, out.child("compression"),
            "`output.compression` must be raw or zlib");
    c.output.zlib_level = static_cast<int>(out.integer("zlib_level", c.output.zlib_level));
    require(c.output.zlib_level >= 1 && c.output.zlib_level <= 9, out, out.child("zlib_level"),
            "`output.zlib_level` must be in 1 … 9");
    c.output.retention_seconds = out.number("retention_seconds", c.output.retention_seconds);
    require(c.output.retention_seconds >= 0, out, out.child("retention_seconds"),
            "`output.retention_seconds` must be ≥ 0 (0 keeps every frame)");
    std::set<std::string> names{c.output.channel, c.output.state_vector_channel};
    require(names.size() == 2 && c.output.noise_channel != c.output.channel &&
                c.output.noise_channel != c.output.state_vector_channel,
            out, out.node(), "output channel names must differ from each other");
    out.finish();
  }

  {
    Section m = top.section("model");
    // Required unless a model repository gives the production version (checked with `models` below).
    c.model.bundle = resolve_path(m.str("bundle", ""), base_dir);
    c.model.device = m.str("device", c.model.device);
    require(is_device(c.model.device), m, m.child("device"),
            "`model.device` must be cpu, cuda or cuda:N, got `" + c.model.device + "`");
    c.model.threads = static_cast<int>(m.integer("threads", c.model.threads));
    require(c.model.threads >= 1 && c.model.threads <= 256, m, m.child("threads"),
            "`model.threads` must be in 1 … 256");
    c.model.batch_size = static_cast<int>(m.integer("batch_size", c.model.batch_size));
    require(c.model.batch_size >= 1 && c.model.batch_size <= 4096, m, m.child("batch_size"),
            "`model.batch_size` must be in 1 … 4096");
    c.model.fp16 = m.boolean("fp16", c.model.fp16);
    c.model.cuda_graph = m.boolean("cuda_graph", c.model.cuda_graph);
    require(!(c.model.fp16 || c.model.cuda_graph) || c.model.device != "cpu", m, m.node(),
            "`model.fp16` and `model.cuda_graph` need a CUDA device");
    c.model.witness_buffer = m.str("witness_buffer", c.model.witness_buffer);
    require(c.model.witness_buffer == "auto" || c.model.witness_buffer == "host" || c.model.witness_buffer == "device", m,
            m.child("witness_buffer"),
            "`model.witness_buffer` must be auto, host or device, got `" + c.model.witness_buffer + "`");
    c.model.check_timeout_seconds = m.number("check_timeout_seconds", c.model.check_timeout_seconds);
    require(c.model.check_timeout_seconds >= 1 && c.model.check_timeout_seconds <= 3600, m,
            m.child("check_timeout_seconds"), "`model.check_timeout_seconds` must be in 1 … 3600");
    m.finish();
  }

  {
    Section inf = top.section("inference");
    c.inference.kernel_seconds = inf.number("kernel_seconds", c.inference.kernel_seconds);
    require(c.inference.kernel_seconds > 0 && c.inference.kernel_seconds <= 64, inf, inf.child("kernel_seconds"),
            "`inference.kernel_seconds` must be in (0, 64]");
    c.inference.sampling_rate = inf.number("sampling_rate", c.inference.sampling_rate);
    require(c.inference.sampling_rate > 0, inf, inf.child("sampling_rate"),
            "`inference.sampling_rate` (kernels per second) must be > 0");
    c.inference.aggregation_seconds = inf.number("aggregation_seconds", c.inference.aggregation_seconds);
    require(c.inference.aggregation_seconds > 0 && c.inference.aggregation_seconds <= c.inference.kernel_seconds, inf,
            inf.child("aggregation_seconds"),
            "`inference.aggregation_seconds` must be in (0, kernel_seconds]",
            "N·s ≤ K: the averaged predictions must fit in one kernel");
    inf.finish();
  }

  {
    Section bp = top.section("bandpass");
    const std::string method = bp.str("method", method_name(c.bandpass.method));
    if (method == "none") {
      c.bandpass.method = BandpassMethod::None;
    } else if (method == "causal") {
      c.bandpass.method = BandpassMethod::Causal;
    } else if (method == "window") {
      c.bandpass.method = BandpassMethod::Window;
    } else if (method == "fir") {
      c.bandpass.method = BandpassMethod::Fir;
    } else {
      throw bp.error(bp.child("method"), "`bandpass.method` must be none, causal, window or fir, got `" +
                                             method + "`");
    }
    c.bandpass.memory_seconds = bp.number("memory_seconds", c.bandpass.memory_seconds);
    require(c.bandpass.memory_seconds >= 0 && c.bandpass.memory_seconds <= 600, bp, bp.child("memory_seconds"),
            "`bandpass.memory_seconds` must be in [0, 600]");
    c.bandpass.look_ahead_seconds = bp.number("look_ahead_seconds", c.bandpass.look_ahead_seconds);
    require(c.bandpass.look_ahead_seconds >= 0 && c.bandpass.look_ahead_seconds <= 60, bp,
            bp.child("look_ahead_seconds"), "`bandpass.look_ahead_seconds` must be in [0, 60]");
    if (c.bandpass.method == BandpassMethod::Fir) {
      require(c.bandpass.look_ahead_seconds > 0, bp, bp.has("look_ahead_seconds") ? bp.child("look_ahead_seconds") : bp.node(),
              "`bandpass.look_ahead_seconds` must be > 0 with `method: fir`",
              "the filter has 2·look_ahead·fs + 1 taps: its look-ahead is always half its length");
    }
    c.bandpass.kaiser_beta = bp.number("kaiser_beta", c.bandpass.kaiser_beta);
    require(c.bandpass.kaiser_beta >= 0 && c.bandpass.kaiser_beta <= 50, bp, bp.child("kaiser_beta"),
            "`bandpass.kaiser_beta` must be in [0, 50]", "5 to 9 is usual: larger means less leakage, wider edges");
    const YAML::Node bands = bp.child("bands");
    if (bands && !bands.IsNull()) {
      require(bands.IsSequence() && bands.size() > 0, bp, bands,
              "`bandpass.bands` must be a list of [low, high] pairs in Hz", "e.g. [[55, 65]]");
      for (const auto& b : bands) {
        require(b.IsSequence() && b.size() == 2, bp, b, "each band must be [low, high] in Hz");
        double lo = 0, hi = 0;
        try {
          lo = b[0].as<double>();
          hi = b[1].as<double>();
        } catch (const YAML::Exception&) {
          throw bp.error(b, "band edges must be numbers in Hz");
        }
        require(lo > 0 && hi > lo, bp, b, "a band needs 0 < low < high");
        c.bandpass.bands.emplace_back(lo, hi);
      }
    }
    c.bandpass.order = static_cast<int>(bp.integer("order", 0));
    require(c.bandpass.order >= 0 && c.bandpass.order <= 16, bp, bp.child("order"),
            "`bandpass.order` must be in 1 … 16 (0 or absent: the bundle's)");
    bp.finish();
  }

  {
    Section sub = top.section("subtraction");
    c.subtraction.taper_seconds = sub.number("taper_seconds", c.subtraction.taper_seconds);
    require(c.subtraction.taper_seconds >= 0 && c.subtraction.taper_seconds <= 60, sub, sub.child("taper_seconds"),
            "`subtraction.taper_seconds` must be in [0, 60]");
    sub.finish();
  }

  {
    Section ms = top.section("models");
    ModelsSettings& x = c.models;
    x.repository = resolve_path(ms.str("repository", ""), base_dir);
    x.archive = resolve_path(ms.str("archive", ""), base_dir);
    x.candidate_directory = resolve_path(ms.str("candidate_directory", ""), base_dir);
    x.candidate_frame_type = ms.str("candidate_frame_type", c.output.frame_type + "_CANARY");
    require(x.candidate_frame_type.find('-') == std::string::npos, ms, ms.child("candidate_frame_type"),
            "`models.candidate_frame_type` must not contain '-'");
    require(x.candidate_directory.empty() || x.candidate_directory != c.output.directory ||
                x.candidate_frame_type != c.output.frame_type,
            ms, ms.child("candidate_frame_type"),
            "the canary's frames would overwrite the output frames: give `models.candidate_frame_type` or "
            "`models.candidate_directory` another value");
    auto positive = [&ms](const char* key, double& v, double lo, const char* what) {
      v = ms.number(key, v);
      require(v >= lo, ms, ms.child(key), std::string("`models.") + key + "` must be " + what);
    };
    positive("validation_seconds", x.validation_seconds, 1, "at least 1");
    positive("margin", x.margin, 0, "≥ 0");
    positive("max_compute_seconds", x.max_compute_seconds, 1e-3, "at least 0.001");
    positive("probation_seconds", x.probation_seconds, 0, "≥ 0");
    positive("crossfade_seconds", x.crossfade_seconds, 0, "≥ 0");
    positive("scan_interval_seconds", x.scan_interval_seconds, 0.1, "at least 0.1");
    ms.finish();
    Section m = top.section("model");
    require(!c.model.bundle.empty() || !x.repository.empty(), m, m.node() ? m.node() : root,
            "missing required key `model.bundle`", "add `bundle: ...` under `model`, or give a model repository "
            "(`models.repository`, docs/model-lifecycle.md)");
  }

  {
    Section gs = top.section("gate");
    GateSettings& g = c.gate;
    const auto format_number = [](double v) {
      std::ostringstream o;
      o << v;
      return o.str();
    };
    g.enabled = gs.boolean("enabled", g.enabled);
    const auto num = [&](const char* key, double& v, double lo, double hi, bool lo_open, const std::string& hint) {
      v = gs.number(key, v);
      require((lo_open ? v > lo : v >= lo) && v <= hi, gs, gs.child(key),  // number() rejects non-finite
              std::string("`gate.") + key + "` must be in " + (lo_open ? "(" : "[") + format_number(lo) + ", " +
                  format_number(hi) + "]",
              hint);
    };
    num("window_seconds", g.window_seconds, 1, 600, false, "the trailing window is at least one second");
    num("segment_seconds", g.segment_seconds, 0, 4, true, "frequency resolution is 1/segment_seconds Hz");
    require(g.segment_seconds <= g.window_seconds, gs, gs.child("segment_seconds"),
            "`gate.segment_seconds` must not exceed `gate.window_seconds`");
    num("guard_segment_seconds", g.guard_segment_seconds, 0, 8, true,
        "the guard bands' frequency resolution is 1/guard_segment_seconds Hz");
    num("guard_window_seconds", g.guard_window_seconds, 1, 600, false, "");
    require(g.guard_segment_seconds <= g.guard_window_seconds, gs, gs.child("guard_segment_seconds"),
            "`gate.guard_segment_seconds` must not exceed `gate.guard_window_seconds`");
    num("guard_hz", g.guard_hz, 0, 1000, false, "0 turns the guard bands off");
    num("close_above", g.close_above, 0, 1e6, true, "1.0: close as soon as cleaning makes the band worse");
    num("onset_close_above", g.onset_close_above, 0, 1e6, true,
        "the onset figure (two 0.25-s segments) only closes the gate; reacting within a quarter second");
    num("onset_floor", g.onset_floor, 0, 1, false,
        "the share of the window's mean raw power below which a pair's raw power does not count as less; 0: off");
    num("open_below", g.open_below, 0, 1e6, true, "");
    require(g.open_below < g.close_above, gs, gs.child("open_below"),
            "`gate.open_below` must be below `gate.close_above` (hysteresis)", "e.g. close_above 1.0, open_below 0.9");
    num("guard_close_above", g.guard_close_above, 0, 1e6, true, "");
    num("guard_open_below", g.guard_open_below, 0, 1e6, true, "");
    require(g.guard_open_below < g.guard_close_above, gs, gs.child("guard_open_below"),
            "`gate.guard_open_below` must be below `gate.guard_close_above` (hysteresis)",
            "e.g. guard_close_above 1.1, guard_open_below 1.05");
    num("guard_onset_close_above", g.guard_onset_close_above, 0, 1e6, true,
        "a guard band's onset figure (the smaller of its last two 1-s segments) only closes the gate");
    num("min_closed_seconds", g.min_closed_seconds, 0, 86400, false, "");
    num("recover_seconds", g.recover_seconds, 0, 86400, false, "");
    require(g.recover_seconds >= g.segment_seconds && (g.guard_hz == 0 || g.recover_seconds >= g.guard_segment_seconds),
            gs, gs.child("recover_seconds"),
            "`gate.recover_seconds` must be at least `gate.segment_seconds` and `gate.guard_segment_seconds`",
            "the gate reopens on figures over the last recover_seconds, which must hold a whole segment");
    num("ramp_down_seconds", g.ramp_down_seconds, 0, 60, true, "");
    num("ramp_up_seconds", g.ramp_up_seconds, 0, 60, true, "");
    num("max_zscore", g.max_zscore, 0, 1e6, false, "0 turns the check off");
    g.flatline = gs.boolean("flatline", g.flatline);
    num("saturation_fraction", g.saturation_fraction, 0, 1, false, "0 turns the check off");
    gs.finish();
  }

  {
    Section log = top.section("logging");
    c.logging.level = log.str("level", c.logging.level);
    static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error"};
    require(levels.count(c.logging.level) == 1, log, log.child("level"),
            "`logging.level` must be trace, debug, info, warn or error");
    log.finish();
  }

  {
    Section met = top.section("metrics");
    const std::string p = met.str("path", "");
    c.metrics.path = resolve_path(p, base_dir);
    met.finish();
  }

  {
    Section ctl = top.section("control");
    c.control.socket = resolve_path(ctl.str("socket", ""), base_dir);
    ctl.finish();
  }

  {
    Section ta = top.section("training_archive");
    TrainingArchiveSettings& x = c.training_archive;
    x.directory = resolve_path(ta.str("directory", ""), base_dir);
    x.frame_type = ta.str("frame_type", c.ifo + "_DEEPCLEAN_ARCHIVE");
    require(!x.frame_type.empty() && x.frame_type.find('-') == std::string::npos, ta, ta.child("frame_type"),
            "`training_archive.frame_type` must not be empty or contain '-' (T050017 names are split on it)");
    auto whole = [&ta](const char* key, double& v, double lo, double hi) {
      v = ta.number(key, v);
      require(v >= lo && v <= hi && v == std::floor(v), ta, ta.child(key),
              std::string("`training_archive.") + key + "` must be a whole number of seconds in [" +
                  std::to_string(static_cast<long long>(lo)) + ", " + std::to_string(static_cast<long long>(hi)) + "]");
    };
    whole("span_seconds", x.span_seconds, 1, 31 * 86400.0);
    whole("chunk_seconds", x.chunk_seconds, 1, 3600);
    x.max_megabytes = ta.number("max_megabytes", x.max_megabytes);
    require(x.max_megabytes >= 0, ta, ta.child("max_megabytes"), "`training_archive.max_megabytes` must be >= 0 (0: no budget)");
    require(x.directory.empty() || x.directory != c.output.directory || x.frame_type != c.output.frame_type, ta,
            ta.child("directory"), "the training archive would share the output's directory and frame type");
    ta.finish();
  }

  {
    Section rs = top.section("retrain");
    RetrainSettings& x = c.retrain;
    auto in_range = [&rs](const char* key, double& v, double lo, double hi, bool whole, bool lo_open) {
      v = rs.number(key, v);
      const bool ok = (lo_open ? v > lo : v >= lo) && v <= hi && (!whole || v == std::floor(v));
      std::ostringstream what;
      what << "`retrain." << key << "` must be " << (whole ? "a whole number " : "") << "in " << (lo_open ? "(" : "[")
           << lo << ", " << hi << "]";
      require(ok, rs, rs.child(key), what.str());
    };
    in_range("span_seconds", x.span_seconds, 16, 31 * 86400.0, true, false);
    in_range("held_out_fraction", x.held_out_fraction, 0, 0.5, false, true);
    in_range("min_good_fraction", x.min_good_fraction, 0, 1, false, false);
    in_range("cadence_seconds", x.cadence_seconds, 1, 31 * 86400.0, false, false);
    in_range("min_span_seconds", x.min_span_seconds, 16, 31 * 86400.0, true, false);
    require(x.min_span_seconds <= x.span_seconds, rs, rs.child("min_span_seconds"),
            "`retrain.min_span_seconds` must not exceed `retrain.span_seconds`");
    in_range("relock_gap_seconds", x.relock_gap_seconds, 1, 31 * 86400.0, true, false);
    in_range("poll_seconds", x.poll_seconds, 0, 86400, false, true);
    in_range("learning_rate", x.learning_rate, 0, 10, false, true);
    in_range("epochs", x.epochs, 1, 100000, true, false);
    in_range("kernel_stride_seconds", x.kernel_stride_seconds, 0, 64, false, true);
    in_range("threads", x.threads, 1, 256, true, false);
    rs.finish();
  }

  top.finish();
  return c;
}
}  // namespace

Config load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    const int err = errno;
    // The one line an operator sees when a unit instance has no configuration: where to start from.
    throw ConfigError(path, std::string("cannot open the configuration file: ") + std::strerror(err),
                      "example configurations are in /usr/share/doc/deepclean/examples/ (Debian package) or "
                      "config/examples/ (source tree); every key: docs/configuration.md");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace deepclean::config

namespace deepclean::config {
namespace {

// Member count of an aggregate (C++17, no reflection): the most initializers T{...} accepts when
// each converts to any member type. Holds fields() below to every member of its struct.
// (clang warns of the members left out of T{...} in this unevaluated probe, which is its point, and of
// the conversion being declared only)
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wmissing-field-initializers"
#pragma clang diagnostic ignored "-Wundefined-internal"
#endif
struct AnyMember {
  template <class U>
  operator U&() const;  // declared only: used in unevaluated contexts
};
template <class T, class... A>
constexpr auto brace_initializable(int) -> decltype(T{std::declval<A>()...}, true) {
  return true;
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif
template <class T, class... A>
constexpr bool brace_initializable(...) {
  return false;
}
template <class T, class... A>
constexpr std::size_t member_count() {
  if constexpr (brace_initializable<T, A..., AnyMember>(0)) {
    return member_count<T, A..., AnyMember>();
  } else {
    return sizeof...(A);
  }
}

}  // namespace

// Each section compares as a whole over fields(); the static_assert fails to compile when a member
// is added to the struct but not to its fields() (and so to its comparison).
#define DC_COMPARED_AS_A_WHOLE(T, ...)                                                                 \
  namespace {                                                                                         \
  auto fields(const T& x) { return std::tie(__VA_ARGS__); }                                           \
  static_assert(member_count<T>() == std::tuple_size_v<decltype(fields(std::declval<const T&>()))>,   \
                #T ": fields() must name every member");                                              \
  }                                                                                                   \
  bool operator==(const T& a, const T& b) { return fields(a) == fields(b); }

DC_COMPARED_AS_A_WHOLE(FrameSource, x.directory, x.frame_type, x.observatory)
DC_COMPARED_AS_A_WHOLE(StateMask, x.channel, x.mask)
DC_COMPARED_AS_A_WHOLE(InputSettings, x.strain, x.witness, x.strain_channel, x.state, x.timeout_seconds, x.poll,
                       x.poll_interval_seconds, x.start, x.start_gps)
DC_COMPARED_AS_A_WHOLE(OutputSettings, x.directory, x.frame_type, x.channel, x.noise_channel, x.state_vector_channel,
                       x.passthrough, x.compression, x.zlib_level, x.retention_seconds)
DC_COMPARED_AS_A_WHOLE(ModelSettings, x.bundle, x.device, x.threads, x.batch_size, x.fp16, x.cuda_graph,
                       x.witness_buffer, x.check_timeout_seconds)
DC_COMPARED_AS_A_WHOLE(ModelsSettings, x.repository, x.archive, x.candidate_directory, x.candidate_frame_type,
                       x.validation_seconds, x.margin, x.max_compute_seconds, x.probation_seconds,
                       x.crossfade_seconds, x.scan_interval_seconds)
DC_COMPARED_AS_A_WHOLE(InferenceSettings, x.kernel_seconds, x.sampling_rate, x.aggregation_seconds)
DC_COMPARED_AS_A_WHOLE(BandpassSettings, x.method, x.memory_seconds, x.look_ahead_seconds, x.kaiser_beta, x.bands,
                       x.order)
DC_COMPARED_AS_A_WHOLE(SubtractionSettings, x.taper_seconds)
DC_COMPARED_AS_A_WHOLE(GateSettings, x.enabled, x.window_seconds, x.segment_seconds, x.guard_hz,
                       x.guard_segment_seconds, x.guard_window_seconds, x.close_above, x.onset_close_above,
                       x.onset_floor, x.open_below, x.guard_close_above, x.guard_open_below, x.guard_onset_close_above,
                       x.min_closed_seconds, x.recover_seconds, x.ramp_down_seconds, x.ramp_up_seconds, x.max_zscore,
                       x.flatline, x.saturation_fraction)
DC_COMPARED_AS_A_WHOLE(LoggingSettings, x.level)
DC_COMPARED_AS_A_WHOLE(MetricsSettings, x.path)
DC_COMPARED_AS_A_WHOLE(ControlSettings, x.socket)
DC_COMPARED_AS_A_WHOLE(TrainingArchiveSettings, x.directory, x.frame_type, x.span_seconds, x.chunk_seconds,
                       x.max_megabytes)
DC_COMPARED_AS_A_WHOLE(RetrainSettings, x.span_seconds, x.held_out_fraction, x.min_good_fraction, x.cadence_seconds,
                       x.min_span_seconds, x.relock_gap_seconds, x.poll_seconds,
                       x.learning_rate, x.epochs, x.kernel_stride_seconds, x.threads)
#undef DC_COMPARED_AS_A_WHOLE

// source_file, locations, ifo and the thirteen sections below: a new top-level member must be added to
// sections() (and to docs/configuration.md) before this compiles again.
static_assert(member_count<Config>() == 16, "Config: a new member needs a place in sections() below");

namespace {

struct WholeSection {
  const char* name;
  bool (*same)(const Config&, const Config&);
};
// Every section of Config, compared as a whole.
const std::vector<WholeSection>& sections() {
  static const std::vector<WholeSection> s = {
      {"input", [](const Config& a, const Config& b) { return a.input == b.input; }},
      {"output", [](const Config& a, const Config& b) { return a.output == b.output; }},
      {"model", [](const Config& a, const Config& b) { return a.model == b.model; }},
      {"models", [](const Config& a, const Config& b) { return a.models == b.models; }},
      {"inference", [](const Config& a, const Config& b) { return a.inference == b.inference; }},
      {"bandpass", [](const Config& a, const Config& b) { return a.bandpass == b.bandpass; }},
      {"subtraction", [](const Config& a, const Config& b) { return a.subtraction == b.subtraction; }},
      {"gate", [](const Config& a, const Config& b) { return a.gate == b.gate; }},
      {"logging", [](const Config& a, const Config& b) { return a.logging == b.logging; }},
      {"metrics", [](const Config& a, const Config& b) { return a.metrics == b.metrics; }},
      {"control", [](const Config& a, const Config& b) { return a.control == b.control; }},
      {"training_archive", [](const Config& a, const Config& b) { return a.training_archive == b.training_archive; }},
      {"retrain", [](const Config& a, const Config& b) { return a.retrain == b.retrain; }},
  };
  return s;
}

// A value as the reference writes it: numbers in their shortest form that reads back exactly, so
// two values compare equal exactly when their texts do.
std::string show(const std::string& s) { return s; }
std::string show(bool b) { return b ? "true" : "false"; }
std::string show(int v) { return std::to_string(v); }
std::string show(std::uint32_t v) { return std::to_string(v); }
std::string show(double v) {
  char buf[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}
std::string show(BandpassMethod m) { return method_name(m); }
std::string show(const std::vector<std::string>& v) {
  std::string s = "[";
  for (const auto& x : v) s += (s.size() > 1 ? ", " : "") + x;
  return s + "]";
}
std::string show(const std::vector<std::pair<double, double>>& v) {
  std::string s = "[";
  for (const auto& [lo, hi] : v) s += (s.size() > 1 ? ", [" : "[") + show(lo) + ", " + show(hi) + "]";
  return s + "]";
}
std::string start_text(const InputSettings& in) {
  switch (in.start) {
    case StartFrom::Resume: return "resume";
    case StartFrom::Newest: return "newest";
    case StartFrom::Gps: return std::to_string(in.start_gps);
  }
  return "unknown";
}

struct KeyEntry {
  KeyInfo info;
  std::string (*text)(const Config&);
};

// One row per key of docs/configuration.md (tests/config walks that reference against this table):
// the key, what a reload does when it changes (config.hpp's OnReload; docs/configuration.md
// "Reloading"), and its value as text (two configurations differ in a key when its texts differ).
#define DC_KEY(path, mode, expr) \
  KeyEntry { KeyInfo{path, OnReload::mode}, [](const Config& c) -> std::string { return expr; } }
// A key whose path is the member's: the key and what it shows cannot disagree.
#define DC_SAME(member, mode) DC_KEY(#member, mode, show(c.member))
const std::vector<KeyEntry>& table() {
  static const std::vector<KeyEntry> t = {
      DC_SAME(ifo, Restart),
      DC_SAME(input.strain.directory, Restart),
      DC_SAME(input.strain.frame_type, Restart),
      DC_SAME(input.strain.observatory, Restart),
      DC_KEY("input.strain.channel", Pipeline, c.input.strain_channel),
      DC_SAME(input.witness.directory, Restart),
      DC_SAME(input.witness.frame_type, Restart),
      DC_SAME(input.witness.observatory, Restart),
      DC_KEY("input.state_vector.channel", Pipeline, c.input.state ? c.input.state->channel : std::string("(none)")),
      DC_KEY("input.state_vector.mask", Pipeline, c.input.state ? show(c.input.state->mask) : std::string("(none)")),
      DC_SAME(input.timeout_seconds, Kept),
      DC_SAME(input.poll, Restart),
      DC_SAME(input.poll_interval_seconds, Restart),
      DC_KEY("input.start", Restart, start_text(c.input)),
      DC_SAME(output.directory, Pipeline),
      DC_SAME(output.frame_type, Pipeline),
      DC_SAME(output.channel, Pipeline),
      DC_SAME(output.noise_channel, Pipeline),
      DC_SAME(output.state_vector_channel, Pipeline),
      DC_SAME(output.passthrough, Pipeline),
      DC_SAME(output.compression, Pipeline),
      DC_SAME(output.zlib_level, Pipeline),
      DC_SAME(output.retention_seconds, Kept),
      DC_SAME(model.bundle, Kept),
      DC_SAME(model.device, Pipeline),
      DC_SAME(model.threads, Restart),
      DC_SAME(model.batch_size, Pipeline),
      DC_SAME(model.fp16, Pipeline),
      DC_SAME(model.cuda_graph, Pipeline),
      DC_SAME(model.witness_buffer, Pipeline),
      DC_SAME(model.check_timeout_seconds, Kept),
      DC_SAME(models.repository, Restart),
      DC_SAME(models.archive, Restart),
      DC_SAME(models.candidate_directory, Kept),
      DC_SAME(models.candidate_frame_type, Kept),
      DC_SAME(models.validation_seconds, Kept),
      DC_SAME(models.margin, Kept),
      DC_SAME(models.max_compute_seconds, Kept),
      DC_SAME(models.probation_seconds, Kept),
      DC_SAME(models.crossfade_seconds, Kept),
      DC_SAME(models.scan_interval_seconds, Kept),
      DC_SAME(inference.kernel_seconds, Pipeline),
      DC_SAME(inference.sampling_rate, Pipeline),
      DC_SAME(inference.aggregation_seconds, Pipeline),
      DC_SAME(bandpass.method, Pipeline),
      DC_SAME(bandpass.memory_seconds, Pipeline),
      DC_SAME(bandpass.look_ahead_seconds, Pipeline),
      DC_SAME(bandpass.kaiser_beta, Pipeline),
      DC_SAME(bandpass.bands, Pipeline),
      DC_SAME(bandpass.order, Pipeline),
      DC_SAME(subtraction.taper_seconds, Pipeline),
      DC_SAME(gate.enabled, Pipeline),
      DC_SAME(gate.window_seconds, Pipeline),
      DC_SAME(gate.segment_seconds, Pipeline),
      DC_SAME(gate.guard_segment_seconds, Pipeline),
      DC_SAME(gate.guard_window_seconds, Pipeline),
      DC_SAME(gate.guard_hz, Pipeline),
      DC_SAME(gate.close_above, Pipeline),
      DC_SAME(gate.onset_close_above, Pipeline),
      DC_SAME(gate.onset_floor, Pipeline),
      DC_SAME(gate.open_below, Pipeline),
      DC_SAME(gate.guard_close_above, Pipeline),
      DC_SAME(gate.guard_onset_close_above, Pipeline),
      DC_SAME(gate.guard_open_below, Pipeline),
      DC_SAME(gate.min_closed_seconds, Pipeline),
      DC_SAME(gate.recover_seconds, Pipeline),
      DC_SAME(gate.ramp_down_seconds, Pipeline),
      DC_SAME(gate.ramp_up_seconds, Pipeline),
      DC_SAME(gate.max_zscore, Pipeline),
      DC_SAME(gate.flatline, Pipeline),
      DC_SAME(gate.saturation_fraction, Pipeline),
      DC_SAME(logging.level, Kept),
      DC_SAME(metrics.path, Kept),
      DC_SAME(control.socket, Restart),
      DC_SAME(training_archive.directory, Restart),
      DC_SAME(training_archive.frame_type, Restart),
      DC_SAME(training_archive.span_seconds, Restart),
      DC_SAME(training_archive.chunk_seconds, Restart),
      DC_SAME(training_archive.max_megabytes, Restart),
      DC_SAME(retrain.span_seconds, Kept),
      DC_SAME(retrain.held_out_fraction, Kept),
      DC_SAME(retrain.min_good_fraction, Kept),
      DC_SAME(retrain.cadence_seconds, Kept),
      DC_SAME(retrain.min_span_seconds, Kept),
      DC_SAME(retrain.relock_gap_seconds, Kept),
      DC_SAME(retrain.poll_seconds, Kept),
      DC_SAME(retrain.learning_rate, Kept),
      DC_SAME(retrain.epochs, Kept),
      DC_SAME(retrain.kernel_stride_seconds, Kept),
      DC_SAME(retrain.threads, Kept),
  };
  return t;
}
#undef DC_SAME
#undef DC_KEY

}  // namespace

const std::vector<KeyInfo>& keys() {
  static const std::vector<KeyInfo> k = [] {
    std::vector<KeyInfo> out;
    for (const KeyEntry& e : table()) out.push_back(e.info);
    return out;
  }();
  return k;
}

std::vector<std::pair<std::string, std::string>> key_values(const Config& c) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const KeyEntry& e : table()) out.emplace_back(e.info.key, e.text(c));
  return out;
}

namespace {

enum class Which { All, Cleaning, Restart };

// The table's keys that differ, then "<section>.*" for a section that differs as a whole with none of
// its keys among them (a member the table does not name: counted as a cleaning change).
std::vector<std::string> differing(const Config& a, const Config& b, Which which) {
  std::vector<std::string> out;
  std::vector<std::string> any;  // every differing key, for the section check
  for (const KeyEntry& e : table()) {
    if (e.text(a) == e.text(b)) continue;
    any.push_back(e.info.key);
    if (which == Which::All || (which == Which::Cleaning && e.info.cleaning()) ||
        (which == Which::Restart && e.info.restart())) {
      out.push_back(e.info.key);
    }
  }
  if (which == Which::Restart) return out;
  for (const WholeSection& s : sections()) {
    if (s.same(a, b)) continue;
    const std::string prefix = std::string(s.name) + ".";
    const bool named = std::any_of(any.begin(), any.end(), [&](const std::string& k) { return k.rfind(prefix, 0) == 0; });
    if (!named) out.push_back(prefix + "*");
  }
  return out;
}

}  // namespace

std::vector<std::string> changed_keys(const Config& a, const Config& b) { return differing(a, b, Which::All); }

std::vector<std::string> changed_cleaning_keys(const Config& a, const Config& b) {
  return differing(a, b, Which::Cleaning);
}

std::vector<std::string> changed_restart_keys(const Config& a, const Config& b) {
  return differing(a, b, Which::Restart);
}

}  // namespace deepclean::config
