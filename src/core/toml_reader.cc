#include "core/toml_reader.h"

namespace switchboard {

namespace {

// toml++ limits nested arrays and inline tables (256) but not dotted keys or
// table headers: "a.a.a...a = 1" a million deep is parsed into a million
// nested tables and overflows the stack while parsing or destroying them.
// This pass, made before toml++ sees the text, counts the dots of each key
// outside strings and comments: a run of dots not broken by '=', ',', a
// bracket, a brace or a line end belongs to one key (a number or a time holds
// at most one). It stops at the first key with more than `max_dots`, giving
// its line.
Status CheckKeyDepth(std::string_view text, int max_dots, const std::string& source) {
  int line = 1;
  int dots = 0;
  size_t i = 0;
  const size_t n = text.size();
  auto starts = [&](std::string_view s) { return text.substr(i, s.size()) == s; };
  while (i < n) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      dots = 0;
      ++i;
    } else if (c == '#') {
      while (i < n && text[i] != '\n') ++i;
    } else if (c == '"' || c == '\'') {
      const bool basic = c == '"';
      const std::string_view triple = basic ? "\"\"\"" : "\'\'\'";
      const bool multi = starts(triple);
      i += multi ? 3 : 1;
      while (i < n) {
        if (basic && text[i] == '\\') {
          if (i + 1 < n && text[i + 1] == '\n') ++line;
          i += 2;
          continue;
        }
        if (multi ? starts(triple) : text[i] == c) {
          i += multi ? 3 : 1;
          break;
        }
        if (text[i] == '\n') {
          if (!multi) break;  // an unterminated string: toml++ reports it
          ++line;
        }
        ++i;
      }
    } else {
      if (c == '.') {
        if (++dots > max_dots) {
          return Status::InvalidArgument(
              source + ":" + std::to_string(line) + ": a key nests deeper than " +
              std::to_string(max_dots + 1) + " levels (dotted keys or table headers)");
        }
      } else if (c == '=' || c == ',' || c == '[' || c == ']' || c == '{' || c == '}') {
        dots = 0;
      }
      ++i;
    }
  }
  return Status::Ok();
}

}  // namespace

Result<toml::table> TomlReader::Parse(std::string_view text) const {
  if (text.size() > kMaxBytes) {
    return Status::InvalidArgument(source_ + ": larger than " + std::to_string(kMaxBytes) +
                                   " bytes");
  }
  SB_RETURN_IF_ERROR(CheckKeyDepth(text, kMaxKeyDepth - 1, source_));
  try {
    return toml::parse(text, source_);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(source_ + ":" + std::to_string(e.source().begin.line) + ": " +
                                   std::string(e.description()));
  }
}

Status TomlReader::Bad(const toml::node& n, const std::string& what) const {
  return Status::InvalidArgument(source_ + ":" + std::to_string(n.source().begin.line) + ": " +
                                 what);
}

Status TomlReader::OnlyKeys(const toml::table& t, const std::set<std::string>& keys,
                            std::string_view where, std::string_view suffix) const {
  for (const auto& [k, v] : t) {
    if (!keys.count(std::string(k.str()))) {
      return Bad(v, "unknown setting '" + std::string(k.str()) + "' in " + std::string(where) +
                        std::string(suffix));
    }
  }
  return Status::Ok();
}

Status TomlReader::Bool(const toml::table& t, std::string_view key, bool* out) const {
  const toml::node* n = t.get(key);
  if (!n) return Status::Ok();
  auto v = n->value<bool>();
  if (!v) return Bad(*n, "'" + std::string(key) + "' must be true or false");
  *out = *v;
  return Status::Ok();
}

Status TomlReader::String(const toml::table& t, std::string_view key, std::string* out) const {
  const toml::node* n = t.get(key);
  if (!n) return Status::Ok();
  auto v = n->value<std::string>();
  if (!v) return Bad(*n, "'" + std::string(key) + "' must be a string");
  *out = *v;
  return Status::Ok();
}

Status TomlReader::IntImpl(const toml::table& t, std::string_view key, std::int64_t lo,
                           std::int64_t hi, std::int64_t* out, bool* present) const {
  const toml::node* n = t.get(key);
  *present = n != nullptr;
  if (!n) return Status::Ok();
  // The type first: toml++ converts a float node to an integer when asked,
  // which is undefined for one out of range (1e99).
  if (!n->is_integer()) return Bad(*n, "'" + std::string(key) + "' must be an integer");
  const std::int64_t v = n->as_integer()->get();
  if (v < lo || v > hi) {
    return Bad(*n, "'" + std::string(key) + "' must be between " + std::to_string(lo) + " and " +
                       std::to_string(hi));
  }
  *out = v;
  return Status::Ok();
}

}  // namespace switchboard
