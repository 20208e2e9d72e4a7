// The audit log on both storage backends, including tamper tests that edit
// the database directly with SQL.
#include "audit/audit_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "audit/witness.h"
#include "core/testing/status_matchers.h"
#include "schema/migrations.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/testing/pg_cluster.h"
#include "store/testing/temp_dir.h"

namespace switchboard::audit {
namespace {

using ::switchboard::store::Dialect;
using ::switchboard::store::Row;
using ::switchboard::store::Store;
using ::switchboard::store::StoreOptions;
using ::switchboard::store::Tx;
using ::switchboard::store::testing::PgCluster;
using ::switchboard::store::testing::ScopedTempDir;

constexpr Micros kStart = 1'764'000'000'000'000;

Event MakeEvent(int i) {
  Event e;
  e.at = kStart + i;
  e.actor = 100 + i % 3;
  e.action = i % 2 ? "member.read" : "member.update";
  e.decision = "allow";
  e.rule = "caller.assigned_contacts";
  e.grant_id = 7;
  e.members = {1000 + i, 2000 + i};
  e.field_classes = {"name", "contact"};
  e.campaign = 3;
  e.request_id = "req-" + std::to_string(i);
  e.client = "203.0.113.0/24";
  if (i % 5 == 0) e.on_behalf_of = 9;
  return e;
}

class AuditLogTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto target = NewTarget();
    ASSERT_OK(target);
    StoreOptions options;
    options.migrations = schema::AllMigrations();
    options.durable = false;
    auto store = postgres() ? store::OpenPostgresStore(*target, options)
                            : store::OpenSqliteStore(*target, options);
    ASSERT_OK(store);
    store_ = std::move(store).value();
    key_ = SigningKey::Generate();
    auto files = ScopedTempDir::Create("sb-audit-cplog");
    ASSERT_OK(files);
    files_.emplace(std::move(files).value());
    clog_.emplace(std::vector<std::string>{files_->Join("checkpoints.log")});
  }

  void TearDown() override {
    store_.reset();
    for (const std::string& db : databases_) EXPECT_OK((*PgCluster::Shared())->DropDatabase(db));
  }

  bool postgres() const { return GetParam() == "postgres"; }

  Result<std::string> NewTarget() {
    if (postgres()) {
      SB_ASSIGN_OR_RETURN(PgCluster * cluster, PgCluster::Shared());
      SB_ASSIGN_OR_RETURN(auto url, cluster->CreateUniqueDatabase("audit_test"));
      databases_.push_back(url.substr(url.rfind('/') + 1));
      return url;
    }
    SB_ASSIGN_OR_RETURN(auto dir, ScopedTempDir::Create("sb-audit-test"));
    dir_.emplace(std::move(dir));
    return dir_->Join("audit.db");
  }

  // Appends events first .. first+n-1, each in its own Write.
  void AppendEvents(int first, int n) {
    for (int i = first; i < first + n; ++i) {
      ASSERT_OK(store_->Write([&](Tx& tx) { return AuditLog::Append(tx, MakeEvent(i)).status(); }));
    }
  }

  // Appends n events and checkpoints after every `every`.
  void Build(int n, int every) {
    for (int i = 0; i < n; i += every) {
      AppendEvents(i, std::min(every, n - i));
      ASSERT_OK(log_.Checkpoint(*store_, *key_, clock_));
      clock_.Advance(kMicrosPerSecond);
    }
  }

  VerifyReport Verify(const VerifyOptions& options = {}) {
    VerifyReport report;
    EXPECT_OK(store_->Read([&](Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(report, AuditLog::Verify(tx, key_->verify_key(), options));
      return Status::Ok();
    }));
    return report;
  }

  // Verification with the checkpoint log, as `audit verify` does by default.
  VerifyReport VerifyWithLog() {
    VerifyOptions options;
    auto files = clog_->ReadAll();
    EXPECT_OK(files);
    if (files) options.checkpoint_log = std::move(files).value();
    return Verify(options);
  }

  const std::string& LogPath() const { return clog_->paths()[0]; }

  std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // The stored checkpoints, oldest first.
  std::vector<SignedCheckpoint> Stored() {
    std::vector<SignedCheckpoint> out;
    EXPECT_OK(store_->Read([&](Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(out, AuditLog::Checkpoints(tx));
      return Status::Ok();
    }));
    return out;
  }

  // The events' actions and rules, in order.
  std::vector<std::pair<std::string, std::string>> ActionsAndRules() {
    std::vector<std::pair<std::string, std::string>> out;
    EXPECT_OK(store_->Read([&](Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(auto events, AuditLog::Query(tx, {}));
      for (const Event& e : events) out.emplace_back(e.action, e.rule);
      return Status::Ok();
    }));
    return out;
  }

  // Alters event `seq` the way a careful attacker would: its columns and its
  // body together, so that the row agrees with itself.
  void AlterConsistently(int seq) {
    Event e = MakeEvent(seq);
    e.seq = seq;
    e.decision = "deny";
    Sql("UPDATE audit_events SET decision = 'deny', body = $1 WHERE seq = $2",
        {store::Value::Bytes(Encode(e)), std::int64_t{seq}});
  }

  // Runs SQL directly against the database, as an attacker with write access would.
  void Sql(const std::string& sql, std::initializer_list<store::Value> params = {}) {
    std::vector<store::Value> copy(params);
    ASSERT_OK(store_->WriteNow(
        [&](Tx& tx) { return tx.Exec(sql, store::Params(copy.data(), copy.size())).status(); }));
  }

  std::int64_t Count(const std::string& table) {
    std::int64_t n = -1;
    EXPECT_OK(store_->Read([&](Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(n, tx.QueryInt("SELECT COUNT(*) FROM " + table));
      return Status::Ok();
    }));
    return n;
  }

