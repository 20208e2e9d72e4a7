#include "cli/data_commands.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/exit_codes.h"
#include "cli/opened_apps.h"
#include "core/clock.h"
#include "core/csv.h"
#include "members/generate.h"
#include "members/import.h"
#include "members/register.h"
#include "messaging/suppressions.h"
#include "server/app.h"

namespace switchboard::cli {
namespace {

class InitCommand final : public Command {
 public:
  explicit InitCommand(CLI::App& app) {
    init_ = app.add_subcommand("init",
                               "Create a data directory: keys, configuration, "
                               "database and the organisation tree");
    AddCommon(init_, &c_);
    init_->add_option("--tree", tree_csv_,
                      "Load the organisation's own tree from this CSV (ons_code,name,region,parent"
                      "[,kind]) instead of the 650 UK constituencies");
  }

  std::optional<int> Run(OpenedApps&) override {
    if (!init_->parsed()) return std::nullopt;
    SystemClock clock;
    server::InitOptions o{c_.data_dir, c_.store, tree_csv_};
    auto sum = server::InitDataDir(o, clock);
    if (!sum) return ExitFor(sum.error());
    std::printf(
        "Data directory %s ready.\n  store: %s\n  keyring: %s\n  units added: %d\n",
        c_.data_dir.c_str(), sum->store.c_str(),
        sum->created_keyring ? "created (keys/keyring, mode 0600) - back it up separately" : "kept",
        sum->units_added);
    return kExitOk;
  }

 private:
  CLI::App* init_;
  Common c_;
  std::string tree_csv_;
};

class ImportCommands final : public Command {
 public:
  explicit ImportCommands(CLI::App& app) {
    auto* import = app.add_subcommand("import", "Import members, postcodes or units from CSV");
    import->require_subcommand(1);
    AddMembers(import);
    AddPostcodes(import);
    AddUnits(import);
    AddSuppressions(import);
  }

  std::optional<int> Run(OpenedApps& opened) override {
    if (members_->parsed()) return RunMembers(opened);
    if (postcodes_->parsed()) return RunPostcodes(opened);
    if (units_->parsed()) return RunUnits(opened);
    if (suppressions_->parsed()) return RunSuppressions(opened);
    return std::nullopt;
  }

 private:
  void AddMembers(CLI::App* import) {
    members_ = import->add_subcommand("members", "Import members from a CSV file");
    AddCommon(members_, &mem_c_);
    members_->add_option("FILE", mem_file_, "CSV file (UTF-8)")->required();
    members_
        ->add_option("--profile", mem_profile_, "Column mapping: native, nationbuilder, civicrm")
        ->check(CLI::IsMember({"native", "nationbuilder", "civicrm"}));
    members_->add_option("--unit-column", mem_unit_col_,
                         "Column holding each member's unit (ONS code or exact name); without "
                         "it, members are placed by postcode");
    members_->add_option("--rejects", mem_rejects_, "Rejects file (default FILE.rejects.csv)");
    members_->add_option("--batch-size", mem_batch_, "Rows per transaction");
    members_
        ->add_option("--on-match", mem_on_match_,
                     "A row new to its source that matches a member already held (by e-mail, "
                     "or phone and name): skip (default, reported), update that member from "
                     "the row, or reject")
        ->check(CLI::IsMember({"skip", "update", "reject"}));
    members_->add_flag("--json", mem_json_, "Print the summary as one JSON object");
  }

  void AddPostcodes(CLI::App* import) {
    postcodes_ = import->add_subcommand(
        "postcodes",
        "Load a postcode-to-constituency table (ONS Postcode Directory or mySociety shape)");
    AddCommon(postcodes_, &pc_c_);
    postcodes_->add_option("FILE", pc_file_, "CSV file")->required();
    postcodes_->add_option("--rejects", pc_rejects_, "Rejects file (default FILE.rejects.csv)");
    postcodes_->add_flag("--json", pc_json_, "Print the summary as one JSON object");
  }

  void AddUnits(CLI::App* import) {
    units_ = import->add_subcommand(
        "units", "Add or update units (e.g. branches) from a CSV: ons_code,name,parent[,kind]");
    AddCommon(units_, &units_c_);
    units_->add_option("FILE", units_file_, "CSV file")->required();
  }

  void AddSuppressions(CLI::App* import) {
    suppressions_ = import->add_subcommand(
        "suppressions",
        "Carry over a previous provider's unsubscribe/bounce list (addresses or SHA-256 hashes)");
    AddCommon(suppressions_, &sup_c_);
    suppressions_
        ->add_option("FILE", sup_file_, "One address or hex SHA-256 per line; CSV: first column")
        ->required();
    suppressions_->add_flag("--json", sup_json_, "Print the summary as one JSON object");
  }

