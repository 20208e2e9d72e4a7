// ContestOperations and the ledger (contests.h).
#include <algorithm>

#include "access/store/access_service.h"
#include "access/store/access_store.h"
#include "audit/audit_log.h"
#include "audit/merkle.h"
#include "contest/contests.h"
#include "crypto/keyring.h"
#include "members/register.h"
#include "segment/segment.h"

namespace switchboard::contest {
namespace {

Status BumpContestVersion(store::Tx& tx) {
  return tx.Exec("UPDATE contest_version SET n = n + 1 WHERE id = 1").status();
}

audit::Event ContestEvent(const access::Acting& who, std::string_view action, std::int64_t contest,
                          std::string_view rule) {
  audit::Event e = who.Allow(action);
  if (!who.account.valid() && !who.decision) e.rule = "operator";
  if (!rule.empty()) e.rule = std::string(rule);
  e.contest = contest;
  return e;
}

Status Record(store::Tx& tx, const audit::Event& e) {
  return audit::AuditLog::Append(tx, e).status();
}

// The checks ParseRulebook cannot make: the scope and every account named.
Status CheckAgainstStore(store::Tx& tx, const members::OrgTree& tree, const Rulebook& rb,
                         std::string_view source, UnitId* scope) {
  if (rb.scope.empty()) {
    if (!tree.root()) return Status::FailedPrecondition("the organisation tree is empty");
    *scope = tree.root()->id;
  } else {
    const members::Unit* u = tree.FindByCode(rb.scope);
    if (!u) {
      return Status::InvalidArgument(std::string(source) + ": contest.scope: no unit has code '" +
                                     rb.scope + "'");
    }
    *scope = u->id;
  }
  auto need = [&](const std::string& login, const std::string& field) -> Status {
    auto a = access::FindAccount(tx, login);
    if (a) return Status::Ok();
    if (a.error().code() != StatusCode::kNotFound) return a.error();
    return Status::InvalidArgument(std::string(source) + ": " + field + ": no account '" + login +
                                   "' (create it with `switchboard account add` first)");
  };
  SB_RETURN_IF_ERROR(need(rb.returning_officer, "contest.returning_officer"));
  for (size_t i = 0; i < rb.procedures_committee.size(); ++i) {
    SB_RETURN_IF_ERROR(need(rb.procedures_committee[i],
                            "contest.procedures_committee[" + std::to_string(i) + "]"));
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < rb.candidates.size(); ++i) {
    for (size_t j = 0; j < rb.candidates[i].accounts.size(); ++j) {
      const std::string& login = rb.candidates[i].accounts[j];
      const std::string field =
          "candidates[" + std::to_string(i) + "].accounts[" + std::to_string(j) + "]";
      SB_RETURN_IF_ERROR(need(login, field));
      if (!seen.insert(login).second) {
        return Status::InvalidArgument(std::string(source) + ": " + field + ": account '" + login +
                                       "' already works for another candidate");
      }
    }
  }
  for (size_t i = 0; i < rb.staff_accounts.size(); ++i) {
    SB_RETURN_IF_ERROR(
        need(rb.staff_accounts[i], "neutrality.staff_accounts[" + std::to_string(i) + "]"));
  }
  for (size_t i = 0; i < rb.leave.size(); ++i) {
    SB_RETURN_IF_ERROR(need(rb.leave[i].account, "neutrality.leave[" + std::to_string(i) +
                                                     "].account (line " +
                                                     std::to_string(rb.leave[i].line) + ")"));
  }
  return Status::Ok();
}

struct ContestRow {
  std::int64_t id = 0;
  std::string slug, name;
  int version = 0;
  UnitId scope;
  Micros released_at = 0;
};

Result<ContestRow> FindContest(store::Tx& tx, std::string_view slug) {
  std::optional<ContestRow> out;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT id, slug, name, version, scope_unit, released_at FROM contests WHERE slug = $1",
      {std::string(slug)}, [&](const store::Row& r) {
        out = ContestRow{r.Int(0),
                         std::string(r.Text(1)),
                         std::string(r.Text(2)),
                         static_cast<int>(r.Int(3)),
                         UnitId(r.Int(4)),
                         r.IntOr(5, 0)};
        return false;
      }));
  if (!out) return Status::NotFound("no contest is named '" + std::string(slug) + "'");
  return *out;
}

Result<Rulebook> RulebookOf(store::Tx& tx, const ContestRow& c, int version) {
  std::string text;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT text FROM contest_rulebooks WHERE contest_id = $1 AND version = $2",
               {c.id, static_cast<std::int64_t>(version)}, [&](const store::Row& r) {
                 text = std::string(r.Text(0));
                 return false;
               }));
  if (text.empty()) return Status::NotFound("contest " + c.slug + " has no such version");
  return ParseRulebook(text, c.slug + ".toml");
}

