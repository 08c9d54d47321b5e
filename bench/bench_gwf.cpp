// Frame I/O benchmarks (issue 2, item 7). Targets: raw decode >= 2 GB/s; reading 25 named channels
// from a 2000-channel frame <= 2 ms; writing a 1-s 3-channel frame <= 2 ms uncompressed.
// Results and the command line are recorded in docs/benchmarks.md ("Frame I/O").
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "io/gwf/reader.hpp"
#include "io/gwf/writer.hpp"

namespace gwf = deepclean::gwf;

namespace {

constexpr double kPi = 3.14159265358979323846;

// Strain-like float64 samples: a few lines plus Gaussian noise at 1e-21 (what cleaned h(t) looks
// like to a compressor: full-entropy mantissas, so zlib gains little).
std::vector<double> strain_like(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0.0, 1e-21);
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / static_cast<double>(n);
    v[i] = g(rng) + 3e-22 * std::sin(2 * kPi * 60 * t) + 1e-22 * std::sin(2 * kPi * 120 * t);
  }
  return v;
}

gwf::Frame one_second_frame(const std::vector<std::string>& names, double rate) {
  gwf::Frame f;
  f.name = "LIGO";
  f.start = {1400000000, 0};
  f.dt = 1.0;
  unsigned seed = 1;
  for (const auto& n : names) {
    gwf::Channel c;
    c.name = n;
    c.kind = gwf::ChannelKind::Proc;
    c.sample_rate = rate;
    c.data = gwf::Vect::make(n, strain_like(static_cast<std::size_t>(rate), seed++), rate, "strain");
    f.channels.push_back(std::move(c));
  }
  return f;
}

gwf::WriteOptions with(gwf::Compression c) {
  gwf::WriteOptions o;
  o.compression = c;
  return o;
}

// ---- decode one 1-s 16384 Hz float64 channel -------------------------------------------------

void decode_channel(benchmark::State& state, gwf::Compression comp, bool verify) {
  const auto frame = one_second_frame({"H1:GDS-CALIB_STRAIN"}, 16384);
  gwf::ReadOptions ro;
  ro.verify_checksums = verify;
  const auto file = gwf::FrameFile::from_bytes(gwf::encode_frames({frame}, with(comp)), "bench", ro);
  for (auto _ : state) {
    auto c = file.read_channel(0, "H1:GDS-CALIB_STRAIN");
    benchmark::DoNotOptimize(c.data.data.data());
  }
  state.SetBytesProcessed(state.iterations() * 16384 * 8);
}
void BM_DecodeRaw(benchmark::State& s) { decode_channel(s, gwf::Compression::Raw, false); }
void BM_DecodeRawVerifyCrc(benchmark::State& s) { decode_channel(s, gwf::Compression::Raw, true); }
void BM_DecodeZlib(benchmark::State& s) { decode_channel(s, gwf::Compression::Zlib, false); }
void BM_DecodeZlibVerifyCrc(benchmark::State& s) { decode_channel(s, gwf::Compression::Zlib, true); }
BENCHMARK(BM_DecodeRaw)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecodeRawVerifyCrc)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecodeZlib)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecodeZlibVerifyCrc)->Unit(benchmark::kMicrosecond);

// ---- 25 named channels out of a 2000-channel witness frame -----------------------------------

struct WitnessFile {
  std::string path;
  std::vector<std::string> wanted;
  std::size_t bytes = 0;
};

// 2000 float32 channels, rates cycling 256, 512, ..., 16384 Hz (7 rates), written once to a file.
const WitnessFile& witness_file(gwf::Compression comp) {
  static WitnessFile raw_file, zlib_file;
  WitnessFile& w = comp == gwf::Compression::Raw ? raw_file : zlib_file;
  if (!w.path.empty()) return w;
  gwf::Frame f;
  f.name = "LIGO";
  f.start = {1400000000, 0};
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.0f, 100.0f);
  for (int i = 0; i < 2000; ++i) {
    const double rate = 256.0 * std::pow(2.0, i % 7);
    char name[64];
    std::snprintf(name, sizeof name, "H1:PEM-WITNESS_%04d_DQ", i);
    std::vector<float> v(static_cast<std::size_t>(rate));
    for (auto& x : v) x = g(rng);
    gwf::Channel c;
    c.name = name;
    c.kind = gwf::ChannelKind::Adc;
    c.sample_rate = rate;
    c.data = gwf::Vect::make(name, v, rate, "counts");
    f.channels.push_back(std::move(c));
    if (i % 80 == 17) w.wanted.push_back(name);  // 25 names spread over the file
  }
  w.path = (std::filesystem::temp_directory_path() /
            ("bench_gwf_witness_" + std::to_string(::getpid()) + (comp == gwf::Compression::Raw ? "_raw" : "_zlib") + ".gwf"))
               .string();
  gwf::WriteOptions o = with(comp);
  o.zlib_level = 1;
  gwf::write_frame_file(w.path, {f}, o);
  w.bytes = std::filesystem::file_size(w.path);
  return w;
}

