#include "daemon/pipeline.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "deepclean/version.hpp"

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

stream::CleanerConfig cleaner_config(const config::Config& cfg, const model::BundleInfo& bundle,
                                     const std::vector<double>& witness_rates, double strain_rate) {
  stream::CleanerConfig c;
  c.fs = bundle.sample_rate;
  c.strain_rate = whole_rate(strain_rate, "strain rate " + cfg.strain_channel);
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
  c.geometry.kernel_length = whole(cfg.kernel_seconds * fs, "inference.kernel_seconds · fs");
  c.geometry.stride = whole(fs / cfg.inference_sampling_rate, "fs / inference.sampling_rate");
  c.geometry.num_averaged =
      whole(cfg.aggregation_seconds * cfg.inference_sampling_rate,
            "inference.aggregation_seconds · inference.sampling_rate");
  c.model_factor = 16;
  switch (cfg.method) {
    case config::BandpassMethod::None: c.method = stream::BandpassMethod::none; break;
    case config::BandpassMethod::Causal: c.method = stream::BandpassMethod::causal; break;
    case config::BandpassMethod::Window: c.method = stream::BandpassMethod::window; break;
    case config::BandpassMethod::Fir: c.method = stream::BandpassMethod::fir; break;
  }
  if (!cfg.bands.empty()) {
    for (const auto& [lo, hi] : cfg.bands) c.bands.push_back({lo, hi});
  } else {
    for (const auto& b : bundle.bands) c.bands.push_back({b.low_hz, b.high_hz});
  }
  c.order = cfg.filter_order > 0 ? cfg.filter_order : bundle.filter_order;
  c.memory_seconds = cfg.memory_seconds;
  c.look_ahead_seconds = cfg.look_ahead_seconds;
  c.kaiser_beta = cfg.kaiser_beta;
  c.taper_seconds = cfg.taper_seconds;
  c.block_seconds = 1;
  if (c.method == stream::BandpassMethod::fir) {
    // The checks that need the bundle's rate, pointed at the line that sets what does not fit.
    const double L = cfg.look_ahead_seconds * fs;
    if (std::abs(L - std::round(L)) > 1e-9 * std::max(1.0, L) || std::round(L) < 1) {
      throw std::invalid_argument(cfg.where("bandpass.look_ahead_seconds") +
                                  ": `bandpass.look_ahead_seconds` · fs must be a whole number ≥ 1 of samples at the model rate " +
                                  std::to_string(bundle.sample_rate) + " Hz, got " + std::to_string(L));
    }
    try {
      (void)stream::design_fir_bands(c.bands, static_cast<std::size_t>(std::llround(L)), c.kaiser_beta, c.fs);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument((cfg.bands.empty() ? cfg.source_file + ": the bundle's bands"
                                                     : cfg.where("bandpass.bands") + ": `bandpass.bands`") +
                                  ": " + e.what());
    }
  }
  stream::validate(c);
  return c;
}

std::string streaming_training_mismatch(const config::Config& cfg, const model::BundleInfo& bundle) {
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
  if (same(kernel, cfg.kernel_seconds) && same(aggregation, cfg.aggregation_seconds)) return {};
  std::ostringstream m;
  m << "model " << bundle.version << " (" << bundle.directory.string() << ") was trained for the live stream with "
    << kernel << "-s kernels and " << aggregation << " s of aggregation, but "
    << (cfg.locations.count("inference.aggregation_seconds") != 0 ? cfg.where("inference.aggregation_seconds")
                                                                   : cfg.where("inference"))
    << " uses inference.kernel_seconds " << cfg.kernel_seconds << " and inference.aggregation_seconds "
    << cfg.aggregation_seconds << ": it will clean less well than its training figures say (docs/training.md, "
    << "\"Streaming-aware training\")";
  return m.str();
}

InputSpec input_spec(const config::Config& cfg, const model::BundleInfo& bundle) {
  InputSpec s;
  s.strain_source = cfg.strain_source;
  s.witness_source = cfg.witness_source;
  s.strain_channel = cfg.strain_channel;
  s.witness_channels = bundle.witnesses;
  s.state = cfg.state;
  s.passthrough = cfg.passthrough;
  return s;
}

struct Pipeline::Pending {
  std::uint64_t gps = 0;
  gwf::Channel raw;
  std::vector<double> cleaned;  // starts as the raw strain; cleaned samples overwrite it
  std::vector<double> weight;   // g
  std::vector<double> noise;    // v at fs
  std::vector<std::uint8_t> input_ok;
  std::vector<gwf::Channel> passthrough;
  std::size_t filled = 0;       // strain samples delivered by the cleaner
  bool in_segment = false;
  bool complete() const { return !in_segment || filled == cleaned.size(); }
};

Pipeline::Pipeline(config::Config cfg, model::BundleInfo bundle,
                   std::unique_ptr<stream::Predictor> predictor, EstimatorFactory estimator)
    : cfg_(std::move(cfg)), bundle_(std::move(bundle)), estimator_(std::move(estimator)) {
  if (!predictor) throw std::invalid_argument("Pipeline: no model");
  if (predictor->channels() != bundle_.witnesses.size()) {
    throw std::invalid_argument("the model takes " + std::to_string(predictor->channels()) +
                                " channels but the bundle lists " +
                                std::to_string(bundle_.witnesses.size()) + " witnesses");
  }
  predictor_ = std::move(predictor);
  names_.strain = cfg_.output_channel;
  names_.noise = cfg_.noise_channel;
  names_.state_vector = cfg_.state_vector_channel;
  // Fail at construction, not at the first frame, when the geometry or bands cannot work.
  (void)cleaner_config(cfg_, bundle_,
                       std::vector<double>(bundle_.witnesses.size(), bundle_.sample_rate),
                       bundle_.sample_rate);
}

Pipeline::~Pipeline() = default;

std::vector<gwf::History> Pipeline::history(std::uint64_t gps) const {
  gwf::History h;
  h.name = "deepclean";
  h.time = static_cast<std::uint32_t>(gps);
  h.comment = std::string("deepclean ") + kVersion + "; model " + bundle_.version + " id " +
              bundle_.id + "; bandpass " + config::method_name(cfg_.method);
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
                                                              static_cast<std::size_t>(cfg_.batch_size));
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
    o.raw_strain = std::move(p.raw);
    o.cleaned = std::move(p.cleaned);
    if (!cfg_.noise_channel.empty()) {
      o.noise = std::move(p.noise);
      o.noise_rate = bundle_.sample_rate;
    }
    o.state = state_bits(p.weight, p.input_ok, true);
    o.passthrough = std::move(p.passthrough);
    o.history = history(p.gps);
    out.push_back(std::move(o));
    pending_.pop_front();
  }
  return out;
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

std::vector<OutputSecond> Pipeline::replace(config::Config cfg, model::BundleInfo bundle,
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
  return out;
}

}  // namespace deepclean::daemon
