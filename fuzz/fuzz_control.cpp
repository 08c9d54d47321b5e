// libFuzzer entry for the control socket's protocol (issue 18): each line of the input is one
// request as the socket reads it (daemon/control: split into words, at most kMaxRequest bytes),
// answered by a model lifecycle whose repository holds a production, a candidate and a rejected
// version. Whatever the requests, every reply is one JSON object with "ok", the lifecycle keeps
// exactly one production, and nothing crashes, hangs or leaks.
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/control/control.hpp"
#include "daemon/models/lifecycle.hpp"
#include "daemon/pipeline/pipeline.hpp"

namespace {

namespace fs = std::filesystem;
using namespace deepclean;
using namespace deepclean::daemon;

class Zero final : public stream::Predictor {
 public:
  std::size_t channels() const override { return 1; }
  std::size_t max_batch() const override { return 8; }
  void predict(const float*, std::size_t batch, std::size_t k, float* out) override {
    for (std::size_t i = 0; i < batch * k; ++i) out[i] = 0.0f;
  }
};

const config::Config& cfg() {
  static const config::Config c = config::parse_config(
      "ifo: X1\n"
      "input:\n"
      "  strain: {directory: /in, frame_type: X1_llhoft, channel: X1:STRAIN}\n"
      "output: {directory: /out}\n"
      "model: {bundle: /unused}\n"
      "inference: {kernel_seconds: 1, sampling_rate: 8, aggregation_seconds: 0.5}\n"
      "bandpass: {method: none}\n"  // (cheap to build: commands, not cleaning, are under test)
      "subtraction: {taper_seconds: 0.5}\n"
      "gate: {enabled: false}\n",
      "control.yaml");
  return c;
}

std::unique_ptr<Pipeline> pipeline(const std::string& version) {
  bundle::BundleInfo b;
  b.version = version;
  b.id = "id-" + version;
  b.sample_rate = 128;
  b.training_kernel_seconds = 1;
  b.strain_channel = "X1:STRAIN";
  b.witnesses = {"X1:WITNESS"};
  b.witness_means = {0.0};
  b.witness_stds = {1.0};
  b.bands = {{20, 40}};
  b.filter_order = 4;
  return std::make_unique<Pipeline>(cfg(), b, std::make_unique<Zero>());
}

const fs::path& repository() {
  static const fs::path dir = [] {
    // On a tmpfs when there is one: the record is written (and fsync'ed) after each command.
    const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    const fs::path d = base / ("deepclean-fuzz-control-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  static const struct Cleanup {
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup;
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  models::Record record;
  record.bootstrap("A", "id-A", "first production", "t0");
  std::error_code ec;
  fs::remove(repository() / ".record.json", ec);
  models::LifecycleSettings s;
  s.validation.seconds = 4;
  models::Lifecycle life(s, models::Repository(repository()), record, "A", pipeline("A"),
                         [] { return std::string("2026-12-07T00:00:00Z"); });
  // B a candidate waiting, C rejected by a validation, as a scan and a decision would leave them.
  std::vector<models::Entry> entries(3);
  entries[0].name = "A", entries[0].id = "id-A";
  entries[1].name = "B", entries[1].id = "id-B";
  entries[2].name = "C", entries[2].problem = "model.pt: missing";
  for (auto& e : entries) e.settled = true;
  life.scanned(entries);
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.size() > kMaxControlRequest) continue;  // the server closes such a connection unanswered
    std::vector<std::string> words;
    try {
      words = control_words(line);
    } catch (const std::invalid_argument&) {
      continue;  // not UTF-8: the server answers that error itself
    }
    if (words.empty()) continue;  // answered "empty request" by the server itself
    const nlohmann::json reply = nlohmann::json::parse(life.command(words));  // throws (a finding) if not JSON
    if (!reply.is_object() || !reply.contains("ok")) __builtin_trap();
    if (life.production_version().empty()) __builtin_trap();
  }
  return 0;
}
