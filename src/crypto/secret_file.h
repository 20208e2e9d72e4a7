// Files that hold secrets (the keyring, the audit signing key): created 0600,
// never overwritten, synced to disk; refused on reading when group or others
// can read them. Buffers holding secret text are wiped after use.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace switchboard::crypto {

// Creates `path` with mode 0600 and writes `text`, then wipes `text`.
// kAlreadyExists if the file exists ("a <what> already exists at ...").
Status WriteSecretFile(const std::string& path, std::string& text, std::string_view what);

// Reads a secret file. kNotFound when missing (the message adds `missing_hint`),
// kFailedPrecondition when group or others may read it (naming the chmod).
Result<std::string> ReadSecretFile(const std::string& path, std::string_view what,
                                   std::string_view missing_hint = {});

}  // namespace switchboard::crypto
