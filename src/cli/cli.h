// The `switchboard` command line: parses arguments (CLI11) and runs one
// subcommand. Exit codes: 0 success, 1 runtime failure, 2 bad usage or input,
// 3 the audit log failed a check (cli/exit_codes.h).
#pragma once

namespace switchboard::cli {

int Main(int argc, char** argv);

}  // namespace switchboard::cli
