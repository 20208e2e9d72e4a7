// The authorisation matrix (issue 4): every route of the API's route table x
// every role of the default policy x target in / out of the grant's scope x
// before / inside / after the grant's window, each answered as the rulebook
// says (§3: allow only when an unexpired grant whose role holds the
// capability covers the target's unit), plus every non-public route refusing
// a request without a session.
//
// Generated from kApiRoutes: a route added to the table without a probe
// below fails to compile (static_assert), so no route escapes the matrix.
#include <gtest/gtest.h>

#include <regex>

#include "access/credentials/token.h"
#include "access/guard/anomaly.h"
#include "contest/contests.h"
#include "crypto/keyring.h"
#include "messaging/messaging.h"
#include "phonebank/connector.h"
#include "phonebank/phonebank.h"
#include "privacy/breach.h"
#include "privacy/export.h"
#include "privacy/export_testing.h"
#include "privacy/requests.h"
#include "server/api_routes.h"
#include "server/api_testing.h"

namespace switchboard::server {
namespace {

using testing::Body;
using testing::TestSession;

// The routes this file knows how to exercise.
constexpr std::string_view kProbed[] = {
    "session.login",
    "session.get",
    "session.logout",
    "session.logout_everywhere",
    "members.search",
    "members.view",
    "members.contact",
    "grants.list",
    "grants.add",
    "grants.approve",
    "grants.revoke",
    "accounts.list",
    "accounts.suspend",
    "accounts.reinstate",
    "access.explain",
    "audit.events",
    "audit.checkpoints",
    "audit.proof",
    "audit.witness",
    "alerts.list",
    "alerts.acknowledge",
    "campaigns.list",
    "campaigns.create",
    "campaigns.get",
    "campaigns.update",
    "campaigns.audience_count",
    "audience.count",
    "campaigns.state",
    "campaigns.progress",
    "campaigns.results",
    "campaigns.results_csv",
    "campaigns.chart",
    "invites.create",
    "invites.list",
    "invites.revoke",
    "join.get",
    "join.post",
    "calling.next",
    "calling.connect",
    "calling.outcome",
    "calls.get",
    "calling.hangup",
    "me.stats",
    "me.endpoint",
    "me.endpoint_verify",
    "me.endpoint_get",
    "messages.list",
    "messages.create",
    "messages.count",
    "messages.get",
    "messages.update",
    "messages.preview",
    "messages.approve",
    "messages.send",
    "messages.cancel",
    "messages.report",
    "me.approvals",
    "me.approve",
    "contests.list",
    "contests.check",
    "contests.load",
    "contests.get",
    "contests.rulebook",
    "contests.amend",
    "contests.approve_amendment",
    "contests.standing",
    "contests.nominate",
    "contests.ledger",
    "messages.speakers",
    "organisation.get",
    "join.about",
    "signup.request",
    "password_reset.request",
    "account_link.check",
    "account_link.complete",
    // The breach register.
    "breaches.list",
    "breaches.create",
    "breaches.get",
    "breaches.update",
    "breaches.affected",
    // The DPO console's overviews.
    "access.overview",
    "audit.charts",
    "privacy.report",
    "privacy.requests.list",
    "privacy.requests.create",
    "privacy.requests.close",
    "privacy.requests.reminders",
    "privacy.my_report.request",
    "privacy.my_report.open",
    "privacy.records",
    "members.erase",
    // Exports and leak tracing.
    "exports.list",
    "exports.request",
    "exports.approve",
    "exports.cancel",
    "exports.download",
    "leaks.trace",
};

constexpr bool Probed(std::string_view id) {
  for (std::string_view p : kProbed) {
    if (p == id) return true;
  }
  return false;
}

constexpr bool AllRoutesProbed() {
  for (const ApiRoute& r : kApiRoutes) {
    if (!Probed(r.id)) return false;
  }
  return true;
}

static_assert(AllRoutesProbed(),
              "a route in kApiRoutes has no probe in api_matrix_test.cc; add one to kProbed and "
              "to ApiMatrixTest::Probe");

struct Request {
  std::string method, target, body;
};

enum class When { kBefore, kInside, kAfter };
const char* WhenName(When w) {
  return w == When::kBefore ? "before" : w == When::kInside ? "inside" : "after";
}

class ApiMatrixTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    // The matrix makes many denials per account; probing alerts are tested
    // elsewhere and must not interfere here.
    env_.SetUp(GetParam());
    base_ = env_.clock_.Now();
    aldershot_ = env_.Unit("E14000530");
    south_east_ = env_.env_.tree_.Find(aldershot_)->parent;
    west_midlands_ = env_.env_.tree_.Find(env_.Unit("E14000531"))->parent;
    member_ = env_.AddMember("301", aldershot_, "Mary", "Seacole");
    other_granter_ = env_.AddAccount("matrix.granter");
    canary_ = env_.AddMember("302", aldershot_, "Test", "Canary");
    callable_ = env_.AddMember("303", aldershot_, "Ann", "Callable", members::kConsentPhone);
    env_.AddMember("304", aldershot_, "Eve", "Mailable", members::kConsentEmail);
    ASSERT_TRUE(env_.env_.store_
                    ->Write([&](store::Tx& tx) {
                      return members::PlantCanary(tx, canary_, env_.clock_.Now(), "matrix");
                    })
                    .ok());
  }

