// The engine against real SIPp on loopback playing the trunk and both
// phones (tests/telephony/trunk.xml).
#include "telephony/sip_engine.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <sstream>

#include "core/mutex.h"
#include "telephony/testing/sipp.h"

namespace switchboard::telephony {
namespace {

using testing::Sipp;

constexpr char kCaller[] = "+441632960001";
constexpr char kMember[] = "+447700900123";

// Collects the engine's events; waits for a call's end.
class Events {
 public:
  void Add(const CallEvent& e) {
    MutexLock lock(mu_);
    events_.push_back(e);
    cv_.SignalAll();
  }
  std::optional<CallEvent> WaitEnd(std::int64_t call, int seconds = 30) {
    MutexLock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    for (;;) {
      for (const CallEvent& e : events_) {
        if (e.call == call && e.kind == CallEvent::Kind::kEnded) return e;
      }
      if (!cv_.WaitUntil(mu_, deadline)) return std::nullopt;
    }
  }
  bool WaitKind(std::int64_t call, CallEvent::Kind kind, int seconds = 30) {
    MutexLock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    for (;;) {
      for (const CallEvent& e : events_) {
        if (e.call == call && e.kind == kind) return true;
      }
      if (!cv_.WaitUntil(mu_, deadline)) return false;
    }
  }
  std::vector<CallEvent::Kind> KindsOf(std::int64_t call) {
    MutexLock lock(mu_);
    std::vector<CallEvent::Kind> out;
    for (const CallEvent& e : events_) {
      if (e.call == call) out.push_back(e.kind);
    }
    return out;
  }
  std::vector<CallEvent> All() {
    MutexLock lock(mu_);
    return events_;
  }

 private:
  Mutex mu_;
  CondVar cv_;
  std::vector<CallEvent> events_ SB_GUARDED_BY(mu_);
};

struct Scenario {
  std::string caller = "answer";
  std::string member = "answer";
  std::string hangup = "caller";
  std::string challenge = "no";
  int calls = 2;  // SIPp calls: one per leg
  bool trace = false;
  std::string transport = "udp";
  int member_ring_seconds = 1;
  bool via_proxy = false;  // SIPp as the outbound proxy of a named trunk
  int caller_ring_seconds = 5;
  int bridge_seconds = 32;
};

class EngineTest : public ::testing::Test {
 protected:
  void Run(const Scenario& s) {
    Sipp::Options o;
    o.scenario = "trunk.xml";
    o.calls = s.calls;
    o.trace = s.trace;
    o.transport = s.transport == "tcp" ? "t1" : "u1";
    o.extra = {"-set", "caller", s.caller, "-set", "member",    s.member,
               "-set", "hangup", s.hangup, "-set", "challenge", s.challenge};
    auto sipp = Sipp::Start(o);
    ASSERT_TRUE(sipp.has_value()) << sipp.status().ToString();
    sipp_.emplace(std::move(*sipp));
    EngineOptions e;
    e.trunk_uri = sipp_->uri();
    if (s.via_proxy) {
      // A name that resolves nowhere: only the proxy can carry the calls.
      e.trunk_uri = "sip:trunk.invalid";
      e.outbound_proxy = sipp_->uri();
    }
    e.transport = s.transport;
    e.caller_id = "+441632960000";
    e.username = "trunkuser";
    e.password = "trunk-secret";
    e.caller_ring_seconds = s.caller_ring_seconds;
    e.bridge_seconds = s.bridge_seconds;
    e.member_ring_seconds = s.member_ring_seconds;
    auto engine = Engine::Start(e, [this](const CallEvent& ev) { events_.Add(ev); });
    ASSERT_TRUE(engine.has_value()) << engine.status().ToString();
    engine_ = std::move(*engine);
  }
  // An engine with no SIPp (for raw-socket tests and probes of other trunks).
  void StartEngine(const std::string& trunk_uri) {
    EngineOptions e;
    e.trunk_uri = trunk_uri;
    e.caller_id = "+441632960000";
    e.username = "trunkuser";
    e.password = "trunk-secret";
    auto engine = Engine::Start(e, [this](const CallEvent& ev) { events_.Add(ev); });
    ASSERT_TRUE(engine.has_value()) << engine.status().ToString();
    engine_ = std::move(*engine);
  }
  void StartSipp(const std::string& scenario, int calls, bool trace = false,
                 std::vector<std::string> extra = {}) {
    Sipp::Options o;
    o.scenario = scenario;
    o.calls = calls;
    o.trace = trace;
    o.extra = std::move(extra);
    auto sipp = Sipp::Start(o);
    ASSERT_TRUE(sipp.has_value()) << sipp.status().ToString();
    sipp_.emplace(std::move(*sipp));
  }
  void Place(std::int64_t call) { engine_->Place({call, kCaller, kMember}); }
  // SIPp's verdict: every leg followed the scenario.
  void ExpectScenarioFollowed() {
    EXPECT_EQ(sipp_->Wait(60), 0) << sipp_->output() << sipp_->message_log();
  }

