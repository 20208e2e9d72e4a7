// A caller's phone verified by a call and its keypad, through the SIP
// connector and the store, on both backends: SIPp on loopback is the phone
// behind the trunk (tests/telephony/verify.xml), keying the code as RFC 4733
// telephone-events (sip-tester's RFC 2833 captures) or as SIP INFO.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <set>

#include "access/store/access_store.h"
#include "core/log.h"
#include "core/testing/status_matchers.h"
#include "members/testing_env.h"
#include "phonebank/operations.h"
#include "phonebank/sip_connector.h"
#include "telephony/testing/sipp.h"

namespace switchboard::phonebank {
namespace {

using telephony::CallEvent;
using telephony::testing::Sipp;

constexpr char kPhone[] = "+447700900321";

class SipVerifyTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    ASSERT_FALSE(HasFatalFailure());
    policy_ = std::move(access::ParsePolicy(access::DefaultPolicyToml(), "policy").value());
    EXPECT_OK(env_.store_->Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(
          caller_, access::CreateAccount(tx, {"caller.one", "T", MemberId(), false}, clock_.Now()));
      return Status::Ok();
    }));
    char dir[] = "/tmp/sb-verify-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    log::SetLevel(log::Level::kDebug);
    log::SetLogSink([this](std::string_view line) {
      MutexLock lock(mu_);
      log_.emplace_back(line);
    });
  }

  void TearDown() override {
    connector_.reset();
    sipp_.reset();
    log::SetLogSink(nullptr);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    // Nothing logged names the phone or its code.
    MutexLock lock(mu_);
    for (const std::string& line : log_) {
      EXPECT_EQ(line.find("7700900"), std::string::npos) << line;
      if (!code_.empty()) {
        EXPECT_EQ(line.find(code_), std::string::npos) << line;
      }
    }
  }

  // Registers the phone; with `distinct`, again until no digit of the code
  // repeats (SIPp replays each digit's capture with the same SSRC and RTP
  // timestamp, so a repeated digit would be one event to any receiver).
  void Register(bool distinct) {
    for (int i = 0; i < 1000; ++i) {
      EXPECT_OK(env_.store_->Write([&](store::Tx& tx) -> Status {
        SB_ASSIGN_OR_RETURN(EndpointVerification v,
                            RegisterEndpoint(tx, *env_.sealer_, caller_, kPhone, clock_.Now()));
        code_ = v.code;
        return Status::Ok();
      }));
      if (!distinct || std::set<char>(code_.begin(), code_.end()).size() == code_.size()) return;
    }
    FAIL() << "no code with distinct digits in 1000 tries";
  }

  // SIPp as the phone: `phone` is keys, hangup, busy or noanswer.
  void StartPhone(const std::string& phone, std::string_view keys = "", bool info = false) {
    Sipp::Options o;
    o.scenario = "verify.xml";
    if (phone == "keys") {
      auto path = telephony::testing::VerifyScenario(keys, info, dir_);
      ASSERT_TRUE(path.has_value()) << path.status().ToString();
      o.scenario = *path;
    }
    o.extra = {"-set", "phone", phone};
    auto sipp = Sipp::Start(o);
    ASSERT_TRUE(sipp.has_value()) << sipp.status().ToString();
    sipp_.emplace(std::move(*sipp));
    telephony::EngineOptions e;
    e.trunk_uri = sipp_->uri();
    e.caller_id = "+441632960000";
    e.caller_ring_seconds = 2;
    e.verify_seconds = 3;
    auto c =
        SipConnector::Start(*env_.store_, *env_.sealer_, clock_, e, [this](const CallEvent& ev) {
          MutexLock lock(mu_);
          recorded_.push_back(ev);
          cv_.SignalAll();
        });
    ASSERT_TRUE(c.has_value()) << c.status().ToString();
    connector_ = std::move(*c);
  }

  void Call() {
    ASSERT_OK(
        connector_->CallToVerify(caller_, kPhone, code_.size(), EndpointRules::From(policy_)));
  }

  // Waits until the end of the verification call has been recorded.
  bool WaitEnded() {
    MutexLock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      for (const CallEvent& e : recorded_) {
        if (e.kind == CallEvent::Kind::kVerifyEnded) return true;
      }
      if (!cv_.WaitUntil(mu_, deadline)) return false;
    }
  }

  Connector::VerifyProgress Progress() {
    auto p = connector_->VerifyProgressOf(caller_);
    EXPECT_TRUE(p.has_value());
    return p.value_or(Connector::VerifyProgress{});
  }

  bool Verified() {
    bool v = false;
    EXPECT_OK(env_.store_->Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(v, EndpointVerified(tx, caller_));
      return Status::Ok();
    }));
    return v;
  }

  std::int64_t Events(const std::string& decision, const std::string& rule) {
    return env_.Count(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'endpoint.verify' AND decision = '" +
        decision + "' AND rule = '" + rule + "' AND actor = " + caller_.ToString());
  }

  members::testing::RegisterEnv env_;
  ManualClock clock_{*ParseTimestamp("2026-03-02T10:00:00Z")};
  access::Policy policy_;
  AccountId caller_;
  std::string code_;
  std::string dir_;
  std::optional<Sipp> sipp_;
  std::unique_ptr<SipConnector> connector_;
  Mutex mu_;
  CondVar cv_;
  std::vector<CallEvent> recorded_ SB_GUARDED_BY(mu_);
  std::vector<std::string> log_ SB_GUARDED_BY(mu_);
};

