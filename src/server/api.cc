#include "server/api.h"

#include <nlohmann/json.hpp>

#include "access/guard/anomaly.h"
#include "access/guard/quota.h"
#include "access/store/access_store.h"
#include "access/store/member_reader.h"
#include "audit/audit_log.h"
#include "core/check.h"
#include "core/json.h"
#include "core/log.h"
#include "phonebank/phonebank.h"
#include "server/api_internal.h"

namespace switchboard::server {

using json = nlohmann::json;

using namespace api_internal;  // NOLINT(build/namespaces)

HttpResponse StatusResponse(const Status& st, std::string_view request_id) {
  switch (st.code()) {
    case StatusCode::kOk:
      return ErrorResponse(200, "ok", "", request_id);
    case StatusCode::kInvalidArgument:
      return ErrorResponse(400, "invalid_request", st.message(), request_id);
    case StatusCode::kNotFound:
      return ErrorResponse(404, "not_found", st.message(), request_id);
    case StatusCode::kAlreadyExists:
      return ErrorResponse(409, "already_exists", st.message(), request_id);
    case StatusCode::kPermissionDenied:
      return ErrorResponse(403, "denied", st.message(), request_id);
    case StatusCode::kFailedPrecondition:
      return ErrorResponse(409, "conflict", st.message(), request_id);
    case StatusCode::kResourceExhausted:
      return ErrorResponse(429, "quota_exceeded", st.message(), request_id);
    case StatusCode::kUnavailable:
    case StatusCode::kAborted:
      return ErrorResponse(503, "unavailable",
                           "the service is busy or the database is unreachable; try again",
                           request_id);
    default:
      log::Error("api", "internal error",
                 {{"request_id", std::string(request_id)}, {"error", st.ToString()}});
      return ErrorResponse(500, "internal",
                           "something went wrong on our side; quote the request id to support",
                           request_id);
  }
}

Api::Api(const ApiDeps& deps) : deps_(deps) {
  SB_CHECK(deps.store && deps.policy && deps.tree && deps.sealer && deps.clock);
  auth_ = std::make_unique<access::AuthService>(*deps.store, *deps.policy, *deps.sealer,
                                                *deps.clock, deps.auth);
  access_ =
      std::make_unique<access::AccessService>(*deps.store, *deps.policy, *deps.tree, *deps.clock);
  using S = access::AccountState;
  handlers_ = {
      {"session.login", [this](const ApiCall& c) { return Login(c); }},
      {"session.get", [this](const ApiCall& c) { return SessionInfo(c); }},
      {"session.logout", [this](const ApiCall& c) { return Logout(c); }},
      {"session.logout_everywhere", [this](const ApiCall& c) { return LogoutEverywhere(c); }},
      {"members.search", [this](const ApiCall& c) { return SearchMembers(c); }},
      {"members.view", [this](const ApiCall& c) { return ViewMember(c); }},
      {"members.contact", [this](const ApiCall& c) { return ViewContact(c); }},
      {"grants.list", [this](const ApiCall& c) { return ListGrants(c); }},
      {"grants.add", [this](const ApiCall& c) { return AddGrant(c); }},
      {"grants.approve", [this](const ApiCall& c) { return ApproveGrant(c); }},
      {"grants.revoke", [this](const ApiCall& c) { return RevokeGrant(c); }},
      {"accounts.list", [this](const ApiCall& c) { return ListAccounts(c); }},
      {"accounts.suspend", [this](const ApiCall& c) { return SetAccountState(c, S::kSuspended); }},
      {"accounts.reinstate", [this](const ApiCall& c) { return SetAccountState(c, S::kActive); }},
      {"access.explain", [this](const ApiCall& c) { return Explain(c); }},
      {"audit.events", [this](const ApiCall& c) { return AuditEvents(c); }},
      {"audit.checkpoints", [this](const ApiCall& c) { return AuditCheckpoints(c); }},
      {"audit.proof", [this](const ApiCall& c) { return AuditProof(c); }},
      {"alerts.list", [this](const ApiCall& c) { return ListAlerts(c); }},
      {"alerts.acknowledge", [this](const ApiCall& c) { return AcknowledgeAlert(c); }},
  };
  connector_ =
      deps.connector ? deps.connector : std::make_shared<phonebank::SandboxConnector>(*deps.sealer);
  log::Info("phonebank",
            connector_->simulated()
                ? "telephony connector: a simulator (calls are simulated, nothing is dialled)"
                : "telephony connector",
            {{"connector", connector_->name()}});
  AddPhonebankHandlers();
  AddMessageHandlers();
  // Every route in the table has a handler and every handler a route.
  SB_CHECK(handlers_.size() == std::size(kApiRoutes));
  for (const ApiRoute& r : kApiRoutes) SB_CHECK(handlers_.count(r.id) == 1);
}

Api::~Api() {
  MutexLock lock(later_mu_);
  while (later_pending_ != 0) later_cv_.Wait(later_mu_);
}

HttpResponse Api::Later(const ApiCall& call, store::TxFn fn,
                        std::function<HttpResponse(const Status&)> make) {
  auto later = std::make_shared<Deferred>();
  {
    MutexLock lock(later_mu_);
    ++later_pending_;
  }
  deps_.store->WriteThen(std::move(fn), [this, later, keep = call.shared_from_this(),
                                         make = std::move(make)](Status st) mutable {
    // On the thread that answers writers: hand over, never block here.
    later->Finish([keep, make = std::move(make), st = std::move(st)] { return make(st); });
    MutexLock lock(later_mu_);
    if (--later_pending_ == 0) later_cv_.SignalAll();
  });
  return HttpResponse::Later(std::move(later));
}

void Api::Register(HttpServer& http) {
  for (const ApiRoute& r : kApiRoutes) {
    http.Route(std::string(r.method), std::string(r.path),
               [this, &r](const HttpRequest& req) { return Handle(r, req); });
  }
}

Status Api::RecordRefusal(const ApiCall& call, std::string_view action, const access::Decision& d,
                          MemberId member, bool not_found, bool* suspended) {
  *suspended = false;
  return deps_.store->Write([&](store::Tx& tx) -> Status {
    audit::Event e = EventFor(call, action);
    e.decision = "deny";
    e.rule = not_found ? "not_found" : d.rule;
    if (d.grant.valid()) e.grant_id = d.grant.value();
    if (member.valid()) e.members.push_back(member.value());
    SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
    access::Observation o;
    o.account = call.session->session.account;
    o.capability = std::string(action);
    o.kind = not_found ? access::Observation::kNotFound : access::Observation::kDenied;
    if (member.valid()) o.members.push_back(member);
    o.now = call.now;
    o.request_id = call.req.request_id;
    SB_ASSIGN_OR_RETURN(access::AnomalyOutcome out, access::Observe(tx, *deps_.policy, o));
    *suspended = out.suspended;
    return Status::Ok();
  });
}

Status Api::ObserveRead(store::Tx& tx, const ApiCall& call, std::vector<MemberId> members) {
  access::Observation o;
  o.account = call.session->session.account;
  o.capability = std::string(call.route.capability);
  o.kind = access::Observation::kAllowed;
  o.members = std::move(members);
  o.now = call.now;
  o.request_id = call.req.request_id;
  SB_ASSIGN_OR_RETURN(access::AnomalyOutcome out, access::Observe(tx, *deps_.policy, o));
  if (out.suspended) {
    log::Warn("api", "account suspended by an anomaly rule",
              {{"account", o.account}, {"request_id", call.req.request_id}});
  }
  return Status::Ok();
}

HttpResponse Api::Refuse(const ApiCall& call, const access::Decision& d, MemberId member,
                         bool not_found) {
  bool suspended = false;
  // Session routes have no capability: their refusals are named by the route.
  const std::string_view action =
      call.route.capability.empty() ? call.route.id : call.route.capability;
  Status rec = RecordRefusal(call, action, d, member, not_found, &suspended);
  if (!rec.ok()) return StatusResponse(rec, call.req.request_id);
  if (suspended) {
    return Error(403, "account_suspended",
                 "this account has been suspended after a pattern of refused requests; the data "
                 "protection officer has been alerted",
                 call.req);
  }
  if (not_found) return Error(404, "not_found", d.deny_reason, call.req);
  return Json(403, {{"error",
                     {{"code", "denied"},
                      {"message", d.reason()},
                      {"rule", d.rule},
                      {"request_id", call.req.request_id}}}});
}

HttpResponse Api::RefuseNotFound(const ApiCall& call, std::string_view message) {
  access::Decision d;
  d.rule = "not_found";
  d.deny_reason = std::string(message);
  return Refuse(call, d, MemberId(), /*not_found=*/true);
}

HttpResponse Api::Handle(const ApiRoute& route, const HttpRequest& req) {
  auto owned = std::make_shared<ApiCall>(route, req);
  ApiCall& call = *owned;
  call.now = deps_.clock->Now();
  call.client = access::TruncateAddress(req.remote);

  // 1. Bodies are JSON, parsed once here under the limits.
  if (Unsafe(req.method) && !req.body.empty()) {
    if (!IsJsonMediaType(req.Header("content-type"))) {
      return Error(415, "unsupported_media_type",
                   "send the request body as JSON with Content-Type: application/json (UTF-8)",
                   req);
    }
    JsonError fault;
    auto parsed = ParseBody(req.body, &fault);
    if (!parsed) {
      return Error(400,
                   fault.fault == JsonFault::kNone ? "invalid_request" : JsonFaultCode(fault.fault),
                   "the request body " + fault.message, req);
    }
    call.body = std::move(*parsed);
  }

  // 2. The session.
  std::optional<access::ActiveSession>& active = call.active_session;
  if (route.auth != RouteAuth::kPublic) {
    const std::string authz = req.Header("authorization");
    access::SessionKind kind = access::SessionKind::kCookie;
    std::string token;
    if (!authz.empty()) {
      if (authz.rfind("Bearer ", 0) != 0) {
        return Error(401, "session_required", "the Authorization header must be \"Bearer <token>\"",
                     req);
      }
      kind = access::SessionKind::kBearer;
      token = authz.substr(7);
    } else {
      token = req.Cookie(kSessionCookie);
    }
    if (token.empty()) return Error(401, "session_required", "sign in first", req);
    auto resumed = auth_->Resume(token, kind);
    if (!resumed) return StatusResponse(resumed.error(), req.request_id);
    if (!resumed->ok()) {
      std::string_view code = "session_required";
      switch (resumed->refusal) {
        case access::ResumeRefusal::kExpired:
        case access::ResumeRefusal::kIdle:
          code = "session_expired";
          break;
        case access::ResumeRefusal::kRevoked:
          code = "session_ended";
          break;
        case access::ResumeRefusal::kWrongTransport:
          code = "wrong_transport";
          break;
        case access::ResumeRefusal::kNotActive:
          code = "account_not_active";
          break;
        default:
          break;
      }
      return Error(401, code, resumed->message, req);
    }
    active = std::move(resumed->active);
    call.session = &*active;
    req.account = active->session.account.value();
    if (kind == access::SessionKind::kCookie && Unsafe(req.method)) {
      if (!access::AuthService::CheckCsrf(active->session, req.Header("x-csrf-token"))) {
        return Error(403, "csrf_failed",
                     "this request needs the X-CSRF-Token header given at sign-in", req);
      }
      const std::string origin = req.Header("origin");
      const std::string host = req.Header("host");
      if (!origin.empty() && origin != "http://" + host && origin != "https://" + host) {
        return Error(403, "csrf_failed", "requests must come from this site's own pages", req);
      }
    }
  }

  // 3. The decision.
  std::optional<access::Decision>& decision = call.active_decision;
  if (route.auth == RouteAuth::kCapability) {
    const access::Principal who = active->principal();
    auto holds_anywhere = [&] {
      for (const access::Grant& g : who.grants) {
        const access::Role* r = deps_.policy->FindRole(g.role);
        if (r && r->capabilities.contains(route.capability) && access::GrantInForce(g, call.now)) {
          return true;
        }
      }
      return false;
    };
    std::optional<UnitId> unit;
    switch (route.target) {
      case RouteTarget::kNone:
        break;
      case RouteTarget::kUnitQuery: {
        auto u = UnitFrom(*deps_.tree, QueryParam(req, "unit"), "the query parameter \"unit\"");
        if (!u) return StatusResponse(u.error(), req.request_id);
        unit = *u;
        break;
      }
      case RouteTarget::kUnitBody: {
        const json* body = &call.body;
        auto scope = StringField(*body, "scope", true, 64);
        if (!scope) return StatusResponse(scope.error(), req.request_id);
        auto u = UnitFrom(*deps_.tree, *scope, "the field \"scope\"");
        if (!u) return StatusResponse(u.error(), req.request_id);
        unit = *u;
        break;
      }
      case RouteTarget::kMemberPath:
      case RouteTarget::kGrantPath:
      case RouteTarget::kCampaignPath:
      case RouteTarget::kMessagePath: {
        const bool member = route.target == RouteTarget::kMemberPath;
        const bool campaign = route.target == RouteTarget::kCampaignPath;
        const bool message = route.target == RouteTarget::kMessagePath;
        auto id = ParseId(req.params.at("id"), member     ? "the member id"
                                               : campaign ? "the campaign id"
                                               : message  ? "the message id"
                                                          : "the grant id");
        if (!id) return StatusResponse(id.error(), req.request_id);
        Result<UnitId> found = Status::Internal("not looked up");
        Status st = deps_.store->Read([&](store::Tx& tx) -> Status {
          if (member) {
            found = access::MemberUnit(tx, MemberId(*id));
          } else if (campaign) {
            found = phonebank::CampaignScope(tx, phonebank::CampaignId(*id));
          } else if (message) {
            auto n = tx.QueryInt("SELECT scope_unit FROM messages WHERE id = $1", {*id});
            if (!n) return n.error();
            found = *n > 0 ? Result<UnitId>(UnitId(*n))
                           : Result<UnitId>(Status::NotFound("no message has this id"));
          } else {
            auto g = access::GetGrant(tx, access::GrantId(*id));
            found = g ? Result<UnitId>(g->scope) : Result<UnitId>(g.error());
          }
          return Status::Ok();
        });
        if (!st.ok()) return StatusResponse(st, req.request_id);
        if (member) call.target_member = MemberId(*id);
        if (!found) {
          // Only someone who could see such a thing learns that it does not exist.
          if (found.error().code() == StatusCode::kNotFound && holds_anywhere()) {
            access::Decision d;
            d.rule = "not_found";
            d.deny_reason = std::string(member     ? "no member"
                                        : campaign ? "no campaign"
                                        : message  ? "no message"
                                                   : "no grant") +
                            " has that id";
            return Refuse(call, d, member ? MemberId(*id) : MemberId(), true);
          }
          if (found.error().code() != StatusCode::kNotFound) {
            return StatusResponse(found.error(), req.request_id);
          }
          access::Decision d;
          d.rule = "capability.not_held";
          d.deny_reason = "none of your grants in force includes " + std::string(route.capability);
          return Refuse(call, d, MemberId(), false);
        }
        unit = *found;
        break;
      }
    }
    decision = access::Decide(*deps_.policy, *deps_.tree, who, route.capability,
                              access::Target{unit}, call.now);
    call.target_unit = unit ? *unit : (deps_.tree->root() ? deps_.tree->root()->id : UnitId());
    if (!decision->allow) return Refuse(call, *decision, call.target_member, false);
    call.decision = &*decision;
    // Quotas: only for capabilities the role meters.
    if (decision->role && decision->role->quotas.count(std::string(route.capability))) {
      access::QuotaCheck q;
      Status st = deps_.store->Write([&](store::Tx& tx) -> Status {
        SB_ASSIGN_OR_RETURN(
            q, access::Charge(tx, who.account, *decision->role, route.capability, call.now));
        if (q.allow) return Status::Ok();
        audit::Event e = EventFor(call, route.capability);
        e.decision = "deny";
        e.rule = "quota.exceeded";
        e.grant_id = decision->grant.value();
        if (call.target_member.valid()) e.members.push_back(call.target_member.value());
        return audit::AuditLog::Append(tx, e).status();
      });
      if (!st.ok()) return StatusResponse(st, req.request_id);
      if (!q.allow) {
        HttpResponse r = Json(429, {{"error",
                                     {{"code", "quota_exceeded"},
                                      {"message", access::QuotaRefusalReason(route.capability, q)},
                                      {"rule", "quota.exceeded"},
                                      {"resets_at", FormatTimestamp(q.resets_at)},
                                      {"request_id", req.request_id}}}});
        r.headers.emplace_back(
            "Retry-After",
            std::to_string(std::max<Micros>(
                1, (q.resets_at - call.now + kMicrosPerSecond - 1) / kMicrosPerSecond)));
        return r;
      }
    }
  }
  return handlers_.at(route.id)(call);
}

// ---- session -------------------------------------------------------------

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
    std::string cookie = std::string(kSessionCookie) + "=" + s.token +
                         "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                         std::to_string((s.expires_at - call.now) / kMicrosPerSecond);
    if (deps_.cookie_secure) cookie += "; Secure";
    r.headers.emplace_back("Set-Cookie", cookie);
  }
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
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
  return Json(200, {{"account",
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
                    {"grants", grants}});
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

// ---- members -------------------------------------------------------------

HttpResponse Api::SearchMembers(const ApiCall& call) {
  const HttpRequest& req = call.req;
  access::SearchQuery q;
  q.unit = call.target_unit;
  q.name_prefix = QueryParam(req, "q");
  q.status = QueryParam(req, "status");
  q.page_size = deps_.policy->search_page_max;
  if (auto p = QueryParam(req, "page"); !p.empty()) {
    auto v = ParseId(p, "page");
    if (!v) return StatusResponse(v.error(), req.request_id);
    q.page = static_cast<int>(std::min<std::int64_t>(*v, 1'000'000));
  }
  if (auto p = QueryParam(req, "page_size"); !p.empty()) {
    auto v = ParseId(p, "page_size");
    if (!v) return StatusResponse(v.error(), req.request_id);
    q.page_size = static_cast<int>(std::min<std::int64_t>(*v, 1'000'000));
  }
  access::SearchPage page;
  Status st = deps_.store->Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(page, access::SearchMembers(tx, *call.decision, *deps_.tree, q,
                                                    deps_.policy->search_page_max, call.now));
    audit::Event e = EventFor(call, "member.search");
    e.decision = "allow";
    e.rule = call.decision->rule;
    e.grant_id = call.decision->grant.value();
    std::set<std::string> classes;
    for (const auto& m : page.members) {
      e.members.push_back(m.id.value());
      classes.insert(m.classes.begin(), m.classes.end());
    }
    e.field_classes = Classes(classes);
    SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
    // Canaries sit in every unit and turn up in ordinary searches; only
    // opening one (view, contact) is the touch the canary rule is about.
    // Search pages still count towards the rate rule.
    std::vector<MemberId> touched;
    if (!page.members.empty()) {
      std::set<std::int64_t> canaries;
      std::string in;
      for (const auto& m : page.members) in += (in.empty() ? "" : ",") + m.id.ToString();
      SB_RETURN_IF_ERROR(tx.Query("SELECT member_id FROM canaries WHERE member_id IN (" + in + ")",
                                  {}, [&](const store::Row& r) {
                                    canaries.insert(r.Int(0));
                                    return true;
                                  }));
      for (const auto& m : page.members) {
        if (!canaries.count(m.id.value())) touched.push_back(m.id);
      }
    }
    return ObserveRead(tx, call, std::move(touched));
  });
  if (!st.ok()) return StatusResponse(st, req.request_id);
  json members = json::array();
  for (const auto& m : page.members) members.push_back(MemberJson(m));
  return Json(200, {{"members", members},
                    {"page", page.page},
                    {"page_size", page.page_size},
                    {"more", page.more}});
}