  Events events_;
  std::optional<Sipp> sipp_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, AnsweredCallIsBridgedAndTheMemberHangsUp) {
  Run({.hangup = "member"});
  Place(1);
  auto end = events_.WaitEnd(1);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->end, "completed");
  EXPECT_EQ(events_.KindsOf(1),
            (std::vector<CallEvent::Kind>{CallEvent::Kind::kLegUp, CallEvent::Kind::kCallingMember,
                                          CallEvent::Kind::kLegUp, CallEvent::Kind::kConnected,
                                          CallEvent::Kind::kEnded}));
  ExpectScenarioFollowed();
  EXPECT_EQ(engine_->active_calls(), 0);
}

TEST_F(EngineTest, TheCallerHangsUp) {
  Run({.hangup = "caller"});
  Place(2);
  auto end = events_.WaitEnd(2);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->end, "completed");
  ExpectScenarioFollowed();
}

TEST_F(EngineTest, BusyMember) {
  Run({.member = "busy"});
  Place(3);
  auto end = events_.WaitEnd(3);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->end, "busy");
  ExpectScenarioFollowed();
}

TEST_F(EngineTest, MemberDoesNotAnswerWithinTheRingTime) {
  Run({.member = "noanswer"});
  Place(4);
  auto end = events_.WaitEnd(4);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->end, "no_answer");
  ExpectScenarioFollowed();
}

TEST_F(EngineTest, WrongNumberIsTriedTwiceBeforeItIsReported) {
  // Three SIPp calls: the caller's leg and two INVITEs to the member.
  Run({.member = "notfound", .calls = 3});
  Place(5);
  auto end = events_.WaitEnd(5);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->end, "wrong_number");
  ExpectScenarioFollowed();
}

TEST_F(EngineTest, BusyCaller) {
  Run({.caller = "busy", .calls = 1});
  Place(6);
  auto end = events_.WaitEnd(6);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->end, "caller_busy");
  EXPECT_EQ(events_.KindsOf(6), std::vector<CallEvent::Kind>{CallEvent::Kind::kEnded});
  ExpectScenarioFollowed();
}

TEST_F(EngineTest, ACallerWhoDoesNotAnswerTheirOwnPhoneIsCancelled) {
  Run({.caller = "noanswer", .calls = 1, .caller_ring_seconds = 1});
  Place(13);
  auto end = events_.WaitEnd(13);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->end, "caller_no_answer");
  // The member was never rung.
  EXPECT_EQ(events_.KindsOf(13), std::vector<CallEvent::Kind>{CallEvent::Kind::kEnded});
  ExpectScenarioFollowed();
}

TEST_F(EngineTest, ACallerPhoneRefusingTheMembersMediaEndsTheCall) {
  // 488 to the re-INVITE: no audio would flow, so both legs are hung up.
  Run({.caller = "nomedia", .hangup = "caller", .bridge_seconds = 1});
  Place(14);
  auto end = events_.WaitEnd(14);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->end, "failed");
  ExpectScenarioFollowed();
}

TEST_F(EngineTest, DigestChallengeIsAnsweredWithTheTrunkCredentials) {
  Run({.challenge = "yes"});
  Place(7);
  auto end = events_.WaitEnd(7);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->end, "completed");
  EXPECT_EQ(events_.KindsOf(7).size(), 5u);  // it was connected before it ended
  ExpectScenarioFollowed();
}

TEST_F(EngineTest, WorksOverTcp) {
  Run({.hangup = "member", .transport = "tcp"});
  Place(8);
  auto end = events_.WaitEnd(8);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->end, "completed");
  ExpectScenarioFollowed();
}

TEST_F(EngineTest, AnOutboundProxyCarriesEveryRequest) {
  Run({.hangup = "member", .trace = true, .via_proxy = true});
  Place(12);
  auto end = events_.WaitEnd(12);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->end, "completed");
  ExpectScenarioFollowed();
  const std::string log = sipp_->message_log();
  EXPECT_NE(log.find("INVITE sip:+447700900123@trunk.invalid"), std::string::npos);
  EXPECT_NE(log.find("Route: <" + sipp_->uri() + ";lr>"), std::string::npos);
  // Both legs present the organisation's number.
  EXPECT_NE(log.find("P-Asserted-Identity: <sip:+441632960000@trunk.invalid>"), std::string::npos);
  EXPECT_NE(log.find("From: <sip:+441632960000@trunk.invalid>"), std::string::npos);
}

