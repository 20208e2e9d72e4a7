// The SIP connector through the store, on both backends, with SIPp on
// loopback as the trunk and the phones (tests/telephony).
#include "phonebank/sip_connector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "access/store/access_store.h"
#include "core/log.h"
#include "members/register.h"
#include "members/testing_env.h"
#include "telephony/testing/sipp.h"

namespace switchboard::phonebank {
namespace {

using telephony::CallEvent;
using telephony::testing::Sipp;

class SipConnectorTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    aldershot_ = env_.tree_.FindByCode("E14000530")->id;
    organiser_ = Account("organiser");
    caller_ = Account("caller.one");
  }

  AccountId Account(const std::string& login) {
    AccountId id;
    EXPECT_TRUE(Write([&](store::Tx& tx) -> Status {
                  SB_ASSIGN_OR_RETURN(
                      id, access::CreateAccount(tx, {login, "T", MemberId(), false}, clock_.Now()));
                  return Status::Ok();
                }).ok());
    return id;
  }

  void AddMember(const std::string& phone) {
    members::MemberRecord r;
    r.source = "native";
    r.external_id = "m1";
    r.unit = aldershot_;
    r.first_name = "First";
    r.last_name = "Last";
    r.status = "current";
    r.joined_on = 18000;
    r.consents = members::kConsentPhone;
    r.content_hash = "h";
    r.contacts.push_back({"phone", "mobile", env_.sealer_->Seal(phone, "phone"),
                          env_.sealer_->BlindIndex("phone", phone)});
    ASSERT_TRUE(Write([&](store::Tx& tx) {
                  return members::UpsertMember(tx, r, clock_.Now(), "t").status();
                }).ok());
  }

  void VerifiedCaller(const std::string& phone) {
    EndpointVerification v;
    ASSERT_TRUE(Write([&](store::Tx& tx) -> Status {
                  SB_ASSIGN_OR_RETURN(
                      v, RegisterEndpoint(tx, *env_.sealer_, caller_, phone, clock_.Now()));
                  return VerifyEndpoint(tx, caller_, v.code, clock_.Now());
                }).ok());
  }

  // `caller_id_number` and `ring_seconds`: the campaign's line (empty and 0
  // for the defaults).
  Campaign LiveCampaign(std::string caller_id_number = "", int ring_seconds = 0) {
    Campaign c;
    c.caller_id_number = std::move(caller_id_number);
    c.ring_seconds = ring_seconds;
    c.name = "Autumn calls";
    c.owner = organiser_;
    c.scope = aldershot_;
    c.purpose = "ask members about the branch AGM";
    c.script = "Hello {first name}...";
    c.survey = {{"agm", "Will you come to the AGM?", "yesno", {}}};
    c.starts_at = clock_.Now();
    c.ends_at = clock_.Now() + 14 * kMicrosPerDay;
    EXPECT_TRUE(Write([&](store::Tx& tx) -> Status {
                  SB_ASSIGN_OR_RETURN(c.id, InsertCampaign(tx, env_.tree_, c, clock_.Now()));
                  return SetState(tx, env_.tree_, c, CampaignState::kLive, clock_.Now()).status();
                }).ok());
    c.state = CampaignState::kLive;
    return c;
  }

  Status Write(const std::function<Status(store::Tx&)>& f) { return env_.store_->Write(f); }

  void StartTrunk(const std::string& scenario, std::vector<std::string> sets, int calls,
                  bool trace = false, int member_ring_seconds = 1) {
    log::SetLevel(log::Level::kDebug);
    log::SetLogSink([this](std::string_view line) {
      MutexLock lock(mu_);
      log_.emplace_back(line);
    });
    Sipp::Options o;
    o.scenario = scenario;
    o.calls = calls;
    o.extra = std::move(sets);
    o.trace = trace;
    auto sipp = Sipp::Start(o);
    ASSERT_TRUE(sipp.has_value()) << sipp.status().ToString();
    sipp_.emplace(std::move(*sipp));
    telephony::EngineOptions e;
    e.trunk_uri = sipp_->uri();
    e.caller_id = "+441632960000";
    e.member_ring_seconds = member_ring_seconds;
    auto c =
        SipConnector::Start(*env_.store_, *env_.sealer_, clock_, e, [this](const CallEvent& ev) {
          MutexLock lock(mu_);
          recorded_.push_back(ev);
          cv_.SignalAll();
        });
    ASSERT_TRUE(c.has_value()) << c.status().ToString();
    connector_ = std::move(*c);
  }

