// The phone bank's routes (RULEBOOK §6). Organiser routes need
// phonebank.manage over the campaign's scope; calling routes need
// phonebank.call there *and* a join of this very campaign whose grant is in
// force (a caller of one campaign cannot call for another in the same
// unit). Callers only ever see the campaign's allowed fields and an opaque
// reference; member ids, numbers and addresses stay on the server.
#include <nlohmann/json.hpp>

#include "access/guard/anomaly.h"
#include "access/store/access_store.h"
#include "core/log.h"
#include "members/contact.h"
#include "phonebank/connector.h"
#include "phonebank/phonebank.h"
#include "segment/segment.h"
#include "server/api.h"
#include "server/api_internal.h"

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
            {"min_membership_years", c.eligibility.min_membership_years}}},
          {"pace",
           {{"burst", c.pace.burst},
            {"interval_seconds", c.pace.interval_seconds},
            {"per_hour", c.pace.per_hour},
            {"per_day", c.pace.per_day}}},
          {"recall_minutes", c.recall_minutes},
          {"max_passes", c.max_passes}};
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
  handlers_["invites.create"] = [this](const ApiCall& c) { return CreateInvite(c); };
  handlers_["invites.list"] = [this](const ApiCall& c) { return ListInvites(c); };
  handlers_["invites.revoke"] = [this](const ApiCall& c) { return RevokeInvite(c); };
  handlers_["join.get"] = [this](const ApiCall& c) { return JoinInfo(c); };
  handlers_["join.post"] = [this](const ApiCall& c) { return JoinCampaign(c); };
  handlers_["calling.next"] = [this](const ApiCall& c) { return NextContact(c); };
  handlers_["calling.connect"] = [this](const ApiCall& c) { return Connect(c); };
  handlers_["calling.outcome"] = [this](const ApiCall& c) { return Outcome(c); };
  handlers_["calls.get"] = [this](const ApiCall& c) { return CallStatus(c); };
  handlers_["me.stats"] = [this](const ApiCall& c) { return MyStats(c); };
  handlers_["me.endpoint"] = [this](const ApiCall& c) { return RegisterEndpoint(c); };
  handlers_["me.endpoint_verify"] = [this](const ApiCall& c) { return VerifyEndpoint(c); };
}

namespace {

pb::CampaignId CampaignOf(const ApiCall& call) {
  return pb::CampaignId(*ParseId(call.req.params.at("id"), "id"));
}

audit::Event PhonebankEvent(const ApiCall& call, std::string_view action, pb::CampaignId c) {
  audit::Event e = EventFor(call, action);
  e.decision = "allow";
  if (call.decision) {
    e.rule = call.decision->rule;
    if (call.decision->grant.valid()) e.grant_id = call.decision->grant.value();
  } else {
    e.rule = "self";
  }
  if (c.valid()) e.campaign = c.value();
  return e;
}

}  // namespace

HttpResponse Api::ListCampaigns(const ApiCall& call) {
  std::vector<pb::CampaignRole> list;
  Status st = deps_.store->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(list, pb::ListCampaigns(tx, *deps_.tree, call.session->session.account));
    return Status::Ok();
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
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
}

HttpResponse Api::CreateCampaign(const ApiCall& call) {
  const json* body = &call.body;
  pb::Campaign c;
  c.owner = call.session->session.account;
  c.scope = call.target_unit;
  Status st = SafeRead([&] { return ReadCampaignBody(*body, *deps_.tree, call.now, true, c); });
  if (st.ok()) st = pb::Validate(c, *deps_.policy, *deps_.tree);
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  std::int64_t count = 0;
  st = deps_.store->Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(c.id, pb::InsertCampaign(tx, *deps_.tree, c, call.now));
    SB_ASSIGN_OR_RETURN(count, pb::CountAudience(tx, *deps_.tree, c));
    return audit::AuditLog::Append(tx, PhonebankEvent(call, "campaign.create", c.id)).status();
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  json j = CampaignJson(*deps_.tree, deps_.time_zone, c);
  j["audience_count"] = count;
  return Json(201, {{"campaign", j}});
}