void lookup_opened(benchmark::State& state, gwf::Compression comp) {
  const auto& w = witness_file(comp);
  const auto file = gwf::FrameFile::open(w.path);
  for (auto _ : state) {
    for (const auto& n : w.wanted) {
      auto c = file.read_channel(0, n);
      benchmark::DoNotOptimize(c.data.data.data());
    }
  }
  state.counters["channels"] = static_cast<double>(w.wanted.size());
  state.counters["file_MB"] = static_cast<double>(w.bytes) / 1e6;
}
void lookup_with_open(benchmark::State& state, gwf::Compression comp, bool verify) {
  const auto& w = witness_file(comp);
  gwf::ReadOptions ro;
  ro.verify_checksums = verify;
  for (auto _ : state) {
    const auto file = gwf::FrameFile::open(w.path, ro);
    for (const auto& n : w.wanted) {
      auto c = file.read_channel(0, n);
      benchmark::DoNotOptimize(c.data.data.data());
    }
  }
  state.counters["file_MB"] = static_cast<double>(w.bytes) / 1e6;
}
void BM_Read25of2000_OpenedRaw(benchmark::State& s) { lookup_opened(s, gwf::Compression::Raw); }
void BM_Read25of2000_OpenedZlib(benchmark::State& s) { lookup_opened(s, gwf::Compression::Zlib); }
void BM_Read25of2000_OpenPlusReadRaw(benchmark::State& s) { lookup_with_open(s, gwf::Compression::Raw, true); }
void BM_Read25of2000_OpenPlusReadRawNoCrc(benchmark::State& s) {
  lookup_with_open(s, gwf::Compression::Raw, false);
}
BENCHMARK(BM_Read25of2000_OpenedRaw)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Read25of2000_OpenedZlib)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Read25of2000_OpenPlusReadRaw)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Read25of2000_OpenPlusReadRawNoCrc)->Unit(benchmark::kMillisecond);

// ---- write a 1-s frame with 3 channels (deepclean's output: cleaned strain, DQ, canary) -------

const std::vector<std::string> kOutputs = {"H1:GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION",
                                           "H1:GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION_OUT_DQ",
                                           "H1:GDS-CALIB_STRAIN_DEEPCLEAN_CANARY"};

void encode3(benchmark::State& state, gwf::Compression comp, int level) {
  const auto f = one_second_frame(kOutputs, 16384);
  auto o = with(comp);
  o.zlib_level = level;
  std::size_t size = 0;
  for (auto _ : state) {
    auto b = gwf::encode_frames({f}, o);
    size = b.size();
    benchmark::DoNotOptimize(b.data());
  }
  state.SetBytesProcessed(state.iterations() * 3 * 16384 * 8);
  state.counters["file_vs_samples"] = static_cast<double>(size) / (3.0 * 16384 * 8);
}
void BM_Write3ch_EncodeRaw(benchmark::State& s) { encode3(s, gwf::Compression::Raw, 6); }
void BM_Write3ch_EncodeZlib(benchmark::State& s) { encode3(s, gwf::Compression::Zlib, 6); }
void BM_Write3ch_EncodeZlibLevel1(benchmark::State& s) { encode3(s, gwf::Compression::Zlib, 1); }
BENCHMARK(BM_Write3ch_EncodeRaw)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Write3ch_EncodeZlib)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Write3ch_EncodeZlibLevel1)->Unit(benchmark::kMicrosecond);

// Encode + atomic publish (temp file, write, fsync, rename, fsync dir). /dev/shm is where
// low-latency frames live (digest §10); the temp directory shows the cost of a disk fsync.
void publish3(benchmark::State& state, gwf::Compression comp, const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir)) {
    state.SkipWithError("directory absent");
    return;
  }
  const auto f = one_second_frame(kOutputs, 16384);
  const auto o = with(comp);
  const auto target = dir / ("bench_gwf_" + std::to_string(::getpid()) + "-H1_DEEPCLEAN-1400000000-1.gwf");
  for (auto _ : state) gwf::write_frame_file(target.string(), {f}, o);
  std::filesystem::remove(target);
  state.SetBytesProcessed(state.iterations() * 3 * 16384 * 8);
}
void BM_Write3ch_PublishRawDevShm(benchmark::State& s) { publish3(s, gwf::Compression::Raw, "/dev/shm"); }
void BM_Write3ch_PublishZlibDevShm(benchmark::State& s) { publish3(s, gwf::Compression::Zlib, "/dev/shm"); }
void BM_Write3ch_PublishRawTmp(benchmark::State& s) {
  publish3(s, gwf::Compression::Raw, std::filesystem::temp_directory_path());
}
BENCHMARK(BM_Write3ch_PublishRawDevShm)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Write3ch_PublishZlibDevShm)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Write3ch_PublishRawTmp)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  for (const char* suffix : {"_raw", "_zlib"}) {
    std::error_code ec;
    std::filesystem::remove(std::filesystem::temp_directory_path() /
                                ("bench_gwf_witness_" + std::to_string(::getpid()) + suffix + ".gwf"),
                            ec);
  }
  return 0;
}
