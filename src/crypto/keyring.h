// Keyring: the secret keys of one deployment, kept in one file (<data-dir>/
// keys/keyring, mode 0600) outside the database, so a copy of the database
// alone reveals no contact data.
//
//   - field-encryption keys, numbered; new values are sealed with the active
//     one, old values stay readable with theirs (rotation = add a key);
//   - one blind-index key for keyed hashes used for look-up and de-duplication.
//
// Immutable after loading; safe to share between threads. Key bytes are
// wiped from memory when the keyring is destroyed.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/status.h"

namespace switchboard::crypto {

constexpr size_t kKeyBytes = 32;
using Key = std::array<unsigned char, kKeyBytes>;

class Keyring {
 public:
  ~Keyring();
  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;

  // A fresh keyring with one encryption key (id 1) and a blind-index key.
  static std::unique_ptr<Keyring> Generate();
  // Reads a keyring file. Refuses (kFailedPrecondition) a file that group or
  // others can read, and names the chmod that fixes it.
  static Result<std::unique_ptr<Keyring>> Load(const std::string& path);
  // Writes the keyring to a new file created with mode 0600; refuses to
  // overwrite an existing file.
  Status Save(const std::string& path) const;

  // Adds a new encryption key and makes it active; returns its id.
  std::uint32_t Rotate();

  std::uint32_t active_key_id() const { return active_; }
  // nullptr when the id is unknown.
  const Key* encryption_key(std::uint32_t id) const;
  const Key& blind_index_key() const { return blind_; }
  // A short public fingerprint (hex) identifying this keyring, for checking
  // that a database and a keyring belong together. Reveals nothing of the keys.
  std::string Fingerprint() const;

 private:
  Keyring() = default;
  std::map<std::uint32_t, Key> keys_;
  std::uint32_t active_ = 0;
  Key blind_{};
};

// Hex helpers (lower case).
std::string ToHex(std::string_view bytes);
std::string ToHex(const void* data, size_t size);
Result<std::string> FromHex(std::string_view hex);

// Initialises libsodium once; aborts if it cannot (a broken environment).
void EnsureSodium();

}  // namespace switchboard::crypto
