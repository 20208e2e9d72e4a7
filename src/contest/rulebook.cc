#include "contest/rulebook.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "contest/internal/expr.h"
#include "core/text.h"
#include "core/time_zone.h"
#include "core/toml_reader.h"
#include "members/register.h"

namespace switchboard::contest {

std::string_view PhaseName(Phase p) {
  switch (p) {
    case Phase::kBefore:
      return "before";
    case Phase::kAnnounced:
      return "announced";
    case Phase::kNominations:
      return "nominations";
    case Phase::kClosed:
      return "closed";
    case Phase::kReleased:
      return "released";
    case Phase::kBallot:
      return "ballot";
    case Phase::kOver:
      return "over";
  }
  return "unknown";
}

std::string_view BodyKindName(BodyKind k) {
  switch (k) {
    case BodyKind::kPeople:
      return "people";
    case BodyKind::kUnits:
      return "units";
    case BodyKind::kAffiliates:
      return "affiliates";
  }
  return "unknown";
}

Phase Rulebook::PhaseAt(Micros t) const {
  if (t < timeline.announced.at) return Phase::kBefore;
  if (t < timeline.nominations_open.at) return Phase::kAnnounced;
  if (t < timeline.nominations_close.at) return Phase::kNominations;
  if (t < timeline.data_release.at) return Phase::kClosed;
  if (t < timeline.ballot_open.at) return Phase::kReleased;
  if (t < timeline.ballot_close.at) return Phase::kBallot;
  return Phase::kOver;
}

bool Rulebook::NeutralityAt(Micros t) const {
  return t >= timeline.announced.at && t < timeline.ballot_close.at;
}

const Candidate* Rulebook::FindCandidate(std::string_view id) const {
  for (const Candidate& c : candidates) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

const Body* Rulebook::FindBody(std::string_view id) const {
  for (const Body& b : bodies) {
    if (b.id == id) return &b;
  }
  return nullptr;
}

const LeaveRecord* Rulebook::LeaveAt(std::string_view username, Micros t) const {
  for (const LeaveRecord& l : leave) {
    if (l.account == username && t >= l.from && t < l.until) return &l;
  }
  return nullptr;
}

namespace {

constexpr size_t kMaxNameBytes = 200;
constexpr int kMaxAliases = 20;
constexpr int kMaxAccountsPerCandidate = 100;
constexpr int kMaxBodies = 50;
constexpr int kMaxStaffAccounts = 10'000;
constexpr int kMaxCommittee = 100;
constexpr std::int64_t kMaxPeople = 10'000'000;
constexpr std::int64_t kMaxMembership = 1'000'000'000;

bool Lower(char c) { return c >= 'a' && c <= 'z'; }
bool Digit(char c) { return c >= '0' && c <= '9'; }

// [a-z0-9-]{1,max}
bool IsSlug(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return Lower(c) || Digit(c) || c == '-'; });
}

// [a-z][a-z0-9_]{0,31}, and not a keyword of the expression.
bool IsBodyId(std::string_view s) {
  if (s.empty() || s.size() > 32 || !Lower(s[0]) || s == "and" || s == "or") return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return Lower(c) || Digit(c) || c == '_'; });
}

// As accounts are named (access/store): 3 to 64 of letters, digits, . _ - @.
bool IsLogin(std::string_view s) {
  if (s.size() < 3 || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || Lower(c) || Digit(c) || c == '.' || c == '_' || c == '-' ||
           c == '@';
  });
}

// A unit's code: 1 to 64 of letters, digits, - and _.
bool IsUnitCode(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || Lower(c) || Digit(c) || c == '-' || c == '_';
  });
}

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

std::string Join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& k : s) out += (out.empty() ? "" : ", ") + k;
  return out;
}

std::string Index(std::string_view field, size_t i) {
  return std::string(field) + "[" + std::to_string(i + 1) + "]";
}

std::string FormatOffset(int minutes) {
  const char sign = minutes < 0 ? '-' : '+';
  const int m = std::abs(minutes);
  char buf[8];
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", sign, (m / 60) % 100, m % 60);
  return buf;
}

// Reads one rulebook file; every error names the file, the line and the field.
class Reader {
 public:
  explicit Reader(std::string_view source) : rd_(source) {}

  Result<Rulebook> Read(std::string_view text);

 private:
  // "<file>:<line>: <field>: <what>".
  Status Bad(const toml::node& n, std::string_view field, const std::string& what) const {
    return rd_.Bad(n, std::string(field) + ": " + what);
  }
  Status Keys(const toml::table& t, const std::set<std::string>& keys,
              const std::string& where) const {
    return rd_.OnlyKeys(t, keys, where, "; known: " + Join(keys));
  }
  // A required table of the root; "missing" names no line (there is none).
  Result<const toml::table*> Section(const toml::table& root, std::string_view key,
                                     bool required) const;
  // A string (`required`: present and not empty), at most `max` bytes.
  Status Str(const toml::table& t, std::string_view key, const std::string& field, bool required,
             std::string* out, size_t max = kMaxNameBytes) const;
  // A list of strings, each checked by `ok` (described by `what`).
  Status StrList(const toml::table& t, std::string_view key, const std::string& field,
                 size_t max_count, const std::function<bool(std::string_view)>& ok,
                 const std::string& what, std::vector<std::string>* out) const;
  Status Int(const toml::table& t, std::string_view key, const std::string& field, bool required,
             std::int64_t lo, std::int64_t hi, std::int64_t* out) const;
  Status Moment(const toml::table& t, std::string_view key, const std::string& field,
                contest::Moment* out) const;
  Status Missing(const toml::table& t, const std::string& field) const {
    return Bad(t, field, "missing (required)");
  }

