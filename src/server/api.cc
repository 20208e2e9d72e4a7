#include "server/api.h"

#include <nlohmann/json.hpp>

#include "access/guard/gate.h"
#include "access/store/access_store.h"
#include "access/store/member_reader.h"
#include "core/check.h"
#include "core/json.h"
#include "core/log.h"
#include "messaging/messaging.h"
#include "phonebank/phonebank.h"
#include "privacy/canary_contact.h"
#include "privacy/export.h"
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
  access::EnrolmentOptions enrol;
  enrol.public_base_url = deps.public_base_url;
  enrol.organisation_name = deps.organisation_name;
  enrol.hash = deps.auth.hash;
  enrolment_ = std::make_unique<access::EnrolmentService>(*deps.store, *deps.policy, *deps.sealer,
                                                          *deps.clock, *auth_, enrol);
  access_ =
      std::make_unique<access::AccessService>(*deps.store, *deps.policy, *deps.tree, *deps.clock);
  AddSessionHandlers();
  AddMemberHandlers();
  AddGrantHandlers();
  AddAuditHandlers();
  connector_ =
      deps.connector ? deps.connector : std::make_shared<phonebank::SandboxConnector>(*deps.sealer);
  log::Info("phonebank",
            connector_->simulated()
                ? "telephony connector: a simulator (calls are simulated, nothing is dialled)"
                : "telephony connector",
            {{"connector", connector_->name()}});
  contest_rules_ = std::make_unique<contest::ContestRules>(*deps.tree);
  contests_ =
      std::make_unique<contest::ContestOperations>(*deps.policy, *deps.tree, *contest_rules_);
  phonebank_ = std::make_unique<phonebank::Operations>(*deps.policy, *deps.tree, *deps.sealer,
                                                       deps.time_zone, *connector_, *contest_rules_,
                                                       deps.call_limits, deps.caller_line);
  // A call to a canary's number raises the DPO's alert with the call.
  phonebank_->SetCanaryCheck([](store::Tx& tx, const phonebank::OutboundCall& c) -> Status {
    return privacy::CheckOutboundContact(tx, "phone", c.phone_index, "call", c.request_id, c.now)
        .status();
  });
  messaging_ = std::make_unique<messaging::Operations>(*deps.policy, *deps.tree, *contest_rules_);
  AddPhonebankHandlers();
  AddMessageHandlers();
  AddContestHandlers();
  AddSignUpHandlers();
  AddBreachHandlers();
  AddDpoHandlers();
  AddPrivacyHandlers();
  AddErasureHandlers();
  AddExportHandlers();
  // Every route in the table has a handler and every handler a route.
  SB_CHECK(handlers_.size() == std::size(kApiRoutes));
  for (const ApiRoute& r : kApiRoutes) SB_CHECK(handlers_.count(r.id) == 1);
}