  // Waits until the end of `call` has been written.
  bool WaitRecordedEnd(CallId call) {
    MutexLock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      for (const CallEvent& e : recorded_) {
        if (e.call == call.value() && e.kind == CallEvent::Kind::kEnded) return true;
      }
      if (!cv_.WaitUntil(mu_, deadline)) return false;
    }
  }

  // Leases the campaign's one member and connects: the call row says
  // calling_you; nothing is dialled until Dial.
  CallState ConnectOne(const Campaign& c) {
    CallState call;
    EXPECT_TRUE(Write([&](store::Tx& tx) -> Status {
                  SB_ASSIGN_OR_RETURN(NextResult next, Next(tx, c, caller_, clock_.Now()));
                  if (!next.lease) return Status::NotFound("nobody to call");
                  SB_ASSIGN_OR_RETURN(
                      call, connector_->Connect(tx, c, caller_, *next.lease, clock_.Now()));
                  return Status::Ok();
                }).ok());
    return call;
  }

  CallState StatusOf(CallId call) {
    CallState s;
    EXPECT_TRUE(Write([&](store::Tx& tx) -> Status {
                  SB_ASSIGN_OR_RETURN(s, connector_->Status(tx, call, caller_, clock_.Now()));
                  return Status::Ok();
                }).ok());
    return s;
  }

  void TearDown() override {
    connector_.reset();
    log::SetLogSink(nullptr);
    // Nothing this connector logged names either phone.
    MutexLock lock(mu_);
    for (const std::string& line : log_) {
      EXPECT_EQ(line.find("7700900"), std::string::npos) << line;
      EXPECT_EQ(line.find("1632960"), std::string::npos) << line;
    }
  }

  members::testing::RegisterEnv env_;
  ManualClock clock_{*ParseTimestamp("2026-03-02T10:00:00Z")};
  UnitId aldershot_;
  AccountId organiser_, caller_;
  std::optional<Sipp> sipp_;
  std::unique_ptr<SipConnector> connector_;
  Mutex mu_;
  CondVar cv_;
  std::vector<CallEvent> recorded_ SB_GUARDED_BY(mu_);
  std::vector<std::string> log_ SB_GUARDED_BY(mu_);
};

TEST_P(SipConnectorTest, ABridgedCallIsRecordedFromRingingToEnded) {
  StartTrunk("trunk.xml",
             {"-set", "caller", "answer", "-set", "member", "answer", "-set", "hangup", "member",
              "-set", "challenge", "no"},
             2);
  AddMember("+447700900123");
  VerifiedCaller("+441632960001");
  const Campaign c = LiveCampaign();
  const CallState call = ConnectOne(c);
  EXPECT_EQ(call.state, "calling_you");
  EXPECT_FALSE(call.simulated);
  EXPECT_EQ(StatusOf(call.id).state, "calling_you");
  connector_->Dial(call.id);
  ASSERT_TRUE(WaitRecordedEnd(call.id));
  const CallState done = StatusOf(call.id);
  EXPECT_EQ(done.state, "ended");
  EXPECT_EQ(done.end, "completed");
  EXPECT_EQ(done.suggested, "");
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM calls WHERE answered_at IS NOT NULL"), 1);
  // The legs were kept while the call was up and dropped when it ended.
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM sip_legs"), 0);
  {
    MutexLock lock(mu_);
    int legs = 0;
    for (const CallEvent& e : recorded_) {
      if (e.kind != CallEvent::Kind::kLegUp) continue;
      ++legs;
      // What the engine hands over is sealed: no number in the clear.
      EXPECT_GT(e.sealed_leg.size(), 20u);
      EXPECT_EQ(e.sealed_leg.find("7700900"), std::string::npos);
      EXPECT_EQ(e.sealed_leg.find("1632960"), std::string::npos);
    }
    EXPECT_EQ(legs, 2);
  }
  EXPECT_EQ(sipp_->Wait(60), 0) << sipp_->output();
}

