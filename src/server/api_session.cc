// Session routes: sign in and out, and what the signed-in account holds.
// AuthService (access/store/auth_service.h) decides, acts and records each.
#include <nlohmann/json.hpp>

#include "server/api.h"
#include "server/api_internal.h"

namespace switchboard::server {

using json = nlohmann::json;
using namespace api_internal;  // NOLINT(build/namespaces)

void Api::AddSessionHandlers() {
  handlers_["session.login"] = [this](const ApiCall& c) { return Login(c); };
  handlers_["session.get"] = [this](const ApiCall& c) { return SessionInfo(c); };
  handlers_["session.logout"] = [this](const ApiCall& c) { return Logout(c); };
  handlers_["session.logout_everywhere"] = [this](const ApiCall& c) { return LogoutEverywhere(c); };
  handlers_["organisation.get"] = [this](const ApiCall& c) { return OrganisationInfo(c); };
}

// Public: the name every page of the app carries ([organisation] name).
HttpResponse Api::OrganisationInfo(const ApiCall&) {
  return Json(200, {{"organisation", {{"name", deps_.organisation_name}}}});
}

HttpResponse Api::Login(const ApiCall& call) {
  const HttpRequest& req = call.req;
  const json* body = &call.body;
  access::Credentials c;
  auto login = StringField(*body, "login", true, 64);
  auto password = StringField(*body, "password", true, access::kMaxPasswordBytes);
  auto totp = StringField(*body, "totp", false, 16);
  auto recovery = StringField(*body, "recovery_code", false, 32);
  auto client = StringField(*body, "client", false, 16);
  for (const auto* r : {&login, &password, &totp, &recovery, &client}) {
    if (!*r) return StatusResponse(r->error(), req.request_id);
  }
  if (!client->empty() && *client != "browser" && *client != "api") {
    return Error(400, "invalid_request", "field \"client\" is \"browser\" or \"api\"", req);
  }
  const bool api = *client == "api";
  c.login = *login;
  c.password = *password;
  c.totp = *totp;
  c.recovery_code = *recovery;
  c.client = call.client;
  c.request_id = req.request_id;
  auto out = auth_->Login(c, api ? access::SessionKind::kBearer : access::SessionKind::kCookie,
                          req.Cookie(kSessionCookie));
  if (!out) return StatusResponse(out.error(), req.request_id);
  switch (out->refusal) {
    case access::LoginRefusal::kNone:
      break;
    case access::LoginRefusal::kBadCredentials:
      return Error(401, "invalid_credentials", out->message, req);
    case access::LoginRefusal::kThrottled: {
      HttpResponse r = Error(429, "too_many_attempts", out->message, req);
      r.headers.emplace_back("Retry-After", std::to_string(std::max<Micros>(
                                                1, (out->retry_at - call.now) / kMicrosPerSecond)));
      return r;
    }
    case access::LoginRefusal::kSecondFactorRequired:
      return Error(401, "second_factor_required", out->message, req);
    case access::LoginRefusal::kSecondFactorWrong:
      return Error(401, "second_factor_invalid", out->message, req);
    case access::LoginRefusal::kNotActive:
      return Error(403, "account_not_active", out->message, req);
  }
  const access::IssuedSession& s = *out->session;
  json j{{"account",
          {{"id", out->who.account.id.value()},
           {"login", out->who.account.login},
           {"display_name", out->who.account.display_name}}},
         {"second_factor", s.second_factor},
         {"expires_at", FormatTimestamp(s.expires_at)}};
  HttpResponse r;
  r.status = 201;
  if (api) {
    j["token"] = s.token;
    j["token_type"] = "Bearer";
  } else {
    j["csrf_token"] = s.csrf_token;
    r.headers.emplace_back("Set-Cookie", SessionCookie(s, call.now));
  }
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

std::string Api::SessionCookie(const access::IssuedSession& s, Micros now) const {
  std::string cookie = std::string(kSessionCookie) + "=" + s.token +
                       "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                       std::to_string((s.expires_at - now) / kMicrosPerSecond);
  if (deps_.cookie_secure) cookie += "; Secure";
  return cookie;
}

HttpResponse Api::SessionInfo(const ApiCall& call) {
  const access::ActiveSession& a = *call.session;
  json grants = json::array();
  for (const access::Grant& g : a.data.grants) {
    if (!access::GrantInForce(g, call.now)) continue;
    json gj = GrantJson(*deps_.tree, g, call.now);
    if (const access::Role* role = deps_.policy->FindRole(g.role)) {
      gj["capabilities"] =
          std::vector<std::string>(role->capabilities.begin(), role->capabilities.end());
      gj["field_classes"] = Classes(role->fields);
      gj["privileged"] = role->privileged;
    }
    grants.push_back(gj);
  }
  json out{{"account",
            {{"id", a.data.account.id.value()},
             {"login", a.data.account.login},
             {"display_name", a.data.account.display_name},
             {"staff", a.data.account.staff}}},
           {"session",
            {{"kind", access::SessionKindName(a.session.kind)},
             {"second_factor", a.session.second_factor},
             {"created_at", FormatTimestamp(a.session.created_at)},
             {"expires_at", FormatTimestamp(a.session.expires_at)},
             {"idle_expires_at", FormatTimestamp(a.idle_expires_at)}}},
           {"grants", grants}};
  // A browser tab that opens the app finds its CSRF token here (it is bound
  // to the session cookie): only for this site's own pages, which alone can
  // read the answer; a cross-site request never gets it (docs/security.md).
  if (a.session.kind == access::SessionKind::kCookie) {
    const std::string site = call.req.Header("sec-fetch-site");
    if (site.empty() || site == "same-origin") {
      out["csrf_token"] = auth_->CsrfTokenFor(call.req.Cookie(kSessionCookie));
    }
  }
  return Json(200, out);
}

HttpResponse Api::Logout(const ApiCall& call) {
  Status st = auth_->Logout(call.session->session, call.req.request_id, call.client);
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  HttpResponse r = Json(200, {{"status", "signed out"}});
  r.headers.emplace_back("Set-Cookie", std::string(kSessionCookie) +
                                           "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  return r;
}

HttpResponse Api::LogoutEverywhere(const ApiCall& call) {
  auto n = auth_->LogoutEverywhere(call.session->session.account, call.req.request_id, call.client);
  if (!n) return StatusResponse(n.error(), call.req.request_id);
  HttpResponse r = Json(200, {{"status", "signed out everywhere"}, {"sessions_ended", *n}});
  r.headers.emplace_back("Set-Cookie", std::string(kSessionCookie) +
                                           "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  return r;
}

}  // namespace switchboard::server
