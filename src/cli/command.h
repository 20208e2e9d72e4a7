// Command: one top-level subcommand of `switchboard` (with its own
// subcommands). Its constructor registers its options with CLI11; after
// parsing, Run runs it when it was the one given. cli.cc builds one of each
// and runs whichever was given. Also the --data-dir/--store options and the
// progress bar the command groups share.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/log.h"
#include "core/mutex.h"

namespace switchboard::cli {

class OpenedApps;

class Command {
 public:
  virtual ~Command() = default;
  // The exit code when this command was given; nullopt otherwise. Data
  // directories are opened through `opened`, which seals them afterwards.
  virtual std::optional<int> Run(OpenedApps& opened) = 0;
};

// --data-dir and --store, for a command that opens a data directory.
struct Common {
  std::string data_dir;  // default: server::DefaultDataDir()
  std::string store;
  Common();
};
void AddCommon(CLI::App* cmd, Common* c);

// A progress bar on a terminal (standard error), nothing otherwise. While
// it is drawn, log lines (also on standard error) clear its line, print, and
// draw it again below them, so no log line shares the bar's line.
class Progress {
 public:
  explicit Progress(const char* what);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void Update(std::uint64_t done, std::uint64_t total, std::uint64_t rows);

 private:
  void Draw() SB_REQUIRES(mu_);
  void LogLine(std::string_view line);

  const char* what_;
  bool tty_;
  Mutex mu_;  // Update runs on the importing thread, log lines on any
  int last_ SB_GUARDED_BY(mu_) = -1;
  std::uint64_t rows_ SB_GUARDED_BY(mu_) = 0;
  log::Sink previous_;
};

}  // namespace switchboard::cli