TEST_P(SipConnectorTest, ABusyMemberSuggestsBusy) {
  StartTrunk("trunk.xml",
             {"-set", "caller", "answer", "-set", "member", "busy", "-set", "hangup", "member",
              "-set", "challenge", "no"},
             2);
  AddMember("+447700900123");
  VerifiedCaller("+441632960001");
  const CallState call = ConnectOne(LiveCampaign());
  connector_->Dial(call.id);
  ASSERT_TRUE(WaitRecordedEnd(call.id));
  const CallState done = StatusOf(call.id);
  EXPECT_EQ(done.end, "busy");
  EXPECT_EQ(done.suggested, "busy");
  EXPECT_EQ(done.duration_seconds, 0);
  EXPECT_EQ(sipp_->Wait(60), 0) << sipp_->output();
}

TEST_P(SipConnectorTest, AnUnverifiedCallerIsNotRung) {
  StartTrunk("trunk.xml",
             {"-set", "caller", "answer", "-set", "member", "answer", "-set", "hangup", "member",
              "-set", "challenge", "no"},
             2);
  AddMember("+447700900123");
  const Campaign c = LiveCampaign();
  const Status st = Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(NextResult next, Next(tx, c, caller_, clock_.Now()));
    return connector_->Connect(tx, c, caller_, *next.lease, clock_.Now()).status();
  });
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
}

TEST_P(SipConnectorTest, ReconcileHangsUpLegsLeftUpByACrashAndRecordsTheCallLost) {
  // A phone still in the call the crashed server set up; it expects a BYE
  // in the stored dialog.
  StartTrunk("bye.xml", {}, 1);
  AddMember("+447700900123");
  VerifiedCaller("+441632960001");
  const CallState call = ConnectOne(LiveCampaign());
  telephony::LegRecord leg;
  leg.call_id = "left-up-" + std::to_string(call.id.value());
  leg.local_tag = "stored-local-tag";
  leg.remote_tag = "stored-remote-tag";
  leg.local_uri = "sip:+441632960000@127.0.0.1";
  leg.remote_uri = "sip:+447700900123@127.0.0.1";
  leg.target = sipp_->uri();
  leg.cseq = 3;
  const crypto::Sealed sealed = env_.sealer_->Seal(leg.Encode(), "sip-leg");
  ASSERT_TRUE(Write([&](store::Tx& tx) {
                return tx
                    .Exec(
                        "INSERT INTO sip_legs (call_id, leg, key_id, sealed, created_at) "
                        "VALUES ($1, 'member', $2, $3, $4)",
                        {call.id.value(), static_cast<std::int64_t>(sealed.key_id),
                         store::Value::Bytes(sealed.bytes), clock_.Now()})
                    .status();
              }).ok());
  // Nothing in the clear: the stored leg does not show the number.
  EXPECT_EQ(sealed.bytes.find("7700900123"), std::string::npos);
  auto n = connector_->Reconcile(*env_.store_, clock_.Now());
  ASSERT_TRUE(n.has_value()) << n.status().ToString();
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(StatusOf(call.id).end, "lost");
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM sip_legs"), 0);
  // The BYE reached the phone in the stored dialog.
  EXPECT_EQ(sipp_->Wait(60), 0) << sipp_->output();
  {
    MutexLock lock(mu_);
    bool said = false;
    for (const std::string& line : log_)
      said |= line.find("unfinished at start-up") != std::string::npos;
    EXPECT_TRUE(said);
  }
  // A second start finds nothing more to do.
  EXPECT_EQ(connector_->Reconcile(*env_.store_, clock_.Now()).value_or(-1), 0);
}

TEST_P(SipConnectorTest, TheKillSwitchEndsEveryActiveCallAsKilled) {
  StartTrunk("trunk.xml",
             {"-set", "caller", "answer", "-set", "member", "noanswer", "-set", "hangup", "member",
              "-set", "challenge", "no"},
             2);
  AddMember("+447700900123");
  VerifiedCaller("+441632960001");
  const Campaign c = LiveCampaign();
  const CallState call = ConnectOne(c);
  auto n = connector_->EndCalls(*env_.store_, c.id, clock_.Now());
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(StatusOf(call.id).end, "killed");
  // Not dialled, so the trunk saw nothing; SIPp is stopped unfinished.
}

