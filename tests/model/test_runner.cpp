// The LibTorch runner against Python: predictions of the imported ML4GW models equal what
// Debian's python3-torch computes for the same input, and do not depend on batching. The runner
// runs on the CPU unless DEEPCLEAN_TEST_DEVICE names a CUDA device (fixtures.hpp); the CudaRunner
// tests at the end run only then.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/model/ml4gw_import.hpp"
#include "core/model/load.hpp"
#include "core/model/torch_settings.hpp"
#include "common/model_fixtures.hpp"

namespace deepclean::model {
namespace {

namespace fs = std::filesystem;

struct Diff {
  double max_abs = 0.0;
  double max_ref = 0.0;
  double relative() const { return max_abs / std::max(max_ref, 1e-30); }
};

Diff compare(const std::vector<float>& got, const std::vector<float>& ref) {
  Diff d;
  EXPECT_EQ(got.size(), ref.size());
  for (std::size_t i = 0; i < std::min(got.size(), ref.size()); ++i) {
    d.max_abs = std::max(d.max_abs, std::abs(static_cast<double>(got[i]) - static_cast<double>(ref[i])));
    d.max_ref = std::max(d.max_ref, std::abs(static_cast<double>(ref[i])));
  }
  return d;
}

fs::path import_fixture(const fs::path& fx, const std::string& tag) {
  const fs::path out = testing::scratch_dir("import") / "bundle";
  Ml4gwImportOptions o;
  o.sample_rate = 4096;
  import_ml4gw(fx / ("ml4gw_" + tag), out, o);
  return out;
}

// Imported model vs. Python's output on the same input (shape.yaml, input.f32, output.f32).
void expect_matches_python(const fs::path& fx, const std::string& tag) {
  const fs::path bundle = import_fixture(fx, tag);
  const YAML::Node shape = YAML::LoadFile((fx / ("ref_" + tag) / "shape.yaml").string());
  const auto batch = shape["batch"].as<std::size_t>();
  const auto k = shape["kernel"].as<std::size_t>();
  const std::vector<float> input = testing::read_f32(fx / ("ref_" + tag) / "input.f32");
  const std::vector<float> ref = testing::read_f32(fx / ("ref_" + tag) / "output.f32");
  RunnerOptions o;
  o.device = testing::test_device();
  o.kernel_length = k;
  o.max_batch = batch;
  LoadedModel m = load_model(bundle, o);
  ASSERT_EQ(m.predictor->channels(), shape["channels"].as<std::size_t>());
  ASSERT_EQ(input.size(), batch * m.predictor->channels() * k);
  std::vector<float> out(batch * k);
  m.predictor->predict(input.data(), batch, k, out.data());
  const Diff d = compare(out, ref);
  const Diff s = compare(out, testing::read_f32(fx / ("ref_" + tag) / "output_single.f32"));
  std::cout << "[ model " << tag << " on " << o.device << " ] C++ vs Python batched call: max abs diff " << d.max_abs
            << ", max |ref| " << d.max_ref << ", relative " << d.relative()
            << "; vs Python one call per kernel: relative " << s.relative() << "\n";
  ::testing::Test::RecordProperty("max_relative_diff_vs_python_" + tag, std::to_string(d.relative()));
  EXPECT_GT(d.max_ref, 1e-3);  // the reference is not trivially zero
  if (testing::testing_on_cuda()) {
    const double rms = testing::relative_rms(out, ref);
    std::cout << "[ model " << tag << " on " << o.device << " ] relative RMS vs Python (CPU) " << rms << "\n";
    EXPECT_LE(rms, testing::kCudaRelativeRms);
  } else {
    EXPECT_LE(d.relative(), 1e-5);
    EXPECT_LE(s.relative(), 1e-5);
  }
}

TEST(Runner, ImportedModelMatchesPython3Witnesses) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  expect_matches_python(fx, "c3");
}

TEST(Runner, ImportedModelMatchesPython21Witnesses) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  expect_matches_python(fx, "c21");
}

