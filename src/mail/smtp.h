// SMTP submission through libcurl: one recipient per Send, one connection
// kept open and reused across Sends.
//
// An SmtpClient is not thread-safe: give each sending worker its own. It owns
// one libcurl easy handle; the connection opens on the first Send, is reused
// by later ones and closes (with QUIT) when the client goes away. libcurl
// drops the connection after a failed transaction; the next Send reconnects.
// Nothing is logged; SmtpResult::detail never contains an email address.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace switchboard::mail {

struct SmtpConfig {
  // "smtp://host:port" (kNone or kStartTlsRequired) or "smtps://host:port"
  // (kImplicit); no user, path, query or fragment.
  std::string url;
  enum class Tls {
    kNone,              // plain text: only for a relay on loopback
    kStartTlsRequired,  // STARTTLS, refusing a server that does not offer it
    kImplicit,          // TLS from the first byte (smtps, port 465)
  };
  Tls tls = Tls::kStartTlsRequired;
  // AUTH (libcurl picks the strongest of the server's SASL mechanisms) when
  // set; both or neither. Sent only over TLS, except to a loopback host.
  std::string username;
  std::string password;
  std::string helo_domain;  // the EHLO name: a host name, required
  int connect_timeout_ms = 10'000;
  // Longest wait for any server reply, and longest stall of the upload
  // (libcurl 7.88 counts both in whole seconds: rounded up).
  int io_timeout_ms = 60'000;
  // PEM file of CA certificates to verify the server against instead of the
  // system's (e.g. a private relay's CA). The server's certificate and host
  // name are always verified.
  std::string ca_file;
};

struct SmtpResult {
  enum class Kind {
    kAccepted,   // the server answered 2xx to the end of data
    kTransient,  // 4xx, no connection, timeout, TLS or AUTH failure, a 5xx to the
                 // session (greeting, EHLO, AUTH, MAIL FROM: configuration, not
                 // this recipient), or aborted by before_end_of_data: retry later
    kPermanent,  // a 5xx to RCPT TO (except 552) or to the message (DATA, end of
                 // data), or input Send refused before connecting (stage kInput)
  };
  // How far the transaction got when it ended.
  enum class Stage {
    kInput,      // refused before connecting: an invalid address or data
    kConnect,    // TCP connect, TLS handshake
    kSession,    // greeting, EHLO, STARTTLS, AUTH
    kMailFrom,   // MAIL FROM
    kRcptTo,     // RCPT TO
    kData,       // DATA and the message itself, up to (not including) the "."
    kEndOfData,  // the end-of-data marker was released; waiting for the reply
  };
  Kind kind = Kind::kTransient;
  int code = 0;  // the last SMTP reply code (CURLINFO_RESPONSE_CODE); 0 when none
  // The server's last reply text (or libcurl's error when there is none),
  // with anything shaped like an address removed, at most 300 bytes.
  std::string detail;
  Stage stage = Stage::kInput;
  // True once the end-of-data marker was handed to libcurl (before_end_of_data
  // said yes). A failure after that (kEndOfData with code 0: connection lost,
  // timeout) leaves it unknown whether the server kept the message.
  bool past_point_of_no_return = false;
};

class SmtpClient {
 public:
  // Validates `config` (kInvalidArgument naming the field; kNotFound for a
  // missing ca_file) and prepares a libcurl handle. Does not connect.
  static Result<std::unique_ptr<SmtpClient>> Create(SmtpConfig config);

  SmtpClient(const SmtpClient&) = delete;
  SmtpClient& operator=(const SmtpClient&) = delete;
  ~SmtpClient();

  // Submits `data` (a whole message as from RenderMessage or DkimSigner::Sign:
  // CRLF line endings, no bare CR or LF, no NUL) from `envelope_from` (the
  // bounce address) to the one recipient `rcpt`; both ASCII addr-specs.
  // libcurl dot-stuffs lines starting with '.'.
  //
  // `before_end_of_data`, when set, is called once, after all of `data` has
  // been handed to libcurl and before the end-of-data marker ("\r\n.\r\n")
  // is sent: the caller records the point of no return there. If it returns
  // false (or throws) the transfer is aborted and the connection closed
  // without the marker, so the server discards the message; the result is
  // kTransient at stage kData. It is not called when the transaction fails
  // earlier. It runs on this thread inside libcurl and should return well
  // within io_timeout_ms (the relay is kept waiting meanwhile).
  //
  // If a reused connection turns out to be dead before RCPT TO, Send retries
  // once on a fresh connection.
  SmtpResult Send(std::string_view envelope_from, std::string_view rcpt, std::string_view data,
                  const std::function<bool()>& before_end_of_data = {});

 private:
  struct Impl;
  explicit SmtpClient(std::unique_ptr<Impl> impl);
  SmtpResult SendOnce(std::string_view envelope_from, std::string_view rcpt, std::string_view data,
                      const std::function<bool()>& before_end_of_data, bool fresh_connection,
                      bool* reused);

  std::unique_ptr<Impl> impl_;
};

// The kind for a reply `code` (0: none) that ended a transaction at `stage`.
// Exposed for tests.
SmtpResult::Kind ClassifySmtpFailure(int code, SmtpResult::Stage stage);

// `text` with anything shaped like an email address replaced by "[address]",
// control characters dropped and at most `max_bytes` kept. Exposed for tests.
std::string ScrubSmtpText(std::string_view text, size_t max_bytes = 300);

}  // namespace switchboard::mail
