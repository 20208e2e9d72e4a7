// The phone bank through the API, including the incidents it exists to
// prevent: a phone bank that stayed open after its campaign, links shared far
// beyond their audience, callers reaching members they were never given, and
// scraping by a valid caller account.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "audit/audit_log.h"
#include "phonebank/connector.h"
#include "server/api_testing.h"

namespace switchboard::server {
namespace {

using testing::Body;
using testing::TestSession;

class ApiPhonebankTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.caller_line_ = {"+441632960000", {"+441632960001"}, 30};
    env_.SetUp(GetParam());
    aldershot_ = env_.Unit("E14000530");
    aldridge_ = env_.Unit("E14000531");
    organiser_ = env_.AddAccount("organiser.one");
    env_.Grant(organiser_, "officer", aldershot_, env_.clock_.Now() - 1,
               env_.clock_.Now() + 200 * kMicrosPerDay);
    for (int i = 0; i < 30; ++i) {
      env_.AddMember(std::to_string(100 + i), aldershot_, "Name" + std::to_string(i), "Surname",
                     members::kConsentPhone);
    }
    outsider_ = env_.AddMember("900", aldridge_, "Far", "Away", members::kConsentPhone);
    org_ = env_.Login("organiser.one");
  }

  // A live campaign and an invitation link's token.
  std::pair<std::int64_t, std::string> LiveCampaign(const std::string& extra = "") {
    HttpResponse c = env_.Send(
        "POST", "/api/v1/campaigns",
        R"({"name": "AGM calls", "scope": "E14000530", "purpose": "invite members to the AGM",
            "ends_at": "+14d", "script": "Hello, I'm calling from the branch.",
            "survey": [{"id": "agm", "question": "Coming to the AGM?", "type": "yesno"}])" +
            extra + "}",
        &org_);
    EXPECT_EQ(c.status, 201) << c.body;
    const std::int64_t id = Body(c)["campaign"]["id"];
    EXPECT_EQ(Body(c)["campaign"]["audience_count"], 30);
    HttpResponse live = env_.Send("POST", "/api/v1/campaigns/" + std::to_string(id) + "/state",
                                  R"({"state": "live"})", &org_);
    EXPECT_EQ(live.status, 200) << live.body;
    HttpResponse inv = env_.Send("POST", "/api/v1/campaigns/" + std::to_string(id) + "/invites",
                                 R"({"label": "branch newsletter", "max_joins": 5000})", &org_);
    EXPECT_EQ(inv.status, 201) << inv.body;
    return {id, Body(inv)["token"]};
  }

  TestSession Volunteer(const std::string& login, const std::string& token) {
    env_.AddAccount(login);
    TestSession s = env_.Login(login);
    HttpResponse j = env_.Send("POST", "/api/v1/join/" + token, "", &s);
    EXPECT_EQ(j.status, 201) << j.body;
    HttpResponse e = env_.Send("POST", "/api/v1/me/endpoint", R"({"phone": "07700 900321"})", &s);
    EXPECT_EQ(e.status, 201) << e.body;
    HttpResponse v = env_.Send("POST", "/api/v1/me/endpoint/verify",
                               nlohmann::json{{"code", Body(e)["sandbox_code"]}}.dump(), &s);
    EXPECT_EQ(v.status, 200) << v.body;
    return s;
  }

  static void NoContactDetails(const HttpResponse& r) {
    EXPECT_EQ(r.body.find("@example.org"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("7700900"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("Surname"), std::string::npos) << r.body;
  }

  testing::ApiEnv env_;
  UnitId aldershot_, aldridge_;
  AccountId organiser_;
  MemberId outsider_;
  TestSession org_;
};

TEST_P(ApiPhonebankTest, AVolunteerJoinsAndMakesThreeCallsWithoutSeeingANumber) {
  auto [id, token] = LiveCampaign();
  TestSession v = Volunteer("volunteer.one", token);
  const std::string base = "/api/v1/campaigns/" + std::to_string(id);
  for (int i = 0; i < 3; ++i) {
    HttpResponse next = env_.Send("POST", base + "/next", "", &v);
    ASSERT_EQ(next.status, 200) << next.body;
    NoContactDetails(next);
    const auto contact = Body(next)["contact"];
    EXPECT_TRUE(contact["first_name"].is_string());
    EXPECT_FALSE(contact.contains("last_name"));
    EXPECT_FALSE(contact.contains("id"));
    HttpResponse call = env_.Send("POST", base + "/connect", "", &v);
    ASSERT_EQ(call.status, 201) << call.body;
    EXPECT_TRUE(Body(call)["call"]["simulated"].get<bool>());
    NoContactDetails(call);
    env_.clock_.Advance(30 * kMicrosPerSecond);
    HttpResponse status = env_.Send(
        "GET", "/api/v1/calls/" + std::to_string(Body(call)["call"]["id"].get<int>()), "", &v);
    ASSERT_EQ(status.status, 200) << status.body;
    const auto got = Body(status)["call"];
    EXPECT_EQ(got["state"], "ended") << status.body;
    const std::string end = got.value("end", "");
    // The outcome the screen would preselect, or a conversation.
    HttpResponse out = env_.Send(
        "POST", base + "/outcome",
        end == "completed" ? R"({"outcome": "answered", "answers": {"agm": true}})"
                           : nlohmann::json{{"outcome", got.value("suggested", "")}}.dump(),
        &v);
    ASSERT_EQ(out.status, 200) << out.body;
  }
  HttpResponse stats = env_.Send("GET", "/api/v1/me/stats", "", &v);
  ASSERT_EQ(stats.status, 200);
  EXPECT_EQ(Body(stats)["me"]["calls"], 3);
  EXPECT_EQ(Body(stats)["me"]["badges"][0]["id"], "first_call");
  EXPECT_EQ(Body(stats)["me"]["badges"][0]["name"], "First call");
  HttpResponse progress = env_.Send("GET", base + "/progress", "", &org_);
  ASSERT_EQ(progress.status, 200) << progress.body;
  EXPECT_EQ(Body(progress)["by_caller"][0]["calls"], 3);
  NoContactDetails(progress);
  // Every lease and outcome is on the record with the member's id only.
  EXPECT_EQ(env_.Events("phonebank.next").size(), 3u);
  EXPECT_EQ(env_.Events("phonebank.outcome").size(), 3u);
}

// The organiser's figures follow the calls: members to call go down as
// members are finished, calls made count every outcome, each unit has its
// own done column; survey results, charts and the CSV agree with them.
TEST_P(ApiPhonebankTest, OrganisersSeeCountersResultsChartsAndACsvThatAgree) {
  auto [id, token] = LiveCampaign();
  TestSession v = Volunteer("volunteer.results", token);
  const std::string base = "/api/v1/campaigns/" + std::to_string(id);
  auto progress = [&] {
    HttpResponse r = env_.Send("GET", base + "/progress", "", &org_);
    EXPECT_EQ(r.status, 200) << r.body;
    return Body(r);
  };
  EXPECT_EQ(progress()["totals"]["to_call"], 30);
  for (const char* outcome :
       {R"({"outcome": "answered", "answers": {"agm": true}})",
        R"({"outcome": "answered", "answers": {"agm": false}})", R"({"outcome": "no_answer"})",
        R"({"outcome": "answered", "answers": {"agm": true}})"}) {
    HttpResponse next = env_.Send("POST", base + "/next", "", &v);
    ASSERT_EQ(next.status, 200) << next.body;
    HttpResponse out = env_.Send("POST", base + "/outcome", outcome, &v);
    ASSERT_EQ(out.status, 200) << out.body;
    env_.clock_.Advance(20 * kMicrosPerSecond);
  }
  const auto p = progress();
  EXPECT_EQ(p["totals"]["targets"], 30);
  EXPECT_EQ(p["totals"]["to_call"], 27);  // three answered are finished; the no answer is not
  EXPECT_EQ(p["totals"]["done"], 3);
  EXPECT_EQ(p["totals"]["calls"], 4);
  EXPECT_EQ(p["totals"]["conversations"], 3);
  ASSERT_EQ(p["by_unit"].size(), 1u) << p;
  EXPECT_EQ(p["by_unit"][0]["done"], 3) << p;
  EXPECT_EQ(p["by_unit"][0]["to_call"], 27) << p;
  EXPECT_EQ(p["by_unit"][0]["calls"], 4) << p;

  HttpResponse results = env_.Send("GET", base + "/results", "", &org_);
  ASSERT_EQ(results.status, 200) << results.body;
  NoContactDetails(results);
  const auto r = Body(results);
  EXPECT_EQ(r["calls"], 4);
  EXPECT_EQ(r["answered"], 3);
  EXPECT_EQ(r["by_outcome"]["no_answer"], 1);
  const auto& agm = r["questions"][0];
  EXPECT_EQ(agm["id"], "agm");
  EXPECT_EQ(agm["responses"], 3);
  EXPECT_EQ(agm["answers"][0]["answer"], "yes");
  EXPECT_EQ(agm["answers"][0]["count"], 2);
  EXPECT_DOUBLE_EQ(agm["answers"][0]["percent"].get<double>(), 66.7);
  EXPECT_EQ(agm["answers"][1]["count"], 1);
  // Three responses in the unit: fewer than five, so withheld there.
  EXPECT_TRUE(agm["by_unit"][0]["withheld"].get<bool>()) << agm;
  EXPECT_FALSE(agm["by_unit"][0].contains("answers")) << agm;
  ASSERT_EQ(r["calls_by_hour"].size(), 1u) << r;
  EXPECT_EQ(r["calls_by_hour"][0]["calls"], 4);

  HttpResponse chart = env_.Send("GET", base + "/charts/question-1", "", &org_);
  ASSERT_EQ(chart.status, 200) << chart.body;
  EXPECT_EQ(chart.content_type, "image/svg+xml; charset=utf-8");
  EXPECT_NE(chart.body.find("<title id=\"question-1-title\">Coming to the AGM?</title>"),
            std::string::npos)
      << chart.body;
  EXPECT_NE(chart.body.find("3 responses: Yes 2 (67%), No 1 (33%)."), std::string::npos)
      << chart.body;
  for (const char* name : {"outcomes", "calls-per-hour"}) {
    HttpResponse c = env_.Send("GET", base + "/charts/" + name, "", &org_);
    EXPECT_EQ(c.status, 200) << name << c.body;
    EXPECT_NE(c.body.find("role=\"img\""), std::string::npos) << c.body;
  }
  EXPECT_EQ(env_.Send("GET", base + "/charts/question-2", "", &org_).status, 404);
  EXPECT_EQ(env_.Send("GET", base + "/charts/pie", "", &org_).status, 404);

  HttpResponse csv = env_.Send("GET", base + "/results.csv", "", &org_);
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.content_type, "text/csv; charset=utf-8");
  bool attachment = false;
  for (const auto& [k, val] : csv.headers) {
    attachment |= k == "Content-Disposition" && val.find("attachment") != std::string::npos;
  }
  EXPECT_TRUE(attachment);
  EXPECT_NE(csv.body.find("survey,agm,Coming to the AGM?,campaign,AGM calls,yes,2,66.7,3\r\n"),
            std::string::npos)
      << csv.body;
  NoContactDetails(csv);
  EXPECT_EQ(csv.body.find("Name1"), std::string::npos) << "no member's name";
  EXPECT_EQ(env_.Events("campaign.results_export").size(), 1u);

  // Callers see none of it.
  for (const char* tail : {"/results", "/results.csv", "/charts/outcomes"}) {
    EXPECT_EQ(env_.Send("GET", base + tail, "", &v).status, 403) << tail;
  }
}

