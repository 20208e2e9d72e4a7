// `audit verify | prove | consistency | query | checkpoint | adopt`: check the
// audit log against its Merkle tree and signed checkpoints, print proofs and
// events, sign a checkpoint, re-create the checkpoint log. Registers with
// `app`, returns it to be run (cli/command.h).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/command.h"

namespace switchboard::cli {

std::unique_ptr<Command> AddAuditCommands(CLI::App& app);

}  // namespace switchboard::cli