ContestSummary SummaryOf(const ContestRow& row, const Rulebook& rb, Micros now) {
  ContestSummary s;
  s.id = row.id;
  s.slug = row.slug;
  s.name = row.name;
  s.version = row.version;
  s.sha256 = rb.sha256;
  s.phase = rb.PhaseAt(now);
  s.released_at = row.released_at;
  return s;
}

Status InsertRulebook(store::Tx& tx, std::int64_t contest, const Rulebook& rb,
                      std::string_view text, std::string_view state, const access::Acting& who) {
  return tx
      .Exec(
          "INSERT INTO contest_rulebooks (contest_id, version, text, sha256, state, proposed_by, "
          "proposed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
          {contest, static_cast<std::int64_t>(rb.version), std::string(text), rb.sha256,
           std::string(state),
           who.account.valid() ? store::Value(who.account.value()) : store::Value(), who.now})
      .status();
}

std::string HashRule(std::string_view prefix, const Rulebook& rb) {
  return std::string(prefix) + ".v" + std::to_string(rb.version) + ":sha256:" + rb.sha256;
}

}  // namespace

// ---- the ledger ----------------------------------------------------------------

Status RecordUse(store::Tx& tx, const Compiled& c, const access::Acting& who,
                 std::string_view candidate, std::string_view facility, std::int64_t size,
                 std::string_view ref) {
  const store::Value account =
      who.account.valid() ? store::Value(who.account.value()) : store::Value();
  std::int64_t use = 0;
  SB_RETURN_IF_ERROR(
      tx.Query("INSERT INTO contest_ledger (contest_id, at, candidate, entry, facility, size, ref, "
               "account_id) VALUES ($1, $2, $3, 'used', $4, $5, $6, $7) RETURNING id",
               {c.id, who.now, std::string(candidate), std::string(facility), size,
                std::string(ref), account},
               [&](const store::Row& r) {
                 use = r.Int(0);
                 return false;
               }));
  SB_RETURN_IF_ERROR(Record(
      tx, ContestEvent(who, "contest.ledger", c.id, "ledger.used:" + std::string(facility))));
  if (candidate == "*") return Status::Ok();  // an official notice: all alike
  // A use that takes up an entitlement matches a rival's; otherwise every
  // other qualifying candidate may now do the same.
  std::int64_t entitlement = 0;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT id FROM contest_ledger WHERE contest_id = $1 AND candidate = $2 AND "
               "entry = 'entitlement' AND facility = $3 AND used_at IS NULL ORDER BY id LIMIT 1",
               {c.id, std::string(candidate), std::string(facility)}, [&](const store::Row& r) {
                 entitlement = r.Int(0);
                 return false;
               }));
  if (entitlement != 0) {
    SB_RETURN_IF_ERROR(
        tx.Exec("UPDATE contest_ledger SET used_at = $1, used_ref = $2 WHERE id = $3",
                {who.now, std::string(ref), entitlement})
            .status());
    SB_RETURN_IF_ERROR(
        tx.Exec("UPDATE contest_ledger SET matches = $1 WHERE id = $2", {entitlement, use})
            .status());
    return Record(tx, ContestEvent(who, "contest.ledger", c.id,
                                   "ledger.entitlement_used:" + std::string(facility)));
  }
  for (const auto& [rival, from] : c.qualified) {
    if (rival == candidate) continue;
    SB_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO contest_ledger (contest_id, at, candidate, entry, facility, size, "
                "ref, matches) VALUES ($1, $2, $3, 'entitlement', $4, $5, $6, $7)",
                {c.id, who.now, rival, std::string(facility), size, std::string(ref), use})
            .status());
    SB_RETURN_IF_ERROR(Record(tx, ContestEvent(who, "contest.ledger", c.id,
                                               "ledger.entitlement:" + std::string(facility))));
  }
  return Status::Ok();
}

// ---- operations ----------------------------------------------------------------

Result<Rulebook> ContestOperations::Validate(store::Tx& tx, std::string_view text,
                                             std::string_view source_name) const {
  SB_ASSIGN_OR_RETURN(Rulebook rb, ParseRulebook(text, source_name));
  UnitId scope;
  SB_RETURN_IF_ERROR(CheckAgainstStore(tx, tree_, rb, source_name, &scope));
  return rb;
}

