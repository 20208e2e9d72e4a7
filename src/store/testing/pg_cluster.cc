#include "store/testing/pg_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

extern char** environ;

namespace switchboard::store::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSuperuser = "switchboard";

bool ValidName(std::string_view name) {
  return !name.empty() && name.size() <= 63 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string Errno(std::string_view what) { return std::string(what) + ": " + std::strerror(errno); }

// The last `max` bytes of a log file, for error messages.
std::string Tail(const std::string& path, size_t max = 3000) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > max) s = "..." + s.substr(s.size() - max);
  return s;
}

bool IsExecutable(const fs::path& p) { return access(p.c_str(), X_OK) == 0; }

// Where initdb and postgres live, or empty.
std::string FindBinDir() {
  auto has_server = [](const fs::path& dir) {
    return IsExecutable(dir / "initdb") && IsExecutable(dir / "postgres");
  };
  if (const char* env = std::getenv("SB_PG_BINDIR"); env && *env) {
    return has_server(env) ? env : "";  // an explicit choice: nothing else
  }
  std::vector<fs::path> candidates;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    candidates.push_back(entry.path() / "bin");
  }
  // Newest major version first (numeric order: 9.6 < 10 < 15).
  std::sort(candidates.begin(), candidates.end(), [](const fs::path& a, const fs::path& b) {
    return std::atof(a.parent_path().filename().c_str()) >
           std::atof(b.parent_path().filename().c_str());
  });
  candidates.emplace_back("/usr/local/pgsql/bin");
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    for (std::string dir; std::getline(ss, dir, ':');) {
      if (!dir.empty()) candidates.emplace_back(dir);
    }
  }
  for (const fs::path& dir : candidates) {
    if (has_server(dir)) return dir.string();
  }
  return {};
}

// Where to put the cluster: $SB_PG_TMPDIR, else /dev/shm when it is a roomy
// tmpfs (initdb there takes a third of the time it takes on disk), else
// $TMPDIR (not under root: the server's user may not reach it), else /tmp.
// The Unix socket path inside must fit in 107 bytes.
std::string BaseDir(bool dropping_privileges) {
  if (const char* env = std::getenv("SB_PG_TMPDIR"); env && *env) return env;
  struct statvfs shm;
  if (statvfs("/dev/shm", &shm) == 0 && access("/dev/shm", W_OK | X_OK) == 0 &&
      static_cast<std::uint64_t>(shm.f_bavail) * shm.f_frsize >= (std::uint64_t{1} << 30)) {
    return "/dev/shm";
  }
  const char* tmp = std::getenv("TMPDIR");
  if (tmp && *tmp && !dropping_privileges && std::strlen(tmp) <= 60) return tmp;
  return "/tmp";
}

Result<int> FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Unavailable(Errno("socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Status st = Status::Unavailable(Errno("binding 127.0.0.1:0"));
    close(fd);
    return st;
  }
  close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

// The environment for child processes: ours without PG* variables, which
// would otherwise steer initdb and postgres.
class ChildEnv {
 public:
  ChildEnv() {
    for (char** e = environ; *e; ++e) {
      if (std::strncmp(*e, "PG", 2) != 0) vars_.emplace_back(*e);
    }
    if (!std::getenv("PATH")) vars_.emplace_back("PATH=/usr/bin:/bin");
    for (auto& v : vars_) ptrs_.push_back(v.data());
    ptrs_.push_back(nullptr);
  }
  char** get() { return ptrs_.data(); }

 private:
  std::vector<std::string> vars_;
  std::vector<char*> ptrs_;
};

struct Identity {
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Forks and execs argv[0] with stdin from /dev/null, stdout and stderr
// appended to `log`, in directory `cwd`, as `who`. Between fork and exec the
// child only makes async-signal-safe calls.
Result<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& log,
                    const std::string& cwd, const Identity& who) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ChildEnv env;
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (null_fd < 0 || log_fd < 0) {
    Status st = Status::Unavailable(Errno("opening " + log));
    if (null_fd >= 0) close(null_fd);
    if (log_fd >= 0) close(log_fd);
    return st;
  }
  if (who.drop && fchown(log_fd, who.uid, who.gid) != 0) {
    Status st = Status::Unavailable(Errno("chown " + log));
    close(null_fd);
    close(log_fd);
    return st;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    if (dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0) _exit(126);
    if (chdir(cwd.c_str()) != 0) _exit(126);
    if (who.drop) {
      if (setgroups(0, nullptr) != 0 || setgid(who.gid) != 0 || setuid(who.uid) != 0) _exit(126);
    }
    execve(args[0], args.data(), env.get());
    _exit(127);
  }
  const int fork_errno = errno;
  close(null_fd);
  close(log_fd);
  if (pid < 0) {
    errno = fork_errno;
    return Status::Unavailable(Errno("fork"));
  }
  return pid;
}

