#include "cli/cli.h"

#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "audit/audit_log.h"
#include "audit/checkpoint.h"
#include "cli/access_commands.h"
#include "cli/exit_codes.h"
#include "cli/opened_apps.h"
#include "core/csv.h"
#include "core/log.h"
#include "crypto/keyring.h"
#include "members/generate.h"
#include "members/import.h"
#include "members/register.h"
#include "messaging/suppressions.h"
#include "server/app.h"
#include "server/demo.h"
#include "server/http_server.h"
#include "server/mail_delivery.h"
#include "server/member_pages.h"
#include "server/routes.h"
#include "server/sequencer.h"

namespace switchboard::cli {
namespace {

struct Common {
  std::string data_dir = server::DefaultDataDir();
  std::string store;
};

void AddCommon(CLI::App* cmd, Common* c) {
  cmd->add_option("--data-dir", c->data_dir,
                  "Data directory: database, keys and configuration (default "
                  "$SWITCHBOARD_DATA_DIR, else ./switchboard-data)");
  cmd->add_option("--store", c->store,
                  "Store to use instead of the configured one: a SQLite file path or a "
                  "postgresql:// URL");
}

// A progress bar on a terminal, nothing otherwise.
class Progress {
 public:
  explicit Progress(const char* what) : what_(what), tty_(::isatty(STDERR_FILENO)) {}
  void Update(std::uint64_t done, std::uint64_t total, std::uint64_t rows) {
    if (!tty_ || total == 0) return;
    const int pct = static_cast<int>(done * 100 / total);
    if (pct == last_) return;
    last_ = pct;
    std::string bar(pct / 4, '#');
    bar.resize(25, ' ');
    std::fprintf(stderr, "\r%s [%s] %3d%%  %llu rows", what_, bar.c_str(), pct,
                 static_cast<unsigned long long>(rows));
    std::fflush(stderr);
  }
  ~Progress() {
    if (tty_ && last_ >= 0) std::fprintf(stderr, "\n");
  }

