// The trainer. The network is built directly as a torch::jit::Module: parameters and BatchNorm
// buffers are registered on it and `forward` is TorchScript source given to define(). Training
// runs through that module (autograd works through the TorchScript interpreter), so module.save()
// writes a real TorchScript archive that the daemon and Python's torch.jit.load read; no weight
// copying between a C++-frontend module and a template is needed.
#include "train/trainer.hpp"

#include <torch/script.h>
#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>

#include "core/dsp/iir.hpp"
#include "core/dsp/resample.hpp"
#include "core/dsp/welch.hpp"
#include "core/model/load.hpp"
#include "core/stream/cleaner.hpp"
#include "core/stream/noise_estimator.hpp"
#include "train/schedule.hpp"

namespace deepclean::train {
namespace fs = std::filesystem;
namespace {

struct Layer {
  const char* name;
  bool transpose;
  std::int64_t in, out, stride;
  bool norm;  // BatchNorm + Tanh after the convolution
};

// deepclean-reference §1.1: kernel 7, padding 3, stride-2 down/up sampling, output_padding 1.
std::vector<Layer> layers(std::int64_t c) {
  return {{"input", false, c, c, 1, true},   {"down1", false, c, 8, 2, true},   {"down2", false, 8, 16, 2, true},
          {"down3", false, 16, 32, 2, true}, {"down4", false, 32, 64, 2, true}, {"up1", true, 64, 32, 2, true},
          {"up2", true, 32, 16, 2, true},    {"up3", true, 16, 8, 2, true},     {"up4", true, 8, c, 2, true},
          {"output", false, c, 1, 1, false}};
}

torch::jit::Module build_network(std::int64_t channels) {
  torch::jit::Module m("DeepClean");
  m.register_attribute("training", c10::BoolType::get(), true);
  std::ostringstream src;
  src << "def forward(self, x):\n";
  for (const Layer& l : layers(channels)) {
    const std::string n = l.name;
    // PyTorch's default initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases,
    // fan_in = weight.size(1) * kernel (for ConvTranspose1d that is the output channel count).
    const auto w_shape = l.transpose ? std::vector<std::int64_t>{l.in, l.out, 7} : std::vector<std::int64_t>{l.out, l.in, 7};
    const double bound = 1.0 / std::sqrt(static_cast<double>(w_shape[1] * 7));
    m.register_parameter(n + "_weight", (torch::rand(w_shape) * 2 - 1) * bound, false);
    m.register_parameter(n + "_bias", (torch::rand({l.out}) * 2 - 1) * bound, false);
    std::string conv = l.transpose ? "torch.conv_transpose1d(x, self." + n + "_weight, self." + n + "_bias, [" +
                                         std::to_string(l.stride) + "], [3], [1])"
                                   : "torch.conv1d(x, self." + n + "_weight, self." + n + "_bias, [" +
                                         std::to_string(l.stride) + "], [3])";
    if (l.norm) {
      m.register_parameter(n + "_bn_weight", torch::ones({l.out}), false);
      m.register_parameter(n + "_bn_bias", torch::zeros({l.out}), false);
      m.register_buffer(n + "_bn_mean", torch::zeros({l.out}));
      m.register_buffer(n + "_bn_var", torch::ones({l.out}));
      src << "    x = torch.tanh(torch.batch_norm(" << conv << ", self." << n << "_bn_weight, self." << n
          << "_bn_bias, self." << n << "_bn_mean, self." << n << "_bn_var, self.training, 0.1, 1e-05, False))\n";
    } else {
      src << "    x = " << conv << "\n";
    }
  }
  src << "    return x[:, 0, :]\n";
  m.define(src.str());
  for (auto p : m.parameters()) p.requires_grad_(true);
  return m;
}

std::vector<torch::Tensor> parameters_of(const torch::jit::Module& m) {
  std::vector<torch::Tensor> out;
  for (const auto& p : m.parameters()) out.push_back(p);
  return out;
}

// Parameters and buffers, cloned (for early stopping's best state).
std::vector<torch::Tensor> snapshot(const torch::jit::Module& m) {
  std::vector<torch::Tensor> s;
  for (const auto& p : m.parameters()) s.push_back(p.detach().clone());
  for (const auto& b : m.buffers()) s.push_back(b.detach().clone());
  return s;
}
void restore(torch::jit::Module& m, const std::vector<torch::Tensor>& s) {
  torch::NoGradGuard ng;
  std::size_t i = 0;
  for (auto p : m.parameters()) p.copy_(s.at(i++));
  for (auto b : m.buffers()) b.copy_(s.at(i++));
}

// Differentiable Welch PSD (up to a constant factor, which cancels in the ratio): periodic Hann,
// half overlap, constant detrend per segment, mean over segments. x: (B, T) -> (B, nperseg/2 + 1).
torch::Tensor welch(const torch::Tensor& x, std::int64_t nperseg, const torch::Tensor& window) {
  auto seg = x.unfold(-1, nperseg, nperseg / 2);
  seg = seg - seg.mean(-1, true);
  auto spec = torch::view_as_real(torch::fft::rfft(seg * window, c10::nullopt, -1));
  return (spec * spec).sum(-1).mean(1);
}

struct Loss {
  std::int64_t nperseg = 0;
  torch::Tensor window;  // float64
  torch::Tensor bins;    // band bin indices (int64)
  torch::Tensor guard_bins;  // guard-band bin indices; undefined: no guard term
  double guard_weight = 0;
  std::int64_t offset = 0, length = -1;  // the part of each kernel the loss covers (-1: to the end)
  // Mean over band bins and batch of sqrt(PSD(target - pred) / PSD(target)), in float64, over
  // samples [offset, offset + length) of each kernel; with a guard term, plus guard_weight x the mean
  // over the guard bands' bins of sqrt(PSD(raw - pred) / PSD(raw)): what the daemon's gate measures
  // beside the band (docs/quality-gate.md), about 1 when the network predicts nothing there.
  torch::Tensor operator()(const torch::Tensor& target, const torch::Tensor& pred, const torch::Tensor& raw) const {
    const std::int64_t n = length < 0 ? target.size(-1) - offset : length;
    const auto y = target.narrow(-1, offset, n).to(torch::kFloat64);
    const auto p = pred.narrow(-1, offset, n).to(torch::kFloat64);
    const auto pr = welch(y - p, nperseg, window).index_select(1, bins);
    const auto py = welch(y, nperseg, window).index_select(1, bins);
    auto l = torch::sqrt(pr / py.clamp_min(1e-30) + 1e-12).mean();
    if (guard_weight > 0) {
      const auto h = raw.narrow(-1, offset, n).to(torch::kFloat64);
      const auto pc = welch(h - p, nperseg, window).index_select(1, guard_bins);
      const auto ph = welch(h, nperseg, window).index_select(1, guard_bins);
      l = l + guard_weight * torch::sqrt(pc / ph.clamp_min(1e-30) + 1e-12).mean();
    }
    return l;
  }
};

// A Loss with Welch segments of `nperseg` samples over [offset, offset + length) of each kernel; with
// guard_weight > 0, its guard term over [lo - guard_hz, lo) and (hi, hi + guard_hz] of each band.
Loss make_loss(std::int64_t nperseg, double fs_hz, const std::vector<std::pair<double, double>>& bands,
               std::int64_t offset, std::int64_t length, bool hann = true, double guard_weight = 0,
               double guard_hz = 0) {
  Loss loss;
  loss.nperseg = nperseg;
  loss.offset = offset;
  loss.length = length;
  loss.window = hann ? torch::hann_window(loss.nperseg, /*periodic=*/true, torch::kFloat64)
                     : torch::ones({loss.nperseg}, torch::kFloat64);
  std::vector<std::int64_t> bins, guard;
  for (std::int64_t b = 0; b <= loss.nperseg / 2; ++b) {
    const double f = static_cast<double>(b) * fs_hz / static_cast<double>(loss.nperseg);
    bool in_band = false, beside = false;
    for (const auto& [lo, hi] : bands) {
      in_band = in_band || (f >= lo && f <= hi);
      beside = beside || (f >= lo - guard_hz && f < lo) || (f > hi && f <= hi + guard_hz);
    }
    if (in_band) {
      bins.push_back(b);
    } else if (beside && guard_weight > 0) {
      guard.push_back(b);
    }
  }
  if (bins.empty()) {
    throw std::runtime_error("no Welch bin of " + std::to_string(nperseg) + " samples inside the bands; use a longer " +
                             (offset > 0 ? "stream.aggregation_seconds" : "fftlength_seconds"));
  }
  loss.bins = torch::tensor(bins, torch::kInt64);
  if (guard_weight > 0) {
    if (guard.empty()) throw std::runtime_error("no Welch bin of " + std::to_string(nperseg) + " samples in the guard bands");
    loss.guard_bins = torch::tensor(guard, torch::kInt64);
    loss.guard_weight = guard_weight;
  }
  return loss;
}

std::vector<double> bandpass(const std::vector<std::pair<double, double>>& bands, int order, double fs,
                             const std::vector<double>& x) {
  std::vector<double> sum(x.size(), 0.0);
  for (const auto& [lo, hi] : bands) {
    const auto y = dsp::sosfiltfilt(dsp::butter_bandpass(order, lo, hi, fs), x.data(), x.size());
    for (std::size_t i = 0; i < x.size(); ++i) sum[i] += y[i];
  }
  return sum;
}

// Over the samples of `pieces`.
std::pair<double, double> mean_std(const std::vector<double>& x, const std::vector<Segment>& pieces) {
  double m = 0;
  std::size_t n = 0;
  for (const Segment& p : pieces) {
    for (std::size_t i = p.begin; i < p.end; ++i) m += x[i];
    n += p.size();
  }
  m /= static_cast<double>(n);
  double v = 0;
  for (const Segment& p : pieces) {
    for (std::size_t i = p.begin; i < p.end; ++i) v += (x[i] - m) * (x[i] - m);
  }
  const double s = std::sqrt(v / static_cast<double>(n));  // population std, as ML4GW's scaler
  return {m, s > 0 ? s : 1.0};
}

std::string duration(double s) {
  char buf[32];
  const long t = std::lround(std::max(0.0, s));
  if (t >= 60) {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lds", t);
  }
  return buf;
}

// Band ASD ratios cleaned/raw from pairs of raw and cleaned stretches: Welch PSDs (1-s Hann segments,
// half overlap) of each stretch, averaged over all stretches weighted by their number of Welch
// segments, then per band the mean over its bins of sqrt(cleaned / raw); the same in the guard bands
// beside it, as the daemon's gate has them (kGuardHz each side).
class BandRatio {
 public:
  BandRatio(std::vector<std::pair<double, double>> bands, double fs)
      : bands_(std::move(bands)), fs_(fs), nper_(static_cast<std::size_t>(fs)) {}
  std::size_t segment() const { return nper_; }
  void add(const std::vector<double>& raw, const std::vector<double>& clean) {
    if (raw.size() < nper_) return;
    const auto pr = dsp::welch_psd(raw.data(), raw.size(), fs_, nper_);
    const auto pc = dsp::welch_psd(clean.data(), clean.size(), fs_, nper_);
    const double w = static_cast<double>((raw.size() - nper_) / (nper_ / 2) + 1);
    if (raw_.value.empty()) {
      raw_.freqs = pr.freqs;
      raw_.value.assign(pr.value.size(), 0.0);
      clean_.value.assign(pc.value.size(), 0.0);
    }
    for (std::size_t k = 0; k < pr.value.size(); ++k) {
      raw_.value[k] += w * pr.value[k];
      clean_.value[k] += w * pc.value[k];
    }
    weight_ += w;
  }
  std::vector<BandFigures> ratios() const {
    if (weight_ == 0) throw std::runtime_error("evaluation data too short (no good segment longer than 2 s + 1 s)");
    // Mean over the bins in [lo, hi] (or, beside a band, [lo, hi) / (lo, hi]) of sqrt(cleaned / raw).
    const auto mean = [&](double lo, double hi, bool lo_in, bool hi_in) {
      double sum = 0;
      std::size_t nb = 0;
      for (std::size_t k = 0; k < raw_.freqs.size(); ++k) {
        const double f = raw_.freqs[k];
        if ((lo_in ? f < lo : f <= lo) || (hi_in ? f > hi : f >= hi) || !(raw_.value[k] > 0)) continue;
        sum += std::sqrt(std::max(0.0, clean_.value[k]) / raw_.value[k]);
        ++nb;
      }
      return nb ? sum / static_cast<double>(nb) : std::nan("");
    };
    std::vector<BandFigures> out;
    for (const auto& [lo, hi] : bands_) {
      out.push_back({mean(lo, hi, true, true), mean(std::max(0.0, lo - kGuardHz), lo, true, false),
                     mean(hi, hi + kGuardHz, false, true)});
    }
    return out;
  }