TEST_P(ApiPhonebankTest, ACampaignThatEndedWeeksAgoRefusesAnOldLink) {
  auto [id, token] = LiveCampaign();
  TestSession early = Volunteer("volunteer.early", token);
  HttpResponse c = env_.Send("GET", "/api/v1/campaigns/" + std::to_string(id), "", &org_);
  const std::string ends = Body(c)["campaign"]["ends_at"];
  env_.clock_.Advance(35 * kMicrosPerDay);  // three weeks after the end
  env_.AddAccount("volunteer.late");
  TestSession late = env_.Login("volunteer.late");
  HttpResponse info = env_.Send("GET", "/api/v1/join/" + token, "", &late);
  ASSERT_EQ(info.status, 200);
  EXPECT_FALSE(Body(info)["eligible"].get<bool>());
  HttpResponse join = env_.Send("POST", "/api/v1/join/" + token, "", &late);
  EXPECT_EQ(join.status, 409) << join.body;
  EXPECT_NE(join.body.find(ends.substr(0, 10)), std::string::npos) << join.body;
  // The volunteer who joined in time has nothing either, with no job having
  // run: their session ended long ago (ApiSessionChangeTest keeps one open
  // across a grant's end), and a new one may not call.
  HttpResponse old = env_.Send("GET", "/api/v1/session", "", &early);
  EXPECT_EQ(old.status, 401) << old.body;
  EXPECT_EQ(Body(old)["error"]["code"], "session_expired") << old.body;
  TestSession again = env_.Login("volunteer.early");
  HttpResponse next =
      env_.Send("POST", "/api/v1/campaigns/" + std::to_string(id) + "/next", "", &again);
  EXPECT_EQ(next.status, 403) << next.body;
}

