// Subject access through the API (issue 18): a member touched by a phone
// bank, a mailing, a search page and a refused probe gets a report that
// lists each of those and nothing about the neighbour who shared every one
// of them; the DPO's request queue. Both backends.
#include <gtest/gtest.h>

#include <regex>

#include "audit/audit_log.h"
#include "server/api_testing.h"

namespace switchboard::server {
namespace {

using testing::Body;
using testing::TestSession;

class ApiPrivacyTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    aldershot_ = env_.Unit("E14000530");
    const Micros now = env_.clock_.Now();
    organiser_ = env_.AddAccount("organiser.one");
    env_.Grant(organiser_, "officer", aldershot_, now - 1, now + 200 * kMicrosPerDay);
    dpo_ = env_.AddAccount("dpo.one");
    env_.Grant(dpo_, "dpo", env_.Root(), now - 1, now + 200 * kMicrosPerDay);
    env_.EnrolTotp(dpo_);
    // Two members of one household: same unit, same surname, both in the
    // campaign, the mailing and the search page.
    const std::uint32_t both = members::kConsentPhone | members::kConsentEmail;
    ada_ = env_.AddMember("101", aldershot_, "Adaline", "Sharedhouse", both);
    ben_ = env_.AddMember("102", aldershot_, "Benedikt", "Sharedhouse", both);
    org_ = env_.Login("organiser.one");
  }

  // A live campaign over the unit, a volunteer who calls everyone in it.
  void PhoneBank() {
    HttpResponse c = env_.Send(
        "POST", "/api/v1/campaigns",
        R"({"name": "AGM calls", "scope": "E14000530", "purpose": "invite members to the AGM",
            "ends_at": "+14d", "script": "Hello.",
            "survey": [{"id": "agm", "question": "Coming to the AGM?", "type": "yesno"}]})",
        &org_);
    ASSERT_EQ(c.status, 201) << c.body;
    campaign_ = Body(c)["campaign"]["id"];
    const std::string base = "/api/v1/campaigns/" + std::to_string(campaign_);
    ASSERT_EQ(env_.Send("POST", base + "/state", R"({"state": "live"})", &org_).status, 200);
    HttpResponse inv =
        env_.Send("POST", base + "/invites", R"({"label": "x", "max_joins": 5})", &org_);
    ASSERT_EQ(inv.status, 201) << inv.body;
    caller_ = env_.AddAccount("volunteer.one");
    vol_ = env_.Login("volunteer.one");
    ASSERT_EQ(env_.Send("POST", "/api/v1/join/" + Body(inv)["token"].get<std::string>(), "", &vol_)
                  .status,
              201);
    HttpResponse e =
        env_.Send("POST", "/api/v1/me/endpoint", R"({"phone": "07700 900321"})", &vol_);
    ASSERT_EQ(e.status, 201) << e.body;
    ASSERT_EQ(env_.Send("POST", "/api/v1/me/endpoint/verify",
                        nlohmann::json{{"code", Body(e)["sandbox_code"]}}.dump(), &vol_)
                  .status,
              200);
    for (int i = 0; i < 2; ++i) {
      HttpResponse next = env_.Send("POST", base + "/next", "", &vol_);
      ASSERT_EQ(next.status, 200) << next.body;
      // Each member answers differently, so one's answers cannot hide in the other's report.
      const bool yes = Body(next)["contact"]["first_name"] == "Adaline";
      // The sandbox connects calls 1 and 2 and ends them after 25 s.
      HttpResponse call = env_.Send("POST", base + "/connect", "", &vol_);
      ASSERT_EQ(call.status, 201) << call.body;
      env_.clock_.Advance(30 * kMicrosPerSecond);
      HttpResponse st = env_.Send(
          "GET", "/api/v1/calls/" + std::to_string(Body(call)["call"]["id"].get<int>()), "", &vol_);
      ASSERT_EQ(Body(st)["call"]["state"], "ended") << st.body;
      ASSERT_EQ(Body(st)["call"]["end"], "completed") << st.body;
      HttpResponse out = env_.Send("POST", base + "/outcome",
                                   yes ? R"({"outcome": "answered", "answers": {"agm": true}})"
                                       : R"({"outcome": "answered", "answers": {"agm": false}})",
                                   &vol_);
      ASSERT_EQ(out.status, 200) << out.body;
    }
  }

  void Mailing() {
    HttpResponse d = env_.Send("POST", "/api/v1/messages",
                               nlohmann::json{{"scope", "E14000530"},
                                              {"kind", "campaign"},
                                              {"subject", "Branch news for {{first_name}}"},
                                              {"text_body", "Dear {{first_name}}, hello."}}
                                   .dump(),
                               &org_);
    ASSERT_EQ(d.status, 201) << d.body;
    message_ = Body(d)["message"]["id"];
    HttpResponse s = env_.Send("POST", "/api/v1/messages/" + std::to_string(message_) + "/send",
                               R"({"version": 1})", &org_);
    ASSERT_EQ(s.status, 202) << s.body;
    ASSERT_EQ(Body(s)["queued"], 2);
  }

  testing::ApiEnv env_;
  UnitId aldershot_;
  AccountId organiser_, dpo_, caller_;
  MemberId ada_, ben_;
  TestSession org_, vol_;
  std::int64_t campaign_ = 0, message_ = 0;
};

