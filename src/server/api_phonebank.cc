// The phone bank's routes (RULEBOOK §6): each parses, calls one operation of
// phonebank/operations.h in the request's transaction (Api::Act) and
// renders. Callers only ever see the campaign's allowed fields and an opaque
// reference; member ids, numbers and addresses stay on the server.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/log.h"
#include "members/contact.h"
#include "phonebank/connector.h"
#include "phonebank/operations.h"
#include "phonebank/phonebank.h"
#include "segment/segment.h"
#include "server/api.h"
#include "server/api_internal.h"
#include "server/svg_chart.h"

namespace switchboard::server {

using namespace api_internal;  // NOLINT(build/namespaces)
namespace pb = phonebank;

namespace {

Result<int> ParseHhMm(const std::string& s, std::string_view field) {
  int h = 0, m = 0;
  char extra = 0;
  if (std::sscanf(s.c_str(), "%d:%d%c", &h, &m, &extra) != 2 || h < 0 || h > 24 || m < 0 ||
      m > 59) {
    return Status::InvalidArgument(std::string(field) + ": use HH:MM");
  }
  return h * 60 + m;
}

// A survey as organisers and callers see it.
json SurveyJson(const std::vector<pb::SurveyQuestion>& questions) {
  json survey = json::array();
  for (const auto& q : questions) {
    survey.push_back(
        {{"id", q.id}, {"question", q.question}, {"type", q.type}, {"options", q.options}});
  }
  return survey;
}

// A campaign's setting, null when it takes the default.
json OrNull(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }
json OrNull(int n) { return n == 0 ? json(nullptr) : json(n); }

json CampaignJson(const members::OrgTree& tree, const TimeZone& zone, const pb::Campaign& c) {
  return {{"id", c.id.value()},
          {"version", c.version},
          {"name", c.name},
          {"owner", c.owner.value()},
          {"scope", UnitJson(tree, c.scope)},
          {"purpose", c.purpose},
          {"audience", json::parse(segment::SegmentToJson(pb::AudienceOf(c), tree))},
          {"script", c.script},
          {"survey", SurveyJson(c.survey)},
          {"fields", c.fields},
          {"calling_hours",
           {{"start", pb::FormatMinutes(c.calling_start)},
            {"end", pb::FormatMinutes(c.calling_end)},
            {"time_zone", zone.name()}}},
          {"starts_at", FormatTimestamp(c.starts_at)},
          {"ends_at", FormatTimestamp(c.ends_at)},
          {"state", pb::StateName(c.state)},
          {"eligibility",
           {{"members_in_scope_only", c.eligibility.members_in_scope_only},
            {"min_membership_years", c.eligibility.min_membership_years},
            {"non_members_may_sign_up", c.eligibility.non_members_may_sign_up}}},
          {"pace",
           {{"burst", c.pace.burst},
            {"interval_seconds", c.pace.interval_seconds},
            {"per_hour", c.pace.per_hour},
            {"per_day", c.pace.per_day}}},
          {"recall_minutes", c.recall_minutes},
          {"max_passes", c.max_passes},
          {"caller_id_number", OrNull(c.caller_id_number)},
          {"ring_seconds", OrNull(c.ring_seconds)}};
}

// The organisation's numbers a campaign may present and the ring times it
// may choose ([telephony]), for the campaign's settings.
json CallingLineJson(const pb::CallerLine& line) {
  return {{"caller_ids", line.Choices()},
          {"default_caller_id", OrNull(line.default_number)},
          {"default_ring_seconds", line.default_ring_seconds},
          {"min_ring_seconds", pb::kMinRingSeconds},
          {"max_ring_seconds", pb::kMaxRingSeconds}};
}

// Reads the campaign fields present in `j` into `c` (all required when
// `create`). Errors name the field.
Status ReadCampaignBody(const json& j, const members::OrgTree& tree, Micros now, bool create,
                        pb::Campaign& c) {
  auto str = [&](const char* key, size_t max, std::string* out) -> Status {
    if (!j.contains(key)) {
      return create && std::string_view(key) != "script"
                 ? Status::InvalidArgument("missing field \"" + std::string(key) + "\"")
                 : Status::Ok();
    }
    SB_ASSIGN_OR_RETURN(*out, StringField(j, key, true, max));
    return Status::Ok();
  };
  SB_RETURN_IF_ERROR(str("name", 200, &c.name));
  SB_RETURN_IF_ERROR(str("purpose", 500, &c.purpose));
  SB_RETURN_IF_ERROR(str("script", 20000, &c.script));
  if (j.contains("scope")) {
    SB_ASSIGN_OR_RETURN(std::string s, StringField(j, "scope", true, 64));
    SB_ASSIGN_OR_RETURN(c.scope, UnitFrom(tree, s, "the field \"scope\""));
  }
  for (const char* key : {"starts_at", "ends_at"}) {
    if (!j.contains(key)) {
      if (create && std::string_view(key) == "ends_at") {
        return Status::InvalidArgument("missing field \"ends_at\"; every campaign ends");
      }
      if (create) c.starts_at = now;
      continue;
    }
    SB_ASSIGN_OR_RETURN(std::string t, StringField(j, key, true, 40));
    auto v = ParseTimeOrOffset(t, now);
    if (!v) return v.error().WithContext(key);
    (std::string_view(key) == "starts_at" ? c.starts_at : c.ends_at) = *v;
  }
  if (j.contains("audience")) {
    const json& a = j["audience"];
    if (!a.is_object()) return Status::InvalidArgument("audience: must be an object");
    SB_ASSIGN_OR_RETURN(c.audience, pb::ParseAudience(a.dump(), tree, c.scope));
  }
  if (j.contains("survey")) {
    if (!j["survey"].is_array()) return Status::InvalidArgument("survey: a list of questions");
    c.survey.clear();
    for (const auto& q : j["survey"]) {
      if (!q.is_object()) return Status::InvalidArgument("survey: a list of questions");
      pb::SurveyQuestion s;
      SB_ASSIGN_OR_RETURN(s.id, StringField(q, "id", true, 40));
      SB_ASSIGN_OR_RETURN(s.question, StringField(q, "question", true, 500));
      SB_ASSIGN_OR_RETURN(s.type, StringField(q, "type", true, 10));
      for (const auto& o : q.value("options", json::array())) {
        if (!o.is_string()) return Status::InvalidArgument("survey." + s.id + ".options: strings");
        s.options.push_back(o.get<std::string>());
      }
      c.survey.push_back(std::move(s));
    }
  }
  if (j.contains("fields")) {
    if (!j["fields"].is_array()) return Status::InvalidArgument("fields: a list");
    c.fields.clear();
    for (const auto& f : j["fields"]) {
      if (!f.is_string()) return Status::InvalidArgument("fields: a list of names");
      c.fields.push_back(f.get<std::string>());
    }
  }
  if (j.contains("calling_hours")) {
    const json& h = j["calling_hours"];
    if (!h.is_object()) return Status::InvalidArgument("calling_hours: {start, end}");
    SB_ASSIGN_OR_RETURN(std::string s, StringField(h, "start", true, 5));
    SB_ASSIGN_OR_RETURN(std::string e, StringField(h, "end", true, 5));
    SB_ASSIGN_OR_RETURN(c.calling_start, ParseHhMm(s, "calling_hours.start"));
    SB_ASSIGN_OR_RETURN(c.calling_end, ParseHhMm(e, "calling_hours.end"));
  }
  if (j.contains("eligibility")) {
    const json& e = j["eligibility"];
    if (!e.is_object()) return Status::InvalidArgument("eligibility: an object");
    c.eligibility.members_in_scope_only = e.value("members_in_scope_only", false);
    c.eligibility.min_membership_years = e.value("min_membership_years", 0);
    c.eligibility.non_members_may_sign_up = e.value("non_members_may_sign_up", false);
  }
  if (j.contains("pace")) {
    const json& p = j["pace"];
    if (!p.is_object()) return Status::InvalidArgument("pace: an object");
    c.pace.burst = p.value("burst", c.pace.burst);
    c.pace.interval_seconds = p.value("interval_seconds", c.pace.interval_seconds);
    c.pace.per_hour = p.value("per_hour", c.pace.per_hour);
    c.pace.per_day = p.value("per_day", c.pace.per_day);
  }
  if (j.contains("recall_minutes")) c.recall_minutes = j.value("recall_minutes", 240);
  if (j.contains("max_passes")) c.max_passes = j.value("max_passes", 3);
  // The campaign's line: null or "" (0 for the ring time) for the defaults.
  if (j.contains("caller_id_number")) {
    const json& v = j["caller_id_number"];
    if (v.is_null() || (v.is_string() && v.get<std::string>().empty())) {
      c.caller_id_number.clear();
    } else if (!v.is_string() || v.get<std::string>().size() > 40) {
      return Status::InvalidArgument(
          "caller_id_number: a phone number such as +441632960001, or null for the default");
    } else {
      SB_ASSIGN_OR_RETURN(c.caller_id_number, pb::ParseCallerIdNumber(v.get<std::string>()));
    }
  }
  if (j.contains("ring_seconds")) {
    const json& v = j["ring_seconds"];
    if (v.is_null()) {
      c.ring_seconds = 0;
    } else if (!v.is_number_integer() || v.get<std::int64_t>() < 0 ||
               v.get<std::int64_t>() > 3600) {
      return Status::InvalidArgument("ring_seconds: " + std::to_string(pb::kMinRingSeconds) +
                                     " to " + std::to_string(pb::kMaxRingSeconds) +
                                     " seconds, or null for the server's default");
    } else {
      c.ring_seconds = v.get<int>();
    }
  }
  return Status::Ok();
}

// nlohmann's value() throws on a type mismatch; keep every read total.
Status SafeRead(const std::function<Status()>& f) {
  try {
    return f();
  } catch (const nlohmann::json::exception&) {
    return Status::InvalidArgument("a field has the wrong type; see docs/openapi.yaml");
  }
}

}  // namespace

void Api::AddPhonebankHandlers() {
  handlers_["campaigns.list"] = [this](const ApiCall& c) { return ListCampaigns(c); };
  handlers_["campaigns.create"] = [this](const ApiCall& c) { return CreateCampaign(c); };
  handlers_["campaigns.get"] = [this](const ApiCall& c) { return GetCampaign(c); };
  handlers_["campaigns.update"] = [this](const ApiCall& c) { return UpdateCampaign(c); };
  handlers_["campaigns.audience_count"] = [this](const ApiCall& c) { return AudienceCount(c); };
  handlers_["audience.count"] = [this](const ApiCall& c) { return AudiencePreview(c); };
  handlers_["campaigns.state"] = [this](const ApiCall& c) { return CampaignState(c); };
  handlers_["campaigns.progress"] = [this](const ApiCall& c) { return CampaignProgress(c); };
  handlers_["campaigns.results"] = [this](const ApiCall& c) { return CampaignResults(c); };
  handlers_["campaigns.results_csv"] = [this](const ApiCall& c) { return ResultsCsv(c); };
  handlers_["campaigns.chart"] = [this](const ApiCall& c) { return ResultsChart(c); };
  handlers_["invites.create"] = [this](const ApiCall& c) { return CreateInvite(c); };
  handlers_["invites.list"] = [this](const ApiCall& c) { return ListInvites(c); };
  handlers_["invites.revoke"] = [this](const ApiCall& c) { return RevokeInvite(c); };
  handlers_["join.get"] = [this](const ApiCall& c) { return JoinInfo(c); };
  handlers_["join.post"] = [this](const ApiCall& c) { return JoinCampaign(c); };
  handlers_["calling.next"] = [this](const ApiCall& c) { return NextContact(c); };
  handlers_["calling.connect"] = [this](const ApiCall& c) { return Connect(c); };
  handlers_["calling.outcome"] = [this](const ApiCall& c) { return Outcome(c); };
  handlers_["calls.get"] = [this](const ApiCall& c) { return CallStatus(c); };
  handlers_["calling.hangup"] = [this](const ApiCall& c) { return Hangup(c); };
  handlers_["me.stats"] = [this](const ApiCall& c) { return MyStats(c); };
  handlers_["me.endpoint"] = [this](const ApiCall& c) { return RegisterEndpoint(c); };
  handlers_["me.endpoint_verify"] = [this](const ApiCall& c) { return VerifyEndpoint(c); };
  handlers_["me.endpoint_get"] = [this](const ApiCall& c) { return EndpointStatus(c); };
}

namespace {

pb::CampaignId CampaignOf(const ApiCall& call) { return pb::CampaignId(call.target_id); }

}  // namespace

HttpResponse Api::ListCampaigns(const ApiCall& call) {
  std::vector<pb::CampaignRole> list;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(list, pb::ListCampaigns(tx, *deps_.tree, who.account));
        return Status::Ok();
      },
      [&](const Status&) {
        json out = json::array();
        for (const auto& r : list) {
          out.push_back({{"id", r.campaign.id.value()},
                         {"name", r.campaign.name},
                         {"purpose", r.campaign.purpose},
                         {"state", pb::StateName(r.campaign.state)},
                         {"scope", UnitJson(*deps_.tree, r.campaign.scope)},
                         {"starts_at", FormatTimestamp(r.campaign.starts_at)},
                         {"ends_at", FormatTimestamp(r.campaign.ends_at)},
                         {"role", r.role}});
        }
        return Json(200, {{"campaigns", out}});
      });
}

