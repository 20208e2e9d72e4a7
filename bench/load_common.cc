#include "load_common.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "access/credentials/password.h"
#include "access/store/access_store.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/config.h"
#include "members/generate.h"
#include "server/app.h"
#include "server/demo.h"

extern char** environ;

namespace switchboard::bench {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
const char* tool_name = "bench";
}  // namespace

void SetToolName(const char* name) { tool_name = name; }

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", tool_name, what.c_str());
  std::exit(1);
}

void Check(const Status& st, const std::string& what) {
  if (!st.ok()) Die(what + ": " + st.ToString());
}

// ---- options -------------------------------------------------------------------

void ParseLoadArgs(int argc, char** argv, LoadOptions& o, const MoreOptions& more) {
  if (argc < 2) {
    Die(std::string("usage: ") + tool_name +
        " prepare|run --dir DIR --bin SWITCHBOARD [options]; see the file");
  }
  o.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      const size_t eq = a.find('=');
      if (eq != std::string::npos) return a.substr(eq + 1);
      if (i + 1 >= argc) Die("missing value for " + a);
      return argv[++i];
    };
    const std::string key = a.substr(0, a.find('='));
    if (key == "--dir") {
      o.dir = value();
    } else if (key == "--bin") {
      o.bin = value();
    } else if (key == "--members") {
      o.members = std::stoull(value());
    } else if (key == "--callers") {
      o.callers = std::stoi(value());
    } else if (key == "--rate") {
      o.rate = std::stod(value());
    } else if (key == "--seconds") {
      o.seconds = std::stod(value());
    } else if (key == "--warmup") {
      o.warmup = std::stod(value());
    } else if (key == "--store") {
      o.store = value();
    } else if (!more(key, value)) {
      Die("unknown option " + a);
    }
  }
  if (o.dir.empty()) Die("--dir is required");
  if (o.mode != "prepare" && o.mode != "run") Die("mode is prepare or run");
  o.bin = fs::absolute(o.bin).string();
}

// ---- processes -----------------------------------------------------------------

