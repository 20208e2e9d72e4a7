#include "phonebank/phonebank.h"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <set>
#include <thread>

#include "access/store/access_store.h"
#include "members/preferences.h"
#include "members/register.h"
#include "members/testing_env.h"
#include "phonebank/connector.h"

namespace switchboard::phonebank {
namespace {

class PhonebankTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
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
                  const std::string& phone = "",
                  const std::function<void(members::MemberRecord&)>& more = nullptr) {
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
    if (more) more(r);
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
                  SB_ASSIGN_OR_RETURN(c.id, InsertCampaign(tx, env_.tree_, c, clock_.Now()));
                  return SetState(tx, env_.tree_, c, CampaignState::kLive, clock_.Now()).status();
                }).ok());
    c.state = CampaignState::kLive;
    return c;
  }

  std::int64_t Count(const Campaign& c) {
    std::int64_t n = -1;
    EXPECT_TRUE(Write([&](store::Tx& tx) -> Status {
                  SB_ASSIGN_OR_RETURN(n, CountAudience(tx, env_.tree_, c));
                  return Status::Ok();
                }).ok());
    return n;
  }

  Result<CampaignEdit> Edit(const Campaign& c, int expected_version = 0) {
    Result<CampaignEdit> out = Status::Internal("not run");
    Status st = Write([&](store::Tx& tx) -> Status {
      out = UpdateCampaign(tx, env_.tree_, c, clock_.Now(), expected_version);
      return out.status();
    });
    if (!st.ok()) return st;
    return out;
  }

  Campaign Stored(CampaignId id) {
    Campaign c;
    EXPECT_TRUE(Write([&](store::Tx& tx) -> Status {
                  SB_ASSIGN_OR_RETURN(c, GetCampaign(tx, env_.tree_, id));
                  return Status::Ok();
                }).ok());
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
  TimeZone london_ = *TimeZone::Find("Europe/London");
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
                SB_ASSIGN_OR_RETURN(count, CountAudience(tx, env_.tree_, c));
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
  Status open = CallingOpen(c, london_, clock_.Now());
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
  EXPECT_FALSE(CallingOpen(c, london_, clock_.Now()).ok());
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
    return sandbox.Connect(tx, c, caller_, *lease->lease, clock_.Now()).status();
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
                SB_ASSIGN_OR_RETURN(call,
                                    sandbox.Connect(tx, c, caller_, *lease->lease, clock_.Now()));
                return Status::Ok();
              }).ok());
  EXPECT_TRUE(call.simulated);
  EXPECT_EQ(call.state, "calling_you");
  // The connection is the call row the lease wrote, not a new one.
  EXPECT_NE(lease->lease->call.value(), 0);
  EXPECT_EQ(call.id, lease->lease->call);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM calls"), 1);
  clock_.Advance((SandboxConnector::kLongestSeconds + 1) * kMicrosPerSecond);
  CallState later;
  ASSERT_TRUE(Write([&](store::Tx& tx) -> Status {
                SB_ASSIGN_OR_RETURN(later, sandbox.Status(tx, call.id, caller_, clock_.Now()));
                return Status::Ok();
              }).ok());
  EXPECT_EQ(later.state, "ended");
  EXPECT_EQ(later.end, SandboxConnector::TimelineOf(call.id).end);
  // The end is recorded, not just reported.
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM calls WHERE state = 'ended' AND end_reason = '" +
                       std::string(later.end) + "'"),
            1);
  // Another caller cannot look at this call.
  EXPECT_EQ(Write([&](store::Tx& tx) {
              return sandbox.Status(tx, call.id, organiser_, clock_.Now()).status();
            }).code(),
            StatusCode::kNotFound);
}

