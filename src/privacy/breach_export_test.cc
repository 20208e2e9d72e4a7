// A breach scoped to an export's file: the affected members are exactly the
// members in it, counted by the field classes of its columns, with neither
// the export's own canaries nor the register's in the count. Both backends.
#include <gtest/gtest.h>

#include <set>

#include "privacy/breach.h"
#include "privacy/export_testing.h"

namespace switchboard::privacy {
namespace {

class BreachExportTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam(), 150);
    if (HasFatalFailure()) return;
    alice_ = env_.NewAccount("alice", "membership_admin");
    bob_ = env_.NewAccount("bob", "membership_admin");
  }

  std::set<std::int64_t> Ids(const std::string& sql) {
    std::set<std::int64_t> out;
    EXPECT_TRUE(env_.reg_.store_
                    ->Read([&](store::Tx& tx) {
                      return tx.Query(sql, {}, [&](const store::Row& r) {
                        out.insert(r.Int(0));
                        return true;
                      });
                    })
                    .ok());
    return out;
  }

  access::Acting Dpo() {
    access::Acting who;
    who.now = env_.clock_.Now();
    who.request_id = "breach";
    return who;
  }

  Result<Breach> Affected(BreachId id, AffectedScope scope) {
    Breach b;
    Status st = env_.reg_.store_->Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(b, ComputeAffected(tx, Dpo(), id, scope));
      return Status::Ok();
    });
    if (!st.ok()) return st;
    return b;
  }

  testing::ExportEnv env_;
  AccountId alice_, bob_;
};

TEST_P(BreachExportTest, TheAffectedMembersAreExactlyTheExportsRows) {
  // One member of the register is a canary planted before the export.
  const std::set<std::int64_t> everyone = Ids("SELECT id FROM members");
  ASSERT_EQ(everyone.size(), 150u);
  const std::int64_t planted = *everyone.begin();
  ASSERT_TRUE(env_.reg_.store_
                  ->Write([&](store::Tx& tx) {
                    return tx
                        .Exec(
                            "INSERT INTO canaries (member_id, planted_at, purpose) "
                            "VALUES ($1, $2, 'unit')",
                            {planted, env_.clock_.Now()})
                        .status();
                  })
                  .ok());
  ExportId id;
  const std::string csv = env_.Make(alice_, bob_, &id);
  ASSERT_FALSE(csv.empty());
  ExportRecord rec = *env_.service_->Get(id);
  ASSERT_EQ(rec.member_rows, 150);  // the export holds the planted canary too
  ASSERT_GE(rec.canary_rows, 40);
  size_t lines = 0;
  for (char c : csv) lines += c == '\n';
  ASSERT_EQ(static_cast<std::int64_t>(lines), 1 + rec.member_rows + rec.canary_rows);

  BreachId breach;
  ASSERT_TRUE(env_.reg_.store_
                  ->Write([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(
                        breach, RecordBreach(tx, Dpo(),
                                             {"The spring appeal's mailing file was posted on a "
                                              "forum.",
                                              "names, contact details", "members", "", ""},
                                             env_.clock_.Now()));
                    return Status::Ok();
                  })
                  .ok());
  auto b = Affected(breach, {"export", id.value(), 0, 0});
  ASSERT_TRUE(b) << b.error().ToString();
  // Everyone in the file but the register's canary; the export's own 40+
  // synthetic rows are no members at all.
  std::set<std::int64_t> expected = everyone;
  expected.erase(planted);
  EXPECT_EQ(b->affected, static_cast<std::int64_t>(expected.size()));
  std::set<std::int64_t> got;
  ASSERT_TRUE(env_.reg_.store_
                  ->Read([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(auto list, AffectedMembers(tx, breach));
                    for (const auto& m : list) got.insert(m.member);
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(got, expected);
  // Counted by the classes of the file's columns: every member had all of them.
  ASSERT_TRUE(b->scope);
  EXPECT_EQ(b->scope->kind, "export");
  EXPECT_EQ(b->scope->from, rec.produced_at);
  ASSERT_FALSE(b->counts.empty());
  EXPECT_TRUE(b->counts.contains("contact"));
  EXPECT_TRUE(b->counts.contains("name"));
  for (const auto& [c, n] : b->counts) EXPECT_EQ(n, b->affected) << c;
  const std::string draft = DraftForRegulator(*b, "The Party", "dpo@example.org");
  EXPECT_NE(draft.find("export file produced at " + FormatTimestamp(rec.produced_at)),
            std::string::npos);
  EXPECT_NE(draft.find(std::to_string(b->affected) + " members affected"), std::string::npos);

  // The computation is on the record, naming the export.
  EXPECT_EQ(Ids("SELECT seq FROM audit_events WHERE action = 'breach.affected' AND rule = "
                "'breach:" +
                breach.ToString() + ":export:" + id.ToString() + "'")
                .size(),
            1u);
}

TEST_P(BreachExportTest, AnExportNeverProducedOrUnknownIsRefused) {
  BreachId breach;
  ASSERT_TRUE(env_.reg_.store_
                  ->Write([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(breach, RecordBreach(tx, Dpo(), {"x", "y", "z", "", ""},
                                                             env_.clock_.Now()));
                    return Status::Ok();
                  })
                  .ok());
  auto pending = env_.service_->Request(env_.Ask(alice_));
  ASSERT_TRUE(pending) << pending.error().ToString();
  auto b = Affected(breach, {"export", pending->id.value(), 0, 0});
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code(), StatusCode::kFailedPrecondition);
  b = Affected(breach, {"export", pending->id.value() + 100, 0, 0});
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code(), StatusCode::kNotFound);
  b = Affected(breach, {"leak", 1, 0, 0});
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code(), StatusCode::kInvalidArgument);
  // Nothing was stored by the refusals.
  ASSERT_TRUE(env_.reg_.store_
                  ->Read([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(Breach got, GetBreach(tx, breach));
                    EXPECT_FALSE(got.scope.has_value());
                    return Status::Ok();
                  })
                  .ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, BreachExportTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::privacy
