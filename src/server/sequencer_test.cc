#include "server/sequencer.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/checkpoint_log.h"
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
  ASSERT_TRUE(seq.Start().ok());
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

// Start() checks the stored log against the checkpoint log before anything is
// served (issue 13 (d)), on both backends.
class SequencerStartTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    clog_.emplace(std::vector<std::string>{env_.dir_->Join("checkpoints.log")});
  }

  // Runs a sequencer over 25 new events and stops it.
  void Serve() {
    audit::AuditLog log;
    log.SetCheckpointLog(&*clog_);
    CheckpointSequencer seq(*env_.store_, log, *key_, clock_, std::chrono::milliseconds(10));
    ASSERT_TRUE(seq.Start().ok());
    for (int i = 0; i < 25; ++i) {
      ASSERT_TRUE(env_.store_
                      ->Write([&](store::Tx& tx) {
                        audit::Event e;
                        e.at = clock_.Now() + i;
                        e.action = "test.event";
                        return audit::AuditLog::Append(tx, e).status();
                      })
                      .ok());
    }
    ASSERT_TRUE(seq.Stop().ok());
  }

  void Sql(const std::string& sql) {
    ASSERT_TRUE(env_.store_->WriteNow([&](store::Tx& tx) { return tx.Exec(sql).status(); }).ok());
  }

  // A new server's start over the same database and checkpoint log.
  Status Restart() {
    audit::AuditLog log;
    log.SetCheckpointLog(&*clog_);
    CheckpointSequencer seq(*env_.store_, log, *key_, clock_, std::chrono::milliseconds(10));
    Status st = seq.Start();
    EXPECT_TRUE(seq.Stop().ok());
    return st;
  }

  members::testing::RegisterEnv env_;
  std::unique_ptr<audit::SigningKey> key_ = audit::SigningKey::Generate();
  ManualClock clock_{*ParseTimestamp("2026-03-02T10:00:00Z")};
  std::optional<audit::CheckpointLog> clog_;
};

TEST_P(SequencerStartTest, EveryCheckpointReachesTheCheckpointLog) {
  Serve();
  auto file = audit::ReadWitnessFile(clog_->paths()[0]);
  ASSERT_TRUE(file.has_value()) << file.error().ToString();
  ASSERT_FALSE(file->empty());
  EXPECT_EQ(file->back().checkpoint.tree_size, 25u);
  EXPECT_EQ(static_cast<std::int64_t>(file->size()),
            env_.Count("SELECT COUNT(*) FROM audit_checkpoints"));
  EXPECT_TRUE(Restart().ok());
}

TEST_P(SequencerStartTest, RefusesARolledBackDatabase) {
  Serve();
  Sql("DELETE FROM audit_events WHERE seq >= 20");
  Sql("DELETE FROM audit_checkpoints");
  const Status st = Restart();
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("events 20 to 24 were deleted"), std::string::npos) << st.message();
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM audit_checkpoints"), 0);  // nothing signed
}

TEST_P(SequencerStartTest, RefusesAnAlteredEvent) {
  Serve();
  // The row rewritten consistently: columns and body.
  audit::Event e;
  e.seq = 3;
  e.at = clock_.Now() + 3;
  e.action = "test.other";
  ASSERT_TRUE(env_.store_
                  ->WriteNow([&](store::Tx& tx) {
                    return tx
                        .Exec(
                            "UPDATE audit_events SET action = 'test.other', body = $1 "
                            "WHERE seq = 3",
                            {store::Value::Bytes(audit::Encode(e))})
                        .status();
                  })
                  .ok());
  Sql("DELETE FROM audit_checkpoints");
  const Status st = Restart();
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("was altered"), std::string::npos) << st.message();
}

INSTANTIATE_TEST_SUITE_P(Backends, SequencerStartTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace switchboard::server
