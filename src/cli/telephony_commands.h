// `telephony check`: asks the SIP trunk [telephony] names whether it is
// there (OPTIONS, and REGISTER when `register` is set) and prints what
// answered. Registers with `app`, returns it to be run (cli/command.h).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/command.h"

namespace switchboard::cli {

std::unique_ptr<Command> AddTelephonyCommands(CLI::App& app);

}  // namespace switchboard::cli
