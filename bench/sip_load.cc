// P9: bridged calls through one `switchboard serve` over loopback, with SIPp
// (Debian's sip-tester) as the carrier's trunk and every phone behind it
// (tests/telephony/answer.xml answers both legs and holds them until BYE).
// The sibling of phonebank_load (P3): callers go through the real HTTP API,
// each on its own keep-alive connection with its own bearer token:
// next -> connect ("call") -> hold -> hangup -> outcome, so every step is
// authorised, audited and durable.
//
//   sip_load prepare --dir D --bin build/release/switchboard [--members 20000]
//                    [--callers 240]
//   sip_load run     --dir D --bin build/release/switchboard --connector sip|sandbox
//                    [--rate 100] [--seconds 20] [--warmup 5] [--hold 2.1]
//
// `prepare` builds D/template once, as phonebank_load does: generated
// members, an organiser, a live campaign over the whole organisation, and
// callers who sign in, join and verify a phone through the API (caller i's
// phone is 07700 900iii; verified on the sandbox, so that the set-up does not
// depend on the trunk).
//
// `run` copies the template, points [telephony] at the connector (for sip:
// SIPp on a free loopback port, started here), starts `serve`, and paces the
// callers: together they place `rate` calls a second, caller i's k-th call
// due at start + (k * callers + i) / rate, each held `hold` seconds and then
// hung up through the API, so that about rate x hold calls are bridged at
// once. Latency is counted from the time a call was due (no coordinated
// omission). Measured from the outside: SIPp stamps each step in its log
// ([timestamp]) when it handles the message, and the run matches the member
// leg's INVITE to the HTTP request that asked for the call (the member's
// INVITE carries the caller's phone's offer, whose o= line names the caller
// leg's SIPp call; the caller leg's Request-URI names the caller's phone).
// It prints one JSON object: calls set up per second, the latency of the
// connect request and of the member's phone ringing, the peak and mean
// number of calls bridged at once (from SIPp's log), and the checks that
// what the callers were told is recorded and `audit verify` passes.
// clang-format off
#include <utility>  // first: Asio 1.74 uses std::exchange without including it
// clang-format on
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "load_common.h"
#include "telephony/testing/sipp.h"

namespace switchboard::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

struct Options : LoadOptions {
  std::string connector = "sip";
  std::string transport = "udp";
  double hold = 2.1;
  Options()
      : LoadOptions(/*members=*/20000, /*callers=*/240, /*rate=*/100, /*seconds=*/20,
                    /*warmup=*/5) {}
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  ParseLoadArgs(argc, argv, o, [&](const std::string& key, const auto& value) {
    if (key == "--connector") {
      o.connector = value();
    } else if (key == "--transport") {
      o.transport = value();
    } else if (key == "--hold") {
      o.hold = std::stod(value());
    } else {
      return false;
    }
    return true;
  });
  if (o.connector != "sip" && o.connector != "sandbox") Die("--connector: sip or sandbox");
  if (o.transport != "udp" && o.transport != "tcp") Die("--transport: udp or tcp");
  if (o.callers < 1 || o.callers > 1000) {
    Die("--callers: 1 to 1000 (callers' phones are 07700 900000-900999)");
  }
  if (o.rate <= 0 || o.hold <= 0) Die("--rate and --hold must be positive");
  return o;
}

// ---- processes -----------------------------------------------------------------

