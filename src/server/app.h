// App: one opened data directory, the only place that wires concrete
// backends together. It reads the configuration, loads the keyring (refusing
// one that others can read), opens the store named by the configuration or
// by --store (SQLite path or postgresql:// URL), checks that the keyring and
// the database belong together, and loads the organisation tree.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "access/policy/policy.h"
#include "access/store/auth_service.h"
#include "audit/audit_log.h"
#include "audit/checkpoint.h"
#include "audit/checkpoint_log.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/time_zone.h"
#include "crypto/keyring.h"
#include "crypto/sealer.h"
#include "members/org_tree.h"
#include "store/store.h"

namespace switchboard::server {

// The default data directory: $SWITCHBOARD_DATA_DIR, else ./switchboard-data.
std::string DefaultDataDir();

// Paths inside a data directory.
std::string AuditKeyPath(const std::string& data_dir);        // Ed25519 signing key, 0600
std::string AuditVerifyKeyPath(const std::string& data_dir);  // its public half, for witnesses
std::string KeyringPath(const std::string& data_dir);         // the keyring, 0600
// The files of the audit checkpoint log ([audit] checkpoint_logs; relative
// paths are inside the data directory).
std::vector<std::string> CheckpointLogPaths(const std::string& data_dir, const Config& config);

// Reads and validates <data_dir>/policy.toml.
Result<access::Policy> LoadPolicyFile(const std::string& path);

// The store options a configuration asks for: the whole schema
// (schema::AllMigrations), [store] max_group, and at least as many reader
// connections as [server] threads.
store::StoreOptions StoreOptionsFor(const Config& config);

// Opens a store from a URL: "postgresql://..." or "postgres://..." for
// PostgreSQL, anything else is a SQLite file path.
Result<std::unique_ptr<store::Store>> OpenStore(const std::string& url,
                                                const store::StoreOptions& options);

// Restores a backup archive (Store::BackupTo) into the empty database `url`
// names: PostgreSQL only (a SQLite backup is a database file, copied).
Status RestoreStoreArchive(const std::string& url, const std::string& archive);

struct InitOptions {
  std::string data_dir;
  std::string store_url;  // empty: configuration, then <data_dir>/switchboard.db
  std::string tree_csv;   // empty: the built-in UK constituencies
};

struct InitSummary {
  bool created_keyring = false;
  bool created_config = false;
  bool created_policy = false;
  bool created_audit_key = false;
  int units_added = 0;
  std::string store;
};

// Creates the data directory (0700), keyring (0600), configuration file and
// database, and loads the organisation tree. Safe to run again: existing
// files are kept and the tree is updated in place.
Result<InitSummary> InitDataDir(const InitOptions& options, const Clock& clock);

class App {
 public:
  static Result<std::unique_ptr<App>> Open(const std::string& data_dir,
                                           const std::string& store_override);
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  const Config& config() const { return config_; }
  // [organisation] time_zone, looked up in the tz database.
  const TimeZone& time_zone() const { return time_zone_; }
  const access::Policy& policy() const { return policy_; }
  store::Store& store() { return *store_; }
  const crypto::Sealer& sealer() const { return *sealer_; }
  // Reads the keyring file again and seals with it from now on (after
  // `switchboard keys rotate`; serve calls it on SIGHUP). Refuses a keyring
  // whose fingerprint differs, keeping the one in use.
  Status ReloadKeyring();
  const members::OrgTree& tree() const { return tree_; }
  Status ReloadTree();
  const Clock& clock() const { return *clock_; }
  // Demo mode (DemoMarkerPath exists): the clock is the system clock plus an
  // offset a demonstrator may move forward (server/demo.h), starting where
  // it was last recorded. Null outside demo mode: no other clock can move.
  OffsetClock* demo_clock() { return demo_clock_.get(); }
  bool demo() const { return demo_clock_ != nullptr; }
  // The audit log, tied to the checkpoint log: every checkpoint it signs is
  // also appended there. App::Open checks nothing about it; callers run
  // audit().Preflight() or audit().Check() as their command needs.
  audit::AuditLog& audit() { return audit_; }
  const audit::CheckpointLog& checkpoint_log() const { return *checkpoint_log_; }
  const audit::SigningKey& audit_key() const { return *audit_key_; }
  // Signs a checkpoint over the events appended since the newest one and
  // appends it to the checkpoint log. Reads no event when there is nothing
  // new (every event under the database's newest checkpoint, and that one in
  // every file); fails, signing nothing, when audit().integrity() has failed.
  Status SealAudit();
  // Sign-in settings for this deployment: the recovery-code key is derived
  // from the keyring here and nowhere else.
  access::AuthOptions auth_options() const;
  const std::string& data_dir() const { return data_dir_; }

 private:
  App() = default;
  std::string data_dir_;
  Config config_;
  TimeZone time_zone_;
  access::Policy policy_;
  std::unique_ptr<crypto::Sealer> sealer_;
  std::unique_ptr<store::Store> store_;
  members::OrgTree tree_;
  SystemClock system_clock_;
  std::unique_ptr<OffsetClock> demo_clock_;  // demo mode only
  const Clock* clock_ = &system_clock_;
  std::unique_ptr<audit::SigningKey> audit_key_;
  std::unique_ptr<audit::CheckpointLog> checkpoint_log_;  // outlives audit_
  audit::AuditLog audit_;
};

// The file `switchboard demo` writes into the data directories it makes
// (and the only ones it will replace); App::Open runs such a directory in
// demo mode.
std::string DemoMarkerPath(const std::string& data_dir);

// The UK constituencies CSV compiled into the binary (data/constituencies.csv).
std::string_view BuiltinConstituenciesCsv();

}  // namespace switchboard::server
