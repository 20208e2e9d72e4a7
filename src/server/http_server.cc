#include "server/http_server.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sodium.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <tuple>

#include "core/log.h"

namespace switchboard::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message,
                           std::string_view request_id) {
  HttpResponse r;
  r.status = status;
  r.body =
      nlohmann::json{{"error", {{"code", code}, {"message", message}, {"request_id", request_id}}}}
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

namespace {

constexpr size_t kMaxHeaderBytes = 16 * 1024;

// 16 letters from 21 consonants (about 70 bits, drawn in one call): no
// digits, so the log scrubber's phone-number rule never redacts one (hex ids
// could hold seven digits in a row, and did), and no vowels, so no words. The
// slight bias of a byte modulo 21 does not matter for an id.
std::string NewRequestId() {
  static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxyz";
  unsigned char b[16];
  randombytes_buf(b, sizeof b);
  std::string id(sizeof b, ' ');
  for (size_t i = 0; i < sizeof b; ++i) id[i] = kAlphabet[b[i] % kAlphabet.size()];
  return id;
}

}  // namespace

namespace {

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool Decode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      *out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (in[i] == '+' && plus_is_space) {
      *out += ' ';
    } else {
      *out += in[i];
    }
  }
  return true;
}

}  // namespace

void Deferred::Finish(Make make) {
  std::function<void(Make)> run;
  {
    MutexLock lock(mu_);
    finished_ = true;
    if (!run_) {
      make_ = std::move(make);
    } else {
      run = std::move(run_);
    }
  }
  if (run) {
    run(std::move(make));
  } else {
    cv_.SignalAll();
  }
}

void Deferred::OnFinish(std::function<void(Make)> run) {
  Make make;
  {
    MutexLock lock(mu_);
    if (!finished_) {
      run_ = std::move(run);
      return;
    }
    make = std::move(make_);
  }
  run(std::move(make));
}

HttpResponse Deferred::Wait() {
  Make make;
  {
    MutexLock lock(mu_);
    while (!finished_) cv_.Wait(mu_);
    make = std::move(make_);
  }
  return make();
}

std::string HttpRequest::Header(std::string_view name) const {
  auto it = headers.find(std::string(name));
  return it == headers.end() ? std::string() : it->second;
}

std::string HttpRequest::Cookie(std::string_view name) const {
  const std::string all = Header("cookie");
  std::string_view rest(all);
  while (!rest.empty()) {
    size_t end = rest.find(';');
    std::string_view part = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    const size_t eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name) {
      return std::string(part.substr(eq + 1));
    }
  }
  return "";
}

namespace {

bool IsTchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string_view Token(std::string_view& rest) {
  size_t n = 0;
  while (n < rest.size() && IsTchar(rest[n])) ++n;
  std::string_view t = rest.substr(0, n);
  rest.remove_prefix(n);
  return t;
}

void SkipOws(std::string_view& rest) {
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::optional<MediaType> ParseMediaType(std::string_view text) {
  std::string_view rest = text;
  SkipOws(rest);
  MediaType m;
  m.type = Lower(Token(rest));
  if (m.type.empty() || rest.empty() || rest.front() != '/') return std::nullopt;
  rest.remove_prefix(1);
  m.subtype = Lower(Token(rest));
  if (m.subtype.empty()) return std::nullopt;
  for (;;) {
    SkipOws(rest);
    if (rest.empty()) return m;
    if (rest.front() != ';') return std::nullopt;
    rest.remove_prefix(1);
    SkipOws(rest);
    if (rest.empty()) return m;  // a trailing ";" is allowed (RFC 9110 §5.6.6)
    std::string name = Lower(Token(rest));
    if (name.empty() || rest.empty() || rest.front() != '=') return std::nullopt;
    rest.remove_prefix(1);
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      rest.remove_prefix(1);
      bool closed = false;
      while (!rest.empty()) {
        const unsigned char c = static_cast<unsigned char>(rest.front());
        rest.remove_prefix(1);
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (rest.empty()) return std::nullopt;
          const unsigned char q = static_cast<unsigned char>(rest.front());
          if (q != '\t' && (q < 0x20 || q == 0x7f)) return std::nullopt;
          value += static_cast<char>(q);
          rest.remove_prefix(1);
        } else if (c == '\t' || (c >= 0x20 && c != 0x7f)) {
          value += static_cast<char>(c);
        } else {
          return std::nullopt;
        }
      }
      if (!closed) return std::nullopt;
    } else {
      value = std::string(Token(rest));
      if (value.empty()) return std::nullopt;
    }
    m.params.emplace_back(std::move(name), std::move(value));
  }
}