Result<ContestSummary> ContestOperations::Load(store::Tx& tx, const access::Acting& who,
                                               std::string_view text,
                                               std::string_view source_name) const {
  SB_ASSIGN_OR_RETURN(Rulebook rb, ParseRulebook(text, source_name));
  UnitId scope;
  SB_RETURN_IF_ERROR(CheckAgainstStore(tx, tree_, rb, source_name, &scope));
  SB_ASSIGN_OR_RETURN(std::int64_t exists,
                      tx.QueryInt("SELECT COUNT(*) FROM contests WHERE slug = $1", {rb.id}));
  if (exists > 0) {
    return Status::AlreadyExists("a contest named '" + rb.id +
                                 "' is already loaded; change its rulebook with `switchboard "
                                 "contest amend`");
  }
  SB_ASSIGN_OR_RETURN(
      std::int64_t id,
      tx.QueryInt("INSERT INTO contests (slug, name, version, scope_unit, "
                  "created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                  {rb.id, rb.name, static_cast<std::int64_t>(rb.version), scope.value(), who.now}));
  SB_RETURN_IF_ERROR(InsertRulebook(tx, id, rb, text, "in_force", who));
  SB_RETURN_IF_ERROR(BumpContestVersion(tx));
  SB_RETURN_IF_ERROR(Record(tx, ContestEvent(who, "contest.load", id, HashRule("rulebook", rb))));
  ContestRow row{id, rb.id, rb.name, rb.version, scope, 0};
  return SummaryOf(row, rb, who.now);
}

Result<std::pair<int, bool>> ContestOperations::Amend(store::Tx& tx, const access::Acting& who,
                                                      std::string_view slug, std::string_view text,
                                                      std::string_view source_name) const {
  SB_ASSIGN_OR_RETURN(ContestRow row, FindContest(tx, slug));
  SB_ASSIGN_OR_RETURN(Rulebook current, RulebookOf(tx, row, row.version));
  SB_ASSIGN_OR_RETURN(Rulebook rb, ParseRulebook(text, source_name));
  if (rb.id != row.slug) {
    return Status::InvalidArgument(std::string(source_name) + ": contest.id: '" + rb.id +
                                   "' is not this contest ('" + row.slug + "')");
  }
  SB_ASSIGN_OR_RETURN(std::int64_t highest,
                      tx.QueryInt("SELECT MAX(version) FROM contest_rulebooks WHERE "
                                  "contest_id = $1",
                                  {row.id}));
  if (rb.version <= highest) {
    return Status::InvalidArgument(
        std::string(source_name) + ": contest.version: " + std::to_string(rb.version) +
        " must be above " + std::to_string(highest) + ", the latest version");
  }
  UnitId scope;
  SB_RETURN_IF_ERROR(CheckAgainstStore(tx, tree_, rb, source_name, &scope));
  if (scope != row.scope) {
    return Status::InvalidArgument(std::string(source_name) +
                                   ": contest.scope: a contest's scope cannot change");
  }
  const bool running = current.PhaseAt(who.now) != Phase::kBefore;
  if (running) {
    SB_ASSIGN_OR_RETURN(auto snap, rules_.Current(tx));
    std::int64_t ro = 0;
    for (const Compiled& c : snap->contests) {
      if (c.id == row.id) ro = c.returning_officer;
    }
    if (who.account.valid() && who.account.value() != ro) {
      return Status::PermissionDenied(
          "only the returning officer proposes a change to a running contest's rulebook");
    }
    SB_RETURN_IF_ERROR(InsertRulebook(tx, row.id, rb, text, "proposed", who));
    SB_RETURN_IF_ERROR(
        Record(tx, ContestEvent(who, "contest.amend", row.id, HashRule("proposed", rb))));
    return std::make_pair(rb.version, false);
  }
  SB_RETURN_IF_ERROR(
      tx.Exec("UPDATE contest_rulebooks SET state = 'superseded' WHERE contest_id = $1 AND "
              "state = 'in_force'",
              {row.id})
          .status());
  SB_RETURN_IF_ERROR(InsertRulebook(tx, row.id, rb, text, "in_force", who));
  SB_RETURN_IF_ERROR(tx.Exec("UPDATE contests SET version = $1, name = $2 WHERE id = $3",
                             {static_cast<std::int64_t>(rb.version), rb.name, row.id})
                         .status());
  SB_RETURN_IF_ERROR(BumpContestVersion(tx));
  SB_RETURN_IF_ERROR(
      Record(tx, ContestEvent(who, "contest.amend", row.id, HashRule("rulebook", rb))));
  return std::make_pair(rb.version, true);
}

Status ContestOperations::ApproveAmendment(store::Tx& tx, const access::Acting& who,
                                           std::string_view slug, int version) const {
  SB_ASSIGN_OR_RETURN(ContestRow row, FindContest(tx, slug));
  std::optional<std::int64_t> proposer;
  std::string state;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT state, proposed_by FROM contest_rulebooks WHERE contest_id = $1 AND version = $2",
      {row.id, static_cast<std::int64_t>(version)}, [&](const store::Row& r) {
        state = std::string(r.Text(0));
        proposer = r.IntOr(1, 0);
        return false;
      }));
  if (state != "proposed") {
    return Status::FailedPrecondition("version " + std::to_string(version) + " of " + row.slug +
                                      " is not waiting for approval");
  }
  if (!who.account.valid() || who.account.value() == *proposer) {
    return Status::PermissionDenied(
        "a second person, not the one who proposed it, approves a change to a running contest");
  }
  SB_ASSIGN_OR_RETURN(Rulebook rb, RulebookOf(tx, row, version));
  SB_RETURN_IF_ERROR(
      tx.Exec("UPDATE contest_rulebooks SET state = 'superseded' WHERE contest_id = $1 AND "
              "state = 'in_force'",
              {row.id})
          .status());
  SB_RETURN_IF_ERROR(
      tx.Exec("UPDATE contest_rulebooks SET state = 'in_force', approved_by = $1, approved_at = "
              "$2 WHERE contest_id = $3 AND version = $4",
              {who.account.value(), who.now, row.id, static_cast<std::int64_t>(version)})
          .status());
  SB_RETURN_IF_ERROR(tx.Exec("UPDATE contests SET version = $1, name = $2 WHERE id = $3",
                             {static_cast<std::int64_t>(version), rb.name, row.id})
                         .status());
  SB_RETURN_IF_ERROR(BumpContestVersion(tx));
  return Record(tx, ContestEvent(who, "contest.amend_approve", row.id, HashRule("rulebook", rb)));
}

