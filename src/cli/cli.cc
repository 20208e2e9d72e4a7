#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <memory>
#include <vector>

#include "cli/access_commands.h"
#include "cli/audit_commands.h"
#include "cli/command.h"
#include "cli/contest_commands.h"
#include "cli/data_commands.h"
#include "cli/exit_codes.h"
#include "cli/info_commands.h"
#include "cli/mail_commands.h"
#include "cli/opened_apps.h"
#include "cli/serve_commands.h"

namespace switchboard::cli {
namespace {

// Parses the command line and runs one subcommand, opening data directories
// through `opened`.
int Dispatch(int argc, char** argv, OpenedApps& opened) {
  CLI::App app{"Switchboard: contact members without taking custody of their data.", "switchboard"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "switchboard 0.1.0");

  // In the order `switchboard --help` lists them.
  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(AddInitCommand(app));
  commands.push_back(AddImportCommands(app));
  commands.push_back(AddMailCommands(app));
  commands.push_back(AddGenerateCommands(app));
  commands.push_back(AddServeCommand(app));
  commands.push_back(AddDemoCommand(app));
  commands.push_back(AddPolicyCommands(app));
  commands.push_back(AddAuditCommands(app));
  commands.push_back(AddContestCommands(app));
  commands.push_back(AddApiCommands(app));
  commands.push_back(AddStatusCommand(app));
  commands.push_back(std::make_unique<AccessCommands>(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  for (auto& command : commands) {
    if (auto code = command->Run(opened)) return *code;
  }
  return kExitUsage;
}

}  // namespace

int Main(int argc, char** argv) {
  // Every command ends by sealing what it appended to the audit log, however
  // it returns.
  OpenedApps opened;
  return opened.Finish(Dispatch(argc, argv, opened));
}

}  // namespace switchboard::cli
