// Frames crafted to hurt (issue 18): headers that claim absurd sizes (2^40 elements, payloads past
// the end of the file, zlib and zero-suppression "bombs"), chains of thousands of FrVects, cycles.
// Each file is read in a child process (fork) and must be refused with a FormatError, or read,
// within a bounded amount of memory: the child's peak RSS (wait4's ru_maxrss) above that of a child
// that reads nothing may not exceed 16 MiB plus 1032 x the file's size (zlib's largest possible
// expansion, the reader's ceiling for any compressed payload).
#include <gtest/gtest.h>
#include <zlib.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "io/gwf/reader.hpp"
#include "reader_test_builder.hpp"

namespace {

using namespace deepclean::gwf;
using gwft::build_file;
using gwft::FrameSpec;
using gwft::VectSpec;

constexpr long kSlackKiB = 16 * 1024;

enum Outcome { kRefused = 10, kRead = 11, kOther = 12 };

struct Child {
  int status = 0;
  long max_rss_kib = 0;
  int outcome() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status); }
};

// Reads `bytes` completely in a child process (every frame, channel and FrVect).
Child read_in_child(const std::vector<std::byte>& bytes, bool read = true) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    int code = kRead;
    if (read) {
      try {
        const FrameFile f = FrameFile::from_bytes(bytes, "hostile.gwf");
        for (std::size_t i = 0; i < f.frame_count(); ++i) {
          for (const auto& e : f.channels(i)) (void)f.read_channel(i, e.name);
          (void)f.read_frame(i);
        }
      } catch (const FormatError&) {
        code = kRefused;
      } catch (...) {
        code = kOther;
      }
    }
    ::_exit(code);
  }
  Child c;
  rusage ru{};
  ::wait4(pid, &c.status, 0, &ru);
  c.max_rss_kib = ru.ru_maxrss;
  return c;
}

// One channel whose data is the chain `vects` (the last pointing back at the first with `cycle`).
FrameSpec chained(std::vector<VectSpec> vects, bool cycle = false) {
  FrameSpec f = gwft::one_channel(vects.front());
  f.chans[0].vects = std::move(vects);
  f.chans[0].cycle = cycle;
  return f;
}

// A zlib stream of `n` zero bytes, as a FrVect payload claiming `n_data` doubles.
VectSpec zlib_zeros(std::uint64_t n_data, std::size_t n) {
  VectSpec v = gwft::f64_vect("X1:CH", 0);
  v.compress = 0x101;  // gzip, little-endian payload
  v.n_data = n_data;
  v.nx = {n_data};
  std::vector<unsigned char> raw(n, 0), packed(compressBound(n));
  uLongf len = packed.size();
  compress2(packed.data(), &len, raw.data(), raw.size(), 9);
  v.payload.resize(len);
  std::memcpy(v.payload.data(), packed.data(), len);
  return v;
}

struct Case {
  std::string what;
  std::vector<std::byte> bytes;
  bool may_be_read;  // a valid (if odd) file: reading it is fine, within the bound
};

std::vector<Case> cases() {
  std::vector<Case> out;
  {
    VectSpec v = gwft::f64_vect("X1:CH", 4);
    v.n_data = std::uint64_t{1} << 40;
    v.nx = {v.n_data};
    out.push_back({"raw nData 2^40", build_file({chained({v})}).bytes, false});
    v.n_bytes_override = std::uint64_t{1} << 43;
    out.push_back({"raw nData 2^40, nBytes 2^43 past the end", build_file({chained({v})}).bytes, false});
  }
  {
    VectSpec v = gwft::f64_vect("X1:CH", 4);
    v.n_dim_override = 0xFFFFFFFFu;
    out.push_back({"nDim 2^32 - 1", build_file({chained({v})}).bytes, false});
  }
  // zlib: a small stream claiming 2^27 doubles (1 GiB, the per-FrVect limit), then 2^40.
  out.push_back({"zlib nData 2^27 from a few bytes", build_file({chained({zlib_zeros(std::uint64_t{1} << 27, 4096)})}).bytes, false});
  out.push_back({"zlib nData 2^40", build_file({chained({zlib_zeros(std::uint64_t{1} << 40, 4096)})}).bytes, false});
  // A real zlib bomb within the ratio: 8 MB of zeros in about 8 kB, honestly declared.
  out.push_back({"zlib 1000:1, declared", build_file({chained({zlib_zeros(1u << 20, 8u << 20)})}).bytes, true});
  {
    VectSpec v = gwft::f64_vect("X1:CH", 0);
    v.type = 1;  // INT_2S
    v.compress = 0x105;  // zero suppression, 16-bit words
    v.n_data = std::uint64_t{1} << 40;
    v.nx = {v.n_data};
    v.payload = {std::byte{0xFF}, std::byte{0xFF}, std::byte{0}, std::byte{0}};  // block size 65535
    out.push_back({"zero suppression, block 65535, nData 2^40", build_file({chained({v})}).bytes, false});
  }
  {
    VectSpec v = gwft::f64_vect("X1:CH", 0);
    v.type = 8;  // STRING
    v.compress = 0;
    v.n_data = std::uint64_t{1} << 40;
    v.nx = {v.n_data};
    v.payload = {std::byte{1}, std::byte{0}, std::byte{0}};
    out.push_back({"STRING vector nData 2^40", build_file({chained({v})}).bytes, false});
  }
  {
    std::vector<VectSpec> chain;
    for (int i = 0; i < 20000; ++i) chain.push_back(gwft::f64_vect(i == 0 ? "X1:CH" : "x" + std::to_string(i), 1));
    out.push_back({"a chain of 20000 FrVects", build_file({chained(chain)}).bytes, true});
    out.push_back({"a cycle through 20000 FrVects", build_file({chained(chain, true)}).bytes, false});
  }
  return out;
}

TEST(GwfHostile, AbsurdSizesChainsAndCyclesAreRefusedWithinBoundedMemory) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "peak RSS is not meaningful under AddressSanitizer (shadow memory, quarantine)";
#endif
  const std::vector<Case> all = cases();
  const long baseline = read_in_child({}, false).max_rss_kib;
  for (const Case& c : all) {
    const Child r = read_in_child(c.bytes);
    const long grew = r.max_rss_kib - baseline;
    const long bound = kSlackKiB + static_cast<long>(1032 * c.bytes.size() / 1024);
    if (c.may_be_read) {
      EXPECT_TRUE(r.outcome() == kRead || r.outcome() == kRefused) << c.what << ": outcome " << r.outcome();
    } else {
      EXPECT_EQ(r.outcome(), kRefused) << c.what;
    }
    EXPECT_LE(grew, bound) << c.what << ": peak RSS grew by " << grew << " KiB for a file of " << c.bytes.size()
                           << " bytes";
    std::printf("[ hostile  ] %-45s %8zu bytes: %s, peak RSS +%ld KiB (bound %ld)\n", c.what.c_str(), c.bytes.size(),
                r.outcome() == kRefused ? "refused" : r.outcome() == kRead ? "read" : "OTHER", grew, bound);
  }
}

}  // namespace
