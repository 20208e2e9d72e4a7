// The breach register through the API (privacy/breach.h): the affected set
// for "everything account X read between T1 and T2" is checked against what
// a scripted session of X was actually shown, on both backends.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "server/api_testing.h"

namespace switchboard::server {
namespace {

using testing::Body;
using testing::TestSession;
using Classes = std::map<std::int64_t, std::set<std::string>>;

class ApiBreachTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    aldershot_ = env_.Unit("E14000530");
    const Micros now = env_.clock_.Now();
    for (int i = 0; i < 12; ++i) {
      const MemberId m =
          env_.AddMember(std::to_string(100 + i), aldershot_, "Name" + std::to_string(i),
                         "Surname" + std::to_string(i), members::kConsentPhone);
      by_first_name_["Name" + std::to_string(i)] = m.value();
    }
    outsider_ = env_.AddMember("900", env_.Unit("E14000531"), "Far", "Away");
    dpo_ = env_.AddAccount("dpo.one");
    env_.Grant(dpo_, "dpo", env_.Root(), now - 1, now + 300 * kMicrosPerDay);
    env_.EnrolTotp(dpo_);
    x_ = env_.AddAccount("x.staff");
    env_.Grant(x_, "officer", aldershot_, now - 1, now + 300 * kMicrosPerDay);
  }

  void Advance(Micros d) { env_.clock_.Advance(d); }

  // Reads of `r` (a member page or a member list) into `seen`.
  static void Saw(const nlohmann::json& m, Classes& seen) {
    const std::int64_t id = m["id"];
    for (const auto& c : m["field_classes"]) seen[id].insert(c.get<std::string>());
  }

  testing::ApiEnv env_;
  UnitId aldershot_;
  std::map<std::string, std::int64_t> by_first_name_;
  MemberId outsider_;
  AccountId dpo_, x_;
};

