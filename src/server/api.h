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
//   3. the route's handler (one file per area: api_members.cc, api_grants.cc,
//      api_audit.cc, api_phonebank.cc, api_messages.cc, api_session.cc)
//      parses the request and calls Api::Act with one service operation;
//   4. Act opens the one transaction of the request. For capability routes
//      it first passes the gate (access/guard/gate.h) in it: the target's
//      unit (api_routes.h), the account's grants as they stand in that
//      transaction, one call to access::Decide and the role's quota. A
//      refusal is recorded (audit event and anomaly rules, so a severe rule
//      suspends the account within the request that triggered it) and
//      answered 403/404/429 with the rule and a reason a person can act on;
//      an allow runs the operation, which acts and records its own audit
//      event in the same transaction, with the Decision (access::Acting);
//   5. the handler renders the operation's result.
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
#include <thread>
#include <variant>
#include <vector>

#include "access/guard/gate.h"
#include "access/policy/acting.h"
#include "access/policy/decision.h"
#include "access/policy/policy.h"
#include "access/store/access_service.h"
#include "access/store/auth_service.h"
#include "access/store/enrolment.h"
#include "audit/checkpoint.h"
#include "audit/merkle.h"
#include "contest/contests.h"
#include "core/clock.h"
#include "core/mutex.h"
#include "core/time_zone.h"
#include "crypto/sealer.h"
#include "members/org_tree.h"
#include "messaging/operations.h"
#include "phonebank/connector.h"
#include "phonebank/operations.h"
#include "privacy/sar.h"
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
  // [mail] relay, for the records of processing (its recipients).
  std::string mail_relay;
  std::function<void()> on_message_queued;
  // The telephony connector; when null, the sandbox (a simulator).
  std::shared_ptr<phonebank::Connector> connector;
  // Calls at once, in total and per campaign ([telephony]).
  phonebank::CallLimits call_limits;
  // The numbers campaigns may present and the default ring time ([telephony]).
  phonebank::CallerLine caller_line;
  // The audit log's verifier key, C2SP form (`switchboard audit key`): sent
  // with the checkpoints so the DPO console can check their signatures.
  std::string audit_verify_key;
};

// What a handler gets: the request, the session (for non-public routes) and
// the target parsed from the path, query or body. Held by a shared_ptr: a
// handler that finishes after a group commit (TxKind::kLater) keeps the call
// and session with shared_from_this(). The request outlives it: the HTTP
// layer keeps it until the response is sent.
struct ApiCall : std::enable_shared_from_this<ApiCall> {
  ApiCall(const ApiRoute& r, const HttpRequest& q) : route(r), req(q) {}
  const ApiRoute& route;
  const HttpRequest& req;
  Micros now = 0;
  std::string client;  // truncated address for the audit log
  const access::ActiveSession* session = nullptr;
  // kUnitQuery and kUnitBody routes: the unit named (decided on by the gate).
  UnitId target_unit;
  // Path targets: the id named by {id} (a member, grant, campaign, message).
  std::int64_t target_id = 0;
  MemberId target_member;  // kMemberPath routes
  // The request body of a state-changing request, parsed once under the
  // body limits (kBodyLimits): always an object ({} when there was none).
  nlohmann::json body = nlohmann::json::object();
  // What `session` points to.
  std::optional<access::ActiveSession> active_session;
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
  // The member's own pages for "who saw my data" (api_privacy.cc), no
  // sign-in: GET/POST /my-data (ask for a link), GET/POST /my-data/{token}
  // (confirm, then the report, once).
  void RegisterMyDataPages(HttpServer& http);
  // Handles one request for `route` (after routing).
  HttpResponse Handle(const ApiRoute& route, const HttpRequest& req);

  access::AuthService& auth() { return *auth_; }

  // Contests whose data release is due get it (serve calls this every
  // second; a read unless one is due). Returns the candidates released.
  Result<int> ReleaseDueContests();

  // The phone bank's calls, for serve: those a crash left active, once at
  // start-up before requests are taken; what the connector's own clock says
  // has happened, each second; all of them ended when the server stops.
  Result<int> ReconcileCalls();
  Result<int> SettleCalls();
  Result<int> EndAllCalls();

  static constexpr std::string_view kSessionCookie = "sb_session";

  // How Act runs the request's transaction: a read, a write answered on
  // this thread, or a write answered after its group commit without holding
  // an HTTP thread meanwhile (the operation may then run twice, and it and
  // `render` must keep what they use alive: the call is kept by Act).
  enum class TxKind { kRead, kWrite, kLater };
  using ActFn = std::function<Status(store::Tx&, const access::Acting&)>;
  using RenderFn = std::function<HttpResponse(const Status&)>;
  // Serves a route of its own, outside kApiRoutes (demo mode's clock,
  // server/demo.h), through Handle's steps: the body, the session and its
  // CSRF token, the gate on the route's capability, then `act` in the
  // request's transaction and `render`. `route` must outlive the server.
  HttpResponse Serve(const ApiRoute& route, const HttpRequest& req, TxKind kind, ActFn act,
                     RenderFn render);

