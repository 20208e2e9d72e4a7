// P7 and P8: resident memory and time to ready of `switchboard serve` over a
// large register, on SQLite or PostgreSQL.
//
//   scale_bench --dir D --bin SWITCHBOARD --csv MEMBERS.csv --members N
//               [--backend sqlite|postgres] [--starts 5] [--warm 300]
//               [--callers 8] [--threads 2] [--source import|generate] [--cold]
//
// Prepare (not measured; kept in D/template for SQLite and reused while
// D/.scale-bench says the same N, schema, backend and source): `init`,
// `import members` of the CSV (bench/make_members_csv.py) or, with --source
// generate, `generate members` (which also plants a canary per
// constituency), the demo's policy, an organiser (officer over the whole
// organisation), a staff member (who searches), a live campaign over the
// whole organisation, a live one over a region, a draft one, callers who
// join the first through the API with a verified sandbox phone, and an
// e-mail to a region approved and sent, so its recipients sit in the outbox.
// PostgreSQL runs in a throwaway cluster (store/testing/pg_cluster.h) and is
// prepared on every run.
//
// Then `serve` is started --starts times on the same data, with [server]
// threads = --threads. For each start: the time from exec to the listener
// accepting a TCP connection and to `/readyz` answering 200 (polled every
// 0.5 ms); VmRSS, VmHWM, RssAnon and RssFile from /proc at ready and again
// after a warm-up of --warm API requests (see Warm); the exit code after
// SIGTERM. The mail relay is set to a loopback port where nothing listens,
// so the outbox starts and finds its relay down while the mailing waits.
// --cold drops the page cache before each start (root only). Prints one
// JSON object: the per-start samples and their medians; exits 1 when a
// warm-up request failed or a start did not exit cleanly.
// clang-format off
#include <utility>  // first: Asio 1.74 uses std::exchange without including it
// clang-format on
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "access/credentials/password.h"
#include "access/store/access_store.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "load_common.h"
#include "phonebank/phonebank.h"
#include "schema/migrations.h"
#include "server/app.h"
#include "server/demo.h"
#include "store/testing/pg_cluster.h"