Api::~Api() {
  StopWatchingCalls();
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

HttpResponse Api::Handle(const ApiRoute& route, const HttpRequest& req) {
  auto prepared = Prepare(route, req);
  if (auto* refusal = std::get_if<HttpResponse>(&prepared)) return std::move(*refusal);
  const auto& owned = std::get<std::shared_ptr<ApiCall>>(prepared);
  return handlers_.at(route.id)(*owned);
}

HttpResponse Api::Serve(const ApiRoute& route, const HttpRequest& req, TxKind kind, ActFn act,
                        RenderFn render) {
  auto prepared = Prepare(route, req);
  if (auto* refusal = std::get_if<HttpResponse>(&prepared)) return std::move(*refusal);
  const auto& owned = std::get<std::shared_ptr<ApiCall>>(prepared);
  return Act(*owned, kind, std::move(act), std::move(render));
}

std::variant<std::shared_ptr<ApiCall>, HttpResponse> Api::Prepare(const ApiRoute& route,
                                                                  const HttpRequest& req) {
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
  if (route.auth != RouteAuth::kPublic) {
    if (HttpResponse r; !Authenticate(call, &r)) return r;
  }

  // 3. The target, as far as it can be read without the store; the gate
  // looks it up in the request's transaction (Act).
  if (route.auth == RouteAuth::kCapability) {
    switch (route.target) {
      case RouteTarget::kNone:
        break;
      case RouteTarget::kUnitQuery: {
        auto u = UnitFrom(*deps_.tree, QueryParam(req, "unit"), "the query parameter \"unit\"");
        if (!u) return StatusResponse(u.error(), req.request_id);
        call.target_unit = *u;
        break;
      }
      case RouteTarget::kUnitBody: {
        auto scope = StringField(call.body, "scope", true, 64);
        if (!scope) return StatusResponse(scope.error(), req.request_id);
        auto u = UnitFrom(*deps_.tree, *scope, "the field \"scope\"");
        if (!u) return StatusResponse(u.error(), req.request_id);
        call.target_unit = *u;
        break;
      }
      case RouteTarget::kMemberPath:
      case RouteTarget::kGrantPath:
      case RouteTarget::kCampaignPath:
      case RouteTarget::kMessagePath:
      case RouteTarget::kExportPath: {
        auto id =
            ParseId(req.params.at("id"), "the " + std::string(TargetName(route.target)) + " id");
        if (!id) return StatusResponse(id.error(), req.request_id);
        call.target_id = *id;
        if (route.target == RouteTarget::kMemberPath) call.target_member = MemberId(*id);
        break;
      }
    }
  }
  return owned;
}

bool Api::Authenticate(ApiCall& call, HttpResponse* refusal) {
  const HttpRequest& req = call.req;
  const std::string authz = req.Header("authorization");
  access::SessionKind kind = access::SessionKind::kCookie;
  std::string token;
  if (!authz.empty()) {
    if (authz.rfind("Bearer ", 0) != 0) {
      *refusal = Error(401, "session_required",
                       "the Authorization header must be \"Bearer <token>\"", req);
      return false;
    }
    kind = access::SessionKind::kBearer;
    token = authz.substr(7);
  } else {
    token = req.Cookie(kSessionCookie);
  }
  if (token.empty()) {
    *refusal = Error(401, "session_required", "sign in first", req);
    return false;
  }
  auto resumed = auth_->Resume(token, kind);
  if (!resumed) {
    *refusal = StatusResponse(resumed.error(), req.request_id);
    return false;
  }
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
    *refusal = Error(401, code, resumed->message, req);
    return false;
  }
  call.active_session = std::move(resumed->active);
  call.session = &*call.active_session;
  req.account = call.session->session.account.value();
  if (kind == access::SessionKind::kCookie && Unsafe(req.method)) {
    if (!access::AuthService::CheckCsrf(call.session->session, req.Header("x-csrf-token"))) {
      *refusal = Error(403, "csrf_failed",
                       "this request needs the X-CSRF-Token header given at sign-in", req);
      return false;
    }
    const std::string origin = req.Header("origin");
    const std::string host = req.Header("host");
    if (!origin.empty() && origin != "http://" + host && origin != "https://" + host) {
      *refusal = Error(403, "csrf_failed", "requests must come from this site's own pages", req);
      return false;
    }
  }
  return true;
}

access::Acting Api::Self(const ApiCall& call) const {
  return access::ActingOf(*call.session, call.now, call.req.request_id, call.client);
}

access::GateRequest Api::GateRequestFor(const ApiCall& call) const {
  const ApiRoute& route = call.route;
  access::GateRequest r;
  r.session = call.session;
  r.capability = route.capability;
  r.action = route.capability;
  r.now = call.now;
  r.request_id = call.req.request_id;
  r.client = call.client;
  r.member = call.target_member;
  r.what = TargetName(route.target);
  r.overlays = contest_rules_.get();
  r.publication = PublicationFor(call);
  r.facility = FacilityFor(call);
  const std::int64_t id = call.target_id;
  switch (route.target) {
    case RouteTarget::kNone:
      break;
    case RouteTarget::kUnitQuery:
    case RouteTarget::kUnitBody:
      r.unit = [unit = call.target_unit](store::Tx&) -> Result<std::optional<UnitId>> {
        return std::optional<UnitId>(unit);
      };
      break;
    case RouteTarget::kMemberPath:
      r.unit = [id](store::Tx& tx) -> Result<std::optional<UnitId>> {
        SB_ASSIGN_OR_RETURN(UnitId u, access::MemberUnit(tx, MemberId(id)));
        return std::optional<UnitId>(u);
      };
      break;
    case RouteTarget::kGrantPath:
      r.unit = [id](store::Tx& tx) -> Result<std::optional<UnitId>> {
        SB_ASSIGN_OR_RETURN(access::Grant g, access::GetGrant(tx, access::GrantId(id)));
        return std::optional<UnitId>(g.scope);
      };
      break;
    case RouteTarget::kCampaignPath:
      r.unit = [id](store::Tx& tx) -> Result<std::optional<UnitId>> {
        SB_ASSIGN_OR_RETURN(UnitId u, phonebank::CampaignScope(tx, phonebank::CampaignId(id)));
        return std::optional<UnitId>(u);
      };
      break;
    case RouteTarget::kMessagePath:
      r.unit = [id](store::Tx& tx) -> Result<std::optional<UnitId>> {
        SB_ASSIGN_OR_RETURN(UnitId u, messaging::MessageScope(tx, messaging::MessageId(id)));
        return std::optional<UnitId>(u);
      };
      break;
    case RouteTarget::kExportPath:
      r.unit = [id](store::Tx& tx) -> Result<std::optional<UnitId>> {
        SB_ASSIGN_OR_RETURN(UnitId u, privacy::ExportScope(tx, privacy::ExportId(id)));
        return std::optional<UnitId>(u);
      };
      break;
  }
  return r;
}

