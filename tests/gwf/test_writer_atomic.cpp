// Atomic publish (digest §10): temp file in the target directory, fsync, rename; readers polling the
// final name never see a partial file; failures throw std::system_error naming the path and leave
// no temporary file behind.
#include <gtest/gtest.h>

#include "common/test_support.hpp"
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "io/gwf/writer.hpp"

namespace gwf = deepclean::gwf;
namespace fs = std::filesystem;

namespace {

struct TempDir : deepclean::testing::TempDir {
  TempDir() : deepclean::testing::TempDir("gwfw_atomic") {}
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path)) out.push_back(e.path().filename().string());
    return out;
  }
};

std::vector<std::byte> read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(raw.size());
  if (!raw.empty()) std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

gwf::Frame frame_of(std::size_t n, double value) {
  gwf::Frame f;
  f.start = {1400000000, 0};
  gwf::Channel c;
  c.name = "H1:X";
  c.sample_rate = static_cast<double>(n);
  c.data = gwf::Vect::make(c.name, std::vector<double>(n, value), static_cast<double>(n));
  f.channels.push_back(c);
  return f;
}

}  // namespace

TEST(GwfWriterAtomic, WritesExactlyTheEncodedBytesAndNothingElse) {
  TempDir d;
  const auto target = d.path / "H-H1_TEST-1400000000-1.gwf";
  const std::vector<gwf::Frame> frames = {frame_of(4096, 1.0)};
  gwf::WriteOptions o;
  o.compression = gwf::Compression::Raw;
  gwf::write_frame_file(target.string(), frames, o);
  EXPECT_EQ(read_all(target), gwf::encode_frames(frames, o));
  EXPECT_EQ(d.entries(), (std::vector<std::string>{"H-H1_TEST-1400000000-1.gwf"}));
  // Replacing an existing file works the same way.
  gwf::write_frame_file(target.string(), {frame_of(16, 2.0)}, o);
  EXPECT_EQ(read_all(target), gwf::encode_frames({frame_of(16, 2.0)}, o));
  EXPECT_EQ(d.entries().size(), 1u);
}

TEST(GwfWriterAtomic, ARelativePathInTheCurrentDirectory) {
  TempDir d;
  const auto old = fs::current_path();
  fs::current_path(d.path);
  gwf::write_frame_file("rel.gwf", {frame_of(8, 1.0)});
  fs::current_path(old);
  EXPECT_EQ(d.entries(), (std::vector<std::string>{"rel.gwf"}));
}

TEST(GwfWriterAtomic, FailuresNameThePathAndLeaveNoTemporaryFile) {
  TempDir d;
  // Missing directory: the temporary file cannot be created.
  const std::string missing = (d.path / "no_such_dir" / "x.gwf").string();
  try {
    gwf::write_frame_file(missing, {frame_of(8, 1.0)});
    FAIL() << "expected std::system_error";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    EXPECT_EQ(e.code().value(), ENOENT);
  }
  // The target is a non-empty directory: rename() fails after the data was written.
  const auto blocker = d.path / "busy.gwf";
  fs::create_directories(blocker / "inside");
  try {
    gwf::write_frame_file(blocker.string(), {frame_of(1024, 1.0)});
    FAIL() << "expected std::system_error";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find(blocker.string()), std::string::npos) << e.what();
  }
  EXPECT_EQ(d.entries(), (std::vector<std::string>{"busy.gwf"}));  // no temporary left behind
  // Invalid content throws before anything touches the disk.
  gwf::Frame bad = frame_of(8, 1.0);
  bad.channels.push_back(bad.channels[0]);
  EXPECT_THROW(gwf::write_frame_file((d.path / "bad.gwf").string(), {bad}), std::invalid_argument);
  EXPECT_EQ(d.entries(), (std::vector<std::string>{"busy.gwf"}));
}

TEST(GwfWriterAtomic, APollingReaderNeverSeesAPartialFile) {
  TempDir d;
  const auto target = d.path / "H-H1_TEST-1400000000-1.gwf";
  gwf::WriteOptions o;
  o.compression = gwf::Compression::Raw;
  // Two different complete contents of different sizes; a reader must only ever see one of them.
  const std::vector<gwf::Frame> a = {frame_of(1 << 16, 1.0)};
  const std::vector<gwf::Frame> b = {frame_of(3 << 15, 2.0)};
  const auto bytes_a = gwf::encode_frames(a, o);
  const auto bytes_b = gwf::encode_frames(b, o);
  std::atomic<bool> done{false};
  std::atomic<int> seen{0}, torn{0};
  std::thread reader([&] {
    while (!done.load()) {
      std::error_code ec;
      if (!fs::exists(target, ec)) continue;
      const auto got = read_all(target);  // once the name exists it is never removed, only replaced
      ++seen;
      if (got != bytes_a && got != bytes_b) ++torn;
    }
  });
  for (int i = 0; i < 40; ++i) gwf::write_frame_file(target.string(), i % 2 ? b : a, o);
  done = true;
  reader.join();
  EXPECT_GT(seen.load(), 0);
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(d.entries().size(), 1u);
}