TEST_P(ApiPhonebankTest, ALinkSharedToThousandsLetsNoIneligiblePersonIn) {
  auto [id, token] = LiveCampaign(R"(, "eligibility": {"members_in_scope_only": true})");
  int refused = 0;
  for (int i = 0; i < 40; ++i) {
    env_.AddAccount("stranger" + std::to_string(i));
    TestSession s = env_.Login("stranger" + std::to_string(i));
    HttpResponse j = env_.Send("POST", "/api/v1/join/" + token, "", &s);
    refused += j.status == 403;
    HttpResponse next =
        env_.Send("POST", "/api/v1/campaigns/" + std::to_string(id) + "/next", "", &s);
    EXPECT_EQ(next.status, 403);
    NoContactDetails(next);
  }
  EXPECT_EQ(refused, 40);
  EXPECT_EQ(env_.env_.Count("SELECT COUNT(*) FROM campaign_callers"), 0);
  EXPECT_EQ(env_.env_.Count("SELECT SUM(joins) FROM campaign_invites"), 0);
}

TEST_P(ApiPhonebankTest, ACallerCannotReachMembersOutsideTheAudienceByAnyRoute) {
  auto [id, token] = LiveCampaign();
  auto [other, other_token] = LiveCampaign();
  TestSession v = Volunteer("volunteer.two", token);
  const std::string m = outsider_.ToString();
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/v1/members/" + m},
           {"GET", "/api/v1/members/" + m + "/contact"},
           {"GET", "/api/v1/members?unit=E14000531"},
           {"GET", "/api/v1/members?unit=E14000530"},
           {"GET", "/api/v1/members/1"},
           {"GET", "/api/v1/campaigns/" + std::to_string(id)},
           {"GET", "/api/v1/campaigns/" + std::to_string(id) + "/progress"},
           {"POST", "/api/v1/campaigns/" + std::to_string(other) + "/next"},
       }) {
    HttpResponse r = env_.Send(method, path, "", &v);
    EXPECT_EQ(r.status, 403) << method << " " << path << ": " << r.body;
    NoContactDetails(r);
  }
  (void)other_token;
}

TEST_P(ApiPhonebankTest, AScraperWithAValidCallerAccountIsThrottledThenSuspended) {
  auto [id, token] = LiveCampaign();
  TestSession v = Volunteer("volunteer.scraper", token);
  const std::string base = "/api/v1/campaigns/" + std::to_string(id);
  int contacts = 0, contacts_before_throttle = -1;
  bool suspended = false;
  for (int i = 0; i < 200 && !suspended; ++i) {
    HttpResponse next = env_.Send("POST", base + "/next", "", &v);
    if (next.status == 200 && Body(next).contains("contact")) {
      ++contacts;
      ASSERT_EQ(env_.Send("POST", base + "/outcome", R"({"outcome": "no_answer"})", &v).status,
                200);
    } else if (next.status == 429) {
      if (contacts_before_throttle < 0) contacts_before_throttle = contacts;
    } else {
      suspended = next.status == 403 || next.status == 401;
    }
    env_.clock_.Advance(kMicrosPerSecond);  // a script, not a person: one request a second
  }
  EXPECT_TRUE(suspended);
  EXPECT_GE(contacts_before_throttle, 0);
  EXPECT_LE(contacts_before_throttle, 5);  // TARGETS R5
  EXPECT_LE(contacts, 20);
  auto alerts = env_.Events("alert.raised");
  ASSERT_FALSE(alerts.empty());
  EXPECT_EQ(alerts.back().rule, "anomaly.probing");
}

