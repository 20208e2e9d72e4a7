#include "phonebank/phonebank.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "access/store/access_store.h"
#include "members/register.h"
#include "members/testing_env.h"
#include "phonebank/connector.h"

namespace switchboard::phonebank {
namespace {

class PhonebankTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
    env_.SetUp(GetParam());
    policy_ = std::move(access::ParsePolicy(access::DefaultPolicyToml(), "policy").value());
    aldershot_ = env_.tree_.FindByCode("E14000530")->id;
    aldridge_ = env_.tree_.FindByCode("E14000531")->id;
    organiser_ = Account("organiser");
    caller_ = Account("caller.one");
  }

  AccountId Account(const std::string& login, MemberId member = MemberId()) {
    AccountId id;
    EXPECT_TRUE(Write([&](store::Tx& tx) -> Status {
                  SB_ASSIGN_OR_RETURN(
                      id, access::CreateAccount(tx, {login, "T", member, false}, clock_.Now()));
                  return Status::Ok();
                }).ok());
    return id;
  }

  MemberId Member(const std::string& ext, UnitId unit, std::uint32_t consents,
                  std::uint32_t suppressions = 0, const std::string& status = "current",
                  const std::string& phone = "") {
    members::MemberRecord r;
    r.source = "native";
    r.external_id = ext;
    r.unit = unit;
    r.first_name = "First" + ext;
    r.last_name = "Last";
    r.status = status;
    r.joined_on = 18000;
    r.consents = consents;
    r.suppressions = suppressions;
    r.content_hash = "h" + ext;
    const std::string p =
        phone.empty() ? "+447700900" + std::string(3 - ext.size(), '0') + ext : phone;
    r.contacts.push_back(
        {"phone", "mobile", env_.sealer_->Seal(p, "phone"), env_.sealer_->BlindIndex("phone", p)});
    MemberId id;
    EXPECT_TRUE(Write([&](store::Tx& tx) -> Status {
                  SB_ASSIGN_OR_RETURN(auto up, members::UpsertMember(tx, r, clock_.Now(), "t"));
                  id = up.id;
                  return Status::Ok();
                }).ok());
    return id;
  }

  Status Write(const std::function<Status(store::Tx&)>& f) { return env_.store_->Write(f); }

  // An allow for phonebank.call over Aldershot, as the API would make it.
  access::Decision CallerDecision() {
    grants_ = {access::Grant{access::GrantId(1), caller_, "caller", aldershot_, "p",
                             clock_.Now() - 1, clock_.Now() + kMicrosPerDay, organiser_, "r"}};
    access::Principal who{caller_, access::AccountState::kActive, false, true, grants_};
    return access::Decide(policy_, env_.tree_, who, "phonebank.call", {aldershot_}, clock_.Now());
  }
  std::vector<access::Grant> grants_;

  Campaign Draft() {
    Campaign c;
    c.name = "Autumn calls";
    c.owner = organiser_;
    c.scope = aldershot_;
    c.purpose = "ask members about the branch AGM";
    c.script = "Hello {first name}...";
    c.survey = {{"agm", "Will you come to the AGM?", "yesno", {}},
                {"topic", "Which topic matters most?", "choice", {"housing", "transport"}}};
    c.starts_at = clock_.Now();
    c.ends_at = clock_.Now() + 14 * kMicrosPerDay;
    return c;
  }

  Campaign Live(Campaign c) {
    EXPECT_TRUE(Write([&](store::Tx& tx) -> Status {
                  SB_ASSIGN_OR_RETURN(c.id, InsertCampaign(tx, c, clock_.Now()));
                  return SetState(tx, env_.tree_, c, CampaignState::kLive, clock_.Now()).status();
                }).ok());
    c.state = CampaignState::kLive;
    return c;
  }

  Result<NextResult> NextFor(const Campaign& c, AccountId who) {
    Result<NextResult> out = Status::Internal("not run");
    Status st = Write([&](store::Tx& tx) -> Status {
      out = Next(tx, c, who, clock_.Now());
      return out.status();
    });
    if (!st.ok()) return st;
    return out;
  }