 private:
  std::vector<std::pair<double, double>> bands_;
  double fs_;
  std::size_t nper_;
  dsp::Spectrum raw_, clean_;
  double weight_ = 0;
};

std::vector<std::pair<double, double>> bands_of(const bundle::BundleInfo& info) {
  std::vector<std::pair<double, double>> bands;
  for (const auto& band : info.bands) bands.emplace_back(band.low_hz, band.high_hz);
  return bands;
}

// Offline cleaning with an in-memory module and scalers over `pieces` of the dataset; returns the
// band ratios. Each piece is cleaned on its own (one forward pass over the whole piece, zero-phase
// band-pass), skipping `edge_seconds` at both ends.
std::vector<BandFigures> clean_ratio(torch::jit::Module& m, const bundle::BundleInfo& info, const Dataset& d,
                                const std::vector<Segment>& pieces, double edge_seconds) {
  const std::size_t c = d.witnesses.size();
  const auto fs = static_cast<double>(d.sample_rate);
  const auto edge = static_cast<std::size_t>(edge_seconds * fs);
  const auto bands = bands_of(info);
  BandRatio ratio(bands, fs);
  for (const Segment& piece : pieces) {
    const std::size_t n = piece.size() / 16 * 16;
    if (n <= 2 * edge + ratio.segment()) continue;
    auto x = torch::empty({1, static_cast<std::int64_t>(c), static_cast<std::int64_t>(n)}, torch::kFloat32);
    auto acc = x.accessor<float, 3>();
    for (std::size_t k = 0; k < c; ++k) {
      for (std::size_t i = 0; i < n; ++i) {
        acc[0][static_cast<std::int64_t>(k)][static_cast<std::int64_t>(i)] =
            static_cast<float>((d.witnesses[k][piece.begin + i] - info.witness_means[k]) / info.witness_stds[k]);
      }
    }
    torch::Tensor y;
    {
      torch::NoGradGuard ng;
      m.eval();
      y = m.forward({x}).toTensor().to(torch::kFloat64).contiguous();
    }
    const double* yp = y.data_ptr<double>();
    std::vector<double> noise(n);
    for (std::size_t i = 0; i < n; ++i) noise[i] = yp[i] * info.strain_std + info.strain_mean;
    noise = bandpass(bands, info.filter_order, fs, noise);
    std::vector<double> raw(d.strain.begin() + static_cast<std::ptrdiff_t>(piece.begin + edge),
                            d.strain.begin() + static_cast<std::ptrdiff_t>(piece.begin + n - edge));
    std::vector<double> clean(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) clean[i] = raw[i] - noise[i + edge];
    ratio.add(raw, clean);
  }
  return ratio.ratios();
}

stream::BandpassMethod stream_method(const std::string& name) {
  if (name == "none") return stream::BandpassMethod::none;
  if (name == "causal") return stream::BandpassMethod::causal;
  if (name == "fir") return stream::BandpassMethod::fir;
  return stream::BandpassMethod::window;
}

// The daemon's cleaning (core/stream's StrainCleaner: contract steps 3-9, with the model loaded as the
// daemon loads it) over each piece, witnesses and strain at the model rate; the band ratios over the
// samples cleaned with the full weight (g = 1).
std::vector<BandFigures> streamed_ratio(const fs::path& bundle, const bundle::BundleInfo& info, const Dataset& d,
                                   const std::vector<Segment>& pieces, const StreamSettings& st) {
  const int fs = d.sample_rate;
  stream::CleanerConfig cc;
  cc.fs = fs;
  cc.strain_rate = fs;
  for (std::size_t i = 0; i < info.witnesses.size(); ++i) {
    cc.witnesses.push_back({fs, info.witness_means[i], info.witness_stds[i]});
  }
  cc.strain_mean = info.strain_mean;
  cc.strain_std = info.strain_std;
  const auto whole = [](double v, const char* what) {
    if (!(v >= 1) || std::abs(v - std::round(v)) > 1e-9) {
      throw std::runtime_error(std::string("stream: ") + what + " is not a whole number of samples");
    }
    return static_cast<std::size_t>(std::llround(v));
  };
  cc.geometry.kernel_length = whole(st.kernel_seconds * fs, "kernel_seconds * sample_rate");
  cc.geometry.stride = whole(fs / st.sampling_rate, "sample_rate / sampling_rate");
  cc.geometry.num_averaged = whole(st.aggregation_seconds * st.sampling_rate, "aggregation_seconds * sampling_rate");
  cc.method = stream_method(st.method);
  for (const auto& b : info.bands) cc.bands.push_back({b.low_hz, b.high_hz});
  if (!st.bands.empty()) {
    cc.bands.clear();
    for (const auto& [lo, hi] : st.bands) cc.bands.push_back({lo, hi});
  }
  cc.order = info.filter_order;
  cc.memory_seconds = st.memory_seconds;
  cc.look_ahead_seconds = st.look_ahead_seconds;
  cc.kaiser_beta = st.kaiser_beta;
  cc.taper_seconds = st.taper_seconds;
  model::RunnerOptions opt;
  opt.kernel_length = cc.geometry.kernel_length;
  opt.max_batch = 64;
  opt.warmup_calls = 1;
  model::LoadedModel loaded = model::load_model(bundle, opt);
  stream::StrainCleaner cleaner(cc, std::make_unique<stream::CpuNoiseEstimator>(cc.geometry, *loaded.predictor, 64));
  BandRatio ratio(bands_of(info), fs);
  const auto ufs = static_cast<std::size_t>(fs);
  const auto t0 = static_cast<std::int64_t>(std::llround(d.t0));
  for (const Segment& piece : pieces) {
    // Segments start on a whole GPS second here (as the daemon's do).
    const std::size_t begin = (piece.begin + ufs - 1) / ufs * ufs;
    if (begin >= piece.end) continue;
    const std::size_t n = piece.end - begin;
    cleaner.start_segment(stream::gps_ns(t0 + static_cast<std::int64_t>(begin / ufs)));
    std::vector<double> clean, weight;
    const auto collect = [&] {
      while (cleaner.has_block()) {
        const stream::CleanedBlock b = cleaner.pop_block();
        clean.insert(clean.end(), b.strain.begin(), b.strain.end());
        weight.insert(weight.end(), b.weight.begin(), b.weight.end());
      }
    };
    for (std::size_t at = 0; at < n; at += ufs) {  // one second at a time, as frames arrive
      const std::size_t m = std::min(ufs, n - at);
      cleaner.push_strain(d.strain.data() + begin + at, m);
      for (std::size_t c = 0; c < d.witnesses.size(); ++c) cleaner.push_witness(c, d.witnesses[c].data() + begin + at, m);
      collect();
    }
    cleaner.end_segment();
    collect();
    // The run of samples cleaned with g = 1 (one per segment: g rises once and falls at the end).
    std::size_t i = 0;
    while (i < weight.size()) {
      if (weight[i] != 1.0) {
        ++i;
        continue;
      }
      std::size_t j = i;
      while (j < weight.size() && weight[j] == 1.0) ++j;
      const std::vector<double> raw(d.strain.begin() + static_cast<std::ptrdiff_t>(begin + i),
                                    d.strain.begin() + static_cast<std::ptrdiff_t>(begin + j));
      ratio.add(raw, std::vector<double>(clean.begin() + static_cast<std::ptrdiff_t>(i),
                                         clean.begin() + static_cast<std::ptrdiff_t>(j)));
      i = j;
    }
  }
  return ratio.ratios();
}

std::string seconds_of(std::size_t samples, int rate) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(samples) / rate);
  return buf;
}

}  // namespace

