#include "access/store/access_service.h"

#include <gtest/gtest.h>

#include "members/testing_env.h"

namespace switchboard::access {
namespace {

class AccessServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    policy_ = std::move(ParsePolicy(DefaultPolicyToml(), "policy").value());
    service_ = std::make_unique<AccessService>(*env_.store_, policy_, env_.tree_, clock_);
    owner_ = NewAccount("owner", false);
    officer_ = NewAccount("officer.aldershot", false);
    staffer_ = NewAccount("staff.south-east", true);
    aldershot_ = env_.tree_.FindByCode("E14000530")->id;
    south_east_ =
        env_.tree_.FindByCode(env_.tree_.Find(env_.tree_.FindByCode("E14000530")->parent)->code)
            ->id;
  }
  AccountId NewAccount(const std::string& login, bool staff) {
    AccountId id;
    EXPECT_TRUE(
        env_.store_
            ->Write([&](store::Tx& tx) -> Status {
              SB_ASSIGN_OR_RETURN(
                  id, CreateAccount(tx, {login, "Test " + login, MemberId(), staff}, clock_.Now()));
              return Status::Ok();
            })
            .ok());
    return id;
  }
  GrantRequest Request(AccountId to, const std::string& role, UnitId scope, int days) {
    return {to,
            role,
            scope,
            "test purpose",
            clock_.Now(),
            clock_.Now() + days * kMicrosPerDay,
            "test reason",
            "direct",
            0};
  }
  std::int64_t Count(const std::string& sql) { return env_.Count(sql); }

  members::testing::RegisterEnv env_;
  ManualClock clock_{*ParseTimestamp("2026-03-01T09:00:00Z")};
  Policy policy_;
  std::unique_ptr<AccessService> service_;
  AccountId owner_, officer_, staffer_;
  UnitId aldershot_, south_east_;
};

TEST_P(AccessServiceTest, AccountsHaveUniqueValidLogins) {
  Status dup = env_.store_->Write([&](store::Tx& tx) {
    return CreateAccount(tx, {"owner", "Another", MemberId(), false}, clock_.Now()).status();
  });
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  Status bad = env_.store_->Write([&](store::Tx& tx) {
    return CreateAccount(tx, {"no spaces allowed", "X", MemberId(), false}, clock_.Now()).status();
  });
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM accounts"), 3);
}

TEST_P(AccessServiceTest, BootstrapOnceThenGrantDownward) {
  auto boot = service_->Bootstrap(owner_, clock_.Now() + 300 * kMicrosPerDay, "new deployment");
  ASSERT_TRUE(boot) << boot.error().ToString();
  auto again = service_->Bootstrap(officer_, clock_.Now() + 30 * kMicrosPerDay, "sneaky");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), StatusCode::kFailedPrecondition);

  auto g = service_->AddGrant(owner_, true, Request(officer_, "officer", aldershot_, 90));
  ASSERT_TRUE(g) << g.error().ToString();
  auto d = service_->Explain(officer_, "member.view", aldershot_, clock_.Now());
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->allow) << d->reason();
  EXPECT_EQ(d->grant, *g);
  // The officer holds no grant.manage: cannot pass anything on.
  auto onward = service_->AddGrant(officer_, false, Request(staffer_, "caller", aldershot_, 10));
  ASSERT_FALSE(onward);
  EXPECT_EQ(onward.error().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM grants"), 2);
  // All on the record: bootstrap, the grant, and the two refusals.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_events WHERE action = 'grant.bootstrap' AND "
                  "decision = 'allow'"),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_events WHERE action = 'grant.add' AND decision = "
                  "'allow'"),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_events WHERE decision = 'deny'"), 2);
}

TEST_P(AccessServiceTest, PrivilegedGrantWaitsForASecondApprover) {
  ASSERT_TRUE(service_->Bootstrap(owner_, clock_.Now() + 300 * kMicrosPerDay, "new deployment"));
  // A second owner-level account, to approve.
  const AccountId second = NewAccount("second.owner", false);
  // The owner cannot approve their own grant, nor can the grantee.
  auto g = service_->AddGrant(owner_, true, Request(staffer_, "membership_admin", south_east_, 30));
  ASSERT_TRUE(g) << g.error().ToString();
  auto before = service_->Explain(staffer_, "member.contact.view", aldershot_, clock_.Now());
  EXPECT_EQ(before->rule, "grant.pending_approval");
  EXPECT_EQ(service_->Approve(owner_, true, *g).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->Approve(staffer_, true, *g).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->Approve(second, true, *g).code(), StatusCode::kPermissionDenied);  // no grant
  auto g2 = service_->AddGrant(owner_, true, Request(second, "admin", env_.tree_.root()->id, 30));
  ASSERT_TRUE(g2) << g2.error().ToString();
  // admin is privileged too: pending, so `second` cannot approve anything yet.
  EXPECT_EQ(service_->Approve(second, true, *g).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM grants WHERE approved = 0"), 2);
}

// A new deployment's only owner cannot get a privileged grant approved by
// anyone; two founding owners approve each other's.
TEST_P(AccessServiceTest, TwoFoundingOwnersApproveEachOthersPrivilegedGrants) {
  const AccountId second = NewAccount("second.owner", false);
  const Micros until = clock_.Now() + 300 * kMicrosPerDay;
  auto same = service_->BootstrapOwners({owner_, owner_}, until, "new deployment");
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error().code(), StatusCode::kInvalidArgument);
  auto three = service_->BootstrapOwners({owner_, second, officer_}, until, "new deployment");
  ASSERT_FALSE(three);
  EXPECT_EQ(three.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM grants"), 0);

  auto boot = service_->BootstrapOwners({owner_, second}, until, "new deployment");
  ASSERT_TRUE(boot) << boot.error().ToString();
  ASSERT_EQ(boot->size(), 2u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_events WHERE action = 'grant.bootstrap' AND "
                  "decision = 'allow'"),
            2);
  auto again = service_->BootstrapOwners({officer_}, until, "sneaky");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), StatusCode::kFailedPrecondition);

  auto g = service_->AddGrant(owner_, true, Request(staffer_, "membership_admin", south_east_, 30));
  ASSERT_TRUE(g) << g.error().ToString();
  EXPECT_EQ(service_->Approve(owner_, true, *g).code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(service_->Approve(second, true, *g).ok());
  auto d = service_->Explain(staffer_, "member.contact.view", aldershot_, clock_.Now());
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->allow) << d->reason();
}