  std::optional<ScopedTempDir> dir_;
  std::optional<ScopedTempDir> files_;  // the checkpoint log's directory
  std::optional<CheckpointLog> clog_;
  std::vector<std::string> databases_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<SigningKey> key_;
  ManualClock clock_{kStart};
  AuditLog log_;
};

TEST(EncodeTest, CanonicalSortedJson) {
  Event e;
  e.seq = 0;
  e.at = 1700000000000000;
  e.actor = 7;
  e.action = "member.read";
  e.members = {12, 40};
  EXPECT_EQ(Encode(e),
            R"({"action":"member.read","actor":7,"at":1700000000000000,"members":[12,40],)"
            R"("seq":0,"v":1})");
  Event full = MakeEvent(5);
  full.seq = 5;
  const std::string text = Encode(full);
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j.dump(), text);  // nlohmann sorts keys too: the same bytes
  EXPECT_EQ(j["on_behalf_of"], 9);
  EXPECT_EQ(j["field_classes"][1], "contact");
}

TEST(EncodeTest, ValidationKeepsPersonalDataOut) {
  Event e = MakeEvent(1);
  EXPECT_TRUE(ValidateEvent(e).ok());
  e.rule = "jane@example.org";
  EXPECT_FALSE(ValidateEvent(e).ok());
  e = MakeEvent(1);
  e.request_id = "+44 7700 900123";
  EXPECT_FALSE(ValidateEvent(e).ok());
  e = MakeEvent(1);
  e.client = "host.example.org";
  EXPECT_FALSE(ValidateEvent(e).ok());
  e = MakeEvent(1);
  e.action = "";
  EXPECT_FALSE(ValidateEvent(e).ok());
  e = MakeEvent(1);
  e.field_classes = {"a,b"};
  EXPECT_FALSE(ValidateEvent(e).ok());
}

TEST_P(AuditLogTest, AppendCheckpointVerify) {
  Build(25, 10);
  EXPECT_EQ(log_.size(), 25u);
  EXPECT_EQ(Count("audit_events"), 25);
  EXPECT_EQ(Count("audit_checkpoints"), 3);
  const VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.events, 25u);
  EXPECT_EQ(r.checkpoints, 3u);
  EXPECT_EQ(r.root, log_.root());
  // A second checkpoint without new events is the same one.
  auto again = log_.Checkpoint(*store_, *key_, clock_);
  ASSERT_OK(again);
  EXPECT_EQ(again->checkpoint.tree_size, 25u);
  EXPECT_EQ(again->checkpoint.previous_size, 20u);
  EXPECT_EQ(Count("audit_checkpoints"), 3);
}

TEST_P(AuditLogTest, RolledBackAppendLeavesNoTrace) {
  AppendEvents(0, 3);
  ASSERT_OK(log_.Sync(*store_));
  const Hash before = log_.root();
  Status st = store_->Write([&](Tx& tx) -> Status {
    auto a = AuditLog::Append(tx, MakeEvent(99));
    if (!a) return a.error();
    EXPECT_EQ(a->seq, 3);
    return Status::Aborted("the action failed");
  });
  EXPECT_EQ(st.code(), StatusCode::kAborted);
  ASSERT_OK(log_.Sync(*store_));
  EXPECT_EQ(log_.size(), 3u);
  EXPECT_EQ(log_.root(), before);
  EXPECT_EQ(Count("audit_events"), 3);
  // The next append takes the number the rolled-back one had.
  std::int64_t seq = -1;
  ASSERT_OK(store_->Write([&](Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(auto a, AuditLog::Append(tx, MakeEvent(3)));
    seq = a.seq;
    return Status::Ok();
  }));
  EXPECT_EQ(seq, 3);
  ASSERT_OK(log_.Checkpoint(*store_, *key_, clock_));
  const VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.events, 4u);
}

// Within a group the next seq is kept as a store memo, not read again. A
// group is made here by holding the writer in one operation while four more
// queue behind it: [a, b, c, d] runs without savepoints until b fails after
// its append, is rolled back and runs again with a savepoint each, where c
// fails after its append. Neither rolled-back append may leave a gap or move
// a number; nor may a number kept by one transaction reach the next, after
// another connection (WriteNow) appended.
TEST_P(AuditLogTest, ARollbackInsideAGroupLeavesNoGap) {
  AppendEvents(0, 3);
  std::promise<void> started, release;
  auto blocker = store_->WriteAsync([&](Tx&) {
    started.set_value();
    release.get_future().wait();
    return Status::Ok();
  });
  started.get_future().wait();
  std::atomic<std::int64_t> seq_a{-1}, seq_d{-1};
  auto append = [](Tx& tx, int i, std::atomic<std::int64_t>* seq) -> Status {
    SB_ASSIGN_OR_RETURN(auto prepared, AuditLog::Prepare(MakeEvent(i)));
    SB_ASSIGN_OR_RETURN(Appended a, AuditLog::Append(tx, prepared));
    if (seq) *seq = a.seq;
    return Status::Ok();
  };
  auto a = store_->WriteAsync([&](Tx& tx) { return append(tx, 3, &seq_a); });
  auto b = store_->WriteAsync([&](Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(append(tx, 90, nullptr));
    return Status::Aborted("b failed after its append");
  });
  auto c = store_->WriteAsync([&](Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(append(tx, 91, nullptr));
    return Status::Aborted("c failed after its append");
  });
  auto d = store_->WriteAsync([&](Tx& tx) { return append(tx, 4, &seq_d); });
  release.set_value();
  ASSERT_OK(blocker.get());
  ASSERT_OK(a.get());
  EXPECT_EQ(b.get().code(), StatusCode::kAborted);
  EXPECT_EQ(c.get().code(), StatusCode::kAborted);
  ASSERT_OK(d.get());
  EXPECT_EQ(seq_a, 3);
  EXPECT_EQ(seq_d, 4);
  // Another connection appends 5; the group writer's next append is 6.
  std::int64_t now = -1, next = -1;
  ASSERT_OK(store_->WriteNow([&](Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(Appended x, AuditLog::Append(tx, MakeEvent(5)));
    now = x.seq;
    return Status::Ok();
  }));
  ASSERT_OK(store_->Write([&](Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(Appended x, AuditLog::Append(tx, MakeEvent(6)));
    next = x.seq;
    return Status::Ok();
  }));
  EXPECT_EQ(now, 5);
  EXPECT_EQ(next, 6);
  ASSERT_OK(log_.Checkpoint(*store_, *key_, clock_));
  const VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.events, 7u);
  for (int i = 0; i < 7; ++i) {
    Event stored;
    ASSERT_OK(store_->Read([&](Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(stored, AuditLog::EventAt(tx, i));
      return Status::Ok();
    }));
    Event want = MakeEvent(i);
    want.seq = i;
    EXPECT_EQ(stored, want) << "event " << i;
  }
}

