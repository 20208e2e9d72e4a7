// Test fixture for access/guard: a store on either backend ("sqlite" or
// "postgres") that can be closed and reopened on the same database, plus
// helpers that insert accounts, members, canaries and sessions directly.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "access/store/access_store.h"
#include "schema/migrations.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/testing/pg_cluster.h"
#include "store/testing/temp_dir.h"

namespace switchboard::access::testing {

class GuardEnv {
 public:
  void SetUp(const std::string& backend) {
    backend_ = backend;
    auto dir = store::testing::ScopedTempDir::Create("sb-guard");
    ASSERT_TRUE(dir) << dir.error().ToString();
    dir_ = std::make_unique<store::testing::ScopedTempDir>(std::move(*dir));
    if (backend == "postgres") {
      auto cluster = store::testing::PgCluster::Shared();
      ASSERT_TRUE(cluster) << cluster.error().ToString();
      auto url = (*cluster)->CreateUniqueDatabase("guard");
      ASSERT_TRUE(url) << url.error().ToString();
      target_ = *url;
    } else {
      target_ = dir_->Join("sb.db");
    }
    Open();
  }

  void Open() {
    store::StoreOptions o;
    o.migrations = schema::AllMigrations();
    o.durable = false;
    auto s = backend_ == "postgres" ? store::OpenPostgresStore(target_, o)
                                    : store::OpenSqliteStore(target_, o);
    ASSERT_TRUE(s) << s.error().ToString();
    store_ = std::move(*s);
  }
  // Closes the store and opens the same database again (a restart).
  void Reopen() {
    store_.reset();
    Open();
  }

  Status Write(const store::TxFn& fn) { return store_->Write(fn); }

  std::int64_t Count(const std::string& sql, std::initializer_list<store::Value> params = {}) {
    std::int64_t n = -1;
    std::vector<store::Value> p(params);
    EXPECT_TRUE(store_
                    ->Read([&](store::Tx& tx) -> Status {
                      std::int64_t v = -1;
                      SB_RETURN_IF_ERROR(tx.Query(sql, p, [&](const store::Row& r) {
                        v = r.Int(0);
                        return false;
                      }));
                      n = v;
                      return Status::Ok();
                    })
                    .ok());
    return n;
  }

  AccountId NewAccount(const std::string& login, Micros now) {
    AccountId id;
    Status st = Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(id, CreateAccount(tx, {login, "Test " + login, MemberId(), false}, now));
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return id;
  }

  // A member in a test unit, with the given names (personal data the tests
  // look for where it must not be).
  MemberId NewMember(const std::string& first, const std::string& last, Micros now) {
    std::int64_t id = 0;
    Status st = Write([&](store::Tx& tx) -> Status {
      if (unit_ == 0) {
        SB_ASSIGN_OR_RETURN(unit_, tx.QueryInt("INSERT INTO units (code, name, kind) VALUES "
                                               "('T0001', 'Test unit', 'constituency') "
                                               "RETURNING id"));
      }
      SB_ASSIGN_OR_RETURN(
          id, tx.QueryInt("INSERT INTO members (source, external_id, unit_id, first_name, "
                          "last_name, status, membership_type, content_hash, created_at, "
                          "updated_at) VALUES ('native', $1, $2, $3, $4, 'current', 'standard', "
                          "$5, $6, $6) RETURNING id",
                          {"ext-" + std::to_string(++members_), unit_, first, last,
                           store::Value::Bytes("hash"), now}));
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return MemberId(id);
  }

  void MakeCanary(MemberId m, Micros now) {
    Status st = Write([&](store::Tx& tx) {
      return tx
          .Exec("INSERT INTO canaries (member_id, planted_at, purpose) VALUES ($1, $2, 'seed')",
                {m.value(), now})
          .status();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
  }

  // An open session for `account`; returns its id.
  std::int64_t NewSession(AccountId account, Micros now) {
    std::int64_t id = 0;
    Status st = Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(
          id, tx.QueryInt("INSERT INTO sessions (token_hash, account_id, kind, second_factor, "
                          "created_at, last_seen_at, expires_at) VALUES ($1, $2, 'cookie', 0, $3, "
                          "$3, $4) RETURNING id",
                          {store::Value::Bytes("token-" + std::to_string(++sessions_)),
                           account.value(), now, now + kMicrosPerDay}));
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return id;
  }

  std::string backend_;
  std::string target_;  // the SQLite file or the PostgreSQL url
  std::unique_ptr<store::testing::ScopedTempDir> dir_;
  std::unique_ptr<store::Store> store_;
  std::int64_t unit_ = 0;
  int members_ = 0;
  int sessions_ = 0;
};

}  // namespace switchboard::access::testing
