// Keyring: the secret keys of one deployment, kept in one file (<data-dir>/
// keys/keyring, mode 0600) outside the database, so a copy of the database
// alone reveals no contact data.
//
//   - field-encryption keys, numbered; new values are sealed with the active
//     one, old values stay readable with theirs (rotation = add a key);
//   - one blind-index key for keyed hashes used for look-up and de-duplication.
//
// Not changed once shared: a rotation loads the file, rotates and saves a
// new keyring, and a running server swaps its snapshot (crypto/sealer.h).
// Safe to share between threads. Key bytes are wiped from memory when the
// keyring is destroyed.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

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

  // Replaces the keyring file at `path` atomically: writes `path`.new (0600,
  // synced), renames it over `path` and syncs the directory, so a crash
  // leaves the old file or the new one, never a mix.
  Status SaveReplacing(const std::string& path) const;

  // Adds a new encryption key and makes it active; returns its id.
  std::uint32_t Rotate();
  // Removes encryption key `id`. kFailedPrecondition for the active key,
  // kNotFound for an unknown one. The caller checks no value uses it.
  Status Retire(std::uint32_t id);
  // Every encryption key's id, ascending.
  std::vector<std::uint32_t> key_ids() const;

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
