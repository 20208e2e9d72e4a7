#include "store/postgres/pg_store.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <charconv>
#include <cstring>
#include <deque>
#include <limits>
#include <unordered_map>
#include <vector>

#include "core/log.h"
#include "core/mutex.h"
#include "store/internal/connection.h"
#include "store/internal/group_commit.h"
#include "store/migrations.h"

namespace switchboard::store {
namespace {

// Type oids from catalog/pg_type.h (a server header libpq does not ship).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kTextOid = 25;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

// Statements prepared per connection; past this, statements run unnamed.
constexpr size_t kMaxPrepared = 1000;

// Session settings that make results predictable whatever the server's defaults.
constexpr const char* kSessionSetup =
    "SET extra_float_digits = 3; SET bytea_output = 'hex'; SET client_min_messages = 'warning'";

// libpq's messages end in a newline and may span lines; makes them one line.
std::string OneLine(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n' || c == '\t') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Maps a failed result (or a lost connection) to a Status. The message is the
// server's primary message, which names constraints and columns but not values.
Status FromResult(PGconn* conn, const PGresult* res, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  if (!state || PQstatus(conn) == CONNECTION_BAD) {
    msg += OneLine(PQerrorMessage(conn));
    return Status::Unavailable(std::move(msg));
  }
  const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  std::string text = primary ? primary : OneLine(PQresultErrorMessage(res));
  const std::string_view code(state);
  if (code.starts_with("22")) {
    // Data exceptions end with the offending input ("invalid input syntax for
    // type bigint: \"...\"", "invalid byte sequence ...: 0xc3 0x28"); that input
    // may be a parameter value, so drop it.
    if (auto pos = text.find(": "); pos != std::string::npos) text.resize(pos);
  }
  msg += text;
  msg += " (SQLSTATE ";
  msg += code;
  msg += ')';
  if (code == "23505") return Status::AlreadyExists(std::move(msg));
  if (code == "23503" || code == "23502" || code == "23514") {
    return Status::FailedPrecondition(std::move(msg));
  }
  if (code == "40001" || code == "40P01" || code == "55P03") return Status::Aborted(std::move(msg));
  // Class 08 is a broken connection, except 08P01, which the server also uses
  // for a request it rejects (a wrong number of parameters).
  if ((code.starts_with("08") && code != "08P01") || code.starts_with("57P")) {
    return Status::Unavailable(std::move(msg));
  }
  if (code.starts_with("53")) return Status::ResourceExhausted(std::move(msg));
  return Status::Internal(std::move(msg));
}

// Owns a PGresult.
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes bytea's text output: the hex form ("\x00ff") or the old escape form.
std::string DecodeBytea(const char* text, size_t len) {
  std::string out;
  if (len >= 2 && text[0] == '\\' && text[1] == 'x') {
    SB_CHECK(len % 2 == 0);
    out.resize((len - 2) / 2);
    for (size_t i = 0; i < out.size(); ++i) {
      const int hi = HexDigit(text[2 + 2 * i]);
      const int lo = HexDigit(text[3 + 2 * i]);
      SB_CHECK(hi >= 0 && lo >= 0);
      out[i] = static_cast<char>(hi * 16 + lo);
    }
    return out;
  }
  size_t n = 0;
  unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &n);
  SB_CHECK(raw != nullptr);
  out.assign(reinterpret_cast<const char*>(raw), n);
  PQfreemem(raw);
  return out;
}

class PgRow final : public Row {
 public:
  void Reset(const PGresult* res, int row) {
    res_ = res;
    row_ = row;
    const int n = PQnfields(res);
    if (static_cast<int>(decoded_.size()) < n) decoded_.resize(n);
    is_decoded_.assign(n, false);
  }

  int size() const override { return PQnfields(res_); }
  bool IsNull(int c) const override {
    CheckColumn(c);
    return PQgetisnull(res_, row_, c) != 0;
  }

  std::int64_t Int(int c) const override {
    const std::string_view s = NonNull(c);
    const Oid type = PQftype(res_, c);
    if (type == kBoolOid) return s == "t" ? 1 : 0;
    SB_CHECK(type == kInt8Oid || type == kInt4Oid || type == kInt2Oid || type == kOidOid ||
             type == kNumericOid);
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    SB_CHECK(ec == std::errc() && end == s.data() + s.size());  // an integral value
    return v;
  }

