// TimeZone: an IANA time zone ("Europe/London") from the system's tz
// database (/usr/share/zoneinfo, read by Howard Hinnant's date/tz library;
// libstdc++ 12 has no std::chrono::tzdb). Used for anything that depends on
// the organisation's wall clock, such as phone-bank calling hours; everything
// stored stays UTC.
//
// A TimeZone is a small value (a pointer into the library's database, which
// lives for the whole process) and safe to share between threads.
#pragma once

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"

namespace date {
class time_zone;
}

namespace switchboard {

class TimeZone {
 public:
  // UTC.
  TimeZone() = default;
  // The zone with this IANA name; kInvalidArgument for an unknown name.
  static Result<TimeZone> Find(std::string_view name);

  // The IANA name ("UTC" for the default).
  const std::string& name() const { return name_; }
  // Minutes after local midnight at `t` (0-1439), daylight saving included.
  int MinuteOfDay(Micros t) const;
  // Seconds east of UTC at `t` (3600 for British Summer Time).
  int OffsetSeconds(Micros t) const;
  // The zone's abbreviation at `t` ("GMT", "BST"); for zones without one the
  // library gives the offset ("+03").
  std::string Abbreviation(Micros t) const;
  // "2026-03-29 10:00 BST": the local date and time at `t`, to the minute.
  std::string FormatLocal(Micros t) const;

 private:
  const date::time_zone* zone_ = nullptr;  // nullptr: UTC
  std::string name_ = "UTC";
};

}  // namespace switchboard
