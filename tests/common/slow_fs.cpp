// LD_PRELOAD shim for tests (issue 18's slow disk): while the file named by DEEPCLEAN_SLOW_FS_FLAG
// exists, each rename() whose target lies under DEEPCLEAN_SLOW_FS_DIR first sleeps for the number
// of milliseconds written in that file. Everything else goes straight to the C library.
#include <dlfcn.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

namespace {

using RenameFn = int (*)(const char*, const char*);

void maybe_sleep(const char* target) {
  const char* flag = std::getenv("DEEPCLEAN_SLOW_FS_FLAG");
  const char* dir = std::getenv("DEEPCLEAN_SLOW_FS_DIR");
  if (flag == nullptr || dir == nullptr || target == nullptr) return;
  if (std::strncmp(target, dir, std::strlen(dir)) != 0) return;
  std::ifstream in(flag);
  long ms = 0;
  if (in >> ms && ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace

extern "C" int rename(const char* from, const char* to) {
  static const auto real = reinterpret_cast<RenameFn>(::dlsym(RTLD_NEXT, "rename"));
  maybe_sleep(to);
  return real(from, to);
}
