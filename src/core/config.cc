#include "core/config.h"

#include <toml++/toml.h>

#include <fstream>
#include <functional>
#include <set>
#include <sstream>

namespace switchboard {
namespace {

std::string Where(std::string_view source, const toml::source_region& r) {
  std::string s(source);
  s += ":" + std::to_string(r.begin.line);
  return s;
}

class Reader {
 public:
  Reader(const toml::table& root, std::string_view source) : root_(root), source_(source) {}

  Status Section(std::string_view name, const std::set<std::string>& keys,
                 const std::function<Status(const toml::table&)>& fn) {
    const toml::node* node = root_.get(name);
    if (!node) return Status::Ok();
    const toml::table* t = node->as_table();
    if (!t) return Bad(*node, "[" + std::string(name) + "] must be a table");
    for (const auto& [k, v] : *t) {
      if (!keys.count(std::string(k.str()))) {
        return Bad(v, "unknown setting '" + std::string(k.str()) + "' in [" + std::string(name) +
                          "]; see docs/config.example.toml");
      }
    }
    return fn(*t);
  }

  Status String(const toml::table& t, std::string_view key, std::string* out) {
    const toml::node* n = t.get(key);
    if (!n) return Status::Ok();
    auto v = n->value<std::string>();
    if (!v) return Bad(*n, "'" + std::string(key) + "' must be a string");
    *out = *v;
    return Status::Ok();
  }

  template <typename I>
  Status Int(const toml::table& t, std::string_view key, I lo, I hi, I* out) {
    const toml::node* n = t.get(key);
    if (!n) return Status::Ok();
    auto v = n->value<std::int64_t>();
    if (!v || !n->is_integer()) return Bad(*n, "'" + std::string(key) + "' must be an integer");
    if (*v < lo || *v > hi) {
      return Bad(*n, "'" + std::string(key) + "' must be between " + std::to_string(lo) + " and " +
                         std::to_string(hi));
    }
    *out = static_cast<I>(*v);
    return Status::Ok();
  }

  Status Bad(const toml::node& n, const std::string& what) {
    return Status::InvalidArgument(Where(source_, n.source()) + ": " + what);
  }

 private:
  const toml::table& root_;
  std::string_view source_;
};

}  // namespace

Result<Config> ParseConfig(std::string_view text, std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(Where(source, e.source()) + ": " + std::string(e.description()));
  }
  Config c;
  Reader r(root, source);
  static const std::set<std::string> kSections = {"organisation", "store", "server", "import",
                                                  "log"};
  for (const auto& [k, v] : root) {
    if (!kSections.count(std::string(k.str()))) {
      return r.Bad(v,
                   "unknown section '" + std::string(k.str()) + "'; see docs/config.example.toml");
    }
  }
  SB_RETURN_IF_ERROR(r.Section("organisation", {"name"}, [&](const toml::table& t) {
    return r.String(t, "name", &c.organisation.name);
  }));
  SB_RETURN_IF_ERROR(r.Section("store", {"url", "max_group", "readers"}, [&](const toml::table& t) {
    SB_RETURN_IF_ERROR(r.String(t, "url", &c.store.url));
    SB_RETURN_IF_ERROR(r.Int(t, "max_group", 1, 100000, &c.store.max_group));
    return r.Int(t, "readers", 1, 256, &c.store.readers);
  }));
  SB_RETURN_IF_ERROR(r.Section(
      "server", {"listen", "port", "threads", "max_body_bytes", "request_timeout_seconds"},
      [&](const toml::table& t) {
        SB_RETURN_IF_ERROR(r.String(t, "listen", &c.server.listen));
        SB_RETURN_IF_ERROR(r.Int(t, "port", 0, 65535, &c.server.port));
        SB_RETURN_IF_ERROR(r.Int(t, "threads", 1, 256, &c.server.threads));
        SB_RETURN_IF_ERROR(
            r.Int<std::int64_t>(t, "max_body_bytes", 1024, 1LL << 30, &c.server.max_body_bytes));
        return r.Int(t, "request_timeout_seconds", 1, 3600, &c.server.request_timeout_seconds);
      }));
  SB_RETURN_IF_ERROR(r.Section(
      "import", {"batch_size", "max_record_bytes", "default_phone_region"},
      [&](const toml::table& t) {
        SB_RETURN_IF_ERROR(r.Int(t, "batch_size", 1, 1000000, &c.import.batch_size));
        SB_RETURN_IF_ERROR(r.Int<std::int64_t>(t, "max_record_bytes", 1024, 1LL << 30,
                                               &c.import.max_record_bytes));
        SB_RETURN_IF_ERROR(r.String(t, "default_phone_region", &c.import.default_phone_region));
        if (c.import.default_phone_region.size() != 2) {
          return Status::InvalidArgument(std::string(source) +
                                         ": [import] default_phone_region must be a two-letter "
                                         "region code such as GB");
        }
        return Status::Ok();
      }));
  SB_RETURN_IF_ERROR(r.Section("log", {"level"}, [&](const toml::table& t) {
    SB_RETURN_IF_ERROR(r.String(t, "level", &c.log.level));
    if (c.log.level != "debug" && c.log.level != "info" && c.log.level != "warn" &&
        c.log.level != "error") {
      return Status::InvalidArgument(std::string(source) +
                                     ": [log] level must be debug, info, warn or error");
    }
    return Status::Ok();
  }));
  return c;
}

Result<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Config{};
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseConfig(ss.str(), path);
}

std::string DefaultConfigToml() {
  return R"toml(# Switchboard configuration. Every setting is listed with its default;
# docs/config.example.toml explains each one.

[organisation]
name = "Example Party"

[store]
# A SQLite file path or a postgresql:// URL. Empty: switchboard.db in the data directory.
url = ""
max_group = 1024
readers = 4

[server]
listen = "127.0.0.1"
port = 8080
threads = 2
max_body_bytes = 1048576
request_timeout_seconds = 15

[import]
batch_size = 20000
max_record_bytes = 1048576
default_phone_region = "GB"

[log]
level = "info"
)toml";
}

}  // namespace switchboard