// The calling screen's view of a call: the state after each change (a long
// poll answered when the state moves on), the live counts the organiser
// sees, hanging up, and pausing the campaign ending the calls going on.
TEST_P(ApiPhonebankTest, ACallIsFollowedStateByStateAndHungUp) {
  using phonebank::SandboxConnector;
  auto [id, token] = LiveCampaign();
  TestSession v = Volunteer("volunteer.one", token);
  TestSession other = Volunteer("volunteer.two", token);
  const std::string base = "/api/v1/campaigns/" + std::to_string(id);
  ASSERT_EQ(env_.Send("POST", base + "/next", "", &v).status, 200);
  HttpResponse connect = env_.Send("POST", base + "/connect", "", &v);
  ASSERT_EQ(connect.status, 201) << connect.body;
  const std::int64_t call = Body(connect)["call"]["id"];
  EXPECT_EQ(Body(connect)["call"]["state"], "calling_you");
  ASSERT_EQ(SandboxConnector::TimelineOf(phonebank::CallId(call)).end, "completed");
  const std::string status = "/api/v1/calls/" + std::to_string(call);
  // Already past the state asked about: answered at once.
  HttpResponse now = env_.Send("GET", status + "?after=connected", "", &v);
  ASSERT_EQ(now.status, 200) << now.body;
  EXPECT_EQ(Body(now)["call"]["state"], "calling_you");
  EXPECT_EQ(env_.Send("GET", status + "?after=ringing", "", &v).status, 400);
  // The caller answers; the held question is answered with the next state.
  env_.clock_.Advance(SandboxConnector::kCallerRingSeconds * kMicrosPerSecond);
  HttpResponse member = env_.Send("GET", status + "?after=calling_you", "", &v);
  ASSERT_EQ(member.status, 200) << member.body;
  EXPECT_EQ(Body(member)["call"]["state"], "calling_member");
  HttpResponse progress = env_.Send("GET", base + "/progress", "", &org_);
  ASSERT_EQ(progress.status, 200) << progress.body;
  EXPECT_EQ(Body(progress)["live"]["calling_member"], 1);
  EXPECT_EQ(Body(progress)["live"]["calling_you"], 0);
  env_.clock_.Advance((SandboxConnector::kMemberRingSeconds + 4) * kMicrosPerSecond);
  HttpResponse talking = env_.Send("GET", status + "?after=calling_member", "", &v);
  ASSERT_EQ(talking.status, 200) << talking.body;
  EXPECT_EQ(Body(talking)["call"]["state"], "connected");
  EXPECT_EQ(Body(talking)["call"]["duration_seconds"], 4);
  // Only the caller can hang up their call.
  const std::string hangup = base + "/calls/" + std::to_string(call) + "/hangup";
  EXPECT_EQ(env_.Send("POST", hangup, "", &other).status, 404);
  HttpResponse hung = env_.Send("POST", hangup, "", &v);
  ASSERT_EQ(hung.status, 200) << hung.body;
  EXPECT_EQ(Body(hung)["call"]["state"], "ended");
  EXPECT_EQ(Body(hung)["call"]["end"], "completed");
  EXPECT_EQ(Body(hung)["call"]["duration_seconds"], 4);
  EXPECT_EQ(env_.Events("phonebank.hangup").size(), 1u);
  // An ended call is answered at once, whatever is asked.
  HttpResponse ended = env_.Send("GET", status + "?after=connected", "", &v);
  EXPECT_EQ(Body(ended)["call"]["state"], "ended");

  // Pausing the campaign ends the other volunteer's call on both phones.
  ASSERT_EQ(env_.Send("POST", base + "/next", "", &other).status, 200);
  HttpResponse second = env_.Send("POST", base + "/connect", "", &other);
  ASSERT_EQ(second.status, 201) << second.body;
  ASSERT_EQ(env_.Send("POST", base + "/state", R"({"state": "paused"})", &org_).status, 200);
  HttpResponse killed = env_.Send(
      "GET", "/api/v1/calls/" + std::to_string(Body(second)["call"]["id"].get<int>()), "", &other);
  EXPECT_EQ(Body(killed)["call"]["state"], "ended") << killed.body;
  EXPECT_EQ(Body(killed)["call"]["end"], "killed") << killed.body;
}

TEST_P(ApiPhonebankTest, KillTakesEffectAtOnce) {
  auto [id, token] = LiveCampaign();
  TestSession v = Volunteer("volunteer.three", token);
  const std::string base = "/api/v1/campaigns/" + std::to_string(id);
  ASSERT_EQ(env_.Send("POST", base + "/next", "", &v).status, 200);
  ASSERT_EQ(env_.Send("POST", base + "/state", R"({"state": "killed"})", &org_).status, 200);
  HttpResponse next = env_.Send("POST", base + "/next", "", &v);
  EXPECT_EQ(next.status, 403) << next.body;
  HttpResponse join = env_.Send("GET", "/api/v1/join/" + token, "", &v);
  EXPECT_FALSE(Body(join)["eligible"].get<bool>());
}

TEST_P(ApiPhonebankTest, TheAudienceBuilderTakesEverySegmentField) {
  for (int i = 0; i < 4; ++i) {
    env_.AddMember(std::to_string(200 + i), aldershot_, "Both" + std::to_string(i), "Surname",
                   members::kConsentPhone | members::kConsentEmail);
  }
  HttpResponse c = env_.Send("POST", "/api/v1/campaigns",
                             R"({"name": "Segments", "scope": "E14000530", "purpose": "p",
                                 "ends_at": "+14d",
                                 "audience": {"statuses": ["current"], "consents": ["email"],
                                              "types": ["standard"], "joined_to": "2025-01-01"}})",
                             &org_);
  ASSERT_EQ(c.status, 201) << c.body;
  const auto campaign = Body(c)["campaign"];
  EXPECT_EQ(campaign["audience_count"], 4);
  EXPECT_EQ(campaign["version"], 1);
  // The stored form is the segment's, with the rules a phone bank adds.
  const auto a = campaign["audience"];
  EXPECT_EQ(a["scope"], "E14000530");
  EXPECT_EQ(a["consents"], nlohmann::json::array({"email", "phone"}));
  EXPECT_EQ(a["suppressions_none"],
            nlohmann::json::array({"do_not_contact", "deceased", "moved", "no_phone"}));
  EXPECT_EQ(a["exclude_canaries"], true);
  EXPECT_EQ(a["joined_to"], "2025-01-01");
  const std::string base = "/api/v1/campaigns/" + std::to_string(campaign["id"].get<int>());
  auto count = [&](const std::string& audience) {
    HttpResponse r =
        env_.Send("POST", base + "/audience-count", R"({"audience": )" + audience + "}", &org_);
    EXPECT_EQ(r.status, 200) << r.body;
    return Body(r)["count"];
  };
  EXPECT_EQ(count(R"({})"), 34);
  EXPECT_EQ(count(R"({"joined_from": "2020-01-01"})"), 0);
  EXPECT_EQ(count(R"({"statuses": ["lapsed", "arrears"]})"), 0);
  EXPECT_EQ(count(R"({"units": ["E14000530"], "not_contacted_since": "2026-01-01"})"), 34);
  EXPECT_EQ(count(R"({"consents": ["phone"], "suppressions_none": ["no_email"]})"), 34);
  // What the API gives back it takes again.
  EXPECT_EQ(count(a.dump()), 4);
  HttpResponse bad = env_.Send("POST", base + "/audience-count",
                               R"({"audience": {"lapsed_from": "last spring"}})", &org_);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("audience.lapsed_from"), std::string::npos) << bad.body;
  // Before a campaign exists: the same count over a scope.
  HttpResponse preview =
      env_.Send("POST", "/api/v1/audience-count",
                R"({"scope": "E14000530", "audience": {"consents": ["email"]}})", &org_);
  ASSERT_EQ(preview.status, 200) << preview.body;
  EXPECT_EQ(Body(preview)["count"], 4);
  EXPECT_EQ(env_.Send("POST", "/api/v1/audience-count", R"({"scope": "E14000531"})", &org_).status,
            403);
  HttpResponse canaries =
      env_.Send("PATCH", base, R"({"audience": {"exclude_canaries": false}})", &org_);
  EXPECT_EQ(canaries.status, 400);
  EXPECT_NE(canaries.body.find("audience.exclude_canaries"), std::string::npos);
}