TEST_F(EngineTest, HangupFromTheScreenEndsBothLegs) {
  // Hung up while the member's phone rings: CANCEL to the member, BYE to
  // the caller (the ring time is a minute, so nothing else ends it).
  Run({.member = "noanswer", .trace = true, .member_ring_seconds = 60});
  Place(9);
  ASSERT_TRUE(events_.WaitKind(9, CallEvent::Kind::kCallingMember));
  engine_->Hangup(9, "completed");
  auto end = events_.WaitEnd(9);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->end, "completed");
  ExpectScenarioFollowed();
}

TEST_F(EngineTest, HangupAllEndsEveryCallAsKilled) {
  Run({.member = "noanswer", .calls = 4, .member_ring_seconds = 60});
  Place(10);
  Place(11);
  ASSERT_TRUE(events_.WaitKind(10, CallEvent::Kind::kCallingMember));
  ASSERT_TRUE(events_.WaitKind(11, CallEvent::Kind::kCallingMember));
  engine_->HangupAll();
  EXPECT_EQ(events_.WaitEnd(10)->end, "killed");
  EXPECT_EQ(events_.WaitEnd(11)->end, "killed");
  ExpectScenarioFollowed();
}

TEST_F(EngineTest, CheckFindsTheTrunkAndRegistersWithDigest) {
  StartSipp("probe.xml", 3);
  StartEngine(sipp_->uri());
  auto found = engine_->Probe(/*do_register=*/true, 20000);
  ASSERT_TRUE(found.has_value()) << found.status().ToString();
  EXPECT_EQ(found->options_status, 200);
  EXPECT_EQ(found->server, "SIPp test trunk");
  // 200, not 403: SIPp checked the digest response against the password.
  EXPECT_EQ(found->register_status, 200) << found->register_reason;
}

TEST_F(EngineTest, ACallerIdThatIsNotPlainE164NeverReachesAHeader) {
  // The trunk is a bare socket: whatever the engine sends arrives here.
  const int trunk = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(trunk, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(trunk, reinterpret_cast<sockaddr*>(&at), sizeof(at)), 0);
  socklen_t len = sizeof(at);
  ASSERT_EQ(getsockname(trunk, reinterpret_cast<sockaddr*>(&at), &len), 0);
  StartEngine("sip:127.0.0.1:" + std::to_string(ntohs(at.sin_port)));
  std::int64_t call = 40;
  for (const char* bad : {"+441632960001>\r\nX-Injected: 1", "sip:+441632960001@evil",
                          "+44 1632 960001", "441632960001"}) {
    CallRequest r{call, kCaller, kMember};
    r.caller_id = bad;
    engine_->Place(std::move(r));
    auto end = events_.WaitEnd(call);
    ASSERT_TRUE(end.has_value()) << bad;
    EXPECT_EQ(end->end, "failed") << bad;
    ++call;
  }
  EXPECT_EQ(engine_->active_calls(), 0);
  // Failed before anything was sent: the trunk received nothing.
  char buf[2048];
  EXPECT_EQ(recv(trunk, buf, sizeof(buf), MSG_DONTWAIT), -1);
  close(trunk);
}

TEST_F(EngineTest, CheckSaysWhenNothingAnswers) {
  auto port = testing::FreePort(false);
  ASSERT_TRUE(port.has_value());
  StartEngine("sip:127.0.0.1:" + std::to_string(*port));
  auto found = engine_->Probe(false, 1000);
  ASSERT_TRUE(found.has_value());
  EXPECT_LE(found->options_status, 0);
}

TEST_F(EngineTest, VerificationCodesGoAsASipMessage) {
  StartSipp("message.xml", 1);
  StartEngine(sipp_->uri());
  EXPECT_TRUE(engine_->SendText(kCaller, "Your code is 123456", 20000).ok());
  ExpectScenarioFollowed();
}