  Status Contest(const toml::table& root, Rulebook* rb) const;
  Status TimelineOf(const toml::table& root, Rulebook* rb) const;
  Status Candidates(const toml::table& root, Rulebook* rb) const;
  Status Bodies(const toml::table& root, Rulebook* rb) const;
  Status AffiliatesOf(const toml::table& t, const std::string& field, Body* b) const;
  Status QualificationOf(const toml::table& root, Rulebook* rb) const;
  Status Electorate(const toml::table& root, Rulebook* rb) const;
  Status Neutrality(const toml::table& root, Rulebook* rb) const;
  Status Statements(const toml::table& root, Rulebook* rb) const;
  Status Receives(const toml::table& root, Rulebook* rb) const;

  TomlReader rd_;
};

Result<const toml::table*> Reader::Section(const toml::table& root, std::string_view key,
                                           bool required) const {
  const toml::node* n = root.get(key);
  if (!n) {
    if (!required) return nullptr;
    return Status::InvalidArgument(std::string(rd_.source()) + ": " + std::string(key) +
                                   ": missing; the rulebook needs a [" + std::string(key) +
                                   "] table");
  }
  if (!n->is_table()) return Bad(*n, key, "must be a table, [" + std::string(key) + "]");
  return n->as_table();
}

Status Reader::Str(const toml::table& t, std::string_view key, const std::string& field,
                   bool required, std::string* out, size_t max) const {
  const toml::node* n = t.get(key);
  if (!n) return required ? Missing(t, field) : Status::Ok();
  auto v = n->value<std::string>();
  if (!v || !n->is_string()) return Bad(*n, field, "must be a string");
  if (required && text::Trim(*v).empty()) return Bad(*n, field, "must not be empty");
  if (v->size() > max) return Bad(*n, field, "longer than " + std::to_string(max) + " bytes");
  *out = std::move(*v);
  return Status::Ok();
}

Status Reader::StrList(const toml::table& t, std::string_view key, const std::string& field,
                       size_t max_count, const std::function<bool(std::string_view)>& ok,
                       const std::string& what, std::vector<std::string>* out) const {
  const toml::node* n = t.get(key);
  if (!n) return Status::Ok();
  const toml::array* a = n->as_array();
  if (!a) return Bad(*n, field, "must be a list of strings");
  if (a->size() > max_count) {
    return Bad(*n, field, "more than " + std::to_string(max_count) + " entries");
  }
  std::set<std::string> seen;
  out->clear();
  for (size_t i = 0; i < a->size(); ++i) {
    const toml::node& e = *a->get(i);
    auto s = e.value<std::string>();
    if (!s || !e.is_string()) return Bad(e, Index(field, i), "must be a string");
    if (!ok(*s)) return Bad(e, Index(field, i), "'" + *s + "' is not " + what);
    if (!seen.insert(*s).second) return Bad(e, Index(field, i), "'" + *s + "' is listed twice");
    out->push_back(std::move(*s));
  }
  return Status::Ok();
}

Status Reader::Int(const toml::table& t, std::string_view key, const std::string& field,
                   bool required, std::int64_t lo, std::int64_t hi, std::int64_t* out) const {
  const toml::node* n = t.get(key);
  if (!n) return required ? Missing(t, field) : Status::Ok();
  if (!n->is_integer()) return Bad(*n, field, "must be a whole number");
  const std::int64_t v = *n->value<std::int64_t>();
  if (v < lo || v > hi) {
    return Bad(
        *n, field,
        std::to_string(v) + " is not between " + std::to_string(lo) + " and " + std::to_string(hi));
  }
  *out = v;
  return Status::Ok();
}

Micros LocalMicros(const toml::date& d, const toml::time& t, bool* ok) {
  std::int64_t days = 0;
  *ok = CivilToDays(d.year, d.month, d.day, &days);
  return days * kMicrosPerDay +
         (static_cast<Micros>(t.hour) * 3600 + t.minute * 60 + t.second) * kMicrosPerSecond +
         t.nanosecond / 1000;
}

constexpr const char* kZoneHint =
    " (write it with an offset, 2027-01-07T09:00:00Z or 2027-01-07T09:00:00+01:00, or as "
    "{ at = 2027-01-07T09:00:00, zone = \"Europe/London\" })";

