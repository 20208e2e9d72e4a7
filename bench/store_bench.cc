// Durable write throughput of the store: group commit (many writers, one
// fsync per group) against one transaction per write, on the same SQLite
// database in WAL mode with synchronous=FULL, in the same run.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "schema/migrations.h"
#include "store/sqlite/sqlite_store.h"

namespace switchboard::store {
namespace {

struct Db {
  std::string dir;
  std::unique_ptr<Store> store;
  Db() {
    const char* base = std::getenv("SB_BENCH_DIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sb-bench-XXXXXX";
    dir = mkdtemp(tmpl.data());
    StoreOptions o;
    o.migrations = schema::AllMigrations();
    o.durable = true;
    store = std::move(OpenSqliteStore(dir + "/bench.db", o).value());
    (void)store->WriteNow([](Tx& tx) {
      return tx.Exec("CREATE TABLE events (id INTEGER PRIMARY KEY, at INTEGER, body BLOB)")
          .status();
    });
  }
  ~Db() {
    store.reset();
    std::filesystem::remove_all(dir);
  }
};

Status InsertOne(Tx& tx, std::int64_t i) {
  static const std::string body(200, 'x');
  return tx.Exec("INSERT INTO events (at, body) VALUES ($1, $2)", {i, Value::Bytes(body)}).status();
}

// One transaction, and so one fsync, per write.
void BM_TransactionPerWrite(benchmark::State& state) {
  Db db;
  std::int64_t i = 0;
  for (auto _ : state) {
    Status st = db.store->WriteNow([&](Tx& tx) { return InsertOne(tx, ++i); });
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TransactionPerWrite)->Unit(benchmark::kMicrosecond)->MinTime(2.0)->UseRealTime();

// Many concurrent writers, each waiting for its own durable commit; the
// group-commit writer folds them into shared transactions.
void BM_GroupCommit(benchmark::State& state) {
  Db db;
  const int writers = static_cast<int>(state.range(0));
  const int per_writer = 2000;
  for (auto _ : state) {
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int w = 0; w < writers; ++w) {
      threads.emplace_back([&, w] {
        for (int k = 0; k < per_writer; ++k) {
          if (!db.store->Write([&](Tx& tx) { return InsertOne(tx, w * per_writer + k); }).ok())
            ++failures;
        }
      });
    }
    for (auto& t : threads) t.join();
    if (failures) state.SkipWithError("write failed");
  }
  state.SetItemsProcessed(state.iterations() * writers * per_writer);
  const auto stats = db.store->stats();
  state.counters["writes_per_commit"] =
      static_cast<double>(stats.write_ops) /
      static_cast<double>(std::max<std::uint64_t>(1, stats.write_groups));
}
BENCHMARK(BM_GroupCommit)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace switchboard::store

BENCHMARK_MAIN();
