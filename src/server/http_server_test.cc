#include "server/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"

namespace switchboard::server {
namespace {

// A raw loopback client, so the tests see exactly what goes over the wire.
class Client {
 public:
  explicit Client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }
  void Send(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  // Reads one response (headers + Content-Length body); "" if the peer closed.
  std::string ReadResponse() {
    for (;;) {
      size_t hdr_end = buf_.find("\r\n\r\n");
      if (hdr_end != std::string::npos) {
        size_t len = 0;
        auto cl = buf_.find("Content-Length: ");
        if (cl != std::string::npos && cl < hdr_end) len = std::stoul(buf_.substr(cl + 16));
        if (buf_.size() >= hdr_end + 4 + len) {
          std::string r = buf_.substr(0, hdr_end + 4 + len);
          buf_.erase(0, hdr_end + 4 + len);
          return r;
        }
      }
      char tmp[65536];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return "";
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  bool connected_ = false;
  std::string buf_;
};

std::string Body(const std::string& response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.port = 0;
    cfg_.max_body_bytes = 1024;
    cfg_.request_timeout_seconds = 2;
    server_ = std::make_unique<HttpServer>(cfg_);
    server_->Route("GET", "/hello", [](const HttpRequest& r) {
      HttpResponse resp;
      resp.body = nlohmann::json{{"path", r.path}, {"target", r.target}}.dump();
      return resp;
    });
    server_->Route("POST", "/echo", [](const HttpRequest& r) {
      HttpResponse resp;
      resp.body = nlohmann::json{{"bytes", r.body.size()}}.dump();
      return resp;
    });
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_GT(server_->port(), 0);
  }
  ServerConfig cfg_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, RoutesAndKeepAlive) {
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 3; ++i) {  // three requests on one connection
    c.Send("GET /hello?x=1 HTTP/1.1\r\nHost: t\r\n\r\n");
    const std::string r = c.ReadResponse();
    ASSERT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
    EXPECT_NE(r.find("X-Request-Id: "), std::string::npos);
    EXPECT_NE(r.find("X-Content-Type-Options: nosniff"), std::string::npos);
    auto j = nlohmann::json::parse(Body(r));
    EXPECT_EQ(j["path"], "/hello");
    EXPECT_EQ(j["target"], "/hello?x=1");
  }
}

// A deferred response is finished by another thread, which only hands the
// work over: the response is made on an HTTP thread and sent on the request's
// own connection, whether Finish comes before or after the server is ready
// for it; keep-alive goes on afterwards. Dispatch (in process) waits for it.
TEST_F(HttpServerTest, DeferredResponsesAreMadeOffTheFinishingThread) {
  std::mutex mu;
  std::vector<std::thread> finishers;
  HttpServer server(cfg_);
  server.Route("GET", "/later/{order}", [&](const HttpRequest& r) {
    auto d = std::make_shared<Deferred>();
    const bool early = r.params.at("order") == "early";
    const std::string path = r.path;  // the request is still there when made
    auto finish = [d, path] {
      const auto finisher = std::this_thread::get_id();
      d->Finish([path, finisher] {
        HttpResponse resp;
        resp.status = 201;
        resp.body = nlohmann::json{{"path", path},
                                   {"made_on_finisher", std::this_thread::get_id() == finisher}}
                        .dump();
        return resp;
      });
    };
    if (early) {
      std::thread t(finish);  // finished before the handler even returns
      t.join();
    } else {
      std::lock_guard lock(mu);
      finishers.emplace_back(finish);
    }
    return HttpResponse::Later(d);
  });
  ASSERT_TRUE(server.Start().ok());
  Client c(server.port());
  ASSERT_TRUE(c.connected());
  for (const std::string order : {"early", "late", "early"}) {
    c.Send("GET /later/" + order + " HTTP/1.1\r\nHost: t\r\n\r\n");
    const std::string r = c.ReadResponse();
    ASSERT_NE(r.find("HTTP/1.1 201"), std::string::npos) << order << ": " << r;
    auto j = nlohmann::json::parse(Body(r));
    EXPECT_EQ(j["path"], "/later/" + order);
    EXPECT_FALSE(j["made_on_finisher"].get<bool>()) << order;
  }
  HttpRequest in_process = MakeRequest("GET", "/later/late");
  HttpResponse direct = server.Dispatch(in_process);
  EXPECT_EQ(direct.status, 201);
  EXPECT_FALSE(direct.later);
  EXPECT_EQ(nlohmann::json::parse(direct.body)["path"], "/later/late");
  server.Stop();
  std::lock_guard lock(mu);
  for (auto& t : finishers) t.join();
}

TEST_F(HttpServerTest, UnknownRouteAndWrongMethodAreJsonErrors) {
  Client c(server_->port());
  c.Send("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string r = c.ReadResponse();
  ASSERT_NE(r.find("HTTP/1.1 404"), std::string::npos) << r;
  auto j = nlohmann::json::parse(Body(r));
  EXPECT_EQ(j["error"]["code"], "not_found");
  EXPECT_FALSE(j["error"]["request_id"].get<std::string>().empty());
  c.Send("DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  r = c.ReadResponse();
  EXPECT_NE(r.find("HTTP/1.1 405"), std::string::npos) << r;
}

TEST_F(HttpServerTest, OversizedBodyIsRefusedAndServerLives) {
  {
    Client c(server_->port());
    c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" +
           std::string(5000, 'a'));
    const std::string r = c.ReadResponse();
    ASSERT_NE(r.find("HTTP/1.1 413"), std::string::npos) << r;
    EXPECT_EQ(nlohmann::json::parse(Body(r))["error"]["code"], "body_too_large");
  }
  Client c2(server_->port());
  c2.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
  const std::string r2 = c2.ReadResponse();
  ASSERT_NE(r2.find("HTTP/1.1 200"), std::string::npos) << r2;
  EXPECT_EQ(nlohmann::json::parse(Body(r2))["bytes"], 3);
}

TEST_F(HttpServerTest, MalformedRequestGets400) {
  Client c(server_->port());
  c.Send("THIS IS NOT HTTP\r\n\r\n");
  const std::string r = c.ReadResponse();
  EXPECT_NE(r.find(" 400 "), std::string::npos) << r;
}

TEST_F(HttpServerTest, SlowClientIsDisconnected) {
  Client slow(server_->port());
  slow.Send("GET /hello HTTP/1.1\r\nHost: t\r\n");  // never finishes its headers
  // The server's deadline closes the connection: the read returns "" (closed)
  // rather than hanging until the client's own 10 s receive timeout.
  EXPECT_EQ(slow.ReadResponse(), "");
  Client ok(server_->port());
  ok.Send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_NE(ok.ReadResponse().find("200"), std::string::npos);
}

TEST(MediaType, ParsesAsRfc9110Says) {
  auto m = ParseMediaType("Application/JSON ; Charset=\"UTF-8\"");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, "application");
  EXPECT_EQ(m->subtype, "json");
  ASSERT_EQ(m->params.size(), 1u);
  EXPECT_EQ(m->params[0].first, "charset");
  EXPECT_EQ(m->params[0].second, "UTF-8");
  EXPECT_FALSE(ParseMediaType("application"));
  EXPECT_FALSE(ParseMediaType("application/"));
  EXPECT_FALSE(ParseMediaType("application/json charset=utf-8"));
  EXPECT_FALSE(ParseMediaType("application/json; charset"));
  EXPECT_FALSE(ParseMediaType("application/json; charset=\"utf-8"));
  EXPECT_FALSE(ParseMediaType("application/json; charset=\"a\x01\""));
}

TEST(MediaType, OnlyJsonInUtf8IsJson) {
  for (const char* ok : {"application/json", "APPLICATION/JSON", "application/json;charset=utf-8",
                         "application/json; charset=UTF-8", "application/json; charset=\"utf-8\"",
                         "application/json;"}) {
    EXPECT_TRUE(IsJsonMediaType(ok)) << ok;
  }
  for (const char* bad :
       {"", "application/jsonx", "application/json-patch+json", "text/json", "application/xjson",
        "application/json; charset=utf-16", "application/json; charset=latin1",
        "application/json; boundary=x", "application/json, text/plain", "application/json/x"}) {
    EXPECT_FALSE(IsJsonMediaType(bad)) << bad;
  }
}

// A coding this server does not know must not fall back to Content-Length:
// behind a proxy that reads it differently, the rest would be a second,
// smuggled request.
TEST_F(HttpServerTest, AnUnknownTransferCodingIs501AndNothingAfterItIsRead) {
  for (const char* te : {"xchunked", "gzip, chunked", "chunked, gzip", "identity"}) {
    Client c(server_->port());
    c.Send(std::string("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: ") + te +
           "\r\n\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    const std::string r = c.ReadResponse();
    ASSERT_NE(r.find("HTTP/1.1 501"), std::string::npos) << te << "\n" << r;
    EXPECT_EQ(nlohmann::json::parse(Body(r))["error"]["code"], "transfer_encoding_not_implemented");
    EXPECT_NE(r.find("Connection: close"), std::string::npos) << r;
    EXPECT_EQ(c.ReadResponse(), "") << te;  // the GET was never answered
  }
}

TEST_F(HttpServerTest, TransferEncodingWithContentLengthIs400) {
  for (const std::string order : {"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
                                  "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
                                  "Content-Length: 3\r\nTransfer-Encoding: xchunked\r\n"}) {
    Client c(server_->port());
    c.Send("POST /echo HTTP/1.1\r\nHost: t\r\n" + order + "\r\nabc");
    const std::string r = c.ReadResponse();
    EXPECT_NE(r.find("HTTP/1.1 400"), std::string::npos) << order << r;
    EXPECT_EQ(c.ReadResponse(), "");
  }
}

TEST_F(HttpServerTest, ChunkedBodiesStillWork) {
  Client c(server_->port());
  c.Send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: Chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  const std::string r = c.ReadResponse();
  ASSERT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
  EXPECT_EQ(nlohmann::json::parse(Body(r))["bytes"], 5);
}

TEST_F(HttpServerTest, FoldedHeaderLinesAreRefused) {
  for (const char* req : {"GET /hello HTTP/1.1\r\nHost: t\r\nX-A: one\r\n two\r\n\r\n",
                          "GET /hello HTTP/1.1\r\nHost: t\r\nX-A: one\r\n\ttwo\r\n\r\n",
                          "GET /hello HTTP/1.1\r\n Host: t\r\n\r\n"}) {
    Client c(server_->port());
    c.Send(req);
    const std::string r = c.ReadResponse();
    ASSERT_NE(r.find("HTTP/1.1 400"), std::string::npos) << req << r;
    EXPECT_NE(nlohmann::json::parse(Body(r))["error"]["message"].get<std::string>().find("folded"),
              std::string::npos);
    EXPECT_EQ(c.ReadResponse(), "");
  }
  // Spaces inside a value are not folding.
  Client ok(server_->port());
  ok.Send("GET /hello HTTP/1.1\r\nHost: t\r\nX-A: one two\r\n\r\n");
  EXPECT_NE(ok.ReadResponse().find("HTTP/1.1 200"), std::string::npos);
}

TEST_F(HttpServerTest, HeadersBeyondTheLimitAre431AndPipeliningStillWorks) {
  {
    Client c(server_->port());
    c.Send("GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
    EXPECT_NE(c.ReadResponse().find("HTTP/1.1 431"), std::string::npos);
  }
  Client c(server_->port());
  c.Send("GET /hello?n=1 HTTP/1.1\r\nHost: t\r\n\r\nGET /hello?n=2 HTTP/1.1\r\nHost: t\r\n\r\n");
  const std::string a = c.ReadResponse(), b = c.ReadResponse();
  EXPECT_NE(a.find("n=1"), std::string::npos) << a;
  EXPECT_NE(b.find("n=2"), std::string::npos) << b;
}

// The request log: every refusal and error, successes up to a budget per
// second, each with the id the client was given and never the path.
TEST(RequestLog, LogsEveryErrorAndSuccessesUpToTheBudget) {
  std::mutex mu;
  std::vector<nlohmann::json> lines;
  log::Sink old = log::SetLogSink([&](std::string_view line) {
    std::lock_guard lock(mu);
    lines.push_back(nlohmann::json::parse(line));
  });
  ManualClock clock(1'700'000'000 * kMicrosPerSecond);
  ServerConfig cfg;
  cfg.port = 0;
  HttpServer server(cfg, {.successes_per_second = 2, .clock = &clock});
  server.Route("GET", "/t/{token}", [](const HttpRequest& r) {
    r.account = 42;
    HttpResponse resp;
    resp.status = r.params.at("token") == "bad" ? 403 : 200;
    return resp;
  });
  ASSERT_TRUE(server.Start().ok());
  std::vector<std::string> ids;
  Client c(server.port());
  for (const char* token : {"s3cret1", "s3cret2", "s3cret3", "bad", "s3cret4", "bad"}) {
    c.Send(std::string("GET /t/") + token + " HTTP/1.1\r\nHost: t\r\n\r\n");
    const std::string r = c.ReadResponse();
    const size_t at = r.find("X-Request-Id: ");
    ASSERT_NE(at, std::string::npos);
    ids.push_back(r.substr(at + 14, r.find("\r\n", at) - at - 14));
  }
  clock.Advance(kMicrosPerSecond);
  c.Send("GET /t/s3cret5 HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_NE(c.ReadResponse().find("200"), std::string::npos);
  server.Stop();
  log::SetLogSink(old);

  std::vector<std::string> logged;
  int summaries = 0;
  for (const auto& l : lines) {
    EXPECT_EQ(l.dump().find("s3cret"), std::string::npos) << l.dump();
    if (l["event"] == "request") {
      EXPECT_EQ(l["route"], "/t/{token}");
      EXPECT_EQ(l["account"], 42);
      EXPECT_TRUE(l.contains("micros"));
      logged.push_back(l["request_id"]);
    } else if (l["event"] == "successful requests counted, not logged one by one") {
      EXPECT_EQ(l["count"], 2);  // s3cret3 and s3cret4
      ++summaries;
    }
  }
  // Two successes, both refusals, then the next second's first success.
  EXPECT_EQ(logged, (std::vector<std::string>{ids[0], ids[1], ids[3], ids[5],
                                              logged.empty() ? "" : logged.back()}));
  EXPECT_EQ(logged.size(), 5u);
  EXPECT_EQ(summaries, 1);
}

}  // namespace
}  // namespace switchboard::server