  Result<MemberId> Outcome(const Campaign& c, AccountId who, const std::string& outcome,
                           const std::string& answers = "") {
    Result<MemberId> out = Status::Internal("not run");
    Status st = Write([&](store::Tx& tx) -> Status {
      out = RecordOutcome(tx, c, who, outcome, answers, clock_.Now());
      return out.status();
    });
    if (!st.ok()) return st;
    return out;
  }

  members::testing::RegisterEnv env_;
  ManualClock clock_{*ParseTimestamp("2026-03-02T10:00:00Z")};
  access::Policy policy_;
  UnitId aldershot_, aldridge_;
  AccountId organiser_, caller_;
};

TEST_P(PhonebankTest, ValidationNamesTheField) {
  Campaign c = Draft();
  EXPECT_TRUE(Validate(c, policy_, env_.tree_).ok());
  Campaign long_window = c;
  long_window.ends_at = c.starts_at + 100 * kMicrosPerDay;
  auto st = Validate(long_window, policy_, env_.tree_);
  EXPECT_NE(st.message().find("ends_at"), std::string::npos) << st.message();
  Campaign late = c;
  late.calling_end = 23 * 60;
  EXPECT_NE(Validate(late, policy_, env_.tree_).message().find("calling_hours"), std::string::npos);
  Campaign email = c;
  email.fields = {"first_name", "email"};
  EXPECT_NE(Validate(email, policy_, env_.tree_).message().find("fields"), std::string::npos);
  Campaign outside = c;
  outside.audience.units = {aldridge_};
  EXPECT_NE(Validate(outside, policy_, env_.tree_).message().find("audience.units"),
            std::string::npos);
}

TEST_P(PhonebankTest, GoingLiveFixesTheCallableAudience) {
  const MemberId ok = Member("1", aldershot_, members::kConsentPhone);
  Member("2", aldershot_, 0);                                               // no consent
  Member("3", aldershot_, members::kConsentPhone, members::kDoNotContact);  // suppressed
  Member("4", aldershot_, members::kConsentPhone, 0, "lapsed");             // not current
  Member("5", aldridge_, members::kConsentPhone);                           // outside
  const MemberId canary = Member("6", aldershot_, members::kConsentPhone);
  ASSERT_TRUE(Write([&](store::Tx& tx) {
                return members::PlantCanary(tx, canary, clock_.Now(), "t");
              }).ok());
  Campaign c = Draft();
  std::int64_t count = -1;
  ASSERT_TRUE(Write([&](store::Tx& tx) -> Status {
                SB_ASSIGN_OR_RETURN(
                    count, CountAudience(tx, env_.tree_, c.scope, c.audience, clock_.Now()));
                return Status::Ok();
              }).ok());
  EXPECT_EQ(count, 1);
  c = Live(c);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM campaign_targets"), 1);
  auto n = NextFor(c, caller_);
  ASSERT_TRUE(n) << n.error().ToString();
  ASSERT_TRUE(n->lease);
  EXPECT_EQ(n->lease->member, ok);
}

TEST_P(PhonebankTest, OneLeasePerCallerAndNeverTheSameMemberTwice) {
  for (int i = 0; i < 5; ++i) Member(std::to_string(10 + i), aldershot_, members::kConsentPhone);
  Campaign c = Live(Draft());
  const AccountId other = Account("caller.two");
  auto a = NextFor(c, caller_);
  auto again = NextFor(c, caller_);
  auto b = NextFor(c, other);
  ASSERT_TRUE(a && again && b);
  EXPECT_EQ(a->lease->member, again->lease->member);
  EXPECT_TRUE(again->lease->renewed);
  EXPECT_NE(a->lease->member, b->lease->member);
  // A lease that expires goes back to the pool.
  clock_.Advance(kLeaseMicros + kMicrosPerSecond);
  const AccountId third = Account("caller.three");
  std::set<std::int64_t> seen;
  for (int i = 0; i < 3; ++i) {
    auto n = NextFor(c, third);
    ASSERT_TRUE(n && n->lease);
    seen.insert(n->lease->member.value());
    ASSERT_TRUE(Outcome(c, third, "answered").has_value());
    clock_.Advance(20 * kMicrosPerSecond);
  }
  EXPECT_TRUE(seen.count(a->lease->member.value()) || seen.count(b->lease->member.value()));
}

