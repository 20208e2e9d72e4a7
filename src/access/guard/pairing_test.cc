// The access layer's audited operations (reads of member data and of the
// audit log, the gate's refusals and quota, system grants, the policy in
// force) and their audit events commit together or not at all
// (audit/testing/pairing.h), on both backends.
#include "audit/testing/pairing.h"

#include <gtest/gtest.h>

#include "access/guard/gate.h"
#include "access/guard/reads.h"
#include "access/store/access_service.h"
#include "access/store/access_store.h"
#include "access/store/policy_record.h"
#include "core/testing/status_matchers.h"
#include "members/register.h"
#include "members/testing_env.h"
#include "store/testing/faulty_store.h"

namespace switchboard::access {
namespace {

using audit::testing::ExpectPaired;
using audit::testing::Pairing;

constexpr const char* kTouches = "SELECT COALESCE(SUM(touches), 0) FROM anomaly_hours";

class AccessPairingTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    ASSERT_FALSE(HasFatalFailure());
    faulty_ = std::make_unique<store::testing::FaultyStore>(*env_.store_);
    policy_ = std::move(ParsePolicy(DefaultPolicyToml(), "policy").value());
    aldershot_ = env_.tree_.FindByCode("E14000530")->id;
    aldridge_ = env_.tree_.FindByCode("E14000531")->id;
    reader_ = NewAccount("reader");
    for (const char* ext : {"1", "2", "3"}) member_ = Member(ext);
  }

  Status Write(const store::TxFn& fn) { return env_.store_->Write(fn); }
  Micros Now() const { return clock_.Now(); }

  AccountId NewAccount(const std::string& login) {
    AccountId id;
    EXPECT_OK(Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(id, CreateAccount(tx, {login, "T", MemberId(), false}, Now()));
      return Status::Ok();
    }));
    return id;
  }

  MemberId Member(const std::string& ext) {
    members::MemberRecord r;
    r.source = "native";
    r.external_id = ext;
    r.unit = aldershot_;
    r.first_name = "First" + ext;
    r.last_name = "Last";
    r.status = "current";
    r.joined_on = 18000;
    r.content_hash = "h" + ext;
    const std::string e = "member" + ext + "@example.org";
    r.contacts.push_back(
        {"email", "primary", env_.sealer_->Seal(e, "email"), env_.sealer_->BlindIndex("email", e)});
    MemberId id;
    EXPECT_OK(Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(auto up, members::UpsertMember(tx, r, Now(), "t"));
      id = up.id;
      return Status::Ok();
    }));
    return id;
  }

  // A stored, approved grant of `role` over `scope` to `account`.
  void AddGrant(AccountId account, const std::string& role, UnitId scope) {
    EXPECT_OK(Write([&](store::Tx& tx) {
      return InsertGrant(tx,
                         {account, role, scope, "test", Now() - 1, Now() + kMicrosPerDay, "test"},
                         AccountId(), /*approved=*/true, Now())
          .status();
    }));
  }

  // The reader acting under `role` over Aldershot for `capability`, as the
  // gate would decide it (the grant held in memory only).
  Acting As(const std::string& role, std::string_view capability) {
    grants_ = {access::Grant{GrantId(1), reader_, role, aldershot_, "p", Now() - 1,
                             Now() + kMicrosPerDay, AccountId(), "r"}};
    Principal who{reader_, AccountState::kActive, false, /*second_factor=*/true, grants_};
    decision_ = Decide(policy_, env_.tree_, who, capability, Target{aldershot_}, Now());
    EXPECT_TRUE(decision_.allow) << decision_.reason();
    Acting a;
    a.account = reader_;
    a.display_name = "Reader";
    a.decision = &decision_;
    a.now = Now();
    a.request_id = "req-1";
    return a;
  }

  // A signed-in session of `account`, as AuthService::Resume gives it.
  ActiveSession SessionOf(AccountId account) {
    ActiveSession s;
    s.session.account = account;
    s.session.second_factor = true;
    EXPECT_OK(env_.store_->Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(s.data, LoadPrincipal(tx, account));
      SB_ASSIGN_OR_RETURN(s.access_version, ReadAccessVersion(tx));
      return Status::Ok();
    }));
    return s;
  }

  // A request for member.view of `member_` (in Aldershot).
  GateRequest ViewRequest(const ActiveSession& s) const {
    GateRequest r;
    r.session = &s;
    r.capability = "member.view";
    r.action = "member.view";
    r.unit = [unit = aldershot_](store::Tx&) -> Result<std::optional<UnitId>> {
      return std::optional<UnitId>(unit);
    };
    r.what = "member";
    r.member = member_;
    r.now = Now();
    r.request_id = "req-gate";
    return r;
  }

  members::testing::RegisterEnv env_;
  std::unique_ptr<store::testing::FaultyStore> faulty_;
  ManualClock clock_{*ParseTimestamp("2026-03-02T10:00:00Z")};
  Policy policy_;
  UnitId aldershot_, aldridge_;
  AccountId reader_;
  MemberId member_;
  std::vector<access::Grant> grants_;
  Decision decision_;
};