Result<std::vector<ContestSummary>> ContestOperations::List(store::Tx& tx, Micros now) const {
  SB_ASSIGN_OR_RETURN(auto snap, rules_.Current(tx));
  std::vector<ContestSummary> out;
  for (const Compiled& c : snap->contests) {
    ContestRow row{c.id, c.slug, c.rb.name, c.version, c.scope, c.released_at};
    out.push_back(SummaryOf(row, c.rb, now));
  }
  return out;
}

Result<Compiled> ContestOperations::Get(store::Tx& tx, std::string_view slug) const {
  SB_ASSIGN_OR_RETURN(auto snap, rules_.Current(tx));
  for (const Compiled& c : snap->contests) {
    if (c.slug == slug) return c;
  }
  return Status::NotFound("no contest is named '" + std::string(slug) + "'");
}

Result<Compiled> ContestOperations::GetById(store::Tx& tx, std::int64_t id) const {
  SB_ASSIGN_OR_RETURN(auto snap, rules_.Current(tx));
  for (const Compiled& c : snap->contests) {
    if (c.id == id) return c;
  }
  return Status::NotFound("no contest has id " + std::to_string(id));
}

std::vector<std::string> PartsOf(const Compiled& c, std::int64_t account, bool staff_flag,
                                 Micros t) {
  std::vector<std::string> parts;
  if (account == c.returning_officer) parts.push_back("returning_officer");
  if (c.committee.count(account)) parts.push_back("procedures_committee");
  if (auto it = c.candidate_of.find(account); it != c.candidate_of.end()) {
    parts.push_back("candidate:" + it->second);
  }
  const std::string campaign = c.CampaignOf(account, t);
  if (c.IsStaff(account, staff_flag)) {
    parts.push_back(!campaign.empty() && !c.candidate_of.count(account) ? "on_leave:" + campaign
                                                                        : "staff");
  }
  return parts;
}

bool MayRead(const Compiled& c, std::int64_t account, bool manager) {
  return manager || account == c.returning_officer || c.committee.count(account) > 0 ||
         c.candidate_of.count(account) > 0;
}

Result<std::vector<std::pair<Compiled, std::vector<std::string>>>> ContestOperations::Visible(
    store::Tx& tx, const access::Acting& who, bool manager) const {
  SB_ASSIGN_OR_RETURN(auto snap, rules_.Current(tx));
  std::vector<std::pair<Compiled, std::vector<std::string>>> out;
  for (const Compiled& c : snap->contests) {
    auto parts = PartsOf(c, who.account.value(), who.staff, who.now);
    if (parts.empty() && !manager) continue;
    out.emplace_back(c, std::move(parts));
  }
  return out;
}

