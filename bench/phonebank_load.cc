// P3: phone-bank traffic over HTTP on loopback. A load driver for the real
// `switchboard serve`: many concurrent callers, each on its own keep-alive
// connection with its own bearer token, looping next -> connect -> outcome.
// Every request takes the server's ordinary path (session, decision, the
// campaign's join and grant check, the phone bank, the audit event, one
// durable group commit); the driver only measures.
//
//   phonebank_load prepare --dir D --bin build/release/switchboard [--members 200000]
//                          [--callers 1000] [--server-threads 64]
//   phonebank_load run     --dir D --bin build/release/switchboard [--seconds 15]
//                          [--warmup 3] [--rate 0] [--server-threads N] [--readers N]
//
// `prepare` builds D/template once (not measured): `init`, the bench policy
// (the default with calling hours 00:00-24:00, as the demo's), N generated
// members, an organiser holding an officer grant over the whole organisation,
// a live campaign over the whole organisation whose pace is raised beyond
// what the API accepts (see PaceForBench), an invitation, and the caller
// accounts. It then starts the server on the template and, through the HTTP
// API like any client, signs every caller in (bearer tokens, kept in
// D/tokens.txt), joins the campaign through the invitation and registers and
// verifies a sandbox phone (07700 900000-900999). Accounts share one
// Argon2id hash so that set-up does not spend minutes hashing; every sign-in
// still verifies it.
//
// `run` copies the template to D/run, starts `switchboard serve --port 0` on
// it, connects every caller, runs them for warm-up + measured seconds and
// prints one JSON object: requests/s and p50/p99/p999/max latency of all
// requests and per route, the cycle (next sent -> outcome answered), and the
// refusals by route and status. With --rate R the callers together offer R
// requests/s (each on its own fixed schedule) and latency is measured from
// the time a request was due, not when it could be sent (no coordinated
// omission); with --rate 0 (default) every caller sends its next request as
// soon as the previous one is answered (closed loop: the throughput figure).
// After the server has stopped, the run checks that what the callers were
// told was recorded: a call row with an outcome for every outcome answered
// 200, an audit event for every next/connect/outcome answered 2xx, and
// `switchboard audit verify` passing.
// clang-format off
#include <utility>  // first: Asio 1.74 uses std::exchange without including it
// clang-format on
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "access/credentials/password.h"
#include "access/store/access_store.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "members/generate.h"
#include "phonebank/phonebank.h"
#include "server/app.h"
#include "server/demo.h"

extern char** environ;

namespace switchboard::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "phonebank_load: %s\n", what.c_str());
  std::exit(1);
}

void Check(const Status& st, const std::string& what) {
  if (!st.ok()) Die(what + ": " + st.ToString());
}

struct Options {
  std::string mode;
  std::string dir;
  std::string bin = "build/release/switchboard";
  std::uint64_t members = 200000;
  int callers = 1000;
  int server_threads = 0;  // 0: keep the template's (prepare writes 64)
  int readers = 0;         // 0: as many as server threads
  double seconds = 15;
  double warmup = 3;
  double rate = 0;
};

Options ParseArgs(int argc, char** argv) {
  if (argc < 2) {
    Die("usage: phonebank_load prepare|run --dir DIR --bin SWITCHBOARD [options]; see the file");
  }
  Options o;
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
    } else if (key == "--server-threads") {
      o.server_threads = std::stoi(value());
    } else if (key == "--readers") {
      o.readers = std::stoi(value());
    } else if (key == "--seconds") {
      o.seconds = std::stod(value());
    } else if (key == "--warmup") {
      o.warmup = std::stod(value());
    } else if (key == "--rate") {
      o.rate = std::stod(value());
    } else {
      Die("unknown option " + a);
    }
  }
  if (o.dir.empty()) Die("--dir is required");
  if (o.mode != "prepare" && o.mode != "run") Die("mode is prepare or run");
  if (o.callers < 1 || o.callers > 1000) {
    Die("--callers: 1 to 1000 (sandbox phones are 07700 900000-900999)");
  }
  o.bin = fs::absolute(o.bin).string();
  return o;
}