HttpResponse Api::CreateCampaign(const ApiCall& call) {
  pb::Campaign c;
  std::int64_t count = 0;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        c = pb::Campaign();
        c.owner = who.account;
        c.scope = call.target_unit;
        SB_RETURN_IF_ERROR(
            SafeRead([&] { return ReadCampaignBody(call.body, *deps_.tree, call.now, true, c); }));
        SB_ASSIGN_OR_RETURN(count, phonebank_->Create(tx, who, c));
        return Status::Ok();
      },
      [&](const Status&) {
        json j = CampaignJson(*deps_.tree, deps_.time_zone, c);
        j["audience_count"] = count;
        return Json(201, {{"campaign", j}});
      });
}

HttpResponse Api::GetCampaign(const ApiCall& call) {
  pb::CampaignSummary s;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting&) -> Status {
        SB_ASSIGN_OR_RETURN(s, phonebank_->Get(tx, CampaignOf(call)));
        return Status::Ok();
      },
      [&](const Status&) {
        json j = CampaignJson(*deps_.tree, deps_.time_zone, s.campaign);
        j["audience_count"] = s.audience_count;
        j["targets"] = s.targets;
        j["calling_line"] = CallingLineJson(phonebank_->line());
        return Json(200, {{"campaign", j}});
      });
}

