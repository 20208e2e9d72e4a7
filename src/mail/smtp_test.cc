#include "mail/smtp.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "core/testing/status_matchers.h"
#include "mail/dkim.h"
#include "mail/mime.h"
#include "mail/testing/peers.h"

namespace switchboard::mail {
namespace {

using Kind = SmtpResult::Kind;
using Stage = SmtpResult::Stage;
using testing::SinkOptions;
using testing::SmtpSink;

constexpr const char* kBounce = "bounces@mail.example.org";

std::unique_ptr<SmtpSink> StartSink(SinkOptions options = {}) {
  Result<std::unique_ptr<SmtpSink>> sink = SmtpSink::Start(std::move(options));
  EXPECT_OK(sink);
  return sink.has_value() ? std::move(sink).value() : nullptr;
}

SmtpConfig PlainConfig(const SmtpSink& sink) {
  SmtpConfig c;
  c.url = sink.url();
  c.tls = SmtpConfig::Tls::kNone;
  c.helo_domain = "mail.example.org";
  c.connect_timeout_ms = 5000;
  c.io_timeout_ms = 10000;
  return c;
}

std::unique_ptr<SmtpClient> Client(SmtpConfig config) {
  Result<std::unique_ptr<SmtpClient>> client = SmtpClient::Create(std::move(config));
  EXPECT_OK(client);
  return client.has_value() ? std::move(client).value() : nullptr;
}

std::string RawMessage(std::string_view subject, std::string_view body = "Hello.\r\n") {
  return "From: Ward 5 <ward5@example.org>\r\nTo: alex@example.com\r\nSubject: " +
         std::string(subject) + "\r\nMessage-ID: <" + std::string(subject) +
         "@mail.example.org>\r\n\r\n" + std::string(body);
}

std::string Describe(const SmtpResult& r) {
  return "kind=" + std::to_string(static_cast<int>(r.kind)) + " code=" + std::to_string(r.code) +
         " stage=" + std::to_string(static_cast<int>(r.stage)) + " detail=" + r.detail;
}

TEST(SmtpTest, RefusesBadConfig) {
  SmtpConfig good;
  good.url = "smtp://127.0.0.1:2525";
  good.tls = SmtpConfig::Tls::kNone;
  good.helo_domain = "mail.example.org";
  ASSERT_OK(SmtpClient::Create(good));

  auto refused = [&](void (*change)(SmtpConfig&)) {
    SmtpConfig c = good;
    change(c);
    Result<std::unique_ptr<SmtpClient>> r = SmtpClient::Create(c);
    return r.has_value() ? Status::Ok() : r.error();
  };
  EXPECT_EQ(refused([](SmtpConfig& c) { c.url = "http://127.0.0.1"; }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](SmtpConfig& c) { c.url = "smtp://user:pw@127.0.0.1:25"; }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](SmtpConfig& c) { c.url = "smtp://127.0.0.1:25/helo"; }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](SmtpConfig& c) { c.url = "smtp://127.0.0.1:25\r\nRCPT"; }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](SmtpConfig& c) { c.tls = SmtpConfig::Tls::kImplicit; }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](SmtpConfig& c) {
              c.url = "smtps://127.0.0.1:465";
              c.tls = SmtpConfig::Tls::kStartTlsRequired;
            }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](SmtpConfig& c) { c.helo_domain = ""; }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](SmtpConfig& c) { c.helo_domain = "bad domain"; }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](SmtpConfig& c) { c.username = "only-user"; }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](SmtpConfig& c) { c.io_timeout_ms = 0; }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](SmtpConfig& c) { c.ca_file = "/nonexistent/ca.pem"; }).code(),
            StatusCode::kNotFound);
  // No password in clear text across the network; loopback is fine.
  EXPECT_EQ(refused([](SmtpConfig& c) {
              c.url = "smtp://relay.example.net:587";
              c.username = "u";
              c.password = "p";
            }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(refused([](SmtpConfig& c) {
                c.username = "u";
                c.password = "p";
              }).ok());
}

TEST(SmtpTest, ScrubsAddressesFromServerText) {
  EXPECT_EQ(ScrubSmtpText("550 5.1.1 <bounce@example.com>: Recipient address rejected"),
            "550 5.1.1 <[address]>: Recipient address rejected");
  EXPECT_EQ(ScrubSmtpText("550 user alex@example.com unknown; \"john doe\"@example.com too"),
            "550 user [address] unknown; [address] too");
  EXPECT_EQ(ScrubSmtpText("451 try later\r\n"), "451 try later");
  EXPECT_EQ(ScrubSmtpText("250 ok\x01\x7f caf\xc3\xa9"), "250 ok  caf??");
  EXPECT_EQ(ScrubSmtpText(std::string(500, 'x')).size(), 300u);
  EXPECT_EQ(ScrubSmtpText("a@b"), "[address]");
}

TEST(SmtpTest, ClassifiesReplies) {
  EXPECT_EQ(ClassifySmtpFailure(550, Stage::kRcptTo), Kind::kPermanent);
  EXPECT_EQ(ClassifySmtpFailure(553, Stage::kRcptTo), Kind::kPermanent);
  EXPECT_EQ(ClassifySmtpFailure(552, Stage::kRcptTo), Kind::kTransient);
  for (int code : {421, 450, 451, 452}) {
    EXPECT_EQ(ClassifySmtpFailure(code, Stage::kRcptTo), Kind::kTransient) << code;
    EXPECT_EQ(ClassifySmtpFailure(code, Stage::kEndOfData), Kind::kTransient) << code;
  }
  EXPECT_EQ(ClassifySmtpFailure(554, Stage::kData), Kind::kPermanent);
  EXPECT_EQ(ClassifySmtpFailure(552, Stage::kEndOfData), Kind::kPermanent);
  EXPECT_EQ(ClassifySmtpFailure(535, Stage::kSession), Kind::kTransient);
  EXPECT_EQ(ClassifySmtpFailure(550, Stage::kMailFrom), Kind::kTransient);
  EXPECT_EQ(ClassifySmtpFailure(0, Stage::kConnect), Kind::kTransient);
  EXPECT_EQ(ClassifySmtpFailure(0, Stage::kEndOfData), Kind::kTransient);
}

// Render, sign, submit: the server gets it once, byte for byte, and the DKIM
// signature still verifies on what it got.
TEST(SmtpTest, DeliversASignedMessageOnce) {
  std::unique_ptr<SmtpSink> sink = StartSink();
  ASSERT_TRUE(sink);
  Result<testing::RsaKeyPair> keys = testing::GenerateRsaKeyPair();
  ASSERT_OK(keys);
  DkimSigner signer = DkimSigner::Create("example.org", "sb", keys->private_pem).value();

  OutgoingMessage m;
  m.from = {"Zoë Organiser", "ward5@example.org"};
  m.to = {"Alex Example", "alex@example.com"};
  m.subject = "Réunion: branch meeting";
  m.text_body = "Hello Alex,\n.\n.hidden line\nSee you there.\n";
  m.html_body = "<p>Hello Alex,</p>\n.\n<p>See you there.</p>";
  m.message_id = "<m1.r1@mail.example.org>";
  m.date = ParseTimestamp("2026-11-24T18:45:54Z").value();
  m.extra_headers = {{"List-Unsubscribe", "<https://example.org/u/t1>"},
                     {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}};
  const std::string data = signer.Sign(RenderMessage(m).value()).value();

  std::unique_ptr<SmtpClient> client = Client(PlainConfig(*sink));
  ASSERT_TRUE(client);
  int called = 0;
  SmtpResult r = client->Send(kBounce, "alex@example.com", data, [&] {
    ++called;
    return true;
  });
  ASSERT_EQ(r.kind, Kind::kAccepted) << Describe(r);
  EXPECT_EQ(r.code, 250);
  EXPECT_EQ(r.stage, Stage::kEndOfData);
  EXPECT_TRUE(r.past_point_of_no_return);
  EXPECT_EQ(called, 1);
  EXPECT_NE(r.detail.find("queued"), std::string::npos) << r.detail;

  // A marker after it: the sink stores a message before it answers, so a
  // repeat of the first would arrive before the marker does.
  ASSERT_EQ(client->Send(kBounce, "marker@example.com", RawMessage("marker")).kind,
            Kind::kAccepted);
  Result<std::vector<testing::ReceivedMessage>> got = sink->WaitForMessages(2);
  ASSERT_OK(got);
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[1].rcpt_tos, std::vector<std::string>{"marker@example.com"});
  const testing::ReceivedMessage& received = (*got)[0];
  EXPECT_EQ(received.mail_from, kBounce);
  EXPECT_EQ(received.rcpt_tos, std::vector<std::string>{"alex@example.com"});
  EXPECT_EQ(received.data, data);
  EXPECT_OK(testing::VerifyDkim(received.data, signer.DnsName(), signer.DnsTxtRecord()));

  const nlohmann::json j = nlohmann::json::parse(testing::InspectMessage(received.data).value());
  EXPECT_EQ(j["defects"], nlohmann::json::array());
  EXPECT_EQ(j["parts"][0]["text"], m.text_body);
}