HttpResponse Api::ViewMember(const ApiCall& call) {
  access::MemberView view;
  Status st = deps_.store->Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(
        view, access::ViewMember(tx, *call.decision, *deps_.tree, call.target_member, call.now));
    audit::Event e = EventFor(call, "member.view");
    e.decision = "allow";
    e.rule = call.decision->rule;
    e.grant_id = call.decision->grant.value();
    e.members.push_back(view.id.value());
    e.field_classes = Classes(view.classes);
    SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
    return ObserveRead(tx, call, {view.id});
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  return Json(200, MemberJson(view));
}

HttpResponse Api::ViewContact(const ApiCall& call) {
  access::ContactView view;
  Status st = deps_.store->Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(view,
                        access::ViewContact(tx, *call.decision, *deps_.sealer, call.target_member));
    audit::Event e = EventFor(call, "member.contact.view");
    e.decision = "allow";
    e.rule = call.decision->rule;
    e.grant_id = call.decision->grant.value();
    e.members.push_back(view.id.value());
    e.field_classes = {"contact"};
    SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
    return ObserveRead(tx, call, {view.id});
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  json points = json::array();
  for (const auto& p : view.points) {
    points.push_back(
        {{"kind", p.kind}, {"label", p.label}, {"value", p.value}, {"valid", p.valid}});
  }
  return Json(200, {{"id", view.id.value()}, {"contacts", points}, {"field_classes", {"contact"}}});
}