HttpResponse Api::UpdateCampaign(const ApiCall& call) {
  pb::Campaign c;
  pb::CampaignEdit edit;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        const json& body = call.body;
        int expected_version = 0;
        if (body.contains("version")) {
          const json& v = body["version"];
          if (!v.is_number_integer() || v.get<std::int64_t>() < 1 ||
              v.get<std::int64_t>() > INT32_MAX) {
            return Status::InvalidArgument("version: the campaign's version, a whole number");
          }
          expected_version = v.get<int>();
        }
        auto apply = [&](pb::Campaign& x) {
          return SafeRead([&] { return ReadCampaignBody(body, *deps_.tree, call.now, false, x); });
        };
        SB_ASSIGN_OR_RETURN(
            edit, phonebank_->Edit(tx, who, CampaignOf(call), expected_version, apply, c));
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(200, {{"campaign", CampaignJson(*deps_.tree, deps_.time_zone, c)},
                          {"changed", edit.changed}});
      });
}

HttpResponse Api::AudienceCount(const ApiCall& call) {
  std::int64_t count = 0;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting&) -> Status {
        json j{{"audience", call.body.value("audience", json::object())}};
        auto apply = [&](pb::Campaign& c) {
          return SafeRead([&] { return ReadCampaignBody(j, *deps_.tree, call.now, false, c); });
        };
        SB_ASSIGN_OR_RETURN(count, phonebank_->CountWith(tx, CampaignOf(call), apply));
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(200, {{"count", count}});
      });
}

HttpResponse Api::AudiencePreview(const ApiCall& call) {
  std::int64_t count = 0;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting&) -> Status {
        const json& a = call.body.value("audience", json::object());
        if (!a.is_object()) return Status::InvalidArgument("audience: must be an object");
        pb::Campaign c;
        c.scope = call.target_unit;  // the body's scope, which the decision was about
        SB_ASSIGN_OR_RETURN(c.audience, pb::ParseAudience(a.dump(), *deps_.tree, c.scope));
        SB_ASSIGN_OR_RETURN(count, pb::CountAudience(tx, *deps_.tree, c));
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(200, {{"count", count}});
      });
}

HttpResponse Api::CampaignState(const ApiCall& call) {
  pb::Campaign c;
  std::int64_t targets = 0;
  std::optional<pb::CampaignState> to;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(std::string state, StringField(call.body, "state", true, 10));
        to = pb::ParseState(state);
        if (!to) return Status::InvalidArgument("state: one of live, paused, ended, killed");
        SB_ASSIGN_OR_RETURN(targets, phonebank_->ChangeState(tx, who, CampaignOf(call), *to, c));
        return Status::Ok();
      },
      [&](const Status&) {
        if (pb::Operations::EndsCalls(*to)) {
          // The change is durable: calls going on now end on both legs.
          auto ended = phonebank_->EndCalls(*deps_.store, c.id, deps_.clock->Now());
          if (!ended) {
            log::Error("phonebank", "ending the campaign's calls failed",
                       {{"campaign", c.id.value()}, {"error", ended.error()}});
          } else if (*ended > 0) {
            log::Info("phonebank", "calls ended with the campaign's state",
                      {{"campaign", c.id.value()}, {"calls", *ended}});
          }
        }
        json j{{"campaign", CampaignJson(*deps_.tree, deps_.time_zone, c)}};
        if (*to == pb::CampaignState::kLive) j["targets"] = targets;
        return Json(200, j);
      });
}