// libcurl dot-stuffs: a line that is just ".", or starts with ".", arrives
// unchanged instead of ending the data early.
TEST(SmtpTest, DotStuffing) {
  std::unique_ptr<SmtpSink> sink = StartSink();
  ASSERT_TRUE(sink);
  std::unique_ptr<SmtpClient> client = Client(PlainConfig(*sink));
  const std::string data =
      RawMessage("dots", ".\r\n.first\r\n..second\r\nmiddle\r\n.\r\n\r\n.\r\nlast line\r\n.");
  SmtpResult r = client->Send(kBounce, "alex@example.com", data);
  ASSERT_EQ(r.kind, Kind::kAccepted) << Describe(r);
  Result<std::vector<testing::ReceivedMessage>> got = sink->WaitForMessages(1);
  ASSERT_OK(got);
  // The server adds the CRLF that ended the last line.
  EXPECT_EQ((*got)[0].data, data + "\r\n");
}

TEST(SmtpTest, ReusesOneConnection) {
  std::unique_ptr<SmtpSink> sink = StartSink();
  ASSERT_TRUE(sink);
  std::unique_ptr<SmtpClient> client = Client(PlainConfig(*sink));
  for (int i = 0; i < 5; ++i) {
    SmtpResult r = client->Send(kBounce, "member" + std::to_string(i) + "@example.com",
                                RawMessage("reuse" + std::to_string(i)));
    ASSERT_EQ(r.kind, Kind::kAccepted) << Describe(r);
  }
  Result<std::vector<testing::ReceivedMessage>> got = sink->WaitForMessages(5);
  ASSERT_OK(got);
  EXPECT_EQ(sink->Connections(), 1);
  for (const auto& m : *got) EXPECT_EQ(m.connection, 1);
  EXPECT_EQ((*got)[4].rcpt_tos, std::vector<std::string>{"member4@example.com"});
}