TEST_P(ApiPrivacyTest, TheReportListsThePhoneBankMailingSearchAndRefusedProbeAndNoNeighbour) {
  PhoneBank();
  if (HasFatalFailure()) return;
  Mailing();
  if (HasFatalFailure()) return;
  // A search page naming both; a caller's probe for Ada's record, refused.
  ASSERT_EQ(env_.Send("GET", "/api/v1/members?unit=E14000530", "", &org_).status, 200);
  ASSERT_EQ(env_.Send("GET", "/api/v1/members/" + ada_.ToString(), "", &vol_).status, 403);

  TestSession dpo = env_.Login("dpo.one", dpo_);
  HttpResponse rep =
      env_.Send("GET", "/api/v1/privacy/members/" + ada_.ToString() + "/report", "", &dpo);
  ASSERT_EQ(rep.status, 200) << rep.body;
  const nlohmann::json j = Body(rep);
  EXPECT_EQ(j["member"]["first_name"], "Adaline");
  EXPECT_EQ(j["member"]["contact_points"][0]["value"], "101@example.org");

  // The phone bank: the campaign, Ada's one call and her own answer.
  ASSERT_EQ(j["phone_bank"]["campaigns"].size(), 1u);
  EXPECT_EQ(j["phone_bank"]["campaigns"][0]["purpose"], "invite members to the AGM");
  ASSERT_EQ(j["phone_bank"]["calls"].size(), 1u) << j["phone_bank"].dump();
  EXPECT_EQ(j["phone_bank"]["calls"][0]["answers"]["agm"], true);
  // The mailing: her copy only.
  ASSERT_EQ(j["email"]["messages"].size(), 1u);
  EXPECT_EQ(j["email"]["messages"][0]["message"], message_);

  // The audit trail: the lease, the outcome, the search, the refused probe.
  std::map<std::string, nlohmann::json> by_action;
  for (const auto& e : j["audit"]["events"]) {
    by_action[e["action"].get<std::string>() + "/" + e["decision"].get<std::string>()] = e;
  }
  ASSERT_TRUE(by_action.count("phonebank.next/allow")) << j["audit"].dump();
  EXPECT_EQ(by_action["phonebank.next/allow"]["purpose"], "invite members to the AGM");
  EXPECT_EQ(by_action["phonebank.next/allow"]["actor"]["id"], caller_.value());
  ASSERT_TRUE(by_action.count("phonebank.outcome/allow"));
  ASSERT_TRUE(by_action.count("member.search/allow"));
  EXPECT_EQ(by_action["member.search/allow"]["role"], "officer");
  EXPECT_EQ(by_action["member.search/allow"]["unit"]["code"], "E14000530");
  EXPECT_EQ(by_action["member.search/allow"]["purpose"], "test purpose");
  EXPECT_TRUE(by_action["member.search/allow"]["with_other_members"].get<bool>());
  ASSERT_TRUE(by_action.count("member.view/deny")) << j["audit"].dump();
  EXPECT_EQ(by_action["member.view/deny"]["actor"]["id"], caller_.value());

  // Nothing about Ben, in any form.
  TestSession dpo2 = dpo;
  for (std::string format : {"json", "html"}) {
    for (std::string audience : {"dpo", "member"}) {
      HttpResponse r = env_.Send("GET",
                                 "/api/v1/privacy/members/" + ada_.ToString() +
                                     "/report?format=" + format + "&audience=" + audience,
                                 "", &dpo2);
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(r.body.find("Benedikt"), std::string::npos) << format << " " << audience;
      EXPECT_EQ(r.body.find("102@example.org"), std::string::npos);
      EXPECT_EQ(r.body.find("+447700900102"), std::string::npos);
      EXPECT_EQ(r.body.find("\"agm\":false"), std::string::npos);
      EXPECT_EQ(r.body.find("&quot;agm&quot;:false"), std::string::npos);
      EXPECT_NE(r.body.find("Adaline"), std::string::npos);
      if (audience == "member") {
        // Volunteers by role and unit, not by name.
        EXPECT_EQ(r.body.find("\"actor\""), std::string::npos);
        EXPECT_EQ(r.body.find("Test"), std::string::npos) << "an account's display name";
      }
    }
  }
  // Each report is itself on the record, naming Ada alone.
  auto sar = env_.Events("privacy.sar");
  ASSERT_EQ(sar.size(), 5u);
  EXPECT_EQ(sar[0].members, std::vector<std::int64_t>{ada_.value()});
  EXPECT_EQ(sar[0].actor, dpo_.value());
}

