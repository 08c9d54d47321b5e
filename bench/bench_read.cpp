// The read stage of `deepclean clean` (issue 4): daemon::read_second on one GPS second made of a
// strain frame (16384 Hz float64 proc channel) and a witness frame (21 ADC channels at 4096 Hz
// float32), zlib-compressed (as in the `deepclean clean` benchmark) and raw; plus the sample
// conversions it is built from (gwf::Vect::to_double, daemon::physical_values).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "daemon/pipeline/input.hpp"
#include "io/gwf/writer.hpp"

namespace gwf = deepclean::gwf;
namespace dd = deepclean::daemon;

namespace {

constexpr std::uint32_t kGps = 1400000000;
constexpr std::size_t kWitnesses = 21;
constexpr double kStrainRate = 16384;
constexpr double kWitnessRate = 4096;

std::string witness_name(std::size_t k) { return "H1:PEM-WITNESS_" + std::to_string(k); }

gwf::Channel strain_channel(std::mt19937_64& rng) {
  std::normal_distribution<double> g(0.0, 1e-21);
  std::vector<double> h(static_cast<std::size_t>(kStrainRate));
  for (auto& x : h) x = g(rng);
  gwf::Channel c;
  c.name = "H1:GDS-CALIB_STRAIN";
  c.kind = gwf::ChannelKind::Proc;
  c.sample_rate = kStrainRate;
  c.data = gwf::Vect::make(c.name, h, kStrainRate, "strain");
  return c;
}

gwf::Channel witness_channel(std::size_t k, std::mt19937_64& rng) {
  std::normal_distribution<double> g(0.0, 1.0);
  std::vector<float> x(static_cast<std::size_t>(kWitnessRate));
  for (auto& v : x) v = static_cast<float>(100.0 + 10.0 * g(rng));
  gwf::Channel c;
  c.name = witness_name(k);
  c.kind = gwf::ChannelKind::Adc;
  c.sample_rate = kWitnessRate;
  c.data = gwf::Vect::make(c.name, x, kWitnessRate);
  return c;
}

// A temporary directory holding one second of strain and witness frames.
class Frames {
 public:
  explicit Frames(gwf::Compression comp) {
    dir_ = std::filesystem::temp_directory_path() /
           ("deepclean-bench-read-" + std::to_string(::getpid()) + "-" +
            std::to_string(static_cast<int>(comp)));
    std::filesystem::create_directories(dir_);
    std::mt19937_64 rng(42);
    gwf::WriteOptions wo;
    wo.compression = comp;
    gwf::Frame s;
    s.name = "H1";
    s.start = {kGps, 0};
    s.channels.push_back(strain_channel(rng));
    gwf::Frame w = s;
    w.channels.clear();
    for (std::size_t k = 0; k < kWitnesses; ++k) w.channels.push_back(witness_channel(k, rng));
    spec_.strain_source = {dir_.string(), "H1_llhoft", "H"};
    spec_.witness_source = {dir_.string(), "H1_lldetchar", "H"};
    gwf::write_frame_file(dd::frame_path(spec_.strain_source, kGps), {s}, wo);
    gwf::write_frame_file(dd::frame_path(spec_.witness_source, kGps), {w}, wo);
    spec_.strain_channel = "H1:GDS-CALIB_STRAIN";
    for (std::size_t k = 0; k < kWitnesses; ++k) spec_.witness_channels.push_back(witness_name(k));
  }
  ~Frames() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Frames(const Frames&) = delete;
  Frames& operator=(const Frames&) = delete;
  const dd::InputSpec& spec() const { return spec_; }

 private:
  std::filesystem::path dir_;
  dd::InputSpec spec_;
};

void read_second(benchmark::State& state, gwf::Compression comp, bool verify) {
  Frames frames(comp);
  dd::InputSpec spec = frames.spec();
  spec.verify_checksums = verify;
  for (auto _ : state) {
    const dd::SecondInput in = dd::read_second(spec, kGps);
    if (!in.good()) {
      state.SkipWithError(in.detail.c_str());
      break;
    }
    benchmark::DoNotOptimize(in.witnesses.data());
  }
}
void BM_ReadSecondZlib(benchmark::State& s) { read_second(s, gwf::Compression::Zlib, true); }
void BM_ReadSecondRaw(benchmark::State& s) { read_second(s, gwf::Compression::Raw, true); }
void BM_ReadSecondRawNoCrc(benchmark::State& s) { read_second(s, gwf::Compression::Raw, false); }
BENCHMARK(BM_ReadSecondZlib)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ReadSecondRaw)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ReadSecondRawNoCrc)->Unit(benchmark::kMicrosecond);

// `convert` over one channel's samples per iteration; items are the channel's samples.
template <typename Convert>
void convert_channel(benchmark::State& state, const gwf::Channel& c, Convert convert) {
  for (auto _ : state) {
    auto v = convert(c);
    benchmark::DoNotOptimize(v.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(c.data.size()));
}
std::vector<double> to_double(const gwf::Channel& c) { return c.data.to_double(); }
void BM_ToDoubleFloat64(benchmark::State& state) {
  std::mt19937_64 rng(1);
  convert_channel(state, strain_channel(rng), to_double);
}
void BM_ToDoubleFloat32(benchmark::State& state) {
  std::mt19937_64 rng(1);
  convert_channel(state, witness_channel(0, rng), to_double);
}
void BM_PhysicalValuesAdcSlope(benchmark::State& state) {
  std::mt19937_64 rng(1);
  gwf::Channel c = witness_channel(0, rng);
  c.adc.slope = 0.5f;
  c.adc.bias = 1.0f;
  convert_channel(state, c, dd::physical_values);
}
BENCHMARK(BM_ToDoubleFloat64)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ToDoubleFloat32)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PhysicalValuesAdcSlope)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
