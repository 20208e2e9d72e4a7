#include "members/generate.h"

#include <gtest/gtest.h>

#include "members/contact.h"
#include "members/register.h"
#include "members/testing_env.h"

namespace switchboard::members {
namespace {

class GenerateTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { env_.SetUp(GetParam()); }
  testing::RegisterEnv env_;
  ManualClock clock_{*ParseTimestamp("2026-11-24T12:00:00Z")};
};

TEST_P(GenerateTest, DeterministicSafeAndWithCanaries) {
  GenerateOptions opt;
  opt.count = 3000;
  opt.seed = 7;
  opt.batch_size = 1000;
  auto sum = GenerateMembers(*env_.store_, env_.tree_, *env_.sealer_, opt, clock_);
  ASSERT_TRUE(sum) << sum.error().ToString();
  EXPECT_EQ(sum->members, 3000u);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members"), 3000);
  EXPECT_EQ(sum->branches_created, 650u * 3);
  // One canary per constituency that received members, never more than one.
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM canaries"), static_cast<std::int64_t>(sum->canaries));
  EXPECT_GT(sum->canaries, 600u);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM (SELECT m.unit_id FROM canaries c JOIN members m ON "
                       "m.id = c.member_id GROUP BY m.unit_id HAVING COUNT(*) > 1) x"),
            0);
  // Every phone is in a drama range; every email under a reserved domain.
  int phones = 0, emails = 0;
  Status st = env_.store_->Read([&](store::Tx& tx) {
    return tx.Query(
        "SELECT kind, key_id, sealed FROM contact_points WHERE kind IN ('phone', "
        "'email')",
        {}, [&](const store::Row& r) {
          const std::string kind(r.Text(0));
          auto v = env_.sealer_->Open(
              {static_cast<std::uint32_t>(r.Int(1)), std::string(r.Bytes(2))}, kind);
          EXPECT_TRUE(v);
          if (kind == "phone") {
            ++phones;
            EXPECT_TRUE(IsOfcomDramaNumber(*v)) << "not a drama number";
          } else {
            ++emails;
            const bool reserved = v->ends_with("@example.org") || v->ends_with("@example.com");
            EXPECT_TRUE(reserved) << "not a reserved domain";
          }
          return true;
        });
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_GT(phones, 2000);
  EXPECT_GT(emails, 2500);
  // Realistic spread: most are current, some lapsed, consents vary.
  const auto current = env_.Count("SELECT COUNT(*) FROM members WHERE status = 'current'");
  EXPECT_GT(current, 2000);
  EXPECT_LT(current, 2700);
  EXPECT_GT(env_.Count("SELECT COUNT(*) FROM members WHERE status = 'lapsed'"), 150);
  EXPECT_GT(env_.Count("SELECT COUNT(DISTINCT unit_id) FROM members"), 600);

  // Same seed again: nothing changes.
  std::int64_t hash_sum_before = env_.Count("SELECT COUNT(*) FROM contact_points");
  auto again = GenerateMembers(*env_.store_, env_.tree_, *env_.sealer_, opt, clock_);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->branches_created, 0u);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members"), 3000);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM contact_points"), hash_sum_before);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM consent_events"), 3000);
}

TEST_P(GenerateTest, NeedsConstituencies) {
  OrgTree empty;
  GenerateOptions opt;
  auto sum = GenerateMembers(*env_.store_, empty, *env_.sealer_, opt, clock_);
  ASSERT_FALSE(sum);
  EXPECT_EQ(sum.error().code(), StatusCode::kFailedPrecondition);
}

INSTANTIATE_TEST_SUITE_P(Backends, GenerateTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::members
