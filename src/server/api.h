// Api: the JSON API under /api/v1 (docs/api.md, docs/openapi.yaml).
//
// Every request goes through one path (Api::Handle):
//   1. bodies of state-changing requests must be JSON (415 otherwise; also
//      what stops cross-site form posts), parsed once under limits on depth,
//      size and count with duplicate keys, out-of-range numbers and NUL
//      refused (core/json.h; 400 with a code naming the rule);
//   2. the session: a bearer token (Authorization: Bearer ...) or the session
//      cookie; cookie requests that change state must carry the session's
//      CSRF token in X-CSRF-Token and, when the browser sends Origin, come
//      from this server's own origin;
//   3. for capability routes, the target's unit (api_routes.h) and one call
//      to access::Decide; a deny is recorded in the audit log and answered
//      403 with the rule and a reason a person can act on; an allow is then
//      metered against the role's quota (access/guard/quota.h; 429 with the
//      time it resets). Denials, not-founds and member reads feed the
//      anomaly rules (access/guard/anomaly.h) in the same transaction as
//      their audit event, so a severe rule suspends the account and ends its
//      sessions within the request that triggered it;
//   4. the route's handler, which receives the Decision. Member reads take
//      it (access/store/member_reader.h) and record the read — member ids and
//      field classes, never values — in the same transaction.
// Errors are {"error": {"code", "message", "request_id"}} with stable codes.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "access/policy/decision.h"
#include "access/policy/policy.h"
#include "access/store/access_service.h"
#include "access/store/auth_service.h"
#include "audit/checkpoint.h"
#include "core/clock.h"
#include "core/mutex.h"
#include "core/time_zone.h"
#include "crypto/sealer.h"
#include "members/org_tree.h"
#include "phonebank/connector.h"
#include "server/api_routes.h"
#include "server/http_server.h"
#include "store/store.h"

namespace switchboard::server {

struct ApiDeps {
  store::Store* store = nullptr;
  const access::Policy* policy = nullptr;
  const members::OrgTree* tree = nullptr;
  const crypto::Sealer* sealer = nullptr;
  const Clock* clock = nullptr;
  // The organisation's wall clock ([organisation] time_zone): calling hours.
  TimeZone time_zone;
  access::AuthOptions auth;
  bool cookie_secure = true;
  // E-mail: links in messages and previews, the organisation's name, and
  // what to call when a message has been queued (wakes the outbox).
  std::string public_base_url = "http://127.0.0.1:8080";
  std::string organisation_name = "Example Party";
  std::function<void()> on_message_queued;
  // The telephony connector; when null, the sandbox (a simulator).
  std::shared_ptr<phonebank::Connector> connector;
};

// What a handler gets: the request, the session (for non-public routes) and
// the decision (for capability routes). Held by a shared_ptr: a handler that
// finishes after a group commit (Api::Later) keeps the call, session and
// decision with shared_from_this(). The request outlives it: the HTTP layer
// keeps it until the response is sent.
struct ApiCall : std::enable_shared_from_this<ApiCall> {
  ApiCall(const ApiRoute& r, const HttpRequest& q) : route(r), req(q) {}
  const ApiRoute& route;
  const HttpRequest& req;
  Micros now = 0;
  std::string client;  // truncated address for the audit log
  const access::ActiveSession* session = nullptr;
  const access::Decision* decision = nullptr;
  UnitId target_unit;
  MemberId target_member;  // kMemberPath routes
  // The request body of a state-changing request, parsed once under the
  // body limits (kBodyLimits): always an object ({} when there was none).
  nlohmann::json body = nlohmann::json::object();
  // What `session` and `decision` point to.
  std::optional<access::ActiveSession> active_session;
  std::optional<access::Decision> active_decision;
};

using ApiHandler = std::function<HttpResponse(const ApiCall&)>;

class Api {
 public:
  explicit Api(const ApiDeps& deps);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Registers every route of kApiRoutes on `http`.
  void Register(HttpServer& http);
  // Handles one request for `route` (after routing).
  HttpResponse Handle(const ApiRoute& route, const HttpRequest& req);

  access::AuthService& auth() { return *auth_; }

  static constexpr std::string_view kSessionCookie = "sb_session";

