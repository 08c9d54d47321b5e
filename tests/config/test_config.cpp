// Configuration parsing: defaults, and one clear file:line:column error per kind of mistake.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/config.hpp"

namespace dc = deepclean::config;

namespace {

const char* kMinimal = R"(ifo: H1
input:
  strain:
    directory: /dev/shm/kafka/H1
    frame_type: H1_llhoft
    channel: H1:GDS-CALIB_STRAIN
output:
  directory: /tmp/out
model:
  bundle: /models/h1
)";

// Returns the error text of parsing `text`, or "" when it parses.
std::string error_of(const std::string& text) {
  try {
    dc::parse_config(text, "cfg.yaml");
  } catch (const dc::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Config, MinimalFileGetsDocumentedDefaults) {
  const dc::Config c = dc::parse_config(kMinimal, "/etc/deepclean/H1.yaml");
  EXPECT_EQ(c.ifo, "H1");
  EXPECT_EQ(c.input.strain.directory, "/dev/shm/kafka/H1");
  EXPECT_EQ(c.input.strain.observatory, "H");
  EXPECT_EQ(c.input.witness.frame_type, "H1_llhoft");  // witnesses default to the strain frames
  EXPECT_EQ(c.output.channel, "H1:GDS-CALIB_STRAIN_DEEPCLEAN");
  EXPECT_EQ(c.output.frame_type, "H1_llhoft_DEEPCLEAN");
  EXPECT_EQ(c.output.state_vector_channel, "H1:DEEPCLEAN-STATE_VECTOR");
  EXPECT_TRUE(c.output.noise_channel.empty());
  EXPECT_EQ(c.bandpass.method, dc::BandpassMethod::Window);
  EXPECT_DOUBLE_EQ(c.bandpass.look_ahead_seconds, 0.5);
  EXPECT_DOUBLE_EQ(c.bandpass.memory_seconds, 10.0);
  EXPECT_EQ(c.input.start, dc::StartFrom::Resume);
  EXPECT_FALSE(c.input.state.has_value());
  EXPECT_EQ(c.model.witness_buffer, "auto");
}

TEST(Config, RelativePathsAreRelativeToTheConfigFile) {
  std::string text = kMinimal;
  text.replace(text.find("/models/h1"), 10, "models/h1");
  const dc::Config c = dc::parse_config(text, "/etc/deepclean/H1.yaml");
  EXPECT_EQ(c.model.bundle, "/etc/deepclean/models/h1");
}

TEST(Config, UnknownKeyNamesLineColumnAndSuggestsTheKnownOne) {
  std::string text = kMinimal;
  text += "bandpass:\n  look_ahed_seconds: 0.3\n";
  // "look_ahed_seconds" is on line 12, column 3.
  const std::string e = error_of(text);
  EXPECT_NE(e.find("cfg.yaml:12:3"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key `bandpass.look_ahed_seconds`"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean `look_ahead_seconds`?"), std::string::npos) << e;
}

TEST(Config, UnknownTopLevelSection) {
  const std::string e = error_of(std::string(kMinimal) + "metric:\n  path: /x\n");
  EXPECT_NE(e.find("cfg.yaml:11:1"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean `metrics`?"), std::string::npos) << e;
}

TEST(Config, WrongTypeIsReportedWhereTheValueIs) {
  const std::string e = error_of(std::string(kMinimal) + "inference:\n  sampling_rate: fast\n");
  EXPECT_NE(e.find("cfg.yaml:12:18"), std::string::npos) << e;
  EXPECT_NE(e.find("`inference.sampling_rate` must be a finite number, got `fast`"),
            std::string::npos)
      << e;
}

TEST(Config, OutOfRangeValues) {
  EXPECT_NE(error_of(std::string(kMinimal) + "inference:\n  aggregation_seconds: 2\n")
                .find("N·s ≤ K"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "bandpass:\n  bands: [[65, 55]]\n")
                .find("cfg.yaml:12:11: a band needs 0 < low < high"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "bandpass:\n  order: 17\n").find("1 … 16"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "bandpass:\n  method: firr\n")
                .find("cfg.yaml:12:11: `bandpass.method` must be none, causal, window or fir, got `firr`"),
            std::string::npos);
  EXPECT_EQ(error_of(std::string(kMinimal) + "bandpass:\n  method: fir\n  look_ahead_seconds: 0.25\n"), "");
  EXPECT_NE(error_of(std::string(kMinimal) + "bandpass:\n  method: fir\n  look_ahead_seconds: 0\n")
                .find("cfg.yaml:13:23: `bandpass.look_ahead_seconds` must be > 0 with `method: fir`"),
            std::string::npos)
      << error_of(std::string(kMinimal) + "bandpass:\n  method: fir\n  look_ahead_seconds: 0\n");
  EXPECT_NE(error_of(std::string(kMinimal) + "bandpass:\n  method: fir\n  kaiser_beta: -1\n")
                .find("cfg.yaml:13:16: `bandpass.kaiser_beta` must be in [0, 50]"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "  witness_buffer: gpu\n")
                .find("cfg.yaml:11:19: `model.witness_buffer` must be auto, host or device, got `gpu`"),
            std::string::npos)
      << error_of(std::string(kMinimal) + "  witness_buffer: gpu\n");
  EXPECT_EQ(error_of(std::string(kMinimal) + "  witness_buffer: device\n"), "");
  std::string dev = kMinimal;
  dev += "  device: gpu\n";
  EXPECT_NE(error_of(dev).find("cfg.yaml:11:11: `model.device` must be cpu, cuda or cuda:N"),
            std::string::npos)
      << error_of(dev);
}

// Checks that need the model bundle (check-config, the pipeline) point at the key's line.
TEST(Config, RecordsWhereEachKeyIs) {
  const dc::Config c = dc::parse_config(std::string(kMinimal) + "bandpass:\n  method: fir\n  bands: [[55, 65]]\n", "cfg.yaml");
  EXPECT_EQ(c.bandpass.method, dc::BandpassMethod::Fir);
  EXPECT_EQ(c.where("bandpass.bands"), "cfg.yaml:13:10");
  EXPECT_EQ(c.where("bandpass.method"), "cfg.yaml:12:11");
  EXPECT_EQ(c.where("input.strain.channel"), "cfg.yaml:6:14");
  EXPECT_EQ(c.where("bandpass.look_ahead_seconds"), "cfg.yaml");  // not in the file: the file
}

TEST(Config, MissingRequiredKeyNamesTheSection) {
  std::string text = kMinimal;
  text.erase(text.find("    channel: H1:GDS-CALIB_STRAIN\n"), 33);
  const std::string e = error_of(text);
  EXPECT_NE(e.find("missing required key `input.strain.channel`"), std::string::npos) << e;
  EXPECT_NE(e.find("cfg.yaml:4:5"), std::string::npos) << e;  // where `input.strain` starts
  EXPECT_NE(error_of("ifo: H1\n").find("missing required section `input`"), std::string::npos);
}

TEST(Config, SyntaxErrorHasAPosition) {
  const std::string e = error_of("ifo: H1\ninput: [unclosed\n");
  EXPECT_NE(e.find("cfg.yaml:3:1: not valid YAML"), std::string::npos) << e;
}

TEST(Config, StateVectorMaskAndStartGps) {
  std::string text = kMinimal;
  text.insert(text.find("output:"),
              "  state_vector:\n    channel: H1:GDS-CALIB_STATE_VECTOR\n    mask: 0x3\n"
              "  start: 1400000000\n");
  const dc::Config c = dc::parse_config(text, "cfg.yaml");
  ASSERT_TRUE(c.input.state.has_value());
  EXPECT_EQ(c.input.state->mask, 3u);
  EXPECT_EQ(c.input.start, dc::StartFrom::Gps);
  EXPECT_EQ(c.input.start_gps, 1400000000u);
}

TEST(Config, ShippedExamplesParse) {
  const std::filesystem::path dir = std::filesystem::path(DEEPCLEAN_SOURCE_DIR) / "config" / "examples";
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().string());
    const dc::Config c = dc::load_config(entry.path().string());
    EXPECT_FALSE(c.input.strain_channel.empty());
    ++n;
  }
  EXPECT_GE(n, 2);  // H1 and L1
}

TEST(Config, UnreadableFile) {
  try {
    dc::load_config("/nonexistent/deepclean.yaml");
    FAIL() << "no error";
  } catch (const dc::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "/nonexistent/deepclean.yaml: cannot open the configuration file: No such file or directory (hint: "
              "example configurations are in /usr/share/doc/deepclean/examples/ (Debian package) or "
              "config/examples/ (source tree); every key: docs/configuration.md)");
  }
}

