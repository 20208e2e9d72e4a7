// Config: the one configuration file (<data-dir>/switchboard.toml). Read and
// validated once at start-up, then passed down by const&. Every field has a
// default here and an entry in docs/config.example.toml; unknown keys are
// errors (a typo must not silently fall back to a default).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace switchboard {

struct StoreConfig {
  // Where the data lives: a SQLite file path or a postgresql:// URL. Empty
  // means the SQLite file switchboard.db inside the data directory.
  std::string url;
  // Maximum writes committed together by the group-commit writer.
  int max_group = 1024;
  // Concurrent reader connections kept open (at least server.threads are:
  // server::StoreOptionsFor).
  int readers = 4;
};

struct ServerConfig {
  // Address to listen on. Loopback by default.
  std::string listen = "127.0.0.1";
  // TCP port; 0 picks a free one (printed at start).
  int port = 8080;
  // Worker threads for HTTP.
  int threads = 2;
  // Largest request body accepted, in bytes.
  std::int64_t max_body_bytes = 1 << 20;
  // Seconds a client may take to send a request before being disconnected.
  int request_timeout_seconds = 15;
  // Mark the session cookie Secure (sent over HTTPS only; browsers also
  // accept it from http://localhost). Turn off only for a plain-HTTP test set-up.
  bool cookie_secure = true;
  // Longest gap between signed audit checkpoints while events are being
  // written, in milliseconds (RULEBOOK §9: at least every second).
  int checkpoint_interval_ms = 1000;
  // TLS (docs/operations.md, "TLS"): PEM certificate (the chain after it)
  // and private key. Both set: the listener speaks only TLS; both empty:
  // plain HTTP. Relative paths are under the data directory.
  std::string tls_cert;
  std::string tls_key;
  // The oldest TLS version accepted: "1.2" or "1.3".
  std::string tls_min_version = "1.2";
};

struct ImportConfig {
  // Rows committed per transaction during import.
  int batch_size = 20000;
  // Longest CSV record accepted, in bytes; longer records are rejected.
  std::int64_t max_record_bytes = 1 << 20;
  // Region used to read phone numbers written without a country code.
  std::string default_phone_region = "GB";
};

struct LogConfig {
  // debug, info, warn or error.
  std::string level = "info";
  // The request log (one line per request at info: request id, route, status,
  // latency, account id). Refusals and errors are always logged; successful
  // requests beyond this many per second are counted in a once-a-second
  // summary line instead of logged one by one. 0 logs only refusals and errors.
  int requests_per_second = 200;
};

struct OrganisationConfig {
  // Shown in the interface and in generated documents.
  std::string name = "Example Party";
  // The organisation's wall clock, an IANA zone name: phone-bank calling
  // hours are read in it (DST included). Checked against the system's tz
  // database when the file is read (core/time_zone.h).
  std::string time_zone = "Europe/London";
};

// [mail]: where and how member e-mail is delivered (docs/email.md).
struct MailConfig {
  // SMTP relay, e.g. "smtp://mail.example.org:587" or "smtps://...:465".
  // Empty: messages are queued but nothing is delivered.
  std::string relay = "";
  // "starttls" (required), "implicit" (smtps://) or "none" (loopback only).
  std::string tls = "starttls";
  std::string username = "";
  // A file holding the relay password (mode 0600), relative to the data directory.
  std::string password_file = "";
  // The From address every message uses; the identity is its display name.
  std::string from_address = "members@example.org";
  // Envelope sender (where bounces go).
  std::string bounce_address = "bounces@example.org";
  // Right-hand side of Message-IDs, and of List-Id.
  std::string message_id_domain = "example.org";
  // The address members reach this server at (unsubscribe and preference links).
  std::string public_base_url = "http://127.0.0.1:8080";
  // DKIM: domain (d=), selector (s=) and the PEM private key file (mode 0600).
  // An empty key file means unsigned (for development only).
  std::string dkim_domain = "";
  std::string dkim_selector = "";
  std::string dkim_key_file = "";
  // Optional second signature, Ed25519 (RFC 8463), under its own selector,
  // beside the RSA one (dkim_key_file must be set too).
  std::string dkim_ed25519_selector = "";
  std::string dkim_ed25519_key_file = "";
  // SMTP connections used in parallel, and the most messages per second (0: no limit).
  int workers = 4;
  int rate_per_second = 0;
  // Temporary failures are retried with exponential backoff from retry_seconds, up to
  // max_attempts tries in all.
  int max_attempts = 8;
  int retry_seconds = 60;
};

// [audit]: where the audit log's signed checkpoints are copied outside the
// database (docs/security.md, "The audit log").
struct AuditConfig {
  // Files every signed checkpoint is appended to (and synced), one or more;
  // relative paths are inside the data directory. Put one on another disk,
  // mount or machine: the database cannot be rolled back past them unnoticed.
  std::vector<std::string> checkpoint_logs = {"audit-checkpoints.log"};
};

// [telephony]: how the phone bank places calls (docs/telephony.md).
struct TelephonyConfig {
  // "sandbox" simulates calls (nothing is dialled); "sip" places real calls
  // through the SIP trunk below.
  std::string connector = "sandbox";
  // The carrier's trunk, "sip:host[:port]"; calls go to sip:<E.164>@host.
  std::string trunk_uri = "";
  // Digest credentials for the trunk; the password is read from this file
  // (mode 0600, in the data directory's keys/), never from the config.
  std::string username = "";
  std::string password_file = "";
  // Every request goes through this proxy when set ("sip:host[:port]").
  std::string outbound_proxy = "";
  // "udp" or "tcp". ("tls" is refused: libre 1.1 does not check the trunk's
  // certificate against its name; docs/telephony.md.)
  std::string transport = "udp";
  // The number both phones see (From and P-Asserted-Identity), E.164, for
  // campaigns that choose none.
  std::string caller_id = "";
  // The organisation's other numbers, E.164: a campaign may present
  // caller_id or one of these, never a number not listed here (the carrier
  // must let the trunk present each; docs/telephony.md).
  std::vector<std::string> caller_ids;
  // How long each phone rings before the call gives up, in seconds; a
  // campaign may set its own for the member's phone (10 to 60).
  int ring_seconds = 30;
  // Calls up at once through the trunk, in all and per campaign (the
  // sandbox has no lines and keeps phonebank::CallLimits defaults).
  int max_calls = 50;
  int max_calls_per_campaign = 20;
  // The local address and port SIP listens on (the trunk must reach it).
  std::string listen = "127.0.0.1";
  int port = 5060;
  // Register with the trunk (`switchboard telephony check` tries it too).
  bool register_with_trunk = false;
};

struct Config {
  OrganisationConfig organisation;
  TelephonyConfig telephony;
  MailConfig mail;
  StoreConfig store;
  ServerConfig server;
  ImportConfig import;
  LogConfig log;
  AuditConfig audit;
};

// Parses and validates TOML text. Errors name the line and the problem.
Result<Config> ParseConfig(std::string_view toml_text, std::string_view source_name);
// Reads a file; a missing file yields the defaults.
Result<Config> LoadConfig(const std::string& path);
// The default configuration file written by `switchboard init`.
std::string DefaultConfigToml();

}  // namespace switchboard
