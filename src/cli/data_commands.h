// `init`, `import`, `generate` and `status`: create a data directory, load
// members, postcodes, units and a carried-over suppression list into it,
// add synthetic members, and count what it holds. Each Add* registers one
// top-level subcommand with `app` and returns it to be run (cli/command.h).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/command.h"

namespace switchboard::cli {

std::unique_ptr<Command> AddInitCommand(CLI::App& app);
std::unique_ptr<Command> AddImportCommands(CLI::App& app);
std::unique_ptr<Command> AddGenerateCommands(CLI::App& app);

}  // namespace switchboard::cli
