#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/mutex.h"
#include "store/internal/connection.h"
#include "store/internal/group_commit.h"
#include "store/migrations.h"

namespace switchboard::store {
namespace {

// Rewrites PostgreSQL placeholders ($1) to SQLite's numbered form (?1),
// leaving string literals alone.
std::string RewritePlaceholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  bool in_quote = false;
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (c == '\'') in_quote = !in_quote;
    if (!in_quote && c == '$' && i + 1 < sql.size() && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
      out += '?';
      continue;
    }
    out += c;
  }
  return out;
}

Status FromSqlite(sqlite3* db, int rc, std::string_view what) {
  const int primary = rc & 0xff;
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return Status::AlreadyExists(msg);
    default:
      break;
  }
  switch (primary) {
    case SQLITE_CONSTRAINT:
      return Status::FailedPrecondition(msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::DataLoss(msg);
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      return Status::Unavailable(msg);
    default:
      return Status::Internal(msg);
  }
}

class SqliteRow final : public Row {
 public:
  explicit SqliteRow(sqlite3_stmt* s) : s_(s) {}
  int size() const override { return sqlite3_column_count(s_); }
  bool IsNull(int c) const override { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  std::int64_t Int(int c) const override {
    SB_CHECK(sqlite3_column_type(s_, c) == SQLITE_INTEGER);
    return sqlite3_column_int64(s_, c);
  }
  double Real(int c) const override {
    const int t = sqlite3_column_type(s_, c);
    SB_CHECK(t == SQLITE_FLOAT || t == SQLITE_INTEGER);
    return sqlite3_column_double(s_, c);
  }
  std::string_view Text(int c) const override {
    SB_CHECK(sqlite3_column_type(s_, c) != SQLITE_NULL);
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
    return {p, static_cast<size_t>(sqlite3_column_bytes(s_, c))};
  }
  std::string_view Bytes(int c) const override {
    SB_CHECK(sqlite3_column_type(s_, c) != SQLITE_NULL);
    const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, c));
    return {p ? p : "", static_cast<size_t>(sqlite3_column_bytes(s_, c))};
  }

 private:
  sqlite3_stmt* s_;
};

class SqliteConnection final : public internal::Connection {
 public:
  SqliteConnection(sqlite3* db, bool read_only) : db_(db), read_only_(read_only) {}
  ~SqliteConnection() override {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  Dialect dialect() const override { return Dialect::kSqlite; }
  using Connection::Exec;
  using Connection::Query;

  Result<std::int64_t> Exec(std::string_view sql, Params params) override {
    BeforeStatement(sql);
    SB_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql, params));
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) {
      Status st = FromSqlite(db_, sqlite3_extended_errcode(db_), "statement failed");
      sqlite3_reset(stmt);
      return st;
    }
    sqlite3_reset(stmt);
    return static_cast<std::int64_t>(sqlite3_changes64(db_));
  }

  Status Query(std::string_view sql, Params params, const RowFn& fn) override {
    BeforeStatement(sql);
    SB_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql, params));
    SqliteRow row(stmt);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (!fn(row)) {
        rc = SQLITE_DONE;
        break;
      }
    }
    Status st;
    if (rc != SQLITE_DONE) st = FromSqlite(db_, sqlite3_extended_errcode(db_), "query failed");
    sqlite3_reset(stmt);
    return st;
  }

  Status Begin() override { return Exec(read_only_ ? "BEGIN" : "BEGIN IMMEDIATE").status(); }
  Status Commit() override { return Exec("COMMIT").status(); }
  Status Rollback() override {
    ForgetMemos();
    if (sqlite3_get_autocommit(db_)) return Status::Ok();
    return Exec("ROLLBACK").status();
  }
  bool TransactionBroken() const override { return sqlite3_get_autocommit(db_) != 0; }

 private:
  Result<sqlite3_stmt*> Prepare(std::string_view sql, Params params) {
    sqlite3_stmt* stmt = nullptr;
    auto it = cache_.find(sql);
    if (it != cache_.end()) {
      stmt = it->second;
    } else {
      const std::string rewritten = RewritePlaceholders(sql);
      int rc = sqlite3_prepare_v3(db_, rewritten.c_str(), static_cast<int>(rewritten.size()),
                                  SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
      if (rc != SQLITE_OK) return FromSqlite(db_, rc, "cannot prepare statement");
      cache_.emplace(std::string(sql), stmt);
    }
    sqlite3_clear_bindings(stmt);
    if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(stmt)) {
      return Status::Internal("statement expects " +
                              std::to_string(sqlite3_bind_parameter_count(stmt)) +
                              " parameters, got " + std::to_string(params.size()));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const int idx = static_cast<int>(i) + 1;
      const Value& v = params[i];
      int rc = SQLITE_OK;
      switch (v.type()) {
        case Value::Type::kNull:
          rc = sqlite3_bind_null(stmt, idx);
          break;
        case Value::Type::kInt:
          rc = sqlite3_bind_int64(stmt, idx, v.AsInt());
          break;
        case Value::Type::kReal:
          rc = sqlite3_bind_double(stmt, idx, v.AsReal());
          break;
        case Value::Type::kText:
          rc = sqlite3_bind_text64(stmt, idx, v.AsText().data(), v.AsText().size(), SQLITE_STATIC,
                                   SQLITE_UTF8);
          break;
        case Value::Type::kBytes:
          rc =
              sqlite3_bind_blob64(stmt, idx, v.AsBytes().data(), v.AsBytes().size(), SQLITE_STATIC);
          break;
      }
      if (rc != SQLITE_OK) return FromSqlite(db_, rc, "cannot bind parameter");
    }
    return stmt;
  }

  sqlite3* db_;
  bool read_only_;
  // Looked up by string_view, without copying the statement's text.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, sqlite3_stmt*, Hash, std::equal_to<>> cache_;
};