// SIPp, killed with this process however it ends (a Die() runs no
// destructors), its output in `out_path`.
pid_t SpawnTied(const std::vector<std::string>& args, const std::string& out_path) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int null = open("/dev/null", O_RDONLY);
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    if (null >= 0) dup2(null, 0);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// SIPp as the trunk: answer.xml, every step in `log_path`.
class Sipp {
 public:
  Sipp(const std::string& scenario, const std::string& dir, bool tcp)
      : log_(dir + "/sipp-steps.log") {
    for (int attempt = 0; attempt < 5 && pid_ < 0; ++attempt) {
      auto port = telephony::testing::FreePort(tcp);
      if (!port) Die("no free port for SIPp: " + port.error().ToString());
      port_ = *port;
      pid_ = SpawnTied({"sipp",
                        "-sf",
                        scenario,
                        "-i",
                        "127.0.0.1",
                        "-p",
                        std::to_string(port_),
                        "-t",
                        tcp ? "t1" : "u1",
                        "-nostdin",
                        "-trace_logs",
                        "-log_file",
                        log_,
                        "-trace_err",
                        "-error_file",
                        dir + "/sipp-errors.log",
                        "-max_recv_loops",
                        "10000",
                        "-buff_size",
                        "8388608"},
                       dir + "/sipp-output.log");
      bool up = false;
      for (int i = 0; i < 500 && !up; ++i) {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        up = telephony::testing::PortTaken(port_, tcp);
        if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (!up && pid_ > 0) Stop();
    }
    if (pid_ < 0) Die("SIPp did not start; see " + dir + "/sipp-output.log");
  }
  ~Sipp() { Stop(); }
  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  int port() const { return port_; }
  const std::string& log() const { return log_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_;
};

// ---- prepare -------------------------------------------------------------------

// Caller i's phone, as SIPp sees it dialled (E.164 digits).
std::string CallerDigits(int i) {
  char b[20];
  std::snprintf(b, sizeof b, "447700900%03d", i);
  return b;
}

// As phonebank_load's, with a one-question survey; caller i's phone is
// verified on the sandbox, so that the set-up does not depend on the trunk.
int Prepare(const Options& o) {
  TemplateSpec spec;
  spec.marker = ".sip-load";
  spec.login_prefix = "bench.sip.caller.";
  spec.campaign_name = "Benchmark bridged calls";
  spec.survey = {{"agm", "Will they come to the AGM?", "yesno", {}}};
  const Prepared p = PrepareTemplate(o, spec);
  std::printf("%s\n", json{{"members", o.members},
                           {"callers", o.callers},
                           {"campaign", p.campaign},
                           {"targets", p.targets}}
                          .dump()
                          .c_str());
  return 0;
}

// ---- run -----------------------------------------------------------------------

enum Step { kNext, kConnect, kHangup, kOutcome };
const char* const kStepNames[] = {"calling.next", "calling.connect", "calling.hangup",
                                  "calling.outcome"};

// One call the driver asked for.
struct Placed {
  int caller = 0;
  double due = 0;   // epoch seconds (the clock SIPp stamps with)
  double sent = 0;  // when the connect request went out
  double answered = 0;
  std::int64_t call = 0;
  bool in_window = false;
};

struct Stats {
  std::vector<Placed> placed;
  std::map<std::string, std::uint64_t> ok;  // 2xx answers by step, at any time
  std::map<std::string, std::uint64_t> refusals;
  std::uint64_t io_errors = 0;
  std::uint64_t exhausted = 0;
};

double EpochNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class Load;

class Caller : public std::enable_shared_from_this<Caller> {
 public:
  Caller(Load& load, int index, const std::string& token);
  void Start();

 private:
  void Send(Step step);
  void OnResponse(beast::error_code ec);
  void At(SteadyClock::time_point t, Step step);

  Load& load_;
  int index_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::string token_, base_, req_;
  Step step_ = kNext;
  int k_ = 0;  // this caller's calls so far
  SteadyClock::time_point due_;
  std::int64_t call_ = 0;
  size_t placed_ = 0;  // index into Stats::placed
};

class Load {
 public:
  Load(const Options& o, int port, std::int64_t campaign, const std::vector<std::string>& tokens)
      : o_(o), port_(port), campaign_(campaign) {
    start_ = SteadyClock::now() + std::chrono::milliseconds(500);
    epoch_at_start_ = EpochNow() + 0.5;
    for (size_t i = 0; i < tokens.size(); ++i) {
      callers_.push_back(std::make_shared<Caller>(*this, static_cast<int>(i), tokens[i]));
    }
  }
  void Run() {
    for (auto& c : callers_) c->Start();
    ioc_.run();
  }
  asio::io_context& ioc() { return ioc_; }
  int port() const { return port_; }
  std::int64_t campaign() const { return campaign_; }
  Stats& stats() { return stats_; }
  const Stats& stats() const { return stats_; }
  const Options& options() const { return o_; }
  // Caller i's k-th call: due at start + (k * callers + i) / rate.
  SteadyClock::time_point Due(int i, int k) const {
    const double s = (static_cast<double>(k) * static_cast<double>(callers_.size()) + i) / o_.rate;
    return start_ + std::chrono::microseconds(static_cast<std::int64_t>(s * 1e6));
  }
  double Seconds(SteadyClock::time_point t) const {
    return std::chrono::duration<double>(t - start_).count();
  }
  double Epoch(SteadyClock::time_point t) const { return epoch_at_start_ + Seconds(t); }
  bool InWindow(SteadyClock::time_point t) const {
    const double s = Seconds(t);
    return s >= o_.warmup && s < o_.warmup + o_.seconds;
  }
  bool Over(SteadyClock::time_point t) const { return Seconds(t) >= o_.warmup + o_.seconds; }
  double window_start() const { return epoch_at_start_ + o_.warmup; }
  double window_end() const { return epoch_at_start_ + o_.warmup + o_.seconds; }

 private:
  const Options& o_;
  int port_;
  std::int64_t campaign_;
  asio::io_context ioc_{1};
  std::vector<std::shared_ptr<Caller>> callers_;
  Stats stats_;
  SteadyClock::time_point start_;
  double epoch_at_start_ = 0;
};

Caller::Caller(Load& load, int index, const std::string& token)
    : load_(load),
      index_(index),
      socket_(load.ioc()),
      timer_(load.ioc()),
      token_(token),
      base_("/api/v1/campaigns/" + std::to_string(load.campaign())) {}

void Caller::Start() {
  due_ = load_.Due(index_, 0);
  boost::system::error_code ec;
  socket_.connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(load_.port())),
      ec);
  if (ec) Die("connect: " + ec.message());
  socket_.set_option(tcp::no_delay(true));
  Send(kNext);  // the first contact is leased before the first call is due
}