TEST_P(PhonebankTest, ALeaseTakenBeforeSchemaV12FindsItsCallTheOldWay) {
  Member("91", aldershot_, members::kConsentPhone);
  Campaign c = Live(Draft());
  auto first = NextFor(c, caller_);
  ASSERT_TRUE(first && first->lease);
  const CallId call = first->lease->call;
  ASSERT_NE(call.value(), 0);
  // As an upgraded database has it: the lease, but no call named on it.
  ASSERT_TRUE(Write([&](store::Tx& tx) {
                return tx.Exec("UPDATE campaign_targets SET lease_call = NULL").status();
              }).ok());
  auto again = NextFor(c, caller_);
  ASSERT_TRUE(again && again->lease);
  EXPECT_TRUE(again->lease->renewed);
  EXPECT_EQ(again->lease->call, call);
  EXPECT_EQ(again->lease->member, first->lease->member);
  ASSERT_TRUE(Write([&](store::Tx& tx) {
                return RecordOutcome(tx, c, caller_, "answered", "{}", clock_.Now()).status();
              }).ok());
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM calls WHERE outcome = 'answered' AND id = " +
                       call.ToString()),
            1);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM campaign_targets WHERE done = 1 AND lease_call IS "
                       "NULL AND leased_by IS NULL"),
            1);
}

TEST_P(PhonebankTest, TheAudienceIsASegmentWithTheCallableRulesOnTop) {
  auto dated = [](std::string type, std::int64_t joined, std::optional<std::int64_t> lapsed) {
    return [=](members::MemberRecord& r) {
      r.membership_type = type;
      r.joined_on = joined;
      r.lapsed_on = lapsed;
    };
  };
  const std::int64_t d2018 = *ParseDate("2018-06-01"), d2022 = *ParseDate("2022-06-01");
  const std::int64_t d2025 = *ParseDate("2025-06-01");
  const std::uint32_t phone = members::kConsentPhone, email = members::kConsentEmail;
  // Lapsed standard members who joined before 2020 and lapsed in 2025: the
  // organiser's pick. Only some of them may be called.
  const MemberId wanted =
      Member("1", aldershot_, phone | email, 0, "lapsed", "", dated("standard", d2018, d2025));
  Member("2", aldershot_, phone | email, 0, "lapsed", "", dated("reduced", d2018, d2025));
  Member("3", aldershot_, phone | email, 0, "lapsed", "", dated("standard", d2022, d2025));
  Member("4", aldershot_, phone | email, 0, "current", "", dated("standard", d2018, {}));
  Member("5", aldershot_, email, 0, "lapsed", "", dated("standard", d2018, d2025));  // no phone
  Member("6", aldershot_, phone, 0, "lapsed", "", dated("standard", d2018, d2025));  // no email
  Member("7", aldershot_, phone | email, members::kMoved, "lapsed", "",
         dated("standard", d2018, d2025));
  Member("8", aldershot_, phone | email, members::kNoPhone, "lapsed", "",
         dated("standard", d2018, d2025));
  const MemberId canary =
      Member("9", aldershot_, phone | email, 0, "lapsed", "", dated("standard", d2018, d2025));
  ASSERT_TRUE(Write([&](store::Tx& tx) {
                return members::PlantCanary(tx, canary, clock_.Now(), "t");
              }).ok());
  const MemberId contacted =
      Member("10", aldershot_, phone | email, 0, "lapsed", "", dated("standard", d2018, d2025));
  ASSERT_TRUE(Write([&](store::Tx& tx) {
                return tx
                    .Exec(
                        "INSERT INTO contact_log (member_id, channel, outcome, at) VALUES ($1, "
                        "'email', 'sent', $2)",
                        {contacted.value(), clock_.Now() - kMicrosPerDay})
                    .status();
              }).ok());
  const MemberId wrong =
      Member("11", aldershot_, phone | email, 0, "lapsed", "", dated("standard", d2018, d2025));
  ASSERT_TRUE(
      Write([&](store::Tx& tx) {
        return tx.Exec("UPDATE contact_points SET valid = 0 WHERE member_id = $1", {wrong.value()})
            .status();
      }).ok());

  Campaign c = Draft();
  // The organiser asks for no phone consent and no suppressions at all, and
  // for canaries: the campaign adds its rules anyway, or refuses.
  auto canaries = ParseAudience(R"({"exclude_canaries": false})", env_.tree_, aldershot_);
  ASSERT_FALSE(canaries);
  EXPECT_NE(canaries.error().message().find("audience.exclude_canaries"), std::string::npos);
  auto a = ParseAudience(
      R"({"statuses": ["lapsed"], "types": ["standard"], "consents": ["email"],
          "joined_to": "2020-01-01", "lapsed_from": "2025-01-01", "lapsed_to": "2026-01-01",
          "not_contacted_since": "2026-02-01"})",
      env_.tree_, aldershot_);
  ASSERT_TRUE(a) << a.error().ToString();
  EXPECT_EQ(a->scope, aldershot_);
  EXPECT_EQ(a->consents_all, phone | email);
  EXPECT_EQ(a->suppressions_none & kNotCallable, kNotCallable);
  EXPECT_TRUE(a->exclude_canaries);
  c.audience = *a;
  c.audience.suppressions_none = 0;  // even when built by hand without the rules
  c.audience.consents_all = email;
  c.audience.exclude_canaries = false;
  EXPECT_EQ(Count(c), 1);
  c = Live(c);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM campaign_targets"), 1);
  EXPECT_EQ(env_.Count("SELECT member_id FROM campaign_targets"), wanted.value());
  // Stored in the segment JSON form, rules included, and read back.
  const Campaign stored = Stored(c.id);
  EXPECT_EQ(segment::SegmentToJson(stored.audience, env_.tree_),
            segment::SegmentToJson(AudienceOf(c), env_.tree_));
  EXPECT_EQ(stored.audience.types, std::vector<std::string>{"standard"});
  EXPECT_EQ(stored.audience.joined_to, *ParseDate("2020-01-01"));
}