namespace switchboard::bench {
namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

struct Options {
  std::string dir;
  std::string bin;
  std::string csv;
  std::string backend = "sqlite";
  std::string source = "import";  // or generate (switchboard generate members)
  std::uint64_t members = 0;
  int starts = 5;
  int warm = 300;
  int callers = 8;
  int threads = 2;  // [server] threads: the default configuration's
  bool cold = false;
};

constexpr char kRegion[] = "REGION-NORTH-EAST";
constexpr char kConstituency[] = "E14000530";

std::string Login(const std::string& prefix, int i) {
  char b[16];
  std::snprintf(b, sizeof b, "%04d", i);
  return prefix + b;
}

// ---- prepare -------------------------------------------------------------------

struct Setup {
  std::int64_t campaign = 0;  // the live one over the whole organisation
  std::int64_t targets = 0;
  std::string invite;
  std::string password;
  std::int64_t import_rows = 0;
  double import_seconds = 0;
};

Setup SetUpInProcess(server::App& app, int callers) {
  Setup s;
  s.password = "scale-bench-password-" + std::to_string(::getpid());
  auto hash = access::HashPassword(s.password);
  if (!hash) Die("hash: " + hash.error().ToString());
  const Micros now = app.clock().Now();
  const members::Unit* root = app.tree().root();
  const members::Unit* region = app.tree().FindByCode(kRegion);
  const members::Unit* seat = app.tree().FindByCode(kConstituency);
  if (!root || !region || !seat)
    Die("the tree lacks the root, " + std::string(kRegion) + " or " + kConstituency);
  Check(app.store().Write([&](store::Tx& tx) -> Status {
    auto account = [&](const std::string& login, const std::string& name,
                       const char* role) -> Result<AccountId> {
      SB_ASSIGN_OR_RETURN(AccountId a,
                          access::CreateAccount(tx, {login, name, MemberId(), false}, now));
      SB_RETURN_IF_ERROR(access::SetPasswordHash(tx, a, *hash));
      if (role) {
        access::GrantRequest g{a,
                               role,
                               root->id,
                               "benchmark: a large organisation's day",
                               now,
                               now + 90 * kMicrosPerDay,
                               "benchmark set-up",
                               "direct",
                               0};
        SB_ASSIGN_OR_RETURN(access::GrantId id, access::InsertGrant(tx, g, AccountId(), true, now));
        audit::Event e;
        e.at = now;
        e.action = "grant.bench";
        e.decision = "allow";
        e.rule = "bench";
        e.grant_id = id.value();
        e.on_behalf_of = a.value();
        SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
      }
      return a;
    };
    SB_ASSIGN_OR_RETURN(AccountId org, account("scale.organiser", "Scale Organiser", "officer"));
    SB_RETURN_IF_ERROR(account("scale.staff", "Scale Staff", "staff").status());
    auto campaign = [&](const std::string& name, const members::Unit* scope,
                        bool live) -> Result<phonebank::Campaign> {
      phonebank::Campaign c;
      c.name = name;
      c.owner = org;
      c.scope = scope->id;
      c.purpose = "benchmark: synthetic calls to synthetic members";
      c.script = "Hello, is that {first name}? I'm a volunteer with the local branch.";
      c.calling_start = 0;
      c.calling_end = 24 * 60;
      c.starts_at = now;
      c.ends_at = now + 28 * kMicrosPerDay;
      SB_RETURN_IF_ERROR(phonebank::Validate(c, app.policy(), app.tree()));
      c.pace = {1000000, 1, 1000000, 1000000};  // beyond Validate's limits: see load_common.cc
      SB_ASSIGN_OR_RETURN(c.id, phonebank::InsertCampaign(tx, app.tree(), c, now));
      if (live) {
        SB_ASSIGN_OR_RETURN(
            std::int64_t n,
            phonebank::SetState(tx, app.tree(), c, phonebank::CampaignState::kLive, now));
        if (scope == root) s.targets = n;
      }
      return c;
    };
    SB_ASSIGN_OR_RETURN(phonebank::Campaign all, campaign("Everyone: AGM", root, true));
    SB_RETURN_IF_ERROR(campaign("North East: canvass", region, true).status());
    SB_RETURN_IF_ERROR(campaign("Aldershot: draft", seat, false).status());
    SB_ASSIGN_OR_RETURN(phonebank::NewInvite inv,
                        phonebank::CreateInvite(tx, all, org, "benchmark", 0, 10000, now));
    s.invite = inv.token;
    s.campaign = all.id.value();
    for (int i = 0; i < callers; ++i) {
      SB_RETURN_IF_ERROR(
          account(Login("scale.caller.", i), "Scale Caller " + std::to_string(i), nullptr)
              .status());
    }
    return Status::Ok();
  }),
        "set-up");
  return s;
}

std::string SignIn(SyncClient& cl, const std::string& login, const std::string& password) {
  auto r = cl.Call(http::verb::post, "/api/v1/session",
                   {{"login", login}, {"password", password}, {"client", "api"}});
  if (r.first != 201) Die("sign-in of " + login + ": HTTP " + std::to_string(r.first));
  return r.second["token"];
}

// Through the API: callers join and verify a sandbox phone; the organiser
// drafts an e-mail to a region, staff approve it, the organiser sends it.
json SetUpThroughApi(const Options& o, const std::string& tmpl, const Setup& s) {
  Server server(o.bin, tmpl, o.dir + "/prepare-server.log");
  SyncClient cl(server.port());
  for (int i = 0; i < o.callers; ++i) {
    const std::string token = SignIn(cl, Login("scale.caller.", i), s.password);
    auto join = cl.Call(http::verb::post, "/api/v1/join/" + s.invite, nullptr, token);
    if (join.first != 201) Die("join: " + join.second.dump());
    char phone[32];
    std::snprintf(phone, sizeof phone, "07700 900%03d", i);
    auto ep = cl.Call(http::verb::post, "/api/v1/me/endpoint", {{"phone", phone}}, token);
    if (ep.first != 201) Die("endpoint: " + ep.second.dump());
    auto v = cl.Call(http::verb::post, "/api/v1/me/endpoint/verify",
                     {{"code", ep.second["sandbox_code"]}}, token);
    if (v.first != 200) Die("verify: " + v.second.dump());
  }
  const std::string org = SignIn(cl, "scale.organiser", s.password);
  const std::string staff = SignIn(cl, "scale.staff", s.password);
  auto draft = cl.Call(http::verb::post, "/api/v1/messages",
                       {{"scope", kRegion},
                        {"kind", "service"},
                        {"subject", "Your {{unit_name}} branch"},
                        {"text_body", "Hello {{first_name}}, the branch meets on Thursday."}},
                       org);
  if (draft.first != 201) Die("draft: " + draft.second.dump());
  const json msg = draft.second["message"];
  if (msg["requirements"]["second_approval"].get<bool>()) {
    auto ap =
        cl.Call(http::verb::post,
                "/api/v1/messages/" + std::to_string(msg["id"].get<std::int64_t>()) + "/approve",
                {{"version", msg["version"]}}, staff);
    if (ap.first != 200) Die("approve: " + ap.second.dump());
  }
  auto send = cl.Call(http::verb::post,
                      "/api/v1/messages/" + std::to_string(msg["id"].get<std::int64_t>()) + "/send",
                      {{"version", msg["version"]}}, org);
  if (send.first != 202) Die("send: " + send.second.dump());
  if (int rc = server.Stop(); rc != 0) Die("the server exited with " + std::to_string(rc));
  return {{"queued", send.second["queued"]}};
}

// "N members, schema vS, backend": what a cached template must match.
std::string MarkerText(const Options& o) {
  return std::to_string(o.members) + " members, schema v" +
         std::to_string(schema::AllMigrations().back().version) + ", " + o.backend + ", " +
         o.source + "\n";
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

json Prepare(const Options& o, const std::string& store_url) {
  const auto t0 = SteadyClock::now();
  const std::string tmpl = o.dir + "/template";
  const std::string marker = o.dir + "/.scale-bench";
  if (fs::exists(o.dir) && !fs::is_empty(o.dir) && !fs::exists(marker)) {
    Die(o.dir + " exists and was not made by scale_bench; refusing to replace it");
  }
  if (o.backend == "sqlite" && ReadFile(marker) == MarkerText(o) &&
      fs::exists(o.dir + "/prepared.json")) {
    json j = json::parse(ReadFile(o.dir + "/prepared.json"));
    j["cached"] = true;
    return j;
  }
  fs::remove_all(o.dir);
  fs::create_directories(o.dir);
  std::ofstream(marker) << "preparing\n";
  std::vector<std::string> init = {o.bin, "init", "--data-dir", tmpl};
  if (!store_url.empty()) init.insert(init.end(), {"--store", store_url});
  if (RunCommand(init, o.dir + "/init.log") != 0) Die("init failed; see " + o.dir + "/init.log");
  std::ofstream(tmpl + "/policy.toml", std::ios::trunc) << server::DemoPolicyToml();
  if (!store_url.empty()) SetConfigValue(tmpl, "store", {{"url", "\"" + store_url + "\""}});
  Setup s;
  const std::string import_json = o.dir + "/import.json";
  const std::vector<std::string> load =
      o.source == "import"
          ? std::vector<std::string>{o.bin,           "import",
                                     "members",       o.csv,
                                     "--data-dir",    tmpl,
                                     "--unit-column", "constituency",
                                     "--rejects",     o.dir + "/import-rejects.csv",
                                     "--json"}
          : std::vector<std::string>{
                o.bin,        "generate", "members", "--count", std::to_string(o.members),
                "--data-dir", tmpl,       "--json"};
  if (RunCommand(load, import_json) != 0) Die(o.source + " failed; see " + import_json);
  const json imp = json::parse(ReadFile(import_json));
  s.import_seconds = imp.value("seconds", 0.0);
  {
    auto app = server::App::Open(tmpl, "");
    if (!app) Die("open: " + app.error().ToString());
    Check((*app)->store().Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(s.import_rows, tx.QueryInt("SELECT COUNT(*) FROM members", {}));
      return Status::Ok();
    }),
          "count");
    const Setup more = SetUpInProcess(**app, o.callers);
    s.campaign = more.campaign;
    s.targets = more.targets;
    s.invite = more.invite;
    s.password = more.password;
  }
  const json api = SetUpThroughApi(o, tmpl, s);
  std::int64_t audit_events = 0, outbox = 0;
  {
    auto app = server::App::Open(tmpl, "");
    if (!app) Die("reopen: " + app.error().ToString());
    Check((*app)->store().Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(audit_events, tx.QueryInt("SELECT COUNT(*) FROM audit_events", {}));
      SB_ASSIGN_OR_RETURN(outbox, tx.QueryInt("SELECT COUNT(*) FROM outbox", {}));
      return Status::Ok();
    }),
          "counts");
  }
  json j = {{"members", s.import_rows},
            {"import_seconds", s.import_seconds},
            {"campaign", s.campaign},
            {"targets", s.targets},
            {"email_queued", api["queued"]},
            {"outbox_rows", outbox},
            {"audit_events", audit_events},
            {"password", s.password},
            {"prepare_seconds", std::chrono::duration<double>(SteadyClock::now() - t0).count()},
            {"cached", false}};
  std::ofstream(o.dir + "/prepared.json", std::ios::trunc) << j.dump() << "\n";
  fs::permissions(o.dir + "/prepared.json", fs::perms::owner_read | fs::perms::owner_write);
  std::ofstream(marker, std::ios::trunc) << MarkerText(o);
  return j;
}