HttpResponse Api::GetCampaign(const ApiCall& call) {
  pb::Campaign c;
  std::int64_t count = 0, targets = 0;
  Status st = deps_.store->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(c, pb::GetCampaign(tx, *deps_.tree, CampaignOf(call)));
    SB_ASSIGN_OR_RETURN(count, pb::CountAudience(tx, *deps_.tree, c));
    SB_ASSIGN_OR_RETURN(targets, tx.QueryInt("SELECT COUNT(*) FROM campaign_targets WHERE "
                                             "campaign_id = $1",
                                             {c.id.value()}));
    return Status::Ok();
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  json j = CampaignJson(*deps_.tree, deps_.time_zone, c);
  j["audience_count"] = count;
  j["targets"] = targets;
  return Json(200, {{"campaign", j}});
}

HttpResponse Api::UpdateCampaign(const ApiCall& call) {
  const json* body = &call.body;
  int expected_version = 0;
  if (body->contains("version")) {
    const json& v = (*body)["version"];
    if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > INT32_MAX) {
      return Error(400, "invalid_request", "version: the campaign's version, a whole number",
                   call.req);
    }
    expected_version = v.get<int>();
  }
  pb::Campaign c;
  pb::CampaignEdit edit;
  Status st = deps_.store->Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(c, pb::GetCampaign(tx, *deps_.tree, CampaignOf(call)));
    const bool live = c.state != pb::CampaignState::kDraft;
    const UnitId scope = c.scope;
    SB_RETURN_IF_ERROR(
        SafeRead([&] { return ReadCampaignBody(*body, *deps_.tree, call.now, false, c); }));
    if (c.scope != scope) {
      return Status::InvalidArgument("scope: a campaign's scope cannot change; make a new one");
    }
    SB_RETURN_IF_ERROR(pb::Validate(c, *deps_.policy, *deps_.tree));
    SB_ASSIGN_OR_RETURN(edit, pb::UpdateCampaign(tx, *deps_.tree, c, call.now, expected_version));
    c.version = edit.version;
    // The event says what changed and the version it made; never the text.
    audit::Event e = PhonebankEvent(call, live ? "campaign.live_edit" : "campaign.update", c.id);
    std::string rule = "edit.v" + std::to_string(edit.version);
    for (const auto& f : edit.changed) {
      if (rule.size() + 1 + f.size() > 128) break;
      rule += ":" + f;
    }
    if (edit.changed.empty()) rule += ":unchanged";
    e.rule = rule;
    return audit::AuditLog::Append(tx, e).status();
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  return Json(200, {{"campaign", CampaignJson(*deps_.tree, deps_.time_zone, c)},
                    {"changed", edit.changed}});
}

HttpResponse Api::AudienceCount(const ApiCall& call) {
  const json* body = &call.body;
  std::int64_t count = 0;
  Status st = deps_.store->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(pb::Campaign c, pb::GetCampaign(tx, *deps_.tree, CampaignOf(call)));
    json j{{"audience", body->value("audience", json::object())}};
    SB_RETURN_IF_ERROR(
        SafeRead([&] { return ReadCampaignBody(j, *deps_.tree, call.now, false, c); }));
    SB_RETURN_IF_ERROR(pb::Validate(c, *deps_.policy, *deps_.tree));
    SB_ASSIGN_OR_RETURN(count, pb::CountAudience(tx, *deps_.tree, c));
    return Status::Ok();
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  return Json(200, {{"count", count}});
}

HttpResponse Api::AudiencePreview(const ApiCall& call) {
  const json* body = &call.body;
  const json& a = body->value("audience", json::object());
  if (!a.is_object()) {
    return Error(400, "invalid_request", "audience: must be an object", call.req);
  }
  pb::Campaign c;
  c.scope = call.target_unit;  // the body's scope, which the decision was about
  auto audience = pb::ParseAudience(a.dump(), *deps_.tree, c.scope);
  if (!audience) return StatusResponse(audience.error(), call.req.request_id);
  c.audience = std::move(*audience);
  std::int64_t count = 0;
  Status st = deps_.store->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(count, pb::CountAudience(tx, *deps_.tree, c));
    return Status::Ok();
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  return Json(200, {{"count", count}});
}

