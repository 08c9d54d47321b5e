#include "daemon/pipeline/pipeline.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "core/stream/input_guard.hpp"
#include "deepclean/version.hpp"
#include "io/gwf/naming.hpp"

namespace deepclean::daemon {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// value * scale as an exact whole number, or an error naming the setting.
std::size_t whole(double value, const std::string& what) {
  const double r = std::round(value);
  if (!(r >= 1) || std::abs(value - r) > 1e-9 * std::max(1.0, r)) {
    throw std::invalid_argument(what + " = " + std::to_string(value) + " is not a whole number ≥ 1");
  }
  return static_cast<std::size_t>(r);
}

int whole_rate(double rate, const std::string& what) {
  return static_cast<int>(whole(rate, what));
}

// Times every forward pass so the model's share of the time can be reported.
class TimedPredictor final : public stream::Predictor {
 public:
  TimedPredictor(stream::Predictor& inner, double& seconds) : inner_(inner), seconds_(seconds) {}
  std::size_t channels() const override { return inner_.channels(); }
  std::size_t max_batch() const override { return inner_.max_batch(); }
  void predict(const float* kernels, std::size_t batch, std::size_t kernel_length, float* out) override {
    const auto t0 = Clock::now();
    inner_.predict(kernels, batch, kernel_length, out);
    seconds_ += seconds_since(t0);
  }
  void predict_from(const float* kernels, std::size_t batch, std::size_t kernel_length, std::size_t needed_from,
                    float* out) override {
    const auto t0 = Clock::now();
    inner_.predict_from(kernels, batch, kernel_length, needed_from, out);
    seconds_ += seconds_since(t0);
  }
  // Forwarded, or the base class would copy the kernels out of the ring and the runner's in-place
  // path would never be reached.
  void predict_windows(const float* x, std::size_t ld, std::size_t stride, std::size_t batch,
                       std::size_t kernel_length, std::size_t needed_from, float* out) override {
    const auto t0 = Clock::now();
    inner_.predict_windows(x, ld, stride, batch, kernel_length, needed_from, out);
    seconds_ += seconds_since(t0);
  }

 private:
  stream::Predictor& inner_;
  double& seconds_;
};

// Times a whole noise estimator (a device estimator: transfers, forward passes and averaging on
// the model's device) into the model stage.
class TimedEstimator final : public stream::NoiseEstimator {
 public:
  TimedEstimator(std::unique_ptr<stream::NoiseEstimator> inner, double& seconds)
      : inner_(std::move(inner)), seconds_(seconds) {}
  const stream::KernelGeometry& geometry() const override { return inner_->geometry(); }
  std::size_t channels() const override { return inner_->channels(); }
  void reset() override { inner_->reset(); }
  void push(const float* x, std::size_t n, std::size_t ld) override {
    const auto t0 = Clock::now();
    inner_->push(x, n, ld);
    seconds_ += seconds_since(t0);
  }
  void pop(std::vector<double>& y) override {
    const auto t0 = Clock::now();
    inner_->pop(y);
    seconds_ += seconds_since(t0);
  }
  std::size_t next_sample() const override { return inner_->next_sample(); }

 private:
  std::unique_ptr<stream::NoiseEstimator> inner_;
  double& seconds_;
};

}  // namespace

