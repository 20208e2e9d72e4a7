// Helpers shared by the API's handlers (api.cc, api_phonebank.cc): JSON
// answers and errors, typed body fields with errors that name the field,
// ids, units and audit events. Internal to server/.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "access/store/member_reader.h"
#include "audit/audit_log.h"
#include "core/json.h"
#include "server/api.h"

namespace switchboard::server::api_internal {

using json = nlohmann::json;

// Request bodies. The deepest body any route takes is a campaign's survey or
// audience, four levels; the HTTP layer already bounds the size.
inline constexpr JsonLimits kBodyLimits{.max_depth = 16, .max_values = 50'000};

inline HttpResponse Json(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

inline HttpResponse Error(int status, std::string_view code, std::string_view message,
                          const HttpRequest& req) {
  return ErrorResponse(status, code, message, req.request_id);
}

// The answer when an anomaly rule suspended the account on this very request.
inline HttpResponse Suspended(const HttpRequest& req,
                              std::string_view why = "after a pattern of refused requests") {
  return Error(403, "account_suspended",
               "this account has been suspended " + std::string(why) +
                   "; the data protection officer has been alerted",
               req);
}

inline bool Unsafe(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

inline std::string IsoDay(std::int64_t days) {
  return FormatTimestamp(days * kMicrosPerDay).substr(0, 10);
}

inline json UnitJson(const members::OrgTree& tree, UnitId id) {
  const members::Unit* u = tree.Find(id);
  if (!u) return json{{"id", id.value()}};
  return json{{"id", u->id.value()}, {"code", u->code}, {"name", u->name}, {"kind", u->kind}};
}

inline json MemberJson(const access::MemberView& v) {
  json j{{"id", v.id.value()}};
  if (v.first_name) j["first_name"] = *v.first_name;
  if (v.last_name) j["last_name"] = *v.last_name;
  if (v.classes.contains("membership")) {
    json m{{"status", *v.status}, {"type", *v.membership_type}};
    if (v.joined_on) m["joined_on"] = IsoDay(*v.joined_on);
    if (v.lapsed_on) m["lapsed_on"] = IsoDay(*v.lapsed_on);
    if (v.years) m["years"] = *v.years;
    j["membership"] = m;
  }
  if (v.classes.contains("location")) {
    json l = json::object();
    if (v.unit)
      l["unit"] = {{"id", v.unit->id.value()}, {"code", v.unit->code}, {"name", v.unit->name}};
    if (v.branch) {
      l["branch"] = {
          {"id", v.branch->id.value()}, {"code", v.branch->code}, {"name", v.branch->name}};
    }
    if (v.postcode_district) l["postcode_district"] = *v.postcode_district;
    j["location"] = l;
  }
  j["field_classes"] = v.classes;
  return j;
}

inline json GrantJson(const members::OrgTree& tree, const access::Grant& g, Micros now) {
  json j{{"id", g.id.value()},
         {"account", g.account.value()},
         {"role", g.role},
         {"scope", UnitJson(tree, g.scope)},
         {"purpose", g.purpose},
         {"not_before", FormatTimestamp(g.not_before)},
         {"not_after", FormatTimestamp(g.not_after)},
         {"reason", g.reason},
         {"source", g.source},
         {"approved", g.approved},
         {"in_force", access::GrantInForce(g, now)}};
  if (g.granted_by.valid()) j["granted_by"] = g.granted_by.value();
  if (g.revoked_at != 0) j["revoked_at"] = FormatTimestamp(g.revoked_at);
  if (g.source_end != 0) j["source_end"] = FormatTimestamp(g.source_end);
  return j;
}

inline json EventJson(const audit::Event& e) {
  json j{{"seq", e.seq}, {"at", FormatTimestamp(e.at)}, {"action", e.action}};
  if (e.actor) j["actor"] = *e.actor;
  if (e.on_behalf_of) j["on_behalf_of"] = *e.on_behalf_of;
  if (!e.decision.empty()) j["decision"] = e.decision;
  if (!e.rule.empty()) j["rule"] = e.rule;
  if (e.grant_id) j["grant"] = *e.grant_id;
  if (!e.members.empty()) j["members"] = e.members;
  if (!e.field_classes.empty()) j["field_classes"] = e.field_classes;
  if (e.campaign) j["campaign"] = *e.campaign;
  if (e.contest) j["contest"] = *e.contest;
  if (e.message) j["message"] = *e.message;
  if (!e.request_id.empty()) j["request_id"] = e.request_id;
  if (!e.client.empty()) j["client"] = e.client;
  return j;
}

// A request body as every JSON route reads it (once, in Api::Handle, into
// ApiCall::body): under kBodyLimits, and an object. `fault` says which rule a
// refusal broke (its JsonFaultCode is the API's error code).
inline Result<json> ParseBody(std::string_view body, JsonError* fault) {
  if (body.empty()) return json::object();
  auto parsed = ParseJson(body, kBodyLimits, fault);
  if (!parsed) return parsed.error();
  if (!parsed->is_object()) {
    *fault = {JsonFault::kNone, 0, "must be a JSON object"};
    return Status::InvalidArgument("the request body must be a JSON object");
  }
  return parsed;
}

// Typed body fields, with errors that name the field.
inline Result<std::string> StringField(const json& j, std::string_view key, bool required,
                                       size_t max_len = 1000) {
  auto it = j.find(std::string(key));
  if (it == j.end() || it->is_null()) {
    if (required) return Status::InvalidArgument("missing field \"" + std::string(key) + "\"");
    return std::string();
  }
  if (!it->is_string()) {
    return Status::InvalidArgument("field \"" + std::string(key) + "\" must be a string");
  }
  std::string s = it->get<std::string>();
  if (s.size() > max_len) {
    return Status::InvalidArgument("field \"" + std::string(key) + "\" is longer than " +
                                   std::to_string(max_len) + " bytes");
  }
  if (required && s.empty()) {
    return Status::InvalidArgument("field \"" + std::string(key) + "\" is empty");
  }
  return s;
}

inline Result<std::int64_t> ParseId(std::string_view text, std::string_view what) {
  std::int64_t v = 0;
  if (text.empty() || text.size() > 18) {
    return Status::InvalidArgument(std::string(what) + " must be a positive whole number");
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      return Status::InvalidArgument(std::string(what) + " must be a positive whole number");
    }
    v = v * 10 + (c - '0');
  }
  if (v <= 0)
    return Status::InvalidArgument(std::string(what) + " must be a positive whole number");
  return v;
}

inline Result<UnitId> UnitFrom(const members::OrgTree& tree, const std::string& text,
                               std::string_view what) {
  if (text.empty()) return Status::InvalidArgument("missing " + std::string(what));
  if (auto id = ParseId(text, what)) {
    if (tree.Find(UnitId(*id))) return UnitId(*id);
  }
  if (const members::Unit* u = tree.FindByCode(text)) return u->id;
  return Status::InvalidArgument("no unit has the id or code given in " + std::string(what));
}

inline std::string QueryParam(const HttpRequest& req, std::string_view key) {
  auto it = req.query.find(std::string(key));
  return it == req.query.end() ? std::string() : it->second;
}

inline std::vector<std::string> Classes(const std::set<std::string>& s) {
  return std::vector<std::string>(s.begin(), s.end());
}

}  // namespace switchboard::server::api_internal
