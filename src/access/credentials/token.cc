#include "access/credentials/token.h"

#include <sodium.h>

#include "core/check.h"
#include "crypto/keyring.h"

namespace switchboard::access {
namespace {}  // namespace

IssuedToken IssueToken() {
  crypto::EnsureSodium();
  unsigned char bytes[kTokenBytes];
  randombytes_buf(bytes, sizeof bytes);
  char text[sodium_base64_ENCODED_LEN(kTokenBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(text, sizeof text, bytes, sizeof bytes,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(bytes, sizeof bytes);
  IssuedToken token;
  token.secret = text;
  sodium_memzero(text, sizeof text);
  token.hash = HashToken(token.secret);
  return token;
}

std::string HashToken(std::string_view secret) {
  crypto::EnsureSodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  return crypto::ToHex(digest, sizeof digest);
}

bool LooksLikeToken(std::string_view text) {
  if (text.size() != kTokenChars) return false;
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  crypto::EnsureSodium();
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace switchboard::access
