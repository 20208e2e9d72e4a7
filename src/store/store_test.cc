// The storage conformance suite: every test runs against SQLite and against
// PostgreSQL (a fresh database in a throwaway cluster), each with a fresh store.
#include "store/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <iostream>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/testing/status_matchers.h"
#include "schema/migrations.h"
#include "store/migrations.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/testing/faulty_store.h"
#include "store/testing/pg_cluster.h"
#include "store/testing/temp_dir.h"

namespace switchboard::store {
namespace {

using ::switchboard::store::testing::FaultMode;
using ::switchboard::store::testing::FaultyStore;
using ::switchboard::store::testing::PgCluster;
using ::switchboard::store::testing::ScopedTempDir;
using ::switchboard::store::testing::StatementFault;

// Options that give a fresh store the whole schema, as every caller does.
StoreOptions WithSchema() {
  StoreOptions options;
  options.migrations = schema::AllMigrations();
  return options;
}

// The newest schema version.
int Latest() { return LatestVersion(schema::AllMigrations()); }

constexpr const char* kCreateKv = "CREATE TABLE kv (k {{int}} PRIMARY KEY, v TEXT)";
constexpr const char* kInsertKv = "INSERT INTO kv (k, v) VALUES ($1, $2)";

Status InsertKv(Tx& tx, std::int64_t k, std::string_view v = "v") {
  return tx.Exec(kInsertKv, {k, v}).status();
}

// Adds one unit; its code is the unique key of the units table.
Status InsertUnit(Tx& tx, std::string_view code, Value parent = nullptr) {
  return tx
      .Exec("INSERT INTO units (code, name, kind, parent_id) VALUES ($1, $2, $3, $4)",
            {code, "Unit", "branch", parent})
      .status();
}

// A one-shot gate: Wait() blocks until Open(), or fails after a minute so a
// broken store fails the test instead of hanging it.
class Gate {
 public:
  void Open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  bool Wait() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::minutes(1), [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Keeps the group-commit writer busy inside one operation until Release(),
// so that everything submitted meanwhile queues up behind it.
class WriterBlocker {
 public:
  explicit WriterBlocker(Store& store) {
    done_ = store.WriteAsync([this](Tx&) {
      started_.Open();
      release_.Wait();
      return Status::Ok();
    });
    started_.Wait();
  }
  ~WriterBlocker() { Release().IgnoreError(); }
  Status Release() {
    release_.Open();
    if (done_.valid()) return done_.get();
    return Status::Ok();
  }

 private:
  Gate started_, release_;
  std::future<Status> done_;
};

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto target = NewTarget();
    ASSERT_OK(target);
    target_ = *target;
    auto store = Open(target_);
    ASSERT_OK(store);
    store_ = std::move(store).value();
  }

  void TearDown() override {
    store_.reset();
    for (const std::string& db : databases_) EXPECT_OK((*PgCluster::Shared())->DropDatabase(db));
  }

  bool postgres() const { return GetParam() == "postgres"; }
  Dialect dialect() const { return postgres() ? Dialect::kPostgres : Dialect::kSqlite; }

  static StoreOptions TestOptions() {
    StoreOptions options = WithSchema();
    options.durable = false;
    return options;
  }

  // A place for a new, empty store: a file name in this test's temporary
  // directory, or a new database in the shared cluster.
  Result<std::string> NewTarget() {
    if (postgres()) {
      SB_ASSIGN_OR_RETURN(PgCluster * cluster, PgCluster::Shared());
      SB_ASSIGN_OR_RETURN(auto url, cluster->CreateUniqueDatabase("store_test"));
      databases_.push_back(url.substr(url.rfind('/') + 1));
      return url;
    }
    if (!dir_) {
      SB_ASSIGN_OR_RETURN(auto dir, ScopedTempDir::Create("sb-store-test"));
      dir_.emplace(std::move(dir));
    }
    return dir_->Join("store" + std::to_string(++targets_) + ".db");
  }

  Result<std::unique_ptr<Store>> Open(const std::string& target,
                                      const StoreOptions& options = TestOptions()) {
    return postgres() ? OpenPostgresStore(target, options) : OpenSqliteStore(target, options);
  }

  // Closes the store and opens the same target again.
  Status Reopen(const StoreOptions& options = TestOptions()) {
    store_.reset();
    SB_ASSIGN_OR_RETURN(store_, Open(target_, options));
    return Status::Ok();
  }

  Status CreateTable(const char* sql) {
    return store_->WriteNow(
        [&](Tx& tx) { return tx.Exec(ExpandDialect(sql, dialect())).status(); });
  }

  Result<std::int64_t> ReadInt(std::string_view sql, std::initializer_list<Value> params = {}) {
    std::optional<std::int64_t> out;
    std::vector<Value> copy(params);
    SB_RETURN_IF_ERROR(store_->Read([&](Tx& tx) {
      return tx.Query(sql, Params(copy.data(), copy.size()), [&](const Row& row) {
        out = row.Int(0);
        return false;
      });
    }));
    if (!out) return Status::NotFound("no row");
    return *out;
  }

  // ReadInt's value, or -1 and a test failure.
  std::int64_t IntOf(std::string_view sql, std::initializer_list<Value> params = {}) {
    auto v = ReadInt(sql, params);
    EXPECT_OK(v) << sql;
    return v.value_or(-1);
  }

  // The keys in kv, in order.
  std::vector<std::int64_t> Keys() {
    std::vector<std::int64_t> keys;
    EXPECT_OK(store_->Read([&](Tx& tx) {
      return tx.Query("SELECT k FROM kv ORDER BY k", {}, [&](const Row& row) {
        keys.push_back(row.Int(0));
        return true;
      });
    }));
    return keys;
  }

  std::optional<ScopedTempDir> dir_;
  std::vector<std::string> databases_;
  int targets_ = 0;
  std::string target_;
  std::unique_ptr<Store> store_;
};

// ---- Opening and migrations ----

TEST_P(StoreTest, OpenAppliesAllMigrations) {
  auto version = store_->SchemaVersion();
  ASSERT_OK(version);
  EXPECT_EQ(*version, Latest());
  EXPECT_EQ(IntOf("SELECT COUNT(*) FROM schema_migrations"), Latest());
  for (const char* table : {"units", "members", "contact_points", "consent_events",
                            "suppression_events", "canaries", "postcodes", "settings"}) {
    auto rows = ReadInt(std::string("SELECT COUNT(*) FROM ") + table);
    ASSERT_OK(rows) << table;
    EXPECT_EQ(*rows, 0) << table;
  }
  EXPECT_EQ(store_->dialect(), dialect());
}

// The phone bank's lease queries (phonebank::Next): the first free target in
// lease order, from its own partial index without a sort (or every lease
// sorts the whole audience, schema v10, or steps over every other caller's
// lease, v11); and lapsed leases by expiry, from theirs. SQLite plans by its
// rules, on an empty table as on a full one; PostgreSQL plans by statistics,
// so it gets a phone bank in full swing first (five campaigns of 2,000
// targets: some done, some leased, some lapsed), analysed as autovacuum would.
TEST_P(StoreTest, ThePhoneBankQueueIsInLeaseOrder) {
  constexpr std::int64_t kNow = 1'000'000'000;
  if (postgres()) {
    ASSERT_OK(store_->WriteNow([&](Tx& tx) -> Status {
      for (const char* sql : {
               "INSERT INTO units (code, name, kind) VALUES ('U', 'Unit', 'root')",
               "INSERT INTO accounts (login, display_name, created_at) VALUES ('a', 'A', 0)",
               "INSERT INTO members (source, external_id, unit_id, first_name, last_name, status, "
               "membership_type, content_hash, created_at, updated_at) SELECT 'native', g::text, "
               "1, 'F', 'L', 'current', 'standard', '\\x00', 0, 0 FROM generate_series(1, 2000) g",
               "INSERT INTO campaigns (name, owner_id, scope_unit, purpose, audience, script, "
               "survey, fields, calling_start, calling_end, starts_at, ends_at, state, "
               "eligibility, pace, recall_minutes, max_passes, created_at, updated_at) SELECT "
               "'c' || g, 1, 1, 'p', '{}', '', '[]', '', 0, 1440, 0, 2000000000, 'live', '{}', "
               "'{}', 60, 3, 0, 0 FROM generate_series(1, 5) g",
               // Per campaign: 40 % done, 2 % leased (half of them lapsed),
               // the rest free over three passes and due times up to now.
               "INSERT INTO campaign_targets (campaign_id, member_id, passes, next_at, done, "
               "leased_by, lease_expires) SELECT c, m, m % 3, (m * 7919) % 1000000000, "
               "CASE WHEN m % 5 < 2 THEN 1 ELSE 0 END, CASE WHEN m % 50 = 2 THEN 1 END, "
               "CASE WHEN m % 50 = 2 THEN 1000000000 + (m % 100 - 50) * 1000 END "
               "FROM generate_series(1, 5) c, generate_series(1, 2000) m",
               "ANALYZE campaign_targets",
           }) {
        SB_RETURN_IF_ERROR(tx.Exec(sql).status());
      }
      return Status::Ok();
    }));
  }
  auto plan_of = [&](const std::string& sql) {
    std::string plan;
    EXPECT_OK(store_->Read([&](Tx& tx) {
      return tx.Query(postgres() ? "EXPLAIN " + sql : "EXPLAIN QUERY PLAN " + sql, {1, kNow},
                      [&](const Row& row) {
                        plan += std::string(row.Text(postgres() ? 0 : 3)) + "\n";
                        return true;
                      });
    }));
    return plan;
  };
  const std::string free_plan = plan_of(
      "SELECT member_id FROM campaign_targets WHERE campaign_id = $1 AND done = 0 AND "
      "leased_by IS NULL AND next_at <= $2 ORDER BY passes, next_at, member_id LIMIT 1");
  EXPECT_NE(free_plan.find("campaign_targets_free"), std::string::npos) << free_plan;
  for (const char* step : {"TEMP B-TREE", "Sort", "Seq Scan"}) {
    EXPECT_EQ(free_plan.find(step), std::string::npos) << step << " in\n" << free_plan;
  }
  const std::string lapsed_plan = plan_of(
      "SELECT member_id FROM campaign_targets WHERE campaign_id = $1 AND done = 0 AND "
      "leased_by IS NOT NULL AND lease_expires <= $2 AND next_at <= $2 ORDER BY passes, "
      "next_at, member_id LIMIT 1");
  EXPECT_NE(lapsed_plan.find("campaign_targets_leased"), std::string::npos) << lapsed_plan;
  EXPECT_EQ(lapsed_plan.find("Seq Scan"), std::string::npos) << lapsed_plan;
}

TEST_P(StoreTest, ReopenIsIdempotent) {
  ASSERT_OK(store_->Write([](Tx& tx) {
    return tx.Exec("INSERT INTO settings (name, value) VALUES ($1, $2)", {"k", "v"}).status();
  }));
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK(Reopen());
    EXPECT_EQ(store_->SchemaVersion().value_or(-1), Latest());
    EXPECT_EQ(IntOf("SELECT COUNT(*) FROM schema_migrations"), Latest());
    EXPECT_EQ(IntOf("SELECT COUNT(*) FROM settings"), 1);
  }
}

TEST_P(StoreTest, MigrateOptionOffLeavesTheDatabaseAlone) {
  auto target = NewTarget();
  ASSERT_OK(target);
  StoreOptions options = TestOptions();
  options.migrate = false;
  {
    auto bare = Open(*target, options);
    ASSERT_OK(bare);
    Status st =
        (*bare)->Read([](Tx& tx) { return tx.QueryInt("SELECT COUNT(*) FROM units").status(); });
    EXPECT_FALSE(st.ok()) << "units exists without migrations";
  }
  auto migrated = Open(*target);
  ASSERT_OK(migrated);
  EXPECT_EQ((*migrated)->SchemaVersion().value_or(-1), Latest());
}

TEST_P(StoreTest, RefusesADatabaseNewerThanTheBinary) {
  const int newer = Latest() + 1;
  ASSERT_OK(store_->WriteNow([&](Tx& tx) {
    return tx
        .Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
              {newer, "from the future", 0})
        .status();
  }));
  store_.reset();
  auto reopened = Open(target_);
  ASSERT_FALSE(reopened.has_value());
  EXPECT_EQ(reopened.error().code(), StatusCode::kFailedPrecondition)
      << reopened.error().ToString();
  EXPECT_NE(reopened.error().message().find("upgrade"), std::string::npos);
}