// An offset date-time, or { at = <local date-time>, zone = "<IANA name>" }.
Status Reader::Moment(const toml::table& t, std::string_view key, const std::string& field,
                      contest::Moment* out) const {
  const toml::node* n = t.get(key);
  if (!n) return Missing(t, field);
  out->line = static_cast<int>(n->source().begin.line);
  if (n->is_date() || n->is_time() || (n->is_date_time() && n->as_date_time()->get().is_local())) {
    return Bad(*n, field, "needs a time zone" + std::string(kZoneHint));
  }
  if (const auto* dt = n->as_date_time()) {
    const toml::date_time& v = dt->get();
    bool ok = false;
    const Micros local = LocalMicros(v.date, v.time, &ok);
    if (!ok) return Bad(*n, field, "no such date");
    out->at = local - static_cast<Micros>(v.offset->minutes) * 60 * kMicrosPerSecond;
    // toml++ keeps no difference between Z and +00:00.
    out->zone = v.offset->minutes == 0 ? "UTC" : FormatOffset(v.offset->minutes);
    return Status::Ok();
  }
  const toml::table* z = n->as_table();
  if (!z) return Bad(*n, field, "must be a date-time with a time zone" + std::string(kZoneHint));
  SB_RETURN_IF_ERROR(Keys(*z, {"at", "zone"}, field));
  const toml::node* at = z->get("at");
  if (!at) return Missing(*z, field + ".at");
  if (!at->is_date_time() || !at->as_date_time()->get().is_local()) {
    return Bad(*at, field + ".at",
               "must be a local date-time such as 2027-01-07T09:00:00 (the zone says where)");
  }
  std::string zone_name;
  SB_RETURN_IF_ERROR(Str(*z, "zone", field + ".zone", true, &zone_name, 64));
  auto zone = TimeZone::Find(zone_name);
  if (!zone) return Bad(*z->get("zone"), field + ".zone", zone.error().message());
  const toml::date_time& v = at->as_date_time()->get();
  bool ok = false;
  const Micros local = LocalMicros(v.date, v.time, &ok);
  if (!ok) return Bad(*at, field + ".at", "no such date");
  // The instants whose local time in the zone is `local`: none in a gap
  // (clocks going forward), two in an overlap (clocks going back).
  std::set<int> offsets;
  for (Micros probe : {local - 2 * kMicrosPerDay, local, local + 2 * kMicrosPerDay}) {
    offsets.insert(zone->OffsetSeconds(probe));
  }
  std::set<Micros> hits;
  for (int o : offsets) {
    const Micros utc = local - static_cast<Micros>(o) * kMicrosPerSecond;
    if (zone->OffsetSeconds(utc) == o) hits.insert(utc);
  }
  if (hits.empty()) {
    return Bad(*at, field + ".at",
               "that local time does not exist in " + zone_name + " (the clocks go forward)");
  }
  if (hits.size() > 1) {
    return Bad(*at, field + ".at",
               "that local time happens twice in " + zone_name +
                   " (the clocks go back); write it with an offset such as " +
                   FormatOffset(zone->OffsetSeconds(*hits.begin()) / 60));
  }
  out->at = *hits.begin();
  out->zone = zone_name;
  return Status::Ok();
}

Status Reader::Contest(const toml::table& root, Rulebook* rb) const {
  SB_ASSIGN_OR_RETURN(const toml::table* t, Section(root, "contest", true));
  SB_RETURN_IF_ERROR(Keys(
      *t,
      {"id", "name", "version", "time_zone", "scope", "returning_officer", "procedures_committee"},
      "[contest]"));
  SB_RETURN_IF_ERROR(Str(*t, "id", "contest.id", true, &rb->id));
  if (!IsSlug(rb->id, 48)) {
    return Bad(*t->get("id"), "contest.id", "'" + rb->id + "' must be 1 to 48 of a-z, 0-9 and -");
  }
  SB_RETURN_IF_ERROR(Str(*t, "name", "contest.name", true, &rb->name));
  std::int64_t version = 1;
  SB_RETURN_IF_ERROR(Int(*t, "version", "contest.version", false, 1, 1'000'000, &version));
  rb->version = static_cast<int>(version);
  SB_RETURN_IF_ERROR(Str(*t, "time_zone", "contest.time_zone", false, &rb->time_zone, 64));
  if (auto z = TimeZone::Find(rb->time_zone); !z) {
    const toml::node* n = t->get("time_zone");
    return n ? Bad(*n, "contest.time_zone", z.error().message())
             : Bad(*t, "contest.time_zone", z.error().message());
  }
  SB_RETURN_IF_ERROR(Str(*t, "scope", "contest.scope", false, &rb->scope, 64));
  if (!rb->scope.empty() && !IsUnitCode(rb->scope)) {
    return Bad(*t->get("scope"), "contest.scope",
               "'" + rb->scope + "' is not a unit code (letters, digits, - and _)");
  }
  SB_RETURN_IF_ERROR(
      Str(*t, "returning_officer", "contest.returning_officer", true, &rb->returning_officer, 64));
  if (!IsLogin(rb->returning_officer)) {
    return Bad(*t->get("returning_officer"), "contest.returning_officer",
               "'" + rb->returning_officer + "' is not an account's login");
  }
  return StrList(*t, "procedures_committee", "contest.procedures_committee", kMaxCommittee, IsLogin,
                 "an account's login", &rb->procedures_committee);
}

