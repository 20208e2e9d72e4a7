// `mail deliver`: delivers every queued member e-mail now, over the relay
// the data directory's [mail] section names (serve does it in the
// background). Registers with `app`, returns it to be run (cli/command.h).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/command.h"

namespace switchboard::cli {

std::unique_ptr<Command> AddMailCommands(CLI::App& app);

}  // namespace switchboard::cli