TEST_P(AccessServiceTest, RevocationIsImmediateAndExplainRemembersThePast) {
  ASSERT_TRUE(service_->Bootstrap(owner_, clock_.Now() + 300 * kMicrosPerDay, "new deployment"));
  auto g = service_->AddGrant(owner_, true, Request(officer_, "officer", aldershot_, 90));
  ASSERT_TRUE(g);
  const Micros granted = clock_.Now();
  clock_.Advance(kMicrosPerDay);
  EXPECT_EQ(service_->Revoke(staffer_, false, *g, "not theirs").code(),
            StatusCode::kPermissionDenied);
  ASSERT_TRUE(service_->Revoke(owner_, true, *g, "left the post").ok());
  auto now = service_->Explain(officer_, "member.view", aldershot_, clock_.Now());
  EXPECT_FALSE(now->allow);
  EXPECT_EQ(now->rule, "grant.revoked");
  // "Why could X see Y on date D?": yesterday the grant covered it.
  auto then = service_->Explain(officer_, "member.view", aldershot_, granted + 1);
  EXPECT_TRUE(then->allow) << then->reason();
  EXPECT_EQ(service_->Revoke(owner_, true, *g, "again").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_events WHERE action = 'grant.revoke' AND decision "
                  "= 'allow'"),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_events WHERE action = 'grant.revoke' AND decision "
                  "= 'deny'"),
            2);
}

TEST_P(AccessServiceTest, ListGrantsFiltersByAccountInIdOrder) {
  ASSERT_TRUE(service_->Bootstrap(owner_, clock_.Now() + 300 * kMicrosPerDay, "new deployment"));
  auto a = service_->AddGrant(owner_, true, Request(officer_, "officer", aldershot_, 90));
  auto b = service_->AddGrant(owner_, true, Request(staffer_, "staff", south_east_, 90));
  auto c = service_->AddGrant(owner_, true, Request(officer_, "caller", aldershot_, 7));
  ASSERT_TRUE(a && b && c);
  auto ids = [&](AccountId who, bool include_ended) {
    std::vector<std::int64_t> out;
    EXPECT_TRUE(env_.store_
                    ->Read([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(
                          auto gs, ListGrants(tx, GrantFilter{who, include_ended}, clock_.Now()));
                      for (const Grant& g : gs) out.push_back(g.id.value());
                      return Status::Ok();
                    })
                    .ok());
    return out;
  };
  EXPECT_EQ(ids(officer_, true), (std::vector<std::int64_t>{a->value(), c->value()}));
  EXPECT_EQ(ids(staffer_, true), (std::vector<std::int64_t>{b->value()}));
  EXPECT_EQ(ids(AccountId(), true).size(), 4u);  // every account's, the bootstrap grant too
  clock_.Advance(8 * kMicrosPerDay);
  EXPECT_EQ(ids(officer_, false), (std::vector<std::int64_t>{a->value()}));
  EXPECT_EQ(ids(officer_, true), (std::vector<std::int64_t>{a->value(), c->value()}));
}

TEST_P(AccessServiceTest, GrantsEndWithNoJobRunning) {
  ASSERT_TRUE(service_->Bootstrap(owner_, clock_.Now() + 300 * kMicrosPerDay, "new deployment"));
  auto g = service_->AddGrant(owner_, true, Request(officer_, "officer", aldershot_, 7));
  ASSERT_TRUE(g);
  clock_.Advance(7 * kMicrosPerDay - 1);
  EXPECT_TRUE(service_->Explain(officer_, "member.view", aldershot_, clock_.Now())->allow);
  clock_.Advance(1);
  auto ended = service_->Explain(officer_, "member.view", aldershot_, clock_.Now());
  EXPECT_FALSE(ended->allow);
  EXPECT_EQ(ended->rule, "grant.ended");
  clock_.Advance(7 * 7 * kMicrosPerDay);  // seven weeks later
  EXPECT_FALSE(service_->Explain(officer_, "member.view", aldershot_, clock_.Now())->allow);
}

TEST_P(AccessServiceTest, SuspendedAccountsAreDenied) {
  ASSERT_TRUE(service_->Bootstrap(owner_, clock_.Now() + 300 * kMicrosPerDay, "new deployment"));
  ASSERT_TRUE(service_->AddGrant(owner_, true, Request(officer_, "officer", aldershot_, 30)));
  ASSERT_TRUE(env_.store_
                  ->Write([&](store::Tx& tx) {
                    return SetAccountState(tx, officer_, AccountState::kSuspended,
                                           "probing detected", clock_.Now());
                  })
                  .ok());
  auto d = service_->Explain(officer_, "member.view", aldershot_, clock_.Now());
  EXPECT_EQ(d->rule, "account.suspended");
  Status no_reason = env_.store_->Write([&](store::Tx& tx) {
    return SetAccountState(tx, officer_, AccountState::kActive, "", clock_.Now());
  });
  EXPECT_EQ(no_reason.code(), StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Backends, AccessServiceTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::access