// Waits for `pid`; returns its exit code (128 + signal if killed).
int WaitExit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Shell run by the guardian: wait for EOF on stdin (our end closes when this
// process exits, however it exits), then stop the server and remove the
// directory. Idempotent, so the destructor can let it run after cleaning up.
constexpr const char* kGuardianScript = R"sh(
trap '' HUP INT QUIT TERM PIPE
while read -r _; do :; done
pidfile="$1/data/postmaster.pid"
if [ -f "$pidfile" ]; then
  pid=$(head -n 1 "$pidfile")
  kill -QUIT "$pid" 2>/dev/null
  n=0
  while [ -f "$pidfile" ] && [ "$n" -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
  if [ -f "$pidfile" ]; then kill -KILL "$pid" 2>/dev/null; fi
fi
rm -rf "$1"
)sh";

}  // namespace

Result<std::unique_ptr<PgCluster>> PgCluster::Start() {
  const auto started = std::chrono::steady_clock::now();
  std::unique_ptr<PgCluster> cluster(new PgCluster());
  SB_RETURN_IF_ERROR(cluster->Init());
  SB_RETURN_IF_ERROR(cluster->StartServer());
  SB_RETURN_IF_ERROR(cluster->Connect());
  Status created = cluster->CreateDatabase(kSuperuser).status();
  if (!created.ok()) return created;
  cluster->startup_time_ = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  return cluster;
}

Result<PgCluster*> PgCluster::Shared() {
  static std::once_flag once;
  static std::unique_ptr<PgCluster> cluster;  // stopped by static destruction at exit
  static Status error;
  std::call_once(once, [] {
    auto started = Start();
    if (started) {
      cluster = std::move(started).value();
    } else {
      error = started.error();
    }
  });
  if (!cluster) return error;
  return cluster.get();
}

