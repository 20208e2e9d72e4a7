// Each phone bank operation and its audit event commit together or not at
// all (audit/testing/pairing.h), on both backends.
#include "phonebank/operations.h"

#include <gtest/gtest.h>

#include "access/store/access_store.h"
#include "audit/audit_log.h"
#include "audit/testing/pairing.h"
#include "core/testing/status_matchers.h"
#include "members/register.h"
#include "members/testing_env.h"
#include "store/testing/faulty_store.h"

namespace switchboard::phonebank {
namespace {

using audit::testing::ExpectPaired;
using audit::testing::Pairing;

class OperationsPairingTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    ASSERT_FALSE(HasFatalFailure());
    faulty_ = std::make_unique<store::testing::FaultyStore>(*env_.store_);
    policy_ = std::move(access::ParsePolicy(access::DefaultPolicyToml(), "policy").value());
    aldershot_ = env_.tree_.FindByCode("E14000530")->id;
    organiser_ = Account("organiser");
    caller_ = Account("caller.one");
    for (const char* ext : {"1", "2", "3"}) Member(ext);
    sandbox_ = std::make_unique<SandboxConnector>(*env_.sealer_);
    ops_ = std::make_unique<Operations>(policy_, env_.tree_, *env_.sealer_,
                                        *TimeZone::Find("Europe/London"), *sandbox_,
                                        NoCampaignHooks(), CallLimits{}, Line());
  }

  // The organisation's numbers ([telephony] caller_id and caller_ids).
  static CallerLine Line() { return {"+441632960000", {"+441632960001", "+12025550123"}, 30}; }

  Status Write(const store::TxFn& fn) { return env_.store_->Write(fn); }

  AccountId Account(const std::string& login) {
    AccountId id;
    EXPECT_OK(Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(id, access::CreateAccount(tx, {login, "T", MemberId(), false}, Now()));
      return Status::Ok();
    }));
    return id;
  }

  void Member(const std::string& ext) {
    members::MemberRecord r;
    r.source = "native";
    r.external_id = ext;
    r.unit = aldershot_;
    r.first_name = "First" + ext;
    r.last_name = "Last";
    r.status = "current";
    r.joined_on = 18000;
    r.consents = members::kConsentPhone;
    r.content_hash = "h" + ext;
    const std::string phone = "+447700900" + std::string(3 - ext.size(), '0') + ext;
    r.contacts.push_back({"phone", "mobile", env_.sealer_->Seal(phone, "phone"),
                          env_.sealer_->BlindIndex("phone", phone)});
    EXPECT_OK(
        Write([&](store::Tx& tx) { return members::UpsertMember(tx, r, Now(), "t").status(); }));
  }

  Micros Now() const { return clock_.Now(); }

  access::Acting Organiser() const {
    access::Acting a;
    a.account = organiser_;
    a.display_name = "Organiser";
    a.now = Now();
    a.request_id = "req-organiser";
    return a;
  }

  // The caller, under an allow for phonebank.call over Aldershot as the gate
  // would make it.
  access::Acting Caller() {
    grants_ = {access::Grant{access::GrantId(1), caller_, "caller", aldershot_, "p", Now() - 1,
                             Now() + kMicrosPerDay, organiser_, "r"}};
    access::Principal who{caller_, access::AccountState::kActive, false, true, grants_};
    decision_ = access::Decide(policy_, env_.tree_, who, "phonebank.call", {aldershot_}, Now());
    EXPECT_TRUE(decision_.allow) << decision_.deny_reason;
    access::Acting a;
    a.account = caller_;
    a.display_name = "Caller";
    a.decision = &decision_;
    a.now = Now();
    a.request_id = "req-caller";
    return a;
  }

  Campaign Draft() const {
    Campaign c;
    c.name = "Autumn calls";
    c.owner = organiser_;
    c.scope = aldershot_;
    c.purpose = "ask members about the branch AGM";
    c.script = "Hello {first name}...";
    c.survey = {{"agm", "Will you come to the AGM?", "yesno", {}}};
    c.starts_at = Now();
    c.ends_at = Now() + 14 * kMicrosPerDay;
    return c;
  }

  Campaign Stored(Campaign c, bool live) {
    EXPECT_OK(Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(c.id, InsertCampaign(tx, env_.tree_, c, Now()));
      if (!live) return Status::Ok();
      return SetState(tx, env_.tree_, c, CampaignState::kLive, Now()).status();
    }));
    if (live) c.state = CampaignState::kLive;
    return c;
  }

  NewInvite InviteTo(const Campaign& c) {
    NewInvite inv;
    EXPECT_OK(Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(inv, CreateInvite(tx, c, organiser_, "branch list", 0, 10, Now()));
      return Status::Ok();
    }));
    return inv;
  }

  // A live campaign the caller has joined.
  Campaign Joined() {
    Campaign c = Stored(Draft(), true);
    NewInvite inv = InviteTo(c);
    EXPECT_OK(Write([&](store::Tx& tx) {
      return Join(tx, env_.tree_, c, inv.invite, caller_, Now()).status();
    }));
    return c;
  }

  // A joined campaign in which the caller holds a lease.
  Campaign Leased() {
    Campaign c = Joined();
    EXPECT_OK(Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(NextResult n, phonebank::Next(tx, c, caller_, Now()));
      return n.lease ? Status::Ok() : Status::Internal("no lease");
    }));
    return c;
  }

  // The caller's own phone, registered and (if `verify`) verified.
  void Endpoint(bool verify) {
    EXPECT_OK(Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(
          EndpointVerification v,
          phonebank::RegisterEndpoint(tx, *env_.sealer_, caller_, "+447700900999", Now()));
      code_ = v.code;
      return verify ? phonebank::VerifyEndpoint(tx, caller_, v.code, Now()) : Status::Ok();
    }));
  }

  members::testing::RegisterEnv env_;
  std::unique_ptr<store::testing::FaultyStore> faulty_;
  ManualClock clock_{*ParseTimestamp("2026-03-02T10:00:00Z")};  // a Monday, calling hours
  access::Policy policy_;
  UnitId aldershot_;
  AccountId organiser_, caller_;
  std::vector<access::Grant> grants_;
  access::Decision decision_;
  std::string code_;
  std::unique_ptr<SandboxConnector> sandbox_;
  std::unique_ptr<Operations> ops_;
};

