// Session and invitation tokens: 32 random bytes shown once (base64url) and
// stored only as a SHA-256 hash, so a copy of the database cannot be used to
// log in. Thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace switchboard::access {

constexpr std::size_t kTokenBytes = 32;
// base64url without padding of kTokenBytes bytes.
constexpr std::size_t kTokenChars = 43;

struct IssuedToken {
  std::string secret;  // shown once (cookie, link); base64url, no padding
  std::string hash;    // what is stored: HashToken(secret)
};

// A fresh random token.
IssuedToken IssueToken();

// Lower-case hex SHA-256 of the token text (64 characters). Any input is
// accepted, so look-ups of malformed tokens simply find nothing.
std::string HashToken(std::string_view secret);

// True when `text` has the shape of a token (kTokenChars base64url characters).
bool LooksLikeToken(std::string_view text);

// Equality in time that depends only on the lengths, not the contents.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace switchboard::access
