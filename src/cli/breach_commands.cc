#include "cli/breach_commands.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/exit_codes.h"
#include "cli/opened_apps.h"
#include "privacy/breach.h"
#include "server/app.h"

namespace switchboard::cli {
namespace {

using nlohmann::json;

class BreachCommands final : public Command {
 public:
  explicit BreachCommands(CLI::App& app) {
    auto* breach =
        app.add_subcommand("breach", "The breach register: record, list, show, affected");
    breach->require_subcommand(1);
    record_ = breach->add_subcommand("record", "Record a personal-data breach");
    AddCommon(record_, &c_);
    record_->add_option("--discovered", discovered_, "When it was discovered (ISO 8601 or now)")
        ->required();
    record_->add_option("--description", d_.description, "What happened")->required();
    record_->add_option("--data", d_.data_categories, "Kinds of data, e.g. \"names, phones\"")
        ->required();
    record_->add_option("--people", d_.people_categories, "Kinds of people, e.g. \"members\"")
        ->required();
    record_->add_option("--consequences", d_.consequences, "Likely consequences");
    record_->add_option("--measures", d_.measures, "Measures taken or proposed");
    list_ = breach->add_subcommand("list", "Every breach with its 72-hour deadline");
    AddCommon(list_, &c_);
    list_->add_flag("--json", json_, "Print as JSON");
    show_ = breach->add_subcommand("show",
                                   "One breach, its affected members by data class and "
                                   "the draft notifications");
    AddCommon(show_, &c_);
    show_->add_option("ID", id_, "Breach id")->required();
    show_->add_flag("--json", json_, "Print as JSON");
    affected_ = breach->add_subcommand(
        "affected", "Work out the affected members from the audit log and store them");
    AddCommon(affected_, &c_);
    affected_->add_option("ID", id_, "Breach id")->required();
    auto* account = affected_->add_option("--account", account_, "Everything this account read");
    auto* campaign =
        affected_->add_option("--campaign", campaign_, "Everything this campaign revealed");
    auto* exported = affected_->add_option(
        "--export", export_, "Everyone in this export's file (no window: the file is the scope)");
    account->excludes(campaign);
    exported->excludes(account)->excludes(campaign);
    affected_->add_option("--from", from_, "Window start (ISO 8601, inclusive)");
    affected_->add_option("--to", to_, "Window end (ISO 8601 or now, exclusive)");
    affected_->add_flag("--members", members_, "Also print the member ids");
  }