Result<std::pair<Compiled, std::vector<std::string>>> ContestOperations::View(
    store::Tx& tx, const access::Acting& viewer, std::int64_t id, bool manager,
    Viewing need) const {
  SB_ASSIGN_OR_RETURN(Compiled c, GetById(tx, id));
  auto parts = PartsOf(c, viewer.account.value(), viewer.staff, viewer.now);
  const bool may = need == Viewing::kBound ? manager || !parts.empty()
                                           : MayRead(c, viewer.account.value(), manager);
  if (!may) return Status::NotFound("no contest has this id");
  return std::make_pair(std::move(c), std::move(parts));
}

Result<ContestOperations::RulebookVersion> ContestOperations::RulebookText(store::Tx& tx,
                                                                           std::string_view slug,
                                                                           int version) const {
  SB_ASSIGN_OR_RETURN(ContestRow row, FindContest(tx, slug));
  RulebookVersion out;
  out.version = version == 0 ? row.version : version;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT text, sha256 FROM contest_rulebooks WHERE contest_id = $1 AND version = $2",
               {row.id, static_cast<std::int64_t>(out.version)}, [&](const store::Row& r) {
                 out.text = std::string(r.Text(0));
                 out.sha256 = std::string(r.Text(1));
                 return false;
               }));
  if (out.text.empty()) return Status::NotFound("contest " + row.slug + " has no such version");
  return out;
}

Result<Nomination> ContestOperations::Nominate(store::Tx& tx, const access::Acting& who,
                                               std::string_view slug,
                                               const NominationInput& n) const {
  SB_ASSIGN_OR_RETURN(Compiled c, Get(tx, slug));
  const Rulebook& rb = c.rb;
  const Body* body = rb.FindBody(n.body);
  if (!body) return Status::InvalidArgument("body: the rulebook has no body '" + n.body + "'");
  if (!rb.FindCandidate(n.candidate)) {
    return Status::InvalidArgument("candidate: the rulebook has no candidate '" + n.candidate +
                                   "'");
  }
  switch (body->kind) {
    case BodyKind::kUnits: {
      const members::Unit* u = tree_.FindByCode(n.nominator);
      if (!u || u->kind != body->unit_kind || !tree_.IsWithin(u->id, c.scope)) {
        return Status::InvalidArgument("nominator: no " + body->unit_kind + " with code '" +
                                       n.nominator + "' in this contest's scope");
      }
      break;
    }
    case BodyKind::kAffiliates: {
      const bool known = std::any_of(body->affiliates.begin(), body->affiliates.end(),
                                     [&](const Affiliate& a) { return a.id == n.nominator; });
      if (!known) {
        return Status::InvalidArgument("nominator: '" + n.nominator + "' is not an affiliate of " +
                                       body->label + " in the rulebook");
      }
      break;
    }
    case BodyKind::kPeople: {
      const bool ok = !n.nominator.empty() && n.nominator.size() <= 64 &&
                      std::all_of(n.nominator.begin(), n.nominator.end(), [](char ch) {
                        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' ||
                               ch == '_' || ch == '.' || ch == ':';
                      });
      if (!ok) {
        return Status::InvalidArgument(
            "nominator: a reference of 1-64 letters, digits and - _ . : (a register number, not "
            "a name)");
      }
      break;
    }
  }
  if (n.decided_by.empty() || n.decided_by.size() > 100) {
    return Status::InvalidArgument("decided_by: say who decided (1-100 characters)");
  }
  if (n.votes_for < 0 || n.votes_against < 0 || n.votes_abstaining < 0 ||
      n.votes_for > 10'000'000 || n.votes_against > 10'000'000 || n.votes_abstaining > 10'000'000) {
    return Status::InvalidArgument("votes: counts are whole numbers from 0 to 10,000,000");
  }
  if (who.now < rb.timeline.nominations_open.at) {
    return Status::FailedPrecondition("nominations open at " +
                                      FormatTimestamp(rb.timeline.nominations_open.at));
  }
  const std::int64_t close_day = rb.timeline.nominations_close.at / kMicrosPerDay;
  const std::int64_t open_day = rb.timeline.nominations_open.at / kMicrosPerDay;
  if (n.meeting_on > close_day || n.meeting_on < open_day) {
    return Status::InvalidArgument(
        "meeting_on: the meeting must fall between nominations opening and closing");
  }
  if (who.now >= rb.timeline.ballot_close.at) {
    return Status::FailedPrecondition("the ballot has closed");
  }
  SB_ASSIGN_OR_RETURN(std::int64_t taken,
                      tx.QueryInt("SELECT COUNT(*) FROM contest_nominations WHERE contest_id = $1 "
                                  "AND body = $2 AND nominator = $3",
                                  {c.id, n.body, n.nominator}));
  if (taken > 0) {
    return Status::AlreadyExists("nominator: " + n.nominator +
                                 " has already nominated a candidate in this contest");
  }
  Nomination out;
  static_cast<NominationInput&>(out) = n;
  out.recorded_at = who.now;
  out.recorded_by = who.account.valid() ? who.account.value() : 0;
  SB_ASSIGN_OR_RETURN(
      out.id,
      tx.QueryInt(
          "INSERT INTO contest_nominations (contest_id, body, nominator, candidate, "
          "decided_by, meeting_on, votes_for, votes_against, votes_abstaining, "
          "recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
          "$11) RETURNING id",
          {c.id, n.body, n.nominator, n.candidate, n.decided_by, n.meeting_on, n.votes_for,
           n.votes_against, n.votes_abstaining,
           who.account.valid() ? store::Value(who.account.value()) : store::Value(), who.now}));
  SB_RETURN_IF_ERROR(Record(
      tx, ContestEvent(who, "contest.nominate", c.id, "nomination:" + n.body + ":" + n.candidate)));
  if (who.now >= rb.timeline.nominations_close.at) {
    SB_RETURN_IF_ERROR(Release(tx, who, slug).status());
  }
  return out;
}