std::size_t Dataset::good_samples() const {
  std::size_t n = 0;
  for (const Segment& g : segments) n += g.size();
  return n;
}

Dataset load_dataset(const TrainConfig& cfg, const SecondReader& reader, std::ostream& log) {
  const std::size_t c = cfg.witnesses.size();
  const auto fs = static_cast<std::size_t>(cfg.sample_rate);
  Dataset d;
  d.sample_rate = cfg.sample_rate;
  d.t0 = static_cast<double>(cfg.start);
  d.witness_names = cfg.witnesses;
  const std::size_t total = (cfg.end - cfg.start) * fs;
  d.strain.assign(total, 0.0);
  d.witnesses.assign(c, std::vector<double>(total, 0.0));

  // The current run of good seconds: one resampler per channel, fresh for each run.
  std::vector<dsp::Resampler> rs;
  std::vector<double> rates;
  std::vector<std::vector<double>> out(c + 1);
  std::uint64_t run_start = 0;
  const auto end_run = [&]() {
    if (rs.empty()) return;
    std::size_t n = out[0].size();
    for (const auto& o : out) n = std::min(n, o.size());
    const std::size_t base = (run_start - cfg.start) * fs;
    const std::size_t skip = std::min(n, fs);  // resampler start-up: input before the run is zero
    d.startup_samples += skip;
    ++d.good_runs;
    if (n > skip) {
      std::copy(out[0].begin() + static_cast<std::ptrdiff_t>(skip), out[0].begin() + static_cast<std::ptrdiff_t>(n),
                d.strain.begin() + static_cast<std::ptrdiff_t>(base + skip));
      for (std::size_t k = 0; k < c; ++k) {
        std::copy(out[k + 1].begin() + static_cast<std::ptrdiff_t>(skip),
                  out[k + 1].begin() + static_cast<std::ptrdiff_t>(n),
                  d.witnesses[k].begin() + static_cast<std::ptrdiff_t>(base + skip));
      }
      d.segments.push_back({base + skip, base + n});
    }
    rs.clear();
    for (auto& o : out) o.clear();
  };

  for (std::uint64_t gps = cfg.start; gps < cfg.end; ++gps) {
    ++d.seconds_read;
    const RawSecond s = reader(gps);
    if (!s.good) {
      const std::string why = s.reason.empty() ? std::string("bad") : s.reason;
      ++d.bad_seconds[why];
      log << "warning: GPS " << gps << " skipped (" << why << "): " << s.detail << "\n";
      end_run();
      continue;
    }
    if (s.witnesses.size() != c || s.witness_rates.size() != c) {
      throw std::runtime_error("GPS " + std::to_string(gps) + ": reader returned the wrong number of witnesses");
    }
    ++d.seconds_good;
    std::vector<double> r{s.strain_rate};
    r.insert(r.end(), s.witness_rates.begin(), s.witness_rates.end());
    if (!rs.empty() && r != rates) {
      log << "note: GPS " << gps << ": a channel's sample rate changed; a new segment starts\n";
      end_run();
    }
    if (rs.empty()) {
      rates = r;
      run_start = gps;
      for (double rate : r) rs.emplace_back(static_cast<int>(std::lround(rate)), cfg.sample_rate);
    }
    rs[0].push(s.strain.data(), s.strain.size(), out[0]);
    for (std::size_t k = 0; k < c; ++k) rs[k + 1].push(s.witnesses[k].data(), s.witnesses[k].size(), out[k + 1]);
  }
  end_run();

  std::size_t bad = 0;
  std::string reasons;
  for (const auto& [why, count] : d.bad_seconds) {
    bad += count;
    reasons += (reasons.empty() ? "" : ", ") + why + " " + std::to_string(count);
  }
  log << "frames: " << d.seconds_read << " s read (GPS " << cfg.start << "-" << cfg.end << "): " << d.seconds_good
      << " good, " << bad << " bad" << (reasons.empty() ? "" : " (" + reasons + ")") << "; " << d.good_runs
      << " good segment" << (d.good_runs == 1 ? "" : "s") << ", " << seconds_of(d.good_samples(), cfg.sample_rate)
      << " of data after dropping " << seconds_of(d.startup_samples, cfg.sample_rate) << " of resampler start-up\n"
      << std::flush;
  if (d.segments.empty()) {
    throw std::runtime_error("no good data in GPS " + std::to_string(cfg.start) + "-" + std::to_string(cfg.end));
  }
  return d;
}

