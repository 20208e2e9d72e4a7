// Fuzzes the server's HTTP/1.1 front door: Boost.Beast's request parser as
// src/server/http_server.cc sets it up (Session::Read: a fresh
// request_parser<string_body> per request with a 16 KiB header limit and
// [server] max_body_bytes as the body limit, reading through one
// flat_buffer kept across keep-alive requests), then the HttpRequest built
// as Session::OnRead builds it (ParseTarget, lower-cased header names) and
// routed by HttpServer::Dispatch over the real route patterns.
//
// Input: byte 0 sets how the bytes arrive (0: all at once, n: n bytes per
// read, as a slow client's segments), byte 1 the body limit (even: the
// configuration's default, odd: 64 bytes, so the limit is met often); the
// rest is what the client sends, possibly several pipelined requests.
// Besides not crashing:
//   - every read that succeeds consumes input (no request from nothing);
//   - an accepted request has a method, a target without spaces or control
//     characters, header names that are tokens, values without CR, LF or
//     NUL (obs-fold unfolded), and a body within the limit whose length
//     agrees with Content-Length when there is one and no chunking;
//   - the router answers 200 (a route matched, every {param} one non-empty
//     segment), 404, or 405 with an Allow header.
#include <boost/asio/buffer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "server/api_routes.h"
#include "server/http_server.h"

namespace beast = boost::beast;
namespace http = beast::http;
namespace server = switchboard::server;

namespace {

void Require(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) {
    std::fprintf(stderr, "http_fuzz: %s\n%.*s\n", what,
                 static_cast<int>(std::min<size_t>(detail.size(), 2000)), detail.data());
    std::abort();
  }
}

// A SyncReadStream over the input, `chunk` bytes per read_some (0: all).
class InputStream {
 public:
  InputStream(std::string_view data, size_t chunk) : data_(data), chunk_(chunk) {}
  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers, beast::error_code& ec) {
    ec = {};
    if (pos_ == data_.size()) {
      ec = boost::asio::error::eof;
      return 0;
    }
    size_t n = data_.size() - pos_;
    if (chunk_) n = std::min(n, chunk_);
    n = boost::asio::buffer_copy(buffers, boost::asio::buffer(data_.data() + pos_, n));
    pos_ += n;
    return n;
  }
  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers) {
    beast::error_code ec;
    size_t n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }
  size_t pos() const { return pos_; }

 private:
  std::string_view data_;
  size_t chunk_;
  size_t pos_ = 0;
};

std::string_view View(beast::string_view s) { return {s.data(), s.size()}; }

bool Token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f || std::string_view("\"(),/:;<=>?@[\\]{}").find(c) != s.npos) {
      return false;
    }
  }
  return true;
}

const server::HttpServer& Router() {
  static const server::HttpServer* router = [] {
    auto* http = new server::HttpServer(switchboard::ServerConfig{});
    auto check = [](const server::HttpRequest& req) {
      for (const auto& [k, v] : req.params) {
        Require(!v.empty() && v.find('/') == std::string::npos, "a bad route parameter", v);
      }
      return server::HttpResponse{};
    };
    for (const auto& r : server::kApiRoutes) {
      http->Route(std::string(r.method), std::string(r.path), check);
    }
    // The other routes `serve` registers (routes.cc, member_pages.cc).
    for (const char* get : {"/healthz", "/readyz", "/metrics", "/", "/join/{token}", "/app/{file}",
                            "/u/{token}", "/preferences/{token}"}) {
      http->Route("GET", get, check);
    }
    http->Route("POST", "/u/{token}", check);
    http->Route("POST", "/preferences/{token}", check);
    return http;
  }();
  return *router;
}

// Session::OnRead's request, from a parsed message. False when the server
// would answer 400 bad_target instead.
bool BuildRequest(http::request<http::string_body>& msg, server::HttpRequest* req) {
  req->method = std::string(msg.method_string());
  req->target = std::string(msg.target());
  if (!server::ParseTarget(req->target, &req->path, &req->query)) return false;
  req->body = std::move(msg.body());
  req->request_id = "fuzz";
  req->remote = "127.0.0.1";
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req->headers[name] = std::string(f.value());
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::uint64_t body_limit =
      data[1] % 2 ? 64 : static_cast<std::uint64_t>(switchboard::ServerConfig{}.max_body_bytes);
  const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  // The server reads the raw header block first and refuses folded lines.
  const size_t end = server::HeaderBlockEnd(input);
  Require(end <= input.size() && (end == 0 || input[end - 1] == '\n'),
          "a header block that does not end at a line end");
  if (end > 0 && server::HasFoldedLine(input.substr(0, end))) return 0;  // 400, closed
  InputStream stream(input, data[0]);
  beast::flat_buffer buffer;
  for (;;) {
    const size_t before = stream.pos() - buffer.size();  // input bytes not yet parsed
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(body_limit);
    beast::error_code ec;
    http::read(stream, buffer, parser, ec);
    if (ec) break;  // the server answers 400, 413 or 431 and closes, or the client left
    Require(stream.pos() - buffer.size() > before, "a request read from no input");
    auto msg = parser.release();
    const std::string_view target = View(msg.target());
    Require(!msg.method_string().empty(), "a request without a method");
    Require(!target.empty(), "a request without a target");
    for (unsigned char c : target) {
      Require(c > 0x20 && c != 0x7f, "a control character or space in the target", target);
    }
    for (const auto& f : msg) {
      Require(Token(View(f.name_string())), "a header name that is not a token",
              View(f.name_string()));
      for (char c : f.value()) {
        Require(c != '\r' && c != '\n' && c != '\0', "CR, LF or NUL in a header value",
                View(f.value()));
      }
    }
    Require(msg.body().size() <= body_limit, "a body over the limit");
    if (!msg.chunked() && msg.count(http::field::content_length)) {
      const std::string_view cl = View(msg[http::field::content_length]);
      std::uint64_t n = 0;
      for (char c : cl) n = n * 10 + static_cast<std::uint64_t>(c - '0');  // within body_limit
      Require(msg.body().size() == n, "a body whose length disagrees with Content-Length", cl);
    }
    // Then its framing, before any body is read: refused, the connection closes.
    std::vector<std::string> te;
    for (const auto& f : msg) {
      if (f.name() == http::field::transfer_encoding) te.emplace_back(f.value());
    }
    if (auto refusal =
            server::CheckTransferEncoding(te, msg.find(http::field::content_length) != msg.end())) {
      Require(refusal->status == 400 || refusal->status == 501, "an unexpected framing refusal");
      break;
    }
    const bool keep_alive = msg.keep_alive();
    server::HttpRequest req;
    if (BuildRequest(msg, &req)) {
      server::HttpResponse r = Router().Dispatch(req);
      Require(r.status == 200 || r.status == 404 || r.status == 405, "an unexpected status",
              r.body);
      if (r.status == 405) {
        bool allow = false;
        for (const auto& [k, v] : r.headers) allow |= k == "Allow" && !v.empty();
        Require(allow, "405 without Allow");
      }
    }
    if (!keep_alive) break;
  }
  return 0;
}