// Prepare() then Append() stores exactly what Append(Event) does: the same
// body (Encode with the seq), the same leaf hash.
TEST_P(AuditLogTest, APreparedEventIsStoredAsEncoded) {
  for (int i = 0; i < 4; ++i) {
    Event e = MakeEvent(i);
    if (i == 2) {
      e = Event();
      e.action = "audit.minimal";  // everything else absent
    }
    if (i == 3) {
      e.members = {1, 22, 333, 4444, 55555};
      e.contest = 5;
      e.message = 77;
    }
    Appended got;
    ASSERT_OK(store_->Write([&](Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(auto prepared, AuditLog::Prepare(e));
      SB_ASSIGN_OR_RETURN(got, AuditLog::Append(tx, prepared));
      return Status::Ok();
    }));
    e.seq = i;
    const std::string want = Encode(e);
    EXPECT_EQ(got.seq, i);
    EXPECT_EQ(got.leaf_hash, LeafHash(want));
    std::string body;
    ASSERT_OK(store_->Read([&](Tx& tx) {
      return tx.Query("SELECT body FROM audit_events WHERE seq = $1", {i}, [&](const Row& row) {
        body = std::string(row.Bytes(0));
        return false;
      });
    }));
    EXPECT_EQ(body, want);
  }
  EXPECT_FALSE(AuditLog::Prepare(Event()).has_value());  // no action
  const VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.reason;
}

TEST_P(AuditLogTest, ConcurrentWritersGetContiguousSeqs) {
  constexpr int kThreads = 8, kEach = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        EXPECT_OK(store_->Write(
            [&](Tx& tx) { return AuditLog::Append(tx, MakeEvent(t * kEach + i)).status(); }));
      }
    });
  }
  for (auto& th : threads) th.join();
  auto cp = log_.Checkpoint(*store_, *key_, clock_);
  ASSERT_OK(cp);
  EXPECT_EQ(cp->checkpoint.tree_size, static_cast<std::uint64_t>(kThreads * kEach));
  const VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.reason;
}

TEST_P(AuditLogTest, ProofsVerifyAgainstCheckpoints) {
  Build(13, 6);  // checkpoints at 6, 12, 13
  std::vector<SignedCheckpoint> cps;
  ASSERT_OK(store_->Read([&](Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(cps, AuditLog::Checkpoints(tx));
    return Status::Ok();
  }));
  ASSERT_EQ(cps.size(), 3u);
  for (const auto& cp : cps) EXPECT_OK(key_->verify_key().Verify(cp));
  ASSERT_OK(store_->Read([&](Tx& tx) -> Status {
    for (const auto& cp : cps) {
      const auto size = static_cast<std::int64_t>(cp.checkpoint.tree_size);
      for (std::int64_t seq = 0; seq < size; ++seq) {
        SB_ASSIGN_OR_RETURN(auto proof, AuditLog::Prove(tx, seq, size));
        Event e = MakeEvent(static_cast<int>(seq));
        e.seq = seq;
        EXPECT_OK(VerifyInclusion(LeafHash(Encode(e)), static_cast<std::uint64_t>(seq),
                                  cp.checkpoint.tree_size, proof, cp.checkpoint.root));
      }
    }
    for (size_t a = 0; a < cps.size(); ++a) {
      for (size_t b = a; b < cps.size(); ++b) {
        const auto& m = cps[a].checkpoint;
        const auto& n = cps[b].checkpoint;
        SB_ASSIGN_OR_RETURN(auto proof,
                            AuditLog::Consistency(tx, static_cast<std::int64_t>(m.tree_size),
                                                  static_cast<std::int64_t>(n.tree_size)));
        EXPECT_OK(VerifyConsistency(m.tree_size, n.tree_size, m.root, n.root, proof));
      }
    }
    EXPECT_FALSE(AuditLog::Prove(tx, 13, 13).has_value());
    EXPECT_FALSE(AuditLog::Prove(tx, 0, 14).has_value());
    return Status::Ok();
  }));
}

TEST_P(AuditLogTest, QueryByMemberActorAndTime) {
  AppendEvents(0, 12);
  ASSERT_OK(store_->Read([&](Tx& tx) -> Status {
    QueryFilter f;
    f.member = 1003;
    SB_ASSIGN_OR_RETURN(auto by_member, AuditLog::Query(tx, f));
    EXPECT_EQ(by_member.size(), 1u);
    if (!by_member.empty()) {
      Event want = MakeEvent(3);
      want.seq = 3;
      EXPECT_TRUE(by_member[0] == want);
    }
    f = {};
    f.actor = 101;
    SB_ASSIGN_OR_RETURN(auto by_actor, AuditLog::Query(tx, f));
    EXPECT_EQ(by_actor.size(), 4u);  // i = 1, 4, 7, 10
    f = {};
    f.from = kStart + 2;
    f.to = kStart + 5;
    SB_ASSIGN_OR_RETURN(auto by_time, AuditLog::Query(tx, f));
    EXPECT_EQ(by_time.size(), 3u);
    if (!by_time.empty()) {
      EXPECT_EQ(by_time[0].seq, 2);
    }
    f.member = 2004;
    SB_ASSIGN_OR_RETURN(auto both, AuditLog::Query(tx, f));
    EXPECT_EQ(both.size(), 1u);
    if (!both.empty()) {
      EXPECT_EQ(both[0].seq, 4);
    }
    return Status::Ok();
  }));
}

