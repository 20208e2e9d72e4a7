#include "cli/export_commands.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "access/store/access_store.h"
#include "access/store/auth_service.h"
#include "cli/exit_codes.h"
#include "cli/opened_apps.h"
#include "core/csv.h"
#include "crypto/keyring.h"
#include "crypto/secret_file.h"
#include "privacy/export.h"
#include "privacy/leak.h"
#include "server/app.h"

namespace switchboard::cli {
namespace {

// Export files and leaked files are read whole, up to this size.
constexpr size_t kMaxFileBytes = 512u << 20;

Result<std::string> ReadWhole(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::NotFound("cannot open " + path);
  std::string text;
  char buf[65536];
  while (f.read(buf, sizeof buf) || f.gcount() > 0) {
    text.append(buf, static_cast<size_t>(f.gcount()));
    if (text.size() > kMaxFileBytes) {
      return Status::InvalidArgument(path + " is larger than " + std::to_string(kMaxFileBytes) +
                                     " bytes");
    }
  }
  return text;
}

std::string ReadPasswordLine() {
  std::string line;
  std::getline(std::cin, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// Signs the acting account in as the web does (recorded as "auth.cli").
Result<std::pair<access::Account, bool>> SignIn(server::App& app, const std::string& login,
                                                const std::string& totp) {
  access::AuthService auth(app.store(), app.policy(), app.sealer(), app.clock(),
                           app.auth_options());
  access::Credentials c;
  c.login = login;
  c.password = ReadPasswordLine();
  c.totp = totp;
  SB_ASSIGN_OR_RETURN(access::LoginOutcome out, auth.Authenticate(c, "auth.cli"));
  if (out.refusal == access::LoginRefusal::kThrottled) {
    return Status::ResourceExhausted(out.message);
  }
  if (!out.ok()) return Status::PermissionDenied(out.message);
  return std::make_pair(out.who.account, out.who.second_factor);
}

class ExportCommands final : public Command {
 public:
  explicit ExportCommands(CLI::App& app) {
    auto* ex = app.add_subcommand(
        "export", "Member exports: sealed to your key, approved by a second person, with canaries");
    ex->require_subcommand(1);
    keygen_ = ex->add_subcommand("keygen", "Make a key pair for receiving exports");
    keygen_->add_option("--out", key_file_, "Key file to create (mode 0600)")->required();
    request_ = ex->add_subcommand(
        "request", "Ask for an export (password on standard input, --step-up code required)");
    AddCommon(request_, &c_);
    Acting(request_, "--step-up");
    SignInCode(request_);
    request_->add_option("--scope", scope_, "Unit code or name to export")->required();
    request_->add_option("--purpose", purpose_, "Why the export is needed")->required();
    request_->add_option("--key", key_file_, "Your key file (its public key is used)");
    request_->add_option("--public-key", public_hex_, "Your public key, 64 hex digits");
    approve_ = ex->add_subcommand("approve", "Approve another account's export");
    AddCommon(approve_, &c_);
    Acting(approve_, "--step-up");
    SignInCode(approve_);
    approve_->add_option("ID", id_, "Export id")->required();
    download_ = ex->add_subcommand("download", "Produce your approved export, once");
    AddCommon(download_, &c_);
    Acting(download_, "--totp");
    download_->add_option("ID", id_, "Export id")->required();
    download_->add_option("--out", out_, "File to write (mode 0600)")->required();
    list_ = ex->add_subcommand("list", "Every export: who, when, purpose, approver, rows");
    AddCommon(list_, &c_);
    open_ = ex->add_subcommand("open", "Decrypt an export file with your key file");
    open_->add_option("FILE", file_, "Export file")->required();
    open_->add_option("--key", key_file_, "Your key file")->required();
    open_->add_option("--out", out_, "Write the CSV here (mode 0600) instead of standard output");

    auto* leak = app.add_subcommand("leak", "Name the export a leaked file came from");
    leak->require_subcommand(1);
    trace_ = leak->add_subcommand("trace", "Look for export canaries in any CSV or pasted rows");
    AddCommon(trace_, &c_);
    trace_->add_option("FILE", file_, "The leaked file")->required();
    report_ = leak->add_subcommand(
        "report", "Report that a canary's address or number was reached (raises an alert)");
    AddCommon(report_, &c_);
    report_->add_option("--address", address_, "The e-mail address or phone number reached")
        ->required();
    report_->add_option("--how", how_, "How it was reached (inbound-mail, call, ...)")
        ->default_val("inbound-mail");
  }

  std::optional<int> Run(OpenedApps& opened) override {
    if (keygen_->parsed()) return Keygen();
    if (open_->parsed()) return Open();
    CLI::App* given = nullptr;
    for (CLI::App* c : {request_, approve_, download_, list_, trace_, report_}) {
      if (c->parsed()) given = c;
    }
    if (!given) return std::nullopt;
    auto a = opened.Open(c_.data_dir, c_.store);
    if (!a) return ExitFor(a.error());
    server::App& app = **a;
    privacy::ExportService service(app.store(), app.policy(), app.tree(), app.sealer(),
                                   app.clock());
    if (given == list_) return List(app, service);
    if (given == trace_) return Trace(app);
    if (given == report_) return Report(app);
    auto who = SignIn(app, as_, given == download_ ? code_ : sign_in_code_);
    if (!who) return ExitFor(who.error());
    const AccountId me = who->first.id;
    if (given == request_) return Request(app, service, me);
    if (given == approve_) {
      auto r = service.Approve(me, code_, privacy::ExportId(id_), "cli");
      if (!r) return ExitFor(r.error());
      std::printf("export %lld approved; its requester may download it now\n",
                  static_cast<long long>(id_));
      return kExitOk;
    }
    auto f = service.Produce(me, who->second, privacy::ExportId(id_), "cli");
    if (!f) return ExitFor(f.error());
    Status st = crypto::WriteSecretFile(out_, f->sealed, "export file");
    if (!st.ok()) return ExitFor(st);
    std::printf(
        "export %lld: %lld members, sealed to your key, in %s\n"
        "open it with: switchboard export open %s --key KEYFILE\n",
        static_cast<long long>(id_), static_cast<long long>(f->record.member_rows), out_.c_str(),
        out_.c_str());
    return kExitOk;
  }

 private:
  void Acting(CLI::App* c, const char* code_flag) {
    c->add_option("--as", as_, "Your login (password on standard input)")->required();
    c->add_option(code_flag, code_, "A current code from your authenticator")->required();
  }
  // Signing in takes a code of its own, as on the web: the step-up is a
  // second, fresh one.
  void SignInCode(CLI::App* c) {
    c->add_option("--totp", sign_in_code_,
                  "A code from your authenticator to sign in (an earlier one than --step-up)");
  }

  int Keygen() {
    const privacy::ExportKeyPair k = privacy::GenerateExportKey();
    std::string text = privacy::FormatExportKeyFile(k);
    Status st = crypto::WriteSecretFile(key_file_, text, "export key");
    if (!st.ok()) return ExitFor(st);
    std::printf("key written to %s\npublic key: %s\n", key_file_.c_str(),
                crypto::ToHex(k.public_key).c_str());
    return kExitOk;
  }

  int Open() {
    auto key_text = crypto::ReadSecretFile(key_file_, "export key");
    if (!key_text) return ExitFor(key_text.error());
    auto key = privacy::ParseExportKeyFile(*key_text);
    if (!key) return ExitFor(key.error());
    auto file = ReadWhole(file_);
    if (!file) return ExitFor(file.error());
    auto csv = privacy::OpenExportFile(*file, *key);
    if (!csv) return ExitFor(csv.error());
    if (out_.empty()) {
      std::fwrite(csv->data(), 1, csv->size(), stdout);
      return kExitOk;
    }
    Status st = crypto::WriteSecretFile(out_, *csv, "export CSV");
    return ExitFor(st);
  }

  int Request(server::App& app, privacy::ExportService& service, AccountId me) {
    const members::Unit* u = app.tree().FindByCodeOrName(scope_);
    if (!u)
      return ExitFor(Status::InvalidArgument("no unit has the code or name '" + scope_ + "'"));
    std::string pk;
    if (!public_hex_.empty()) {
      auto b = crypto::FromHex(public_hex_);
      if (!b) return ExitFor(Status::InvalidArgument("--public-key: 64 hex digits"));
      pk = *b;
    } else if (!key_file_.empty()) {
      auto text = crypto::ReadSecretFile(key_file_, "export key");
      if (!text) return ExitFor(text.error());
      auto key = privacy::ParseExportKeyFile(*text);
      if (!key) return ExitFor(key.error());
      pk = key->public_key;
    } else {
      return ExitFor(Status::InvalidArgument("give --key KEYFILE or --public-key HEX"));
    }
    privacy::ExportRequest r;
    r.requester = me;
    r.scope = u->id;
    r.purpose = purpose_;
    r.totp = code_;
    r.recipient_key = pk;
    r.request_id = "cli";
    auto rec = service.Request(r);
    if (!rec) return ExitFor(rec.error());
    std::printf("export %lld requested over %s (%s)%s\n", static_cast<long long>(rec->id.value()),
                u->name.c_str(), rec->role.c_str(),
                rec->state == "pending" ? ": waiting for a second approver" : "");
    return kExitOk;
  }

  int List(server::App& app, privacy::ExportService& service) {
    auto all = service.List();
    if (!all) return ExitFor(all.error());
    Status st = app.store().Read([&](store::Tx& tx) -> Status {
      for (const auto& e : *all) {
        SB_ASSIGN_OR_RETURN(privacy::ExportSummary s,
                            privacy::DescribeExport(tx, app.tree(), e.id));
        std::printf("%-5lld %-9s by %-12s approved by %-12s %s rows %lld  over %s  purpose: %s\n",
                    static_cast<long long>(e.id.value()), e.state.c_str(),
                    s.requester_login.c_str(),
                    s.approver_login.empty() ? "-" : s.approver_login.c_str(),
                    FormatTimestamp(e.produced_at ? e.produced_at : e.requested_at).c_str(),
                    static_cast<long long>(e.member_rows), s.scope_name.c_str(), e.purpose.c_str());
      }
      return Status::Ok();
    });
    return ExitFor(st);
  }

  int Trace(server::App& app) {
    auto text = ReadWhole(file_);
    if (!text) return ExitFor(text.error());
    privacy::CanaryIndex index;
    std::vector<privacy::ExportSummary> named;
    privacy::TraceReport report;
    Status st = app.store().Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(index, privacy::CanaryIndex::Load(tx, app.sealer()));
      report = privacy::Trace(index, *text);
      for (const auto& e : report.exports) {
        SB_ASSIGN_OR_RETURN(privacy::ExportSummary s,
                            privacy::DescribeExport(tx, app.tree(), e.id));
        named.push_back(std::move(s));
      }
      return Status::Ok();
    });
    if (!st.ok()) return ExitFor(st);
    std::printf("read %llu rows (%llu could not be split), fields separated by '%s'\n",
                static_cast<unsigned long long>(report.records),
                static_cast<unsigned long long>(report.bad_records),
                report.delimiter == '\t' ? "\\t" : std::string(1, report.delimiter).c_str());
    bool any = false;
    for (size_t i = 0; i < report.exports.size(); ++i) {
      const auto& t = report.exports[i];
      const auto& s = named[i];
      std::printf(
          "%s export %lld: %zu canaries by e-mail address, %zu by phone number with name\n"
          "  made by %s (%s), requested %s, produced %s, approved by %s\n"
          "  over %s, %lld members; purpose: %s\n",
          t.sufficient ? "TRACED to" : "weak evidence of", static_cast<long long>(t.id.value()),
          t.by_email.size(), t.by_phone_name.size(), s.requester_login.c_str(),
          s.requester_name.c_str(), FormatTimestamp(s.record.requested_at).c_str(),
          s.record.produced_at ? FormatTimestamp(s.record.produced_at).c_str() : "-",
          s.approver_login.empty() ? "nobody (not required)" : s.approver_login.c_str(),
          s.scope_name.c_str(), static_cast<long long>(s.record.member_rows),
          s.record.purpose.c_str());
      any = any || t.sufficient;
    }
    if (!any) {
      std::printf(
          "not traced: no export's canary e-mail address, and no two canaries of one export by "
          "phone number and name, are in this file\n");
    }
    return kExitOk;
  }

  int Report(server::App& app) {
    std::vector<privacy::CanaryTouch> touches;
    Status st = app.store().Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(touches, privacy::ReportCanaryTouch(tx, app.sealer(), address_, how_,
                                                              "cli", app.clock().Now()));
      return Status::Ok();
    });
    if (!st.ok()) return ExitFor(st);
    if (touches.empty()) {
      std::printf("not a canary of any export; no alert raised\n");
      return kExitOk;
    }
    for (const auto& t : touches) {
      std::printf("alert %lld raised: canary of export %lld (made by account %lld)\n",
                  static_cast<long long>(t.alert),
                  static_cast<long long>(t.canary.export_id.value()),
                  static_cast<long long>(t.canary.requester.value()));
    }
    return kExitOk;
  }

  Common c_;
  CLI::App *keygen_, *request_, *approve_, *download_, *list_, *open_, *trace_, *report_;
  std::string sign_in_code_;
  std::string key_file_, as_, code_, scope_, purpose_, public_hex_, out_, file_, address_, how_;
  std::int64_t id_ = 0;
};

}  // namespace

std::unique_ptr<Command> AddExportCommands(CLI::App& app) {
  return std::make_unique<ExportCommands>(app);
}

}  // namespace switchboard::cli
