#include "cli/backup_commands.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "audit/checkpoint.h"
#include "cli/exit_codes.h"
#include "cli/opened_apps.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/json.h"
#include "crypto/digest.h"
#include "crypto/keyring.h"
#include "schema/migrations.h"
#include "server/app.h"
#include "store/migrations.h"
#include "store/settings.h"

namespace switchboard::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kManifest = "manifest.json";
constexpr const char* kFormat = "switchboard-backup";
constexpr int kManifestVersion = 1;
constexpr const char* kSqliteCopy = "switchboard.db";
constexpr const char* kPgArchive = "switchboard.pgdump";
// Copied beside the database: none of them is secret.
constexpr const char* kPlainFiles[] = {"switchboard.toml", "policy.toml", "audit-verify.pub"};

// A directory that does not exist (created, 0700) or is empty.
Status PrepareEmptyDir(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) return Status::AlreadyExists(dir + " is not a directory");
    if (!fs::is_empty(dir, ec)) {
      return Status::AlreadyExists(dir + " is not empty; give a new or empty directory");
    }
  } else {
    fs::create_directories(dir, ec);
    if (ec) return Status::Unavailable("cannot create " + dir + ": " + ec.message());
  }
  ::chmod(dir.c_str(), 0700);
  return Status::Ok();
}

Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    if (fd >= 0) ::close(fd);
    return Status::Unavailable("cannot sync " + dir);
  }
  ::close(fd);
  return Status::Ok();
}

// Copies `from` to the new file `to` (mode 0600), synced.
Status CopyFile(const std::string& from, const std::string& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Status::NotFound("cannot open " + from + ": " + std::strerror(errno));
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    const int e = errno;
    ::close(in);
    return Status::Unavailable("cannot create " + to + ": " + std::strerror(e));
  }
  std::vector<char> buf(1 << 20);
  Status st;
  for (;;) {
    const ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      st = Status::Unavailable("cannot read " + from);
      break;
    }
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(out, buf.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        st = Status::Unavailable("cannot write " + to + ": " + std::strerror(errno));
        break;
      }
      done += w;
    }
    if (!st.ok()) break;
  }
  ::close(in);
  if (st.ok() && ::fsync(out) != 0) st = Status::Unavailable("cannot sync " + to);
  ::close(out);
  if (!st.ok()) ::unlink(to.c_str());
  return st;
}

// What a database copy holds, read in one snapshot.
struct Contents {
  int schema_version = 0;
  std::string keyring_fingerprint;
  std::int64_t events = 0;
  std::optional<audit::SignedCheckpoint> checkpoint;
};

Result<Contents> ReadContents(store::Store& store) {
  Contents c;
  SB_RETURN_IF_ERROR(store.Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(c.schema_version, store::ReadSchemaVersion(tx));
    SB_ASSIGN_OR_RETURN(c.keyring_fingerprint, store::GetSetting(tx, "keyring_fingerprint"));
    SB_ASSIGN_OR_RETURN(c.events, audit::AuditLog::Size(tx));
    SB_ASSIGN_OR_RETURN(c.checkpoint, audit::AuditLog::NewestCheckpoint(tx));
    return Status::Ok();
  }));
  return c;
}

// A store opened as it is, without migrating it.
Result<std::unique_ptr<store::Store>> OpenAsIs(const std::string& url) {
  store::StoreOptions o;
  o.migrations = schema::AllMigrations();
  o.migrate = false;
  o.readers = 1;
  return server::OpenStore(url, o);
}

// The checkpoint as text: its signed note, or a legacy checkpoint's line.
std::string CheckpointText(const audit::SignedCheckpoint& cp) {
  return cp.format == audit::CheckpointFormat::kSignedNote ? audit::FormatSignedNote(cp)
                                                           : audit::FormatWitnessLine(cp);
}

Result<audit::SignedCheckpoint> ParseCheckpointText(const std::string& text) {
  if (text.find('\n') != std::string::npos && text.find('\n') + 1 < text.size()) {
    return audit::ParseSignedNote(text);
  }
  return audit::ParseWitnessLine(text);
}

// A name a manifest may list: the files a backup is made of, and keys/<name>.
bool AllowedName(const std::string& name) {
  if (name == kManifest) return false;
  if (name == kSqliteCopy || name == kPgArchive) return true;
  for (const char* p : kPlainFiles) {
    if (name == p) return true;
  }
  if (name.rfind("keys/", 0) != 0 || name.size() == 5) return false;
  for (char c : name.substr(5)) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      return false;
    }
  }
  return name[5] != '.';
}

