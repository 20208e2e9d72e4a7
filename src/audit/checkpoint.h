// Signed checkpoints of the audit log and the keys that sign them.
//
// A checkpoint commits to the whole log: {tree size, RFC 6962 root, time,
// signing key id}, plus the size of the checkpoint before it, so that a
// checkpoint deleted from the middle of the chain is noticed. It is a C2SP
// tlog-checkpoint (c2sp.org/tlog-checkpoint) in a C2SP signed note
// (c2sp.org/signed-note), Ed25519 (libsodium), so that standard verifiers and
// witnesses can check it:
//
//   switchboard/audit/<key id>\n            origin (also the key name)
//   <tree size, decimal>\n
//   <root hash, standard base64 with padding>\n
//   time <microseconds since the epoch>\n   extension lines
//   previous <previous checkpoint's tree size; 0 for the first>\n
//   \n
//   — switchboard/audit/<key id> <base64(key hash || signature)>\n
//
// The signature is over the text up to the blank line; the key hash is the
// first 4 bytes of SHA-256(key name || 0x0A || 0x01 || public key). The
// verifier key in the standard form is VerifyKey::VKey().
//
// Checkpoints signed before version 16 (CheckpointFormat::kLegacy) signed
// another text ("switchboard-audit/v1", size, root, time, previous size, key
// id, one per line); they stay verifiable as they are, and are not re-signed:
// a fresh signature would vouch today for a state only the old one saw.
//
// A witness file keeps copies outside the database: signed notes, each
// followed by a blank line, and older checkpoints one per line ("<size>
// <root b64> <time> <previous size> <key id> <signature b64>"); blank lines
// and lines starting with '#' between them are comments. The checkpoint log
// (audit/checkpoint_log.h) is made of files in the same format.
//
// SigningKey lives in its own file (mode 0600, refused when group or others
// can read it, like crypto::Keyring). VerifyKey is public and may be handed
// to anyone who wants to check checkpoints. Both are immutable and safe to
// share between threads.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/merkle.h"
#include "core/clock.h"
#include "core/status.h"

namespace switchboard::audit {

constexpr size_t kPublicKeyBytes = 32;
constexpr size_t kSignatureBytes = 64;

struct Checkpoint {
  std::uint64_t tree_size = 0;
  Hash root{};
  Micros time = 0;
  std::uint64_t previous_size = 0;  // the tree size of the checkpoint before; 0 for none
  std::string key_id;

  // The tlog-checkpoint body above: the bytes a signed note's signature covers.
  std::string Encode() const;
  // The text checkpoints signed before signed notes (kLegacy).
  std::string EncodeLegacy() const;
};

// The origin line and key name of the log signed by key `key_id`.
std::string CheckpointOrigin(std::string_view key_id);

enum class CheckpointFormat : int {
  kLegacy = 1,      // before version 16: EncodeLegacy() signed
  kSignedNote = 2,  // a C2SP signed note over Encode()
};

struct SignedCheckpoint {
  Checkpoint checkpoint;
  std::string signature;  // kSignatureBytes raw bytes
  CheckpointFormat format = CheckpointFormat::kSignedNote;
  // The signed note's 4-byte key hash (kSignedNote only).
  std::string key_hash;

  // The bytes the signature covers.
  std::string SignedText() const;
};

// The whole signed note (kSignedNote only), ending with a newline.
std::string FormatSignedNote(const SignedCheckpoint& cp);
// Parses a signed note holding one of these checkpoints: the body's shape
// and the signature line naming the origin's key. It does not check the
// signature (VerifyKey::Verify does).
Result<SignedCheckpoint> ParseSignedNote(std::string_view note);

class VerifyKey {
 public:
  // From the 32 raw bytes of an Ed25519 public key (kInvalidArgument otherwise).
  static Result<VerifyKey> FromBytes(std::string_view public_key);
  // From "<key id> <public key hex>", as printed by ToString(), or from the
  // signed-note verifier key form, as printed by VKey().
  static Result<VerifyKey> Parse(std::string_view text);
  std::string ToString() const;
  // The C2SP signed-note verifier key:
  // "<key name>+<key hash, 8 hex digits>+<base64(0x01 || public key)>".
  std::string VKey() const;
  const std::string& note_name() const { return note_name_; }
  const std::string& note_key_hash() const { return note_key_hash_; }  // 4 bytes