HttpResponse Api::CampaignState(const ApiCall& call) {
  const json* body = &call.body;
  auto state = StringField(*body, "state", true, 10);
  if (!state) return StatusResponse(state.error(), call.req.request_id);
  auto to = pb::ParseState(*state);
  if (!to) {
    return Error(400, "invalid_request", "state: one of live, paused, ended, killed", call.req);
  }
  pb::Campaign c;
  std::int64_t targets = 0;
  Status st = deps_.store->Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(c, pb::GetCampaign(tx, *deps_.tree, CampaignOf(call)));
    SB_ASSIGN_OR_RETURN(targets, pb::SetState(tx, *deps_.tree, c, *to, call.now));
    return audit::AuditLog::Append(
               tx, PhonebankEvent(call, "campaign." + std::string(pb::StateName(*to)), c.id))
        .status();
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  json j{{"campaign", CampaignJson(*deps_.tree, deps_.time_zone, c)}};
  if (*to == pb::CampaignState::kLive) j["targets"] = targets;
  return Json(200, j);
}

HttpResponse Api::CampaignProgress(const ApiCall& call) {
  pb::Progress p;
  Status st = deps_.store->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(p, pb::CampaignProgress(tx, *deps_.tree, CampaignOf(call)));
    return Status::Ok();
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  json by_outcome = json::object();
  for (const auto& [k, v] : p.by_outcome) by_outcome[k] = v;
  json by_unit = json::array();
  for (const auto& [k, v] : p.by_unit) by_unit.push_back({{"unit", k}, {"calls", v}});
  json by_caller = json::array();
  for (const auto& r : p.by_caller) {
    by_caller.push_back({{"account", r.account.value()},
                         {"display_name", r.display_name},
                         {"calls", r.calls},
                         {"conversations", r.conversations}});
  }
  return Json(200,
              {{"totals", {{"targets", p.targets}, {"done", p.done}, {"by_outcome", by_outcome}}},
               {"by_unit", by_unit},
               {"by_caller", by_caller}});
}

HttpResponse Api::CreateInvite(const ApiCall& call) {
  const json* body = &call.body;
  auto label = StringField(*body, "label", true, 100);
  if (!label) return StatusResponse(label.error(), call.req.request_id);
  Micros expires = 0;
  if (body->contains("expires_at")) {
    auto t = StringField(*body, "expires_at", true, 40);
    if (!t) return StatusResponse(t.error(), call.req.request_id);
    auto v = ParseTimeOrOffset(*t, call.now);
    if (!v) return StatusResponse(v.error().WithContext("expires_at"), call.req.request_id);
    expires = *v;
  }
  const json& mj = body->value("max_joins", json(50));
  if (!mj.is_number_integer()) {
    return Error(400, "invalid_request", "max_joins: a whole number", call.req);
  }
  pb::NewInvite inv;
  Status st = deps_.store->Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(pb::Campaign c, pb::GetCampaign(tx, *deps_.tree, CampaignOf(call)));
    SB_ASSIGN_OR_RETURN(inv, pb::CreateInvite(tx, c, call.session->session.account, *label, expires,
                                              mj.get<int>(), call.now));
    return audit::AuditLog::Append(tx, PhonebankEvent(call, "invite.create", c.id)).status();
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  return Json(201, {{"invite",
                     {{"id", inv.invite.id.value()},
                      {"label", inv.invite.label},
                      {"expires_at", FormatTimestamp(inv.invite.expires_at)},
                      {"max_joins", inv.invite.max_joins},
                      {"joins", 0}}},
                    {"token", inv.token},
                    {"url", "/join/" + inv.token}});
}

HttpResponse Api::ListInvites(const ApiCall& call) {
  std::vector<pb::Invite> invites;
  std::vector<pb::Joined> joined;
  Status st = deps_.store->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(invites, pb::ListInvites(tx, CampaignOf(call)));
    SB_ASSIGN_OR_RETURN(joined, pb::ListJoined(tx, CampaignOf(call)));
    return Status::Ok();
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
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
}