Result<std::string> ReadSmallFile(const std::string& path, size_t limit) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::NotFound("cannot open " + path);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (text.size() > limit) return Status::InvalidArgument(path + " is too large");
  return text;
}

class BackupCommands final : public Command {
 public:
  explicit BackupCommands(CLI::App& app) {
    backup_ = app.add_subcommand(
        "backup",
        "Copy the database consistently while serve runs, with the configuration and a "
        "manifest (keyring fingerprint, newest signed checkpoint, SHA-256 of every file); the "
        "keys only with --with-keyring (docs/operations.md)");
    AddCommon(backup_, &c_);
    backup_->add_option("--to", to_, "A new or empty directory for the backup")->required();
    backup_->add_flag("--with-keyring", with_keyring_,
                      "Also copy keys/ (the keyring and the audit signing key): such a backup "
                      "is as sensitive as the live system");

    restore_ = app.add_subcommand(
        "restore",
        "Check a backup (file hashes, keyring, audit log against its signed checkpoint) and "
        "restore it into a new data directory (docs/operations.md)");
    restore_->add_option("--from", from_, "The backup directory")->required();
    restore_->add_option("--to", to_, "A new or empty data directory to restore into")->required();
    restore_->add_option("--store", store_,
                         "PostgreSQL: an empty database to restore into (a postgresql:// URL)");
    restore_->add_option("--keys", keys_,
                         "A directory holding the keyring and audit-signing.key (your offline "
                         "copy of the data directory's keys/); default: the backup's own, when "
                         "it was made --with-keyring");
    restore_->add_option("--checkpoint-log", live_log_,
                         "The live system's checkpoint log (audit-checkpoints.log): checks that "
                         "the backup is an earlier state of the same log and says what it lacks");
  }

  std::optional<int> Run(OpenedApps& opened) override {
    if (backup_->parsed()) return Backup(opened);
    if (restore_->parsed()) return Restore(opened);
    return std::nullopt;
  }