Result<std::vector<Nomination>> ContestOperations::Nominations(store::Tx& tx,
                                                               std::string_view slug) const {
  SB_ASSIGN_OR_RETURN(ContestRow row, FindContest(tx, slug));
  std::vector<Nomination> out;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT id, body, nominator, candidate, decided_by, meeting_on, votes_for, votes_against, "
      "votes_abstaining, recorded_by, recorded_at FROM contest_nominations WHERE contest_id = $1 "
      "ORDER BY recorded_at, id",
      {row.id}, [&](const store::Row& r) {
        Nomination n;
        n.id = r.Int(0);
        n.body = std::string(r.Text(1));
        n.nominator = std::string(r.Text(2));
        n.candidate = std::string(r.Text(3));
        n.decided_by = std::string(r.Text(4));
        n.meeting_on = r.Int(5);
        n.votes_for = r.Int(6);
        n.votes_against = r.Int(7);
        n.votes_abstaining = r.Int(8);
        n.recorded_by = r.IntOr(9, 0);
        n.recorded_at = r.Int(10);
        out.push_back(std::move(n));
        return true;
      }));
  return out;
}

Result<Standing> ContestOperations::StandingOf(store::Tx& tx, std::string_view slug,
                                               Micros now) const {
  SB_ASSIGN_OR_RETURN(Compiled c, Get(tx, slug));
  SB_ASSIGN_OR_RETURN(std::vector<Nomination> noms, Nominations(tx, slug));
  Standing out;
  ContestRow row{c.id, c.slug, c.rb.name, c.version, c.scope, c.released_at};
  out.contest = SummaryOf(row, c.rb, now);
  for (const Body& b : c.rb.bodies) {
    if (b.kind != BodyKind::kUnits) continue;
    std::int64_t n = 0;
    for (const members::Unit* u : tree_.OfKind(b.unit_kind)) {
      if (tree_.IsWithin(u->id, c.scope)) ++n;
    }
    out.unit_counts[b.id] = n;
  }
  for (const Candidate& cand : c.rb.candidates) {
    CandidateStanding s;
    s.candidate = cand.id;
    s.name = cand.name;
    // Fold the nominations in as they were recorded: the first that makes
    // the candidate qualify says when they did.
    contest::Nominations held;
    for (const Nomination& n : noms) {
      if (n.candidate != cand.id || n.recorded_at > now) continue;
      held[n.body].push_back(n.nominator);
      ++s.nominations[n.body];
      if (s.qualified_at == 0) {
        SB_ASSIGN_OR_RETURN(Qualification q, Qualify(c.rb, held, out.unit_counts));
        if (q.qualified) s.qualified_at = n.recorded_at;
      }
    }
    SB_ASSIGN_OR_RETURN(s.qualification, Qualify(c.rb, held, out.unit_counts));
    if (!s.qualification.qualified) s.qualified_at = 0;
    if (auto it = c.qualified.find(cand.id); it != c.qualified.end()) s.access_from = it->second;
    out.candidates.push_back(std::move(s));
  }
  return out;
}