stream::CleanerConfig cleaner_config(const config::Config& cfg, const bundle::BundleInfo& bundle,
                                     const std::vector<double>& witness_rates, double strain_rate) {
  stream::CleanerConfig c;
  c.fs = bundle.sample_rate;
  c.strain_rate = whole_rate(strain_rate, "strain rate " + cfg.input.strain_channel);
  if (witness_rates.size() != bundle.witnesses.size()) {
    throw std::invalid_argument("expected " + std::to_string(bundle.witnesses.size()) +
                                " witness rates, got " + std::to_string(witness_rates.size()));
  }
  for (std::size_t i = 0; i < witness_rates.size(); ++i) {
    stream::WitnessChannel w;
    w.rate = whole_rate(witness_rates[i], "rate of " + bundle.witnesses[i]);
    w.mean = bundle.witness_means[i];
    w.std = bundle.witness_stds[i];
    c.witnesses.push_back(w);
  }
  c.strain_mean = bundle.strain_mean;
  c.strain_std = bundle.strain_std;
  const double fs = static_cast<double>(bundle.sample_rate);
  c.geometry.kernel_length = whole(cfg.inference.kernel_seconds * fs, "inference.kernel_seconds · fs");
  c.geometry.stride = whole(fs / cfg.inference.sampling_rate, "fs / inference.sampling_rate");
  c.geometry.num_averaged =
      whole(cfg.inference.aggregation_seconds * cfg.inference.sampling_rate,
            "inference.aggregation_seconds · inference.sampling_rate");
  c.model_factor = 16;
  switch (cfg.bandpass.method) {
    case config::BandpassMethod::None: c.method = stream::BandpassMethod::none; break;
    case config::BandpassMethod::Causal: c.method = stream::BandpassMethod::causal; break;
    case config::BandpassMethod::Window: c.method = stream::BandpassMethod::window; break;
    case config::BandpassMethod::Fir: c.method = stream::BandpassMethod::fir; break;
  }
  if (!cfg.bandpass.bands.empty()) {
    for (const auto& [lo, hi] : cfg.bandpass.bands) c.bands.push_back({lo, hi});
  } else {
    for (const auto& b : bundle.bands) c.bands.push_back({b.low_hz, b.high_hz});
  }
  c.order = cfg.bandpass.order > 0 ? cfg.bandpass.order : bundle.filter_order;
  c.memory_seconds = cfg.bandpass.memory_seconds;
  c.look_ahead_seconds = cfg.bandpass.look_ahead_seconds;
  c.kaiser_beta = cfg.bandpass.kaiser_beta;
  c.taper_seconds = cfg.subtraction.taper_seconds;
  c.block_seconds = 1;
  if (c.method == stream::BandpassMethod::fir) {
    // The checks that need the bundle's rate, pointed at the line that sets what does not fit.
    const double L = cfg.bandpass.look_ahead_seconds * fs;
    if (std::abs(L - std::round(L)) > 1e-9 * std::max(1.0, L) || std::round(L) < 1) {
      throw std::invalid_argument(cfg.where("bandpass.look_ahead_seconds") +
                                  ": `bandpass.look_ahead_seconds` · fs must be a whole number ≥ 1 of samples at the model rate " +
                                  std::to_string(bundle.sample_rate) + " Hz, got " + std::to_string(L));
    }
    try {
      (void)stream::design_fir_bands(c.bands, static_cast<std::size_t>(std::llround(L)), c.kaiser_beta, c.fs);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument((cfg.bandpass.bands.empty() ? cfg.source_file + ": the bundle's bands"
                                                     : cfg.where("bandpass.bands") + ": `bandpass.bands`") +
                                  ": " + e.what());
    }
  }
  stream::validate(c);
  return c;
}

std::string streaming_training_mismatch(const config::Config& cfg, const bundle::BundleInfo& bundle) {
  if (bundle.provenance_yaml.empty()) return {};
  double kernel = 0, aggregation = 0;
  try {
    const YAML::Node s = YAML::Load(bundle.provenance_yaml)["streaming"];
    if (!s || !s.IsMap()) return {};
    kernel = s["kernel_seconds"].as<double>();
    aggregation = s["aggregation_seconds"].as<double>();
  } catch (const YAML::Exception&) {
    return {};  // provenance is informative; a malformed one is not this check's business
  }
  const auto same = [](double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(b)); };
  if (same(kernel, cfg.inference.kernel_seconds) && same(aggregation, cfg.inference.aggregation_seconds)) return {};
  std::ostringstream m;
  m << "model " << bundle.version << " (" << bundle.directory.string() << ") was trained for the live stream with "
    << kernel << "-s kernels and " << aggregation << " s of aggregation, but "
    << (cfg.locations.count("inference.aggregation_seconds") != 0 ? cfg.where("inference.aggregation_seconds")
                                                                   : cfg.where("inference"))
    << " uses inference.kernel_seconds " << cfg.inference.kernel_seconds << " and inference.aggregation_seconds "
    << cfg.inference.aggregation_seconds << ": it will clean less well than its training figures say (docs/training.md, "
    << "\"Streaming-aware training\")";
  return m.str();
}

