#include "server/api.h"

#include <gtest/gtest.h>

#include <set>

#include "server/api_testing.h"
#include "server/routes.h"

namespace switchboard::server {
namespace {

using testing::Body;
using testing::TestSession;

class ApiTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    aldershot_ = env_.Unit("E14000530");
    aldridge_ = env_.Unit("E14000531");
    officer_ = env_.AddAccount("officer.one");
    const Micros now = env_.clock_.Now();
    env_.Grant(officer_, "officer", aldershot_, now - kMicrosPerDay, now + 30 * kMicrosPerDay);
    member_ = env_.AddMember("101", aldershot_, "Ada", "Lovelace");
    other_ = env_.AddMember("102", aldridge_, "Alan", "Turing");
  }

  testing::ApiEnv env_;
  UnitId aldershot_, aldridge_;
  AccountId officer_;
  MemberId member_, other_;
};

std::string Cookie(const HttpResponse& r) {
  for (const auto& [k, v] : r.headers) {
    if (k == "Set-Cookie") return v;
  }
  return "";
}

TEST_P(ApiTest, EveryRouteInTheTableIsRegisteredAndNothingElse) {
  std::set<std::pair<std::string, std::string>> registered;
  for (const auto& r : env_.http_->Routes()) registered.insert(r);
  std::set<std::pair<std::string, std::string>> table;
  for (const ApiRoute& r : kApiRoutes) table.emplace(r.method, r.path);
  EXPECT_EQ(registered, table);
}

TEST_P(ApiTest, BrowserSignInSetsAStrictHttpOnlyCookieAndACsrfToken) {
  HttpResponse r = env_.Send("POST", "/api/v1/session",
                             R"({"login": "officer.one", "password": "correct horse battery"})");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string cookie = Cookie(r);
  EXPECT_EQ(cookie.rfind("sb_session=", 0), 0u);
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_NE(cookie.find("Secure"), std::string::npos);
  const auto j = Body(r);
  EXPECT_TRUE(j["csrf_token"].is_string());
  EXPECT_FALSE(j.contains("token"));
  EXPECT_EQ(r.body.find("correct horse"), std::string::npos);
}

TEST_P(ApiTest, WrongPasswordsAreRefusedThenThrottled) {
  for (int i = 0; i < env_.policy_.login_max_failures_per_account; ++i) {
    HttpResponse r = env_.Send("POST", "/api/v1/session",
                               R"({"login": "officer.one", "password": "nope nope nope"})");
    ASSERT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(Body(r)["error"]["code"], "invalid_credentials");
  }
  HttpResponse locked =
      env_.Send("POST", "/api/v1/session",
                R"({"login": "officer.one", "password": "correct horse battery"})");
  EXPECT_EQ(locked.status, 429);
  EXPECT_EQ(Body(locked)["error"]["code"], "too_many_attempts");
  bool retry_after = false;
  for (const auto& [k, v] : locked.headers) retry_after |= k == "Retry-After" && std::stoi(v) > 0;
  EXPECT_TRUE(retry_after);
}

TEST_P(ApiTest, CookieRequestsThatChangeStateNeedTheCsrfToken) {
  TestSession s = env_.Login("officer.one");
  TestSession forged = s;
  forged.csrf = "";
  HttpResponse no_token = env_.Send("DELETE", "/api/v1/session", "", &forged);
  EXPECT_EQ(no_token.status, 403);
  EXPECT_EQ(Body(no_token)["error"]["code"], "csrf_failed");
  forged.csrf = s.token;  // the session token is not the CSRF token
  EXPECT_EQ(env_.Send("DELETE", "/api/v1/session", "", &forged).status, 403);
  HttpResponse cross_site =
      env_.Send("DELETE", "/api/v1/session", "", &s, {{"origin", "https://evil.example.com"}});
  EXPECT_EQ(cross_site.status, 403);
  // Reads need no token; the session still works after the refusals.
  EXPECT_EQ(env_.Send("GET", "/api/v1/session", "", &forged).status, 200);
  HttpResponse ok = env_.Send("DELETE", "/api/v1/session", "", &s);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(env_.Send("GET", "/api/v1/session", "", &s).status, 401);
}

