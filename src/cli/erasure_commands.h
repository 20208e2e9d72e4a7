// Privacy operations run by the operator (docs/privacy.md): `erase MEMBER`,
// `retention run`, `canary plant`. Each opens the data directory, acts in one
// transaction per step with its audit event, and ends under a signed
// checkpoint (cli/opened_apps.h). Registers with `app`, returns it to be run
// (cli/command.h).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/command.h"

namespace switchboard::cli {

std::unique_ptr<Command> AddErasureCommands(CLI::App& app);

}  // namespace switchboard::cli
