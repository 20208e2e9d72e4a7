// Exit codes of the `switchboard` command: 0 success, 1 runtime failure,
// 2 bad usage or input, 3 the audit log failed a check (altered, rolled back,
// or its checkpoint log missing: docs/operations.md). ExitFor prints the
// status's message to stderr.
#pragma once

#include <cstdio>

#include "core/status.h"

namespace switchboard::cli {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;
constexpr int kExitAudit = 3;

inline int ExitFor(const Status& st) {
  if (st.ok()) return kExitOk;
  std::fprintf(stderr, "switchboard: %s\n", st.message().c_str());
  switch (st.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kAlreadyExists:
      return kExitUsage;
    default:
      return kExitRuntime;
  }
}

}  // namespace switchboard::cli