TEST(SmtpTest, ReconnectsAfterTheServerClosesAnIdleConnection) {
  SinkOptions options;
  options.idle_timeout_s = 0.5;
  std::unique_ptr<SmtpSink> sink = StartSink(options);
  ASSERT_TRUE(sink);
  std::unique_ptr<SmtpClient> client = Client(PlainConfig(*sink));
  ASSERT_EQ(client->Send(kBounce, "a@example.com", RawMessage("idle1")).kind, Kind::kAccepted);
  ASSERT_OK(sink->WaitForClosedConnections(1));  // the server's idle timeout closed it
  SmtpResult r = client->Send(kBounce, "b@example.com", RawMessage("idle2"));
  ASSERT_EQ(r.kind, Kind::kAccepted) << Describe(r);
  ASSERT_OK(sink->WaitForMessages(2));
  EXPECT_EQ(sink->Connections(), 2);
}

TEST(SmtpTest, RecipientRejectedPermanently) {
  SinkOptions options;
  options.reject_rcpt = {{"bounce@example.com", 550}};
  std::unique_ptr<SmtpSink> sink = StartSink(options);
  ASSERT_TRUE(sink);
  std::unique_ptr<SmtpClient> client = Client(PlainConfig(*sink));
  bool called = false;
  SmtpResult r = client->Send(kBounce, "bounce@example.com", RawMessage("rejected"), [&] {
    called = true;
    return true;
  });
  EXPECT_EQ(r.kind, Kind::kPermanent) << Describe(r);
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(r.stage, Stage::kRcptTo);
  EXPECT_FALSE(r.past_point_of_no_return);
  EXPECT_FALSE(called);
  EXPECT_EQ(r.detail.find("bounce@"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("[address]"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("550"), std::string::npos) << r.detail;

  // The client carries on with the next recipient.
  SmtpResult ok = client->Send(kBounce, "alex@example.com", RawMessage("after"));
  EXPECT_EQ(ok.kind, Kind::kAccepted) << Describe(ok);
  Result<std::vector<testing::ReceivedMessage>> got = sink->WaitForMessages(1);
  ASSERT_OK(got);
  EXPECT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].rcpt_tos, std::vector<std::string>{"alex@example.com"});
}

