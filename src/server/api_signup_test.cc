// Self sign-up from an invitation and password reset through the API
// (api_signup.cc): a known and an unknown address get byte-identical
// answers; links work once and expire; requests are throttled; a reset ends
// every other session; hostile input is refused plainly; a second tab gets
// its CSRF token from GET /session, and a cross-site request does not.
#include <gtest/gtest.h>

#include <regex>

#include "access/credentials/token.h"
#include "phonebank/phonebank.h"
#include "server/api_testing.h"

namespace switchboard::server {
namespace {

using testing::Body;
using testing::TestSession;

class ApiSignUpTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    if (HasFatalFailure()) return;
    aldershot_ = env_.Unit("E14000530");
    member_ = env_.AddMember("501", aldershot_, "Mary", "Seacole");
    owner_ = env_.AddAccount("camp.owner");
    invite_ = NewInvite(false);
  }

  std::string NewInvite(bool non_members) {
    phonebank::Campaign c;
    c.name = "Spring calls";
    c.owner = owner_;
    c.scope = aldershot_;
    c.purpose = "spring";
    c.starts_at = env_.clock_.Now();
    c.ends_at = env_.clock_.Now() + 30 * kMicrosPerDay;
    c.eligibility.non_members_may_sign_up = non_members;
    std::string token;
    EXPECT_TRUE(
        env_.env_.store_
            ->Write([&](store::Tx& tx) -> Status {
              SB_ASSIGN_OR_RETURN(
                  c.id, phonebank::InsertCampaign(tx, env_.env_.tree_, c, env_.clock_.Now()));
              SB_RETURN_IF_ERROR(phonebank::SetState(tx, env_.env_.tree_, c,
                                                     phonebank::CampaignState::kLive,
                                                     env_.clock_.Now())
                                     .status());
              SB_ASSIGN_OR_RETURN(
                  auto inv, phonebank::CreateInvite(tx, c, owner_, "t", 0, 100, env_.clock_.Now()));
              token = inv.token;
              return Status::Ok();
            })
            .ok());
    return token;
  }

  HttpResponse Ask(const std::string& who, const std::string& remote = "192.0.2.10") {
    return SendFrom("POST", "/api/v1/join/" + invite_ + "/sign-up",
                    nlohmann::json{{"who", who}}.dump(), remote);
  }

  HttpResponse SendFrom(const std::string& method, const std::string& target,
                        const std::string& body, const std::string& remote,
                        std::map<std::string, std::string> headers = {}) {
    headers["content-type"] = "application/json";
    headers["host"] = "127.0.0.1:8080";
    HttpRequest req = MakeRequest(method, target, body, headers);
    req.remote = remote;
    return env_.http_->Dispatch(req);
  }

  // The tokens of the links mailed so far, oldest first.
  std::vector<std::string> Links() {
    std::vector<std::string> out;
    EXPECT_TRUE(
        env_.env_.store_
            ->Read([&](store::Tx& tx) {
              return tx.Query(
                  "SELECT key_id, sealed FROM account_mail ORDER BY id", {},
                  [&](const store::Row& r) {
                    auto m = env_.env_.sealer_->Open(
                        {static_cast<std::uint32_t>(r.Int(0)), std::string(r.Bytes(1))},
                        "account-mail");
                    std::smatch sm;
                    const std::string text = m ? *m : "";
                    if (std::regex_search(text, sm,
                                          std::regex("#/(welcome|reset)/([A-Za-z0-9_-]{43})"))) {
                      out.push_back(sm[2]);
                    }
                    return true;
                  });
            })
            .ok());
    return out;
  }

  HttpResponse Complete(const std::string& token, const std::string& login,
                        const std::string& password = "a long enough passphrase") {
    return SendFrom("POST", "/api/v1/account-link",
                    nlohmann::json{{"token", token},
                                   {"login", login},
                                   {"display_name", "New Person"},
                                   {"password", password}}
                        .dump(),
                    "192.0.2.10");
  }

  // The headers but the request's own id.
  static std::vector<std::pair<std::string, std::string>> Headers(const HttpResponse& r) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [k, v] : r.headers) {
      if (k != "X-Request-Id") out.emplace_back(k, v);
    }
    return out;
  }

  static TestSession SessionOf(const HttpResponse& r) {
    TestSession s;
    s.csrf = Body(r)["csrf_token"];
    for (const auto& [k, v] : r.headers) {
      if (k == "Set-Cookie") s.token = v.substr(v.find('=') + 1, v.find(';') - v.find('=') - 1);
    }
    return s;
  }

  testing::ApiEnv env_;
  UnitId aldershot_;
  MemberId member_;
  AccountId owner_;
  std::string invite_;
};

