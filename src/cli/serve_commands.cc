#include "cli/serve_commands.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/exit_codes.h"
#include "cli/opened_apps.h"
#include "core/clock.h"
#include "core/log.h"
#include "members/generate.h"
#include "members/register.h"
#include "privacy/retention.h"
#include "server/app.h"
#include "server/demo.h"
#include "server/http_server.h"
#include "server/mail_delivery.h"
#include "server/member_pages.h"
#include "server/routes.h"
#include "server/sequencer.h"
#include "server/telephony.h"

namespace switchboard::cli {
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

// systemd readiness (docs/operations.md, "Install from the package"): a
// no-op unless NOTIFY_SOCKET is set, i.e. unless started by a Type=notify
// unit. READY=1 goes out once /readyz would answer 200.
void Notify(const std::string& state) { (void)sd_notify(0, state.c_str()); }
void NotifyStatus(const std::string& status) { Notify("STATUS=" + status); }
// Sends READY=1 once, when /readyz's own condition holds: the store can be
// read (start-up reconciliation is done and the server listens by then).
void NotifyReadyOnce(server::App& app, const std::string& where, bool& sent) {
  if (sent) return;
  if (!app.store().SchemaVersion()) {
    NotifyStatus("listening on " + where + "; the database cannot be read yet");
    return;
  }
  Notify("READY=1\nSTATUS=serving on " + where);
  sent = true;
}

// SIGHUP (`systemctl reload switchboard`): what serve read from files at
// start is read again. What cannot be read is logged and the copy in use
// stays: a reload never stops the server.
std::atomic<bool> g_reload{false};
void OnReloadSignal(int) { g_reload = true; }

void ReloadKeyring(server::App& app) {
  if (Status st = app.ReloadKeyring(); !st.ok()) {
    log::Error("keys", "keyring reload failed; keeping the keyring in use", {{"error", st}});
    return;
  }
  log::Info("keys", "keyring reloaded",
            {{"active_key", static_cast<std::int64_t>(app.sealer().keyring()->active_key_id())}});
}

// The keyring file as last read: `switchboard keys rotate` and `keys retire`
// replace it (a new file renamed over the old), which serve notices within a
// second even without SIGHUP, so that nothing is sealed for long under a key
// about to be retired (docs/operations.md, "Key rotation").
struct FileStamp {
  std::uintmax_t inode = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};
FileStamp StampOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {static_cast<std::uintmax_t>(st.st_ino),
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

void ReloadOnSighup(server::App& app, server::HttpServer& http) {
  log::Info("server", "reload requested (SIGHUP)");
  ReloadKeyring(app);
  if (http.tls()) {
    // New connections get the new certificate; open ones keep the old.
    if (Status st = http.LoadTls(); !st.ok()) {
      log::Error("http", "TLS reload refused; still serving the certificate loaded before",
                 {{"error", st.message()}});
    }
  }
}

// Runs retention when it is due; a failure is logged and tried again at the
// next look. The first look (at start) says when the next run is when it
// does not run.
void RunRetentionIfDue(server::App& app, bool first) {
  const Micros now = app.clock().Now();
  auto ran =
      privacy::RunRetentionIfDue(app.store(), app.sealer(), app.policy(), app.time_zone(), now);
  if (!ran) {
    log::Error("retention", "retention run failed; retrying", {{"error", ran.error()}});
  } else if (ran->has_value()) {
    std::int64_t total = 0;
    for (const auto& [kind, n] : **ran) total += n;
    log::Info("retention", "retention ran", {{"rows", total}});
  } else if (first) {
    const Micros next =
        privacy::LastScheduled(app.time_zone(), app.policy().retention_run_hour, now) +
        24 * 3600 * kMicrosPerSecond;
    log::Info("retention", "retention not due", {{"next_run", FormatTimestamp(next)}});
  }
}

int RunServe(server::App& app, int port_override, bool print_banner) {
  ServerConfig cfg = app.config().server;
  if (port_override >= 0) cfg.port = port_override;
  for (std::string* path : {&cfg.tls_cert, &cfg.tls_key}) {
    if (!path->empty() && !std::filesystem::path(*path).is_absolute()) {
      *path = (std::filesystem::path(app.data_dir()) / *path).string();
    }
  }
  // Handlers go in before anything announces that the server is up, so a
  // supervisor's prompt SIGTERM always gets a clean shutdown.
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGHUP, OnReloadSignal);
  NotifyStatus("checking the audit log");
  // Nothing is served from an audit log that does not extend every checkpoint
  // in its checkpoint log (docs/security.md).
  server::CheckpointSequencer sequencer(app.store(), app.audit(), app.audit_key(), app.clock(),
                                        std::chrono::milliseconds(cfg.checkpoint_interval_ms));
  if (Status st = sequencer.Start(); !st.ok()) {
    if (app.audit().integrity().ok()) return ExitFor(st);
    log::Error("audit", "refusing to serve: the audit log failed its start-up check",
               {{"error", st.message()}});
    NotifyStatus("refusing to serve: the audit log failed its start-up check (exit 3)");
    std::fprintf(stderr,
                 "switchboard: refusing to serve: %s\n"
                 "  (`switchboard audit verify` shows the first bad event; docs/operations.md "
                 "says what to do)\n",
                 st.message().c_str());
    return kExitAudit;
  }
  server::HttpServer http(cfg, {.successes_per_second = app.config().log.requests_per_second});
  // A certificate that cannot be read stops serve before anything starts.
  if (http.tls()) {
    if (Status tls = http.LoadTls(); !tls.ok()) {
      (void)sequencer.Stop();
      return ExitFor(tls);
    }
  }
  auto outbox = server::OutboxFor(app);
  if (!outbox) return ExitFor(outbox.error());
  server::AddHealthRoutes(http, app, outbox->get());
  server::AddWebRoutes(http);
  server::ApiDeps deps = server::ApiDepsFor(app);
  // [telephony] connector = "sip": real calls; started (and calls a crash
  // left up reconciled) before anything is served.
  auto connector = server::TelephonyConnectorFor(app);
  if (!connector) {
    (void)sequencer.Stop();
    return ExitFor(connector.error());
  }
  deps.connector = *connector;
  if (*outbox) {
    messaging::Outbox* o = outbox->get();
    deps.on_message_queued = [o] { o->Wake(); };
  }
  server::Api api(deps);
  api.Register(http);
  server::AddMemberPages(http, deps);
  api.RegisterMyDataPages(http);
  // Demo mode only (a demo data directory): the movable clock's routes.
  server::AddDemoRoutes(http, api, app);
  // Calls a crash left active are ended and recorded before anyone can
  // connect again (phonebank/connector.h, Reconcile).
  NotifyStatus("ending calls left active by the last run");
  auto reconciled = api.ReconcileCalls();
  if (!reconciled) {
    (void)sequencer.Stop();
    return ExitFor(reconciled.error());
  }
  if (*reconciled > 0) {
    log::Info("phonebank", "calls left active by the last run were ended",
              {{"calls", *reconciled}});
  }
  if (*outbox) {
    // A crash may have left rows handed to the relay: they count as sent.
    auto recovered = (*outbox)->Recover();
    if (!recovered) return ExitFor(recovered.error());
    (*outbox)->Start();
  }
  Status st = http.Start();
  if (!st.ok()) {
    (void)sequencer.Stop();
    return ExitFor(st);
  }
  log::Info("server", "listening",
            {{"address", cfg.listen}, {"port", http.port()}, {"tls", http.tls()}});
  const std::string where = cfg.listen + ":" + std::to_string(http.port());
  bool ready_sent = false;
  NotifyReadyOnce(app, where, ready_sent);
  FileStamp keyring_stamp = StampOf(server::KeyringPath(app.data_dir()));
  if (print_banner) {
    const char* scheme = http.tls() ? "https" : "http";
    std::printf("switchboard is serving on %s://%s:%d  (Ctrl-C stops it)\n", scheme,
                cfg.listen.c_str(), http.port());
    std::printf("  web app:   %s://%s:%d/\n", scheme, cfg.listen.c_str(), http.port());
    std::printf("  health:    %s://%s:%d/healthz\n", scheme, cfg.listen.c_str(), http.port());
    std::printf("  readiness: %s://%s:%d/readyz\n", scheme, cfg.listen.c_str(), http.port());
    std::fflush(stdout);
  }
  // Contests' data release is written the moment nominations close (the
  // grants themselves start at the rulebook's instant); checked each second.
  for (int tick = 0; !g_stop; ++tick) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (g_reload.exchange(false)) {
      ReloadOnSighup(app, http);
      keyring_stamp = StampOf(server::KeyringPath(app.data_dir()));
    }
    if (tick % 10 != 0) continue;
    NotifyReadyOnce(app, where, ready_sent);
    if (FileStamp now = StampOf(server::KeyringPath(app.data_dir())); !(now == keyring_stamp)) {
      keyring_stamp = now;
      ReloadKeyring(app);
    }
    auto released = api.ReleaseDueContests();
    if (!released) {
      log::Error("contest", "data release failed; retrying", {{"error", released.error()}});
    } else if (*released > 0) {
      log::Info("contest", "candidates released", {{"candidates", *released}});
    }
    if (auto settled = api.SettleCalls(); !settled) {
      log::Error("phonebank", "recording calls' progress failed; retrying",
                 {{"error", settled.error()}});
    }
    // Retention (docs/privacy.md): daily at [retention] run_hour, organisation
    // time; looked at every minute, and at start so a missed run catches up.
    if (tick % 600 == 0) RunRetentionIfDue(app, tick == 0);
  }
  Notify("STOPPING=1\nSTATUS=stopping");
  http.Stop();
  // No call outlives the server: both legs of each are hung up.
  if (auto ended = api.EndAllCalls(); !ended) {
    log::Error("phonebank", "ending calls at shutdown failed", {{"error", ended.error()}});
  } else if (*ended > 0) {
    log::Info("phonebank", "calls ended at shutdown", {{"calls", *ended}});
  }
  if (*outbox) (*outbox)->Stop();
  // The last events of the run go under a signed checkpoint before exit.
  Status cp = sequencer.Stop();
  if (!cp.ok()) {
    log::Error("server", "final audit checkpoint failed", {{"error", cp}});
    return ExitFor(cp);
  }
  log::Info("server", "stopped");
  return kExitOk;
}

