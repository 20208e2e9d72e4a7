#include "cli/key_commands.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "access/store/reseal.h"
#include "audit/audit_log.h"
#include "cli/exit_codes.h"
#include "cli/opened_apps.h"
#include "crypto/keyring.h"
#include "members/reseal.h"
#include "phonebank/reseal.h"
#include "privacy/reseal.h"
#include "server/app.h"

namespace switchboard::cli {
namespace {

// Each module's sealed columns, in the order they are re-sealed.
struct Owner {
  const char* module;
  std::function<Result<std::int64_t>(store::Tx&, const crypto::Sealer&, std::int64_t)> reseal;
  std::function<Result<std::int64_t>(store::Tx&, std::uint32_t)> count;
};

const std::vector<Owner>& Owners() {
  static const std::vector<Owner> owners = {
      {"members", members::ResealBatch, members::CountSealedUnderKey},
      {"access", access::ResealBatch, access::CountSealedUnderKey},
      {"phonebank", phonebank::ResealBatch, phonebank::CountSealedUnderKey},
      {"privacy", privacy::ResealBatch, privacy::CountSealedUnderKey},
  };
  return owners;
}

// Holds an exclusive lock on keys/.keyring.lock, so two commands changing
// the keyring never both read the old file and write a new one.
class KeyringLock {
 public:
  static Result<KeyringLock> Take(const std::string& data_dir) {
    const std::string path = data_dir + "/keys/.keyring.lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || ::flock(fd, LOCK_EX) != 0) {
      if (fd >= 0) ::close(fd);
      return Status::Unavailable("cannot lock " + path);
    }
    return KeyringLock(fd);
  }
  KeyringLock(KeyringLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  KeyringLock& operator=(KeyringLock&&) = delete;
  ~KeyringLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  explicit KeyringLock(int fd) : fd_(fd) {}
  int fd_;
};

Status Record(server::App& app, const std::string& action, const std::string& rule) {
  return app.store().Write([&](store::Tx& tx) -> Status {
    audit::Event e;
    e.at = app.clock().Now();
    e.action = action;
    e.decision = "allow";
    e.rule = rule;
    return audit::AuditLog::Append(tx, e).status();
  });
}

class KeyCommands final : public Command {
 public:
  explicit KeyCommands(CLI::App& app) {
    auto* keys = app.add_subcommand("keys", "Rotate the keys that seal contact data");
    keys->require_subcommand(1);
    list_ = keys->add_subcommand("list", "Each key in the keyring and how many values use it");
    AddCommon(list_, &c_);
    rotate_ = keys->add_subcommand(
        "rotate", "Add a new active key to the keyring (then SIGHUP serve, and run `keys reseal`)");
    AddCommon(rotate_, &c_);
    reseal_ = keys->add_subcommand(
        "reseal",
        "Seal every value again under the active key, in batches (safe while serve runs; "
        "run again to resume)");
    AddCommon(reseal_, &c_);
    reseal_->add_option("--batch", batch_, "Values per transaction (default 500)")
        ->check(CLI::Range(1, 100000));
    retire_ =
        keys->add_subcommand("retire", "Remove an old key from the keyring once no value uses it");
    AddCommon(retire_, &c_);
    retire_->add_option("ID", id_, "The key's id (`keys list`)")->required();
  }

  std::optional<int> Run(OpenedApps& opened) override {
    if (!list_->parsed() && !rotate_->parsed() && !reseal_->parsed() && !retire_->parsed()) {
      return std::nullopt;
    }
    auto a = opened.Open(c_.data_dir, c_.store);
    if (!a) return ExitFor(a.error());
    server::App& app = **a;
    if (list_->parsed()) return List(app);
    if (rotate_->parsed()) return Rotate(app);
    if (reseal_->parsed()) return Reseal(app);
    return Retire(app);
  }

 private:
  Result<std::int64_t> CountUnder(server::App& app, std::uint32_t id) {
    std::int64_t n = 0;
    SB_RETURN_IF_ERROR(app.store().Read([&](store::Tx& tx) -> Status {
      n = 0;
      for (const Owner& o : Owners()) {
        SB_ASSIGN_OR_RETURN(const std::int64_t k, o.count(tx, id));
        n += k;
      }
      return Status::Ok();
    }));
    return n;
  }

  int List(server::App& app) {
    auto ring = app.sealer().keyring();
    for (std::uint32_t id : ring->key_ids()) {
      auto n = CountUnder(app, id);
      if (!n) return ExitFor(n.error());
      std::printf("key %u%s: %lld sealed values\n", id,
                  id == ring->active_key_id() ? " (active)" : "", static_cast<long long>(*n));
    }
    return kExitOk;
  }