stream::QualityMonitorConfig monitor_config(const config::Config& cfg, const bundle::BundleInfo& bundle,
                                           double strain_rate) {
  stream::QualityMonitorConfig m;
  m.rate = strain_rate;
  for (const auto& b : bundle.bands) m.bands.push_back({b.low_hz, b.high_hz});  // the model's cleaning bands
  m.guard_hz = cfg.gate.guard_hz;
  m.segment_seconds = cfg.gate.segment_seconds;
  m.guard_segment_seconds = cfg.gate.guard_segment_seconds;
  m.guard_window_seconds = cfg.gate.guard_window_seconds;
  m.history_seconds = cfg.gate.recover_seconds;  // the gate's figures over its recovery period
  m.window_seconds = cfg.gate.window_seconds;
  return m;
}

stream::GateConfig gate_config(const config::Config& cfg) {
  stream::GateConfig g;
  g.close_above = cfg.gate.close_above;
  g.onset_close_above = cfg.gate.onset_close_above;
  g.onset_floor = cfg.gate.onset_floor;
  g.guard_onset_close_above = cfg.gate.guard_onset_close_above;
  g.open_below = cfg.gate.open_below;
  g.guard_close_above = cfg.gate.guard_close_above;
  g.guard_open_below = cfg.gate.guard_open_below;
  g.min_closed_seconds = cfg.gate.min_closed_seconds;
  g.recover_seconds = cfg.gate.recover_seconds;
  g.ramp_down_seconds = cfg.gate.ramp_down_seconds;
  g.ramp_up_seconds = cfg.gate.ramp_up_seconds;
  return g;
}

InputSpec input_spec(const config::Config& cfg, const bundle::BundleInfo& bundle) {
  InputSpec s;
  s.strain_source = cfg.input.strain;
  s.witness_source = cfg.input.witness;
  s.strain_channel = cfg.input.strain_channel;
  s.witness_channels = bundle.witnesses;
  s.state = cfg.input.state;
  s.passthrough = cfg.output.passthrough;
  return s;
}

struct Pipeline::Pending {
  std::uint64_t gps = 0;
  gwf::Channel raw;
  std::vector<double> cleaned;  // starts as the raw strain; cleaned samples overwrite it
  std::vector<double> weight;   // g
  std::vector<double> h;        // the raw strain (physical values)
  std::vector<double> correction;  // g * v_up: cleaned = h - correction
  std::uint64_t segment = 0;    // segments_ when it was pushed (in_segment only)
  std::vector<double> noise;    // v at fs
  std::vector<std::uint8_t> input_ok;
  std::vector<gwf::Channel> passthrough;
  std::size_t filled = 0;       // strain samples delivered by the cleaner
  bool in_segment = false;
  bool complete() const { return !in_segment || filled == cleaned.size(); }
};

Pipeline::Pipeline(config::Config cfg, bundle::BundleInfo bundle,
                   std::unique_ptr<stream::Predictor> predictor, EstimatorFactory estimator)
    : cfg_(std::move(cfg)), bundle_(std::move(bundle)), estimator_(std::move(estimator)) {
  if (!predictor) throw std::invalid_argument("Pipeline: no model");
  if (predictor->channels() != bundle_.witnesses.size()) {
    throw std::invalid_argument("the model takes " + std::to_string(predictor->channels()) +
                                " channels but the bundle lists " +
                                std::to_string(bundle_.witnesses.size()) + " witnesses");
  }
  predictor_ = std::move(predictor);
  names_.strain = cfg_.output.channel;
  names_.noise = cfg_.output.noise_channel;
  names_.state_vector = cfg_.output.state_vector_channel;
  // Fail at construction, not at the first frame, when the geometry or bands cannot work.
  (void)cleaner_config(cfg_, bundle_,
                       std::vector<double>(bundle_.witnesses.size(), bundle_.sample_rate),
                       bundle_.sample_rate);
  if (cfg_.gate.enabled) {
    (void)stream::QualityMonitor(monitor_config(cfg_, bundle_, bundle_.sample_rate));
    stream::validate(gate_config(cfg_));
  }
}

Pipeline::~Pipeline() = default;

