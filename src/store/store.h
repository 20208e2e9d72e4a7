// Store: the one storage interface. Two real backends implement it, SQLite
// (store/sqlite, WAL, the embedded default) and PostgreSQL (store/postgres,
// libpq); one conformance suite (store/store_test.cc) runs against both.
//
// The store knows tables and transactions, not business rules: modules above
// it own their SQL, written in the common subset of the two dialects with
// PostgreSQL-style placeholders ($1, $2, ...). Use Tx::dialect() for the rare
// difference.
//
// Threading: a Store is shared by all threads. Read() runs concurrently on a
// pool of reader connections, each call seeing one consistent snapshot.
// Write() hands the work to a single writer thread that commits many callers'
// work in one transaction (group commit: one fsync for the group). One
// caller's failure does not affect the others: the writer runs a group
// without savepoints first and, only if an operation fails, rolls the group
// back and runs the others again each in a savepoint of its own. A Tx is only
// valid inside the callback that receives it.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"
#include "store/value.h"

namespace switchboard::store {

enum class Dialect { kSqlite, kPostgres };

using Params = std::span<const Value>;
using RowFn = std::function<bool(const Row&)>;  // return false to stop early

class Tx {
 public:
  virtual ~Tx() = default;
  virtual Dialect dialect() const = 0;

  // A failed statement ends the transaction on PostgreSQL (not on SQLite):
  // return the error instead of carrying on, and write upserts as
  // INSERT ... ON CONFLICT rather than "try INSERT, then UPDATE".
  //
  // Runs one statement; returns the number of rows it changed. A unique or
  // foreign-key violation is kAlreadyExists / kFailedPrecondition; other SQL
  // failures are kInternal with the database's message (which never holds
  // parameter values).
  virtual Result<std::int64_t> Exec(std::string_view sql, Params params) = 0;
  // Runs a query and calls `fn` for each row until it returns false.
  virtual Status Query(std::string_view sql, Params params, const RowFn& fn) = 0;

  Result<std::int64_t> Exec(std::string_view sql, std::initializer_list<Value> params = {}) {
    return Exec(sql, Params(params.begin(), params.size()));
  }
  Status Query(std::string_view sql, std::initializer_list<Value> params, const RowFn& fn) {
    return Query(sql, Params(params.begin(), params.size()), fn);
  }
  // Returns the first column of the first row as an integer (kNotFound if no row).
  Result<std::int64_t> QueryInt(std::string_view sql, std::initializer_list<Value> params = {});

  // Memos: a number a module keeps for the rest of one write transaction
  // instead of reading it again (the audit log's next seq, once per group
  // rather than once per event). The store forgets every memo when a
  // transaction begins, commits or rolls back, whole or to a savepoint (one
  // failed operation of a group), and keeps none outside a transaction or in
  // one that can no longer commit: a memo never outlives the rows it was
  // derived from. Each module owns its slot; set it only after the statement
  // it describes succeeded. A Tx without a store behind it keeps nothing.
  enum class Memo { kAuditNextSeq, kCount };
  virtual std::optional<std::int64_t> GetMemo(Memo) const { return std::nullopt; }
  virtual void SetMemo(Memo, std::int64_t) {}
};

using TxFn = std::function<Status(Tx&)>;

struct StoreStats {
  std::uint64_t write_groups = 0;    // transactions committed by the group writer
  std::uint64_t write_ops = 0;       // Write() calls committed through it
  std::uint64_t write_failures = 0;  // Write() calls that returned an error
};

class Store {
 public:
  virtual ~Store() = default;
  virtual Dialect dialect() const = 0;
  // "sqlite:/path/to/db" or "postgresql://host:port/db" (never a password).
  virtual std::string Describe() const = 0;

  // Runs `fn` in a read-only transaction on a reader connection.
  virtual Status Read(const TxFn& fn) = 0;

  // Queues `fn` for the group-commit writer and waits until its group has
  // committed durably. Returns fn's error (its effects rolled back) or the
  // commit's error. `fn` runs on the writer thread, and may run twice: when
  // another operation of its group fails, the group is rolled back and run
  // again (see above). Only the last run's effects and result count, so `fn`
  // should assign its outputs rather than accumulate them, and do nothing
  // outside the transaction that must happen only once.
  virtual Status Write(TxFn fn) = 0;
  // As Write(), without waiting.
  virtual std::future<Status> WriteAsync(TxFn fn) = 0;
  // As Write(), without waiting: `then` gets the outcome, on the thread that
  // answers writers, so it must not block (no Write, no Read) and should
  // hand work elsewhere (server::Deferred). The default runs Write() and
  // then `then` on the calling thread.
  virtual void WriteThen(TxFn fn, std::function<void(Status)> then) { then(Write(std::move(fn))); }

  // Runs `fn` at once in a transaction of its own on a dedicated connection,
  // committed before returning (one commit per call). For large batches that
  // are a group already (imports) and for the one-transaction-per-write
  // baseline. Serialised against the group writer by the database.
  virtual Status WriteNow(const TxFn& fn) = 0;

  // Highest applied migration.
  virtual Result<int> SchemaVersion() = 0;
  virtual StoreStats stats() const = 0;

  // After an erasure: leaves no copy of what was deleted or overwritten in
  // the database's own files, as far as the backend can. SQLite zeroes
  // deleted content as it goes (secure_delete); this copies the write-ahead
  // log into the database and truncates it, so earlier page images go too.
  // The default (PostgreSQL) does nothing: old row versions are unreachable
  // by queries and dumps, and VACUUM reclaims them (docs/privacy.md).
  virtual Status Scrub() { return Status::Ok(); }

  // A consistent copy of the whole database at one moment, written to the
  // new file `dest` while readers and writers carry on (docs/operations.md,
  // "Backup and restore drill"). SQLite: VACUUM INTO from a read-only
  // connection, one read transaction (WAL: the writer is never waited for),
  // synced. PostgreSQL: pg_dump's custom format, run as a child process with
  // this store's connection parameters in its environment, never its command
  // line. kAlreadyExists when `dest` exists.
  virtual Status BackupTo(const std::string& dest) {
    (void)dest;
    return Status::FailedPrecondition("this store cannot back itself up");
  }
};

// One step of the schema, written by the module whose code reads and writes
// its tables (src/<module>/migrations.cc) and gathered with every other
// module's by schema::AllMigrations(). `version` is the global schema
// version: the steps of one version apply together, in one transaction, in
// the order they are listed (store/migrations.h runs them).
struct Migration {
  int version;
  const char* module;  // the owning folder under src/: "members", "access", ...
  const char* name;    // what it does; recorded in schema_migrations
  const char* sql;     // statements ending in ';' at a line end, with dialect tokens
};

struct StoreOptions {
  // The schema's steps in order, ending with the newest version: every caller
  // passes schema::AllMigrations(). Read only while opening. Opening with
  // `migrate` and no steps is refused.
  std::span<const Migration> migrations;
  // Maximum Write() calls committed in one transaction.
  int max_group = 1024;
  // Reader connections kept open (SQLite) / in the pool (PostgreSQL).
  int readers = 4;
  // Run pending migrations when opening (the default; `false` only for tests
  // of the migration path itself).
  bool migrate = true;
  // SQLite only: fsync every commit (synchronous=FULL). Off only in tests.
  bool durable = true;
};

}  // namespace switchboard::store