  int RunMembers(OpenedApps& opened) {
    auto a = opened.Open(mem_c_.data_dir, mem_c_.store);
    if (!a) return ExitFor(a.error());
    members::ImportOptions o;
    o.profile = mem_profile_;
    if (!mem_unit_col_.empty()) o.unit_column = mem_unit_col_;
    o.rejects_path = mem_rejects_;
    o.batch_size = mem_batch_ > 0 ? mem_batch_ : (*a)->config().import.batch_size;
    o.max_record_bytes = static_cast<std::size_t>((*a)->config().import.max_record_bytes);
    o.default_phone_region = (*a)->config().import.default_phone_region;
    auto on_match = members::ParseOnMatch(mem_on_match_);
    if (!on_match) return ExitFor(on_match.error());
    o.on_match = *on_match;
    Progress bar("importing");
    if (!mem_json_) {
      o.progress = [&](std::uint64_t d, std::uint64_t t, std::uint64_t r) { bar.Update(d, t, r); };
    }
    SystemClock clock;
    auto sum =
        members::ImportMembers((*a)->store(), (*a)->tree(), (*a)->sealer(), mem_file_, o, clock);
    if (!sum) return ExitFor(sum.error());
    if (mem_json_) {
      nlohmann::json reports = nlohmann::json::array();
      for (const members::MatchReport& r : sum->reports) {
        reports.push_back({{"line", r.line},
                           {"key", r.key},
                           {"outcome", MatchOutcomeName(r.outcome)},
                           {"member", r.member.value()}});
      }
      nlohmann::json j = {
          {"rows", sum->rows},
          {"imported", sum->imported},
          {"updated", sum->updated},
          {"unchanged", sum->unchanged},
          {"skipped", sum->skipped},
          {"rejected", sum->rejected},
          {"on_match", mem_on_match_},
          {"matched", sum->matched},
          {"matched_by", {{"email", sum->matched_by_email}, {"phone", sum->matched_by_phone}}},
          {"conflicts", sum->conflicts},
          {"possible_duplicates", sum->possible_duplicates},
          {"matches", reports},
          {"unmapped_columns", sum->unmapped_columns},
          {"rejects_file",
           sum->rejects_file.empty() ? nlohmann::json(nullptr) : nlohmann::json(sum->rejects_file)},
          {"seconds", sum->seconds}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      PrintMemberSummary(*sum);
    }
    return kExitOk;
  }

  static const char* MatchOutcomeName(members::MatchOutcome o) {
    switch (o) {
      case members::MatchOutcome::kSkipped:
        return "skipped";
      case members::MatchOutcome::kUpdated:
        return "updated";
      case members::MatchOutcome::kUnchanged:
        return "unchanged";
      case members::MatchOutcome::kRejected:
        return "rejected";
      case members::MatchOutcome::kConflict:
        return "conflict";
      case members::MatchOutcome::kPossibleDuplicate:
        break;
    }
    return "possible_duplicate";
  }

  // Counts, then which rows matched whom by which key (never the values).
  void PrintMemberSummary(const members::ImportSummary& sum) {
    auto n = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
    std::printf(
        "%llu rows: %llu imported, %llu updated, %llu unchanged, %llu skipped, %llu rejected "
        "(%.1f s)\n",
        n(sum.rows), n(sum.imported), n(sum.updated), n(sum.unchanged), n(sum.skipped),
        n(sum.rejected), sum.seconds);
    auto rows_of = [&](auto keep) {
      std::string out;
      int shown = 0, more = 0;
      for (const members::MatchReport& r : sum.reports) {
        if (!keep(r)) continue;
        if (shown++ < 10) {
          out += (out.empty() ? "" : ", ") + std::to_string(r.line) + " (" + r.key + ")";
        } else {
          ++more;
        }
      }
      if (more > 0) out += " and " + std::to_string(more) + " more";
      return out;
    };
    if (sum.matched > 0) {
      const char* what = mem_on_match_ == "update"   ? "updated where they differ"
                         : mem_on_match_ == "reject" ? "rejected"
                                                     : "skipped (--on-match update to update them)";
      std::printf(
          "%llu rows match members already held (by e-mail %llu, by phone and name %llu): "
          "%s. Lines: %s\n",
          n(sum.matched), n(sum.matched_by_email), n(sum.matched_by_phone), what,
          rows_of([](const members::MatchReport& r) {
            return r.outcome != members::MatchOutcome::kConflict &&
                   r.outcome != members::MatchOutcome::kPossibleDuplicate;
          }).c_str());
    }
    if (sum.conflicts > 0) {
      std::printf(
          "%llu rows not imported: their e-mail and phone point at different members. "
          "Lines: %s\n",
          n(sum.conflicts), rows_of([](const members::MatchReport& r) {
                              return r.outcome == members::MatchOutcome::kConflict;
                            }).c_str());
    }
    if (sum.possible_duplicates > 0) {
      std::printf(
          "%llu rows imported but possibly duplicates (same name and postcode district "
          "as a member held). Lines: %s\n",
          n(sum.possible_duplicates),
          rows_of([](const members::MatchReport& r) {
            return r.outcome == members::MatchOutcome::kPossibleDuplicate;
          }).c_str());
    }
    if (!sum.unmapped_columns.empty()) {
      std::string cols;
      for (const std::string& c : sum.unmapped_columns) cols += (cols.empty() ? "" : ", ") + c;
      std::printf("Columns not imported (the %s profile does not map them): %s\n",
                  mem_profile_.c_str(), cols.c_str());
    }
    if (!sum.rejects_file.empty()) {
      std::printf(
          "Rejected, matched and possibly duplicate rows, each with its line and reason: "
          "%s\n",
          sum.rejects_file.c_str());
    }
  }

  int RunPostcodes(OpenedApps& opened) {
    auto a = opened.Open(pc_c_.data_dir, pc_c_.store);
    if (!a) return ExitFor(a.error());
    auto sum = members::ImportPostcodes((*a)->store(), (*a)->tree(), pc_file_, pc_rejects_);
    if (!sum) return ExitFor(sum.error());
    if (pc_json_) {
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

  int RunUnits(OpenedApps& opened) {
    auto a = opened.Open(units_c_.data_dir, units_c_.store);
    if (!a) return ExitFor(a.error());
    auto file = csv::MappedFile::Open(units_file_);
    if (!file) return ExitFor(file.error());
    auto specs = members::ParseTreeCsv((*file)->data());
    if (!specs) return ExitFor(specs.error().WithContext(units_file_));
    int added = 0;
    Status st = (*a)->store().WriteNow([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(added, members::SaveUnits(tx, *specs));
      return Status::Ok();
    });
    if (!st.ok()) return ExitFor(st.WithContext(units_file_));
    std::printf("%zu units read: %d added, %zu updated\n", specs->size(), added,
                specs->size() - static_cast<size_t>(added));
    return kExitOk;
  }

  int RunSuppressions(OpenedApps& opened) {
    auto a = opened.Open(sup_c_.data_dir, sup_c_.store);
    if (!a) return ExitFor(a.error());
    std::ifstream in(sup_file_, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "error: cannot read %s\n", sup_file_.c_str());
      return kExitUsage;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string name = std::filesystem::path(sup_file_).filename().string();
    SystemClock clock;
    auto sum =
        messaging::ImportSuppressions((*a)->store(), (*a)->sealer(), ss.str(), name, clock.Now());
    if (!sum) return ExitFor(sum.error());
    for (const auto& r : sum->rejected) {
      std::fprintf(stderr, "%s: line %lld: %s\n", sup_file_.c_str(), static_cast<long long>(r.line),
                   r.reason.c_str());
    }
    if (sup_json_) {
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

  CLI::App *members_, *postcodes_, *units_, *suppressions_;
  Common mem_c_, pc_c_, units_c_, sup_c_;
  std::string mem_file_, mem_profile_ = "native", mem_unit_col_, mem_rejects_;
  std::string mem_on_match_ = "skip";
  bool mem_json_ = false;
  int mem_batch_ = 0;
  std::string pc_file_, pc_rejects_;
  bool pc_json_ = false;
  std::string units_file_;
  std::string sup_file_;
  bool sup_json_ = false;
};

class GenerateCommands final : public Command {
 public:
  explicit GenerateCommands(CLI::App& app) {
    auto* generate = app.add_subcommand("generate", "Generate synthetic data");
    generate->require_subcommand(1);
    members_ = generate->add_subcommand(
        "members", "Deterministic synthetic members (drama-range phones, example.org emails)");
    AddCommon(members_, &c_);
    members_->add_option("--count", opt_.count, "How many members")->required();
    members_->add_option("--seed", opt_.seed, "Seed; the same seed gives the same members");
    members_
        ->add_option("--branches", opt_.branches_per_unit,
                     "Synthetic branches per constituency that has none (0-6)")
        ->check(CLI::Range(0, 6));
    members_->add_flag("--json", json_, "Print the summary as one JSON object");
  }

  std::optional<int> Run(OpenedApps& opened) override {
    if (!members_->parsed()) return std::nullopt;
    auto a = opened.Open(c_.data_dir, c_.store);
    if (!a) return ExitFor(a.error());
    Progress bar("generating");
    members::GenerateOptions o = opt_;
    if (!json_) o.progress = [&](std::uint64_t d, std::uint64_t t) { bar.Update(d, t, d); };
    SystemClock clock;
    auto sum = members::GenerateMembers((*a)->store(), (*a)->tree(), (*a)->sealer(), o, clock);
    if (!sum) return ExitFor(sum.error());
    if (json_) {
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

 private:
  CLI::App* members_;
  Common c_;
  members::GenerateOptions opt_;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> AddInitCommand(CLI::App& app) {
  return std::make_unique<InitCommand>(app);
}
std::unique_ptr<Command> AddImportCommands(CLI::App& app) {
  return std::make_unique<ImportCommands>(app);
}
std::unique_ptr<Command> AddGenerateCommands(CLI::App& app) {
  return std::make_unique<GenerateCommands>(app);
}

}  // namespace switchboard::cli