TEST_P(ApiPhonebankTest, ALiveCampaignTakesScriptEditsWithAVersionAndRefusesTheRest) {
  auto [id, token] = LiveCampaign();
  TestSession v = Volunteer("volunteer.four", token);
  const std::string base = "/api/v1/campaigns/" + std::to_string(id);
  HttpResponse first = env_.Send("POST", base + "/next", "", &v);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Body(first)["script_version"], 1);
  EXPECT_EQ(Body(first)["script"], "Hello, I'm calling from the branch.");
  ASSERT_EQ(Body(first)["survey"].size(), 1u);
  EXPECT_EQ(Body(first)["survey"][0]["id"], "agm");
  EXPECT_EQ(Body(first)["survey"][0]["type"], "yesno");
  EXPECT_TRUE(Body(first)["contact"].contains("ref"));
  EXPECT_TRUE(Body(first)["lease"].contains("expires_at"));

  HttpResponse edit = env_.Send(
      "PATCH", base,
      R"({"version": 1, "script": "Hello, I'm a volunteer with the branch.", "fields": ["first_name"]})",
      &org_);
  ASSERT_EQ(edit.status, 200) << edit.body;
  EXPECT_EQ(Body(edit)["campaign"]["version"], 2);
  EXPECT_EQ(Body(edit)["changed"], nlohmann::json::array({"script", "fields"}));
  auto events = env_.Events("campaign.live_edit");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].rule, "edit.v2:script:fields");
  EXPECT_EQ(events[0].campaign, id);

  // Callers get the new script (the held lease is renewed, not replaced).
  HttpResponse again = env_.Send("POST", base + "/next", "", &v);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Body(again)["script_version"], 2);
  EXPECT_EQ(Body(again)["script"], "Hello, I'm a volunteer with the branch.");
  EXPECT_EQ(Body(again)["survey"][0]["id"], "agm");
  EXPECT_FALSE(Body(again)["contact"].contains("branch"));

  for (const auto& [body, field] : std::vector<std::pair<std::string, std::string>>{
           {R"({"audience": {"statuses": ["lapsed"]}})", "audience"},
           {R"({"survey": []})", "survey"},
           {R"({"ends_at": "+30d"})", "ends_at"},
           {R"({"calling_hours": {"start": "10:00", "end": "20:00"}})", "calling_hours"},
       }) {
    HttpResponse r = env_.Send("PATCH", base, body, &org_);
    EXPECT_EQ(r.status, 409) << field << ": " << r.body;
    EXPECT_NE(r.body.find(field + ": cannot change once a campaign has gone live"),
              std::string::npos)
        << r.body;
  }
  // A stale editor is told, not silently overwritten.
  HttpResponse stale = env_.Send("PATCH", base, R"({"version": 1, "script": "old"})", &org_);
  EXPECT_EQ(stale.status, 409) << stale.body;
  EXPECT_NE(stale.body.find("version 2"), std::string::npos) << stale.body;
  EXPECT_EQ(env_.Events("campaign.live_edit").size(), 1u);
}

// The caller ID and the ring time: one of the organisation's numbers, as an
// organiser may type it; a number not listed and a ring time out of bounds
// are refused with the field named; both may change while live.
TEST_P(ApiPhonebankTest, ACampaignPresentsOneOfTheOrganisationsNumbers) {
  auto [id, token] = LiveCampaign();
  const std::string base = "/api/v1/campaigns/" + std::to_string(id);
  HttpResponse got = env_.Send("GET", base, "", &org_);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_TRUE(Body(got)["campaign"]["caller_id_number"].is_null());
  EXPECT_TRUE(Body(got)["campaign"]["ring_seconds"].is_null());
  const nlohmann::json line = Body(got)["campaign"]["calling_line"];
  EXPECT_EQ(line["caller_ids"], nlohmann::json::array({"+441632960000", "+441632960001"}));
  EXPECT_EQ(line["default_caller_id"], "+441632960000");
  EXPECT_EQ(line["default_ring_seconds"], 30);
  EXPECT_EQ(line["min_ring_seconds"], 10);
  EXPECT_EQ(line["max_ring_seconds"], 60);

  HttpResponse edit =
      env_.Send("PATCH", base,
                R"({"version": 1, "caller_id_number": "01632 960001", "ring_seconds": 45})", &org_);
  ASSERT_EQ(edit.status, 200) << edit.body;
  EXPECT_EQ(Body(edit)["campaign"]["caller_id_number"], "+441632960001");
  EXPECT_EQ(Body(edit)["campaign"]["ring_seconds"], 45);
  EXPECT_EQ(Body(edit)["changed"], nlohmann::json::array({"caller_id_number", "ring_seconds"}));
  auto events = env_.Events("campaign.live_edit");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].rule, "edit.v2:caller_id_number:ring_seconds");

  for (const auto& [body, says] : std::vector<std::pair<std::string, std::string>>{
           {R"({"caller_id_number": "+441632960999"})",
            "caller_id_number: not one of the organisation's numbers"},
           {R"({"caller_id_number": "07700 900"})", "caller_id_number: "},
           {R"({"caller_id_number": 441632960001})", "caller_id_number: a phone number"},
           {R"({"ring_seconds": 9})", "ring_seconds: 10 to 60 seconds"},
           {R"({"ring_seconds": 61})", "ring_seconds: 10 to 60 seconds"},
           {R"({"ring_seconds": "30"})", "ring_seconds: 10 to 60 seconds"},
           {R"({"ring_seconds": 2.5})", "ring_seconds: 10 to 60 seconds"},
       }) {
    HttpResponse r = env_.Send("PATCH", base, body, &org_);
    EXPECT_EQ(r.status, 400) << body << ": " << r.body;
    EXPECT_NE(r.body.find(says), std::string::npos) << r.body;
  }
  // Back to the defaults with null.
  HttpResponse reset =
      env_.Send("PATCH", base, R"({"caller_id_number": null, "ring_seconds": null})", &org_);
  ASSERT_EQ(reset.status, 200) << reset.body;
  EXPECT_TRUE(Body(reset)["campaign"]["caller_id_number"].is_null());
  EXPECT_TRUE(Body(reset)["campaign"]["ring_seconds"].is_null());
  EXPECT_EQ(env_.Events("campaign.live_edit").size(), 2u);
}

