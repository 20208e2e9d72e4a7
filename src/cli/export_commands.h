// `export ...` and `leak ...`: member exports with their own canaries, and
// naming the export a leaked file came from (docs/privacy.md, "Exports and
// leak tracing"). keygen and open need no data directory; request, approve,
// download act as an account that signs in (password on standard input, a
// fresh authenticator code); list, leak trace and leak report act as the
// operator. Registers with `app`, returns it to be run (cli/command.h).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/command.h"

namespace switchboard::cli {

std::unique_ptr<Command> AddExportCommands(CLI::App& app);

}  // namespace switchboard::cli