TEST(Runner, ImportKeepsMl4gwChannelOrderAndScalers) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const fs::path bundle = import_fixture(fx, "c21");
  const YAML::Node e = YAML::LoadFile((fx / "expected_c21.yaml").string());
  const BundleInfo b = bundle::read_bundle_info(bundle);
  EXPECT_EQ(b.sample_rate, 4096);
  EXPECT_EQ(b.strain_channel, e["strain_channel"].as<std::string>());
  ASSERT_EQ(b.channels(), e["witnesses"].size());
  for (std::size_t c = 0; c < b.channels(); ++c) {
    EXPECT_EQ(b.witnesses[c], e["witnesses"][c].as<std::string>()) << c;
    EXPECT_EQ(b.witness_means[c], e["witness_mean"][c].as<double>()) << c;
    EXPECT_EQ(b.witness_stds[c], e["witness_std"][c].as<double>()) << c;
  }
  EXPECT_EQ(b.strain_mean, e["strain_mean"].as<double>());
  EXPECT_EQ(b.strain_std, e["strain_std"].as<double>());
  ASSERT_EQ(b.bands.size(), e["bands"].size());
  for (std::size_t i = 0; i < b.bands.size(); ++i) {
    EXPECT_EQ(b.bands[i].low_hz, e["bands"][i][0].as<double>());
    EXPECT_EQ(b.bands[i].high_hz, e["bands"][i][1].as<double>());
  }
  EXPECT_EQ(b.filter_order, e["filter_order"].as<int>());
  EXPECT_EQ(b.training_kernel_seconds, e["training_kernel_seconds"].as<double>());
  // Same model bytes as the training output, so the TorchScript is untouched by the import.
  EXPECT_EQ(testing::read_text(bundle / "model.pt"), testing::read_text(fx / "ml4gw_c21/model.pt"));
}

TEST(Runner, ImportIsDeterministic) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const std::string a = bundle::read_bundle_info(import_fixture(fx, "c3")).id;
  const std::string b = bundle::read_bundle_info(import_fixture(fx, "c3")).id;
  EXPECT_EQ(a, b);
}

TEST(Runner, ImportErrorsNameTheFile) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const fs::path train = testing::scratch_dir("train");
  fs::copy(fx / "ml4gw_c3", train, fs::copy_options::overwrite_existing | fs::copy_options::recursive);
  Ml4gwImportOptions o;
  o.sample_rate = 4096;
  const fs::path out = testing::scratch_dir("out") / "bundle";
  // X scaler from the 21-witness run: 21 means for 3 witnesses.
  fs::copy_file(fx / "ml4gw_c21/X_scaler.pt", train / "X_scaler.pt", fs::copy_options::overwrite_existing);
  try {
    import_ml4gw(train, out, o);
    FAIL() << "expected an error";
  } catch (const BundleError& e) {
    EXPECT_NE(std::string(e.what()).find((train / "X_scaler.pt").string() + ": tensor 'mean' has 21 values, expected 3"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(out));
  fs::remove(train / "y_scaler.pt");
  try {
    import_ml4gw(train, out, o);
    FAIL() << "expected an error";
  } catch (const BundleError& e) {
    EXPECT_NE(std::string(e.what()).find((train / "y_scaler.pt").string() + ": missing"), std::string::npos) << e.what();
  }
}

// Predictions of `batch` random kernels in one call vs. one call per kernel, plus a partial batch.
Diff batch_vs_single(const fs::path& bundle, bool kernel_by_kernel, Diff* partial_diff) {
  const std::size_t k = 4096;
  const std::size_t batch = 8;
  RunnerOptions o;
  o.device = testing::test_device();
  o.kernel_length = k;
  o.max_batch = batch;
  o.cpu_kernel_by_kernel = kernel_by_kernel;  // ignored on CUDA, which always runs (max_batch, C, K)
  LoadedModel m = load_model(bundle, o);
  const std::size_t c = m.predictor->channels();
  std::mt19937 rng(99);
  std::normal_distribution<float> normal(0.0F, 1.0F);
  std::vector<float> kernels(batch * c * k);
  for (float& v : kernels) v = normal(rng);

  std::vector<float> batched(batch * k);
  m.predictor->predict(kernels.data(), batch, k, batched.data());
  std::vector<float> single(batch * k);
  for (std::size_t j = 0; j < batch; ++j) {
    m.predictor->predict(kernels.data() + j * c * k, 1, k, single.data() + j * k);
  }
  // A batch of 3 starting at kernel 5: a kernel's neighbours must not matter either.
  std::vector<float> partial(3 * k);
  m.predictor->predict(kernels.data() + 5 * c * k, 3, k, partial.data());
  *partial_diff = compare(partial, std::vector<float>(single.begin() + 5 * static_cast<std::ptrdiff_t>(k), single.end()));
  const Diff d = compare(batched, single);
  EXPECT_GT(d.max_ref, 1e-3);
  return d;
}

TEST(Runner, BatchingDoesNotChangePredictionsKernelByKernel) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  Diff partial;
  const Diff d = batch_vs_single(fx / "bundle_c21", true, &partial);
  std::cout << "[ batch invariance, kernel-by-kernel (default), C=21 K=4096 B=8, " << testing::test_device()
            << " ] max abs diff " << d.max_abs << ", partial batch " << partial.max_abs << "\n";
  if (testing::testing_on_cuda()) {
    // CUDA pads every call to one shape; rows may still land in other cuDNN tiles.
    EXPECT_LE(d.relative(), 1e-6);
    EXPECT_LE(partial.relative(), 1e-6);
  } else {
    // One forward pass per kernel: bitwise identical, whatever the batch.
    EXPECT_EQ(d.max_abs, 0.0);
    EXPECT_EQ(partial.max_abs, 0.0);
  }
}