  double Real(int c) const override {
    const std::string_view s = NonNull(c);
    const Oid type = PQftype(res_, c);
    SB_CHECK(type == kFloat8Oid || type == kFloat4Oid || type == kNumericOid || type == kInt8Oid ||
             type == kInt4Oid || type == kInt2Oid);
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
    double v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    SB_CHECK(ec == std::errc() && end == s.data() + s.size());
    return v;
  }

  std::string_view Text(int c) const override {
    const std::string_view s = NonNull(c);
    return PQftype(res_, c) == kByteaOid ? Decoded(c, s) : s;
  }
  std::string_view Bytes(int c) const override { return Text(c); }

 private:
  void CheckColumn(int c) const { SB_CHECK(c >= 0 && c < PQnfields(res_)); }
  std::string_view NonNull(int c) const {
    SB_CHECK(!IsNull(c));
    return {PQgetvalue(res_, row_, c), static_cast<size_t>(PQgetlength(res_, row_, c))};
  }
  std::string_view Decoded(int c, std::string_view text) const {
    if (!is_decoded_[c]) {
      decoded_[c] = DecodeBytea(text.data(), text.size());
      is_decoded_[c] = true;
    }
    return decoded_[c];
  }

  const PGresult* res_ = nullptr;
  int row_ = 0;
  mutable std::vector<std::string> decoded_;  // bytea columns of this row, decoded
  mutable std::vector<bool> is_decoded_;
};

// Parameters in libpq's form. Integers, reals and bytes go in binary; text as
// (NUL-terminated) text; NULL untyped so the server infers its type.
class BoundParams {
 public:
  Status Bind(Params params) {
    const size_t n = params.size();
    types_.resize(n);
    values_.resize(n);
    lengths_.resize(n);
    formats_.resize(n);
    scratch_.resize(n);
    signature_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const Value& v = params[i];
      lengths_[i] = 0;
      formats_[i] = 1;
      switch (v.type()) {
        case Value::Type::kNull:
          types_[i] = 0;
          values_[i] = nullptr;
          formats_[i] = 0;
          signature_[i] = 'n';
          break;
        case Value::Type::kInt:
          types_[i] = kInt8Oid;
          values_[i] = BigEndian(i, static_cast<std::uint64_t>(v.AsInt()));
          lengths_[i] = 8;
          signature_[i] = 'i';
          break;
        case Value::Type::kReal:
          types_[i] = kFloat8Oid;
          values_[i] = BigEndian(i, std::bit_cast<std::uint64_t>(v.AsReal()));
          lengths_[i] = 8;
          signature_[i] = 'r';
          break;
        case Value::Type::kText:
          if (v.AsText().find('\0') != std::string::npos) {
            return Status::InvalidArgument("text parameter $" + std::to_string(i + 1) +
                                           " contains a NUL character");
          }
          types_[i] = kTextOid;
          values_[i] = v.AsText().c_str();
          formats_[i] = 0;
          signature_[i] = 't';
          break;
        case Value::Type::kBytes:
          types_[i] = kByteaOid;
          // A non-null pointer even for empty bytes: null would mean SQL NULL.
          values_[i] = v.AsBytes().empty() ? "" : v.AsBytes().data();
          lengths_[i] = static_cast<int>(v.AsBytes().size());
          signature_[i] = 'b';
          break;
      }
    }
    return Status::Ok();
  }

  int count() const { return static_cast<int>(values_.size()); }
  const Oid* types() const { return types_.data(); }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }
  // One letter per parameter type: the server fixes types at prepare time.
  const std::string& signature() const { return signature_; }

 private:
  const char* BigEndian(size_t i, std::uint64_t v) {
    for (int b = 7; b >= 0; --b) {
      scratch_[i][b] = static_cast<char>(v & 0xff);
      v >>= 8;
    }
    return scratch_[i].data();
  }

  std::vector<Oid> types_;
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
  std::vector<std::array<char, 8>> scratch_;
  std::string signature_;
};