 private:
  HttpResponse Login(const ApiCall& call);
  HttpResponse SessionInfo(const ApiCall& call);
  HttpResponse Logout(const ApiCall& call);
  HttpResponse LogoutEverywhere(const ApiCall& call);
  HttpResponse SearchMembers(const ApiCall& call);
  HttpResponse ViewMember(const ApiCall& call);
  HttpResponse ViewContact(const ApiCall& call);
  HttpResponse ListGrants(const ApiCall& call);
  HttpResponse AddGrant(const ApiCall& call);
  HttpResponse ApproveGrant(const ApiCall& call);
  HttpResponse RevokeGrant(const ApiCall& call);
  HttpResponse ListAccounts(const ApiCall& call);
  HttpResponse SetAccountState(const ApiCall& call, access::AccountState state);
  HttpResponse Explain(const ApiCall& call);
  HttpResponse AuditEvents(const ApiCall& call);
  HttpResponse AuditCheckpoints(const ApiCall& call);
  HttpResponse AuditProof(const ApiCall& call);
  HttpResponse ListAlerts(const ApiCall& call);
  HttpResponse AcknowledgeAlert(const ApiCall& call);
  // The phone bank (api_phonebank.cc).
  HttpResponse ListCampaigns(const ApiCall& call);
  HttpResponse CreateCampaign(const ApiCall& call);
  HttpResponse GetCampaign(const ApiCall& call);
  HttpResponse UpdateCampaign(const ApiCall& call);
  HttpResponse AudienceCount(const ApiCall& call);
  HttpResponse AudiencePreview(const ApiCall& call);
  HttpResponse CampaignState(const ApiCall& call);
  HttpResponse CampaignProgress(const ApiCall& call);
  HttpResponse CreateInvite(const ApiCall& call);
  HttpResponse ListInvites(const ApiCall& call);
  HttpResponse RevokeInvite(const ApiCall& call);
  HttpResponse JoinInfo(const ApiCall& call);
  HttpResponse JoinCampaign(const ApiCall& call);
  HttpResponse NextContact(const ApiCall& call);
  HttpResponse Connect(const ApiCall& call);
  HttpResponse Outcome(const ApiCall& call);
  HttpResponse CallStatus(const ApiCall& call);
  HttpResponse MyStats(const ApiCall& call);
  HttpResponse RegisterEndpoint(const ApiCall& call);
  HttpResponse VerifyEndpoint(const ApiCall& call);
  void AddPhonebankHandlers();
  void AddMessageHandlers();
  HttpResponse ListMessages(const ApiCall& call);
  HttpResponse CreateMessage(const ApiCall& call);
  HttpResponse CountMessageAudience(const ApiCall& call);
  HttpResponse GetMessage(const ApiCall& call);
  HttpResponse UpdateMessage(const ApiCall& call);
  HttpResponse PreviewMessage(const ApiCall& call);
  HttpResponse ApproveMessage(const ApiCall& call);
  HttpResponse SendMessage(const ApiCall& call);
  HttpResponse CancelMessage(const ApiCall& call);
  HttpResponse MessageReport(const ApiCall& call);
  HttpResponse MyApprovals(const ApiCall& call);
  HttpResponse ApproveInMyName(const ApiCall& call);

  // Records a refusal (a deny, or a not-found) and feeds the anomaly rules,
  // in one transaction; `suspended` says whether a severe rule fired.
  Status RecordRefusal(const ApiCall& call, std::string_view action,
                       const access::Decision& decision, MemberId member, bool not_found,
                       bool* suspended);
  // RecordRefusal, then the 403 (or 404) answer; "account_suspended" when a
  // severe anomaly rule fired on this very request.
  HttpResponse Refuse(const ApiCall& call, const access::Decision& decision, MemberId member,
                      bool not_found);
  // Refuse() for an id or token the account could only have guessed (a call,
  // a link, a message not in its name): 404 with `message`, recorded and
  // counted toward the probing rule like any other refusal.
  HttpResponse RefuseNotFound(const ApiCall& call, std::string_view message);
  // Feeds an allowed read to the anomaly rules inside the read's transaction.
  Status ObserveRead(store::Tx& tx, const ApiCall& call, std::vector<MemberId> members);

  // A write whose response is made after its group commit without holding
  // an HTTP thread meanwhile: `fn` as for Store::Write (it may run twice),
  // then `make` on an HTTP thread with the write's status. Both may use the
  // call (kept alive) and whatever they capture.
  HttpResponse Later(const ApiCall& call, store::TxFn fn,
                     std::function<HttpResponse(const Status&)> make);
  // The answer to "next", once its write is done.
  HttpResponse NextResponse(const ApiCall& call, const Status& st, const phonebank::Campaign& c,
                            const phonebank::NextResult& next, const phonebank::Contact& contact);

  ApiDeps deps_;
  std::unique_ptr<access::AuthService> auth_;
  std::unique_ptr<access::AccessService> access_;
  std::map<std::string_view, ApiHandler> handlers_;
  std::shared_ptr<phonebank::Connector> connector_;
  // Later() writes not yet answered: the destructor waits for them, since
  // they refer to this object.
  Mutex later_mu_;
  CondVar later_cv_;
  int later_pending_ SB_GUARDED_BY(later_mu_) = 0;
};

// Status code and stable error code for a Status from a service.
HttpResponse StatusResponse(const Status& st, std::string_view request_id);

}  // namespace switchboard::server
