// Canaries in an imported register, on both backends: N per unit, topped up
// (never doubled) on a re-run, indistinguishable on the member row, and a
// read of one raises the canary alert.
#include "privacy/canary.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include "access/guard/anomaly.h"
#include "access/store/access_store.h"
#include "audit/testing/pairing.h"
#include "members/contact.h"
#include "members/draft.h"
#include "members/testing_env.h"
#include "store/testing/faulty_store.h"

namespace switchboard::privacy {
namespace {

constexpr Micros kNow = 1'780'315'200 * kMicrosPerSecond;

class CanaryTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    env_.SetUp(GetParam());
    // An imported register: two units with members, one without.
    int n = 0;
    for (const char* code : {"E14000530", "E14000530", "E14000531"}) {
      members::MemberDraft d;
      d.base.source = "nationbuilder";
      d.base.external_id = "nb-" + std::to_string(++n);
      d.base.unit = env_.tree_.FindByCode(code)->id;
      d.base.first_name = "Imported";
      d.base.last_name = "Member";
      d.base.postcode_district = "GU11";
      d.email = *members::NormaliseEmail("imported" + std::to_string(n) + "@example.org");
      members::MemberRecord r = members::SealDraft(std::move(d), *env_.sealer_);
      ASSERT_TRUE(env_.store_
                      ->WriteNow([&](store::Tx& tx) {
                        return members::UpsertMember(tx, r, kNow, "import:nationbuilder").status();
                      })
                      .ok());
    }
  }
  std::int64_t Count(const std::string& sql) { return env_.Count(sql); }
  Result<CanaryPlantSummary> Plant(int n) {
    return PlantCanaries(*env_.store_, *env_.sealer_, n, "dpo.example.org", kNow);
  }

  members::testing::RegisterEnv env_;
};

TEST_P(CanaryTest, PlantsNPerUnitAndTopsUp) {
  auto first = Plant(2);
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  EXPECT_EQ(first->units, 2);
  EXPECT_EQ(first->planted, 4);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM canaries"), 4);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM members m JOIN canaries c ON c.member_id = m.id JOIN "
                  "units u ON u.id = m.unit_id WHERE u.code = 'E14000531'"),
            2);
  auto again = Plant(2);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->planted, 0);
  EXPECT_EQ(again->already, 4);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM canaries"), 4);
  auto more = Plant(3);
  ASSERT_TRUE(more.has_value());
  EXPECT_EQ(more->planted, 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM canaries"), 6);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_events WHERE action = 'canary.plant'"), 3);
  // Like the register around them: its source, current, a mobile and an
  // address at the DPO's domain.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM members m JOIN canaries c ON c.member_id = m.id WHERE "
                  "m.source = 'nationbuilder' AND m.status = 'current'"),
            6);
  EXPECT_EQ(Count("SELECT COUNT(DISTINCT p.member_id) FROM contact_points p JOIN canaries c ON "
                  "c.member_id = p.member_id WHERE p.kind = 'phone' AND p.label = 'mobile'"),
            6);
  // Their numbers are in the drama range.
  std::vector<std::string> phones;
  ASSERT_TRUE(
      env_.store_
          ->Read([&](store::Tx& tx) {
            return tx.Query(
                "SELECT p.key_id, p.sealed FROM contact_points p JOIN canaries c ON "
                "c.member_id = p.member_id WHERE p.kind = 'phone'",
                {}, [&](const store::Row& r) {
                  auto open = env_.sealer_->Open(
                      crypto::Sealed{static_cast<std::uint32_t>(r.Int(0)), std::string(r.Bytes(1))},
                      "phone");
                  phones.push_back(open ? *open : "");
                  return true;
                });
          })
          .ok());
  ASSERT_GE(phones.size(), 6u);  // a mobile each, some a landline too
  for (const std::string& p : phones) EXPECT_TRUE(members::IsOfcomDramaNumber(p)) << p;
  EXPECT_FALSE(Plant(0).has_value());
  EXPECT_EQ(PlantCanaries(*env_.store_, *env_.sealer_, 1, "not a domain", kNow).error().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(CanaryTest, ReadingOneRaisesTheCanaryAlert) {
  ASSERT_TRUE(Plant(1).has_value());
  auto policy = access::ParsePolicy(access::DefaultPolicyToml(), "default");
  ASSERT_TRUE(policy);
  access::AnomalyOutcome out;
  ASSERT_TRUE(env_.store_
                  ->Write([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(AccountId acc,
                                        access::CreateAccount(tx, {"reader", "Reader"}, kNow));
                    SB_ASSIGN_OR_RETURN(std::int64_t canary,
                                        tx.QueryInt("SELECT MIN(member_id) FROM canaries"));
                    access::Observation o;
                    o.account = acc;
                    o.capability = "member.view";
                    o.members = {MemberId(canary)};
                    o.now = kNow;
                    SB_ASSIGN_OR_RETURN(out, access::Observe(tx, *policy, o));
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_EQ(out.alerts[0].rule, "anomaly.canary");
  EXPECT_TRUE(out.suspended);
}

// The canaries and their canary.plant event commit together: a failed
// append plants nothing, a failed planting leaves no event.
TEST_P(CanaryTest, PlantingAndItsEventCommitTogether) {
  store::testing::FaultyStore faulty(*env_.store_);
  audit::testing::ExpectPairedOnStore(
      faulty,
      {"canary.plant",
       "INSERT INTO canaries",
       {"SELECT COUNT(*) FROM canaries", "SELECT COUNT(*) FROM members",
        "SELECT COUNT(*) FROM contact_points"},
       nullptr},
      [&](store::Store& s) {
        return PlantCanaries(s, *env_.sealer_, 1, "dpo.example.org", kNow).status();
      });
  EXPECT_EQ(Count("SELECT COUNT(*) FROM canaries"), 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, CanaryTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace switchboard::privacy