void Caller::At(SteadyClock::time_point t, Step step) {
  timer_.expires_at(t);
  timer_.async_wait([self = shared_from_this(), step](beast::error_code) { self->Send(step); });
}

void Caller::Send(Step step) {
  step_ = step;
  switch (step) {
    case kNext:
      req_ = PostRequest(base_ + "/next", token_, "");
      break;
    case kConnect: {
      req_ = PostRequest(base_ + "/connect", token_, "");
      Placed p;
      p.caller = index_;
      p.due = load_.Epoch(due_);
      p.sent = EpochNow();
      p.in_window = load_.InWindow(due_);
      placed_ = load_.stats().placed.size();
      load_.stats().placed.push_back(p);
      break;
    }
    case kHangup:
      req_ = PostRequest(base_ + "/calls/" + std::to_string(call_) + "/hangup", token_, "");
      break;
    case kOutcome:
      req_ = PostRequest(base_ + "/outcome", token_, R"({"outcome": "answered"})");
      break;
  }
  asio::async_write(
      socket_, asio::buffer(req_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) return self->OnResponse(ec);
        self->parser_.emplace();
        self->parser_->body_limit(1 << 20);
        http::async_read(self->socket_, self->buffer_, *self->parser_,
                         [self](beast::error_code ec, std::size_t) { self->OnResponse(ec); });
      });
}