TEST(SmtpTest, TemporaryRecipientFailuresAreTransient) {
  SinkOptions options;
  options.reject_rcpt = {{"full@example.com", 452},
                         {"later@example.com", 451},
                         {"busy@example.com", 450},
                         {"closing@example.com", 421},
                         {"toomany@example.com", 552}};
  std::unique_ptr<SmtpSink> sink = StartSink(options);
  ASSERT_TRUE(sink);
  std::unique_ptr<SmtpClient> client = Client(PlainConfig(*sink));
  for (const auto& [rcpt, code] : options.reject_rcpt) {
    SmtpResult r = client->Send(kBounce, rcpt, RawMessage("temp"));
    EXPECT_EQ(r.kind, Kind::kTransient) << rcpt << " " << Describe(r);
    EXPECT_EQ(r.code, code) << rcpt;
    EXPECT_EQ(r.stage, Stage::kRcptTo) << rcpt;
  }
  EXPECT_TRUE(sink->Messages().empty());
}

TEST(SmtpTest, MessageRejectedAfterTheData) {
  SinkOptions options;
  options.reject_data = {{"spamtrap@example.com", 554}, {"greylist@example.com", 451}};
  std::unique_ptr<SmtpSink> sink = StartSink(options);
  ASSERT_TRUE(sink);
  std::unique_ptr<SmtpClient> client = Client(PlainConfig(*sink));
  SmtpResult r = client->Send(kBounce, "spamtrap@example.com", RawMessage("content"));
  EXPECT_EQ(r.kind, Kind::kPermanent) << Describe(r);
  EXPECT_EQ(r.code, 554);
  EXPECT_EQ(r.stage, Stage::kEndOfData);
  EXPECT_TRUE(r.past_point_of_no_return);
  EXPECT_EQ(r.detail.find("spamtrap@"), std::string::npos) << r.detail;

  r = client->Send(kBounce, "greylist@example.com", RawMessage("content"));
  EXPECT_EQ(r.kind, Kind::kTransient) << Describe(r);
  EXPECT_EQ(r.code, 451);
  EXPECT_EQ(r.stage, Stage::kEndOfData);
}