  // An open alert about a fresh account (it touched the canary).
  access::AlertId NewAlert() {
    AccountId who = env_.AddAccount("alerted." + std::to_string(++n_));
    access::AlertId id;
    EXPECT_TRUE(env_.env_.store_
                    ->Write([&](store::Tx& tx) -> Status {
                      access::Observation o;
                      o.account = who;
                      o.capability = "member.view";
                      o.members = {canary_};
                      o.now = env_.clock_.Now();
                      SB_ASSIGN_OR_RETURN(auto out, access::Observe(tx, env_.policy_, o));
                      if (out.alerts.empty()) return Status::Internal("no alert raised");
                      id = out.alerts[0].id;
                      return Status::Ok();
                    })
                    .ok());
    return id;
  }

  // A breach in the register, recorded at the command line.
  privacy::BreachId NewBreach() {
    privacy::BreachId id;
    EXPECT_TRUE(env_.env_.store_
                    ->Write([&](store::Tx& tx) -> Status {
                      access::Acting cli;
                      cli.now = env_.clock_.Now();
                      SB_ASSIGN_OR_RETURN(
                          id, privacy::RecordBreach(tx, cli, {"matrix", "names", "members", "", ""},
                                                    cli.now));
                      return Status::Ok();
                    })
                    .ok());
    return id;
  }

  Micros At(When w) const {
    switch (w) {
      case When::kBefore:
        return base_ + 5 * kMicrosPerDay;
      case When::kInside:
        return base_ + 15 * kMicrosPerDay;
      case When::kAfter:
        return base_ + 25 * kMicrosPerDay;
    }
    return base_;
  }
  Micros GrantStart() const { return base_ + 10 * kMicrosPerDay; }
  Micros GrantEnd() const { return base_ + 20 * kMicrosPerDay; }

  // The unit the route acts on, and a scope containing it or not.
  UnitId InScope(const ApiRoute& r) const {
    return r.target == RouteTarget::kNone ? env_.env_.tree_.root()->id : south_east_;
  }
  UnitId OutOfScope(const ApiRoute& r) const {
    return r.target == RouteTarget::kNone ? south_east_ : west_midlands_;
  }