Result<int> ContestOperations::Release(store::Tx& tx, const access::Acting& who,
                                       std::string_view slug) const {
  SB_ASSIGN_OR_RETURN(ContestRow row, FindContest(tx, slug));
  SB_ASSIGN_OR_RETURN(Rulebook rb, RulebookOf(tx, row, row.version));
  const Timeline& t = rb.timeline;
  if (who.now < t.nominations_close.at || who.now >= t.ballot_close.at) return 0;
  SB_ASSIGN_OR_RETURN(Standing standing, StandingOf(tx, slug, who.now));
  std::set<std::string> released;
  SB_RETURN_IF_ERROR(tx.Query("SELECT candidate FROM contest_candidates WHERE contest_id = $1",
                              {row.id}, [&](const store::Row& r) {
                                released.insert(std::string(r.Text(0)));
                                return true;
                              }));
  // Everyone released together starts at data release; a candidate who
  // qualifies after it starts at once.
  const Micros from =
      row.released_at == 0 ? t.data_release.at : std::max(t.data_release.at, who.now);
  // The members a candidate campaign may reach: the consenting electorate.
  segment::Segment electorate;
  electorate.scope = row.scope;
  electorate.statuses = rb.electorate_statuses;
  electorate.consents_all = members::kConsentCandidates;
  electorate.suppressions_none = members::kDoNotContact | members::kDeceased;
  electorate.joined_to = rb.frozen_on + 1;
  segment::SqlQuery count = segment::SegmentCountSql(electorate, tree_);
  std::int64_t reach = 0;
  SB_RETURN_IF_ERROR(tx.Query(count.sql, store::Params(count.params.data(), count.params.size()),
                              [&](const store::Row& r) {
                                reach = r.Int(0);
                                return false;
                              }));
  int n = 0;
  for (const CandidateStanding& s : standing.candidates) {
    if (!s.qualification.qualified || released.count(s.candidate)) continue;
    const Candidate* cand = rb.FindCandidate(s.candidate);
    for (const std::string& login : cand->accounts) {
      SB_ASSIGN_OR_RETURN(access::Account a, access::FindAccount(tx, login));
      access::GrantRequest g;
      g.account = a.id;
      g.role = "candidate_campaign";
      g.scope = row.scope;
      g.purpose = "contest " + row.slug + ": " + cand->name;
      g.not_before = from;
      g.not_after = t.ballot_close.at;
      g.reason = "qualified in " + row.slug;
      g.source = "contest:" + std::to_string(row.id);
      g.source_end = t.ballot_close.at;
      SB_ASSIGN_OR_RETURN(access::GrantId id,
                          access::GrantBySystem(tx, g, "contest_release", who.now));
      (void)id;
    }
    SB_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO contest_candidates (contest_id, candidate, qualified_at, "
                "access_from) VALUES ($1, $2, $3, $4)",
                {row.id, s.candidate, s.qualified_at != 0 ? s.qualified_at : who.now, from})
            .status());
    SB_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO contest_ledger (contest_id, at, candidate, entry, facility, size, "
                "ref) VALUES ($1, $2, $3, 'released', 'data', $4, $5)",
                {row.id, from, s.candidate, reach, "grants-from:" + std::to_string(from)})
            .status());
    if (rb.receive == Receive::kWatermarkedExports) {
      // The rulebook allows watermarked exports: each candidate's
      // entitlement is on the ledger (the export itself is refused until the
      // privacy operations build it; candidate roles hold no member.export).
      SB_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO contest_ledger (contest_id, at, candidate, entry, facility, size, "
                  "ref) VALUES ($1, $2, $3, 'entitlement', 'export', $4, 'rulebook')",
                  {row.id, from, s.candidate, reach})
              .status());
    }
    SB_RETURN_IF_ERROR(
        Record(tx, ContestEvent(who, "contest.release", row.id, "release:" + s.candidate)));
    ++n;
  }
  // The release has run (even if nobody qualified: whoever qualifies later
  // starts when they do), so serve stops checking.
  if (row.released_at == 0) {
    SB_RETURN_IF_ERROR(
        tx.Exec("UPDATE contests SET released_at = $1 WHERE id = $2", {who.now, row.id}).status());
  }
  if (n > 0 || row.released_at == 0) SB_RETURN_IF_ERROR(BumpContestVersion(tx));
  return n;
}

Result<bool> ContestOperations::Due(store::Tx& tx, Micros now) const {
  SB_ASSIGN_OR_RETURN(auto snap, rules_.Current(tx));
  for (const Compiled& c : snap->contests) {
    const Timeline& t = c.rb.timeline;
    if (c.released_at == 0 && now >= t.nominations_close.at && now < t.ballot_close.at) {
      return true;
    }
  }
  return false;
}

Result<int> ContestOperations::Tick(store::Tx& tx, const access::Acting& who) const {
  SB_ASSIGN_OR_RETURN(auto snap, rules_.Current(tx));
  int n = 0;
  for (const Compiled& c : snap->contests) {
    const Timeline& t = c.rb.timeline;
    if (c.released_at == 0 && who.now >= t.nominations_close.at && who.now < t.ballot_close.at) {
      SB_ASSIGN_OR_RETURN(int k, Release(tx, who, c.slug));
      n += k;
    }
  }
  return n;
}

