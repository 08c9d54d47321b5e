// The model slots (daemon/models/lifecycle.*) on a simulated stream with linear stand-in models whose
// cleaning quality is known: the strain holds the witness once (coupling 1), so a model predicting
// `gain` times the witness leaves |1 - gain| of the coupled noise. Checked:
//   - validation promotes a better canary and rejects a worse or harmful one, production unaffected;
//   - a promotion publishes every second exactly once, production's output exactly before the
//     switch, the new model's exactly after it, and the crossfade of the two (the half-Hann formula
//     computed here) in between, each model's output being that of the same model run alone from
//     the same second (a Pipeline: tests/pipeline holds it to the contract);
//   - rollback, automatic (the gate closing during probation) and by an operator, pin and unpin;
//   - bad versions: one that does not load, another sample rate, channels missing from the input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <map>
#include <memory>
#include <random>

#include "common/test_support.hpp"
#include "config/config.hpp"
#include "daemon/models/crossfade.hpp"
#include "daemon/models/lifecycle.hpp"

namespace deepclean::daemon::models {
namespace {

using deepclean::testing::TempDir;

constexpr std::uint64_t kGps0 = 1400000000;
constexpr int kRate = 256;  // strain, witness and model rate
const double kPi = std::acos(-1.0);

// Predicts gain * witness 0 (standardisation is the identity); `gain` may change mid-stream.
class LinearModel final : public stream::Predictor {
 public:
  explicit LinearModel(std::shared_ptr<double> gain) : gain_(std::move(gain)) {}
  std::size_t channels() const override { return 1; }
  std::size_t max_batch() const override { return 64; }
  void predict(const float* kernels, std::size_t batch, std::size_t k, float* out) override {
    const auto g = static_cast<float>(*gain_);
    for (std::size_t i = 0; i < batch * k; ++i) out[i] = g * kernels[i];
  }

 private:
  std::shared_ptr<double> gain_;
};

// Second k of the stream: a 30-Hz witness line with a slow amplitude modulation, and strain = the
// witness + white noise.
SecondInput input(int k) {
  std::mt19937 rng(static_cast<unsigned>(1000 + k));
  std::normal_distribution<double> noise(0.0, 0.3);
  SecondInput in;
  in.gps = kGps0 + static_cast<std::uint64_t>(k);
  std::vector<double> w(kRate), h(kRate);
  for (int i = 0; i < kRate; ++i) {
    const double t = k + static_cast<double>(i) / kRate;
    w[static_cast<std::size_t>(i)] = 3.0 * std::sin(2 * kPi * 30.0 * t) * (1 + 0.3 * std::sin(2 * kPi * 0.2 * t));
    h[static_cast<std::size_t>(i)] = w[static_cast<std::size_t>(i)] + noise(rng);
  }
  gwf::Channel s;
  s.name = "X1:STRAIN";
  s.sample_rate = kRate;
  s.data = gwf::Vect::make(s.name, h, kRate);
  in.strain = s;
  in.strain_values = h;
  in.witnesses = {w};
  in.witness_rates = {kRate};
  in.state_ok.assign(16, 1);
  return in;
}

config::Config cfg() {
  return config::parse_config(
      "ifo: X1\n"
      "input:\n"
      "  strain: {directory: /in, frame_type: X1_llhoft, channel: X1:STRAIN}\n"
      "output: {directory: /out, noise_channel: X1:NOISE}\n"
      "model: {bundle: /unused}\n"
      "inference: {kernel_seconds: 1, sampling_rate: 32, aggregation_seconds: 0.5}\n"
      "bandpass: {method: window, memory_seconds: 2, look_ahead_seconds: 0.25, bands: [[20, 40]], order: 4}\n"
      "subtraction: {taper_seconds: 0.5}\n"
      "gate: {min_closed_seconds: 2, recover_seconds: 2}\n",
      "lifecycle.yaml");
}

bundle::BundleInfo bundle_info(const std::string& version, int rate = kRate) {
  bundle::BundleInfo b;
  b.version = version;
  b.id = "id-" + version;
  b.sample_rate = rate;
  b.strain_channel = "X1:STRAIN";
  b.witnesses = {"X1:WITNESS"};
  b.witness_means = {0.0};
  b.witness_stds = {1.0};
  b.bands = {{20, 40}};
  b.filter_order = 4;
  return b;
}

std::unique_ptr<Pipeline> pipeline(const std::string& version, std::shared_ptr<double> gain, int rate = kRate) {
  return std::make_unique<Pipeline>(cfg(), bundle_info(version, rate), std::make_unique<LinearModel>(std::move(gain)));
}

std::shared_ptr<double> gain(double g) { return std::make_shared<double>(g); }

// The outputs of one model alone over input seconds [from, to), plus its finish().
std::map<std::uint64_t, OutputSecond> alone(std::shared_ptr<double> g, int from, int to) {
  Pipeline p(cfg(), bundle_info("alone"), std::make_unique<LinearModel>(std::move(g)));
  std::map<std::uint64_t, OutputSecond> out;
  for (int k = from; k < to; ++k) {
    for (auto& o : p.push(input(k)).outputs) out[o.gps] = std::move(o);
  }
  for (auto& o : p.finish()) out[o.gps] = std::move(o);
  return out;
}

struct Harness {
  TempDir dir{"lifecycle"};
  std::unique_ptr<Lifecycle> life;
  std::vector<OutputSecond> published;
  std::vector<Entry> entries;  // the repository's content, as a scan reports it
  int next = 0;