Status Reader::TimelineOf(const toml::table& root, Rulebook* rb) const {
  SB_ASSIGN_OR_RETURN(const toml::table* t, Section(root, "timeline", true));
  Timeline& tl = rb->timeline;
  // In order; `strict`: must be after (not at) the one before.
  const struct {
    const char* key;
    contest::Moment* m;
    bool strict;
  } steps[] = {{"announced", &tl.announced, false},
               {"nominations_open", &tl.nominations_open, false},
               {"nominations_close", &tl.nominations_close, true},
               {"data_release", &tl.data_release, false},
               {"ballot_open", &tl.ballot_open, false},
               {"ballot_close", &tl.ballot_close, true}};
  std::set<std::string> keys;
  for (const auto& s : steps) keys.insert(s.key);
  SB_RETURN_IF_ERROR(Keys(*t, keys, "[timeline]"));
  for (const auto& s : steps) {
    SB_RETURN_IF_ERROR(Moment(*t, s.key, std::string("timeline.") + s.key, s.m));
  }
  for (size_t i = 1; i < std::size(steps); ++i) {
    const auto& prev = steps[i - 1];
    const auto& cur = steps[i];
    if (cur.m->at < prev.m->at || (cur.strict && cur.m->at == prev.m->at)) {
      return Bad(*t->get(cur.key), std::string("timeline.") + cur.key,
                 FormatTimestamp(cur.m->at) + " must be " +
                     (cur.strict ? "after " : "at or after ") + prev.key + " (" +
                     FormatTimestamp(prev.m->at) + ", line " + std::to_string(prev.m->line) +
                     "); the timeline runs announced <= nominations_open < nominations_close "
                     "<= data_release <= ballot_open < ballot_close");
    }
  }
  return Status::Ok();
}

Status Reader::Candidates(const toml::table& root, Rulebook* rb) const {
  const toml::node* n = root.get("candidates");
  if (!n) {
    return Status::InvalidArgument(std::string(rd_.source()) +
                                   ": candidates: missing; list each candidate as [[candidates]]");
  }
  const toml::array* a = n->as_array();
  if (a && a->empty()) return Bad(*n, "candidates", "at least one candidate is needed");
  if (!a || !a->is_array_of_tables()) {
    return Bad(*n, "candidates", "must be a list of tables, [[candidates]]");
  }
  if (a->size() > static_cast<size_t>(kMaxCandidates)) {
    return Bad(*a->get(kMaxCandidates), "candidates",
               "more than " + std::to_string(kMaxCandidates) + " candidates");
  }
  // Every name and alias, as the name matcher compares them, to its owner.
  std::map<std::string, std::string> spoken;
  std::map<std::string, std::string> account_owner;
  for (size_t i = 0; i < a->size(); ++i) {
    const toml::table& t = *a->get(i)->as_table();
    const std::string f = Index("candidates", i);
    SB_RETURN_IF_ERROR(Keys(t, {"id", "name", "aliases", "accounts"}, f));
    Candidate c;
    SB_RETURN_IF_ERROR(Str(t, "id", f + ".id", true, &c.id));
    if (!IsSlug(c.id, 32)) {
      return Bad(*t.get("id"), f + ".id", "'" + c.id + "' must be 1 to 32 of a-z, 0-9 and -");
    }
    if (rb->FindCandidate(c.id)) {
      return Bad(*t.get("id"), f + ".id", "'" + c.id + "' is already a candidate's id");
    }
    SB_RETURN_IF_ERROR(Str(t, "name", f + ".name", true, &c.name));
    auto any = [](std::string_view) { return true; };
    SB_RETURN_IF_ERROR(StrList(t, "aliases", f + ".aliases", kMaxAliases, any, "", &c.aliases));
    SB_RETURN_IF_ERROR(StrList(t, "accounts", f + ".accounts", kMaxAccountsPerCandidate, IsLogin,
                               "an account's login", &c.accounts));
    // The name, then each alias: none may be another candidate's.
    for (size_t k = 0; k <= c.aliases.size(); ++k) {
      const std::string& s = k == 0 ? c.name : c.aliases[k - 1];
      const toml::node& at = k == 0 ? *t.get("name") : *t.get("aliases")->as_array()->get(k - 1);
      const std::string field = k == 0 ? f + ".name" : Index(f + ".aliases", k - 1);
      if (s.size() > kMaxNameBytes) {
        return Bad(at, field, "longer than " + std::to_string(kMaxNameBytes) + " bytes");
      }
      const std::string key = text::FoldForMatch(s);
      if (key.empty()) return Bad(at, field, "has no letters or digits to match");
      auto [it, fresh] = spoken.emplace(key, c.id);
      if (!fresh && it->second != c.id) {
        return Bad(at, field,
                   "'" + s + "' is also a name or alias of candidate '" + it->second +
                       "' (compared ignoring case and accents)");
      }
    }
    for (size_t k = 0; k < c.accounts.size(); ++k) {
      auto [it, fresh] = account_owner.emplace(c.accounts[k], c.id);
      if (!fresh) {
        return Bad(
            *t.get("accounts")->as_array()->get(k), Index(f + ".accounts", k),
            "'" + c.accounts[k] + "' is already an account of candidate '" + it->second + "'");
      }
      if (c.accounts[k] == rb->returning_officer) {
        return Bad(*t.get("accounts")->as_array()->get(k), Index(f + ".accounts", k),
                   "'" + c.accounts[k] + "' is the returning officer");
      }
    }
    rb->candidates.push_back(std::move(c));
  }
  return Status::Ok();
}

