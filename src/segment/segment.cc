// Segments: the JSON form and the reference SQL. See segment.h.
#include "segment/segment.h"

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <tuple>
#include <utility>

#include "core/json.h"
#include "members/register.h"

namespace switchboard::segment {

namespace {

using Json = nlohmann::json;

constexpr std::array<std::pair<const char*, std::uint32_t>, 4> kConsentNames = {{
    {"email", members::kConsentEmail},
    {"phone", members::kConsentPhone},
    {"sms", members::kConsentSms},
    {"candidates", members::kConsentCandidates},
}};

constexpr std::array<std::pair<const char*, std::uint32_t>, 6> kSuppressionNames = {{
    {"do_not_contact", members::kDoNotContact},
    {"deceased", members::kDeceased},
    {"moved", members::kMoved},
    {"no_email", members::kNoEmail},
    {"no_phone", members::kNoPhone},
    {"no_sms", members::kNoSms},
}};

constexpr std::array<const char*, 12> kFields = {"scope",
                                                 "units",
                                                 "statuses",
                                                 "types",
                                                 "consents",
                                                 "suppressions_none",
                                                 "joined_from",
                                                 "joined_to",
                                                 "lapsed_from",
                                                 "lapsed_to",
                                                 "not_contacted_since",
                                                 "exclude_canaries"};

Status FieldError(std::string_view field, std::string_view what) {
  return Status::InvalidArgument("segment." + std::string(field) + ": " + std::string(what));
}

std::string Indexed(std::string_view field, size_t i) {
  return std::string(field) + "[" + std::to_string(i) + "]";
}

Result<UnitId> ParseUnit(const Json& v, const members::OrgTree& tree, const std::string& field) {
  const members::Unit* u = nullptr;
  if (v.is_string()) {
    u = tree.FindByCodeOrName(v.get<std::string>());
  } else if (v.is_number_integer()) {
    u = tree.Find(UnitId(v.get<std::int64_t>()));
  } else {
    return FieldError(field, "expected a unit code, name or id");
  }
  if (!u) return FieldError(field, "no such unit");
  return u->id;
}

Result<std::vector<std::string>> StringArray(const Json& v, const std::string& field) {
  if (!v.is_array()) return FieldError(field, "expected an array of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string() || v[i].get<std::string>().empty()) {
      return FieldError(Indexed(field, i), "expected a non-empty string");
    }
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

template <size_t N>
Result<std::uint32_t> BitArray(const Json& v, const std::string& field,
                               const std::array<std::pair<const char*, std::uint32_t>, N>& names,
                               std::string_view kind) {
  SB_ASSIGN_OR_RETURN(auto list, StringArray(v, field));
  std::uint32_t bits = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    bool found = false;
    for (const auto& [name, bit] : names) {
      if (list[i] == name) {
        bits |= bit;
        found = true;
      }
    }
    if (!found) {
      std::string known;
      for (const auto& [name, bit] : names)
        known += (known.empty() ? "" : ", ") + std::string(name);
      return FieldError(Indexed(field, i), "unknown " + std::string(kind) + " \"" + list[i] +
                                               "\" (known: " + known + ")");
    }
  }
  return bits;
}

Result<std::int64_t> DateField(const Json& v, const std::string& field) {
  if (!v.is_string()) return FieldError(field, "expected a date as YYYY-MM-DD");
  auto d = ParseDate(v.get<std::string>());
  if (!d) return FieldError(field, "expected a date as YYYY-MM-DD");
  return *d;
}

std::string TimestampText(Micros t) {
  Micros frac = t % kMicrosPerSecond;
  if (frac < 0) frac += kMicrosPerSecond;
  std::string s = FormatTimestamp(t - frac);
  if (frac != 0 && !s.empty() && s.back() == 'Z') {
    char buf[16];
    std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(frac));
    s.insert(s.size() - 1, buf);
  }
  return s;
}

// Ids of every unit within any of `roots`, as a comma-separated list.
std::string UnitList(const members::OrgTree& tree, const std::vector<UnitId>& roots) {
  std::string out;
  for (const members::Unit& u : tree.units()) {
    for (UnitId r : roots) {
      if (tree.IsWithin(u.id, r)) {
        if (!out.empty()) out += ", ";
        out += std::to_string(u.id.value());
        break;
      }
    }
  }
  return out;
}

std::string InUnits(const members::OrgTree& tree, const std::vector<UnitId>& roots) {
  const std::string list = UnitList(tree, roots);
  if (list.empty()) return "1 = 0";
  return "(m.unit_id IN (" + list + ") OR m.branch_id IN (" + list + "))";
}

SqlQuery Where(const Segment& s, const members::OrgTree& tree) {
  SqlQuery q;
  std::string& w = q.sql;
  w = " WHERE " + InUnits(tree, {s.scope});
  if (!s.units.empty()) w += " AND " + InUnits(tree, s.units);
  auto in_text = [&](const char* column, const std::vector<std::string>& values) {
    w += std::string(" AND ") + column + " IN (";
    for (size_t i = 0; i < values.size(); ++i) {
      q.params.emplace_back(values[i]);
      w += (i ? ", $" : "$") + std::to_string(q.params.size());
    }
    w += ")";
  };
  if (!s.statuses.empty()) in_text("m.status", s.statuses);
  if (!s.types.empty()) in_text("m.membership_type", s.types);
  if (s.consents_all) {
    const std::string b = std::to_string(s.consents_all);
    w += " AND (m.consents & " + b + ") = " + b;
  }
  if (s.suppressions_none) {
    w += " AND (m.suppressions & " + std::to_string(s.suppressions_none) + ") = 0";
  }
  auto bound = [&](const char* expr, const std::optional<std::int64_t>& v) {
    if (v) w += std::string(" AND ") + expr + std::to_string(*v);
  };
  bound("m.joined_on >= ", s.joined_from);
  bound("m.joined_on < ", s.joined_to);
  bound("m.lapsed_on >= ", s.lapsed_from);
  bound("m.lapsed_on < ", s.lapsed_to);
  if (s.not_contacted_since) {
    w += " AND NOT EXISTS (SELECT 1 FROM contact_log c WHERE c.member_id = m.id AND c.at >= " +
         std::to_string(*s.not_contacted_since) + ")";
  }
  if (s.exclude_canaries) {
    w += " AND NOT EXISTS (SELECT 1 FROM canaries k WHERE k.member_id = m.id)";
  }
  return q;
}

}  // namespace