 private:
  // Handle's steps 1-3 (body, session, target): the call, or the answer
  // that refuses it.
  std::variant<std::shared_ptr<ApiCall>, HttpResponse> Prepare(const ApiRoute& route,
                                                               const HttpRequest& req);
  void AddSessionHandlers();
  void AddMemberHandlers();
  void AddGrantHandlers();
  void AddAuditHandlers();
  void AddPhonebankHandlers();
  void AddMessageHandlers();
  void AddContestHandlers();
  void AddSignUpHandlers();
  void AddBreachHandlers();  // api_breach.cc
  void AddDpoHandlers();     // api_dpo.cc
  void AddPrivacyHandlers();
  void AddErasureHandlers();
  HttpResponse EraseMember(const ApiCall& call);
  void AddExportHandlers();  // api_exports.cc

  // The request's one transaction (see the top of this file): the gate for
  // capability routes, then `act` with who acts; `render` makes the answer
  // from the transaction's status (refusals are answered by Act). With no
  // `act`, only the gate runs (in a read), for services that open their own
  // transaction and decide again in it (AccessService, AuthService).
  HttpResponse Act(const ApiCall& call, TxKind kind, ActFn act, RenderFn render);
  // Step 2 of Handle: the session, its CSRF token and origin; false with
  // `refusal` set when the request may not go on.
  bool Authenticate(ApiCall& call, HttpResponse* refusal);
  // Who acts on a session route: the account itself, no decision.
  access::Acting Self(const ApiCall& call) const;
  // The gate's request for `call`, and the answer to a refusal.
  access::GateRequest GateRequestFor(const ApiCall& call) const;
  HttpResponse Refused(const ApiCall& call, const access::GateRequest& r,
                       const access::GateResult& g);
  // A refusal for an id or token the account could only have guessed (a
  // call, a link, a message not in its name): 404 with `message`, recorded
  // and counted toward the probing rule like any other refusal.
  HttpResponse RefuseNotFound(const ApiCall& call, std::string_view message);
  // A write whose response is made after its group commit without holding
  // an HTTP thread meanwhile: `fn` as for Store::Write (it may run twice),
  // then `make` on an HTTP thread with the write's status. Both may use the
  // call (kept alive) and whatever they capture.
  HttpResponse Later(const ApiCall& call, store::TxFn fn,
                     std::function<HttpResponse(const Status&)> make);
  // The answer to "next", once its write is done.
  HttpResponse NextResponse(const ApiCall& call, const phonebank::NextContact& next);

