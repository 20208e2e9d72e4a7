// Clock: the only source of "now". Every rule that depends on time takes a
// Clock& so tests can jump weeks ahead in microseconds. Implementations are
// thread-safe; SystemClock is stateless, ManualClock and OffsetClock are
// atomic.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace switchboard {

// Microseconds since the Unix epoch, UTC. The one time type stored everywhere.
using Micros = std::int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Micros Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Micros Now() const override;
};

// A clock that only moves when told to. For tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Micros start) : now_(start) {}
  Micros Now() const override { return now_.load(); }
  void Set(Micros t) { now_.store(t); }
  void Advance(Micros d) { now_.fetch_add(d); }

 private:
  std::atomic<Micros> now_;
};

// Another clock plus an offset that only ever grows: demo mode's clock
// (server::App), which a demonstrator moves forward through a contest's
// timeline. Never goes back, however its moves interleave.
class OffsetClock final : public Clock {
 public:
  // `base` must outlive this clock; `offset` must not be negative.
  explicit OffsetClock(const Clock& base, Micros offset = 0);
  Micros Now() const override { return base_.Now() + offset_.load(); }
  Micros offset() const { return offset_.load(); }
  // Moves the clock forward by `d` (> 0); kInvalidArgument otherwise.
  // Returns the new offset.
  Result<Micros> Advance(Micros d);
  // Raises the offset to `offset` if it is below it; returns the offset in
  // force afterwards (never lower than before).
  Micros RaiseOffsetTo(Micros offset);

 private:
  const Clock& base_;
  std::atomic<Micros> offset_;
};

constexpr Micros kMicrosPerSecond = 1'000'000;
constexpr Micros kMicrosPerDay = 86'400 * kMicrosPerSecond;

// "2026-11-24T18:45:54Z" (seconds precision, always UTC).
std::string FormatTimestamp(Micros t);
// Parses an ISO 8601 date ("2026-11-24") or date-time with Z or an offset.
Result<Micros> ParseTimestamp(std::string_view text);
// "now", a relative time after `now` ("+30m", "+8h", "+30d", "+2w") or an
// ISO 8601 timestamp (ParseTimestamp). kInvalidArgument otherwise.
Result<Micros> ParseTimeOrOffset(std::string_view text, Micros now);
// Days since 1970-01-01 for a civil date; false if the date does not exist.
bool CivilToDays(int y, int m, int d, std::int64_t* days);
// "2026-11-24" for a day number.
std::string FormatDate(std::int64_t days);
// Parses "YYYY-MM-DD" into days since the epoch.
Result<std::int64_t> ParseDate(std::string_view text);

}  // namespace switchboard