// Statements worth a named prepared statement: queries and DML. Utility
// statements (BEGIN, SAVEPOINT, DDL) run unnamed.
bool WorthPreparing(std::string_view sql, const BoundParams& params) {
  if (params.count() > 0) return true;
  const size_t start = sql.find_first_not_of(" \t\r\n(");
  if (start == std::string_view::npos) return false;
  sql.remove_prefix(start);
  for (std::string_view kw : {"SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "VALUES"}) {
    if (sql.size() >= kw.size() && std::equal(kw.begin(), kw.end(), sql.begin(),
                                              [](char a, char b) { return a == (b & ~0x20); })) {
      return true;
    }
  }
  return false;
}

void OnNotice(void* /*arg*/, const PGresult* res) {
  const char* severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  log::Warn("store.postgres", "server_notice",
            {{"severity", std::string_view(severity ? severity : "")},
             {"sqlstate", std::string_view(state ? state : "")},
             {"message", std::string_view(primary ? primary : "")}});
}

// Where to connect and what to call it.
struct Target {
  std::string url;       // as given (may hold a password: never shown)
  std::string describe;  // postgresql://user@host:port/db
};

Result<Target> ParseTarget(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (!opts) {
    std::string msg = err ? OneLine(err) : "out of memory";
    if (err) PQfreemem(err);
    // libpq may quote the bad part, which could be the password.
    if (url.find('@') != std::string::npos || url.find("password") != std::string::npos) {
      msg = "libpq cannot parse it";
    }
    return Status::InvalidArgument("invalid PostgreSQL connection string: " + msg);
  }
  auto get = [&](std::string_view key) -> std::string {
    for (PQconninfoOption* o = opts; o->keyword; ++o) {
      if (key == o->keyword && o->val) return o->val;
    }
    return {};
  };
  std::string host = get("host");
  if (host.empty()) host = get("hostaddr");
  std::string encoded_host;
  for (char c : host) {
    if (c == '/') {
      encoded_host += "%2F";
    } else {
      encoded_host += c;
    }
  }
  std::string describe = "postgresql://";
  if (const std::string user = get("user"); !user.empty()) describe += user + "@";
  describe += encoded_host;
  if (const std::string port = get("port"); !port.empty()) describe += ":" + port;
  describe += "/" + get("dbname");
  PQconninfoFree(opts);
  return Target{url, std::move(describe)};
}

// Runs a PostgreSQL client program (pg_dump, pg_restore) with `args`, the
// connection parameters of `target` in its environment (PGHOST, PGUSER,
// PGPASSWORD, ...: libpq's own names for them), so a password never reaches
// a command line that `ps` shows. kUnavailable with the program's last
// error line when it fails.
Status RunPgTool(const std::string& program, const Target& target,
                 const std::vector<std::string>& args) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(target.url.c_str(), &err);
  if (!opts) {
    if (err) PQfreemem(err);
    return Status::InvalidArgument("invalid PostgreSQL connection string");
  }
  // The URL's parameters replace the caller's PG* variables of the same name;
  // the others (PGPASSWORD, PGPASSFILE, ...) pass through.
  std::vector<std::string> env;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (o->val && *o->val && o->envvar) env.push_back(std::string(o->envvar) + "=" + o->val);
  }
  PQconninfoFree(opts);
  const size_t ours = env.size();
  for (char** e = environ; *e; ++e) {
    const std::string_view var(*e);
    const std::string_view name = var.substr(0, var.find('='));
    bool replaced = false;
    for (size_t i = 0; i < ours; ++i) {
      if (std::string_view(env[i]).substr(0, name.size() + 1) == std::string(name) + "=") {
        replaced = true;
      }
    }
    if (!replaced) env.emplace_back(var);
  }
  std::vector<std::string> argv_s = {program};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return Status::Unavailable("cannot make a pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, program.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipefd[1]);
  for (auto& e : env) std::fill(e.begin(), e.end(), '\0');
  if (rc != 0) {
    ::close(pipefd[0]);
    return Status::Unavailable("cannot run " + program + ": " + std::strerror(rc) +
                               " (install postgresql-client)");
  }
  std::string errors;
  char buf[4096];
  for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (errors.size() < 65536) errors.append(buf, static_cast<size_t>(n));
  }
  ::close(pipefd[0]);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) return Status::Ok();
  while (!errors.empty() && errors.back() == '\n') errors.pop_back();
  const size_t nl = errors.rfind('\n');
  const std::string last = nl == std::string::npos ? errors : errors.substr(nl + 1);
  return Status::Unavailable(program + " failed for " + target.describe + ": " + OneLine(last));
}

