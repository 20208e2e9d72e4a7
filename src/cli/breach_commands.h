// `breach record | list | show | affected`: the breach register
// (privacy/breach.h) at the command line. Registers with `app`, returns it
// to be run (cli/command.h).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/command.h"

namespace switchboard::cli {

std::unique_ptr<Command> AddBreachCommands(CLI::App& app);

}  // namespace switchboard::cli