  explicit Harness(std::shared_ptr<double> production_gain, LifecycleSettings s = settings()) {
    Record r;
    r.bootstrap("A", "id-A", "first production", "t0");
    life = std::make_unique<Lifecycle>(s, Repository(dir.path), r, "A", pipeline("A", std::move(production_gain)),
                                       [] { return std::string("2026-12-07T00:00:00Z"); });
  }
  static LifecycleSettings settings() {
    LifecycleSettings s;
    s.validation.seconds = 6;
    s.validation.margin = 0.02;
    s.validation.max_compute_seconds = 0.5;
    s.probation_seconds = 8;
    s.crossfade_seconds = 2;
    return s;
  }
  void step() {
    const SecondInput in = input(next++);
    for (auto& o : life->push(in).outputs) published.push_back(std::move(o));
    const auto read = [&in](const InputSpec& spec) {
      SecondInput other = in;
      if (spec.witness_channels != std::vector<std::string>{"X1:WITNESS"}) {
        other.problem = InputProblem::MissingChannel;
        other.detail = "X-X1_llhoft-" + std::to_string(in.gps) + "-1.gwf: channel " + spec.witness_channels[0] +
                       " not found";
      }
      return other;
    };
    for (auto& o : life->push_shadow(in, read).outputs) published.push_back(std::move(o));
  }
  void steps(int n) {
    for (int i = 0; i < n; ++i) step();
  }
  void steps_until(const std::function<bool()>& done, int most) {
    for (int i = 0; i < most && !done(); ++i) step();
  }
  void finish() {
    for (auto& o : life->finish().outputs) published.push_back(std::move(o));
  }
  // A new version appears in the repository.
  void offer(const std::string& name, const std::string& problem = {}) {
    std::filesystem::create_directories(dir.path / name);  // where its validation report goes
    Entry e;
    e.name = name;
    e.path = dir.path / name;
    e.id = problem.empty() ? "id-" + name : "";
    e.problem = problem;
    entries.push_back(e);
    life->scanned(entries);
  }
  // Offers version `name` (gain g) to the lifecycle as the next canary, loaded now.
  void add_canary(const std::string& name, std::shared_ptr<double> g, int rate = kRate,
                  std::vector<std::string> witnesses = {"X1:WITNESS"}) {
    offer(name);
    const auto load = life->next_load();
    ASSERT_TRUE(load.has_value());
    ASSERT_EQ(load->first, name);
    bundle::BundleInfo b = bundle_info(name, rate);
    b.witnesses = witnesses;
    auto p = std::make_unique<Pipeline>(cfg(), b, std::make_unique<LinearModel>(std::move(g)));
    life->loaded(name, std::move(p), input_spec(cfg(), b), "");
  }
  State state(const std::string& name) const {
    const Version* v = life->record().find(name);
    return v ? v->state : State::Retired;
  }
  nlohmann::json ctl(const std::vector<std::string>& words) { return nlohmann::json::parse(life->command(words)); }
};

void expect_consecutive(const std::vector<OutputSecond>& out, int count) {
  ASSERT_EQ(out.size(), static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].gps, kGps0 + i) << "published out of order or twice";
}

TEST(Lifecycle, ABetterCanaryIsPromotedWithoutAGapAndCrossfadedSampleBySample) {
  Harness h(gain(0.5));  // production leaves half the coupled line
  h.steps(4);
  h.add_canary("B", gain(1.0));  // cancels it
  const int canary_from = h.next;
  h.steps_until([&] { return h.state("B") != State::Canary; }, 30);
  ASSERT_EQ(h.state("B"), State::Production) << h.life->record().find("B")->reason;
  EXPECT_EQ(h.state("A"), State::Standby);
  h.steps(6);
  const std::uint64_t start = h.life->record().find("B")->since_gps;
  h.finish();
  expect_consecutive(h.published, h.next);

  const auto a = alone(gain(0.5), 0, h.next);
  const auto b = alone(gain(1.0), canary_from, h.next);
  const auto w0 = crossfade_weights(0, kRate, kRate, 2.0);
  const auto w1 = crossfade_weights(1, kRate, kRate, 2.0);
  for (const OutputSecond& o : h.published) {
    ASSERT_TRUE(a.count(o.gps));
    if (o.gps < start) {
      EXPECT_EQ(o.cleaned, a.at(o.gps).cleaned) << o.gps;
    } else if (o.gps >= start + 2) {
      ASSERT_TRUE(b.count(o.gps));
      EXPECT_EQ(o.cleaned, b.at(o.gps).cleaned) << o.gps;
    } else {
      const auto& w = o.gps == start ? w0 : w1;
      for (std::size_t i = 0; i < o.cleaned.size(); ++i) {
        // The half-Hann rise, computed here from its formula.
        const double k = static_cast<double>((o.gps - start) * kRate + i);
        const double s = std::sin(kPi * (k + 0.5) / (2.0 * 2 * kRate));
        EXPECT_NEAR(w[i], s * s, 1e-15);
        EXPECT_DOUBLE_EQ(o.cleaned[i], (1 - s * s) * a.at(o.gps).cleaned[i] + s * s * b.at(o.gps).cleaned[i]) << o.gps;
      }
    }
    // Around the switch every slot is cleaned with a validated model (the last seconds end the segment).
    if (o.gps + 4 >= start && o.gps < start + 4) {
      for (std::uint32_t s : o.state) {
        EXPECT_NE(s & kCleaned, 0u) << o.gps;
        EXPECT_NE(s & kModelOk, 0u) << o.gps;
      }
    }
  }
  // The decision and its figures are in the validation report beside the version.
  const auto report = nlohmann::json::parse(deepclean::testing::read_file(h.dir.path / "B" / "validation.json"));
  EXPECT_EQ(report["decision"], "passed");
  EXPECT_EQ(report["production"]["version"], "A");
  EXPECT_LT(report["regions"][0]["canary"].get<double>(), report["regions"][0]["production"].get<double>());
}

TEST(Lifecycle, WorseOrHarmfulCanariesAreRejectedAndProductionIsUntouched) {
  for (const double g : {0.0, -1.0}) {  // no cleaning at all (random weights' usual result); doubling the noise
    Harness h(gain(1.0));
    h.steps(4);
    h.add_canary("B", gain(g));
    h.steps(20);
    ASSERT_EQ(h.state("B"), State::Rejected) << g;
    EXPECT_EQ(h.state("A"), State::Production);
    EXPECT_FALSE(h.life->canary_version());
    const std::string reason = h.life->record().find("B")->reason;
    EXPECT_NE(reason.find(g == 0.0 ? "worse than production" : "gate closed"), std::string::npos) << reason;
    h.finish();
    expect_consecutive(h.published, h.next);
    const auto a = alone(gain(1.0), 0, h.next);
    for (const OutputSecond& o : h.published) EXPECT_EQ(o.cleaned, a.at(o.gps).cleaned) << o.gps;
  }
}

TEST(Lifecycle, TheGateClosingDuringProbationRollsBackToTheWarmStandby) {
  Harness h(gain(0.5));
  h.steps(3);
  auto b_gain = gain(1.0);
  h.add_canary("B", b_gain);
  h.steps_until([&] { return h.state("B") != State::Canary; }, 30);
  ASSERT_EQ(h.state("B"), State::Production);
  h.steps(3);  // past the crossfade, within probation
  *b_gain = -1.0;  // B starts to harm
  for (int i = 0; i < 10 && h.state("B") == State::Production; ++i) h.step();
  ASSERT_EQ(h.state("B"), State::Rejected);
  EXPECT_EQ(h.state("A"), State::Production);
  EXPECT_NE(h.life->record().find("B")->reason.find("rolled back: its do-no-harm gate closed"), std::string::npos);
  const std::uint64_t back = h.life->record().find("A")->since_gps;
  h.steps(4);
  h.finish();
  expect_consecutive(h.published, h.next);
  // After the crossfade the standby's own warm output, exactly: it never stopped cleaning.
  const auto a = alone(gain(0.5), 0, h.next);
  for (const OutputSecond& o : h.published) {
    if (o.gps >= back + 2) {
      EXPECT_EQ(o.cleaned, a.at(o.gps).cleaned) << o.gps;
    }
  }
}

// Both models harm in the same seconds (here both gains flip; on the simulated detector, a moment
// where the coupled noise's envelope passes through zero): both gates close, going back would not
// help, and the promoted model stays. The output is the raw strain while gated (the gate's job);
// once the data are good again it is the new production's own output.
TEST(Lifecycle, AClosureTheStandbySharesRollsNothingBack) {
  auto a_gain = gain(0.5);
  Harness h(a_gain);
  h.steps(3);
  auto b_gain = gain(1.0);
  h.add_canary("B", b_gain);
  h.steps_until([&] { return h.state("B") != State::Canary; }, 30);
  ASSERT_EQ(h.state("B"), State::Production);
  h.steps(2);
  *a_gain = -1.0;
  *b_gain = -1.0;
  h.steps(3);
  EXPECT_EQ(h.state("B"), State::Production);
  EXPECT_EQ(h.state("A"), State::Standby);
  bool gated = false;
  for (const OutputSecond& o : h.published) gated = gated || (o.gate.enabled && !o.gate.open);
  EXPECT_TRUE(gated) << "the gate closed on the harm";
  *a_gain = 0.5;
  *b_gain = 1.0;
  h.steps(12);  // past the probation
  EXPECT_EQ(h.state("B"), State::Production);
  EXPECT_EQ(h.state("A"), State::Retired);
  h.finish();
  expect_consecutive(h.published, h.next);
}

// Versions published while none could be validated (a canary in its window, a stall of the input):
// the newest is the next canary, the older ones are set aside as superseded (rejected, with the reason), since
// a model goes stale as the couplings drift.
TEST(Lifecycle, TheNewestCandidateIsValidatedFirstAndTheOlderOnesAreSuperseded) {
  Harness h(gain(0.5));
  h.steps(3);
  h.offer("B");
  h.offer("C");
  h.offer("D");
  const auto load = h.life->next_load();
  ASSERT_TRUE(load.has_value());
  EXPECT_EQ(load->first, "D");
  EXPECT_EQ(h.state("D"), State::Canary);
  for (const char* old : {"B", "C"}) {
    EXPECT_EQ(h.state(old), State::Rejected) << old;
    EXPECT_NE(h.life->record().find(old)->reason.find("superseded by the newer candidate D"), std::string::npos)
        << h.life->record().find(old)->reason;
  }
}

// A canary validates during another version's probation (three models run): a retrained candidate
// does not wait for the probation to end. When it passes, the version on probation becomes its
// standby and the older standby retires.
TEST(Lifecycle, ACanaryValidatesDuringProbationAndItsPromotionRetiresTheOlderStandby) {
  Harness h(gain(0.5));
  h.steps(3);
  h.add_canary("B", gain(0.8));
  h.steps_until([&] { return h.state("B") != State::Canary; }, 30);
  ASSERT_EQ(h.state("B"), State::Production);
  h.steps(3);  // past the crossfade, within B's probation (8 s)
  ASSERT_EQ(h.state("A"), State::Standby);
  h.add_canary("C", gain(1.0));
  EXPECT_EQ(h.state("C"), State::Canary);
  h.steps_until([&] { return h.state("C") != State::Canary; }, 30);
  ASSERT_EQ(h.state("C"), State::Production);
  EXPECT_EQ(h.state("B"), State::Standby);
  EXPECT_EQ(h.state("A"), State::Retired);
  h.steps(4);
  h.finish();
  expect_consecutive(h.published, h.next);
}

TEST(Lifecycle, ProbationEndsByRetiringTheStandbyIntoTheArchive) {
  Harness h(gain(0.5));
  std::filesystem::create_directories(h.dir.path / "A");
  deepclean::testing::write_file(h.dir.path / "A" / "model.pt", "a");
  h.steps(3);
  h.add_canary("B", gain(1.0));
  h.steps_until([&] { return h.state("B") != State::Canary; }, 30);
  ASSERT_EQ(h.state("B"), State::Production);
  EXPECT_EQ(h.state("A"), State::Standby);
  h.steps(12);  // > probation (8 s) after the promotion
  EXPECT_EQ(h.state("A"), State::Retired);
  EXPECT_FALSE(h.life->standby_version());
  EXPECT_TRUE(std::filesystem::exists(h.dir.path / ".archive" / "A" / "model.pt"));
  EXPECT_EQ(h.ctl({"rollback"})["ok"], false);  // nothing to roll back to any more
}

TEST(Lifecycle, OperatorRollbackPinAndUnpin) {
  Harness h(gain(0.5));
  h.steps(3);
  h.add_canary("B", gain(1.0));
  h.steps_until([&] { return h.state("B") != State::Canary; }, 30);
  ASSERT_EQ(h.state("B"), State::Production);
  h.steps(2);
  const auto r = h.ctl({"rollback"});
  ASSERT_EQ(r["ok"], true) << r;
  EXPECT_EQ(h.state("A"), State::Production);
  EXPECT_EQ(h.state("B"), State::Rejected);
  h.steps(3);
  // Pinned: a validated canary waits; unpinning promotes it.
  EXPECT_EQ(h.ctl({"pin", "A"})["ok"], true);
  h.add_canary("C", gain(1.0));
  h.steps(20);
  EXPECT_EQ(h.state("A"), State::Production);
  EXPECT_EQ(h.state("C"), State::Canary);
  const auto st = h.ctl({"status"});
  EXPECT_EQ(st["pinned"], "A");
  EXPECT_EQ(st["canary"]["version"], "C");
  EXPECT_NE(st["canary"]["phase"].get<std::string>().find("pinned"), std::string::npos) << st;
  EXPECT_EQ(h.ctl({"unpin"})["ok"], true);
  EXPECT_EQ(h.state("C"), State::Production);
  h.steps(3);
  h.finish();
  expect_consecutive(h.published, h.next);
  // Refusals name the reason.
  EXPECT_NE(h.ctl({"promote", "C"})["error"].get<std::string>().find("already production"), std::string::npos);
  EXPECT_NE(h.ctl({"promote", "Z"})["error"].get<std::string>().find("no version Z"), std::string::npos);
  EXPECT_EQ(h.ctl({"promote"})["ok"], false);
}

TEST(Lifecycle, AnOperatorPromotesTheCanaryBeforeValidationEnds) {
  Harness h(gain(0.5));
  h.steps(3);
  h.add_canary("B", gain(1.0));
  h.steps(4);
  const auto r = h.ctl({"promote", "B"});
  ASSERT_EQ(r["ok"], true) << r;
  EXPECT_EQ(h.state("B"), State::Production);
  EXPECT_NE(h.life->record().find("B")->reason.find("by an operator"), std::string::npos);
  h.steps(5);
  h.finish();
  expect_consecutive(h.published, h.next);
}

TEST(Lifecycle, BadVersionsAreRejectedWithTheReason) {
  Harness h(gain(1.0));
  h.steps(3);
  // Does not load.
  h.offer("broken");
  ASSERT_EQ(h.life->next_load()->first, "broken");
  h.life->loaded("broken", nullptr, InputSpec{}, "model.pt: not a TorchScript archive");
  EXPECT_EQ(h.state("broken"), State::Rejected);
  EXPECT_EQ(h.life->record().find("broken")->reason, "does not load: model.pt: not a TorchScript archive");
  // Another sample rate.
  h.add_canary("fast", gain(1.0), 512);
  EXPECT_EQ(h.state("fast"), State::Rejected);
  EXPECT_NE(h.life->record().find("fast")->reason.find("sample rate 512 Hz differs"), std::string::npos);
  // A witness the input does not have.
  h.add_canary("other", gain(1.0), kRate, {"X1:OTHER"});
  h.step();
  EXPECT_EQ(h.state("other"), State::Rejected);
  EXPECT_NE(h.life->record().find("other")->reason.find("channels do not match the input"), std::string::npos);
  // Half-copied: not a complete bundle.
  h.offer("half", "model.pt is missing");
  EXPECT_EQ(h.state("half"), State::Rejected);
  EXPECT_FALSE(h.life->next_load());
  h.steps(3);
  h.finish();
  expect_consecutive(h.published, h.next);
  const auto a = alone(gain(1.0), 0, h.next);
  for (const OutputSecond& o : h.published) EXPECT_EQ(o.cleaned, a.at(o.gps).cleaned) << o.gps;
  // The record on disk says the same.
  const Record saved = Repository(h.dir.path).read_record();
  EXPECT_EQ(saved.to_json(), h.life->record().to_json());
}

}  // namespace
}  // namespace deepclean::daemon::models
