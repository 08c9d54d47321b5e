#include "daemon/model_setup/model_check.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <csignal>
#include <cstring>
#include <sstream>
#include <vector>

#include "core/bundle/bundle.hpp"

extern char** environ;

// Sanitizer runtimes reserve terabytes of address space for their shadow memory: a child built with
// one cannot start under RLIMIT_AS, so those builds (tools/tsan.sh) check without the memory limit.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DEEPCLEAN_SANITIZED_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define DEEPCLEAN_SANITIZED_BUILD 1
#endif
#endif
#ifdef DEEPCLEAN_SANITIZED_BUILD
constexpr bool kAddressSpaceLimit = false;
#else
constexpr bool kAddressSpaceLimit = true;
#endif

namespace deepclean::daemon {
namespace {

std::string& program_setting() {
  static std::string program;
  return program;
}

// What the child said: the line `deepclean model info: ...` when there is one (its error), else
// the last non-empty line (a crash's last words), at most 2000 characters.
std::string child_message(const std::string& err) {
  const std::string prefix = "deepclean model info: ";
  std::istringstream in(err);
  std::string said, last;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) said = line.substr(prefix.size());
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  }
  std::string m = said.empty() ? last : said;
  if (m.size() > 2000) m = m.substr(0, 2000) + "…";
  return m;
}

std::string gib(std::uint64_t bytes) {
  std::ostringstream s;
  s << static_cast<double>(bytes) / static_cast<double>(1ULL << 30) << " GiB";
  return s.str();
}

}  // namespace

void set_model_check_program(const std::string& program) { program_setting() = program; }
const std::string& model_check_program() { return program_setting(); }

void check_model_in_separate_process(const std::filesystem::path& bundle, std::size_t kernel_length,
                                     const ModelCheckLimits& limits) {
  const std::string program = model_check_program();
  const std::string model = (bundle / bundle::kModelFile).string();
  // Everything the child needs is made before fork(): other threads may hold locks meanwhile.
  std::vector<std::string> args = {program, "model", "info", bundle.string(), "--kernel-length",
                                   std::to_string(kernel_length)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_text;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string v = *e;
    const bool replaced = v.rfind("OMP_NUM_THREADS=", 0) == 0 ||
                          (!kAddressSpaceLimit && (v.rfind("TSAN_OPTIONS=", 0) == 0 || v.rfind("ASAN_OPTIONS=", 0) == 0));
    if (!replaced) env_text.push_back(v);
  }
  env_text.emplace_back("OMP_NUM_THREADS=1");  // a check, not a benchmark: one core is enough
  if (!kAddressSpaceLimit) {
    // A sanitizer's runtime would catch the crash of a hostile model as its own report: let the
    // signal kill the child as in a normal build, where the parent tells what happened.
    for (const char* var : {"TSAN_OPTIONS", "ASAN_OPTIONS"}) {
      const char* v = std::getenv(var);
      env_text.push_back(std::string(var) + "=" + (v ? std::string(v) + ":" : std::string()) +
                         "handle_segv=0:handle_sigbus=0:handle_abort=0:handle_sigfpe=0:handle_sigill=0");
    }
  }
  std::vector<char*> envp;
  for (auto& v : env_text) envp.push_back(v.data());
  envp.push_back(nullptr);
  const rlimit as{limits.address_space_bytes, limits.address_space_bytes};
  const rlimit no_core{0, 0};

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw bundle::BundleError(model + ": cannot start its check in a separate process: pipe: " + std::strerror(errno));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw bundle::BundleError(model + ": cannot start its check in a separate process: fork: " + std::strerror(err));
  }
  if (pid == 0) {  // only async-signal-safe calls from here to execve
    ::dup2(fds[1], 2);
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, 0);
      ::dup2(null, 1);
    }
    if (kAddressSpaceLimit) ::setrlimit(RLIMIT_AS, &as);
    ::setrlimit(RLIMIT_CORE, &no_core);
    ::execve(program.c_str(), argv.data(), envp.data());
    static const char msg[] = "deepclean model info: cannot run the check program\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(fds[1]);

  // Read what it says until it ends or the time is up.
  std::string err;
  bool timed_out = false;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<std::int64_t>(limits.timeout_seconds * 1000));
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1000)));
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // end of file: the child exited (or closed its stderr)
    err.append(buf, static_cast<std::size_t>(n));
    if (err.size() > 65536) err.erase(0, err.size() - 65536);  // its last words matter most
  }
  ::close(fds[0]);
  // Its stderr ended; the child may still run (one that closed stderr and hangs): wait to the deadline.
  int status = 0;
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, timed_out ? 0 : WNOHANG);
    if (w == pid) break;
    if (w < 0) {
      if (errno == EINTR) continue;
      throw bundle::BundleError(model + ": cannot tell how its check ended: waitpid: " + std::strerror(errno));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      timed_out = true;
      ::kill(pid, SIGKILL);
    } else {
      ::usleep(10000);
    }
  }
  const std::string said = child_message(err);
  const std::string where = " (a TorchScript load and a dry run in a separate process, `deepclean model info`)";
  if (timed_out) {
    std::ostringstream s;
    s << model << ": its check did not finish within " << limits.timeout_seconds
      << " s (model.check_timeout_seconds)" << where << ": stopped; the model is not loaded";
    throw bundle::BundleError(s.str());
  }
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    std::string s = model + ": crashed its check" + where + " with signal " + std::to_string(sig) + " (" +
                    strsignal(sig) + "); the model is not loaded (in the service it would have ended the service)";
    if (!said.empty()) s += "; its last words: " + said;
    throw bundle::BundleError(s);
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 0) return;
  if (code == 127) {
    throw bundle::BundleError(model + ": cannot run its check: " + program + " could not be started");
  }
  std::string s = said.empty() ? model + ": its check" + where + " failed with exit status " + std::to_string(code)
                               : said;
  if (s.find("alloc") != std::string::npos) {
    s += " (the check runs with a " + gib(limits.address_space_bytes) + " address-space limit)";
  }
  throw bundle::BundleError(s);
}

}  // namespace deepclean::daemon