TEST_P(ApiPrivacyTest, OnlyTheDpoGetsAReport) {
  HttpResponse r =
      env_.Send("GET", "/api/v1/privacy/members/" + ada_.ToString() + "/report", "", &org_);
  EXPECT_EQ(r.status, 403) << r.body;
  // The refusal is on the record; no report was made.
  auto events = env_.Events("privacy.sar");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].decision, "deny");
  EXPECT_EQ(events[0].members, std::vector<std::int64_t>{ada_.value()});
}

// The console's proofs come from one read of the log kept for later
// requests: every size up to the largest read, and a larger one after the
// log grew, give the proofs and roots the log itself gives.
TEST_P(ApiPrivacyTest, TheProofRouteAnswersAsTheLogForEverySizeAsTheLogGrows) {
  TestSession dpo = env_.Login("dpo.one", dpo_);
  auto check = [&](std::int64_t seq, std::int64_t size) {
    HttpResponse r = env_.Send(
        "GET", "/api/v1/audit/proof?seq=" + std::to_string(seq) + "&size=" + std::to_string(size),
        "", &dpo);
    ASSERT_EQ(r.status, 200) << r.body;
    std::vector<audit::Hash> want;
    audit::Hash root{};
    ASSERT_TRUE(env_.env_.store_
                    ->Read([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(want, audit::AuditLog::Prove(tx, seq, size));
                      SB_ASSIGN_OR_RETURN(root, audit::AuditLog::RootAt(tx, size));
                      return Status::Ok();
                    })
                    .ok());
    nlohmann::json hashes = nlohmann::json::array();
    for (const auto& h : want) hashes.push_back(audit::ToHex(h));
    EXPECT_EQ(Body(r)["proof"], hashes) << seq << " of " << size;
    EXPECT_EQ(Body(r)["root"], audit::ToHex(root)) << size;
  };
  auto log_size = [&] {
    std::int64_t n = 0;
    EXPECT_TRUE(env_.env_.store_
                    ->Read([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(n, audit::AuditLog::Size(tx));
                      return Status::Ok();
                    })
                    .ok());
    return n;
  };
  PhoneBank();
  const std::int64_t first = log_size();
  ASSERT_GE(first, 3);
  check(first - 1, first);  // reads the whole log
  check(0, first - 1);      // smaller trees from the same read
  check(1, 2);
  for (int i = 0; i < 3; ++i) {  // the log grows: refusals are on the record
    ASSERT_EQ(env_.Send("GET", "/api/v1/privacy/members/" + ada_.ToString() + "/report", "", &org_)
                  .status,
              403);
  }
  const std::int64_t later = log_size();
  ASSERT_GT(later, first);
  check(first, later);
  check(first - 1, first);
  // Out of range: a clear refusal, not a proof.
  EXPECT_EQ(env_.Send("GET",
                      "/api/v1/audit/proof?seq=" + std::to_string(later) +
                          "&size=" + std::to_string(later),
                      "", &dpo)
                .status,
            400);
  EXPECT_EQ(
      env_.Send("GET", "/api/v1/audit/proof?seq=0&size=" + std::to_string(later + 1000), "", &dpo)
          .status,
      404);
}

