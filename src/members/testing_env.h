// Test fixture helpers for the members module: a store on either backend,
// a keyring, and the UK tree loaded from data/constituencies.csv.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "crypto/keyring.h"
#include "crypto/sealer.h"
#include "members/org_tree.h"
#include "schema/migrations.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/testing/pg_cluster.h"
#include "store/testing/temp_dir.h"

namespace switchboard::members::testing {

inline std::string SourceFile(const std::string& rel) {
  const char* dir = std::getenv("SB_SOURCE_DIR");
#ifdef SB_SOURCE_DIR_DEFAULT
  if (!dir) dir = SB_SOURCE_DIR_DEFAULT;
#endif
  std::ifstream in(std::string(dir ? dir : ".") + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A store ("sqlite" or "postgres") with the UK tree loaded.
class RegisterEnv {
 public:
  void SetUp(const std::string& backend) {
    auto dir = store::testing::ScopedTempDir::Create("sb-members");
    ASSERT_TRUE(dir) << dir.error().ToString();
    dir_ = std::make_unique<store::testing::ScopedTempDir>(std::move(*dir));
    store::StoreOptions o;
    o.migrations = schema::AllMigrations();
    o.durable = false;
    if (backend == "postgres") {
      auto cluster = store::testing::PgCluster::Shared();
      ASSERT_TRUE(cluster) << cluster.error().ToString();
      auto url = (*cluster)->CreateUniqueDatabase("members");
      ASSERT_TRUE(url) << url.error().ToString();
      auto s = store::OpenPostgresStore(*url, o);
      ASSERT_TRUE(s) << s.error().ToString();
      store_ = std::move(*s);
    } else {
      auto s = store::OpenSqliteStore(dir_->Join("sb.db"), o);
      ASSERT_TRUE(s) << s.error().ToString();
      store_ = std::move(*s);
    }
    keyring_ = crypto::Keyring::Generate();
    sealer_ = std::make_unique<crypto::Sealer>(*keyring_);
    auto specs = ParseConstituencyCsv(SourceFile("data/constituencies.csv"));
    ASSERT_TRUE(specs) << specs.error().ToString();
    ASSERT_TRUE(
        store_->WriteNow([&](store::Tx& tx) { return SaveUnits(tx, *specs).status(); }).ok());
    ReloadTree();
  }
  void ReloadTree() {
    ASSERT_TRUE(store_
                    ->Read([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(tree_, OrgTree::Load(tx));
                      return Status::Ok();
                    })
                    .ok());
  }
  std::int64_t Count(const std::string& sql) {
    std::int64_t n = -1;
    EXPECT_TRUE(store_
                    ->Read([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(n, tx.QueryInt(sql));
                      return Status::Ok();
                    })
                    .ok());
    return n;
  }

  std::unique_ptr<store::testing::ScopedTempDir> dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::unique_ptr<crypto::Sealer> sealer_;
  OrgTree tree_;
};

}  // namespace switchboard::members::testing
