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
//                          [--allow-errors]
//                          [--attach PORT] [--report-every S] [--outcome no_answer]
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
//
// A run fails (exit 1, the reasons on stderr, the JSON still printed) when
// what it measured cannot be trusted: any I/O error, refusal or caller left
// with nobody to call (unless --allow-errors: a scenario that expects some),
// a caller never answered, no request answered inside the window, or the
// checks above.
// For the soak (bench/soak.py, TARGETS R7): `prepare --recall-minutes 0
// --max-passes N` makes no_answer members come straight back, `run --outcome
// no_answer` records only that, so that a small audience lasts an hour;
// `--attach PORT` drives a server the caller started (no copy, no checks:
// they are the caller's); `--report-every S` prints one JSON line per S
// seconds with that interval's latency per route, refusals and I/O errors.
// clang-format off
#include <utility>  // first: Asio 1.74 uses std::exchange without including it
// clang-format on
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "load_common.h"

namespace switchboard::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

struct Options : LoadOptions {
  int server_threads = 0;  // 0: keep the template's (prepare writes 64)
  int readers = 0;         // 0: as many as server threads
  bool allow_errors = false;
  int attach_port = 0;  // 0: start a server on a copy of the template
  double report_every = 0;
  bool only_no_answer = false;
  int recall_minutes = -1;
  int max_passes = -1;
  Options()
      : LoadOptions(/*members=*/200000, /*callers=*/1000, /*rate=*/0, /*seconds=*/15,
                    /*warmup=*/3) {}
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  ParseLoadArgs(argc, argv, o, [&](const std::string& key, const auto& value) {
    if (key == "--server-threads") {
      o.server_threads = std::stoi(value());
    } else if (key == "--readers") {
      o.readers = std::stoi(value());
    } else if (key == "--allow-errors") {
      o.allow_errors = true;
    } else if (key == "--attach") {
      o.attach_port = std::stoi(value());
    } else if (key == "--report-every") {
      o.report_every = std::stod(value());
    } else if (key == "--outcome") {
      const std::string v = value();
      if (v != "no_answer") Die("--outcome: only no_answer");
      o.only_no_answer = true;
    } else if (key == "--recall-minutes") {
      o.recall_minutes = std::stoi(value());
    } else if (key == "--max-passes") {
      o.max_passes = std::stoi(value());
    } else {
      return false;
    }
    return true;
  });
  if (o.callers < 1 || o.callers > 1000) {
    Die("--callers: 1 to 1000 (sandbox phones are 07700 900000-900999)");
  }
  return o;
}

// ---- prepare -------------------------------------------------------------------

int Prepare(const Options& o) {
  const auto t0 = SteadyClock::now();
  auto since = [&] { return std::chrono::duration<double>(SteadyClock::now() - t0).count(); };
  TemplateSpec spec;
  spec.marker = ".phonebank-load";
  spec.threads = o.server_threads > 0 ? o.server_threads : 64;
  spec.readers = o.readers > 0 ? o.readers : spec.threads;
  spec.login_prefix = "bench.caller.";
  spec.campaign_name = "Benchmark check-in";
  spec.survey = {{"agm", "Will they come to the AGM?", "yesno", {}},
                 {"topic",
                  "Which issue matters most to them?",
                  "choice",
                  {"housing", "transport", "health", "other"}},
                 {"volunteer", "How keen are they to help out? (1-5)", "scale", {}}};
  spec.enrol_connections = 4;
  spec.progress = true;
  spec.recall_minutes = o.recall_minutes;
  spec.max_passes = o.max_passes;
  const Prepared p = PrepareTemplate(o, spec);
  {
    // The organiser's password (shared with the synthetic callers), for the
    // soak's e-mail load; readable by this user only.
    const std::string path = o.dir + "/organiser.password";
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f || std::fprintf(f, "%s\n", p.password.c_str()) < 0 || std::fclose(f) != 0) {
      Die("cannot write " + path);
    }
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
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
  // Since the last --report-every line.
  std::vector<std::uint32_t> interval_us[kRoutes];
  std::map<std::string, std::uint64_t> interval_refusals;
  std::uint64_t interval_io_errors = 0;
};

