#include "daemon/pipeline/output.hpp"

#include <cstring>
#include <stdexcept>

namespace deepclean::daemon {

namespace {

// A copy of `raw` (name, kind, rate, units) whose samples are replaced by `values`, converted to the
// raw channel's stored type so downstream readers see the same type as the calibrated strain.
gwf::Channel with_values(const gwf::Channel& raw, const std::string& name,
                         const std::vector<double>& values) {
  gwf::Channel c;
  c.name = name;
  c.kind = gwf::ChannelKind::Proc;
  c.sample_rate = raw.sample_rate;
  c.proc.type = 1;  // time series
  c.proc.t_range = 1.0;
  const double rate = raw.sample_rate;
  switch (raw.data.type) {
    case gwf::DataType::Float32: {
      std::vector<float> v(values.size());
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(values[i]);
      c.data = gwf::Vect::make(name, v, rate, raw.data.unit_y);
      break;
    }
    case gwf::DataType::Float64:
      c.data = gwf::Vect::make(name, values, rate, raw.data.unit_y);
      break;
    default:
      throw std::invalid_argument("strain channel " + raw.name + " has type " +
                                  gwf::type_name(raw.data.type) +
                                  "; deepclean cleans float32 or float64 strain");
  }
  return c;
}

}  // namespace

gwf::Frame build_output_frame(const OutputSecond& out, const OutputNames& names,
                              const std::string& frame_name) {
  gwf::Frame f;
  f.name = frame_name;
  f.start = {static_cast<std::uint32_t>(out.gps), 0};
  f.dt = 1.0;
  f.frame_number = static_cast<std::uint32_t>(out.gps);
  f.history = out.history;
  f.channels.push_back(with_values(out.raw_strain, names.strain, out.cleaned));

  gwf::Channel sv;
  sv.name = names.state_vector;
  sv.kind = gwf::ChannelKind::Proc;
  sv.sample_rate = static_cast<double>(kStateRate);
  sv.proc.t_range = 1.0;
  sv.data = gwf::Vect::make(names.state_vector, out.state, static_cast<double>(kStateRate));
  f.channels.push_back(std::move(sv));

  if (!names.noise.empty() && out.noise) {
    gwf::Channel n;
    n.name = names.noise;
    n.kind = gwf::ChannelKind::Proc;
    n.sample_rate = out.noise_rate;
    n.proc.t_range = 1.0;
    n.data = gwf::Vect::make(names.noise, *out.noise, out.noise_rate, out.raw_strain.data.unit_y);
    f.channels.push_back(std::move(n));
  }
  for (const auto& p : out.passthrough) f.channels.push_back(p);
  return f;
}

std::string gate_change_text(const OutputSecond& out) {
  const GateReport& g = out.gate;
  if (!g.open) {
    return "GPS " + std::to_string(out.gps) + ": do-no-harm gate closed (" + g.reason + "): " + g.detail +
           "; writing the raw strain (state bit GATED) until the would-be cleaned strain is good again";
  }
  return "GPS " + std::to_string(out.gps) + ": do-no-harm gate open again, cleaning resumes: " + g.detail;
}

std::vector<std::uint32_t> state_bits(const std::vector<double>& g, const std::vector<double>& q,
                                      const std::vector<std::uint8_t>& input_ok, bool model_ok) {
  std::vector<std::uint32_t> bits(kStateRate, 0);
  const std::size_t per_slot = g.size() / kStateRate;
  if (per_slot * kStateRate != g.size()) {
    throw std::invalid_argument("state_bits: strain rate is not a multiple of 16 Hz");
  }
  if (!q.empty() && q.size() != g.size()) throw std::invalid_argument("state_bits: q and g differ in length");
  for (std::size_t k = 0; k < kStateRate; ++k) {
    bool all_one = true, any_taper = false, any_sub = false, any_gated = false;
    for (std::size_t i = k * per_slot; i < (k + 1) * per_slot; ++i) {
      const double qi = q.empty() ? 1.0 : q[i];
      all_one = all_one && g[i] == 1.0 && qi == 1.0;
      any_taper = any_taper || (g[i] > 0.0 && g[i] < 1.0);
      any_sub = any_sub || (g[i] > 0.0 && qi > 0.0);
      any_gated = any_gated || qi < 1.0;
    }
    std::uint32_t b = 0;
    if (all_one) b |= kCleaned;
    if (k < input_ok.size() && input_ok[k]) b |= kInputOk;
    if (model_ok) b |= kModelOk;
    if (any_taper) b |= kInTaper;
    if (any_sub) b |= kSubtracted;
    if (any_gated) b |= kGated;
    bits[k] = b;
  }
  return bits;
}

}  // namespace deepclean::daemon
