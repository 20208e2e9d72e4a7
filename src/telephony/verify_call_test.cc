// The call that verifies a caller's own phone, against real SIPp on loopback
// playing the phone (tests/telephony/verify.xml): keys as RFC 4733
// telephone-events from sip-tester's RFC 2833 captures, sent by SIPp to the
// RTP port in the engine's offer, or as SIP INFO.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "core/mutex.h"
#include "telephony/sip_engine.h"
#include "telephony/testing/sipp.h"

namespace switchboard::telephony {
namespace {

using testing::Sipp;

constexpr char kPhone[] = "+447700900777";

class Events {
 public:
  void Add(const CallEvent& e) {
    MutexLock lock(mu_);
    events_.push_back(e);
    cv_.SignalAll();
  }
  // The first event of `kind` for `id`, waiting up to `seconds`.
  std::optional<CallEvent> Wait(std::int64_t id, CallEvent::Kind kind, int seconds = 30) {
    MutexLock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    for (;;) {
      for (const CallEvent& e : events_) {
        if (e.call == id && e.kind == kind) return e;
      }
      if (!cv_.WaitUntil(mu_, deadline)) return std::nullopt;
    }
  }
  std::vector<std::string> Keys(std::int64_t id) {
    MutexLock lock(mu_);
    std::vector<std::string> out;
    for (const CallEvent& e : events_) {
      if (e.call == id && e.kind == CallEvent::Kind::kVerifyKeys) out.push_back(e.keys);
    }
    return out;
  }

 private:
  Mutex mu_;
  CondVar cv_;
  std::vector<CallEvent> events_ SB_GUARDED_BY(mu_);
};

class VerifyCallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/sb-verify-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    engine_.reset();
    sipp_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // SIPp as the phone (`phone`: keys, hangup, busy, noanswer) keying `keys`.
  void Start(const std::string& phone, std::string_view keys = "", bool info = false,
             int verify_seconds = 30) {
    Sipp::Options o;
    if (phone == "keys") {
      auto path = testing::VerifyScenario(keys, info, dir_);
      ASSERT_TRUE(path.has_value()) << path.status().ToString();
      o.scenario = *path;
    } else {
      o.scenario = "verify.xml";
    }
    o.extra = {"-set", "phone", phone};
    auto sipp = Sipp::Start(o);
    ASSERT_TRUE(sipp.has_value()) << sipp.status().ToString();
    sipp_.emplace(std::move(*sipp));
    EngineOptions e;
    e.trunk_uri = sipp_->uri();
    e.caller_id = "+441632960000";
    e.caller_ring_seconds = 2;
    e.verify_seconds = verify_seconds;
    auto engine = Engine::Start(e, [this](const CallEvent& ev) { events_.Add(ev); });
    ASSERT_TRUE(engine.has_value()) << engine.status().ToString();
    engine_ = std::move(*engine);
  }

  void Verify(std::int64_t id, std::size_t length = 6) {
    engine_->PlaceVerify(VerifyRequest{id, kPhone, length});
  }

