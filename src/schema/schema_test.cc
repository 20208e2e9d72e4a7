// The schema a fresh database gets, on both backends, against a snapshot
// (testdata/schema.*): tables, columns, constraints and indexes, in the
// order SQLite keeps them. A migration that changes the schema changes the
// snapshot in the same commit; on a mismatch the test writes what it found
// to schema.<backend>.actual in its working directory, for review.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/testing/status_matchers.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/testing/pg_cluster.h"
#include "store/testing/temp_dir.h"

namespace switchboard::schema {
namespace {

using ::switchboard::store::Row;
using ::switchboard::store::Store;
using ::switchboard::store::StoreOptions;
using ::switchboard::store::Tx;
using ::switchboard::store::testing::PgCluster;
using ::switchboard::store::testing::ScopedTempDir;

std::string SourceFile(const std::string& rel) {
  const char* dir = std::getenv("SB_SOURCE_DIR");
#ifdef SB_SOURCE_DIR_DEFAULT
  if (!dir) dir = SB_SOURCE_DIR_DEFAULT;
#endif
  std::ifstream in(std::string(dir ? dir : ".") + "/" + rel, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// As `sqlite3 db .schema` prints it: every statement SQLite keeps, in the
// order the migrations created them (an ALTER edits its table's statement).
Result<std::string> DumpSqlite(Store& store) {
  std::string out;
  SB_RETURN_IF_ERROR(store.Read([&](Tx& tx) {
    return tx.Query(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
        "ORDER BY rowid",
        {}, [&](const Row& r) {
          out += std::string(r.Text(0)) + ";\n";
          return true;
        });
  }));
  return out;
}

// PostgreSQL's catalogue, one line per column, constraint and index.
Result<std::string> DumpPostgres(Store& store) {
  std::string out;
  SB_RETURN_IF_ERROR(store.Read([&](Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(tx.Query(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid), CAST(a.attidentity AS TEXT) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY c.relname, a.attnum",
        {}, [&](const Row& r) {
          out += "column " + std::string(r.Text(0)) + "." + std::string(r.Text(1)) + " " +
                 std::string(r.Text(2)) + (r.Int(3) ? " not null" : "") +
                 (r.IsNull(4) ? "" : " default " + std::string(r.Text(4))) +
                 (r.TextOr(5).empty() ? "" : " identity " + r.TextOr(5)) + "\n";
          return true;
        }));
    SB_RETURN_IF_ERROR(
        tx.Query("SELECT CAST(conrelid::regclass AS TEXT), conname, pg_get_constraintdef(oid) "
                 "FROM pg_constraint WHERE connamespace = CAST('public' AS regnamespace) "
                 "ORDER BY 1, 2",
                 {}, [&](const Row& r) {
                   out += "constraint " + std::string(r.Text(0)) + " " + std::string(r.Text(1)) +
                          " " + std::string(r.Text(2)) + "\n";
                   return true;
                 }));
    return tx.Query(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY tablename, "
        "indexname",
        {}, [&](const Row& r) {
          out += std::string(r.Text(0)) + "\n";
          return true;
        });
  }));
  return out;
}

class FreshSchemaTest : public ::testing::TestWithParam<std::string> {
 protected:
  void TearDown() override {
    for (const std::string& db : databases_) EXPECT_OK((*PgCluster::Shared())->DropDatabase(db));
  }

  bool postgres() const { return GetParam() == "postgres"; }

  Result<std::string> NewTarget() {
    if (postgres()) {
      SB_ASSIGN_OR_RETURN(PgCluster * cluster, PgCluster::Shared());
      SB_ASSIGN_OR_RETURN(auto url, cluster->CreateUniqueDatabase("schema_test"));
      databases_.push_back(url.substr(url.rfind('/') + 1));
      return url;
    }
    if (!dir_) {
      SB_ASSIGN_OR_RETURN(auto dir, ScopedTempDir::Create("sb-schema-test"));
      dir_.emplace(std::move(dir));
    }
    return dir_->Join("schema" + std::to_string(++targets_) + ".db");
  }

  Result<std::unique_ptr<Store>> Open(const std::string& target) {
    StoreOptions options;
    options.durable = false;
    return postgres() ? store::OpenPostgresStore(target, options)
                      : store::OpenSqliteStore(target, options);
  }

  Result<std::string> Dump(Store& store) {
    return postgres() ? DumpPostgres(store) : DumpSqlite(store);
  }

  // Compares with the snapshot; a mismatch leaves the dump for review.
  void ExpectSnapshot(const std::string& dump) {
    const std::string name = "schema." + GetParam() + (postgres() ? ".txt" : ".sql");
    const std::string expected = SourceFile("src/schema/testdata/" + name);
    if (dump != expected) {
      std::ofstream(name + ".actual", std::ios::binary) << dump;
      ADD_FAILURE() << "the schema differs from src/schema/testdata/" << name
                    << "; what this build made is in " << name << ".actual";
    }
    EXPECT_EQ(dump, expected);
  }

  std::optional<ScopedTempDir> dir_;
  std::vector<std::string> databases_;
  int targets_ = 0;
};

TEST_P(FreshSchemaTest, AFreshDatabaseHasTheSnapshotSchema) {
  auto target = NewTarget();
  ASSERT_OK(target);
  auto store = Open(*target);
  ASSERT_OK(store);
  auto dump = Dump(**store);
  ASSERT_OK(dump);
  ExpectSnapshot(*dump);
}

INSTANTIATE_TEST_SUITE_P(Backends, FreshSchemaTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace switchboard::schema