// ---- grants and accounts -------------------------------------------------

HttpResponse Api::ListGrants(const ApiCall& call) {
  access::GrantFilter f;
  if (auto a = QueryParam(call.req, "account"); !a.empty()) {
    auto id = ParseId(a, "account");
    if (!id) return StatusResponse(id.error(), call.req.request_id);
    f.account = AccountId(*id);
  }
  f.include_ended = QueryParam(call.req, "include_ended") == "true";
  std::vector<access::Grant> grants;
  Status st = deps_.store->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(grants, access::ListGrants(tx, f, call.now));
    return Status::Ok();
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  json out = json::array();
  for (const auto& g : grants) out.push_back(GrantJson(*deps_.tree, g, call.now));
  return Json(200, {{"grants", out}});
}

HttpResponse Api::AddGrant(const ApiCall& call) {
  const HttpRequest& req = call.req;
  const json* body = &call.body;
  auto account = StringField(*body, "account", true, 64);
  auto role = StringField(*body, "role", true, 64);
  auto purpose = StringField(*body, "purpose", true, 500);
  auto reason = StringField(*body, "reason", true, 500);
  auto from = StringField(*body, "not_before", false, 40);
  auto until = StringField(*body, "not_after", true, 40);
  for (const auto* r : {&account, &role, &purpose, &reason, &from, &until}) {
    if (!*r) return StatusResponse(r->error(), req.request_id);
  }
  access::GrantRequest g;
  g.role = *role;
  g.scope = call.target_unit;
  g.purpose = *purpose;
  g.reason = *reason;
  auto nb = ParseTimeOrOffset(from->empty() ? "now" : *from, call.now);
  if (!nb) return StatusResponse(nb.error().WithContext("not_before"), req.request_id);
  auto na = ParseTimeOrOffset(*until, call.now);
  if (!na) return StatusResponse(na.error().WithContext("not_after"), req.request_id);
  g.not_before = *nb;
  g.not_after = *na;
  Status found = deps_.store->Read([&](store::Tx& tx) -> Status {
    auto id = ParseId(*account, "account");
    if (id) {
      SB_RETURN_IF_ERROR(access::GetAccount(tx, AccountId(*id)).status());
      g.account = AccountId(*id);
      return Status::Ok();
    }
    SB_ASSIGN_OR_RETURN(access::Account a, access::FindAccount(tx, *account));
    g.account = a.id;
    return Status::Ok();
  });
  if (!found.ok()) {
    return Error(
        found.code() == StatusCode::kNotFound || found.code() == StatusCode::kInvalidArgument ? 400
                                                                                              : 500,
        "invalid_request", "no account has that id or login", req);
  }
  auto id =
      access_->AddGrant(call.session->session.account, call.session->session.second_factor, g);
  if (!id) return StatusResponse(id.error(), req.request_id);
  access::Grant stored;
  Status st = deps_.store->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(stored, access::GetGrant(tx, *id));
    return Status::Ok();
  });
  if (!st.ok()) return StatusResponse(st, req.request_id);
  return Json(201,
              {{"grant", GrantJson(*deps_.tree, stored, call.now)}, {"pending", !stored.approved}});
}

