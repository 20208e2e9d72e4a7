#include "cli/contest_commands.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "audit/audit_log.h"
#include "audit/merkle.h"
#include "cli/exit_codes.h"
#include "cli/opened_apps.h"
#include "contest/contests.h"
#include "contest/rulebook.h"
#include "contest/text.h"
#include "core/toml_reader.h"
#include "crypto/keyring.h"
#include "server/app.h"

namespace switchboard::cli {
namespace {

using nlohmann::json;

// A file or standard input, refused past `limit` bytes.
Result<std::string> ReadLimited(std::istream& in, size_t limit, std::string_view what) {
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > limit) {
      return Status::InvalidArgument(std::string(what) + " is larger than " +
                                     std::to_string(limit) + " bytes");
    }
  }
  return text;
}

Result<std::string> ReadPath(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::NotFound("cannot open " + path);
  return ReadLimited(f, TomlReader::kMaxBytes, path);
}

std::string BaseName(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string Hex(const audit::Hash& h) {
  return crypto::ToHex(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}

access::Acting Operator(server::App& app) {
  access::Acting a;
  a.now = app.clock().Now();
  a.request_id = "cli";
  return a;
}

// Prints the message once; bad input (and a name already taken) is 2.
int Fail(const Status& st) { return ExitFor(st); }

class ContestCommands final : public Command {
 public:
  explicit ContestCommands(CLI::App& app) {
    auto* contest = app.add_subcommand("contest",
                                       "Internal elections: rulebooks, nominations, "
                                       "data release, the equal-access ledger");
    contest->require_subcommand(1);
    check_ = contest->add_subcommand("check", "Validate a rulebook file (nothing is stored)");
    check_->add_option("FILE", file_, "Rulebook file")->required();
    load_ = contest->add_subcommand("load", "Validate a rulebook file and store it as a contest");
    AddCommon(load_, &c_);
    load_->add_option("FILE", file_, "Rulebook file")->required();
    amend_ = contest->add_subcommand(
        "amend", "A new version of a contest's rulebook (once announced it waits for approval)");
    AddCommon(amend_, &c_);
    amend_->add_option("CONTEST", slug_, "Contest id (the rulebook's contest.id)")->required();
    amend_->add_option("FILE", file_, "Rulebook file")->required();
    nominate_ = contest->add_subcommand("nominate", "Record one nomination");
    AddCommon(nominate_, &c_);
    nominate_->add_option("CONTEST", slug_, "Contest id")->required();
    nominate_->add_option("--body", nom_.body, "The nominating body (the rulebook's bodies)")
        ->required();
    nominate_
        ->add_option("--nominator", nom_.nominator,
                     "Unit code, affiliate id or a person's reference")
        ->required();
    nominate_->add_option("--candidate", nom_.candidate, "Candidate id")->required();
    nominate_
        ->add_option("--decided-by", nom_.decided_by,
                     "Who decided, e.g. \"all-member "
                     "meeting\"")
        ->required();
    nominate_->add_option("--meeting-on", meeting_on_, "Date of the meeting, YYYY-MM-DD")
        ->required();
    nominate_->add_option("--for", nom_.votes_for, "Votes for");
    nominate_->add_option("--against", nom_.votes_against, "Votes against");
    nominate_->add_option("--abstaining", nom_.votes_abstaining, "Abstentions");
    standing_ = contest->add_subcommand("standing", "Nominations and who qualifies, and why");
    AddCommon(standing_, &c_);
    standing_->add_option("CONTEST", slug_, "Contest id")->required();
    standing_->add_flag("--json", json_, "Print as JSON");
    release_ = contest->add_subcommand(
        "release", "Release member data to qualifying candidates now, if due (serve does it)");
    AddCommon(release_, &c_);
    release_->add_option("CONTEST", slug_, "Contest id")->required();
    ledger_ = contest->add_subcommand("ledger", "The equal-access ledger");
    AddCommon(ledger_, &c_);
    ledger_->add_option("CONTEST", slug_, "Contest id")->required();
    ledger_->add_flag("--json", json_, "Print as JSON");
    report_ = contest->add_subcommand(
        "report",
        "Who authorised it: every message, phone bank and refusal of the contest, "
        "each with its inclusion proof");
    AddCommon(report_, &c_);
    report_->add_option("CONTEST", slug_, "Contest id")->required();
    report_->add_flag("--json", json_, "Print as JSON lines, one event each, with its proof");
    words_ = contest->add_subcommand(
        "words", "Count a statement on standard input as the server does (words-v1)");
    words_->add_option("--rulebook", file_, "Rulebook file (for the limit)")->required();
    names_ = contest->add_subcommand(
        "names",
        "Candidates named in standard input, with where (as the neutrality rule finds "
        "them)");
    names_->add_option("--rulebook", file_, "Rulebook file")->required();
  }

  std::optional<int> Run(OpenedApps& opened) override {
    if (check_->parsed()) return Check();
    if (words_->parsed()) return Words();
    if (names_->parsed()) return Names();
    CLI::App* given = nullptr;
    for (CLI::App* c : {load_, amend_, nominate_, standing_, release_, ledger_, report_}) {
      if (c->parsed()) given = c;
    }
    if (!given) return std::nullopt;
    auto a = opened.Open(c_.data_dir, c_.store);
    if (!a) return ExitFor(a.error());
    server::App& app = **a;
    contest::ContestRules rules(app.tree());
    contest::ContestOperations ops(app.policy(), app.tree(), rules);
    if (given == load_) return Load(app, ops);
    if (given == amend_) return Amend(app, ops);
    if (given == nominate_) return NominateOne(app, ops);
    if (given == standing_) return Standing(app, ops);
    if (given == release_) return Release(app, ops);
    if (given == ledger_) return Ledger(app, ops);
    return Report(app, ops);
  }

 private:
  Result<contest::Rulebook> ParseFile() {
    SB_ASSIGN_OR_RETURN(std::string text, ReadPath(file_));
    return contest::ParseRulebook(text, BaseName(file_));
  }

  int Check() {
    auto rb = ParseFile();
    if (!rb) return Fail(rb.error());
    std::printf("%s is valid: contest %s (%s), version %d, %zu candidates, sha256 %s\n",
                file_.c_str(), rb->id.c_str(), rb->name.c_str(), rb->version, rb->candidates.size(),
                rb->sha256.c_str());
    return kExitOk;
  }

  int Words() {
    auto rb = ParseFile();
    if (!rb) return Fail(rb.error());
    auto text = ReadLimited(std::cin, contest::kMaxTextBytes, "standard input");
    if (!text) return Fail(text.error());
    auto n = contest::CountWords(*text);
    if (!n) return Fail(n.error());
    json j{{"words", *n}, {"limit", rb->word_limit}, {"ok", *n <= rb->word_limit}};
    std::printf("%s\n", j.dump().c_str());
    return kExitOk;
  }

  int Names() {
    auto rb = ParseFile();
    if (!rb) return Fail(rb.error());
    auto text = ReadLimited(std::cin, contest::kMaxTextBytes, "standard input");
    if (!text) return Fail(text.error());
    std::vector<contest::NameEntry> entries;
    for (const auto& c : rb->candidates) {
      contest::NameEntry e{c.id, {c.name}};
      e.names.insert(e.names.end(), c.aliases.begin(), c.aliases.end());
      entries.push_back(std::move(e));
    }
    auto matcher = contest::NameMatcher::Build(entries);
    if (!matcher) return Fail(matcher.error());
    auto found = matcher->Find(*text);
    if (!found) return Fail(found.error());
    json out = json::array();
    for (const auto& m : *found) {
      out.push_back({{"candidate", m.candidate},
                     {"name", m.name},
                     {"begin", m.begin},
                     {"end", m.end},
                     {"line", m.line},
                     {"text", text->substr(m.begin, m.end - m.begin)}});
    }
    std::printf("%s\n", json{{"names", out}}.dump(2).c_str());
    return kExitOk;
  }

  int Load(server::App& app, const contest::ContestOperations& ops) {
    auto text = ReadPath(file_);
    if (!text) return Fail(text.error());
    contest::ContestSummary s;
    Status st = app.store().Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(s, ops.Load(tx, Operator(app), *text, BaseName(file_)));
      return Status::Ok();
    });
    if (!st.ok()) return Fail(st);
    std::printf(
        "loaded contest %s (%s), version %d, id %lld\nsha256 %s (recorded in the audit "
        "log)\nphase now: %s\n",
        s.slug.c_str(), s.name.c_str(), s.version, static_cast<long long>(s.id), s.sha256.c_str(),
        std::string(contest::PhaseName(s.phase)).c_str());
    return kExitOk;
  }

  int Amend(server::App& app, const contest::ContestOperations& ops) {
    auto text = ReadPath(file_);
    if (!text) return Fail(text.error());
    std::pair<int, bool> r;
    Status st = app.store().Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(r, ops.Amend(tx, Operator(app), slug_, *text, BaseName(file_)));
      return Status::Ok();
    });
    if (!st.ok()) return Fail(st);
    if (r.second) {
      std::printf("version %d of %s is in force\n", r.first, slug_.c_str());
    } else {
      std::printf(
          "version %d of %s is proposed; a second person with contest.manage approves "
          "it (web: the contest's rulebook page)\n",
          r.first, slug_.c_str());
    }
    return kExitOk;
  }

  int NominateOne(server::App& app, const contest::ContestOperations& ops) {
    auto day = ParseDate(meeting_on_);
    if (!day) return Fail(Status::InvalidArgument("--meeting-on: a date, YYYY-MM-DD"));
    nom_.meeting_on = *day;
    contest::Nomination n;
    Status st = app.store().Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(n, ops.Nominate(tx, Operator(app), slug_, nom_));
      return Status::Ok();
    });
    if (!st.ok()) return Fail(st);
    std::printf("nomination %lld recorded: %s %s nominates %s\n", static_cast<long long>(n.id),
                n.body.c_str(), n.nominator.c_str(), n.candidate.c_str());
    return kExitOk;
  }

  int Standing(server::App& app, const contest::ContestOperations& ops) {
    contest::Standing s;
    Status st = app.store().Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(s, ops.StandingOf(tx, slug_, app.clock().Now()));
      return Status::Ok();
    });
    if (!st.ok()) return Fail(st);
    if (json_) {
      json out = json::array();
      for (const auto& c : s.candidates) {
        json clauses = json::array();
        for (const auto& cl : c.qualification.clauses) {
          clauses.push_back(
              {{"text", cl.text}, {"met", cl.met}, {"have", cl.have}, {"need", cl.need}});
        }
        out.push_back({{"candidate", c.candidate},
                       {"qualified", c.qualification.qualified},
                       {"explanation", c.qualification.explanation},
                       {"nominations", c.nominations},
                       {"clauses", clauses},
                       {"qualified_at", c.qualified_at ? FormatTimestamp(c.qualified_at) : ""},
                       {"access_from", c.access_from ? FormatTimestamp(c.access_from) : ""}});
      }
      std::printf("%s\n", json{{"contest", s.contest.slug},
                               {"phase", contest::PhaseName(s.contest.phase)},
                               {"candidates", out}}
                              .dump(2)
                              .c_str());
      return kExitOk;
    }
    std::printf("%s: %s\n", s.contest.name.c_str(),
                std::string(contest::PhaseName(s.contest.phase)).c_str());
    for (const auto& c : s.candidates) {
      std::printf("  %-24s %s\n    %s\n", c.name.c_str(),
                  c.qualification.qualified ? "QUALIFIES" : "does not qualify",
                  c.qualification.explanation.c_str());
      if (c.access_from) {
        std::printf("    member data from %s\n", FormatTimestamp(c.access_from).c_str());
      }
    }
    return kExitOk;
  }

  int Release(server::App& app, const contest::ContestOperations& ops) {
    int n = 0;
    Status st = app.store().Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(n, ops.Release(tx, Operator(app), slug_));
      return Status::Ok();
    });
    if (!st.ok()) return Fail(st);
    std::printf("%d candidate(s) released\n", n);
    return kExitOk;
  }

  int Ledger(server::App& app, const contest::ContestOperations& ops) {
    std::vector<contest::LedgerEntry> entries;
    Status st = app.store().Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(entries, ops.Ledger(tx, Operator(app), slug_, true));
      return Status::Ok();
    });
    if (!st.ok()) return Fail(st);
    json out = json::array();
    for (const auto& e : entries) {
      json j{{"id", e.id},       {"at", FormatTimestamp(e.at)}, {"candidate", e.candidate},
             {"entry", e.entry}, {"facility", e.facility},      {"size", e.size},
             {"ref", e.ref}};
      if (e.matches) j["matches"] = e.matches;
      if (e.entry == "entitlement") j["used"] = e.used_at != 0;
      if (e.used_at) j["used_at"] = FormatTimestamp(e.used_at);
      if (!e.used_ref.empty()) j["used_ref"] = e.used_ref;
      if (e.account) j["account"] = e.account;
      out.push_back(j);
    }
    if (json_) {
      std::printf("%s\n", json{{"contest", slug_}, {"ledger", out}}.dump(2).c_str());
      return kExitOk;
    }
    for (const auto& e : entries) {
      std::printf("%-6lld %s  %-10s %-12s %-10s %8lld  %s%s\n", static_cast<long long>(e.id),
                  FormatTimestamp(e.at).c_str(), e.candidate.c_str(), e.entry.c_str(),
                  e.facility.c_str(), static_cast<long long>(e.size), e.ref.c_str(),
                  e.entry == "entitlement" ? (e.used_at ? "  (used)" : "  (open)") : "");
    }
    return kExitOk;
  }

  int Report(server::App& app, const contest::ContestOperations& ops) {
    Status st = app.store().Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(auto lines, ops.Report(tx, slug_));
      SB_ASSIGN_OR_RETURN(auto cps, audit::AuditLog::Checkpoints(tx));
      const std::int64_t size =
          cps.empty() ? 0 : static_cast<std::int64_t>(cps.back().checkpoint.tree_size);
      for (const auto& l : lines) {
        json j{{"seq", l.index},     {"at", FormatTimestamp(l.at)},
               {"action", l.action}, {"decision", l.decision},
               {"rule", l.rule},     {"leaf_hash", l.leaf_hash}};
        if (l.actor) j["actor"] = {{"id", l.actor}, {"name", l.actor_name}};
        if (l.on_behalf_of) j["on_behalf_of"] = l.on_behalf_of;
        if (l.grant) j["grant"] = l.grant;
        if (l.message) j["message"] = l.message;
        if (l.campaign) j["campaign"] = l.campaign;
        if (l.index < size) {
          // Checked here against the latest signed checkpoint, and printed
          // so anyone can check it again (`switchboard audit prove`).
          SB_ASSIGN_OR_RETURN(auto proof, audit::AuditLog::Prove(tx, l.index, size));
          const audit::Hash& root = cps.back().checkpoint.root;
          audit::Hash leaf{};
          SB_ASSIGN_OR_RETURN(std::string raw, crypto::FromHex(l.leaf_hash));
          std::copy(raw.begin(), raw.end(), leaf.begin());
          Status ok = audit::VerifyInclusion(leaf, static_cast<std::uint64_t>(l.index),
                                             static_cast<std::uint64_t>(size), proof, root);
          j["proof"] = {{"tree_size", size},
                        {"root", Hex(root)},
                        {"verified", ok.ok()},
                        {"path", json::array()}};
          for (const auto& h : proof) j["proof"]["path"].push_back(Hex(h));
        } else {
          j["proof"] = {{"pending",
                         "after the latest checkpoint; run `switchboard audit "
                         "checkpoint` and ask again"}};
        }
        if (json_) {
          std::printf("%s\n", j.dump().c_str());
        } else {
          std::printf(
              "#%-8lld %s  %-26s %-5s %-32s %s%s\n", static_cast<long long>(l.index),
              FormatTimestamp(l.at).c_str(), l.action.c_str(), l.decision.c_str(), l.rule.c_str(),
              l.actor ? ("by " + l.actor_name).c_str() : "by the system",
              j["proof"].contains("verified")
                  ? (j["proof"]["verified"].get<bool>() ? "  [proof ok]" : "  [PROOF FAILED]")
                  : "  [not yet checkpointed]");
        }
      }
      return Status::Ok();
    });
    return st.ok() ? kExitOk : Fail(st);
  }

  CLI::App *check_, *load_, *amend_, *nominate_, *standing_, *release_, *ledger_, *report_, *words_,
      *names_;
  Common c_;
  std::string file_, slug_, meeting_on_;
  contest::NominationInput nom_;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> AddContestCommands(CLI::App& app) {
  return std::make_unique<ContestCommands>(app);
}

}  // namespace switchboard::cli