TEST_P(PhonebankTest, AudienceErrorsNameTheField) {
  auto outside = ParseAudience(R"({"units": ["E14000531"]})", env_.tree_, aldershot_);
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().message().rfind("audience.units[0]", 0), 0u)
      << outside.error().message();
  auto other_scope = ParseAudience(R"({"scope": "E14000531"})", env_.tree_, aldershot_);
  ASSERT_FALSE(other_scope);
  EXPECT_NE(other_scope.error().message().find("audience.scope"), std::string::npos);
  EXPECT_TRUE(ParseAudience(R"({"scope": "E14000530"})", env_.tree_, aldershot_));
  auto status = ParseAudience(R"({"statuses": ["gone"]})", env_.tree_, aldershot_);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message().find("audience.statuses[0]"), std::string::npos);
  auto dates = ParseAudience(R"({"joined_from": "2024-01-01", "joined_to": "2023-01-01"})",
                             env_.tree_, aldershot_);
  ASSERT_FALSE(dates);
  EXPECT_NE(dates.error().message().find("audience.joined_to"), std::string::npos);
  auto unknown = ParseAudience(R"({"postcode": "GU11"})", env_.tree_, aldershot_);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message().find("audience.postcode"), std::string::npos);
  // What earlier clients sent still works: [] and no statuses mean current
  // members, null means no contact limit, "phone" is the consent there is.
  auto old = ParseAudience(
      R"({"statuses": [], "units": [], "consents": ["phone"], "not_contacted_since": null})",
      env_.tree_, aldershot_);
  ASSERT_TRUE(old) << old.error().ToString();
  EXPECT_EQ(old->statuses, std::vector<std::string>{"current"});
  EXPECT_FALSE(old->not_contacted_since);
}

TEST_P(PhonebankTest, CampaignsStoredBeforeSegmentsStillRead) {
  const MemberId m = Member("1", aldershot_, members::kConsentPhone, 0, "lapsed");
  Member("2", aldershot_, members::kConsentPhone);
  Campaign c = Draft();
  ASSERT_TRUE(Write([&](store::Tx& tx) -> Status {
                SB_ASSIGN_OR_RETURN(c.id, InsertCampaign(tx, env_.tree_, c, clock_.Now()));
                return tx
                    .Exec("UPDATE campaigns SET audience = $1 WHERE id = $2",
                          {R"({"statuses":["lapsed"],"units":[)" +
                               std::to_string(aldershot_.value()) + R"(],"not_contacted_since":0})",
                           c.id.value()})
                    .status();
              }).ok());
  const Campaign old = Stored(c.id);
  EXPECT_EQ(old.audience.statuses, std::vector<std::string>{"lapsed"});
  EXPECT_EQ(old.audience.units, std::vector<UnitId>{aldershot_});
  EXPECT_EQ(Count(old), 1);
  Campaign live = old;
  ASSERT_TRUE(Write([&](store::Tx& tx) {
                return SetState(tx, env_.tree_, live, CampaignState::kLive, clock_.Now()).status();
              }).ok());
  EXPECT_EQ(env_.Count("SELECT member_id FROM campaign_targets"), m.value());
}