void Caller::OnResponse(beast::error_code ec) {
  Stats& s = load_.stats();
  if (ec) {
    ++s.io_errors;  // the caller stops: the run's checks then fail loudly
    return;
  }
  const auto& res = parser_->get();
  const int status = res.result_int();
  const bool ok = status >= 200 && status < 300;
  if (ok) {
    ++s.ok[kStepNames[step_]];
  } else {
    ++s.refusals[std::string(kStepNames[step_]) + " " + std::to_string(status)];
  }
  switch (step_) {
    case kNext:
      if (ok && res.body().find("\"lease\"") == std::string::npos) {
        ++s.exhausted;
        return;
      }
      if (load_.Over(due_)) return;
      return At(due_, ok ? kConnect : kNext);
    case kConnect:
      s.placed[placed_].answered = EpochNow();
      if (!ok) {
        due_ = load_.Due(index_, ++k_);
        return Send(kOutcome);  // release the contact, then the next one
      }
      call_ = FindId(res.body());
      s.placed[placed_].call = call_;
      return At(
          due_ + std::chrono::microseconds(static_cast<std::int64_t>(load_.options().hold * 1e6)),
          kHangup);
    case kHangup:
      due_ = load_.Due(index_, ++k_);
      return Send(kOutcome);
    case kOutcome:
      if (load_.Over(due_)) return;  // done: no contact held
      return Send(kNext);
  }
}

json Percentiles(std::vector<double> v) {
  json j{{"count", v.size()}};
  if (v.empty()) return j;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return Quantile(v, q) * 1000.0; };
  j["p50_ms"] = at(0.50);
  j["p90_ms"] = at(0.90);
  j["p99_ms"] = at(0.99);
  j["max_ms"] = v.back() * 1000.0;
  return j;
}

// SIPp's steps (answer.xml): each line's first word, its fields, and the
// epoch stamp at its end.
struct SippLog {
  struct Leg {
    double invited = 0, bridged = 0, bye = 0;
    std::string dialled;   // caller legs: the digits dialled, then "@"
    long caller_leg = -1;  // member legs: the caller leg whose offer it carries
  };
  std::map<long, Leg> legs;  // by SIPp call number
};

SippLog ReadSippLog(const std::string& path) {
  SippLog log;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    std::vector<std::string> f;
    for (std::string w; ls >> w;) f.push_back(w);
    if (f.size() < 4) continue;
    const double stamp = std::strtod(f.back().c_str(), nullptr);
    if (f[0] == "caller" && f.size() >= 6) {
      auto& leg = log.legs[std::stol(f[1])];
      leg.invited = stamp;
      leg.dialled = f[2];
    } else if (f[0] == "member" && f.size() >= 6) {
      auto& leg = log.legs[std::stol(f[2])];
      leg.invited = stamp;
      leg.caller_leg = std::stol(f[1]);
    } else if (f[0] == "bridged") {
      log.legs[std::stol(f[1])].bridged = stamp;
    } else if (f[0] == "bye" && f.size() >= 6) {
      log.legs[std::stol(f[2])].bye = stamp;
    }
  }
  return log;
}

