#include "server/app.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "access/store/demo_clock.h"
#include "access/store/policy_record.h"
#include "core/csv.h"
#include "core/log.h"
#include "schema/migrations.h"
#include "store/postgres/pg_store.h"
#include "store/settings.h"
#include "store/sqlite/sqlite_store.h"

namespace switchboard::server {

std::string KeyringPath(const std::string& dir) { return dir + "/keys/keyring"; }

namespace {
std::string ConfigPath(const std::string& dir) { return dir + "/switchboard.toml"; }
std::string PolicyPath(const std::string& dir) { return dir + "/policy.toml"; }
// The policy in force is on the record: whenever its hash differs from the
// last one recorded, the change is written to the audit log (and the new hash
// to settings) in one transaction.
Status RecordPolicy(store::Store& store, const access::Policy& policy, const Clock& clock) {
  std::string recorded;
  SB_RETURN_IF_ERROR(store.Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(recorded, store::GetSetting(tx, "policy_sha256"));
    return Status::Ok();
  }));
  if (recorded == policy.source_hash) return Status::Ok();
  return store.Write(
      [&](store::Tx& tx) { return access::RecordPolicyInForce(tx, policy, clock.Now()); });
}

}  // namespace

std::string DemoMarkerPath(const std::string& dir) { return dir + "/.switchboard-demo"; }

std::string AuditKeyPath(const std::string& dir) { return dir + "/keys/audit-signing.key"; }
std::string AuditVerifyKeyPath(const std::string& dir) { return dir + "/audit-verify.pub"; }

std::vector<std::string> CheckpointLogPaths(const std::string& dir, const Config& config) {
  std::vector<std::string> out;
  for (const std::string& p : config.audit.checkpoint_logs) {
    out.push_back(!p.empty() && p[0] == '/' ? p : dir + "/" + p);
  }
  return out;
}

namespace {

std::string ResolveStoreUrl(const std::string& dir, const std::string& override_url,
                            const Config& config) {
  if (!override_url.empty()) return override_url;
  if (!config.store.url.empty()) return config.store.url;
  return dir + "/switchboard.db";
}

bool IsPostgresUrl(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

Status MakeDir(const std::string& path, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::Unavailable("cannot create " + path + ": " + ec.message());
  ::chmod(path.c_str(), mode);
  return Status::Ok();
}

// Records the keyring's fingerprint in a new database, or checks it.
Status BindKeyring(store::Store& store, const crypto::Keyring& keyring) {
  const std::string fp = keyring.Fingerprint();
  std::string stored;
  SB_RETURN_IF_ERROR(store.Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(stored, store::GetSetting(tx, "keyring_fingerprint"));
    return Status::Ok();
  }));
  if (stored.empty()) {
    return store.Write([&](store::Tx& tx) {
      return store::PutSetting(tx, "keyring_fingerprint", fp, /*replace=*/false);
    });
  }
  if (stored != fp) {
    return Status::FailedPrecondition(
        "the keyring (fingerprint " + fp + ") does not belong to this database (which expects " +
        stored + "); contact data could not be read. Use the data directory's own keyring.");
  }
  return Status::Ok();
}
}  // namespace

store::StoreOptions StoreOptionsFor(const Config& c) {
  store::StoreOptions o;
  o.migrations = schema::AllMigrations();
  o.max_group = c.store.max_group;
  // Every HTTP worker may be inside a Read() at once: a smaller pool opens
  // and closes a connection for each read beyond it (a fresh SQLite
  // connection costs about a millisecond before its first statement).
  o.readers = std::max(c.store.readers, c.server.threads);
  return o;
}

Result<access::Policy> LoadPolicyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::FailedPrecondition("no access policy at " + path +
                                      " (run `switchboard init` to write the default one)");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return access::ParsePolicy(ss.str(), path);
}

std::string DefaultDataDir() {
  const char* env = std::getenv("SWITCHBOARD_DATA_DIR");
  return env && *env ? env : "./switchboard-data";
}