std::vector<gwf::History> Pipeline::history(std::uint64_t gps) const {
  gwf::History h;
  h.name = "deepclean";
  h.time = static_cast<std::uint32_t>(gps);
  h.comment = std::string("deepclean ") + kVersion + "; model " + bundle_.version + " id " +
              bundle_.id + "; bandpass " + config::method_name(cfg_.bandpass.method);
  return {h};
}

double Pipeline::latency_seconds() const {
  if (cleaner_) return stream::algorithmic_latency_seconds(cleaner_->config());
  const std::vector<double> rates(bundle_.witnesses.size(), bundle_.sample_rate);
  return stream::algorithmic_latency_seconds(cleaner_config(cfg_, bundle_, rates, bundle_.sample_rate));
}

void Pipeline::end_segment() {
  if (cleaner_ && cleaner_->segment_open()) {
    const auto t0 = Clock::now();
    const double model0 = stages_.model;
    cleaner_->end_segment();
    collect_blocks();
    stages_.clean += seconds_since(t0) - (stages_.model - model0);
  }
  next_gps_.reset();
}

void Pipeline::start_segment(const SecondInput& in) {
  const double strain_rate = in.strain->sample_rate;
  if (!cleaner_ || rates_ != in.witness_rates || strain_rate_ != strain_rate) {
    stream::CleanerConfig c = cleaner_config(cfg_, bundle_, in.witness_rates, strain_rate);
    std::unique_ptr<stream::NoiseEstimator> estimator;
    if (estimator_) {
      estimator = std::make_unique<TimedEstimator>(estimator_(*predictor_, c.geometry), stages_.model);
    } else {
      timed_ = std::make_unique<TimedPredictor>(*predictor_, stages_.model);
      estimator = std::make_unique<stream::CpuNoiseEstimator>(c.geometry, *timed_,
                                                              static_cast<std::size_t>(cfg_.model.batch_size));
    }
    cleaner_ = std::make_unique<stream::StrainCleaner>(std::move(c), std::move(estimator));
    rates_ = in.witness_rates;
    strain_rate_ = strain_rate;
  }
  cleaner_->start_segment(stream::gps_ns(static_cast<std::int64_t>(in.gps)));
  segment_start_ = in.gps;
  ++segments_;
}

void Pipeline::collect_blocks() {
  while (cleaner_->has_block()) {
    const stream::CleanedBlock b = cleaner_->pop_block();
    const auto rate = static_cast<std::size_t>(cleaner_->config().strain_rate);
    const auto fs = static_cast<std::size_t>(cleaner_->config().fs);
    const std::uint64_t gps = segment_start_ + b.strain_offset / rate;
    Pending* p = nullptr;
    for (auto& q : pending_) {
      if (q.gps == gps) p = &q;
    }
    if (!p || !p->in_segment) {
      throw std::logic_error("pipeline: cleaned block for GPS " + std::to_string(gps) +
                             " has no pending second");
    }
    const std::size_t at = b.strain_offset % rate;
    for (std::size_t i = 0; i < b.strain.size(); ++i) {
      p->cleaned[at + i] = b.strain[i];
      p->weight[at + i] = b.weight[i];
      p->correction[at + i] = b.correction[i];
    }
    const std::size_t nat = b.noise_offset % fs;
    for (std::size_t i = 0; i < b.noise.size() && nat + i < p->noise.size(); ++i) {
      p->noise[nat + i] = b.noise[i];
    }
    p->filled += b.strain.size();
  }
}

std::vector<OutputSecond> Pipeline::pop_complete() {
  std::vector<OutputSecond> out;
  while (!pending_.empty() && pending_.front().complete()) {
    Pending& p = pending_.front();
    OutputSecond o;
    o.gps = p.gps;
    std::vector<double> q;
    if (cfg_.gate.enabled) q = gate_second(p, o.gate);
    o.raw_strain = std::move(p.raw);
    o.cleaned = std::move(p.cleaned);
    if (!cfg_.output.noise_channel.empty()) {
      o.noise = std::move(p.noise);
      o.noise_rate = bundle_.sample_rate;
    }
    o.state = state_bits(p.weight, q, p.input_ok, true);
    o.passthrough = std::move(p.passthrough);
    o.history = history(p.gps);
    out.push_back(std::move(o));
    pending_.pop_front();
  }
  return out;
}

