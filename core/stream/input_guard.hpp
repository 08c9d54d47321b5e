// The gate's input guard (docs/quality-gate.md): checks one second of one witness channel for what a
// model cannot be trusted on, before its predictions reach the output.
#pragma once

#include <cstddef>
#include <string>

namespace deepclean::stream {

struct InputGuardConfig {
  double max_zscore = 10;             // RMS of (x - mean) / std over the second; 0: off
  bool flatline = true;               // every sample equal (a dead channel, or zeros)
  double saturation_fraction = 0.01;  // at least this share (and >= 3 samples) at the second's
                                      // largest |x|, exactly: a clipped channel; 0: off
};

// "" when the second looks like what the model was trained on; otherwise the reason, e.g.
// "flat at 0 (all 2048 samples)", "RMS z-score 14.2 > 10 (mean 3.1, std 0.5 from the bundle)",
// "saturated: 612 of 2048 samples at |x| = 32767".
std::string witness_complaint(const double* x, std::size_t n, double mean, double std,
                              const InputGuardConfig& config);

}  // namespace deepclean::stream