// ---- The migration runner, with steps of its own ----

// Two versions, the second in two modules' steps; with `broken`, the last
// step fails after its first statement.
std::vector<Migration> TestSteps(bool broken) {
  return {
      {1, "first", "one", "CREATE TABLE m1 (x {{int}} PRIMARY KEY);\n"},
      {2, "first", "two", "CREATE TABLE m2a (x {{int}});\n"},
      {2, "second", "two again",
       broken ? "CREATE TABLE m2b (x {{int}});\nINSERT INTO m_missing VALUES (1);\n"
              : "CREATE TABLE m2b (x {{int}});\n"},
  };
}

// Whether `table` can be read in `store`.
bool HasTable(Store& store, const std::string& table) {
  return store.Read([&](Tx& tx) { return tx.QueryInt("SELECT COUNT(*) FROM " + table).status(); })
      .ok();
}

TEST_P(StoreTest, TheStepsOfOneVersionApplyInOneTransaction) {
  auto target = NewTarget();
  ASSERT_OK(target);
  const std::vector<Migration> broken = TestSteps(true);
  StoreOptions options = TestOptions();
  options.migrations = broken;
  auto failed = Open(*target, options);
  ASSERT_FALSE(failed.has_value());
  EXPECT_NE(failed.error().message().find("migration 2 (second: two again)"), std::string::npos)
      << failed.error().ToString();
  StoreOptions bare = TestOptions();
  bare.migrate = false;
  {
    auto opened = Open(*target, bare);
    ASSERT_OK(opened);
    EXPECT_EQ((*opened)->SchemaVersion().value_or(-1), 1);
    EXPECT_TRUE(HasTable(**opened, "m1"));
    EXPECT_FALSE(HasTable(**opened, "m2a")) << "the first step of version 2 stayed";
    EXPECT_FALSE(HasTable(**opened, "m2b"));
  }
  const std::vector<Migration> fixed = TestSteps(false);
  options.migrations = fixed;
  auto opened = Open(*target, options);
  ASSERT_OK(opened);
  EXPECT_EQ((*opened)->SchemaVersion().value_or(-1), 2);
  EXPECT_TRUE(HasTable(**opened, "m2a"));
  EXPECT_TRUE(HasTable(**opened, "m2b"));
  std::vector<std::string> names;
  ASSERT_OK((*opened)->Read([&](Tx& tx) {
    return tx.Query("SELECT name FROM schema_migrations ORDER BY version", {}, [&](const Row& row) {
      names.emplace_back(row.Text(0));
      return true;
    });
  }));
  EXPECT_EQ(names, (std::vector<std::string>{"one", "two; two again"}));
}

TEST_P(StoreTest, ReopeningAppliesOnlyThePendingVersions) {
  auto target = NewTarget();
  ASSERT_OK(target);
  const std::vector<Migration> steps = TestSteps(false);
  StoreOptions options = TestOptions();
  options.migrations = std::span<const Migration>(steps).first(1);
  {
    auto opened = Open(*target, options);
    ASSERT_OK(opened);
    EXPECT_EQ((*opened)->SchemaVersion().value_or(-1), 1);
    EXPECT_FALSE(HasTable(**opened, "m2a"));
    ASSERT_OK(
        (*opened)->Write([](Tx& tx) { return tx.Exec("INSERT INTO m1 (x) VALUES (7)").status(); }));
  }
  options.migrations = steps;
  auto opened = Open(*target, options);
  ASSERT_OK(opened);
  EXPECT_EQ((*opened)->SchemaVersion().value_or(-1), 2);
  EXPECT_TRUE(HasTable(**opened, "m2b"));
  std::int64_t rows = -1;
  ASSERT_OK((*opened)->Read([&](Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(rows, tx.QueryInt("SELECT COUNT(*) FROM m1"));
    return Status::Ok();
  }));
  EXPECT_EQ(rows, 1);
}

TEST_P(StoreTest, ABrokenListOfStepsLeavesTheDatabaseAlone) {
  auto target = NewTarget();
  ASSERT_OK(target);
  const std::vector<Migration> gap = {{1, "first", "one", "CREATE TABLE m1 (x {{int}});\n"},
                                      {3, "first", "three", "CREATE TABLE m3 (x {{int}});\n"}};
  StoreOptions options = TestOptions();
  options.migrations = gap;
  auto refused = Open(*target, options);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kInternal) << refused.error().ToString();
  options.migrations = {};
  refused = Open(*target, options);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kInvalidArgument) << refused.error().ToString();
  options.migrate = false;
  auto opened = Open(*target, options);
  ASSERT_OK(opened);
  EXPECT_FALSE(HasTable(**opened, "schema_migrations"));
  EXPECT_FALSE(HasTable(**opened, "m1"));
}

TEST(MigrationListTest, ChecksVersionsAndFields) {
  using Steps = std::vector<Migration>;
  EXPECT_OK(
      CheckMigrations(Steps{{1, "a", "one", ""}, {1, "b", "one b", ""}, {2, "a", "two", ""}}));
  EXPECT_EQ(CheckMigrations({}).code(), StatusCode::kInvalidArgument);
  for (const Steps& broken : {
           Steps{{2, "a", "two", ""}},                                          // not from 1
           Steps{{1, "a", "one", ""}, {3, "a", "three", ""}},                   // a gap
           Steps{{1, "a", "one", ""}, {2, "a", "two", ""}, {1, "b", "1", ""}},  // apart
           Steps{{1, "", "one", ""}},                                           // no module
           Steps{{1, "a", nullptr, ""}},                                        // no name
           Steps{{1, "a", "one", nullptr}},                                     // no SQL
       }) {
    Status st = CheckMigrations(broken);
    EXPECT_EQ(st.code(), StatusCode::kInternal) << st.ToString();
  }
  EXPECT_EQ(LatestVersion(Steps{{1, "a", "one", ""}, {2, "a", "two", ""}}), 2);
  EXPECT_EQ(LatestVersion({}), 0);
}

TEST_P(StoreTest, OpenFailsForAnUnreachableTarget) {
  auto store = postgres()
                   ? OpenPostgresStore("postgresql://switchboard@127.0.0.1:1/none", WithSchema())
                   : OpenSqliteStore("/nonexistent-dir/sub/store.db", WithSchema());
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), StatusCode::kUnavailable) << store.error().ToString();
}

