// Campaigns (phonebank.h, the first section): definitions, the audience,
// validation, storage, edits, state changes and whether calling is open.
#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <unordered_map>

#include "access/store/access_store.h"
#include "core/json.h"
#include "members/contact.h"
#include "members/register.h"
#include "messaging/template.h"
#include "phonebank/phonebank.h"
#include "phonebank/phonebank_internal.h"

namespace switchboard::phonebank {

using json = nlohmann::json;
using internal::ParseOrDiscarded;

std::string_view StateName(CampaignState s) {
  switch (s) {
    case CampaignState::kDraft:
      return "draft";
    case CampaignState::kLive:
      return "live";
    case CampaignState::kPaused:
      return "paused";
    case CampaignState::kEnded:
      return "ended";
    case CampaignState::kKilled:
      return "killed";
  }
  return "draft";
}

std::optional<CampaignState> ParseState(std::string_view s) {
  for (CampaignState c : {CampaignState::kDraft, CampaignState::kLive, CampaignState::kPaused,
                          CampaignState::kEnded, CampaignState::kKilled}) {
    if (StateName(c) == s) return c;
  }
  return std::nullopt;
}

const std::vector<std::string>& CallerFieldNames() {
  static const std::vector<std::string> k = {"first_name", "membership_years", "branch"};
  return k;
}

namespace {

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::vector<std::string> Split(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const size_t c = s.find(',');
    out.emplace_back(s.substr(0, c));
    s = c == std::string_view::npos ? std::string_view() : s.substr(c + 1);
  }
  return out;
}

// Campaigns stored before audiences were segments kept
// {"statuses": [...], "units": [unit ids], "not_contacted_since": micros},
// empty statuses meaning current members.
Result<segment::Segment> ParseLegacyAudience(const json& j) {
  segment::Segment a;
  for (const auto& s : j.value("statuses", json::array())) {
    if (!s.is_string()) return Status::InvalidArgument("statuses: strings");
    a.statuses.push_back(s.get<std::string>());
  }
  if (a.statuses.empty()) a.statuses = {"current"};
  for (const auto& u : j.value("units", json::array())) {
    if (!u.is_number_integer()) return Status::InvalidArgument("units: unit ids");
    a.units.push_back(UnitId(u.get<std::int64_t>()));
  }
  const json& since = j.value("not_contacted_since", json(0));
  if (!since.is_number_integer()) return Status::InvalidArgument("not_contacted_since: a number");
  if (since.get<std::int64_t>() > 0) a.not_contacted_since = since.get<std::int64_t>();
  return a;
}

// The stored audience: the segment JSON form (SegmentToJson), or the form
// used before it.
Result<segment::Segment> ReadAudience(std::string_view text, const members::OrgTree& tree) {
  const json j = ParseOrDiscarded(text);
  if (j.is_object() && !j.contains("scope")) return ParseLegacyAudience(j);
  return segment::ParseSegment(text, tree);
}

std::string SurveyJson(const std::vector<SurveyQuestion>& qs) {
  json out = json::array();
  for (const auto& q : qs) {
    out.push_back(
        {{"id", q.id}, {"question", q.question}, {"type", q.type}, {"options", q.options}});
  }
  return out.dump();
}

std::vector<SurveyQuestion> ParseSurvey(std::string_view text) {
  std::vector<SurveyQuestion> out;
  json j = ParseOrDiscarded(text);
  if (!j.is_array()) return out;
  for (const auto& q : j) {
    SurveyQuestion s;
    s.id = q.value("id", "");
    s.question = q.value("question", "");
    s.type = q.value("type", "text");
    for (const auto& o : q.value("options", json::array())) {
      if (o.is_string()) s.options.push_back(o.get<std::string>());
    }
    out.push_back(std::move(s));
  }
  return out;
}

constexpr const char* kCampaignColumns =
    "id, name, owner_id, scope_unit, purpose, audience, script, survey, fields, calling_start, "
    "calling_end, starts_at, ends_at, state, eligibility, pace, recall_minutes, max_passes, "
    "created_at, updated_at, version, caller_id_number, ring_seconds";
constexpr int kCampaignColumnCount = 23;

// The parts of a campaign stored as text to be parsed, parsed. Every
// phone-bank request reads its campaign, most of them in the single writer;
// parsing these five columns was a sixth of the writer's time in P3. They
// are kept per thread with the text they came from, and reused only while
// the stored text is byte for byte the same: the row is still read on every
// call, so a paused, killed or edited campaign is seen at once.
struct ParsedColumns {
  std::string audience_text, survey_text, fields_text, eligibility_text, pace_text;
  const members::OrgTree* tree = nullptr;
  Result<segment::Segment> audience = Status::Internal("not parsed");
  std::vector<SurveyQuestion> survey;
  std::vector<std::string> fields;
  Eligibility eligibility;
  Pace pace;
};

ParsedColumns ParseColumns(const store::Row& r, const members::OrgTree& tree) {
  ParsedColumns p;
  p.audience_text = std::string(r.Text(5));
  p.survey_text = std::string(r.Text(7));
  p.fields_text = std::string(r.Text(8));
  p.eligibility_text = std::string(r.Text(14));
  p.pace_text = std::string(r.Text(15));
  p.tree = &tree;
  p.audience = ReadAudience(p.audience_text, tree);
  p.survey = ParseSurvey(p.survey_text);
  p.fields = Split(p.fields_text);
  json e = ParseOrDiscarded(p.eligibility_text);
  if (e.is_object()) {
    p.eligibility.members_in_scope_only = e.value("members_in_scope_only", false);
    p.eligibility.min_membership_years = e.value("min_membership_years", 0);
    p.eligibility.non_members_may_sign_up = e.value("non_members_may_sign_up", false);
  }
  json pace = ParseOrDiscarded(p.pace_text);
  if (pace.is_object()) {
    p.pace.burst = pace.value("burst", 3);
    p.pace.interval_seconds = pace.value("interval_seconds", 15);
    p.pace.per_hour = pace.value("per_hour", 120);
    p.pace.per_day = pace.value("per_day", 600);
  }
  return p;
}

const ParsedColumns& ParsedFor(const store::Row& r, const members::OrgTree& tree) {
  constexpr size_t kKept = 32;  // campaigns per thread; more and the cache starts again
  thread_local std::unordered_map<std::int64_t, ParsedColumns> kept;
  const std::int64_t id = r.Int(0);
  auto it = kept.find(id);
  if (it != kept.end() && it->second.tree == &tree && it->second.audience_text == r.Text(5) &&
      it->second.survey_text == r.Text(7) && it->second.fields_text == r.Text(8) &&
      it->second.eligibility_text == r.Text(14) && it->second.pace_text == r.Text(15)) {
    return it->second;
  }
  if (it == kept.end() && kept.size() >= kKept) kept.clear();
  ParsedColumns& slot = kept[id];
  slot = ParseColumns(r, tree);
  return slot;
}

Result<Campaign> ReadCampaign(const store::Row& r, const members::OrgTree& tree) {
  Campaign c;
  c.id = CampaignId(r.Int(0));
  c.name = std::string(r.Text(1));
  c.owner = AccountId(r.Int(2));
  c.scope = UnitId(r.Int(3));
  c.purpose = std::string(r.Text(4));
  const ParsedColumns& parsed = ParsedFor(r, tree);
  if (!parsed.audience) {
    return Status::Internal(
        "campaign " + c.id.ToString() +
        ": its stored audience cannot be read: " + parsed.audience.error().message());
  }
  c.audience = *parsed.audience;
  c.audience.scope = c.scope;
  c.script = std::string(r.Text(6));
  c.survey = parsed.survey;
  c.fields = parsed.fields;
  c.calling_start = static_cast<int>(r.Int(9));
  c.calling_end = static_cast<int>(r.Int(10));
  c.starts_at = r.Int(11);
  c.ends_at = r.Int(12);
  c.state = ParseState(r.Text(13)).value_or(CampaignState::kDraft);
  c.eligibility = parsed.eligibility;
  c.pace = parsed.pace;
  c.recall_minutes = static_cast<int>(r.Int(16));
  c.max_passes = static_cast<int>(r.Int(17));
  c.created_at = r.Int(18);
  c.updated_at = r.Int(19);
  c.version = static_cast<int>(r.Int(20));
  c.caller_id_number = r.TextOr(21);
  c.ring_seconds = static_cast<int>(r.IntOr(22, 0));
  return c;
}

std::string EligibilityJson(const Eligibility& e) {
  return json{{"members_in_scope_only", e.members_in_scope_only},
              {"min_membership_years", e.min_membership_years},
              {"non_members_may_sign_up", e.non_members_may_sign_up}}
      .dump();
}

std::string PaceJson(const Pace& p) {
  return json{{"burst", p.burst},
              {"interval_seconds", p.interval_seconds},
              {"per_hour", p.per_hour},
              {"per_day", p.per_day}}
      .dump();
}

std::vector<store::Value> CampaignValues(const Campaign& c, const members::OrgTree& tree) {
  return {c.name,
          c.owner.value(),
          c.scope.value(),
          c.purpose,
          segment::SegmentToJson(AudienceOf(c), tree),
          c.script,
          SurveyJson(c.survey),
          Join(c.fields),
          c.calling_start,
          c.calling_end,
          c.starts_at,
          c.ends_at,
          StateName(c.state),
          EligibilityJson(c.eligibility),
          PaceJson(c.pace),
          c.recall_minutes,
          c.max_passes,
          c.caller_id_number.empty() ? store::Value() : store::Value(c.caller_id_number),
          c.ring_seconds == 0 ? store::Value() : store::Value(c.ring_seconds)};
}

// A campaign's definition field by field (API names), as comparable text.
std::vector<std::pair<std::string, std::string>> Definition(const Campaign& c,
                                                            const members::OrgTree& tree) {
  return {{"name", c.name},
          {"purpose", c.purpose},
          {"audience", segment::SegmentToJson(AudienceOf(c), tree)},
          {"script", c.script},
          {"survey", SurveyJson(c.survey)},
          {"fields", Join(c.fields)},
          {"calling_hours", FormatMinutes(c.calling_start) + "-" + FormatMinutes(c.calling_end)},
          {"starts_at", std::to_string(c.starts_at)},
          {"ends_at", std::to_string(c.ends_at)},
          {"eligibility", EligibilityJson(c.eligibility)},
          {"pace", PaceJson(c.pace)},
          {"recall_minutes", std::to_string(c.recall_minutes)},
          {"max_passes", std::to_string(c.max_passes)},
          {"caller_id_number", c.caller_id_number},
          {"ring_seconds", std::to_string(c.ring_seconds)}};
}

// Why a field stays as it is once a campaign is live.
std::string FrozenBecause(std::string_view field) {
  if (field == "audience") return "the members to call were fixed when it went live";
  if (field == "survey") return "answers already recorded follow its questions";
  if (field == "name" || field == "purpose")
    return "callers joined for it and it is on their grants";
  if (field == "starts_at" || field == "ends_at")
    return "callers' access was granted for its window";
  if (field == "calling_hours") return "callers were told when they may call";
  if (field == "eligibility") return "callers have joined under it";
  return "callers are working under it";
}

// The per-member check a segment cannot express: a phone number that is not
// known to be wrong. `alias` is the members row.
std::string HasValidPhone(std::string_view alias) {
  return "EXISTS (SELECT 1 FROM contact_points p WHERE p.member_id = " + std::string(alias) +
         ".id AND p.kind = 'phone' AND p.valid = 1)";
}

}  // namespace