TEST_P(PhonebankTest, DraftsChangeFreelyLiveCampaignsOnlyTheirScriptAndFields) {
  Member("1", aldershot_, members::kConsentPhone);
  Campaign c = Draft();
  ASSERT_TRUE(Write([&](store::Tx& tx) -> Status {
                SB_ASSIGN_OR_RETURN(c.id, InsertCampaign(tx, env_.tree_, c, clock_.Now()));
                return Status::Ok();
              }).ok());
  EXPECT_EQ(Stored(c.id).version, 1);
  // A draft: anything but the scope.
  c.audience.statuses = {"current", "arrears"};
  c.ends_at += kMicrosPerDay;
  auto draft = Edit(c);
  ASSERT_TRUE(draft) << draft.error().ToString();
  EXPECT_EQ(draft->version, 2);
  EXPECT_EQ(draft->changed, (std::vector<std::string>{"audience", "ends_at"}));
  auto same = Edit(c);  // saving what is stored changes nothing
  ASSERT_TRUE(same);
  EXPECT_EQ(same->version, 2);
  EXPECT_TRUE(same->changed.empty());
  Campaign moved = c;
  moved.scope = aldridge_;
  EXPECT_NE(Edit(moved).error().message().find("scope"), std::string::npos);

  c = Stored(c.id);
  ASSERT_TRUE(Write([&](store::Tx& tx) {
                return SetState(tx, env_.tree_, c, CampaignState::kLive, clock_.Now()).status();
              }).ok());
  // Live: the script and the fields shown, with a new version each time.
  Campaign script = c;
  script.script = "Hello again, with a clearer opening.";
  script.fields = {"first_name"};
  auto edited = Edit(script, /*expected_version=*/2);
  ASSERT_TRUE(edited) << edited.error().ToString();
  EXPECT_EQ(edited->version, 3);
  EXPECT_EQ(edited->changed, (std::vector<std::string>{"script", "fields"}));
  EXPECT_EQ(Stored(c.id).script, "Hello again, with a clearer opening.");
  EXPECT_EQ(Stored(c.id).state, CampaignState::kLive);
  // ... but nothing else, and the refusal names the field.
  for (auto [field, change] : std::vector<std::pair<std::string, std::function<void(Campaign&)>>>{
           {"audience", [](Campaign& x) { x.audience.statuses = {"lapsed"}; }},
           {"survey", [](Campaign& x) { x.survey.pop_back(); }},
           {"ends_at", [](Campaign& x) { x.ends_at -= kMicrosPerDay; }},
           {"calling_hours", [](Campaign& x) { x.calling_end = 20 * 60; }},
           {"purpose", [](Campaign& x) { x.purpose = "something else"; }},
       }) {
    Campaign x = Stored(c.id);
    change(x);
    auto refused = Edit(x);
    ASSERT_FALSE(refused) << field;
    EXPECT_EQ(refused.error().code(), StatusCode::kFailedPrecondition) << field;
    EXPECT_EQ(refused.error().message().rfind(field + ": cannot change", 0), 0u)
        << refused.error().message();
  }
  // An edit made from an old version is refused rather than lost.
  Campaign stale = Stored(c.id);
  stale.script = "An older draft of the script";
  auto conflict = Edit(stale, /*expected_version=*/2);
  ASSERT_FALSE(conflict);
  EXPECT_NE(conflict.error().message().find("version 3"), std::string::npos);
  // Paused: the same rules. Ended: nothing at all.
  ASSERT_TRUE(Write([&](store::Tx& tx) {
                return SetState(tx, env_.tree_, c, CampaignState::kPaused, clock_.Now()).status();
              }).ok());
  EXPECT_TRUE(Edit(stale));
  ASSERT_TRUE(Write([&](store::Tx& tx) {
                return SetState(tx, env_.tree_, c, CampaignState::kEnded, clock_.Now()).status();
              }).ok());
  Campaign late = Stored(c.id);
  late.script = "too late";
  auto ended = Edit(late);
  ASSERT_FALSE(ended);
  EXPECT_NE(ended.error().message().find("ended"), std::string::npos);
}