TEST_P(ApiPrivacyTest, TheQueueCountsDownAndClosingAnAccessRequestAnswersIt) {
  TestSession dpo = env_.Login("dpo.one", dpo_);
  HttpResponse made = env_.Send("POST", "/api/v1/privacy/requests",
                                nlohmann::json{{"kind", "access"},
                                               {"member", ada_.value()},
                                               {"source", "letter"},
                                               {"received", "2026-02-28"}}
                                    .dump(),
                                &dpo);
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(Body(made)["request"]["due_on"], "2026-03-28");
  EXPECT_EQ(Body(made)["request"]["days_left"], 26);  // today is 2 March
  EXPECT_EQ(env_.Send("POST", "/api/v1/privacy/requests",
                      R"({"kind": "gossip", "member": 1, "source": "letter"})", &dpo)
                .status,
            400);

  env_.clock_.Set(*ParseTimestamp("2026-03-25T09:00:00Z"));
  dpo = env_.Login("dpo.one", dpo_);
  HttpResponse rem = env_.Send("GET", "/api/v1/privacy/reminders", "", &dpo);
  ASSERT_EQ(rem.status, 200) << rem.body;
  EXPECT_EQ(Body(rem)["due_soon"], 1);
  EXPECT_EQ(Body(rem)["reminders"][0]["days_left"], 3);

  const std::string id = std::to_string(Body(made)["request"]["id"].get<std::int64_t>());
  HttpResponse closed = env_.Send("POST", "/api/v1/privacy/requests/" + id + "/close", "", &dpo);
  ASSERT_EQ(closed.status, 200) << closed.body;
  EXPECT_EQ(Body(closed)["request"]["state"], "closed");
  EXPECT_EQ(Body(closed)["report"]["member"]["first_name"], "Adaline");
  EXPECT_EQ(env_.Events("privacy.sar").size(), 1u);
  EXPECT_EQ(env_.Send("POST", "/api/v1/privacy/requests/" + id + "/close", "", &dpo).status, 409);
  HttpResponse open = env_.Send("GET", "/api/v1/privacy/requests?open=true", "", &dpo);
  EXPECT_EQ(Body(open)["requests"].size(), 0u);
  HttpResponse all = env_.Send("GET", "/api/v1/privacy/requests", "", &dpo);
  EXPECT_EQ(Body(all)["requests"].size(), 1u);
  EXPECT_EQ(Body(all)["requests"][0]["closed_by"], dpo_.value());
}

