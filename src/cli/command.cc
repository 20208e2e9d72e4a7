#include "cli/command.h"

#include <unistd.h>

#include <cstdio>

#include "server/app.h"

namespace switchboard::cli {

Common::Common() : data_dir(server::DefaultDataDir()) {}

void AddCommon(CLI::App* cmd, Common* c) {
  cmd->add_option("--data-dir", c->data_dir,
                  "Data directory: database, keys and configuration (default "
                  "$SWITCHBOARD_DATA_DIR, else ./switchboard-data)");
  cmd->add_option("--store", c->store,
                  "Store to use instead of the configured one: a SQLite file path or a "
                  "postgresql:// URL");
}

Progress::Progress(const char* what) : what_(what), tty_(::isatty(STDERR_FILENO)) {}

Progress::~Progress() {
  if (tty_ && last_ >= 0) std::fprintf(stderr, "\n");
}

void Progress::Update(std::uint64_t done, std::uint64_t total, std::uint64_t rows) {
  if (!tty_ || total == 0) return;
  const int pct = static_cast<int>(done * 100 / total);
  if (pct == last_) return;
  last_ = pct;
  std::string bar(pct / 4, '#');
  bar.resize(25, ' ');
  std::fprintf(stderr, "\r%s [%s] %3d%%  %llu rows", what_, bar.c_str(), pct,
               static_cast<unsigned long long>(rows));
  std::fflush(stderr);
}

}  // namespace switchboard::cli