Status Reader::AffiliatesOf(const toml::table& t, const std::string& field, Body* b) const {
  const toml::node* n = t.get("affiliates");
  if (!n) return Missing(t, field + ".affiliates");
  const toml::array* a = n->as_array();
  if (a && a->empty()) return Bad(*n, field + ".affiliates", "at least one affiliate is needed");
  if (!a || !a->is_array_of_tables()) {
    return Bad(*n, field + ".affiliates", "must be a list of tables, [[" + field + ".affiliates]]");
  }
  if (a->size() > static_cast<size_t>(kMaxAffiliates)) {
    return Bad(*a->get(kMaxAffiliates), field + ".affiliates",
               "more than " + std::to_string(kMaxAffiliates) + " affiliates");
  }
  std::set<std::string> ids;
  for (size_t i = 0; i < a->size(); ++i) {
    const toml::table& e = *a->get(i)->as_table();
    const std::string f = Index(field + ".affiliates", i);
    SB_RETURN_IF_ERROR(Keys(e, {"id", "name", "trade_union", "membership"}, f));
    Affiliate af;
    SB_RETURN_IF_ERROR(Str(e, "id", f + ".id", true, &af.id));
    if (!IsSlug(af.id, 32)) {
      return Bad(*e.get("id"), f + ".id", "'" + af.id + "' must be 1 to 32 of a-z, 0-9 and -");
    }
    if (!ids.insert(af.id).second) {
      return Bad(*e.get("id"), f + ".id", "'" + af.id + "' is already an affiliate's id");
    }
    SB_RETURN_IF_ERROR(Str(e, "name", f + ".name", true, &af.name));
    if (const toml::node* u = e.get("trade_union")) {
      if (!u->is_boolean()) return Bad(*u, f + ".trade_union", "must be true or false");
      af.trade_union = *u->value<bool>();
    }
    SB_RETURN_IF_ERROR(
        Int(e, "membership", f + ".membership", true, 0, kMaxMembership, &af.membership));
    b->affiliates.push_back(std::move(af));
  }
  return Status::Ok();
}

Status Reader::Bodies(const toml::table& root, Rulebook* rb) const {
  SB_ASSIGN_OR_RETURN(const toml::table* bodies, Section(root, "bodies", true));
  if (bodies->empty()) return Bad(*bodies, "bodies", "define at least one [bodies.<id>]");
  if (bodies->size() > static_cast<size_t>(kMaxBodies)) {
    return Bad(*bodies, "bodies", "more than " + std::to_string(kMaxBodies) + " bodies");
  }
  // In the file's order (toml++ keeps keys sorted).
  std::vector<std::pair<std::string_view, const toml::node*>> in_order;
  for (const auto& [key, node] : *bodies) in_order.emplace_back(key.str(), &node);
  std::stable_sort(in_order.begin(), in_order.end(), [](const auto& x, const auto& y) {
    return x.second->source().begin < y.second->source().begin;
  });
  for (const auto& [key, node_ptr] : in_order) {
    const toml::node& node = *node_ptr;
    Body b;
    b.id = std::string(key);
    const std::string f = "bodies." + b.id;
    if (!IsBodyId(b.id)) {
      return Bad(node, f,
                 "a body's id is 1 to 32 of a-z, 0-9 and _, starting with a letter, and not "
                 "'and' or 'or'");
    }
    const toml::table* t = node.as_table();
    if (!t) return Bad(node, f, "must be a table, [" + f + "]");
    std::string kind;
    SB_RETURN_IF_ERROR(Str(*t, "kind", f + ".kind", true, &kind, 32));
    if (kind == "people") {
      b.kind = BodyKind::kPeople;
      SB_RETURN_IF_ERROR(Keys(*t, {"label", "kind", "size"}, "[" + f + "] (kind \"people\")"));
      if (!t->get("size")) return Bad(*t, f + ".size", "missing: how many people may nominate");
      SB_RETURN_IF_ERROR(Int(*t, "size", f + ".size", true, 1, kMaxPeople, &b.size));
    } else if (kind == "units") {
      b.kind = BodyKind::kUnits;
      SB_RETURN_IF_ERROR(Keys(*t, {"label", "kind", "unit_kind"}, "[" + f + "] (kind \"units\")"));
      if (!t->get("unit_kind")) {
        return Bad(*t, f + ".unit_kind",
                   "missing: the kind of unit that nominates, e.g. "
                   "\"constituency\"");
      }
      SB_RETURN_IF_ERROR(Str(*t, "unit_kind", f + ".unit_kind", true, &b.unit_kind, 32));
      if (!std::all_of(b.unit_kind.begin(), b.unit_kind.end(),
                       [](char c) { return Lower(c) || Digit(c) || c == '_' || c == '-'; })) {
        return Bad(*t->get("unit_kind"), f + ".unit_kind",
                   "'" + b.unit_kind + "' is not a unit kind (a-z, 0-9, _ and -)");
      }
    } else if (kind == "affiliates") {
      b.kind = BodyKind::kAffiliates;
      SB_RETURN_IF_ERROR(
          Keys(*t, {"label", "kind", "affiliates"}, "[" + f + "] (kind \"affiliates\")"));
      SB_RETURN_IF_ERROR(AffiliatesOf(*t, f, &b));
    } else {
      return Bad(*t->get("kind"), f + ".kind",
                 "'" + kind + "' is not a kind of body: \"people\", \"units\" or \"affiliates\"");
    }
    b.label = b.id;
    SB_RETURN_IF_ERROR(Str(*t, "label", f + ".label", false, &b.label));
    rb->bodies.push_back(std::move(b));
  }
  return Status::Ok();
}

