#include "access/credentials/recovery_codes.h"

#include <sodium.h>

#include <set>

#include "core/check.h"

namespace switchboard::access {
namespace {

constexpr char kAlphabet[] = "23456789abcdefghjkmnpqrstuvwxyz";
constexpr std::size_t kAlphabetSize = sizeof kAlphabet - 1;
static_assert(kAlphabetSize == 31);

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  SB_CHECK(ok);
}

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
  EnsureSodium();
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
  EnsureSodium();
  static constexpr char kLabel[] = "switchboard recovery code v1:";
  const std::string input = kLabel + Normalise(code);
  unsigned char digest[32];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size(), pepper.data(), pepper.size());
  char hex[2 * sizeof digest + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
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