// ---- tampering, done with SQL as someone with database access would ----

TEST_P(AuditLogTest, TamperDeleteRow) {
  Build(20, 10);
  Sql("DELETE FROM audit_events WHERE seq = 7");
  const VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 7);
  EXPECT_EQ(r.reason, "event 7 is missing (the next stored event is 8)");
}

TEST_P(AuditLogTest, TamperAlterColumn) {
  Build(20, 10);
  Sql("UPDATE audit_events SET decision = 'deny' WHERE seq = 12");
  const VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 12);
  EXPECT_EQ(r.reason, "event 12 was altered");
}

TEST_P(AuditLogTest, TamperAlterMembersColumn) {
  Build(20, 10);
  Sql("UPDATE audit_events SET members = '1004' WHERE seq = 4");
  const VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 4);
  EXPECT_EQ(r.reason, "event 4 was altered");
}

TEST_P(AuditLogTest, TamperAlterBody) {
  Build(20, 10);
  Event e = MakeEvent(3);
  e.seq = 3;
  e.decision = "deny";
  Sql("UPDATE audit_events SET body = $1 WHERE seq = 3", {store::Value::Bytes(Encode(e))});
  const VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 3);
  EXPECT_EQ(r.reason, "event 3 was altered");
}

TEST_P(AuditLogTest, TamperAlterBodyAndColumnsTogether) {
  Build(20, 10);
  Event e = MakeEvent(13);
  e.seq = 13;
  e.decision = "deny";
  Sql("UPDATE audit_events SET decision = 'deny', body = $1 WHERE seq = 13",
      {store::Value::Bytes(Encode(e))});
  const VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 10);  // the checkpoint at 10 still matched
  EXPECT_EQ(r.reason,
            "an event from 10 to 19 was altered: the checkpoint at size 20 does not match");
}

TEST_P(AuditLogTest, TamperReorder) {
  Build(20, 10);
  Sql("UPDATE audit_events SET seq = -1 WHERE seq = 17");
  Sql("UPDATE audit_events SET seq = 17 WHERE seq = 18");
  Sql("UPDATE audit_events SET seq = 18 WHERE seq = -1");
  const VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 17);
  EXPECT_EQ(r.reason, "event order changed at 17 (the event stored there says it is event 18)");
}

TEST_P(AuditLogTest, TamperTruncateTail) {
  Build(20, 10);
  Sql("DELETE FROM audit_events WHERE seq >= 18");
  const VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 18);
  EXPECT_EQ(r.reason,
            "the audit log in the database ends at event 17, but the checkpoint at size 20 "
            "covers events up to 19: events 18 to 19 were deleted, or the database was rolled "
            "back to an older copy");
}

TEST_P(AuditLogTest, TamperDeleteMiddleCheckpoint) {
  Build(30, 10);
  Sql("DELETE FROM audit_checkpoints WHERE tree_size = 20");
  const VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 30);
  EXPECT_NE(r.reason.find("checkpoint at size 30"), std::string::npos) << r.reason;
}

TEST_P(AuditLogTest, TamperDeleteLatestCheckpointAndTailCaughtByWitness) {
  Build(30, 10);
  VerifyOptions witness;
  witness.external.push_back({"the witness file w", {}});
  ASSERT_OK(store_->Read([&](Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(witness.external[0].checkpoints, AuditLog::Checkpoints(tx));
    return Status::Ok();
  }));
  EXPECT_TRUE(Verify(witness).ok);
  Sql("DELETE FROM audit_checkpoints WHERE tree_size = 30");
  Sql("DELETE FROM audit_events WHERE seq >= 25");
  EXPECT_TRUE(Verify().ok);  // without a witness this cut is invisible
  const VerifyReport r = Verify(witness);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 25);
  EXPECT_EQ(r.reason,
            "the audit log in the database ends at event 24, but the checkpoint at size 30 in "
            "the witness file w covers events up to 29: events 25 to 29 were deleted, or the "
            "database was rolled back to an older copy");
}

// Checkpoints signed before signed notes (format 1, no note) stay as they
// are and verify; the next checkpoint is a note chained to them.
TEST_P(AuditLogTest, LegacyCheckpointsVerifyAndChainToNotes) {
  Build(20, 10);
  for (const SignedCheckpoint& cp : Stored()) {
    const SignedCheckpoint legacy = key_->SignLegacyForTesting(cp.checkpoint);
    Sql("UPDATE audit_checkpoints SET format = 1, note = NULL, signature = $1 WHERE tree_size = "
        "$2",
        {store::Value::Bytes(legacy.signature),
         static_cast<std::int64_t>(cp.checkpoint.tree_size)});
  }
  AppendEvents(20, 5);
  auto next = log_.Checkpoint(*store_, *key_, clock_);
  ASSERT_OK(next);
  EXPECT_EQ(next->format, CheckpointFormat::kSignedNote);
  EXPECT_EQ(next->checkpoint.previous_size, 20u);
  const std::vector<SignedCheckpoint> stored = Stored();
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_EQ(stored[0].format, CheckpointFormat::kLegacy);
  EXPECT_EQ(stored[2].format, CheckpointFormat::kSignedNote);
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.checkpoints, 3u);
  // A legacy checkpoint is not passed off as a note, nor a note as legacy.
  Sql("UPDATE audit_checkpoints SET format = 2 WHERE tree_size = 10", {});
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 10);
  Sql("UPDATE audit_checkpoints SET format = 1 WHERE tree_size = 10", {});
  Sql("UPDATE audit_checkpoints SET format = 1 WHERE tree_size = 25", {});
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 25);
}