TEST_P(AccessPairingTest, SearchRegister) {
  const Acting who = As("officer", "member.search");
  SearchQuery q;
  q.unit = aldershot_;
  // The anomaly rules' count comes after the event: failing it must take the
  // event with it.
  ExpectPaired(*faulty_,
               {"member.search", "INSERT INTO anomaly_hours", {kTouches}, [&](store::Tx& tx) {
                  return SearchRegister(tx, policy_, env_.tree_, who, q).status();
                }});
}

// Through the gate, as the API reads a member: the quota charge, the read's
// event and the anomaly count commit together.
TEST_P(AccessPairingTest, ReadMemberWithTheGatesQuotaCharge) {
  AddGrant(reader_, "officer", aldershot_);
  const ActiveSession s = SessionOf(reader_);
  const GateRequest r = ViewRequest(s);
  ExpectPaired(*faulty_,
               {"member.view",
                "INSERT INTO anomaly_hours",
                {kTouches, "SELECT COALESCE(SUM(milli_tokens), 0) FROM quota_buckets"},
                [&](store::Tx& tx) -> Status {
                  SB_ASSIGN_OR_RETURN(GateResult g,
                                      Authorise(tx, policy_, env_.tree_, r, /*record=*/true));
                  if (!g.allowed()) return Status::PermissionDenied(g.decision.reason());
                  return ReadMember(tx, policy_, env_.tree_, g.acting(r), member_).status();
                }});
}

TEST_P(AccessPairingTest, ReadContact) {
  const Acting who = As("membership_admin", "member.contact.view");
  ExpectPaired(*faulty_,
               {"member.contact.view", "INSERT INTO anomaly_hours", {kTouches}, [&](store::Tx& tx) {
                  return ReadContact(tx, policy_, *env_.sealer_, who, member_).status();
                }});
}

TEST_P(AccessPairingTest, ReadAuditLog) {
  const Acting who = As("dpo", "audit.read");
  audit::QueryFilter f;
  f.member = member_.value();
  // The query writes nothing but its event: failing the query must leave none.
  ExpectPaired(*faulty_, {"audit.query", "SELECT seq, at, actor", {}, [&](store::Tx& tx) {
                            return ReadAuditLog(tx, who, f).status();
                          }});
}

TEST_P(AccessPairingTest, ExplainRecorded) {
  const AccountId asked = NewAccount("asked.about");
  AddGrant(asked, "officer", aldershot_);
  const Acting who = As("admin", "grant.manage");
  ExpectPaired(*faulty_, {"access.explain", "FROM grants WHERE account_id", {}, [&](store::Tx& tx) {
                            return ExplainRecorded(tx, policy_, env_.tree_, who, asked,
                                                   "member.view", aldershot_, Now())
                                .status();
                          }});
}

