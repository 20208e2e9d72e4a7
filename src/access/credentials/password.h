// Passwords: Argon2id hashing (libsodium's crypto_pwhash_str, PHC string format)
// and the policy a new password must meet (RULEBOOK §2).
//
// Passwords are normalised to Unicode NFC before hashing and verifying, so the
// same password typed on different systems matches. Stored hashes carry their
// own parameters; PasswordNeedsRehash tells the caller when to re-hash at the
// next successful login. All functions are thread-safe. Messages never contain
// the password.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace switchboard::access {

// Argon2id cost. The defaults (3 passes over 64 MiB, one lane) cost about
// 65 ms per hash on one core of the development machine: between libsodium's
// INTERACTIVE (2 passes, 64 MiB) and MODERATE (3 passes, 256 MiB) limits, and
// above the OWASP minimum (2 passes over 19 MiB). A 2-core server can check
// about 30 logins a second; login throttling keeps it far below that.
struct PasswordHashOptions {
  // Passes over memory (Argon2 t); at least 1.
  std::uint64_t opslimit = 3;
  // Memory in bytes (Argon2 m, rounded down to KiB); at least 8 KiB.
  std::size_t memlimit = std::size_t{64} << 20;

  // The cheapest limits libsodium accepts. For tests only.
  static PasswordHashOptions Minimum();
};

// Longest password accepted for hashing, in bytes (guards against abuse).
constexpr std::size_t kMaxPasswordBytes = 4096;

// A PHC string ("$argon2id$v=19$m=65536,t=3,p=1$salt$hash") with a random
// salt. Fails with kInvalidArgument when the password is not valid UTF-8 or
// longer than kMaxPasswordBytes, kResourceExhausted when memory runs out.
Result<std::string> HashPassword(std::string_view password,
                                 const PasswordHashOptions& options = {});

// True when `password` matches `stored_hash`, false when it does not. Fails
// with kDataLoss when `stored_hash` is not an Argon2id PHC string.
Result<bool> VerifyPassword(std::string_view password, std::string_view stored_hash);

// True when `stored_hash` was made with limits other than `options` and should
// be replaced by a new hash after the next successful login. Fails with
// kDataLoss when `stored_hash` is not an Argon2id PHC string.
Result<bool> PasswordNeedsRehash(std::string_view stored_hash,
                                 const PasswordHashOptions& options = {});

constexpr std::size_t kMinPasswordCodePoints = 12;
constexpr std::size_t kMaxPasswordCodePoints = 256;

// OK when `password` may be chosen by the account `account_name`: valid UTF-8,
// 12 to 256 characters (code points), not one character repeated, not the
// account name (or its part before '@'), and not a common password, compared
// case-insensitively with and without trailing digits and symbols
// ("Summer2026!" is refused as "summer"). Otherwise kInvalidArgument with a
// reason a person can act on.
Status CheckPasswordPolicy(std::string_view password, std::string_view account_name);

// True when `password` is in the built-in common-password list (exactly,
// after case folding; no stripping).
bool IsCommonPassword(std::string_view password);

// The built-in list (common_passwords.txt, embedded at build time): lower-case
// passwords one per line, '#' lines are comments.
std::string_view BuiltinCommonPasswords();

}  // namespace switchboard::access