segment::Segment DefaultAudience() {
  segment::Segment s;
  s.statuses = {"current"};
  s.consents_all = members::kConsentPhone;
  s.suppressions_none = kNotCallable;
  s.exclude_canaries = true;
  return s;
}

segment::Segment AudienceOf(const Campaign& c) {
  segment::Segment s = c.audience;
  s.scope = c.scope;
  s.consents_all |= members::kConsentPhone;
  s.suppressions_none |= kNotCallable;
  s.exclude_canaries = true;
  return s;
}

Result<segment::Segment> ParseAudience(std::string_view text, const members::OrgTree& tree,
                                       UnitId scope) {
  auto parsed = ParseJson(text);
  if (!parsed) return parsed.error().WithContext("audience");
  json j = std::move(*parsed);
  if (!j.is_object()) return Status::InvalidArgument("audience: expected a JSON object");
  const members::Unit* own = tree.Find(scope);
  if (!own) return Status::InvalidArgument("scope: no such unit");
  if (j.contains("scope")) {
    const json& v = j["scope"];
    const members::Unit* u = v.is_string()           ? tree.FindByCodeOrName(v.get<std::string>())
                             : v.is_number_integer() ? tree.Find(UnitId(v.get<std::int64_t>()))
                                                     : nullptr;
    if (!u || u->id != scope) {
      return Status::InvalidArgument(
          "audience.scope: an audience lies within the campaign's scope (" + own->code +
          "); narrow it with \"units\"");
    }
  }
  j["scope"] = scope.value();
  // Earlier clients sent null for "no limit" and [] for "current members".
  if (j.contains("not_contacted_since") && j["not_contacted_since"].is_null()) {
    j.erase("not_contacted_since");
  }
  if (!j.contains("statuses") || (j["statuses"].is_array() && j["statuses"].empty())) {
    j["statuses"] = json::array({"current"});
  }
  if (j.contains("exclude_canaries") && j["exclude_canaries"] != json(true)) {
    return Status::InvalidArgument(
        "audience.exclude_canaries: canary records are never called; leave it out or set true");
  }
  auto s = segment::ParseSegment(j.dump(), tree);
  if (!s) {
    std::string m = s.error().message();
    if (m.rfind("segment.", 0) == 0) m = "audience." + m.substr(8);
    return Status::InvalidArgument(m);
  }
  Campaign c;
  c.scope = scope;
  c.audience = std::move(*s);
  return AudienceOf(c);
}