std::string Pipeline::input_complaint(const SecondInput& in) const {
  stream::InputGuardConfig g;
  g.max_zscore = cfg_.gate.max_zscore;
  g.flatline = cfg_.gate.flatline;
  g.saturation_fraction = cfg_.gate.saturation_fraction;
  std::string all;
  for (std::size_t c = 0; c < in.witnesses.size() && c < bundle_.witnesses.size(); ++c) {
    const std::string why = stream::witness_complaint(in.witnesses[c].data(), in.witnesses[c].size(),
                                                      bundle_.witness_means[c], bundle_.witness_stds[c], g);
    if (!why.empty()) all += (all.empty() ? "" : "; ") + bundle_.witnesses[c] + " " + why;
  }
  return all.empty() ? all : "GPS " + std::to_string(in.gps) + ": " + all;
}

std::vector<double> Pipeline::gate_second(Pending& p, GateReport& report) {
  report.enabled = true;
  const std::size_t n = p.cleaned.size();
  const double rate = p.raw.sample_rate;
  if (!gate_ || gate_rate_ != rate) {
    // First second, or the strain rate changed: a new monitor and gate (open) for this rate.
    monitor_ = std::make_unique<stream::QualityMonitor>(monitor_config(cfg_, bundle_, rate));
    gate_ = std::make_unique<stream::QualityGate>(gate_config(cfg_), rate);
    gate_rate_ = rate;
    monitor_segment_ = 0;
  }
  if (p.in_segment) {
    if (monitor_segment_ != p.segment) {
      monitor_->reset();
      monitor_segment_ = p.segment;
    }
    monitor_->add(p.h.data(), p.cleaned.data(), p.weight.data(), n);
  } else if (monitor_segment_ != 0) {
    monitor_->reset();
    monitor_segment_ = 0;
  }
  // A bad witness second t reaches outputs from t - ceil(latency) (published once t is in) to
  // t + ceil(K + L) + 1 (kernels reaching back K, the band-pass L, and one second of margin for the
  // `window` method's memory and the resamplers). Only looked at when there is one: the latency
  // designs the resampling filters.
  std::string bad;
  if (!bad_inputs_.empty()) {
    const auto reach_back = static_cast<std::uint64_t>(std::ceil(latency_seconds() - 1e-9));
    const auto reach_on =
        static_cast<std::uint64_t>(std::ceil(cfg_.inference.kernel_seconds + cfg_.bandpass.look_ahead_seconds - 1e-9)) + 1;
    while (!bad_inputs_.empty() && bad_inputs_.front().first + reach_on < p.gps) bad_inputs_.pop_front();
    for (const auto& [t, why] : bad_inputs_) {
      if (p.gps + reach_back >= t && p.gps <= t + reach_on) {
        bad = why;
        break;
      }
    }
  }
  std::vector<double> q;
  const stream::QualityGate::Step st = gate_->step(*monitor_, bad, n, q);
  report.open = st.open;
  report.reason = st.open ? "" : stream::to_string(st.reason);
  report.changed = st.changed;
  report.detail = st.detail;
  report.figures = st.figures;
  for (std::size_t i = 0; i < st.window.size(); ++i) {
    report.ratios.emplace_back(monitor_->regions()[i].label, st.window[i]);
    report.guard.push_back(monitor_->regions()[i].guard);
  }
  std::size_t gated = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (q[i] == 1.0) continue;
    ++gated;
    // Step 9 with the gate: h - q * (g * v_up); q == 0 gives the raw sample, bit for bit.
    p.cleaned[i] = q[i] == 0.0 || p.correction[i] == 0.0 ? p.h[i] : p.h[i] - q[i] * p.correction[i];
  }
  report.gated_fraction = static_cast<double>(gated) / static_cast<double>(n);
  return q;
}

