#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/access_commands.h"
#include "cli/audit_commands.h"
#include "cli/backup_commands.h"
#include "cli/breach_commands.h"
#include "cli/command.h"
#include "cli/contest_commands.h"
#include "cli/data_commands.h"
#include "cli/erasure_commands.h"
#include "cli/exit_codes.h"
#include "cli/export_commands.h"
#include "cli/info_commands.h"
#include "cli/key_commands.h"
#include "cli/mail_commands.h"
#include "cli/opened_apps.h"
#include "cli/privacy_commands.h"
#include "cli/serve_commands.h"
#include "cli/telephony_commands.h"

namespace switchboard::cli {
namespace {

// Edit distance between two short words (insertions, deletions,
// substitutions and swaps of neighbours each cost one).
size_t Distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// For a word where a subcommand must be ("switchboard improt ..."), says so
// and names the nearest subcommands before CLI11 would answer only "The
// following arguments were not expected". True when it printed that.
bool SuggestSubcommand(CLI::App& app, int argc, char** argv) {
  CLI::App* at = &app;
  std::string path = "switchboard";
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word.empty() || word.front() == '-') return false;
    const std::vector<CLI::App*> subs = at->get_subcommands({});
    if (subs.empty() || at->get_require_subcommand_min() == 0) return false;
    CLI::App* next = nullptr;
    for (CLI::App* s : subs) {
      if (s->check_name(std::string(word))) next = s;
    }
    if (next) {
      at = next;
      path += " " + next->get_name();
      continue;
    }
    if (word.size() > 64) return false;  // no distance table for a pasted blob
    size_t best = std::string::npos;
    std::vector<std::string> near;
    for (CLI::App* s : subs) {
      const std::string& name = s->get_name();
      const size_t limit = std::max<size_t>(2, name.size() / 3);
      const size_t d = std::min(Distance(word, name),
                                name.rfind(word, 0) == 0 && word.size() >= 3 ? 1 : limit + 1);
      if (d > limit) continue;
      if (d < best) {
        best = d;
        near.clear();
      }
      if (d == best) near.push_back(name);
    }
    std::string names;
    for (CLI::App* s : subs) names += (names.empty() ? "" : ", ") + s->get_name();
    std::fprintf(stderr, "switchboard: \"%.*s\" is not a subcommand of %s.\n",
                 static_cast<int>(word.size()), word.data(), path.c_str());
    if (!near.empty()) {
      std::string which;
      for (size_t k = 0; k < near.size(); ++k) {
        which += (k == 0 ? "" : k + 1 == near.size() ? " or " : ", ") + path + " " + near[k];
      }
      std::fprintf(stderr, "Did you mean %s?\n", which.c_str());
    }
    std::fprintf(stderr, "The subcommands are: %s. `%s --help` says more.\n", names.c_str(),
                 path.c_str());
    return true;
  }
  return false;
}

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
  commands.push_back(AddTelephonyCommands(app));
  commands.push_back(AddGenerateCommands(app));
  commands.push_back(AddServeCommand(app));
  commands.push_back(AddDemoCommand(app));
  commands.push_back(AddPolicyCommands(app));
  commands.push_back(AddAuditCommands(app));
  commands.push_back(AddBreachCommands(app));
  commands.push_back(AddContestCommands(app));
  commands.push_back(AddPrivacyCommands(app));
  commands.push_back(AddExportCommands(app));
  commands.push_back(AddApiCommands(app));
  commands.push_back(AddStatusCommand(app));
  commands.push_back(std::make_unique<AccessCommands>(app));
  commands.push_back(AddErasureCommands(app));
  commands.push_back(AddBackupCommands(app));
  commands.push_back(AddKeyCommands(app));

  if (SuggestSubcommand(app, argc, argv)) return kExitUsage;
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
