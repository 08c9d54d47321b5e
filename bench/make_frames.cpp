// Writes synthetic 1-s strain and witness frames for a model bundle's channels, for benchmarking
// `deepclean clean` (docs/benchmarks.md). Not a simulator: white noise only (the simulator is
// `deepclean simulate`). Usage:
//   make_frames BUNDLE_DIR OUT_DIR GPS SECONDS
// writes OUT_DIR/strain/H-H1_llhoft-<gps>-1.gwf (16384 Hz float64 strain) and
// OUT_DIR/witness/H-H1_lldetchar-<gps>-1.gwf (witnesses cycling through 4096, 2048, 512, 256 Hz).
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>

#include "core/bundle/bundle.hpp"
#include "io/gwf/writer.hpp"

namespace gwf = deepclean::gwf;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: make_frames BUNDLE_DIR OUT_DIR GPS SECONDS\n";
    return 2;
  }
  const auto bundle = deepclean::bundle::read_bundle_info(argv[1]);
  const std::filesystem::path out = argv[2];
  const auto gps0 = std::stoull(argv[3]);
  const auto seconds = std::stoull(argv[4]);
  std::filesystem::create_directories(out / "strain");
  std::filesystem::create_directories(out / "witness");
  std::mt19937_64 rng(42);
  std::normal_distribution<double> g(0.0, 1.0);
  const int rates[] = {4096, 2048, 512, 256};
  for (std::uint64_t k = 0; k < seconds; ++k) {
    const auto gps = static_cast<std::uint32_t>(gps0 + k);
    gwf::Frame s;
    s.name = "H1";
    s.start = {gps, 0};
    std::vector<double> h(16384);
    for (auto& x : h) x = 1e-21 * g(rng);
    gwf::Channel hc;
    hc.name = bundle.strain_channel;
    hc.sample_rate = 16384;
    hc.data = gwf::Vect::make(hc.name, h, 16384, "strain");
    s.channels.push_back(hc);
    gwf::write_frame_file((out / "strain" / ("H-H1_llhoft-" + std::to_string(gps) + "-1.gwf")).string(), {s});
    gwf::Frame w = s;
    w.channels.clear();
    for (std::size_t c = 0; c < bundle.witnesses.size(); ++c) {
      const int r = rates[c % 4];
      std::vector<float> x(static_cast<std::size_t>(r));
      for (auto& v : x) v = static_cast<float>(bundle.witness_means[c] + bundle.witness_stds[c] * g(rng));
      gwf::Channel wc;
      wc.name = bundle.witnesses[c];
      wc.kind = gwf::ChannelKind::Adc;
      wc.sample_rate = r;
      wc.data = gwf::Vect::make(wc.name, x, r);
      w.channels.push_back(wc);
    }
    gwf::write_frame_file((out / "witness" / ("H-H1_lldetchar-" + std::to_string(gps) + "-1.gwf")).string(), {w});
  }
  return 0;
}