Result<std::unique_ptr<store::Store>> OpenStore(const std::string& url,
                                                const store::StoreOptions& options) {
  if (IsPostgresUrl(url)) return store::OpenPostgresStore(url, options);
  return store::OpenSqliteStore(url, options);
}

Status RestoreStoreArchive(const std::string& url, const std::string& archive) {
  if (!IsPostgresUrl(url)) {
    return Status::InvalidArgument("only a PostgreSQL database restores from an archive");
  }
  return store::RestorePostgresArchive(url, archive);
}

Result<InitSummary> InitDataDir(const InitOptions& opt, const Clock& clock) {
  (void)clock;
  InitSummary sum;
  SB_RETURN_IF_ERROR(MakeDir(opt.data_dir, 0700));
  SB_RETURN_IF_ERROR(MakeDir(opt.data_dir + "/keys", 0700));
  const std::string cfg_path = ConfigPath(opt.data_dir);
  if (!std::filesystem::exists(cfg_path)) {
    std::ofstream out(cfg_path);
    out << DefaultConfigToml();
    if (!out) return Status::Unavailable("cannot write " + cfg_path);
    sum.created_config = true;
  }
  SB_ASSIGN_OR_RETURN(Config config, LoadConfig(cfg_path));
  const std::string policy_path = PolicyPath(opt.data_dir);
  if (!std::filesystem::exists(policy_path)) {
    std::ofstream out(policy_path);
    out << access::DefaultPolicyToml();
    if (!out) return Status::Unavailable("cannot write " + policy_path);
    sum.created_policy = true;
  }
  SB_RETURN_IF_ERROR(LoadPolicyFile(policy_path).status());
  std::unique_ptr<crypto::Keyring> keyring;
  if (!std::filesystem::exists(KeyringPath(opt.data_dir))) {
    keyring = crypto::Keyring::Generate();
    SB_RETURN_IF_ERROR(keyring->Save(KeyringPath(opt.data_dir)));
    sum.created_keyring = true;
  } else {
    SB_ASSIGN_OR_RETURN(keyring, crypto::Keyring::Load(KeyringPath(opt.data_dir)));
  }
  if (!std::filesystem::exists(AuditKeyPath(opt.data_dir))) {
    auto key = audit::SigningKey::Generate();
    SB_RETURN_IF_ERROR(key->Save(AuditKeyPath(opt.data_dir)));
    std::ofstream pub(AuditVerifyKeyPath(opt.data_dir));
    pub << key->verify_key().ToString() << "\n";
    if (!pub) return Status::Unavailable("cannot write " + AuditVerifyKeyPath(opt.data_dir));
    sum.created_audit_key = true;
  }
  sum.store = ResolveStoreUrl(opt.data_dir, opt.store_url, config);
  SB_ASSIGN_OR_RETURN(auto store, OpenStore(sum.store, StoreOptionsFor(config)));
  SB_RETURN_IF_ERROR(BindKeyring(*store, *keyring));
  std::vector<members::UnitSpec> specs;
  if (opt.tree_csv.empty()) {
    SB_ASSIGN_OR_RETURN(specs, members::ParseConstituencyCsv(BuiltinConstituenciesCsv()));
  } else {
    SB_ASSIGN_OR_RETURN(auto file, csv::MappedFile::Open(opt.tree_csv));
    auto parsed = members::ParseTreeCsv(file->data());
    if (!parsed) return parsed.error().WithContext(opt.tree_csv);
    specs = std::move(*parsed);
  }
  SB_RETURN_IF_ERROR(store->WriteNow([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(sum.units_added, members::SaveUnits(tx, specs));
    return Status::Ok();
  }));
  sum.store = store->Describe();
  return sum;
}