TEST_P(ApiTest, BearerTokensNeedNoCsrfAndOnlyWorkAsBearer) {
  TestSession b = env_.Login("officer.one", officer_, /*bearer=*/true);
  ASSERT_FALSE(b.token.empty());
  HttpResponse info = env_.Send("GET", "/api/v1/session", "", &b);
  ASSERT_EQ(info.status, 200) << info.body;
  EXPECT_EQ(Body(info)["session"]["kind"], "bearer");
  TestSession as_cookie = b;
  as_cookie.bearer = false;
  HttpResponse wrong = env_.Send("GET", "/api/v1/session", "", &as_cookie);
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(Body(wrong)["error"]["code"], "wrong_transport");
  EXPECT_EQ(env_.Send("POST", "/api/v1/session/sign-out-everywhere", "", &b).status, 200);
  EXPECT_EQ(env_.Send("GET", "/api/v1/session", "", &b).status, 401);
}

TEST_P(ApiTest, SessionsExpireByTheClockAndSignInReplacesAnOldCookie) {
  TestSession s = env_.Login("officer.one");
  env_.clock_.Advance((env_.policy_.session_idle_minutes_other + 1) * 60 * kMicrosPerSecond);
  HttpResponse idle = env_.Send("GET", "/api/v1/session", "", &s);
  EXPECT_EQ(idle.status, 401);
  EXPECT_EQ(Body(idle)["error"]["code"], "session_expired");

  // Fixation: a cookie the browser holds when signing in is ended, never promoted.
  TestSession first = env_.Login("officer.one");
  HttpResponse again = env_.Send("POST", "/api/v1/session",
                                 R"({"login": "officer.one", "password": "correct horse battery"})",
                                 nullptr, {{"cookie", "sb_session=" + first.token}});
  ASSERT_EQ(again.status, 201);
  EXPECT_EQ(Cookie(again).find(first.token), std::string::npos);
  EXPECT_EQ(env_.Send("GET", "/api/v1/session", "", &first).status, 401);
}

TEST_P(ApiTest, MemberViewReturnsTheRolesClassesAndIsAudited) {
  TestSession s = env_.Login("officer.one");
  HttpResponse r = env_.Send("GET", "/api/v1/members/" + member_.ToString(), "", &s);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto j = Body(r);
  EXPECT_EQ(j["last_name"], "Lovelace");
  EXPECT_EQ(j["location"]["unit"]["code"], "E14000530");
  EXPECT_FALSE(j.contains("contacts"));
  EXPECT_EQ(r.body.find("@example.org"), std::string::npos);
  EXPECT_EQ(r.body.find("7700"), std::string::npos);
  auto events = env_.Events("member.view");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].decision, "allow");
  EXPECT_EQ(events[0].members, std::vector<std::int64_t>{member_.value()});
  EXPECT_EQ(events[0].actor, officer_.value());
  EXPECT_EQ(events[0].field_classes,
            (std::vector<std::string>{"first_name", "location", "membership", "name"}));

  // Contact details need member.contact.view, which officers do not hold.
  HttpResponse contact =
      env_.Send("GET", "/api/v1/members/" + member_.ToString() + "/contact", "", &s);
  EXPECT_EQ(contact.status, 403);
  EXPECT_EQ(contact.body.find("@example.org"), std::string::npos);
}

TEST_P(ApiTest, OutOfScopeReadsAreDeniedWithTheRuleAndRecorded) {
  TestSession s = env_.Login("officer.one");
  HttpResponse r = env_.Send("GET", "/api/v1/members/" + other_.ToString(), "", &s);
  ASSERT_EQ(r.status, 403) << r.body;
  const auto j = Body(r);
  EXPECT_EQ(j["error"]["code"], "denied");
  EXPECT_TRUE(j["error"]["rule"].is_string());
  EXPECT_EQ(r.body.find("Turing"), std::string::npos);
  auto events = env_.Events("member.view");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].decision, "deny");
  EXPECT_EQ(events[0].members, std::vector<std::int64_t>{other_.value()});

  // Not found only for someone who could see such a member at all.
  EXPECT_EQ(env_.Send("GET", "/api/v1/members/99999", "", &s).status, 404);
  AccountId caller = env_.AddAccount("caller.one");
  env_.Grant(caller, "caller", aldershot_, env_.clock_.Now() - 1,
             env_.clock_.Now() + kMicrosPerDay);
  TestSession c = env_.Login("caller.one");
  EXPECT_EQ(env_.Send("GET", "/api/v1/members/99999", "", &c).status, 403);
}