const std::vector<std::string>& LiveEditableFields() {
  static const std::vector<std::string> k = {"script", "fields", "caller_id_number",
                                             "ring_seconds"};
  return k;
}

std::vector<std::string> CallerLine::Choices() const {
  std::vector<std::string> out;
  if (!default_number.empty()) out.push_back(default_number);
  for (const std::string& n : numbers) {
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  }
  return out;
}

bool CallerLine::Listed(std::string_view e164) const {
  return !e164.empty() && (e164 == default_number ||
                           std::find(numbers.begin(), numbers.end(), e164) != numbers.end());
}

Result<std::string> ParseCallerIdNumber(std::string_view text) {
  auto phone = members::NormalisePhone(text, "GB");
  if (!phone) {
    return Status::InvalidArgument("caller_id_number: " + phone.error().message() +
                                   "; give an E.164 number such as +441632960001");
  }
  return phone->e164;
}

Status ValidateLine(const Campaign& c, const CallerLine& line) {
  if (!c.caller_id_number.empty()) {
    SB_ASSIGN_OR_RETURN(std::string e164, ParseCallerIdNumber(c.caller_id_number));
    if (e164 != c.caller_id_number) {
      return Status::InvalidArgument("caller_id_number: must be in E.164 form, e.g. +441632960001");
    }
    if (!line.Listed(e164)) {
      return Status::InvalidArgument(
          line.Choices().empty()
              ? "caller_id_number: the organisation lists no numbers of its own ([telephony] "
                "caller_id and caller_ids), so a campaign can only use the default"
              : "caller_id_number: not one of the organisation's numbers; a campaign may present "
                "only a number listed in [telephony] caller_id or caller_ids");
    }
  }
  if (c.ring_seconds != 0 &&
      (c.ring_seconds < kMinRingSeconds || c.ring_seconds > kMaxRingSeconds)) {
    return Status::InvalidArgument("ring_seconds: " + std::to_string(kMinRingSeconds) + " to " +
                                   std::to_string(kMaxRingSeconds) +
                                   " seconds, or 0 for the server's default");
  }
  return Status::Ok();
}