Status Reader::QualificationOf(const toml::table& root, Rulebook* rb) const {
  SB_ASSIGN_OR_RETURN(const toml::table* t, Section(root, "qualification", true));
  SB_RETURN_IF_ERROR(Keys(*t, {"expression"}, "[qualification]"));
  SB_RETURN_IF_ERROR(Str(*t, "expression", "qualification.expression", true, &rb->qualification,
                         kMaxExpressionBytes));
  auto e = internal::ParseExpr(rb->qualification, rb->bodies);
  if (!e) return Bad(*t->get("expression"), "qualification.expression", e.error().message());
  rb->expr = std::move(*e);
  return Status::Ok();
}

Status Reader::Electorate(const toml::table& root, Rulebook* rb) const {
  SB_ASSIGN_OR_RETURN(const toml::table* t, Section(root, "electorate", true));
  SB_RETURN_IF_ERROR(Keys(*t, {"statuses", "frozen_on"}, "[electorate]"));
  if (!t->get("statuses")) return Missing(*t, "electorate.statuses");
  const auto known = [](std::string_view s) {
    return std::any_of(std::begin(members::kStatuses), std::end(members::kStatuses),
                       [&](const char* k) { return s == k; });
  };
  std::string list;
  for (const char* k : members::kStatuses) list += (list.empty() ? "" : ", ") + std::string(k);
  SB_RETURN_IF_ERROR(StrList(*t, "statuses", "electorate.statuses", std::size(members::kStatuses),
                             known, "a membership status (" + list + ")",
                             &rb->electorate_statuses));
  if (rb->electorate_statuses.empty()) {
    return Bad(*t->get("statuses"), "electorate.statuses", "name at least one status");
  }
  const toml::node* f = t->get("frozen_on");
  if (!f) return Missing(*t, "electorate.frozen_on");
  const toml::date* d = nullptr;
  if (const auto* v = f->as_date()) d = &v->get();
  if (!d) {
    return Bad(*f, "electorate.frozen_on",
               "must be a date such as 2027-01-07 (members who joined on or before it vote)");
  }
  if (!CivilToDays(d->year, d->month, d->day, &rb->frozen_on)) {
    return Bad(*f, "electorate.frozen_on", "no such date");
  }
  return Status::Ok();
}

Status Reader::Neutrality(const toml::table& root, Rulebook* rb) const {
  SB_ASSIGN_OR_RETURN(const toml::table* t, Section(root, "neutrality", false));
  if (!t) return Status::Ok();
  SB_RETURN_IF_ERROR(Keys(*t, {"staff_flag", "staff_accounts", "leave"}, "[neutrality]"));
  if (const toml::node* s = t->get("staff_flag")) {
    if (!s->is_boolean()) return Bad(*s, "neutrality.staff_flag", "must be true or false");
    rb->staff_flag = *s->value<bool>();
  }
  SB_RETURN_IF_ERROR(StrList(*t, "staff_accounts", "neutrality.staff_accounts", kMaxStaffAccounts,
                             IsLogin, "an account's login", &rb->staff_accounts));
  const toml::node* n = t->get("leave");
  if (!n) return Status::Ok();
  const toml::array* a = n->as_array();
  if (a && a->empty()) return Status::Ok();
  if (!a || !a->is_array_of_tables()) {
    return Bad(*n, "neutrality.leave", "must be a list of tables, [[neutrality.leave]]");
  }
  if (a->size() > static_cast<size_t>(kMaxLeaveRecords)) {
    return Bad(*a->get(kMaxLeaveRecords), "neutrality.leave",
               "more than " + std::to_string(kMaxLeaveRecords) + " leave records");
  }
  for (size_t i = 0; i < a->size(); ++i) {
    const toml::table& e = *a->get(i)->as_table();
    const std::string f = Index("neutrality.leave", i);
    SB_RETURN_IF_ERROR(Keys(e, {"account", "candidate", "from", "until"}, f));
    LeaveRecord l;
    l.line = static_cast<int>(e.source().begin.line);
    SB_RETURN_IF_ERROR(Str(e, "account", f + ".account", true, &l.account, 64));
    if (!IsLogin(l.account)) {
      return Bad(*e.get("account"), f + ".account",
                 "'" + l.account + "' is not an account's login");
    }
    SB_RETURN_IF_ERROR(Str(e, "candidate", f + ".candidate", true, &l.candidate, 64));
    if (!rb->FindCandidate(l.candidate)) {
      return Bad(*e.get("candidate"), f + ".candidate", "no candidate '" + l.candidate + "'");
    }
    contest::Moment from, until;
    SB_RETURN_IF_ERROR(Moment(e, "from", f + ".from", &from));
    SB_RETURN_IF_ERROR(Moment(e, "until", f + ".until", &until));
    if (until.at <= from.at) {
      return Bad(
          *e.get("until"), f + ".until",
          FormatTimestamp(until.at) + " must be after from (" + FormatTimestamp(from.at) + ")");
    }
    l.from = from.at;
    l.until = until.at;
    rb->leave.push_back(std::move(l));
  }
  return Status::Ok();
}