TEST_P(OperationsPairingTest, Create) {
  const Campaign draft = Draft();
  ExpectPaired(*faulty_, {"campaign.create",
                          "INSERT INTO campaigns",
                          {"SELECT COUNT(*) FROM campaigns"},
                          [&](store::Tx& tx) {
                            Campaign c = draft;
                            return ops_->Create(tx, Organiser(), c).status();
                          }});
}

TEST_P(OperationsPairingTest, Edit) {
  const Campaign c = Stored(Draft(), false);
  ExpectPaired(*faulty_, {"campaign.update",
                          "UPDATE campaigns",
                          {"SELECT version FROM campaigns WHERE id = " + c.id.ToString()},
                          [&](store::Tx& tx) {
                            Campaign after;
                            auto edit = [](Campaign& d) {
                              d.script = "Hello {first name}, about the AGM...";
                              return Status::Ok();
                            };
                            return ops_->Edit(tx, Organiser(), c.id, 0, edit, after).status();
                          }});
}

TEST_P(OperationsPairingTest, ChangeState) {
  const Campaign c = Stored(Draft(), false);
  ExpectPaired(
      *faulty_,
      {"campaign.live",
       "UPDATE campaigns SET state",
       {"SELECT COUNT(*) FROM campaigns WHERE state = 'live'",
        "SELECT COUNT(*) FROM campaign_targets"},
       [&](store::Tx& tx) {
         Campaign after;
         return ops_->ChangeState(tx, Organiser(), c.id, CampaignState::kLive, after).status();
       }});
}

TEST_P(OperationsPairingTest, Invite) {
  const Campaign c = Stored(Draft(), true);
  ExpectPaired(*faulty_,
               {"invite.create",
                "INSERT INTO campaign_invites",
                {"SELECT COUNT(*) FROM campaign_invites"},
                [&](store::Tx& tx) {
                  return ops_->Invite(tx, Organiser(), c.id, "branch list", 0, 5).status();
                }});
}

