#include "access/credentials/password.h"

#include <sodium.h>

#include <cerrno>
#include <string_view>
#include <unordered_set>

#include "core/text.h"
#include "crypto/keyring.h"

namespace switchboard::access {
namespace {

bool LooksLikeArgon2id(std::string_view stored_hash) {
  return stored_hash.starts_with(crypto_pwhash_argon2id_STRPREFIX) &&
         stored_hash.size() < crypto_pwhash_argon2id_STRBYTES;
}

Status NotAnArgon2idHash() {
  return Status::DataLoss("the stored password hash is not an Argon2id PHC string");
}

Result<std::string> Normalise(std::string_view password) {
  if (password.size() > kMaxPasswordBytes) {
    return Status::InvalidArgument("the password is longer than " +
                                   std::to_string(kMaxPasswordBytes) + " bytes");
  }
  if (!text::IsValidUtf8(password)) {
    return Status::InvalidArgument("the password is not valid UTF-8 text");
  }
  return text::NormaliseNfc(password);
}

std::size_t CountCodePoints(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// `folded` without its trailing ASCII digits, punctuation and spaces.
std::string_view StripTrailingDigitsAndSymbols(std::string_view folded) {
  while (!folded.empty()) {
    const unsigned char c = folded.back();
    const bool ascii_letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (c >= 0x80 || ascii_letter) break;
    folded.remove_suffix(1);
  }
  return folded;
}

bool IsOneCodePointRepeated(std::string_view s) {
  if (s.empty()) return false;
  size_t n = 1;  // bytes in the first code point
  while (n < s.size() && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) ++n;
  if (s.size() % n != 0) return false;
  for (size_t i = n; i < s.size(); i += n) {
    if (s.compare(i, n, s, 0, n) != 0) return false;
  }
  return true;
}

const std::unordered_set<std::string_view>& CommonPasswords() {
  static const auto* set = [] {
    auto* s = new std::unordered_set<std::string_view>();
    std::string_view text = BuiltinCommonPasswords();
    while (!text.empty()) {
      const size_t eol = text.find('\n');
      std::string_view line = text.substr(0, eol);
      text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty() || line.front() == '#') continue;
      s->insert(line);
    }
    return s;
  }();
  return *set;
}

}  // namespace

PasswordHashOptions PasswordHashOptions::Minimum() {
  return {crypto_pwhash_argon2id_OPSLIMIT_MIN, crypto_pwhash_argon2id_MEMLIMIT_MIN};
}

Result<std::string> HashPassword(std::string_view password, const PasswordHashOptions& options) {
  crypto::EnsureSodium();
  SB_ASSIGN_OR_RETURN(std::string normalised, Normalise(password));
  char out[crypto_pwhash_argon2id_STRBYTES];
  const int rc = crypto_pwhash_argon2id_str(out, normalised.data(), normalised.size(),
                                            options.opslimit, options.memlimit);
  sodium_memzero(normalised.data(), normalised.size());
  if (rc != 0) {
    if (errno == ENOMEM) {
      return Status::ResourceExhausted("not enough memory to hash the password");
    }
    return Status::InvalidArgument("the password hashing limits are out of range");
  }
  return std::string(out);
}

Result<bool> VerifyPassword(std::string_view password, std::string_view stored_hash) {
  crypto::EnsureSodium();
  if (!LooksLikeArgon2id(stored_hash)) return NotAnArgon2idHash();
  // An over-long or invalid password cannot match a hash made by HashPassword.
  Result<std::string> normalised = Normalise(password);
  if (!normalised.has_value()) return false;
  const std::string hash(stored_hash);  // NUL-terminated for libsodium
  const int rc =
      crypto_pwhash_argon2id_str_verify(hash.c_str(), normalised->data(), normalised->size());
  sodium_memzero(normalised->data(), normalised->size());
  return rc == 0;
}

Result<bool> PasswordNeedsRehash(std::string_view stored_hash, const PasswordHashOptions& options) {
  crypto::EnsureSodium();
  if (!LooksLikeArgon2id(stored_hash)) return NotAnArgon2idHash();
  const std::string hash(stored_hash);
  const int rc =
      crypto_pwhash_argon2id_str_needs_rehash(hash.c_str(), options.opslimit, options.memlimit);
  if (rc < 0) return NotAnArgon2idHash();
  return rc == 1;
}

bool IsCommonPassword(std::string_view password) {
  return CommonPasswords().contains(text::CaseFold(password));
}

Status CheckPasswordPolicy(std::string_view password, std::string_view account_name) {
  if (!text::IsValidUtf8(password)) {
    return Status::InvalidArgument("the password is not valid UTF-8 text");
  }
  const std::size_t length = CountCodePoints(password);
  if (length < kMinPasswordCodePoints) {
    return Status::InvalidArgument("use at least " + std::to_string(kMinPasswordCodePoints) +
                                   " characters (this password has " + std::to_string(length) +
                                   "); a few unrelated words make a good password");
  }
  if (length > kMaxPasswordCodePoints || password.size() > kMaxPasswordBytes) {
    return Status::InvalidArgument("use at most " + std::to_string(kMaxPasswordCodePoints) +
                                   " characters");
  }
  const std::string folded = text::CaseFold(password);
  if (IsOneCodePointRepeated(folded)) {
    return Status::InvalidArgument(
        "the password repeats one character; choose one with different characters");
  }
  const std::string_view stripped = StripTrailingDigitsAndSymbols(folded);
  if (!account_name.empty()) {
    const std::string name = text::CaseFold(account_name);
    const std::string_view local = std::string_view(name).substr(0, name.find('@'));
    for (std::string_view candidate : {std::string_view(name), local}) {
      if (candidate.empty()) continue;
      if (folded == candidate || stripped == candidate) {
        return Status::InvalidArgument(
            "the password must not be your account name, with or without digits added");
      }
    }
  }
  const auto& common = CommonPasswords();
  if (common.contains(folded)) {
    return Status::InvalidArgument(
        "this is one of the most commonly used passwords; choose one that is harder to guess");
  }
  if (!stripped.empty() && common.contains(stripped)) {
    return Status::InvalidArgument(
        "this is a commonly used password with digits or symbols added at the end; choose one "
        "that is harder to guess");
  }
  return Status::Ok();
}

}  // namespace switchboard::access