TEST(Runner, BatchingDoesNotChangePredictionsBatchedForward) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  Diff partial;
  const Diff d = batch_vs_single(fx / "bundle_c21", false, &partial);
  std::cout << "[ batch invariance, batched forward, C=21 K=4096 B=8, " << testing::test_device() << " ] max abs diff "
            << d.max_abs << ", relative "
            << d.relative() << "; partial batch relative " << partial.relative() << "\n";
  ::testing::Test::RecordProperty("batched_forward_max_relative_diff", std::to_string(d.relative()));
  EXPECT_LE(d.relative(), 1e-6);
  EXPECT_LE(partial.relative(), 1e-6);
}

TEST(Runner, RejectsOversizedBatchAndBadKernelLength) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  RunnerOptions o;
  o.device = testing::test_device();
  o.kernel_length = 256;
  o.max_batch = 2;
  o.warmup_calls = 1;
  auto p = make_runner(fx / "bundle_c3", o);
  EXPECT_EQ(p->max_batch(), 2U);
  EXPECT_EQ(p->channels(), 3U);
  std::vector<float> in(3 * 3 * 256, 0.5F), out(3 * 256);
  EXPECT_THROW(p->predict(in.data(), 3, 256, out.data()), BundleError);
  EXPECT_THROW(p->predict(in.data(), 1, 250, out.data()), BundleError);
  if (testing::testing_on_cuda()) {
    // The CUDA runner's static buffers (and a captured graph) exist for the loaded K only.
    EXPECT_THROW(p->predict(in.data(), 1, 512, out.data()), BundleError);
  } else {
    // Any other multiple of 16 works: the network is fully convolutional.
    EXPECT_NO_THROW(p->predict(in.data(), 1, 512, out.data()));
  }
}

TEST(Runner, DeviceParsing) {
  EXPECT_FALSE(parse_device("cpu").cuda);
  EXPECT_EQ(parse_device("cuda").index, 0);
  EXPECT_TRUE(parse_device("cuda:3").cuda);
  EXPECT_EQ(parse_device("cuda:3").index, 3);
  EXPECT_EQ(parse_device("cuda:3").str(), "cuda:3");
  EXPECT_THROW(parse_device("gpu"), BundleError);
  EXPECT_THROW(parse_device("cuda:"), BundleError);
  EXPECT_THROW(parse_device("cuda:x"), BundleError);
}