// The outbox records the point of no return in before_end_of_data; when it
// cannot, the transfer stops before the "." and the server keeps nothing.
TEST(SmtpTest, DecliningBeforeEndOfDataAbortsTheTransaction) {
  std::unique_ptr<SmtpSink> sink = StartSink();
  ASSERT_TRUE(sink);
  std::unique_ptr<SmtpClient> client = Client(PlainConfig(*sink));
  int calls = 0;
  SmtpResult r = client->Send(kBounce, "alex@example.com",
                              RawMessage("declined", std::string(200'000, 'x') + "\r\n"), [&] {
                                ++calls;
                                return false;
                              });
  EXPECT_EQ(r.kind, Kind::kTransient) << Describe(r);
  EXPECT_EQ(r.stage, Stage::kData);
  EXPECT_FALSE(r.past_point_of_no_return);
  EXPECT_EQ(calls, 1);

  // A throwing callback declines too.
  r = client->Send(kBounce, "alex@example.com", RawMessage("thrown"),
                   []() -> bool { throw std::runtime_error("store down"); });
  EXPECT_EQ(r.kind, Kind::kTransient) << Describe(r);
  EXPECT_EQ(r.stage, Stage::kData);

  // Afterwards the client still works; only this message arrives.
  SmtpResult ok = client->Send(kBounce, "alex@example.com", RawMessage("accepted"));
  ASSERT_EQ(ok.kind, Kind::kAccepted) << Describe(ok);
  EXPECT_EQ(sink->Connections(), 3);  // each aborted transfer closed its connection
  // Once the server is done with every connection nothing more can arrive.
  client.reset();
  ASSERT_OK(sink->WaitForClosedConnections(3));
  std::vector<testing::ReceivedMessage> messages = sink->Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].data.find("Subject: accepted"), std::string::npos);
}

TEST(SmtpTest, StartTlsWithAuth) {
  SinkOptions options;
  options.tls = SinkOptions::Tls::kStartTls;
  options.username = "sender";
  options.password = "s3cret-pass";
  std::unique_ptr<SmtpSink> sink = StartSink(options);
  ASSERT_TRUE(sink);
  SmtpConfig config = PlainConfig(*sink);
  config.tls = SmtpConfig::Tls::kStartTlsRequired;
  config.ca_file = sink->ca_file();
  config.username = "sender";
  config.password = "s3cret-pass";
  std::unique_ptr<SmtpClient> client = Client(config);
  SmtpResult r = client->Send(kBounce, "alex@example.com", RawMessage("tls"));
  ASSERT_EQ(r.kind, Kind::kAccepted) << Describe(r);
  r = client->Send(kBounce, "sam@example.com", RawMessage("tls2"));
  ASSERT_EQ(r.kind, Kind::kAccepted) << Describe(r);
  Result<std::vector<testing::ReceivedMessage>> got = sink->WaitForMessages(2);
  ASSERT_OK(got);
  EXPECT_TRUE((*got)[0].tls);
  EXPECT_EQ((*got)[0].auth_user, "sender");
  EXPECT_EQ(sink->Connections(), 1);

  // A wrong password: the session failed, not the recipient.
  config.password = "wrong";
  r = Client(config)->Send(kBounce, "alex@example.com", RawMessage("tls3"));
  EXPECT_EQ(r.kind, Kind::kTransient) << Describe(r);
  EXPECT_EQ(r.code, 535);
  EXPECT_EQ(r.stage, Stage::kSession);
  EXPECT_EQ(r.detail.find("wrong"), std::string::npos);

  // The self-signed certificate is not trusted without ca_file.
  config.password = "s3cret-pass";
  config.ca_file.clear();
  r = Client(config)->Send(kBounce, "alex@example.com", RawMessage("tls4"));
  EXPECT_EQ(r.kind, Kind::kTransient) << Describe(r);
  EXPECT_EQ(r.stage, Stage::kSession);
  EXPECT_EQ(sink->Messages().size(), 2u);
}

TEST(SmtpTest, StartTlsRequiredButNotOffered) {
  std::unique_ptr<SmtpSink> sink = StartSink();  // plain, no STARTTLS
  ASSERT_TRUE(sink);
  SmtpConfig config = PlainConfig(*sink);
  config.tls = SmtpConfig::Tls::kStartTlsRequired;
  SmtpResult r = Client(config)->Send(kBounce, "alex@example.com", RawMessage("notls"));
  EXPECT_EQ(r.kind, Kind::kTransient) << Describe(r);
  EXPECT_EQ(r.stage, Stage::kSession);
  ASSERT_OK(sink->WaitForClosedConnections(1));  // the client is gone: so is its connection
  EXPECT_TRUE(sink->Messages().empty());
}

