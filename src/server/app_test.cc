#include "server/app.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <string>
#include <vector>

#include "access/store/access_store.h"
#include "access/store/demo_clock.h"
#include "access/store/sessions.h"
#include "server/routes.h"
#include "store/testing/pg_cluster.h"
#include "store/testing/temp_dir.h"

namespace switchboard::server {
namespace {

TEST(AppTest, InitCreatesPrivateFilesAndLoadsTree) {
  auto dir = store::testing::ScopedTempDir::Create("sb-app");
  ASSERT_TRUE(dir);
  SystemClock clock;
  const std::string data = dir->Join("data");
  auto sum = InitDataDir({data, "", ""}, clock);
  ASSERT_TRUE(sum) << sum.error().ToString();
  EXPECT_TRUE(sum->created_keyring);
  EXPECT_EQ(sum->units_added, 663);
  struct stat st;
  ASSERT_EQ(stat((data + "/keys/keyring").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(data.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // Running init again keeps the keyring and adds no units.
  auto again = InitDataDir({data, "", ""}, clock);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->created_keyring);
  EXPECT_EQ(again->units_added, 0);
  auto app = App::Open(data, "");
  ASSERT_TRUE(app) << app.error().ToString();
  EXPECT_EQ((*app)->tree().OfKind("constituency").size(), 650u);
}

TEST(AppTest, CheckpointLogPathsAreInTheDataDirectoryUnlessAbsolute) {
  Config c;
  EXPECT_EQ(CheckpointLogPaths("/srv/sb", c),
            std::vector<std::string>{"/srv/sb/audit-checkpoints.log"});
  c.audit.checkpoint_logs = {"logs/cp.log", "/mnt/witness/sb.log"};
  EXPECT_EQ(CheckpointLogPaths("/srv/sb", c),
            (std::vector<std::string>{"/srv/sb/logs/cp.log", "/mnt/witness/sb.log"}));
}

TEST(AppTest, SealAuditSignsWhatWasAppendedOnce) {
  auto dir = store::testing::ScopedTempDir::Create("sb-app");
  ASSERT_TRUE(dir);
  SystemClock clock;
  const std::string data = dir->Join("data");
  ASSERT_TRUE(InitDataDir({data, "", ""}, clock));
  auto app = App::Open(data, "");  // records policy.load: one event
  ASSERT_TRUE(app) << app.error().ToString();
  ASSERT_TRUE((*app)->SealAudit().ok());
  auto logged = audit::ReadWitnessFile(data + "/audit-checkpoints.log");
  ASSERT_TRUE(logged) << logged.error().ToString();
  ASSERT_EQ(logged->size(), 1u);
  EXPECT_EQ(logged->back().checkpoint.tree_size, 1u);
  // Nothing new: nothing signed.
  ASSERT_TRUE((*app)->SealAudit().ok());
  EXPECT_EQ(audit::ReadWitnessFile(data + "/audit-checkpoints.log")->size(), 1u);
  std::int64_t stored = 0;
  ASSERT_TRUE((*app)
                  ->store()
                  .Read([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(stored,
                                        tx.QueryInt("SELECT COUNT(*) FROM audit_checkpoints"));
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(stored, 1);
}

TEST(AppTest, OnlyADemoDirectoryHasAMovableClockAndItKeepsItsTime) {
  auto dir = store::testing::ScopedTempDir::Create("sb-app");
  ASSERT_TRUE(dir);
  SystemClock clock;
  const std::string data = dir->Join("data");
  ASSERT_TRUE(InitDataDir({data, "", ""}, clock));
  {
    auto app = App::Open(data, "");
    ASSERT_TRUE(app) << app.error().ToString();
    EXPECT_FALSE((*app)->demo());
    EXPECT_EQ((*app)->demo_clock(), nullptr);
  }
  std::FILE* marker = std::fopen(DemoMarkerPath(data).c_str(), "w");
  ASSERT_NE(marker, nullptr);
  std::fclose(marker);
  const Micros by = 3 * kMicrosPerDay;
  access::SessionId session;
  Micros expires = 0;
  {
    auto app = App::Open(data, "");
    ASSERT_TRUE(app) << app.error().ToString();
    ASSERT_NE((*app)->demo_clock(), nullptr);
    EXPECT_EQ((*app)->demo_clock()->offset(), 0);
    const Micros now = (*app)->clock().Now();
    expires = now + 3600 * kMicrosPerSecond;
    ASSERT_TRUE(
        (*app)
            ->store()
            .Write([&](store::Tx& tx) -> Status {
              SB_ASSIGN_OR_RETURN(AccountId a, access::CreateAccount(
                                                   tx, {"mover", "Mover", MemberId(), true}, now));
              access::NewSessionRow row;
              row.account = a;
              row.token_hash = "demo-clock-test";
              row.expires_at = expires;
              SB_ASSIGN_OR_RETURN(session, access::InsertSession(tx, row, now));
              access::Acting who;
              who.account = a;
              who.now = now;
              EXPECT_FALSE(access::RecordDemoClockMove(tx, who, 0, 0).ok());  // never backwards
              return access::RecordDemoClockMove(tx, who, by, by);
            })
            .ok());
  }
  auto app = App::Open(data, "");
  ASSERT_TRUE(app) << app.error().ToString();
  ASSERT_NE((*app)->demo_clock(), nullptr);
  EXPECT_EQ((*app)->demo_clock()->offset(), by);
  EXPECT_GE((*app)->clock().Now(), clock.Now() + by - kMicrosPerSecond);
  std::int64_t moves = 0;
  access::Session s;
  ASSERT_TRUE((*app)
                  ->store()
                  .Read([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(
                        moves, tx.QueryInt("SELECT COUNT(*) FROM audit_events WHERE action = "
                                           "'demo.clock'"));
                    SB_ASSIGN_OR_RETURN(s, access::FindSessionByTokenHash(tx, "demo-clock-test"));
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(moves, 1);
  EXPECT_EQ(s.expires_at, expires + by);  // the session moved with the clock
}

TEST(AppTest, StoreKeepsAReaderForEveryHttpWorker) {
  Config c;
  c.store.max_group = 512;
  c.store.readers = 4;
  c.server.threads = 64;
  EXPECT_EQ(StoreOptionsFor(c).readers, 64);
  EXPECT_EQ(StoreOptionsFor(c).max_group, 512);
  c.server.threads = 2;
  EXPECT_EQ(StoreOptionsFor(c).readers, 4);
}

TEST(AppTest, OneCampaignMayUseAllOfTheSandboxsCalls) {
  auto dir = store::testing::ScopedTempDir::Create("sb-app");
  ASSERT_TRUE(dir);
  SystemClock clock;
  const std::string data = dir->Join("data");
  ASSERT_TRUE(InitDataDir({data, "", ""}, clock));
  auto app = App::Open(data, "");
  ASSERT_TRUE(app) << app.error().ToString();
  const ApiDeps d = ApiDepsFor(**app);
  EXPECT_EQ(d.call_limits.total, phonebank::CallLimits().total);
  EXPECT_EQ(d.call_limits.per_campaign, d.call_limits.total);
}

TEST(AppTest, RefusesWorldReadableKeyring) {
  auto dir = store::testing::ScopedTempDir::Create("sb-app");
  SystemClock clock;
  const std::string data = dir->Join("data");
  ASSERT_TRUE(InitDataDir({data, "", ""}, clock));
  ASSERT_EQ(chmod((data + "/keys/keyring").c_str(), 0644), 0);
  auto app = App::Open(data, "");
  ASSERT_FALSE(app);
  EXPECT_EQ(app.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(app.error().message().find("chmod 600"), std::string::npos);
}

TEST(AppTest, RefusesAForeignKeyring) {
  auto dir = store::testing::ScopedTempDir::Create("sb-app");
  SystemClock clock;
  const std::string a = dir->Join("a"), b = dir->Join("b");
  ASSERT_TRUE(InitDataDir({a, "", ""}, clock));
  ASSERT_TRUE(InitDataDir({b, "", ""}, clock));
  // b's configuration, b's keyring, but a's database.
  auto app = App::Open(b, a + "/switchboard.db");
  ASSERT_FALSE(app);
  EXPECT_NE(app.error().message().find("does not belong"), std::string::npos);
}

TEST(AppTest, MissingDataDirSaysToRunInit) {
  auto app = App::Open("/nonexistent/sb-data", "");
  ASSERT_FALSE(app);
  EXPECT_NE(app.error().message().find("switchboard init"), std::string::npos);
}

TEST(AppTest, PostgresStoreByUrl) {
  auto cluster = store::testing::PgCluster::Shared();
  ASSERT_TRUE(cluster) << cluster.error().ToString();
  auto url = (*cluster)->CreateUniqueDatabase("app");
  ASSERT_TRUE(url);
  auto dir = store::testing::ScopedTempDir::Create("sb-app");
  SystemClock clock;
  const std::string data = dir->Join("data");
  auto sum = InitDataDir({data, *url, ""}, clock);
  ASSERT_TRUE(sum) << sum.error().ToString();
  EXPECT_EQ(sum->store.rfind("postgresql://", 0), 0u) << sum->store;
  auto app = App::Open(data, *url);
  ASSERT_TRUE(app) << app.error().ToString();
  EXPECT_EQ((*app)->store().dialect(), store::Dialect::kPostgres);
  EXPECT_EQ((*app)->tree().size(), 663u);
}

}  // namespace
}  // namespace switchboard::server
