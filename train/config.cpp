#include "train/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace deepclean::train {
namespace {

std::string where(const std::string& file, const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.is_null()) return file;
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

[[noreturn]] void fail(const std::string& file, const YAML::Node& n, const std::string& msg) {
  throw TrainConfigError(where(file, n) + ": " + msg);
}

// A list of [low_hz, high_hz] pairs inside (0, sample_rate/2).
std::vector<std::pair<double, double>> parse_bands(const std::string& file, const YAML::Node& bands, const std::string& key,
                                                   int sample_rate) {
  if (!bands.IsSequence() || bands.size() == 0) fail(file, bands, "`" + key + "` must be a list of [low_hz, high_hz]");
  std::vector<std::pair<double, double>> out;
  for (const auto& b : bands) {
    if (!b.IsSequence() || b.size() != 2 || !b[0].IsScalar() || !b[1].IsScalar()) {
      fail(file, b, "a band must be [low_hz, high_hz]");
    }
    double lo = 0, hi = 0;
    try {
      lo = b[0].as<double>();
      hi = b[1].as<double>();
    } catch (const YAML::Exception&) {
      fail(file, b, "a band must be two numbers [low_hz, high_hz]");
    }
    if (!(lo > 0 && lo < hi && hi < sample_rate / 2.0)) {
      fail(file, b, "a band needs 0 < low < high < sample_rate/2 = " + std::to_string(sample_rate / 2));
    }
    out.emplace_back(lo, hi);
  }
  return out;
}

// A mapping whose keys must all be known; finish() reports the first unknown one.
class Map {
 public:
  Map(YAML::Node node, std::string path, const std::string& file) : node_(node), path_(std::move(path)), file_(file) {
    if (!node_.IsMap()) fail(file_, node_, "`" + (path_.empty() ? std::string("(top level)") : path_) + "` must be a mapping");
  }
  std::string key(const std::string& k) const { return path_.empty() ? k : path_ + "." + k; }
  YAML::Node get(const std::string& k) {
    known_.insert(k);
    return node_[k];
  }
  YAML::Node required(const std::string& k) {
    YAML::Node n = get(k);
    if (!n || n.IsNull()) fail(file_, node_, "missing required key `" + key(k) + "`");
    return n;
  }
  Map map(const std::string& k) { return Map(required(k), key(k), file_); }
  template <typename T>
  T scalar(const YAML::Node& n, const std::string& k, const char* type) const {
    if (!n.IsScalar()) fail(file_, n, "`" + key(k) + "` must be " + type);
    try {
      return n.as<T>();
    } catch (const YAML::Exception&) {
      fail(file_, n, "`" + key(k) + "` must be " + type + ", not '" + n.Scalar() + "'");
    }
  }
  std::string str(const std::string& k, const std::string& fallback, bool req = false) {
    YAML::Node n = req ? required(k) : get(k);
    if (!n || n.IsNull()) return fallback;
    const auto s = scalar<std::string>(n, k, "a string");
    if (s.empty()) fail(file_, n, "`" + key(k) + "` must not be empty");
    return s;
  }
  double num(const std::string& k, double fallback, double lo, double hi, bool lo_open = true) {
    YAML::Node n = get(k);
    if (!n || n.IsNull()) return fallback;
    const auto v = scalar<double>(n, k, "a number");
    if (!std::isfinite(v) || (lo_open ? v <= lo : v < lo) || v > hi) {
      std::ostringstream s;
      s << "`" << key(k) << "` = " << v << " is out of range (" << (lo_open ? "> " : ">= ") << lo << ", <= " << hi << ")";
      fail(file_, n, s.str());
    }
    return v;
  }
  long long integer(const std::string& k, long long fallback, long long lo, long long hi, bool req = false) {
    YAML::Node n = req ? required(k) : get(k);
    if (!n || n.IsNull()) return fallback;
    const auto v = scalar<long long>(n, k, "an integer");
    if (v < lo || v > hi) {
      fail(file_, n, "`" + key(k) + "` = " + std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " +
                         std::to_string(hi) + "]");
    }
    return v;
  }
  bool boolean(const std::string& k, bool fallback) {
    YAML::Node n = get(k);
    if (!n || n.IsNull()) return fallback;
    return scalar<bool>(n, k, "true or false");
  }
  void finish() const {
    for (const auto& kv : node_) {
      const auto k = kv.first.as<std::string>();
      if (!known_.count(k)) fail(file_, kv.first, "unknown key `" + key(k) + "`");
    }
  }

 private:
  YAML::Node node_;
  std::string path_;
  const std::string& file_;
  std::set<std::string> known_;
};

FrameDir frame_dir(Map m, const std::string& base_dir) {
  FrameDir f;
  f.directory = m.str("directory", "", true);
  if (f.directory.front() != '/') f.directory = base_dir + "/" + f.directory;
  f.frame_type = m.str("frame_type", "", true);
  f.observatory = m.str("observatory", "");
  m.finish();
  return f;
}

}  // namespace

std::size_t TrainConfig::kernel_samples() const {
  return static_cast<std::size_t>(std::llround(kernel_seconds * sample_rate));
}

