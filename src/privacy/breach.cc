#include "privacy/breach.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "members/canaries.h"

namespace switchboard::privacy {

namespace {

using json = nlohmann::json;
using store::Row;
using store::Value;

constexpr size_t kMaxDescription = 8000;
constexpr size_t kMaxField = 2000;

constexpr const char* kColumns =
    "SELECT id, discovered_at, recorded_at, recorded_by, description, data_categories, "
    "people_categories, consequences, measures, reported_at, notified_at, closed_at, updated_at, "
    "scope_kind, scope_id, scope_from, scope_to, computed_at, affected, class_counts "
    "FROM breaches";

Breach FromRow(const Row& r) {
  Breach b;
  b.id = BreachId(r.Int(0));
  b.discovered_at = r.Int(1);
  b.recorded_at = r.Int(2);
  b.recorded_by = AccountId(r.IntOr(3, 0));
  b.details.description = r.TextOr(4);
  b.details.data_categories = r.TextOr(5);
  b.details.people_categories = r.TextOr(6);
  b.details.consequences = r.TextOr(7);
  b.details.measures = r.TextOr(8);
  b.reported_at = r.IntOr(9, 0);
  b.notified_at = r.IntOr(10, 0);
  b.closed_at = r.IntOr(11, 0);
  b.updated_at = r.Int(12);
  if (!r.IsNull(13)) {
    b.scope = AffectedScope{r.TextOr(13), r.IntOr(14, 0), r.IntOr(15, 0), r.IntOr(16, 0)};
  }
  b.computed_at = r.IntOr(17, 0);
  b.affected = r.IntOr(18, 0);
  if (!r.IsNull(19)) {
    json j = json::parse(r.Text(19), nullptr, false);
    if (j.is_object()) {
      for (auto& [k, v] : j.items()) {
        if (v.is_number_integer()) b.counts[k] = v.get<std::int64_t>();
      }
    }
  }
  return b;
}

Status CheckText(std::string_view what, std::string_view v, size_t max, bool required) {
  if (required && v.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Status::InvalidArgument(std::string(what) + " is required");
  }
  if (v.size() > max) {
    return Status::InvalidArgument(std::string(what) + " is longer than " + std::to_string(max) +
                                   " characters");
  }
  return Status::Ok();
}

Status CheckDetails(const BreachDetails& d) {
  SB_RETURN_IF_ERROR(CheckText("the description", d.description, kMaxDescription, true));
  SB_RETURN_IF_ERROR(CheckText("the categories of data", d.data_categories, kMaxField, true));
  SB_RETURN_IF_ERROR(CheckText("the categories of people", d.people_categories, kMaxField, true));
  SB_RETURN_IF_ERROR(CheckText("the likely consequences", d.consequences, kMaxDescription, false));
  return CheckText("the measures taken", d.measures, kMaxDescription, false);
}

audit::Event BreachEvent(const access::Acting& who, std::string_view action, BreachId id) {
  audit::Event e = who.Allow(action);
  // The breach's id, in a field meant for names: events hold no free text.
  e.rule = "breach:" + id.ToString();
  return e;
}

std::string Plural(std::int64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

std::string Or(std::string_view v, std::string_view fallback) {
  return v.find_first_not_of(" \t\r\n") == std::string_view::npos ? std::string(fallback)
                                                                  : std::string(v);
}

// What the field classes mean, for people who do not know the policy file.
std::string ClassName(const std::string& c) {
  if (c == "name") return "full names";
  if (c == "first_name") return "first names";
  if (c == "contact") return "e-mail addresses and phone numbers";
  if (c == "membership") return "membership details (status, dates, number)";
  if (c == "location") return "where they live (unit, postcode area)";
  if (c == "notes") return "notes kept about them";
  return c;
}

std::string CountsText(const Breach& b) {
  if (!b.scope) return "The affected members have not been worked out yet.\n";
  std::string s = Plural(b.affected, "member", "members") + " affected";
  if (b.counts.empty()) return s + ".\n";
  s += ", by the kind of data that was seen:\n";
  for (const auto& [c, n] : b.counts) {
    s += "  - " + ClassName(c) + ": " + Plural(n, "member", "members") + "\n";
  }
  return s;
}

}  // namespace

std::string Breach::status() const {
  if (closed_at) return "closed";
  if (notified_at) return "notified";
  if (reported_at) return "reported";
  return "open";
}

Result<BreachId> RecordBreach(store::Tx& tx, const access::Acting& who,
                              const BreachDetails& details, Micros discovered_at) {
  SB_RETURN_IF_ERROR(CheckDetails(details));
  if (discovered_at <= 0) return Status::InvalidArgument("the discovery time is required");
  if (discovered_at > who.now) {
    return Status::InvalidArgument("the breach cannot have been discovered in the future");
  }
  BreachId id;
  std::vector<Value> v = {discovered_at,
                          who.now,
                          who.account.valid() ? Value(who.account.value()) : Value(),
                          details.description,
                          details.data_categories,
                          details.people_categories,
                          details.consequences,
                          details.measures};
  SB_RETURN_IF_ERROR(tx.Query(
      "INSERT INTO breaches (discovered_at, recorded_at, recorded_by, description, "
      "data_categories, people_categories, consequences, measures, updated_at, affected) VALUES "
      "($1, $2, $3, $4, $5, $6, $7, $8, $2, 0) RETURNING id",
      store::Params(v), [&](const Row& r) {
        id = BreachId(r.Int(0));
        return false;
      }));
  if (!id.valid()) return Status::Internal("recording a breach returned no id");
  SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, BreachEvent(who, "breach.record", id)).status());
  return id;
}