class ServeCommand final : public Command {
 public:
  explicit ServeCommand(CLI::App& app) {
    serve_ = app.add_subcommand("serve", "Run the HTTP API and web interface");
    AddCommon(serve_, &c_);
    serve_->add_option("--port", port_, "Port (overrides the configuration; 0 picks one)");
  }

  std::optional<int> Run(OpenedApps& opened) override {
    if (!serve_->parsed()) return std::nullopt;
    auto a = opened.Open(c_.data_dir, c_.store, OpenedApps::Check::kServe);
    if (!a) return ExitFor(a.error());
    return RunServe(**a, port_, true);
  }

 private:
  CLI::App* serve_;
  Common c_;
  int port_ = -1;
};

// The SMTP capture script the demo's e-mail goes to, while it runs.
struct SmtpCapture {
  pid_t pid = -1;
  int port = 0;
};

class DemoCommand final : public Command {
 public:
  explicit DemoCommand(CLI::App& app) {
    demo_ = app.add_subcommand(
        "demo", "Create a fresh demo data directory with synthetic members and serve it");
    demo_->add_option("--smtp-capture", capture_script_,
                      "Start this SMTP capture script (scripts/smtp-capture.py) and deliver the "
                      "demo's e-mail to it");
    demo_->add_option("--data-dir", dir_, "Demo data directory (recreated; default ./demo-data)");
    demo_->add_option("--store", store_,
                      "Store to use instead of the data directory's SQLite file: a SQLite file "
                      "path or a postgresql:// URL (an empty database)");
    demo_->add_option("--count", count_, "Synthetic members (default 500000)");
    demo_->add_option("--port", port_, "Port to serve on (default 8080)");
    demo_->add_flag("--no-serve", no_serve_, "Set up and exit without serving");
  }