TEST_P(OperationsPairingTest, WithdrawInvite) {
  const Campaign c = Stored(Draft(), true);
  const NewInvite inv = InviteTo(c);
  ExpectPaired(*faulty_, {"invite.revoke",
                          "UPDATE campaign_invites SET revoked_at",
                          {"SELECT COUNT(*) FROM campaign_invites WHERE revoked_at IS NOT NULL"},
                          [&](store::Tx& tx) {
                            return ops_->WithdrawInvite(tx, Organiser(), c.id, inv.invite.id);
                          }});
}

TEST_P(OperationsPairingTest, JoinByLink) {
  const Campaign c = Stored(Draft(), true);
  const NewInvite inv = InviteTo(c);
  access::Acting who;
  who.account = caller_;
  who.now = Now();
  ExpectPaired(*faulty_, {"campaign.join",
                          "INSERT INTO campaign_callers",
                          {"SELECT COUNT(*) FROM campaign_callers", "SELECT COUNT(*) FROM grants",
                           "SELECT joins FROM campaign_invites"},
                          [&](store::Tx& tx) {
                            Campaign joined;
                            return ops_->JoinByLink(tx, who, inv.token, joined).status();
                          }});
}

TEST_P(OperationsPairingTest, Next) {
  const Campaign c = Joined();
  const access::Acting who = Caller();
  ExpectPaired(*faulty_, {"phonebank.next",
                          "INSERT INTO calls",
                          {"SELECT COUNT(*) FROM calls",
                           "SELECT COUNT(*) FROM campaign_targets WHERE leased_by IS NOT NULL"},
                          [&](store::Tx& tx) { return ops_->Next(tx, who, c.id).status(); }});
}

TEST_P(OperationsPairingTest, Connect) {
  const Campaign c = Leased();
  Endpoint(/*verify=*/true);
  access::Acting who;
  who.account = caller_;
  who.now = Now();
  ExpectPaired(*faulty_, {"phonebank.connect",
                          "UPDATE calls SET connector",
                          {"SELECT COUNT(*) FROM calls WHERE state = 'calling_you'"},
                          [&](store::Tx& tx) { return ops_->Connect(tx, who, c.id).status(); }});
}

// The canary check (OutboundCall) runs in Connect's transaction with the
// leased member and the blind index of the number dialled: what it writes
// commits with the call, and its error refuses the call.
TEST_P(OperationsPairingTest, ConnectRunsTheCanaryCheckWithTheCall) {
  const Campaign c = Leased();
  Endpoint(/*verify=*/true);
  access::Acting who;
  who.account = caller_;
  who.now = Now();
  who.request_id = "req-call";
  std::vector<std::pair<std::int64_t, std::string>> seen;
  bool refuse = true;
  ops_->SetCanaryCheck([&](store::Tx& tx, const OutboundCall& call) -> Status {
    seen.emplace_back(call.member.value(), std::string(call.phone_index));
    EXPECT_EQ(call.request_id, "req-call");
    if (refuse) return Status::PermissionDenied("refused by the check");
    audit::Event e;
    e.at = call.now;
    e.action = "test.canary_check";
    e.members = {call.member.value()};
    return audit::AuditLog::Append(tx, e).status();
  });
  const std::string calling = "SELECT COUNT(*) FROM calls WHERE state = 'calling_you'";
  const std::int64_t calls = env_.Count(calling);
  Status st = Write([&](store::Tx& tx) { return ops_->Connect(tx, who, c.id).status(); });
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(env_.Count(calling), calls);
  EXPECT_EQ(audit::testing::EventsOf(*env_.store_, "phonebank.connect"), 0);
  refuse = false;
  EXPECT_OK(Write([&](store::Tx& tx) { return ops_->Connect(tx, who, c.id).status(); }));
  EXPECT_EQ(env_.Count(calling), calls + 1);
  EXPECT_EQ(audit::testing::EventsOf(*env_.store_, "test.canary_check"), 1);
  ASSERT_FALSE(seen.empty());
  // The leased member, by the blind index of the phone the sandbox dials.
  const std::int64_t leased =
      env_.Count("SELECT member_id FROM campaign_targets WHERE leased_by = " + caller_.ToString());
  EXPECT_EQ(seen.back().first, leased);
  std::string index;
  EXPECT_OK(env_.store_->Read([&](store::Tx& tx) {
    return tx.Query(
        "SELECT blind_index FROM contact_points WHERE member_id = $1 AND kind = 'phone'", {leased},
        [&](const store::Row& r) {
          index = std::string(r.Bytes(0));
          return false;
        });
  }));
  EXPECT_FALSE(index.empty());
  EXPECT_EQ(seen.back().second, index);
}

