// SHA-256 (FIPS 180-4), used for the content hash that identifies a model bundle. Written here
// because nothing the project already links exposes a digest API (yaml-cpp, LibTorch, libsystemd
// do not; OpenSSL is not a dependency and would be one only for this).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace deepclean::model {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t size);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  // Finishes the digest; the object must not be updated afterwards.
  std::array<std::uint8_t, 32> finish();
  // finish() as 64 lowercase hex digits (the `sha256sum` spelling).
  std::string finish_hex();

 private:
  void compress(const std::uint8_t* block);
  std::array<std::uint32_t, 8> state_;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_bytes_ = 0;
  bool finished_ = false;
};

std::string sha256_hex(std::string_view bytes);
// Digest of a file's bytes; throws std::runtime_error naming the file when it cannot be read.
std::string sha256_file_hex(const std::filesystem::path& file);
// Feeds a file's bytes into `hash`; same errors as sha256_file_hex.
void sha256_update_file(Sha256& hash, const std::filesystem::path& file);

}  // namespace deepclean::model
