// Helpers shared by the test suites: a per-test scratch directory, reading and writing files,
// waiting for a condition, running the built binary (to completion, or as a background process such
// as `deepclean run`) and reading a Prometheus text file.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace deepclean::testing {

// A fresh directory named after the running test (and this process), removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix = "deepclean") {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path = std::filesystem::temp_directory_path() /
           (prefix + "_" + std::to_string(::getpid()) + "_" + (info ? info->name() : "global"));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

// Single-quoted for /bin/sh.
inline std::string sh_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs `command` through /bin/sh; its stdout goes to *out when given. Returns the exit status, or -1
// when the command did not exit normally (or could not be started).
inline int run_shell(const std::string& command, std::string* out = nullptr) {
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return -1;
  std::string text;
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  const int status = ::pclose(p);
  if (out != nullptr) *out = std::move(text);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct CliResult {
  int rc = -1;
  std::string out, err;
  std::vector<std::string> err_lines() const {
    std::vector<std::string> lines;
    std::istringstream in(err);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
  }
};

// Runs the built `deepclean` with `args` (already quoted), capturing stdout, stderr and the exit
// status; stderr goes through a file in `scratch`.
inline CliResult run_deepclean(const std::string& args, const std::filesystem::path& scratch) {
  const auto err_file = scratch / "stderr.txt";
  const std::string cmd =
      sh_quote(DEEPCLEAN_BINARY) + " " + args + " 2>" + sh_quote(err_file.string());
  CliResult r;
  r.rc = run_shell(cmd, &r.out);
  std::ifstream e(err_file);
  r.err.assign(std::istreambuf_iterator<char>(e), std::istreambuf_iterator<char>());
  return r;
}

// The whole file as text ("" when it cannot be read).
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Polls `cond` every 20 ms until it holds (true) or `seconds` passed (false). Use generous
// limits: a loaded 2-core CI host can be many times slower than a workstation.
inline bool eventually(const std::function<bool()>& cond, double seconds = 30) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (;;) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// The built `deepclean` started in the background with `args`, stdout and stderr appended to
// `log`, the environment of this process minus the names in `unset` plus `extra_env` ("K=V").
// Killed (SIGKILL) at scope exit if still running.
class DeepcleanProcess {
 public:
  // `program`: another program to run instead, its whole command line (then `args` is ignored).
  DeepcleanProcess(const std::vector<std::string>& args, const std::filesystem::path& log,
                   const std::vector<std::string>& extra_env = {},
                   const std::vector<std::string>& unset = {},
                   const std::vector<std::string>& program = {})
      : log_(log) {
    // Everything the child needs is prepared before fork(): other threads may run meanwhile.
    std::vector<std::string> env_text;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string v = *e;
      bool drop = false;
      for (const auto& u : unset) drop = drop || v.rfind(u + "=", 0) == 0;
      if (!drop) env_text.push_back(v);
    }
    for (const auto& e : extra_env) env_text.push_back(e);
    std::vector<char*> envp;
    for (auto& v : env_text) envp.push_back(v.data());
    envp.push_back(nullptr);
    std::string bin = program.empty() ? std::string(DEEPCLEAN_BINARY) : program[0];
    std::string arg0 = program.empty() ? std::string("deepclean") : program[0];
    std::vector<std::string> arg_text =
        program.empty() ? args : std::vector<std::string>(program.begin() + 1, program.end());
    std::vector<char*> argv = {arg0.data()};
    for (auto& a : arg_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execve(bin.c_str(), argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(fd);
  }
  ~DeepcleanProcess() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  DeepcleanProcess(const DeepcleanProcess&) = delete;
  DeepcleanProcess& operator=(const DeepcleanProcess&) = delete;

  bool running() {
    if (exited_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    return true;
  }
  void signal(int sig) { ::kill(pid_, sig); }
  pid_t pid() const { return pid_; }
  // Exit status (128 + N after signal N), or -1 when still running after `seconds`.
  int wait_exit(double seconds) {
    if (!eventually([this] { return !running(); }, seconds)) return -1;
    return exit_code_;
  }
  std::string log() const { return read_file(log_); }
  bool logged(const std::string& text) const { return log().find(text) != std::string::npos; }

 private:
  pid_t pid_ = -1;
  std::filesystem::path log_;
  bool exited_ = false;
  int exit_code_ = -1;
};

// The samples of a Prometheus text file: "name{labels}" -> value (comments skipped).
inline std::map<std::string, double> parse_prometheus_text(const std::string& text) {
  std::map<std::string, double> m;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    m[line.substr(0, sp)] = std::strtod(line.c_str() + sp + 1, nullptr);
  }
  return m;
}

}  // namespace deepclean::testing