// ---- measure -------------------------------------------------------------------

int FreeTcpPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    Die("no free port");
  }
  close(fd);
  return ntohs(a.sin_port);
}

// A connected socket to 127.0.0.1:port, or -1 when nothing accepts yet.
int TryConnect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// GET /readyz on its own connection: the status code, 0 on a failure.
int ReadyzStatus(int port) {
  const int fd = TryConnect(port);
  if (fd < 0) return 0;
  const std::string req = "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return 0;
  }
  char buf[512];
  std::string got;
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) got.append(buf, static_cast<size_t>(n));
  close(fd);
  if (got.rfind("HTTP/1.1 ", 0) != 0 || got.size() < 12) return 0;
  return std::atoi(got.c_str() + 9);
}

// VmRSS, VmHWM, RssAnon and RssFile of a process, in MiB.
struct Memory {
  double rss = 0, hwm = 0, anon = 0, file = 0;
};

Memory ReadMemory(pid_t pid) {
  Memory m;
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);) {
    auto take = [&](const char* key, double& out) {
      if (line.rfind(key, 0) == 0) out = std::stod(line.substr(std::strlen(key))) / 1024.0;
    };
    take("VmRSS:", m.rss);
    take("VmHWM:", m.hwm);
    take("RssAnon:", m.anon);
    take("RssFile:", m.file);
  }
  return m;
}