Status Validate(const Campaign& c, const access::Policy& policy, const members::OrgTree& tree) {
  if (c.name.empty() || c.name.size() > 200) {
    return Status::InvalidArgument("name: 1 to 200 characters");
  }
  if (c.purpose.empty() || c.purpose.size() > 500) {
    return Status::InvalidArgument("purpose: 1 to 500 characters; it goes on every grant");
  }
  if (!tree.Find(c.scope)) return Status::InvalidArgument("scope: no such unit");
  for (UnitId u : c.audience.units) {
    if (!tree.Find(u) || !tree.IsWithin(u, c.scope)) {
      return Status::InvalidArgument("audience.units: every unit must be inside the scope");
    }
  }
  for (const auto& s : c.audience.statuses) {
    if (std::find(std::begin(members::kStatuses), std::end(members::kStatuses), s) ==
        std::end(members::kStatuses)) {
      return Status::InvalidArgument("audience.statuses: unknown status '" + s + "'");
    }
  }
  for (const auto& [from, to, name] :
       {std::tuple(c.audience.joined_from, c.audience.joined_to, "joined_to"),
        std::tuple(c.audience.lapsed_from, c.audience.lapsed_to, "lapsed_to")}) {
    if (from && to && *to <= *from) {
      return Status::InvalidArgument("audience." + std::string(name) + ": must be after the start");
    }
  }
  if (c.script.size() > 20000) return Status::InvalidArgument("script: at most 20,000 characters");
  // Merge fields as in e-mail; errors name the line and column.
  SB_RETURN_IF_ERROR(
      messaging::Template::Compile(c.script, messaging::BodyKind::kScript, "script").status());
  std::set<std::string> ids;
  for (const auto& q : c.survey) {
    if (q.id.empty() || q.id.size() > 40 || !ids.insert(q.id).second) {
      return Status::InvalidArgument("survey: every question needs a unique id (1-40 characters)");
    }
    if (q.question.empty() || q.question.size() > 500) {
      return Status::InvalidArgument("survey." + q.id + ": the question is 1 to 500 characters");
    }
    if (q.type != "yesno" && q.type != "choice" && q.type != "scale" && q.type != "text") {
      return Status::InvalidArgument("survey." + q.id + ": type is yesno, choice, scale or text");
    }
    if (q.type == "choice" && (q.options.size() < 2 || q.options.size() > 20)) {
      return Status::InvalidArgument("survey." + q.id + ": a choice needs 2 to 20 options");
    }
  }
  if (c.survey.size() > 30) return Status::InvalidArgument("survey: at most 30 questions");
  for (const auto& f : c.fields) {
    if (std::find(CallerFieldNames().begin(), CallerFieldNames().end(), f) ==
        CallerFieldNames().end()) {
      return Status::InvalidArgument(
          "fields: callers may be shown first_name, membership_years "
          "and branch only, not '" +
          f + "'");
    }
  }
  if (c.calling_start < policy.calling_start_minute || c.calling_end > policy.calling_end_minute ||
      c.calling_end <= c.calling_start) {
    return Status::InvalidArgument("calling_hours: must lie within the policy's " +
                                   FormatMinutes(policy.calling_start_minute) + "-" +
                                   FormatMinutes(policy.calling_end_minute));
  }
  if (c.ends_at <= c.starts_at) return Status::InvalidArgument("ends_at: must be after starts_at");
  const access::Role* caller = policy.FindRole("caller");
  const int max_days = caller ? caller->max_grant_days : 84;
  if (c.ends_at - c.starts_at > static_cast<Micros>(max_days) * kMicrosPerDay) {
    return Status::InvalidArgument("ends_at: a campaign lasts at most " + std::to_string(max_days) +
                                   " days (policy)");
  }
  if (c.pace.burst < 1 || c.pace.burst > policy.phonebank_pace_burst_max) {
    return Status::InvalidArgument("pace.burst: 1 to " +
                                   std::to_string(policy.phonebank_pace_burst_max) +
                                   " new contacts (the policy's [phonebank] pace_burst_max)");
  }
  if (c.pace.interval_seconds < 1 || c.pace.per_hour < 1 || c.pace.per_day < 1) {
    return Status::InvalidArgument("pace: a positive interval and positive limits");
  }
  if (c.recall_minutes < 1 || c.max_passes < 1 || c.max_passes > 10) {
    return Status::InvalidArgument("recall: a positive interval and 1 to 10 passes");
  }
  return Status::Ok();
}

