#include "access/credentials/recovery_codes.h"

#include <sodium.h>

#include <set>

#include "core/check.h"
#include "crypto/keyring.h"

namespace switchboard::access {
namespace {

constexpr char kAlphabet[] = "23456789abcdefghjkmnpqrstuvwxyz";
constexpr std::size_t kAlphabetSize = sizeof kAlphabet - 1;
static_assert(kAlphabetSize == 31);

std::string Normalise(std::string_view code) {
  std::string out;
  for (char c : code) {
    if (c == '-' || c == ' ') continue;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

std::string NewCode() {
  std::string code;
  for (std::size_t i = 0; i < kRecoveryCodeChars; ++i) {
    if (i == kRecoveryCodeChars / 2) code += '-';
    code += kAlphabet[randombytes_uniform(kAlphabetSize)];
  }
  return code;
}

}  // namespace

RecoveryCodes GenerateRecoveryCodes(RecoveryPepper pepper, std::size_t count) {
  crypto::EnsureSodium();
  RecoveryCodes out;
  std::set<std::string> seen;
  while (out.codes.size() < count) {
    std::string code = NewCode();
    if (!seen.insert(code).second) continue;
    out.hashes.push_back(HashRecoveryCode(code, pepper));
    out.codes.push_back(std::move(code));
  }
  return out;
}

std::string HashRecoveryCode(std::string_view code, RecoveryPepper pepper) {
  crypto::EnsureSodium();
  static constexpr char kLabel[] = "switchboard recovery code v1:";
  const std::string input = kLabel + Normalise(code);
  unsigned char digest[32];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size(), pepper.data(), pepper.size());
  return crypto::ToHex(digest, sizeof digest);
}

std::optional<std::size_t> ConsumeRecoveryCode(std::string_view code,
                                               std::span<const std::string> stored_hashes,
                                               RecoveryPepper pepper) {
  const std::string hash = HashRecoveryCode(code, pepper);
  std::optional<std::size_t> found;
  for (std::size_t i = 0; i < stored_hashes.size(); ++i) {
    const std::string& stored = stored_hashes[i];
    const bool equal =
        stored.size() == hash.size() && sodium_memcmp(stored.data(), hash.data(), hash.size()) == 0;
    if (equal && !found) found = i;  // no early exit: every entry is compared
  }
  return found;
}

}  // namespace switchboard::access