class PgConnection final : public internal::Connection {
 public:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  ~PgConnection() override { PQfinish(conn_); }
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  static Result<std::unique_ptr<PgConnection>> Open(const Target& target) {
    // Keywords before dbname are defaults the URL may override; after it, fixed.
    const char* const keys[] = {"application_name", "connect_timeout", "dbname", "client_encoding",
                                nullptr};
    const char* const values[] = {"switchboard", "10", target.url.c_str(), "UTF8", nullptr};
    auto conn = std::make_unique<PgConnection>(PQconnectdbParams(keys, values, 1));
    if (!conn->conn_) return Status::ResourceExhausted("libpq could not allocate a connection");
    if (PQstatus(conn->conn_) != CONNECTION_OK) {
      return Status::Unavailable("cannot connect to " + target.describe + ": " +
                                 OneLine(PQerrorMessage(conn->conn_)));
    }
    PQsetNoticeReceiver(conn->conn_, &OnNotice, nullptr);
    SB_RETURN_IF_ERROR(conn->SetUpSession());
    return conn;
  }

  Dialect dialect() const override { return Dialect::kPostgres; }
  using Connection::Exec;
  using Connection::Query;

  Result<std::int64_t> Exec(std::string_view sql, Params params) override {
    BeforeStatement(sql);
    BufferInFlight();
    SB_RETURN_IF_ERROR(bound_.Bind(params));
    SB_ASSIGN_OR_RETURN(const std::string* name, Prepare(sql));
    std::string text;
    if (!name) text.assign(sql);
    ResultPtr res(name ? PQexecPrepared(conn_, name->c_str(), bound_.count(), bound_.values(),
                                        bound_.lengths(), bound_.formats(), 0)
                       : PQexecParams(conn_, text.c_str(), bound_.count(), bound_.types(),
                                      bound_.values(), bound_.lengths(), bound_.formats(), 0));
    const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      return FromResult(conn_, res.get(), "statement failed");
    }
    const char* tuples = PQcmdTuples(res.get());
    std::int64_t changed = 0;
    std::from_chars(tuples, tuples + std::strlen(tuples), changed);
    return changed;
  }

  Status Query(std::string_view sql, Params params, const RowFn& fn) override {
    BeforeStatement(sql);
    BufferInFlight();
    SB_RETURN_IF_ERROR(bound_.Bind(params));
    SB_ASSIGN_OR_RETURN(const std::string* name, Prepare(sql));
    std::string text;
    if (!name) text.assign(sql);
    const int sent =
        name ? PQsendQueryPrepared(conn_, name->c_str(), bound_.count(), bound_.values(),
                                   bound_.lengths(), bound_.formats(), 0)
             : PQsendQueryParams(conn_, text.c_str(), bound_.count(), bound_.types(),
                                 bound_.values(), bound_.lengths(), bound_.formats(), 0);
    if (!sent) return FromResult(conn_, nullptr, "query failed");
    PQsetSingleRowMode(conn_);  // if refused, rows arrive in one result; both are handled
    InFlight mine;
    in_flight_ = &mine;
    // Read every result, even after `fn` stops or an error: the connection is
    // only reusable once the query is drained.
    Status status;
    bool stopped = false;
    PgRow row;  // one per call: `fn` may run statements of its own
    for (;;) {
      ResultPtr res;
      if (!mine.buffered.empty()) {
        res = std::move(mine.buffered.front());
        mine.buffered.pop_front();
      } else if (in_flight_ == &mine) {
        res.reset(PQgetResult(conn_));
        if (!res) in_flight_ = nullptr;
      }
      if (!res) break;
      switch (PQresultStatus(res.get())) {
        case PGRES_SINGLE_TUPLE:
        case PGRES_TUPLES_OK:
          for (int r = 0; r < PQntuples(res.get()) && !stopped && status.ok(); ++r) {
            row.Reset(res.get(), r);
            if (!fn(row)) stopped = true;
          }
          break;
        case PGRES_COMMAND_OK:
          break;
        default:
          if (status.ok()) status = FromResult(conn_, res.get(), "query failed");
          break;
      }
    }
    if (status.ok() && PQstatus(conn_) == CONNECTION_BAD) {
      status = FromResult(conn_, nullptr, "query failed");
    }
    return status;
  }

  Status Begin() override { return BeginWith("BEGIN"); }
  Status BeginReadOnly() { return BeginWith("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); }

  Status Commit() override {
    if (PQtransactionStatus(conn_) == PQTRANS_INERROR) {
      // COMMIT would quietly roll back; say so instead.
      Rollback().IgnoreError();
      return Status::Aborted(
          "commit failed: a statement failed earlier in the transaction, which was rolled back");
    }
    return Exec("COMMIT").status();
  }

  Status Rollback() override {
    ForgetMemos();
    if (PQtransactionStatus(conn_) == PQTRANS_IDLE) return Status::Ok();
    return Exec("ROLLBACK").status();
  }

  bool TransactionBroken() const override { return PQtransactionStatus(conn_) != PQTRANS_INTRANS; }

  // True when the connection can go back to a pool: connected, no transaction open.
  bool Reusable() const {
    return PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
  }

 private:
  // The results of a query whose callback is running (and may itself run
  // statements, which need the connection).
  struct InFlight {
    std::deque<ResultPtr> buffered;  // read off the connection, not yet handed out
  };

  // Before a statement inside a query's callback: moves the rest of that
  // query's results off the connection into its buffer.
  void BufferInFlight() {
    if (!in_flight_) return;
    while (PGresult* res = PQgetResult(conn_)) in_flight_->buffered.emplace_back(res);
    in_flight_ = nullptr;
  }

  Status SetUpSession() {
    ResultPtr res(PQexec(conn_, kSessionSetup));
    if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
      return FromResult(conn_, res.get(), "cannot set up the session");
    }
    return Status::Ok();
  }

  // Starts a transaction, first reconnecting a connection the server dropped
  // (safe: nothing is in flight between transactions).
  Status BeginWith(const char* sql) {
    for (int attempt = 0;; ++attempt) {
      if (PQstatus(conn_) != CONNECTION_OK) {
        PQreset(conn_);
        prepared_.clear();
        if (PQstatus(conn_) != CONNECTION_OK) return FromResult(conn_, nullptr, "reconnecting");
        SB_RETURN_IF_ERROR(SetUpSession());
      }
      Status st = Exec(sql).status();
      if (st.ok() || attempt > 0 || PQstatus(conn_) == CONNECTION_OK) return st;
    }
  }

  // Returns the name of a prepared statement for `sql` with the bound
  // parameter types, preparing it on first use; null to run it unnamed.
  Result<const std::string*> Prepare(std::string_view sql) {
    if (!WorthPreparing(sql, bound_)) return static_cast<const std::string*>(nullptr);
    key_.assign(bound_.signature());
    key_ += ':';
    key_ += sql;
    auto it = prepared_.find(key_);
    if (it != prepared_.end()) return &it->second;
    if (prepared_.size() >= kMaxPrepared) return static_cast<const std::string*>(nullptr);
    std::string name = "s" + std::to_string(++statements_);
    const std::string text(sql);
    ResultPtr res(PQprepare(conn_, name.c_str(), text.c_str(), bound_.count(), bound_.types()));
    if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
      return FromResult(conn_, res.get(), "cannot prepare statement");
    }
    return &prepared_.emplace(key_, std::move(name)).first->second;
  }

  PGconn* conn_;
  BoundParams bound_;
  InFlight* in_flight_ = nullptr;  // the query whose results are still on the wire
  std::string key_;
  std::unordered_map<std::string, std::string> prepared_;  // signature:sql -> name
  std::uint64_t statements_ = 0;
};