// ---- processes -----------------------------------------------------------------

int RunCommand(const std::vector<std::string>& args, const std::string& stdout_path = "") {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (!stdout_path.empty()) {
    posix_spawn_file_actions_addopen(&fa, 1, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
  }
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
    Die("cannot start " + args[0]);
  }
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// `switchboard serve` on a free loopback port; stderr (the JSON log) goes to
// a file.
class Server {
 public:
  Server(const std::string& bin, const std::string& data_dir, const std::string& log_path) {
    int out[2];
    if (pipe(out) != 0) Die("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    posix_spawn_file_actions_addopen(&fa, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<std::string> args = {bin, "serve", "--data-dir", data_dir, "--port", "0"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
      Die("cannot start the server");
    }
    posix_spawn_file_actions_destroy(&fa);
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
  ~Server() {
    if (pid_ > 0) (void)Stop();
    if (out_fd_ >= 0) close(out_fd_);
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // SIGTERM, then the exit code (0 when it stopped cleanly).
  int Stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int port_ = 0;
};

// ---- a small synchronous client for set-up ---------------------------------------

class SyncClient {
 public:
  explicit SyncClient(int port) : stream_(ioc_) {
    stream_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  std::pair<int, json> Call(http::verb method, const std::string& path, const json& body,
                            const std::string& token = "") {
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

 private:
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

// ---- prepare -------------------------------------------------------------------

// The campaign's pace, per caller. The API accepts a burst of at most 20 and
// an interval of at least one second (phonebank::Validate): about one new
// contact per second per caller, 1,000/s for 1,000 callers, far below what
// P3 asks of the server. The set-up writes these directly; Next() still
// counts the caller's calls in all three windows on every lease.
phonebank::Pace PaceForBench() { return {1000000, 1, 1000000, 1000000}; }

constexpr const char* kLoginPrefix = "bench.caller.";

std::string CallerLogin(int i) {
  char b[32];
  std::snprintf(b, sizeof b, "%s%04d", kLoginPrefix, i);
  return b;
}

std::string RandomPassword() {
  std::random_device rd;
  static const char kAlphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
  std::string p;
  for (int i = 0; i < 24; ++i) p += kAlphabet[rd() % (sizeof kAlphabet - 1)];
  return p;
}

void SetConfigValue(std::string& toml, const std::string& key, const std::string& value) {
  const std::string needle = "\n" + key + " = ";
  const size_t at = toml.find(needle);
  if (at == std::string::npos) Die("the configuration has no " + key);
  const size_t eol = toml.find('\n', at + 1);
  toml.replace(at + needle.size(), eol - at - needle.size(), value);
}

void WriteServerConfig(const std::string& data_dir, int threads, int readers) {
  const std::string path = data_dir + "/switchboard.toml";
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string toml = ss.str();
  SetConfigValue(toml, "threads", std::to_string(threads));
  SetConfigValue(toml, "readers", std::to_string(readers));
  std::ofstream(path, std::ios::trunc) << toml;
}

struct Prepared {
  std::int64_t campaign = 0;
  std::int64_t targets = 0;
  std::string invite_token;
  std::string password;
};

Prepared SetUpCampaign(server::App& app, int callers) {
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
    c.name = "Benchmark check-in";
    c.owner = org;
    c.scope = root->id;
    c.purpose = "benchmark: synthetic calls to synthetic members";
    c.script = "Hello, is that {first name}? I'm a volunteer with the local branch.";
    c.survey = {{"agm", "Will they come to the AGM?", "yesno", {}},
                {"topic",
                 "Which issue matters most to them?",
                 "choice",
                 {"housing", "transport", "health", "other"}},
                {"volunteer", "How keen are they to help out? (1-5)", "scale", {}}};
    c.calling_start = 0;
    c.calling_end = 24 * 60;
    c.starts_at = now;
    c.ends_at = now + 28 * kMicrosPerDay;
    SB_RETURN_IF_ERROR(phonebank::Validate(c, app.policy(), app.tree()));
    c.pace = PaceForBench();  // beyond Validate's limits on purpose; see above
    SB_ASSIGN_OR_RETURN(c.id, phonebank::InsertCampaign(tx, app.tree(), c, now));
    SB_ASSIGN_OR_RETURN(
        p.targets, phonebank::SetState(tx, app.tree(), c, phonebank::CampaignState::kLive, now));
    SB_ASSIGN_OR_RETURN(phonebank::NewInvite inv,
                        phonebank::CreateInvite(tx, c, org, "benchmark", 0, 10000, now));
    p.invite_token = inv.token;
    p.campaign = c.id.value();
    for (int i = 0; i < callers; ++i) {
      SB_ASSIGN_OR_RETURN(
          AccountId a,
          access::CreateAccount(
              tx, {CallerLogin(i), "Bench Caller " + std::to_string(i), MemberId(), false}, now));
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

// Through the API, on `threads` connections: sign in, join, register and
// verify the sandbox phone. Returns the bearer tokens.
std::vector<std::string> EnrolCallers(int port, const Prepared& p, int callers) {
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
      auto login =
          cl.Call(http::verb::post, "/api/v1/session",
                  {{"login", CallerLogin(i)}, {"password", p.password}, {"client", "api"}});
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
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) ts.emplace_back(work);
  for (auto& t : ts) t.join();
  if (!failure.empty()) Die(failure);
  return tokens;
}

int Prepare(const Options& o) {
  const auto t0 = SteadyClock::now();
  auto since = [&] { return std::chrono::duration<double>(SteadyClock::now() - t0).count(); };
  const std::string tmpl = o.dir + "/template";
  const std::string marker = o.dir + "/.phonebank-load";
  if (fs::exists(o.dir) && !fs::is_empty(o.dir) && !fs::exists(marker)) {
    Die(o.dir + " exists and was not made by phonebank_load; refusing to replace it");
  }
  fs::remove_all(o.dir);
  fs::create_directories(o.dir);
  std::ofstream(marker).put('\n');
  SystemClock clock;
  auto init = server::InitDataDir({tmpl, "", ""}, clock);
  if (!init) Die("init: " + init.error().ToString());
  std::ofstream(tmpl + "/policy.toml", std::ios::trunc) << server::DemoPolicyToml();
  const int threads = o.server_threads > 0 ? o.server_threads : 64;
  WriteServerConfig(tmpl, threads, o.readers > 0 ? o.readers : threads);
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
    std::fprintf(stderr, "prepare: %llu members generated (%.1f s)\n",
                 static_cast<unsigned long long>(gen->members), since());
    p = SetUpCampaign(**app, o.callers);
    std::fprintf(stderr, "prepare: campaign %lld live with %lld targets, %d accounts (%.1f s)\n",
                 static_cast<long long>(p.campaign), static_cast<long long>(p.targets), o.callers,
                 since());
  }
  std::vector<std::string> tokens;
  {
    Server server(o.bin, tmpl, o.dir + "/prepare-server.log");
    tokens = EnrolCallers(server.port(), p, o.callers);
    if (int rc = server.Stop(); rc != 0) Die("the server exited with " + std::to_string(rc));
  }
  std::ofstream f(o.dir + "/tokens.txt", std::ios::trunc);
  fs::permissions(o.dir + "/tokens.txt", fs::perms::owner_read | fs::perms::owner_write);
  f << p.campaign << "\n";
  for (const auto& t : tokens) f << t << "\n";
  std::fprintf(stderr,
               "prepare: %d callers signed in, joined and verified a sandbox phone through the "
               "API (%.1f s)\n",
               o.callers, since());
  std::printf("%s\n", json{{"members", o.members},
                           {"callers", o.callers},
                           {"campaign", p.campaign},
                           {"targets", p.targets},
                           {"seconds", since()}}
                          .dump()
                          .c_str());
  return 0;
}

// ---- run -----------------------------------------------------------------------

enum Route { kNext = 0, kConnect = 1, kOutcome = 2, kRoutes = 3 };
const char* const kRouteNames[] = {"calling.next", "calling.connect", "calling.outcome"};

struct Stats {
  std::vector<std::uint32_t> latency_us[kRoutes];  // answered inside the window
  std::vector<std::uint32_t> cycle_us;             // next due -> outcome answered
  std::uint64_t ok_in_window[kRoutes] = {};
  std::uint64_t ok_total[kRoutes] = {};  // answered 2xx at any time (for the checks)
  std::map<std::string, std::uint64_t> refusals;
  std::uint64_t io_errors = 0;
  std::uint64_t exhausted = 0;  // "nobody is left to call"
};

class Load;

class Caller : public std::enable_shared_from_this<Caller> {
 public:
  Caller(Load& load, int index, const std::string& token);
  void Start();

 private:
  void Connect();
  void Issue();
  void Send();
  void OnResponse(beast::error_code ec);
  void Retry();

  Load& load_;
  int index_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::string req_[kRoutes];
  std::string req_outcome_no_answer_;
  Route step_ = kNext;
  std::int64_t call_id_ = 0;
  SteadyClock::time_point due_, cycle_due_;
};

class Load {
 public:
  Load(const Options& o, int port, std::int64_t campaign, const std::vector<std::string>& tokens)
      : o_(o), port_(port), campaign_(campaign) {
    start_ = SteadyClock::now() + std::chrono::milliseconds(500);
    window_start_ = start_ + std::chrono::microseconds(static_cast<std::int64_t>(o.warmup * 1e6));
    window_end_ =
        window_start_ + std::chrono::microseconds(static_cast<std::int64_t>(o.seconds * 1e6));
    if (o.rate > 0) {
      interval_ = std::chrono::nanoseconds(
          static_cast<std::int64_t>(1e9 * static_cast<double>(tokens.size()) / o.rate));
    }
    for (size_t i = 0; i < tokens.size(); ++i) {
      callers_.push_back(std::make_shared<Caller>(*this, static_cast<int>(i), tokens[i]));
    }
  }

  void Run() {
    for (auto& c : callers_) c->Start();
    ioc_.run();
  }

  asio::io_context& ioc() { return ioc_; }
  const Options& options() const { return o_; }
  int port() const { return port_; }
  std::int64_t campaign() const { return campaign_; }
  Stats& stats() { return stats_; }
  SteadyClock::time_point start() const { return start_; }
  bool InWindow(SteadyClock::time_point t) const { return t >= window_start_ && t < window_end_; }
  bool Over(SteadyClock::time_point t) const { return t >= window_end_; }
  std::chrono::nanoseconds interval() const { return interval_; }
  // Each caller's first request, spread evenly over one cycle (three
  // intervals), so that nexts, connects and outcomes arrive evenly mixed
  // rather than in waves of one kind.
  SteadyClock::time_point FirstDue(int index) const {
    return start_ + interval_ * kRoutes * index / static_cast<int>(callers_.size());
  }

 private:
  const Options& o_;
  int port_;
  std::int64_t campaign_;
  asio::io_context ioc_{1};
  std::vector<std::shared_ptr<Caller>> callers_;
  Stats stats_;
  SteadyClock::time_point start_, window_start_, window_end_;
  std::chrono::nanoseconds interval_{0};
};

std::string PostRequest(const std::string& path, const std::string& token,
                        const std::string& body) {
  std::string r =
      "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token + "\r\n";
  if (!body.empty()) r += "Content-Type: application/json\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return r;
}

Caller::Caller(Load& load, int index, const std::string& token)
    : load_(load), index_(index), socket_(load.ioc()), timer_(load.ioc()) {
  const std::string base = "/api/v1/campaigns/" + std::to_string(load.campaign());
  req_[kNext] = PostRequest(base + "/next", token, "");
  req_[kConnect] = PostRequest(base + "/connect", token, "");
  req_[kOutcome] = PostRequest(
      base + "/outcome", token,
      R"({"outcome": "answered", "answers": {"agm": true, "topic": "housing", "volunteer": 4}})");
  req_outcome_no_answer_ = PostRequest(base + "/outcome", token, R"({"outcome": "no_answer"})");
}

void Caller::Start() {
  due_ = load_.FirstDue(index_);
  Connect();
}

void Caller::Connect() {
  beast::error_code ec;
  socket_.close(ec);
  socket_.async_connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(load_.port())),
      [self = shared_from_this()](beast::error_code ec) {
        if (ec) {
          ++self->load_.stats().io_errors;
          return self->Retry();
        }
        self->socket_.set_option(tcp::no_delay(true));
        self->Issue();
      });
}

void Caller::Retry() {
  if (load_.Over(SteadyClock::now())) return;
  timer_.expires_after(std::chrono::milliseconds(100));
  timer_.async_wait([self = shared_from_this()](beast::error_code) {
    self->step_ = kNext;
    self->due_ = SteadyClock::now();
    self->Connect();
  });
}

void Caller::Issue() {
  const auto now = SteadyClock::now();
  if (load_.Over(now)) {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    return;
  }
  if (due_ > now) {
    timer_.expires_at(due_);
    timer_.async_wait([self = shared_from_this()](beast::error_code) { self->Send(); });
    return;
  }
  if (load_.interval().count() == 0) due_ = now;  // closed loop: due when sent
  Send();
}

void Caller::Send() {
  if (step_ == kNext) cycle_due_ = due_;
  const std::string* req = &req_[step_];
  // As the sandbox decides (connector.cc): a third of calls are not answered.
  if (step_ == kOutcome && call_id_ % 3 == 0) req = &req_outcome_no_answer_;
  asio::async_write(
      socket_, asio::buffer(*req), [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) {
          ++self->load_.stats().io_errors;
          return self->Retry();
        }
        self->parser_.emplace();
        self->parser_->body_limit(1 << 20);
        http::async_read(self->socket_, self->buffer_, *self->parser_,
                         [self](beast::error_code ec, std::size_t) { self->OnResponse(ec); });
      });
}

std::int64_t FindId(const std::string& body) {
  const size_t at = body.find("\"id\":");
  if (at == std::string::npos) return -1;
  return std::strtoll(body.c_str() + at + 5, nullptr, 10);
}

void Caller::OnResponse(beast::error_code ec) {
  const auto now = SteadyClock::now();
  Stats& s = load_.stats();
  if (ec) {
    ++s.io_errors;
    return Retry();
  }
  const auto& res = parser_->get();
  const int status = res.result_int();
  const bool ok = status >= 200 && status < 300;
  const bool in_window = load_.InWindow(now);
  if (in_window) {
    s.latency_us[step_].push_back(static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now - due_).count()));
  }
  Route next_step = kNext;
  if (ok) {
    if (step_ == kNext && res.body().find("\"lease\"") == std::string::npos) {
      ++s.exhausted;  // nobody left to call: a benchmark too long for its audience
      return;
    }
    ++s.ok_total[step_];
    if (in_window) ++s.ok_in_window[step_];
    switch (step_) {
      case kNext:
        next_step = kConnect;
        break;
      case kConnect:
        call_id_ = FindId(res.body());
        next_step = kOutcome;
        break;
      case kOutcome:
        if (in_window) {
          s.cycle_us.push_back(static_cast<std::uint32_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(now - cycle_due_).count()));
        }
        next_step = kNext;
        break;
      default:
        break;
    }
  } else {
    ++s.refusals[std::string(kRouteNames[step_]) + " " + std::to_string(status)];
    // Start again from next: it returns the lease still held, if any.
    next_step = kNext;
  }
  step_ = next_step;
  due_ += load_.interval();
  if (!res.keep_alive()) {
    return Connect();
  }
  Issue();
}

