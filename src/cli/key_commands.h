// `switchboard keys list|rotate|reseal|retire` (docs/operations.md, "Key
// rotation"): a new active key written into the keyring file atomically,
// every sealed value re-sealed under it in batches (one transaction and one
// audit event each, resumable, safe while serve writes), and an old key
// removed once no value uses it. Registers with `app` (cli/command.h).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/command.h"

namespace switchboard::cli {

std::unique_ptr<Command> AddKeyCommands(CLI::App& app);

}  // namespace switchboard::cli