std::optional<std::uint32_t> ConsentBit(std::string_view name) {
  for (const auto& [n, bit] : kConsentNames)
    if (name == n) return bit;
  return std::nullopt;
}

std::optional<std::uint32_t> SuppressionBit(std::string_view name) {
  for (const auto& [n, bit] : kSuppressionNames)
    if (name == n) return bit;
  return std::nullopt;
}

Result<Segment> ParseSegment(std::string_view text, const members::OrgTree& tree) {
  auto parsed = ParseJson(text);
  if (!parsed) return parsed.error().WithContext("segment");
  const Json j = std::move(*parsed);
  if (!j.is_object()) return Status::InvalidArgument("segment: expected a JSON object");
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (const char* f : kFields) known = known || key == f;
    if (!known) return FieldError(key, "unknown field");
  }
  Segment s;
  if (!j.contains("scope")) return FieldError("scope", "required");
  SB_ASSIGN_OR_RETURN(s.scope, ParseUnit(j["scope"], tree, "scope"));
  if (j.contains("units")) {
    const Json& v = j["units"];
    if (!v.is_array()) return FieldError("units", "expected an array of units");
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string field = Indexed("units", i);
      SB_ASSIGN_OR_RETURN(UnitId u, ParseUnit(v[i], tree, field));
      if (!tree.IsWithin(u, s.scope)) return FieldError(field, "unit is outside the scope");
      s.units.push_back(u);
    }
  }
  if (j.contains("statuses")) {
    SB_ASSIGN_OR_RETURN(s.statuses, StringArray(j["statuses"], "statuses"));
    for (size_t i = 0; i < s.statuses.size(); ++i) {
      bool ok = false;
      for (const char* st : members::kStatuses) ok = ok || s.statuses[i] == st;
      if (!ok) {
        return FieldError(Indexed("statuses", i),
                          "unknown status \"" + s.statuses[i] +
                              "\" (known: current, lapsed, arrears, suspended, resigned)");
      }
    }
  }
  if (j.contains("types")) {
    SB_ASSIGN_OR_RETURN(s.types, StringArray(j["types"], "types"));
  }
  if (j.contains("consents")) {
    SB_ASSIGN_OR_RETURN(s.consents_all,
                        BitArray(j["consents"], "consents", kConsentNames, "consent"));
  }
  if (j.contains("suppressions_none")) {
    SB_ASSIGN_OR_RETURN(s.suppressions_none, BitArray(j["suppressions_none"], "suppressions_none",
                                                      kSuppressionNames, "suppression"));
  }
  for (auto [from, to, f_name, t_name] :
       {std::tuple(&s.joined_from, &s.joined_to, "joined_from", "joined_to"),
        std::tuple(&s.lapsed_from, &s.lapsed_to, "lapsed_from", "lapsed_to")}) {
    if (j.contains(f_name)) {
      SB_ASSIGN_OR_RETURN(*from, DateField(j[f_name], f_name));
    }
    if (j.contains(t_name)) {
      SB_ASSIGN_OR_RETURN(*to, DateField(j[t_name], t_name));
    }
    if (*from && *to && **to <= **from) {
      return FieldError(t_name, std::string("must be after ") + f_name);
    }
  }
  if (j.contains("not_contacted_since")) {
    const Json& v = j["not_contacted_since"];
    auto t = v.is_string() ? ParseTimestamp(v.get<std::string>())
                           : Result<Micros>(Status::InvalidArgument(""));
    if (!t) {
      return FieldError("not_contacted_since",
                        "expected an ISO 8601 time such as 2026-10-01T00:00:00Z");
    }
    s.not_contacted_since = *t;
  }
  if (j.contains("exclude_canaries")) {
    if (!j["exclude_canaries"].is_boolean()) {
      return FieldError("exclude_canaries", "expected true or false");
    }
    s.exclude_canaries = j["exclude_canaries"].get<bool>();
  }
  return s;
}