HttpResponse Api::ApproveGrant(const ApiCall& call) {
  const access::GrantId id(*ParseId(call.req.params.at("id"), "id"));
  Status st =
      access_->Approve(call.session->session.account, call.session->session.second_factor, id);
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  return Json(200, {{"status", "approved"}, {"grant", id.value()}});
}

HttpResponse Api::RevokeGrant(const ApiCall& call) {
  const json* body = &call.body;
  auto reason = StringField(*body, "reason", true, 500);
  if (!reason) return StatusResponse(reason.error(), call.req.request_id);
  const access::GrantId id(*ParseId(call.req.params.at("id"), "id"));
  Status st = access_->Revoke(call.session->session.account, call.session->session.second_factor,
                              id, *reason);
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  return Json(200, {{"status", "revoked"}, {"grant", id.value()}});
}

HttpResponse Api::ListAccounts(const ApiCall& call) {
  std::vector<access::Account> accounts;
  Status st = deps_.store->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(accounts, access::ListAccounts(tx));
    return Status::Ok();
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  json out = json::array();
  for (const auto& a : accounts) {
    out.push_back({{"id", a.id.value()},
                   {"login", a.login},
                   {"display_name", a.display_name},
                   {"staff", a.staff},
                   {"state", access::AccountStateName(a.state)},
                   {"created_at", FormatTimestamp(a.created_at)}});
  }
  return Json(200, {{"accounts", out}});
}