  // Session (api_session.cc).
  HttpResponse Login(const ApiCall& call);
  HttpResponse SessionInfo(const ApiCall& call);
  HttpResponse OrganisationInfo(const ApiCall& call);
  HttpResponse Logout(const ApiCall& call);
  HttpResponse LogoutEverywhere(const ApiCall& call);
  // The Set-Cookie value of a browser session.
  std::string SessionCookie(const access::IssuedSession& s, Micros now) const;
  // Sign-up and password reset (api_signup.cc).
  struct OpenInvite {
    std::int64_t campaign = 0;
    std::string name, purpose;
    Micros ends_at = 0;
    bool own_address = false;  // the campaign lets non-members sign up
    std::string refusal;       // why the link cannot be used now, or empty
  };
  Result<OpenInvite> ReadOpenInvite(std::string_view token, Micros now);
  HttpResponse LinkAsked(const ApiCall& call, const Result<access::LinkRequestOutcome>& out);
  HttpResponse JoinAbout(const ApiCall& call);
  HttpResponse RequestSignUp(const ApiCall& call);
  HttpResponse RequestReset(const ApiCall& call);
  HttpResponse CheckLink(const ApiCall& call);
  HttpResponse CompleteLink(const ApiCall& call);
  // Members (api_members.cc).
  HttpResponse SearchMembers(const ApiCall& call);
  HttpResponse ViewMember(const ApiCall& call);
  HttpResponse ViewContact(const ApiCall& call);
  // Grants and accounts (api_grants.cc).
  HttpResponse ListGrants(const ApiCall& call);
  HttpResponse AddGrant(const ApiCall& call);
  HttpResponse ApproveGrant(const ApiCall& call);
  HttpResponse RevokeGrant(const ApiCall& call);
  HttpResponse ListAccounts(const ApiCall& call);
  HttpResponse SetAccountState(const ApiCall& call, access::AccountState state);
  // Audit and alerts (api_audit.cc).
  HttpResponse Explain(const ApiCall& call);
  HttpResponse AuditEvents(const ApiCall& call);
  HttpResponse AuditCheckpoints(const ApiCall& call);
  HttpResponse AuditProof(const ApiCall& call);
  HttpResponse AuditWitness(const ApiCall& call);
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
  HttpResponse CampaignResults(const ApiCall& call);
  HttpResponse ResultsCsv(const ApiCall& call);
  HttpResponse ResultsChart(const ApiCall& call);
  HttpResponse CreateInvite(const ApiCall& call);
  HttpResponse ListInvites(const ApiCall& call);
  HttpResponse RevokeInvite(const ApiCall& call);
  HttpResponse JoinInfo(const ApiCall& call);
  HttpResponse JoinCampaign(const ApiCall& call);
  HttpResponse NextContact(const ApiCall& call);
  HttpResponse Connect(const ApiCall& call);
  HttpResponse Outcome(const ApiCall& call);
  HttpResponse CallStatus(const ApiCall& call);
  HttpResponse Hangup(const ApiCall& call);
  // calls.get answered now, in a transaction of `kind`.
  HttpResponse CallStatusNow(const ApiCall& call, TxKind kind);
  // Long-polls of calls.get (?after=STATE): a response held until the call's
  // recorded state moves on from STATE or kCallWaitSeconds pass, answered by
  // a watcher thread started with the first (api_phonebank.cc). False when
  // the answer is due now (the state moved on, or too many are held).
  struct CallWait;
  bool HoldCallStatus(const ApiCall& call, std::int64_t id, const std::string& after,
                      HttpResponse* out);
  void WatchCalls();
  void StopWatchingCalls();
  HttpResponse MyStats(const ApiCall& call);
  HttpResponse RegisterEndpoint(const ApiCall& call);
  HttpResponse VerifyEndpoint(const ApiCall& call);
  HttpResponse EndpointStatus(const ApiCall& call);
  // Member e-mail (api_messages.cc).
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
  HttpResponse MessageSpeakers(const ApiCall& call);
  HttpResponse ApproveInMyName(const ApiCall& call);
  // Contests (api_contests.cc).
  bool ContestManager(const ApiCall& call) const;
  HttpResponse ListContests(const ApiCall& call);
  HttpResponse CheckRulebook(const ApiCall& call);
  HttpResponse LoadContest(const ApiCall& call);
  HttpResponse GetContest(const ApiCall& call);
  HttpResponse ContestRulebook(const ApiCall& call);
  HttpResponse AmendContest(const ApiCall& call);
  HttpResponse ApproveContestAmendment(const ApiCall& call);
  HttpResponse ContestStanding(const ApiCall& call);
  HttpResponse Nominate(const ApiCall& call);
  HttpResponse ContestLedger(const ApiCall& call);
  // Privacy: subject access and the request queue (api_privacy.cc).
  HttpResponse PrivacyReport(const ApiCall& call);
  HttpResponse ListPrivacyRequests(const ApiCall& call);
  HttpResponse PrivacyReminders(const ApiCall& call);
  HttpResponse RecordPrivacyRequest(const ApiCall& call);
  HttpResponse ClosePrivacyRequest(const ApiCall& call);
  HttpResponse RequestMyReport(const ApiCall& call);
  HttpResponse OpenMyReport(const ApiCall& call);
  HttpResponse ProcessingRecords(const ApiCall& call);
  // The member's own report, opened with a report link in one transaction.
  Result<privacy::Report> OpenReportLink(const std::string& token, const std::string& client,
                                         const std::string& request_id);
  privacy::RenderOptions MemberRendering(MemberId member) const;
  // What a request would publish, for the contest overlay (api_contests.cc).
  std::function<Result<access::Publication>(store::Tx&)> PublicationFor(const ApiCall& call) const;
  // The campaign or message a request acts on, for the contest overlay.
  std::function<Result<access::Facility>(store::Tx&)> FacilityFor(const ApiCall& call) const;

  ApiDeps deps_;
  std::unique_ptr<access::AuthService> auth_;
  std::unique_ptr<access::EnrolmentService> enrolment_;
  std::unique_ptr<access::AccessService> access_;
  std::map<std::string_view, ApiHandler> handlers_;
  std::shared_ptr<phonebank::Connector> connector_;
  std::unique_ptr<phonebank::Operations> phonebank_;
  std::unique_ptr<messaging::Operations> messaging_;
  std::unique_ptr<contest::ContestRules> contest_rules_;
  std::unique_ptr<contest::ContestOperations> contests_;
  // Later() writes not yet answered: the destructor waits for them, since
  // they refer to this object.
  Mutex later_mu_;
  CondVar later_cv_;
  int later_pending_ SB_GUARDED_BY(later_mu_) = 0;
  Mutex waits_mu_;
  CondVar waits_cv_;
  std::vector<std::shared_ptr<CallWait>> waits_ SB_GUARDED_BY(waits_mu_);
  bool waits_stopping_ SB_GUARDED_BY(waits_mu_) = false;
  std::thread watcher_;  // started with the first held call status
  // The log's leaves, read once for the proofs the DPO's console asks for
  // (one per audit search result): the first N events never change, so the
  // largest tree read so far serves every size up to it.
  Mutex proof_mu_;
  std::shared_ptr<const audit::ProofIndex> proof_index_ SB_GUARDED_BY(proof_mu_);
};

// Status code and stable error code for a Status from a service.
HttpResponse StatusResponse(const Status& st, std::string_view request_id);

}  // namespace switchboard::server
