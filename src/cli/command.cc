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

Progress::Progress(const char* what) : what_(what), tty_(::isatty(STDERR_FILENO)) {
  if (tty_) previous_ = log::SetLogSink([this](std::string_view line) { LogLine(line); });
}

Progress::~Progress() {
  if (!tty_) return;
  log::SetLogSink(std::move(previous_));
  MutexLock l(mu_);
  if (last_ >= 0) std::fprintf(stderr, "\n");
}

void Progress::Draw() {
  std::string bar(static_cast<size_t>(last_ / 4), '#');
  bar.resize(25, ' ');
  std::fprintf(stderr, "\r%s [%s] %3d%%  %llu rows", what_, bar.c_str(), last_,
               static_cast<unsigned long long>(rows_));
  std::fflush(stderr);
}

void Progress::LogLine(std::string_view line) {
  MutexLock l(mu_);
  // Clear the bar's line, print the log line whole, then draw the bar again.
  if (last_ >= 0) std::fputs("\r\x1b[K", stderr);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fputc('\n', stderr);
  if (last_ >= 0) Draw();
  std::fflush(stderr);
}

void Progress::Update(std::uint64_t done, std::uint64_t total, std::uint64_t rows) {
  if (!tty_ || total == 0) return;
  const int pct = static_cast<int>(done * 100 / total);
  MutexLock l(mu_);
  rows_ = rows;
  if (pct == last_) return;
  last_ = pct;
  Draw();
}

}  // namespace switchboard::cli
