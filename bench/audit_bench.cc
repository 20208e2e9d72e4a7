// Audit log throughput (TARGETS.md P2): the machine's SHA-256 baseline, the
// in-memory Merkle tree, durable appends through group commit with checkpoints
// signed every second, and full verification of a 1,000,000-event log, all on
// SQLite (WAL, synchronous=FULL) in the same run.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit_log.h"
#include "audit/checkpoint.h"
#include "audit/checkpoint_log.h"
#include "audit/merkle.h"
#include "schema/migrations.h"
#include "store/sqlite/sqlite_store.h"

namespace switchboard::audit {
namespace {

using store::Store;
using store::StoreOptions;
using store::Tx;

struct Db {
  std::string dir;
  std::unique_ptr<Store> store;
  explicit Db(bool durable) {
    const char* base = std::getenv("SB_BENCH_DIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sb-audit-bench-XXXXXX";
    dir = mkdtemp(tmpl.data());
    StoreOptions o;
    o.migrations = schema::AllMigrations();
    o.durable = durable;
    store = std::move(store::OpenSqliteStore(dir + "/bench.db", o).value());
  }
  ~Db() {
    store.reset();
    std::filesystem::remove_all(dir);
  }
};

// A typical event: about 250 bytes once encoded.
Event SampleEvent(std::int64_t i) {
  Event e;
  e.at = 1'764'000'000'000'000 + i;
  e.actor = 1000 + i % 97;
  e.action = "phonebank.contact.view";
  e.decision = "allow";
  e.rule = "caller.assigned_contacts";
  e.grant_id = 42;
  e.members = {100000 + i % 1'000'000};
  e.field_classes = {"name", "contact.phone"};
  e.campaign = 7;
  e.request_id = "r-" + std::to_string(i) + "-3f9a2c";
  e.client = "203.0.113.0/24";
  return e;
}

// The machine's baseline: SHA-256 of 256-byte inputs.
void BM_Sha256_256B(benchmark::State& state) {
  const std::string input(256, 'a');
  for (auto _ : state) benchmark::DoNotOptimize(Sha256(input));
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * 256);
}
BENCHMARK(BM_Sha256_256B);

// The same through EVP (a fetched digest and a reused context), for comparison.
void BM_Sha256_256B_Evp(benchmark::State& state) {
  const std::string input(256, 'a');
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char out[32];
  for (auto _ : state) {
    EVP_DigestInit_ex2(ctx, md, nullptr);
    EVP_DigestUpdate(ctx, input.data(), input.size());
    EVP_DigestFinal_ex(ctx, out, nullptr);
    benchmark::DoNotOptimize(out);
  }
  EVP_MD_CTX_free(ctx);
  EVP_MD_free(md);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sha256_256B_Evp);

void BM_LeafHash_Event(benchmark::State& state) {
  Event e = SampleEvent(12345);
  e.seq = 12345;
  const std::string body = Encode(e);
  for (auto _ : state) benchmark::DoNotOptimize(LeafHash(body));
  state.SetItemsProcessed(state.iterations());
  state.counters["event_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_LeafHash_Event);

void BM_Encode_Event(benchmark::State& state) {
  Event e = SampleEvent(12345);
  e.seq = 12345;
  for (auto _ : state) benchmark::DoNotOptimize(Encode(e));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Encode_Event);

void BM_CompactTreeAppend(benchmark::State& state) {
  const Hash leaf = LeafHash("leaf");
  CompactTree tree;
  for (auto _ : state) tree.Append(leaf);
  state.SetItemsProcessed(state.iterations());
  benchmark::DoNotOptimize(tree.Root());
}
BENCHMARK(BM_CompactTreeAppend);

// Durable appends: `writers` threads, each appending one event per Store::Write
// (group-committed: many callers' events in one transaction and one fsync),
// while a sequencer thread syncs the tree and signs a checkpoint every
// second, each also appended and synced to a checkpoint log file. Each
// writer prepares its event (AuditLog::Prepare: validated, encoded, hashed
// up to the seq) on its own thread, as the request path does; with the third
// argument 0 it passes the plain Event to Append() inside the transaction
// instead, so that work is done on the writer thread.
void BM_DurableAppend(benchmark::State& state) {
  Db db(/*durable=*/true);
  const int writers = static_cast<int>(state.range(0));
  const int per_writer = static_cast<int>(state.range(1));
  const bool prepare = state.range(2) != 0;
  auto key = SigningKey::Generate();
  SystemClock clock;
  CheckpointLog checkpoint_log({db.dir + "/audit-checkpoints.log"});
  AuditLog log;
  log.SetCheckpointLog(&checkpoint_log);
  std::atomic<std::int64_t> next{0};
  std::uint64_t checkpoints = 0;
  for (auto _ : state) {
    std::atomic<int> failures{0};
    std::atomic<bool> done{false};
    std::mutex mu;
    std::condition_variable cv;
    std::thread sequencer([&] {
      std::unique_lock lock(mu);
      while (!done) {
        cv.wait_for(lock, std::chrono::seconds(1), [&] { return done.load(); });
        if (log.Checkpoint(*db.store, *key, clock).has_value()) ++checkpoints;
      }
    });
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w) {
      threads.emplace_back([&] {
        for (int k = 0; k < per_writer; ++k) {
          Status st;
          if (prepare) {
            auto prepared = AuditLog::Prepare(SampleEvent(next.fetch_add(1)));
            st = prepared.status();
            if (st.ok()) {
              st =
                  db.store->Write([&](Tx& tx) { return AuditLog::Append(tx, *prepared).status(); });
            }
          } else {
            const Event e = SampleEvent(next.fetch_add(1));
            st = db.store->Write([&](Tx& tx) { return AuditLog::Append(tx, e).status(); });
          }
          if (!st.ok()) ++failures;
        }
      });
    }
    for (auto& t : threads) t.join();
    {
      std::lock_guard lock(mu);
      done = true;
    }
    cv.notify_all();
    sequencer.join();
    if (failures) state.SkipWithError("an append failed");
  }
  state.SetItemsProcessed(state.iterations() * writers * per_writer);
  const auto stats = db.store->stats();
  state.counters["appends_per_commit"] =
      static_cast<double>(stats.write_ops) /
      static_cast<double>(std::max<std::uint64_t>(1, stats.write_groups));
  state.counters["checkpoints"] = static_cast<double>(checkpoints);
}
BENCHMARK(BM_DurableAppend)
    ->ArgNames({"writers", "each", "prepared"})
    ->Args({64, 2000, 1})
    ->Args({256, 1000, 1})
    ->Args({1024, 250, 1})
    ->Args({256, 1000, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);

// Full verification (every body re-encoded from its columns and hashed, the
// tree rebuilt, every checkpoint checked, in the database and in the
// checkpoint log) of a 1,000,000-event log.
void BM_VerifyMillion(benchmark::State& state) {
  constexpr std::int64_t kEvents = 1'000'000;
  constexpr std::int64_t kBatch = 20'000;
  Db db(/*durable=*/false);  // the load is set-up, not measured
  auto key = SigningKey::Generate();
  SystemClock clock;
  CheckpointLog checkpoint_log({db.dir + "/audit-checkpoints.log"});
  AuditLog log;
  log.SetCheckpointLog(&checkpoint_log);
  for (std::int64_t i = 0; i < kEvents; i += kBatch) {
    Status st = db.store->WriteNow([&](Tx& tx) -> Status {
      for (std::int64_t k = i; k < i + kBatch; ++k) {
        SB_RETURN_IF_ERROR(AuditLog::Append(tx, SampleEvent(k)).status());
      }
      return Status::Ok();
    });
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      return;
    }
    if ((i / kBatch) % 10 == 9 && !log.Checkpoint(*db.store, *key, clock).has_value()) {
      state.SkipWithError("checkpoint failed");
      return;
    }
  }
  // The floor: reading every column of every row, doing nothing with it.
  {
    const auto t0 = std::chrono::steady_clock::now();
    std::int64_t bytes = 0;
    Status st = db.store->Read([&](Tx& tx) {
      return tx.Query(
          "SELECT seq, at, actor, on_behalf_of, action, decision, rule, grant_id, members, "
          "field_classes, campaign, contest, request_id, client, body FROM audit_events "
          "ORDER BY seq",
          {}, [&](const store::Row& row) {
            for (int c : {0, 1, 2, 3, 7, 10, 11}) bytes += row.IntOr(c, 0);
            for (int c : {4, 5, 6, 8, 9, 12, 13}) {
              if (!row.IsNull(c)) bytes += static_cast<std::int64_t>(row.Text(c).size());
            }
            bytes += static_cast<std::int64_t>(row.Bytes(14).size());
            return true;
          });
    });
    benchmark::DoNotOptimize(bytes);
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
    state.counters["scan_only_ms"] =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  for (auto _ : state) {
    VerifyReport report;
    VerifyOptions options;
    auto files = checkpoint_log.ReadAll();
    if (!files) {
      state.SkipWithError(files.error().ToString().c_str());
      return;
    }
    options.checkpoint_log = std::move(files).value();
    Status st = db.store->Read([&](Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(report, AuditLog::Verify(tx, key->verify_key(), options));
      return Status::Ok();
    });
    if (!st.ok() || !report.ok || report.events != kEvents) {
      state.SkipWithError(("verification failed: " + st.ToString() + " " + report.reason).c_str());
      return;
    }
    state.counters["checkpoints"] = static_cast<double>(report.checkpoints);
    state.counters["logged_checkpoints"] = static_cast<double>(report.external_checkpoints);
  }
  state.SetItemsProcessed(state.iterations() * kEvents);
}
BENCHMARK(BM_VerifyMillion)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

// The proofs of a subject-access report (privacy/sar.h): one member named in
// 5,000 events of a 100,000-event log, every event's inclusion proof in the
// newest checkpoint, from one read of the leaves (AuditLog::LoadTree). The
// counter one_prove_ms is a single AuditLog::Prove, the cost per event before.
void BM_ProofsForOneMember(benchmark::State& state) {
  constexpr std::int64_t kEvents = 100'000;
  constexpr std::int64_t kEvery = 20;  // 5,000 events name member 42
  Db db(/*durable=*/false);
  auto key = SigningKey::Generate();
  SystemClock clock;
  AuditLog log;
  Status st = db.store->WriteNow([&](Tx& tx) -> Status {
    for (std::int64_t k = 0; k < kEvents; ++k) {
      Event e = SampleEvent(k);
      if (k % kEvery == 0) e.members = {42, 100000 + k};
      SB_RETURN_IF_ERROR(AuditLog::Append(tx, e).status());
    }
    return Status::Ok();
  });
  if (!st.ok() || !log.Checkpoint(*db.store, *key, clock).has_value()) {
    state.SkipWithError("set-up failed");
    return;
  }
  {
    const auto t0 = std::chrono::steady_clock::now();
    Status one =
        db.store->Read([&](Tx& tx) { return AuditLog::Prove(tx, 4000, kEvents).status(); });
    if (!one.ok()) state.SkipWithError(one.ToString().c_str());
    state.counters["one_prove_ms"] =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  std::size_t proofs = 0;
  for (auto _ : state) {
    proofs = 0;
    st = db.store->Read([&](Tx& tx) -> Status {
      QueryFilter f;
      f.member = 42;
      f.limit = 1'000'000;
      SB_ASSIGN_OR_RETURN(auto events, AuditLog::Query(tx, f));
      SB_ASSIGN_OR_RETURN(auto cp, AuditLog::NewestCheckpoint(tx));
      if (!cp) return Status::Internal("no checkpoint");
      const std::int64_t size = static_cast<std::int64_t>(cp->checkpoint.tree_size);
      SB_ASSIGN_OR_RETURN(ProofIndex tree, AuditLog::LoadTree(tx, size));
      for (const Event& e : events) {
        SB_ASSIGN_OR_RETURN(auto proof, tree.Inclusion(static_cast<std::uint64_t>(e.seq),
                                                       static_cast<std::uint64_t>(size)));
        benchmark::DoNotOptimize(proof);
        ++proofs;
      }
      return Status::Ok();
    });
    if (!st.ok() || proofs != kEvents / kEvery) {
      state.SkipWithError(("proofs failed: " + st.ToString()).c_str());
      return;
    }
  }
  state.counters["proofs"] = static_cast<double>(proofs);
}
BENCHMARK(BM_ProofsForOneMember)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

}  // namespace
}  // namespace switchboard::audit

BENCHMARK_MAIN();