Status UpdateBreach(store::Tx& tx, const access::Acting& who, BreachId id, const BreachUpdate& u) {
  SB_ASSIGN_OR_RETURN(Breach b, GetBreach(tx, id));
  std::vector<std::string> changed;
  auto text = [&](const std::optional<std::string>& v, std::string& into, const char* name) {
    if (v && *v != into) {
      into = *v;
      changed.push_back(name);
    }
  };
  text(u.description, b.details.description, "description");
  text(u.data_categories, b.details.data_categories, "data_categories");
  text(u.people_categories, b.details.people_categories, "people_categories");
  text(u.consequences, b.details.consequences, "consequences");
  text(u.measures, b.details.measures, "measures");
  SB_RETURN_IF_ERROR(CheckDetails(b.details));
  struct TimeField {
    const std::optional<Micros>& v;
    Micros& into;
    const char* name;
  };
  for (TimeField f : {TimeField{u.discovered_at, b.discovered_at, "discovered_at"},
                      TimeField{u.reported_at, b.reported_at, "reported_at"},
                      TimeField{u.notified_at, b.notified_at, "notified_at"},
                      TimeField{u.closed_at, b.closed_at, "closed_at"}}) {
    if (!f.v || *f.v == f.into) continue;
    if (*f.v <= 0) return Status::InvalidArgument(std::string(f.name) + " needs a time");
    if (*f.v > who.now) {
      return Status::InvalidArgument(std::string(f.name) + " cannot be in the future");
    }
    f.into = *f.v;
    changed.push_back(f.name);
  }
  if (b.reported_at && b.reported_at < b.discovered_at) {
    return Status::InvalidArgument("reported_at is before the breach was discovered");
  }
  if (changed.empty()) return Status::Ok();
  SB_ASSIGN_OR_RETURN(
      std::int64_t n,
      tx.Exec("UPDATE breaches SET description = $2, data_categories = $3, people_categories = $4, "
              "consequences = $5, measures = $6, discovered_at = $7, reported_at = $8, "
              "notified_at = $9, closed_at = $10, updated_at = $11 WHERE id = $1",
              {id.value(), b.details.description, b.details.data_categories,
               b.details.people_categories, b.details.consequences, b.details.measures,
               b.discovered_at, b.reported_at ? Value(b.reported_at) : Value(),
               b.notified_at ? Value(b.notified_at) : Value(),
               b.closed_at ? Value(b.closed_at) : Value(), who.now}));
  if (n != 1) return Status::NotFound("no breach " + id.ToString());
  audit::Event e = BreachEvent(who, "breach.update", id);
  std::string fields;
  for (const auto& c : changed) fields += (fields.empty() ? "" : "/") + c;
  e.rule += ":" + fields;
  return audit::AuditLog::Append(tx, e).status();
}