// Sends `text` to the engine from a plain UDP socket; the reply, if any.
std::string SendRaw(const std::string& engine_address, const std::string& text) {
  const std::size_t colon = engine_address.rfind(':');
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(std::stoi(engine_address.substr(colon + 1))));
  inet_pton(AF_INET, engine_address.substr(0, colon).c_str(), &to.sin_addr);
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in me{};
  me.sin_family = AF_INET;
  me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&me), sizeof(me));
  sendto(fd, text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  pollfd p{fd, POLLIN, 0};
  std::string reply;
  if (poll(&p, 1, 1000) == 1) {
    char buf[65536];
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n > 0) reply.assign(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return reply;
}

std::string Request(const std::string& method, const std::string& extra_headers,
                    const std::string& to_tag) {
  return method +
         " sip:switchboard@127.0.0.1 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bK" +
         method + to_tag +
         "\r\n"
         "From: <sip:+447700900555@127.0.0.1>;tag=abc\r\n"
         "To: <sip:switchboard@127.0.0.1>" +
         (to_tag.empty() ? "" : ";tag=" + to_tag) +
         "\r\n"
         "Call-ID: unknown-dialog-" +
         method +
         "\r\n"
         "CSeq: 1 " +
         method + "\r\n" + extra_headers +
         "Max-Forwards: 70\r\n"
         "Content-Length: 0\r\n\r\n";
}

TEST_F(EngineTest, MalformedAndUnexpectedSipIsRefusedAndCallsGoOn) {
  Run({.hangup = "member"});
  const std::string at = engine_->local_address();
  // Garbage and a truncated start line: dropped, no answer possible.
  EXPECT_EQ(SendRaw(at, "\x01\x02 hello \xff\xfe"), "");
  EXPECT_EQ(SendRaw(at, "INVITE sip:"), "");
  // A header far beyond any real one.
  SendRaw(at, Request("OPTIONS", "X-Long: " + std::string(60000, 'a') + "\r\n", ""));
  // A BYE for a dialog the engine never had: 481.
  EXPECT_EQ(SendRaw(at, Request("BYE", "", "nosuch")).substr(0, 11), "SIP/2.0 481");
  // Nobody calls in: an INVITE is declined.
  const std::string invite = SendRaw(at, Request("INVITE", "Contact: <sip:x@127.0.0.1:9>\r\n", ""));
  EXPECT_NE(invite.find("SIP/2.0 603"), std::string::npos) << invite;
  EXPECT_GE(engine_->rejected_messages(), 1);
  // Still placing calls.
  Place(20);
  auto end = events_.WaitEnd(20);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->end, "completed");
  ExpectScenarioFollowed();
}

// Every SIP message on the caller's leg, across 500 bridged calls, holds
// neither the member's number nor any part of it.
TEST_F(EngineTest, TheCallersLegNeverCarriesTheMembersNumber) {
  constexpr int kCalls = 500;
  Run({.hangup = "caller", .calls = 2 * kCalls, .trace = true});
  constexpr int kWave = 20;
  for (int first = 0; first < kCalls; first += kWave) {
    for (int i = first; i < first + kWave; ++i) {
      char member[32];
      std::snprintf(member, sizeof(member), "+447700900%03d", i % 1000);
      engine_->Place({1000 + i, kCaller, member});
    }
    for (int i = first; i < first + kWave; ++i) {
      auto end = events_.WaitEnd(1000 + i, 60);
      ASSERT_TRUE(end.has_value()) << "call " << i;
      ASSERT_EQ(end->end, "completed") << "call " << i;
    }
  }
  ExpectScenarioFollowed();
  // Group the trace's messages by Call-ID; a caller's leg is one whose
  // INVITE went to the caller's number.
  const std::string log = sipp_->message_log();
  std::map<std::string, std::vector<std::string>> by_call;
  std::size_t pos = 0;
  const std::string sep = "----------------------------------------------- ";
  while ((pos = log.find(sep, pos)) != std::string::npos) {
    const std::size_t next = log.find(sep, pos + sep.size());
    const std::string msg =
        log.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    pos = next == std::string::npos ? log.size() : next;
    const std::size_t c = msg.find("\nCall-ID:");
    if (c == std::string::npos) continue;
    const std::size_t eol = msg.find('\n', c + 1);
    std::string id = msg.substr(c + 9, eol - c - 9);
    while (!id.empty() && (id.front() == ' ')) id.erase(0, 1);
    while (!id.empty() && (id.back() == '\r' || id.back() == ' ')) id.pop_back();
    by_call[id].push_back(msg);
  }
  int caller_legs = 0;
  int member_legs = 0;
  int caller_messages = 0;
  for (const auto& [id, msgs] : by_call) {
    bool caller_leg = false;
    for (const std::string& m : msgs) {
      if (m.find("INVITE sip:" + std::string(kCaller)) != std::string::npos) caller_leg = true;
    }
    if (!caller_leg) {
      ++member_legs;
      continue;
    }
    ++caller_legs;
    for (const std::string& m : msgs) {
      ++caller_messages;
      EXPECT_EQ(m.find("7700900"), std::string::npos) << m;
    }
  }
  EXPECT_EQ(caller_legs, kCalls);
  EXPECT_EQ(member_legs, kCalls);
  // INVITE, 180, 200, ACK, re-INVITE, 200, ACK, BYE, 200 on each.
  EXPECT_GE(caller_messages, 9 * kCalls);
  // The member's legs did carry it (the search would have found it).
  EXPECT_NE(log.find("INVITE sip:+447700900"), std::string::npos);
}

}  // namespace
}  // namespace switchboard::telephony
