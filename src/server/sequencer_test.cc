#include "server/sequencer.h"

#include <gtest/gtest.h>

#include "audit/checkpoint.h"
#include "members/testing_env.h"

namespace switchboard::server {
namespace {

TEST(CheckpointSequencerTest, StopSignsEverythingAppendedSoFar) {
  members::testing::RegisterEnv env;
  env.SetUp("sqlite");
  auto key = audit::SigningKey::Generate();
  ManualClock clock(*ParseTimestamp("2026-03-02T10:00:00Z"));
  audit::AuditLog log;
  CheckpointSequencer seq(*env.store_, log, *key, clock, std::chrono::milliseconds(10));
  seq.Start();
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(env.store_
                    ->Write([&](store::Tx& tx) {
                      audit::Event e;
                      e.at = clock.Now();
                      e.action = "test.event";
                      return audit::AuditLog::Append(tx, e).status();
                    })
                    .ok());
  }
  ASSERT_TRUE(seq.Stop().ok());
  EXPECT_EQ(seq.failures(), 0u);
  EXPECT_GE(seq.checkpoints_made(), 1u);
  std::vector<audit::SignedCheckpoint> cps;
  ASSERT_TRUE(env.store_
                  ->Read([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(cps, audit::AuditLog::Checkpoints(tx));
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_FALSE(cps.empty());
  EXPECT_EQ(cps.back().checkpoint.tree_size, 25u);
  // Stopping twice does nothing more.
  EXPECT_TRUE(seq.Stop().ok());
}

TEST(CheckpointSequencerTest, NothingAppendedMeansNoNewCheckpoint) {
  members::testing::RegisterEnv env;
  env.SetUp("sqlite");
  auto key = audit::SigningKey::Generate();
  ManualClock clock(*ParseTimestamp("2026-03-02T10:00:00Z"));
  audit::AuditLog log;
  CheckpointSequencer seq(*env.store_, log, *key, clock, std::chrono::milliseconds(10));
  ASSERT_TRUE(env.store_
                  ->Write([&](store::Tx& tx) {
                    audit::Event e;
                    e.at = clock.Now();
                    e.action = "test.event";
                    return audit::AuditLog::Append(tx, e).status();
                  })
                  .ok());
  auto first = seq.CheckpointNow();
  ASSERT_TRUE(first) << first.error().ToString();
  auto second = seq.CheckpointNow();
  ASSERT_TRUE(second);
  EXPECT_EQ(first->checkpoint.tree_size, 1u);
  EXPECT_EQ(first->checkpoint.tree_size, second->checkpoint.tree_size);
  EXPECT_EQ(env.Count("SELECT COUNT(*) FROM audit_checkpoints"), 1);
}

}  // namespace
}  // namespace switchboard::server
