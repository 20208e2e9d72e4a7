// `switchboard sar MEMBER`: a member's subject-access report (privacy/sar.h)
// as JSON, HTML or PDF, made by a signed-in account holding privacy.sar and
// recorded like the DPO screen's (docs/privacy.md).
#pragma once

#include <memory>

#include "cli/command.h"

namespace switchboard::cli {

std::unique_ptr<Command> AddPrivacyCommands(CLI::App& app);

}  // namespace switchboard::cli