std::size_t KernelPlan::train_samples() const {
  std::size_t n = 0;
  for (const Segment& p : split.train) n += p.size();
  return n;
}
std::size_t KernelPlan::valid_samples() const {
  std::size_t n = 0;
  for (const Segment& p : split.valid) n += p.size();
  return n;
}

KernelPlan plan_kernels(const TrainConfig& cfg, const Dataset& data) {
  KernelPlan p;
  p.kernel = cfg.kernel_samples();
  p.split = cfg.validation_first ? split_segments_first(data.segments, cfg.validation_fraction, p.kernel)
                                 : split_segments(data.segments, cfg.validation_fraction, p.kernel);
  const auto stride = std::max<std::size_t>(
      1, static_cast<std::size_t>(std::llround(cfg.kernel_stride_seconds * cfg.sample_rate)));
  p.kernels_per_epoch = kernels_per_epoch(p.split.train, p.kernel, stride);
  p.valid_offsets = tiled_offsets(p.split.valid, p.kernel);
  if (p.kernels_per_epoch == 0 || p.valid_offsets.empty()) {
    throw std::runtime_error("not enough good data for one training and one validation kernel (" +
                             seconds_of(data.good_samples(), cfg.sample_rate) + " in " +
                             std::to_string(data.segments.size()) + " good segments; a kernel is " +
                             seconds_of(p.kernel, cfg.sample_rate) + ")");
  }
  return p;
}