Result<Breach> GetBreach(store::Tx& tx, BreachId id) {
  std::optional<Breach> out;
  SB_RETURN_IF_ERROR(
      tx.Query(std::string(kColumns) + " WHERE id = $1", {id.value()}, [&](const Row& r) {
        out = FromRow(r);
        return false;
      }));
  if (!out) return Status::NotFound("no breach " + id.ToString());
  return *out;
}

Result<std::vector<Breach>> ListBreaches(store::Tx& tx) {
  std::vector<Breach> out;
  SB_RETURN_IF_ERROR(tx.Query(std::string(kColumns) + " ORDER BY discovered_at DESC, id DESC", {},
                              [&](const Row& r) {
                                out.push_back(FromRow(r));
                                return true;
                              }));
  return out;
}

namespace {

// The members in export `id`'s file, from its export.produce event (the
// export's own canaries are not members; the register's are left out here),
// each with the field classes of the file's columns. Sets the scope's time
// to when the file was produced.
Result<std::vector<audit::RevealedMember>> ExportedMembers(store::Tx& tx, AffectedScope& scope) {
  std::string state;
  std::int64_t produce_seq = -1;
  Micros produced_at = 0;
  bool found = false;
  SB_RETURN_IF_ERROR(tx.Query("SELECT state, produce_seq, produced_at FROM exports WHERE id = $1",
                              {scope.id}, [&](const store::Row& r) {
                                found = true;
                                state = std::string(r.Text(0));
                                produce_seq = r.IsNull(1) ? -1 : r.Int(1);
                                produced_at = r.IsNull(2) ? 0 : r.Int(2);
                                return false;
                              }));
  if (!found) return Status::NotFound("no export " + std::to_string(scope.id));
  if (state != "produced" || produce_seq < 0) {
    return Status::FailedPrecondition("export " + std::to_string(scope.id) +
                                      " was never produced: no file left Switchboard");
  }
  SB_ASSIGN_OR_RETURN(audit::Event e, audit::AuditLog::EventAt(tx, produce_seq));
  if (e.action != "export.produce") {
    return Status::DataLoss("export " + std::to_string(scope.id) + "'s audit event " +
                            std::to_string(produce_seq) +
                            " is not its production; run audit verify");
  }
  SB_ASSIGN_OR_RETURN(std::set<std::int64_t> canaries, members::CanaryIds(tx));
  std::vector<std::string> classes = e.field_classes;
  std::sort(classes.begin(), classes.end());
  std::set<std::int64_t> ids(e.members.begin(), e.members.end());
  std::vector<audit::RevealedMember> out;
  for (std::int64_t m : ids) {
    if (canaries.contains(m)) continue;
    out.push_back({m, classes, 1});
  }
  scope.from = produced_at;
  scope.to = produced_at;
  return out;
}

}  // namespace

Result<Breach> ComputeAffected(store::Tx& tx, const access::Acting& who, BreachId id,
                               const AffectedScope& given) {
  SB_RETURN_IF_ERROR(GetBreach(tx, id).status());
  AffectedScope scope = given;
  if (scope.kind != "account" && scope.kind != "campaign" && scope.kind != "export") {
    return Status::InvalidArgument("the scope is an account, a campaign or an export");
  }
  if (scope.id <= 0) return Status::InvalidArgument("the scope needs an " + scope.kind + " id");
  std::vector<audit::RevealedMember> members;
  if (scope.kind == "export") {
    SB_ASSIGN_OR_RETURN(members, ExportedMembers(tx, scope));
  } else {
    audit::RevealFilter f;
    if (scope.kind == "account") {
      f.actor = scope.id;
    } else {
      f.campaign = scope.id;
    }
    f.from = scope.from;
    f.to = scope.to;
    SB_ASSIGN_OR_RETURN(members, audit::AuditLog::Revealed(tx, f));
  }
  std::map<std::string, std::int64_t> counts;
  SB_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM breach_members WHERE breach_id = $1", {id.value()}).status());
  for (const auto& m : members) {
    std::string classes;
    for (const auto& c : m.field_classes) {
      ++counts[c];
      classes += (classes.empty() ? "" : ",") + c;
    }
    SB_RETURN_IF_ERROR(tx.Exec("INSERT INTO breach_members (breach_id, member_id, field_classes, "
                               "events) VALUES ($1, $2, $3, $4)",
                               {id.value(), m.member, classes, m.events})
                           .status());
  }
  json j = json::object();
  for (const auto& [c, n] : counts) j[c] = n;
  SB_RETURN_IF_ERROR(
      tx.Exec("UPDATE breaches SET scope_kind = $2, scope_id = $3, scope_from = $4, scope_to = $5, "
              "computed_at = $6, affected = $7, class_counts = $8, updated_at = $6 WHERE id = $1",
              {id.value(), scope.kind, scope.id, scope.from, scope.to, who.now,
               static_cast<std::int64_t>(members.size()), j.dump()})
          .status());
  audit::Event e = BreachEvent(who, "breach.affected", id);
  e.rule += ":" + scope.kind + ":" + std::to_string(scope.id);
  SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
  return GetBreach(tx, id);
}