HttpResponse Api::CampaignProgress(const ApiCall& call) {
  pb::Progress p;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(p, phonebank_->ProgressOf(tx, who, CampaignOf(call)));
        return Status::Ok();
      },
      [&](const Status&) {
        json by_outcome = json::object();
        for (const auto& [k, v] : p.by_outcome) by_outcome[k] = v;
        json by_unit = json::array();
        for (const auto& u : p.by_unit) {
          by_unit.push_back({{"unit", u.unit},
                             {"targets", u.targets},
                             {"to_call", u.to_call},
                             {"done", u.done},
                             {"calls", u.calls}});
        }
        json by_caller = json::array();
        for (const auto& r : p.by_caller) {
          by_caller.push_back({{"account", r.account.value()},
                               {"display_name", r.display_name},
                               {"calls", r.calls},
                               {"conversations", r.conversations}});
        }
        return Json(200, {{"totals",
                           {{"targets", p.targets},
                            {"to_call", p.to_call},
                            {"done", p.done},
                            {"calls", p.calls},
                            {"conversations", p.conversations},
                            {"in_progress", p.in_progress},
                            {"by_outcome", by_outcome}}},
                          {"live",
                           {{"calling_you", p.live.calling_you},
                            {"calling_member", p.live.calling_member},
                            {"connected", p.live.connected}}},
                          {"by_unit", by_unit},
                          {"by_caller", by_caller}});
      });
}

namespace {

double Percent(std::int64_t n, std::int64_t of) {
  return of > 0 ? std::round(1000.0 * static_cast<double>(n) / static_cast<double>(of)) / 10.0
                : 0.0;
}

std::string PercentText(std::int64_t n, std::int64_t of) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", Percent(n, of));
  return buf;
}

json CountsJson(const pb::QuestionResult& q, const pb::AnswerCounts& a) {
  json j{{"responses", a.responses}};
  if (a.withheld) {
    j["withheld"] = true;
    return j;
  }
  if (q.options.empty()) return j;
  json answers = json::array();
  for (size_t i = 0; i < q.options.size(); ++i) {
    const std::int64_t n = i < a.counts.size() ? a.counts[i] : 0;
    answers.push_back(
        {{"answer", q.options[i]}, {"count", n}, {"percent", Percent(n, a.responses)}});
  }
  j["answers"] = answers;
  return j;
}

std::string OutcomeLabel(std::string_view o) {
  static const std::map<std::string_view, std::string> k = {
      {"answered", "Answered"},   {"no_answer", "No answer"},       {"busy", "Busy"},
      {"voicemail", "Voicemail"}, {"wrong_number", "Wrong number"}, {"do_not_call", "Do not call"},
      {"moved", "Moved"},         {"deceased", "Deceased"}};
  auto it = k.find(o);
  return it == k.end() ? std::string(o) : it->second;
}

// The last 48 hours with calls up to the latest, empty hours included.
BarChart CallsPerHourChart(const pb::Results& r, const TimeZone& zone) {
  BarChart c;
  c.id = "calls-per-hour";
  c.title = "Calls per hour";
  c.over_time = true;
  if (r.by_hour.empty()) {
    c.description = "No calls have been recorded yet.";
    return c;
  }
  const std::int64_t last = r.by_hour.back().index;
  const std::int64_t first = std::max(r.by_hour.front().index, last - 47);
  std::map<std::int64_t, const pb::TimeBucket*> at;
  for (const auto& b : r.by_hour) at[b.index] = &b;
  std::int64_t total = 0, most = 0;
  std::string most_at;
  for (std::int64_t h = first; h <= last; ++h) {
    const std::string when = FormatTimestamp(h * 3600 * kMicrosPerSecond);  // local already
    ChartBar bar;
    bar.label = when.substr(11, 5);
    bar.tooltip = when.substr(0, 10) + " " + when.substr(11, 5);
    auto it = at.find(h);
    bar.value = it == at.end() ? 0 : it->second->calls;
    total += bar.value;
    if (bar.value > most) most = bar.value, most_at = bar.tooltip;
    c.bars.push_back(bar);
  }
  const std::string from = c.bars.front().tooltip, to = c.bars.back().tooltip;
  c.description = std::to_string(total) + " calls recorded from " + from + " to " + to + " (" +
                  zone.name() + " time), in " + std::to_string(c.bars.size()) +
                  " hours; the busiest hour, " + most_at + ", had " + std::to_string(most) + ".";
  return c;
}

BarChart OutcomesChart(const pb::Results& r) {
  BarChart c;
  c.id = "outcomes";
  c.title = "Call outcomes";
  std::vector<std::pair<std::string, std::int64_t>> rows = r.by_outcome;
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string parts;
  for (const auto& [k, v] : rows) {
    c.bars.push_back({OutcomeLabel(k), v, PercentText(v, r.calls), ""});
    parts += (parts.empty() ? "" : ", ") + OutcomeLabel(k) + " " + std::to_string(v) + " (" +
             PercentText(v, r.calls) + ")";
  }
  c.description = std::to_string(r.calls) + " calls with an outcome" +
                  (parts.empty() ? "." : ": " + parts + ".");
  return c;
}

BarChart QuestionChart(const pb::QuestionResult& q, size_t n) {
  BarChart c;
  c.id = "question-" + std::to_string(n);
  c.title = q.question.question;
  std::string parts;
  for (size_t i = 0; i < q.options.size(); ++i) {
    const std::int64_t v = i < q.total.counts.size() ? q.total.counts[i] : 0;
    const std::string label = q.question.type == "yesno" ? (i == 0 ? "Yes" : "No") : q.options[i];
    c.bars.push_back({label, v, PercentText(v, q.total.responses), ""});
    parts += (parts.empty() ? "" : ", ") + label + " " + std::to_string(v) + " (" +
             PercentText(v, q.total.responses) + ")";
  }
  if (q.options.empty()) {
    c.bars.push_back({"Answered", q.total.responses, "", ""});
    c.description = std::to_string(q.total.responses) +
                    " answers to this free-text question; the answers themselves are not shown.";
  } else {
    c.description = std::to_string(q.total.responses) + " responses" +
                    (parts.empty() ? "." : ": " + parts + ".");
  }
  return c;
}