TEST_P(StoreTest, DescribeNamesTheDatabase) {
  const std::string description = store_->Describe();
  if (postgres()) {
    EXPECT_EQ(description.rfind("postgresql://", 0), 0u) << description;
    EXPECT_EQ(description, target_);
  } else {
    EXPECT_EQ(description, "sqlite:" + target_);
  }
}

// ---- Values ----

// A table with one column of each type.
constexpr const char* kCreateVals =
    "CREATE TABLE vals (id {{int}} PRIMARY KEY, i {{int}}, r DOUBLE PRECISION, t TEXT, "
    "b {{blob}})";

TEST_P(StoreTest, IntegersRoundTrip) {
  ASSERT_OK(CreateTable(kCreateVals));
  const std::vector<std::int64_t> ints = {0,
                                          1,
                                          -1,
                                          std::numeric_limits<std::int64_t>::min(),
                                          std::numeric_limits<std::int64_t>::max(),
                                          std::int64_t{1} << 40,
                                          -(std::int64_t{1} << 53) - 1};
  ASSERT_OK(store_->Write([&](Tx& tx) -> Status {
    for (size_t i = 0; i < ints.size(); ++i) {
      SB_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO vals (id, i) VALUES ($1, $2)", {static_cast<int>(i), ints[i]}));
    }
    return Status::Ok();
  }));
  ASSERT_OK(store_->Read([&](Tx& tx) -> Status {
    for (size_t i = 0; i < ints.size(); ++i) {
      SB_ASSIGN_OR_RETURN(auto stored,
                          tx.QueryInt("SELECT i FROM vals WHERE id = $1", {static_cast<int>(i)}));
      EXPECT_EQ(stored, ints[i]);
      SB_ASSIGN_OR_RETURN(auto echoed, tx.QueryInt("SELECT $1", {ints[i]}));
      EXPECT_EQ(echoed, ints[i]);
      SB_ASSIGN_OR_RETURN(auto found,
                          tx.QueryInt("SELECT COUNT(*) FROM vals WHERE i = $1", {ints[i]}));
      EXPECT_EQ(found, 1) << ints[i];
    }
    return Status::Ok();
  }));
}

TEST_P(StoreTest, RealsRoundTrip) {
  ASSERT_OK(CreateTable(kCreateVals));
  const std::vector<double> reals = {0.0,
                                     -1.5,
                                     0.1,
                                     1.0 / 3.0,
                                     3.141592653589793,
                                     1e308,
                                     -2.5e-308,
                                     std::numeric_limits<double>::denorm_min(),
                                     std::numeric_limits<double>::max(),
                                     std::numeric_limits<double>::lowest(),
                                     std::numeric_limits<double>::infinity(),
                                     -std::numeric_limits<double>::infinity()};
  ASSERT_OK(store_->Write([&](Tx& tx) -> Status {
    for (size_t i = 0; i < reals.size(); ++i) {
      SB_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO vals (id, r) VALUES ($1, $2)", {static_cast<int>(i), reals[i]}));
    }
    return Status::Ok();
  }));
  std::vector<double> stored, echoed;
  ASSERT_OK(store_->Read([&](Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(tx.Query("SELECT r FROM vals ORDER BY id", {}, [&](const Row& row) {
      stored.push_back(row.Real(0));
      return true;
    }));
    for (double r : reals) {
      SB_RETURN_IF_ERROR(tx.Query("SELECT $1", {r}, [&](const Row& row) {
        echoed.push_back(row.Real(0));
        return true;
      }));
    }
    return Status::Ok();
  }));
  ASSERT_EQ(stored.size(), reals.size());
  ASSERT_EQ(echoed.size(), reals.size());
  for (size_t i = 0; i < reals.size(); ++i) {
    EXPECT_EQ(stored[i], reals[i]) << i;  // exact: no decimal rounding on the way
    EXPECT_EQ(echoed[i], reals[i]) << i;
    EXPECT_EQ(std::signbit(stored[i]), std::signbit(reals[i])) << i;
  }
}

TEST_P(StoreTest, TextRoundTrips) {
  ASSERT_OK(CreateTable(kCreateVals));
  const std::vector<std::string> texts = {"",
                                          "plain",
                                          "h\xC3\xA9llo w\xC3\xB6rld",             // héllo wörld
                                          "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",  // 日本語
                                          "emoji \xF0\x9F\x8E\x89",  // 🎉 (outside the BMP)
                                          "quotes ' and \" and \\ backslash",
                                          "$1 and ?1 are not placeholders here",
                                          "line\nbreak\ttab",
                                          std::string(100000, 'x')};
  ASSERT_OK(store_->Write([&](Tx& tx) -> Status {
    for (size_t i = 0; i < texts.size(); ++i) {
      SB_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO vals (id, t) VALUES ($1, $2)", {static_cast<int>(i), texts[i]}));
    }
    return Status::Ok();
  }));
  std::vector<std::string> stored;
  ASSERT_OK(store_->Read([&](Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(tx.Query("SELECT t FROM vals ORDER BY id", {}, [&](const Row& row) {
      EXPECT_FALSE(row.IsNull(0));
      stored.emplace_back(row.Text(0));
      return true;
    }));
    for (const std::string& t : texts) {
      SB_RETURN_IF_ERROR(tx.Query("SELECT $1", {t}, [&](const Row& row) {
        EXPECT_EQ(row.Text(0), t);
        return true;
      }));
      SB_ASSIGN_OR_RETURN(auto found, tx.QueryInt("SELECT COUNT(*) FROM vals WHERE t = $1", {t}));
      EXPECT_EQ(found, 1);
    }
    return Status::Ok();
  }));
  EXPECT_EQ(stored, texts);
}

TEST_P(StoreTest, BytesRoundTrip) {
  ASSERT_OK(CreateTable(kCreateVals));
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes += static_cast<char>(b);
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  const std::vector<std::string> blobs = {std::string("\0", 1),
                                          std::string("a\0b\0\0c\xff\xfe\x80", 9),
                                          all_bytes,
                                          "\\x41",  // looks like bytea's hex escape
                                          "\xC3\x28 invalid UTF-8",
                                          big};
  ASSERT_OK(store_->Write([&](Tx& tx) -> Status {
    for (size_t i = 0; i < blobs.size(); ++i) {
      SB_RETURN_IF_ERROR(tx.Exec("INSERT INTO vals (id, b) VALUES ($1, $2)",
                                 {static_cast<int>(i), Value::Bytes(blobs[i])}));
    }
    return Status::Ok();
  }));
  std::vector<std::string> stored;
  ASSERT_OK(store_->Read([&](Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(tx.Query("SELECT b FROM vals ORDER BY id", {}, [&](const Row& row) {
      stored.emplace_back(row.Bytes(0));
      return true;
    }));
    for (const std::string& b : blobs) {
      SB_ASSIGN_OR_RETURN(auto found,
                          tx.QueryInt("SELECT COUNT(*) FROM vals WHERE b = $1", {Value::Bytes(b)}));
      EXPECT_EQ(found, 1);
      SB_RETURN_IF_ERROR(tx.Query("SELECT $1", {Value::Bytes(b)}, [&](const Row& row) {
        EXPECT_EQ(row.Bytes(0), b);
        return true;
      }));
    }
    return Status::Ok();
  }));
  ASSERT_EQ(stored.size(), blobs.size());
  for (size_t i = 0; i < blobs.size(); ++i) EXPECT_EQ(stored[i], blobs[i]) << i;
}

TEST_P(StoreTest, NullEmptyTextAndEmptyBytesAreDistinct) {
  ASSERT_OK(CreateTable(kCreateVals));
  ASSERT_OK(store_->Write([&](Tx& tx) -> Status {
    const char* insert = "INSERT INTO vals (id, i, r, t, b) VALUES ($1, $2, $3, $4, $5)";
    SB_RETURN_IF_ERROR(tx.Exec(insert, {1, nullptr, nullptr, nullptr, nullptr}));
    SB_RETURN_IF_ERROR(tx.Exec(insert, {2, 0, 0.0, "", Value::Bytes("")}));
    // The same statement with other parameter types again.
    SB_RETURN_IF_ERROR(tx.Exec(insert, {3, nullptr, 1.0, nullptr, Value::Bytes("x")}));
    return Status::Ok();
  }));
  int rows = 0;
  ASSERT_OK(store_->Read([&](Tx& tx) {
    return tx.Query("SELECT id, i, r, t, b FROM vals ORDER BY id", {}, [&](const Row& row) {
      ++rows;
      EXPECT_EQ(row.size(), 5);
      switch (row.Int(0)) {
        case 1:
          for (int c = 1; c < 5; ++c) EXPECT_TRUE(row.IsNull(c)) << c;
          EXPECT_EQ(row.IntOr(1, 42), 42);
          EXPECT_EQ(row.TextOr(3, "fallback"), "fallback");
          break;
        case 2:
          for (int c = 1; c < 5; ++c) EXPECT_FALSE(row.IsNull(c)) << c;
          EXPECT_EQ(row.Int(1), 0);
          EXPECT_EQ(row.Real(2), 0.0);
          EXPECT_EQ(row.Text(3), "");
          EXPECT_EQ(row.Bytes(4).size(), 0u);
          EXPECT_EQ(row.TextOr(3, "fallback"), "");
          break;
        case 3:
          EXPECT_TRUE(row.IsNull(1));
          EXPECT_EQ(row.Real(2), 1.0);
          EXPECT_TRUE(row.IsNull(3));
          EXPECT_EQ(row.Bytes(4), "x");
          break;
        default:
          ADD_FAILURE() << "unexpected row";
      }
      return true;
    });
  }));
  EXPECT_EQ(rows, 3);
  EXPECT_EQ(IntOf("SELECT COUNT(*) FROM vals WHERE t IS NULL"), 2);
  EXPECT_EQ(IntOf("SELECT COUNT(*) FROM vals WHERE t = ''"), 1);
  EXPECT_EQ(IntOf("SELECT COUNT(*) FROM vals WHERE b IS NULL"), 1);
}

