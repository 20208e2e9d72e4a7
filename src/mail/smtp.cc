#include "mail/smtp.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <utility>

#include "mail/address.h"

namespace switchboard::mail {
namespace {

using Stage = SmtpResult::Stage;
using Kind = SmtpResult::Kind;

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct UrlFree {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct CurlStringFree {
  void operator()(char* s) const { curl_free(s); }
};

bool HasLineBreakOrNul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// The URL part `part`, or empty when absent.
std::string UrlPart(CURLU* url, CURLUPart part) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, 0) != CURLUE_OK || value == nullptr) return {};
  std::unique_ptr<char, CurlStringFree> owned(value);
  return value;
}

bool IsLoopbackHost(std::string_view host) {
  return host == "localhost" || host == "[::1]" || host == "::1" || host.starts_with("127.");
}

// What one Send is doing; the libcurl callbacks see it through their userp.
struct Transfer {
  std::string_view data;
  size_t offset = 0;
  const std::function<bool()>* before_end_of_data = nullptr;
  bool eof_reached = false;         // the read callback reported the end
  bool declined_by_caller = false;  // before_end_of_data said no
  Stage stage = Stage::kConnect;
  bool quitting = false;   // QUIT was sent: later replies say nothing about the message
  std::string reply;       // the lines of the reply being read
  std::string last_reply;  // the last complete reply, lines joined by spaces
};

size_t ReadData(char* buffer, size_t size, size_t nitems, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  const size_t room = size * nitems;
  if (t->offset < t->data.size()) {
    const size_t n = std::min(room, t->data.size() - t->offset);
    std::memcpy(buffer, t->data.data() + t->offset, n);
    t->offset += n;
    return n;
  }
  if (t->declined_by_caller) return CURL_READFUNC_ABORT;
  if (!t->eof_reached) {
    bool go_on = true;
    if (t->before_end_of_data != nullptr && *t->before_end_of_data) {
      try {
        go_on = (*t->before_end_of_data)();
      } catch (...) {
        go_on = false;  // never let an exception unwind through libcurl
      }
    }
    if (!go_on) {
      t->declined_by_caller = true;
      return CURL_READFUNC_ABORT;
    }
    t->eof_reached = true;
    t->stage = Stage::kEndOfData;
  }
  return 0;
}

// Follows the SMTP dialogue (commands out, replies in) to know the stage and
// the server's last words. The message body (DATA_OUT) is never looked at.
int Trace(CURL*, curl_infotype type, char* data, size_t size, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  const std::string_view line(data, size);
  if (type == CURLINFO_HEADER_OUT) {
    // Exact command shapes: AUTH continuation lines are base64 and cannot
    // contain ':' or ' ', so they never look like MAIL or RCPT.
    if (line.starts_with("EHLO ") || line.starts_with("HELO ") || line.starts_with("STARTTLS") ||
        line.starts_with("AUTH ")) {
      if (t->stage < Stage::kSession) t->stage = Stage::kSession;
    } else if (line.starts_with("MAIL FROM:")) {
      t->stage = Stage::kMailFrom;
    } else if (line.starts_with("RCPT TO:")) {
      t->stage = Stage::kRcptTo;
    } else if (line == "DATA\r\n") {
      t->stage = Stage::kData;
    } else if (line == "QUIT\r\n") {
      t->quitting = true;  // libcurl closes the connection after a failure
    }
  } else if (type == CURLINFO_HEADER_IN && !t->quitting) {
    if (t->stage == Stage::kConnect) t->stage = Stage::kSession;  // the greeting
    std::string_view text = line;
    while (!text.empty() && (text.back() == '\r' || text.back() == '\n')) text.remove_suffix(1);
    if (!t->reply.empty()) t->reply += ' ';
    t->reply += text;
    // "250-more" continues a reply, "250 last" (or a bare "250") ends it.
    if (text.size() <= 3 || text[3] != '-') {
      t->last_reply = std::move(t->reply);
      t->reply.clear();
    }
  }
  return 0;
}

bool IsAddressDelimiter(char c) {
  return c == ' ' || c == '\t' || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' ||
         c == ';' || c == '[' || c == ']' || c == '\'' || c == '`';
}

}  // namespace

std::string ScrubSmtpText(std::string_view text, size_t max_bytes) {
  std::string s;
  s.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      if (!s.empty() && s.back() != ' ') s += ' ';
    } else {
      s += u >= 0x80 ? '?' : c;
    }
  }
  for (size_t at = s.find('@'); at != std::string::npos; at = s.find('@', at + 1)) {
    size_t b = at;
    if (b > 0 && s[b - 1] == '"') {  // a quoted local part: "john doe"@example.org
      const size_t open = b >= 2 ? s.rfind('"', b - 2) : std::string::npos;
      if (open != std::string::npos) b = open;
    }
    while (b > 0 && !IsAddressDelimiter(s[b - 1])) --b;
    size_t e = at + 1;
    while (e < s.size() && !IsAddressDelimiter(s[e])) ++e;
    s.replace(b, e - b, "[address]");
    at = b + std::string_view("[address]").size() - 1;
  }
  if (s.size() > max_bytes) s.resize(max_bytes);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

