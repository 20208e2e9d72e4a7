// `policy check` and `api routes` describe what a policy file and this build
// define, without opening a data directory; `status` what a data directory
// holds and how its queues stand. Each Add* registers one
// top-level subcommand with `app` and returns it to be run (cli/command.h).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/command.h"

namespace switchboard::cli {

std::unique_ptr<Command> AddPolicyCommands(CLI::App& app);
std::unique_ptr<Command> AddApiCommands(CLI::App& app);
std::unique_ptr<Command> AddStatusCommand(CLI::App& app);

}  // namespace switchboard::cli
