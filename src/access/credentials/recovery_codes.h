// Recovery codes: single-use codes a person prints at TOTP enrolment and types
// when the authenticator is lost.
//
// A code is 10 characters from a 31-character alphabet without look-alikes
// (no 0/o, 1/i/l), shown as "xxxxx-xxxxx": about 49.5 bits of entropy. Only a
// keyed hash is stored: BLAKE2b-256 keyed with a server pepper (e.g. a keyring
// key), hex. Given the entropy, a slow hash adds nothing; the pepper means a
// stolen database alone does not allow offline guessing. Thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::access {

constexpr std::size_t kRecoveryPepperBytes = 32;
using RecoveryPepper = std::span<const unsigned char, kRecoveryPepperBytes>;

constexpr std::size_t kDefaultRecoveryCodeCount = 10;
constexpr std::size_t kRecoveryCodeChars = 10;

struct RecoveryCodes {
  std::vector<std::string> codes;   // shown once: "xxxxx-xxxxx"
  std::vector<std::string> hashes;  // stored, same order: HashRecoveryCode(codes[i])
};

// `count` fresh, distinct codes and their hashes.
RecoveryCodes GenerateRecoveryCodes(RecoveryPepper pepper,
                                    std::size_t count = kDefaultRecoveryCodeCount);

// The stored form of a code: lower-case hex keyed BLAKE2b-256 of the code
// normalised (lower case, without '-' and spaces).
std::string HashRecoveryCode(std::string_view code, RecoveryPepper pepper);

// The index of the stored hash `code` matches, or nullopt. Every stored hash
// is compared, in constant time each, whatever matches; empty entries (used
// codes) never match. The caller removes the matched hash in the same
// transaction that accepts the login, which makes the code single-use.
std::optional<std::size_t> ConsumeRecoveryCode(std::string_view code,
                                               std::span<const std::string> stored_hashes,
                                               RecoveryPepper pepper);

}  // namespace switchboard::access
