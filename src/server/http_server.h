// HttpServer: the HTTP/1.1 front door (Boost.Beast over Asio). Keep-alive,
// a bounded header and body size, and a deadline for every request so a slow
// client cannot hold a connection (slow-loris). Strict where leniency lets a
// proxy and this server read different requests (RFC 9112): obsolete line
// folding is refused (400), a Transfer-Encoding other than "chunked" is 501,
// and Transfer-Encoding with Content-Length is 400; each closes the
// connection. Each response is JSON with a
// request id; errors carry a stable code and a message a person can act on.
//
// TLS: with [server] tls_cert and tls_key set the listener speaks only TLS
// (1.2 or 1.3, ECDHE with AEAD ciphers, ALPN http/1.1, no session tickets)
// and every response carries Strict-Transport-Security.
//
// Threading: `threads` Asio worker threads; handlers run on them and must be
// thread-safe. A handler that would wait for a durable write returns a
// Deferred response instead, so a few threads serve many writes in flight. Start() returns once
// listening; Stop() closes the listener and open connections and joins the threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/mutex.h"
#include "core/status.h"

namespace switchboard::server {

struct HttpRequest {
  std::string method;
  std::string target;  // path and query
  std::string path;
  std::string body;
  std::string request_id;
  std::string remote;                          // the client's address, e.g. "127.0.0.1"
  std::map<std::string, std::string> headers;  // lower-case names
  std::map<std::string, std::string> query;    // decoded ?a=b&c=d
  std::map<std::string, std::string> params;   // {name} segments of the matched route
  std::string route;                           // the matched route's pattern
  // The signed-in account, set by the handler that resumed a session; only
  // for the request log (0: none).
  mutable std::int64_t account = 0;

  std::string Header(std::string_view name) const;  // lower-case name; "" when absent
  // The value of one cookie, or "".
  std::string Cookie(std::string_view name) const;
};

// Splits `target` into path and decoded query. False on bad percent-encoding.
bool ParseTarget(std::string_view target, std::string* path,
                 std::map<std::string, std::string>* query);
// A media type (RFC 9110 §8.3.1): type, subtype and parameter names folded to
// lower case, parameter values unquoted (and kept as sent).
struct MediaType {
  std::string type;
  std::string subtype;
  std::vector<std::pair<std::string, std::string>> params;
};
// Parses a Content-Type value; nullopt unless it is `type "/" subtype *( OWS
// ";" OWS name "=" ( token / quoted-string ) )` with tokens as RFC 9110 defines.
std::optional<MediaType> ParseMediaType(std::string_view text);
// True for application/json, in any case, with no parameter other than a
// charset of UTF-8 (RFC 8259 §8.1: JSON between systems is UTF-8).
bool IsJsonMediaType(std::string_view content_type);

// Framing checks made before Beast reads a request (RFC 9112), exposed for
// the HTTP fuzz target. HeaderBlockEnd: the offset just past the blank line
// ending the header block at the start of `data` ("\n\r\n", or "\n\n",
// which Beast then refuses), 0 when it has not all arrived. HasFoldedLine:
// whether a header block has a line starting with a space or tab (obsolete
// folding, or whitespace before the first field). CheckTransferEncoding: the
// refusal for a request's Transfer-Encoding values (501 unless exactly one,
// "chunked"; 400 with Content-Length too), nullopt when they are fine.
size_t HeaderBlockEnd(std::string_view data);
bool HasFoldedLine(std::string_view header);
struct FramingRefusal {
  int status;
  std::string_view code;
  std::string message;
};
std::optional<FramingRefusal> CheckTransferEncoding(const std::vector<std::string>& values,
                                                    bool has_content_length);

// A request as the server would build it (for in-process tests).
HttpRequest MakeRequest(std::string method, std::string target, std::string body = {},
                        std::map<std::string, std::string> headers = {});

struct HttpResponse;

// A response made later. A handler whose work waits on something else (a
// group commit) returns HttpResponse::Later(d) at once instead of holding
// its thread, and whoever finishes the work calls d->Finish(make). `make`
// builds the response on an HTTP thread, where it may block as a handler
// may; never on the thread that called Finish.
class Deferred {
 public:
  using Make = std::function<HttpResponse()>;
  // Once, from any thread.
  void Finish(Make make);
  // The server's side: `run` gets `make` once both are there.
  void OnFinish(std::function<void(Make)> run);
  // In process (HttpServer::Dispatch): waits for Finish and makes the
  // response on this thread.
  HttpResponse Wait();

 private:
  Mutex mu_;
  CondVar cv_;
  bool finished_ SB_GUARDED_BY(mu_) = false;
  Make make_ SB_GUARDED_BY(mu_);
  std::function<void(Make)> run_ SB_GUARDED_BY(mu_);
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Set: nothing above counts yet; the response comes from `later`.
  std::shared_ptr<Deferred> later;

  static HttpResponse Later(std::shared_ptr<Deferred> d) {
    HttpResponse r;
    r.later = std::move(d);
    return r;
  }
};

// Builds the JSON error body {"error": {"code", "message", "request_id"}}.
HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message,
                           std::string_view request_id);

using Handler = std::function<HttpResponse(const HttpRequest&)>;

// The request log ([log] requests_per_second): a line per request at info
// with the request id, method, route pattern (never the path, which may hold
// a token), status, latency and account id. Every response of 400 or more is
// logged; successes beyond `successes_per_second` in one second are counted
// in a summary line instead.
struct RequestLogOptions {
  int successes_per_second = 200;
  // What "one second" is read from; nullptr: the system clock. Not owned.
  const Clock* clock = nullptr;
};

class HttpServer {
 public:
  explicit HttpServer(const ServerConfig& config, RequestLogOptions log = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Registers a route for one method. `pattern` is a path whose segments
  // may be {name} placeholders, each matching one non-empty segment (found
  // in HttpRequest::params). Exact segments win over placeholders.
  void Route(std::string method, std::string pattern, Handler handler);
  // The registered (method, pattern) pairs, in registration order.
  std::vector<std::pair<std::string, std::string>> Routes() const;
  // Routes one request in process, as a connection would (used by tests).
  HttpResponse Dispatch(HttpRequest& request) const;

  // Reads [server] tls_cert (a PEM certificate, its chain after it) and
  // tls_key into a new TLS context for the connections accepted from then on;
  // those already open keep theirs. On error, which names the file, the
  // context in use (if any) stays. Start() calls it when TLS is configured
  // and nothing is loaded yet; `serve` calls it again on SIGHUP.
  Status LoadTls();
  // Whether the listener speaks TLS.
  bool tls() const;

  Status Start();
  void Stop();
  // Prometheus text for the requests served so far (by route and status).
  std::string RequestMetrics() const;

  // The bound port (useful with port 0).
  int port() const { return port_; }

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace switchboard::server
