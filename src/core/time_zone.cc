#include "core/time_zone.h"

#include <date/tz.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

namespace switchboard {

namespace {

using std::chrono::microseconds;
using std::chrono::seconds;

std::chrono::sys_time<microseconds> SysTime(Micros t) {
  return std::chrono::sys_time<microseconds>(microseconds(t));
}

}  // namespace

Result<TimeZone> TimeZone::Find(std::string_view name) {
  TimeZone z;
  if (name.empty()) return Status::InvalidArgument("a time zone needs a name, e.g. Europe/London");
  try {
    z.zone_ = date::locate_zone(name);
  } catch (const std::exception&) {
    return Status::InvalidArgument("unknown time zone \"" + std::string(name) +
                                   "\"; use an IANA name such as Europe/London (see "
                                   "/usr/share/zoneinfo)");
  }
  z.name_ = std::string(name);
  return z;
}

int TimeZone::OffsetSeconds(Micros t) const {
  if (!zone_) return 0;
  return static_cast<int>(zone_->get_info(date::floor<seconds>(SysTime(t))).offset.count());
}

int TimeZone::MinuteOfDay(Micros t) const {
  const Micros local = t + static_cast<Micros>(OffsetSeconds(t)) * kMicrosPerSecond;
  constexpr Micros kPerMinute = 60 * kMicrosPerSecond;
  Micros in_day = local % kMicrosPerDay;
  if (in_day < 0) in_day += kMicrosPerDay;
  return static_cast<int>(in_day / kPerMinute);
}

std::string TimeZone::Abbreviation(Micros t) const {
  if (!zone_) return "UTC";
  return zone_->get_info(date::floor<seconds>(SysTime(t))).abbrev;
}

std::string TimeZone::FormatLocal(Micros t) const {
  const Micros local = t + static_cast<Micros>(OffsetSeconds(t)) * kMicrosPerSecond;
  Micros day = local / kMicrosPerDay;
  if (local % kMicrosPerDay < 0) --day;
  const int minute = MinuteOfDay(t);
  char buf[16];
  std::snprintf(buf, sizeof buf, " %02d:%02d ", minute / 60, minute % 60);
  return FormatDate(day) + buf + Abbreviation(t);
}

}  // namespace switchboard
