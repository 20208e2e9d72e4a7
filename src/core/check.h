// Checks for broken invariants (bugs), never for input. SB_CHECK is always on;
// SB_DCHECK only in debug builds. A failed check prints the place and aborts.
#pragma once

namespace switchboard::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* expr);
}  // namespace switchboard::internal

#define SB_CHECK(cond)                                                            \
  do {                                                                            \
    if (!(cond)) ::switchboard::internal::CheckFailed(__FILE__, __LINE__, #cond); \
  } while (0)

#ifdef NDEBUG
#define SB_DCHECK(cond) \
  do {                  \
  } while (0 && (cond))
#else
#define SB_DCHECK(cond) SB_CHECK(cond)
#endif