TEST_P(OperationsPairingTest, Hangup) {
  const Campaign c = Leased();
  Endpoint(/*verify=*/true);
  access::Acting who;
  who.account = caller_;
  who.now = Now();
  CallState connected;
  ASSERT_OK(Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(connected, ops_->Connect(tx, who, c.id));
    return Status::Ok();
  }));
  ExpectPaired(*faulty_,
               {"phonebank.hangup",
                "UPDATE calls SET state = 'ended'",
                {"SELECT COUNT(*) FROM calls WHERE state = 'ended'"},
                [&](store::Tx& tx) { return ops_->Hangup(tx, who, c.id, connected.id).status(); }});
}

TEST_P(OperationsPairingTest, Outcome) {
  const Campaign c = Leased();
  access::Acting who;
  who.account = caller_;
  who.now = Now();
  ExpectPaired(
      *faulty_,
      {"phonebank.outcome",
       "UPDATE calls SET outcome",
       {"SELECT COUNT(*) FROM calls WHERE outcome IS NOT NULL", "SELECT COUNT(*) FROM contact_log",
        "SELECT COUNT(*) FROM campaign_targets WHERE leased_by IS NOT NULL"},
       [&](store::Tx& tx) { return ops_->Outcome(tx, who, c.id, "no_answer", ""); }});
}

TEST_P(OperationsPairingTest, ExportResults) {
  const Campaign c = Leased();
  access::Acting who = Organiser();
  ASSERT_OK(Write([&](store::Tx& tx) {
    return RecordOutcome(tx, c, caller_, "answered", R"({"agm": true})", Now()).status();
  }));
  std::string csv;
  ExpectPaired(*faulty_, {"campaign.results_export",
                          "SELECT outcome, recorded_at FROM calls",
                          {},
                          [&](store::Tx& tx) -> Status {
                            SB_ASSIGN_OR_RETURN(csv, ops_->ExportResults(tx, who, c.id));
                            return Status::Ok();
                          }});
  EXPECT_NE(csv.find("survey,agm,Will you come to the AGM?,campaign,Autumn calls,yes,1,100.0,1"),
            std::string::npos)
      << csv;
}

TEST_P(OperationsPairingTest, RegisterEndpoint) {
  access::Acting who;
  who.account = caller_;
  who.now = Now();
  ExpectPaired(*faulty_, {"endpoint.register",
                          "INSERT INTO caller_endpoints",
                          {"SELECT COUNT(*) FROM caller_endpoints"},
                          [&](store::Tx& tx) {
                            return ops_->RegisterEndpoint(tx, who, "+447700900999").status();
                          }});
}

TEST_P(OperationsPairingTest, VerifyEndpoint) {
  Endpoint(/*verify=*/false);
  access::Acting who;
  who.account = caller_;
  who.now = Now();
  ExpectPaired(*faulty_,
               {"endpoint.verify",
                "UPDATE caller_endpoints SET verified_at",
                {"SELECT COUNT(*) FROM caller_endpoints WHERE verified_at IS NOT NULL"},
                [&](store::Tx& tx) { return ops_->VerifyEndpoint(tx, who, code_).status(); }});
}

