#include "core/clock.h"

#include <cstdio>

namespace switchboard {

Micros SystemClock::Now() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

OffsetClock::OffsetClock(const Clock& base, Micros offset)
    : base_(base), offset_(offset > 0 ? offset : 0) {}

Result<Micros> OffsetClock::Advance(Micros d) {
  if (d <= 0) return Status::InvalidArgument("the clock only moves forward");
  Micros cur = offset_.load();
  while (!offset_.compare_exchange_weak(cur, cur + d)) {
  }
  return cur + d;
}

Micros OffsetClock::RaiseOffsetTo(Micros offset) {
  Micros cur = offset_.load();
  while (cur < offset && !offset_.compare_exchange_weak(cur, offset)) {
  }
  return cur < offset ? offset : cur;
}

namespace {
// Howard Hinnant's days_from_civil / civil_from_days.
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void CivilFromDays(std::int64_t z, int* y, int* m, int* d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t yy = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned dd = doy - (153 * mp + 2) / 5 + 1;
  const unsigned mm = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(yy + (mm <= 2));
  *m = static_cast<int>(mm);
  *d = static_cast<int>(dd);
}

bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}
}  // namespace

bool CivilToDays(int y, int m, int d, std::int64_t* days) {
  if (m < 1 || m > 12 || d < 1) return false;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  const int max = kDays[m - 1] + (m == 2 && leap ? 1 : 0);
  if (d > max) return false;
  *days = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  return true;
}

std::string FormatDate(std::int64_t days) {
  int y, m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return buf;
}

Result<std::int64_t> ParseDate(std::string_view s) {
  int y, m, d;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !ParseDigits(s, 0, 4, &y) ||
      !ParseDigits(s, 5, 2, &m) || !ParseDigits(s, 8, 2, &d)) {
    return Status::InvalidArgument("expected a date as YYYY-MM-DD");
  }
  std::int64_t days;
  if (!CivilToDays(y, m, d, &days)) return Status::InvalidArgument("no such date in the calendar");
  return days;
}

std::string FormatTimestamp(Micros t) {
  std::int64_t secs = t / kMicrosPerSecond;
  if (t < 0 && t % kMicrosPerSecond != 0) --secs;
  std::int64_t days = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, "%sT%02d:%02d:%02dZ", FormatDate(days).c_str(),
                static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                static_cast<int>(rem % 60));
  return buf;
}

Result<Micros> ParseTimestamp(std::string_view s) {
  auto date = ParseDate(s.substr(0, 10));
  if (!date)
    return Status::InvalidArgument("expected an ISO 8601 time such as 2026-11-24T18:00:00Z");
  Micros t = *date * kMicrosPerDay;
  if (s.size() == 10) return t;
  if (s[10] != 'T' && s[10] != ' ') return Status::InvalidArgument("expected 'T' after the date");
  int hh, mm, ss = 0;
  if (!ParseDigits(s, 11, 2, &hh) || s.size() < 16 || s[13] != ':' || !ParseDigits(s, 14, 2, &mm)) {
    return Status::InvalidArgument("expected a time as HH:MM[:SS]");
  }
  size_t pos = 16;
  if (pos < s.size() && s[pos] == ':') {
    if (!ParseDigits(s, pos + 1, 2, &ss)) return Status::InvalidArgument("bad seconds");
    pos += 3;
  }
  Micros frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 6) frac = frac * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    for (; digits < 6; ++digits) frac *= 10;
  }
  if (hh > 23 || mm > 59 || ss > 60) return Status::InvalidArgument("time of day out of range");
  t += (hh * 3600 + mm * 60 + ss) * kMicrosPerSecond + frac;
  if (pos == s.size()) return Status::InvalidArgument("a time needs a zone: Z or +HH:MM");
  if (s[pos] == 'Z' && pos + 1 == s.size()) return t;
  if ((s[pos] == '+' || s[pos] == '-') && s.size() == pos + 6 && s[pos + 3] == ':') {
    int oh, om;
    if (!ParseDigits(s, pos + 1, 2, &oh) || !ParseDigits(s, pos + 4, 2, &om)) {
      return Status::InvalidArgument("bad zone offset");
    }
    const Micros off = (oh * 3600 + om * 60) * kMicrosPerSecond;
    return s[pos] == '+' ? t - off : t + off;
  }
  return Status::InvalidArgument("a time needs a zone: Z or +HH:MM");
}

Result<Micros> ParseTimeOrOffset(std::string_view text, Micros now) {
  if (text == "now") return now;
  if (!text.empty() && text[0] == '+') {
    std::int64_t n = 0;
    size_t i = 1;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && n <= 100000) {
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    const std::string_view unit = text.substr(i);
    Micros mult = 0;
    if (unit == "m") mult = 60 * kMicrosPerSecond;
    if (unit == "h") mult = 3600 * kMicrosPerSecond;
    if (unit == "d") mult = kMicrosPerDay;
    if (unit == "w") mult = 7 * kMicrosPerDay;
    if (i == 1 || mult == 0 || n > 100000) {
      return Status::InvalidArgument(
          "a relative time is + and a number of m, h, d or w (e.g. +8h)");
    }
    return now + n * mult;
  }
  auto t = ParseTimestamp(text);
  if (!t) {
    return Status::InvalidArgument(
        "not a time: use ISO 8601 (2026-11-24T18:00:00Z) or a relative time such as +8h or +30d");
  }
  return *t;
}

}  // namespace switchboard