TEST(Config, DeviceAndInterferometerForms) {
  auto with_device = [](const std::string& dev) {
    return error_of(std::string(kMinimal) + "  device: \"" + dev + "\"\n");
  };
  EXPECT_EQ(with_device("cuda:1"), "");
  EXPECT_EQ(with_device("cuda"), "");
  EXPECT_NE(with_device("cuda:"), "");
  EXPECT_NE(with_device("cuda:x"), "");
  std::string lower = kMinimal;
  lower.replace(0, 7, "ifo: h1");
  EXPECT_NE(error_of(lower).find("`ifo` must be an interferometer prefix"), std::string::npos);
}

TEST(Config, GateDefaultsAndErrors) {
  const dc::Config c = dc::parse_config(kMinimal, "cfg.yaml");
  EXPECT_TRUE(c.gate.enabled);
  EXPECT_EQ(c.gate.window_seconds, 4.0);
  EXPECT_EQ(c.gate.guard_hz, 10.0);
  EXPECT_EQ(c.gate.close_above, 1.0);
  EXPECT_EQ(c.gate.open_below, 0.9);
  const dc::Config off = dc::parse_config(std::string(kMinimal) + "gate: {enabled: false}\n", "cfg.yaml");
  EXPECT_FALSE(off.gate.enabled);
  const auto err = [](const std::string& gate) { return error_of(std::string(kMinimal) + "gate:\n" + gate); };
  // Line 11 is `gate:`; its keys start on line 12, column 3; values at column 3 + key length + 2.
  EXPECT_NE(err("  window_seconds: 0.5\n").find("cfg.yaml:12:19: `gate.window_seconds` must be in [1, 600]"),
            std::string::npos)
      << err("  window_seconds: 0.5\n");
  EXPECT_NE(err("  close_above: 0\n").find("cfg.yaml:12:16: `gate.close_above` must be in (0, 1e+06]"),
            std::string::npos)
      << err("  close_above: 0\n");
  EXPECT_NE(err("  close_above: 1.0\n  open_below: 1.2\n")
                .find("cfg.yaml:13:15: `gate.open_below` must be below `gate.close_above` (hysteresis)"),
            std::string::npos)
      << err("  close_above: 1.0\n  open_below: 1.2\n");
  EXPECT_NE(err("  guard_open_below: 1.2\n")
                .find("cfg.yaml:12:21: `gate.guard_open_below` must be below `gate.guard_close_above` (hysteresis)"),
            std::string::npos)
      << err("  guard_open_below: 1.2\n");
  EXPECT_NE(err("  segment_seconds: 8\n").find("cfg.yaml:12:20: `gate.segment_seconds` must be in (0, 4]"),
            std::string::npos)
      << err("  segment_seconds: 8\n");
  EXPECT_NE(err("  guard_window_seconds: 1\n  guard_segment_seconds: 2\n")
                .find("cfg.yaml:13:26: `gate.guard_segment_seconds` must not exceed `gate.guard_window_seconds`"),
            std::string::npos)
      << err("  guard_window_seconds: 1\n  guard_segment_seconds: 2\n");
  EXPECT_NE(err("  ramp_up_seconds: 0\n").find("cfg.yaml:12:20: `gate.ramp_up_seconds` must be in (0, 60]"),
            std::string::npos)
      << err("  ramp_up_seconds: 0\n");
  EXPECT_EQ(c.gate.guard_onset_close_above, 2.5);
  EXPECT_NE(err("  recover_seconds: 0.5\n")
                .find("cfg.yaml:12:20: `gate.recover_seconds` must be at least `gate.segment_seconds` and "
                      "`gate.guard_segment_seconds`"),
            std::string::npos)
      << err("  recover_seconds: 0.5\n");
  EXPECT_EQ(error_of(std::string(kMinimal) + "gate: {recover_seconds: 0.5, guard_hz: 0}\n"), "")
      << "without guard bands a 0.25-s segment fits";
  EXPECT_NE(err("  guard_onset_close_above: -1\n").find("cfg.yaml:12:28: `gate.guard_onset_close_above` must be in (0"),
            std::string::npos)
      << err("  guard_onset_close_above: -1\n");
  EXPECT_NE(err("  enabled: maybe\n").find("cfg.yaml:12:12: `gate.enabled` must be true or false"), std::string::npos)
      << err("  enabled: maybe\n");
  EXPECT_NE(err("  threshold: 1\n").find("cfg.yaml:12:3:"), std::string::npos) << "unknown key: " << err("  threshold: 1\n");
}