  // A request for `route` acting as `actor` (who holds `role`); creates what
  // the request needs (a pending grant to approve, an account to suspend...).
  Request Probe(const ApiRoute& route, AccountId actor, const std::string& role) {
    const std::string id(route.id);
    const std::string m = member_.ToString();
    const Micros now = env_.clock_.Now();
    if (id == "session.login") {
      return {"POST", "/api/v1/session",
              R"({"login": "matrix.granter", "password": "correct horse battery"})"};
    }
    if (id == "session.get") return {"GET", "/api/v1/session", ""};
    if (id == "session.logout") return {"DELETE", "/api/v1/session", ""};
    if (id == "session.logout_everywhere") {
      return {"POST", "/api/v1/session/sign-out-everywhere", ""};
    }
    if (id == "members.search") return {"GET", "/api/v1/members?unit=E14000530", ""};
    if (id == "members.view") return {"GET", "/api/v1/members/" + m, ""};
    if (id == "members.contact") return {"GET", "/api/v1/members/" + m + "/contact", ""};
    if (id == "members.erase") {
      MemberId victim =
          env_.AddMember("erase." + std::to_string(++n_), aldershot_, "Erasable", "Member");
      return {"POST", "/api/v1/members/" + victim.ToString() + "/erase", R"({"reason": "matrix"})"};
    }
    if (id == "grants.list") return {"GET", "/api/v1/grants", ""};
    if (id == "grants.add") {
      AccountId to = env_.AddAccount("to." + std::to_string(++n_));
      return {"POST", "/api/v1/grants",
              nlohmann::json{{"account", to.ToString()},
                             {"role", role},
                             {"scope", "E14000530"},
                             {"purpose", "matrix"},
                             {"reason", "matrix"},
                             {"not_after", FormatTimestamp(now + 3600 * kMicrosPerSecond)}}
                  .dump()};
    }
    if (id == "grants.approve") {
      AccountId to = env_.AddAccount("pending." + std::to_string(++n_));
      access::GrantId g = env_.Grant(to, "caller", aldershot_, now, now + kMicrosPerDay,
                                     /*approved=*/false, other_granter_);
      return {"POST", "/api/v1/grants/" + std::to_string(g.value()) + "/approve", ""};
    }
    if (id == "grants.revoke") {
      AccountId to = env_.AddAccount("revokee." + std::to_string(++n_));
      access::GrantId g =
          env_.Grant(to, "caller", aldershot_, now, now + kMicrosPerDay, true, other_granter_);
      return {"POST", "/api/v1/grants/" + std::to_string(g.value()) + "/revoke",
              R"({"reason": "matrix"})"};
    }
    if (id == "accounts.list") return {"GET", "/api/v1/accounts", ""};
    if (id == "accounts.suspend" || id == "accounts.reinstate") {
      AccountId victim = env_.AddAccount("victim." + std::to_string(++n_));
      const std::string verb = id == "accounts.suspend" ? "suspend" : "reinstate";
      return {"POST", "/api/v1/accounts/" + victim.ToString() + "/" + verb,
              R"({"reason": "matrix"})"};
    }
    if (id == "access.explain") {
      return {"GET",
              "/api/v1/access/explain?account=" + actor.ToString() + "&capability=member.view", ""};
    }
    if (id == "audit.events") return {"GET", "/api/v1/audit/events?limit=5", ""};
    if (id == "audit.checkpoints") return {"GET", "/api/v1/audit/checkpoints", ""};
    if (id == "audit.proof") return {"GET", "/api/v1/audit/proof?seq=0&size=1", ""};
    if (id == "audit.witness") return {"GET", "/api/v1/audit/witness?from=0", ""};
    if (id == "alerts.list") return {"GET", "/api/v1/alerts?open=true", ""};
    if (id == "alerts.acknowledge") {
      return {"POST", "/api/v1/alerts/" + std::to_string(NewAlert().value()) + "/acknowledge",
              R"({"note": "reviewed in the matrix"})"};
    }
    if (id == "access.overview") return {"GET", "/api/v1/access/overview", ""};
    if (id == "audit.charts") return {"GET", "/api/v1/audit/charts/reads-by-role", ""};
    if (id == "breaches.list") return {"GET", "/api/v1/breaches", ""};
    if (id == "breaches.create") {
      return {"POST", "/api/v1/breaches",
              R"({"discovered_at": "now", "description": "matrix", "data_categories": "names",
                  "people_categories": "members"})"};
    }
    if (id == "breaches.get" || id == "breaches.update" || id == "breaches.affected") {
      const std::string b = "/api/v1/breaches/" + std::to_string(NewBreach().value());
      if (id == "breaches.get") return {"GET", b, ""};
      if (id == "breaches.update") return {"PATCH", b, R"({"measures": "matrix"})"};
      return {
          "POST", b + "/affected",
          nlohmann::json{{"account", actor.value()}, {"from", "2020-01-01"}, {"to", "now"}}.dump()};
    }
    if (id == "campaigns.list") return {"GET", "/api/v1/campaigns", ""};
    if (id == "campaigns.create") {
      return {
          "POST", "/api/v1/campaigns",
          R"({"name": "matrix", "scope": "E14000530", "purpose": "matrix", "ends_at": "+10d"})"};
    }
    if (id == "campaigns.get" || id == "campaigns.progress" || id == "invites.list") {
      const std::string c = NewCampaign(true).id.ToString();
      const std::string tail = id == "campaigns.get"        ? ""
                               : id == "campaigns.progress" ? "/progress"
                                                            : "/invites";
      return {"GET", "/api/v1/campaigns/" + c + tail, ""};
    }
    if (id == "campaigns.results" || id == "campaigns.results_csv" || id == "campaigns.chart") {
      const std::string c = NewCampaign(true).id.ToString();
      const std::string tail = id == "campaigns.results"       ? "/results"
                               : id == "campaigns.results_csv" ? "/results.csv"
                                                               : "/charts/outcomes";
      return {"GET", "/api/v1/campaigns/" + c + tail, ""};
    }
    if (id == "campaigns.update") {
      return {"PATCH", "/api/v1/campaigns/" + NewCampaign(false).id.ToString(),
              R"({"name": "renamed"})"};
    }
    if (id == "campaigns.audience_count") {
      return {"POST", "/api/v1/campaigns/" + NewCampaign(false).id.ToString() + "/audience-count",
              R"({"audience": {"statuses": ["current"]}})"};
    }
    if (id == "audience.count") {
      return {"POST", "/api/v1/audience-count",
              R"({"scope": "E14000530", "audience": {"statuses": ["current"]}})"};
    }
    if (id == "campaigns.state") {
      return {"POST", "/api/v1/campaigns/" + NewCampaign(false).id.ToString() + "/state",
              R"({"state": "live"})"};
    }
    if (id == "invites.create") {
      return {"POST", "/api/v1/campaigns/" + NewCampaign(true).id.ToString() + "/invites",
              R"({"label": "matrix", "max_joins": 5})"};
    }
    if (id == "invites.revoke") {
      phonebank::Campaign c = NewCampaign(true);
      NewInviteToken(c);
      const std::int64_t invite = env_.env_.Count("SELECT MAX(id) FROM campaign_invites");
      return {
          "POST",
          "/api/v1/campaigns/" + c.id.ToString() + "/invites/" + std::to_string(invite) + "/revoke",
          ""};
    }
    if (id == "join.about") {
      return {"GET", "/api/v1/join/" + NewInviteToken(NewCampaign(true)) + "/about", ""};
    }
    if (id == "signup.request") {
      return {"POST", "/api/v1/join/" + NewInviteToken(NewCampaign(true)) + "/sign-up",
              R"({"who": "301"})"};
    }
    if (id == "password_reset.request") {
      return {"POST", "/api/v1/password-reset", R"({"who": "matrix.granter"})"};
    }
    if (id == "account_link.check" || id == "account_link.complete") {
      const std::string token = NewAccountLink();
      if (id == "account_link.check") {
        return {"POST", "/api/v1/account-link/check", R"({"token": ")" + token + R"("})"};
      }
      return {"POST", "/api/v1/account-link",
              R"({"token": ")" + token + R"(", "login": "link.)" + std::to_string(++n_) +
                  R"(", "display_name": "Link Person", "password": "a passphrase long enough"})"};
    }
    if (id == "privacy.report") return {"GET", "/api/v1/privacy/members/" + m + "/report", ""};
    if (id == "privacy.requests.list") return {"GET", "/api/v1/privacy/requests", ""};
    if (id == "privacy.requests.reminders") return {"GET", "/api/v1/privacy/reminders", ""};
    if (id == "privacy.requests.create") {
      return {"POST", "/api/v1/privacy/requests",
              R"({"kind": "access", "member": )" + m + R"(, "source": "letter"})"};
    }
    if (id == "privacy.records") return {"GET", "/api/v1/privacy/records", ""};
    if (id == "privacy.my_report.request") {
      return {"POST", "/api/v1/privacy/my-report", R"({"email": "301@example.org"})"};
    }
    if (id == "privacy.my_report.open") {
      // A link asked for through the service; its token exists only in the sealed mail.
      HttpResponse asked =
          env_.Send("POST", "/api/v1/privacy/my-report", R"({"email": "301@example.org"})");
      EXPECT_EQ(asked.status, 202) << asked.body;
      std::string token;
      EXPECT_TRUE(
          env_.env_.store_
              ->Read([&](store::Tx& tx) {
                return tx.Query(
                    "SELECT key_id, sealed FROM account_mail ORDER BY id DESC", {},
                    [&](const store::Row& r) {
                      auto m = env_.env_.sealer_->Open(
                          {static_cast<std::uint32_t>(r.Int(0)), std::string(r.Bytes(1))},
                          "account-mail");
                      std::smatch sm;
                      const std::string text = m ? *m : "";
                      if (std::regex_search(text, sm, std::regex("/my-data/([A-Za-z0-9_-]{43})"))) {
                        token = sm[1];
                      }
                      return false;
                    });
              })
              .ok());
      return {"POST", "/api/v1/privacy/my-report/open", R"({"token": ")" + token + R"("})"};
    }
    if (id == "privacy.requests.close") {
      std::int64_t request = 0;
      EXPECT_TRUE(env_.env_.store_
                      ->Write([&](store::Tx& tx) -> Status {
                        access::Acting a;
                        a.now = now;
                        SB_ASSIGN_OR_RETURN(
                            auto r, privacy::RecordRequest(tx, a, privacy::RequestKind::kAccess,
                                                           member_, "letter", now));
                        request = r.id;
                        return Status::Ok();
                      })
                      .ok());
      return {"POST", "/api/v1/privacy/requests/" + std::to_string(request) + "/close", ""};
    }
    if (id == "join.get" || id == "join.post") {
      const std::string token = NewInviteToken(NewCampaign(true));
      return {id == "join.get" ? "GET" : "POST", "/api/v1/join/" + token, ""};
    }
    if (id == "calling.next" || id == "calling.connect" || id == "calling.outcome") {
      phonebank::Campaign c = NewCampaign(true);
      JoinAndLease(c, actor, id != "calling.next");
      const std::string path = "/api/v1/campaigns/" + c.id.ToString();
      if (id == "calling.next") return {"POST", path + "/next", ""};
      if (id == "calling.connect") return {"POST", path + "/connect", ""};
      return {"POST", path + "/outcome", R"({"outcome": "no_answer"})"};
    }
    if (id == "calling.hangup") {
      phonebank::Campaign c = NewCampaign(true);
      JoinAndLease(c, actor, true);
      // The lease's call, connected through the sandbox a moment ago.
      std::int64_t call = 0;
      EXPECT_TRUE(env_.env_.store_
                      ->Write([&](store::Tx& tx) -> Status {
                        SB_ASSIGN_OR_RETURN(
                            call, tx.QueryInt("SELECT COALESCE(MAX(id), 0) FROM calls WHERE "
                                              "campaign_id = $1",
                                              {c.id.value()}));
                        return tx
                            .Exec(
                                "UPDATE calls SET connector = 'sandbox', state = "
                                "'calling_you', connected_at = $2 WHERE id = $1",
                                {call, env_.clock_.Now()})
                            .status();
                      })
                      .ok());
      return {"POST",
              "/api/v1/campaigns/" + c.id.ToString() + "/calls/" + std::to_string(call) + "/hangup",
              ""};
    }
    if (id == "calls.get") {
      phonebank::Campaign c = NewCampaign(true);
      std::int64_t call = 0;
      EXPECT_TRUE(
          env_.env_.store_
              ->Write([&](store::Tx& tx) -> Status {
                return tx.Query(
                    "INSERT INTO calls (campaign_id, member_id, caller_id, connector, "
                    "state, started_at, connected_at) VALUES ($1, $2, $3, 'sandbox', "
                    "'calling_you', $4, $4) RETURNING id",
                    {c.id.value(), callable_.value(), actor.valid() ? actor.value() : 1, now},
                    [&](const store::Row& r) {
                      call = r.Int(0);
                      return false;
                    });
              })
              .ok());
      return {"GET", "/api/v1/calls/" + std::to_string(call), ""};
    }
    if (id == "messages.list") return {"GET", "/api/v1/messages", ""};
    if (id == "messages.create") {
      return {"POST", "/api/v1/messages",
              R"({"scope": "E14000530", "kind": "campaign", "subject": "News",
                  "text_body": "Dear {{first_name}}"})"};
    }
    if (id == "messages.count") {
      return {"POST", "/api/v1/messages/audience-count",
              R"({"scope": "E14000530", "kind": "campaign"})"};
    }
    if (id == "messages.get" || id == "messages.report") {
      const std::string path = "/api/v1/messages/" + NewMessage(other_granter_).ToString();
      return {"GET", id == "messages.get" ? path : path + "/report", ""};
    }
    if (id == "messages.update") {
      const AccountId author = actor.valid() ? actor : other_granter_;
      return {"PATCH", "/api/v1/messages/" + NewMessage(author).ToString(),
              R"({"subject": "Renamed"})"};
    }
    if (id == "messages.preview" || id == "messages.approve" || id == "messages.send" ||
        id == "messages.cancel") {
      const std::string verb = id.substr(std::string("messages.").size());
      return {"POST", "/api/v1/messages/" + NewMessage(other_granter_).ToString() + "/" + verb,
              R"({"version": 1})"};
    }
    if (id == "me.approvals") return {"GET", "/api/v1/me/approvals", ""};
    if (id == "messages.speakers") {
      return {"GET", "/api/v1/messages/speakers?unit=E14000530&q=ma", ""};
    }
    if (id == "organisation.get") return {"GET", "/api/v1/organisation", ""};
    if (id == "me.approve") {
      const AccountId named = actor.valid() ? actor : other_granter_;
      return {"POST", "/api/v1/me/approvals/" + NewMessage(other_granter_, named).ToString(),
              R"({"version": 1})"};
    }
    if (id == "me.stats") return {"GET", "/api/v1/me/stats", ""};
    if (id == "me.endpoint") {
      return {"POST", "/api/v1/me/endpoint", R"({"phone": "07700 900123"})"};
    }
    if (id == "me.endpoint_get") return {"GET", "/api/v1/me/endpoint", ""};
    if (id == "me.endpoint_verify") {
      std::string code = "000000";
      if (actor.valid()) {
        EXPECT_TRUE(env_.env_.store_
                        ->Write([&](store::Tx& tx) -> Status {
                          SB_ASSIGN_OR_RETURN(
                              auto v, phonebank::RegisterEndpoint(tx, *env_.env_.sealer_, actor,
                                                                  "+447700900778", now));
                          code = v.code;
                          return Status::Ok();
                        })
                        .ok());
      }
      return {"POST", "/api/v1/me/endpoint/verify", R"({"code": ")" + code + R"("})"};
    }
    if (id.rfind("contests.", 0) == 0) return ContestProbe(id, actor);
    if (id.rfind("exports.", 0) == 0 || id == "leaks.trace") return ExportProbe(id, actor);
    ADD_FAILURE() << "no probe for route " << id;
    return {};
  }

  // Contests: each probe gets a contest of its own, announced a day before
  // the matrix starts, with the actor (or, without one, the matrix granter)
  // on its procedures committee so the session routes serve it.
  Request ContestProbe(const std::string& id, AccountId actor) {
    std::string login = "matrix.granter";
    if (actor.valid()) {
      (void)env_.env_.store_->Read([&](store::Tx& tx) -> Status {
        if (auto a = access::GetAccount(tx, actor)) login = a->login;
        return Status::Ok();
      });
    }
    const std::string slug = "matrix-" + std::to_string(++n_);
    const Micros announced = base_ - kMicrosPerDay;
    // The actor is the returning officer where it proposes a change.
    const std::string ro = id == "contests.amend" ? login : "matrix.granter";
    const std::string toml = env_.ContestToml(slug, announced, ro, login);
    if (id == "contests.list") return {"GET", "/api/v1/contests", ""};
    if (id == "contests.check" || id == "contests.load") {
      return {"POST", id == "contests.check" ? "/api/v1/contests/check" : "/api/v1/contests",
              nlohmann::json{{"rulebook", toml}}.dump()};
    }
    contest::ContestRules rules(env_.env_.tree_);
    contest::ContestOperations ops(env_.policy_, env_.env_.tree_, rules);
    std::int64_t contest = 0;
    EXPECT_TRUE(env_.env_.store_
                    ->Write([&](store::Tx& tx) -> Status {
                      access::Acting op;
                      op.now = announced - kMicrosPerDay;
                      SB_ASSIGN_OR_RETURN(auto s, ops.Load(tx, op, toml, "matrix.toml"));
                      contest = s.id;
                      if (id != "contests.approve_amendment") return Status::Ok();
                      // Proposed by the returning officer once announced:
                      // waits for a second person.
                      access::Acting ro;
                      ro.account = other_granter_;
                      ro.now = announced;
                      return ops
                          .Amend(tx, ro, slug,
                                 env_.ContestToml(slug, announced, "matrix.granter", login, 2),
                                 "matrix.toml")
                          .status();
                    })
                    .ok());
    const std::string path = "/api/v1/contests/" + std::to_string(contest);
    if (id == "contests.get") return {"GET", path, ""};
    if (id == "contests.rulebook") return {"GET", path + "/rulebook", ""};
    if (id == "contests.standing") return {"GET", path + "/standing", ""};
    if (id == "contests.ledger") return {"GET", path + "/ledger", ""};
    if (id == "contests.amend") {
      // The contest is running: the returning officer's amendment is
      // proposed, to wait for a second approver.
      return {"POST", path + "/rulebook",
              nlohmann::json{{"rulebook", env_.ContestToml(slug, announced, ro, login, 2)}}.dump()};
    }
    if (id == "contests.approve_amendment")
      return {"POST", path + "/rulebook/approve", R"({"version": 2})"};
    // A nomination by Aldershot's constituency party, at a meeting on the
    // matrix's first day.
    return {"POST", path + "/nominations",
            nlohmann::json{{"body", "clps"},
                           {"nominator", "E14000530"},
                           {"candidate", "alpha"},
                           {"decided_by", "all-member meeting"},
                           {"meeting_on", FormatTimestamp(base_).substr(0, 10)},
                           {"votes_for", 30},
                           {"votes_against", 4}}
                .dump()};
  }

  // Exports: a request over Aldershot with a fresh code (the sign-in used
  // the current one); approving, refusing or downloading one asked for by
  // another account (downloading: by the actor, and approved).
  Request ExportProbe(const std::string& id, AccountId actor) {
    const Micros now = env_.clock_.Now();
    auto code = [&] {
      auto it = env_.totp_.find(actor.value());
      if (it == env_.totp_.end()) return std::string("000000");
      return *access::GenerateTotp(it->second, now + 30 * kMicrosPerSecond);
    };
    if (id == "exports.list") return {"GET", "/api/v1/exports?unit=E14000530", ""};
    if (id == "leaks.trace") {
      return {"POST", "/api/v1/leaks/trace", R"({"file": "first_name,email\nAda,1@example.org"})"};
    }
    const std::string key = crypto::ToHex(privacy::GenerateExportKey().public_key);
    if (id == "exports.request") {
      return {
          "POST", "/api/v1/exports",
          nlohmann::json{
              {"scope", "E14000530"}, {"purpose", "matrix"}, {"public_key", key}, {"totp", code()}}
              .dump()};
    }
    // The requester: the actor for a download, when it exists.
    AccountId requester = other_granter_;
    if (id == "exports.download" && actor.valid() && env_.totp_.count(actor.value())) {
      requester = actor;
    }
    privacy::ExportId export_id;
    EXPECT_TRUE(env_.env_.store_
                    ->Write([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(export_id,
                                          privacy::testing::InsertExportForTesting(
                                              tx, requester, aldershot_,
                                              id == "exports.download" ? "approved" : "pending",
                                              *crypto::FromHex(key), now));
                      return Status::Ok();
                    })
                    .ok());
    const std::string path = "/api/v1/exports/" + export_id.ToString();
    if (id == "exports.approve") {
      return {"POST", path + "/approve", nlohmann::json{{"totp", code()}}.dump()};
    }
    if (id == "exports.cancel") return {"POST", path + "/cancel", R"({"reason": "matrix"})"};
    return {"POST", path + "/download", ""};
  }

  HttpResponse Send(const Request& r, const TestSession* s) {
    return env_.Send(r.method, r.target, r.body, s);
  }

  testing::ApiEnv env_;
  Micros base_ = 0;
  UnitId aldershot_, south_east_, west_midlands_;
  MemberId member_, canary_, callable_;
  access::GrantId actor_grant_;

  // A campaign in Aldershot running through the whole matrix window.
  // A draft to Aldershot's e-mail-consenting members, by `author`; when
  // `named` is set, it speaks in that person's name.
  messaging::MessageId NewMessage(AccountId author, AccountId named = AccountId()) {
    messaging::Message m;
    m.author = author;
    m.scope = aldershot_;
    m.audience.scope = aldershot_;
    m.kind = messaging::Kind::kCampaign;
    if (named.valid()) {
      m.from.kind = messaging::FromKind::kPerson;
      m.from.account = named;
      m.from.name = "Named Person";
    } else {
      m.from.kind = messaging::FromKind::kUnit;
      m.from.unit = aldershot_;
    }
    m.subject = "Branch news";
    m.text_body = "Dear {{first_name}}, the AGM is on Monday.";
    messaging::MessageId id;
    EXPECT_TRUE(env_.env_.store_
                    ->Write([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(
                          id, messaging::CreateDraft(tx, env_.env_.tree_, m, env_.clock_.Now()));
                      return Status::Ok();
                    })
                    .ok());
    return id;
  }

  phonebank::Campaign NewCampaign(bool live) {
    phonebank::Campaign c;
    c.name = "matrix campaign";
    c.owner = other_granter_;
    c.scope = aldershot_;
    c.purpose = "matrix";
    c.starts_at = base_;
    c.ends_at = base_ + 30 * kMicrosPerDay;
    EXPECT_TRUE(env_.env_.store_
                    ->Write([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(c.id,
                                          phonebank::InsertCampaign(tx, env_.env_.tree_, c, base_));
                      if (!live) return Status::Ok();
                      return phonebank::SetState(tx, env_.env_.tree_, c,
                                                 phonebank::CampaignState::kLive, base_)
                          .status();
                    })
                    .ok());
    c.state = live ? phonebank::CampaignState::kLive : phonebank::CampaignState::kDraft;
    return c;
  }
  // A sign-up link for nobody in particular, as if mailed.
  std::string NewAccountLink() {
    const access::IssuedToken t = access::IssueToken();
    const Micros now = env_.clock_.Now();
    EXPECT_TRUE(env_.env_.store_
                    ->Write([&](store::Tx& tx) {
                      return tx
                          .Exec(
                              "INSERT INTO account_links (token_hash, purpose, created_at, "
                              "expires_at) VALUES ($1, 'signup', $2, $3)",
                              {t.hash, now, now + 600 * kMicrosPerSecond})
                          .status();
                    })
                    .ok());
    return t.secret;
  }
  std::string NewInviteToken(const phonebank::Campaign& c) {
    std::string token;
    EXPECT_TRUE(env_.env_.store_
                    ->Write([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(
                          auto inv, phonebank::CreateInvite(tx, c, other_granter_, "matrix", 0, 100,
                                                            env_.clock_.Now()));
                      token = inv.token;
                      return Status::Ok();
                    })
                    .ok());
    return token;
  }
  // The actor joined `c` with its matrix grant, verified its phone and (when
  // `lease`) holds a lease.
  void JoinAndLease(const phonebank::Campaign& c, AccountId actor, bool lease) {
    if (!actor_grant_.valid()) return;  // no actor: the request is refused before any of it
    EXPECT_TRUE(
        env_.env_.store_
            ->Write([&](store::Tx& tx) -> Status {
              const Micros now = env_.clock_.Now();
              SB_RETURN_IF_ERROR(tx.Exec("INSERT INTO campaign_callers (campaign_id, account_id, "
                                         "grant_id, joined_at) VALUES ($1, $2, $3, $4)",
                                         {c.id.value(), actor.value(), actor_grant_.value(), now})
                                     .status());
              SB_ASSIGN_OR_RETURN(auto v, phonebank::RegisterEndpoint(tx, *env_.env_.sealer_, actor,
                                                                      "+447700900777", now));
              SB_RETURN_IF_ERROR(phonebank::VerifyEndpoint(tx, actor, v.code, now));
              if (!lease) return Status::Ok();
              SB_ASSIGN_OR_RETURN(auto n, phonebank::Next(tx, c, actor, now));
              return n.lease ? Status::Ok() : Status::Internal("no lease");
            })
            .ok());
  }
  AccountId other_granter_;
  int n_ = 0;
};