// Process-wide settings, before SQLite initialises itself. Without memory
// statistics, SQLite's allocations skip a global mutex that every connection
// (the writer and each reader) takes on every malloc and free: this build has
// no lookaside allocator, so that is several times per row. Nothing here
// reads the statistics. A no-op (SQLITE_MISUSE) if SQLite is already running.
void ConfigureSqliteOnce() {
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
}

// Page cache per connection, in KiB. Readers and the direct connection
// (imports, bulk set-up) keep a large one. The group writer's is small on
// purpose: SQLite's page cache walks its hash table when a write transaction
// ends (pcache1 truncation), and with 512 MiB cached that walk was a fifth
// of the writer's time in P3; 32 MiB holds the phone bank's hot pages and
// took P3 from 14.9 k to about 18 k requests/s (docs/benchmarks.md).
constexpr int kCacheKiB = 512 * 1024;
constexpr int kWriterCacheKiB = 32 * 1024;

Result<std::unique_ptr<SqliteConnection>> OpenConnection(const std::string& path, bool read_only,
                                                         bool durable, int cache_kib = kCacheKiB) {
  ConfigureSqliteOnce();
  sqlite3* db = nullptr;
  const int flags =
      (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
      SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status st = FromSqlite(db, rc, "cannot open the SQLite database");
    sqlite3_close_v2(db);
    return st;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 10000);
  auto conn = std::make_unique<SqliteConnection>(db, read_only);
  std::vector<std::string> pragmas = {"PRAGMA foreign_keys = ON",
                                      "PRAGMA cache_size = -" + std::to_string(cache_kib),
                                      "PRAGMA temp_store = MEMORY", "PRAGMA secure_delete = ON"};
  if (!read_only) {
    pragmas.insert(pragmas.begin(), "PRAGMA journal_mode = WAL");
    pragmas.push_back(durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = OFF");
  }
  for (const auto& p : pragmas) {
    Status st = conn->Query(p, {}, [](const Row&) { return true; });
    if (!st.ok()) return st.WithContext(p);
  }
  return conn;
}

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, StoreOptions options, std::unique_ptr<SqliteConnection> writer,
              std::unique_ptr<SqliteConnection> direct)
      : path_(std::move(path)),
        options_(options),
        writer_(std::move(writer), options.max_group),
        direct_(std::move(direct)) {}

  Dialect dialect() const override { return Dialect::kSqlite; }
  std::string Describe() const override { return "sqlite:" + path_; }

  Status Read(const TxFn& fn) override {
    std::unique_ptr<SqliteConnection> conn;
    {
      MutexLock lock(pool_mu_);
      if (!pool_.empty()) {
        conn = std::move(pool_.back());
        pool_.pop_back();
      }
    }
    if (!conn) {
      SB_ASSIGN_OR_RETURN(conn, OpenConnection(path_, /*read_only=*/true, options_.durable));
    }
    Status st = conn->Begin();
    if (st.ok()) {
      st = fn(*conn);
      Status end = conn->Rollback();  // read-only: nothing to keep
      if (st.ok()) st = end;
    }
    {
      MutexLock lock(pool_mu_);
      if (static_cast<int>(pool_.size()) < options_.readers) pool_.push_back(std::move(conn));
    }
    return st;
  }

  Status Write(TxFn fn) override { return writer_.Write(std::move(fn)); }
  std::future<Status> WriteAsync(TxFn fn) override { return writer_.Submit(std::move(fn)); }
  void WriteThen(TxFn fn, std::function<void(Status)> then) override {
    writer_.Then(std::move(fn), std::move(then));
  }

  Status WriteNow(const TxFn& fn) override {
    MutexLock lock(direct_mu_);
    SB_RETURN_IF_ERROR(direct_->Begin());
    Status st = fn(*direct_);
    if (!st.ok()) {
      direct_->Rollback().IgnoreError();
      return st;
    }
    st = direct_->Commit();
    if (!st.ok()) direct_->Rollback().IgnoreError();
    return st;
  }

  Result<int> SchemaVersion() override {
    int v = 0;
    SB_RETURN_IF_ERROR(Read([&](Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(v, ReadSchemaVersion(tx));
      return Status::Ok();
    }));
    return v;
  }

  StoreStats stats() const override { return writer_.stats(); }

  Status Scrub() override {
    MutexLock lock(direct_mu_);
    std::int64_t busy = 0;
    SB_RETURN_IF_ERROR(direct_->Query("PRAGMA wal_checkpoint(TRUNCATE)", {}, [&](const Row& r) {
      busy = r.Int(0);
      return false;
    }));
    if (busy != 0) {
      return Status::Unavailable("the write-ahead log is in use; it was not truncated");
    }
    return Status::Ok();
  }

  // VACUUM INTO rather than the online backup API: stepping sqlite3_backup
  // restarts whenever another connection writes between steps, so under
  // steady writes it never finishes; in one step it is one read transaction,
  // as VACUUM INTO is, and VACUUM INTO measured faster with writes no slower
  // (docs/operations.md, "Backup and restore drill").
  Status BackupTo(const std::string& dest) override {
    // An empty file made here, so it is 0600 from the start and never an
    // existing one.
    const int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      const int err = errno;
      if (err == EEXIST) return Status::AlreadyExists(dest + " already exists");
      return Status::Unavailable("cannot create " + dest + ": " + std::strerror(err));
    }
    ::close(fd);
    auto conn = OpenConnection(path_, /*read_only=*/true, options_.durable);
    Status st = conn ? (*conn)->Exec("VACUUM INTO $1", {Value(dest)}).status() : conn.error();
    if (st.ok()) {
      const int out = ::open(dest.c_str(), O_RDONLY | O_CLOEXEC);
      if (out < 0 || ::fsync(out) != 0) {
        st = Status::Unavailable("cannot sync " + dest + ": " + std::strerror(errno));
      }
      if (out >= 0) ::close(out);
    }
    if (!st.ok()) ::unlink(dest.c_str());
    return st.ok() ? st : st.WithContext("backing up " + path_);
  }

 private:
  const std::string path_;
  const StoreOptions options_;
  internal::GroupCommitWriter writer_;
  Mutex direct_mu_;
  std::unique_ptr<SqliteConnection> direct_ SB_GUARDED_BY(direct_mu_);
  Mutex pool_mu_;
  std::vector<std::unique_ptr<SqliteConnection>> pool_ SB_GUARDED_BY(pool_mu_);
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                               const StoreOptions& options) {
  SB_ASSIGN_OR_RETURN(auto direct, OpenConnection(path, false, options.durable));
  if (options.migrate) {
    auto v = Migrate(*direct, options.migrations);
    if (!v) return v.error().WithContext("migrating " + path);
  }
  SB_ASSIGN_OR_RETURN(auto writer, OpenConnection(path, false, options.durable, kWriterCacheKiB));
  return std::unique_ptr<Store>(
      new SqliteStore(path, options, std::move(writer), std::move(direct)));
}

}  // namespace switchboard::store