TEST_P(OperationsPairingTest, KeypadCheckOfAPhoneCode) {
  // The SIP connector's writer checks keys this way, with no request.
  Endpoint(/*verify=*/false);
  access::Acting who;
  who.account = caller_;
  who.now = Now();
  ExpectPaired(
      *faulty_,
      {"endpoint.verify",
       "UPDATE caller_endpoints SET verified_at",
       {"SELECT COUNT(*) FROM caller_endpoints WHERE verified_at IS NOT NULL"},
       [&](store::Tx& tx) {
         return CheckEndpointCode(tx, ops_->endpoint_rules(), who, code_, "keypad").status();
       }});
}

// Phone codes: wrong ones count towards the [login] throttle, under a
// subject of their own; a locked phone is refused even the right code; a
// code expires; every attempt is an audit event; typed or keyed alike.
class EndpointRulesTest : public OperationsPairingTest {
 protected:
  EndpointCheck Try(std::string_view code, std::string_view way = "typed") {
    access::Acting who;
    who.account = caller_;
    who.now = Now();
    EndpointCheck out;
    EXPECT_OK(Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(out, CheckEndpointCode(tx, ops_->endpoint_rules(), who, code, way));
      return Status::Ok();
    }));
    return out;
  }
  std::int64_t Events(std::string_view decision, std::string_view rule) {
    std::int64_t n = -1;
    EXPECT_OK(env_.store_->Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(n, tx.QueryInt("SELECT COUNT(*) FROM audit_events WHERE action = "
                                         "'endpoint.verify' AND decision = $1 AND rule = $2 AND "
                                         "actor = $3",
                                         {decision, rule, caller_.value()}));
      return Status::Ok();
    }));
    return n;
  }
  bool Verified() {
    bool v = false;
    EXPECT_OK(env_.store_->Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(v, EndpointVerified(tx, caller_));
      return Status::Ok();
    }));
    return v;
  }
  // A code that is not `code_`.
  std::string Wrong() const { return code_ == "111111" ? "222222" : "111111"; }
};

TEST_P(EndpointRulesTest, WrongCodesCountUntilTheThrottleLocks) {
  Endpoint(/*verify=*/false);
  const int limit = policy_.login_max_failures_per_account;
  ASSERT_GE(limit, 2);
  for (int i = 1; i < limit; ++i) {
    EXPECT_EQ(Try(Wrong(), "keypad").answer, EndpointAnswer::kWrong) << "attempt " << i;
  }
  const EndpointCheck locked = Try(Wrong(), "keypad");
  EXPECT_EQ(locked.answer, EndpointAnswer::kThrottled);
  EXPECT_EQ(locked.retry_at, Now() + policy_.login_lock_minutes * 60 * kMicrosPerSecond);
  EXPECT_EQ(Events("deny", "endpoint.keypad.wrong"), limit);
  // Locked: even the right code is refused, unchecked.
  EXPECT_EQ(Try(code_).answer, EndpointAnswer::kThrottled);
  EXPECT_EQ(Events("deny", "endpoint.typed.throttled"), 1);
  EXPECT_FALSE(Verified());
  // Signing in is not what was throttled.
  std::int64_t account_rows = -1;
  EXPECT_OK(env_.store_->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(account_rows,
                        tx.QueryInt("SELECT COUNT(*) FROM login_throttle WHERE subject = $1",
                                    {"account:" + caller_.ToString()}));
    return Status::Ok();
  }));
  EXPECT_EQ(account_rows, 0);
}

TEST_P(EndpointRulesTest, TheRightCodeVerifiesAndClearsTheCount) {
  Endpoint(/*verify=*/false);
  EXPECT_EQ(Try(Wrong()).answer, EndpointAnswer::kWrong);
  const EndpointCheck ok = Try(code_, "keypad");
  EXPECT_TRUE(ok.verified());
  EXPECT_TRUE(Verified());
  EXPECT_EQ(Events("allow", "endpoint.keypad"), 1);
  EXPECT_EQ(Events("deny", "endpoint.typed.wrong"), 1);
  std::int64_t throttles = -1;
  EXPECT_OK(env_.store_->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(throttles,
                        tx.QueryInt("SELECT COUNT(*) FROM login_throttle WHERE subject = $1",
                                    {"endpoint:" + caller_.ToString()}));
    return Status::Ok();
  }));
  EXPECT_EQ(throttles, 0);
  // Once verified there is no code left to try.
  EXPECT_EQ(Try(code_).answer, EndpointAnswer::kNotRegistered);
}

