#include "core/text.h"

#include <utf8proc.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

namespace switchboard::text {
namespace {

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

const utf8proc_uint8_t* Bytes(std::string_view s) {
  return reinterpret_cast<const utf8proc_uint8_t*>(s.data());
}

// The length of the leading run of ASCII bytes in s[from..].
size_t AsciiRun(std::string_view s, size_t from) {
  size_t i = from;
  while (i + 8 <= s.size()) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, sizeof word);
    if ((word & 0x8080808080808080ULL) != 0) break;
    i += 8;
  }
  while (i < s.size() && static_cast<unsigned char>(s[i]) < 0x80) ++i;
  return i - from;
}

bool IsAscii(std::string_view s) { return AsciiRun(s, 0) == s.size(); }

// `s` with every byte that does not start a well-formed sequence replaced by
// U+FFFD, so utf8proc sees valid input.
std::string ReplaceInvalid(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  size_t i = 0;
  while (i < s.size()) {
    size_t run = AsciiRun(s, i);
    out.append(s.data() + i, run);
    i += run;
    if (i >= s.size()) break;
    utf8proc_int32_t cp;
    utf8proc_ssize_t len =
        utf8proc_iterate(Bytes(s) + i, static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
    if (len > 0) {
      out.append(s.data() + i, static_cast<size_t>(len));
      i += static_cast<size_t>(len);
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

// utf8proc_map over valid UTF-8; a negative utf8proc result becomes an error.
Result<std::string> Map(std::string_view s, int options) {
  if (s.empty()) return std::string();
  utf8proc_uint8_t* mapped = nullptr;
  utf8proc_ssize_t n = utf8proc_map(Bytes(s), static_cast<utf8proc_ssize_t>(s.size()), &mapped,
                                    static_cast<utf8proc_option_t>(options));
  if (n < 0) {
    std::free(mapped);
    return Status::InvalidArgument(std::string("text normalisation failed: ") + utf8proc_errmsg(n));
  }
  std::string out(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n));
  std::free(mapped);
  return out;
}

// Map() for input that may be invalid UTF-8 and options that cannot fail on
// valid input.
std::string MapLossy(std::string_view s, int options) {
  Result<std::string> mapped = IsValidUtf8(s) ? Map(s, options) : Map(ReplaceInvalid(s), options);
  // Only allocation failure or absurd sizes reach here; give back nothing
  // rather than unnormalised text.
  if (!mapped.has_value()) return std::string();
  return std::move(mapped).value();
}

void AsciiLower(std::string& s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
}

}  // namespace

size_t FirstInvalidUtf8Byte(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    i += AsciiRun(s, i);
    if (i >= s.size()) break;
    utf8proc_int32_t cp;
    utf8proc_ssize_t len =
        utf8proc_iterate(Bytes(s) + i, static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
    if (len <= 0) return i;
    i += static_cast<size_t>(len);
  }
  return std::string_view::npos;
}

bool IsValidUtf8(std::string_view s) { return FirstInvalidUtf8Byte(s) == std::string_view::npos; }

Result<std::string> NormaliseNfc(std::string_view s) {
  size_t bad = FirstInvalidUtf8Byte(s);
  if (bad != std::string_view::npos) {
    return Status::InvalidArgument("invalid UTF-8 at byte " + std::to_string(bad));
  }
  if (IsAscii(s)) return std::string(s);
  return Map(s, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
}

std::string CaseFold(std::string_view s) {
  if (IsAscii(s)) {
    std::string out(s);
    AsciiLower(out);
    return out;
  }
  return MapLossy(s, UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD);
}

std::string FoldForMatch(std::string_view s) {
  if (IsAscii(s)) {
    std::string out = CollapseSpaces(s);
    AsciiLower(out);
    return out;
  }
  return CollapseSpaces(MapLossy(s, UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
                                        UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK | UTF8PROC_LUMP |
                                        UTF8PROC_IGNORE));
}

std::string Trim(std::string_view s) {
  size_t begin = 0;
  size_t end = s.size();
  while (begin < end && IsAsciiSpace(s[begin])) ++begin;
  while (end > begin && IsAsciiSpace(s[end - 1])) --end;
  return std::string(s.substr(begin, end - begin));
}

std::string EscapeHtml(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string CollapseSpaces(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending_space = false;
  for (char c : s) {
    if (IsAsciiSpace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace switchboard::text