TEST_P(AuditLogTest, TheStoredNoteMustAgreeWithItsRow) {
  Build(20, 10);
  const std::vector<SignedCheckpoint> stored = Stored();
  ASSERT_EQ(stored.size(), 2u);
  // A note that verifies on its own, but for another time than the row's.
  Checkpoint other = stored[0].checkpoint;
  other.time += 1;
  Sql("UPDATE audit_checkpoints SET note = $1 WHERE tree_size = 10",
      {FormatSignedNote(key_->Sign(other))});
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 10);
  EXPECT_NE(r.reason.find("its stored note and its row disagree"), std::string::npos) << r.reason;
  Sql("UPDATE audit_checkpoints SET note = 'garbage' WHERE tree_size = 10", {});
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("its stored note is malformed"), std::string::npos) << r.reason;
}

TEST_P(AuditLogTest, TamperForgeCheckpointSignature) {
  Build(20, 10);
  Sql("UPDATE audit_checkpoints SET signature = $1 WHERE tree_size = 10",
      {store::Value::Bytes(std::string(kSignatureBytes, 'x'))});
  const VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 10);
  EXPECT_NE(r.reason.find("checkpoint at size 10: the signature does not verify"),
            std::string::npos)
      << r.reason;
}

TEST_P(AuditLogTest, TamperCheckpointRootResignedWithOtherKey) {
  Build(20, 10);
  auto attacker = SigningKey::Generate();
  Checkpoint cp;
  cp.tree_size = 20;
  cp.root = EmptyRoot();
  cp.time = kStart;
  cp.previous_size = 10;
  SignedCheckpoint forged = attacker->Sign(cp);
  Sql("UPDATE audit_checkpoints SET root = $1, signature = $2 WHERE tree_size = 20",
      {store::Value::Bytes(AsBytes(cp.root)), store::Value::Bytes(forged.signature)});
  const VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 20);
}

// ---- the checkpoint log: copies of every checkpoint outside the database ----

TEST_P(AuditLogTest, EveryCheckpointIsCopiedToTheCheckpointLog) {
  log_.SetCheckpointLog(&*clog_);
  Build(25, 10);
  auto file = ReadWitnessFileFully(LogPath());
  ASSERT_OK(file);
  const std::vector<SignedCheckpoint> stored = Stored();
  ASSERT_EQ(file->checkpoints.size(), 3u);
  ASSERT_EQ(stored.size(), 3u);
  for (size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(FormatWitnessLine(file->checkpoints[i]), FormatWitnessLine(stored[i]));
  }
  EXPECT_EQ(ReadFile(LogPath()).rfind(CheckpointLog::Header(), 0), 0u);
  const VerifyReport r = VerifyWithLog();
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.external_checkpoints, 3u);
  // Nothing new: no new checkpoint, in the database or the file.
  ASSERT_OK(log_.Checkpoint(*store_, *key_, clock_));
  EXPECT_EQ(ReadWitnessFile(LogPath())->size(), 3u);
  EXPECT_EQ(Count("audit_checkpoints"), 3);
}

// Issue 13 (a): an event altered consistently (columns and body), and the
// checkpoints signed after it deleted, passes verification of the database
// alone; the checkpoint log catches it, and nothing signs over it.
TEST_P(AuditLogTest, ConsistentEditWithDeletedCheckpointsIsCaught) {
  log_.SetCheckpointLog(&*clog_);
  Build(30, 10);
  AlterConsistently(13);
  Sql("DELETE FROM audit_checkpoints WHERE tree_size > 10");
  EXPECT_TRUE(Verify().ok);  // the database on its own cannot tell
  const VerifyReport r = VerifyWithLog();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 10);
  EXPECT_EQ(r.reason,
            "an event from 10 to 19 was altered: the checkpoint at size 20 in the "
            "checkpoint log " +
                LogPath() + " does not match");
  // A fresh process (a command, or serve at start) refuses it, and signs nothing.
  AuditLog fresh;
  fresh.SetCheckpointLog(&*clog_);
  EXPECT_OK(fresh.Preflight(*store_, key_->verify_key()));  // the sizes agree
  Status st = fresh.Check(*store_, key_->verify_key());
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("an audit event from 0 to 29 was altered in the database: the "
                              "checkpoint at size 30 in " +
                              LogPath() + " does not match"),
            std::string::npos)
      << st.message();
  AppendEvents(30, 1);
  auto cp = fresh.Checkpoint(*store_, *key_, clock_);
  ASSERT_FALSE(cp.has_value());
  EXPECT_EQ(cp.error().code(), StatusCode::kDataLoss);
  EXPECT_EQ(fresh.integrity().code(), StatusCode::kDataLoss);
  EXPECT_EQ(Count("audit_checkpoints"), 1);
  EXPECT_EQ(ReadWitnessFile(LogPath())->size(), 3u);
}

// Issue 13 (b): the newest events cut off together with the checkpoints
// after them.
TEST_P(AuditLogTest, TailTruncationWithDeletedCheckpointsIsCaught) {
  log_.SetCheckpointLog(&*clog_);
  Build(30, 10);
  Sql("DELETE FROM audit_events WHERE seq >= 25");
  Sql("DELETE FROM audit_checkpoints WHERE tree_size > 20");
  EXPECT_TRUE(Verify().ok);
  const VerifyReport r = VerifyWithLog();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 25);
  EXPECT_EQ(r.reason,
            "the audit log in the database ends at event 24, but the checkpoint at "
            "size 30 in the checkpoint log " +
                LogPath() +
                " covers events up to 29: events 25 to 29 were deleted, or the database "
                "was rolled back to an older copy");
  AuditLog fresh;
  fresh.SetCheckpointLog(&*clog_);
  Status st = fresh.Preflight(*store_, key_->verify_key());
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("events 25 to 29 were deleted"), std::string::npos) << st.message();
  // New events since do not hide the cut: the tree no longer matches.
  AppendEvents(100, 10);
  AuditLog later;
  later.SetCheckpointLog(&*clog_);
  EXPECT_OK(later.Preflight(*store_, key_->verify_key()));
  EXPECT_EQ(later.Check(*store_, key_->verify_key()).code(), StatusCode::kDataLoss);
  EXPECT_FALSE(VerifyWithLog().ok);
}

