// The whole cleaning contract (../shared/docs/streaming-spec.md, steps 1-9) for one detector stream,
// one segment at a time: witnesses at their native rates and strain at its native rate in, in chunks
// of any size; cleaned strain, the noise estimate v at fs and the subtraction weight out, one
// output block (the samples of one output frame) at a time, as soon as every sample of it is final.
// docs/contract-notes.md records how the edges the contract leaves implicit are resolved.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "core/dsp/resample.hpp"
#include "core/stream/bandpass.hpp"
#include "core/stream/kernel_geometry.hpp"
#include "core/stream/noise_estimator.hpp"
#include "core/stream/segment.hpp"
#include "core/stream/subtraction_weight.hpp"

namespace deepclean::stream {

struct WitnessChannel {
  int rate = 0;       // native sample rate, Hz
  double mean = 0.0;  // mean_c
  double std = 1.0;   // std_c (0 is treated as 1, step 2)
};

struct CleanerConfig {
  int fs = 0;                            // model sample rate
  int strain_rate = 0;                   // native strain rate (output rate)
  std::vector<WitnessChannel> witnesses;  // in the model's channel order
  double strain_mean = 0.0;              // mean_y (step 6)
  double strain_std = 1.0;               // std_y (step 6)
  KernelGeometry geometry;               // K, s, N
  std::size_t model_factor = 16;         // K must be a multiple of it (DeepClean: 16)
  BandpassMethod method = BandpassMethod::window;
  std::vector<Band> bands;
  int order = 8;
  double memory_seconds = 10.0;     // `window`: M = memory_seconds * fs (a whole number)
  double look_ahead_seconds = 0.5;  // `window`, `fir`: L = look_ahead_seconds * fs (a whole number)
  double kaiser_beta = 6.0;         // `fir`: Kaiser window beta of the 2L + 1 taps
  double taper_seconds = 1.0;       // step 9 ramps: taper_seconds * strain_rate (a whole number)
  int block_seconds = 1;            // output frame length; blocks start at multiples of it (GPS)
  dsp::ResamplerDesign witness_resampler;   // step 1
  dsp::ResamplerDesign noise_interpolator;  // step 8
};

// Throws std::invalid_argument with a message naming the offending setting.
void validate(const CleanerConfig& config);

// Contract "Latency": N*s + L (window and fir) at fs, plus the largest witness resampler half-length and
// the interpolator half-length, in seconds. Validates the configuration first.
double algorithmic_latency_seconds(const CleanerConfig& config);

// One output block: the part of one output frame that lies in the segment.
struct CleanedBlock {
  GpsNs start = 0;                // GPS time of strain[0] and noise[0]
  std::size_t strain_offset = 0;  // index of strain[0] in the segment, at strain_rate
  std::size_t noise_offset = 0;   // index of noise[0] in the segment, at fs
  std::vector<double> strain;     // h - g * v_up at strain_rate (exactly h where g == 0)
  std::vector<double> weight;     // g at strain_rate
  std::vector<double> correction; // g * v_up at strain_rate (0 where g == 0): strain = h - correction
  std::vector<double> noise;      // v at fs, 0 where there is no estimate
  bool last = false;              // the segment ended with this block

  bool cleaned(std::size_t i) const { return weight[i] == 1.0; }
  bool in_taper(std::size_t i) const { return weight[i] > 0.0 && weight[i] < 1.0; }
};

// Per interval of `samples` strain samples (1/16 s for the state vector): cleaning applied throughout
// (g == 1 for every sample) and any sample in a taper (0 < g < 1). A trailing partial interval is
// summarised over the samples it has.
struct IntervalState {
  bool cleaned = false;
  bool in_taper = false;
};
std::vector<IntervalState> summarise_weight(const std::vector<double>& weight, std::size_t samples);

class StrainCleaner {
 public:
  // The estimator gives steps 3-5 (CpuNoiseEstimator or a device one); its geometry and channel count
  // must match the configuration. Throws std::invalid_argument (see validate()).
  StrainCleaner(CleanerConfig config, std::unique_ptr<NoiseEstimator> estimator);

  // A segment starts at `start` (the time of the first sample of every channel). Resets all stream
  // state; a segment still open is ended first, as by end_segment(). Throws std::invalid_argument
  // when `start` is not on every channel's sample grid.
  void start_segment(GpsNs start);
  // The open segment ends here (gap, corrupt frame, failed state mask, shutdown): everything that
  // was pushed is flushed with the end now known. Does nothing when no segment is open.
  void end_segment();
  bool segment_open() const { return open_; }

  // Append consecutive samples of the strain / of witness `c` (model order). Throws std::logic_error
  // when no segment is open.
  void push_strain(const double* h, std::size_t n);
  void push_witness(std::size_t c, const double* w, std::size_t n);

  // Blocks whose samples are all final, oldest first.
  bool has_block() const { return !blocks_.empty(); }
  CleanedBlock pop_block();

  const CleanerConfig& config() const { return config_; }
  std::size_t memory() const { return memory_; }         // M, samples at fs
  std::size_t look_ahead() const { return look_ahead_; } // L, samples at fs
  double latency_seconds() const;

 private:
  void drain_witnesses();
  void append_noise(const std::vector<double>& v, const std::vector<unsigned char>& estimated);
  void emit_blocks();
  bool weight_known_before(std::size_t m_end) const;  // g decided for every native m < m_end
  void update_weight();
  std::size_t native_ceil(std::size_t n_fs) const;  // ceil(n * strain_rate / fs)
  std::size_t fs_ceil(std::size_t m) const;         // ceil(m * fs / strain_rate)

  CleanerConfig config_;
  std::unique_ptr<NoiseEstimator> estimator_;
  std::unique_ptr<NoiseBandpass> bandpass_;
  std::vector<dsp::Resampler> resamplers_;
  dsp::Resampler interpolator_;
  std::size_t memory_ = 0, look_ahead_ = 0, taper_ = 0, fall_ = 0;
  SubtractionWeight weight_{0, 0};
  std::vector<double> witness_scale_;

  // Segment state.
  bool open_ = false;
  bool ended_ = false;
  GpsNs start_ = 0;
  BlockGrid grid_fs_, grid_native_;
  std::vector<std::vector<float>> standardised_;  // per witness, x at fs not yet given to the estimator
  std::vector<double> scratch_, y_, u_, v_new_;
  std::vector<unsigned char> estimated_new_;
  std::vector<float> packed_;
  std::vector<double> h_;    // strain from h_base_
  std::size_t h_base_ = 0;
  std::vector<double> v_;    // v at fs from v_base_
  std::size_t v_base_ = 0;
  std::vector<double> vup_;  // v at strain_rate from vup_base_
  std::size_t vup_base_ = 0;
  std::optional<std::size_t> first_estimated_;  // p
  std::optional<std::size_t> end_estimated_;    // q
  std::size_t next_native_ = 0, next_fs_ = 0;   // start of the next block to emit
  std::deque<CleanedBlock> blocks_;
};

}  // namespace deepclean::stream