TEST_P(ApiTest, SearchIsPagedWithinScope) {
  for (int i = 0; i < 4; ++i) {
    env_.AddMember("2" + std::to_string(i), aldershot_, "Mary", "Somerville");
  }
  TestSession s = env_.Login("officer.one");
  HttpResponse r = env_.Send("GET", "/api/v1/members?unit=E14000530&q=somer&page_size=3", "", &s);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = Body(r);
  EXPECT_EQ(j["members"].size(), 3u);
  EXPECT_TRUE(j["more"].get<bool>());
  HttpResponse too_big = env_.Send("GET", "/api/v1/members?unit=E14000530&page_size=51", "", &s);
  EXPECT_EQ(too_big.status, 400);
  HttpResponse outside = env_.Send("GET", "/api/v1/members?unit=E14000531", "", &s);
  EXPECT_EQ(outside.status, 403);
  HttpResponse no_unit = env_.Send("GET", "/api/v1/members", "", &s);
  EXPECT_EQ(no_unit.status, 400);
  EXPECT_NE(Body(no_unit)["error"]["message"].get<std::string>().find("unit"), std::string::npos);
}

TEST_P(ApiTest, BadBodiesGetClearErrorsAndChangeNothing) {
  TestSession s = env_.Login("officer.one");
  HttpResponse form = env_.Send("POST", "/api/v1/session", "login=a&password=b", nullptr,
                                {{"content-type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(form.status, 415);
  HttpResponse broken = env_.Send("POST", "/api/v1/session", "{\"login\": ");
  EXPECT_EQ(broken.status, 400);
  EXPECT_EQ(Body(broken)["error"]["code"], "invalid_json");
  HttpResponse wrong_type =
      env_.Send("POST", "/api/v1/session", R"({"login": 5, "password": "x"})");
  EXPECT_EQ(wrong_type.status, 400);
  EXPECT_NE(Body(wrong_type)["error"]["message"].get<std::string>().find("login"),
            std::string::npos);
  HttpResponse not_object = env_.Send("POST", "/api/v1/session", "[1,2]");
  EXPECT_EQ(not_object.status, 400);
  HttpResponse bad_id = env_.Send("GET", "/api/v1/members/12abc", "", &s);
  EXPECT_EQ(bad_id.status, 400);
  EXPECT_EQ(env_.env_.Count("SELECT COUNT(*) FROM sessions"), 1);
}

TEST_P(ApiTest, PrivilegedRolesNeedASecondFactor) {
  AccountId admin = env_.AddAccount("admin.one");
  env_.Grant(admin, "membership_admin", aldershot_, env_.clock_.Now() - 1,
             env_.clock_.Now() + kMicrosPerDay);
  TestSession no_2fa = env_.Login("admin.one");
  HttpResponse refused =
      env_.Send("GET", "/api/v1/members/" + member_.ToString() + "/contact", "", &no_2fa);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(refused.body.find("@example.org"), std::string::npos);

  env_.EnrolTotp(admin);
  TestSession with_2fa = env_.Login("admin.one", admin);
  HttpResponse ok =
      env_.Send("GET", "/api/v1/members/" + member_.ToString() + "/contact", "", &with_2fa);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(Body(ok)["contacts"].size(), 2u);
  auto events = env_.Events("member.contact.view");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].decision, "deny");
  EXPECT_EQ(events[1].decision, "allow");
  EXPECT_EQ(events[1].field_classes, std::vector<std::string>{"contact"});
  // The audit record holds ids, never the values shown.
  EXPECT_EQ(audit::Encode(events[1]).find("@"), std::string::npos);
}

TEST_P(ApiTest, AGrantThatEndedYesterdayAllowsNothingToday) {
  AccountId past = env_.AddAccount("officer.past");
  const Micros now = env_.clock_.Now();
  env_.Grant(past, "officer", aldershot_, now - 10 * kMicrosPerDay, now - kMicrosPerDay);
  TestSession s = env_.Login("officer.past");
  HttpResponse r = env_.Send("GET", "/api/v1/members/" + member_.ToString(), "", &s);
  EXPECT_EQ(r.status, 403);
  // And the officer's own grant ends by the clock alone, with no job running.
  TestSession o = env_.Login("officer.one");
  EXPECT_EQ(env_.Send("GET", "/api/v1/members/" + member_.ToString(), "", &o).status, 200);
  env_.clock_.Advance(31 * kMicrosPerDay);
  TestSession later = env_.Login("officer.one");
  EXPECT_EQ(env_.Send("GET", "/api/v1/members/" + member_.ToString(), "", &later).status, 403);
}

TEST_P(ApiTest, ADpoReinstatesASuspendedAccountOnTheRecord) {
  AccountId dpo = env_.AddAccount("dpo.one");
  env_.Grant(dpo, "dpo", env_.Root(), env_.clock_.Now() - 1, env_.clock_.Now() + kMicrosPerDay);
  env_.EnrolTotp(dpo);
  TestSession d = env_.Login("dpo.one", dpo);
  TestSession o = env_.Login("officer.one");
  HttpResponse suspend = env_.Send("POST", "/api/v1/accounts/" + officer_.ToString() + "/suspend",
                                   R"({"reason": "investigating unusual access"})", &d);
  ASSERT_EQ(suspend.status, 200) << suspend.body;
  EXPECT_EQ(env_.Send("GET", "/api/v1/session", "", &o).status, 401);
  HttpResponse no_reason =
      env_.Send("POST", "/api/v1/accounts/" + officer_.ToString() + "/reinstate", "{}", &d);
  EXPECT_EQ(no_reason.status, 400);
  HttpResponse back = env_.Send("POST", "/api/v1/accounts/" + officer_.ToString() + "/reinstate",
                                R"({"reason": "explained by the officer"})", &d);
  ASSERT_EQ(back.status, 200) << back.body;
  auto events = env_.Events("account.active");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].actor, dpo.value());
  EXPECT_EQ(events[0].on_behalf_of, officer_.value());
  EXPECT_EQ(env_.Login("officer.one").token.empty(), false);
}