// Issue 13 (c): one command's events under one checkpoint; the newest event
// deleted (with that checkpoint) is noticed.
TEST_P(AuditLogTest, DeletingTheNewestEventIsCaught) {
  log_.SetCheckpointLog(&*clog_);
  Build(3, 3);
  Sql("DELETE FROM audit_events WHERE seq = 2");
  Sql("DELETE FROM audit_checkpoints");
  EXPECT_TRUE(Verify().ok);
  const VerifyReport r = VerifyWithLog();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 2);
}

TEST_P(AuditLogTest, DeletedCheckpointAloneIsCaught) {
  log_.SetCheckpointLog(&*clog_);
  Build(30, 10);
  Sql("DELETE FROM audit_checkpoints WHERE tree_size = 30");
  EXPECT_TRUE(Verify().ok);
  const VerifyReport r = VerifyWithLog();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, 30);
  EXPECT_EQ(r.reason, "the checkpoint at size 30 in the checkpoint log " + LogPath() +
                          " is missing from the database");
}

// Events deleted while a process holds the tree: it stops signing.
TEST_P(AuditLogTest, TruncationWhileRunningStopsSigning) {
  log_.SetCheckpointLog(&*clog_);
  Build(20, 10);
  AppendEvents(20, 5);
  Sql("DELETE FROM audit_events WHERE seq >= 15");
  auto cp = log_.Checkpoint(*store_, *key_, clock_);
  ASSERT_FALSE(cp.has_value());
  EXPECT_EQ(cp.error().code(), StatusCode::kDataLoss);
  AppendEvents(15, 10);
  EXPECT_EQ(log_.Checkpoint(*store_, *key_, clock_).error().code(), StatusCode::kDataLoss);
  EXPECT_EQ(Count("audit_checkpoints"), 2);
}

TEST_P(AuditLogTest, AMissingCheckpointLogIsRefusedOnceCheckpointsExist) {
  // No checkpoint yet: the file is created.
  AuditLog first;
  first.SetCheckpointLog(&*clog_);
  AppendEvents(0, 3);
  ASSERT_OK(first.Preflight(*store_, key_->verify_key()));
  EXPECT_TRUE(std::filesystem::exists(LogPath()));
  ASSERT_OK(first.Checkpoint(*store_, *key_, clock_));
  // Deleted afterwards: refused, and verification fails.
  std::filesystem::remove(LogPath());
  AuditLog fresh;
  fresh.SetCheckpointLog(&*clog_);
  Status st = fresh.Preflight(*store_, key_->verify_key());
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("switchboard audit adopt"), std::string::npos) << st.message();
  EXPECT_FALSE(std::filesystem::exists(LogPath()));
  EXPECT_EQ(fresh.Checkpoint(*store_, *key_, clock_).error().code(),
            StatusCode::kFailedPrecondition);
  const VerifyReport r = VerifyWithLog();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad, -1);
  EXPECT_NE(r.reason.find("does not exist"), std::string::npos) << r.reason;
}

TEST_P(AuditLogTest, AdoptRecreatesAMissingCheckpointLogOnTheRecord) {
  Build(20, 10);  // a deployment older than checkpoint logs
  AuditLog log;
  log.SetCheckpointLog(&*clog_);
  EXPECT_EQ(log.Preflight(*store_, key_->verify_key()).code(), StatusCode::kFailedPrecondition);
  AuditLog adopting;
  adopting.SetCheckpointLog(&*clog_);
  auto report = AdoptCheckpointLog(*store_, adopting, *clog_, *key_, clock_);
  ASSERT_OK(report);
  EXPECT_EQ(report->created, std::vector<std::string>{LogPath()});
  EXPECT_TRUE(report->replaced.empty());
  const auto events = ActionsAndRules();
  ASSERT_EQ(events.size(), 21u);
  EXPECT_EQ(events.back(),
            std::make_pair(std::string("audit.adopt"), std::string("checkpoint_log.created")));
  auto file = ReadWitnessFile(LogPath());
  ASSERT_OK(file);
  ASSERT_EQ(file->size(), 3u);  // 10, 20, and 21 over the adopt event
  EXPECT_EQ(file->back().checkpoint.tree_size, 21u);
  EXPECT_TRUE(VerifyWithLog().ok) << VerifyWithLog().reason;
  AuditLog after;
  after.SetCheckpointLog(&*clog_);
  EXPECT_OK(after.Check(*store_, key_->verify_key()));
  // Again: nothing to do.
  auto again = AdoptCheckpointLog(*store_, adopting, *clog_, *key_, clock_);
  ASSERT_OK(again);
  EXPECT_EQ(again->kept, std::vector<std::string>{LogPath()});
  EXPECT_EQ(ActionsAndRules().size(), 21u);
}