 private:
  int Backup(OpenedApps& opened) {
    Status st = PrepareEmptyDir(to_);
    if (!st.ok()) return ExitFor(st);
    auto a = opened.Open(c_.data_dir, c_.store);
    if (!a) return ExitFor(a.error());
    server::App& app = **a;
    const bool pg = app.store().dialect() == store::Dialect::kPostgres;
    const std::string fingerprint = app.sealer().keyring()->Fingerprint();
    // PostgreSQL's archive cannot be read back here: its contents are read
    // first, and the dump's later snapshot holds at least them.
    Contents contents;
    if (pg) {
      auto c = ReadContents(app.store());
      if (!c) return ExitFor(c.error());
      contents = std::move(c).value();
    }
    const std::string db_name = pg ? kPgArchive : kSqliteCopy;
    const std::string db_path = to_ + "/" + db_name;
    st = app.store().BackupTo(db_path);
    if (!st.ok()) return ExitFor(st);
    if (!pg) {
      auto copy = OpenAsIs(db_path);
      if (!copy) return ExitFor(copy.error().WithContext("reading the copy"));
      auto c = ReadContents(**copy);
      if (!c) return ExitFor(c.error().WithContext("reading the copy"));
      contents = std::move(c).value();
      copy->reset();
    }
    if (contents.keyring_fingerprint != fingerprint) {
      return ExitFor(Status::FailedPrecondition(
          "the copy expects keyring " + contents.keyring_fingerprint + ", not " + fingerprint));
    }
    std::vector<std::string> names = {db_name};
    for (const char* f : kPlainFiles) {
      const std::string src = app.data_dir() + "/" + f;
      if (!fs::exists(src)) continue;
      st = CopyFile(src, to_ + "/" + f);
      if (!st.ok()) return ExitFor(st);
      names.push_back(f);
    }
    if (with_keyring_) {
      std::fprintf(stderr,
                   "warning: this backup holds the keyring and the audit signing key, so it is as "
                   "sensitive as the live system: whoever has it can read every contact and sign "
                   "checkpoints. Keep it apart from ordinary database backups.\n");
      ::mkdir((to_ + "/keys").c_str(), 0700);
      std::error_code ec;
      for (const auto& entry : fs::directory_iterator(app.data_dir() + "/keys", ec)) {
        if (!entry.is_regular_file()) continue;
        const std::string name = "keys/" + entry.path().filename().string();
        if (!AllowedName(name) || name.ends_with(".new")) continue;
        st = CopyFile(entry.path().string(), to_ + "/" + name);
        if (!st.ok()) return ExitFor(st);
        names.push_back(name);
      }
      if (ec) return ExitFor(Status::Unavailable("cannot list the keys: " + ec.message()));
    }
    nlohmann::json files = nlohmann::json::object();
    for (const std::string& n : names) {
      auto h = crypto::Sha256File(to_ + "/" + n);
      if (!h) return ExitFor(h.error());
      files[n] = *h;
    }
    const Micros now = app.clock().Now();
    nlohmann::json m = {{"format", kFormat},
                        {"version", kManifestVersion},
                        {"created_at", FormatTimestamp(now)},
                        {"store", pg ? "postgresql" : "sqlite"},
                        {"database", db_name},
                        {"schema_version", contents.schema_version},
                        {"keyring_fingerprint", fingerprint},
                        {"with_keyring", with_keyring_},
                        {"audit_events", contents.events},
                        {"checkpoint", nullptr},
                        {"files", files}};
    if (contents.checkpoint) {
      m["checkpoint"] = {{"tree_size", contents.checkpoint->checkpoint.tree_size},
                         {"text", CheckpointText(*contents.checkpoint)}};
    }
    const std::string text = m.dump(2) + "\n";
    const std::string manifest = to_ + "/" + kManifest;
    const int fd = ::open(manifest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return ExitFor(Status::Unavailable("cannot create " + manifest));
    st = WriteAllSyncAndClose(fd, text, manifest);
    if (st.ok()) st = SyncDir(to_);
    if (!st.ok()) return ExitFor(st);
    // On the record, in the live log: a copy of the register left the system.
    const std::int64_t size =
        contents.checkpoint ? static_cast<std::int64_t>(contents.checkpoint->checkpoint.tree_size)
                            : 0;
    st = app.store().Write([&](store::Tx& tx) -> Status {
      audit::Event e;
      e.at = now;
      e.action = "backup.create";
      e.decision = "allow";
      e.rule = std::string(with_keyring_ ? "with_keyring" : "without_keyring") +
               ":checkpoint:" + std::to_string(size);
      return audit::AuditLog::Append(tx, e).status();
    });
    if (!st.ok()) return ExitFor(st);
    std::printf(
        "backup written to %s: %s, schema version %d, %lld audit events, newest signed "
        "checkpoint at %lld, keyring %s (%s)\n",
        to_.c_str(), db_name.c_str(), contents.schema_version,
        static_cast<long long>(contents.events), static_cast<long long>(size), fingerprint.c_str(),
        with_keyring_ ? "keys included" : "keys not included");
    return kExitOk;
  }

  // Refusals: damaged files exit 1, a keyring that does not match 2, an
  // audit log that fails its check 3 (docs/operations.md).
  int Refuse(const std::string& why, int code) {
    std::fprintf(stderr, "switchboard: refusing to restore %s: %s\n", from_.c_str(), why.c_str());
    return code;
  }

  int Restore(OpenedApps& opened) {
    // The manifest, and every file it lists against its hash.
    auto text = ReadSmallFile(from_ + "/" + kManifest, 1 << 20);
    if (!text) return Refuse(text.error().message(), kExitUsage);
    auto parsed = ParseJson(*text);
    if (!parsed || !parsed->is_object() || parsed->value("format", "") != kFormat ||
        parsed->value("version", 0) != kManifestVersion || !(*parsed)["files"].is_object()) {
      return Refuse("manifest.json is not a Switchboard backup manifest (version 1)", kExitUsage);
    }
    const nlohmann::json& m = *parsed;
    const std::string db_name = m.value("database", "");
    if (db_name != kSqliteCopy && db_name != kPgArchive) {
      return Refuse("the manifest names no database copy", kExitUsage);
    }
    const bool pg = db_name == kPgArchive;
    if (pg != (store_.rfind("postgres", 0) == 0)) {
      return Refuse(pg ? "a PostgreSQL backup needs --store with an empty database's URL"
                       : "a SQLite backup restores into --to only; leave out --store",
                    kExitUsage);
    }
    if (!m["files"].contains(db_name)) return Refuse("the manifest lists no database", 1);
    for (const auto& [name, hash] : m["files"].items()) {
      if (!AllowedName(name) || !hash.is_string()) {
        return Refuse("the manifest lists an unexpected file", kExitRuntime);
      }
      auto h = crypto::Sha256File(from_ + "/" + name);
      if (!h) return Refuse(h.error().message(), kExitRuntime);
      if (*h != hash.get<std::string>()) {
        return Refuse(name +
                          " does not match its SHA-256 in the manifest: the backup is damaged "
                          "or was altered",
                      kExitRuntime);
      }
    }
    // The keys: given, or the backup's own.
    std::string keys = keys_;
    if (keys.empty()) {
      if (!m["files"].contains("keys/keyring")) {
        return Refuse(
            "this backup was made without --with-keyring; give --keys with your offline copy "
            "of keys/",
            kExitUsage);
      }
      keys = from_ + "/keys";
    }
    auto keyring = crypto::Keyring::Load(keys + "/keyring");
    if (!keyring) return Refuse(keyring.error().message(), kExitUsage);
    const std::string fingerprint = (*keyring)->Fingerprint();
    if (fingerprint != m.value("keyring_fingerprint", "")) {
      return Refuse("the keyring " + keys + "/keyring (fingerprint " + fingerprint +
                        ") is not this backup's (" + m.value("keyring_fingerprint", "") +
                        "); its contact data could not be read",
                    kExitUsage);
    }
    auto signing = audit::SigningKey::Load(keys + "/audit-signing.key");
    if (!signing) return Refuse(signing.error().message(), kExitUsage);
    const audit::VerifyKey& vk = (*signing)->verify_key();
    std::optional<audit::SignedCheckpoint> manifest_cp;
    if (!m["checkpoint"].is_null()) {
      auto cp = ParseCheckpointText(m["checkpoint"].value("text", ""));
      if (!cp) return Refuse("the manifest's checkpoint: " + cp.error().message(), kExitAudit);
      if (Status s = vk.Verify(*cp); !s.ok()) {
        return Refuse("the manifest's checkpoint is not signed by this deployment's audit key: " +
                          s.message(),
                      kExitAudit);
      }
      manifest_cp = *cp;
    }
    std::vector<audit::SignedCheckpoint> live;
    if (!live_log_.empty()) {
      auto l = audit::ReadWitnessFile(live_log_);
      if (!l) return Refuse(l.error().message(), kExitUsage);
      live = std::move(l).value();
    }

    // Into the new directory (and database).
    Status st = PrepareEmptyDir(to_);
    if (!st.ok()) return ExitFor(st);
    bool keep = false;
    struct Cleanup {
      const std::string& dir;
      const bool& keep;
      ~Cleanup() {
        if (keep) return;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir, ec)) fs::remove_all(e.path(), ec);
      }
    } cleanup{to_, keep};
    ::mkdir((to_ + "/keys").c_str(), 0700);
    for (const auto& [name, hash] : m["files"].items()) {
      if (name == db_name || name.rfind("keys/", 0) == 0) continue;
      st = CopyFile(from_ + "/" + name, to_ + "/" + name);
      if (!st.ok()) return ExitFor(st);
    }
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(keys, ec)) {
      const std::string name = e.path().filename().string();
      if (!e.is_regular_file() || !AllowedName("keys/" + name) || name.ends_with(".new")) continue;
      st = CopyFile(e.path().string(), to_ + "/keys/" + name);
      if (!st.ok()) return ExitFor(st);
    }
    if (ec) return ExitFor(Status::Unavailable("cannot list " + keys + ": " + ec.message()));
    std::string url;
    if (pg) {
      st = server::RestoreStoreArchive(store_, from_ + "/" + db_name);
      if (!st.ok()) return ExitFor(st);
      url = store_;
    } else {
      st = CopyFile(from_ + "/" + db_name, to_ + "/" + kSqliteCopy);
      if (!st.ok()) return ExitFor(st);
      url = to_ + "/" + kSqliteCopy;
    }

    // The copy's audit log against its own checkpoints and the manifest's.
    audit::VerifyReport report;
    std::string stored_fp;
    std::int64_t live_lost_from = -1, live_lost_to = -1;
    {
      auto copy = OpenAsIs(url);
      if (!copy) return ExitFor(copy.error());
      audit::VerifyOptions vo;
      if (manifest_cp) vo.external.push_back({"the backup's manifest", {*manifest_cp}});
      st = (*copy)->Read([&](store::Tx& tx) -> Status {
        SB_ASSIGN_OR_RETURN(stored_fp, store::GetSetting(tx, "keyring_fingerprint"));
        SB_ASSIGN_OR_RETURN(const std::int64_t events, audit::AuditLog::Size(tx));
        SB_ASSIGN_OR_RETURN(const std::int64_t signed_size, audit::AuditLog::CheckpointedSize(tx));
        // The live log's checkpoints up to the copy's newest must be the
        // copy's own (a later one may cover events the copy holds, signed
        // after the copy was taken).
        std::vector<audit::SignedCheckpoint> earlier;
        for (const auto& cp : live) {
          if (static_cast<std::int64_t>(cp.checkpoint.tree_size) <= signed_size) {
            earlier.push_back(cp);
          }
        }
        if (!live.empty()) {
          vo.external.push_back({"the live checkpoint log", std::move(earlier)});
          const auto newest = static_cast<std::int64_t>(live.back().checkpoint.tree_size);
          if (newest > events) {
            live_lost_from = events;
            live_lost_to = newest;
          }
        }
        SB_ASSIGN_OR_RETURN(report, audit::AuditLog::Verify(tx, vk, vo));
        return Status::Ok();
      });
      if (!st.ok()) return ExitFor(st);
    }
    if (pg) keep = true;  // the database is filled either way; say so below
    if (stored_fp != fingerprint) {
      return Refuse("the database expects keyring " + stored_fp + ", not " + fingerprint,
                    kExitUsage);
    }
    if (!report.ok) {
      if (pg) {
        std::fprintf(stderr, "note: %s now holds the refused copy; drop it.\n", store_.c_str());
      }
      return Refuse("its audit log failed verification" +
                        (report.first_bad >= 0 ? " at index " + std::to_string(report.first_bad)
                                               : std::string()) +
                        ": " + report.reason,
                    kExitAudit);
    }
    keep = true;
    std::printf(
        "restored %s into %s: audit log verified (%llu events, %llu signed checkpoints, %llu "
        "checked outside the database)\n",
        from_.c_str(), pg ? store_.c_str() : to_.c_str(),
        static_cast<unsigned long long>(report.events),
        static_cast<unsigned long long>(report.checkpoints),
        static_cast<unsigned long long>(report.external_checkpoints));
    if (live_lost_from >= 0) {
      std::printf(
          "the live checkpoint log covers events %lld to %lld, which this backup does not hold: "
          "they are lost with this restore\n",
          static_cast<long long>(live_lost_from), static_cast<long long>(live_lost_to - 1));
    }
    return Finish(opened, url, m);
  }

  // The restored directory's checkpoint log, written from its database with
  // `audit adopt`, when every file of it is inside the new directory.
  int Finish(OpenedApps& opened, const std::string& url, const nlohmann::json& m) {
    auto config = LoadConfig(to_ + "/switchboard.toml");
    if (!config) return ExitFor(config.error());
    if (!config->store.url.empty()) {
      std::printf(
          "note: %s/switchboard.toml sets [store] url (the live system's); point it at the "
          "restored database before `switchboard serve`\n",
          to_.c_str());
    }
    for (const std::string& p : server::CheckpointLogPaths(to_, *config)) {
      if (p.rfind(to_ + "/", 0) != 0) {
        std::printf(
            "next: %s is outside the new directory, so nothing was adopted. Run `switchboard "
            "audit adopt --data-dir %s` once you have decided which checkpoint log it keeps "
            "(docs/operations.md)\n",
            p.c_str(), to_.c_str());
        return kExitOk;
      }
    }
    auto a = opened.Open(to_, url, OpenedApps::Check::kInspect);
    if (!a) return ExitFor(a.error());
    server::App& app = **a;
    const std::int64_t size =
        m["checkpoint"].is_null() ? 0 : m["checkpoint"].value("tree_size", std::int64_t{0});
    Status st = app.store().Write([&](store::Tx& tx) -> Status {
      audit::Event e;
      e.at = app.clock().Now();
      e.action = "backup.restore";
      e.decision = "allow";
      e.rule = "checkpoint:" + std::to_string(size);
      return audit::AuditLog::Append(tx, e).status();
    });
    if (!st.ok()) return ExitFor(st);
    auto r = audit::AdoptCheckpointLog(app.store(), app.audit(), app.checkpoint_log(),
                                       app.audit_key(), app.clock());
    if (!r) return ExitFor(r.error());
    for (const auto& p : r->created) {
      std::printf("created %s from the restored database's checkpoints\n", p.c_str());
    }
    std::printf("ready: switchboard serve --data-dir %s%s\n", to_.c_str(),
                url.rfind("postgres", 0) == 0 ? " --store <the restored database's URL>" : "");
    return kExitOk;
  }

  CLI::App *backup_, *restore_;
  Common c_;
  std::string to_, from_, store_, keys_, live_log_;
  bool with_keyring_ = false;
};

}  // namespace

std::unique_ptr<Command> AddBackupCommands(CLI::App& app) {
  return std::make_unique<BackupCommands>(app);
}

}  // namespace switchboard::cli