// ---- Statements ----

TEST_P(StoreTest, ExecReturnsRowsChanged) {
  ASSERT_OK(CreateTable(kCreateKv));
  ASSERT_OK(store_->Write([](Tx& tx) -> Status {
    for (int k = 1; k <= 3; ++k) {
      SB_ASSIGN_OR_RETURN(auto n, tx.Exec(kInsertKv, {k, "a"}));
      EXPECT_EQ(n, 1);
    }
    SB_ASSIGN_OR_RETURN(auto updated, tx.Exec("UPDATE kv SET v = $1", {"b"}));
    EXPECT_EQ(updated, 3);
    SB_ASSIGN_OR_RETURN(auto some, tx.Exec("UPDATE kv SET v = $1 WHERE k >= $2", {"c", 2}));
    EXPECT_EQ(some, 2);
    SB_ASSIGN_OR_RETURN(auto none, tx.Exec("DELETE FROM kv WHERE k > $1", {100}));
    EXPECT_EQ(none, 0);
    SB_ASSIGN_OR_RETURN(auto deleted, tx.Exec("DELETE FROM kv WHERE v = $1", {"c"}));
    EXPECT_EQ(deleted, 2);
    return Status::Ok();
  }));
  EXPECT_EQ(Keys(), std::vector<std::int64_t>{1});
}

TEST_P(StoreTest, QueryStopsEarlyAndTheTransactionGoesOn) {
  ASSERT_OK(CreateTable(kCreateKv));
  ASSERT_OK(store_->WriteNow([](Tx& tx) -> Status {
    for (int k = 0; k < 5000; ++k) SB_RETURN_IF_ERROR(InsertKv(tx, k));
    return Status::Ok();
  }));
  ASSERT_OK(store_->Read([](Tx& tx) -> Status {
    int calls = 0;
    SB_RETURN_IF_ERROR(tx.Query("SELECT k FROM kv ORDER BY k", {}, [&](const Row& row) {
      EXPECT_EQ(row.Int(0), calls);
      return ++calls < 3;
    }));
    EXPECT_EQ(calls, 3);
    SB_ASSIGN_OR_RETURN(auto count, tx.QueryInt("SELECT COUNT(*) FROM kv"));
    EXPECT_EQ(count, 5000);
    return Status::Ok();
  }));
  // Also on the writer, with RETURNING.
  ASSERT_OK(store_->Write([](Tx& tx) -> Status {
    int calls = 0;
    SB_RETURN_IF_ERROR(tx.Query("UPDATE kv SET v = $1 RETURNING k", {"w"}, [&](const Row&) {
      ++calls;
      return false;
    }));
    EXPECT_EQ(calls, 1);
    SB_ASSIGN_OR_RETURN(auto updated, tx.QueryInt("SELECT COUNT(*) FROM kv WHERE v = $1", {"w"}));
    EXPECT_EQ(updated, 5000);  // stopping early does not stop the statement
    return Status::Ok();
  }));
}

TEST_P(StoreTest, CallbacksCanRunStatementsOfTheirOwn) {
  ASSERT_OK(CreateTable(kCreateKv));
  ASSERT_OK(CreateTable("CREATE TABLE log (k {{int}}, running {{int}})"));
  ASSERT_OK(store_->Write([](Tx& tx) -> Status {
    for (int k = 1; k <= 50; ++k) SB_RETURN_IF_ERROR(InsertKv(tx, k, "v" + std::to_string(k)));
    // For each row: a nested query (itself with a nested query) and an insert.
    Status inner;
    SB_RETURN_IF_ERROR(tx.Query("SELECT k, v FROM kv ORDER BY k", {}, [&](const Row& row) {
      const std::int64_t k = row.Int(0);
      auto running = tx.QueryInt("SELECT SUM(k) FROM kv WHERE k <= $1", {k});
      if (!running.has_value()) {
        inner = running.error();
        return false;
      }
      inner = tx.Query("SELECT k FROM kv WHERE k = $1", {k}, [&](const Row& same) {
        EXPECT_EQ(same.Int(0), k);
        EXPECT_OK(tx.Exec("INSERT INTO log (k, running) VALUES ($1, $2)", {k, *running}));
        return true;
      });
      EXPECT_EQ(row.Text(1), "v" + std::to_string(k));  // the outer row is intact
      return inner.ok();
    }));
    return inner;
  }));
  EXPECT_EQ(IntOf("SELECT COUNT(*) FROM log"), 50);
  EXPECT_EQ(IntOf("SELECT running FROM log WHERE k = $1", {50}), 50 * 51 / 2);
}

TEST_P(StoreTest, QueryIntNeedsARow) {
  ASSERT_OK(CreateTable(kCreateKv));
  ASSERT_OK(store_->Read([](Tx& tx) -> Status {
    auto missing = tx.QueryInt("SELECT k FROM kv WHERE k = $1", {7});
    EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
    SB_ASSIGN_OR_RETURN(auto zero, tx.QueryInt("SELECT COUNT(*) FROM kv"));
    EXPECT_EQ(zero, 0);
    SB_ASSIGN_OR_RETURN(auto sum, tx.QueryInt("SELECT COALESCE(SUM(k), 0) FROM kv"));
    EXPECT_EQ(sum, 0);
    return Status::Ok();
  }));
}