pid_t Spawn(const std::vector<std::string>& args, const std::string& stdout_path,
            const std::string& stderr_path, int stdout_fd) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (stdout_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, stdout_fd, 1);
  } else if (!stdout_path.empty()) {
    posix_spawn_file_actions_addopen(&fa, 1, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
  }
  if (!stderr_path.empty()) {
    posix_spawn_file_actions_addopen(&fa, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
  }
  pid_t pid = 0;
  if (posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
    Die("cannot start " + args[0]);
  }
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

int Wait(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int RunCommand(const std::vector<std::string>& args, const std::string& stdout_path) {
  return Wait(Spawn(args, stdout_path, ""));
}

Server::Server(const std::string& bin, const std::string& data_dir, const std::string& log_path) {
  int out[2];
  // Close-on-exec: only the server's stdout (a dup) holds the write end.
  if (pipe2(out, O_CLOEXEC) != 0) Die("pipe");
  pid_ = Spawn({bin, "serve", "--data-dir", data_dir, "--port", "0"}, "", log_path, out[1]);
  close(out[1]);
  std::string line;
  char c;
  while (read(out[0], &c, 1) == 1) {
    if (c != '\n') {
      line += c;
      continue;
    }
    const size_t at = line.find("serving on http://127.0.0.1:");
    if (at != std::string::npos) {
      port_ = std::stoi(line.substr(at + 28));
      break;
    }
    line.clear();
  }
  out_fd_ = out[0];
  if (port_ == 0) Die("the server did not start; see " + log_path);
}

Server::~Server() {
  if (pid_ > 0) (void)Stop();
  if (out_fd_ >= 0) close(out_fd_);
}

int Server::Stop() {
  kill(pid_, SIGTERM);
  const int rc = Wait(pid_);
  pid_ = -1;
  return rc;
}

// ---- a small synchronous client for set-up ---------------------------------------

SyncClient::SyncClient(int port) : stream_(ioc_) {
  stream_.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
}

std::pair<int, json> SyncClient::Call(http::verb method, const std::string& path, const json& body,
                                      const std::string& token) {
  http::request<http::string_body> req{method, path, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  if (!body.is_null()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body.dump();
  }
  req.prepare_payload();
  http::write(stream_, req);
  http::response<http::string_body> res;
  http::read(stream_, buffer_, res);
  return {res.result_int(), json::parse(res.body(), nullptr, false)};
}

// ---- configuration -------------------------------------------------------------

void SetConfigValue(const std::string& data_dir, const std::string& section,
                    const std::vector<std::pair<std::string, std::string>>& values) {
  const std::string path = data_dir + "/switchboard.toml";
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string toml = ss.str();
  const size_t start = toml.find("\n[" + section + "]\n");
  if (start == std::string::npos) Die("the configuration has no [" + section + "]");
  for (const auto& [key, value] : values) {
    const std::string needle = "\n" + key + " = ";
    const size_t at = toml.find(needle, start);
    const size_t next_section = toml.find("\n[", start + 1);
    if (at == std::string::npos || at > next_section) Die("[" + section + "] has no " + key);
    const size_t eol = toml.find('\n', at + 1);
    toml.replace(at + needle.size(), eol - at - needle.size(), value);
  }
  std::ofstream(path, std::ios::trunc) << toml;
}

void WriteServerConfig(const std::string& data_dir, int threads, int readers) {
  SetConfigValue(data_dir, "server", {{"threads", std::to_string(threads)}});
  SetConfigValue(data_dir, "store", {{"readers", std::to_string(readers)}});
}

// ---- prepare -------------------------------------------------------------------

namespace {

std::string TomlString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

bool IsPostgresUrl(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

// `url` naming database `db` instead of its own.
std::string WithDatabase(const std::string& url, const std::string& db) {
  const size_t authority = url.find("://") + 3;
  const size_t slash = url.find('/', authority);
  const size_t query = url.find('?', authority);
  const std::string rest = query == std::string::npos ? "" : url.substr(query);
  const size_t end = slash == std::string::npos ? std::min(query, url.size()) : slash;
  return url.substr(0, end) + "/" + db + rest;
}

std::string DatabaseOf(const std::string& url) {
  const size_t authority = url.find("://") + 3;
  const size_t slash = url.find('/', authority);
  if (slash == std::string::npos) return "";
  const size_t query = url.find('?', slash);
  return url.substr(slash + 1, query == std::string::npos ? std::string::npos : query - slash - 1);
}

// Runs `sql` outside a transaction (CREATE DATABASE needs that) on the
// server's "postgres" database; Dies on an error.
void AdminSql(const std::string& url, const std::string& sql) {
  PGconn* c = PQconnectdb(WithDatabase(url, "postgres").c_str());
  if (PQstatus(c) != CONNECTION_OK) Die(std::string("postgres: ") + PQerrorMessage(c));
  PGresult* r = PQexec(c, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  const std::string err = PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
  if (!ok) Die(sql + ": " + err);
}

// The campaign's pace, per caller. The API accepts a burst of at most 20 and
// an interval of at least one second (phonebank::Validate): about one new
// contact per second per caller, far below what the benchmarks ask of the
// server. The set-up writes these directly; Next() still counts the
// caller's calls in all three windows on every lease.
phonebank::Pace PaceForBench() { return {1000000, 1, 1000000, 1000000}; }

std::string CallerLogin(const std::string& prefix, int i) {
  char b[16];
  std::snprintf(b, sizeof b, "%04d", i);
  return prefix + b;
}

std::string RandomPassword() {
  std::random_device rd;
  static const char kAlphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
  std::string p;
  for (int i = 0; i < 24; ++i) p += kAlphabet[rd() % (sizeof kAlphabet - 1)];
  return p;
}

Prepared SetUpCampaign(server::App& app, int callers, const TemplateSpec& spec) {
  Prepared p;
  p.password = RandomPassword();
  auto hash = access::HashPassword(p.password);
  if (!hash) Die("hash: " + hash.error().ToString());
  const Micros now = app.clock().Now();
  const members::Unit* root = app.tree().root();
  if (!root) Die("the tree has no root");
  Check(app.store().Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(
        AccountId org,
        access::CreateAccount(tx, {"bench.organiser", "Bench Organiser", MemberId(), false}, now));
    SB_RETURN_IF_ERROR(access::SetPasswordHash(tx, org, *hash));
    access::GrantRequest g{org,
                           "officer",
                           root->id,
                           "benchmark: run the phone bank",
                           now,
                           now + 90 * kMicrosPerDay,
                           "benchmark set-up",
                           "direct",
                           0};
    SB_ASSIGN_OR_RETURN(access::GrantId grant, access::InsertGrant(tx, g, AccountId(), true, now));
    audit::Event e;
    e.at = now;
    e.action = "grant.bench";
    e.decision = "allow";
    e.rule = "bench";
    e.grant_id = grant.value();
    e.on_behalf_of = org.value();
    SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());

    phonebank::Campaign c;
    c.name = spec.campaign_name;
    c.owner = org;
    c.scope = root->id;
    c.purpose = "benchmark: synthetic calls to synthetic members";
    c.script = "Hello, is that {first name}? I'm a volunteer with the local branch.";
    c.survey = spec.survey;
    c.calling_start = 0;
    c.calling_end = 24 * 60;
    c.starts_at = now;
    c.ends_at = now + 28 * kMicrosPerDay;
    SB_RETURN_IF_ERROR(phonebank::Validate(c, app.policy(), app.tree()));
    c.pace = PaceForBench();  // beyond Validate's limits on purpose; see above
    if (spec.recall_minutes >= 0) c.recall_minutes = spec.recall_minutes;
    if (spec.max_passes >= 0) c.max_passes = spec.max_passes;
    SB_ASSIGN_OR_RETURN(c.id, phonebank::InsertCampaign(tx, app.tree(), c, now));
    SB_ASSIGN_OR_RETURN(
        p.targets, phonebank::SetState(tx, app.tree(), c, phonebank::CampaignState::kLive, now));
    SB_ASSIGN_OR_RETURN(phonebank::NewInvite inv,
                        phonebank::CreateInvite(tx, c, org, "benchmark", 0, 10000, now));
    p.invite_token = inv.token;
    p.campaign = c.id.value();
    for (int i = 0; i < callers; ++i) {
      SB_ASSIGN_OR_RETURN(AccountId a, access::CreateAccount(
                                           tx,
                                           {CallerLogin(spec.login_prefix, i),
                                            "Bench Caller " + std::to_string(i), MemberId(), false},
                                           now));
      SB_RETURN_IF_ERROR(access::SetPasswordHash(tx, a, *hash));
    }
    audit::Event ce;
    ce.at = now;
    ce.action = "campaign.bench";
    ce.decision = "allow";
    ce.rule = "bench";
    ce.campaign = c.id.value();
    return audit::AuditLog::Append(tx, ce).status();
  }),
        "campaign set-up");
  return p;
}

// Through the API, on `connections` connections: sign in, join, register and
// verify the sandbox phone. Returns the bearer tokens.
std::vector<std::string> EnrolCallers(int port, const Prepared& p, int callers,
                                      const TemplateSpec& spec) {
  std::vector<std::string> tokens(callers);
  std::atomic<int> next{0};
  std::mutex mu;
  std::string failure;
  auto work = [&] {
    SyncClient cl(port);
    for (int i; (i = next++) < callers;) {
      auto fail = [&](const char* step, const std::pair<int, json>& r) {
        std::lock_guard lock(mu);
        failure = std::string(step) + " for caller " + std::to_string(i) + ": HTTP " +
                  std::to_string(r.first) + " " + r.second.dump();
      };
      auto login = cl.Call(http::verb::post, "/api/v1/session",
                           {{"login", CallerLogin(spec.login_prefix, i)},
                            {"password", p.password},
                            {"client", "api"}});
      if (login.first != 201) return fail("sign-in", login);
      const std::string token = login.second["token"];
      auto join = cl.Call(http::verb::post, "/api/v1/join/" + p.invite_token, nullptr, token);
      if (join.first != 201) return fail("join", join);
      char phone[32];
      std::snprintf(phone, sizeof phone, "07700 900%03d", i);
      auto ep = cl.Call(http::verb::post, "/api/v1/me/endpoint", {{"phone", phone}}, token);
      if (ep.first != 201) return fail("endpoint", ep);
      auto v = cl.Call(http::verb::post, "/api/v1/me/endpoint/verify",
                       {{"code", ep.second["sandbox_code"]}}, token);
      if (v.first != 200) return fail("verify", v);
      tokens[i] = token;
    }
  };
  if (spec.enrol_connections <= 1) {
    work();
  } else {
    std::vector<std::thread> ts;
    for (int t = 0; t < spec.enrol_connections; ++t) ts.emplace_back(work);
    for (auto& t : ts) t.join();
  }
  if (!failure.empty()) Die(failure);
  return tokens;
}

}  // namespace

Prepared PrepareTemplate(const LoadOptions& o, const TemplateSpec& spec) {
  const auto t0 = std::chrono::steady_clock::now();
  auto since = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  const std::string tmpl = o.dir + "/template";
  const std::string marker = o.dir + "/" + spec.marker;
  if (fs::exists(o.dir) && !fs::is_empty(o.dir) && !fs::exists(marker)) {
    Die(o.dir + " exists and was not made by " + tool_name + "; refusing to replace it");
  }
  fs::remove_all(o.dir);
  fs::create_directories(o.dir);
  std::ofstream(marker).put('\n');
  SystemClock clock;
  auto init = server::InitDataDir({tmpl, o.store, ""}, clock);
  if (!init) Die("init: " + init.error().ToString());
  if (!o.store.empty()) SetConfigValue(tmpl, "store", {{"url", TomlString(o.store)}});
  std::ofstream(tmpl + "/policy.toml", std::ios::trunc) << server::DemoPolicyToml();
  WriteServerConfig(tmpl, spec.threads, spec.readers);
  Prepared p;
  {
    auto app = server::App::Open(tmpl, "");
    if (!app) Die("open: " + app.error().ToString());
    members::GenerateOptions g;
    g.count = o.members;
    g.seed = 42;
    auto gen =
        members::GenerateMembers((*app)->store(), (*app)->tree(), (*app)->sealer(), g, clock);
    if (!gen) Die("generate: " + gen.error().ToString());
    Check((*app)->ReloadTree(), "reload tree");
    if (spec.progress) {
      std::fprintf(stderr, "prepare: %llu members generated (%.1f s)\n",
                   static_cast<unsigned long long>(gen->members), since());
    }
    p = SetUpCampaign(**app, o.callers, spec);
    if (spec.progress) {
      std::fprintf(stderr, "prepare: campaign %lld live with %lld targets, %d accounts (%.1f s)\n",
                   static_cast<long long>(p.campaign), static_cast<long long>(p.targets), o.callers,
                   since());
    }
  }
  std::vector<std::string> tokens;
  {
    Server server(o.bin, tmpl, o.dir + "/prepare-server.log");
    tokens = EnrolCallers(server.port(), p, o.callers, spec);
    if (int rc = server.Stop(); rc != 0) Die("the server exited with " + std::to_string(rc));
  }
  std::ofstream f(o.dir + "/tokens.txt", std::ios::trunc);
  fs::permissions(o.dir + "/tokens.txt", fs::perms::owner_read | fs::perms::owner_write);
  f << p.campaign << "\n";
  for (const auto& t : tokens) f << t << "\n";
  if (spec.progress) {
    std::fprintf(stderr,
                 "prepare: %d callers signed in, joined and verified a sandbox phone through the "
                 "API (%.1f s)\n",
                 o.callers, since());
  }
  return p;
}

// ---- run -----------------------------------------------------------------------

RunStart StartRun(const LoadOptions& o) {
  RunStart r = ReadTokens(o);
  r.run_dir = o.dir + "/run";
  fs::remove_all(r.run_dir);
  if (RunCommand({"/bin/cp", "-a", o.dir + "/template", r.run_dir}) != 0) Die("copy");
  auto config = LoadConfig(r.run_dir + "/switchboard.toml");
  if (!config) Die("config: " + config.error().ToString());
  if (IsPostgresUrl(config->store.url)) {
    const std::string db = DatabaseOf(config->store.url);
    if (db.empty()) Die("the template's store URL names no database");
    const std::string run = WithDatabase(config->store.url, db + "_run");
    AdminSql(run, "DROP DATABASE IF EXISTS " + db + "_run");
    AdminSql(run, "CREATE DATABASE " + db + "_run TEMPLATE " + db);
    SetConfigValue(r.run_dir, "store", {{"url", TomlString(run)}});
  }
  return r;
}

RunStart ReadTokens(const LoadOptions& o) {
  RunStart r;
  std::ifstream tf(o.dir + "/tokens.txt");
  if (!tf) Die("no " + o.dir + "/tokens.txt: run `prepare` first");
  tf >> r.campaign;
  for (std::string t; tf >> t && static_cast<int>(r.tokens.size()) < o.callers;) {
    r.tokens.push_back(t);
  }
  if (static_cast<int>(r.tokens.size()) < o.callers) Die("tokens.txt holds fewer callers");

  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  return r;
}

void EndRun(const std::string& run_dir) {
  auto config = LoadConfig(run_dir + "/switchboard.toml");
  if (config && IsPostgresUrl(config->store.url)) {
    AdminSql(config->store.url, "DROP DATABASE IF EXISTS " + DatabaseOf(config->store.url));
  }
  fs::remove_all(run_dir);
}

std::string PostRequest(const std::string& path, const std::string& token,
                        const std::string& body) {
  std::string r =
      "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token + "\r\n";
  if (!body.empty()) r += "Content-Type: application/json\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return r;
}

std::int64_t FindId(const std::string& body) {
  const size_t at = body.find("\"id\":");
  if (at == std::string::npos) return -1;
  return std::strtoll(body.c_str() + at + 5, nullptr, 10);
}

Recorded ReadRecorded(const LoadOptions& o, const std::string& data_dir, std::int64_t campaign,
                      bool count_active) {
  Recorded r;
  auto app = server::App::Open(data_dir, "");
  if (!app) Die("reopen: " + app.error().ToString());
  Check((*app)->store().Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(r.outcomes, tx.QueryInt("SELECT COUNT(*) FROM calls WHERE campaign_id = "
                                                "$1 AND outcome IS NOT NULL",
                                                {campaign}));
    if (count_active) {
      SB_ASSIGN_OR_RETURN(r.active, tx.QueryInt("SELECT COUNT(*) FROM calls WHERE state IN "
                                                "('calling_you', 'calling_member', 'connected')",
                                                {}));
    }
    return tx.Query(
        "SELECT action, COUNT(*) FROM audit_events WHERE campaign = $1 AND decision = 'allow' "
        "GROUP BY action",
        {campaign}, [&](const store::Row& row) {
          r.events[std::string(row.Text(0))] = row.Int(1);
          return true;
        });
  }),
        "checks");
  app->reset();
  r.audit_verify_exit = RunCommand({o.bin, "audit", "verify", "--data-dir", data_dir, "--json"},
                                   o.dir + "/audit-verify.json");
  return r;
}

// ---- the machine ---------------------------------------------------------------

double LoadAverage() {
  double l = -1;
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = -1;
    std::fclose(f);
  }
  return l;
}

double ProcessCpuSeconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(s.substr(close + 2));
  std::string field;
  double ut = 0, st = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) ut = std::stod(field);
    if (i == 15) st = std::stod(field);
  }
  return (ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double MachineBusySeconds() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  double v[8] = {};
  f >> cpu;
  for (double& x : v) f >> x;
  const double busy =
      v[0] + v[1] + v[2] + v[5] + v[6] + v[7];  // user nice system irq softirq steal
  return busy / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double PeakRssMiB(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

}  // namespace switchboard::bench