Result<CampaignId> InsertCampaign(store::Tx& tx, const members::OrgTree& tree, const Campaign& c,
                                  Micros now) {
  std::vector<store::Value> v = CampaignValues(c, tree);
  v.emplace_back(now);
  CampaignId id;
  SB_RETURN_IF_ERROR(tx.Query(
      std::string("INSERT INTO campaigns (name, owner_id, scope_unit, purpose, audience, script, "
                  "survey, fields, calling_start, calling_end, starts_at, ends_at, state, "
                  "eligibility, pace, recall_minutes, max_passes, caller_id_number, "
                  "ring_seconds, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                  "$9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20) RETURNING id"),
      store::Params(v), [&](const store::Row& r) {
        id = CampaignId(r.Int(0));
        return false;
      }));
  if (!id.valid()) return Status::Internal("inserting a campaign returned no id");
  return id;
}

Result<Campaign> GetCampaign(store::Tx& tx, const members::OrgTree& tree, CampaignId id) {
  std::optional<Result<Campaign>> c;
  SB_RETURN_IF_ERROR(
      tx.Query(std::string("SELECT ") + kCampaignColumns + " FROM campaigns WHERE id = $1",
               {id.value()}, [&](const store::Row& r) {
                 c = ReadCampaign(r, tree);
                 return false;
               }));
  if (!c) return Status::NotFound("no campaign has id " + id.ToString());
  return std::move(*c);
}

