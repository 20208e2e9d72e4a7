// CheckpointLog: a copy, outside the database, of every checkpoint the audit
// log signs (docs/security.md, "The audit log"). Someone who can write to the
// database can delete events and the checkpoints that covered them; they
// cannot reach these files without access to the data directory (or the
// other machine or mount that holds them), and cannot forge a signature.
//
// One or more files ([audit] checkpoint_logs), each in the witness-file
// format of audit/checkpoint.h: one signed checkpoint per line, appended and
// synced with fsync. AuditLog::Checkpoint appends each checkpoint after it is
// committed to the database, so a crash in between leaves the database at
// most one checkpoint ahead, never behind; the next checkpoint catches up.
//
// Thread-safe: every method works on the files alone, under flock().
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "core/status.h"

namespace switchboard::audit {

class CheckpointLog {
 public:
  explicit CheckpointLog(std::vector<std::string> paths) : paths_(std::move(paths)) {}

  const std::vector<std::string>& paths() const { return paths_; }

  // The comment a new file starts with.
  static std::string Header();

  struct Head {
    std::string path;
    bool exists = false;
    std::optional<SignedCheckpoint> newest;  // none in an empty file
  };
  // Each file's newest checkpoint, reading only the end of each file.
  Result<std::vector<Head>> Heads() const;

  // Creates each file that does not exist yet, holding only Header().
  Status CreateMissing() const;

  // Appends `cp` to each file whose newest checkpoint is smaller, and syncs it.
  Status Append(const SignedCheckpoint& cp) const;

  struct File {
    std::string path;
    bool exists = false;
    std::string damage;  // why the file could not be read as a whole, or empty
    WitnessFile content;
  };
  // Every file as a whole. Read it before opening the database transaction
  // it is compared with: a checkpoint appended after the database snapshot
  // would look like one deleted from the database.
  Result<std::vector<File>> ReadAll() const;

 private:
  std::vector<std::string> paths_;
};

}  // namespace switchboard::audit