HttpResponse Api::SetAccountState(const ApiCall& call, access::AccountState state) {
  auto id = ParseId(call.req.params.at("id"), "the account id");
  if (!id) return StatusResponse(id.error(), call.req.request_id);
  const json* body = &call.body;
  auto reason = StringField(*body, "reason", true, 500);
  if (!reason) return StatusResponse(reason.error(), call.req.request_id);
  Status st =
      access_->SetStateAs(call.session->session.account, call.session->session.second_factor,
                          AccountId(*id), state, *reason, call.req.request_id);
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  return Json(200, {{"account", *id}, {"state", access::AccountStateName(state)}});
}

// ---- audit ---------------------------------------------------------------

HttpResponse Api::Explain(const ApiCall& call) {
  const HttpRequest& req = call.req;
  auto account = ParseId(QueryParam(req, "account"), "the query parameter \"account\"");
  if (!account) return StatusResponse(account.error(), req.request_id);
  const std::string capability = QueryParam(req, "capability");
  if (!access::KnownCapabilities().contains(capability)) {
    return Error(400, "invalid_request", "unknown or missing capability", req);
  }
  UnitId unit = deps_.tree->root() ? deps_.tree->root()->id : UnitId();
  if (!QueryParam(req, "unit").empty()) {
    auto u = UnitFrom(*deps_.tree, QueryParam(req, "unit"), "the query parameter \"unit\"");
    if (!u) return StatusResponse(u.error(), req.request_id);
    unit = *u;
  }
  auto at =
      ParseTimeOrOffset(QueryParam(req, "at").empty() ? "now" : QueryParam(req, "at"), call.now);
  if (!at) return StatusResponse(at.error().WithContext("at"), req.request_id);
  auto d = access_->Explain(AccountId(*account), capability, unit, *at);
  if (!d) return StatusResponse(d.error(), req.request_id);
  Status rec = deps_.store->Write([&](store::Tx& tx) {
    audit::Event e = EventFor(call, "access.explain");
    e.decision = "allow";
    e.rule = call.decision->rule;
    e.grant_id = call.decision->grant.value();
    e.on_behalf_of = *account;
    return audit::AuditLog::Append(tx, e).status();
  });
  if (!rec.ok()) return StatusResponse(rec, req.request_id);
  json j{{"account", *account},
         {"capability", capability},
         {"unit", UnitJson(*deps_.tree, unit)},
         {"at", FormatTimestamp(*at)},
         {"allow", d->allow},
         {"rule", d->rule},
         {"reason", d->reason()},
         {"field_classes", Classes(d->fields())}};
  if (d->grant.valid()) j["grant"] = d->grant.value();
  return Json(200, j);
}