Result<UnitId> CampaignScope(store::Tx& tx, CampaignId id) {
  std::optional<UnitId> scope;
  SB_RETURN_IF_ERROR(tx.Query("SELECT scope_unit FROM campaigns WHERE id = $1", {id.value()},
                              [&](const store::Row& r) {
                                scope = UnitId(r.Int(0));
                                return false;
                              }));
  if (!scope) return Status::NotFound("no campaign has id " + id.ToString());
  return *scope;
}

Result<CampaignEdit> UpdateCampaign(store::Tx& tx, const members::OrgTree& tree, const Campaign& c,
                                    Micros now, int expected_version) {
  SB_ASSIGN_OR_RETURN(Campaign old, GetCampaign(tx, tree, c.id));
  if (old.state == CampaignState::kEnded || old.state == CampaignState::kKilled) {
    return Status::FailedPrecondition(
        "this campaign has " +
        std::string(old.state == CampaignState::kEnded ? "ended" : "been killed") +
        "; it can no longer be changed");
  }
  if (c.scope != old.scope) {
    return Status::InvalidArgument("scope: a campaign's scope cannot change; make a new one");
  }
  if (expected_version != 0 && expected_version != old.version) {
    return Status::FailedPrecondition(
        "version: the campaign has changed since version " + std::to_string(expected_version) +
        " was loaded (it is now version " + std::to_string(old.version) +
        "); reload it and make your change again");
  }
  CampaignEdit edit;
  const auto before = Definition(old, tree);
  const auto after = Definition(c, tree);
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i].second != after[i].second) edit.changed.push_back(before[i].first);
  }
  if (old.state != CampaignState::kDraft) {
    for (const auto& f : edit.changed) {
      if (std::find(LiveEditableFields().begin(), LiveEditableFields().end(), f) !=
          LiveEditableFields().end()) {
        continue;
      }
      return Status::FailedPrecondition(
          f + ": cannot change once a campaign has gone live (" + FrozenBecause(f) +
          "); while it is live or paused only the script, the fields shown to callers, the caller "
          "ID and the ring time can be edited. To change it, end this campaign and make a new "
          "one");
    }
  }
  edit.version = old.version;
  if (edit.changed.empty()) return edit;
  Campaign next = c;
  next.state = old.state;  // states change through SetState only
  next.owner = old.owner;
  std::vector<store::Value> v = CampaignValues(next, tree);
  v.emplace_back(now);
  v.emplace_back(c.id.value());
  v.emplace_back(old.version);
  SB_ASSIGN_OR_RETURN(
      std::int64_t n,
      tx.Exec("UPDATE campaigns SET name = $1, owner_id = $2, scope_unit = $3, purpose = $4, "
              "audience = $5, script = $6, survey = $7, fields = $8, calling_start = $9, "
              "calling_end = $10, starts_at = $11, ends_at = $12, state = $13, eligibility = $14, "
              "pace = $15, recall_minutes = $16, max_passes = $17, caller_id_number = $18, "
              "ring_seconds = $19, updated_at = $20, version = version + 1 WHERE id = $21 AND "
              "version = $22",
              store::Params(v)));
  if (n != 1) return Status::Aborted("the campaign was changed concurrently; try again");
  edit.version = old.version + 1;
  return edit;
}