TEST_P(PhonebankTest, PaceAllowsABurstThenOneEveryInterval) {
  for (int i = 0; i < 10; ++i) Member(std::to_string(20 + i), aldershot_, members::kConsentPhone);
  Campaign c = Live(Draft());
  for (int i = 0; i < c.pace.burst; ++i) {
    auto n = NextFor(c, caller_);
    ASSERT_TRUE(n && n->lease) << i;
    ASSERT_TRUE(Outcome(c, caller_, "no_answer").has_value());
  }
  auto limited = NextFor(c, caller_);
  ASSERT_TRUE(limited);
  EXPECT_FALSE(limited->lease);
  EXPECT_EQ(limited->pace_limit, "burst");
  EXPECT_EQ(limited->retry_at,
            clock_.Now() + c.pace.burst * c.pace.interval_seconds * kMicrosPerSecond);
  clock_.Set(limited->retry_at);
  auto after = NextFor(c, caller_);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->lease);
}

TEST_P(PhonebankTest, OutcomesDriveRecallAndSuppression) {
  const MemberId m = Member("40", aldershot_, members::kConsentPhone);
  Campaign c = Draft();
  c.max_passes = 2;
  c = Live(c);
  Campaign other = Live(Draft());
  ASSERT_TRUE(NextFor(c, caller_)->lease);
  auto bad = Outcome(c, caller_, "answered", R"({"agm": "maybe"})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("answers.agm"), std::string::npos);
  ASSERT_TRUE(Outcome(c, caller_, "no_answer").has_value());
  // Not due again until the recall interval has passed.
  clock_.Advance(60 * kMicrosPerSecond);
  EXPECT_FALSE(NextFor(c, caller_)->lease);
  clock_.Advance(c.recall_minutes * 60 * kMicrosPerSecond);
  auto due = NextFor(c, caller_);
  ASSERT_TRUE(due && due->lease);
  EXPECT_EQ(due->lease->member, m);
  // "Do not call again" suppresses phone contact in every campaign at once.
  ASSERT_TRUE(Outcome(c, caller_, "do_not_call").has_value());
  clock_.Advance(kMicrosPerDay);
  auto elsewhere = NextFor(other, caller_);
  ASSERT_TRUE(elsewhere);
  EXPECT_FALSE(elsewhere->lease);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM suppression_events WHERE source LIKE 'phonebank:%'"),
            1);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM contact_log"), 2);
}

TEST_P(PhonebankTest, SharedNumbersSayWhomToAskFor) {
  const MemberId a =
      Member("50", aldershot_, members::kConsentPhone, 0, "current", "+447700900555");
  Member("51", aldershot_, 0, 0, "current", "+447700900555");
  Campaign c = Live(Draft());
  Contact contact;
  ASSERT_TRUE(Write([&](store::Tx& tx) -> Status {
                SB_ASSIGN_OR_RETURN(
                    contact, ContactFor(tx, CallerDecision(), env_.tree_, c, a, clock_.Now()));
                return Status::Ok();
              }).ok());
  EXPECT_EQ(contact.first_name, "First50");
  EXPECT_EQ(contact.ask_for, "First50");
  // Without an allow for phonebank.call there is nothing to read.
  access::Decision deny;
  EXPECT_EQ(Write([&](store::Tx& tx) {
              return ContactFor(tx, deny, env_.tree_, c, a, clock_.Now()).status();
            }).code(),
            StatusCode::kPermissionDenied);
}

