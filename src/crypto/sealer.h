// Sealer: encrypts contact data at rest (XChaCha20-Poly1305 with a random
// 192-bit nonce per value, key id stored beside the value so keys can rotate)
// and computes keyed blind indexes (BLAKE2b) for exact-match look-up and
// de-duplication without decrypting. The associated data binds a ciphertext
// to its purpose (e.g. "email"), so a phone ciphertext cannot be passed off as
// an email. Thread-safe. Holds the keyring as a snapshot that Reload()
// replaces atomically (after `switchboard keys rotate`, on SIGHUP): each call
// works with one snapshot from start to end, and a snapshot lives until the
// last call using it returns.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "crypto/keyring.h"

namespace switchboard::crypto {

struct Sealed {
  std::uint32_t key_id = 0;
  std::string bytes;  // nonce || ciphertext || tag
};

constexpr size_t kBlindIndexBytes = 16;

class Sealer {
 public:
  // Borrows `keyring`, which must outlive the Sealer (tests, one-shot tools).
  explicit Sealer(const Keyring& keyring);
  explicit Sealer(std::shared_ptr<const Keyring> keyring);

  // Seals with `keyring` from now on. kFailedPrecondition, changing nothing,
  // when its blind-index key differs (Fingerprint): blind indexes and derived
  // keys must stay the same for the database to stay readable.
  Status Reload(std::shared_ptr<const Keyring> keyring);
  // The keyring in use now.
  std::shared_ptr<const Keyring> keyring() const { return keyring_.load(); }

  Sealed Seal(std::string_view plaintext, std::string_view associated_data) const;
  // kDataLoss if the value was altered, the key id is unknown, or the
  // associated data differs from sealing time.
  Result<std::string> Open(const Sealed& sealed, std::string_view associated_data) const;

  // A 16-byte keyed hash of `domain` and `value` (e.g. "email", the
  // address's match key). Equal inputs give equal indexes.
  std::string BlindIndex(std::string_view domain, std::string_view value) const;

  // A 32-byte key for one purpose (e.g. "recovery-codes"), derived from the
  // blind-index key with keyed BLAKE2b: stable for a keyring, independent
  // between purposes, and revealing nothing of the keyring's keys.
  Key DeriveKey(std::string_view purpose) const;

 private:
  std::atomic<std::shared_ptr<const Keyring>> keyring_;
};

}  // namespace switchboard::crypto