// The fuzzer's finding (fuzz_bundle_yaml, the same in the configuration): text that is not UTF-8
// would reach JSON replies and metric labels, which cannot carry it. Refused with its position.
TEST(ConfigErrors, TextThatIsNotUtf8IsRefusedWithItsPosition) {
  const std::string e = error_of("ifo: H1\n# caf\xe9\n");
  EXPECT_EQ(e, "cfg.yaml:2:6: not UTF-8 text (byte 233); save the file as UTF-8 text") << e;
  const std::string c = error_of("ifo: H1\n# bell \x07\n");
  EXPECT_EQ(c, "cfg.yaml:2:8: a control character (byte 7); save the file as UTF-8 text") << c;
  // After YAML's escapes too (yaml-cpp decodes "\\_", a no-break space, to one byte 0xA0)
  std::string text = kMinimal;
  text.replace(text.find("  directory: /tmp/out\n"), 21, "  directory: /tmp/out\n  channel: \"H1:\\_\"\n");
  const std::string v = error_of(text);
  EXPECT_NE(v.find("`output.channel` is not UTF-8 text"), std::string::npos) << v << "\n" << text;
}

// The fuzzer's finding (fuzz_config): a complex key (`? ...`) escaped as yaml-cpp's exception.
TEST(ConfigErrors, AKeyThatIsNotAPlainNameIsAConfigError) {
  const std::string e = error_of(std::string(kMinimal) + "logging:\n  ? {level: info}\n  : x\n");
  EXPECT_NE(e.find("cfg.yaml:"), std::string::npos) << e;
  EXPECT_NE(e.find("a key of logging must be a plain name, not a mapping"), std::string::npos) << e;
}