// A database restored from a backup older than the checkpoint log: refused
// until the operator adopts it; the old log is kept and the loss recorded.
TEST_P(AuditLogTest, AdoptAfterRestoringAnOlderBackup) {
  log_.SetCheckpointLog(&*clog_);
  Build(30, 10);
  const std::string before = ReadFile(LogPath());
  Sql("DELETE FROM audit_events WHERE seq >= 20");  // the backup was taken at 20
  Sql("DELETE FROM audit_checkpoints WHERE tree_size > 20");
  AuditLog fresh;
  fresh.SetCheckpointLog(&*clog_);
  EXPECT_EQ(fresh.Preflight(*store_, key_->verify_key()).code(), StatusCode::kDataLoss);
  clock_.Advance(kMicrosPerSecond);
  AuditLog adopting;
  adopting.SetCheckpointLog(&*clog_);
  auto report = AdoptCheckpointLog(*store_, adopting, *clog_, *key_, clock_);
  ASSERT_OK(report);
  ASSERT_EQ(report->replaced.size(), 1u);
  EXPECT_EQ(report->replaced[0].rfind(LogPath() + ".superseded-", 0), 0u) << report->replaced[0];
  EXPECT_EQ(ReadFile(report->replaced[0]), before);
  EXPECT_EQ(ActionsAndRules().back(),
            std::make_pair(std::string("audit.adopt"), std::string("checkpoint_log.replaced:30")));
  EXPECT_TRUE(VerifyWithLog().ok) << VerifyWithLog().reason;
  AuditLog after;
  after.SetCheckpointLog(&*clog_);
  EXPECT_OK(after.Check(*store_, key_->verify_key()));
}

TEST_P(AuditLogTest, AdoptRefusesADatabaseThatFailsOnItsOwn) {
  log_.SetCheckpointLog(&*clog_);
  Build(20, 10);
  Sql("UPDATE audit_events SET decision = 'deny' WHERE seq = 12");
  AuditLog adopting;
  adopting.SetCheckpointLog(&*clog_);
  auto report = AdoptCheckpointLog(*store_, adopting, *clog_, *key_, clock_);
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(report.error().message().find("event 12 was altered"), std::string::npos);
  EXPECT_EQ(Count("audit_events"), 20);
}

TEST_P(AuditLogTest, OnlyATornLastLineIsTolerated) {
  log_.SetCheckpointLog(&*clog_);
  Build(20, 10);
  const std::string whole = FormatWitnessLine(Stored().back());
  {
    std::ofstream out(LogPath(), std::ios::app | std::ios::binary);
    out << whole.substr(0, whole.size() / 2);  // a crash in the middle of a write
  }
  VerifyReport r = VerifyWithLog();
  EXPECT_TRUE(r.ok) << r.reason;
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("cut short"), std::string::npos);
  AuditLog fresh;
  fresh.SetCheckpointLog(&*clog_);
  EXPECT_OK(fresh.Check(*store_, key_->verify_key()));
  // The next checkpoint cuts the torn line off and appends after it.
  AppendEvents(20, 5);
  ASSERT_OK(fresh.Checkpoint(*store_, *key_, clock_));
  auto file = ReadWitnessFileFully(LogPath());
  ASSERT_OK(file);
  EXPECT_FALSE(file->torn_tail);
  ASSERT_EQ(file->checkpoints.size(), 3u);
  EXPECT_EQ(file->checkpoints.back().checkpoint.tree_size, 25u);
  EXPECT_TRUE(VerifyWithLog().notes.empty());
  // A damaged line anywhere else fails verification.
  std::string text = ReadFile(LogPath());
  size_t after_first = 0;
  for (int lines = 0; lines < 4; ++lines) after_first = text.find('\n', after_first) + 1;
  text.insert(after_first, "20 garbage\n");  // after the header and the first checkpoint
  {
    std::ofstream out(LogPath(), std::ios::trunc | std::ios::binary);
    out << text;
  }
  r = VerifyWithLog();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("is corrupt"), std::string::npos) << r.reason;
}

// A crash after the database committed a checkpoint but before the file got
// it: verification passes, and the next checkpoint copies it over.
TEST_P(AuditLogTest, TheCheckpointLogCatchesUpAfterACrash) {
  Build(10, 10);  // signed without the checkpoint log: as if the copy never happened
  ASSERT_OK(clog_->CreateMissing());
  EXPECT_TRUE(VerifyWithLog().ok);
  AuditLog restarted;
  restarted.SetCheckpointLog(&*clog_);
  auto cp = restarted.Checkpoint(*store_, *key_, clock_);
  ASSERT_OK(cp);
  EXPECT_EQ(cp->checkpoint.tree_size, 10u);
  auto file = ReadWitnessFile(LogPath());
  ASSERT_OK(file);
  ASSERT_EQ(file->size(), 1u);
  EXPECT_EQ(FormatWitnessLine((*file)[0]), FormatWitnessLine(Stored()[0]));
  EXPECT_EQ(Count("audit_checkpoints"), 1);
}

TEST_P(AuditLogTest, EveryFileOfTheCheckpointLogIsWritten) {
  CheckpointLog two({files_->Join("a.log"), files_->Join("b.log")});
  log_.SetCheckpointLog(&two);
  Build(20, 10);
  EXPECT_EQ(ReadFile(files_->Join("a.log")), ReadFile(files_->Join("b.log")));
  EXPECT_EQ(ReadWitnessFile(files_->Join("b.log"))->size(), 2u);
  // One file rolled back with the database is still caught by the other.
  std::string a = ReadFile(files_->Join("a.log"));
  a.resize(a.rfind('\n', a.size() - 2) + 1);  // drop its last line
  {
    std::ofstream out(files_->Join("a.log"), std::ios::trunc | std::ios::binary);
    out << a;
  }
  Sql("DELETE FROM audit_events WHERE seq >= 10");
  Sql("DELETE FROM audit_checkpoints WHERE tree_size > 10");
  AuditLog fresh;
  fresh.SetCheckpointLog(&two);
  Status st = fresh.Preflight(*store_, key_->verify_key());
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("b.log"), std::string::npos) << st.message();
}