// The script has e-mail's merge fields, filled in for the member being
// called with only what the campaign shows callers.
TEST_P(ApiPhonebankTest, TheScriptIsMergedWithTheFieldsTheCallerMaySee) {
  auto [id, token] = LiveCampaign();
  TestSession v = Volunteer("volunteer.script", token);
  const std::string base = "/api/v1/campaigns/" + std::to_string(id);
  const std::string script =
      "Hello{{#first_name}}, is that {{first_name}}{{/first_name}}?"
      "{{#unit_name}} I'm with {{unit_name}}.{{/unit_name}}";
  HttpResponse edit =
      env_.Send("PATCH", base, nlohmann::json{{"version", 1}, {"script", script}}.dump(), &org_);
  ASSERT_EQ(edit.status, 200) << edit.body;
  // Organisers see the script as written.
  EXPECT_EQ(Body(edit)["campaign"]["script"], script);

  HttpResponse next = env_.Send("POST", base + "/next", "", &v);
  ASSERT_EQ(next.status, 200) << next.body;
  const auto contact = Body(next)["contact"];
  const std::string first = contact["first_name"];
  EXPECT_EQ(first.rfind("Name", 0), 0u) << first;
  // {{unit_name}} is the member's unit, as in e-mail.
  EXPECT_EQ(Body(next)["script"], "Hello, is that " + first + "? I'm with Aldershot.");

  // Without the fields, nothing of them reaches the caller.
  HttpResponse fewer =
      env_.Send("PATCH", base, R"({"version": 2, "fields": ["membership_years"]})", &org_);
  ASSERT_EQ(fewer.status, 200) << fewer.body;
  HttpResponse again = env_.Send("POST", base + "/next", "", &v);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Body(again)["script"], "Hello?");
  EXPECT_EQ(again.body.find(first), std::string::npos) << again.body;
}

TEST_P(ApiPhonebankTest, AScriptWithABadMergeFieldIsRefusedWithItsPlace) {
  auto [id, token] = LiveCampaign();
  const std::string base = "/api/v1/campaigns/" + std::to_string(id);
  HttpResponse bad = env_.Send(
      "PATCH", base, R"({"version": 1, "script": "Hello,\n  is that {{last_name}}?"})", &org_);
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("script: line 2, column 11: unknown merge field 'last_name'"),
            std::string::npos)
      << bad.body;
  HttpResponse created =
      env_.Send("POST", "/api/v1/campaigns",
                R"({"name": "Broken", "scope": "E14000530", "purpose": "p", "ends_at": "+14d",
          "script": "{{#first_name}}Hi"})",
                &org_);
  EXPECT_EQ(created.status, 400) << created.body;
  EXPECT_NE(created.body.find("script: line 1, column 1: the section 'first_name' is never closed"),
            std::string::npos)
      << created.body;
}

TEST_P(ApiPhonebankTest, CallingHoursAreTheOrganisationsWallClock) {
  // Created in March (GMT), called in April (BST): 20:30 UTC is 21:30 in London.
  HttpResponse c = env_.Send("POST", "/api/v1/campaigns",
                             R"({"name": "Spring", "scope": "E14000530", "purpose": "p",
                                 "ends_at": "+60d"})",
                             &org_);
  ASSERT_EQ(c.status, 201) << c.body;
  const std::string base =
      "/api/v1/campaigns/" + std::to_string(Body(c)["campaign"]["id"].get<int>());
  ASSERT_EQ(env_.Send("POST", base + "/state", R"({"state": "live"})", &org_).status, 200);
  HttpResponse inv = env_.Send("POST", base + "/invites", R"({"label": "x"})", &org_);
  ASSERT_EQ(inv.status, 201) << inv.body;
  TestSession v = Volunteer("volunteer.five", Body(inv)["token"]);
  env_.clock_.Set(*ParseTimestamp("2026-04-01T20:30:00Z"));
  v = env_.Login("volunteer.five");  // a month later: a new session
  HttpResponse late = env_.Send("POST", base + "/next", "", &v);
  EXPECT_EQ(late.status, 409) << late.body;
  EXPECT_NE(late.body.find("between 09:00 and 21:00 Europe/London time"), std::string::npos)
      << late.body;
  EXPECT_NE(late.body.find("21:30 BST"), std::string::npos) << late.body;
  env_.clock_.Set(*ParseTimestamp("2026-04-01T19:30:00Z"));
  EXPECT_EQ(env_.Send("POST", base + "/next", "", &v).status, 200);
}