json Percentiles(std::vector<std::uint32_t>& v, double seconds, std::uint64_t ok) {
  json j{
      {"answered", v.size()}, {"ok", ok}, {"per_second", static_cast<double>(v.size()) / seconds}};
  if (v.empty()) return j;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
    return v[i] / 1000.0;
  };
  double sum = 0;
  for (auto x : v) sum += x;
  j["mean_ms"] = sum / static_cast<double>(v.size()) / 1000.0;
  j["p50_ms"] = at(0.50);
  j["p90_ms"] = at(0.90);
  j["p99_ms"] = at(0.99);
  j["p999_ms"] = at(0.999);
  j["max_ms"] = v.back() / 1000.0;
  return j;
}

// What the callers were told, against what the database holds.
json CheckRecorded(const Options& o, const std::string& data_dir, std::int64_t campaign,
                   const Stats& s) {
  json j;
  auto app = server::App::Open(data_dir, "");
  if (!app) Die("reopen: " + app.error().ToString());
  std::int64_t outcomes = 0, next_events = 0, connect_events = 0, outcome_events = 0;
  Check((*app)->store().Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(outcomes, tx.QueryInt("SELECT COUNT(*) FROM calls WHERE campaign_id = $1 "
                                              "AND outcome IS NOT NULL",
                                              {campaign}));
    return tx.Query(
        "SELECT action, COUNT(*) FROM audit_events WHERE campaign = $1 AND decision = 'allow' "
        "GROUP BY action",
        {campaign}, [&](const store::Row& r) {
          const std::string_view a = r.Text(0);
          if (a == "phonebank.next") next_events = r.Int(1);
          if (a == "phonebank.connect") connect_events = r.Int(1);
          if (a == "phonebank.outcome") outcome_events = r.Int(1);
          return true;
        });
  }),
        "checks");
  app->reset();
  // A renewed lease (next asked again after a refusal) is audited again, so
  // events may exceed the answers; never the reverse.
  const bool ok = outcomes == static_cast<std::int64_t>(s.ok_total[kOutcome]) &&
                  next_events >= static_cast<std::int64_t>(s.ok_total[kNext]) &&
                  connect_events == static_cast<std::int64_t>(s.ok_total[kConnect]) &&
                  outcome_events == static_cast<std::int64_t>(s.ok_total[kOutcome]);
  const int verify = RunCommand({o.bin, "audit", "verify", "--data-dir", data_dir, "--json"},
                                o.dir + "/audit-verify.json");
  j = {{"outcomes_answered", s.ok_total[kOutcome]},
       {"outcome_rows", outcomes},
       {"events",
        {{"phonebank.next", next_events},
         {"phonebank.connect", connect_events},
         {"phonebank.outcome", outcome_events}}},
       {"answered",
        {{"calling.next", s.ok_total[kNext]},
         {"calling.connect", s.ok_total[kConnect]},
         {"calling.outcome", s.ok_total[kOutcome]}}},
       {"recorded", ok},
       {"audit_verify_exit", verify}};
  return j;
}

