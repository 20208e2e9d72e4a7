// HttpServer: the HTTP/1.1 front door (Boost.Beast over Asio). Keep-alive,
// a bounded header and body size, and a deadline for every request so a slow
// client cannot hold a connection (slow-loris). Each response is JSON with a
// request id; errors carry a stable code and a message a person can act on.
//
// Threading: `threads` Asio worker threads; handlers run on them and must be
// thread-safe. A handler that would wait for a durable write returns a
// Deferred response instead, so a few threads serve many writes in flight. Start() returns once
// listening; Stop() closes the listener and open connections and joins the threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
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

  std::string Header(std::string_view name) const;  // lower-case name; "" when absent
  // The value of one cookie, or "".
  std::string Cookie(std::string_view name) const;
};

// Splits `target` into path and decoded query. False on bad percent-encoding.
bool ParseTarget(std::string_view target, std::string* path,
                 std::map<std::string, std::string>* query);
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
  std::mutex mu_;
  std::condition_variable cv_;
  bool finished_ = false;          // GUARDED_BY(mu_)
  Make make_;                      // GUARDED_BY(mu_)
  std::function<void(Make)> run_;  // GUARDED_BY(mu_)
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

class HttpServer {
 public:
  explicit HttpServer(const ServerConfig& config);
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