Result<std::vector<LedgerEntry>> ContestOperations::Ledger(store::Tx& tx,
                                                           const access::Acting& viewer,
                                                           std::string_view slug,
                                                           bool manager) const {
  SB_ASSIGN_OR_RETURN(Compiled c, Get(tx, slug));
  if (viewer.account.valid() && !MayRead(c, viewer.account.value(), manager))
    return Status::NotFound("no contest is named '" + std::string(slug) + "'");
  std::vector<LedgerEntry> out;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT id, at, candidate, entry, facility, size, ref, matches, used_at, used_ref, "
               "account_id FROM contest_ledger WHERE contest_id = $1 ORDER BY id",
               {c.id}, [&](const store::Row& r) {
                 LedgerEntry e;
                 e.id = r.Int(0);
                 e.at = r.Int(1);
                 e.candidate = std::string(r.Text(2));
                 e.entry = std::string(r.Text(3));
                 e.facility = std::string(r.Text(4));
                 e.size = r.Int(5);
                 e.ref = std::string(r.Text(6));
                 e.matches = r.IntOr(7, 0);
                 e.used_at = r.IntOr(8, 0);
                 e.used_ref = r.TextOr(9);
                 e.account = r.IntOr(10, 0);
                 out.push_back(std::move(e));
                 return true;
               }));
  return out;
}

Result<std::vector<ReportLine>> ContestOperations::Report(store::Tx& tx,
                                                          std::string_view slug) const {
  SB_ASSIGN_OR_RETURN(Compiled c, Get(tx, slug));
  const Timeline& t = c.rb.timeline;
  // The messages and phone banks that touched the electorate: every one in
  // the ledger, and every message queued during the contest within its scope.
  std::set<std::int64_t> messages, campaigns;
  SB_RETURN_IF_ERROR(tx.Query("SELECT ref FROM contest_ledger WHERE contest_id = $1", {c.id},
                              [&](const store::Row& r) {
                                const std::string_view ref = r.Text(0);
                                if (ref.rfind("message:", 0) == 0) {
                                  messages.insert(std::stoll(std::string(ref.substr(8))));
                                } else if (ref.rfind("campaign:", 0) == 0) {
                                  campaigns.insert(std::stoll(std::string(ref.substr(9))));
                                }
                                return true;
                              }));
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT id, scope_unit FROM messages WHERE queued_at >= $1 AND queued_at < $2",
               {t.announced.at, t.ballot_close.at}, [&](const store::Row& r) {
                 const UnitId scope(r.Int(1));
                 if (tree_.IsWithin(scope, c.scope) || tree_.IsWithin(c.scope, scope)) {
                   messages.insert(r.Int(0));
                 }
                 return true;
               }));
  std::vector<ReportLine> out;
  std::map<std::int64_t, std::string> names;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT seq, at, actor, on_behalf_of, action, decision, rule, grant_id, campaign, message, "
      "contest, body FROM audit_events WHERE contest = $1 OR message IS NOT NULL OR "
      "(campaign IS NOT NULL AND action LIKE 'campaign.%') ORDER BY seq",
      {c.id}, [&](const store::Row& r) {
        const std::int64_t message = r.IntOr(9, 0), campaign = r.IntOr(8, 0);
        const bool ours = r.IntOr(10, 0) == c.id || (message != 0 && messages.count(message)) ||
                          (campaign != 0 && campaigns.count(campaign));
        if (!ours) return true;
        ReportLine l;
        l.index = r.Int(0);
        l.at = r.Int(1);
        l.actor = r.IntOr(2, 0);
        l.on_behalf_of = r.IntOr(3, 0);
        l.action = std::string(r.Text(4));
        l.decision = r.TextOr(5);
        l.rule = r.TextOr(6);
        l.grant = r.IntOr(7, 0);
        l.campaign = campaign;
        l.message = message;
        const audit::Hash h = audit::LeafHash(r.Bytes(11));
        l.leaf_hash = crypto::ToHex(h.data(), h.size());
        out.push_back(std::move(l));
        return true;
      }));
  for (ReportLine& l : out) {
    if (l.actor == 0) continue;
    auto [it, fresh] = names.try_emplace(l.actor);
    if (fresh) {
      auto a = access::GetAccount(tx, AccountId(l.actor));
      it->second = a ? a->display_name : "";
    }
    l.actor_name = it->second;
  }
  return out;
}

}  // namespace switchboard::contest