Result<std::vector<CampaignRole>> ListCampaigns(store::Tx& tx, const members::OrgTree& tree,
                                                AccountId account) {
  std::vector<CampaignRole> out;
  Status bad = Status::Ok();
  SB_RETURN_IF_ERROR(tx.Query(
      std::string("SELECT ") + kCampaignColumns +
          ", CASE WHEN owner_id = $1 THEN 'organiser' ELSE 'caller' END FROM campaigns WHERE "
          "owner_id = $1 OR id IN (SELECT campaign_id FROM campaign_callers WHERE account_id = "
          "$1) ORDER BY id DESC",
      {account.value()}, [&](const store::Row& r) {
        auto c = ReadCampaign(r, tree);
        if (!c) {
          bad = c.error();
          return false;
        }
        out.push_back({std::move(*c), std::string(r.Text(kCampaignColumnCount))});
        return true;
      }));
  SB_RETURN_IF_ERROR(bad);
  return out;
}

Result<std::int64_t> CountAudience(store::Tx& tx, const members::OrgTree& tree, const Campaign& c) {
  // SegmentCountSql ends with its WHERE conditions on m; the phone check is
  // one more.
  segment::SqlQuery q = segment::SegmentCountSql(AudienceOf(c), tree);
  q.sql += " AND " + HasValidPhone("m");
  std::int64_t n = 0;
  SB_RETURN_IF_ERROR(tx.Query(q.sql, store::Params(q.params), [&](const store::Row& r) {
    n = r.Int(0);
    return false;
  }));
  return n;
}

