#include "access/policy/grant_rules.h"

#include <gtest/gtest.h>

namespace switchboard::access {
namespace {

// nation(1) > London(2) > Hackney(4) > branch(6); nation > Wales(3) > Anglesey(5)
members::OrgTree Tree() {
  return std::move(
      members::OrgTree::Build({{UnitId(1), "UK", "UK", "nation", UnitId()},
                               {UnitId(2), "LON", "London", "region", UnitId(1)},
                               {UnitId(3), "WAL", "Wales", "region", UnitId(1)},
                               {UnitId(4), "E1", "Hackney", "constituency", UnitId(2)},
                               {UnitId(5), "W1", "Anglesey", "constituency", UnitId(3)},
                               {UnitId(6), "E1-B1", "Hackney branch", "branch", UnitId(4)}})
          .value());
}

class GrantRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_ = std::move(ParsePolicy(DefaultPolicyToml(), "policy").value());
    // Account 1 owns the deployment; account 2 administers London only.
    owner_grants_ = {{GrantId(1), AccountId(1), "owner", UnitId(1), "run the party", t0_, t1_,
                      AccountId(), "bootstrap", "direct", 0, 0, true}};
    london_grants_ = {{GrantId(2), AccountId(2), "owner", UnitId(2), "London office", t0_,
                       t0_ + 90 * kMicrosPerDay, AccountId(1), "r", "direct", 0, 0, true}};
    owner_ = {AccountId(1), AccountState::kActive, false, true, owner_grants_};
    london_ = {AccountId(2), AccountState::kActive, false, true, london_grants_};
    nobody_ = {AccountId(9), AccountState::kActive, false, true, {}};
  }
  GrantRequest Officer(UnitId scope) {
    return {AccountId(5),        "officer", scope,
            "local organising",  now_,      now_ + 30 * kMicrosPerDay,
            "elected secretary", "direct",  0};
  }
  Micros t0_ = *ParseTimestamp("2026-01-01T00:00:00Z");
  Micros t1_ = *ParseTimestamp("2026-12-31T00:00:00Z");
  Micros now_ = *ParseTimestamp("2026-02-01T12:00:00Z");
  Policy policy_;
  members::OrgTree tree_ = Tree();
  std::vector<Grant> owner_grants_, london_grants_;
  Principal owner_, london_, nobody_;
};

TEST_F(GrantRulesTest, OwnerGrantsAnOfficer) {
  auto c = CheckGrantRequest(policy_, tree_, owner_, Officer(UnitId(4)), now_);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_FALSE(c->needs_second_approver);
  EXPECT_EQ(c->granted_under, GrantId(1));
}

TEST_F(GrantRulesTest, NobodyGrantsToThemselves) {
  GrantRequest r = Officer(UnitId(4));
  r.account = AccountId(1);
  auto c = CheckGrantRequest(policy_, tree_, owner_, r, now_);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(c.error().message().find("themselves"), std::string::npos);
}

TEST_F(GrantRulesTest, NobodyGrantsBeyondTheirScope) {
  EXPECT_TRUE(CheckGrantRequest(policy_, tree_, london_, Officer(UnitId(6)), now_));
  auto c = CheckGrantRequest(policy_, tree_, london_, Officer(UnitId(5)), now_);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), StatusCode::kPermissionDenied);
  auto wider = CheckGrantRequest(policy_, tree_, london_, Officer(UnitId(1)), now_);
  ASSERT_FALSE(wider);
  EXPECT_EQ(wider.error().code(), StatusCode::kPermissionDenied);
}

TEST_F(GrantRulesTest, NobodyGrantsARoleTheyDoNotHold) {
  // An officer holds no grant.manage and cannot pass on more than they have.
  std::vector<Grant> g = {{GrantId(7), AccountId(7), "officer", UnitId(4), "x", t0_, t1_,
                           AccountId(1), "r", "direct", 0, 0, true}};
  Principal officer{AccountId(7), AccountState::kActive, false, false, g};
  auto c = CheckGrantRequest(policy_, tree_, officer, Officer(UnitId(4)), now_);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), StatusCode::kPermissionDenied);
  // An admin manages grants but holds no member role, so cannot hand one out.
  std::vector<Grant> a = {{GrantId(8), AccountId(8), "admin", UnitId(1), "x", t0_, t1_,
                           AccountId(1), "r", "direct", 0, 0, true}};
  Principal admin{AccountId(8), AccountState::kActive, false, true, a};
  auto d = CheckGrantRequest(policy_, tree_, admin, Officer(UnitId(4)), now_);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("do not hold role officer"), std::string::npos)
      << d.error().message();
  EXPECT_FALSE(CheckGrantRequest(policy_, tree_, nobody_, Officer(UnitId(4)), now_));
}