  std::optional<int> Run(OpenedApps& opened) override {
    if (!demo_->parsed()) return std::nullopt;
    const std::string marker = server::DemoMarkerPath(dir_);
    if (auto code = RemoveOldDemo(marker)) return *code;
    const Micros t0 = clock_.Now();
    auto init_sum = server::InitDataDir({dir_, store_, ""}, clock_);
    if (!init_sum) return ExitFor(init_sum.error());
    {
      std::FILE* f = std::fopen(marker.c_str(), "w");
      if (f) std::fclose(f);
    }
    {
      // The demo's own policy: calling hours all day, so the demo works at any hour.
      std::ofstream pol(dir_ + "/policy.toml", std::ios::trunc);
      pol << server::DemoPolicyToml();
    }
    // A local SMTP capture for the demo's e-mail: nothing leaves the machine.
    const std::string capture_dir = dir_ + "/captured-mail";
    SmtpCapture capture;
    if (!capture_script_.empty()) {
      auto started = StartCapture(capture_dir);
      if (!started) return ExitFor(started.error());
      capture = *started;
    }
    std::shared_ptr<void> stop_capture(nullptr, [pid = capture.pid](void*) {
      if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, nullptr, 0);
      }
    });
    if (capture.port > 0) PointMailAt(capture.port);
    auto a = opened.Open(dir_, store_, OpenedApps::Check::kServe);
    if (!a) return ExitFor(a.error());
    if (auto code = GenerateMembers(**a, t0)) return *code;
    if (auto code = SetUpPhonebankAndMail(**a, capture.port, capture_dir)) return *code;
    if (auto code = SetUpContest(**a)) return *code;
    if (auto code = SetUpDpo(**a)) return *code;
    std::fflush(stdout);
    if (no_serve_) return kExitOk;
    return RunServe(**a, port_, true);
  }

 private:
  // Removes a demo directory an earlier run made; refuses any other
  // directory. The exit code when it cannot; nullopt otherwise.
  std::optional<int> RemoveOldDemo(const std::string& marker) {
    namespace fs = std::filesystem;
    if (!fs::exists(dir_)) return std::nullopt;
    if (!fs::exists(marker)) {
      std::fprintf(stderr,
                   "switchboard: %s exists and is not a demo directory; refusing to replace "
                   "it. Pass --data-dir with another path.\n",
                   dir_.c_str());
      return kExitUsage;
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
    if (ec) return ExitFor(Status::Unavailable("cannot remove " + dir_ + ": " + ec.message()));
    return std::nullopt;
  }

  // Starts the capture script, which prints the port it listens on.
  Result<SmtpCapture> StartCapture(const std::string& capture_dir) {
    SmtpCapture c;
    int fds[2];
    if (pipe(fds) != 0) return Status::Internal("pipe failed");
    c.pid = fork();
    if (c.pid == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      close(fds[1]);
      execl("/usr/bin/python3", "python3", capture_script_.c_str(), capture_dir.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    char buf[32] = {0};
    const ssize_t n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    c.port = n > 0 ? std::atoi(buf) : 0;
    if (c.port <= 0) {
      return Status::Unavailable(
          "the SMTP capture did not start (needs Debian's "
          "python3-aiosmtpd: make setup)");
    }
    return c;
  }

  // Replaces the default [mail] section with one pointing at the capture.
  void PointMailAt(int capture_port) {
    const std::string path = dir_ + "/switchboard.toml";
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string cfg = ss.str();
    const auto at = cfg.find("[mail]");
    if (at != std::string::npos) cfg.resize(at);
    cfg +=
        "[mail]\n# The demo's local SMTP capture (scripts/smtp-capture.py); for a real relay\n"
        "# see docs/email-guide.md and docs/config.example.toml.\nrelay = \"smtp://127.0.0.1:" +
        std::to_string(capture_port) +
        "\"\ntls = \"none\"\npublic_base_url = "
        "\"http://127.0.0.1:" +
        std::to_string(port_) + "\"\n";
    std::ofstream out(path, std::ios::trunc);
    out << cfg;
  }

  // The synthetic members (seed 42), and what the directory then holds.
  std::optional<int> GenerateMembers(server::App& app, Micros t0) {
    members::GenerateOptions g;
    g.count = count_;
    g.seed = 42;
    Progress bar("generating");
    g.progress = [&](std::uint64_t d, std::uint64_t t) { bar.Update(d, t, d); };
    auto gen = members::GenerateMembers(app.store(), app.tree(), app.sealer(), g, clock_);
    if (!gen) return ExitFor(gen.error());
    if (Status st = app.ReloadTree(); !st.ok()) return ExitFor(st);
    members::RegisterCounts counts;
    (void)app.store().Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(counts, members::CountRegister(tx));
      return Status::Ok();
    });
    std::printf(
        "\nDemo data directory: %s (set up in %.1f s)\n"
        "  organisation tree: %lld units (1 nation, 12 regions and nations, 650 constituencies, "
        "%llu synthetic branches)\n"
        "  members: %lld synthetic (seed 42), %lld encrypted contact points, %lld canaries\n"
        "  phones only from Ofcom's drama ranges; emails only @example.org / @example.com\n\n",
        dir_.c_str(), static_cast<double>(clock_.Now() - t0) / kMicrosPerSecond,
        static_cast<long long>(counts.units),
        static_cast<unsigned long long>(gen->branches_created),
        static_cast<long long>(counts.members), static_cast<long long>(counts.contact_points),
        static_cast<long long>(counts.canaries));
    return std::nullopt;
  }

  // A live campaign with an organiser and a volunteer, and a welcome message
  // queued to every member.
  std::optional<int> SetUpPhonebankAndMail(server::App& app, int capture_port,
                                           const std::string& capture_dir) {
    auto pbk = server::SetUpDemoPhonebank(app);
    if (!pbk) return ExitFor(pbk.error());
    std::printf(
        "Phone bank: campaign %lld in %s is live with %lld members to call (sandbox: calls are "
        "simulated, nothing is dialled).\n"
        "  %lld calls made by 5 demo callers over the last two days: see the organiser's "
        "progress and survey results\n"
        "  organiser: login %s  password %s   (create campaigns, invitations, progress)\n"
        "  volunteer: login %s  password %s   (already joined; open the app and press Next)\n"
        "  invitation link for anyone else: http://127.0.0.1:%d%s\n"
        "  (press \"I'm new here\" and give any address: the sign-up link arrives in the mail "
        "capture)\n"
        "  (these passwords are printed once; the demo data is synthetic)\n\n",
        static_cast<long long>(pbk->campaign), pbk->unit_name.c_str(),
        static_cast<long long>(pbk->targets), static_cast<long long>(pbk->demo_calls),
        pbk->organiser_login.c_str(), pbk->organiser_password.c_str(), pbk->volunteer_login.c_str(),
        pbk->volunteer_password.c_str(), port_, pbk->invite_path.c_str());
    auto mailed = server::SendDemoMessage(app, pbk->organiser_login);
    if (!mailed) return ExitFor(mailed.error());
    if (capture_port > 0) {
      std::printf(
          "E-mail: a welcome message from the organiser to %lld members is being delivered to "
          "a local SMTP capture;\n  open the .eml files in %s with any mail reader. Unsubscribe "
          "links in them work against this server.\n\n",
          static_cast<long long>(*mailed), capture_dir.c_str());
    } else {
      std::printf(
          "E-mail: a welcome message to %lld members is queued ([mail] relay is not set, "
          "so nothing is delivered).\n\n",
          static_cast<long long>(*mailed));
    }
    return std::nullopt;
  }

  // The data-protection officer, with alerts and a breach to look at.
  std::optional<int> SetUpDpo(server::App& app) {
    auto d = server::SetUpDemoDpo(app);
    if (!d) return ExitFor(d.error());
    std::string suspended;
    for (const auto& l : d->suspended) suspended += (suspended.empty() ? "" : " and ") + l;
    std::printf(
        "Data protection: %s were suspended by the probing rule (open alerts); breach %lld,\n"
        "  recorded a day ago, affects %lld members (worked out from the audit log).\n"
        "  dpo: login %s  password %s   (Data protection: alerts, audit log with proofs,\n"
        "       breaches, checkpoints). The role is privileged: add this second factor to an\n"
        "       authenticator app, or type `oathtool --totp -b %s` for a code:\n"
        "       %s\n\n",
        suspended.c_str(), static_cast<long long>(d->breach), static_cast<long long>(d->affected),
        d->login.c_str(), d->password.c_str(), d->totp_secret.c_str(), d->totp_uri.c_str());
    return std::nullopt;
  }

  // The leadership contest, with nominations open, and how to walk it.
  std::optional<int> SetUpContest(server::App& app) {
    auto c = server::SetUpDemoContest(app);
    if (!c) return ExitFor(c.error());
    std::printf("Contest: %s (%s), in the 2020 shape; nominations are open and close at %s.\n",
                c->name.c_str(), c->slug.c_str(), FormatTimestamp(c->nominations_close).c_str());
    for (const std::string& line : c->standing) std::printf("  %s\n", line.c_str());
    for (const auto& l : c->accounts) {
      std::printf("  %-24s password %s   (%s)\n", l.login.c_str(), l.password.c_str(),
                  l.part.c_str());
    }
    std::printf(
        "  The organiser above is staff: neutrality binds it while the contest runs.\n"
        "  Try: sign in as %s, open Contests, move the demo clock to nominations close\n"
        "  (data release), then on to the ballot (%s) and its close (%s).\n\n",
        c->accounts.front().login.c_str(), FormatTimestamp(c->ballot_open).c_str(),
        FormatTimestamp(c->ballot_close).c_str());
    return std::nullopt;
  }

  CLI::App* demo_;
  std::string dir_ = "./demo-data";
  std::string store_;
  std::uint64_t count_ = 500000;
  int port_ = 8080;
  bool no_serve_ = false;
  std::string capture_script_;
  SystemClock clock_;
};

}  // namespace

std::unique_ptr<Command> AddServeCommand(CLI::App& app) {
  return std::make_unique<ServeCommand>(app);
}
std::unique_ptr<Command> AddDemoCommand(CLI::App& app) {
  return std::make_unique<DemoCommand>(app);
}

}  // namespace switchboard::cli