  std::optional<int> Run(OpenedApps& opened) override {
    CLI::App* given = nullptr;
    for (CLI::App* c : {record_, list_, show_, affected_}) {
      if (c->parsed()) given = c;
    }
    if (!given) return std::nullopt;
    auto a = opened.Open(c_.data_dir, c_.store);
    if (!a) return ExitFor(a.error());
    server::App& app = **a;
    access::Acting who;  // the operator at the command line
    who.now = app.clock().Now();
    who.request_id = "cli";
    Status st;
    if (given == record_) {
      st = app.store().Write([&](store::Tx& tx) -> Status {
        SB_ASSIGN_OR_RETURN(Micros at, ParseTimeOrOffset(discovered_, who.now));
        SB_ASSIGN_OR_RETURN(privacy::BreachId id, privacy::RecordBreach(tx, who, d_, at));
        SB_ASSIGN_OR_RETURN(privacy::Breach b, privacy::GetBreach(tx, id));
        std::printf("breach %lld recorded; tell the regulator by %s (%s)\n",
                    static_cast<long long>(id.value()), FormatTimestamp(b.deadline()).c_str(),
                    privacy::DeadlineText(b, who.now).c_str());
        return Status::Ok();
      });
    } else if (given == list_) {
      st = app.store().Read([&](store::Tx& tx) -> Status {
        SB_ASSIGN_OR_RETURN(auto list, privacy::ListBreaches(tx));
        json out = json::array();
        for (const auto& b : list) {
          if (json_) {
            out.push_back(Summary(b, who.now));
            continue;
          }
          std::printf("%lld  %-8s  discovered %s  %s  %lld affected\n",
                      static_cast<long long>(b.id.value()), b.status().c_str(),
                      FormatTimestamp(b.discovered_at).c_str(),
                      b.reported_at ? ("reported " + FormatTimestamp(b.reported_at)).c_str()
                                    : privacy::DeadlineText(b, who.now).c_str(),
                      static_cast<long long>(b.affected));
        }
        if (json_) std::printf("%s\n", out.dump(2).c_str());
        return Status::Ok();
      });
    } else if (given == show_) {
      st = app.store().Read([&](store::Tx& tx) -> Status {
        SB_ASSIGN_OR_RETURN(privacy::Breach b, privacy::GetBreach(tx, privacy::BreachId(id_)));
        const std::string org = app.config().organisation.name;
        if (json_) {
          json j = Summary(b, who.now);
          j["draft_regulator"] = privacy::DraftForRegulator(b, org, "");
          j["draft_members"] = privacy::DraftForMembers(b, org, "");
          std::printf("%s\n", j.dump(2).c_str());
          return Status::Ok();
        }
        std::printf("breach %lld (%s)\n", static_cast<long long>(b.id.value()), b.status().c_str());
        std::printf("deadline %s: %s\n\n", FormatTimestamp(b.deadline()).c_str(),
                    b.reported_at ? "reported" : privacy::DeadlineText(b, who.now).c_str());
        std::printf("---- draft to the regulator ----\n%s\n",
                    privacy::DraftForRegulator(b, org, "").c_str());
        std::printf("---- draft to members ----\n%s", privacy::DraftForMembers(b, org, "").c_str());
        return Status::Ok();
      });
    } else {
      st = app.store().Write([&](store::Tx& tx) -> Status {
        privacy::AffectedScope s;
        if (account_ > 0) {
          s.kind = "account";
          s.id = account_;
        } else if (campaign_ > 0) {
          s.kind = "campaign";
          s.id = campaign_;
        } else if (export_ > 0) {
          s.kind = "export";
          s.id = export_;
        } else {
          return Status::InvalidArgument("give --account, --campaign or --export");
        }
        if (s.kind != "export") {
          if (from_.empty() || to_.empty()) {
            return Status::InvalidArgument("--" + s.kind + " needs --from and --to");
          }
          SB_ASSIGN_OR_RETURN(s.from, ParseTimeOrOffset(from_, who.now));
          SB_ASSIGN_OR_RETURN(s.to, ParseTimeOrOffset(to_, who.now));
        }
        SB_ASSIGN_OR_RETURN(privacy::Breach b,
                            privacy::ComputeAffected(tx, who, privacy::BreachId(id_), s));
        std::printf("%lld members affected\n", static_cast<long long>(b.affected));
        for (const auto& [c, n] : b.counts) {
          std::printf("  %-12s %lld\n", c.c_str(), static_cast<long long>(n));
        }
        if (members_) {
          SB_ASSIGN_OR_RETURN(auto list, privacy::AffectedMembers(tx, b.id));
          for (const auto& m : list) std::printf("member %lld\n", static_cast<long long>(m.member));
        }
        return Status::Ok();
      });
    }
    return st.ok() ? kExitOk : ExitFor(st);
  }

 private:
  static json Summary(const privacy::Breach& b, Micros now) {
    json j{{"id", b.id.value()},
           {"status", b.status()},
           {"discovered_at", FormatTimestamp(b.discovered_at)},
           {"deadline", FormatTimestamp(b.deadline())},
           {"description", b.details.description},
           {"data_categories", b.details.data_categories},
           {"people_categories", b.details.people_categories},
           {"affected", b.affected},
           {"counts", b.counts}};
    if (!b.reported_at) j["deadline_text"] = privacy::DeadlineText(b, now);
    if (b.reported_at) j["reported_at"] = FormatTimestamp(b.reported_at);
    return j;
  }

  Common c_;
  CLI::App *record_, *list_, *show_, *affected_;
  privacy::BreachDetails d_;
  std::string discovered_, from_, to_;
  std::int64_t id_ = 0, account_ = 0, campaign_ = 0, export_ = 0;
  bool json_ = false, members_ = false;
};

}  // namespace

std::unique_ptr<Command> AddBreachCommands(CLI::App& app) {
  return std::make_unique<BreachCommands>(app);
}

}  // namespace switchboard::cli
