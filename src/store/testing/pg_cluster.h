// PgCluster: a throwaway PostgreSQL server for tests. Start() runs initdb into
// a fresh temporary directory (on /dev/shm when it is roomy: see BaseDir in
// the .cc; $SB_PG_TMPDIR overrides) and starts `postgres` as a child process
// listening only on 127.0.0.1 (a free port found by binding port 0) and on a
// Unix socket inside that directory, with fsync off and trust authentication
// for the superuser "switchboard". Shared() gives one cluster per test binary,
// started on first use (about 0.4 s on tmpfs, 1-2 s on disk) and stopped at
// exit.
//
// Clean-up: the destructor stops the server (an immediate shutdown, like
// `pg_ctl stop -m immediate`) and removes the directory. A small guardian
// process, started first, does the same if the test process dies without
// running destructors (a crash, an abort, a SIGKILL from a test timeout).
//
// Root: initdb and postgres refuse to run as root, so under euid 0 the
// directory is handed to the `postgres` system user (or `nobody` if it does
// not exist) and both run as that user (the child drops privileges between
// fork and exec; no runuser or sudo needed).
//
// Binaries come from $SB_PG_BINDIR, else the newest /usr/lib/postgresql/*/bin,
// else $PATH. Missing binaries are a kFailedPrecondition naming what to install:
// tests must fail, not skip, without them.
//
// Thread-safe: databases may be created and dropped from several threads.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/mutex.h"
#include "core/status.h"

typedef struct pg_conn PGconn;

namespace switchboard::store::testing {

class PgCluster {
 public:
  // Starts a new cluster owned by the caller.
  static Result<std::unique_ptr<PgCluster>> Start();
  // The process-wide cluster, started on the first call; later calls return
  // the same cluster (or the same start-up error).
  static Result<PgCluster*> Shared();

  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // "postgresql://switchboard@127.0.0.1:<port>/<db>"; the "switchboard"
  // database exists from the start.
  std::string url(const std::string& db = "switchboard") const;

  // Creates database `name` (letters, digits and '_') and returns its url.
  Result<std::string> CreateDatabase(std::string_view name);
  // Creates a database with a fresh name "<prefix>_<n>" and returns its url.
  Result<std::string> CreateUniqueDatabase(std::string_view prefix = "test");
  // Drops database `name`, ending its sessions first; no error if it is gone.
  Status DropDatabase(std::string_view name);

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  // initdb, server start and the first database, end to end.
  std::chrono::milliseconds startup_time() const { return startup_time_; }

 private:
  PgCluster() = default;
  Status Init();
  Status StartServer();
  Status Connect();
  Status Run(const std::string& sql);  // on the admin connection

  std::string bin_dir_;
  std::string dir_;  // the temporary directory; the cluster is in dir_/data
  bool drop_privileges_ = false;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  int port_ = 0;
  pid_t postmaster_ = -1;
  pid_t guardian_ = -1;
  int guardian_fd_ = -1;  // closing it (or dying) tells the guardian to clean up
  std::chrono::milliseconds startup_time_{0};
  std::atomic<int> next_db_{0};
  Mutex admin_mu_;
  PGconn* admin_ SB_GUARDED_BY(admin_mu_) = nullptr;  // to the "postgres" database
};

}  // namespace switchboard::store::testing