bool IsJsonMediaType(std::string_view content_type) {
  const std::optional<MediaType> m = ParseMediaType(content_type);
  if (!m || m->type != "application" || m->subtype != "json") return false;
  for (const auto& [name, value] : m->params) {
    if (name != "charset" || Lower(value) != "utf-8") return false;
  }
  return true;
}

bool ParseTarget(std::string_view target, std::string* path,
                 std::map<std::string, std::string>* query) {
  const size_t q = target.find('?');
  if (!Decode(target.substr(0, q), false, path)) return false;
  query->clear();
  if (q == std::string_view::npos) return true;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string k, v;
    if (!Decode(pair.substr(0, eq), true, &k)) return false;
    if (eq != std::string_view::npos && !Decode(pair.substr(eq + 1), true, &v)) return false;
    (*query)[k] = v;
  }
  return true;
}

HttpRequest MakeRequest(std::string method, std::string target, std::string body,
                        std::map<std::string, std::string> headers) {
  HttpRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  ParseTarget(r.target, &r.path, &r.query);
  r.body = std::move(body);
  r.headers = std::move(headers);
  r.remote = "127.0.0.1";
  r.request_id = "test";
  return r;
}

// The end of the header block at the start of `data`: the offset just past
// the blank line after the fields ("\n\r\n", or "\n\n", which Beast then
// refuses as it should); 0 when it has not all arrived.
size_t HeaderBlockEnd(std::string_view data) {
  for (size_t i = data.find('\n'); i != std::string_view::npos; i = data.find('\n', i + 1)) {
    if (i + 1 < data.size() && data[i + 1] == '\n') return i + 2;
    if (i + 2 < data.size() && data[i + 1] == '\r' && data[i + 2] == '\n') return i + 3;
  }
  return 0;
}

// Whether a complete header block uses obsolete line folding (RFC 9112
// §5.2) or starts a field line with whitespace (§2.2): a line break followed
// by a space or tab anywhere in it.
bool HasFoldedLine(std::string_view header) {
  for (size_t i = header.find('\n'); i != std::string_view::npos && i + 1 < header.size();
       i = header.find('\n', i + 1)) {
    if (header[i + 1] == ' ' || header[i + 1] == '\t') return true;
  }
  return false;
}

std::optional<FramingRefusal> CheckTransferEncoding(const std::vector<std::string>& values,
                                                    bool has_content_length) {
  if (values.empty()) return std::nullopt;
  if (has_content_length) {
    return FramingRefusal{400, "bad_request",
                          "a request may not carry both Transfer-Encoding and Content-Length"};
  }
  std::string_view v(values.front());
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (values.size() != 1 || !beast::iequals(beast::string_view(v.data(), v.size()), "chunked")) {
    return FramingRefusal{501, "transfer_encoding_not_implemented",
                          "the only transfer coding accepted is \"chunked\""};
  }
  return std::nullopt;
}

namespace {

// TLS 1.2 suites: ECDHE key exchange and AEAD only (no RSA key exchange, no
// CBC), as Mozilla's "intermediate" profile without its finite-field DHE.
// TLS 1.3's suites are all AEAD; OpenSSL's defaults stand.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// OpenSSL's reason for the last failure on this thread, and clears the queue.
std::string OpenSslReason() {
  std::string reason;
  while (const unsigned long e = ERR_get_error()) {
    const char* r = ERR_reason_error_string(e);
    reason = r ? r : "error " + std::to_string(ERR_GET_REASON(e));
  }
  return reason.empty() ? "unknown error" : reason;
}

// ALPN (RFC 7301): http/1.1, or a no_application_protocol alert for a
// client that offers only protocols this server does not speak.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
               unsigned int in_len, void*) {
  static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, out_len, kHttp11, sizeof kHttp11, in, in_len) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