class Load;

class Caller : public std::enable_shared_from_this<Caller> {
 public:
  Caller(Load& load, int index, const std::string& token);
  void Start();
  bool answered() const { return answered_; }

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
  bool answered_ = false;  // some request of this caller's was answered 2xx
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
    if (o_.report_every > 0) ScheduleReport(start_);
    ioc_.run();
  }
  int Unanswered() const {
    return static_cast<int>(std::count_if(callers_.begin(), callers_.end(),
                                          [](const auto& c) { return !c->answered(); }));
  }

  void IoError() {
    ++stats_.io_errors;
    ++stats_.interval_io_errors;
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
  asio::steady_timer report_timer_{ioc_};

  // One JSON line per interval, from the load's own thread.
  void ScheduleReport(SteadyClock::time_point last) {
    const auto next =
        last + std::chrono::microseconds(static_cast<std::int64_t>(o_.report_every * 1e6));
    report_timer_.expires_at(std::min(next, window_end_));
    report_timer_.async_wait([this, last, next](beast::error_code) {
      const auto now = SteadyClock::now();
      const double secs = std::chrono::duration<double>(now - last).count();
      json routes;
      std::uint64_t answered = 0;
      for (int r = 0; r < kRoutes; ++r) {
        auto& v = stats_.interval_us[r];
        answered += v.size();
        routes[kRouteNames[r]] = {{"answered", v.size()},
                                  {"per_second", static_cast<double>(v.size()) / secs}};
        if (!v.empty()) {
          std::sort(v.begin(), v.end());
          routes[kRouteNames[r]]["p50_ms"] = Quantile(v, 0.50) / 1000.0;
          routes[kRouteNames[r]]["p99_ms"] = Quantile(v, 0.99) / 1000.0;
          routes[kRouteNames[r]]["max_ms"] = v.back() / 1000.0;
        }
        v.clear();
      }
      json line{{"at_seconds", std::chrono::duration<double>(now - start_).count()},
                {"interval_seconds", secs},
                {"answered", answered},
                {"routes", routes},
                {"refusals", stats_.interval_refusals},
                {"io_errors", stats_.interval_io_errors},
                {"exhausted_callers", stats_.exhausted}};
      stats_.interval_refusals.clear();
      stats_.interval_io_errors = 0;
      std::printf("%s\n", line.dump().c_str());
      std::fflush(stdout);
      if (now < window_end_) ScheduleReport(next);
    });
  }
};

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
          self->load_.IoError();
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
  if (step_ == kOutcome && (call_id_ % 3 == 0 || load_.options().only_no_answer)) {
    req = &req_outcome_no_answer_;
  }
  asio::async_write(
      socket_, asio::buffer(*req), [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) {
          self->load_.IoError();
          return self->Retry();
        }
        self->parser_.emplace();
        self->parser_->body_limit(1 << 20);
        http::async_read(self->socket_, self->buffer_, *self->parser_,
                         [self](beast::error_code ec, std::size_t) { self->OnResponse(ec); });
      });
}

