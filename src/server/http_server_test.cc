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

}  // namespace
}  // namespace switchboard::server