Result<std::int64_t> SetState(store::Tx& tx, const members::OrgTree& tree, Campaign& c,
                              CampaignState to, Micros now) {
  const CampaignState from = c.state;
  const bool final = from == CampaignState::kEnded || from == CampaignState::kKilled;
  bool ok = false;
  switch (to) {
    case CampaignState::kLive:
      ok = from == CampaignState::kDraft || from == CampaignState::kPaused;
      break;
    case CampaignState::kPaused:
      ok = from == CampaignState::kLive;
      break;
    case CampaignState::kEnded:
    case CampaignState::kKilled:
      ok = !final && from != CampaignState::kDraft;
      break;
    case CampaignState::kDraft:
      ok = false;
      break;
  }
  if (!ok) {
    return Status::FailedPrecondition("a " + std::string(StateName(from)) +
                                      " campaign cannot become " + std::string(StateName(to)));
  }
  if (to == CampaignState::kLive && now >= c.ends_at) {
    return Status::FailedPrecondition("the campaign's window ended on " +
                                      FormatTimestamp(c.ends_at));
  }
  std::int64_t targets = 0;
  if (from == CampaignState::kDraft && to == CampaignState::kLive) {
    // Every member of the audience, in one statement: the segment's page
    // query with no limit, members with a valid phone number only.
    segment::SqlQuery q = segment::SegmentPageSql(AudienceOf(c), tree, MemberId(0),
                                                  std::numeric_limits<std::int32_t>::max());
    q.params.emplace_back(c.id.value());
    SB_ASSIGN_OR_RETURN(targets,
                        tx.Exec("INSERT INTO campaign_targets (campaign_id, member_id) SELECT $" +
                                    std::to_string(q.params.size()) + ", m.id FROM (" + q.sql +
                                    ") a JOIN members m ON m.id = a.id WHERE " + HasValidPhone("m"),
                                store::Params(q.params)));
  }
  SB_RETURN_IF_ERROR(tx.Exec("UPDATE campaigns SET state = $2, updated_at = $3 WHERE id = $1",
                             {c.id.value(), StateName(to), now})
                         .status());
  if (to == CampaignState::kEnded || to == CampaignState::kKilled) {
    // Release every lease; derived grants end through their source end.
    SB_RETURN_IF_ERROR(tx.Exec("UPDATE campaign_targets SET leased_by = NULL, lease_expires = "
                               "NULL, lease_call = NULL WHERE campaign_id = $1 AND leased_by IS "
                               "NOT NULL",
                               {c.id.value()})
                           .status());
    SB_RETURN_IF_ERROR(tx.Exec("UPDATE grants SET source_end = $2 WHERE source = $1 AND "
                               "(source_end IS NULL OR source_end > $2)",
                               {"campaign:" + c.id.ToString(), now})
                           .status());
    SB_RETURN_IF_ERROR(access::BumpAccessVersion(tx));
  }
  c.state = to;
  return targets;
}

Status CallingOpen(const Campaign& c, const TimeZone& zone, Micros now) {
  if (now >= c.ends_at) {
    return Status::FailedPrecondition("this campaign ended on " + FormatTimestamp(c.ends_at) +
                                      "; thank you for your help");
  }
  switch (c.state) {
    case CampaignState::kKilled:
      return Status::FailedPrecondition("this campaign was stopped by its organiser");
    case CampaignState::kEnded:
      return Status::FailedPrecondition("this campaign has ended");
    case CampaignState::kPaused:
      return Status::FailedPrecondition("this campaign is paused; try again later");
    case CampaignState::kDraft:
      return Status::FailedPrecondition("this campaign has not started yet");
    case CampaignState::kLive:
      break;
  }
  if (now < c.starts_at) {
    return Status::FailedPrecondition("calling starts on " + FormatTimestamp(c.starts_at));
  }
  const int m = zone.MinuteOfDay(now);
  if (m < c.calling_start || m >= c.calling_end) {
    return Status::FailedPrecondition("calls are made between " + FormatMinutes(c.calling_start) +
                                      " and " + FormatMinutes(c.calling_end) + " " + zone.name() +
                                      " time only; it is now " + zone.FormatLocal(now) + " there");
  }
  return Status::Ok();
}

}  // namespace switchboard::phonebank
