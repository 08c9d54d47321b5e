// `deepclean ctl`: talks to a running `deepclean run` through its control socket (control.socket;
// docs/operations.md, "Model lifecycle"). Torch-free: it loads no model.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/commands/commands.hpp"
#include "daemon/control/control.hpp"

namespace deepclean::cli {
namespace {

struct CtlArgs {
  std::string config, socket;
  bool json = false;
};

std::string text(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return "-";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

void print_status(const nlohmann::json& j) {
  const auto& p = j["production"];
  std::cout << "production  " << text(p, "version") << " (id " << text(p, "id").substr(0, 12) << ")"
            << (j.value("pinned", nlohmann::json()).is_null() ? "" : "  [pinned]") << "\n";
  if (p.contains("ratios")) {
    for (const auto& r : p["ratios"]) std::cout << "            " << text(r, "region") << " Hz: " << text(r, "ratio") << "\n";
  }
  const auto& c = j["canary"];
  if (c.is_null()) {
    std::cout << "canary      none\n";
  } else {
    std::cout << "canary      " << text(c, "version") << " (" << text(c, "phase") << ", " << text(c, "seconds")
              << " of " << text(c, "seconds_needed") << " s compared)\n";
    if (c.contains("ratios")) {
      for (const auto& r : c["ratios"]) {
        std::cout << "            " << text(r, "region") << " Hz: canary " << text(r, "canary") << ", production "
                  << text(r, "production") << "\n";
      }
    }
  }
  const auto& s = j["standby"];
  std::cout << "standby     "
            << (s.is_null() ? std::string("none")
                            : text(s, "version") + " (probation, " + text(s, "probation_left_seconds") + " s left)")
            << "\n";
  if (j.contains("decisions")) {
    std::cout << "last decisions:\n";
    for (const auto& d : j["decisions"]) {
      // GPS 0: decided outside the stream (at start-up, when a version was loaded).
      const std::string gps = d.value("gps", 0ull) == 0 ? std::string("-") : text(d, "gps");
      std::cout << "  " << text(d, "time") << "  GPS " << gps << "  " << text(d, "version") << "  "
                << text(d, "action") << ": " << text(d, "reason") << "\n";
    }
  }
}

void print_models(const nlohmann::json& j) {
  for (const auto& v : j["versions"]) {
    std::cout << text(v, "name") << "  " << text(v, "state") << "  " << text(v, "since") << "  " << text(v, "reason")
              << "\n";
  }
}

int run_ctl(const CtlArgs& a, const std::vector<std::string>& words) {
  std::string socket = a.socket;
  if (socket.empty()) {
    if (a.config.empty()) {
      std::cerr << "deepclean ctl: give --config (the service's configuration) or --socket\n";
      return 2;
    }
    try {
      socket = config::load_config(a.config).control.socket;
    } catch (const config::ConfigError& e) {
      std::cerr << "deepclean ctl: " << e.where() << ": " << e.what() << "\n";
      return 2;
    }
    if (socket.empty()) {
      std::cerr << "deepclean ctl: " << a.config << " sets no control.socket: the service has no control socket\n";
      return 2;
    }
  }
  std::string reply;
  try {
    reply = daemon::control_request(socket, words);
  } catch (const std::exception& e) {
    std::cerr << "deepclean ctl: " << e.what() << "\n";
    return 2;
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(reply);
  } catch (const std::exception& e) {
    std::cerr << "deepclean ctl: " << socket << ": not a JSON reply: " << reply << "\n";
    return 2;
  }
  if (!j.value("ok", false)) {
    std::cerr << "deepclean ctl " << words[0] << ": " << j.value("error", std::string("failed")) << "\n";
    return 1;
  }
  if (a.json) {
    std::cout << j.dump(2) << "\n";
  } else if (words[0] == "status") {
    print_status(j);
  } else if (words[0] == "models") {
    print_models(j);
  } else if (words[0] == "config") {
    std::cout << "# " << j.value("file", std::string()) << " as the service runs it\n";
    for (const auto& [key, value] : j["keys"].items()) std::cout << key << ": " << value.get<std::string>() << "\n";
  } else {
    std::cout << j.value("message", std::string("done")) << "\n";
  }
  return 0;
}

}  // namespace

void register_ctl_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<CtlArgs>();
  CLI::App* ctl = app.add_subcommand(
      "ctl", "Control a running `deepclean run` through its control socket (docs/operations.md)");
  ctl->add_option("-c,--config", args->config, "the service's configuration (for control.socket)");
  ctl->add_option("--socket", args->socket, "the control socket (instead of --config)");
  ctl->add_flag("--json", args->json, "print the service's JSON reply");
  ctl->require_subcommand(1);
  auto add = [&](const char* name, const char* help, bool takes_version) {
    CLI::App* sub = ctl->add_subcommand(name, help);
    auto version = std::make_shared<std::string>();
    if (takes_version) sub->add_option("version", *version, "the version (its directory name)")->required();
    sub->callback([args, version, name, takes_version, &exit_code] {
      std::vector<std::string> words{name};
      if (takes_version) words.push_back(*version);
      exit_code = run_ctl(*args, words);
    });
  };
  add("status", "production, canary and standby versions, validation progress, last decisions", false);
  add("models", "every version of the repository with its state and the reason", false);
  add("config", "every configuration key with the value the service runs with (the file as last accepted)", false);
  add("promote", "make a version production now (the canary without waiting for validation, or a candidate)", true);
  add("rollback", "make the standby (previous production) production again", false);
  add("pin", "make a version production and keep it: no automatic promotion or rollback", true);
  add("unpin", "let validated canaries be promoted again", false);
}

}  // namespace deepclean::cli
