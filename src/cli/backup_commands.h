// `switchboard backup --to DIR` and `switchboard restore --from DIR --to
// NEWDIR` (docs/operations.md, "Backup and restore drill"). A backup is a
// consistent copy of the database taken while serve runs (Store::BackupTo),
// the configuration, the audit verifier key and a manifest (manifest.json:
// keyring fingerprint, the newest signed checkpoint the copy holds, schema
// version, time, the SHA-256 of every file); the keys only with
// --with-keyring. Restore refuses a backup whose files, keyring or audit log
// do not check out, and never writes into a directory or database that holds
// anything. Registers with `app`, returns it to be run (cli/command.h).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/command.h"

namespace switchboard::cli {

std::unique_ptr<Command> AddBackupCommands(CLI::App& app);

}  // namespace switchboard::cli
