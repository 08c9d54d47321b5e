#include "core/bundle/sha256.hpp"

#include <gcrypt.h>

#include <algorithm>
#include <mutex>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace deepclean::bundle {
namespace {

// libgcrypt must be initialised once per process before use; libsystemd may have done it already.
void init_gcrypt() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (gcry_check_version(GCRYPT_VERSION) == nullptr) {
      throw std::runtime_error(std::string("libgcrypt ") + GCRYPT_VERSION + " or newer is needed, found " +
                               gcry_check_version(nullptr));
    }
    if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P) == 0) {
      gcry_control(GCRYCTL_DISABLE_SECMEM, 0);  // hashes of public files: no secure memory needed
      gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    }
  });
}

}  // namespace

Sha256::Sha256() {
  init_gcrypt();
  if (const gcry_error_t e = gcry_md_open(&h_, GCRY_MD_SHA256, 0); e != 0) {
    throw std::runtime_error(std::string("libgcrypt: cannot open a SHA-256 digest: ") + gcry_strerror(e));
  }
}

Sha256::~Sha256() { gcry_md_close(h_); }

void Sha256::update(const void* data, std::size_t size) {
  if (finished_) throw std::logic_error("Sha256::update after finish");
  gcry_md_write(h_, data, size);
}

std::array<std::uint8_t, 32> Sha256::finish() {
  if (finished_) throw std::logic_error("Sha256::finish called twice");
  finished_ = true;
  std::array<std::uint8_t, 32> out{};
  std::memcpy(out.data(), gcry_md_read(h_, GCRY_MD_SHA256), out.size());
  return out;
}

std::string Sha256::finish_hex() {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto digest = finish();
  std::string s;
  s.reserve(64);
  for (const std::uint8_t byte : digest) {
    s.push_back(kHex[byte >> 4U]);
    s.push_back(kHex[byte & 0x0fU]);
  }
  return s;
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.finish_hex();
}

void sha256_update_file(Sha256& hash, const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw std::runtime_error(file.string() + ": cannot open for reading: " + std::strerror(errno));
  }
  std::vector<char> chunk(1U << 16U);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const std::streamsize got = in.gcount();
    if (got > 0) hash.update(chunk.data(), static_cast<std::size_t>(got));
  }
  if (in.bad()) throw std::runtime_error(file.string() + ": read error");
}

std::string sha256_file_hex(const std::filesystem::path& file) {
  Sha256 h;
  sha256_update_file(h, file);
  return h.finish_hex();
}

}  // namespace deepclean::bundle