// "Who saw my data": the member's own link.
class MyReportTest : public ApiPrivacyTest {
 protected:
  HttpResponse From(const std::string& method, const std::string& target, const std::string& body,
                    const std::string& remote, const std::string& type = "application/json") {
    std::map<std::string, std::string> headers{{"host", "127.0.0.1:8080"}};
    if (!body.empty()) headers["content-type"] = type;
    HttpRequest req = MakeRequest(method, target, body, headers);
    req.remote = remote;
    return env_.http_->Dispatch(req);
  }
  HttpResponse Ask(const std::string& email, const std::string& remote = "192.0.2.10") {
    return From("POST", "/api/v1/privacy/my-report", nlohmann::json{{"email", email}}.dump(),
                remote);
  }
  // The mails queued so far: (to, text).
  std::vector<std::pair<std::string, std::string>> Mails() {
    std::vector<std::pair<std::string, std::string>> out;
    EXPECT_TRUE(env_.env_.store_
                    ->Read([&](store::Tx& tx) {
                      return tx.Query(
                          "SELECT key_id, sealed FROM account_mail ORDER BY id", {},
                          [&](const store::Row& r) {
                            auto m = env_.env_.sealer_->Open(
                                {static_cast<std::uint32_t>(r.Int(0)), std::string(r.Bytes(1))},
                                "account-mail");
                            auto j = nlohmann::json::parse(m ? *m : "{}");
                            out.emplace_back(j.value("to", ""), j.value("text", ""));
                            return true;
                          });
                    })
                    .ok());
    return out;
  }
  static std::string TokenIn(const std::string& text) {
    std::smatch m;
    return std::regex_search(text, m, std::regex("/my-data/([A-Za-z0-9_-]{43})")) ? m[1].str() : "";
  }
  void SetUp() override {
    ApiPrivacyTest::SetUp();
    registered_ = false;
  }
  void Pages() {
    if (!registered_) env_.api_->RegisterMyDataPages(*env_.http_);
    registered_ = true;
  }
  bool registered_ = false;
};

TEST_P(MyReportTest, KnownAndUnknownAddressesGetByteIdenticalAnswers) {
  HttpResponse known = Ask("101@example.org");
  HttpResponse unknown = Ask("nobody@example.org");
  ASSERT_EQ(known.status, 202) << known.body;
  EXPECT_EQ(unknown.status, known.status);
  EXPECT_EQ(unknown.body, known.body);
  EXPECT_EQ(unknown.content_type, known.content_type);
  // Only the known address got mail, and only at the address on record.
  auto mails = Mails();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0].first, "101@example.org");
  EXPECT_FALSE(TokenIn(mails[0].second).empty());
  // A differently typed form of the same address reaches the same place.
  HttpResponse cased = Ask(" 101@EXAMPLE.org ");
  EXPECT_EQ(cased.body, known.body);
  ASSERT_EQ(Mails().size(), 2u);
  EXPECT_EQ(Mails()[1].first, "101@example.org");
  // The audit log has the requests, never the address.
  auto asked = env_.Events("privacy.report_link_request");
  ASSERT_EQ(asked.size(), 3u);
  EXPECT_EQ(asked[0].members, std::vector<std::int64_t>{ada_.value()});
  EXPECT_TRUE(asked[1].members.empty());
  EXPECT_EQ(asked[1].rule, "link.unknown");
  const std::string raw = [&] {
    std::string all;
    EXPECT_TRUE(env_.env_.store_
                    ->Read([&](store::Tx& tx) {
                      return tx.Query("SELECT body FROM audit_events", {},
                                      [&](const store::Row& r) {
                                        all += std::string(r.Text(0));
                                        return true;
                                      });
                    })
                    .ok());
    return all;
  }();
  EXPECT_EQ(raw.find("example.org"), std::string::npos);
  EXPECT_EQ(raw.find("EXAMPLE"), std::string::npos);
}