Result<std::unique_ptr<App>> App::Open(const std::string& data_dir,
                                       const std::string& store_override) {
  std::unique_ptr<App> app(new App());
  app->data_dir_ = data_dir;
  if (!std::filesystem::exists(data_dir)) {
    return Status::FailedPrecondition("no data directory at " + data_dir +
                                      "; run `switchboard init --data-dir " + data_dir + "`");
  }
  SB_ASSIGN_OR_RETURN(app->config_, LoadConfig(ConfigPath(data_dir)));
  SB_ASSIGN_OR_RETURN(app->time_zone_, TimeZone::Find(app->config_.organisation.time_zone));
  if (auto level = log::ParseLevel(app->config_.log.level)) log::SetLevel(*level);
  SB_ASSIGN_OR_RETURN(app->policy_, LoadPolicyFile(PolicyPath(data_dir)));
  SB_ASSIGN_OR_RETURN(std::shared_ptr<const crypto::Keyring> keyring,
                      crypto::Keyring::Load(KeyringPath(data_dir)));
  SB_ASSIGN_OR_RETURN(app->audit_key_, audit::SigningKey::Load(AuditKeyPath(data_dir)));
  app->sealer_ = std::make_unique<crypto::Sealer>(keyring);
  const std::string url = ResolveStoreUrl(data_dir, store_override, app->config_);
  SB_ASSIGN_OR_RETURN(app->store_, OpenStore(url, StoreOptionsFor(app->config_)));
  SB_RETURN_IF_ERROR(BindKeyring(*app->store_, *keyring));
  if (std::filesystem::exists(DemoMarkerPath(data_dir))) {
    Micros offset = 0;
    SB_RETURN_IF_ERROR(app->store_->Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(offset, access::RecordedDemoClockOffset(tx));
      return Status::Ok();
    }));
    app->demo_clock_ = std::make_unique<OffsetClock>(app->system_clock_, offset);
    app->clock_ = app->demo_clock_.get();
    log::Info("server", "demo mode: the demo clock may be moved forward",
              {{"offset_seconds", offset / kMicrosPerSecond}});
  }
  app->checkpoint_log_ =
      std::make_unique<audit::CheckpointLog>(CheckpointLogPaths(data_dir, app->config_));
  app->audit_.SetCheckpointLog(app->checkpoint_log_.get());
  SB_RETURN_IF_ERROR(app->ReloadTree());
  SB_RETURN_IF_ERROR(RecordPolicy(*app->store_, app->policy_, *app->clock_));
  // The in-memory audit tree is built lazily: AuditLog::Check and Checkpoint
  // sync it from the stored events, so commands that never sign pay nothing.
  return app;
}

Status App::SealAudit() {
  SB_RETURN_IF_ERROR(audit_.integrity());
  std::int64_t events = 0;
  std::int64_t newest = 0;
  SB_RETURN_IF_ERROR(store_->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(events, audit::AuditLog::Size(tx));
    SB_ASSIGN_OR_RETURN(newest, audit::AuditLog::CheckpointedSize(tx));
    return Status::Ok();
  }));
  if (events == 0) return Status::Ok();
  if (events == newest) {
    SB_ASSIGN_OR_RETURN(auto heads, checkpoint_log_->Heads());
    bool everywhere = true;
    for (const auto& h : heads) {
      if (!h.newest || h.newest->checkpoint.tree_size < static_cast<std::uint64_t>(newest)) {
        everywhere = false;
      }
    }
    if (everywhere) return Status::Ok();
  }
  return audit_.Checkpoint(*store_, *audit_key_, *clock_).status();
}

Status App::ReloadKeyring() {
  SB_ASSIGN_OR_RETURN(std::shared_ptr<const crypto::Keyring> keyring,
                      crypto::Keyring::Load(KeyringPath(data_dir_)));
  return sealer_->Reload(std::move(keyring));
}

Status App::ReloadTree() {
  return store_->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(tree_, members::OrgTree::Load(tx));
    return Status::Ok();
  });
}

access::AuthOptions App::auth_options() const {
  access::AuthOptions o;
  o.recovery_pepper = sealer_->DeriveKey("recovery-codes");
  o.csrf_key = sealer_->DeriveKey("csrf-tokens");
  return o;
}

}  // namespace switchboard::server