// Matches each placed call to its legs at SIPp: the caller's phone's first
// INVITE after the request was sent, then the member leg carrying its offer.
json MeasureAtTrunk(const Options& o, const Load& load, const SippLog& log) {
  std::map<std::string, std::vector<std::pair<double, long>>> by_dialled;  // sorted by time
  std::map<long, long> member_of;                                          // caller leg -> member
  for (const auto& [n, leg] : log.legs) {
    if (!leg.dialled.empty()) by_dialled[leg.dialled].push_back({leg.invited, n});
    if (leg.caller_leg >= 0) member_of[leg.caller_leg] = n;
  }
  for (auto& [d, v] : by_dialled) std::sort(v.begin(), v.end());
  std::vector<double> to_caller_invite, to_member_invite;
  std::vector<std::vector<double>> by_second;  // by when the call was due, in the window
  std::uint64_t unmatched = 0, member_rung = 0;
  for (const Placed& p : load.stats().placed) {
    if (!p.in_window || p.call <= 0) continue;
    const auto& v = by_dialled[CallerDigits(p.caller) + "@"];
    auto it = std::lower_bound(v.begin(), v.end(), std::make_pair(p.sent, -1L));
    if (it == v.end()) {
      ++unmatched;
      continue;
    }
    to_caller_invite.push_back(it->first - p.due);
    auto m = member_of.find(it->second);
    if (m == member_of.end()) {
      ++unmatched;
      continue;
    }
    ++member_rung;
    to_member_invite.push_back(log.legs.at(m->second).invited - p.due);
    const auto second = static_cast<size_t>(std::max(0.0, p.due - load.window_start()));
    if (by_second.size() <= second) by_second.resize(second + 1);
    by_second[second].push_back(to_member_invite.back());
  }
  // Calls bridged at once: from the caller's phone receiving the member's
  // media to its BYE, sampled every 10 ms across the window.
  std::vector<std::pair<double, int>> edges;
  for (const auto& [n, leg] : log.legs) {
    if (leg.bridged > 0) {
      edges.push_back({leg.bridged, +1});
      edges.push_back({leg.bye > 0 ? leg.bye : 1e18, -1});
    }
  }
  std::sort(edges.begin(), edges.end());
  const double ws = load.window_start(), we = load.window_end();
  int up = 0, peak = 0;
  double area = 0, last = ws;
  for (const auto& [t, d] : edges) {
    if (t >= we) break;
    if (t > ws) {
      area += up * (t - last);
      last = t;
      peak = std::max(peak, up);
    }
    up += d;
  }
  peak = std::max(peak, up);
  area += up * (we - last);
  json max_by_second = json::array();
  for (auto& v : by_second) {
    max_by_second.push_back(v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()) * 1000.0);
  }
  return {{"member_rung_in_window", member_rung},
          {"call_to_member_invite_max_ms_by_second", max_by_second},
          {"setups_per_second", static_cast<double>(member_rung) / o.seconds},
          {"unmatched", unmatched},
          {"call_to_caller_invite", Percentiles(to_caller_invite)},
          {"call_to_member_invite", Percentiles(to_member_invite)},
          {"bridged_at_once_peak", peak},
          {"bridged_at_once_mean", area / o.seconds}};
}

// What the callers were told, against what the database holds.
json CheckRecorded(const Options& o, const std::string& data_dir, std::int64_t campaign,
                   const Stats& s) {
  Recorded r = ReadRecorded(o, data_dir, campaign, true);
  auto& events = r.events;
  auto ok = [&](const char* step) {
    auto it = s.ok.find(step);
    return it == s.ok.end() ? std::int64_t{0} : static_cast<std::int64_t>(it->second);
  };
  const bool recorded = r.outcomes == ok("calling.outcome") &&
                        events["phonebank.next"] >= ok("calling.next") &&
                        events["phonebank.connect"] == ok("calling.connect") &&
                        events["phonebank.hangup"] == ok("calling.hangup") &&
                        events["phonebank.outcome"] == ok("calling.outcome") && r.active == 0;
  json answered = json::object();
  for (const auto& [k, v] : s.ok) answered[k] = v;
  return {{"answered", answered},       {"events", events},
          {"outcome_rows", r.outcomes}, {"calls_left_active", r.active},
          {"recorded", recorded},       {"audit_verify_exit", r.audit_verify_exit}};
}

std::string ScenarioPath() {
  if (const char* dir = std::getenv("SB_SOURCE_DIR"); dir && *dir) {
    return std::string(dir) + "/tests/telephony/answer.xml";
  }
  return SB_SOURCE_DIR_DEFAULT "/tests/telephony/answer.xml";
}