TEST_P(StoreTest, PlaceholdersBindInOrderAndCanRepeat) {
  ASSERT_OK(store_->Read([](Tx& tx) -> Status {
    int rows = 0;
    SB_RETURN_IF_ERROR(tx.Query("SELECT $2, $1", {1, "second"}, [&](const Row& row) {
      ++rows;
      EXPECT_EQ(row.Text(0), "second");
      EXPECT_EQ(row.Int(1), 1);
      return true;
    }));
    SB_ASSIGN_OR_RETURN(auto doubled, tx.QueryInt("SELECT $1 + $1", {21}));
    EXPECT_EQ(doubled, 42);
    SB_ASSIGN_OR_RETURN(auto ten,
                        tx.QueryInt("SELECT $1 + $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 + $10",
                                    {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
    EXPECT_EQ(ten, 55);
    SB_RETURN_IF_ERROR(tx.Query("SELECT '$1', 'it''s $2', $1", {"bound"}, [&](const Row& row) {
      ++rows;
      EXPECT_EQ(row.Text(0), "$1");
      EXPECT_EQ(row.Text(1), "it's $2");
      EXPECT_EQ(row.Text(2), "bound");
      return true;
    }));
    EXPECT_EQ(rows, 2);
    return Status::Ok();
  }));
}

TEST_P(StoreTest, LargeResultsStream) {
  constexpr std::int64_t kRows = 300000;
  std::int64_t rows = 0, sum = 0;
  ASSERT_OK(store_->Read([&](Tx& tx) {
    return tx.Query(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < $1) "
        "SELECT x, 'row' FROM n",
        {kRows}, [&](const Row& row) {
          ++rows;
          sum += row.Int(0);
          return true;
        });
  }));
  EXPECT_EQ(rows, kRows);
  EXPECT_EQ(sum, kRows * (kRows + 1) / 2);
}

// ---- Errors ----

TEST_P(StoreTest, UniqueViolationIsAlreadyExists) {
  ASSERT_OK(store_->Write([](Tx& tx) { return InsertUnit(tx, "root"); }));
  const std::string secret = "Secret-Code-7Q4";
  ASSERT_OK(store_->Write([&](Tx& tx) { return InsertUnit(tx, secret); }));
  for (int path = 0; path < 2; ++path) {
    auto insert = [&](Tx& tx) { return InsertUnit(tx, secret); };
    Status st = path == 0 ? store_->Write(insert) : store_->WriteNow(insert);
    EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
    EXPECT_EQ(st.message().find(secret), std::string::npos) << "a value leaked: " << st.ToString();
    // The connection still works.
    EXPECT_OK(path == 0 ? store_->Write(
                              [&](Tx& tx) { return InsertUnit(tx, "w" + std::to_string(path)); })
                        : store_->WriteNow([&](Tx& tx) { return InsertUnit(tx, "n"); }));
  }
  EXPECT_EQ(IntOf("SELECT COUNT(*) FROM units"), 4);
}

TEST_P(StoreTest, ConstraintViolationsAreFailedPrecondition) {
  // A foreign key to a unit that does not exist.
  Status fk = store_->Write([](Tx& tx) { return InsertUnit(tx, "orphan", 999999); });
  EXPECT_EQ(fk.code(), StatusCode::kFailedPrecondition) << fk.ToString();
  // A NOT NULL column left NULL.
  Status not_null = store_->WriteNow([](Tx& tx) {
    return tx
        .Exec("INSERT INTO units (code, name, kind) VALUES ($1, $2, $3)", {"c", nullptr, "branch"})
        .status();
  });
  EXPECT_EQ(not_null.code(), StatusCode::kFailedPrecondition) << not_null.ToString();
  // Both connections still work.
  EXPECT_OK(store_->Write([](Tx& tx) { return InsertUnit(tx, "root"); }));
  auto root = ReadInt("SELECT id FROM units WHERE code = $1", {"root"});
  ASSERT_OK(root);
  EXPECT_OK(store_->WriteNow([&](Tx& tx) { return InsertUnit(tx, "child", *root); }));
  EXPECT_EQ(IntOf("SELECT COUNT(*) FROM units"), 2);
}

TEST_P(StoreTest, BadSqlIsInternalAndTheConnectionRecovers) {
  auto bad = [](Tx& tx) { return tx.Exec("SELEC 1").status(); };
  auto missing = [](Tx& tx) { return tx.QueryInt("SELECT COUNT(*) FROM no_such_table").status(); };
  auto too_few = [](Tx& tx) { return tx.Exec("SELECT $1, $2", {1}).status(); };
  auto good = [](Tx& tx) { return tx.QueryInt("SELECT COUNT(*) FROM units").status(); };
  for (const TxFn& fn : {TxFn(bad), TxFn(missing), TxFn(too_few)}) {
    Status read = store_->Read(fn);
    EXPECT_EQ(read.code(), StatusCode::kInternal) << read.ToString();
    EXPECT_OK(store_->Read(good));
    Status write = store_->Write(fn);
    EXPECT_EQ(write.code(), StatusCode::kInternal) << write.ToString();
    EXPECT_OK(store_->Write(good));
    Status now = store_->WriteNow(fn);
    EXPECT_EQ(now.code(), StatusCode::kInternal) << now.ToString();
    EXPECT_OK(store_->WriteNow(good));
  }
}

TEST_P(StoreTest, ReadTransactionsAreReadOnly) {
  ASSERT_OK(CreateTable(kCreateKv));
  Status st = store_->Read([](Tx& tx) { return InsertKv(tx, 1); });
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(Keys().empty());
}

TEST_P(StoreTest, CallbackErrorsComeBackUnchanged) {
  ASSERT_OK(CreateTable(kCreateKv));
  const Status mine = Status::InvalidArgument("mine");
  auto fn = [&](Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(InsertKv(tx, 1));
    return mine;
  };
  EXPECT_EQ(store_->Write(fn), mine);
  EXPECT_EQ(store_->WriteAsync(fn).get(), mine);
  EXPECT_EQ(store_->WriteNow(fn), mine);
  EXPECT_EQ(store_->Read([&](Tx&) { return mine; }), mine);
  EXPECT_TRUE(Keys().empty());
}

// ---- Writes ----

TEST_P(StoreTest, GroupCommitBatchesConcurrentWrites) {
  ASSERT_OK(CreateTable(kCreateKv));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 250;
  auto blocker = std::make_unique<WriterBlocker>(*store_);
  const StoreStats before = store_->stats();
  std::vector<std::vector<std::future<Status>>> futures(kThreads);
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          const int k = t * kPerThread + i;
          futures[t].push_back(store_->WriteAsync([k](Tx& tx) { return InsertKv(tx, k); }));
        }
      });
    }
    for (auto& thread : threads) thread.join();
  }
  // All 2,000 are queued behind the blocker; let them go.
  EXPECT_OK(blocker->Release());
  blocker.reset();
  for (auto& per_thread : futures) {
    for (auto& f : per_thread) EXPECT_OK(f.get());
  }
  const StoreStats after = store_->stats();
  const std::uint64_t ops = after.write_ops - before.write_ops;
  const std::uint64_t groups = after.write_groups - before.write_groups;
  EXPECT_EQ(ops, kThreads * kPerThread + 1u);  // and the blocker
  EXPECT_LT(groups, ops);
  // The blocker's group, then the queue in groups of at most max_group (1024).
  EXPECT_LE(groups, 3u);
  EXPECT_EQ(after.write_failures, before.write_failures);
  EXPECT_EQ(IntOf("SELECT COUNT(*) FROM kv"), kThreads * kPerThread);
}

TEST_P(StoreTest, AFailingOperationRollsBackOnlyItself) {
  ASSERT_OK(CreateTable(kCreateKv));
  WriterBlocker blocker(*store_);
  const StoreStats before = store_->stats();
  auto a = store_->WriteAsync([](Tx& tx) { return InsertKv(tx, 1); });
  auto b = store_->WriteAsync([](Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(InsertKv(tx, 20));
    SB_RETURN_IF_ERROR(InsertKv(tx, 21));
    return Status::InvalidArgument("b changed its mind");
  });
  auto c = store_->WriteAsync([](Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(InsertKv(tx, 30));
    return InsertKv(tx, 1);  // a real SQL error: a's key
  });
  auto d = store_->WriteAsync([](Tx& tx) { return InsertKv(tx, 4); });
  EXPECT_OK(blocker.Release());
  EXPECT_OK(a.get());
  EXPECT_EQ(b.get(), Status::InvalidArgument("b changed its mind"));
  EXPECT_EQ(c.get().code(), StatusCode::kAlreadyExists);
  EXPECT_OK(d.get());
  EXPECT_EQ(Keys(), (std::vector<std::int64_t>{1, 4}));
  const StoreStats after = store_->stats();
  EXPECT_EQ(after.write_groups - before.write_groups, 2u);  // the blocker's, then a..d
  EXPECT_EQ(after.write_ops - before.write_ops, 3u);        // the blocker, a, d
  EXPECT_EQ(after.write_failures - before.write_failures, 2u);
}

// WriteThen: the outcome reaches `then` once the group has committed (the
// row is readable by then), a failure with its effects rolled back, and on
// a thread other than the caller's (the writer's answering thread).
TEST_P(StoreTest, WriteThenAnswersAfterTheCommit) {
  ASSERT_OK(CreateTable(kCreateKv));
  struct Seen {
    std::promise<Status> status;
    std::promise<std::int64_t> rows;
    std::promise<bool> caller_thread;
  };
  auto run = [&](TxFn fn, Seen& seen) {
    const auto caller = std::this_thread::get_id();
    store_->WriteThen(std::move(fn), [&, caller](Status st) {
      seen.caller_thread.set_value(std::this_thread::get_id() == caller);
      // Reading here would be wrong in a server (this thread must not
      // block); a test may, to see what the commit left.
      seen.rows.set_value(IntOf("SELECT COUNT(*) FROM kv"));
      seen.status.set_value(std::move(st));
    });
  };
  WriterBlocker blocker(*store_);
  Seen ok, failed;
  run([](Tx& tx) { return InsertKv(tx, 7); }, ok);
  run(
      [](Tx& tx) -> Status {
        SB_RETURN_IF_ERROR(InsertKv(tx, 8));
        return Status::InvalidArgument("changed its mind");
      },
      failed);
  EXPECT_OK(blocker.Release());
  EXPECT_OK(ok.status.get_future().get());
  EXPECT_EQ(failed.status.get_future().get(), Status::InvalidArgument("changed its mind"));
  EXPECT_EQ(ok.rows.get_future().get(), 1);
  EXPECT_EQ(failed.rows.get_future().get(), 1);
  EXPECT_FALSE(ok.caller_thread.get_future().get());
  EXPECT_FALSE(failed.caller_thread.get_future().get());
  EXPECT_EQ(Keys(), (std::vector<std::int64_t>{7}));
}