// A certificate's serial as colon-separated hex bytes (as browsers show it;
// never seven digits in a row, which the log scrubber would take for a phone).
std::string SerialText(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = bn ? BN_bn2hex(bn) : nullptr;
  std::string h = hex ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  if (h.size() % 2) h.insert(0, "0");
  std::string out;
  for (size_t i = 0; i < h.size(); i += 2) out += (i ? ":" : "") + h.substr(i, 2);
  return out;
}

struct TlsLoaded {
  std::shared_ptr<ssl::context> context;
  std::string serial;
  std::int64_t not_after = 0;  // seconds since the epoch
};

// Reads a whole file: OpenSSL's own errors for a missing file are not ones
// a person can act on.
Status Readable(const std::string& path, std::string_view what) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    return Status::InvalidArgument("cannot read the TLS " + std::string(what) + " " + path + ": " +
                                   std::strerror(errno));
  }
  return Status::Ok();
}

Result<TlsLoaded> MakeTlsContext(const ServerConfig& config) {
  const std::string& cert = config.tls_cert;
  const std::string& key = config.tls_key;
  SB_RETURN_IF_ERROR(Readable(cert, "certificate"));
  SB_RETURN_IF_ERROR(Readable(key, "private key"));
  ERR_clear_error();
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* c = ctx->native_handle();
  const int min_version = config.tls_min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  // No session resumption: tickets would need keys rotated by hand to keep
  // forward secrecy, and browsers keep their connections open anyway.
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                             SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(c, 0);
  if (SSL_CTX_set_min_proto_version(c, min_version) != 1 ||
      SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1 ||
      SSL_CTX_set1_groups_list(c, "X25519:P-256:P-384") != 1) {
    return Status::Internal("cannot set up TLS: " + OpenSslReason());
  }
  SSL_CTX_set_alpn_select_cb(c, SelectAlpn, nullptr);
  if (SSL_CTX_use_certificate_chain_file(c, cert.c_str()) != 1) {
    return Status::InvalidArgument("the TLS certificate " + cert +
                                   " is not a PEM certificate chain (" + OpenSslReason() + ")");
  }
  if (SSL_CTX_use_PrivateKey_file(c, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Status::InvalidArgument("the TLS private key " + key + " is not a PEM private key (" +
                                   OpenSslReason() + ")");
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    return Status::InvalidArgument("the TLS private key " + key +
                                   " does not belong to the certificate " + cert + " (" +
                                   OpenSslReason() + ")");
  }
  TlsLoaded out;
  X509* x = SSL_CTX_get0_certificate(c);
  out.serial = SerialText(x);
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1) out.not_after = timegm(&tm);
  out.context = std::move(ctx);
  return out;
}

}  // namespace

struct HttpServer::Impl {
  ServerConfig config;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  // Requests served on one route, by status, and their latency: counted with
  // relaxed atomics, so no request waits on another to be counted.
  struct RouteStats {
    static constexpr int kStatusSlots = 24;
    // Upper bounds of the latency buckets, in microseconds (+Inf after).
    static constexpr std::int64_t kBounds[] = {500,     1000,    2500,    5000,    10000,
                                               25000,   50000,   100000,  250000,  500000,
                                               1000000, 2500000, 5000000, 10000000};
    static constexpr int kBuckets = std::size(kBounds) + 1;
    std::string method, route;
    std::atomic<int> status[kStatusSlots] = {};  // 0: slot free
    std::atomic<std::uint64_t> by_status[kStatusSlots] = {};
    std::atomic<std::uint64_t> other_status{0};  // more statuses than slots
    std::atomic<std::uint64_t> buckets[kBuckets] = {};
    std::atomic<std::uint64_t> micros_sum{0};
    std::atomic<std::uint64_t> count{0};

