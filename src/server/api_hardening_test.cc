// Issue 13's API-level defects: bodies parsed once under limits, not-founds
// on ids a caller could only guess counted as probing (successes in between
// do not hide them), and the pace burst bounded by the policy.
#include <gtest/gtest.h>

#include <string>

#include "server/api_testing.h"

namespace switchboard::server {
namespace {

using testing::Body;
using testing::TestSession;

class ApiHardeningTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    if (HasFatalFailure()) return;
    aldershot_ = env_.Unit("E14000530");
    organiser_ = env_.AddAccount("organiser.one");
    env_.Grant(organiser_, "officer", aldershot_, env_.clock_.Now() - 1,
               env_.clock_.Now() + 200 * kMicrosPerDay);
    for (int i = 0; i < 5; ++i) {
      env_.AddMember(std::to_string(100 + i), aldershot_, "Name" + std::to_string(i), "Surname",
                     members::kConsentPhone);
    }
    org_ = env_.Login("organiser.one");
  }

  HttpResponse CreateCampaign(const std::string& pace) {
    return env_.Send("POST", "/api/v1/campaigns",
                     R"({"name": "AGM calls", "scope": "E14000530", "purpose": "the AGM",
                         "ends_at": "+14d", "script": "Hello", "pace": )" +
                         pace + "}",
                     &org_);
  }

  testing::ApiEnv env_;
  UnitId aldershot_;
  AccountId organiser_;
  TestSession org_;
};

std::string Nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST_P(ApiHardeningTest, BodiesBeyondTheLimitsGetStableCodesAndChangeNothing) {
  const std::int64_t events = static_cast<std::int64_t>(env_.Events("campaign.create").size());
  struct Case {
    std::string body, code;
  };
  const Case cases[] = {
      {R"({"name":"x","scope":"E14000530","audience":)" + Nested(1'000'000) + "}", "json_too_deep"},
      {R"({"name":"x","name":"y"})", "json_duplicate_key"},
      {R"({"name":"x","max_joins":99999999999999999999})", "json_number_out_of_range"},
      {R"({"name":"a\u0000b"})", "json_nul_character"},
      {R"({"name":"\ud800"})", "invalid_json"},
      {R"({"name": )", "invalid_json"},
  };
  for (const Case& c : cases) {
    HttpResponse r = env_.Send("POST", "/api/v1/campaigns", c.body, &org_);
    EXPECT_EQ(r.status, 400) << c.code;
    EXPECT_EQ(Body(r)["error"]["code"], c.code) << r.body;
    EXPECT_FALSE(Body(r)["error"]["request_id"].get<std::string>().empty());
  }
  HttpResponse deep = env_.Send("POST", "/api/v1/campaigns", cases[0].body, &org_);
  EXPECT_NE(Body(deep)["error"]["message"].get<std::string>().find("deeper than 16 levels"),
            std::string::npos)
      << deep.body;
  EXPECT_EQ(static_cast<std::int64_t>(env_.Events("campaign.create").size()), events);
  EXPECT_EQ(env_.env_.Count("SELECT COUNT(*) FROM campaigns"), 0);
}

TEST_P(ApiHardeningTest, EveryJsonRouteRefusesABodyThatIsNotJson) {
  // POST .../next used to ignore its body; every route that takes one now
  // reads it, once, before anything else.
  for (const char* path : {"/api/v1/campaigns/1/next", "/api/v1/campaigns/1/connect",
                           "/api/v1/session/sign-out-everywhere", "/api/v1/me/endpoint"}) {
    HttpResponse r = env_.Send("POST", path, "{not json", &org_);
    EXPECT_EQ(r.status, 400) << path;
    EXPECT_EQ(Body(r)["error"]["code"], "invalid_json") << path << r.body;
  }
  EXPECT_EQ(env_.Send("GET", "/api/v1/session", "", &org_).status, 200);  // still signed in
}

TEST_P(ApiHardeningTest, MediaTypesAreComparedAsRfc9110Says) {
  const std::string body = R"({"login": "organiser.one", "password": "correct horse battery"})";
  for (const char* ok : {"APPLICATION/JSON", "application/json; charset=UTF-8"}) {
    EXPECT_EQ(env_.Send("POST", "/api/v1/session", body, nullptr, {{"content-type", ok}}).status,
              201)
        << ok;
  }
  for (const char* bad : {"application/jsonx", "application/json; charset=utf-16", "text/json"}) {
    HttpResponse r = env_.Send("POST", "/api/v1/session", body, nullptr, {{"content-type", bad}});
    EXPECT_EQ(r.status, 415) << bad;
    EXPECT_EQ(Body(r)["error"]["code"], "unsupported_media_type");
  }
}

// Not-founds on ids only a guesser would ask for count toward probing, and
// successful requests in between do not reset the count (RULEBOOK §5).
TEST_P(ApiHardeningTest, GuessedCallIdsAndLinksCountAsProbingDespiteSuccesses) {
  env_.policy_.anomaly_probe_run = 6;
  env_.AddAccount("guesser");
  TestSession s = env_.Login("guesser");
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = env_.Send("GET", "/api/v1/calls/" + std::to_string(9000 + i), "", &s);
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(env_.Send("GET", "/api/v1/session", "", &s).status, 200);  // a success between
  }
  EXPECT_EQ(env_.Send("GET", "/api/v1/join/" + std::string(43, 'A'), "", &s).status, 404);
  EXPECT_EQ(env_.Send("POST", "/api/v1/join/" + std::string(43, 'B'), "", &s).status, 404);
  EXPECT_EQ(env_.Send("GET", "/api/v1/me/stats", "", &s).status, 200);
  HttpResponse sixth = env_.Send("POST", "/api/v1/me/approvals/77", R"({"version": 1})", &s);
  EXPECT_EQ(sixth.status, 403) << sixth.body;
  EXPECT_EQ(Body(sixth)["error"]["code"], "account_suspended");
  EXPECT_EQ(env_.Send("GET", "/api/v1/session", "", &s).status, 401);

  // Each refusal is on the record with the route that refused it.
  int not_found = 0;
  for (const char* action : {"calls.get", "join.get", "join.post", "me.approve"}) {
    for (const audit::Event& e : env_.Events(action)) {
      EXPECT_EQ(e.decision, "deny");
      EXPECT_EQ(e.rule, "not_found");
      ++not_found;
    }
  }
  EXPECT_EQ(not_found, 6);
  EXPECT_EQ(env_.Events("alert.raised").size(), 1u);
}

TEST_P(ApiHardeningTest, APaceBurstAboveThePolicysMaximumIsRefused) {
  HttpResponse r = CreateCampaign(R"({"burst": 20})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(Body(r)["error"]["message"].get<std::string>().find("1 to 5"), std::string::npos)
      << r.body;
  EXPECT_EQ(CreateCampaign(R"({"burst": 6})").status, 400);
  HttpResponse five = CreateCampaign(R"({"burst": 5})");
  EXPECT_EQ(five.status, 201) << five.body;
  EXPECT_EQ(Body(five)["campaign"]["pace"]["burst"], 5);
  // The policy's owner may raise it; organisers still cannot go beyond.
  env_.policy_.phonebank_pace_burst_max = 20;
  EXPECT_EQ(CreateCampaign(R"({"burst": 20})").status, 201);
  EXPECT_EQ(CreateCampaign(R"({"burst": 21})").status, 400);
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiHardeningTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::server