TrainResult train(const TrainConfig& cfg, const Dataset& data, std::ostream& log) {
  const fs::path out_dir = cfg.bundle;
  if (fs::exists(out_dir) && !cfg.force) {
    throw std::runtime_error(out_dir.string() + ": already exists (set output.force: true to replace it)");
  }
  torch::set_num_threads(cfg.threads);
  torch::manual_seed(cfg.seed);
  std::mt19937_64 rng(cfg.seed);

  const std::size_t c = data.witnesses.size();
  const std::size_t n = data.samples();
  const std::size_t k = cfg.kernel_samples();
  const auto fs_hz = static_cast<double>(cfg.sample_rate);
  const KernelPlan plan = plan_kernels(cfg, data);
  const std::vector<Segment>& train_pieces = plan.split.train;

  // Standardisation fitted on the training part only; the target is band-passed first (v2 order).
  bundle::BundleInfo info;
  info.version = cfg.version;
  info.sample_rate = cfg.sample_rate;
  info.training_kernel_seconds = cfg.kernel_seconds;
  info.strain_channel = cfg.strain_channel;
  info.witnesses = cfg.witnesses;
  info.filter_order = cfg.filter_order;
  for (const auto& [lo, hi] : cfg.bands) info.bands.push_back({lo, hi});
  // Band-passed per good segment (zero-phase, so the split inside a segment does not matter).
  std::vector<double> target(n, 0.0);
  for (const Segment& g : data.segments) {
    const std::vector<double> part(data.strain.begin() + static_cast<std::ptrdiff_t>(g.begin),
                                   data.strain.begin() + static_cast<std::ptrdiff_t>(g.end));
    const auto bp = bandpass(cfg.bands, cfg.filter_order, fs_hz, part);
    std::copy(bp.begin(), bp.end(), target.begin() + static_cast<std::ptrdiff_t>(g.begin));
  }
  std::tie(info.strain_mean, info.strain_std) = mean_std(target, train_pieces);
  auto x = torch::empty({static_cast<std::int64_t>(c), static_cast<std::int64_t>(n)}, torch::kFloat32);
  auto y = torch::empty({static_cast<std::int64_t>(n)}, torch::kFloat32);
  // The raw strain in the target's units, for the guard term (an empty tensor without one).
  auto h = cfg.guard_weight > 0 ? torch::empty({static_cast<std::int64_t>(n)}, torch::kFloat32) : torch::empty({0});
  {
    auto xa = x.accessor<float, 2>();
    for (std::size_t ch = 0; ch < c; ++ch) {
      const auto [m, s] = mean_std(data.witnesses[ch], train_pieces);
      info.witness_means.push_back(m);
      info.witness_stds.push_back(s);
      for (std::size_t i = 0; i < n; ++i) {
        xa[static_cast<std::int64_t>(ch)][static_cast<std::int64_t>(i)] = static_cast<float>((data.witnesses[ch][i] - m) / s);
      }
    }
    auto ya = y.accessor<float, 1>();
    for (std::size_t i = 0; i < n; ++i) {
      ya[static_cast<std::int64_t>(i)] = static_cast<float>((target[i] - info.strain_mean) / info.strain_std);
    }
    if (cfg.guard_weight > 0) {
      auto ha = h.accessor<float, 1>();
      for (std::size_t i = 0; i < n; ++i) {
        ha[static_cast<std::int64_t>(i)] = static_cast<float>((data.strain[i] - info.strain_mean) / info.strain_std);
      }
    }
  }

  // The DeepClean loss over each kernel, and for streaming-aware training the same over the part of
  // each kernel the live stream averages, [K - N s, K), with one Welch segment of that length.
  const double w_stream = cfg.stream_weight;
  const auto k64 = static_cast<std::int64_t>(k);
  const Loss whole = make_loss(static_cast<std::int64_t>(std::llround(cfg.fftlength_seconds * fs_hz)), fs_hz, cfg.bands, 0, -1,
                               true, cfg.guard_weight, cfg.guard_hz);
  if (cfg.guard_weight > 0) {
    log << "guard-band loss: " << cfg.guard_weight << " x the ASD ratio (raw - prediction) / raw over " << cfg.guard_hz
        << " Hz beside each band\n";
  }
  std::optional<Loss> tail;
  if (w_stream > 0) {
    const auto used = static_cast<std::int64_t>(std::llround(cfg.stream->aggregation_seconds * fs_hz));
    // One rectangular segment: a Hann window would weigh the middle of the tail and nearly ignore
    // both its ends, while the stream averages every sample of it alike (and a Hann tail measured
    // worse: docs/training.md).
    tail = make_loss(used, fs_hz, cfg.bands, k64 - used, used, /*hann=*/false, cfg.guard_weight, cfg.guard_hz);
    log << "streaming-aware loss: " << w_stream << " x the last " << cfg.stream->aggregation_seconds
        << " s of each kernel (the part the daemon averages) + " << 1 - w_stream << " x the whole kernel\n";
  }
  const auto loss = [&](const torch::Tensor& want, const torch::Tensor& pred, const torch::Tensor& raw) {
    if (!tail) return whole(want, pred, raw);
    if (w_stream >= 1) return (*tail)(want, pred, raw);
    return (1 - w_stream) * whole(want, pred, raw) + w_stream * (*tail)(want, pred, raw);
  };

  torch::jit::Module net = build_network(static_cast<std::int64_t>(c));
  std::string initial_id;
  if (!cfg.initial_bundle.empty()) {
    // Fine-tuning: every parameter and buffer of the network from a bundle `deepclean train` wrote.
    const bundle::BundleInfo from = bundle::read_bundle_info(cfg.initial_bundle);
    if (from.witnesses != cfg.witnesses || from.sample_rate != cfg.sample_rate) {
      throw std::runtime_error("training.initial_bundle " + cfg.initial_bundle +
                               ": its witnesses or sample rate differ from this configuration's");
    }
    const torch::jit::Module init = torch::jit::load((fs::path(cfg.initial_bundle) / bundle::kModelFile).string(),
                                                     torch::Device(torch::kCPU));
    std::map<std::string, torch::Tensor> values;
    for (const auto& p : init.named_parameters()) values[p.name] = p.value;
    for (const auto& b : init.named_buffers()) values[b.name] = b.value;
    torch::NoGradGuard ng;
    std::size_t copied = 0;
    const auto take = [&](const std::string& name, torch::Tensor t) {
      const auto it = values.find(name);
      if (it == values.end() || it->second.sizes() != t.sizes()) {
        throw std::runtime_error("training.initial_bundle " + cfg.initial_bundle + ": no tensor `" + name +
                                 "` of the shape this trainer builds (only networks written by `deepclean train` "
                                 "can be fine-tuned)");
      }
      t.copy_(it->second);
      ++copied;
    };
    for (const auto& p : net.named_parameters()) take(p.name, p.value);
    for (const auto& b : net.named_buffers()) take(b.name, b.value);
    initial_id = from.id;
    log << "initial network: " << cfg.initial_bundle << " (id " << from.id.substr(0, 12) << ", " << copied
        << " tensors)\n";
  }
  torch::optim::Adam opt(parameters_of(net),
                         torch::optim::AdamOptions(cfg.learning_rate).weight_decay(cfg.weight_decay));

  const std::size_t kernels_per_epoch = plan.kernels_per_epoch;
  const auto bsz = static_cast<std::size_t>(cfg.batch_size);
  const OffsetSampler sampler(train_pieces, k);
  std::uniform_int_distribution<std::size_t> offset_index(0, sampler.count() - 1);
  const std::vector<std::size_t>& valid_offsets = plan.valid_offsets;

  const auto batch = [&](const std::vector<std::size_t>& offs) {
    std::vector<torch::Tensor> xs, ys, hs;
    for (std::size_t o : offs) {
      xs.push_back(x.narrow(1, static_cast<std::int64_t>(o), static_cast<std::int64_t>(k)));
      ys.push_back(y.narrow(0, static_cast<std::int64_t>(o), static_cast<std::int64_t>(k)));
      if (cfg.guard_weight > 0) hs.push_back(h.narrow(0, static_cast<std::int64_t>(o), static_cast<std::int64_t>(k)));
    }
    return std::make_tuple(torch::stack(xs), torch::stack(ys), hs.empty() ? torch::empty({0}) : torch::stack(hs));
  };

  const std::size_t dropped_short = plan.split.short_samples;
  log << "segments: " << data.segments.size() << " good; train " << seconds_of(plan.train_samples(), cfg.sample_rate)
      << " in " << plan.split.train.size() << " piece" << (plan.split.train.size() == 1 ? "" : "s") << ", validation "
      << seconds_of(plan.valid_samples(), cfg.sample_rate) << " in " << plan.split.valid.size() << " piece"
      << (plan.split.valid.size() == 1 ? "" : "s") << "; dropped: " << data.seconds_read - data.seconds_good
      << " bad s, " << seconds_of(data.startup_samples, cfg.sample_rate) << " resampler start-up, "
      << seconds_of(dropped_short, cfg.sample_rate) << " in pieces shorter than a kernel\n";
  log << "training: " << c << " witnesses, " << cfg.sample_rate << " Hz, kernels " << cfg.kernel_seconds << " s, "
      << kernels_per_epoch << " kernels per epoch in batches of " << bsz << ", up to " << cfg.epochs << " epochs\n"
      << std::flush;

  PlateauSchedule schedule(cfg.learning_rate, cfg.lr_factor, cfg.lr_patience, cfg.min_learning_rate);
  if (cfg.lr_factor < 1) {
    char line[192];
    std::snprintf(line, sizeof line,
                  "learning rate %g, reduced x%g after %d epochs without a validation loss 1e-4 below the best, "
                  "down to %g\n",
                  cfg.learning_rate, cfg.lr_factor, cfg.lr_patience + 1, cfg.min_learning_rate);
    log << line;
  }
  const auto set_lr = [&opt](double lr) {
    for (auto& group : opt.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  };

  TrainResult res;
  double best = std::numeric_limits<double>::infinity();
  std::vector<torch::Tensor> best_state = snapshot(net);
  int since_best = 0;
  const auto t_start = std::chrono::steady_clock::now();
  for (int epoch = 1; epoch <= cfg.epochs; ++epoch) {
    net.train(true);
    double train_sum = 0;
    std::size_t train_batches = 0;
    for (std::size_t done = 0; done < kernels_per_epoch; done += bsz) {
      std::vector<std::size_t> offs;
      for (std::size_t b = 0; b < std::min(bsz, kernels_per_epoch - done); ++b) offs.push_back(sampler.at(offset_index(rng)));
      if (offs.size() < 2) continue;  // BatchNorm needs more than one kernel in training mode
      auto [xb, yb, hb] = batch(offs);
      opt.zero_grad();
      auto l = loss(yb, net.forward({xb}).toTensor(), hb);
      l.backward();
      opt.step();
      train_sum += l.item<double>();
      ++train_batches;
    }
    net.train(false);
    double valid_sum = 0;
    {
      torch::NoGradGuard ng;
      for (std::size_t i = 0; i < valid_offsets.size(); i += bsz) {
        std::vector<std::size_t> offs(valid_offsets.begin() + static_cast<std::ptrdiff_t>(i),
                                      valid_offsets.begin() + static_cast<std::ptrdiff_t>(std::min(i + bsz, valid_offsets.size())));
        auto [xb, yb, hb] = batch(offs);
        valid_sum += loss(yb, net.forward({xb}).toTensor(), hb).item<double>() * static_cast<double>(offs.size());
      }
    }
    const double valid = valid_sum / static_cast<double>(valid_offsets.size());
    const double train_loss = train_batches ? train_sum / static_cast<double>(train_batches) : std::nan("");
    res.epochs_run = epoch;
    if (valid < best) {
      best = valid;
      res.best_epoch = epoch;
      best_state = snapshot(net);
      since_best = 0;
    } else {
      ++since_best;
    }
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    const double lr = schedule.lr();
    char line[256];
    std::snprintf(line, sizeof line,
                  "epoch %d/%d  lr %.3g  train %.4f  valid %.4f  best %.4f (epoch %d)  %.1f s/epoch  elapsed %s  ETA %s\n",
                  epoch, cfg.epochs, lr, train_loss, valid, best, res.best_epoch, elapsed / epoch, duration(elapsed).c_str(),
                  duration(elapsed / epoch * (cfg.epochs - epoch)).c_str());
    log << line << std::flush;
    if (!std::isfinite(train_loss) || !std::isfinite(valid)) throw std::runtime_error("training diverged (non-finite loss)");
    if (schedule.step(valid) != lr) {
      std::snprintf(line, sizeof line, "learning rate %.3g -> %.3g (validation loss not below %.4f for %d epochs)\n", lr,
                    schedule.lr(), schedule.best(), cfg.lr_patience + 1);
      log << line << std::flush;
      set_lr(schedule.lr());
    }
    if (since_best >= cfg.patience) {
      log << "early stop: no improvement for " << cfg.patience << " epochs\n";
      break;
    }
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  restore(net, best_state);
  net.train(false);
  res.best_valid_loss = best;
  res.final_learning_rate = schedule.lr();

  // Provenance: what was trained on, how; no timestamp (same inputs, same bundle).
  {
    YAML::Emitter p;
    p << YAML::BeginMap << YAML::Key << "source" << YAML::Value << "deepclean train";
    p << YAML::Key << "config" << YAML::Value << cfg.source_file;
    p << YAML::Key << "gps" << YAML::Value << YAML::Flow << YAML::BeginSeq << cfg.start << cfg.end << YAML::EndSeq;
    p << YAML::Key << "validation_fraction" << YAML::Value << cfg.validation_fraction;
    p << YAML::Key << "seed" << YAML::Value << cfg.seed;
    p << YAML::Key << "epochs" << YAML::Value << res.epochs_run << YAML::Key << "best_epoch" << YAML::Value
      << res.best_epoch;
    p << YAML::Key << "best_valid_loss" << YAML::Value << best;
    p << YAML::Key << "learning_rate" << YAML::Value << cfg.learning_rate << YAML::Key << "final_learning_rate"
      << YAML::Value << res.final_learning_rate;
    p << YAML::Key << "good_seconds" << YAML::Value << data.seconds_good << YAML::Key << "bad_seconds" << YAML::Value
      << data.seconds_read - data.seconds_good;
    if (!initial_id.empty()) p << YAML::Key << "initial_bundle" << YAML::Value << initial_id;
    if (cfg.guard_weight > 0) {
      p << YAML::Key << "guard_loss" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "weight"
        << YAML::Value << cfg.guard_weight << YAML::Key << "hz" << YAML::Value << cfg.guard_hz << YAML::EndMap;
    }
    if (w_stream > 0) {
      // What the daemon checks at load (a configuration with another kernel or aggregation: warning).
      p << YAML::Key << "streaming" << YAML::Value << YAML::BeginMap << YAML::Key << "weight" << YAML::Value << w_stream
        << YAML::Key << "kernel_seconds" << YAML::Value << cfg.stream->kernel_seconds << YAML::Key
        << "aggregation_seconds" << YAML::Value << cfg.stream->aggregation_seconds << YAML::EndMap;
    }
    p << YAML::EndMap;
    info.provenance_yaml = p.c_str();
  }

  // Write next to the target, check, then rename.
  const fs::path abs = fs::absolute(out_dir);
  fs::create_directories(abs.parent_path());
  const fs::path tmp = abs.parent_path() / ("." + abs.filename().string() + ".tmp");
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  net.save((tmp / bundle::kModelFile).string());
  {
    std::ofstream f(tmp / bundle::kBundleFile);
    f << bundle::bundle_yaml(info);
    if (!f) throw std::runtime_error((tmp / bundle::kBundleFile).string() + ": cannot write");
  }
  const auto check_k = (static_cast<std::size_t>(cfg.sample_rate) + 15) / 16 * 16;
  model::check_bundle(tmp, check_k);
  if (fs::exists(abs)) fs::remove_all(abs);
  fs::rename(tmp, abs);
  res.bundle = model::check_bundle(abs, check_k);

  try {
    res.valid_asd_ratio = clean_ratio(net, res.bundle, data, plan.split.valid, 1.0).at(0).band;
  } catch (const std::runtime_error& e) {  // validation pieces all shorter than 3 s: no figure, not a failure
    log << "validation ASD ratio not computed: " << e.what() << "\n";
    res.valid_asd_ratio = std::nan("");
  }
  if (cfg.stream) {
    try {
      res.valid_streamed = streamed_ratio(abs, res.bundle, data, plan.split.valid, *cfg.stream).at(0);
      res.valid_asd_ratio_streamed = res.valid_streamed.band;
    } catch (const std::runtime_error& e) {
      log << "streamed validation ASD ratio not computed: " << e.what() << "\n";
    }
  }
  return res;
}

namespace {
// The bundle's description, when it was made for `data`'s witnesses and rate.
bundle::BundleInfo info_for(const fs::path& bundle, const Dataset& data) {
  auto info = bundle::read_bundle_info(bundle);
  if (info.witnesses != data.witness_names) throw std::runtime_error(bundle.string() + ": witness channels differ from the data's");
  if (info.sample_rate != data.sample_rate) throw std::runtime_error(bundle.string() + ": sample rate differs from the data's");
  return info;
}
}  // namespace

std::vector<BandFigures> evaluate_bundle(const fs::path& bundle, const Dataset& data, double edge_seconds) {
  const auto info = info_for(bundle, data);
  auto m = torch::jit::load((bundle / bundle::kModelFile).string(), torch::Device(torch::kCPU));
  return clean_ratio(m, info, data, data.segments, edge_seconds);
}

std::vector<BandFigures> evaluate_bundle_streamed(const fs::path& bundle, const Dataset& data, const StreamSettings& stream) {
  return streamed_ratio(bundle, info_for(bundle, data), data, data.segments, stream);
}

}  // namespace deepclean::train