HttpResponse Api::RevokeInvite(const ApiCall& call) {
  auto invite = ParseId(call.req.params.at("invite"), "the invitation id");
  if (!invite) return StatusResponse(invite.error(), call.req.request_id);
  Status st = deps_.store->Write([&](store::Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(pb::RevokeInvite(tx, CampaignOf(call), pb::InviteId(*invite), call.now));
    return audit::AuditLog::Append(tx, PhonebankEvent(call, "invite.revoke", CampaignOf(call)))
        .status();
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  return Json(200, {{"invite", *invite}, {"status", "revoked"}});
}

HttpResponse Api::JoinInfo(const ApiCall& call) {
  pb::Campaign c;
  Status eligible = Status::Ok();
  Status st = deps_.store->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(pb::Invite inv, pb::FindInvite(tx, call.req.params.at("token")));
    SB_ASSIGN_OR_RETURN(c, pb::GetCampaign(tx, *deps_.tree, inv.campaign));
    eligible = pb::CheckJoin(tx, *deps_.tree, c, inv, call.session->session.account, call.now);
    return Status::Ok();
  });
  if (st.code() == StatusCode::kNotFound) return RefuseNotFound(call, st.message());
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
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
}

HttpResponse Api::JoinCampaign(const ApiCall& call) {
  pb::Campaign c;
  pb::JoinResult joined;
  Status st = deps_.store->Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(pb::Invite inv, pb::FindInvite(tx, call.req.params.at("token")));
    SB_ASSIGN_OR_RETURN(c, pb::GetCampaign(tx, *deps_.tree, inv.campaign));
    SB_ASSIGN_OR_RETURN(joined,
                        pb::Join(tx, *deps_.tree, c, inv, call.session->session.account, call.now));
    audit::Event e = PhonebankEvent(call, "campaign.join", c.id);
    e.grant_id = joined.grant.value();
    return audit::AuditLog::Append(tx, e).status();
  });
  if (st.code() == StatusCode::kNotFound) return RefuseNotFound(call, st.message());
  if (!st.ok()) {
    // Refusals are recorded too: a shared link tried by strangers is worth knowing about.
    (void)deps_.store->Write([&](store::Tx& tx) {
      audit::Event e = EventFor(call, "campaign.join");
      e.decision = "deny";
      e.rule = st.code() == StatusCode::kPermissionDenied ? "join.not_eligible" : "join.refused";
      return audit::AuditLog::Append(tx, e).status();
    });
    return StatusResponse(st, call.req.request_id);
  }
  return Json(
      joined.already ? 200 : 201,
      {{"campaign", {{"id", c.id.value()}, {"name", c.name}}},
       {"grant", {{"id", joined.grant.value()}, {"not_after", FormatTimestamp(joined.not_after)}}},
       {"already_joined", joined.already}});
}

namespace {

// The caller must have joined this campaign, with that grant still in force.
Status CheckJoined(store::Tx& tx, const pb::Campaign& c, AccountId caller, const TimeZone& zone,
                   Micros now) {
  std::optional<std::int64_t> grant;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT grant_id FROM campaign_callers WHERE campaign_id = $1 AND account_id = $2",
               {c.id.value(), caller.value()}, [&](const store::Row& r) {
                 grant = r.Int(0);
                 return false;
               }));
  if (!grant) {
    return Status::PermissionDenied("you have not joined this campaign; use its invitation link");
  }
  SB_ASSIGN_OR_RETURN(access::Grant g, access::GetGrant(tx, access::GrantId(*grant)));
  if (!access::GrantInForce(g, now)) {
    return Status::PermissionDenied(
        "your access to this campaign ended on " +
        FormatTimestamp(std::min(g.not_after, g.source_end != 0 ? g.source_end : g.not_after)));
  }
  return pb::CallingOpen(c, zone, now);
}

}  // namespace