TEST_P(EndpointRulesTest, ACodeExpires) {
  Endpoint(/*verify=*/false);
  clock_.Advance(kEndpointCodeMinutes * 60 * kMicrosPerSecond - 1);
  EXPECT_EQ(Try(Wrong()).answer, EndpointAnswer::kWrong) << "still in time";
  clock_.Advance(1);
  const EndpointCheck late = Try(code_, "keypad");
  EXPECT_EQ(late.answer, EndpointAnswer::kExpired);
  EXPECT_NE(late.message.find("expired"), std::string::npos);
  EXPECT_EQ(Events("deny", "endpoint.keypad.expired"), 1);
  EXPECT_FALSE(Verified());
  // Registering again gives a fresh code that works.
  Endpoint(/*verify=*/false);
  EXPECT_TRUE(Try(code_).verified());
}

TEST_P(EndpointRulesTest, NoPhoneNoCode) {
  EXPECT_EQ(Try("123456").answer, EndpointAnswer::kNotRegistered);
  EXPECT_EQ(Events("deny", "endpoint.typed.not_registered"), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, EndpointRulesTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST_P(OperationsPairingTest, EditCallerIdAndRingTimeWhileLive) {
  const Campaign c = Stored(Draft(), true);
  ExpectPaired(*faulty_,
               {"campaign.live_edit",
                "UPDATE campaigns",
                {"SELECT COUNT(*) FROM campaigns WHERE caller_id_number = '+441632960001'",
                 "SELECT COALESCE(ring_seconds, 0) FROM campaigns"},
                [&](store::Tx& tx) {
                  Campaign after;
                  auto edit = [](Campaign& d) {
                    d.caller_id_number = "+441632960001";
                    d.ring_seconds = 25;
                    return Status::Ok();
                  };
                  return ops_->Edit(tx, Organiser(), c.id, 0, edit, after).status();
                }});
  // The event names what changed, never the number.
  std::string rule;
  ASSERT_OK(Write([&](store::Tx& tx) {
    return tx.Query("SELECT rule FROM audit_events WHERE action = 'campaign.live_edit'", {},
                    [&](const store::Row& r) {
                      rule = r.TextOr(0);
                      return false;
                    });
  }));
  EXPECT_EQ(rule, "edit.v2:caller_id_number:ring_seconds");
  Campaign stored;
  ASSERT_OK(Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(stored, GetCampaign(tx, env_.tree_, c.id));
    return Status::Ok();
  }));
  EXPECT_EQ(stored.caller_id_number, "+441632960001");
  EXPECT_EQ(stored.ring_seconds, 25);
}

TEST_P(OperationsPairingTest, CreateWithACallerIdOfTheOrganisations) {
  Campaign draft = Draft();
  draft.caller_id_number = "+12025550123";
  draft.ring_seconds = 60;
  ExpectPaired(*faulty_, {"campaign.create",
                          "INSERT INTO campaigns",
                          {"SELECT COUNT(*) FROM campaigns WHERE ring_seconds = 60"},
                          [&](store::Tx& tx) {
                            Campaign c = draft;
                            return ops_->Create(tx, Organiser(), c).status();
                          }});
}