TEST_P(ApiBreachTest, TheAffectedSetIsExactlyWhatTheAccountReadInTheWindow) {
  TestSession x = env_.Login("x.staff");
  const std::int64_t before_id = by_first_name_["Name11"];
  // Before the window: X opens one member.
  ASSERT_EQ(env_.Send("GET", "/api/v1/members/" + std::to_string(before_id), "", &x).status, 200);
  Advance(3600 * kMicrosPerSecond);
  const Micros t1 = env_.clock_.Now();

  // Inside the window: a campaign X organises and calls for.
  HttpResponse c =
      env_.Send("POST", "/api/v1/campaigns",
                R"({"name": "AGM calls", "scope": "E14000530", "purpose": "AGM", "ends_at": "+14d",
          "script": "Hello."})",
                &x);
  ASSERT_EQ(c.status, 201) << c.body;
  const std::string base =
      "/api/v1/campaigns/" + std::to_string(Body(c)["campaign"]["id"].get<std::int64_t>());
  std::set<std::string> campaign_classes;
  const nlohmann::json created = Body(c);
  for (const auto& f : created["campaign"]["fields"]) {
    const std::string s = f;
    campaign_classes.insert(s == "first_name" ? "first_name"
                            : s == "branch"   ? "location"
                                              : "membership");
  }
  ASSERT_EQ(env_.Send("POST", base + "/state", R"({"state": "live"})", &x).status, 200);
  HttpResponse inv = env_.Send("POST", base + "/invites", R"({"label": "self"})", &x);
  ASSERT_EQ(inv.status, 201) << inv.body;
  ASSERT_EQ(
      env_.Send("POST", "/api/v1/join/" + Body(inv)["token"].get<std::string>(), "", &x).status,
      201);
  HttpResponse e = env_.Send("POST", "/api/v1/me/endpoint", R"({"phone": "07700 900321"})", &x);
  ASSERT_EQ(e.status, 201) << e.body;
  ASSERT_EQ(env_.Send("POST", "/api/v1/me/endpoint/verify",
                      nlohmann::json{{"code", Body(e)["sandbox_code"]}}.dump(), &x)
                .status,
            200);

  Classes seen;
  // A search page (the page size is small enough to leave members out).
  HttpResponse page = env_.Send("GET", "/api/v1/members?unit=E14000530&page_size=4", "", &x);
  ASSERT_EQ(page.status, 200) << page.body;
  const nlohmann::json listed = Body(page);
  for (const auto& m : listed["members"]) Saw(m, seen);
  ASSERT_FALSE(seen.empty()) << page.body;
  // Two member pages.
  for (const char* name : {"Name5", "Name7"}) {
    HttpResponse v =
        env_.Send("GET", "/api/v1/members/" + std::to_string(by_first_name_[name]), "", &x);
    ASSERT_EQ(v.status, 200) << v.body;
    Saw(Body(v), seen);
  }
  // A phone-bank contact: the caller sees a first name, which names the member.
  HttpResponse next = env_.Send("POST", base + "/next", "", &x);
  ASSERT_EQ(next.status, 200) << next.body;
  const std::string first = Body(next)["contact"]["first_name"];
  ASSERT_TRUE(by_first_name_.count(first)) << first;
  seen[by_first_name_[first]].insert(campaign_classes.begin(), campaign_classes.end());
  // A refused read reveals nothing.
  EXPECT_EQ(env_.Send("GET", "/api/v1/members/" + outsider_.ToString(), "", &x).status, 403);
  Advance(60 * kMicrosPerSecond);
  const Micros t2 = env_.clock_.Now();
  Advance(3600 * kMicrosPerSecond);
  // After the window: another member.
  const std::int64_t after_id = by_first_name_["Name10"];
  ASSERT_EQ(env_.Send("GET", "/api/v1/members/" + std::to_string(after_id), "", &x).status, 200);
  ASSERT_FALSE(seen.count(before_id)) << "choose members the window does not read";
  ASSERT_FALSE(seen.count(after_id));

  // The DPO records the breach and computes its affected members.
  TestSession dpo = env_.Login("dpo.one", dpo_);
  HttpResponse rec =
      env_.Send("POST", "/api/v1/breaches",
                R"({"discovered_at": "now", "description": "X's password was phished",
                                   "data_categories": "names, membership",
                                   "people_categories": "members in Aldershot"})",
                &dpo);
  ASSERT_EQ(rec.status, 201) << rec.body;
  const std::string b =
      "/api/v1/breaches/" + std::to_string(Body(rec)["breach"]["id"].get<std::int64_t>());
  HttpResponse aff = env_.Send(
      "POST", b + "/affected",
      nlohmann::json{
          {"account", x_.value()}, {"from", FormatTimestamp(t1)}, {"to", FormatTimestamp(t2)}}
          .dump(),
      &dpo);
  ASSERT_EQ(aff.status, 200) << aff.body;
  Classes got;
  const nlohmann::json computed = Body(aff);
  for (const auto& m : computed["members"]) {
    const std::int64_t id = m["member"];
    for (const auto& cl : m["field_classes"]) got[id].insert(cl.get<std::string>());
  }
  EXPECT_EQ(got, seen);
  EXPECT_FALSE(got.count(outsider_.value()));
  std::map<std::string, std::int64_t> counts;
  for (const auto& [m, cls] : seen) {
    for (const auto& cl : cls) ++counts[cl];
  }
  const nlohmann::json breach = Body(aff)["breach"];
  EXPECT_EQ(breach["affected"], seen.size());
  EXPECT_EQ(breach["counts"].get<decltype(counts)>(), counts);

  // The snapshot stays as computed; the drafts name no member.
  HttpResponse shown = env_.Send("GET", b, "", &dpo);
  ASSERT_EQ(shown.status, 200) << shown.body;
  EXPECT_EQ(Body(shown)["breach"]["affected"], seen.size());
  for (const char* d : {"regulator", "members"}) {
    const std::string text = Body(shown)["drafts"][d];
    EXPECT_EQ(text.find("Surname"), std::string::npos) << text;
    EXPECT_EQ(text.find("@example.org"), std::string::npos) << text;
    EXPECT_EQ(text.find("7700900"), std::string::npos) << text;
    for (const auto& [name, id] : by_first_name_) {
      EXPECT_EQ(text.find(name + "\n"), std::string::npos) << name;
      EXPECT_EQ(text.find(name + " "), std::string::npos) << name;
    }
  }
  EXPECT_NE(Body(shown)["drafts"]["regulator"].get<std::string>().find(std::to_string(seen.size()) +
                                                                       " members affected"),
            std::string::npos);
  EXPECT_FALSE(env_.Events("breach.affected").empty());

  // The export scope through the route: one scope only, and no export is
  // no answer (the computation itself: privacy/breach_export_test.cc).
  HttpResponse two = env_.Send("POST", b + "/affected",
                               nlohmann::json{{"account", x_.value()}, {"export", 1}}.dump(), &dpo);
  EXPECT_EQ(two.status, 400) << two.body;
  HttpResponse none =
      env_.Send("POST", b + "/affected", nlohmann::json{{"export", 999}}.dump(), &dpo);
  EXPECT_EQ(none.status, 404) << none.body;
  EXPECT_EQ(Body(env_.Send("GET", b, "", &dpo))["breach"]["affected"], seen.size());
}