TEST_P(StoreTest, AGroupWithAFailureIsRunAgainWithoutIt) {
  // The writer runs a group without savepoints first; when one operation
  // fails it rolls the group back and runs the others again, each isolated.
  // The failed operation does not run again, and the others' effects count
  // once.
  ASSERT_OK(CreateTable(kCreateKv));
  WriterBlocker blocker(*store_);
  const StoreStats before = store_->stats();
  std::atomic<int> runs_a{0}, runs_b{0}, runs_c{0}, runs_d{0};
  auto a = store_->WriteAsync([&](Tx& tx) -> Status {
    ++runs_a;
    SB_RETURN_IF_ERROR(InsertKv(tx, 1));
    return InsertKv(tx, 2);
  });
  auto b = store_->WriteAsync([&](Tx& tx) -> Status {
    ++runs_b;
    SB_RETURN_IF_ERROR(InsertKv(tx, 20));
    return InsertKv(tx, 2);  // a's key: a real SQL error, after a write
  });
  auto c = store_->WriteAsync([&](Tx& tx) -> Status {
    ++runs_c;
    return InsertKv(tx, 3);
  });
  auto d = store_->WriteAsync([&](Tx& tx) -> Status {
    ++runs_d;
    SB_RETURN_IF_ERROR(InsertKv(tx, 40));
    return Status::FailedPrecondition("d changed its mind");
  });
  EXPECT_OK(blocker.Release());
  EXPECT_OK(a.get());
  EXPECT_EQ(b.get().code(), StatusCode::kAlreadyExists);
  EXPECT_OK(c.get());
  EXPECT_EQ(d.get(), Status::FailedPrecondition("d changed its mind"));
  EXPECT_EQ(Keys(), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(runs_a, 2);  // the optimistic run, then the isolated one
  EXPECT_EQ(runs_b, 1);  // its failure stands
  EXPECT_EQ(runs_c, 1);  // not reached by the optimistic run
  EXPECT_EQ(runs_d, 1);
  const StoreStats after = store_->stats();
  EXPECT_EQ(after.write_groups - before.write_groups, 2u);  // the blocker's, then a..d
  EXPECT_EQ(after.write_ops - before.write_ops, 3u);        // the blocker, a, c
  EXPECT_EQ(after.write_failures - before.write_failures, 2u);
}

TEST_P(StoreTest, AGroupWithoutFailuresRunsEachOperationOnce) {
  ASSERT_OK(CreateTable(kCreateKv));
  WriterBlocker blocker(*store_);
  std::atomic<int> runs{0};
  std::vector<std::future<Status>> futures;
  for (int k = 0; k < 50; ++k) {
    futures.push_back(store_->WriteAsync([&runs, k](Tx& tx) {
      ++runs;
      return InsertKv(tx, k);
    }));
  }
  EXPECT_OK(blocker.Release());
  for (auto& f : futures) EXPECT_OK(f.get());
  EXPECT_EQ(runs, 50);
  EXPECT_EQ(IntOf("SELECT COUNT(*) FROM kv"), 50);
}

TEST_P(StoreTest, ASwallowedStatementErrorFailsOnlyItsOwnWrite) {
  // On PostgreSQL a failed statement aborts the transaction even when the
  // callback ignores the error: that write fails (and only it). SQLite undoes
  // just the failed statement, so there the write goes through.
  ASSERT_OK(CreateTable(kCreateKv));
  WriterBlocker blocker(*store_);
  auto a = store_->WriteAsync([](Tx& tx) { return InsertKv(tx, 1); });
  auto b = store_->WriteAsync([](Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(InsertKv(tx, 20));
    InsertKv(tx, 1).IgnoreError();
    return Status::Ok();
  });
  auto c = store_->WriteAsync([](Tx& tx) { return InsertKv(tx, 3); });
  EXPECT_OK(blocker.Release());
  EXPECT_OK(a.get());
  EXPECT_OK(c.get());
  Status b_result = b.get();
  if (postgres()) {
    EXPECT_FALSE(b_result.ok());
    EXPECT_EQ(Keys(), (std::vector<std::int64_t>{1, 3}));
  } else {
    EXPECT_OK(b_result);
    EXPECT_EQ(Keys(), (std::vector<std::int64_t>{1, 3, 20}));
  }
}

TEST_P(StoreTest, AWriterLearnsItsOutcomeOnlyOnceItsGroupCommitted) {
  // Answers come from a thread of their own, still only after the commit:
  // whoever has an answer can read what it wrote.
  ASSERT_OK(CreateTable(kCreateKv));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::atomic<int> unseen{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int k = t * kPerThread + i;
        if (!store_->Write([k](Tx& tx) { return InsertKv(tx, k); }).ok()) continue;
        auto n = ReadInt("SELECT COUNT(*) FROM kv WHERE k = $1", {k});
        if (!n.has_value() || *n != 1) ++unseen;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(unseen, 0);
  EXPECT_EQ(IntOf("SELECT COUNT(*) FROM kv"), kThreads * kPerThread);
}

// ---- Memos (Tx::GetMemo / SetMemo) ----

constexpr Tx::Memo kMemo = Tx::Memo::kAuditNextSeq;

TEST_P(StoreTest, AMemoLastsUntilItsTransactionEnds) {
  std::vector<std::optional<std::int64_t>> seen;
  auto look_then_set = [&](std::int64_t v) {
    return [&seen, v](Tx& tx) {
      seen.push_back(tx.GetMemo(kMemo));
      tx.SetMemo(kMemo, v);
      seen.push_back(tx.GetMemo(kMemo));
      return Status::Ok();
    };
  };
  ASSERT_OK(store_->Write(look_then_set(5)));
  ASSERT_OK(store_->Write(look_then_set(6)));  // the next group: a new transaction
  ASSERT_OK(store_->WriteNow(look_then_set(7)));
  ASSERT_OK(store_->WriteNow(look_then_set(8)));
  using V = std::optional<std::int64_t>;
  EXPECT_EQ(seen,
            (std::vector<V>{std::nullopt, 5, std::nullopt, 6, std::nullopt, 7, std::nullopt, 8}));
}

TEST_P(StoreTest, MemosAreForgottenOnEveryRollbackOfAGroup) {
  // The group [a, b, c, d] runs without savepoints until b fails, is rolled
  // back, and runs again with a savepoint each: a, then c (which fails, its
  // savepoint rolled back), then d. No run may see a memo set by work that
  // was rolled back.
  ASSERT_OK(CreateTable(kCreateKv));
  std::mutex mu;
  std::vector<std::string> seen;
  auto note = [&](const char* who, Tx& tx) {
    auto m = tx.GetMemo(kMemo);
    std::lock_guard lock(mu);
    seen.push_back(std::string(who) + "=" + (m ? std::to_string(*m) : "none"));
  };
  WriterBlocker blocker(*store_);
  auto a = store_->WriteAsync([&](Tx& tx) -> Status {
    note("a", tx);
    SB_RETURN_IF_ERROR(InsertKv(tx, 1));
    tx.SetMemo(kMemo, 10);
    return Status::Ok();
  });
  auto b = store_->WriteAsync([&](Tx& tx) -> Status {
    note("b", tx);
    SB_RETURN_IF_ERROR(InsertKv(tx, 2));
    tx.SetMemo(kMemo, 11);
    return Status::Aborted("b failed");
  });
  auto c = store_->WriteAsync([&](Tx& tx) -> Status {
    note("c", tx);
    SB_RETURN_IF_ERROR(InsertKv(tx, 3));
    tx.SetMemo(kMemo, 12);
    return Status::Aborted("c failed");
  });
  auto d = store_->WriteAsync([&](Tx& tx) -> Status {
    note("d", tx);
    return InsertKv(tx, 4);
  });
  EXPECT_OK(blocker.Release());
  EXPECT_OK(a.get());
  EXPECT_EQ(b.get().code(), StatusCode::kAborted);
  EXPECT_EQ(c.get().code(), StatusCode::kAborted);
  EXPECT_OK(d.get());
  EXPECT_EQ(seen, (std::vector<std::string>{"a=none", "b=10", "a=none", "c=10", "d=none"}));
  EXPECT_EQ(Keys(), (std::vector<std::int64_t>{1, 4}));
}

TEST_P(StoreTest, WriteNowCommitsOrRollsBack) {
  ASSERT_OK(CreateTable(kCreateKv));
  ASSERT_OK(store_->WriteNow([](Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(InsertKv(tx, 1));
    return InsertKv(tx, 2);
  }));
  EXPECT_EQ(Keys(), (std::vector<std::int64_t>{1, 2}));
  Status failed = store_->WriteNow([](Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(InsertKv(tx, 3));
    return Status::Aborted("changed my mind");
  });
  EXPECT_EQ(failed.code(), StatusCode::kAborted);
  Status sql_error = store_->WriteNow([](Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(InsertKv(tx, 4));
    return InsertKv(tx, 1);
  });
  EXPECT_EQ(sql_error.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Keys(), (std::vector<std::int64_t>{1, 2}));
  EXPECT_OK(store_->WriteNow([](Tx& tx) { return InsertKv(tx, 5); }));
  EXPECT_EQ(Keys(), (std::vector<std::int64_t>{1, 2, 5}));
  // WriteNow does not go through the group writer.
  EXPECT_EQ(store_->stats().write_ops, 0u);
}

TEST_P(StoreTest, DataSurvivesReopening) {
  StoreOptions durable = TestOptions();
  durable.durable = true;
  ASSERT_OK(Reopen(durable));
  ASSERT_OK(CreateTable(kCreateKv));
  ASSERT_OK(store_->Write([](Tx& tx) { return InsertKv(tx, 1, "group"); }));
  ASSERT_OK(store_->WriteNow([](Tx& tx) { return InsertKv(tx, 2, "now"); }));
  ASSERT_OK(store_->WriteAsync([](Tx& tx) { return InsertKv(tx, 3, "async"); }).get());
  ASSERT_OK(Reopen(durable));
  std::vector<std::string> values;
  ASSERT_OK(store_->Read([&](Tx& tx) {
    return tx.Query("SELECT v FROM kv ORDER BY k", {}, [&](const Row& row) {
      values.emplace_back(row.Text(0));
      return true;
    });
  }));
  EXPECT_EQ(values, (std::vector<std::string>{"group", "now", "async"}));
}

// ---- Reads ----

TEST_P(StoreTest, AReadSeesOneSnapshot) {
  ASSERT_OK(CreateTable(kCreateKv));
  ASSERT_OK(store_->Read([&](Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(auto before, tx.QueryInt("SELECT COUNT(*) FROM kv"));
    EXPECT_EQ(before, 0);
    // Another transaction commits while this one is open...
    EXPECT_OK(store_->Write([](Tx& w) { return InsertKv(w, 1); }));
    EXPECT_OK(store_->WriteNow([](Tx& w) { return InsertKv(w, 2); }));
    // ...and this one goes on seeing its snapshot.
    SB_ASSIGN_OR_RETURN(auto after, tx.QueryInt("SELECT COUNT(*) FROM kv"));
    EXPECT_EQ(after, 0);
    return Status::Ok();
  }));
  EXPECT_EQ(IntOf("SELECT COUNT(*) FROM kv"), 2);
}

TEST_P(StoreTest, ReadsDoNotSeeUncommittedWrites) {
  ASSERT_OK(CreateTable(kCreateKv));
  ASSERT_OK(store_->Write([&](Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(InsertKv(tx, 1));
    auto seen = ReadInt("SELECT COUNT(*) FROM kv");  // on a reader, mid-transaction
    EXPECT_OK(seen);
    EXPECT_EQ(seen.value_or(-1), 0);
    return Status::Ok();
  }));
  EXPECT_EQ(IntOf("SELECT COUNT(*) FROM kv"), 1);
}

TEST_P(StoreTest, ReadsRunConcurrently) {
  ASSERT_OK(CreateTable(kCreateKv));
  ASSERT_OK(store_->Write([](Tx& tx) -> Status {
    for (int k = 0; k < 100; ++k) SB_RETURN_IF_ERROR(InsertKv(tx, k));
    return Status::Ok();
  }));
  // Four readers inside Read() at the same time: each waits for all four.
  constexpr int kReaders = 4;
  std::mutex mu;
  std::condition_variable cv;
  int inside = 0;
  std::vector<std::future<Status>> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.push_back(std::async(std::launch::async, [&] {
      return store_->Read([&](Tx& tx) -> Status {
        SB_ASSIGN_OR_RETURN(auto n, tx.QueryInt("SELECT COUNT(*) FROM kv"));
        EXPECT_EQ(n, 100);
        std::unique_lock lock(mu);
        ++inside;
        cv.notify_all();
        if (!cv.wait_for(lock, std::chrono::minutes(1), [&] { return inside == kReaders; })) {
          return Status::Internal("the readers never overlapped");
        }
        return Status::Ok();
      });
    }));
  }
  for (auto& r : readers) EXPECT_OK(r.get());
  // And many short reads from many threads, while writes go on.
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto n = ReadInt("SELECT COUNT(*) FROM kv WHERE k < $1", {100});
        if (!n || *n != 100) ++failures;
      }
    });
  }
  for (int k = 100; k < 150; ++k) {
    EXPECT_OK(store_->Write([k](Tx& tx) { return InsertKv(tx, k); }));
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

// ---- Fault injection ----

TEST_P(StoreTest, FaultyStoreFailsTheChosenWriteBeforeItRuns) {
  ASSERT_OK(CreateTable(kCreateKv));
  FaultyStore faulty(*store_);
  faulty.FailNthWrite(2);
  std::atomic<int> ran{0};
  auto insert = [&](int k) {
    return [&ran, k](Tx& tx) {
      ++ran;
      return InsertKv(tx, k);
    };
  };
  EXPECT_OK(faulty.Write(insert(1)));
  Status st = faulty.Write(insert(2));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_EQ(st.message().rfind(FaultyStore::kInjectedFault, 0), 0u) << st.ToString();
  EXPECT_OK(faulty.WriteNow(insert(3)));
  EXPECT_EQ(ran.load(), 2);
  EXPECT_EQ(faulty.writes(), 3u);
  EXPECT_EQ(faulty.faults(), 1u);
  EXPECT_EQ(Keys(), (std::vector<std::int64_t>{1, 3}));
}

TEST_P(StoreTest, FaultyStoreAfterTheCallbackLeavesNoPartialRows) {
  ASSERT_OK(CreateTable(kCreateKv));
  FaultyStore faulty(*store_);
  auto three_rows = [](int base) {
    return [base](Tx& tx) -> Status {
      for (int k = base; k < base + 3; ++k) SB_RETURN_IF_ERROR(InsertKv(tx, k));
      return Status::Ok();
    };
  };
  faulty.FailAllWrites(FaultMode::kAfterCallback);
  EXPECT_EQ(faulty.Write(three_rows(10)).code(), StatusCode::kUnavailable);
  EXPECT_EQ(faulty.WriteAsync(three_rows(20)).get().code(), StatusCode::kUnavailable);
  EXPECT_EQ(faulty.WriteNow(three_rows(30)).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Keys().empty());
  EXPECT_EQ(faulty.faults(), 3u);
  faulty.Clear();
  EXPECT_OK(faulty.Write(three_rows(40)));
  EXPECT_EQ(Keys(), (std::vector<std::int64_t>{40, 41, 42}));
}

TEST_P(StoreTest, FaultyStoreAfterTheCommitKeepsTheWrite) {
  ASSERT_OK(CreateTable(kCreateKv));
  FaultyStore faulty(*store_);
  faulty.FailAllWrites(FaultMode::kAfterCommit);
  EXPECT_EQ(faulty.Write([](Tx& tx) { return InsertKv(tx, 1); }).code(), StatusCode::kUnavailable);
  EXPECT_EQ(faulty.WriteAsync([](Tx& tx) { return InsertKv(tx, 2); }).get().code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(faulty.WriteNow([](Tx& tx) { return InsertKv(tx, 3); }).code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(Keys(), (std::vector<std::int64_t>{1, 2, 3}));
}

TEST_P(StoreTest, FaultyStoreStatementFaultRollsBackTheWholeTransaction) {
  ASSERT_OK(CreateTable(kCreateKv));
  ASSERT_OK(CreateTable("CREATE TABLE kv_log (k {{int}} NOT NULL)"));
  FaultyStore faulty(*store_);
  // A row in kv, then its log line: the second statement fails.
  auto paired = [](int k) {
    return [k](Tx& tx) -> Status {
      SB_RETURN_IF_ERROR(InsertKv(tx, k));
      return tx.Exec("INSERT INTO kv_log (k) VALUES ($1)", {k}).status();
    };
  };
  faulty.FailStatements("INSERT INTO kv_log");
  Status st = faulty.Write(paired(1));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_EQ(st.message().rfind(FaultyStore::kInjectedFault, 0), 0u) << st.ToString();
  EXPECT_EQ(faulty.WriteAsync(paired(2)).get().code(), StatusCode::kUnavailable);
  EXPECT_EQ(faulty.WriteNow(paired(3)).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Keys().empty());
  EXPECT_EQ(faulty.statement_faults(), 3u);
  EXPECT_EQ(faulty.faults(), 3u);
  EXPECT_EQ(faulty.writes(), 3u);
  // Statements that do not match run as ever, and Clear() ends the fault.
  EXPECT_OK(faulty.Write([](Tx& tx) { return InsertKv(tx, 4); }));
  faulty.Clear();
  EXPECT_OK(faulty.Write(paired(5)));
  EXPECT_EQ(Keys(), (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(IntOf("SELECT COUNT(*) FROM kv_log"), 1);
  EXPECT_EQ(faulty.statement_faults(), 3u);
}

TEST_P(StoreTest, FaultyStoreStatementFaultHitsQueriesAndReadsToo) {
  ASSERT_OK(CreateTable(kCreateKv));
  ASSERT_OK(store_->Write([](Tx& tx) { return InsertKv(tx, 1); }));
  FaultyStore faulty(*store_);
  faulty.FailStatements("FROM kv");
  auto count = [](Tx& tx) { return tx.QueryInt("SELECT COUNT(*) FROM kv").status(); };
  EXPECT_EQ(faulty.Read(count).code(), StatusCode::kUnavailable);
  EXPECT_EQ(faulty.Write(count).code(), StatusCode::kUnavailable);
  EXPECT_EQ(faulty
                .Read([](Tx& tx) {
                  return tx.Query("SELECT k FROM kv", {}, [](const Row&) { return true; });
                })
                .code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(faulty.statement_faults(), 3u);
  faulty.Clear();
  EXPECT_OK(faulty.Read(count));
}

TEST_P(StoreTest, FaultyStoreStatementFaultCanHitOnlyTheFirst) {
  ASSERT_OK(CreateTable(kCreateKv));
  FaultyStore faulty(*store_);
  faulty.FailStatements("INSERT INTO kv", StatementFault::kFirst);
  // The failed statement's error is the callback's to handle: this one goes on.
  ASSERT_OK(faulty.Write([](Tx& tx) -> Status {
    Status first = InsertKv(tx, 1);
    if (first.code() != StatusCode::kUnavailable) return Status::Internal("not injected");
    return InsertKv(tx, 2);
  }));
  EXPECT_OK(faulty.Write([](Tx& tx) { return InsertKv(tx, 3); }));
  EXPECT_EQ(Keys(), (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(faulty.statement_faults(), 1u);
}

// Write faults and statement faults are planned independently.
TEST_P(StoreTest, FaultyStoreWriteFaultsStillWorkBesideStatementFaults) {
  ASSERT_OK(CreateTable(kCreateKv));
  FaultyStore faulty(*store_);
  faulty.FailStatements("no statement has this text");
  faulty.FailNthWrite(2, FaultMode::kAfterCallback);
  EXPECT_OK(faulty.Write([](Tx& tx) { return InsertKv(tx, 1); }));
  EXPECT_EQ(faulty.Write([](Tx& tx) { return InsertKv(tx, 2); }).code(), StatusCode::kUnavailable);
  EXPECT_EQ(Keys(), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(faulty.statement_faults(), 0u);
  EXPECT_EQ(faulty.faults(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// ---- PostgreSQL only ----

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = PgCluster::Shared();
    ASSERT_OK(cluster);
    cluster_ = *cluster;
  }
  void TearDown() override {
    for (const std::string& db : databases_) EXPECT_OK(cluster_->DropDatabase(db));
  }

  // A new database, dropped after the test.
  Result<std::string> NewDatabase(std::string_view prefix) {
    SB_ASSIGN_OR_RETURN(auto url, cluster_->CreateUniqueDatabase(prefix));
    databases_.push_back(url.substr(url.rfind('/') + 1));
    return url;
  }

  PgCluster* cluster_ = nullptr;
  std::vector<std::string> databases_;
};

TEST_F(PostgresStoreTest, ClusterStartsQuickly) {
  // Reported, not asserted: timing thresholds make flaky tests.
  RecordProperty("startup_ms", static_cast<int>(cluster_->startup_time().count()));
  std::cout << "PostgreSQL test cluster on port " << cluster_->port() << " started in "
            << cluster_->startup_time().count() << " ms\n";
  auto url = NewDatabase("quick");
  ASSERT_OK(url);
  EXPECT_OK(OpenPostgresStore(*url, WithSchema()));
}

TEST_F(PostgresStoreTest, DescribeNeverShowsThePassword) {
  auto url = NewDatabase("describe");
  ASSERT_OK(url);
  // Trust authentication ignores the password; it must still not be shown.
  std::string with_password = *url;
  with_password.replace(with_password.find("switchboard@"), 12, "switchboard:hunter2@");
  auto store = OpenPostgresStore(with_password + "?application_name=described", WithSchema());
  ASSERT_OK(store);
  EXPECT_EQ((*store)->Describe().find("hunter2"), std::string::npos) << (*store)->Describe();
  EXPECT_EQ((*store)->Describe(), *url);
  auto bad = OpenPostgresStore("postgresql://switchboard:hunter2@127.0.0.1:1/x?bogus=1");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message().find("hunter2"), std::string::npos) << bad.error().ToString();
}

TEST_F(PostgresStoreTest, ReportsTheApplicationName) {
  auto url = NewDatabase("appname");
  ASSERT_OK(url);
  auto store = OpenPostgresStore(*url, WithSchema());
  ASSERT_OK(store);
  std::string name;
  ASSERT_OK((*store)->Read([&](Tx& tx) {
    return tx.Query("SELECT current_setting('application_name')", {}, [&](const Row& row) {
      name = row.Text(0);
      return false;
    });
  }));
  EXPECT_EQ(name, "switchboard");
}

TEST_F(PostgresStoreTest, AnIgnoredErrorFailsTheCommit) {
  // PostgreSQL aborts a transaction at its first error; a callback that
  // swallows the error must not see the rest silently rolled back.
  auto url = NewDatabase("ignored");
  ASSERT_OK(url);
  auto store = OpenPostgresStore(*url, WithSchema());
  ASSERT_OK(store);
  Status st = (*store)->WriteNow([](Tx& tx) -> Status {
    EXPECT_OK(InsertUnit(tx, "root"));
    EXPECT_FALSE(InsertUnit(tx, "root").ok());
    return Status::Ok();
  });
  EXPECT_EQ(st.code(), StatusCode::kAborted) << st.ToString();
  std::int64_t units = -1;
  ASSERT_OK((*store)->Read([&](Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(units, tx.QueryInt("SELECT COUNT(*) FROM units"));
    return Status::Ok();
  }));
  EXPECT_EQ(units, 0);
}

TEST_F(PostgresStoreTest, ReconnectsAfterTheServerDropsItsConnections) {
  auto url = NewDatabase("reconnect");
  ASSERT_OK(url);
  auto opened = OpenPostgresStore(*url, WithSchema());
  ASSERT_OK(opened);
  Store& store = **opened;
  ASSERT_OK(store.Write([](Tx& tx) { return InsertUnit(tx, "before"); }));
  ASSERT_OK(store.Read([](Tx& tx) { return tx.QueryInt("SELECT COUNT(*) FROM units").status(); }));
  // Ends every other session on this database (the writer's and the reader's)
  // and waits until they are gone.
  ASSERT_OK(store.WriteNow([](Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(auto ended,
                        tx.QueryInt("WITH others AS MATERIALIZED (SELECT pid FROM "
                                    "pg_stat_activity WHERE datname = current_database() AND "
                                    "pid <> pg_backend_pid()) SELECT COUNT(*) FROM others "
                                    "WHERE pg_terminate_backend(pid, 60000)"));
    EXPECT_EQ(ended, 2);
    return Status::Ok();
  }));
  // Transactions start on a fresh connection, transparently.
  EXPECT_OK(store.Write([](Tx& tx) { return InsertUnit(tx, "after"); }));
  EXPECT_OK(store.Read([](Tx& tx) { return tx.QueryInt("SELECT COUNT(*) FROM units").status(); }));
  // A connection lost inside a transaction fails that transaction only.
  Status lost = store.WriteNow(
      [](Tx& tx) { return tx.Exec("SELECT pg_terminate_backend(pg_backend_pid())").status(); });
  EXPECT_EQ(lost.code(), StatusCode::kUnavailable) << lost.ToString();
  EXPECT_OK(store.WriteNow([](Tx& tx) { return InsertUnit(tx, "later"); }));
  std::int64_t units = 0;
  ASSERT_OK(store.Read([&](Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(units, tx.QueryInt("SELECT COUNT(*) FROM units"));
    return Status::Ok();
  }));
  EXPECT_EQ(units, 3);
}

TEST_F(PostgresStoreTest, ErrorsDoNotEchoParameterValues) {
  auto url = NewDatabase("echo");
  ASSERT_OK(url);
  auto store = OpenPostgresStore(*url, WithSchema());
  ASSERT_OK(store);
  Status not_a_number = (*store)->Read(
      [](Tx& tx) { return tx.Exec("SELECT CAST($1 AS BIGINT)", {"Secret42"}).status(); });
  EXPECT_EQ(not_a_number.code(), StatusCode::kInternal);
  EXPECT_EQ(not_a_number.message().find("Secret42"), std::string::npos) << not_a_number.ToString();
  Status bad_utf8 = (*store)->Read(
      [](Tx& tx) { return tx.Exec("SELECT $1", {std::string("ok \xC3\x28")}).status(); });
  EXPECT_EQ(bad_utf8.code(), StatusCode::kInternal);
  EXPECT_EQ(bad_utf8.message().find("0xc3"), std::string::npos) << bad_utf8.ToString();
  Status nul = (*store)->Read(
      [](Tx& tx) { return tx.Exec("SELECT $1", {std::string("a\0b", 3)}).status(); });
  EXPECT_EQ(nul.code(), StatusCode::kInvalidArgument) << nul.ToString();
}

TEST_F(PostgresStoreTest, NumericAndBooleanResultsReadAsIntegers) {
  auto url = NewDatabase("types");
  ASSERT_OK(url);
  auto store = OpenPostgresStore(*url, WithSchema());
  ASSERT_OK(store);
  ASSERT_OK((*store)->Read([](Tx& tx) {
    return tx.Query(
        "SELECT SUM(x), 1 = 1, 1 = 2, CAST(7 AS SMALLINT), CAST(2.5 AS REAL) "
        "FROM (VALUES (CAST(9000000000 AS BIGINT)), (1)) AS t(x)",
        {}, [](const Row& row) {
          EXPECT_EQ(row.Int(0), 9000000001);
          EXPECT_EQ(row.Int(1), 1);
          EXPECT_EQ(row.Int(2), 0);
          EXPECT_EQ(row.Int(3), 7);
          EXPECT_EQ(row.Real(4), 2.5);
          EXPECT_EQ(row.Real(0), 9000000001.0);
          return true;
        });
  }));
}

// ---- Backups ----

// A backup taken while a writer commits holds every row committed before it
// began, and restores (SQLite: the file opens as a store; PostgreSQL: the
// archive restores into an empty database, and only into an empty one).
TEST_P(StoreTest, BackupWhileWritingHoldsEverythingCommittedBefore) {
  ASSERT_OK(CreateTable("CREATE TABLE kv (k {{int}} PRIMARY KEY, v TEXT NOT NULL)"));
  for (int k = 0; k < 200; ++k) {
    ASSERT_OK(store_->Write([k](Tx& tx) {
      return tx.Exec("INSERT INTO kv (k, v) VALUES ($1, 'before')", {k}).status();
    }));
  }
  std::atomic<bool> stop{false};
  std::atomic<int> written{200};
  std::thread writer([&] {
    for (int k = 200; !stop; ++k) {
      Status st = store_->Write([k](Tx& tx) {
        return tx.Exec("INSERT INTO kv (k, v) VALUES ($1, 'during')", {k}).status();
      });
      if (!st.ok()) break;
      written = k + 1;
    }
  });
  while (written < 250) std::this_thread::yield();
  const int committed_before = written;
  auto dir = ScopedTempDir::Create("sb-backup-test");
  ASSERT_OK(dir);
  const std::string dest = dir->Join("copy");
  Status st = store_->BackupTo(dest);
  stop = true;
  writer.join();
  ASSERT_OK(st);
  EXPECT_EQ(store_->BackupTo(dest).code(), StatusCode::kAlreadyExists);

  std::string restored = dest;
  if (postgres()) {
    EXPECT_EQ(RestorePostgresArchive(target_, dest).code(), StatusCode::kAlreadyExists);
    auto fresh = NewTarget();
    ASSERT_OK(fresh);
    restored = *fresh;
    ASSERT_OK(RestorePostgresArchive(restored, dest));
  }
  StoreOptions as_is = TestOptions();
  as_is.migrate = false;
  auto copy = Open(restored, as_is);
  ASSERT_OK(copy);
  std::int64_t rows = 0, max_k = -1;
  ASSERT_OK((*copy)->Read([&](Tx& tx) {
    return tx.Query("SELECT COUNT(*), MAX(k) FROM kv", {}, [&](const Row& r) {
      rows = r.Int(0);
      max_k = r.Int(1);
      return false;
    });
  }));
  EXPECT_GE(rows, committed_before);
  EXPECT_EQ(rows, max_k + 1);  // one moment: no gap
  auto version = (*copy)->SchemaVersion();
  ASSERT_OK(version);
  EXPECT_EQ(*version, *store_->SchemaVersion());
}

}  // namespace
}  // namespace switchboard::store