void Caller::OnResponse(beast::error_code ec) {
  const auto now = SteadyClock::now();
  Stats& s = load_.stats();
  if (ec) {
    load_.IoError();
    return Retry();
  }
  const auto& res = parser_->get();
  const int status = res.result_int();
  const bool ok = status >= 200 && status < 300;
  const bool in_window = load_.InWindow(now);
  if (in_window) {
    const auto us = static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now - due_).count());
    s.latency_us[step_].push_back(us);
    if (load_.options().report_every > 0) s.interval_us[step_].push_back(us);
  }
  Route next_step = kNext;
  if (ok) {
    if (step_ == kNext && res.body().find("\"lease\"") == std::string::npos) {
      ++s.exhausted;  // nobody left to call: a benchmark too long for its audience
      return;
    }
    ++s.ok_total[step_];
    answered_ = true;
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
    ++s.interval_refusals[std::string(kRouteNames[step_]) + " " + std::to_string(status)];
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
  auto at = [&](double q) { return Quantile(v, q) / 1000.0; };
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
  Recorded r = ReadRecorded(o, data_dir, campaign, false);
  const std::int64_t next_events = r.events["phonebank.next"],
                     connect_events = r.events["phonebank.connect"],
                     outcome_events = r.events["phonebank.outcome"];
  // A renewed lease (next asked again after a refusal) is audited again, so
  // events may exceed the answers; never the reverse.
  const bool ok = r.outcomes == static_cast<std::int64_t>(s.ok_total[kOutcome]) &&
                  next_events >= static_cast<std::int64_t>(s.ok_total[kNext]) &&
                  connect_events == static_cast<std::int64_t>(s.ok_total[kConnect]) &&
                  outcome_events == static_cast<std::int64_t>(s.ok_total[kOutcome]);
  return {{"outcomes_answered", s.ok_total[kOutcome]},
          {"outcome_rows", r.outcomes},
          {"events",
           {{"phonebank.next", next_events},
            {"phonebank.connect", connect_events},
            {"phonebank.outcome", outcome_events}}},
          {"answered",
           {{"calling.next", s.ok_total[kNext]},
            {"calling.connect", s.ok_total[kConnect]},
            {"calling.outcome", s.ok_total[kOutcome]}}},
          {"recorded", ok},
          {"audit_verify_exit", r.audit_verify_exit}};
}

// Drives a server the caller started and owns: prints the totals, no checks.
int RunAttached(const Options& o) {
  const RunStart r = ReadTokens(o);
  Load load(o, o.attach_port, r.campaign, r.tokens);
  load.Run();
  Stats& s = load.stats();
  json answered;
  for (int i = 0; i < kRoutes; ++i) answered[kRouteNames[i]] = s.ok_total[i];
  std::printf("%s\n", json{{"done", true},
                           {"answered_2xx", answered},
                           {"refusals", s.refusals},
                           {"io_errors", s.io_errors},
                           {"exhausted_callers", s.exhausted}}
                          .dump()
                          .c_str());
  return 0;
}

int Run(const Options& o) {
  if (o.attach_port > 0) return RunAttached(o);
  const auto [campaign, tokens, run_dir] = StartRun(o);
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
  EndRun(run_dir);
  std::vector<std::string> failures;
  if (!out["check"]["recorded"].get<bool>()) {
    failures.push_back("the database does not hold what the callers were told: " +
                       out["check"].dump());
  }
  if (out["check"]["audit_verify_exit"] != 0) failures.push_back("`audit verify` failed");
  if (ok_all == 0) failures.push_back("no request was answered 2xx inside the measured window");
  if (const int n = load.Unanswered(); n > 0) {
    failures.push_back(std::to_string(n) + " of " + std::to_string(o.callers) +
                       " callers were never answered 2xx");
  }
  if (!o.allow_errors) {
    std::uint64_t refused = 0;
    for (const auto& [what, n] : s.refusals) refused += n;
    if (s.io_errors > 0) failures.push_back(std::to_string(s.io_errors) + " I/O errors");
    if (refused > 0)
      failures.push_back(std::to_string(refused) + " refusals: " + out["refusals"].dump());
    if (s.exhausted > 0) {
      failures.push_back(std::to_string(s.exhausted) +
                         " callers found nobody left to call (more members, or a shorter run)");
    }
  }
  for (const auto& f : failures) std::fprintf(stderr, "run: FAILED: %s\n", f.c_str());
  return failures.empty() ? 0 : 1;
}

}  // namespace
}  // namespace switchboard::bench

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  switchboard::bench::SetToolName("phonebank_load");
  const auto o = switchboard::bench::ParseArgs(argc, argv);
  return o.mode == "prepare" ? switchboard::bench::Prepare(o) : switchboard::bench::Run(o);
}
