#include "cli/privacy_commands.h"

#include <cstdio>
#include <fstream>
#include <iostream>

#include "access/guard/gate.h"
#include "access/store/access_store.h"
#include "access/store/auth_service.h"
#include "access/store/member_reader.h"
#include "cli/exit_codes.h"
#include "cli/opened_apps.h"
#include "privacy/records.h"
#include "privacy/sar.h"
#include "server/app.h"

namespace switchboard::cli {
namespace {

class PrivacyCommands final : public Command {
 public:
  explicit PrivacyCommands(CLI::App& app) {
    sar_ = app.add_subcommand(
        "sar",
        "A member's subject-access report: everything held about them and who saw it "
        "(recorded; the acting account needs privacy.sar)");
    AddCommon(sar_, &c_);
    sar_->add_option("MEMBER", member_, "Member id")->required()->check(CLI::PositiveNumber);
    sar_->add_option("--as", as_, "Your login: the account acting")->required();
    sar_->add_flag("--password-stdin", password_stdin_,
                   "Read your password from the first line of standard input")
        ->required();
    sar_->add_option("--totp", totp_, "A current code from your authenticator");
    sar_->add_option("--format", format_, "json, html or pdf (default json)")
        ->check(CLI::IsMember({"json", "html", "pdf"}));
    sar_->add_option("--for", audience_,
                     "dpo (names and networks) or member (volunteers by role and unit)")
        ->check(CLI::IsMember({"dpo", "member"}));
    auto* privacy = app.add_subcommand("privacy", "Privacy operations for the DPO");
    records_ = privacy->add_subcommand(
        "records",
        "Records of processing (Art. 30) from the policy file, the purposes of grants and "
        "campaigns, and the mail relay");
    AddCommon(records_, &c_);
    records_->add_option("--format", records_format_, "md or html (default md)")
        ->check(CLI::IsMember({"md", "html"}));
    records_->add_option("--out", out_, "Write to this file (default: standard output)");
    sar_->add_option("--out", out_,
                     "Write to this file (default: standard output; a PDF "
                     "needs --out)");
  }

  std::optional<int> Run(OpenedApps& opened) override {
    if (records_->parsed()) {
      auto app = opened.Open(c_.data_dir, c_.store);
      if (!app) return ExitFor(app.error());
      return Write(Records(**app));
    }
    if (!sar_->parsed()) return std::nullopt;
    if (format_ == "pdf" && out_.empty()) {
      return ExitFor(Status::InvalidArgument("a PDF needs --out FILE"));
    }
    auto app = opened.Open(c_.data_dir, c_.store);
    if (!app) return ExitFor(app.error());
    return Write(Make(**app));
  }

 private:
  int Write(const Result<std::string>& doc) {
    if (!doc) return ExitFor(doc.error());
    if (out_.empty()) {
      std::fwrite(doc->data(), 1, doc->size(), stdout);
      return kExitOk;
    }
    std::ofstream f(out_, std::ios::binary | std::ios::trunc);
    f << *doc;
    f.close();
    if (!f) return ExitFor(Status::Internal("could not write " + out_));
    std::fprintf(stderr, "written to %s\n", out_.c_str());
    return kExitOk;
  }

  Result<std::string> Records(server::App& app) {
    privacy::ProcessingRecords r;
    SB_RETURN_IF_ERROR(app.store().Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(r, privacy::GatherRecords(
                                 tx, app.policy(), app.config().organisation.name,
                                 privacy::StandardRecipients(
                                     app.config().mail.relay,
                                     "the connector `switchboard serve` is configured with", false),
                                 app.clock().Now()));
      return Status::Ok();
    }));
    return records_format_ == "html" ? privacy::RecordsHtml(r, app.tree())
                                     : privacy::RecordsMarkdown(r, app.tree());
  }

  Result<std::string> Make(server::App& app) {
    access::AuthService auth(app.store(), app.policy(), app.sealer(), app.clock(),
                             app.auth_options());
    access::Credentials cred;
    cred.login = as_;
    std::getline(std::cin, cred.password);
    if (!cred.password.empty() && cred.password.back() == '\r') cred.password.pop_back();
    cred.totp = totp_;
    SB_ASSIGN_OR_RETURN(access::LoginOutcome login, auth.Authenticate(cred, "auth.cli"));
    if (login.refusal == access::LoginRefusal::kThrottled) {
      return Status::ResourceExhausted(login.message);
    }
    if (!login.ok()) return Status::PermissionDenied(login.message);
    const AccountId actor = login.who.account.id;
    const bool second = login.who.second_factor;
    const MemberId member(member_);
    privacy::Report report;
    bool refused = false;
    std::string why;
    SB_RETURN_IF_ERROR(app.store().Write([&](store::Tx& tx) -> Status {
      refused = false;
      SB_ASSIGN_OR_RETURN(access::PrincipalData p, access::LoadPrincipal(tx, actor));
      access::Acting who;
      who.account = actor;
      who.staff = p.account.staff;
      who.display_name = p.account.display_name;
      who.now = app.clock().Now();
      who.request_id = "cli";
      auto unit = access::MemberUnit(tx, member);
      access::Target target;
      if (unit) target.unit = *unit;
      const access::Decision d = access::Decide(app.policy(), app.tree(), p.principal(second),
                                                "privacy.sar", target, who.now);
      if (!unit || !d.allow) {
        // Refused, or a member that does not exist: recorded like the API's.
        refused = true;
        why = unit ? d.reason() : "no member has this id";
        return access::RecordRefusal(tx, app.policy(), who, "privacy.sar", d, !unit,
                                     unit ? member : MemberId())
            .status();
      }
      who.decision = &d;
      SB_ASSIGN_OR_RETURN(report, privacy::SubjectAccess(tx, app.sealer(), who, member));
      return Status::Ok();
    }));
    if (refused) return Status::PermissionDenied("refused: " + why);
    SB_RETURN_IF_ERROR(privacy::AddProofs(app.store(), report));
    privacy::RenderOptions o;
    o.audience = audience_ == "member" ? privacy::Audience::kMember : privacy::Audience::kDpo;
    o.name_volunteers = app.policy().privacy_name_volunteers;
    o.organisation = app.config().organisation.name;
    if (format_ == "json") return privacy::ReportJson(report, app.tree(), o).dump(2) + "\n";
    std::string html = privacy::ReportHtml(report, app.tree(), o);
    if (format_ == "html") return html;
    return privacy::PrintToPdf(html, "");
  }

  CLI::App* sar_ = nullptr;
  CLI::App* records_ = nullptr;
  std::string records_format_ = "md";
  Common c_;
  std::int64_t member_ = 0;
  bool password_stdin_ = false;
  std::string as_, totp_, format_ = "json", audience_ = "dpo", out_;
};

}  // namespace

std::unique_ptr<Command> AddPrivacyCommands(CLI::App& app) {
  return std::make_unique<PrivacyCommands>(app);
}

}  // namespace switchboard::cli