    void Record(int st, std::int64_t micros) {
      count.fetch_add(1, std::memory_order_relaxed);
      micros_sum.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(micros, 0)),
                           std::memory_order_relaxed);
      int b = 0;
      while (b < kBuckets - 1 && micros > kBounds[b]) ++b;
      buckets[b].fetch_add(1, std::memory_order_relaxed);
      for (int i = 0; i < kStatusSlots; ++i) {
        int seen = status[i].load(std::memory_order_acquire);
        if (seen == 0 && status[i].compare_exchange_strong(seen, st)) seen = st;
        if (seen == st) {
          by_status[i].fetch_add(1, std::memory_order_relaxed);
          return;
        }
      }
      other_status.fetch_add(1, std::memory_order_relaxed);
    }
  };

  struct RouteEntry {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    int placeholders = 0;
    Handler handler;
    std::unique_ptr<RouteStats> stats;
  };
  std::vector<RouteEntry> routes;
  std::atomic<bool> running{false};

  // The TLS context new connections get (null: plain HTTP); LoadTls puts a
  // new one in, and each connection holds on to the one it started with.
  mutable Mutex tls_mu;
  std::shared_ptr<ssl::context> tls SB_GUARDED_BY(tls_mu);
  std::shared_ptr<ssl::context> Tls() const {
    MutexLock lock(tls_mu);
    return tls;
  }
  std::atomic<std::uint64_t> handshakes_ok{0};
  std::atomic<std::uint64_t> handshakes_failed{0};
  // Requests that matched no route (or not its method).
  RouteStats unmatched{.method = "other", .route = "unmatched"};

  RequestLogOptions log_options;
  // The success budget, without a lock on every request: the thread that
  // sees a new second first starts it (and reports the last one's count).
  // Requests racing that change may be counted in either second.
  std::atomic<std::int64_t> log_second{0};     // the second being counted
  std::atomic<int> log_successes{0};           // successes logged in it
  std::atomic<std::uint64_t> log_unlogged{0};  // successes only counted in it

  void LogRequest(const HttpRequest& req, const std::string& rid, int status, std::int64_t micros) {
    if (status < 400) {
      static const SystemClock kSystem;
      const Clock& clock = log_options.clock ? *log_options.clock : kSystem;
      const std::int64_t second = clock.Now() / kMicrosPerSecond;
      std::int64_t seen = log_second.load(std::memory_order_relaxed);
      if (second != seen && log_second.compare_exchange_strong(seen, second)) {
        log_successes.store(0, std::memory_order_relaxed);
        if (const std::uint64_t n = log_unlogged.exchange(0); n > 0) {
          log::Info("http", "successful requests counted, not logged one by one",
                    {{"count", static_cast<std::int64_t>(n)}, {"second", seen}});
        }
      }
      if (log_successes.fetch_add(1, std::memory_order_relaxed) >=
          log_options.successes_per_second) {
        log_unlogged.fetch_add(1, std::memory_order_relaxed);
        return;
      }
    }
    const bool known = !req.route.empty();
    log::Write(status >= 500 ? log::Level::kError : log::Level::kInfo, "http", "request",
               {{"request_id", rid},
                {"method", req.method},
                {"route", known ? std::string_view(req.route) : std::string_view("unmatched")},
                {"status", status},
                {"micros", micros},
                {"account", req.account}});
  }

  std::string RequestMetrics() const {
    std::string count_lines, bucket_lines;
    auto labels = [](const RouteStats& s) {
      return "method=\"" + s.method + "\",route=\"" + s.route + "\"";
    };
    auto add = [&](const RouteStats& s) {
      if (s.count.load(std::memory_order_relaxed) == 0) return;
      const std::string l = labels(s);
      for (int i = 0; i < RouteStats::kStatusSlots; ++i) {
        const int st = s.status[i].load(std::memory_order_acquire);
        if (st == 0) break;
        count_lines += "switchboard_http_requests_total{" + l + ",status=\"" + std::to_string(st) +
                       "\"} " + std::to_string(s.by_status[i].load(std::memory_order_relaxed)) +
                       "\n";
      }
      if (const std::uint64_t n = s.other_status.load(std::memory_order_relaxed)) {
        count_lines += "switchboard_http_requests_total{" + l + ",status=\"other\"} " +
                       std::to_string(n) + "\n";
      }
      std::uint64_t cumulative = 0;
      for (int b = 0; b < RouteStats::kBuckets; ++b) {
        cumulative += s.buckets[b].load(std::memory_order_relaxed);
        char le[32];
        if (b < RouteStats::kBuckets - 1) {
          std::snprintf(le, sizeof le, "%g", static_cast<double>(RouteStats::kBounds[b]) / 1e6);
        } else {
          std::snprintf(le, sizeof le, "+Inf");
        }
        bucket_lines += "switchboard_http_request_duration_seconds_bucket{" + l + ",le=\"" + le +
                        "\"} " + std::to_string(cumulative) + "\n";
      }
      char sum[48];
      std::snprintf(sum, sizeof sum, "%.6f",
                    static_cast<double>(s.micros_sum.load(std::memory_order_relaxed)) / 1e6);
      bucket_lines += "switchboard_http_request_duration_seconds_sum{" + l + "} " + sum + "\n";
      // The buckets' total, so _count always equals the +Inf bucket.
      bucket_lines += "switchboard_http_request_duration_seconds_count{" + l + "} " +
                      std::to_string(cumulative) + "\n";
    };
    for (const RouteEntry& e : routes) add(*e.stats);
    add(unmatched);
    std::string tls_lines;
    if (Tls()) {
      tls_lines =
          "# HELP switchboard_tls_handshakes_total TLS handshakes, by result.\n"
          "# TYPE switchboard_tls_handshakes_total counter\n"
          "switchboard_tls_handshakes_total{result=\"ok\"} " +
          std::to_string(handshakes_ok.load(std::memory_order_relaxed)) +
          "\nswitchboard_tls_handshakes_total{result=\"failed\"} " +
          std::to_string(handshakes_failed.load(std::memory_order_relaxed)) + "\n";
    }
    return tls_lines +
           "# HELP switchboard_http_requests_total HTTP requests served, by route and status.\n"
           "# TYPE switchboard_http_requests_total counter\n" +
           count_lines +
           "# HELP switchboard_http_request_duration_seconds Time from a request's first byte "
           "to its response, by route.\n"
           "# TYPE switchboard_http_request_duration_seconds histogram\n" +
           bucket_lines;
  }

  // Whether `e` matches `segs`; fills `params`.
  static bool Matches(const RouteEntry& e, const std::vector<std::string_view>& segs,
                      std::map<std::string, std::string>* params) {
    if (e.segments.size() != segs.size()) return false;
    params->clear();
    for (size_t i = 0; i < segs.size(); ++i) {
      const std::string& p = e.segments[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        if (segs[i].empty()) return false;
        (*params)[p.substr(1, p.size() - 2)] = std::string(segs[i]);
      } else if (p != segs[i]) {
        return false;
      }
    }
    return true;
  }

  // `stats` (may be null) gets the matched route's counters.
  HttpResponse Dispatch(HttpRequest& req, RouteStats** stats = nullptr) const {
    if (stats) *stats = const_cast<RouteStats*>(&unmatched);
    const std::vector<std::string_view> segs = Segments(req.path);
    const RouteEntry* best = nullptr;
    std::map<std::string, std::string> params, best_params;
    std::string allowed;
    for (const RouteEntry& e : routes) {
      if (!Matches(e, segs, &params)) continue;
      if (e.method != req.method) {
        if (allowed.find(e.method) == std::string::npos) {
          allowed += (allowed.empty() ? "" : ", ") + e.method;
        }
        continue;
      }
      if (!best || e.placeholders < best->placeholders) {
        best = &e;
        best_params = params;
      }
    }
    if (best) {
      req.params = std::move(best_params);
      req.route = best->pattern;
      if (stats) *stats = best->stats.get();
      return best->handler(req);
    }
    if (!allowed.empty()) {
      HttpResponse r = ErrorResponse(
          405, "method_not_allowed",
          "this path does not accept " + req.method + "; it accepts " + allowed, req.request_id);
      r.headers.emplace_back("Allow", allowed);
      return r;
    }
    return ErrorResponse(404, "not_found",
                         "no such route; the API is described in docs/openapi.yaml",
                         req.request_id);
  }
};

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One connection: plain (beast::tcp_stream) or TLS (TlsStream).
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  Session(tcp::socket socket, HttpServer::Impl& impl) requires(!kTls)
      : stream_(std::move(socket)), impl_(impl) {}
  Session(tcp::socket socket, std::shared_ptr<ssl::context> tls,
          HttpServer::Impl& impl) requires(kTls)
      : tls_(std::move(tls)), stream_(std::move(socket), *tls_), impl_(impl) {}

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->Handshake();
      } else {
        self->Read();
      }
    });
  }

 private:
  using std::enable_shared_from_this<Session<Stream>>::shared_from_this;

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  // A client gets as long to finish its handshake as to send a request.
  void Handshake() {
    Lowest().expires_after(std::chrono::seconds(impl_.config.request_timeout_seconds));
    stream_.async_handshake(
        ssl::stream_base::server, [self = shared_from_this()](beast::error_code ec) {
          if (ec) {
            self->impl_.handshakes_failed.fetch_add(1, std::memory_order_relaxed);
            log::Debug("http", "TLS handshake failed", {{"error", ec.message()}});
            return;  // the socket closes with the session
          }
          self->impl_.handshakes_ok.fetch_add(1, std::memory_order_relaxed);
          self->Read();
        });
  }

  // A request is read in three steps: the raw header block (to refuse
  // folded lines, which Beast would unfold), the parsed header (to refuse
  // transfer codings before any body is read), then the body.
  void Read() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(static_cast<std::uint64_t>(impl_.config.max_body_bytes));
    request_ = HttpRequest();
    Lowest().expires_after(std::chrono::seconds(impl_.config.request_timeout_seconds));
    ReadHeaderBytes();
  }

  std::string_view Buffered() const {
    const auto data = buffer_.data();
    return {static_cast<const char*>(data.data()), data.size()};
  }

  // Reads until the buffer holds a whole header block (it may already, when
  // requests are pipelined).
  void ReadHeaderBytes() {
    const std::string_view data = Buffered();
    const size_t end = HeaderBlockEnd(data.substr(0, kMaxHeaderBytes));
    if (end > 0) return OnHeaderBytes(end);
    if (data.size() >= kMaxHeaderBytes) {
      return Refuse(431, "headers_too_large", "the request headers are too large");
    }
    stream_.async_read_some(buffer_.prepare(kMaxHeaderBytes - data.size()),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->buffer_.commit(n);
                              if (ec) return self->Close();
                              self->ReadHeaderBytes();
                            });
  }

  static bool Quiet(beast::error_code ec) {
    return ec == asio::error::eof || ec == http::error::end_of_stream ||
           ec == beast::error::timeout || ec == asio::error::operation_aborted ||
           ec == asio::error::connection_reset || ec == ssl::error::stream_truncated;
  }

  // The header block is in the buffer: parse it here, check its framing,
  // then take whatever of the body has arrived with it, all without another
  // trip through the executor (a request that came in one segment is
  // dispatched at once); only a body still on its way is read asynchronously.
  void OnHeaderBytes(std::size_t n) {
    start_ = std::chrono::steady_clock::now();
    if (HasFoldedLine(Buffered().substr(0, n))) {
      return Refuse(400, "bad_request",
                    "header lines may not be folded or start with whitespace (RFC 9112)");
    }
    beast::error_code ec;
    buffer_.consume(parser_->put(asio::const_buffer(buffer_.data().data(), n), ec));
    if (ec == http::error::need_more || (!ec && !parser_->is_header_done())) {
      ec = http::error::bad_line_ending;  // a block Beast does not read as a whole header
    }
    if (ec) return OnError(ec);
    const auto& h = parser_->get();
    std::vector<std::string> te;
    for (const auto& f : h) {
      if (f.name() == http::field::transfer_encoding) te.emplace_back(f.value());
    }
    if (auto refusal = CheckTransferEncoding(te, h.find(http::field::content_length) != h.end())) {
      return Refuse(refusal->status, refusal->code, refusal->message);
    }
    if (!parser_->is_done() && buffer_.size() > 0) {
      parser_->eager(true);
      buffer_.consume(parser_->put(buffer_.data(), ec));
      if (ec == http::error::need_more) ec = {};
      if (ec) return OnError(ec);
    }
    if (parser_->is_done()) return OnRead({}, 0);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnError(beast::error_code ec) {
    if (Quiet(ec)) return Close();
    if (ec == http::error::body_limit) {
      return Refuse(413, "body_too_large",
                    "the request body is larger than " +
                        std::to_string(impl_.config.max_body_bytes) + " bytes");
    }
    if (ec == http::error::header_limit) {
      return Refuse(431, "headers_too_large", "the request headers are too large");
    }
    return Refuse(400, "bad_request", "the request is not valid HTTP/1.1");
  }

  // Answers a request that could not be read, and closes the connection.
  void Refuse(int status, std::string_view code, const std::string& message) {
    const std::string rid = NewRequestId();
    if (request_.method.empty() && parser_ && parser_->is_header_done()) {
      request_.method = std::string(parser_->get().method_string());
    }
    if (start_ == std::chrono::steady_clock::time_point())
      start_ = std::chrono::steady_clock::now();
    Respond(ErrorResponse(status, code, message, rid), rid, /*keep_alive=*/false, 11);
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec) return OnError(ec);
    const std::string rid = NewRequestId();
    auto msg = parser_->release();
    // The request stays here until its response is sent: a deferred
    // response's handler still refers to it.
    HttpRequest& req = request_;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.request_id = rid;
    if (!ParseTarget(req.target, &req.path, &req.query)) {
      return Respond(ErrorResponse(400, "bad_target",
                                   "the request path or query has invalid percent-encoding", rid),
                     rid, msg.keep_alive(), msg.version());
    }
    req.body = std::move(msg.body());
    beast::error_code addr_ec;
    const auto remote = Lowest().socket().remote_endpoint(addr_ec);
    if (!addr_ec) req.remote = remote.address().to_string();
    for (const auto& f : msg) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers[name] = std::string(f.value());
    }
    HttpResponse resp = impl_.Dispatch(req, &stats_);
    const bool keep_alive = msg.keep_alive();
    const unsigned version = msg.version();
    if (resp.later) {
      // Finished on another thread; made and sent on this connection's strand.
      std::shared_ptr<Deferred> later = std::move(resp.later);
      later->OnFinish([self = shared_from_this(), rid, keep_alive, version](Deferred::Make make) {
        asio::post(self->stream_.get_executor(),
                   [self, rid, keep_alive, version, make = std::move(make)] {
                     self->Respond(make(), rid, keep_alive, version);
                   });
      });
      return;
    }
    Respond(std::move(resp), rid, keep_alive, version);
  }

  void Respond(HttpResponse resp, const std::string& rid, bool keep_alive, unsigned version) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - start_)
                            .count();
    (stats_ ? stats_ : &impl_.unmatched)->Record(resp.status, micros);
    stats_ = nullptr;
    impl_.LogRequest(request_, rid, resp.status, micros);
    start_ = {};
    Send(std::move(resp), rid, keep_alive, version);
  }

  void Send(HttpResponse r, const std::string& rid, bool keep_alive, unsigned version) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), version);
    res->set(http::field::server, "switchboard");
    res->set(http::field::content_type, r.content_type);
    res->set("X-Request-Id", rid);
    res->set("X-Content-Type-Options", "nosniff");
    res->set("Cache-Control", "no-store");
    res->set("Content-Security-Policy",
             "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    res->set("X-Frame-Options", "DENY");
    res->set("Referrer-Policy", "no-referrer");
    if constexpr (kTls) res->set("Strict-Transport-Security", "max-age=31536000");
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->keep_alive(keep_alive);
    res->body() = std::move(r.body);
    res->prepare_payload();
    response_ = res;
    http::async_write(stream_, *res,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                        self->response_.reset();
                        if (ec || !keep_alive) return self->Close();
                        self->Read();
                      });
  }

  void Close() {
    if constexpr (kTls) {
      // close_notify, then the TCP half-close, within the request deadline.
      Lowest().expires_after(std::chrono::seconds(impl_.config.request_timeout_seconds));
      stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
        beast::error_code ec;
        self->Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
      });
    } else {
      beast::error_code ec;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  std::shared_ptr<ssl::context> tls_;  // TLS: the context this connection started with
  Stream stream_;
  beast::flat_buffer buffer_;
  HttpServer::Impl& impl_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest request_;
  std::chrono::steady_clock::time_point start_;
  HttpServer::Impl::RouteStats* stats_ = nullptr;  // the request's route, once matched
  std::shared_ptr<void> response_;
};