TEST(SmtpTest, ImplicitTlsWithAuth) {
  SinkOptions options;
  options.tls = SinkOptions::Tls::kImplicit;
  options.username = "sender";
  options.password = "pw";
  std::unique_ptr<SmtpSink> sink = StartSink(options);
  ASSERT_TRUE(sink);
  SmtpConfig config = PlainConfig(*sink);
  config.tls = SmtpConfig::Tls::kImplicit;
  config.ca_file = sink->ca_file();
  config.username = "sender";
  config.password = "pw";
  SmtpResult r = Client(config)->Send(kBounce, "alex@example.com", RawMessage("smtps"));
  ASSERT_EQ(r.kind, Kind::kAccepted) << Describe(r);
  Result<std::vector<testing::ReceivedMessage>> got = sink->WaitForMessages(1);
  ASSERT_OK(got);
  EXPECT_TRUE((*got)[0].tls);
  EXPECT_EQ((*got)[0].auth_user, "sender");
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(SmtpTest, ConnectionRefusedIsTransient) {
  SmtpConfig config;
  config.url = "smtp://127.0.0.1:" + std::to_string(FreePort());
  config.tls = SmtpConfig::Tls::kNone;
  config.helo_domain = "mail.example.org";
  SmtpResult r = Client(config)->Send(kBounce, "alex@example.com", RawMessage("refused"));
  EXPECT_EQ(r.kind, Kind::kTransient) << Describe(r);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.stage, Stage::kConnect);
  EXPECT_FALSE(r.detail.empty());
}

// A server that accepts the connection and never says a word.
TEST(SmtpTest, SilentServerTimesOut) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);

  SmtpConfig config;
  config.url = "smtp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  config.tls = SmtpConfig::Tls::kNone;
  config.helo_domain = "mail.example.org";
  config.connect_timeout_ms = 600'000;
  config.io_timeout_ms = 1000;
  std::unique_ptr<SmtpClient> client = Client(config);
  std::future<SmtpResult> sending = std::async(std::launch::async, [&] {
    return client->Send(kBounce, "alex@example.com", RawMessage("silent"));
  });
  // Without the setting libcurl waits 120 s for a reply, and ends with the
  // same error: only the wait tells them apart. A quarter of that is thirty
  // times the setting. Closing the socket resets the waiting connection.
  if (sending.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    ADD_FAILURE() << "the client still waits for the greeting: io_timeout_ms is not applied";
  }
  close(fd);
  const SmtpResult r = sending.get();
  EXPECT_EQ(r.kind, Kind::kTransient) << Describe(r);
  EXPECT_EQ(r.code, 0);
  // The reply timeout ended it: not the connect timeout, not the peer.
  EXPECT_NE(r.detail.find("response timeout"), std::string::npos) << Describe(r);
}

TEST(SmtpTest, RefusesBadInputBeforeConnecting) {
  SmtpConfig config;
  config.url = "smtp://127.0.0.1:1";  // never reached
  config.tls = SmtpConfig::Tls::kNone;
  config.helo_domain = "mail.example.org";
  std::unique_ptr<SmtpClient> client = Client(config);
  using Case = std::tuple<std::string, std::string, std::string>;
  const std::vector<Case> cases = {
      {kBounce, "a@example.com\r\nRCPT TO:<x@example.net>", RawMessage("x")},
      {kBounce, "not an address", RawMessage("x")},
      {"bad\r\n@example.org", "a@example.com", RawMessage("x")},
      {kBounce, "a@example.com", ""},
      {kBounce, "a@example.com", "Subject: x\n\nbare LF\n.\n"},
      {kBounce, "a@example.com", "Subject: x\r\n\r\nbare CR\r.\r\n"},
      {kBounce, "a@example.com", std::string("Subject: x\r\n\r\nNUL\0\r\n", 20)}};
  for (const auto& [from, rcpt, data] : cases) {
    SmtpResult r = client->Send(from, rcpt, data);
    EXPECT_EQ(r.kind, Kind::kPermanent) << Describe(r);
    EXPECT_EQ(r.stage, Stage::kInput);
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.detail.find("x@example.net"), std::string::npos);
  }
}

}  // namespace
}  // namespace switchboard::mail