TEST_P(ApiTest, QuotasRefuseWithTheResetTimeAndSurviveNothingButTime) {
  env_.policy_.roles["officer"].quotas["member.view"] = access::Quota{2, 0};
  TestSession s = env_.Login("officer.one");
  const std::string path = "/api/v1/members/" + member_.ToString();
  EXPECT_EQ(env_.Send("GET", path, "", &s).status, 200);
  EXPECT_EQ(env_.Send("GET", path, "", &s).status, 200);
  HttpResponse over = env_.Send("GET", path, "", &s);
  ASSERT_EQ(over.status, 429) << over.body;
  const auto j = Body(over);
  EXPECT_EQ(j["error"]["code"], "quota_exceeded");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("resets at"), std::string::npos);
  EXPECT_EQ(over.body.find("Lovelace"), std::string::npos);
  auto denied = env_.Events("member.view");
  ASSERT_EQ(denied.size(), 3u);
  EXPECT_EQ(denied[2].rule, "quota.exceeded");
  // Half a day refills one view (2 per day).
  env_.clock_.Advance(kMicrosPerDay / 2);
  TestSession again = env_.Login("officer.one");
  EXPECT_EQ(env_.Send("GET", path, "", &again).status, 200);
}

TEST_P(ApiTest, ProbingSuspendsAtOnceAndTheDpoSeesTheAlert) {
  env_.policy_.anomaly_probe_run = 3;
  AccountId dpo = env_.AddAccount("dpo.one");
  env_.Grant(dpo, "dpo", env_.Root(), env_.clock_.Now() - 1, env_.clock_.Now() + kMicrosPerDay);
  env_.EnrolTotp(dpo);
  TestSession s = env_.Login("officer.one");
  EXPECT_EQ(env_.Send("GET", "/api/v1/members/" + other_.ToString(), "", &s).status, 403);
  EXPECT_EQ(env_.Send("GET", "/api/v1/members/424242", "", &s).status, 404);
  HttpResponse third = env_.Send("GET", "/api/v1/members/" + other_.ToString(), "", &s);
  EXPECT_EQ(third.status, 403);
  EXPECT_EQ(Body(third)["error"]["code"], "account_suspended");
  // Its sessions ended in the same request; signing in is refused.
  EXPECT_EQ(env_.Send("GET", "/api/v1/session", "", &s).status, 401);
  HttpResponse login =
      env_.Send("POST", "/api/v1/session",
                R"({"login": "officer.one", "password": "correct horse battery"})");
  EXPECT_EQ(login.status, 403);

  TestSession d = env_.Login("dpo.one", dpo);
  HttpResponse alerts = env_.Send("GET", "/api/v1/alerts?open=true", "", &d);
  ASSERT_EQ(alerts.status, 200) << alerts.body;
  const auto list = Body(alerts)["alerts"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["rule"], "anomaly.probing");
  EXPECT_EQ(list[0]["account"], officer_.value());
  const std::string ack =
      "/api/v1/alerts/" + std::to_string(list[0]["id"].get<int>()) + "/acknowledge";
  EXPECT_EQ(env_.Send("POST", ack, "{}", &d).status, 400);  // a note is required
  EXPECT_EQ(env_.Send("POST", ack, R"({"note": "spoke to the officer"})", &d).status, 200);
  EXPECT_EQ(Body(env_.Send("GET", "/api/v1/alerts?open=true", "", &d))["alerts"].size(), 0u);
}