// The results, with each chart's title, description (its text alternative)
// and address.
json ResultsJson(const pb::Results& r, const TimeZone& zone, std::int64_t campaign) {
  json by_outcome = json::object();
  for (const auto& [k, v] : r.by_outcome) by_outcome[k] = v;
  auto buckets = [](const std::vector<pb::TimeBucket>& v, const char* key) {
    json out = json::array();
    for (const auto& b : v)
      out.push_back({{key, b.at}, {"calls", b.calls}, {"answered", b.answered}});
    return out;
  };
  json questions = json::array();
  for (const auto& q : r.questions) {
    json j = CountsJson(q, q.total);
    j["id"] = q.question.id;
    j["question"] = q.question.question;
    j["type"] = q.question.type;
    j["skipped"] = std::max<std::int64_t>(0, r.answered - q.total.responses);
    json units = json::array();
    for (const auto& [unit, a] : q.by_unit) {
      json u = CountsJson(q, a);
      u["unit"] = unit;
      units.push_back(u);
    }
    json days = json::array();
    for (const auto& [day, a] : q.by_day) {
      json d = CountsJson(q, a);
      d["day"] = day;
      days.push_back(d);
    }
    j["by_unit"] = units;
    j["by_day"] = days;
    questions.push_back(j);
  }
  json charts = json::array();
  auto chart = [&](const BarChart& c) {
    charts.push_back(
        {{"name", c.id},
         {"title", c.title},
         {"description", c.description},
         {"href", "/api/v1/campaigns/" + std::to_string(campaign) + "/charts/" + c.id}});
  };
  chart(CallsPerHourChart(r, zone));
  chart(OutcomesChart(r));
  for (size_t i = 0; i < r.questions.size(); ++i) chart(QuestionChart(r.questions[i], i + 1));
  return {{"time_zone", zone.name()},
          {"small_cell", pb::kSmallCell},
          {"calls", r.calls},
          {"answered", r.answered},
          {"by_outcome", by_outcome},
          {"calls_by_hour", buckets(r.by_hour, "hour")},
          {"calls_by_day", buckets(r.by_day, "day")},
          {"questions", questions},
          {"charts", charts}};
}

}  // namespace

HttpResponse Api::CampaignResults(const ApiCall& call) {
  pb::Results r;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting&) -> Status {
        pb::Campaign c;
        SB_ASSIGN_OR_RETURN(r, phonebank_->ResultsOf(tx, CampaignOf(call), c));
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(200, ResultsJson(r, deps_.time_zone, CampaignOf(call).value()));
      });
}

HttpResponse Api::ResultsCsv(const ApiCall& call) {
  std::string csv;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(csv, phonebank_->ExportResults(tx, who, CampaignOf(call)));
        return Status::Ok();
      },
      [&](const Status&) {
        HttpResponse out;
        out.content_type = "text/csv; charset=utf-8";
        out.body = std::move(csv);
        out.headers.emplace_back("Content-Disposition",
                                 "attachment; filename=\"campaign-" +
                                     std::to_string(CampaignOf(call).value()) + "-results.csv\"");
        return out;
      });
}

HttpResponse Api::ResultsChart(const ApiCall& call) {
  pb::Results r;
  BarChart chart;
  Status failed = Status::Ok();
  const std::string name = call.req.params.at("chart");
  HttpResponse resp = Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting&) -> Status {
        pb::Campaign c;
        SB_ASSIGN_OR_RETURN(r, phonebank_->ResultsOf(tx, CampaignOf(call), c));
        if (name == "calls-per-hour") {
          chart = CallsPerHourChart(r, deps_.time_zone);
        } else if (name == "outcomes") {
          chart = OutcomesChart(r);
        } else if (name.starts_with("question-")) {
          auto n = ParseId(name.substr(9), "the question number");
          if (!n || *n < 1 || static_cast<size_t>(*n) > r.questions.size()) {
            return failed = Status::NotFound("this campaign has no question " + name.substr(9));
          }
          chart = QuestionChart(r.questions[*n - 1], *n);
        } else {
          return failed = Status::NotFound(
                     "no such chart; calls-per-hour, outcomes and question-<n> exist");
        }
        return Status::Ok();
      },
      [&](const Status&) {
        HttpResponse out;
        out.content_type = "image/svg+xml; charset=utf-8";
        out.body = RenderSvg(chart);
        return out;
      });
  if (failed.code() == StatusCode::kNotFound) return RefuseNotFound(call, failed.message());
  return resp;
}

HttpResponse Api::CreateInvite(const ApiCall& call) {
  pb::NewInvite inv;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        const json& body = call.body;
        SB_ASSIGN_OR_RETURN(std::string label, StringField(body, "label", true, 100));
        Micros expires = 0;
        if (body.contains("expires_at")) {
          SB_ASSIGN_OR_RETURN(std::string t, StringField(body, "expires_at", true, 40));
          auto v = ParseTimeOrOffset(t, call.now);
          if (!v) return v.error().WithContext("expires_at");
          expires = *v;
        }
        const json& mj = body.value("max_joins", json(50));
        if (!mj.is_number_integer()) return Status::InvalidArgument("max_joins: a whole number");
        SB_ASSIGN_OR_RETURN(
            inv, phonebank_->Invite(tx, who, CampaignOf(call), label, expires, mj.get<int>()));
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(201, {{"invite",
                           {{"id", inv.invite.id.value()},
                            {"label", inv.invite.label},
                            {"expires_at", FormatTimestamp(inv.invite.expires_at)},
                            {"max_joins", inv.invite.max_joins},
                            {"joins", 0}}},
                          {"token", inv.token},
                          {"url", "/join/" + inv.token}});
      });
}