TEST_P(ApiMatrixTest, EveryRouteEveryRoleScopeAndTime) {
  int cases = 0, allowed = 0;
  for (const ApiRoute& route : kApiRoutes) {
    if (route.auth != RouteAuth::kCapability) continue;
    for (const auto& [role_name, role] : env_.policy_.roles) {
      for (bool in_scope : {true, false}) {
        for (When when : {When::kBefore, When::kInside, When::kAfter}) {
          env_.clock_.Set(base_);
          const std::string login = "m." + std::to_string(++n_);
          AccountId actor = env_.AddAccount(login);
          env_.EnrolTotp(actor);
          actor_grant_ = env_.Grant(actor, role_name, in_scope ? InScope(route) : OutOfScope(route),
                                    GrantStart(), GrantEnd());
          env_.clock_.Set(At(when));
          TestSession s = env_.Login(login, actor);
          const Request req = Probe(route, actor, role_name);
          HttpResponse r = Send(req, &s);
          const bool holds = role.capabilities.contains(route.capability) ||
                             (!route.also.empty() && role.capabilities.contains(route.also));
          const bool expect = holds && in_scope && when == When::kInside;
          const std::string where = std::string(route.id) + " as " + role_name + ", " +
                                    (in_scope ? "in scope" : "out of scope") + ", " +
                                    WhenName(when) + " the grant: " + std::to_string(r.status) +
                                    " " + r.body;
          if (expect) {
            EXPECT_GE(r.status, 200) << where;
            EXPECT_LT(r.status, 300) << where;
            ++allowed;
          } else {
            EXPECT_EQ(r.status, 403) << where;
            EXPECT_EQ(Body(r)["error"]["code"], "denied") << where;
          }
          ++cases;
        }
      }
    }
  }
  // Every capability route was allowed for at least the owner, and the
  // matrix is as large as the table says.
  EXPECT_GT(allowed, 0);
  int capability_routes = 0;
  for (const ApiRoute& r : kApiRoutes) capability_routes += r.auth == RouteAuth::kCapability;
  EXPECT_EQ(cases, capability_routes * static_cast<int>(env_.policy_.roles.size()) * 2 * 3);
}