TEST_P(AuditLogTest, ACheckpointLogSignedByAnotherKeyIsRefused) {
  log_.SetCheckpointLog(&*clog_);
  Build(10, 10);
  auto other = SigningKey::Generate();
  Checkpoint forged;
  forged.tree_size = 5;
  forged.root = EmptyRoot();
  ASSERT_OK(AppendToWitnessFile(LogPath(), {other->Sign(forged)}));
  AuditLog fresh;
  fresh.SetCheckpointLog(&*clog_);
  EXPECT_EQ(fresh.Preflight(*store_, key_->verify_key()).code(), StatusCode::kDataLoss);
  EXPECT_FALSE(VerifyWithLog().ok);
}

// A witness holding checkpoint 20 checks an export of what came after:
// signed, and each tree a prefix of the next.
TEST_P(AuditLogTest, AWitnessExportProvesTheLogOnlyGrew) {
  Build(40, 10);  // checkpoints at 10, 20, 30, 40
  WitnessExport all, after20;
  ASSERT_OK(store_->Read([&](Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(all, MakeWitnessExport(tx, 0));
    SB_ASSIGN_OR_RETURN(after20, MakeWitnessExport(tx, 20));
    EXPECT_EQ(MakeWitnessExport(tx, 41).status().code(), StatusCode::kInvalidArgument);
    return Status::Ok();
  }));
  ASSERT_EQ(all.entries.size(), 4u);
  ASSERT_EQ(after20.entries.size(), 2u);
  EXPECT_EQ(after20.entries[0].consistency_from, 20u);
  EXPECT_EQ(after20.entries[1].consistency_from, 30u);
  // Through its text form, as a witness receives it.
  auto parsed = ParseWitnessExport(FormatWitnessExport(after20, key_->verify_key().VKey()));
  ASSERT_OK(parsed);
  const SignedCheckpoint held = all.entries[1].checkpoint;  // 20 events
  ASSERT_EQ(held.checkpoint.tree_size, 20u);
  auto checked = CheckWitnessExport(held, *parsed, key_->verify_key());
  ASSERT_OK(checked);
  ASSERT_EQ(checked->accepted.size(), 2u);
  EXPECT_EQ(checked->accepted.back().checkpoint.tree_size, 40u);
  // The whole export: the older ones are skipped, the newer checked.
  checked = CheckWitnessExport(held, all, key_->verify_key());
  ASSERT_OK(checked);
  EXPECT_EQ(checked->older, 2u);
  EXPECT_EQ(checked->accepted.size(), 2u);
  // Nothing held yet: the first is taken on its signature, the rest chained.
  checked = CheckWitnessExport(std::nullopt, all, key_->verify_key());
  ASSERT_OK(checked);
  EXPECT_EQ(checked->accepted.size(), 4u);
  // Another key's checkpoints are refused.
  auto other = SigningKey::Generate();
  EXPECT_EQ(CheckWitnessExport(std::nullopt, all, other->verify_key()).status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(CheckWitnessExport(held, all, other->verify_key()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseWitnessExport("{\"format\": \"other\"}").has_value());
  EXPECT_FALSE(ParseWitnessExport("not json").has_value());
}

TEST_P(AuditLogTest, AWitnessRefusesAlteredProofsAndARewrittenLog) {
  Build(40, 10);
  WitnessExport after20;
  SignedCheckpoint held;
  ASSERT_OK(store_->Read([&](Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(after20, MakeWitnessExport(tx, 20));
    SB_ASSIGN_OR_RETURN(auto cps, AuditLog::Checkpoints(tx));
    held = cps[1];
    return Status::Ok();
  }));
  const VerifyKey& vk = key_->verify_key();
  // Each hash of each proof, one bit changed.
  for (size_t i = 0; i < after20.entries.size(); ++i) {
    for (size_t k = 0; k < after20.entries[i].consistency.size(); ++k) {
      WitnessExport bad = after20;
      bad.entries[i].consistency[k][k % kHashBytes] ^= 1;
      EXPECT_EQ(CheckWitnessExport(held, bad, vk).status().code(), StatusCode::kDataLoss)
          << i << "/" << k;
    }
    WitnessExport cut = after20;
    cut.entries[i].consistency.pop_back();
    EXPECT_EQ(CheckWitnessExport(held, cut, vk).status().code(), StatusCode::kDataLoss);
  }
  // A proof from another size than the held one.
  WitnessExport shifted = after20;
  shifted.entries[0].consistency_from = 10;
  EXPECT_EQ(CheckWitnessExport(held, shifted, vk).status().code(), StatusCode::kDataLoss);
  // A checkpoint left out of the middle.
  WitnessExport gap = after20;
  gap.entries.erase(gap.entries.begin());
  gap.entries[0].consistency_from = 20;
  EXPECT_EQ(CheckWitnessExport(held, gap, vk).status().code(), StatusCode::kDataLoss);

  // The log rewritten (event 5 changed, the checkpoints deleted) and signed
  // again with the same key, as someone holding the server would.
  Event e = MakeEvent(5);
  e.seq = 5;
  e.decision = "deny";
  Sql("UPDATE audit_events SET decision = 'deny', body = $1 WHERE seq = 5",
      {store::Value::Bytes(Encode(e))});
  Sql("DELETE FROM audit_checkpoints");
  AppendEvents(40, 10);
  AuditLog rewriting;
  ASSERT_OK(rewriting.Checkpoint(*store_, *key_, clock_));
  WitnessExport forged;
  ASSERT_OK(store_->Read([&](Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(forged, MakeWitnessExport(tx, 20));
    return Status::Ok();
  }));
  ASSERT_EQ(forged.entries.size(), 1u);
  ASSERT_OK(vk.Verify(forged.entries[0].checkpoint));   // validly signed,
  auto checked = CheckWitnessExport(held, forged, vk);  // but not an extension
  ASSERT_FALSE(checked.has_value());
  EXPECT_EQ(checked.error().code(), StatusCode::kDataLoss);
  EXPECT_NE(checked.error().message().find("rewritten"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, AuditLogTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace switchboard::audit
