// TomlReader: the checks every TOML file of ours needs (switchboard.toml,
// policy.toml): parse with the line of any syntax error, refuse unknown keys,
// read typed values with ranges — every error naming "<file>:<line>: ...".
// Refuses, before parsing, text too large or keys nested too deep (below).
// Wraps toml++, whose exceptions never leave Parse().
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "core/status.h"

namespace switchboard {

class TomlReader {
 public:
  // Limits checked before toml++ parses anything: the file's size, and the
  // levels of one dotted key or table header ("a.b.c" is 3). toml++ itself
  // refuses arrays and inline tables nested deeper than 256.
  static constexpr size_t kMaxBytes = 4u << 20;
  static constexpr int kMaxKeyDepth = 32;

  explicit TomlReader(std::string_view source) : source_(source) {}

  Result<toml::table> Parse(std::string_view text) const;

  // "<source>:<line>: what", as kInvalidArgument.
  Status Bad(const toml::node& n, const std::string& what) const;
  // Every key of `t` must be in `keys`; otherwise "unknown setting 'k' in <where><suffix>".
  Status OnlyKeys(const toml::table& t, const std::set<std::string>& keys, std::string_view where,
                  std::string_view suffix = {}) const;
  // Leaves *out unchanged when the key is absent.
  Status Bool(const toml::table& t, std::string_view key, bool* out) const;
  // Leaves *out unchanged when the key is absent.
  Status String(const toml::table& t, std::string_view key, std::string* out) const;
  template <typename I>
  Status Int(const toml::table& t, std::string_view key, I lo, I hi, I* out) const {
    std::int64_t v = 0;
    bool present = false;
    SB_RETURN_IF_ERROR(IntImpl(t, key, lo, hi, &v, &present));
    if (present) *out = static_cast<I>(v);
    return Status::Ok();
  }

  std::string_view source() const { return source_; }

 private:
  Status IntImpl(const toml::table& t, std::string_view key, std::int64_t lo, std::int64_t hi,
                 std::int64_t* out, bool* present) const;
  std::string source_;
};

}  // namespace switchboard