TEST_F(GrantRulesTest, EveryGrantEndsWithinTheRoleLimit) {
  GrantRequest r = Officer(UnitId(4));
  r.not_after = 0;
  EXPECT_EQ(CheckGrantRequest(policy_, tree_, owner_, r, now_).error().code(),
            StatusCode::kInvalidArgument);
  r = Officer(UnitId(4));
  r.role = "caller";
  r.not_after = r.not_before + 85 * kMicrosPerDay;  // callers: at most 84 days
  auto c = CheckGrantRequest(policy_, tree_, owner_, r, now_);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("84 days"), std::string::npos);
  r = Officer(UnitId(4));
  r.not_after = now_ - 1;
  r.not_before = now_ - 2;
  EXPECT_FALSE(CheckGrantRequest(policy_, tree_, owner_, r, now_));
  r = Officer(UnitId(4));
  r.purpose = "";
  EXPECT_FALSE(CheckGrantRequest(policy_, tree_, owner_, r, now_));
}

TEST_F(GrantRulesTest, ADelegatedGrantCannotOutlastTheGranters) {
  GrantRequest r = Officer(UnitId(4));
  r.not_after = t0_ + 100 * kMicrosPerDay;  // London's own grant ends at day 90
  auto c = CheckGrantRequest(policy_, tree_, london_, r, now_);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("outlast"), std::string::npos);
}

TEST_F(GrantRulesTest, DerivedGrantsCannotOutliveTheirSource) {
  GrantRequest r = Officer(UnitId(4));
  r.role = "caller";
  r.source = "campaign:12";
  r.source_end = now_ + 10 * kMicrosPerDay;
  r.not_after = now_ + 11 * kMicrosPerDay;
  auto c = CheckGrantRequest(policy_, tree_, owner_, r, now_);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("campaign:12"), std::string::npos);
  r.not_after = r.source_end;
  EXPECT_TRUE(CheckGrantRequest(policy_, tree_, owner_, r, now_));
  r.source = "friendship:1";
  EXPECT_FALSE(CheckGrantRequest(policy_, tree_, owner_, r, now_));
}

TEST_F(GrantRulesTest, PrivilegedGrantsNeedASecondApprover) {
  GrantRequest r = Officer(UnitId(4));
  r.role = "membership_admin";
  auto c = CheckGrantRequest(policy_, tree_, owner_, r, now_);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_TRUE(c->needs_second_approver);
  Grant pending{GrantId(30),  r.account, r.role,   r.scope, r.purpose, r.not_before, r.not_after,
                AccountId(1), r.reason,  "direct", 0,       0,         false};
  // Not the granter, not the grantee; someone with grant.manage over the scope.
  EXPECT_EQ(CheckApproval(policy_, tree_, owner_, pending, now_).code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(CheckApproval(policy_, tree_, london_, pending, now_).ok());
  EXPECT_EQ(CheckApproval(policy_, tree_, nobody_, pending, now_).code(),
            StatusCode::kPermissionDenied);
  Principal grantee{r.account, AccountState::kActive, false, true, owner_grants_};
  EXPECT_EQ(CheckApproval(policy_, tree_, grantee, pending, now_).code(),
            StatusCode::kPermissionDenied);
  // Until approved, the grant allows nothing.
  std::vector<Grant> gs = {pending};
  Principal holder{r.account, AccountState::kActive, false, true, gs};
  Decision d = Decide(policy_, tree_, holder, "member.export", Target{UnitId(4)}, now_);
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.rule, "grant.pending_approval");
}

TEST_F(GrantRulesTest, Revocation) {
  Grant g{GrantId(40),  AccountId(5), "officer", UnitId(5), "x", t0_, t1_,
          AccountId(1), "r",          "direct",  0,         0,   true};
  EXPECT_TRUE(CheckRevocation(policy_, tree_, owner_, g, now_).ok());    // the granter
  EXPECT_FALSE(CheckRevocation(policy_, tree_, london_, g, now_).ok());  // Wales is not theirs
  Principal self{AccountId(5), AccountState::kActive, false, false, {}};
  EXPECT_TRUE(CheckRevocation(policy_, tree_, self, g, now_).ok());  // give up your own
  g.revoked_at = now_;
  EXPECT_EQ(CheckRevocation(policy_, tree_, owner_, g, now_).code(),
            StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace switchboard::access
