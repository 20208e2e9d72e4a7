#include "cli/erasure_commands.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "cli/exit_codes.h"
#include "cli/opened_apps.h"
#include "privacy/canary.h"
#include "privacy/erasure.h"
#include "privacy/retention.h"
#include "server/app.h"

namespace switchboard::cli {
namespace {

class PrivacyCommands final : public Command {
 public:
  explicit PrivacyCommands(CLI::App& app) {
    erase_ = app.add_subcommand(
        "erase",
        "Erase a member: personal data gone from every table, the id kept as a tombstone, "
        "their e-mail addresses and phone numbers kept suppressed as keyed hashes "
        "(docs/privacy.md)");
    AddCommon(erase_, &erase_c_);
    erase_->add_option("MEMBER", member_, "The member's id")->required();
    erase_
        ->add_option("--reason", reason_,
                     "Why (kept with the erasure record; write no personal data here)")
        ->required();
    erase_->add_flag("--yes", yes_, "Do not ask for confirmation");

    auto* retention =
        app.add_subcommand("retention", "Retention from policy.toml [retention] (docs/privacy.md)");
    retention->require_subcommand(1);
    run_ = retention->add_subcommand(
        "run",
        "Anonymise members lapsed past the period and purge expired sessions, links, "
        "invitations, leases, verification codes, throttles and finished e-mail records");
    AddCommon(run_, &run_c_);
    run_->add_flag("--dry-run", dry_run_, "Print the counts only; change nothing");

    auto* canary = app.add_subcommand("canary", "Canary records in the register");
    canary->require_subcommand(1);
    plant_ = canary->add_subcommand(
        "plant",
        "Plant synthetic members in every unit holding members, up to N each, with drama-range "
        "phones and addresses at a domain whose mail reaches the DPO (docs/privacy.md)");
    AddCommon(plant_, &plant_c_);
    plant_->add_option("--per-unit", per_unit_, "Canaries per unit (1-100)")->required();
    plant_->add_option("--domain", domain_,
                       "Their e-mail domain; point its mail at the DPO (default example.org)");
  }

  std::optional<int> Run(OpenedApps& opened) override {
    if (erase_->parsed()) return Erase(opened);
    if (run_->parsed()) return Retention(opened);
    if (plant_->parsed()) return Plant(opened);
    return std::nullopt;
  }

 private:
  int Erase(OpenedApps& opened) {
    if (member_ <= 0) {
      std::fprintf(stderr, "error: MEMBER: a member id is a positive number\n");
      return kExitUsage;
    }
    if (!yes_) {
      if (!::isatty(STDIN_FILENO)) {
        std::fprintf(stderr,
                     "error: erasure cannot be undone; confirm with --yes when not at a "
                     "terminal\n");
        return kExitUsage;
      }
      std::fprintf(stderr, "Erase member %lld? This cannot be undone. Type the id to confirm: ",
                   static_cast<long long>(member_));
      std::string typed;
      std::getline(std::cin, typed);
      if (typed != std::to_string(member_)) {
        std::fprintf(stderr, "Not confirmed; nothing erased.\n");
        return kExitUsage;
      }
    }
    auto a = opened.Open(erase_c_.data_dir, erase_c_.store);
    if (!a) return ExitFor(a.error());
    server::App& app = **a;
    privacy::EraseCounts counts;
    const Status st = app.store().Write([&](store::Tx& tx) -> Status {
      privacy::EraseRequest r;
      r.member = MemberId(member_);
      r.reason = reason_;
      SB_ASSIGN_OR_RETURN(counts, privacy::Erase(tx, app.sealer(), r, app.clock().Now()));
      return Status::Ok();
    });
    if (!st.ok()) return ExitFor(st);
    const Status scrub = app.store().Scrub();
    std::printf("Member %lld erased. Rows removed or rewritten:\n%s",
                static_cast<long long>(member_), privacy::DescribeCounts(counts).c_str());
    if (!scrub.ok()) {
      std::fprintf(stderr,
                   "warning: %s; the database's write-ahead log may still hold earlier copies "
                   "until the next checkpoint\n",
                   scrub.message().c_str());
    }
    return kExitOk;
  }

  int Retention(OpenedApps& opened) {
    auto a = opened.Open(run_c_.data_dir, run_c_.store);
    if (!a) return ExitFor(a.error());
    server::App& app = **a;
    auto counts =
        privacy::RunRetention(app.store(), app.sealer(), app.policy(), app.clock().Now(), dry_run_);
    if (!counts) return ExitFor(counts.error());
    std::printf("%s\n%s",
                dry_run_ ? "Retention (dry run: nothing changed) would remove:"
                         : "Retention removed or anonymised:",
                privacy::DescribeRetention(*counts).c_str());
    return kExitOk;
  }

  int Plant(OpenedApps& opened) {
    auto a = opened.Open(plant_c_.data_dir, plant_c_.store);
    if (!a) return ExitFor(a.error());
    server::App& app = **a;
    auto sum =
        privacy::PlantCanaries(app.store(), app.sealer(), per_unit_, domain_, app.clock().Now());
    if (!sum) return ExitFor(sum.error());
    std::printf("%lld units: %lld canaries planted, %lld there already\n",
                static_cast<long long>(sum->units), static_cast<long long>(sum->planted),
                static_cast<long long>(sum->already));
    return kExitOk;
  }

  CLI::App* erase_;
  CLI::App* plant_;
  Common plant_c_;
  int per_unit_ = 0;
  std::string domain_ = "example.org";
  CLI::App* run_;
  Common run_c_;
  bool dry_run_ = false;
  Common erase_c_;
  std::int64_t member_ = 0;
  std::string reason_;
  bool yes_ = false;
};

}  // namespace

std::unique_ptr<Command> AddErasureCommands(CLI::App& app) {
  return std::make_unique<PrivacyCommands>(app);
}

}  // namespace switchboard::cli