  // A short id derived from the public key: 16 hex digits of its SHA-256.
  const std::string& key_id() const { return key_id_; }
  const std::array<std::uint8_t, kPublicKeyBytes>& public_key() const { return pk_; }

  // OK when `signed_cp` carries this key's id and a valid signature over its
  // canonical text; kDataLoss naming the tree size otherwise.
  Status Verify(const SignedCheckpoint& signed_cp) const;

 private:
  VerifyKey() = default;
  std::array<std::uint8_t, kPublicKeyBytes> pk_{};
  std::string key_id_;
  std::string note_name_;
  std::string note_key_hash_;
};

class SigningKey {
 public:
  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  // A fresh random key.
  static std::unique_ptr<SigningKey> Generate();
  // Reads a key file. Refuses (kFailedPrecondition) a file that group or
  // others can read, and names the chmod that fixes it.
  static Result<std::unique_ptr<SigningKey>> Load(const std::string& path);
  // Writes a new file with mode 0600; refuses to overwrite one (kAlreadyExists).
  Status Save(const std::string& path) const;

  const VerifyKey& verify_key() const { return verify_; }
  const std::string& key_id() const { return verify_.key_id(); }

  // Sets checkpoint.key_id to this key's id and signs it as a signed note.
  SignedCheckpoint Sign(Checkpoint checkpoint) const;
  // Signs the legacy text (kLegacy), as releases before version 16 did. For
  // tests of the upgrade path only: new checkpoints are signed notes.
  SignedCheckpoint SignLegacyForTesting(Checkpoint checkpoint) const;

 private:
  SigningKey(const std::array<std::uint8_t, 64>& sk, VerifyKey vk);
  std::array<std::uint8_t, 64> sk_{};  // libsodium's seed || public key form
  VerifyKey verify_;
};

// Standard base64 with padding, and its strict inverse.
std::string Base64(std::string_view bytes);
Result<std::string> FromBase64(std::string_view text);

// One witness-file entry without its final newline: the signed note, or for
// a kLegacy checkpoint its one line. ParseWitnessLine reads a legacy line.
std::string FormatWitnessLine(const SignedCheckpoint& cp);
Result<SignedCheckpoint> ParseWitnessLine(std::string_view line);
// The entry as appended to a witness file: FormatWitnessLine and a newline,
// and for a note the blank line that ends it.
std::string FormatWitnessEntry(const SignedCheckpoint& cp);

// Appends checkpoints to a witness file and syncs it, under an exclusive
// flock() so that two processes appending never interleave. A missing file is
// created (mode 0644) starting with `header` (comment lines, may be empty) and
// its directory synced, so that a crash cannot lose the new file. A last line
// cut short by a crash (no newline at the end) is first cut off, or, when it
// is a whole checkpoint that only lacks its newline, completed.
Status AppendToWitnessFile(const std::string& path, const std::vector<SignedCheckpoint>& cps,
                           std::string_view header = {});

// A witness file as read.
struct WitnessFile {
  std::vector<SignedCheckpoint> checkpoints;  // in file order
  // The last line lacked its newline and did not parse: a write cut short by
  // a crash. It is ignored (and cut off by the next append).
  bool torn_tail = false;
};

// Reads every checkpoint in a witness file. A malformed line is kDataLoss
// naming its line number, except a torn last line (see WitnessFile); a file
// that does not exist is kNotFound.
Result<WitnessFile> ReadWitnessFileFully(const std::string& path);
// The checkpoints only (as ReadWitnessFileFully).
Result<std::vector<SignedCheckpoint>> ReadWitnessFile(const std::string& path);
// The last checkpoint in a witness file, reading only the end of the file;
// nullopt when it holds none. A torn last line is skipped; the line before
// it must parse. kNotFound when the file does not exist.
Result<std::optional<SignedCheckpoint>> ReadLastWitnessLine(const std::string& path);

}  // namespace switchboard::audit
