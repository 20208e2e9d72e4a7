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

// A progress bar on a terminal (standard error), nothing otherwise.
class Progress {
 public:
  explicit Progress(const char* what);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void Update(std::uint64_t done, std::uint64_t total, std::uint64_t rows);

 private:
  const char* what_;
  bool tty_;
  int last_ = -1;
};

}  // namespace switchboard::cli