bool Exited(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == pid;
}

double Ms(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct WarmResult {
  int requests = 0;
  int errors = 0;  // a status no caller could have had, or a dropped connection
  double seconds = 0;
  json route_ms;  // the median latency of each kind of request, in ms
};

// The warm-up: the organiser and the callers sign in; then each caller, on
// a connection of its own and all at once, does rounds of: its next (and
// connect and outcome when a member was leased) and a member search in a
// constituency by the staff member; every fourth round an audience count over
// a region (every sixteenth over the whole organisation). At the end the
// campaign's progress, once. Concurrent like a busy evening: each HTTP
// worker reads through its own SQLite connection and page cache.
WarmResult Warm(const Options& o, int port, const json& prepared) {
  WarmResult w;
  const auto t0 = SteadyClock::now();
  std::mutex mu;
  std::map<std::string, std::vector<double>> ms;
  std::atomic<int> requests{0};
  auto call = [&](std::unique_ptr<SyncClient>& cl, const char* kind, http::verb v,
                  const std::string& path, const json& body, const std::string& tok,
                  std::initializer_list<int> fine) {
    ++requests;
    const auto at = SteadyClock::now();
    std::pair<int, json> r{0, json()};
    // A kept connection the server closed while idle is opened again once;
    // a request the server drops (over its timeout) is an error.
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool kept = cl != nullptr;
      try {
        if (!cl) cl = std::make_unique<SyncClient>(port);
        r = cl->Call(v, path, body, tok);
        break;
      } catch (const std::exception& e) {
        cl.reset();
        if (kept && attempt == 0 && Ms(at, SteadyClock::now()) < 100) continue;
        std::fprintf(stderr, "scale_bench: %s %s: %s\n", kind, path.c_str(), e.what());
        break;
      }
    }
    std::lock_guard lock(mu);
    ms[kind].push_back(Ms(at, SteadyClock::now()));
    if (std::find(fine.begin(), fine.end(), r.first) == fine.end()) ++w.errors;
    return r;
  };
  const std::string password = prepared["password"];
  std::unique_ptr<SyncClient> main_cl;
  auto sign_in = [&](const std::string& login) -> std::string {
    auto r = call(main_cl, "sign_in", http::verb::post, "/api/v1/session",
                  {{"login", login}, {"password", password}, {"client", "api"}}, "", {201});
    if (r.first != 201) Die("sign-in of " + login + ": HTTP " + std::to_string(r.first));
    return r.second["token"];
  };
  const std::string org_token = sign_in("scale.organiser");
  // Staff search: an officer's searches have a daily quota (the demo policy).
  const std::string staff_token = sign_in("scale.staff");
  std::vector<std::string> callers;
  for (int i = 0; i < o.callers; ++i) callers.push_back(sign_in(Login("scale.caller.", i)));
  const std::string base = "/api/v1/campaigns/" + std::to_string(prepared["campaign"].get<int>());
  const json audience = {{"statuses", {"current"}}, {"consents", {"phone"}}};
  auto rounds = [&](int c) {
    std::unique_ptr<SyncClient> cl;
    const std::string& tok = callers[static_cast<size_t>(c)];
    for (int i = c; requests < o.warm; i += o.callers) {
      auto next =
          call(cl, "next", http::verb::post, base + "/next", nullptr, tok, {200, 204, 409, 429});
      if (next.first == 200) {
        call(cl, "connect", http::verb::post, base + "/connect", nullptr, tok,
             {200, 201, 202, 409});
        call(cl, "outcome", http::verb::post, base + "/outcome", {{"outcome", "no_answer"}}, tok,
             {200, 201, 409});
      }
      if (i % 4 == 0) {
        const bool everyone = i % 16 == 0;
        call(cl, everyone ? "audience_all" : "audience_region", http::verb::post,
             "/api/v1/audience-count",
             {{"scope", everyone ? "UK" : kRegion}, {"audience", audience}}, org_token, {200});
      }
      call(cl, "search", http::verb::get,
           std::string("/api/v1/members?unit=") + kConstituency + "&q=" + (i % 2 ? "smi" : "pat") +
               "&page=" + std::to_string(1 + i % 3),
           nullptr, staff_token, {200});
    }
  };
  std::vector<std::thread> threads;
  for (int c = 0; c < o.callers; ++c) threads.emplace_back(rounds, c);
  for (auto& t : threads) t.join();
  call(main_cl, "progress", http::verb::get, base + "/progress", nullptr, org_token, {200});
  w.requests = requests;
  w.seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  for (auto& [kind, v] : ms) w.route_ms[kind] = Median(v);
  return w;
}