TEST_P(PhonebankTest, InvitationsGrantUntilTheCampaignEndsAndNoLonger) {
  Member("60", aldershot_, members::kConsentPhone);
  Campaign c = Live(Draft());
  NewInvite inv;
  ASSERT_TRUE(Write([&](store::Tx& tx) -> Status {
                SB_ASSIGN_OR_RETURN(
                    inv, CreateInvite(tx, c, organiser_, "branch WhatsApp", 0, 2, clock_.Now()));
                return Status::Ok();
              }).ok());
  EXPECT_EQ(inv.invite.expires_at, c.ends_at);
  auto join = [&](AccountId who) -> Result<JoinResult> {
    Result<JoinResult> out = Status::Internal("not run");
    Status st = Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(Invite i, FindInvite(tx, inv.token));
      out = Join(tx, env_.tree_, c, i, who, clock_.Now());
      return out.status();
    });
    if (!st.ok()) return st;
    return out;
  };
  auto j = join(caller_);
  ASSERT_TRUE(j) << j.error().ToString();
  access::Grant g;
  ASSERT_TRUE(Write([&](store::Tx& tx) -> Status {
                SB_ASSIGN_OR_RETURN(g, access::GetGrant(tx, j->grant));
                return Status::Ok();
              }).ok());
  EXPECT_EQ(g.source, "campaign:" + c.id.ToString());
  EXPECT_EQ(g.source_end, c.ends_at);
  EXPECT_EQ(g.role, "caller");
  EXPECT_TRUE(join(caller_)->already);
  ASSERT_TRUE(join(Account("caller.two")));
  auto full = join(Account("caller.three"));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code(), StatusCode::kFailedPrecondition);

  // After the end: the link, the grant and calling all stop, with no job run.
  clock_.Set(c.ends_at + kMicrosPerDay);
  auto late = join(Account("caller.four"));
  ASSERT_FALSE(late);
  EXPECT_NE(late.error().message().find("ended on"), std::string::npos);
  EXPECT_FALSE(access::GrantInForce(g, clock_.Now()));
  Status open = CallingOpen(c, clock_.Now());
  EXPECT_NE(open.message().find(FormatTimestamp(c.ends_at)), std::string::npos);
}

TEST_P(PhonebankTest, KillEndsGrantsAndLeasesAtOnce) {
  Member("70", aldershot_, members::kConsentPhone);
  Campaign c = Live(Draft());
  NewInvite inv;
  JoinResult j;
  ASSERT_TRUE(Write([&](store::Tx& tx) -> Status {
                SB_ASSIGN_OR_RETURN(inv, CreateInvite(tx, c, organiser_, "x", 0, 5, clock_.Now()));
                SB_ASSIGN_OR_RETURN(j, Join(tx, env_.tree_, c, inv.invite, caller_, clock_.Now()));
                return Status::Ok();
              }).ok());
  ASSERT_TRUE(NextFor(c, caller_)->lease);
  clock_.Advance(kMicrosPerSecond);
  ASSERT_TRUE(Write([&](store::Tx& tx) {
                return SetState(tx, env_.tree_, c, CampaignState::kKilled, clock_.Now()).status();
              }).ok());
  access::Grant g;
  ASSERT_TRUE(Write([&](store::Tx& tx) -> Status {
                SB_ASSIGN_OR_RETURN(g, access::GetGrant(tx, j.grant));
                return Status::Ok();
              }).ok());
  EXPECT_FALSE(access::GrantInForce(g, clock_.Now()));
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM campaign_targets WHERE leased_by IS NOT NULL"), 0);
  EXPECT_FALSE(CallingOpen(c, clock_.Now()).ok());
}

TEST_P(PhonebankTest, MembersOnlyCampaignsCheckEligibility) {
  const MemberId m = Member("80", aldershot_, 0);
  const AccountId member_account = Account("member.caller", m);
  Campaign c = Draft();
  c.eligibility.members_in_scope_only = true;
  c = Live(c);
  NewInvite inv;
  ASSERT_TRUE(Write([&](store::Tx& tx) -> Status {
                SB_ASSIGN_OR_RETURN(inv, CreateInvite(tx, c, organiser_, "x", 0, 5, clock_.Now()));
                return Status::Ok();
              }).ok());
  Status outsider = Write([&](store::Tx& tx) {
    return CheckJoin(tx, env_.tree_, c, inv.invite, caller_, clock_.Now());
  });
  EXPECT_EQ(outsider.code(), StatusCode::kPermissionDenied);
  Status member = Write([&](store::Tx& tx) {
    return CheckJoin(tx, env_.tree_, c, inv.invite, member_account, clock_.Now());
  });
  EXPECT_TRUE(member.ok()) << member.ToString();
}