  std::string dir_;
  Events events_;
  std::optional<Sipp> sipp_;
  std::unique_ptr<Engine> engine_;
};

// Codes whose digits are all different: every capture carries the same SSRC
// and its own fixed RTP timestamp, and SIPp replays a capture as it is
// (only the UDP ports are rewritten), so a digit played twice would be the
// same event twice to any receiver.
TEST_F(VerifyCallTest, KeysFromTelephoneEventsArriveAsOneGroup) {
  Start("keys", "481902");
  Verify(7);
  ASSERT_TRUE(events_.Wait(7, CallEvent::Kind::kVerifyAnswered));
  auto keys = events_.Wait(7, CallEvent::Kind::kVerifyKeys);
  ASSERT_TRUE(keys) << sipp_->output();
  EXPECT_EQ(keys->keys, "481902");
  engine_->EndVerify(7, "verified");
  auto end = events_.Wait(7, CallEvent::Kind::kVerifyEnded);
  ASSERT_TRUE(end);
  EXPECT_EQ(end->end, "verified");
  EXPECT_EQ(sipp_->Wait(20), 0) << sipp_->output();
  EXPECT_EQ(engine_->active_calls(), 0);
}

TEST_F(VerifyCallTest, WrongKeysAreReportedAsTheyWereKeyed) {
  // The engine does not judge: it reports what the phone sent.
  Start("keys", "135790");
  Verify(8);
  auto keys = events_.Wait(8, CallEvent::Kind::kVerifyKeys);
  ASSERT_TRUE(keys) << sipp_->output();
  EXPECT_EQ(keys->keys, "135790");
  engine_->EndVerify(8, "wrong");
  ASSERT_TRUE(events_.Wait(8, CallEvent::Kind::kVerifyEnded));
  EXPECT_EQ(sipp_->Wait(20), 0) << sipp_->output();
}

TEST_F(VerifyCallTest, StarStartsTheCodeAgainAndKeysBeyondTheLimitEndTheCall) {
  // "1*" is dropped; then three groups of 2; the seventh digit is one group
  // too many.
  Start("keys", "1*3456789", /*info=*/true);
  Verify(9, 2);
  auto end = events_.Wait(9, CallEvent::Kind::kVerifyEnded);
  ASSERT_TRUE(end) << sipp_->output();
  EXPECT_EQ(end->end, "too_many_keys");
  EXPECT_EQ(events_.Keys(9), (std::vector<std::string>{"34", "56", "78"}));
  EXPECT_EQ(sipp_->Wait(20), 0) << sipp_->output();
}

TEST_F(VerifyCallTest, KeysBySipInfo) {
  Start("keys", "264", /*info=*/true);
  Verify(10, 3);
  auto keys = events_.Wait(10, CallEvent::Kind::kVerifyKeys);
  ASSERT_TRUE(keys) << sipp_->output();
  EXPECT_EQ(keys->keys, "264");
  engine_->EndVerify(10, "verified");
  ASSERT_TRUE(events_.Wait(10, CallEvent::Kind::kVerifyEnded));
  EXPECT_EQ(sipp_->Wait(20), 0) << sipp_->output();
}

TEST_F(VerifyCallTest, APhoneThatHangsUpEndsTheCall) {
  Start("hangup");
  Verify(11);
  auto end = events_.Wait(11, CallEvent::Kind::kVerifyEnded);
  ASSERT_TRUE(end) << sipp_->output();
  EXPECT_EQ(end->end, "hung_up");
  EXPECT_TRUE(events_.Keys(11).empty());
  EXPECT_EQ(sipp_->Wait(20), 0) << sipp_->output();
}

TEST_F(VerifyCallTest, APhoneThatDoesNotAnswerIsCancelled) {
  Start("noanswer");
  Verify(12);
  auto end = events_.Wait(12, CallEvent::Kind::kVerifyEnded);
  ASSERT_TRUE(end) << sipp_->output();
  EXPECT_EQ(end->end, "no_answer");
  EXPECT_FALSE(events_.Wait(12, CallEvent::Kind::kVerifyAnswered, 0));
  EXPECT_EQ(sipp_->Wait(20), 0) << sipp_->output();
}

TEST_F(VerifyCallTest, ABusyPhone) {
  Start("busy");
  Verify(13);
  auto end = events_.Wait(13, CallEvent::Kind::kVerifyEnded);
  ASSERT_TRUE(end) << sipp_->output();
  EXPECT_EQ(end->end, "busy");
  EXPECT_EQ(sipp_->Wait(20), 0) << sipp_->output();
}

TEST_F(VerifyCallTest, AnAnsweredCallIsHungUpAfterVerifySeconds) {
  // Answers and keys nothing useful (a two-digit group of a six-digit code).
  Start("keys", "12", /*info=*/false, /*verify_seconds=*/1);
  Verify(14);
  auto end = events_.Wait(14, CallEvent::Kind::kVerifyEnded);
  ASSERT_TRUE(end) << sipp_->output();
  EXPECT_EQ(end->end, "timeout");
  EXPECT_TRUE(events_.Keys(14).empty());
  EXPECT_EQ(sipp_->Wait(20), 0) << sipp_->output();
}

}  // namespace
}  // namespace switchboard::telephony