class PgStore final : public Store {
 public:
  PgStore(Target target, StoreOptions options, std::unique_ptr<PgConnection> writer,
          std::unique_ptr<PgConnection> direct)
      : target_(std::move(target)),
        options_(options),
        writer_(std::move(writer), options.max_group),
        direct_(std::move(direct)) {}

  Dialect dialect() const override { return Dialect::kPostgres; }
  std::string Describe() const override { return target_.describe; }

  Status Read(const TxFn& fn) override {
    std::unique_ptr<PgConnection> conn;
    {
      MutexLock lock(pool_mu_);
      if (!pool_.empty()) {
        conn = std::move(pool_.back());
        pool_.pop_back();
      }
    }
    if (!conn) {
      SB_ASSIGN_OR_RETURN(conn, PgConnection::Open(target_));
    }
    Status st = conn->BeginReadOnly();
    if (st.ok()) {
      st = fn(*conn);
      Status end = conn->Rollback();  // read-only: nothing to keep
      if (st.ok()) st = end;
    }
    if (conn->Reusable()) {
      MutexLock lock(pool_mu_);
      if (static_cast<int>(pool_.size()) < options_.readers) pool_.push_back(std::move(conn));
    }
    return st;
  }

  Status Write(TxFn fn) override { return writer_.Write(std::move(fn)); }
  std::future<Status> WriteAsync(TxFn fn) override { return writer_.Submit(std::move(fn)); }
  void WriteThen(TxFn fn, std::function<void(Status)> then) override {
    writer_.Then(std::move(fn), std::move(then));
  }

