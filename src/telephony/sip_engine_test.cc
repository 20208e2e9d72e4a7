// The engine against real SIPp on loopback playing the trunk and both
// phones (tests/telephony/trunk.xml).
#include "telephony/sip_engine.h"

#include <gtest/gtest.h>

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
    e.transport = s.transport;
    e.caller_id = "+441632960000";
    e.username = "trunkuser";
    e.password = "trunk-secret";
    e.caller_ring_seconds = 5;
    e.member_ring_seconds = s.member_ring_seconds;
    auto engine = Engine::Start(e, [this](const CallEvent& ev) { events_.Add(ev); });
    ASSERT_TRUE(engine.has_value()) << engine.status().ToString();
    engine_ = std::move(*engine);
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

}  // namespace
}  // namespace switchboard::telephony