TEST_P(OperationsPairingTest, ACampaignCannotPresentANumberThatIsNotTheOrganisations) {
  const Campaign c = Stored(Draft(), false);
  struct Bad {
    std::string number;
    int ring;
    std::string says;
  };
  for (const Bad& bad : std::vector<Bad>{
           {"+441632960999", 0, "caller_id_number: not one of the organisation's numbers"},
           {"01632 960001", 0, "caller_id_number: must be in E.164 form"},
           {"+442079", 0, "caller_id_number: "},
           {"not a number", 0, "caller_id_number: "},
           {"", 9, "ring_seconds: 10 to 60 seconds"},
           {"", 61, "ring_seconds: 10 to 60 seconds"},
           {"", -1, "ring_seconds: 10 to 60 seconds"},
       }) {
    Status st = Write([&](store::Tx& tx) {
      Campaign after;
      auto edit = [&](Campaign& d) {
        d.caller_id_number = bad.number;
        d.ring_seconds = bad.ring;
        return Status::Ok();
      };
      return ops_->Edit(tx, Organiser(), c.id, 0, edit, after).status();
    });
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad.number << " " << bad.ring;
    EXPECT_NE(st.message().find(bad.says), std::string::npos) << st.message();
    // The message never repeats what was typed.
    if (!bad.number.empty()) {
      EXPECT_EQ(st.message().find(bad.number), std::string::npos);
    }
  }
  // Nothing was stored, nothing audited.
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM campaigns WHERE caller_id_number IS NOT NULL OR "
                       "ring_seconds IS NOT NULL"),
            0);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM audit_events WHERE action = 'campaign.update'"), 0);
  // An organisation that lists no numbers lets campaigns use the default only.
  Operations bare(policy_, env_.tree_, *env_.sealer_, *TimeZone::Find("Europe/London"), *sandbox_);
  Campaign d = Draft();
  d.caller_id_number = "+441632960000";
  const Status st = Write([&](store::Tx& tx) { return bare.Create(tx, Organiser(), d).status(); });
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("lists no numbers"), std::string::npos) << st.message();
}

TEST_P(OperationsPairingTest, ParseCallerIdNumberReadsWhatOrganisersType) {
  EXPECT_EQ(ParseCallerIdNumber("01632 960001").value_or(""), "+441632960001");
  EXPECT_EQ(ParseCallerIdNumber("+1 202 555 0123").value_or(""), "+12025550123");
  for (const char* bad : {"", "0163", "+999 1234 5678", "01632 960001 ext 4", "call me"}) {
    auto r = ParseCallerIdNumber(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.error().message().rfind("caller_id_number: ", 0), 0u) << r.error().message();
  }
}

TEST_P(OperationsPairingTest, ConnectRecordsTheCampaignsLineOnTheCall) {
  Campaign c = Leased();
  Endpoint(/*verify=*/true);
  ASSERT_OK(Write([&](store::Tx& tx) -> Status {
    Campaign after;
    auto edit = [](Campaign& d) {
      d.caller_id_number = "+441632960001";
      d.ring_seconds = 15;
      return Status::Ok();
    };
    return ops_->Edit(tx, Organiser(), c.id, 0, edit, after).status();
  }));
  access::Acting who;
  who.account = caller_;
  who.now = Now();
  ASSERT_OK(Write([&](store::Tx& tx) { return ops_->Connect(tx, who, c.id).status(); }));
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM calls WHERE state = 'calling_you' AND "
                       "caller_id_number = '+441632960001' AND ring_seconds = 15"),
            1);
}

TEST_P(OperationsPairingTest, ANumberTakenOffTheOrganisationsListIsNotPresented) {
  Campaign c = Leased();
  Endpoint(/*verify=*/true);
  ASSERT_OK(Write([&](store::Tx& tx) -> Status {
    Campaign after;
    auto edit = [](Campaign& d) {
      d.caller_id_number = "+12025550123";
      return Status::Ok();
    };
    return ops_->Edit(tx, Organiser(), c.id, 0, edit, after).status();
  }));
  // The server restarts with a [telephony] that no longer lists it.
  Operations later(policy_, env_.tree_, *env_.sealer_, *TimeZone::Find("Europe/London"), *sandbox_,
                   NoCampaignHooks(), CallLimits{},
                   CallerLine{"+441632960000", {"+441632960001"}, 30});
  access::Acting who;
  who.account = caller_;
  who.now = Now();
  const Status st = Write([&](store::Tx& tx) { return later.Connect(tx, who, c.id).status(); });
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("no longer one of the organisation's numbers"), std::string::npos)
      << st.message();
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM calls WHERE state = 'calling_you'"), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, OperationsPairingTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace switchboard::phonebank