SmtpResult::Kind ClassifySmtpFailure(int code, SmtpResult::Stage stage) {
  if (code / 100 != 5) return Kind::kTransient;  // 4xx, or no reply at all
  switch (stage) {
    case Stage::kRcptTo:
      // RFC 5321 4.5.3.1.10: 552 to RCPT (too many recipients) is temporary.
      return code == 552 ? Kind::kTransient : Kind::kPermanent;
    case Stage::kData:
    case Stage::kEndOfData:
      return Kind::kPermanent;
    case Stage::kInput:
      return Kind::kPermanent;
    case Stage::kConnect:
    case Stage::kSession:
    case Stage::kMailFrom:
      return Kind::kTransient;  // our configuration or the relay, not this recipient
  }
  return Kind::kTransient;
}

struct SmtpClient::Impl {
  SmtpConfig config;
  std::string url;  // config.url + "/" + helo_domain (libcurl's EHLO name)
  std::unique_ptr<CURL, CurlFree> curl;
  char error[CURL_ERROR_SIZE] = {};
};

SmtpClient::SmtpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SmtpClient::~SmtpClient() {
  if (impl_) {
    impl_->curl.reset();  // sends QUIT on an open connection
    ::explicit_bzero(impl_->config.password.data(), impl_->config.password.size());
  }
}

Result<std::unique_ptr<SmtpClient>> SmtpClient::Create(SmtpConfig config) {
  using Tls = SmtpConfig::Tls;
  for (const auto& [value, name] :
       {std::pair{&config.url, "url"}, std::pair{&config.username, "username"},
        std::pair{&config.password, "password"}, std::pair{&config.helo_domain, "helo_domain"},
        std::pair{&config.ca_file, "ca_file"}}) {
    if (HasLineBreakOrNul(*value)) {
      return Status::InvalidArgument(std::string("smtp ") + name + " contains a line break or NUL");
    }
  }
  std::unique_ptr<CURLU, UrlFree> url(curl_url());
  if (!url) return Status::Internal("libcurl could not allocate a URL");
  if (curl_url_set(url.get(), CURLUPART_URL, config.url.c_str(), 0) != CURLUE_OK) {
    return Status::InvalidArgument("smtp url is not a URL (smtp://host:port or smtps://host:port)");
  }
  const std::string scheme = UrlPart(url.get(), CURLUPART_SCHEME);
  const std::string host = UrlPart(url.get(), CURLUPART_HOST);
  const std::string path = UrlPart(url.get(), CURLUPART_PATH);
  if (scheme != "smtp" && scheme != "smtps") {
    return Status::InvalidArgument("smtp url must start with smtp:// or smtps://");
  }
  if (host.empty() || !UrlPart(url.get(), CURLUPART_USER).empty() ||
      !UrlPart(url.get(), CURLUPART_QUERY).empty() ||
      !UrlPart(url.get(), CURLUPART_FRAGMENT).empty() || (!path.empty() && path != "/")) {
    return Status::InvalidArgument(
        "smtp url must be only scheme, host and port (credentials go in username and password, "
        "the EHLO name in helo_domain)");
  }
  if ((config.tls == Tls::kImplicit) != (scheme == "smtps")) {
    return Status::InvalidArgument(
        "smtp tls does not match the url: implicit TLS needs smtps://, none or STARTTLS smtp://");
  }
  if (config.username.empty() != config.password.empty()) {
    return Status::InvalidArgument("smtp username and password must be set together");
  }
  if (!config.username.empty() && config.tls == Tls::kNone && !IsLoopbackHost(host)) {
    return Status::InvalidArgument(
        "smtp credentials would cross the network in clear text: use STARTTLS or implicit TLS");
  }
  if (!IsHostName(config.helo_domain)) {
    return Status::InvalidArgument("smtp helo_domain is not a host name");
  }
  if (config.connect_timeout_ms <= 0 || config.io_timeout_ms <= 0) {
    return Status::InvalidArgument("smtp timeouts must be positive");
  }
  if (!config.ca_file.empty() && ::access(config.ca_file.c_str(), R_OK) != 0) {
    return Status::NotFound("smtp ca_file cannot be read: " + config.ca_file);
  }

  InitCurlOnce();
  auto impl = std::make_unique<Impl>();
  impl->curl.reset(curl_easy_init());
  if (!impl->curl) return Status::Internal("libcurl could not start");
  std::string base = config.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  impl->url = base + "/" + config.helo_domain;
  impl->config = std::move(config);

  CURL* c = impl->curl.get();
  const SmtpConfig& cfg = impl->config;
  const long io_seconds = (cfg.io_timeout_ms + 999) / 1000;
  bool ok =
      curl_easy_setopt(c, CURLOPT_URL, impl->url.c_str()) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps") == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, long{cfg.connect_timeout_ms}) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_SERVER_RESPONSE_TIMEOUT, io_seconds) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, io_seconds) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_USE_SSL,
                       cfg.tls == SmtpConfig::Tls::kNone ? long{CURLUSESSL_NONE}
                                                         : long{CURLUSESSL_ALL}) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_SSLVERSION, long{CURL_SSLVERSION_TLSv1_2}) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_UPLOAD, 1L) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadData) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, Trace) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_VERBOSE, 1L) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_ERRORBUFFER, impl->error) == CURLE_OK;
  if (ok && !cfg.ca_file.empty()) {
    ok = curl_easy_setopt(c, CURLOPT_CAINFO, cfg.ca_file.c_str()) == CURLE_OK;
  }
  if (ok && !cfg.username.empty()) {
    ok = curl_easy_setopt(c, CURLOPT_USERNAME, cfg.username.c_str()) == CURLE_OK &&
         curl_easy_setopt(c, CURLOPT_PASSWORD, cfg.password.c_str()) == CURLE_OK;
  }
  if (!ok)
    return Status::Internal("libcurl refused an SMTP option (is it built with SMTP and TLS?)");
  return std::unique_ptr<SmtpClient>(new SmtpClient(std::move(impl)));
}