void DropCaches() {
  ::sync();
  std::ofstream f("/proc/sys/vm/drop_caches");
  f << "3\n";
  if (!f) Die("--cold: cannot write /proc/sys/vm/drop_caches (root only)");
}

json MeasureStart(const Options& o, const std::string& data_dir, const json& prepared, int index) {
  // The mailing is mid-send with its relay down (nothing listens on the
  // port): the outbox starts, recovers and tries, as after a restart.
  SetConfigValue(data_dir, "mail",
                 {{"relay", "\"smtp://127.0.0.1:" + std::to_string(FreeTcpPort()) + "\""},
                  {"tls", "\"none\""}});
  if (o.cold) DropCaches();
  const int port = FreeTcpPort();
  const std::string log = o.dir + "/serve-" + std::to_string(index) + ".log";
  const auto t0 = SteadyClock::now();
  const pid_t pid = Spawn({o.bin, "serve", "--data-dir", data_dir, "--port", std::to_string(port)},
                          "/dev/null", log);
  std::optional<SteadyClock::time_point> listening, ready;
  int polls = 0;
  while (!ready) {
    if (Exited(pid)) Die("serve exited before it was ready; see " + log);
    if (!listening) {
      if (int fd = TryConnect(port); fd >= 0) {
        close(fd);
        listening = SteadyClock::now();
      }
    }
    if (listening && ReadyzStatus(port) == 200) ready = SteadyClock::now();
    if (!ready) {
      ++polls;
      usleep(500);
    }
    if (Ms(t0, SteadyClock::now()) > 600000) Die("serve not ready after 10 minutes");
  }
  const Memory at_ready = ReadMemory(pid);
  const WarmResult w = Warm(o, port, prepared);
  const Memory warm = ReadMemory(pid);
  kill(pid, SIGTERM);
  const int rc = Wait(pid);
  return {{"listen_ms", Ms(t0, *listening)},
          {"ready_ms", Ms(t0, *ready)},
          {"polls", polls},
          {"rss_ready_mib", at_ready.rss},
          {"hwm_ready_mib", at_ready.hwm},
          {"anon_ready_mib", at_ready.anon},
          {"file_ready_mib", at_ready.file},
          {"rss_warm_mib", warm.rss},
          {"hwm_warm_mib", warm.hwm},
          {"anon_warm_mib", warm.anon},
          {"file_warm_mib", warm.file},
          {"warm_requests", w.requests},
          {"warm_errors", w.errors},
          {"warm_seconds", w.seconds},
          {"warm_route_ms", w.route_ms},
          {"exit", rc}};
}