HttpResponse Api::ListInvites(const ApiCall& call) {
  std::vector<pb::Invite> invites;
  std::vector<pb::Joined> joined;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting&) -> Status {
        SB_ASSIGN_OR_RETURN(invites, pb::ListInvites(tx, CampaignOf(call)));
        SB_ASSIGN_OR_RETURN(joined, pb::ListJoined(tx, CampaignOf(call)));
        return Status::Ok();
      },
      [&](const Status&) {
        json out = json::array();
        for (const auto& i : invites) {
          json who = json::array();
          for (const auto& j : joined) {
            if (j.invite == i.id) {
              who.push_back({{"account", j.account.value()},
                             {"display_name", j.display_name},
                             {"joined_at", FormatTimestamp(j.joined_at)}});
            }
          }
          out.push_back({{"id", i.id.value()},
                         {"label", i.label},
                         {"joins", i.joins},
                         {"max_joins", i.max_joins},
                         {"expires_at", FormatTimestamp(i.expires_at)},
                         {"revoked", i.revoked_at != 0},
                         {"created_by", i.created_by.value()},
                         {"joined", who}});
        }
        return Json(200, {{"invites", out}});
      });
}

HttpResponse Api::RevokeInvite(const ApiCall& call) {
  std::int64_t invite = 0;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(invite, ParseId(call.req.params.at("invite"), "the invitation id"));
        return phonebank_->WithdrawInvite(tx, who, CampaignOf(call), pb::InviteId(invite));
      },
      [&](const Status&) {
        return Json(200, {{"invite", invite}, {"status", "revoked"}});
      });
}

HttpResponse Api::JoinInfo(const ApiCall& call) {
  pb::Campaign c;
  Status eligible = Status::Ok();
  Status failed = Status::Ok();
  HttpResponse r = Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        auto inv = pb::FindInvite(tx, call.req.params.at("token"));
        if (!inv) return failed = inv.error();
        SB_ASSIGN_OR_RETURN(c, pb::GetCampaign(tx, *deps_.tree, inv->campaign));
        eligible = pb::CheckJoin(tx, *deps_.tree, c, *inv, who.account, call.now);
        return Status::Ok();
      },
      [&](const Status&) {
        json j{{"campaign",
                {{"id", c.id.value()},
                 {"name", c.name},
                 {"purpose", c.purpose},
                 {"ends_at", FormatTimestamp(c.ends_at)},
                 {"state", pb::StateName(c.state)},
                 {"scope", UnitJson(*deps_.tree, c.scope)}}},
               {"eligible", eligible.ok()}};
        if (!eligible.ok()) j["reason"] = eligible.message();
        return Json(200, j);
      });
  if (failed.code() == StatusCode::kNotFound) return RefuseNotFound(call, failed.message());
  return r;
}

HttpResponse Api::JoinCampaign(const ApiCall& call) {
  pb::Campaign c;
  pb::JoinResult joined;
  Status failed = Status::Ok();
  HttpResponse r = Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        auto j = phonebank_->JoinByLink(tx, who, call.req.params.at("token"), c);
        if (!j) failed = j.error();
        SB_ASSIGN_OR_RETURN(joined, std::move(j));
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(
            joined.already ? 200 : 201,
            {{"campaign", {{"id", c.id.value()}, {"name", c.name}}},
             {"grant",
              {{"id", joined.grant.value()}, {"not_after", FormatTimestamp(joined.not_after)}}},
             {"already_joined", joined.already}});
      });
  if (failed.code() == StatusCode::kNotFound) return RefuseNotFound(call, failed.message());
  if (!failed.ok()) {
    // The refused join rolled back; its refusal is recorded on its own.
    (void)deps_.store->Write(
        [&](store::Tx& tx) { return phonebank_->RecordJoinRefusal(tx, Self(call), failed); });
  }
  return r;
}

// The three calling routes write and answer after the group commit
// (TxKind::kLater), so an HTTP thread is not held while a write becomes
// durable. Each is one gate and one operation in one transaction.
HttpResponse Api::NextContact(const ApiCall& call) {
  auto s = std::make_shared<pb::NextContact>();
  return Act(
      call, TxKind::kLater,
      [this, &call, s](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(*s, phonebank_->Next(tx, who, CampaignOf(call)));
        return Status::Ok();
      },
      [this, &call, s](const Status&) { return NextResponse(call, *s); });
}

HttpResponse Api::NextResponse(const ApiCall& call, const pb::NextContact& s) {
  const pb::NextResult& next = s.next;
  if (!next.lease && !next.pace_limit.empty()) {
    if (s.suspended) return Suspended(call.req, "after too many requests");
    HttpResponse r = Json(
        429,
        {{"error",
          {{"code", "pace_limited"},
           {"message", "take a breath: the next contact is available at " +
                           FormatTimestamp(next.retry_at) + " (" + next.pace_limit + " limit)"},
           {"retry_at", FormatTimestamp(next.retry_at)},
           {"request_id", call.req.request_id}}}});
    r.headers.emplace_back("Retry-After", std::to_string(std::max<Micros>(
                                              1, (next.retry_at - call.now + kMicrosPerSecond - 1) /
                                                     kMicrosPerSecond)));
    return r;
  }
  if (!next.lease) {
    return Json(200, {{"done", true}, {"message", "nobody is left to call right now; thank you"}});
  }
  const pb::Contact& contact = s.contact;
  json cj{{"ref", s.ref}};
  if (contact.first_name) cj["first_name"] = *contact.first_name;
  if (contact.membership_years) cj["membership_years"] = *contact.membership_years;
  if (contact.branch) cj["branch"] = *contact.branch;
  if (contact.ask_for) cj["ask_for"] = *contact.ask_for;
  return Json(200, {{"lease", {{"expires_at", FormatTimestamp(next.lease->expires_at)}}},
                    {"contact", cj},
                    {"script", contact.script},
                    {"script_version", s.campaign.version},
                    {"survey", SurveyJson(s.campaign.survey)}});
}

HttpResponse Api::Connect(const ApiCall& call) {
  auto state = std::make_shared<pb::CallState>();
  return Act(
      call, TxKind::kLater,
      [this, &call, state](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(*state, phonebank_->Connect(tx, who, CampaignOf(call)));
        return Status::Ok();
      },
      [this, state](const Status&) {
        // The call is durable: only now is anything dialled.
        phonebank_->Dial(state->id);
        // Logged once the call is durable (a write may run twice), and
        // labelled. At debug level: the server says at start that the
        // connector is a simulator, and every call row records its connector.
        if (state->simulated) {
          log::Debug("phonebank", "sandbox call (simulated, nothing dialled)",
                     {{"call", state->id.value()}, {"connector", connector_->name()}});
        }
        return Json(201, {{"call",
                           {{"id", state->id.value()},
                            {"state", state->state},
                            {"simulated", state->simulated},
                            {"connector", connector_->name()}}}});
      });
}