TEST_P(ApiBreachTest, TheDeadlineCountsFromDiscoveryAndEditsAreAudited) {
  TestSession dpo = env_.Login("dpo.one", dpo_);
  const Micros now = env_.clock_.Now();
  HttpResponse rec = env_.Send(
      "POST", "/api/v1/breaches",
      nlohmann::json{{"discovered_at", FormatTimestamp(now - 30 * 3600 * kMicrosPerSecond)},
                     {"description", "A laptop with an export was stolen"},
                     {"data_categories", "names"},
                     {"people_categories", "members"}}
          .dump(),
      &dpo);
  ASSERT_EQ(rec.status, 201) << rec.body;
  const nlohmann::json b = Body(rec)["breach"];
  EXPECT_EQ(b["deadline"], FormatTimestamp(now + 42 * 3600 * kMicrosPerSecond));
  EXPECT_EQ(b["deadline_text"], "1 day 18 hours left");
  EXPECT_EQ(b["status"], "open");
  const std::string path = "/api/v1/breaches/" + std::to_string(b["id"].get<std::int64_t>());
  // In the future, or with a field missing: refused, nothing changed.
  EXPECT_EQ(env_.Send("PATCH", path, R"({"reported_at": "+1d"})", &dpo).status, 400);
  EXPECT_EQ(env_.Send("POST", "/api/v1/breaches", R"({"discovered_at": "now"})", &dpo).status, 400);
  Advance(43 * 3600 * kMicrosPerSecond);
  dpo = env_.Login("dpo.one", dpo_);  // a privileged session idles out in 30 minutes
  HttpResponse late = env_.Send("GET", path, "", &dpo);
  EXPECT_TRUE(Body(late)["breach"]["overdue"].get<bool>());
  EXPECT_EQ(Body(late)["breach"]["deadline_text"], "overdue by 1 hour");
  HttpResponse rep =
      env_.Send("PATCH", path, R"({"reported_at": "now", "measures": "Passwords reset"})", &dpo);
  ASSERT_EQ(rep.status, 200) << rep.body;
  EXPECT_EQ(Body(rep)["breach"]["status"], "reported");
  EXPECT_FALSE(Body(rep)["breach"]["overdue"].get<bool>());
  const auto events = env_.Events("breach.update");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].actor, dpo_.value());
  EXPECT_NE(events[0].rule.find("measures"), std::string::npos);
  EXPECT_NE(events[0].rule.find("reported_at"), std::string::npos);
  // Without privacy.breach: refused.
  AccountId other = env_.AddAccount("not.dpo");
  env_.Grant(other, "officer", aldershot_, env_.clock_.Now() - 1,
             env_.clock_.Now() + kMicrosPerDay);
  TestSession o = env_.Login("not.dpo");
  EXPECT_EQ(env_.Send("GET", "/api/v1/breaches", "", &o).status, 403);
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiBreachTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::server