// A CPU-only build refuses cuda; a CUDA build on a machine without a GPU (or driver) says so.
TEST(Runner, CudaUnavailableIsAClearError) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  RunnerOptions o;
  o.device = "cuda:0";
  o.kernel_length = 256;
  o.max_batch = 2;
  o.warmup_calls = 1;
  const std::string want = cuda_support_built() ? "device 'cuda:0': CUDA is not available"
                                                : "device 'cuda:0': this deepclean was built without CUDA";
  try {
    (void)load_model(fx / "bundle_c3", o);
  } catch (const BundleError& e) {
    EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    return;
  }
  if (!cuda_support_built()) FAIL() << "a CPU-only build must refuse cuda";
  GTEST_SKIP() << "CUDA build with a GPU: covered by the CUDA runner tests";
}

TEST(TorchSettings, ThreadCountsAreFixedOncePerProcess) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  RunnerOptions o;
  o.kernel_length = 256;
  o.warmup_calls = 1;
  // No other test asks for a thread count, so this is the first request in the process.
  EXPECT_NO_THROW(apply_torch_settings({1, 0}));
  EXPECT_NO_THROW((void)load_model(fx / "bundle_c3", o));
  EXPECT_NO_THROW(apply_torch_settings({1, 0}));  // the same again: fine
  EXPECT_NO_THROW(apply_torch_settings({}));      // no request: fine
  EXPECT_NO_THROW((void)load_model(fx / "bundle_c3", o));
  try {
    apply_torch_settings({2, 0});
    FAIL() << "a different intra-op count after the first must be refused";
  } catch (const BundleError& e) {
    EXPECT_NE(std::string(e.what()).find("thread pools were already set"), std::string::npos) << e.what();
  }
}

// ---- CUDA only: DEEPCLEAN_TEST_DEVICE=cuda[:N] with a -DDEEPCLEAN_CUDA=ON build ----------------
// Skipped on the CPU. Random kernels through the CPU runner are the reference; the CUDA runner's
// float32 path must stay within the documented 1e-3 relative RMS of it, and fp16 / CUDA-graph
// variants within 1e-3 of the CUDA float32 path (what the runner checks at load on probe data).

#define DEEPCLEAN_REQUIRE_CUDA_DEVICE()                                                          \
  if (!testing::testing_on_cuda()) GTEST_SKIP() << "DEEPCLEAN_TEST_DEVICE is cpu";               \
  ASSERT_TRUE(cuda_support_built()) << "DEEPCLEAN_TEST_DEVICE=" << testing::test_device()        \
                                    << " but this deepclean was built without -DDEEPCLEAN_CUDA=ON"

struct CudaCase {
  std::size_t c = 0, k = 4096, batch = 16;
  std::vector<float> kernels;  // (batch, c, k)
  std::vector<float> cpu;      // (batch, k), the CPU runner's predictions
};

const CudaCase& cuda_case(const fs::path& bundle) {
  static const CudaCase cc = [&] {
    CudaCase r;
    RunnerOptions o;  // cpu, one forward per kernel
    o.kernel_length = r.k;
    o.max_batch = r.batch;
    o.warmup_calls = 1;
    LoadedModel m = load_model(bundle, o);
    r.c = m.predictor->channels();
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0F, 1.0F);
    r.kernels.resize(r.batch * r.c * r.k);
    for (float& v : r.kernels) v = normal(rng);
    r.cpu.resize(r.batch * r.k);
    m.predictor->predict(r.kernels.data(), r.batch, r.k, r.cpu.data());
    return r;
  }();
  return cc;
}

LoadedModel load_cuda(const fs::path& bundle, const CudaCase& cc, bool fp16, bool graph) {
  RunnerOptions o;
  o.device = testing::test_device();
  o.kernel_length = cc.k;
  o.max_batch = cc.batch;
  o.cuda_fp16 = fp16;
  o.cuda_graph = graph;
  return load_model(bundle, o);
}

std::vector<float> predict_all(LoadedModel& m, const CudaCase& cc, std::size_t batch) {
  std::vector<float> out(batch * cc.k);
  m.predictor->predict(cc.kernels.data(), batch, cc.k, out.data());
  return out;
}