// A refusal's event and the anomaly rules' probe count go together.
TEST_P(AccessPairingTest, AuthoriseRecordsARefusal) {
  AddGrant(reader_, "officer", aldridge_);  // not over the member's unit
  const ActiveSession s = SessionOf(reader_);
  const GateRequest r = ViewRequest(s);
  ExpectPaired(*faulty_, {"member.view",
                          "INSERT INTO anomaly_state",
                          {"SELECT COALESCE(SUM(probe_run), 0) FROM anomaly_state"},
                          [&](store::Tx& tx) -> Status {
                            SB_ASSIGN_OR_RETURN(GateResult g, Authorise(tx, policy_, env_.tree_, r,
                                                                        /*record=*/true));
                            if (g.outcome != GateOutcome::kDenied || !g.recorded) {
                              return Status::Internal("not a recorded refusal");
                            }
                            return Status::Ok();
                          }});
  EXPECT_OK(faulty_->base().Read([](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(std::int64_t n,
                        tx.QueryInt("SELECT COUNT(*) FROM audit_events WHERE decision = 'deny'"));
    return n == 1 ? Status::Ok() : Status::Internal(std::to_string(n) + " refusals recorded");
  }));
}

// A quota refusal writes nothing but its event: the bucket's read is the
// action, and failing it leaves no event.
TEST_P(AccessPairingTest, ChargeQuotaRecordsARefusal) {
  AddGrant(reader_, "officer", aldershot_);
  ASSERT_OK(Write([&](store::Tx& tx) {  // today's member.view quota is spent
    return tx
        .Exec(
            "INSERT INTO quota_buckets (account_id, capability, period, milli_tokens, "
            "updated_at) VALUES ($1, 'member.view', 'day', 0, $2)",
            {reader_.value(), Now()})
        .status();
  }));
  const ActiveSession s = SessionOf(reader_);
  const GateRequest r = ViewRequest(s);
  ExpectPaired(*faulty_, {"member.view", "FROM quota_buckets", {}, [&](store::Tx& tx) -> Status {
                            SB_ASSIGN_OR_RETURN(GateResult g, Authorise(tx, policy_, env_.tree_, r,
                                                                        /*record=*/false));
                            if (!g.allowed() || !g.charge_pending) {
                              return Status::Internal("no charge pending");
                            }
                            SB_ASSIGN_OR_RETURN(QuotaCheck q, ChargeQuota(tx, r, g.decision));
                            return q.allow ? Status::Internal("charged") : Status::Ok();
                          }});
  EXPECT_OK(faulty_->base().Read([](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(std::int64_t n, tx.QueryInt("SELECT COUNT(*) FROM audit_events WHERE "
                                                    "rule = 'quota.exceeded'"));
    return n == 1 ? Status::Ok() : Status::Internal(std::to_string(n) + " quota refusals");
  }));
}

TEST_P(AccessPairingTest, GrantBySystem) {
  const AccountId holder = NewAccount("demo.caller");
  const GrantRequest g{holder,       "caller", aldershot_, "demo", Now() - 1, Now() + kMicrosPerDay,
                       "demo set-up"};
  ExpectPaired(
      *faulty_,
      {"grant.demo", "INSERT INTO grants", {"SELECT COUNT(*) FROM grants"}, [&](store::Tx& tx) {
         return GrantBySystem(tx, g, "demo", Now()).status();
       }});
}

TEST_P(AccessPairingTest, RecordPolicyInForce) {
  ExpectPaired(*faulty_, {"policy.load",
                          "INSERT INTO settings",
                          {"SELECT COUNT(*) FROM settings WHERE name = 'policy_sha256'"},
                          [&](store::Tx& tx) { return RecordPolicyInForce(tx, policy_, Now()); }});
}

INSTANTIATE_TEST_SUITE_P(Backends, AccessPairingTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace switchboard::access