Pipeline::PushResult Pipeline::push(const SecondInput& in) {
  PushResult result;
  if (!in.strain) {
    // Nothing to write for this second: the strain itself is missing or unreadable.
    end_segment();
    result.outputs = pop_complete();
    return result;
  }
  Pending p;
  p.gps = in.gps;
  p.raw = *in.strain;
  // read_second's conversion of the strain when it came with one (see SecondInput::strain_values).
  p.cleaned = in.strain_values.size() == in.strain->data.size() ? in.strain_values
                                                                : physical_values(*in.strain);
  p.weight.assign(p.cleaned.size(), 0.0);
  p.correction.assign(p.cleaned.size(), 0.0);
  if (cfg_.gate.enabled) p.h = p.cleaned;
  p.noise.assign(static_cast<std::size_t>(bundle_.sample_rate), 0.0);
  p.passthrough = in.passthrough;
  const bool usable = in.good();
  p.input_ok = (usable || in.problem == InputProblem::StateMask)
                   ? in.state_ok
                   : std::vector<std::uint8_t>(kStateRate, 0);

  bool cleanable = usable;
  if (cleanable) {
    const bool continues = cleaner_ && cleaner_->segment_open() && next_gps_ == in.gps &&
                           rates_ == in.witness_rates && strain_rate_ == in.strain->sample_rate;
    if (!continues) {
      end_segment();
      try {
        start_segment(in);
      } catch (const std::invalid_argument& e) {
        result.rejected = e.what();
        cleanable = false;
      }
    }
  } else {
    end_segment();
  }

  if (cleanable) {
    p.in_segment = true;
    p.segment = segments_;
    if (cfg_.gate.enabled) {
      const std::string bad = input_complaint(in);
      if (!bad.empty()) bad_inputs_.emplace_back(in.gps, bad);
    }
    pending_.push_back(std::move(p));
    const auto t0 = Clock::now();
    const double model0 = stages_.model;
    const std::vector<double>& h = pending_.back().cleaned;
    cleaner_->push_strain(h.data(), h.size());
    for (std::size_t c = 0; c < in.witnesses.size(); ++c) {
      cleaner_->push_witness(c, in.witnesses[c].data(), in.witnesses[c].size());
    }
    next_gps_ = in.gps + 1;
    collect_blocks();
    stages_.clean += seconds_since(t0) - (stages_.model - model0);
  } else {
    pending_.push_back(std::move(p));
  }
  result.outputs = pop_complete();
  return result;
}

std::vector<OutputSecond> Pipeline::finish() {
  end_segment();
  return pop_complete();
}

std::vector<OutputSecond> Pipeline::replace(config::Config cfg, bundle::BundleInfo bundle,
                                            std::unique_ptr<stream::Predictor> predictor,
                                            EstimatorFactory estimator) {
  std::vector<OutputSecond> out = finish();
  Pipeline fresh(std::move(cfg), std::move(bundle), std::move(predictor), std::move(estimator));
  cfg_ = std::move(fresh.cfg_);
  bundle_ = std::move(fresh.bundle_);
  names_ = fresh.names_;
  cleaner_.reset();
  timed_.reset();
  predictor_ = std::move(fresh.predictor_);
  estimator_ = std::move(fresh.estimator_);
  rates_.clear();
  strain_rate_ = 0;
  // A new model starts with an open gate and an empty monitor; a bad one closes it at its first figure.
  monitor_.reset();
  gate_.reset();
  gate_rate_ = 0;
  monitor_segment_ = 0;
  bad_inputs_.clear();
  return out;
}

std::string output_path(const config::Config& cfg, std::uint64_t gps) {
  gwf::FrameFileName n;
  n.observatory = cfg.input.strain.observatory;
  n.tag = cfg.output.frame_type;
  n.gps = gps;
  n.duration = 1;
  return cfg.output.directory + "/" + gwf::format_frame_file_name(n);
}

gwf::WriteOptions write_options(const config::Config& cfg) {
  gwf::WriteOptions w;
  w.compression = cfg.output.compression == "raw" ? gwf::Compression::Raw : gwf::Compression::Zlib;
  w.zlib_level = cfg.output.zlib_level;
  return w;
}

std::vector<std::pair<double, double>> cleaning_bands(const bundle::BundleInfo& info) {
  std::vector<std::pair<double, double>> b;
  for (const auto& band : info.bands) b.emplace_back(band.low_hz, band.high_hz);
  return b;
}

}  // namespace deepclean::daemon
