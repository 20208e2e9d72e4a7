// The registry gathers every module's migrations, and the schema a database
// gets from them, fresh or upgraded from any older version, matches a
// snapshot (testdata/schema.*) on both backends: tables, columns, constraints
// and indexes, in the order SQLite keeps them. A migration that changes the
// schema changes the snapshot in the same commit; on a mismatch the test
// writes what it found to $TMPDIR/switchboard-schema.<backend>.*.actual, for
// review.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "access/migrations.h"
#include "audit/migrations.h"
#include "contest/migrations.h"
#include "core/testing/status_matchers.h"
#include "members/migrations.h"
#include "messaging/migrations.h"
#include "phonebank/migrations.h"
#include "privacy/migrations.h"
#include "schema/migrations.h"
#include "segment/migrations.h"
#include "store/migrations.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/testing/pg_cluster.h"
#include "store/testing/temp_dir.h"

namespace switchboard::schema {
namespace {

using ::switchboard::store::Migration;
using ::switchboard::store::Row;
using ::switchboard::store::Store;
using ::switchboard::store::StoreOptions;
using ::switchboard::store::Tx;
using ::switchboard::store::testing::PgCluster;
using ::switchboard::store::testing::ScopedTempDir;

std::string SourceDir() {
  const char* dir = std::getenv("SB_SOURCE_DIR");
#ifdef SB_SOURCE_DIR_DEFAULT
  if (!dir) dir = SB_SOURCE_DIR_DEFAULT;
#endif
  return dir ? dir : ".";
}

std::string SourceFile(const std::string& rel) {
  std::ifstream in(SourceDir() + "/" + rel, std::ios::binary);
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

  Result<std::unique_ptr<Store>> Open(const std::string& target,
                                      std::span<const Migration> steps = AllMigrations()) {
    StoreOptions options;
    options.migrations = steps;
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
      const std::string actual =
          (std::filesystem::temp_directory_path() / ("switchboard-" + name + ".actual")).string();
      std::ofstream(actual, std::ios::binary) << dump;
      ADD_FAILURE() << "the schema differs from src/schema/testdata/" << name
                    << "; what this build made is in " << actual;
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

TEST_P(FreshSchemaTest, EveryOlderVersionUpgradesToTheSnapshotSchema) {
  const std::vector<Migration>& all = AllMigrations();
  for (int version = 1; version < store::LatestVersion(all); ++version) {
    SCOPED_TRACE("from version " + std::to_string(version));
    auto target = NewTarget();
    ASSERT_OK(target);
    size_t steps = 0;
    while (steps < all.size() && all[steps].version <= version) ++steps;
    {
      auto old = Open(*target, std::span<const Migration>(all).first(steps));
      ASSERT_OK(old);
      EXPECT_EQ((*old)->SchemaVersion().value_or(-1), version);
    }
    auto store = Open(*target);
    ASSERT_OK(store);
    auto dump = Dump(**store);
    ASSERT_OK(dump);
    ExpectSnapshot(*dump);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, FreshSchemaTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

// Every module's own list, by the folder that owns it.
struct ModuleSteps {
  std::string folder;
  std::span<const Migration> steps;
};

std::vector<ModuleSteps> Modules() {
  return {{"access", access::Migrations()},       {"audit", audit::Migrations()},
          {"contest", contest::Migrations()},     {"members", members::Migrations()},
          {"messaging", messaging::Migrations()}, {"phonebank", phonebank::Migrations()},
          {"privacy", privacy::Migrations()},     {"segment", segment::Migrations()},
          {"store", store::Migrations()}};
}

TEST(RegistryTest, VersionsRunFromOneWithoutGaps) {
  const std::vector<Migration>& all = AllMigrations();
  EXPECT_OK(store::CheckMigrations(all));
  std::set<int> versions;
  for (const Migration& m : all) versions.insert(m.version);
  ASSERT_FALSE(versions.empty());
  EXPECT_EQ(*versions.begin(), 1);
  EXPECT_EQ(static_cast<int>(versions.size()), store::LatestVersion(all));
}

// A folder under src/ with a migrations.h is a module with tables; its steps
// must all be in the registry, named after it, and nothing else may be.
TEST(RegistryTest, GathersEveryModuleWithMigrations) {
  std::set<std::string> folders;
  const std::filesystem::path src = std::filesystem::path(SourceDir()) / "src";
  for (const auto& entry : std::filesystem::recursive_directory_iterator(src)) {
    if (entry.path().filename() != "migrations.h") continue;
    const std::string folder = entry.path().parent_path().lexically_relative(src).string();
    if (folder != "schema") folders.insert(folder);
  }
  std::set<std::string> listed;
  size_t total = 0;
  for (const ModuleSteps& module : Modules()) {
    listed.insert(module.folder);
    EXPECT_FALSE(module.steps.empty()) << module.folder;
    total += module.steps.size();
  }
  EXPECT_EQ(folders, listed) << "a module's migrations.h is missing from this test's list";

  const std::vector<Migration>& all = AllMigrations();
  EXPECT_EQ(all.size(), total) << "the registry holds steps no module declares";
  for (const ModuleSteps& module : Modules()) {
    for (const Migration& step : module.steps) {
      EXPECT_EQ(step.module, module.folder) << "version " << step.version;
      int found = 0;
      for (const Migration& m : all) {
        found += m.sql == step.sql && m.version == step.version && m.module == step.module;
      }
      EXPECT_EQ(found, 1) << module.folder << " version " << step.version << " (" << step.name
                          << ") is not in AllMigrations() once";
    }
  }
}

}  // namespace
}  // namespace switchboard::schema