void Accept(HttpServer::Impl& impl) {
  impl.acceptor.async_accept(
      asio::make_strand(impl.ioc), [&impl](beast::error_code ec, tcp::socket socket) {
        if (ec) {
          if (!impl.running) return;
        } else {
          if (auto tls = impl.Tls()) {
            std::make_shared<Session<TlsStream>>(std::move(socket), std::move(tls), impl)->Start();
          } else {
            std::make_shared<Session<beast::tcp_stream>>(std::move(socket), impl)->Start();
          }
        }
        if (impl.running) Accept(impl);
      });
}

}  // namespace

HttpServer::HttpServer(const ServerConfig& config, RequestLogOptions log)
    : impl_(std::make_unique<Impl>()) {
  impl_->config = config;
  impl_->log_options = log;
}

HttpServer::~HttpServer() { Stop(); }

std::string HttpServer::RequestMetrics() const { return impl_->RequestMetrics(); }

void HttpServer::Route(std::string method, std::string pattern, Handler handler) {
  Impl::RouteEntry e;
  for (std::string_view seg : Segments(pattern)) {
    e.segments.emplace_back(seg);
    if (seg.size() > 2 && seg.front() == '{') ++e.placeholders;
  }
  e.method = std::move(method);
  e.pattern = std::move(pattern);
  e.handler = std::move(handler);
  e.stats = std::make_unique<Impl::RouteStats>();
  e.stats->method = e.method;
  e.stats->route = e.pattern;
  impl_->routes.push_back(std::move(e));
}