Status Reader::Statements(const toml::table& root, Rulebook* rb) const {
  SB_ASSIGN_OR_RETURN(const toml::table* t, Section(root, "statements", false));
  if (!t) return Status::Ok();
  SB_RETURN_IF_ERROR(Keys(*t, {"word_limit", "counting"}, "[statements]"));
  std::int64_t limit = rb->word_limit;
  SB_RETURN_IF_ERROR(Int(*t, "word_limit", "statements.word_limit", false, 1, 1000, &limit));
  rb->word_limit = static_cast<int>(limit);
  SB_RETURN_IF_ERROR(Str(*t, "counting", "statements.counting", false, &rb->counting, 32));
  if (rb->counting != "words-v1") {
    return Bad(*t->get("counting"), "statements.counting",
               "'" + rb->counting + "' is not a counting method; the one method is \"words-v1\"");
  }
  return Status::Ok();
}

Status Reader::Receives(const toml::table& root, Rulebook* rb) const {
  SB_ASSIGN_OR_RETURN(const toml::table* t, Section(root, "candidates_receive", false));
  if (!t) return Status::Ok();
  SB_RETURN_IF_ERROR(Keys(*t, {"exports"}, "[candidates_receive]"));
  std::string exports = "none";
  SB_RETURN_IF_ERROR(Str(*t, "exports", "candidates_receive.exports", false, &exports, 32));
  if (exports == "none") {
    rb->receive = Receive::kPlatformOnly;
  } else if (exports == "watermarked") {
    rb->receive = Receive::kWatermarkedExports;
  } else {
    return Bad(*t->get("exports"), "candidates_receive.exports",
               "'" + exports + "' is not \"none\" or \"watermarked\"");
  }
  return Status::Ok();
}

Result<Rulebook> Reader::Read(std::string_view text) {
  SB_ASSIGN_OR_RETURN(toml::table root, rd_.Parse(text));
  SB_RETURN_IF_ERROR(Keys(root,
                          {"contest", "timeline", "candidates", "bodies", "qualification",
                           "electorate", "neutrality", "statements", "candidates_receive"},
                          "the rulebook"));
  Rulebook rb;
  SB_RETURN_IF_ERROR(Contest(root, &rb));
  SB_RETURN_IF_ERROR(TimelineOf(root, &rb));
  SB_RETURN_IF_ERROR(Candidates(root, &rb));
  SB_RETURN_IF_ERROR(Bodies(root, &rb));
  SB_RETURN_IF_ERROR(QualificationOf(root, &rb));
  SB_RETURN_IF_ERROR(Electorate(root, &rb));
  SB_RETURN_IF_ERROR(Neutrality(root, &rb));
  SB_RETURN_IF_ERROR(Statements(root, &rb));
  SB_RETURN_IF_ERROR(Receives(root, &rb));
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  rb.sha256 = Hex(digest, sizeof digest);
  return rb;
}

nlohmann::json MomentJson(const contest::Moment& m) {
  return {{"at", FormatTimestamp(m.at)}, {"zone", m.zone}};
}

}  // namespace

Result<Rulebook> ParseRulebook(std::string_view toml_text, std::string_view source_name) {
  return Reader(source_name).Read(toml_text);
}