TEST_P(ApiTest, OpeningACanarySuspendsButSeeingOneInASearchDoesNot) {
  MemberId canary = env_.AddMember("199", aldershot_, "Some", "Lovegood");
  ASSERT_TRUE(env_.env_.store_
                  ->Write([&](store::Tx& tx) {
                    return members::PlantCanary(tx, canary, env_.clock_.Now(), "test");
                  })
                  .ok());
  TestSession s = env_.Login("officer.one");
  HttpResponse search = env_.Send("GET", "/api/v1/members?unit=E14000530&q=Love", "", &s);
  ASSERT_EQ(search.status, 200) << search.body;
  EXPECT_EQ(Body(search)["members"].size(), 2u);  // Lovelace and the canary, alike
  EXPECT_EQ(env_.Send("GET", "/api/v1/session", "", &s).status, 200);
  HttpResponse opened = env_.Send("GET", "/api/v1/members/" + canary.ToString(), "", &s);
  EXPECT_EQ(opened.status, 200);
  EXPECT_EQ(env_.Send("GET", "/api/v1/session", "", &s).status, 401);
  EXPECT_EQ(env_.Events("account.suspend").size(), 1u);
}

TEST_P(ApiTest, UnknownRoutesAndMethodsGetJsonErrors) {
  HttpRequest req = MakeRequest("GET", "/api/v1/nothing-here");
  HttpResponse r = env_.http_->Dispatch(req);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Body(r)["error"]["code"], "not_found");
  // Bytes that are not UTF-8 (found by api_fuzz) still get a JSON answer.
  HttpRequest bad = MakeRequest("GET", "/api/v1/\x92\x9a/members?unit=\xca\xca");
  HttpResponse b = env_.http_->Dispatch(bad);
  EXPECT_EQ(b.status, 404);
  EXPECT_EQ(Body(b)["error"]["code"], "not_found");
  TestSession s = env_.Login("officer.one");
  HttpResponse q = env_.Send("GET", "/api/v1/members?unit=E14000530&q=\xca\xca", "", &s);
  EXPECT_EQ(q.status, 400) << q.body;
  EXPECT_EQ(Body(q)["error"]["message"], "the name is not UTF-8 text") << q.body;
  HttpRequest put = MakeRequest("PUT", "/api/v1/session");
  HttpResponse m = env_.http_->Dispatch(put);
  EXPECT_EQ(m.status, 405);
  bool allow = false;
  for (const auto& [k, v] : m.headers) allow |= k == "Allow" && v.find("POST") != std::string::npos;
  EXPECT_TRUE(allow);
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::server