SmtpResult SmtpClient::Send(std::string_view envelope_from, std::string_view rcpt,
                            std::string_view data,
                            const std::function<bool()>& before_end_of_data) {
  auto refuse = [](std::string detail) {
    SmtpResult r;
    r.kind = Kind::kPermanent;
    r.stage = Stage::kInput;
    r.detail = std::move(detail);
    return r;
  };
  if (Status st = ValidateAddress(envelope_from, "envelope_from"); !st.ok()) {
    return refuse(st.message());
  }
  if (Status st = ValidateAddress(rcpt, "rcpt"); !st.ok()) return refuse(st.message());
  if (data.empty()) return refuse("the message is empty");
  for (size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    if (c == '\0' || (c == '\r' && (i + 1 >= data.size() || data[i + 1] != '\n')) ||
        (c == '\n' && (i == 0 || data[i - 1] != '\r'))) {
      return refuse("the message has a NUL or a bare CR or LF");
    }
  }
  bool reused = false;
  SmtpResult result = SendOnce(envelope_from, rcpt, data, before_end_of_data, false, &reused);
  // A kept connection the server closed while idle fails before anything of
  // this transaction was accepted: try once more on a new one.
  if (reused && result.kind == Kind::kTransient && result.code == 0 &&
      !result.past_point_of_no_return && result.stage <= Stage::kMailFrom) {
    result = SendOnce(envelope_from, rcpt, data, before_end_of_data, true, &reused);
  }
  return result;
}

SmtpResult SmtpClient::SendOnce(std::string_view envelope_from, std::string_view rcpt,
                                std::string_view data,
                                const std::function<bool()>& before_end_of_data,
                                bool fresh_connection, bool* reused) {
  CURL* c = impl_->curl.get();
  Transfer transfer;
  transfer.data = data;
  transfer.before_end_of_data = &before_end_of_data;
  const std::string from = "<" + std::string(envelope_from) + ">";
  std::unique_ptr<curl_slist, SlistFree> rcpts(
      curl_slist_append(nullptr, ("<" + std::string(rcpt) + ">").c_str()));
  impl_->error[0] = '\0';
  SmtpResult result;
  if (!rcpts || curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str()) != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts.get()) != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_READDATA, &transfer) != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_DEBUGDATA, &transfer) != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, fresh_connection ? 1L : 0L) != CURLE_OK) {
    result.kind = Kind::kTransient;
    result.stage = Stage::kConnect;
    result.detail = "libcurl refused the envelope options";
    return result;
  }
  const CURLcode rc = curl_easy_perform(c);
  long code = 0;
  long connects = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
  *reused = connects == 0;
  // The handle keeps pointers to these; clear them before they go away.
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, nullptr);
  curl_easy_setopt(c, CURLOPT_READDATA, nullptr);
  curl_easy_setopt(c, CURLOPT_DEBUGDATA, nullptr);

  result.code = static_cast<int>(code);
  result.stage = transfer.stage;
  result.past_point_of_no_return = transfer.eof_reached;
  if (rc == CURLE_OK) {
    result.kind = Kind::kAccepted;
    result.detail = ScrubSmtpText(transfer.last_reply);
    return result;
  }
  if (transfer.declined_by_caller) {
    result.kind = Kind::kTransient;
    result.stage = Stage::kData;
    result.detail = "aborted before the end of data: the caller declined";
    return result;
  }
  result.kind = ClassifySmtpFailure(result.code, result.stage);
  if (result.code != 0 && !transfer.last_reply.empty()) {
    result.detail = ScrubSmtpText(transfer.last_reply);
  } else {
    std::string why = curl_easy_strerror(rc);
    if (impl_->error[0] != '\0') why += std::string(": ") + impl_->error;
    result.detail = ScrubSmtpText(why);
  }
  return result;
}

}  // namespace switchboard::mail
