// SHA-256 against the FIPS 180-2 example digests and against coreutils' sha256sum.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "core/bundle/sha256.hpp"
#include "common/model_fixtures.hpp"

namespace deepclean::bundle {
namespace {

namespace testing = model::testing;  // the fixtures (tests/common/model_fixtures.hpp)

using testing::run_command;

TEST(Sha256, PublishedExampleDigests) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 h;
  const std::string block(1000, 'a');
  for (int i = 0; i < 1000; ++i) h.update(block);  // one million 'a'
  EXPECT_EQ(h.finish_hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, MatchesSha256sumAcrossBlockBoundariesAndSplitUpdates) {
  if (run_command("sha256sum --version").exit_code != 0) GTEST_SKIP() << "sha256sum not available";
  const auto dir = testing::scratch_dir("files");
  std::mt19937 rng(12345);
  // Lengths around the 55/56/64-byte padding edges plus a multi-chunk file (> 64 KiB read size).
  for (const std::size_t len : {0UL, 1UL, 55UL, 56UL, 57UL, 63UL, 64UL, 65UL, 119UL, 120UL, 128UL, 1000UL,
                                 200000UL}) {
    std::string bytes(len, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xffU);
    const auto file = dir / ("f" + std::to_string(len));
    testing::write_text(file, bytes);
    const auto r = run_command("sha256sum " + testing::quote(file));
    ASSERT_EQ(r.exit_code, 0);
    const std::string expected = r.output.substr(0, 64);
    EXPECT_EQ(sha256_file_hex(file), expected) << "length " << len;
    // Same digest when fed in uneven pieces.
    Sha256 h;
    std::size_t pos = 0;
    for (std::size_t step = 1; pos < len; step = step * 3 + 1) {
      const std::size_t take = std::min(step, len - pos);
      h.update(bytes.data() + pos, take);
      pos += take;
    }
    EXPECT_EQ(h.finish_hex(), expected) << "length " << len << " (split)";
  }
}

TEST(Sha256, UnreadableFileNamesIt) {
  try {
    (void)sha256_file_hex("/nonexistent/dir/model.pt");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/model.pt"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace deepclean::bundle
