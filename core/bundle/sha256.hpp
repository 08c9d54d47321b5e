// SHA-256 (FIPS 180-4), the content hash that identifies a model bundle. The digest is libgcrypt's
// (a maintained, audited implementation; libsystemd, which the daemon links anyway, already loads
// it into the process, so it adds no library at run time).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

struct gcry_md_handle;  // libgcrypt's, kept out of this header

namespace deepclean::bundle {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, std::size_t size);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  // Finishes the digest; the object must not be updated afterwards.
  std::array<std::uint8_t, 32> finish();
  // finish() as 64 lowercase hex digits (the `sha256sum` spelling).
  std::string finish_hex();

 private:
  gcry_md_handle* h_ = nullptr;
  bool finished_ = false;
};

std::string sha256_hex(std::string_view bytes);
// Digest of a file's bytes; throws std::runtime_error naming the file when it cannot be read.
std::string sha256_file_hex(const std::filesystem::path& file);
// Feeds a file's bytes into `hash`; same errors as sha256_file_hex.
void sha256_update_file(Sha256& hash, const std::filesystem::path& file);

}  // namespace deepclean::bundle