HttpResponse Api::AuditEvents(const ApiCall& call) {
  const HttpRequest& req = call.req;
  audit::QueryFilter f;
  f.limit = 1000;
  if (auto m = QueryParam(req, "member"); !m.empty()) {
    auto v = ParseId(m, "member");
    if (!v) return StatusResponse(v.error(), req.request_id);
    f.member = *v;
  }
  if (auto a = QueryParam(req, "actor"); !a.empty()) {
    auto v = ParseId(a, "actor");
    if (!v) return StatusResponse(v.error(), req.request_id);
    f.actor = *v;
  }
  for (const char* key : {"from", "to"}) {
    if (auto t = QueryParam(req, key); !t.empty()) {
      auto v = ParseTimestamp(t);
      if (!v) return Error(400, "invalid_request", std::string(key) + ": use ISO 8601", req);
      (std::string_view(key) == "from" ? f.from : f.to) = *v;
    }
  }
  if (auto l = QueryParam(req, "limit"); !l.empty()) {
    auto v = ParseId(l, "limit");
    if (!v || *v > 10000) return Error(400, "invalid_request", "limit is 1 to 10000", req);
    f.limit = static_cast<int>(*v);
  }
  std::vector<audit::Event> events;
  Status st = deps_.store->Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(events, audit::AuditLog::Query(tx, f));
    audit::Event e = EventFor(call, "audit.query");
    e.decision = "allow";
    e.rule = call.decision->rule;
    e.grant_id = call.decision->grant.value();
    if (f.member) e.members.push_back(*f.member);
    return audit::AuditLog::Append(tx, e).status();
  });
  if (!st.ok()) return StatusResponse(st, req.request_id);
  json out = json::array();
  for (const auto& e : events) out.push_back(EventJson(e));
  return Json(200, {{"events", out}});
}