// A revocation lands before a request or after it, never between its
// decision and its action: 1,000 "next" calls from four threads while an
// administrator revokes the caller's grant. No "phonebank.next" may be
// recorded after the revocation, and every answer given after it refuses.
TEST_P(ApiPhonebankTest, NoCallIsRecordedAfterItsGrantsRevocation) {
  auto [id, token] = LiveCampaign();
  const AccountId caller_id = env_.AddAccount("caller.race");
  TestSession caller = env_.Login("caller.race");
  HttpResponse j = env_.Send("POST", "/api/v1/join/" + token, "", &caller);
  ASSERT_EQ(j.status, 201) << j.body;
  const std::int64_t grant = Body(j)["grant"]["id"];
  const AccountId admin = env_.AddAccount("admin.race");
  env_.Grant(admin, "owner", env_.Root(), env_.clock_.Now() - kMicrosPerDay,
             env_.clock_.Now() + 300 * kMicrosPerDay);
  env_.EnrolTotp(admin);
  TestSession admin_session = env_.Login("admin.race", admin);

  const std::string next = "/api/v1/campaigns/" + std::to_string(id) + "/next";
  constexpr int kCalls = 1000, kThreads = 4;
  std::atomic<int> started{0}, answered{0}, allowed{0}, refused{0}, other{0};
  std::atomic<bool> revoked{false};
  std::atomic<int> allowed_after_revoke{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (started.fetch_add(1) < kCalls) {
        const bool after = revoked.load();
        HttpResponse r = env_.Send("POST", next, "", &caller);
        if (r.status == 200) {
          ++allowed;
          if (after) ++allowed_after_revoke;
        } else if (r.status == 403 || r.status == 401) {
          ++refused;
        } else {
          ++other;
        }
        ++answered;
      }
    });
  }
  HttpResponse rv;
  std::thread revoker([&] {
    while (answered.load() < kCalls / 4) std::this_thread::yield();
    rv = env_.Send("POST", "/api/v1/grants/" + std::to_string(grant) + "/revoke",
                   R"({"reason": "left the campaign"})", &admin_session);
    revoked = true;
  });
  for (auto& t : threads) t.join();
  revoker.join();
  ASSERT_EQ(rv.status, 200) << rv.body;
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(allowed.load(), 0);
  EXPECT_GT(refused.load(), 0);
  // A call that began after the revocation had committed was refused.
  EXPECT_EQ(allowed_after_revoke.load(), 0);

  // In the log's own order: every recorded "next" comes before the revocation.
  std::int64_t revoke_seq = -1;
  std::vector<std::int64_t> next_seqs;
  ASSERT_TRUE(env_.env_.store_
                  ->Read([&](store::Tx& tx) -> Status {
                    audit::QueryFilter f;
                    f.limit = 100'000;
                    SB_ASSIGN_OR_RETURN(auto events, audit::AuditLog::Query(tx, f));
                    for (const auto& e : events) {
                      if (e.action == "grant.revoke" && e.grant_id == grant) revoke_seq = e.seq;
                      if (e.action == "phonebank.next" && e.decision == "allow" &&
                          e.actor == caller_id.value()) {
                        next_seqs.push_back(e.seq);
                      }
                    }
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_GE(revoke_seq, 0);
  EXPECT_EQ(static_cast<int>(next_seqs.size()), allowed.load());
  for (std::int64_t seq : next_seqs) EXPECT_LT(seq, revoke_seq);
}

TEST_P(ApiPhonebankTest, TheSandboxShowsTheVerificationCodeAndSaysSo) {
  env_.AddAccount("volunteer.six");
  TestSession s = env_.Login("volunteer.six");
  HttpResponse e = env_.Send("POST", "/api/v1/me/endpoint", R"({"phone": "07700 900321"})", &s);
  ASSERT_EQ(e.status, 201) << e.body;
  EXPECT_EQ(Body(e)["simulated"], true);
  const std::string code = Body(e)["sandbox_code"];
  EXPECT_EQ(code.size(), 6u);
  HttpResponse v =
      env_.Send("POST", "/api/v1/me/endpoint/verify", nlohmann::json{{"code", code}}.dump(), &s);
  EXPECT_EQ(v.status, 200) << v.body;
}

// A connector that is not a simulator: it texts verification codes (here,
// into `sent`, or fails when `fail` is set) and dials nothing.
class TextingConnector final : public phonebank::Connector {
 public:
  std::string_view name() const override { return "texting-test"; }
  Result<phonebank::CallState> Connect(store::Tx&, const phonebank::Campaign&, AccountId,
                                       const phonebank::Lease&, Micros) override {
    return switchboard::Status::FailedPrecondition("this test connector dials nothing");
  }
  Result<phonebank::CallState> Status(store::Tx&, phonebank::CallId, AccountId, Micros) override {
    return switchboard::Status::NotFound("this test connector has no calls");
  }
  void Dial(phonebank::CallId) override {}
  switchboard::Status Hangup(store::Tx&, phonebank::CallId, AccountId, Micros) override {
    return switchboard::Status::NotFound("this test connector has no calls");
  }
  Result<int> EndCalls(store::Store&, std::optional<phonebank::CampaignId>, Micros) override {
    return 0;
  }
  Result<int> Reconcile(store::Store&, Micros) override { return 0; }
  switchboard::Status SendVerificationCode(std::string_view e164, std::string_view code) override {
    if (fail) return switchboard::Status::Unavailable("the text-message gateway is down");
    sent.emplace_back(e164, code);
    return switchboard::Status::Ok();
  }
  bool fail = false;
  std::vector<std::pair<std::string, std::string>> sent;
};

class ApiTextingConnectorTest : public ApiPhonebankTest {
 protected:
  void SetUp() override {
    env_.connector_ = connector_;
    ApiPhonebankTest::SetUp();
  }
  std::shared_ptr<TextingConnector> connector_ = std::make_shared<TextingConnector>();
};

TEST_P(ApiTextingConnectorTest, TheCodeIsTextedToTheCallerAndNeverShown) {
  env_.AddAccount("volunteer.seven");
  TestSession s = env_.Login("volunteer.seven");
  HttpResponse e = env_.Send("POST", "/api/v1/me/endpoint", R"({"phone": "07700 900321"})", &s);
  ASSERT_EQ(e.status, 201) << e.body;
  EXPECT_EQ(Body(e), (nlohmann::json{{"verification", "sent"}})) << e.body;
  ASSERT_EQ(connector_->sent.size(), 1u);
  const auto [phone, code] = connector_->sent[0];
  EXPECT_EQ(phone, "+447700900321");
  EXPECT_EQ(e.body.find(code), std::string::npos) << e.body;
  EXPECT_EQ(env_.Send("POST", "/api/v1/me/endpoint/verify", R"({"code": "not it"})", &s).status,
            400);
  HttpResponse v =
      env_.Send("POST", "/api/v1/me/endpoint/verify", nlohmann::json{{"code", code}}.dump(), &s);
  EXPECT_EQ(v.status, 200) << v.body;
}

TEST_P(ApiTextingConnectorTest, AFailedTextSaysSoAndVerifiesNothing) {
  connector_->fail = true;
  env_.AddAccount("volunteer.eight");
  TestSession s = env_.Login("volunteer.eight");
  HttpResponse e = env_.Send("POST", "/api/v1/me/endpoint", R"({"phone": "07700 900321"})", &s);
  EXPECT_EQ(e.status, 503) << e.body;
  EXPECT_FALSE(Body(e).contains("sandbox_code")) << e.body;
  EXPECT_EQ(env_.env_.Count("SELECT COUNT(*) FROM caller_endpoints WHERE verified_at IS NOT NULL"),
            0);
  // Asking again once the gateway is back sends a fresh code that works.
  connector_->fail = false;
  e = env_.Send("POST", "/api/v1/me/endpoint", R"({"phone": "07700 900321"})", &s);
  ASSERT_EQ(e.status, 201) << e.body;
  ASSERT_EQ(connector_->sent.size(), 1u);
  EXPECT_EQ(env_.Send("POST", "/api/v1/me/endpoint/verify",
                      nlohmann::json{{"code", connector_->sent[0].second}}.dump(), &s)
                .status,
            200);
}

// A connector that verifies phones by calling them (as the SIP connector
// does, tested against SIPp in phonebank_sip_verify_test): here it records
// the call and reports what the test says.
class CallingConnector final : public phonebank::Connector {
 public:
  std::string_view name() const override { return "calling-test"; }
  Result<phonebank::CallState> Connect(store::Tx&, const phonebank::Campaign&, AccountId,
                                       const phonebank::Lease&, Micros) override {
    return switchboard::Status::FailedPrecondition("this test connector dials nothing");
  }
  Result<phonebank::CallState> Status(store::Tx&, phonebank::CallId, AccountId, Micros) override {
    return switchboard::Status::NotFound("this test connector has no calls");
  }
  void Dial(phonebank::CallId) override {}
  switchboard::Status Hangup(store::Tx&, phonebank::CallId, AccountId, Micros) override {
    return switchboard::Status::NotFound("this test connector has no calls");
  }
  Result<int> EndCalls(store::Store&, std::optional<phonebank::CampaignId>, Micros) override {
    return 0;
  }
  Result<int> Reconcile(store::Store&, Micros) override { return 0; }
  switchboard::Status SendVerificationCode(std::string_view, std::string_view) override {
    return switchboard::Status::Internal("a calling connector texts nothing");
  }
  Verification verification() const override { return Verification::kCall; }
  switchboard::Status CallToVerify(AccountId account, std::string_view e164,
                                   std::size_t code_length,
                                   const phonebank::EndpointRules&) override {
    called.emplace_back(std::string(e164), code_length);
    progress[account.value()] = VerifyProgress{"calling", "", "", 0};
    return switchboard::Status::Ok();
  }
  std::optional<VerifyProgress> VerifyProgressOf(AccountId account) const override {
    auto it = progress.find(account.value());
    if (it == progress.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::pair<std::string, std::size_t>> called;
  std::map<std::int64_t, VerifyProgress> progress;
};

class ApiCallingConnectorTest : public ApiPhonebankTest {
 protected:
  void SetUp() override {
    env_.connector_ = connector_;
    ApiPhonebankTest::SetUp();
  }
  std::shared_ptr<CallingConnector> connector_ = std::make_shared<CallingConnector>();
};

TEST_P(ApiCallingConnectorTest, ThePhoneIsCalledAndTheCodeIsShownToKeyIn) {
  const AccountId id = env_.AddAccount("volunteer.nine");
  TestSession s = env_.Login("volunteer.nine");
  HttpResponse g = env_.Send("GET", "/api/v1/me/endpoint", "", &s);
  ASSERT_EQ(g.status, 200) << g.body;
  EXPECT_EQ(Body(g),
            (nlohmann::json{{"registered", false}, {"verified", false}, {"method", "call"}}));
  HttpResponse e = env_.Send("POST", "/api/v1/me/endpoint", R"({"phone": "07700 900321"})", &s);
  ASSERT_EQ(e.status, 201) << e.body;
  EXPECT_EQ(Body(e)["method"], "call");
  EXPECT_EQ(Body(e)["verification"], "calling");
  EXPECT_EQ(Body(e)["code_minutes"], 10);
  const std::string code = Body(e)["code"];
  EXPECT_EQ(code.size(), 6u);
  ASSERT_EQ(connector_->called.size(), 1u);
  EXPECT_EQ(connector_->called[0], std::make_pair(std::string("+447700900321"), std::size_t{6}));
  // The number never comes back.
  EXPECT_EQ(e.body.find("900321"), std::string::npos) << e.body;
  // Typing the shown code back proves nothing: refused, nothing verified.
  HttpResponse v =
      env_.Send("POST", "/api/v1/me/endpoint/verify", nlohmann::json{{"code", code}}.dump(), &s);
  EXPECT_EQ(v.status, 409) << v.body;
  g = env_.Send("GET", "/api/v1/me/endpoint", "", &s);
  EXPECT_EQ(Body(g)["registered"], true);
  EXPECT_EQ(Body(g)["verified"], false);
  EXPECT_EQ(Body(g)["call"], (nlohmann::json{{"state", "calling"}}));
  connector_->progress[id.value()] =
      phonebank::Connector::VerifyProgress{"wrong", "", "that code is not the one we gave you", 0};
  g = env_.Send("GET", "/api/v1/me/endpoint", "", &s);
  EXPECT_EQ(Body(g)["call"], (nlohmann::json{{"state", "wrong"},
                                             {"message", "that code is not the one we gave you"}}));
  EXPECT_EQ(g.body.find(code), std::string::npos) << g.body;
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiPhonebankTest, ::testing::Values("sqlite", "postgres"));
INSTANTIATE_TEST_SUITE_P(Backends, ApiCallingConnectorTest,
                         ::testing::Values("sqlite", "postgres"));
INSTANTIATE_TEST_SUITE_P(Backends, ApiTextingConnectorTest,
                         ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::server
