#include "crypto/digest.h"

#include <sodium.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "crypto/keyring.h"

namespace switchboard::crypto {

Result<std::string> Sha256File(const std::string& path) {
  EnsureSodium();
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Status::NotFound("cannot open " + path + ": " + std::strerror(errno));
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  std::vector<unsigned char> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
    crypto_hash_sha256_update(&st, buf.data(), n);
  }
  const bool failed = std::ferror(f);
  std::fclose(f);
  if (failed) return Status::Unavailable("cannot read " + path);
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, out);
  return ToHex(out, sizeof out);
}

}  // namespace switchboard::crypto