// The three calling routes write and answer after the group commit
// (Api::Later), so an HTTP thread is not held while a write becomes durable.
HttpResponse Api::NextContact(const ApiCall& call) {
  struct State {
    pb::Campaign c;
    pb::NextResult next;
    pb::Contact contact;
  };
  auto s = std::make_shared<State>();
  const AccountId me = call.session->session.account;
  return Later(
      call,
      [this, &call, s, me](store::Tx& tx) -> Status {
        SB_ASSIGN_OR_RETURN(s->c, pb::GetCampaign(tx, *deps_.tree, CampaignOf(call)));
        SB_RETURN_IF_ERROR(CheckJoined(tx, s->c, me, deps_.time_zone, call.now));
        SB_ASSIGN_OR_RETURN(s->next, pb::Next(tx, s->c, me, call.now));
        if (!s->next.lease) return Status::Ok();
        SB_ASSIGN_OR_RETURN(s->contact, pb::ContactFor(tx, *call.decision, *deps_.tree, s->c,
                                                       s->next.lease->member, call.now));
        audit::Event e = PhonebankEvent(call, "phonebank.next", s->c.id);
        e.members.push_back(s->next.lease->member.value());
        for (const auto& f : s->c.fields) {
          e.field_classes.push_back(f == "first_name" ? "first_name"
                                    : f == "branch"   ? "location"
                                                      : "membership");
        }
        return audit::AuditLog::Append(tx, e).status();
      },
      [this, &call, s](const Status& st) {
        return NextResponse(call, st, s->c, s->next, s->contact);
      });
}