TEST(CudaRunner, Float32MatchesCpuRunner) {
  DEEPCLEAN_REQUIRE_CUDA_DEVICE();
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const fs::path bundle = fx / "bundle_c21";
  const CudaCase& cc = cuda_case(bundle);
  LoadedModel m = load_cuda(bundle, cc, false, false);
  EXPECT_EQ(m.report.device, testing::test_device().find(':') == std::string::npos ? "cuda:0" : testing::test_device());
  EXPECT_FALSE(m.report.fp16);
  EXPECT_FALSE(m.report.cuda_graph);
  const std::vector<float> out = predict_all(m, cc, cc.batch);
  const double rms = testing::relative_rms(out, cc.cpu);
  const Diff d = compare(out, cc.cpu);
  // Deterministic cuDNN: the same input gives the same bits.
  const std::vector<float> again = predict_all(m, cc, cc.batch);
  // A partial batch (padded to max_batch inside the runner) gives the same rows.
  const std::vector<float> part = predict_all(m, cc, 3);
  const Diff dp = compare(part, std::vector<float>(out.begin(), out.begin() + 3 * static_cast<std::ptrdiff_t>(cc.k)));
  std::cout << "[ cuda float32 vs cpu, C=" << cc.c << " K=" << cc.k << " B=" << cc.batch << " ] relative RMS " << rms
            << ", max abs diff " << d.max_abs << " (max |y| " << d.max_ref << "); repeat max abs diff "
            << compare(again, out).max_abs << "; partial batch max abs diff " << dp.max_abs << "\n";
  ::testing::Test::RecordProperty("cuda_float32_relative_rms_vs_cpu", std::to_string(rms));
  EXPECT_GT(d.max_ref, 1e-3);
  EXPECT_LE(rms, testing::kCudaRelativeRms);
  EXPECT_EQ(compare(again, out).max_abs, 0.0);
  EXPECT_LE(dp.relative(), 1e-6);
}

// fp16 and/or graph capture: whatever the runner kept must be within 1e-3 relative RMS of the CUDA
// float32 path, and what it dropped must say why in the report.
void check_cuda_variant(bool fp16, bool graph) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const fs::path bundle = fx / "bundle_c21";
  const CudaCase& cc = cuda_case(bundle);
  std::vector<float> f32;
  {
    LoadedModel m = load_cuda(bundle, cc, false, false);
    f32 = predict_all(m, cc, cc.batch);
  }
  LoadedModel m = load_cuda(bundle, cc, fp16, graph);
  const std::vector<float> out = predict_all(m, cc, cc.batch);
  const std::vector<float> part = predict_all(m, cc, 5);
  const double rms = testing::relative_rms(out, f32);
  const double rms_cpu = testing::relative_rms(out, cc.cpu);
  const double rms_part =
      testing::relative_rms(part, std::vector<float>(out.begin(), out.begin() + 5 * static_cast<std::ptrdiff_t>(cc.k)));
  std::cout << "[ cuda fp16=" << fp16 << " graph=" << graph << " ] kept fp16=" << m.report.fp16
            << " graph=" << m.report.cuda_graph << "; relative RMS vs cuda float32 " << rms << ", vs cpu " << rms_cpu
            << ", partial batch vs full " << rms_part << "; notes: " << m.report.notes << "\n";
  ::testing::Test::RecordProperty("relative_rms_vs_cuda_float32", std::to_string(rms));
  ::testing::Test::RecordProperty("kept_fp16", m.report.fp16 ? "1" : "0");
  ::testing::Test::RecordProperty("kept_graph", m.report.cuda_graph ? "1" : "0");
  EXPECT_TRUE(fp16 || !m.report.fp16);
  EXPECT_TRUE(graph || !m.report.cuda_graph);
  if (fp16) {
    EXPECT_NE(m.report.notes.find("fp16 relative RMS"), std::string::npos) << m.report.notes;
  }
  if (graph) {
    EXPECT_NE(m.report.notes.find("CUDA graph relative RMS"), std::string::npos) << m.report.notes;
  }
  EXPECT_LE(rms, testing::kCudaRelativeRms);
  EXPECT_LE(rms_cpu, 2 * testing::kCudaRelativeRms);
  EXPECT_LE(rms_part, testing::kCudaRelativeRms);
  if (!m.report.fp16) {
    EXPECT_LE(rms, 1e-6);  // plain float32, eager or replayed: the same kernels
  }
}