TEST_P(SipVerifyTest, TheRightKeysVerifyThePhone) {
  Register(/*distinct=*/true);
  StartPhone("keys", code_);
  Call();
  EXPECT_EQ(Progress().state, "calling");
  ASSERT_TRUE(WaitEnded()) << sipp_->output();
  EXPECT_TRUE(Verified());
  const Connector::VerifyProgress p = Progress();
  EXPECT_EQ(p.state, "verified");
  EXPECT_EQ(p.end, "verified");
  EXPECT_EQ(Events("allow", "endpoint.keypad"), 1);
  EXPECT_EQ(sipp_->Wait(20), 0) << sipp_->output();
}

TEST_P(SipVerifyTest, TheRightKeysBySipInfoVerifyThePhone) {
  Register(/*distinct=*/false);  // INFO requests are distinct whatever the digits
  StartPhone("keys", code_, /*info=*/true);
  Call();
  ASSERT_TRUE(WaitEnded()) << sipp_->output();
  EXPECT_TRUE(Verified());
  EXPECT_EQ(Progress().state, "verified");
  EXPECT_EQ(sipp_->Wait(20), 0) << sipp_->output();
}

TEST_P(SipVerifyTest, WrongKeysAreAnAttemptAndDoNotVerify) {
  Register(/*distinct=*/true);
  // The code's digits rotated by one: all different, none in its place.
  const std::string wrong = code_.substr(1) + code_[0];
  StartPhone("keys", wrong);
  Call();
  // The call stays up for another try, then ends after verify_seconds.
  ASSERT_TRUE(WaitEnded()) << sipp_->output();
  EXPECT_FALSE(Verified());
  const Connector::VerifyProgress p = Progress();
  EXPECT_EQ(p.state, "failed");
  EXPECT_EQ(p.end, "timeout");
  EXPECT_EQ(p.message, "that code is not the one we gave you");
  EXPECT_EQ(Events("deny", "endpoint.keypad.wrong"), 1);
  EXPECT_EQ(Events("allow", "endpoint.keypad"), 0);
  EXPECT_EQ(env_.Count("SELECT failures FROM login_throttle WHERE subject = 'endpoint:" +
                       caller_.ToString() + "'"),
            1);
  EXPECT_EQ(sipp_->Wait(20), 0) << sipp_->output();
}

TEST_P(SipVerifyTest, AnExpiredCodeEndsTheCall) {
  Register(/*distinct=*/false);
  StartPhone("keys", code_, /*info=*/true);
  clock_.Advance(kEndpointCodeMinutes * 60 * kMicrosPerSecond);
  Call();
  ASSERT_TRUE(WaitEnded()) << sipp_->output();
  EXPECT_FALSE(Verified());
  EXPECT_EQ(Progress().end, "expired");
  EXPECT_EQ(Events("deny", "endpoint.keypad.expired"), 1);
  EXPECT_EQ(sipp_->Wait(20), 0) << sipp_->output();
}

TEST_P(SipVerifyTest, APhoneThatDoesNotAnswerFailsCleanly) {
  Register(/*distinct=*/false);
  StartPhone("noanswer");
  Call();
  ASSERT_TRUE(WaitEnded()) << sipp_->output();
  EXPECT_FALSE(Verified());
  const Connector::VerifyProgress p = Progress();
  EXPECT_EQ(p.state, "failed");
  EXPECT_EQ(p.end, "no_answer");
  // Nothing was keyed: no attempt recorded.
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM audit_events WHERE action = 'endpoint.verify'"), 0);
  EXPECT_EQ(sipp_->Wait(20), 0) << sipp_->output();
}

TEST_P(SipVerifyTest, APhoneThatHangsUpFailsCleanly) {
  Register(/*distinct=*/false);
  StartPhone("hangup");
  Call();
  ASSERT_TRUE(WaitEnded()) << sipp_->output();
  EXPECT_FALSE(Verified());
  EXPECT_EQ(Progress().end, "hung_up");
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM audit_events WHERE action = 'endpoint.verify'"), 0);
  EXPECT_EQ(sipp_->Wait(20), 0) << sipp_->output();
}

TEST_P(SipVerifyTest, TypingTheShownCodeBackIsRefused) {
  // With a connector that calls, the code is on screen: typing it proves
  // nothing, so only the keypad counts.
  Register(/*distinct=*/false);
  StartPhone("busy");
  Operations ops(policy_, env_.tree_, *env_.sealer_, *TimeZone::Find("Europe/London"), *connector_);
  access::Acting who;
  who.account = caller_;
  who.now = clock_.Now();
  const Status st = env_.store_->Write(
      [&](store::Tx& tx) { return ops.VerifyEndpoint(tx, who, code_).status(); });
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(Verified());
}

INSTANTIATE_TEST_SUITE_P(Backends, SipVerifyTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::phonebank