double LoadAverage() {
  double l = -1;
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = -1;
    std::fclose(f);
  }
  return l;
}

// CPU seconds (user + system) a process has used so far.
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

// CPU seconds the whole machine has been busy (all but idle and iowait).
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

// The server's peak resident memory (VmHWM), in MiB.
double PeakRssMiB(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

int Run(const Options& o) {
  std::ifstream tf(o.dir + "/tokens.txt");
  if (!tf) Die("no " + o.dir + "/tokens.txt: run `prepare` first");
  std::int64_t campaign = 0;
  tf >> campaign;
  std::vector<std::string> tokens;
  for (std::string t; tf >> t && static_cast<int>(tokens.size()) < o.callers;) tokens.push_back(t);
  if (static_cast<int>(tokens.size()) < o.callers) Die("tokens.txt holds fewer callers");

  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);

  const std::string run_dir = o.dir + "/run";
  fs::remove_all(run_dir);
  if (RunCommand({"/bin/cp", "-a", o.dir + "/template", run_dir}) != 0) Die("copy");
  if (o.server_threads > 0) {
    WriteServerConfig(run_dir, o.server_threads, o.readers > 0 ? o.readers : o.server_threads);
  }
  const double load_before = LoadAverage();
  Server server(o.bin, run_dir, o.dir + "/server.log");
  const double cpu0 = ProcessCpuSeconds(server.pid());
  Load load(o, server.port(), campaign, tokens);
  double cpu_window = 0, driver_window = 0, machine_window = 0;
  // CPU time over the measured window, sampled on the side: the server's,
  // the driver's and the machine's (what is left was someone else's).
  std::thread sampler([&] {
    const auto ws =
        load.start() + std::chrono::microseconds(static_cast<std::int64_t>(o.warmup * 1e6));
    std::this_thread::sleep_until(ws);
    const double a = ProcessCpuSeconds(server.pid()), d = ProcessCpuSeconds(getpid()),
                 m = MachineBusySeconds();
    std::this_thread::sleep_until(
        ws + std::chrono::microseconds(static_cast<std::int64_t>(o.seconds * 1e6)));
    cpu_window = ProcessCpuSeconds(server.pid()) - a;
    driver_window = ProcessCpuSeconds(getpid()) - d;
    machine_window = MachineBusySeconds() - m;
  });
  load.Run();
  sampler.join();
  const double cpu_all = ProcessCpuSeconds(server.pid()) - cpu0;
  const double peak_rss = PeakRssMiB(server.pid());
  const int rc = server.Stop();
  if (rc != 0) Die("the server exited with " + std::to_string(rc) + "; see server.log");
  Stats& s = load.stats();

  std::vector<std::uint32_t> all;
  std::uint64_t ok_all = 0;
  json routes;
  for (int r = 0; r < kRoutes; ++r) {
    all.insert(all.end(), s.latency_us[r].begin(), s.latency_us[r].end());
    ok_all += s.ok_in_window[r];
    routes[kRouteNames[r]] = Percentiles(s.latency_us[r], o.seconds, s.ok_in_window[r]);
  }
  json out{
      {"callers", o.callers},
      {"seconds", o.seconds},
      {"warmup", o.warmup},
      {"offered_rate", o.rate},
      {"all", Percentiles(all, o.seconds, ok_all)},
      {"routes", routes},
      {"cycle", Percentiles(s.cycle_us, o.seconds, s.cycle_us.size())},
      {"refusals", s.refusals},
      {"io_errors", s.io_errors},
      {"exhausted_callers", s.exhausted},
      {"server_cpu_seconds_in_window", cpu_window},
      {"driver_cpu_seconds_in_window", driver_window},
      {"other_cpu_seconds_in_window", std::max(0.0, machine_window - cpu_window - driver_window)},
      {"server_cpu_seconds", cpu_all},
      {"server_peak_rss_mib", peak_rss},
      {"server_threads", o.server_threads},
      {"loadavg_before", load_before},
      {"loadavg_after", LoadAverage()}};
  out["check"] = CheckRecorded(o, run_dir, campaign, s);
  std::printf("%s\n", out.dump().c_str());
  const json& a = out["all"];
  std::fprintf(stderr,
               "run: %.0f requests/s (2xx %.0f/s), p50 %.2f ms, p99 %.2f ms; cycle p99 %.2f ms; "
               "refusals %zu kinds, io errors %llu; recorded %s, audit verify exit %d\n",
               a.value("per_second", 0.0), static_cast<double>(ok_all) / o.seconds,
               a.value("p50_ms", 0.0), a.value("p99_ms", 0.0), out["cycle"].value("p99_ms", 0.0),
               s.refusals.size(), static_cast<unsigned long long>(s.io_errors),
               out["check"]["recorded"].get<bool>() ? "yes" : "NO",
               out["check"]["audit_verify_exit"].get<int>());
  fs::remove_all(run_dir);
  return out["check"]["recorded"].get<bool>() && out["check"]["audit_verify_exit"] == 0 ? 0 : 1;
}

}  // namespace
}  // namespace switchboard::bench

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const auto o = switchboard::bench::ParseArgs(argc, argv);
  return o.mode == "prepare" ? switchboard::bench::Prepare(o) : switchboard::bench::Run(o);
}