std::string RulebookJson(const Rulebook& rb) {
  using nlohmann::json;
  const Timeline& tl = rb.timeline;
  json candidates = json::array();
  for (const Candidate& c : rb.candidates) {
    candidates.push_back(
        {{"id", c.id}, {"name", c.name}, {"aliases", c.aliases}, {"accounts", c.accounts}});
  }
  json bodies = json::array();
  for (const Body& b : rb.bodies) {
    json j = {{"id", b.id}, {"label", b.label}, {"kind", BodyKindName(b.kind)}};
    if (b.kind == BodyKind::kPeople) j["size"] = b.size;
    if (b.kind == BodyKind::kUnits) j["unit_kind"] = b.unit_kind;
    if (b.kind == BodyKind::kAffiliates) {
      json as = json::array();
      for (const Affiliate& a : b.affiliates) {
        as.push_back({{"id", a.id},
                      {"name", a.name},
                      {"trade_union", a.trade_union},
                      {"membership", a.membership}});
      }
      j["affiliates"] = std::move(as);
    }
    bodies.push_back(std::move(j));
  }
  json leave = json::array();
  for (const LeaveRecord& l : rb.leave) {
    leave.push_back({{"account", l.account},
                     {"candidate", l.candidate},
                     {"from", FormatTimestamp(l.from)},
                     {"until", FormatTimestamp(l.until)}});
  }
  const json out = {
      {"id", rb.id},
      {"name", rb.name},
      {"version", rb.version},
      {"time_zone", rb.time_zone},
      {"scope", rb.scope},
      {"returning_officer", rb.returning_officer},
      {"procedures_committee", rb.procedures_committee},
      {"timeline",
       {{"announced", MomentJson(tl.announced)},
        {"nominations_open", MomentJson(tl.nominations_open)},
        {"nominations_close", MomentJson(tl.nominations_close)},
        {"data_release", MomentJson(tl.data_release)},
        {"ballot_open", MomentJson(tl.ballot_open)},
        {"ballot_close", MomentJson(tl.ballot_close)}}},
      {"candidates", std::move(candidates)},
      {"bodies", std::move(bodies)},
      {"qualification", {{"expression", rb.qualification}}},
      {"electorate",
       {{"statuses", rb.electorate_statuses}, {"frozen_on", FormatDate(rb.frozen_on)}}},
      {"neutrality",
       {{"staff_flag", rb.staff_flag},
        {"staff_accounts", rb.staff_accounts},
        {"leave", std::move(leave)}}},
      {"statements", {{"word_limit", rb.word_limit}, {"counting", rb.counting}}},
      {"candidates_receive",
       {{"exports", rb.receive == Receive::kWatermarkedExports ? "watermarked" : "none"}}},
      {"sha256", rb.sha256},
  };
  return out.dump();
}

std::string ExampleRulebookToml(Micros announced) {
  const auto at = [&](int days) { return FormatTimestamp(announced + days * kMicrosPerDay); };
  std::int64_t day = announced / kMicrosPerDay;
  if (announced % kMicrosPerDay < 0) --day;
  std::string s;
  s += R"toml(# A leadership contest in the shape of the 2020 one (docs/contests.md): data
# released to qualifying candidates when nominations close, 50-word
# supporters' statements, staff neutral from announcement to ballot close.
# The candidates and affiliates are invented.

[contest]
id = "leader-2027"
name = "Leadership election 2027"
version = 1
time_zone = "Europe/London"
returning_officer = "returning-officer"
procedures_committee = ["procedures"]

# Each instant with its zone: an offset (Z, +01:00) or
# { at = 2027-01-07T09:00:00, zone = "Europe/London" }.
[timeline]
)toml";
  s += "announced = " + at(0) + "\n";
  s += "nominations_open = " + at(1) + "\n";
  s += "nominations_close = " + at(14) + "\n";
  s += "data_release = " + at(14) + "\n";
  s += "ballot_open = " + at(21) + "\n";
  s += "ballot_close = " + at(42) + "\n";
  s += R"toml(
[[candidates]]
id = "quennell-hart"
name = "Dervla Quennell-Hart"
aliases = ["DQH", "Quennell Hart"]
accounts = ["campaign-quennell-hart"]

[[candidates]]
id = "vauquelin"
name = "Inès Vauquelin"
aliases = ["IV", "I. Vauquelin"]
accounts = ["campaign-vauquelin"]

[[candidates]]
id = "wrenfield"
name = "Tobias Wrenfield"
aliases = ["TW", "Toby Wrenfield"]
accounts = ["campaign-wrenfield"]

[bodies.mps]
label = "Members of the parliamentary party"
kind = "people"
size = 200

[bodies.clps]
label = "Constituency parties"
kind = "units"
unit_kind = "constituency"

[bodies.affiliates]
label = "Affiliated organisations"
kind = "affiliates"

[[bodies.affiliates.affiliates]]
id = "lighthouse-keepers"
name = "Amalgamated Union of Lighthouse Keepers"
trade_union = true
membership = 410000

[[bodies.affiliates.affiliates]]
id = "orchard-workers"
name = "General Federation of Orchard Workers"
trade_union = true
membership = 265000

[[bodies.affiliates.affiliates]]
id = "canal-staff"
name = "Transport and Canal Staff Union"
trade_union = true
membership = 98000

[[bodies.affiliates.affiliates]]
id = "beekeepers"
name = "Cooperative Beekeepers' Society"
membership = 7000

[[bodies.affiliates.affiliates]]
id = "cartographers"
name = "Socialist Cartographers' Association"
membership = 3500

[[bodies.affiliates.affiliates]]
id = "tinkers"
name = "Young Tinkers' Guild"
membership = 1200

[qualification]
expression = """
mps >= 10% and (clps >= 5% or (affiliates >= 3 and affiliates.unions >= 2 \
and affiliates.membership >= 5%))"""

[electorate]
statuses = ["current"]
)toml";
  s += "frozen_on = " + FormatDate(day) + "\n";
  s += R"toml(
[neutrality]
staff_flag = true

[statements]
word_limit = 50
counting = "words-v1"

[candidates_receive]
exports = "none"
)toml";
  return s;
}

}  // namespace switchboard::contest
