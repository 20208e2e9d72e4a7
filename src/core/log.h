// Structured logging: one JSON object per line (time, level, component,
// event, fields). Values are numbers, booleans, ids and short strings; types
// that hold personal data (member names, emails, phones, addresses) have no
// conversion to a log Field, so logging one does not compile. As a second
// line of defence, every string value is scrubbed: anything shaped like an
// email address or a phone number is replaced by "[redacted]".
//
// Thread-safe. The sink defaults to stderr; tests and the server may redirect
// it (SetLogSink). Never log member ids' personal data, only ids.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/ids.h"
#include "core/status.h"

namespace switchboard::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

class Field {
 public:
  template <typename T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) Field(std::string_view key, T v)
      : key_(key), kind_(kInt), i_(static_cast<std::int64_t>(v)) {}
  Field(std::string_view key, bool v) : key_(key), kind_(kBool), i_(v ? 1 : 0) {}
  Field(std::string_view key, double v) : key_(key), kind_(kReal), d_(v) {}
  template <typename Tag>
  Field(std::string_view key, Id<Tag> id) : key_(key), kind_(kInt), i_(id.value()) {}
  // Only plain strings (string literals, std::string, string_view); classes
  // that merely convert to a string are refused at compile time.
  template <typename S>
  requires(std::is_same_v<std::decay_t<S>, std::string> ||
           std::is_same_v<std::decay_t<S>, std::string_view> ||
           std::is_same_v<std::decay_t<S>, const char*> || std::is_same_v<std::decay_t<S>, char*> ||
           std::is_array_v<std::remove_cvref_t<S>>) Field(std::string_view key, S&& s)
      : key_(key), kind_(kText), s_(std::string_view(s)) {}
  Field(std::string_view key, const Status& st) : key_(key), kind_(kText), s_(st.ToString()) {}

  std::string_view key() const { return key_; }
  void AppendJson(std::string* out) const;

 private:
  enum Kind { kInt, kBool, kReal, kText };
  std::string_view key_;
  Kind kind_;
  std::int64_t i_ = 0;
  double d_ = 0;
  std::string s_;
};

// Replaces email- and phone-shaped substrings with "[redacted]".
std::string Scrub(std::string_view text);

using Sink = std::function<void(std::string_view line)>;
// Installs a sink (nullptr restores stderr). Returns the previous one.
Sink SetLogSink(Sink sink);
void SetLevel(Level level);
Result<Level> ParseLevel(std::string_view name);

void Write(Level level, std::string_view component, std::string_view event,
           std::initializer_list<Field> fields = {});

inline void Debug(std::string_view c, std::string_view e, std::initializer_list<Field> f = {}) {
  Write(Level::kDebug, c, e, f);
}
inline void Info(std::string_view c, std::string_view e, std::initializer_list<Field> f = {}) {
  Write(Level::kInfo, c, e, f);
}
inline void Warn(std::string_view c, std::string_view e, std::initializer_list<Field> f = {}) {
  Write(Level::kWarn, c, e, f);
}
inline void Error(std::string_view c, std::string_view e, std::initializer_list<Field> f = {}) {
  Write(Level::kError, c, e, f);
}

}  // namespace switchboard::log