HttpResponse Api::AuditCheckpoints(const ApiCall& call) {
  std::vector<audit::SignedCheckpoint> cps;
  Status st = deps_.store->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(cps, audit::AuditLog::Checkpoints(tx));
    return Status::Ok();
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  json out = json::array();
  for (const auto& cp : cps) {
    out.push_back({{"tree_size", cp.checkpoint.tree_size},
                   {"root", audit::ToHex(cp.checkpoint.root)},
                   {"time", FormatTimestamp(cp.checkpoint.time)},
                   {"key_id", cp.checkpoint.key_id},
                   {"witness_line", audit::FormatWitnessLine(cp)}});
  }
  return Json(200, {{"checkpoints", out}});
}

HttpResponse Api::AuditProof(const ApiCall& call) {
  const HttpRequest& req = call.req;
  auto seq = QueryParam(req, "seq") == "0" ? Result<std::int64_t>(0)
                                           : ParseId(QueryParam(req, "seq"), "seq");
  auto size = ParseId(QueryParam(req, "size"), "size");
  if (!seq) return StatusResponse(seq.error(), req.request_id);
  if (!size) return StatusResponse(size.error(), req.request_id);
  std::vector<audit::Hash> proof;
  audit::Hash root{};
  Status st = deps_.store->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(proof, audit::AuditLog::Prove(tx, *seq, *size));
    SB_ASSIGN_OR_RETURN(root, audit::AuditLog::RootAt(tx, *size));
    return Status::Ok();
  });
  if (!st.ok()) return StatusResponse(st, req.request_id);
  json hashes = json::array();
  for (const auto& h : proof) hashes.push_back(audit::ToHex(h));
  return Json(
      200, {{"seq", *seq}, {"tree_size", *size}, {"root", audit::ToHex(root)}, {"proof", hashes}});
}