TEST_P(PhonebankTest, ProgressCountsWhoIsLeftToCallAndEveryCallMade) {
  std::vector<MemberId> m;
  for (int i = 1; i <= 8; ++i)
    m.push_back(Member(std::to_string(i), aldershot_, members::kConsentPhone));
  Campaign c = Live(Draft());
  auto progress = [&] {
    Progress p;
    EXPECT_TRUE(Write([&](store::Tx& tx) -> Status {
                  SB_ASSIGN_OR_RETURN(p, CampaignProgress(tx, env_.tree_, c.id, clock_.Now()));
                  return Status::Ok();
                }).ok());
    return p;
  };
  Progress before = progress();
  EXPECT_EQ(before.targets, 8);
  EXPECT_EQ(before.to_call, 8);
  EXPECT_EQ(before.done, 0);
  EXPECT_EQ(before.calls, 0);
  const std::vector<std::pair<std::string, std::string>> calls = {
      {"answered", R"({"agm": true, "topic": "housing"})"},
      {"answered", R"({"agm": true, "topic": "transport"})"},
      {"answered", R"({"agm": false, "topic": "housing"})"},
      {"answered", R"({"agm": true})"},
      {"answered", R"({"agm": true, "topic": "housing"})"},
      {"no_answer", ""},
      {"do_not_call", ""},
  };
  for (size_t i = 0; i < calls.size(); ++i) {
    if (i == 6) clock_.Advance(3600 * kMicrosPerSecond);  // the last call an hour later
    auto n = NextFor(c, caller_);
    ASSERT_TRUE(n && n->lease) << i;
    ASSERT_TRUE(Outcome(c, caller_, calls[i].first, calls[i].second).has_value()) << i;
    clock_.Advance(60 * kMicrosPerSecond);
  }
  // One more lease, held: in progress, still to call.
  ASSERT_TRUE(NextFor(c, caller_)->lease);
  Progress p = progress();
  EXPECT_EQ(p.targets, 8);
  EXPECT_EQ(p.done, 6);     // five answered, one "do not call"
  EXPECT_EQ(p.to_call, 2);  // the no answer (passes left) and the one not yet called
  EXPECT_EQ(p.calls, 7);    // every call with an outcome, finished or not
  EXPECT_EQ(p.conversations, 5);
  EXPECT_EQ(p.in_progress, 1);
  ASSERT_EQ(p.by_unit.size(), 1u);
  EXPECT_EQ(p.by_unit[0].unit, env_.tree_.Find(aldershot_)->name);
  EXPECT_EQ(p.by_unit[0].targets, 8);
  EXPECT_EQ(p.by_unit[0].done, 6);
  EXPECT_EQ(p.by_unit[0].to_call, 2);
  EXPECT_EQ(p.by_unit[0].calls, 7);
  std::int64_t by_outcome = 0;
  for (const auto& [k, v] : p.by_outcome) by_outcome += v;
  EXPECT_EQ(by_outcome, p.calls);
  // A member suppressed elsewhere (another campaign's "do not call") is no
  // longer to call here, and not done either.
  for (MemberId id : m) {
    ASSERT_TRUE(
        Write([&](store::Tx& tx) {
          return members::AddSuppressions(tx, id, members::kNoPhone, "t", clock_.Now()).status();
        }).ok());
  }
  p = progress();
  EXPECT_EQ(p.to_call, 0);
  EXPECT_EQ(p.done, 6);
}

