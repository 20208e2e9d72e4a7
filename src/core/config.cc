#include "core/config.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "core/time_zone.h"
#include "core/toml_reader.h"

namespace switchboard {
namespace {

// The shared TOML checks plus one rule of this file: settings live in
// sections, and each section lists the keys it accepts.
class Reader : public TomlReader {
 public:
  Reader(const toml::table& root, std::string_view source) : TomlReader(source), root_(root) {}

  Status Section(std::string_view name, const std::set<std::string>& keys,
                 const std::function<Status(const toml::table&)>& fn) {
    const toml::node* node = root_.get(name);
    if (!node) return Status::Ok();
    const toml::table* t = node->as_table();
    if (!t) return Bad(*node, "[" + std::string(name) + "] must be a table");
    SB_RETURN_IF_ERROR(
        OnlyKeys(*t, keys, "[" + std::string(name) + "]", "; see docs/config.example.toml"));
    return fn(*t);
  }

 private:
  const toml::table& root_;
};

}  // namespace

Result<Config> ParseConfig(std::string_view text, std::string_view source) {
  SB_ASSIGN_OR_RETURN(toml::table root, TomlReader(source).Parse(text));
  Config c;
  Reader r(root, source);
  static const std::set<std::string> kSections = {"organisation", "store", "server", "import",
                                                  "log",          "mail",  "audit",  "telephony"};
  for (const auto& [k, v] : root) {
    if (!kSections.count(std::string(k.str()))) {
      return r.Bad(v,
                   "unknown section '" + std::string(k.str()) + "'; see docs/config.example.toml");
    }
  }
  SB_RETURN_IF_ERROR(r.Section("organisation", {"name", "time_zone"}, [&](const toml::table& t) {
    SB_RETURN_IF_ERROR(r.String(t, "name", &c.organisation.name));
    SB_RETURN_IF_ERROR(r.String(t, "time_zone", &c.organisation.time_zone));
    if (auto z = TimeZone::Find(c.organisation.time_zone); !z) {
      return r.Bad(*t.get("time_zone"), "[organisation] time_zone: " + z.error().message());
    }
    return Status::Ok();
  }));
  SB_RETURN_IF_ERROR(r.Section("store", {"url", "max_group", "readers"}, [&](const toml::table& t) {
    SB_RETURN_IF_ERROR(r.String(t, "url", &c.store.url));
    SB_RETURN_IF_ERROR(r.Int(t, "max_group", 1, 100000, &c.store.max_group));
    return r.Int(t, "readers", 1, 256, &c.store.readers);
  }));
  SB_RETURN_IF_ERROR(r.Section(
      "server",
      {"listen", "port", "threads", "max_body_bytes", "request_timeout_seconds", "cookie_secure",
       "checkpoint_interval_ms", "tls_cert", "tls_key", "tls_min_version"},
      [&](const toml::table& t) {
        SB_RETURN_IF_ERROR(r.String(t, "listen", &c.server.listen));
        SB_RETURN_IF_ERROR(r.Int(t, "port", 0, 65535, &c.server.port));
        SB_RETURN_IF_ERROR(r.Int(t, "threads", 1, 256, &c.server.threads));
        SB_RETURN_IF_ERROR(
            r.Int<std::int64_t>(t, "max_body_bytes", 1024, 1LL << 30, &c.server.max_body_bytes));
        SB_RETURN_IF_ERROR(r.Bool(t, "cookie_secure", &c.server.cookie_secure));
        SB_RETURN_IF_ERROR(
            r.Int(t, "checkpoint_interval_ms", 10, 1000, &c.server.checkpoint_interval_ms));
        SB_RETURN_IF_ERROR(r.String(t, "tls_cert", &c.server.tls_cert));
        SB_RETURN_IF_ERROR(r.String(t, "tls_key", &c.server.tls_key));
        SB_RETURN_IF_ERROR(r.String(t, "tls_min_version", &c.server.tls_min_version));
        if (c.server.tls_min_version != "1.2" && c.server.tls_min_version != "1.3") {
          return r.Bad(*t.get("tls_min_version"),
                       "[server] tls_min_version must be \"1.2\" or \"1.3\"");
        }
        if (c.server.tls_cert.empty() != c.server.tls_key.empty()) {
          return Status::InvalidArgument(std::string(source) +
                                         ": [server] tls_cert and tls_key go together: set both "
                                         "for TLS, or neither for plain HTTP");
        }
        if (!c.server.tls_cert.empty() && !c.server.cookie_secure) {
          return r.Bad(*t.get("cookie_secure"),
                       "[server] cookie_secure = false cannot go with TLS: over HTTPS the "
                       "session cookie is always Secure");
        }
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
  SB_RETURN_IF_ERROR(r.Section(
      "mail",
      {"relay", "tls", "username", "password_file", "from_address", "bounce_address",
       "message_id_domain", "public_base_url", "dkim_domain", "dkim_selector", "dkim_key_file",
       "dkim_ed25519_selector", "dkim_ed25519_key_file", "workers", "rate_per_second",
       "max_attempts", "retry_seconds"},
      [&](const toml::table& t) {
        MailConfig& m = c.mail;
        for (auto [key, out] : std::initializer_list<std::pair<const char*, std::string*>>{
                 {"relay", &m.relay},
                 {"tls", &m.tls},
                 {"username", &m.username},
                 {"password_file", &m.password_file},
                 {"from_address", &m.from_address},
                 {"bounce_address", &m.bounce_address},
                 {"message_id_domain", &m.message_id_domain},
                 {"public_base_url", &m.public_base_url},
                 {"dkim_domain", &m.dkim_domain},
                 {"dkim_selector", &m.dkim_selector},
                 {"dkim_key_file", &m.dkim_key_file},
                 {"dkim_ed25519_selector", &m.dkim_ed25519_selector},
                 {"dkim_ed25519_key_file", &m.dkim_ed25519_key_file}}) {
          SB_RETURN_IF_ERROR(r.String(t, key, out));
        }
        SB_RETURN_IF_ERROR(r.Int(t, "workers", 1, 64, &m.workers));
        SB_RETURN_IF_ERROR(r.Int(t, "rate_per_second", 0, 1000000, &m.rate_per_second));
        SB_RETURN_IF_ERROR(r.Int(t, "max_attempts", 1, 100, &m.max_attempts));
        SB_RETURN_IF_ERROR(r.Int(t, "retry_seconds", 1, 86400, &m.retry_seconds));
        if (m.tls != "starttls" && m.tls != "implicit" && m.tls != "none") {
          return Status::InvalidArgument(std::string(source) +
                                         ": [mail] tls must be starttls, implicit or none");
        }
        if (!m.dkim_key_file.empty() && (m.dkim_domain.empty() || m.dkim_selector.empty())) {
          return Status::InvalidArgument(
              std::string(source) + ": [mail] dkim_key_file needs dkim_domain and dkim_selector");
        }
        if (!m.dkim_ed25519_key_file.empty() &&
            (m.dkim_key_file.empty() || m.dkim_ed25519_selector.empty())) {
          return Status::InvalidArgument(std::string(source) +
                                         ": [mail] dkim_ed25519_key_file needs dkim_key_file (the "
                                         "RSA key) and dkim_ed25519_selector");
        }
        return Status::Ok();
      }));
  SB_RETURN_IF_ERROR(r.Section(
      "telephony",
      {"connector", "trunk_uri", "username", "password_file", "outbound_proxy", "transport",
       "caller_id", "caller_ids", "ring_seconds", "max_calls", "max_calls_per_campaign", "listen",
       "port", "register"},
      [&](const toml::table& t) {
        TelephonyConfig& tc = c.telephony;
        for (auto [key, out] : std::initializer_list<std::pair<const char*, std::string*>>{
                 {"connector", &tc.connector},
                 {"trunk_uri", &tc.trunk_uri},
                 {"username", &tc.username},
                 {"password_file", &tc.password_file},
                 {"outbound_proxy", &tc.outbound_proxy},
                 {"transport", &tc.transport},
                 {"caller_id", &tc.caller_id},
                 {"listen", &tc.listen}}) {
          SB_RETURN_IF_ERROR(r.String(t, key, out));
        }
        SB_RETURN_IF_ERROR(r.Int(t, "ring_seconds", 5, 300, &tc.ring_seconds));
        SB_RETURN_IF_ERROR(r.Int(t, "max_calls", 1, 100000, &tc.max_calls));
        SB_RETURN_IF_ERROR(
            r.Int(t, "max_calls_per_campaign", 1, 100000, &tc.max_calls_per_campaign));
        SB_RETURN_IF_ERROR(r.Int(t, "port", 0, 65535, &tc.port));
        SB_RETURN_IF_ERROR(r.Bool(t, "register", &tc.register_with_trunk));
        const std::string where = std::string(source) + ": [telephony] ";
        const auto e164 = [](const std::string& n) {
          return n.size() >= 8 && n.size() <= 16 && n[0] == '+' && n[1] != '0' &&
                 n.find_first_not_of("0123456789", 1) == std::string::npos;
        };
        if (const toml::node* node = t.get("caller_ids")) {
          const toml::array* list = node->as_array();
          constexpr size_t kMaxNumbers = 100;
          if (!list || list->size() > kMaxNumbers) {
            return r.Bad(*node, "[telephony] caller_ids must be a list of at most " +
                                    std::to_string(kMaxNumbers) + " E.164 numbers");
          }
          for (const toml::node& item : *list) {
            const auto number = item.value<std::string>();
            if (!number || !e164(*number)) {
              return r.Bad(item,
                           "[telephony] caller_ids: each entry must be an E.164 number such as "
                           "+441632960001");
            }
            if (std::find(tc.caller_ids.begin(), tc.caller_ids.end(), *number) !=
                tc.caller_ids.end()) {
              return r.Bad(item, "[telephony] caller_ids: " + *number + " is listed twice");
            }
            tc.caller_ids.push_back(*number);
          }
        }
        if (!tc.caller_id.empty() && !e164(tc.caller_id)) {
          return Status::InvalidArgument(
              where + "caller_id must be the E.164 number calls come from, e.g. +441632960000");
        }
        if (tc.connector != "sandbox" && tc.connector != "sip") {
          return Status::InvalidArgument(where + "connector must be sandbox or sip");
        }
        if (tc.transport == "tls") {
          return Status::InvalidArgument(
              where +
              "transport tls is not offered: the SIP stack (libre 1.1) does not check the trunk's "
              "certificate against its name; use tcp inside a VPN (docs/telephony.md)");
        }
        if (tc.transport != "udp" && tc.transport != "tcp") {
          return Status::InvalidArgument(where + "transport must be udp or tcp");
        }
        if (tc.max_calls_per_campaign > tc.max_calls) {
          return Status::InvalidArgument(where + "max_calls_per_campaign exceeds max_calls");
        }
        if (tc.connector == "sip") {
          if (tc.trunk_uri.rfind("sip:", 0) != 0 || tc.trunk_uri.size() < 5) {
            return Status::InvalidArgument(where + "trunk_uri must look like sip:host[:port]");
          }
          if (!tc.outbound_proxy.empty() && tc.outbound_proxy.rfind("sip:", 0) != 0) {
            return Status::InvalidArgument(where + "outbound_proxy must look like sip:host[:port]");
          }
          if (tc.caller_id.empty()) {
            return Status::InvalidArgument(
                where + "caller_id must be the E.164 number calls come from, e.g. +441632960000");
          }
          if (tc.username.empty() != tc.password_file.empty()) {
            return Status::InvalidArgument(where +
                                           "username and password_file go together (or neither)");
          }
        }
        return Status::Ok();
      }));
  SB_RETURN_IF_ERROR(r.Section("log", {"level", "requests_per_second"}, [&](const toml::table& t) {
    SB_RETURN_IF_ERROR(r.String(t, "level", &c.log.level));
    SB_RETURN_IF_ERROR(r.Int(t, "requests_per_second", 0, 1000000, &c.log.requests_per_second));
    if (c.log.level != "debug" && c.log.level != "info" && c.log.level != "warn" &&
        c.log.level != "error") {
      return Status::InvalidArgument(std::string(source) +
                                     ": [log] level must be debug, info, warn or error");
    }
    return Status::Ok();
  }));
  SB_RETURN_IF_ERROR(r.Section("audit", {"checkpoint_logs"}, [&](const toml::table& t) {
    const toml::node* node = t.get("checkpoint_logs");
    if (!node) return Status::Ok();
    const toml::array* list = node->as_array();
    constexpr size_t kMaxLogs = 8;
    if (!list || list->empty() || list->size() > kMaxLogs) {
      return r.Bad(*node, "[audit] checkpoint_logs must be a list of 1 to " +
                              std::to_string(kMaxLogs) + " file paths");
    }
    c.audit.checkpoint_logs.clear();
    for (const toml::node& item : *list) {
      const auto path = item.value<std::string>();
      if (!path || path->empty()) {
        return r.Bad(item, "[audit] checkpoint_logs: each entry must be a non-empty path");
      }
      for (const std::string& seen : c.audit.checkpoint_logs) {
        if (seen == *path)
          return r.Bad(item, "[audit] checkpoint_logs: " + *path + " is listed twice");
      }
      c.audit.checkpoint_logs.push_back(*path);
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
# IANA time zone of the organisation's wall clock (calling hours).
time_zone = "Europe/London"

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
cookie_secure = true
checkpoint_interval_ms = 1000
# TLS: PEM certificate (chain) and key paths; empty serves plain HTTP.
tls_cert = ""
tls_key = ""
tls_min_version = "1.2"

[import]
batch_size = 20000
max_record_bytes = 1048576
default_phone_region = "GB"

[log]
level = "info"
requests_per_second = 200

[audit]
# Files outside the database that every signed audit checkpoint is appended
# to; relative to the data directory. Add one on another disk or machine.
checkpoint_logs = ["audit-checkpoints.log"]

[mail]
# SMTP relay for member e-mail; empty: messages queue but are not delivered.
relay = ""
tls = "starttls"
username = ""
password_file = ""
from_address = "members@example.org"
bounce_address = "bounces@example.org"
message_id_domain = "example.org"
public_base_url = "http://127.0.0.1:8080"
dkim_domain = ""
dkim_selector = ""
dkim_key_file = ""
dkim_ed25519_selector = ""
dkim_ed25519_key_file = ""
workers = 4
rate_per_second = 0
max_attempts = 8
retry_seconds = 60

[telephony]
# "sandbox" simulates calls; "sip" rings real phones through a SIP trunk
# (docs/telephony.md).
connector = "sandbox"
trunk_uri = ""
username = ""
password_file = ""
outbound_proxy = ""
transport = "udp"
caller_id = ""
# Further numbers of the organisation's that a campaign may present instead.
caller_ids = []
ring_seconds = 30
max_calls = 50
max_calls_per_campaign = 20
listen = "127.0.0.1"
port = 5060
register = false
)toml";
}

}  // namespace switchboard
