// Signed checkpoints of the audit log and the keys that sign them.
//
// A checkpoint commits to the whole log: {tree size, RFC 6962 root, time,
// signing key id}, plus the size of the checkpoint before it, so that a
// checkpoint deleted from the middle of the chain is noticed. Its canonical
// text, the bytes that are signed (Ed25519, libsodium), is in the style of
// the transparency-dev checkpoint format:
//
//   switchboard-audit/v1\n
//   <tree size, decimal>\n
//   <root hash, standard base64 with padding>\n
//   <time, microseconds since the epoch, decimal>\n
//   <previous checkpoint's tree size, decimal; 0 for the first>\n
//   <key id>\n
//
// A witness file keeps copies outside the database, one signed checkpoint per
// line: "<size> <root b64> <time> <previous size> <key id> <signature b64>";
// blank lines and lines starting with '#' are comments. The checkpoint log
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

  // The canonical text above: the bytes that are signed.
  std::string Encode() const;
};

struct SignedCheckpoint {
  Checkpoint checkpoint;
  std::string signature;  // kSignatureBytes raw bytes
};

class VerifyKey {
 public:
  // From the 32 raw bytes of an Ed25519 public key (kInvalidArgument otherwise).
  static Result<VerifyKey> FromBytes(std::string_view public_key);
  // From "<key id> <public key hex>", as printed by ToString().
  static Result<VerifyKey> Parse(std::string_view text);
  std::string ToString() const;

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

  // Sets checkpoint.key_id to this key's id and signs the canonical text.
  SignedCheckpoint Sign(Checkpoint checkpoint) const;

 private:
  SigningKey(const std::array<std::uint8_t, 64>& sk, VerifyKey vk);
  std::array<std::uint8_t, 64> sk_{};  // libsodium's seed || public key form
  VerifyKey verify_;
};

// Standard base64 with padding, and its strict inverse.
std::string Base64(std::string_view bytes);
Result<std::string> FromBase64(std::string_view text);

// One witness-file line (without the newline), and its parser.
std::string FormatWitnessLine(const SignedCheckpoint& cp);
Result<SignedCheckpoint> ParseWitnessLine(std::string_view line);

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