TrainConfig parse_train_config(const std::string& yaml_text, const std::string& source_name) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    const std::string w = e.mark.is_null() ? source_name
                                           : source_name + ":" + std::to_string(e.mark.line + 1) + ":" +
                                                 std::to_string(e.mark.column + 1);
    throw TrainConfigError(w + ": not valid YAML: " + e.msg);
  }
  if (!root || root.IsNull()) throw TrainConfigError(source_name + ": the training configuration is empty");
  const std::string& file = source_name;
  const std::size_t slash = source_name.rfind('/');
  const std::string base_dir = slash == std::string::npos ? "." : source_name.substr(0, slash);

  TrainConfig c;
  c.source_file = source_name;
  Map top(root, "", file);

  Map data = top.map("data");
  if (data.get("archive") && !data.get("archive").IsNull()) {
    // The service's training archive holds both, and only seconds that passed its state mask.
    for (const char* k : {"strain", "witness", "state"}) {
      if (data.get(k)) fail(file, data.get(k), std::string("`data.") + k + "` cannot be given with `data.archive` "
                                                   "(the archive holds the strain and the witnesses of good seconds)");
    }
    c.archive = frame_dir(data.map("archive"), base_dir);
  } else {
    c.strain_frames = frame_dir(data.map("strain"), base_dir);
    c.witness_frames = frame_dir(data.map("witness"), base_dir);
  }
  c.start = static_cast<std::uint64_t>(data.integer("start", 0, 0, 9999999999LL, true));
  c.end = static_cast<std::uint64_t>(data.integer("end", 0, 0, 9999999999LL, true));
  if (c.end <= c.start) fail(file, data.get("end"), "`data.end` must be after `data.start`");
  if (data.get("state") && !data.get("state").IsNull()) {
    Map st = data.map("state");
    c.state_channel = st.str("channel", "", true);
    c.state_mask = static_cast<std::uint32_t>(st.integer("mask", 3, 0, 0xFFFFFFFFLL));
    st.finish();
  }
  data.finish();

  Map ch = top.map("channels");
  c.strain_channel = ch.str("strain", "", true);
  const YAML::Node w = ch.required("witnesses");
  if (!w.IsSequence() || w.size() == 0) fail(file, w, "`channels.witnesses` must be a non-empty list of channel names");
  std::set<std::string> seen;
  for (const auto& n : w) {
    if (!n.IsScalar() || n.Scalar().empty()) fail(file, n, "a witness must be a channel name");
    if (!seen.insert(n.Scalar()).second) fail(file, n, "witness '" + n.Scalar() + "' is listed twice");
    if (n.Scalar() == c.strain_channel) fail(file, n, "the strain channel cannot be a witness");
    c.witnesses.push_back(n.Scalar());
  }
  c.sort_witnesses = ch.boolean("sort_witnesses", true);
  if (c.sort_witnesses) std::sort(c.witnesses.begin(), c.witnesses.end());
  ch.finish();
  for (FrameDir* f : {&c.strain_frames, &c.witness_frames, &c.archive}) {
    if (f->observatory.empty()) f->observatory = c.strain_channel.substr(0, 1);
  }

  Map mo = top.map("model");
  c.sample_rate = static_cast<int>(mo.integer("sample_rate", c.sample_rate, 16, 65536));
  if (c.sample_rate % 16 != 0) fail(file, mo.get("sample_rate"), "`model.sample_rate` must be a multiple of 16");
  const YAML::Node bands = mo.get("bands");
  if (bands && !bands.IsNull()) c.bands = parse_bands(file, bands, "model.bands", c.sample_rate);
  c.filter_order = static_cast<int>(mo.integer("filter_order", c.filter_order, 1, 16));
  mo.finish();

  if (top.get("stream") && !top.get("stream").IsNull()) {
    Map st = top.map("stream");
    StreamSettings s;
    s.kernel_seconds = st.num("kernel_seconds", s.kernel_seconds, 0, 64);
    s.sampling_rate = st.num("sampling_rate", s.sampling_rate, 0, 1e6);
    s.aggregation_seconds = st.num("aggregation_seconds", s.aggregation_seconds, 0, 64);
    if (s.aggregation_seconds > s.kernel_seconds) {
      fail(file, st.get("aggregation_seconds"), "`stream.aggregation_seconds` must not exceed `stream.kernel_seconds`");
    }
    s.method = st.str("method", s.method);
    if (s.method != "none" && s.method != "causal" && s.method != "window" && s.method != "fir") {
      fail(file, st.get("method"), "`stream.method` must be none, causal, window or fir, got `" + s.method + "`");
    }
    s.look_ahead_seconds = st.num("look_ahead_seconds", s.look_ahead_seconds, 0, 60, false);
    s.memory_seconds = st.num("memory_seconds", s.memory_seconds, 0, 600, false);
    s.kaiser_beta = st.num("kaiser_beta", s.kaiser_beta, 0, 50, false);
    s.taper_seconds = st.num("taper_seconds", s.taper_seconds, 0, 60, false);
    const YAML::Node sb = st.get("bands");
    if (sb && !sb.IsNull()) s.bands = parse_bands(file, sb, "stream.bands", c.sample_rate);
    const double k = s.kernel_seconds * c.sample_rate, a = s.aggregation_seconds * c.sample_rate;
    if (std::abs(k - std::round(k)) > 1e-9 || std::llround(k) % 16 != 0) {
      fail(file, st.get("kernel_seconds"), "`stream.kernel_seconds` * sample_rate must be a multiple of 16");
    }
    if (std::abs(a - std::round(a)) > 1e-9) {
      fail(file, st.get("aggregation_seconds"), "`stream.aggregation_seconds` * sample_rate must be a whole number");
    }
    st.finish();
    c.stream = s;
  }

  if (top.get("training") && !top.get("training").IsNull()) {
    Map t = top.map("training");
    c.kernel_seconds = t.num("kernel_seconds", c.kernel_seconds, 0, 600);
    c.kernel_stride_seconds = t.num("kernel_stride_seconds", c.kernel_stride_seconds, 0, 600);
    c.fftlength_seconds = t.num("fftlength_seconds", c.fftlength_seconds, 0, 600);
    c.batch_size = static_cast<int>(t.integer("batch_size", c.batch_size, 1, 4096));
    c.learning_rate = t.num("learning_rate", c.learning_rate, 0, 10);
    c.weight_decay = t.num("weight_decay", c.weight_decay, 0, 1, false);
    c.epochs = static_cast<int>(t.integer("epochs", c.epochs, 1, 100000));
    c.validation_fraction = t.num("validation_fraction", c.validation_fraction, 0, 0.9);
    c.patience = static_cast<int>(t.integer("patience", c.patience, 1, 100000));
    c.lr_factor = t.num("lr_factor", c.lr_factor, 0, 1);
    c.lr_patience = static_cast<int>(t.integer("lr_patience", c.lr_patience, 0, 100000));
    c.min_learning_rate = t.num("min_learning_rate", -1, 0, 10, false);
    if (c.lr_factor < 1 && c.lr_patience + 1 >= c.patience) {
      fail(file, t.get("lr_patience") ? t.get("lr_patience") : t.get("patience"),
           "`training.lr_patience` must be less than `training.patience` - 1, or early stopping ends training "
           "before the learning rate is ever reduced (or set `lr_factor: 1` for no schedule)");
    }
    c.stream_weight = t.num("stream_weight", c.stream_weight, 0, 1, false);
    if (c.stream_weight > 0 && !c.stream) {
      fail(file, t.get("stream_weight"),
           "`training.stream_weight` needs a `stream` section: the daemon's kernel and aggregation settings");
    }
    if (c.stream_weight > 0 && c.stream->aggregation_seconds > c.kernel_seconds) {
      fail(file, t.get("stream_weight"),
           "`stream.aggregation_seconds` must not exceed `training.kernel_seconds`: the streaming-aware loss covers the "
           "last aggregation_seconds of each training kernel");
    }
    c.guard_weight = t.num("guard_weight", c.guard_weight, 0, 100, false);
    c.guard_hz = t.num("guard_hz", c.guard_hz, 0, 1000);
    c.initial_bundle = t.str("initial_bundle", "");
    if (!c.initial_bundle.empty() && c.initial_bundle.front() != '/') c.initial_bundle = base_dir + "/" + c.initial_bundle;
    c.seed = static_cast<std::uint64_t>(t.integer("seed", 1, 0, 0x7FFFFFFFFFFFFFFFLL));
    c.threads = static_cast<int>(t.integer("threads", c.threads, 1, 256));
    if (c.kernel_samples() % 16 != 0) {
      fail(file, t.get("kernel_seconds"), "`training.kernel_seconds` * sample_rate must be a multiple of 16");
    }
    if (c.fftlength_seconds > c.kernel_seconds) {
      fail(file, t.get("fftlength_seconds"), "`training.fftlength_seconds` must not exceed kernel_seconds");
    }
    t.finish();
  }

  if (c.min_learning_rate < 0) c.min_learning_rate = c.learning_rate * c.lr_factor * c.lr_factor;
  if (c.min_learning_rate > c.learning_rate) {
    fail(file, top.get("training"), "`training.min_learning_rate` must not exceed `training.learning_rate`");
  }

  Map out = top.map("output");
  c.bundle = out.str("bundle", "", true);
  if (c.bundle.front() != '/') c.bundle = base_dir + "/" + c.bundle;
  c.version = out.str("version", c.version);
  c.force = out.boolean("force", false);
  out.finish();
  top.finish();

  const double seconds = static_cast<double>(c.end - c.start);
  if (seconds * (1.0 - c.validation_fraction) < c.kernel_seconds + 4 ||
      seconds * c.validation_fraction < c.kernel_seconds) {
    fail(file, root, "the data range (" + std::to_string(c.end - c.start) +
                         " s) is too short: training and validation parts each need more than one kernel");
  }
  return c;
}

TrainConfig load_train_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw TrainConfigError(path + ": cannot read the training configuration");
  std::stringstream s;
  s << in.rdbuf();
  return parse_train_config(s.str(), path);
}

}  // namespace deepclean::train