HttpResponse Api::Outcome(const ApiCall& call) {
  return Act(
      call, TxKind::kLater,
      [this, &call](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(std::string outcome, StringField(call.body, "outcome", true, 20));
        const std::string answers = call.body.value("answers", json::object()).dump();
        return phonebank_->Outcome(tx, who, CampaignOf(call), outcome, answers);
      },
      [](const Status&) {
        return Json(200, {{"recorded", true}});
      });
}

namespace {

json CallJson(const pb::CallState& s) {
  json j{{"id", s.id.value()}, {"state", s.state}, {"simulated", s.simulated}};
  if (s.state == "connected" || s.state == "ended") j["duration_seconds"] = s.duration_seconds;
  if (s.state == "ended") {
    j["end"] = s.end;
    if (!s.suggested.empty()) j["suggested"] = s.suggested;
  }
  return j;
}

}  // namespace

Result<int> Api::ReconcileCalls() {
  return phonebank_->Reconcile(*deps_.store, deps_.clock->Now());
}

Result<int> Api::SettleCalls() { return phonebank_->SettleDue(*deps_.store, deps_.clock->Now()); }

Result<int> Api::EndAllCalls() {
  return phonebank_->EndCalls(*deps_.store, std::nullopt, deps_.clock->Now());
}

// How long a long-poll of calls.get is held, and how many at once.
constexpr int kCallWaitSeconds = 25;
constexpr size_t kCallWaitsMax = 256;
constexpr int kCallWaitsPerAccount = 4;

struct Api::CallWait {
  std::shared_ptr<const ApiCall> call;
  std::int64_t id = 0;
  AccountId account;
  std::string after;
  std::chrono::steady_clock::time_point deadline;
  std::shared_ptr<Deferred> later;
};

HttpResponse Api::CallStatus(const ApiCall& call) {
  auto after = call.req.query.find("after");
  if (after != call.req.query.end()) {
    static const std::set<std::string> kStates = {"calling_you", "calling_member", "connected",
                                                  "ended"};
    if (!kStates.contains(after->second)) {
      return Error(400, "invalid_request",
                   "after: one of calling_you, calling_member, connected, ended", call.req);
    }
    auto id = ParseId(call.req.params.at("id"), "the call id");
    HttpResponse held;
    if (id && after->second != "ended" && HoldCallStatus(call, *id, after->second, &held)) {
      return held;
    }
  }
  return CallStatusNow(call, TxKind::kLater);
}

bool Api::HoldCallStatus(const ApiCall& call, std::int64_t id, const std::string& after,
                         HttpResponse* out) {
  const AccountId account = Self(call).account;
  std::string recorded;
  Status read = deps_.store->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(recorded, phonebank_->RecordedState(tx, account, pb::CallId(id)));
    return Status::Ok();
  });
  if (!read.ok() || recorded != after) return false;
  auto w = std::make_shared<CallWait>();
  w->call = call.shared_from_this();
  w->id = id;
  w->account = account;
  w->after = after;
  w->deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kCallWaitSeconds);
  w->later = std::make_shared<Deferred>();
  MutexLock lock(waits_mu_);
  if (waits_stopping_ || waits_.size() >= kCallWaitsMax) return false;
  int mine = 0;
  for (const auto& x : waits_) mine += x->account == account ? 1 : 0;
  if (mine >= kCallWaitsPerAccount) return false;
  waits_.push_back(w);
  if (!watcher_.joinable()) watcher_ = std::thread([this] { WatchCalls(); });
  waits_cv_.SignalAll();
  *out = HttpResponse::Later(w->later);
  return true;
}

void Api::WatchCalls() {
  for (;;) {
    std::vector<std::shared_ptr<CallWait>> waits;
    bool stopping = false;
    {
      MutexLock lock(waits_mu_);
      if (!waits_stopping_) waits_cv_.WaitFor(waits_mu_, std::chrono::milliseconds(250));
      stopping = waits_stopping_;
      if (stopping) {
        waits.swap(waits_);
      } else {
        waits = waits_;
      }
    }
    if (stopping) {
      for (const auto& w : waits) {
        const std::string request_id = w->call->req.request_id;
        w->later->Finish([request_id] {
          return ErrorResponse(503, "unavailable", "the server is stopping; ask again", request_id);
        });
      }
      return;
    }
    if (waits.empty()) continue;
    // The sandbox's calls move on by the clock: recorded first.
    (void)phonebank_->SettleDue(*deps_.store, deps_.clock->Now());
    std::set<std::shared_ptr<CallWait>> moved;
    (void)deps_.store->Read([&](store::Tx& tx) -> Status {
      moved.clear();
      for (const auto& w : waits) {
        auto state = phonebank_->RecordedState(tx, w->account, pb::CallId(w->id));
        if (!state.has_value() || *state != w->after) moved.insert(w);
      }
      return Status::Ok();
    });
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<CallWait>> done;
    for (const auto& w : waits) {
      if (moved.contains(w) || now >= w->deadline) done.push_back(w);
    }
    if (done.empty()) continue;
    {
      MutexLock lock(waits_mu_);
      std::erase_if(waits_, [&](const auto& w) {
        return std::find(done.begin(), done.end(), w) != done.end();
      });
    }
    for (const auto& w : done) {
      w->later->Finish([this, w] { return CallStatusNow(*w->call, TxKind::kWrite); });
    }
  }
}

void Api::StopWatchingCalls() {
  {
    MutexLock lock(waits_mu_);
    waits_stopping_ = true;
    waits_cv_.SignalAll();
  }
  if (watcher_.joinable()) watcher_.join();
}