  int Rotate(server::App& app) {
    auto lock = KeyringLock::Take(app.data_dir());
    if (!lock) return ExitFor(lock.error());
    const std::string path = server::KeyringPath(app.data_dir());
    auto ring = crypto::Keyring::Load(path);
    if (!ring) return ExitFor(ring.error());
    const std::uint32_t id = (*ring)->Rotate();
    if (Status st = (*ring)->SaveReplacing(path); !st.ok()) return ExitFor(st);
    if (Status st = Record(app, "keys.rotate", "key:" + std::to_string(id)); !st.ok()) {
      return ExitFor(st);
    }
    std::printf(
        "key %u is now the active key in %s.\nNext: send serve SIGHUP (systemctl reload "
        "switchboard) so it seals with it, then run `switchboard keys reseal`. Copy the keyring "
        "to your offline store again.\n",
        id, path.c_str());
    return kExitOk;
  }

  int Reseal(server::App& app) {
    // The file's keyring, which a rotation since this command opened may have changed.
    if (Status st = app.ReloadKeyring(); !st.ok()) return ExitFor(st);
    const crypto::Sealer& sealer = app.sealer();
    const std::uint32_t active = sealer.keyring()->active_key_id();
    std::int64_t total = 0;
    for (const Owner& o : Owners()) {
      std::int64_t module_total = 0;
      for (;;) {
        std::int64_t n = 0;
        Status st = app.store().Write([&](store::Tx& tx) -> Status {
          SB_ASSIGN_OR_RETURN(n, o.reseal(tx, sealer, batch_));
          if (n == 0) return Status::Ok();
          audit::Event e;
          e.at = app.clock().Now();
          e.action = "keys.reseal";
          e.decision = "allow";
          e.rule =
              std::string(o.module) + ":" + std::to_string(n) + ":key:" + std::to_string(active);
          return audit::AuditLog::Append(tx, e).status();
        });
        if (!st.ok()) {
          std::fprintf(stderr, "switchboard: %lld values re-sealed before this failure\n",
                       static_cast<long long>(total + module_total));
          return ExitFor(st);
        }
        module_total += n;
        if (n < batch_) break;
      }
      std::printf("%s: %lld values re-sealed under key %u\n", o.module,
                  static_cast<long long>(module_total), active);
      total += module_total;
    }
    for (std::uint32_t id : sealer.keyring()->key_ids()) {
      if (id == active) continue;
      auto n = CountUnder(app, id);
      if (!n) return ExitFor(n.error());
      std::printf("key %u: %lld values still use it%s\n", id, static_cast<long long>(*n),
                  *n == 0 ? " (it can be retired)"
                          : " (sealed since by a serve not yet reloaded? SIGHUP it and run "
                            "reseal again)");
    }
    return kExitOk;
  }

  int Retire(server::App& app) {
    auto lock = KeyringLock::Take(app.data_dir());
    if (!lock) return ExitFor(lock.error());
    const std::string path = server::KeyringPath(app.data_dir());
    auto ring = crypto::Keyring::Load(path);
    if (!ring) return ExitFor(ring.error());
    const auto id = static_cast<std::uint32_t>(id_);
    if (!(*ring)->encryption_key(id)) {
      return ExitFor(Status::NotFound("the keyring has no key " + std::to_string(id_)));
    }
    if (id == (*ring)->active_key_id()) {
      return ExitFor(Status::FailedPrecondition("key " + std::to_string(id) +
                                                " is the active key; rotate and reseal first"));
    }
    auto n = CountUnder(app, id);
    if (!n) return ExitFor(n.error());
    if (*n > 0) {
      return ExitFor(Status::FailedPrecondition(
          std::to_string(*n) + " sealed values still use key " + std::to_string(id) +
          "; run `switchboard keys reseal` first (after serve was sent SIGHUP)"));
    }
    if (Status st = (*ring)->Retire(id); !st.ok()) return ExitFor(st);
    if (Status st = (*ring)->SaveReplacing(path); !st.ok()) return ExitFor(st);
    if (Status st = Record(app, "keys.retire", "key:" + std::to_string(id)); !st.ok()) {
      return ExitFor(st);
    }
    std::printf("key %u removed from %s; send serve SIGHUP so it forgets it too\n", id,
                path.c_str());
    return kExitOk;
  }

  CLI::App *list_, *rotate_, *reseal_, *retire_;
  Common c_;
  std::int64_t batch_ = 500;
  std::int64_t id_ = 0;
};

}  // namespace

std::unique_ptr<Command> AddKeyCommands(CLI::App& app) {
  return std::make_unique<KeyCommands>(app);
}

}  // namespace switchboard::cli