  Status WriteNow(const TxFn& fn) override {
    MutexLock lock(direct_mu_);
    SB_RETURN_IF_ERROR(direct_->Begin());
    Status st = fn(*direct_);
    if (!st.ok()) {
      direct_->Rollback().IgnoreError();
      return st;
    }
    st = direct_->Commit();
    if (!st.ok()) direct_->Rollback().IgnoreError();
    return st;
  }

  Result<int> SchemaVersion() override {
    int v = 0;
    SB_RETURN_IF_ERROR(Read([&](Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(v, ReadSchemaVersion(tx));
      return Status::Ok();
    }));
    return v;
  }

  StoreStats stats() const override { return writer_.stats(); }

  // pg_dump takes one snapshot (a repeatable-read transaction), so the
  // archive is consistent while writers carry on.
  Status BackupTo(const std::string& dest) override {
    const int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      const int err = errno;
      if (err == EEXIST) return Status::AlreadyExists(dest + " already exists");
      return Status::Unavailable("cannot create " + dest + ": " + std::strerror(err));
    }
    ::close(fd);
    Status st =
        RunPgTool("pg_dump", target_, {"--format=custom", "--no-password", "--file=" + dest});
    if (st.ok()) {
      const int out = ::open(dest.c_str(), O_RDONLY | O_CLOEXEC);
      if (out < 0 || ::fsync(out) != 0) st = Status::Unavailable("cannot sync " + dest);
      if (out >= 0) ::close(out);
    }
    if (!st.ok()) ::unlink(dest.c_str());
    return st;
  }

 private:
  const Target target_;
  const StoreOptions options_;
  internal::GroupCommitWriter writer_;
  Mutex direct_mu_;
  std::unique_ptr<PgConnection> direct_ SB_GUARDED_BY(direct_mu_);
  Mutex pool_mu_;
  std::vector<std::unique_ptr<PgConnection>> pool_ SB_GUARDED_BY(pool_mu_);
};

}  // namespace

Status RestorePostgresArchive(const std::string& url, const std::string& archive) {
  SB_ASSIGN_OR_RETURN(Target target, ParseTarget(url));
  {
    SB_ASSIGN_OR_RETURN(auto conn, PgConnection::Open(target));
    std::int64_t relations = 0;
    SB_RETURN_IF_ERROR(conn->Query(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
        "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')",
        {}, [&](const Row& r) {
          relations = r.Int(0);
          return false;
        }));
    if (relations != 0) {
      return Status::AlreadyExists(target.describe + " is not empty (" + std::to_string(relations) +
                                   " relations); restore only into a new, empty database");
    }
  }
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (!opts) {
    if (err) PQfreemem(err);
    return Status::InvalidArgument("invalid PostgreSQL connection string");
  }
  std::string dbname;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (std::string_view(o->keyword) == "dbname" && o->val) dbname = o->val;
  }
  PQconninfoFree(opts);
  if (dbname.empty()) return Status::InvalidArgument("the store URL names no database");
  return RunPgTool("pg_restore", target,
                   {"--exit-on-error", "--single-transaction", "--no-owner", "--no-privileges",
                    "--no-password", "--dbname=" + dbname, archive});
}

Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& url,
                                                 const StoreOptions& options) {
  SB_ASSIGN_OR_RETURN(Target target, ParseTarget(url));
  SB_ASSIGN_OR_RETURN(auto direct, PgConnection::Open(target));
  if (options.migrate) {
    auto v = Migrate(*direct, options.migrations);
    if (!v) return v.error().WithContext("migrating " + target.describe);
  }
  SB_ASSIGN_OR_RETURN(auto writer, PgConnection::Open(target));
  return std::unique_ptr<Store>(
      new PgStore(std::move(target), options, std::move(writer), std::move(direct)));
}

}  // namespace switchboard::store