TEST_P(MyReportTest, ALinkOpensTheMembersOwnReportOnceAndExpires) {
  ASSERT_EQ(Ask("101@example.org").status, 202);
  const std::string token = TokenIn(Mails().back().second);
  HttpResponse open = From("POST", "/api/v1/privacy/my-report/open",
                           R"({"token": ")" + token + R"("})", "192.0.2.10");
  ASSERT_EQ(open.status, 200) << open.body;
  const auto j = Body(open);
  EXPECT_EQ(j["member"]["first_name"], "Adaline");
  EXPECT_EQ(open.body.find("Benedikt"), std::string::npos);
  EXPECT_EQ(j["preferences_url"].get<std::string>().rfind("/preferences/", 0), 0u);
  // The member's own look is on the record as theirs.
  auto sar = env_.Events("privacy.sar");
  ASSERT_EQ(sar.size(), 1u);
  EXPECT_FALSE(sar[0].actor.has_value());
  EXPECT_EQ(sar[0].members, std::vector<std::int64_t>{ada_.value()});
  // Once only.
  HttpResponse again = From("POST", "/api/v1/privacy/my-report/open",
                            R"({"token": ")" + token + R"("})", "192.0.2.10");
  EXPECT_EQ(again.status, 404) << again.body;
  // A fresh link expires after [login] link_minutes.
  ASSERT_EQ(Ask("101@example.org").status, 202);
  const std::string later = TokenIn(Mails().back().second);
  ASSERT_NE(later, token);
  env_.clock_.Advance((env_.policy_.link_minutes * 60 + 1) * kMicrosPerSecond);
  EXPECT_EQ(From("POST", "/api/v1/privacy/my-report/open", R"({"token": ")" + later + R"("})",
                 "192.0.2.10")
                .status,
            404);
  // A sign-up link's route does not take a report link.
  ASSERT_EQ(Ask("101@example.org", "192.0.2.77").status, 202);
  const std::string third = TokenIn(Mails().back().second);
  EXPECT_EQ(
      From("POST", "/api/v1/account-link/check", R"({"token": ")" + third + R"("})", "192.0.2.10")
          .status,
      404);
  EXPECT_EQ(env_.Events("privacy.sar").size(), 1u);
}

TEST_P(MyReportTest, RequestsAreThrottledPerAddressAndPerNetworkAlikeForAnyone) {
  // Per typed address: known and unknown refused at the same count.
  for (std::string who : {"101@example.org", "nobody@example.org"}) {
    for (int i = 0; i < env_.policy_.link_requests_per_identifier; ++i) {
      EXPECT_EQ(Ask(who, "192.0.2." + std::to_string(20 + i)).status, 202) << who << i;
    }
    HttpResponse refused = Ask(who, "192.0.2.99");
    EXPECT_EQ(refused.status, 429) << who;
  }
  // Per client network: many addresses from one network.
  int asked = 0;
  for (int i = 0; i < env_.policy_.link_requests_per_address + 1; ++i) {
    HttpResponse r = Ask("someone" + std::to_string(i) + "@example.org", "198.51.100.7");
    if (r.status == 202) ++asked;
    if (r.status == 429) break;
  }
  EXPECT_EQ(asked, env_.policy_.link_requests_per_address);
}

TEST_P(MyReportTest, ThePagesShowTheReportOnceAndSaveConsentThroughThePreferencesPage) {
  Pages();
  HttpResponse form = From("GET", "/my-data", "", "192.0.2.10");
  ASSERT_EQ(form.status, 200);
  HttpResponse known = From("POST", "/my-data", "email=101%40example.org", "192.0.2.10",
                            "application/x-www-form-urlencoded");
  HttpResponse unknown = From("POST", "/my-data", "email=nobody%40example.org", "192.0.2.10",
                              "application/x-www-form-urlencoded");
  ASSERT_EQ(known.status, 202) << known.body;
  EXPECT_EQ(unknown.status, 202);
  EXPECT_EQ(unknown.body, known.body);
  const std::string token = TokenIn(Mails().back().second);
  // A GET (a mail scanner) spends nothing.
  ASSERT_EQ(From("GET", "/my-data/" + token, "", "192.0.2.10").status, 200);
  HttpResponse page =
      From("POST", "/my-data/" + token, "", "192.0.2.10", "application/x-www-form-urlencoded");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_NE(page.body.find("Adaline"), std::string::npos);
  EXPECT_EQ(page.body.find("Benedikt"), std::string::npos);
  EXPECT_NE(page.body.find("action=\"/preferences/"), std::string::npos);
  bool csp = false;
  for (const auto& [k, v] : page.headers) {
    if (k == "Content-Security-Policy") csp = v.find("default-src 'none'") == 0;
  }
  EXPECT_TRUE(csp);
  EXPECT_EQ(From("POST", "/my-data/" + token, "", "192.0.2.10", "application/x-www-form-urlencoded")
                .status,
            404);
}

INSTANTIATE_TEST_SUITE_P(Backends, MyReportTest, ::testing::Values("sqlite", "postgres"));

INSTANTIATE_TEST_SUITE_P(Backends, ApiPrivacyTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::server