TEST_P(PhonebankTest, AThousandCallersAskingAtOnceNeverShareAMember) {
  constexpr int kCallers = 1000;
  for (int i = 0; i < 1200; ++i) {
    Member(std::to_string(100 + i).substr(0, 3) + std::to_string(i), aldershot_,
           members::kConsentPhone, 0, "current", "+447700900" + std::to_string(100 + i % 900));
  }
  Campaign c = Live(Draft());
  std::vector<AccountId> callers;
  for (int i = 0; i < kCallers; ++i) callers.push_back(Account("bulk.caller" + std::to_string(i)));
  std::vector<std::future<Status>> futures;
  std::vector<MemberId> got(kCallers);
  for (int i = 0; i < kCallers; ++i) {
    futures.push_back(env_.store_->WriteAsync([&, i](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(NextResult n, Next(tx, c, callers[i], clock_.Now()));
      got[i] = n.lease ? n.lease->member : MemberId();
      return Status::Ok();
    }));
  }
  for (auto& f : futures) ASSERT_TRUE(f.get().ok());
  std::set<std::int64_t> distinct;
  for (MemberId m : got) {
    ASSERT_TRUE(m.valid());
    distinct.insert(m.value());
  }
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kCallers));
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM campaign_targets WHERE leased_by IS NOT NULL"),
            kCallers);
}

TEST_P(PhonebankTest, SandboxCallsNeedAVerifiedEndpointAndFollowTheClock) {
  Member("90", aldershot_, members::kConsentPhone);
  Campaign c = Live(Draft());
  auto lease = NextFor(c, caller_);
  ASSERT_TRUE(lease && lease->lease);
  SandboxConnector sandbox(*env_.sealer_);
  Status unverified = Write([&](store::Tx& tx) {
    return sandbox.Connect(tx, c, caller_, lease->lease->member, clock_.Now()).status();
  });
  EXPECT_EQ(unverified.code(), StatusCode::kFailedPrecondition);
  EndpointVerification v;
  ASSERT_TRUE(Write([&](store::Tx& tx) -> Status {
                SB_ASSIGN_OR_RETURN(
                    v, RegisterEndpoint(tx, *env_.sealer_, caller_, "+447700900999", clock_.Now()));
                return Status::Ok();
              }).ok());
  EXPECT_EQ(Write([&](store::Tx& tx) { return VerifyEndpoint(tx, caller_, "000000", 0); }).code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(
      Write([&](store::Tx& tx) { return VerifyEndpoint(tx, caller_, v.code, clock_.Now()); }).ok());
  CallState call;
  ASSERT_TRUE(Write([&](store::Tx& tx) -> Status {
                SB_ASSIGN_OR_RETURN(
                    call, sandbox.Connect(tx, c, caller_, lease->lease->member, clock_.Now()));
                return Status::Ok();
              }).ok());
  EXPECT_TRUE(call.simulated);
  EXPECT_EQ(call.state, "ringing");
  clock_.Advance((SandboxConnector::kRingSeconds + SandboxConnector::kTalkSeconds + 1) *
                 kMicrosPerSecond);
  CallState later;
  ASSERT_TRUE(Write([&](store::Tx& tx) -> Status {
                SB_ASSIGN_OR_RETURN(later, sandbox.Status(tx, call.id, caller_, clock_.Now()));
                return Status::Ok();
              }).ok());
  EXPECT_EQ(later.state, call.id.value() % 3 != 0 ? "completed" : "failed");
  // Another caller cannot look at this call.
  EXPECT_EQ(Write([&](store::Tx& tx) {
              return sandbox.Status(tx, call.id, organiser_, clock_.Now()).status();
            }).code(),
            StatusCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Backends, PhonebankTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::phonebank