TEST_P(ApiMatrixTest, EveryNonPublicRouteNeedsASession) {
  for (const ApiRoute& route : kApiRoutes) {
    if (route.auth == RouteAuth::kPublic) continue;
    const Request req = Probe(route, AccountId(1), "owner");
    HttpResponse r = Send(req, nullptr);
    EXPECT_EQ(r.status, 401) << route.id << ": " << r.body;
    EXPECT_EQ(Body(r)["error"]["code"], "session_required") << route.id;
  }
}

TEST_P(ApiMatrixTest, SessionRoutesServeAnySignedInAccountAtAnyTime) {
  for (const ApiRoute& route : kApiRoutes) {
    if (route.auth != RouteAuth::kSession) continue;
    for (When when : {When::kBefore, When::kInside, When::kAfter}) {
      env_.clock_.Set(At(when));
      const std::string login = "s." + std::to_string(++n_);
      AccountId actor = env_.AddAccount(login);
      TestSession s = env_.Login(login, actor);
      HttpResponse r = Send(Probe(route, actor, ""), &s);
      EXPECT_GE(r.status, 200) << route.id << " " << WhenName(when) << ": " << r.body;
      EXPECT_LT(r.status, 300) << route.id << " " << WhenName(when) << ": " << r.body;
    }
  }
}

TEST_P(ApiMatrixTest, PublicRoutesNeedNoSession) {
  for (const ApiRoute& route : kApiRoutes) {
    if (route.auth != RouteAuth::kPublic) continue;
    HttpResponse r = Send(Probe(route, AccountId(), ""), nullptr);
    EXPECT_LT(r.status, 300) << route.id << ": " << r.body;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiMatrixTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::server