// A write: the sandbox records the end its timeline reached when asked
// (Connector::Status).
HttpResponse Api::CallStatusNow(const ApiCall& call, TxKind kind) {
  auto s = std::make_shared<pb::CallState>();
  auto failed = std::make_shared<Status>();
  return Act(
      call, kind,
      [this, &call, s, failed](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(std::int64_t id, ParseId(call.req.params.at("id"), "the call id"));
        // Now, not when the request came: a long-poll answers later.
        auto got = connector_->Status(tx, pb::CallId(id), who.account, deps_.clock->Now());
        *failed = got.status();
        if (failed->code() == StatusCode::kNotFound) return Status::Ok();  // refused below
        SB_ASSIGN_OR_RETURN(*s, std::move(got));
        return Status::Ok();
      },
      [this, &call, s, failed](const Status&) {
        if (failed->code() == StatusCode::kNotFound) {
          return RefuseNotFound(call, failed->message());
        }
        return Json(200, {{"call", CallJson(*s)}});
      });
}

HttpResponse Api::Hangup(const ApiCall& call) {
  auto s = std::make_shared<pb::CallState>();
  return Act(
      call, TxKind::kLater,
      [this, &call, s](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(std::int64_t id, ParseId(call.req.params.at("call"), "the call id"));
        SB_ASSIGN_OR_RETURN(*s, phonebank_->Hangup(tx, who, CampaignOf(call), pb::CallId(id)));
        return Status::Ok();
      },
      [s](const Status&) {
        return Json(200, {{"call", CallJson(*s)}});
      });
}

namespace {

// A badge as a caller reads it: its name and what earned it (the id stays
// for clients that key on it).
json BadgeJson(const std::string& id) {
  static const std::map<std::string, std::pair<std::string, std::string>> kNames = {
      {"first_call", {"First call", "You made your first call"}},
      {"ten_conversations", {"Ten conversations", "You talked with ten members"}},
      {"hundred_calls", {"A hundred calls", "You made a hundred calls"}},
  };
  auto it = kNames.find(id);
  if (it == kNames.end()) return {{"id", id}, {"name", id}, {"description", ""}};
  return {{"id", id}, {"name", it->second.first}, {"description", it->second.second}};
}

}  // namespace

HttpResponse Api::MyStats(const ApiCall& call) {
  pb::CallerStats s;
  std::vector<pb::UnitCalls> board;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(s, pb::StatsFor(tx, who.account, call.now));
        SB_ASSIGN_OR_RETURN(board, phonebank_->Leaderboard(tx, who.account));
        return Status::Ok();
      },
      [&](const Status&) {
        json lb = json::array();
        for (const auto& u : board) lb.push_back({{"unit", u.unit}, {"calls", u.calls}});
        json badges = json::array();
        for (const auto& b : s.badges) badges.push_back(BadgeJson(b));
        return Json(200, {{"me",
                           {{"calls", s.calls},
                            {"conversations", s.conversations},
                            {"streak_days", s.streak_days},
                            {"badges", badges}}},
                          {"leaderboard", lb}});
      });
}

HttpResponse Api::RegisterEndpoint(const ApiCall& call) {
  pb::EndpointVerification v;
  std::string e164;
  AccountId account;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(std::string phone, StringField(call.body, "phone", true, 40));
        auto parsed = members::NormalisePhone(phone, "GB");
        if (!parsed) return parsed.error().WithContext("phone");
        e164 = parsed->e164;
        account = who.account;
        SB_ASSIGN_OR_RETURN(v, phonebank_->RegisterEndpoint(tx, who, e164));
        return Status::Ok();
      },
      [&](const Status&) {
        if (connector_->verification() == pb::Connector::Verification::kCall) {
          // The code is shown here and keyed on the phone: seeing it proves
          // nothing without the phone.
          Status called =
              connector_->CallToVerify(account, e164, v.code.size(), phonebank_->endpoint_rules());
          if (!called.ok()) return StatusResponse(called, call.req.request_id);
          return Json(201, {{"verification", "calling"},
                            {"method", "call"},
                            {"code", v.code},
                            {"code_minutes", pb::kEndpointCodeMinutes}});
        }
        Status sent = connector_->SendVerificationCode(e164, v.code);
        if (!sent.ok()) return StatusResponse(sent, call.req.request_id);
        if (!connector_->simulated()) return Json(201, {{"verification", "sent"}});
        // A simulator texts nothing: the code is shown instead, and labelled.
        return Json(201, {{"verification", "sent"}, {"simulated", true}, {"sandbox_code", v.code}});
      });
}

HttpResponse Api::VerifyEndpoint(const ApiCall& call) {
  pb::EndpointCheck check;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(std::string code, StringField(call.body, "code", true, 12));
        SB_ASSIGN_OR_RETURN(check, phonebank_->VerifyEndpoint(tx, who, code));
        return Status::Ok();
      },
      [&](const Status&) {
        // Refusals were recorded (the failure counted, the audit event) and
        // committed; they answer as errors.
        switch (check.answer) {
          case pb::EndpointAnswer::kVerified:
            return Json(200, {{"verified", true}});
          case pb::EndpointAnswer::kWrong:
            return StatusResponse(Status::InvalidArgument(check.message), call.req.request_id);
          case pb::EndpointAnswer::kExpired:
            return StatusResponse(Status::FailedPrecondition(check.message), call.req.request_id);
          case pb::EndpointAnswer::kThrottled:
            return StatusResponse(Status::ResourceExhausted(check.message), call.req.request_id);
          case pb::EndpointAnswer::kNotRegistered:
            break;
        }
        return StatusResponse(Status::NotFound(check.message), call.req.request_id);
      });
}

HttpResponse Api::EndpointStatus(const ApiCall& call) {
  pb::Operations::EndpointView view;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(view, phonebank_->Endpoint(tx, who));
        return Status::Ok();
      },
      [&](const Status&) {
        json out = {
            {"registered", view.state.registered},
            {"verified", view.state.verified},
            {"method", view.method == pb::Connector::Verification::kCall ? "call" : "code"}};
        if (view.call) {
          json c = {{"state", view.call->state}};
          if (!view.call->end.empty()) c["end"] = view.call->end;
          if (!view.call->message.empty()) c["message"] = view.call->message;
          if (view.call->retry_at != 0) c["retry_at"] = FormatTimestamp(view.call->retry_at);
          out["call"] = c;
        }
        return Json(200, out);
      });
}

}  // namespace switchboard::server