std::uint64_t DirBytes(const std::string& dir) {
  std::uint64_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    struct stat st {};
    if (::lstat(e.path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      n += static_cast<std::uint64_t>(st.st_blocks) * 512;
    }
  }
  return n;
}

int Main(int argc, char** argv) {
  SetToolName("scale_bench");
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--dir") {
      o.dir = value();
    } else if (a == "--bin") {
      o.bin = value();
    } else if (a == "--csv") {
      o.csv = value();
    } else if (a == "--backend") {
      o.backend = value();
    } else if (a == "--members") {
      o.members = std::stoull(value());
    } else if (a == "--starts") {
      o.starts = std::stoi(value());
    } else if (a == "--warm") {
      o.warm = std::stoi(value());
    } else if (a == "--callers") {
      o.callers = std::stoi(value());
    } else if (a == "--source") {
      o.source = value();
    } else if (a == "--threads") {
      o.threads = std::stoi(value());
    } else if (a == "--cold") {
      o.cold = true;
    } else {
      Die("unknown option " + a +
          "; usage: scale_bench --dir D --bin SWITCHBOARD --csv FILE --members N "
          "[--backend sqlite|postgres] [--starts 5] [--warm 300] [--callers 8] [--threads 2] "
          "[--cold]");
    }
  }
  if (o.dir.empty() || o.bin.empty() || o.csv.empty() || o.members == 0) {
    Die("--dir, --bin, --csv and --members are required");
  }
  if (o.backend != "sqlite" && o.backend != "postgres") Die("--backend is sqlite or postgres");
  if (o.source != "import" && o.source != "generate") Die("--source is import or generate");
  if (o.starts < 1 || o.callers < 1 || o.warm < 0) Die("bad --starts, --callers or --warm");
  o.bin = fs::absolute(o.bin).string();
  o.csv = fs::absolute(o.csv).string();
  o.dir = fs::absolute(o.dir).string();

  std::unique_ptr<store::testing::PgCluster> pg;
  std::string url;
  if (o.backend == "postgres") {
    auto started = store::testing::PgCluster::Start();
    if (!started) Die("PostgreSQL: " + started.error().ToString());
    pg = std::move(*started);
    url = pg->url();
  }
  const json prepared = Prepare(o, url);
  const std::string data_dir = o.dir + "/template";
  // [server] threads, and so at least as many SQLite readers, each with its
  // own page cache (server::StoreOptionsFor).
  SetConfigValue(data_dir, "server", {{"threads", std::to_string(o.threads)}});
  json starts = json::array();
  for (int i = 0; i < o.starts; ++i) {
    starts.push_back(MeasureStart(o, data_dir, prepared, i));
  }
  json median;
  for (const char* k : {"listen_ms", "ready_ms", "rss_ready_mib", "hwm_ready_mib", "anon_ready_mib",
                        "file_ready_mib", "rss_warm_mib", "hwm_warm_mib", "anon_warm_mib",
                        "file_warm_mib", "warm_seconds"}) {
    std::vector<double> v;
    for (const auto& s : starts) v.push_back(s[k].get<double>());
    median[k] = Median(v);
  }
  int errors = 0, bad_exits = 0;
  for (const auto& s : starts) {
    errors += s["warm_errors"].get<int>();
    bad_exits += s["exit"].get<int>() != 0;
  }
  json prep = prepared;
  prep.erase("password");
  const json out = {
      {"backend", o.backend},
      {"members", o.members},
      {"threads", o.threads},
      {"source", o.source},
      {"cold", o.cold},
      {"prepared", prep},
      {"data_bytes", o.backend == "sqlite" ? DirBytes(data_dir) : DirBytes(pg->dir())},
      {"starts", starts},
      {"median", median},
      {"warm_errors", errors},
      {"bad_exits", bad_exits}};
  std::printf("%s\n", out.dump().c_str());
  return errors == 0 && bad_exits == 0 ? 0 : 1;
}

}  // namespace
}  // namespace switchboard::bench

int main(int argc, char** argv) { return switchboard::bench::Main(argc, argv); }