// The SIP requests in a SIPp -trace_msg log whose request line starts with
// `prefix`, each from there to the blank line before its body.
std::vector<std::string> Requests(const std::string& log, std::string_view prefix) {
  std::vector<std::string> out;
  const std::string start = "\n" + std::string(prefix);
  for (std::size_t at = log.find(start); at != std::string::npos; at = log.find(start, at + 1)) {
    // Lines end in CRLF as sent; the trace may have kept them or not.
    const std::size_t end = std::min(log.find("\r\n\r\n", at + 1), log.find("\n\n", at + 1));
    out.push_back(log.substr(at + 1, end == std::string::npos ? std::string::npos : end - at));
  }
  return out;
}

TEST_P(SipConnectorTest, BothLegsPresentTheCampaignsNumberAndTheMemberRingsForItsRingTime) {
  // The server's default ring time is five minutes; the campaign's is ten
  // seconds. Only the campaign's can end the call inside the wait below.
  StartTrunk("trunk.xml",
             {"-set", "caller", "answer", "-set", "member", "noanswer", "-set", "hangup", "member",
              "-set", "challenge", "no"},
             2, /*trace=*/true, /*member_ring_seconds=*/300);
  AddMember("+447700900123");
  VerifiedCaller("+441632960001");
  const Campaign c = LiveCampaign("+441632960007", 10);
  const CallState call = ConnectOne(c);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM calls WHERE caller_id_number = '+441632960007' AND "
                       "ring_seconds = 10"),
            1);
  const auto dialled = std::chrono::steady_clock::now();
  connector_->Dial(call.id);
  ASSERT_TRUE(WaitRecordedEnd(call.id));
  // Not before the member's phone had rung for the ring time.
  EXPECT_GE(std::chrono::steady_clock::now() - dialled, std::chrono::seconds(10));
  const CallState done = StatusOf(call.id);
  EXPECT_EQ(done.end, "no_answer");
  EXPECT_EQ(done.suggested, "no_answer");
  ASSERT_EQ(sipp_->Wait(60), 0) << sipp_->output();
  const std::string log = sipp_->message_log();
  int caller_leg = 0, member_leg = 0;
  for (const std::string& invite : Requests(log, "INVITE sip:+")) {
    (invite.find("7700900123") != std::string::npos ? member_leg : caller_leg) += 1;
    EXPECT_NE(invite.find("\nFrom: <sip:+441632960007@"), std::string::npos) << invite;
    EXPECT_NE(invite.find("\nP-Asserted-Identity: <sip:+441632960007@"), std::string::npos)
        << invite;
  }
  EXPECT_GE(caller_leg, 1);
  EXPECT_GE(member_leg, 1);
  // The member's phone was given up with a CANCEL; the default number never
  // went out on either leg.
  EXPECT_FALSE(Requests(log, "CANCEL sip:").empty()) << log;
  EXPECT_EQ(log.find("+441632960000"), std::string::npos);
}

TEST_P(SipConnectorTest, ACampaignWithoutALineOfItsOwnPresentsTheDefault) {
  StartTrunk("trunk.xml",
             {"-set", "caller", "answer", "-set", "member", "answer", "-set", "hangup", "member",
              "-set", "challenge", "no"},
             2, /*trace=*/true);
  AddMember("+447700900123");
  VerifiedCaller("+441632960001");
  const CallState call = ConnectOne(LiveCampaign());
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM calls WHERE caller_id_number IS NULL AND "
                       "ring_seconds IS NULL"),
            1);
  connector_->Dial(call.id);
  ASSERT_TRUE(WaitRecordedEnd(call.id));
  EXPECT_EQ(StatusOf(call.id).end, "completed");
  ASSERT_EQ(sipp_->Wait(60), 0) << sipp_->output();
  const std::vector<std::string> invites = Requests(sipp_->message_log(), "INVITE sip:+");
  EXPECT_GE(invites.size(), 2u);
  for (const std::string& invite : invites) {
    EXPECT_NE(invite.find("\nP-Asserted-Identity: <sip:+441632960000@"), std::string::npos)
        << invite;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, SipConnectorTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::phonebank