HttpResponse Api::NextResponse(const ApiCall& call, const Status& st, const pb::Campaign& c,
                               const pb::NextResult& next, const pb::Contact& contact) {
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  if (!next.lease && !next.pace_limit.empty()) {
    // Pace refusals are denials: a script hammering "next" is probing.
    bool suspended = false;
    access::Decision d;
    d.rule = "pace." + next.pace_limit;
    d.deny_reason = "pace";
    Status rec = RecordRefusal(call, "phonebank.next", d, MemberId(), false, &suspended);
    if (!rec.ok()) return StatusResponse(rec, call.req.request_id);
    if (suspended) {
      return Error(403, "account_suspended",
                   "this account has been suspended after too many requests; the data "
                   "protection officer has been alerted",
                   call.req);
    }
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
  // An opaque reference: a keyed hash, not the member id.
  const std::string ref = crypto::ToHex(
      deps_.sealer->BlindIndex("lease-ref", c.id.ToString() + ":" + next.lease->member.ToString()));
  json cj{{"ref", ref}};
  if (contact.first_name) cj["first_name"] = *contact.first_name;
  if (contact.membership_years) cj["membership_years"] = *contact.membership_years;
  if (contact.branch) cj["branch"] = *contact.branch;
  if (contact.ask_for) cj["ask_for"] = *contact.ask_for;
  return Json(200, {{"lease", {{"expires_at", FormatTimestamp(next.lease->expires_at)}}},
                    {"contact", cj},
                    {"script", c.script},
                    {"script_version", c.version},
                    {"survey", SurveyJson(c.survey)}});
}

HttpResponse Api::Connect(const ApiCall& call) {
  const AccountId me = call.session->session.account;
  auto state = std::make_shared<pb::CallState>();
  return Later(
      call,
      [this, &call, me, state](store::Tx& tx) -> Status {
        SB_ASSIGN_OR_RETURN(pb::Campaign c, pb::GetCampaign(tx, *deps_.tree, CampaignOf(call)));
        SB_RETURN_IF_ERROR(CheckJoined(tx, c, me, deps_.time_zone, call.now));
        SB_ASSIGN_OR_RETURN(auto held, pb::CurrentLease(tx, c, me, call.now));
        if (!held) return Status::FailedPrecondition("ask for the next contact first");
        SB_ASSIGN_OR_RETURN(*state, connector_->Connect(tx, c, me, *held, call.now));
        audit::Event e = PhonebankEvent(call, "phonebank.connect", c.id);
        e.members.push_back(held->member.value());
        return audit::AuditLog::Append(tx, e).status();
      },
      [this, &call, state](const Status& st) {
        if (!st.ok()) return StatusResponse(st, call.req.request_id);
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
  const AccountId me = call.session->session.account;
  const json* body = &call.body;
  auto outcome = StringField(*body, "outcome", true, 20);
  if (!outcome) return StatusResponse(outcome.error(), call.req.request_id);
  auto answers = std::make_shared<const std::string>(body->value("answers", json::object()).dump());
  auto chosen = std::make_shared<const std::string>(*outcome);
  return Later(
      call,
      [this, &call, me, answers, chosen](store::Tx& tx) -> Status {
        SB_ASSIGN_OR_RETURN(pb::Campaign c, pb::GetCampaign(tx, *deps_.tree, CampaignOf(call)));
        SB_RETURN_IF_ERROR(CheckJoined(tx, c, me, deps_.time_zone, call.now));
        SB_ASSIGN_OR_RETURN(MemberId m, pb::RecordOutcome(tx, c, me, *chosen, *answers, call.now));
        audit::Event e = PhonebankEvent(call, "phonebank.outcome", c.id);
        e.members.push_back(m.value());
        e.rule = "outcome." + *chosen;
        return audit::AuditLog::Append(tx, e).status();
      },
      [&call](const Status& st) {
        if (!st.ok()) return StatusResponse(st, call.req.request_id);
        return Json(200, {{"recorded", true}});
      });
}

HttpResponse Api::CallStatus(const ApiCall& call) {
  auto id = ParseId(call.req.params.at("id"), "the call id");
  if (!id) return StatusResponse(id.error(), call.req.request_id);
  pb::CallState s;
  Status st = deps_.store->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(
        s, connector_->Status(tx, pb::CallId(*id), call.session->session.account, call.now));
    return Status::Ok();
  });
  if (st.code() == StatusCode::kNotFound) return RefuseNotFound(call, st.message());
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  json j{{"id", s.id.value()}, {"state", s.state}, {"simulated", s.simulated}};
  if (s.state == "answered" || s.state == "completed") j["duration_seconds"] = s.duration_seconds;
  return Json(200, {{"call", j}});
}

HttpResponse Api::MyStats(const ApiCall& call) {
  pb::CallerStats s;
  json board = json::array();
  Status st = deps_.store->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(s, pb::StatsFor(tx, call.session->session.account, call.now));
    // Units ranked by calls made in the campaigns this account calls for:
    // counts only, no member appears.
    return tx.Query(
        "SELECT m.unit_id, COUNT(*) FROM calls k JOIN members m ON m.id = k.member_id WHERE "
        "k.outcome IS NOT NULL AND k.campaign_id IN (SELECT campaign_id FROM campaign_callers "
        "WHERE account_id = $1) GROUP BY m.unit_id ORDER BY COUNT(*) DESC LIMIT 10",
        {call.session->session.account.value()}, [&](const store::Row& r) {
          const members::Unit* u = deps_.tree->Find(UnitId(r.Int(0)));
          board.push_back({{"unit", u ? u->name : "?"}, {"calls", r.Int(1)}});
          return true;
        });
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  return Json(200, {{"me",
                     {{"calls", s.calls},
                      {"conversations", s.conversations},
                      {"streak_days", s.streak_days},
                      {"badges", s.badges}}},
                    {"leaderboard", board}});
}

HttpResponse Api::RegisterEndpoint(const ApiCall& call) {
  const json* body = &call.body;
  auto phone = StringField(*body, "phone", true, 40);
  if (!phone) return StatusResponse(phone.error(), call.req.request_id);
  auto parsed = members::NormalisePhone(*phone, "GB");
  if (!parsed) return StatusResponse(parsed.error().WithContext("phone"), call.req.request_id);
  pb::EndpointVerification v;
  Status st = deps_.store->Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(v, pb::RegisterEndpoint(tx, *deps_.sealer, call.session->session.account,
                                                parsed->e164, call.now));
    return audit::AuditLog::Append(tx, PhonebankEvent(call, "endpoint.register", {})).status();
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  Status sent = connector_->SendVerificationCode(parsed->e164, v.code);
  if (!sent.ok()) return StatusResponse(sent, call.req.request_id);
  if (!connector_->simulated()) return Json(201, {{"verification", "sent"}});
  // A simulator texts nothing: the code is shown instead, and labelled.
  return Json(201, {{"verification", "sent"}, {"simulated", true}, {"sandbox_code", v.code}});
}

HttpResponse Api::VerifyEndpoint(const ApiCall& call) {
  const json* body = &call.body;
  auto code = StringField(*body, "code", true, 12);
  if (!code) return StatusResponse(code.error(), call.req.request_id);
  Status st = deps_.store->Write([&](store::Tx& tx) -> Status {
    SB_RETURN_IF_ERROR(pb::VerifyEndpoint(tx, call.session->session.account, *code, call.now));
    return audit::AuditLog::Append(tx, PhonebankEvent(call, "endpoint.verify", {})).status();
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  return Json(200, {{"verified", true}});
}

}  // namespace switchboard::server