int Run(const Options& o) {
  const auto [campaign, tokens, run_dir] = StartRun(o);
  std::optional<Sipp> sipp;
  if (o.connector == "sip") {
    fs::remove(o.dir + "/sipp-steps.log");
    fs::remove(o.dir + "/sipp-errors.log");
    sipp.emplace(ScenarioPath(), o.dir, o.transport == "tcp");
    SetConfigValue(run_dir, "telephony",
                   {{"connector", "\"sip\""},
                    {"trunk_uri", "\"sip:127.0.0.1:" + std::to_string(sipp->port()) + "\""},
                    {"caller_id", "\"+441632960000\""},
                    {"transport", "\"" + o.transport + "\""},
                    {"port", "0"},
                    {"max_calls", "100000"},
                    {"max_calls_per_campaign", "100000"}});
  }
  Server server(o.bin, run_dir, o.dir + "/server.log");
  const double cpu0 = ProcessCpuSeconds(server.pid());
  Load load(o, server.port(), campaign, tokens);
  load.Run();
  const double cpu = ProcessCpuSeconds(server.pid()) - cpu0;
  const int rc = server.Stop();
  if (rc != 0) Die("the server exited with " + std::to_string(rc) + "; see server.log");
  if (sipp) sipp->Stop();
  const Stats& s = load.stats();

  std::vector<double> connect_latency;
  std::uint64_t connected_in_window = 0;
  for (const Placed& p : s.placed) {
    if (!p.in_window || p.answered == 0) continue;
    connect_latency.push_back(p.answered - p.due);
    if (p.call > 0) ++connected_in_window;
  }
  json out{{"connector", o.connector},
           {"transport", o.connector == "sip" ? o.transport : ""},
           {"callers", o.callers},
           {"offered_rate", o.rate},
           {"hold_seconds", o.hold},
           {"seconds", o.seconds},
           {"warmup", o.warmup},
           {"connects_accepted_per_second", static_cast<double>(connected_in_window) / o.seconds},
           {"connect_request", Percentiles(connect_latency)},
           {"refusals", s.refusals},
           {"io_errors", s.io_errors},
           {"exhausted_callers", s.exhausted},
           {"server_cpu_seconds", cpu}};
  std::int64_t sipp_errors = 0;
  if (sipp) {
    out["trunk"] = MeasureAtTrunk(o, load, ReadSippLog(sipp->log()));
    // SIPp's own complaints: unexpected messages, failed calls.
    std::ifstream errors(o.dir + "/sipp-errors.log");
    for (std::string line; std::getline(errors, line);) sipp_errors += line.empty() ? 0 : 1;
    out["trunk"]["sipp_error_lines"] = sipp_errors;
  }
  out["check"] = CheckRecorded(o, run_dir, campaign, s);
  std::printf("%s\n", out.dump().c_str());
  const json& m = out.contains("trunk") ? out["trunk"]["call_to_member_invite"] : json::object();
  std::fprintf(stderr,
               "run (%s): %.1f calls/s accepted, connect p99 %.1f ms; member rung p50 %.1f ms, "
               "p99 %.1f ms; refusals %zu kinds, io errors %llu; recorded %s, audit verify %d\n",
               o.connector.c_str(), out["connects_accepted_per_second"].get<double>(),
               out["connect_request"].value("p99_ms", 0.0), m.value("p50_ms", 0.0),
               m.value("p99_ms", 0.0), s.refusals.size(),
               static_cast<unsigned long long>(s.io_errors),
               out["check"]["recorded"].get<bool>() ? "yes" : "NO",
               out["check"]["audit_verify_exit"].get<int>());
  fs::remove_all(run_dir);
  return out["check"]["recorded"].get<bool>() && out["check"]["audit_verify_exit"] == 0 &&
                 s.io_errors == 0 && sipp_errors == 0 &&
                 (!sipp || out["trunk"]["member_rung_in_window"].get<std::uint64_t>() > 0)
             ? 0
             : 1;
}

}  // namespace
}  // namespace switchboard::bench

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  switchboard::bench::SetToolName("sip_load");
  const auto o = switchboard::bench::ParseArgs(argc, argv);
  return o.mode == "prepare" ? switchboard::bench::Prepare(o) : switchboard::bench::Run(o);
}