 private:
  const char* what_;
  bool tty_;
  int last_ = -1;
};

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

int RunServe(server::App& app, int port_override, bool print_banner) {
  ServerConfig cfg = app.config().server;
  if (port_override >= 0) cfg.port = port_override;
  // Handlers go in before anything announces that the server is up, so a
  // supervisor's prompt SIGTERM always gets a clean shutdown.
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  // Nothing is served from an audit log that does not extend every checkpoint
  // in its checkpoint log (docs/security.md).
  server::CheckpointSequencer sequencer(app.store(), app.audit(), app.audit_key(), app.clock(),
                                        std::chrono::milliseconds(cfg.checkpoint_interval_ms));
  if (Status st = sequencer.Start(); !st.ok()) {
    if (app.audit().integrity().ok()) return ExitFor(st);
    log::Error("audit", "refusing to serve: the audit log failed its start-up check",
               {{"error", st.message()}});
    std::fprintf(stderr,
                 "switchboard: refusing to serve: %s\n"
                 "  (`switchboard audit verify` shows the first bad event; docs/operations.md "
                 "says what to do)\n",
                 st.message().c_str());
    return kExitAudit;
  }
  server::HttpServer http(cfg, {.successes_per_second = app.config().log.requests_per_second});
  server::AddHealthRoutes(http, app);
  server::AddWebRoutes(http);
  auto outbox = server::OutboxFor(app);
  if (!outbox) return ExitFor(outbox.error());
  server::ApiDeps deps = server::ApiDepsFor(app);
  if (*outbox) {
    messaging::Outbox* o = outbox->get();
    deps.on_message_queued = [o] { o->Wake(); };
  }
  server::Api api(deps);
  api.Register(http);
  server::AddMemberPages(http, deps);
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
  log::Info("server", "listening", {{"address", cfg.listen}, {"port", http.port()}});
  if (print_banner) {
    std::printf("switchboard is serving on http://%s:%d  (Ctrl-C stops it)\n", cfg.listen.c_str(),
                http.port());
    std::printf("  web app:   http://%s:%d/\n", cfg.listen.c_str(), http.port());
    std::printf("  health:    http://%s:%d/healthz\n", cfg.listen.c_str(), http.port());
    std::printf("  readiness: http://%s:%d/readyz\n", cfg.listen.c_str(), http.port());
    std::fflush(stdout);
  }
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  http.Stop();
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

// Parses the command line and runs one subcommand, opening data directories
// through `opened`.
int Dispatch(int argc, char** argv, OpenedApps& opened) {
  CLI::App app{"Switchboard: contact members without taking custody of their data.", "switchboard"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "switchboard 0.1.0");

  // init
  Common init_c;
  std::string tree_csv;
  auto* init = app.add_subcommand("init",
                                  "Create a data directory: keys, configuration, "
                                  "database and the organisation tree");
  AddCommon(init, &init_c);
  init->add_option("--tree", tree_csv,
                   "Load the organisation's own tree from this CSV (ons_code,name,region,parent"
                   "[,kind]) instead of the 650 UK constituencies");

  // import
  auto* import = app.add_subcommand("import", "Import members, postcodes or units from CSV");
  import->require_subcommand(1);
  Common imp_c;
  std::string imp_file, imp_profile = "native", imp_unit_col, imp_rejects;
  bool imp_json = false;
  int imp_batch = 0;
  auto* imp_members = import->add_subcommand("members", "Import members from a CSV file");
  AddCommon(imp_members, &imp_c);
  imp_members->add_option("FILE", imp_file, "CSV file (UTF-8)")->required();
  imp_members
      ->add_option("--profile", imp_profile, "Column mapping: native, nationbuilder, civicrm")
      ->check(CLI::IsMember({"native", "nationbuilder", "civicrm"}));
  imp_members->add_option("--unit-column", imp_unit_col,
                          "Column holding each member's unit (ONS code or exact name); without "
                          "it, members are placed by postcode");
  imp_members->add_option("--rejects", imp_rejects, "Rejects file (default FILE.rejects.csv)");
  imp_members->add_option("--batch-size", imp_batch, "Rows per transaction");
  imp_members->add_flag("--json", imp_json, "Print the summary as one JSON object");
  Common pc_c;
  std::string pc_file, pc_rejects;
  bool pc_json = false;
  auto* imp_pc = import->add_subcommand(
      "postcodes",
      "Load a postcode-to-constituency table (ONS Postcode Directory or mySociety shape)");
  AddCommon(imp_pc, &pc_c);
  imp_pc->add_option("FILE", pc_file, "CSV file")->required();
  imp_pc->add_option("--rejects", pc_rejects, "Rejects file (default FILE.rejects.csv)");
  imp_pc->add_flag("--json", pc_json, "Print the summary as one JSON object");
  Common units_c;
  std::string units_file;
  auto* imp_units = import->add_subcommand(
      "units", "Add or update units (e.g. branches) from a CSV: ons_code,name,parent[,kind]");
  AddCommon(imp_units, &units_c);
  imp_units->add_option("FILE", units_file, "CSV file")->required();

  Common sup_c;
  std::string sup_file;
  bool sup_json = false;
  auto* imp_sup = import->add_subcommand(
      "suppressions",
      "Carry over a previous provider's unsubscribe/bounce list (addresses or SHA-256 hashes)");
  AddCommon(imp_sup, &sup_c);
  imp_sup->add_option("FILE", sup_file, "One address or hex SHA-256 per line; CSV: first column")
      ->required();
  imp_sup->add_flag("--json", sup_json, "Print the summary as one JSON object");

  // mail
  auto* mail_cmd = app.add_subcommand("mail", "Member e-mail delivery");
  mail_cmd->require_subcommand(1);
  Common mail_c;
  auto* mail_deliver = mail_cmd->add_subcommand(
      "deliver", "Deliver every queued message now over [mail] relay (serve does this itself)");
  AddCommon(mail_deliver, &mail_c);

  // generate
  auto* generate = app.add_subcommand("generate", "Generate synthetic data");
  generate->require_subcommand(1);
  Common gen_c;
  members::GenerateOptions gen_opt;
  bool gen_json = false;
  auto* gen_members = generate->add_subcommand(
      "members", "Deterministic synthetic members (drama-range phones, example.org emails)");
  AddCommon(gen_members, &gen_c);
  gen_members->add_option("--count", gen_opt.count, "How many members")->required();
  gen_members->add_option("--seed", gen_opt.seed, "Seed; the same seed gives the same members");
  gen_members
      ->add_option("--branches", gen_opt.branches_per_unit,
                   "Synthetic branches per constituency that has none (0-6)")
      ->check(CLI::Range(0, 6));
  gen_members->add_flag("--json", gen_json, "Print the summary as one JSON object");

  // serve
  Common serve_c;
  int serve_port = -1;
  auto* serve = app.add_subcommand("serve", "Run the HTTP API and web interface");
  AddCommon(serve, &serve_c);
  serve->add_option("--port", serve_port, "Port (overrides the configuration; 0 picks one)");

  // demo
  std::string demo_dir = "./demo-data";
  std::uint64_t demo_count = 500000;
  int demo_port = 8080;
  bool demo_no_serve = false;
  std::string demo_capture;
  auto* demo = app.add_subcommand(
      "demo", "Create a fresh demo data directory with synthetic members and serve it");
  std::string demo_store;
  demo->add_option("--smtp-capture", demo_capture,
                   "Start this SMTP capture script (scripts/smtp-capture.py) and deliver the "
                   "demo's e-mail to it");
  demo->add_option("--data-dir", demo_dir, "Demo data directory (recreated; default ./demo-data)");
  demo->add_option("--store", demo_store,
                   "Store to use instead of the data directory's SQLite file: a SQLite file "
                   "path or a postgresql:// URL (an empty database)");
  demo->add_option("--count", demo_count, "Synthetic members (default 500000)");
  demo->add_option("--port", demo_port, "Port to serve on (default 8080)");
  demo->add_flag("--no-serve", demo_no_serve, "Set up and exit without serving");

  // policy
  auto* policy_cmd = app.add_subcommand("policy", "Check the access policy file");
  policy_cmd->require_subcommand(1);
  Common pol_c;
  std::string pol_file;
  auto* pol_check = policy_cmd->add_subcommand(
      "check",
      "Validate a policy file (default: the data directory's policy.toml) and list its roles");
  AddCommon(pol_check, &pol_c);
  pol_check->add_option("FILE", pol_file, "Policy file to check");

  // audit
  auto* audit_cmd = app.add_subcommand("audit", "Verify, prove and query the audit log");
  audit_cmd->require_subcommand(1);
  Common aud_c;
  std::string aud_witness, aud_from, aud_to;
  std::int64_t aud_seq = -1, aud_size = 0, aud_m = 0, aud_n = 0, aud_member = 0, aud_actor = 0;
  bool aud_json = false;
  auto* aud_verify = audit_cmd->add_subcommand(
      "verify", "Check every event against the Merkle tree and every signed checkpoint");
  AddCommon(aud_verify, &aud_c);
  aud_verify->add_option("--witness", aud_witness,
                         "Also check the checkpoints kept in this witness file (the checkpoint "
                         "log of [audit] checkpoint_logs is always checked)");
  aud_verify->add_flag("--json", aud_json, "Print the report as JSON");
  auto* aud_prove = audit_cmd->add_subcommand("prove", "Inclusion proof of one event");
  AddCommon(aud_prove, &aud_c);
  aud_prove->add_option("SEQ", aud_seq, "Event sequence number")->required();
  aud_prove->add_option("--size", aud_size, "Tree size (default: the latest checkpoint's)");
  auto* aud_cons = audit_cmd->add_subcommand(
      "consistency", "Consistency proof between two tree sizes (e.g. two checkpoints)");
  AddCommon(aud_cons, &aud_c);
  aud_cons->add_option("A", aud_m, "Older tree size")->required();
  aud_cons->add_option("B", aud_n, "Newer tree size")->required();
  auto* aud_query = audit_cmd->add_subcommand("query", "Events by member, actor or time");
  AddCommon(aud_query, &aud_c);
  aud_query->add_option("--member", aud_member, "Member id");
  aud_query->add_option("--actor", aud_actor, "Account id");
  aud_query->add_option("--from", aud_from, "From (ISO 8601, inclusive)");
  aud_query->add_option("--to", aud_to, "To (ISO 8601, exclusive)");
  auto* aud_checkpoint = audit_cmd->add_subcommand(
      "checkpoint", "Sign a checkpoint now; with --witness, append it to a file kept elsewhere");
  AddCommon(aud_checkpoint, &aud_c);
  aud_checkpoint->add_option("--witness", aud_witness, "Witness file to append to");
  auto* aud_adopt = audit_cmd->add_subcommand(
      "adopt",
      "Re-create the checkpoint log from the database, on the record: after upgrading, adding "
      "a file to [audit] checkpoint_logs, or restoring an older backup (docs/operations.md)");
  AddCommon(aud_adopt, &aud_c);

  // api
  auto* api_cmd = app.add_subcommand("api", "Describe the HTTP API");
  api_cmd->require_subcommand(1);
  bool api_json = false;
  auto* api_routes = api_cmd->add_subcommand(
      "routes", "List every route with who may call it (the source of docs/openapi.yaml)");
  api_routes->add_flag("--json", api_json, "Print as JSON");

  // status
  Common status_c;
  auto* status = app.add_subcommand("status", "Show what a data directory holds");
  AddCommon(status, &status_c);

  AccessCommands access_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  if (auto code = access_commands.Run(opened)) return *code;
  SystemClock clock;
  if (init->parsed()) {
    server::InitOptions o{init_c.data_dir, init_c.store, tree_csv};
    auto sum = server::InitDataDir(o, clock);
    if (!sum) return ExitFor(sum.error());
    std::printf(
        "Data directory %s ready.\n  store: %s\n  keyring: %s\n  units added: %d\n",
        init_c.data_dir.c_str(), sum->store.c_str(),
        sum->created_keyring ? "created (keys/keyring, mode 0600) - back it up separately" : "kept",
        sum->units_added);
    return kExitOk;
  }
  if (imp_sup->parsed()) {
    auto a = opened.Open(sup_c.data_dir, sup_c.store);
    if (!a) return ExitFor(a.error());
    std::ifstream in(sup_file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "error: cannot read %s\n", sup_file.c_str());
      return kExitUsage;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string name = std::filesystem::path(sup_file).filename().string();
    auto sum =
        messaging::ImportSuppressions((*a)->store(), (*a)->sealer(), ss.str(), name, clock.Now());
    if (!sum) return ExitFor(sum.error());
    for (const auto& r : sum->rejected) {
      std::fprintf(stderr, "%s: line %lld: %s\n", sup_file.c_str(), static_cast<long long>(r.line),
                   r.reason.c_str());
    }
    if (sup_json) {
      nlohmann::json j{{"lines", sum->lines},
                       {"addresses", sum->plain},
                       {"hashes", sum->hashed},
                       {"duplicates", sum->duplicates},
                       {"rejected", sum->rejected.size()},
                       {"members_suppressed", sum->members_suppressed}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf(
          "%lld lines: %lld addresses and %lld hashes added to the suppression list "
          "(%lld already there), %zu rejected; %lld members will get no more e-mail\n",
          static_cast<long long>(sum->lines), static_cast<long long>(sum->plain),
          static_cast<long long>(sum->hashed), static_cast<long long>(sum->duplicates),
          sum->rejected.size(), static_cast<long long>(sum->members_suppressed));
    }
    return kExitOk;  // like member import: rejected lines are reported, the rest applied
  }
  if (mail_deliver->parsed()) {
    auto a = opened.Open(mail_c.data_dir, mail_c.store);
    if (!a) return ExitFor(a.error());
    auto outbox = server::OutboxFor(**a);
    if (!outbox) return ExitFor(outbox.error());
    if (!*outbox) {
      std::fprintf(stderr, "error: [mail] relay is not set in switchboard.toml\n");
      return kExitUsage;
    }
    auto recovered = (*outbox)->Recover();
    if (!recovered) return ExitFor(recovered.error());
    auto st = (*outbox)->DeliverDue();
    if (!st) return ExitFor(st.error());
    std::printf("%lld sent, %lld deferred, %lld failed, %lld suppressed\n",
                static_cast<long long>(st->sent), static_cast<long long>(st->deferred),
                static_cast<long long>(st->failed), static_cast<long long>(st->suppressed));
    return kExitOk;
  }
  if (imp_members->parsed()) {
    auto a = opened.Open(imp_c.data_dir, imp_c.store);
    if (!a) return ExitFor(a.error());
    members::ImportOptions o;
    o.profile = imp_profile;
    if (!imp_unit_col.empty()) o.unit_column = imp_unit_col;
    o.rejects_path = imp_rejects;
    o.batch_size = imp_batch > 0 ? imp_batch : (*a)->config().import.batch_size;
    o.max_record_bytes = static_cast<std::size_t>((*a)->config().import.max_record_bytes);
    o.default_phone_region = (*a)->config().import.default_phone_region;
    Progress bar("importing");
    if (!imp_json) {
      o.progress = [&](std::uint64_t d, std::uint64_t t, std::uint64_t r) { bar.Update(d, t, r); };
    }
    auto sum =
        members::ImportMembers((*a)->store(), (*a)->tree(), (*a)->sealer(), imp_file, o, clock);
    if (!sum) return ExitFor(sum.error());
    if (imp_json) {
      nlohmann::json j = {
          {"rows", sum->rows},
          {"imported", sum->imported},
          {"updated", sum->updated},
          {"unchanged", sum->unchanged},
          {"rejected", sum->rejected},
          {"rejects_file",
           sum->rejects_file.empty() ? nlohmann::json(nullptr) : nlohmann::json(sum->rejects_file)},
          {"seconds", sum->seconds}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf(
          "%llu rows: %llu imported, %llu updated, %llu unchanged, %llu rejected (%.1f s)\n",
          static_cast<unsigned long long>(sum->rows),
          static_cast<unsigned long long>(sum->imported),
          static_cast<unsigned long long>(sum->updated),
          static_cast<unsigned long long>(sum->unchanged),
          static_cast<unsigned long long>(sum->rejected), sum->seconds);
      if (!sum->rejects_file.empty()) {
        std::printf("Rejected rows, each with its line and reason: %s\n",
                    sum->rejects_file.c_str());
      }
    }
    return kExitOk;
  }
  if (imp_pc->parsed()) {
    auto a = opened.Open(pc_c.data_dir, pc_c.store);
    if (!a) return ExitFor(a.error());
    auto sum = members::ImportPostcodes((*a)->store(), (*a)->tree(), pc_file, pc_rejects);
    if (!sum) return ExitFor(sum.error());
    if (pc_json) {
      std::printf("%s\n", nlohmann::json{{"rows", sum->rows},
                                         {"loaded", sum->loaded},
                                         {"rejected", sum->rejected},
                                         {"rejects_file", sum->rejects_file.empty()
                                                              ? nlohmann::json(nullptr)
                                                              : nlohmann::json(sum->rejects_file)}}
                              .dump()
                              .c_str());
    } else {
      std::printf("%llu rows: %llu postcodes loaded, %llu rejected\n",
                  static_cast<unsigned long long>(sum->rows),
                  static_cast<unsigned long long>(sum->loaded),
                  static_cast<unsigned long long>(sum->rejected));
      if (!sum->rejects_file.empty()) std::printf("Rejected rows: %s\n", sum->rejects_file.c_str());
    }
    return kExitOk;
  }
  if (imp_units->parsed()) {
    auto a = opened.Open(units_c.data_dir, units_c.store);
    if (!a) return ExitFor(a.error());
    auto file = csv::MappedFile::Open(units_file);
    if (!file) return ExitFor(file.error());
    auto specs = members::ParseTreeCsv((*file)->data());
    if (!specs) return ExitFor(specs.error().WithContext(units_file));
    int added = 0;
    Status st = (*a)->store().WriteNow([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(added, members::SaveUnits(tx, *specs));
      return Status::Ok();
    });
    if (!st.ok()) return ExitFor(st.WithContext(units_file));
    std::printf("%zu units read: %d added, %zu updated\n", specs->size(), added,
                specs->size() - static_cast<size_t>(added));
    return kExitOk;
  }
  if (gen_members->parsed()) {
    auto a = opened.Open(gen_c.data_dir, gen_c.store);
    if (!a) return ExitFor(a.error());
    Progress bar("generating");
    if (!gen_json)
      gen_opt.progress = [&](std::uint64_t d, std::uint64_t t) { bar.Update(d, t, d); };
    auto sum =
        members::GenerateMembers((*a)->store(), (*a)->tree(), (*a)->sealer(), gen_opt, clock);
    if (!sum) return ExitFor(sum.error());
    if (gen_json) {
      std::printf("%s\n", nlohmann::json{{"members", sum->members},
                                         {"canaries", sum->canaries},
                                         {"branches_created", sum->branches_created},
                                         {"seconds", sum->seconds}}
                              .dump()
                              .c_str());
    } else {
      std::printf("%llu synthetic members (%llu canaries), %llu branches created, %.1f s\n",
                  static_cast<unsigned long long>(sum->members),
                  static_cast<unsigned long long>(sum->canaries),
                  static_cast<unsigned long long>(sum->branches_created), sum->seconds);
    }
    return kExitOk;
  }
  if (api_routes->parsed()) {
    nlohmann::json out = nlohmann::json::array();
    auto add = [&](const server::ApiRoute& r) {
      const char* auth = r.auth == server::RouteAuth::kPublic    ? "public"
                         : r.auth == server::RouteAuth::kSession ? "session"
                                                                 : "capability";
      out.push_back({{"id", r.id},
                     {"method", r.method},
                     {"path", r.path},
                     {"auth", auth},
                     {"capability", r.capability},
                     {"summary", r.summary}});
      if (!api_json) {
        std::printf("%-7s %-40s %-10s %s\n", std::string(r.method).c_str(),
                    std::string(r.path).c_str(), auth, std::string(r.capability).c_str());
      }
    };
    for (const auto& r : server::kHealthRoutes) add(r);
    for (const auto& r : server::kApiRoutes) add(r);
    if (api_json) std::printf("%s\n", out.dump(2).c_str());
    return kExitOk;
  }
  if (serve->parsed()) {
    auto a = opened.Open(serve_c.data_dir, serve_c.store, OpenedApps::Check::kServe);
    if (!a) return ExitFor(a.error());
    return RunServe(**a, serve_port, true);
  }
  if (aud_verify->parsed() || aud_prove->parsed() || aud_cons->parsed() || aud_query->parsed() ||
      aud_checkpoint->parsed() || aud_adopt->parsed()) {
    auto a = opened.Open(
        aud_c.data_dir, aud_c.store,
        aud_checkpoint->parsed() ? OpenedApps::Check::kPreflight : OpenedApps::Check::kInspect);
    if (!a) return ExitFor(a.error());
    server::App& ap = **a;
    if (aud_adopt->parsed()) {
      auto r = audit::AdoptCheckpointLog(ap.store(), ap.audit(), ap.checkpoint_log(),
                                         ap.audit_key(), ap.clock());
      if (!r) return ExitFor(r.error());
      for (const auto& p : r->kept) {
        std::printf("kept %s: it agrees with the database\n", p.c_str());
      }
      for (const auto& p : r->created) {
        std::printf("created %s from the database's checkpoints\n", p.c_str());
      }
      for (const auto& p : r->replaced) {
        std::printf(
            "replaced a checkpoint log that disagreed with the database; the old one is kept "
            "as %s\n",
            p.c_str());
      }
      if (r->created.empty() && r->replaced.empty()) {
        std::printf("nothing to adopt: every checkpoint log agrees with the database\n");
      } else {
        std::printf("recorded as audit.adopt events, under a new signed checkpoint\n");
      }
      return kExitOk;
    }
    if (aud_checkpoint->parsed()) {
      auto cp = ap.audit().Checkpoint(ap.store(), ap.audit_key(), ap.clock());
      if (!cp) return ExitFor(cp.error());
      if (!aud_witness.empty()) {
        Status st = audit::AppendToWitnessFile(aud_witness, {*cp});
        if (!st.ok()) return ExitFor(st);
      }
      std::printf(
          "checkpoint: size %llu, root %s\n",
          static_cast<unsigned long long>(cp->checkpoint.tree_size),
          crypto::ToHex(std::string_view(reinterpret_cast<const char*>(cp->checkpoint.root.data()),
                                         cp->checkpoint.root.size()))
              .c_str());
      return kExitOk;
    }
    int code = kExitOk;
    // The files outside the database are read before the database snapshot
    // begins, so a checkpoint a running server appends meanwhile is not
    // mistaken for one deleted from the database.
    audit::VerifyOptions vo;
    if (aud_verify->parsed()) {
      auto files = ap.checkpoint_log().ReadAll();
      if (!files) return ExitFor(files.error());
      vo.checkpoint_log = std::move(files).value();
      if (!aud_witness.empty()) {
        auto witnessed = audit::ReadWitnessFile(aud_witness);
        if (!witnessed) return ExitFor(witnessed.error());
        vo.external.push_back({"the witness file " + aud_witness, std::move(witnessed).value()});
      }
    }
    Status st = ap.store().Read([&](store::Tx& tx) -> Status {
      auto hex = [](const audit::Hash& h) {
        return crypto::ToHex(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
      };
      if (aud_verify->parsed()) {
        SB_ASSIGN_OR_RETURN(auto report,
                            audit::AuditLog::Verify(tx, ap.audit_key().verify_key(), vo));
        if (aud_json) {
          std::printf("%s\n", nlohmann::json{{"ok", report.ok},
                                             {"events", report.events},
                                             {"checkpoints", report.checkpoints},
                                             {"external_checkpoints", report.external_checkpoints},
                                             {"first_bad", report.first_bad},
                                             {"reason", report.reason},
                                             {"notes", report.notes}}
                                  .dump()
                                  .c_str());
        } else {
          for (const auto& note : report.notes) std::printf("note: %s\n", note.c_str());
          if (report.ok) {
            std::printf(
                "audit log verified: %llu events, %llu signed checkpoints (%llu checked outside "
                "the database), root %s\n",
                static_cast<unsigned long long>(report.events),
                static_cast<unsigned long long>(report.checkpoints),
                static_cast<unsigned long long>(report.external_checkpoints),
                hex(report.root).c_str());
          } else if (report.first_bad >= 0) {
            std::printf("AUDIT LOG FAILED VERIFICATION at index %lld: %s\n",
                        static_cast<long long>(report.first_bad), report.reason.c_str());
          } else {
            std::printf("AUDIT LOG FAILED VERIFICATION: %s\n", report.reason.c_str());
          }
        }
        if (!report.ok) code = kExitAudit;
        return Status::Ok();
      }
      if (aud_prove->parsed()) {
        std::int64_t size = aud_size;
        if (size == 0) {
          SB_ASSIGN_OR_RETURN(auto cps, audit::AuditLog::Checkpoints(tx));
          if (cps.empty()) {
            return Status::FailedPrecondition(
                "no checkpoint yet; run `switchboard audit checkpoint` or pass --size");
          }
          size = static_cast<std::int64_t>(cps.back().checkpoint.tree_size);
        }
        SB_ASSIGN_OR_RETURN(auto proof, audit::AuditLog::Prove(tx, aud_seq, size));
        SB_ASSIGN_OR_RETURN(auto root, audit::AuditLog::RootAt(tx, size));
        nlohmann::json j = {{"seq", aud_seq}, {"tree_size", size}, {"root", hex(root)}};
        for (const auto& h : proof) j["proof"].push_back(hex(h));
        std::printf("%s\n", j.dump(2).c_str());
        return Status::Ok();
      }
      if (aud_cons->parsed()) {
        SB_ASSIGN_OR_RETURN(auto proof, audit::AuditLog::Consistency(tx, aud_m, aud_n));
        SB_ASSIGN_OR_RETURN(auto rm, audit::AuditLog::RootAt(tx, aud_m));
        SB_ASSIGN_OR_RETURN(auto rn, audit::AuditLog::RootAt(tx, aud_n));
        nlohmann::json j = {{"old_size", aud_m},
                            {"new_size", aud_n},
                            {"old_root", hex(rm)},
                            {"new_root", hex(rn)},
                            {"proof", nlohmann::json::array()}};
        for (const auto& h : proof) j["proof"].push_back(hex(h));
        std::printf("%s\n", j.dump(2).c_str());
        return Status::Ok();
      }
      audit::QueryFilter f;
      if (aud_member > 0) f.member = aud_member;
      if (aud_actor > 0) f.actor = aud_actor;
      if (!aud_from.empty()) {
        SB_ASSIGN_OR_RETURN(f.from, ParseTimestamp(aud_from));
      }
      if (!aud_to.empty()) {
        SB_ASSIGN_OR_RETURN(f.to, ParseTimestamp(aud_to));
      }
      SB_ASSIGN_OR_RETURN(auto events, audit::AuditLog::Query(tx, f));
      for (const auto& e : events) std::printf("%s\n", audit::Encode(e).c_str());
      return Status::Ok();
    });
    if (!st.ok()) return ExitFor(st);
    return code;
  }
  if (pol_check->parsed()) {
    const std::string path = pol_file.empty() ? pol_c.data_dir + "/policy.toml" : pol_file;
    auto policy = server::LoadPolicyFile(path);
    if (!policy) {
      std::fprintf(stderr, "switchboard: %s\n", policy.error().message().c_str());
      return kExitUsage;
    }
    std::printf("%s is valid (sha256 %s)\n", path.c_str(), policy->source_hash.c_str());
    for (const auto& [name, role] : policy->roles) {
      std::string caps, fields;
      for (const auto& c : role.capabilities) caps += (caps.empty() ? "" : ", ") + c;
      for (const auto& f : role.fields) fields += (fields.empty() ? "" : ", ") + f;
      std::printf("  %-20s %s, up to %d days\n    capabilities: %s\n    sees: %s\n", name.c_str(),
                  role.privileged ? "privileged (second approver, TOTP)" : "ordinary",
                  role.max_grant_days, caps.c_str(),
                  fields.empty() ? "no member fields" : fields.c_str());
    }
    return kExitOk;
  }
  if (status->parsed()) {
    auto a = opened.Open(status_c.data_dir, status_c.store);
    if (!a) return ExitFor(a.error());
    members::RegisterCounts counts;
    Status st = (*a)->store().Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(counts, members::CountRegister(tx));
      return Status::Ok();
    });
    if (!st.ok()) return ExitFor(st);
    auto v = (*a)->store().SchemaVersion();
    std::printf("store: %s (schema %d)\nunits: %lld\nmembers: %lld\ncontact points: %lld\n",
                (*a)->store().Describe().c_str(), v.value_or(0),
                static_cast<long long>(counts.units), static_cast<long long>(counts.members),
                static_cast<long long>(counts.contact_points));
    return kExitOk;
  }
  if (demo->parsed()) {
    namespace fs = std::filesystem;
    const std::string marker = demo_dir + "/.switchboard-demo";
    if (fs::exists(demo_dir)) {
      if (!fs::exists(marker)) {
        std::fprintf(stderr,
                     "switchboard: %s exists and is not a demo directory; refusing to replace "
                     "it. Pass --data-dir with another path.\n",
                     demo_dir.c_str());
        return kExitUsage;
      }
      std::error_code ec;
      fs::remove_all(demo_dir, ec);
      if (ec)
        return ExitFor(Status::Unavailable("cannot remove " + demo_dir + ": " + ec.message()));
    }
    const Micros t0 = clock.Now();
    auto init_sum = server::InitDataDir({demo_dir, demo_store, ""}, clock);
    if (!init_sum) return ExitFor(init_sum.error());
    {
      std::FILE* f = std::fopen(marker.c_str(), "w");
      if (f) std::fclose(f);
    }
    {
      // The demo's own policy: calling hours all day, so the demo works at any hour.
      std::ofstream pol(demo_dir + "/policy.toml", std::ios::trunc);
      pol << server::DemoPolicyToml();
    }
    // A local SMTP capture for the demo's e-mail: nothing leaves the machine.
    pid_t capture_pid = -1;
    int capture_port = 0;
    const std::string capture_dir = demo_dir + "/captured-mail";
    if (!demo_capture.empty()) {
      int fds[2];
      if (pipe(fds) != 0) return ExitFor(Status::Internal("pipe failed"));
      capture_pid = fork();
      if (capture_pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/usr/bin/python3", "python3", demo_capture.c_str(), capture_dir.c_str(),
              static_cast<char*>(nullptr));
        _exit(127);
      }
      close(fds[1]);
      char buf[32] = {0};
      const ssize_t n = read(fds[0], buf, sizeof buf - 1);
      close(fds[0]);
      capture_port = n > 0 ? std::atoi(buf) : 0;
      if (capture_port <= 0) {
        return ExitFor(
            Status::Unavailable("the SMTP capture did not start (needs Debian's "
                                "python3-aiosmtpd: make setup)"));
      }
    }
    std::shared_ptr<void> stop_capture(nullptr, [capture_pid](void*) {
      if (capture_pid > 0) {
        kill(capture_pid, SIGTERM);
        waitpid(capture_pid, nullptr, 0);
      }
    });
    if (capture_port > 0) {
      // Replace the default [mail] section with one pointing at the capture.
      const std::string path = demo_dir + "/switchboard.toml";
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
          std::to_string(demo_port) + "\"\n";
      std::ofstream out(path, std::ios::trunc);
      out << cfg;
    }
    auto a = opened.Open(demo_dir, demo_store, OpenedApps::Check::kServe);
    if (!a) return ExitFor(a.error());
    members::GenerateOptions g;
    g.count = demo_count;
    g.seed = 42;
    Progress bar("generating");
    g.progress = [&](std::uint64_t d, std::uint64_t t) { bar.Update(d, t, d); };
    auto gen = members::GenerateMembers((*a)->store(), (*a)->tree(), (*a)->sealer(), g, clock);
    if (!gen) return ExitFor(gen.error());
    if (Status st = (*a)->ReloadTree(); !st.ok()) return ExitFor(st);
    members::RegisterCounts counts;
    (void)(*a)->store().Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(counts, members::CountRegister(tx));
      return Status::Ok();
    });
    std::printf(
        "\nDemo data directory: %s (set up in %.1f s)\n"
        "  organisation tree: %lld units (1 nation, 12 regions and nations, 650 constituencies, "
        "%llu synthetic branches)\n"
        "  members: %lld synthetic (seed 42), %lld encrypted contact points, %lld canaries\n"
        "  phones only from Ofcom's drama ranges; emails only @example.org / @example.com\n\n",
        demo_dir.c_str(), static_cast<double>(clock.Now() - t0) / kMicrosPerSecond,
        static_cast<long long>(counts.units),
        static_cast<unsigned long long>(gen->branches_created),
        static_cast<long long>(counts.members), static_cast<long long>(counts.contact_points),
        static_cast<long long>(counts.canaries));
    auto pbk = server::SetUpDemoPhonebank(**a);
    if (!pbk) return ExitFor(pbk.error());
    const int shown_port = demo_port;
    std::printf(
        "Phone bank: campaign %lld in %s is live with %lld members to call (sandbox: calls are "
        "simulated, nothing is dialled).\n"
        "  organiser: login %s  password %s   (create campaigns, invitations, progress)\n"
        "  volunteer: login %s  password %s   (already joined; open the app and press Next)\n"
        "  invitation link for anyone else: http://127.0.0.1:%d%s\n"
        "  (these passwords are printed once; the demo data is synthetic)\n\n",
        static_cast<long long>(pbk->campaign), pbk->unit_name.c_str(),
        static_cast<long long>(pbk->targets), pbk->organiser_login.c_str(),
        pbk->organiser_password.c_str(), pbk->volunteer_login.c_str(),
        pbk->volunteer_password.c_str(), shown_port, pbk->invite_path.c_str());
    auto mailed = server::SendDemoMessage(**a, pbk->organiser_login);
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
    std::fflush(stdout);
    if (demo_no_serve) return kExitOk;
    return RunServe(**a, demo_port, true);
  }
  return kExitUsage;
}

}  // namespace

int Main(int argc, char** argv) {
  // Every command ends by sealing what it appended to the audit log, however
  // it returns.
  OpenedApps opened;
  return opened.Finish(Dispatch(argc, argv, opened));
}

}  // namespace switchboard::cli