std::vector<std::pair<std::string, std::string>> HttpServer::Routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : impl_->routes) out.emplace_back(e.method, e.pattern);
  return out;
}

HttpResponse HttpServer::Dispatch(HttpRequest& request) const {
  HttpResponse r = impl_->Dispatch(request);
  if (r.later) return r.later->Wait();
  return r;
}

bool HttpServer::tls() const { return !impl_->config.tls_cert.empty(); }

Status HttpServer::LoadTls() {
  if (!tls()) return Status::FailedPrecondition("TLS is not configured ([server] tls_cert)");
  auto loaded = MakeTlsContext(impl_->config);
  if (!loaded) return loaded.error();
  {
    MutexLock lock(impl_->tls_mu);
    impl_->tls = std::move(loaded->context);
  }
  const std::int64_t now = std::time(nullptr);
  log::Write(loaded->not_after < now ? log::Level::kWarn : log::Level::kInfo, "http",
             loaded->not_after < now ? "TLS certificate loaded, and it has expired"
                                     : "TLS certificate loaded",
             {{"certificate", impl_->config.tls_cert},
              {"serial", loaded->serial},
              {"not_after", FormatTimestamp(loaded->not_after * kMicrosPerSecond)}});
  return Status::Ok();
}

Status HttpServer::Start() {
  if (tls() && !impl_->Tls()) SB_RETURN_IF_ERROR(LoadTls());
  beast::error_code ec;
  auto addr = asio::ip::make_address(impl_->config.listen, ec);
  if (ec)
    return Status::InvalidArgument("server.listen: not an IP address: " + impl_->config.listen);
  tcp::endpoint ep(addr, static_cast<unsigned short>(impl_->config.port));
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable("cannot listen on " + impl_->config.listen + ":" +
                               std::to_string(impl_->config.port) + ": " + ec.message());
  }
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->running = true;
  Accept(*impl_);
  for (int i = 0; i < impl_->config.threads; ++i) {
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  }
  return Status::Ok();
}

void HttpServer::Stop() {
  if (!impl_ || !impl_->running.exchange(false)) return;
  asio::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
  });
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace switchboard::server