Result<std::vector<audit::RevealedMember>> AffectedMembers(store::Tx& tx, BreachId id) {
  SB_RETURN_IF_ERROR(GetBreach(tx, id).status());
  std::vector<audit::RevealedMember> out;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT member_id, field_classes, events FROM breach_members WHERE breach_id = $1 "
               "ORDER BY member_id",
               {id.value()}, [&](const Row& r) {
                 audit::RevealedMember m;
                 m.member = r.Int(0);
                 std::string classes = r.TextOr(1);
                 std::stringstream ss(classes);
                 for (std::string c; std::getline(ss, c, ',');) {
                   if (!c.empty()) m.field_classes.push_back(c);
                 }
                 m.events = r.Int(2);
                 out.push_back(std::move(m));
                 return true;
               }));
  return out;
}

std::string DeadlineText(const Breach& b, Micros now) {
  const Micros left = b.deadline() - now;
  const std::int64_t hours = (left >= 0 ? left : -left) / (3600 * kMicrosPerSecond);
  const std::string span =
      hours >= 24 ? Plural(hours / 24, "day", "days") + " " + Plural(hours % 24, "hour", "hours")
                  : Plural(hours, "hour", "hours");
  return left >= 0 ? span + " left" : "overdue by " + span;
}

std::string DraftForRegulator(const Breach& b, std::string_view organisation,
                              std::string_view contact) {
  std::string s;
  s += "Personal data breach report: " + std::string(organisation) + "\n";
  s += "Reference: breach " + b.id.ToString() + "\n\n";
  s += "What has happened\n" + b.details.description + "\n\n";
  s += "When it happened and when we found out\n";
  if (b.scope && b.scope->kind == "export") {
    s += "The data left in an export file produced at " + FormatTimestamp(b.scope->from) + ".\n";
  } else if (b.scope) {
    s += "The access concerned took place between " + FormatTimestamp(b.scope->from) + " and " +
         FormatTimestamp(b.scope->to) + ".\n";
  }
  s += "We discovered the breach at " + FormatTimestamp(b.discovered_at) + ".\n\n";
  s += "The personal data and the people affected\n";
  s += "Categories of personal data: " + b.details.data_categories + "\n";
  s += "Categories of people: " + b.details.people_categories + "\n";
  s += CountsText(b) + "\n";
  s += "Likely consequences\n" +
       Or(b.details.consequences, "[Describe the likely consequences for the people affected.]") +
       "\n\n";
  s += "Measures taken or proposed\n" +
       Or(b.details.measures,
          "[Describe what has been done to contain the breach and reduce its effects.]") +
       "\n\n";
  s += "Contact\n" + Or(contact, "[The data protection officer's name, address and phone.]") + "\n";
  return s;
}

std::string DraftForMembers(const Breach& b, std::string_view organisation,
                            std::string_view contact) {
  std::string s;
  s += "Dear member,\n\n";
  s += "We are writing to tell you about a problem with the personal information " +
       std::string(organisation) + " holds about you.\n\n";
  s += "What happened\n" + b.details.description + "\n\n";
  s += "What information was involved\n" + b.details.data_categories + "\n\n";
  s += "What this may mean for you\n" +
       Or(b.details.consequences, "[Describe the likely consequences in plain words.]") + "\n\n";
  s += "What we have done\n" +
       Or(b.details.measures, "[Describe what has been done, and what members can do.]") + "\n\n";
  s += "If you have questions\n" + Or(contact, "[How to reach the data protection officer.]") +
       "\nYou can also complain to the Information Commissioner's Office (ico.org.uk).\n";
  return s;
}

}  // namespace switchboard::privacy
