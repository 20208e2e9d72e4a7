// `contest ...`: internal elections (docs/contests.md). check, words and
// names need only a rulebook file; load, amend, nominate, standing, release,
// ledger and report open a data directory and act as the operator, on the
// record. Registers with `app`, returns it to be run (cli/command.h).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/command.h"

namespace switchboard::cli {

std::unique_ptr<Command> AddContestCommands(CLI::App& app);

}  // namespace switchboard::cli
