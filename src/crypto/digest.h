// SHA-256 of a file, for backup manifests (cli/backup_commands.cc).
#pragma once

#include <string>

#include "core/status.h"

namespace switchboard::crypto {

// The file's SHA-256 in lower-case hex, read in 1 MiB pieces.
Result<std::string> Sha256File(const std::string& path);

}  // namespace switchboard::crypto
