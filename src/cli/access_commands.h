// The `account`, `grant` and `access` subcommands. An acting account proves
// who it is: its password on standard input (--password-stdin) and, for
// privileged roles, a current TOTP code (--totp). The operator alone may only
// create and suspend accounts and make the one bootstrap grant; all of it is
// recorded in the audit log.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>

#include "cli/command.h"

namespace switchboard::cli {

class AccessCommands final : public Command {
 public:
  explicit AccessCommands(CLI::App& app);
  ~AccessCommands() override;
  // The exit code when one of these subcommands was given; nullopt otherwise.
  // The data directory is opened through `opened`, which seals it afterwards.
  std::optional<int> Run(OpenedApps& opened) override;

  struct State;

 private:
  std::unique_ptr<State> s_;
};

// "2026-12-01", "2026-12-01T09:00:00Z", or relative to now: "+8h", "+30d",
// "+2w", "+90m", "now".
struct ParsedTime {
  bool ok = false;
  long long micros = 0;
};
ParsedTime ParseWhen(const std::string& text, long long now_micros);

}  // namespace switchboard::cli