Status PgCluster::Init() {
  bin_dir_ = FindBinDir();
  if (bin_dir_.empty()) {
    return Status::FailedPrecondition(
        "PostgreSQL server binaries (initdb, postgres) not found in " +
        std::string(std::getenv("SB_PG_BINDIR") ? "$SB_PG_BINDIR"
                                                : "/usr/lib/postgresql/*/bin or $PATH") +
        "; the PostgreSQL tests need them: install them (Debian: apt-get install "
        "postgresql-15) or point SB_PG_BINDIR at their directory");
  }
  if (geteuid() == 0) {
    // initdb and postgres refuse root: run them as an unprivileged user.
    const passwd* pw = getpwnam("postgres");
    if (!pw) pw = getpwnam("nobody");
    if (!pw) {
      return Status::FailedPrecondition(
          "running as root, and neither a 'postgres' nor a 'nobody' user exists to run the "
          "test PostgreSQL server as");
    }
    drop_privileges_ = true;
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
  }
  const std::string base = BaseDir(drop_privileges_);
  std::string pattern = base + "/sb-pg-XXXXXX";
  if (!mkdtemp(pattern.data())) return Status::Unavailable(Errno("mkdtemp " + pattern));
  dir_ = pattern;

  // The guardian first, so that every later failure is cleaned up too.
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::Unavailable(Errno("pipe2"));
  ChildEnv env;
  const int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  const pid_t guardian = null_fd < 0 ? -1 : fork();
  if (guardian == 0) {
    // Not our stdout: a test runner reading it must not wait for the guardian.
    if (dup2(fds[0], 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0) _exit(126);
    setsid();  // out of the terminal's process group: a Ctrl-C must not kill it
    const char* argv[] = {"/bin/sh",        "-c",         kGuardianScript,
                          "sb-pg-guardian", dir_.c_str(), nullptr};
    execve(argv[0], const_cast<char**>(argv), env.get());
    _exit(127);
  }
  const Status forked =
      guardian < 0 ? Status::Unavailable(Errno("starting the guardian")) : Status();
  close(fds[0]);
  if (null_fd >= 0) close(null_fd);
  if (!forked.ok()) {
    close(fds[1]);
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
    return forked;
  }
  guardian_ = guardian;
  guardian_fd_ = fds[1];

  if (drop_privileges_ && chown(dir_.c_str(), uid_, gid_) != 0) {
    return Status::Unavailable(Errno("chown " + dir_));
  }
  const Identity who{drop_privileges_, uid_, gid_};
  const std::string log = dir_ + "/initdb.log";
  SB_ASSIGN_OR_RETURN(pid_t initdb, Spawn({bin_dir_ + "/initdb", "-D", dir_ + "/data", "-A",
                                           "trust", "-U", kSuperuser, "-E", "UTF8", "--locale=C",
                                           "--no-sync", "--no-instructions"},
                                          log, dir_, who));
  if (const int rc = WaitExit(initdb); rc != 0) {
    return Status::Internal("initdb exited with " + std::to_string(rc) + ":\n" + Tail(log));
  }
  std::ofstream conf(dir_ + "/data/postgresql.conf", std::ios::app);
  conf << "\n# switchboard test cluster\n"
       << "listen_addresses = '127.0.0.1'\n"
       << "unix_socket_directories = '" << dir_ << "'\n"
       << "fsync = off\n"
       << "synchronous_commit = off\n"
       << "full_page_writes = off\n"
       << "wal_level = minimal\n"
       << "max_wal_senders = 0\n"
       << "max_wal_size = 128MB\n"
       << "min_wal_size = 32MB\n"
       << "max_connections = 200\n"
       << "shared_buffers = 32MB\n"
       << "autovacuum = off\n";
  conf.close();
  if (!conf) return Status::Unavailable("cannot write " + dir_ + "/data/postgresql.conf");
  return Status::Ok();
}

Status PgCluster::StartServer() {
  const Identity who{drop_privileges_, uid_, gid_};
  const std::string log = dir_ + "/postgres.log";
  Status last;
  // A port found free may be taken before the server binds it: retry.
  for (int attempt = 0; attempt < 5; ++attempt) {
    SB_ASSIGN_OR_RETURN(port_, FreePort());
    SB_ASSIGN_OR_RETURN(postmaster_, Spawn({bin_dir_ + "/postgres", "-D", dir_ + "/data", "-p",
                                            std::to_string(port_)},
                                           log, dir_, who));
    const std::string ping = "host=127.0.0.1 port=" + std::to_string(port_) +
                             " dbname=postgres user=" + kSuperuser + " connect_timeout=5";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      if (PQping(ping.c_str()) == PQPING_OK) return Status::Ok();
      int status = 0;
      if (waitpid(postmaster_, &status, WNOHANG) == postmaster_) {
        postmaster_ = -1;
        last = Status::Unavailable("postgres exited during start-up:\n" + Tail(log));
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        return Status::Unavailable("postgres did not accept connections within 60 s:\n" +
                                   Tail(log));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // start-up poll
    }
  }
  return last;
}

Status PgCluster::Connect() {
  MutexLock lock(admin_mu_);
  admin_ = PQconnectdb(url("postgres").c_str());
  if (!admin_ || PQstatus(admin_) != CONNECTION_OK) {
    return Status::Unavailable(std::string("cannot connect to the test cluster: ") +
                               (admin_ ? PQerrorMessage(admin_) : "out of memory"));
  }
  return Status::Ok();
}

PgCluster::~PgCluster() {
  {
    MutexLock lock(admin_mu_);
    if (admin_) PQfinish(admin_);
    admin_ = nullptr;
  }
  if (postmaster_ > 0) {
    kill(postmaster_, SIGQUIT);  // immediate shutdown: nothing here is worth keeping
    WaitExit(postmaster_);
  }
  if (!dir_.empty()) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  if (guardian_fd_ >= 0) {
    close(guardian_fd_);  // the guardian finds nothing left to do and exits
    WaitExit(guardian_);
  }
}

std::string PgCluster::url(const std::string& db) const {
  return std::string("postgresql://") + kSuperuser + "@127.0.0.1:" + std::to_string(port_) + "/" +
         db;
}

Result<std::string> PgCluster::CreateDatabase(std::string_view name) {
  if (!ValidName(name)) {
    return Status::InvalidArgument("bad database name '" + std::string(name) + "'");
  }
  SB_RETURN_IF_ERROR(Run("CREATE DATABASE \"" + std::string(name) + "\""));
  return url(std::string(name));
}

Status PgCluster::Run(const std::string& sql) {
  MutexLock lock(admin_mu_);
  if (!admin_) return Status::FailedPrecondition("the test cluster is not running");
  if (PQstatus(admin_) != CONNECTION_OK) PQreset(admin_);  // a test may have ended it
  PGresult* res = PQexec(admin_, sql.c_str());
  const bool ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
  std::string error = ok ? "" : (res ? PQresultErrorMessage(res) : PQerrorMessage(admin_));
  PQclear(res);
  if (!ok) return Status::Internal(sql + ": " + error);
  return Status::Ok();
}

Status PgCluster::DropDatabase(std::string_view name) {
  if (!ValidName(name)) return Status::InvalidArgument("bad database name");
  return Run("DROP DATABASE IF EXISTS \"" + std::string(name) + "\" WITH (FORCE)");
}

Result<std::string> PgCluster::CreateUniqueDatabase(std::string_view prefix) {
  return CreateDatabase(std::string(prefix) + "_" + std::to_string(++next_db_));
}

}  // namespace switchboard::store::testing
