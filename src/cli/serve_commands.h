// `serve` runs the HTTP API and web interface on a data directory until
// SIGINT or SIGTERM; `demo` first makes a fresh demo data directory
// (synthetic members, a live phone-bank campaign, a queued e-mail) and then
// serves it. Each Add* registers one top-level subcommand with `app` and
// returns it to be run (cli/command.h).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/command.h"

namespace switchboard::cli {

std::unique_ptr<Command> AddServeCommand(CLI::App& app);
std::unique_ptr<Command> AddDemoCommand(CLI::App& app);

}  // namespace switchboard::cli