std::string SegmentToJson(const Segment& s, const members::OrgTree& tree) {
  nlohmann::ordered_json j;
  auto unit = [&](UnitId id) -> nlohmann::ordered_json {
    const members::Unit* u = tree.Find(id);
    if (u) return u->code;
    return id.value();
  };
  j["scope"] = unit(s.scope);
  if (!s.units.empty()) {
    j["units"] = nlohmann::ordered_json::array();
    for (UnitId u : s.units) j["units"].push_back(unit(u));
  }
  if (!s.statuses.empty()) j["statuses"] = s.statuses;
  if (!s.types.empty()) j["types"] = s.types;
  if (s.consents_all) {
    j["consents"] = nlohmann::ordered_json::array();
    for (const auto& [name, bit] : kConsentNames)
      if (s.consents_all & bit) j["consents"].push_back(name);
  }
  if (s.suppressions_none) {
    j["suppressions_none"] = nlohmann::ordered_json::array();
    for (const auto& [name, bit] : kSuppressionNames)
      if (s.suppressions_none & bit) j["suppressions_none"].push_back(name);
  }
  if (s.joined_from) j["joined_from"] = FormatDate(*s.joined_from);
  if (s.joined_to) j["joined_to"] = FormatDate(*s.joined_to);
  if (s.lapsed_from) j["lapsed_from"] = FormatDate(*s.lapsed_from);
  if (s.lapsed_to) j["lapsed_to"] = FormatDate(*s.lapsed_to);
  if (s.not_contacted_since) j["not_contacted_since"] = TimestampText(*s.not_contacted_since);
  j["exclude_canaries"] = s.exclude_canaries;
  return j.dump();
}

SqlQuery SegmentWhereSql(const Segment& s, const members::OrgTree& tree) { return Where(s, tree); }

SqlQuery SegmentCountSql(const Segment& s, const members::OrgTree& tree) {
  SqlQuery q = Where(s, tree);
  q.sql = "SELECT COUNT(*) FROM members m" + q.sql;
  return q;
}

SqlQuery SegmentPageSql(const Segment& s, const members::OrgTree& tree, MemberId after, int limit) {
  SqlQuery q = Where(s, tree);
  q.sql = "SELECT m.id FROM members m" + q.sql + " AND m.id > " + std::to_string(after.value()) +
          " ORDER BY m.id LIMIT " + std::to_string(limit < 0 ? 0 : limit);
  return q;
}

}  // namespace switchboard::segment
