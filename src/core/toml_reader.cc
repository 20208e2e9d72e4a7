#include "core/toml_reader.h"

namespace switchboard {

Result<toml::table> TomlReader::Parse(std::string_view text) const {
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
  auto v = n->value<std::int64_t>();
  if (!v || !n->is_integer()) return Bad(*n, "'" + std::string(key) + "' must be an integer");
  if (*v < lo || *v > hi) {
    return Bad(*n, "'" + std::string(key) + "' must be between " + std::to_string(lo) + " and " +
                       std::to_string(hi));
  }
  *out = *v;
  return Status::Ok();
}

}  // namespace switchboard