TEST(CudaRunner, Fp16KeptOnlyWithinTolerance) {
  DEEPCLEAN_REQUIRE_CUDA_DEVICE();
  check_cuda_variant(true, false);
}

TEST(CudaRunner, GraphKeptOnlyWithinTolerance) {
  DEEPCLEAN_REQUIRE_CUDA_DEVICE();
  check_cuda_variant(false, true);
}

TEST(CudaRunner, Fp16AndGraphTogether) {
  DEEPCLEAN_REQUIRE_CUDA_DEVICE();
  check_cuda_variant(true, true);
}

TEST(CudaRunner, MissingDeviceIsAClearError) {
  DEEPCLEAN_REQUIRE_CUDA_DEVICE();
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  RunnerOptions o;
  o.device = "cuda:99";
  o.kernel_length = 256;
  try {
    (void)load_model(fx / "bundle_c3", o);
    FAIL() << "cuda:99 must be refused";
  } catch (const BundleError& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA device(s) present"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace deepclean::model

namespace deepclean::model {
namespace {

namespace fs = std::filesystem;

// Lightning writes a data module given by class_path with its arguments under init_args; a single
// band may be a plain number. Both must import like the flat form.
TEST(Ml4gwImport, ConfigVariants) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const fs::path train = testing::scratch_dir("train");
  fs::copy(fx / "ml4gw_c3", train, fs::copy_options::overwrite_existing | fs::copy_options::recursive);
  YAML::Node cfg = YAML::LoadFile((train / "config.yaml").string());
  YAML::Node args = YAML::Clone(cfg["data"]);
  args["freq_low"] = 55.0;
  args["freq_high"] = 65.0;
  args.remove("kernel_length");
  YAML::Node data;
  data["class_path"] = "train.data.DeepCleanDataset";
  data["init_args"] = args;
  cfg["data"] = data;
  {
    YAML::Emitter e;
    e << cfg;
    testing::write_text(train / "config.yaml", e.c_str());
  }
  Ml4gwImportOptions o;
  o.sample_rate = 4096;
  const fs::path out = testing::scratch_dir("out") / "bundle";
  // Without data.kernel_length the training kernel must come from the command line.
  try {
    import_ml4gw(train, out, o);
    FAIL() << "expected an error";
  } catch (const BundleError& e) {
    EXPECT_NE(std::string(e.what()).find("--training-kernel-seconds"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find((train / "config.yaml").string()), std::string::npos) << e.what();
  }
  o.training_kernel_seconds = 4.0;
  const BundleInfo b = import_ml4gw(train, out, o);
  const YAML::Node e = YAML::LoadFile((fx / "expected_c3.yaml").string());
  ASSERT_EQ(b.bands.size(), 1U);
  EXPECT_EQ(b.bands[0].low_hz, 55.0);
  EXPECT_EQ(b.bands[0].high_hz, 65.0);
  EXPECT_EQ(b.training_kernel_seconds, 4.0);
  ASSERT_EQ(b.channels(), 3U);
  EXPECT_EQ(b.witnesses[2], e["witnesses"][2].as<std::string>());
}

TEST(Ml4gwImport, ConfigSyntaxErrorHasLineAndColumn) {
  DEEPCLEAN_REQUIRE_FIXTURES(fx);
  const fs::path train = testing::scratch_dir("train");
  fs::copy(fx / "ml4gw_c3", train, fs::copy_options::overwrite_existing | fs::copy_options::recursive);
  testing::write_text(train / "config.yaml", "data:\n  channels: [H1:A, H1:B\n  filt_order: 8\n");
  Ml4gwImportOptions o;
  o.sample_rate = 4096;
  try {
    import_ml4gw(train, testing::scratch_dir("out") / "bundle", o);
    FAIL() << "expected an error";
  } catch (const BundleError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find((train / "config.yaml").string() + ":"), std::string::npos) << msg;
    EXPECT_NE(msg.find(": YAML syntax error"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace deepclean::model
