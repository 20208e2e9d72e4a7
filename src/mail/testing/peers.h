// Real mail peers for tests: an SMTP server on loopback (tests/mail/smtp_sink.py
// on aiosmtpd), a self-signed certificate and RSA keys made with the openssl
// command, DKIM verification and message parsing by Python's dkim and email
// modules. Each runs under Debian's /usr/bin/python3 (python3-aiosmtpd,
// python3-dkim), not whatever python3 is first on PATH.
//
// The scripts are found under $SB_SOURCE_DIR (or the source tree this was
// built from). Not thread-safe; for tests only.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace switchboard::mail::testing {

// The interpreter with python3-aiosmtpd and python3-dkim.
inline constexpr const char* kSystemPython = "/usr/bin/python3";

// The source tree (for tests/mail/*.py).
std::string SourceDir();

// Runs argv[0] (a path) with `argv`, stdin from /dev/null; returns its
// stdout. kInternal with the exit status and the end of stderr when it fails.
Result<std::string> RunProgram(const std::vector<std::string>& argv);

// A fresh directory under $TMPDIR or /tmp, removed with its contents when
// the object goes away.
class TempDir {
 public:
  static Result<std::unique_ptr<TempDir>> Create(std::string_view prefix = "sb-mail");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Join(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// A 2048-bit RSA key pair made by `openssl genpkey`: the private key in PEM
// (PKCS#8) and the public key as base64 DER, for a DKIM TXT record's p=.
struct RsaKeyPair {
  std::string private_pem;
  std::string public_der_base64;
};
Result<RsaKeyPair> GenerateRsaKeyPair();

struct SinkOptions {
  enum class Tls { kNone, kStartTls, kImplicit };
  Tls tls = Tls::kNone;  // with TLS a self-signed certificate for 127.0.0.1 is made
  std::string username;  // AUTH required with these when set (needs TLS)
  std::string password;
  std::vector<std::pair<std::string, int>> reject_rcpt;  // address, code for RCPT TO
  std::vector<std::pair<std::string, int>> reject_data;  // address, code for the end of data
  double idle_timeout_s = 300;  // the server closes a connection idle this long (421)
};

struct ReceivedMessage {
  int connection = 0;  // 1, 2, ...: which connection delivered it
  std::string mail_from;
  std::vector<std::string> rcpt_tos;
  std::string auth_user;  // empty without AUTH
  bool tls = false;
  std::string data;  // as received: CRLF, dot-stuffing undone
  std::string path;  // the .eml file
};

// tests/mail/smtp_sink.py as a child process, stopped (SIGTERM) and its
// directory removed on destruction.
class SmtpSink {
 public:
  static Result<std::unique_ptr<SmtpSink>> Start(SinkOptions options = {});
  ~SmtpSink();
  SmtpSink(const SmtpSink&) = delete;
  SmtpSink& operator=(const SmtpSink&) = delete;

  int port() const { return port_; }
  // "smtp://127.0.0.1:<port>" or "smtps://..." for implicit TLS.
  std::string url() const;
  // The self-signed certificate to trust (empty without TLS).
  const std::string& ca_file() const { return ca_file_; }

  // The messages received so far, in arrival order.
  std::vector<ReceivedMessage> Messages() const;
  // Waits until at least `n` messages arrived; kUnavailable after `timeout_ms`.
  Result<std::vector<ReceivedMessage>> WaitForMessages(size_t n, int timeout_ms = 10'000) const;
  // Connections accepted so far.
  int Connections() const;
  // Waits until the server has finished with at least `n` connections
  // (closed by either side; it receives nothing more on them); returns how
  // many it has. kUnavailable after `timeout_ms`.
  Result<int> WaitForClosedConnections(int n, int timeout_ms = 10'000) const;

 private:
  SmtpSink() = default;
  std::unique_ptr<TempDir> dir_;
  std::string messages_dir_;
  std::string ca_file_;
  SinkOptions::Tls tls_ = SinkOptions::Tls::kNone;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Verifies the first DKIM-Signature of `message` with Python's dkim module,
// answering the DNS query for `dns_name` ("sel._domainkey.example.org") with
// `txt_record`. Returns the signature's tags as "tag=value" lines (a=, c=,
// d=, s=, h=, ...); kFailedPrecondition when it does not verify.
Result<std::string> VerifyDkim(std::string_view message, std::string_view dns_name,
                               std::string_view txt_record);

// Verifies every DKIM-Signature of `message` with Python's dkim module,
// answering DNS queries from `records` (DNS name, TXT record). Returns how
// many signatures there are (all verified); kFailedPrecondition when one
// does not verify or there is none.
Result<int> VerifyDkimAll(std::string_view message,
                          const std::vector<std::pair<std::string, std::string>>& records);

// Parses `message` with Python's email module (policy=default) and returns
// tests/mail/inspect_message.py's JSON: decoded headers, defects, the MIME
// tree with each part's decoded text.
Result<std::string> InspectMessage(std::string_view message);

}  // namespace switchboard::mail::testing
