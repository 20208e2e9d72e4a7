#include "server/http_server.h"

#include <sodium.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <tuple>

#include "core/log.h"
#include "crypto/keyring.h"

namespace switchboard::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message,
                           std::string_view request_id) {
  HttpResponse r;
  r.status = status;
  r.body =
      nlohmann::json{{"error", {{"code", code}, {"message", message}, {"request_id", request_id}}}}
          .dump();
  return r;
}

namespace {

std::string NewRequestId() {
  unsigned char b[8];
  randombytes_buf(b, sizeof b);
  return crypto::ToHex(b, sizeof b);
}

}  // namespace

struct HttpServer::Impl {
  ServerConfig config;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  std::map<std::pair<std::string, std::string>, Handler> routes;
  std::atomic<bool> running{false};

  // Requests served, by (method, route or "unmatched", status).
  std::mutex metrics_mu;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests;

  void CountRequest(const std::string& method, const std::string& path, int status) {
    const bool known = routes.count({method, path}) > 0;
    std::lock_guard lock(metrics_mu);
    ++requests[{known ? method : "other", known ? path : "unmatched", status}];
  }

  std::string RequestMetrics() {
    std::string out =
        "# HELP switchboard_http_requests_total HTTP requests served, by route and status.\n"
        "# TYPE switchboard_http_requests_total counter\n";
    std::lock_guard lock(metrics_mu);
    for (const auto& [key, n] : requests) {
      const auto& [method, path, status] = key;
      out += "switchboard_http_requests_total{method=\"" + method + "\",route=\"" + path +
             "\",status=\"" + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
    }
    return out;
  }

  HttpResponse Dispatch(const HttpRequest& req) {
    auto it = routes.find({req.method, req.path});
    if (it != routes.end()) return it->second(req);
    for (const auto& [key, h] : routes) {
      if (key.second == req.path) {
        HttpResponse r = ErrorResponse(405, "method_not_allowed",
                                       "this path does not accept " + req.method, req.request_id);
        return r;
      }
    }
    return ErrorResponse(404, "not_found", "no such route: " + req.path, req.request_id);
  }
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& impl) : stream_(std::move(socket)), impl_(impl) {}

  void Start() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::Read, shared_from_this()));
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(static_cast<std::uint64_t>(impl_.config.max_body_bytes));
    stream_.expires_after(std::chrono::seconds(impl_.config.request_timeout_seconds));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
      return Close();
    }
    const std::string rid = NewRequestId();
    if (ec) {
      HttpResponse r;
      if (ec == http::error::body_limit) {
        r = ErrorResponse(413, "body_too_large",
                          "the request body is larger than " +
                              std::to_string(impl_.config.max_body_bytes) + " bytes",
                          rid);
      } else if (ec == http::error::header_limit) {
        r = ErrorResponse(431, "headers_too_large", "the request headers are too large", rid);
      } else {
        r = ErrorResponse(400, "bad_request", "the request is not valid HTTP/1.1", rid);
      }
      return Send(std::move(r), rid, /*keep_alive=*/false, 11);
    }
    auto msg = parser_->release();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.path = req.target.substr(0, req.target.find('?'));
    req.body = std::move(msg.body());
    req.request_id = rid;
    for (const auto& f : msg) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers[name] = std::string(f.value());
    }
    HttpResponse resp = impl_.Dispatch(req);
    impl_.CountRequest(req.method, req.path, resp.status);
    log::Debug(
        "http", "request",
        {{"method", req.method}, {"path", req.path}, {"status", resp.status}, {"request_id", rid}});
    Send(std::move(resp), rid, msg.keep_alive(), msg.version());
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
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  HttpServer::Impl& impl_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<void> response_;
};

void Accept(HttpServer::Impl& impl) {
  impl.acceptor.async_accept(asio::make_strand(impl.ioc),
                             [&impl](beast::error_code ec, tcp::socket socket) {
                               if (ec) {
                                 if (!impl.running) return;
                               } else {
                                 std::make_shared<Session>(std::move(socket), impl)->Start();
                               }
                               if (impl.running) Accept(impl);
                             });
}

}  // namespace

HttpServer::HttpServer(const ServerConfig& config) : impl_(std::make_unique<Impl>()) {
  impl_->config = config;
}

HttpServer::~HttpServer() { Stop(); }

std::string HttpServer::RequestMetrics() const { return impl_->RequestMetrics(); }

void HttpServer::Route(std::string method, std::string path, Handler handler) {
  impl_->routes[{std::move(method), std::move(path)}] = std::move(handler);
}

Status HttpServer::Start() {
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