// ---- alerts ---------------------------------------------------------------

HttpResponse Api::ListAlerts(const ApiCall& call) {
  access::AlertFilter f;
  f.open_only = QueryParam(call.req, "open") == "true";
  if (auto a = QueryParam(call.req, "account"); !a.empty()) {
    auto id = ParseId(a, "account");
    if (!id) return StatusResponse(id.error(), call.req.request_id);
    f.account = AccountId(*id);
  }
  f.limit = 500;
  std::vector<access::Alert> alerts;
  Status st = deps_.store->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(alerts, access::ListAlerts(tx, f));
    return Status::Ok();
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  json out = json::array();
  for (const auto& a : alerts) {
    json j{{"id", a.id.value()},         {"account", a.account.value()},  {"rule", a.rule},
           {"severity", a.severity},     {"at", FormatTimestamp(a.at)},   {"detail", a.detail},
           {"request_id", a.request_id}, {"open", a.acknowledged_at == 0}};
    if (a.acknowledged_at != 0) {
      j["acknowledged_at"] = FormatTimestamp(a.acknowledged_at);
      j["acknowledged_by"] = a.acknowledged_by.value();
      j["note"] = a.acknowledge_note;
    }
    out.push_back(j);
  }
  return Json(200, {{"alerts", out}});
}

HttpResponse Api::AcknowledgeAlert(const ApiCall& call) {
  auto id = ParseId(call.req.params.at("id"), "the alert id");
  if (!id) return StatusResponse(id.error(), call.req.request_id);
  const json* body = &call.body;
  auto note = StringField(*body, "note", true, 1000);
  if (!note) return StatusResponse(note.error(), call.req.request_id);
  Status st = deps_.store->Write([&](store::Tx& tx) {
    return access::AcknowledgeAlert(tx, access::AlertId(*id), call.session->session.account, *note,
                                    call.now);
  });
  if (!st.ok()) return StatusResponse(st, call.req.request_id);
  return Json(200, {{"alert", *id}, {"status", "acknowledged"}});
}

}  // namespace switchboard::server