Result<int> Api::ReleaseDueContests() {
  const Micros now = deps_.clock->Now();
  bool due = false;
  SB_RETURN_IF_ERROR(deps_.store->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(due, contests_->Due(tx, now));
    return Status::Ok();
  }));
  if (!due) return 0;
  int released = 0;
  SB_RETURN_IF_ERROR(deps_.store->Write([&](store::Tx& tx) -> Status {
    access::Acting system;
    system.now = deps_.clock->Now();
    SB_ASSIGN_OR_RETURN(released, contests_->Tick(tx, system));
    return Status::Ok();
  }));
  return released;
}

HttpResponse Api::Act(const ApiCall& call, TxKind kind, ActFn act, RenderFn render) {
  const bool gated = call.route.auth == RouteAuth::kCapability;
  // A capability some role meters is charged, so decided in a write.
  if (gated && kind == TxKind::kRead && deps_.policy->Meters(call.route.capability)) {
    kind = TxKind::kWrite;
  }
  struct State {
    access::GateRequest request;
    std::optional<access::GateResult> gate;
    access::Acting acting;
  };
  auto s = std::make_shared<State>();
  if (gated) s->request = GateRequestFor(call);
  const bool write = kind != TxKind::kRead;
  store::TxFn fn = [this, &call, s, gated, write, act = std::move(act)](store::Tx& tx) -> Status {
    if (gated) {
      SB_ASSIGN_OR_RETURN(s->gate,
                          access::Authorise(tx, *deps_.policy, *deps_.tree, s->request, write));
      if (!s->gate->allowed()) return Status::Ok();  // the refusal commits, the action never ran
      s->acting = s->gate->acting(s->request);
    } else {
      s->acting = Self(call);
    }
    return act ? act(tx, s->acting) : Status::Ok();
  };
  auto finish = [this, &call, s, gated, render = std::move(render)](const Status& st) {
    if (!st.ok()) return StatusResponse(st, call.req.request_id);
    if (gated && !s->gate->allowed()) return Refused(call, s->request, *s->gate);
    return render(st);
  };
  switch (kind) {
    case TxKind::kRead:
      return finish(deps_.store->Read(fn));
    case TxKind::kWrite:
      return finish(deps_.store->Write(fn));
    case TxKind::kLater:
      return Later(call, std::move(fn), std::move(finish));
  }
  return StatusResponse(Status::Internal("unknown transaction kind"), call.req.request_id);
}

HttpResponse Api::Refused(const ApiCall& call, const access::GateRequest& r,
                          const access::GateResult& g) {
  const HttpRequest& req = call.req;
  if (g.outcome == access::GateOutcome::kOverQuota) {
    HttpResponse out = Json(429, {{"error",
                                   {{"code", "quota_exceeded"},
                                    {"message", access::QuotaRefusalReason(r.capability, g.quota)},
                                    {"rule", "quota.exceeded"},
                                    {"resets_at", FormatTimestamp(g.quota.resets_at)},
                                    {"request_id", req.request_id}}}});
    out.headers.emplace_back(
        "Retry-After",
        std::to_string(std::max<Micros>(
            1, (g.quota.resets_at - call.now + kMicrosPerSecond - 1) / kMicrosPerSecond)));
    return out;
  }
  const bool not_found = g.outcome == access::GateOutcome::kNotFound;
  bool suspended = g.suspended;
  if (!g.recorded) {
    // Decided in a read: recorded now, in a write of its own.
    Status rec = deps_.store->Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(suspended,
                          access::RecordRefusal(tx, *deps_.policy, r, g.decision, not_found));
      return Status::Ok();
    });
    if (!rec.ok()) return StatusResponse(rec, req.request_id);
  }
  if (suspended) return Suspended(req);
  if (not_found) return Error(404, "not_found", g.decision.deny_reason, req);
  return Json(403, {{"error",
                     {{"code", "denied"},
                      {"message", g.decision.reason()},
                      {"rule", g.decision.rule},
                      {"request_id", req.request_id}}}});
}

HttpResponse Api::RefuseNotFound(const ApiCall& call, std::string_view message) {
  access::Decision d;
  d.rule = "not_found";
  d.deny_reason = std::string(message);
  // Session routes have no capability: their refusals are named by the route.
  const std::string_view action =
      call.route.capability.empty() ? call.route.id : call.route.capability;
  bool suspended = false;
  Status rec = deps_.store->Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(suspended, access::RecordRefusal(tx, *deps_.policy, Self(call), action, d,
                                                         /*not_found=*/true));
    return Status::Ok();
  });
  if (!rec.ok()) return StatusResponse(rec, call.req.request_id);
  if (suspended) return Suspended(call.req);
  return Error(404, "not_found", message, call.req);
}

}  // namespace switchboard::server
