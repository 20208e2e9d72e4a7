#include "core/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/mutex.h"

namespace switchboard::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
Mutex g_mu;
Sink g_sink SB_GUARDED_BY(g_mu);  // empty means stderr

std::shared_ptr<spdlog::logger> StderrLogger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = std::make_shared<spdlog::logger>("switchboard",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    return l;
  }();
  return logger;
}

std::string_view LevelName(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

bool IsEmailChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '%' ||
         c == '+' || c == '-' || static_cast<unsigned char>(c) >= 0x80;
}

void AppendEscaped(std::string* out, std::string_view s) {
  *out +=
      nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string Scrub(std::string_view in) {
  std::string s(in);
  // Emails: a run of address characters, '@', a run with at least one dot.
  for (size_t at = s.find('@'); at != std::string::npos; at = s.find('@', at + 1)) {
    size_t b = at;
    while (b > 0 && IsEmailChar(s[b - 1])) --b;
    size_t e = at + 1;
    bool dot = false;
    while (e < s.size() && (IsEmailChar(s[e]))) {
      if (s[e] == '.') dot = true;
      ++e;
    }
    if (b < at && dot && e > at + 1) {
      s.replace(b, e - b, "[redacted]");
      at = b;
    }
  }
  // Phones: 7 or more digits, allowing spaces, dots, dashes, brackets and a leading '+'.
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (std::isdigit(static_cast<unsigned char>(s[i])) ||
        (s[i] == '+' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      size_t j = i;
      int digits = 0;
      size_t last_digit_end = i;
      while (j < s.size() &&
             (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == ' ' || s[j] == '-' ||
              s[j] == '.' || s[j] == '(' || s[j] == ')' || (j == i && s[j] == '+'))) {
        if (std::isdigit(static_cast<unsigned char>(s[j]))) {
          ++digits;
          last_digit_end = j + 1;
        }
        ++j;
      }
      if (digits >= 7) {
        out += "[redacted]";
        i = last_digit_end;
        continue;
      }
      out.append(s, i, last_digit_end > i ? last_digit_end - i : 1);
      i = last_digit_end > i ? last_digit_end : i + 1;
      continue;
    }
    out += s[i++];
  }
  return out;
}

void Field::AppendJson(std::string* out) const {
  AppendEscaped(out, key_);
  *out += ':';
  switch (kind_) {
    case kInt:
      *out += std::to_string(i_);
      break;
    case kBool:
      *out += i_ ? "true" : "false";
      break;
    case kReal:
      *out += nlohmann::json(d_).dump();
      break;
    case kText:
      AppendEscaped(out, Scrub(s_));
      break;
  }
}

Sink SetLogSink(Sink sink) {
  MutexLock lock(g_mu);
  Sink old = std::move(g_sink);
  g_sink = std::move(sink);
  return old;
}

void SetLevel(Level level) { g_level.store(static_cast<int>(level)); }

Result<Level> ParseLevel(std::string_view name) {
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn") return Level::kWarn;
  if (name == "error") return Level::kError;
  return Status::InvalidArgument("log level must be one of debug, info, warn, error");
}

void Write(Level level, std::string_view component, std::string_view event,
           std::initializer_list<Field> fields) {
  if (static_cast<int>(level) < g_level.load()) return;
  SystemClock clock;
  const Micros now = clock.Now();
  std::string line;
  line.reserve(128);
  line += "{\"ts\":";
  char ts[40];
  std::snprintf(
      ts, sizeof ts, "\"%s.%06lldZ\"", FormatTimestamp(now).substr(0, 19).c_str(),
      static_cast<long long>(((now % kMicrosPerSecond) + kMicrosPerSecond) % kMicrosPerSecond));
  line += ts;
  line += ",\"level\":\"";
  line += LevelName(level);
  line += "\",\"component\":";
  AppendEscaped(&line, component);
  line += ",\"event\":";
  AppendEscaped(&line, Scrub(event));
  for (const Field& f : fields) {
    line += ',';
    f.AppendJson(&line);
  }
  line += '}';
  MutexLock lock(g_mu);
  if (g_sink) {
    g_sink(line);
  } else {
    StderrLogger()->info(line);
  }
}

}  // namespace switchboard::log