TEST_P(PhonebankTest, ResultsCountAnswersPerQuestionUnitAndHour) {
  for (int i = 1; i <= 8; ++i) Member(std::to_string(i), aldershot_, members::kConsentPhone);
  Campaign c = Live(Draft());
  const std::vector<std::pair<std::string, std::string>> calls = {
      {"answered", R"({"agm": true, "topic": "housing"})"},
      {"answered", R"({"agm": true, "topic": "transport"})"},
      {"answered", R"({"agm": false, "topic": "housing"})"},
      {"answered", R"({"agm": true})"},
      {"answered", R"({"agm": true, "topic": "housing"})"},
      {"no_answer", ""},
      {"do_not_call", ""},
  };
  for (size_t i = 0; i < calls.size(); ++i) {
    if (i == 6) clock_.Advance(3600 * kMicrosPerSecond);
    ASSERT_TRUE(NextFor(c, caller_)->lease) << i;
    ASSERT_TRUE(Outcome(c, caller_, calls[i].first, calls[i].second).has_value()) << i;
    clock_.Advance(60 * kMicrosPerSecond);
  }
  // Buckets follow the organisation's clock: 10:00 UTC is 15:30 in Kolkata.
  const TimeZone kolkata = *TimeZone::Find("Asia/Kolkata");
  Results r;
  ASSERT_TRUE(Write([&](store::Tx& tx) -> Status {
                SB_ASSIGN_OR_RETURN(r, CampaignResults(tx, env_.tree_, c, kolkata));
                return Status::Ok();
              }).ok());
  EXPECT_EQ(r.calls, 7);
  EXPECT_EQ(r.answered, 5);
  ASSERT_EQ(r.by_hour.size(), 2u);
  EXPECT_EQ(r.by_hour[0].at, "2026-03-02T15:00");
  EXPECT_EQ(r.by_hour[0].calls, 6);
  EXPECT_EQ(r.by_hour[0].answered, 5);
  EXPECT_EQ(r.by_hour[1].at, "2026-03-02T16:00");
  EXPECT_EQ(r.by_hour[1].index, r.by_hour[0].index + 1);
  ASSERT_EQ(r.by_day.size(), 1u);
  EXPECT_EQ(r.by_day[0].at, "2026-03-02");
  ASSERT_EQ(r.questions.size(), 2u);
  const QuestionResult& agm = r.questions[0];
  EXPECT_EQ(agm.options, (std::vector<std::string>{"yes", "no"}));
  EXPECT_EQ(agm.total.responses, 5);
  EXPECT_EQ(agm.total.counts, (std::vector<std::int64_t>{4, 1}));
  // Five responses in the unit: shown.
  ASSERT_EQ(agm.by_unit.size(), 1u);
  EXPECT_FALSE(agm.by_unit[0].second.withheld);
  EXPECT_EQ(agm.by_unit[0].second.counts, (std::vector<std::int64_t>{4, 1}));
  const QuestionResult& topic = r.questions[1];
  EXPECT_EQ(topic.total.responses, 4);
  EXPECT_EQ(topic.total.counts, (std::vector<std::int64_t>{3, 1}));
  // Four: fewer than kSmallCell, so how they answered is withheld there.
  ASSERT_EQ(topic.by_unit.size(), 1u);
  EXPECT_TRUE(topic.by_unit[0].second.withheld);
  EXPECT_EQ(topic.by_unit[0].second.responses, 4);
  EXPECT_TRUE(topic.by_unit[0].second.counts.empty());
  ASSERT_EQ(topic.by_day.size(), 1u);
  EXPECT_TRUE(topic.by_day[0].second.withheld);

  const std::string csv = ResultsCsv(c, r);
  EXPECT_NE(csv.find("survey,agm,Will you come to the AGM?,campaign,Autumn calls,yes,4,80.0,5\r\n"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find("survey,topic,Which topic matters most?,unit,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("withheld),,,4\r\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("calls,,,hour,2026-03-02T15:00,all,6,,6\r\n"), std::string::npos) << csv;
  EXPECT_EQ(csv.find("First"), std::string::npos) << "no member in the results";
}

TEST(ResultsCsvTest, NeutralisesFormulasInEveryText) {
  Campaign c;
  c.name = "=HYPERLINK(\"http://x.example.org\")";
  Results r;
  QuestionResult q;
  q.question = {"q1", "+1 how likely?", "choice", {"@home", "-away"}};
  q.options = q.question.options;
  q.total.responses = 2;
  q.total.counts = {1, 1};
  r.questions.push_back(q);
  const std::string csv = ResultsCsv(c, r);
  EXPECT_NE(csv.find("'=HYPERLINK"), std::string::npos) << csv;
  EXPECT_NE(csv.find("'+1 how likely?"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",\"'@home\",1,50.0,2"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",\"'-away\",1,50.0,2"), std::string::npos) << csv;
  EXPECT_EQ(csv.find(",=HYPERLINK"), std::string::npos) << csv;
}

// Calling hours follow the organisation's wall clock through both daylight
// saving changes, whatever the server's own time zone.
TEST(CallingHoursTest, FollowTheOrganisationsTimeZoneAcrossDaylightSaving) {
  setenv("TZ", "Pacific/Auckland", 1);  // the process's zone must not matter
  tzset();
  const TimeZone london = *TimeZone::Find("Europe/London");
  Campaign c;
  c.state = CampaignState::kLive;
  c.calling_start = 9 * 60;
  c.calling_end = 21 * 60;
  c.starts_at = *ParseTimestamp("2026-03-01T00:00:00Z");
  c.ends_at = *ParseTimestamp("2026-12-01T00:00:00Z");  // long, for the test only
  ManualClock clock(*ParseTimestamp("2026-03-28T08:59:00Z"));
  auto open = [&](const char* at) {
    clock.Set(*ParseTimestamp(at));
    return CallingOpen(c, london, clock.Now());
  };
  // Saturday 28 March: GMT, London time is UTC.
  EXPECT_FALSE(open("2026-03-28T08:59:00Z").ok());
  EXPECT_TRUE(open("2026-03-28T09:00:00Z").ok());
  EXPECT_TRUE(open("2026-03-28T20:59:00Z").ok());
  EXPECT_FALSE(open("2026-03-28T21:00:00Z").ok());
  // Clocks go forward at 01:00 UTC on Sunday 29 March: BST is UTC+1.
  EXPECT_FALSE(open("2026-03-29T07:59:00Z").ok());
  EXPECT_TRUE(open("2026-03-29T08:00:00Z").ok());
  EXPECT_TRUE(open("2026-03-29T19:59:00Z").ok());
  Status late = open("2026-03-29T20:00:00Z");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(late.message().find("between 09:00 and 21:00"), std::string::npos) << late.message();
  EXPECT_NE(late.message().find("Europe/London"), std::string::npos) << late.message();
  EXPECT_NE(late.message().find("21:00 BST"), std::string::npos) << late.message();
  // Saturday 24 October, still BST; clocks go back at 01:00 UTC on Sunday 25.
  EXPECT_FALSE(open("2026-10-24T20:30:00Z").ok());
  EXPECT_FALSE(open("2026-10-24T07:30:00Z").ok());
  EXPECT_TRUE(open("2026-10-24T08:00:00Z").ok());
  EXPECT_TRUE(open("2026-10-25T20:30:00Z").ok());
  EXPECT_FALSE(open("2026-10-25T08:30:00Z").ok());
  EXPECT_TRUE(open("2026-10-25T09:00:00Z").ok());
  // Another organisation, another clock: on 20 March 09:00 in New York is
  // 13:00 UTC (EDT since 8 March) while London is still on GMT.
  const TimeZone new_york = *TimeZone::Find("America/New_York");
  clock.Set(*ParseTimestamp("2026-03-20T12:59:00Z"));
  EXPECT_FALSE(CallingOpen(c, new_york, clock.Now()).ok());
  clock.Set(*ParseTimestamp("2026-03-20T13:00:00Z"));
  EXPECT_TRUE(CallingOpen(c, new_york, clock.Now()).ok());
  unsetenv("TZ");
  tzset();
}

INSTANTIATE_TEST_SUITE_P(Backends, PhonebankTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::phonebank