TEST_P(ApiSignUpTest, KnownAndUnknownGetByteIdenticalAnswers) {
  const HttpResponse known = Ask("501@example.org");
  const HttpResponse unknown = Ask("502@example.org");
  const HttpResponse by_number = Ask("501");
  const HttpResponse no_number = Ask("999");
  EXPECT_EQ(known.status, 202) << known.body;
  for (const HttpResponse* r : {&unknown, &by_number, &no_number}) {
    EXPECT_EQ(r->status, known.status);
    EXPECT_EQ(r->body, known.body);
    EXPECT_EQ(Headers(*r), Headers(known));
  }
  EXPECT_EQ(Links().size(), 2u);  // the two that name the member
  // Reset: the same.
  const HttpResponse r1 =
      SendFrom("POST", "/api/v1/password-reset", R"({"who": "camp.owner"})", "192.0.2.10");
  const HttpResponse r2 =
      SendFrom("POST", "/api/v1/password-reset", R"({"who": "no.such.login"})", "192.0.2.10");
  EXPECT_EQ(r1.status, 202);
  EXPECT_EQ(r1.status, r2.status);
  EXPECT_EQ(r1.body, r2.body);
  EXPECT_EQ(Headers(r1), Headers(r2));
}

TEST_P(ApiSignUpTest, ALinkMakesAnAccountBoundToTheMemberOnceAndJoins) {
  ASSERT_EQ(Ask("501").status, 202);
  const std::string token = Links().at(0);
  HttpResponse check = SendFrom("POST", "/api/v1/account-link/check",
                                R"({"token": ")" + token + R"("})", "192.0.2.1");
  ASSERT_EQ(check.status, 200) << check.body;
  EXPECT_EQ(Body(check)["purpose"], "signup");
  EXPECT_EQ(Body(check)["member"], true);
  EXPECT_EQ(Complete(token, "new.person", "short").status, 400);  // the password policy
  HttpResponse done = Complete(token, "new.person");
  ASSERT_EQ(done.status, 201) << done.body;
  TestSession s = SessionOf(done);
  ASSERT_FALSE(s.token.empty());
  HttpResponse me = env_.Send("GET", "/api/v1/session", "", &s);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(Body(me)["account"]["login"], "new.person");
  // Joins through the invitation, on the existing path.
  HttpResponse join = env_.Send("POST", "/api/v1/join/" + invite_, "", &s);
  EXPECT_EQ(join.status, 201) << join.body;
  // Single use.
  HttpResponse again = Complete(token, "new.person2");
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(Body(again)["error"]["code"], "link_invalid");
  // The account is bound to the member.
  EXPECT_EQ(env_.env_.Count("SELECT COUNT(*) FROM accounts WHERE login = 'new.person' AND "
                            "member_id = " +
                            member_.ToString()),
            1);
  // Asking again now sends a reset link, not a second account.
  ASSERT_EQ(Ask("501").status, 202);
  HttpResponse info = SendFrom("POST", "/api/v1/account-link/check",
                               R"({"token": ")" + Links().at(1) + R"("})", "192.0.2.1");
  EXPECT_EQ(Body(info)["purpose"], "reset");
  EXPECT_EQ(Body(info)["login"], "new.person");
}

TEST_P(ApiSignUpTest, LinksExpire) {
  ASSERT_EQ(Ask("501").status, 202);
  env_.clock_.Advance(31 * 60 * kMicrosPerSecond);
  EXPECT_EQ(Complete(Links().at(0), "late.person").status, 404);
}

TEST_P(ApiSignUpTest, RequestsAreThrottledAlikeForKnownAndUnknown) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Ask("501").status, 202);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Ask("999").status, 202);
  const HttpResponse known = Ask("501");
  const HttpResponse unknown = Ask("999");
  EXPECT_EQ(known.status, 429);
  EXPECT_EQ(unknown.status, 429);
  EXPECT_EQ(Body(known)["error"]["message"], Body(unknown)["error"]["message"]);
  // Per client address as well: 20 an hour from one network.
  int refused = 0;
  for (int i = 0; i < 25; ++i) {
    refused += Ask("x" + std::to_string(i), "198.51.100.7").status == 429;
  }
  EXPECT_EQ(refused, 5);
}

TEST_P(ApiSignUpTest, ResetEndsEveryOtherSession) {
  AccountId vic = env_.AddAccount("vic", /*staff=*/false, member_);
  TestSession one = env_.Login("vic", vic);
  TestSession two = env_.Login("vic", vic, /*bearer=*/true);
  ASSERT_EQ(
      SendFrom("POST", "/api/v1/password-reset", R"({"who": "501@example.org"})", "192.0.2.10")
          .status,
      202);
  const auto links = Links();
  ASSERT_EQ(links.size(), 1u);
  HttpResponse done =
      SendFrom("POST", "/api/v1/account-link",
               nlohmann::json{{"token", links[0]}, {"password", "a brand new passphrase"}}.dump(),
               "192.0.2.10");
  ASSERT_EQ(done.status, 201) << done.body;
  EXPECT_EQ(Body(done)["sessions_ended"], 2);
  EXPECT_EQ(env_.Send("GET", "/api/v1/session", "", &one).status, 401);
  EXPECT_EQ(env_.Send("GET", "/api/v1/session", "", &two).status, 401);
  TestSession fresh = SessionOf(done);
  EXPECT_EQ(env_.Send("GET", "/api/v1/session", "", &fresh).status, 200);
  // The old password no longer works; the new one does.
  HttpResponse old =
      env_.Send("POST", "/api/v1/session",
                nlohmann::json{{"login", "vic"}, {"password", testing::kTestPassword}}.dump());
  EXPECT_EQ(old.status, 401);
  HttpResponse now =
      env_.Send("POST", "/api/v1/session",
                nlohmann::json{{"login", "vic"}, {"password", "a brand new passphrase"}}.dump());
  EXPECT_EQ(now.status, 201) << now.body;
}

TEST_P(ApiSignUpTest, HostileInputIsRefusedPlainly) {
  for (const std::string& body : std::vector<std::string>{
           R"({})", R"({"who": 5})", R"({"who": ""})", R"({"who": "a b c"})",
           R"({"who": "<script>@x"})", R"({"who": ")" + std::string(400, 'a') + R"("})"}) {
    HttpResponse r = SendFrom("POST", "/api/v1/join/" + invite_ + "/sign-up", body, "192.0.2.99");
    EXPECT_EQ(r.status, 400) << body << " " << r.body;
    EXPECT_EQ(r.body.find("script"), std::string::npos);
  }
  EXPECT_EQ(SendFrom("POST", "/api/v1/join/" + std::string(43, 'A') + "/sign-up",
                     R"({"who": "501"})", "192.0.2.99")
                .status,
            404);
  for (const std::string& token :
       {std::string(""), std::string("../../etc"), std::string(43, 'A'), std::string(64, 'z')}) {
    HttpResponse r = SendFrom(
        "POST", "/api/v1/account-link",
        nlohmann::json{{"token", token}, {"password", "whatever it is now"}}.dump(), "192.0.2.99");
    EXPECT_TRUE(r.status == 404 || r.status == 400) << token << " " << r.body;
  }
  EXPECT_EQ(Links().size(), 0u);
}

TEST_P(ApiSignUpTest, NonMembersOnlyWhereTheCampaignAllowsThem) {
  ASSERT_EQ(Ask("friend@example.org").status, 202);
  EXPECT_EQ(Links().size(), 0u);
  invite_ = NewInvite(true);
  HttpResponse about = env_.Send("GET", "/api/v1/join/" + invite_ + "/about");
  ASSERT_EQ(about.status, 200);
  EXPECT_EQ(Body(about)["non_members_may_sign_up"], true);
  ASSERT_EQ(Ask("friend@example.org").status, 202);
  ASSERT_EQ(Links().size(), 1u);
  HttpResponse done = Complete(Links().at(0), "friend");
  ASSERT_EQ(done.status, 201) << done.body;
  EXPECT_EQ(env_.env_.Count("SELECT COUNT(*) FROM accounts WHERE login = 'friend' AND member_id "
                            "IS NULL"),
            1);
}

TEST_P(ApiSignUpTest, ASecondTabGetsTheCsrfTokenFromTheSessionButNotCrossSite) {
  AccountId vic = env_.AddAccount("vic");
  TestSession first = env_.Login("vic", vic);
  TestSession tab;  // the cookie only, as a new tab has it
  tab.token = first.token;
  tab.csrf = "";
  HttpResponse me =
      env_.Send("GET", "/api/v1/session", "", &tab, {{"sec-fetch-site", "same-origin"}});
  ASSERT_EQ(me.status, 200);
  tab.csrf = Body(me)["csrf_token"];
  EXPECT_EQ(tab.csrf, first.csrf);
  EXPECT_EQ(env_.Send("POST", "/api/v1/session/sign-out-everywhere", "", &tab).status, 200);
  // A cross-site read gets no token; a request without one is refused.
  TestSession other = env_.Login("vic", vic);
  TestSession cross;
  cross.token = other.token;
  cross.csrf = "";
  HttpResponse x =
      env_.Send("GET", "/api/v1/session", "", &cross, {{"sec-fetch-site", "cross-site"}});
  ASSERT_EQ(x.status, 200);
  EXPECT_FALSE(Body(x).contains("csrf_token"));
  EXPECT_EQ(env_.Send("DELETE", "/api/v1/session", "", &cross, {{"x-csrf-token", ""}}).status, 403);
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiSignUpTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::server
