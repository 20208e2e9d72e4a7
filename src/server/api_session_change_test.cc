// One session kept open while access changes under it. A signed-in request
// is resumed from what AuthService remembers of the session (its account and
// grants, read at an access version: access_store.h), so each test here signs
// in ONCE and keeps that token across a grant's end, a revocation, a
// suspension and a role change, on both backends. A member read, a phone-bank
// call (next, connect, outcome) and an e-mail approval are allowed before the
// change and refused after it, and nothing is read, called, recorded or
// approved once refused.
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "server/api_testing.h"

namespace switchboard::server {
namespace {

using testing::Body;
using testing::TestSession;

enum class Change { kGrantEnds, kRevoked, kSuspended, kRoleChanged };

std::string ChangeName(Change c) {
  switch (c) {
    case Change::kGrantEnds:
      return "GrantEnds";
    case Change::kRevoked:
      return "Revoked";
    case Change::kSuspended:
      return "Suspended";
    case Change::kRoleChanged:
      return "RoleChanged";
  }
  return "";
}

class ApiSessionChangeTest : public ::testing::TestWithParam<std::tuple<std::string, Change>> {
 protected:
  void SetUp() override {
    env_.SetUp(std::get<0>(GetParam()));
    if (HasFatalFailure()) return;
    start_ = env_.clock_.Now();  // 10:00 in London, inside calling hours
    grant_end_ = start_ + 2 * 3600 * kMicrosPerSecond;
    aldershot_ = env_.Unit("E14000530");
    south_east_ = env_.env_.tree_.Find(aldershot_)->parent;
    admin_ = env_.AddAccount("admin.one");
    env_.Grant(admin_, "owner", env_.Root(), start_ - kMicrosPerDay, start_ + 300 * kMicrosPerDay);
    env_.EnrolTotp(admin_);  // owner is privileged
    admin_session_ = env_.Login("admin.one", admin_);
  }

  Change change() const { return std::get<1>(GetParam()); }

  // Makes the change to `who`, whose capability comes from grant `grant`
  // (ending at grant_end_). A role change replaces that grant by one for
  // `lesser` (a role without the capability) over `scope`.
  void Apply(AccountId who, std::int64_t grant, const std::string& lesser, UnitId scope) {
    const std::string g = "/api/v1/grants/" + std::to_string(grant);
    switch (change()) {
      case Change::kGrantEnds:
        env_.clock_.Set(grant_end_ + 60 * kMicrosPerSecond);
        return;
      case Change::kRevoked: {
        env_.clock_.Advance(10 * 60 * kMicrosPerSecond);
        HttpResponse r =
            env_.Send("POST", g + "/revoke", R"({"reason": "left the team"})", &admin_session_);
        ASSERT_EQ(r.status, 200) << r.body;
        return;
      }
      case Change::kSuspended: {
        env_.clock_.Advance(10 * 60 * kMicrosPerSecond);
        HttpResponse r = env_.Send("POST", "/api/v1/accounts/" + who.ToString() + "/suspend",
                                   R"({"reason": "reported lost laptop"})", &admin_session_);
        ASSERT_EQ(r.status, 200) << r.body;
        return;
      }
      case Change::kRoleChanged: {
        env_.clock_.Advance(10 * 60 * kMicrosPerSecond);
        HttpResponse r =
            env_.Send("POST", g + "/revoke", R"({"reason": "new role"})", &admin_session_);
        ASSERT_EQ(r.status, 200) << r.body;
        HttpResponse add =
            env_.Send("POST", "/api/v1/grants",
                      nlohmann::json{{"account", who.ToString()},
                                     {"role", lesser},
                                     {"scope", env_.env_.tree_.Find(scope)->code},
                                     {"purpose", "new role"},
                                     {"reason", "new role"},
                                     {"not_after", FormatTimestamp(start_ + 30 * kMicrosPerDay)}}
                          .dump(),
                      &admin_session_);
        ASSERT_EQ(add.status, 201) << add.body;
        return;
      }
    }
  }

  // A refusal after the change: the access decision on the session's grants
  // as they are now, or (suspension) the session has ended.
  void ExpectRefused(const HttpResponse& r, const std::string& what) {
    nlohmann::json error = Body(r)["error"];
    if (change() == Change::kSuspended) {
      EXPECT_EQ(r.status, 401) << what << ": " << r.body;
      EXPECT_EQ(error["code"], "session_ended") << what << ": " << r.body;
      return;
    }
    EXPECT_EQ(r.status, 403) << what << ": " << r.body;
    EXPECT_EQ(error["code"], "denied") << what << ": " << r.body;
    EXPECT_EQ(error["rule"], change() == Change::kGrantEnds ? "grant.ended" : "grant.revoked")
        << what << ": " << r.body;
  }

  // The same session afterwards: still open, holding only the roles now in
  // force (nothing for an ended or revoked grant, the new role after a role
  // change), or ended for good by a suspension, even once reinstated.
  void ExpectSessionAfter(const TestSession& s, AccountId who, const std::string& lesser) {
    HttpResponse r = env_.Send("GET", "/api/v1/session", "", &s);
    if (change() == Change::kSuspended) {
      EXPECT_EQ(r.status, 401) << r.body;
      HttpResponse back = env_.Send("POST", "/api/v1/accounts/" + who.ToString() + "/reinstate",
                                    R"({"reason": "laptop found"})", &admin_session_);
      ASSERT_EQ(back.status, 200) << back.body;
      EXPECT_EQ(env_.Send("GET", "/api/v1/session", "", &s).status, 401);
    } else {
      ASSERT_EQ(r.status, 200) << r.body;
      std::vector<std::string> roles;
      const nlohmann::json session = Body(r);
      for (const auto& g : session["grants"]) roles.push_back(g["role"]);
      EXPECT_EQ(roles, change() == Change::kRoleChanged ? std::vector<std::string>{lesser}
                                                        : std::vector<std::string>{})
          << r.body;
    }
    // One sign-in: every request above used the token it issued.
    int logins = 0;
    for (const auto& e : env_.Events("session.login")) logins += e.actor == who.value();
    EXPECT_EQ(logins, 1);
  }

  // Events recorded for `action` that were not refusals.
  int Done(std::string_view action) {
    int n = 0;
    for (const auto& e : env_.Events(action)) n += e.decision != "deny";
    return n;
  }

  testing::ApiEnv env_;
  Micros start_ = 0, grant_end_ = 0;
  UnitId aldershot_, south_east_;
  AccountId admin_;
  TestSession admin_session_;
};

TEST_P(ApiSessionChangeTest, AMemberRead) {
  const MemberId ada = env_.AddMember("101", aldershot_, "Ada", "Lovelace");
  const MemberId alan = env_.AddMember("102", aldershot_, "Alan", "Turing");
  const AccountId reader = env_.AddAccount("officer.reader");
  const access::GrantId grant =
      env_.Grant(reader, "officer", aldershot_, start_ - kMicrosPerDay, grant_end_);
  const TestSession s = env_.Login("officer.reader");

  HttpResponse before = env_.Send("GET", "/api/v1/members/" + ada.ToString(), "", &s);
  ASSERT_EQ(before.status, 200) << before.body;
  EXPECT_NE(before.body.find("Lovelace"), std::string::npos) << before.body;
  const int reads = Done("member.view");
  EXPECT_EQ(reads, 1);

  // candidate_campaign: drafts and calls, reads no register.
  Apply(reader, grant.value(), "candidate_campaign", aldershot_);
  for (MemberId m : {ada, alan}) {
    HttpResponse after = env_.Send("GET", "/api/v1/members/" + m.ToString(), "", &s);
    ExpectRefused(after, "members.view " + m.ToString());
    EXPECT_EQ(after.body.find("Lovelace"), std::string::npos) << after.body;
    EXPECT_EQ(after.body.find("Turing"), std::string::npos) << after.body;
  }
  EXPECT_EQ(Done("member.view"), reads);
  ExpectSessionAfter(s, reader, "candidate_campaign");
}

TEST_P(ApiSessionChangeTest, APhoneBankCall) {
  for (int i = 0; i < 5; ++i) {
    env_.AddMember(std::to_string(100 + i), aldershot_, "Name" + std::to_string(i), "Surname",
                   members::kConsentPhone);
  }
  const AccountId organiser = env_.AddAccount("organiser.one");
  env_.Grant(organiser, "officer", aldershot_, start_ - kMicrosPerDay, start_ + 30 * kMicrosPerDay);
  const TestSession org = env_.Login("organiser.one");
  // The callers' grants end with the campaign.
  HttpResponse c = env_.Send("POST", "/api/v1/campaigns",
                             nlohmann::json{{"name", "Evening calls"},
                                            {"scope", "E14000530"},
                                            {"purpose", "invite members to the AGM"},
                                            {"ends_at", FormatTimestamp(grant_end_)}}
                                 .dump(),
                             &org);
  ASSERT_EQ(c.status, 201) << c.body;
  const std::string base =
      "/api/v1/campaigns/" + std::to_string(Body(c)["campaign"]["id"].get<std::int64_t>());
  ASSERT_EQ(env_.Send("POST", base + "/state", R"({"state": "live"})", &org).status, 200);
  HttpResponse inv = env_.Send("POST", base + "/invites", R"({"label": "branch"})", &org);
  ASSERT_EQ(inv.status, 201) << inv.body;

  const AccountId volunteer = env_.AddAccount("volunteer.one");
  const TestSession s = env_.Login("volunteer.one");
  HttpResponse join =
      env_.Send("POST", "/api/v1/join/" + Body(inv)["token"].get<std::string>(), "", &s);
  ASSERT_EQ(join.status, 201) << join.body;
  const std::int64_t grant = Body(join)["grant"]["id"];
  HttpResponse e = env_.Send("POST", "/api/v1/me/endpoint", R"({"phone": "07700 900321"})", &s);
  ASSERT_EQ(e.status, 201) << e.body;
  ASSERT_EQ(env_.Send("POST", "/api/v1/me/endpoint/verify",
                      nlohmann::json{{"code", Body(e)["sandbox_code"]}}.dump(), &s)
                .status,
            200);

  // Before: a whole call, then the next contact leased.
  HttpResponse next = env_.Send("POST", base + "/next", "", &s);
  ASSERT_EQ(next.status, 200) << next.body;
  ASSERT_TRUE(Body(next).contains("contact")) << next.body;
  HttpResponse call = env_.Send("POST", base + "/connect", "", &s);
  ASSERT_EQ(call.status, 201) << call.body;
  env_.clock_.Advance(30 * kMicrosPerSecond);
  HttpResponse out = env_.Send("POST", base + "/outcome", R"({"outcome": "no_answer"})", &s);
  ASSERT_EQ(out.status, 200) << out.body;
  env_.clock_.Advance(30 * kMicrosPerSecond);
  HttpResponse held = env_.Send("POST", base + "/next", "", &s);
  ASSERT_EQ(held.status, 200) << held.body;
  ASSERT_TRUE(Body(held).contains("contact")) << held.body;

  auto snapshot = [&] {
    return std::vector<std::int64_t>{
        env_.env_.Count("SELECT COUNT(*) FROM calls"),
        env_.env_.Count("SELECT COUNT(*) FROM calls WHERE connected_at IS NOT NULL"),
        env_.env_.Count("SELECT COUNT(*) FROM calls WHERE outcome IS NOT NULL"),
        env_.env_.Count("SELECT COALESCE(SUM(passes), 0) FROM campaign_targets"),
        Done("phonebank.next"),
        Done("phonebank.connect"),
        Done("phonebank.outcome")};
  };
  const auto was = snapshot();
  EXPECT_EQ(was, (std::vector<std::int64_t>{2, 1, 1, 1, 2, 1, 1}));

  // officer: organises phone banks, makes no calls.
  Apply(volunteer, grant, "officer", aldershot_);
  ExpectRefused(env_.Send("POST", base + "/connect", "", &s), "connect");
  ExpectRefused(env_.Send("POST", base + "/outcome", R"({"outcome": "answered"})", &s), "outcome");
  ExpectRefused(env_.Send("POST", base + "/next", "", &s), "next");
  EXPECT_EQ(snapshot(), was);
  ExpectSessionAfter(s, volunteer, "officer");
}

TEST_P(ApiSessionChangeTest, AnEmailApproval) {
  env_.AddMember("101", aldershot_, "Ada", "Lovelace", members::kConsentEmail);
  const AccountId author = env_.AddAccount("officer.author");
  env_.Grant(author, "officer", aldershot_, start_ - kMicrosPerDay, start_ + 30 * kMicrosPerDay);
  const TestSession a = env_.Login("officer.author");
  std::vector<std::string> drafts;
  for (const char* subject : {"Branch news", "AGM reminder"}) {
    HttpResponse d = env_.Send("POST", "/api/v1/messages",
                               nlohmann::json{{"scope", "E14000530"},
                                              {"kind", "campaign"},
                                              {"subject", subject},
                                              {"text_body", "Dear {{first_name}}, see you."}}
                                   .dump(),
                               &a);
    ASSERT_EQ(d.status, 201) << d.body;
    drafts.push_back("/api/v1/messages/" +
                     std::to_string(Body(d)["message"]["id"].get<std::int64_t>()));
  }
  const AccountId approver = env_.AddAccount("staff.approver", /*staff=*/true);
  const access::GrantId grant =
      env_.Grant(approver, "staff", south_east_, start_ - kMicrosPerDay, grant_end_);
  const TestSession s = env_.Login("staff.approver", approver);

  HttpResponse before = env_.Send("POST", drafts[0] + "/approve", R"({"version": 1})", &s);
  ASSERT_EQ(before.status, 200) << before.body;
  const std::int64_t approvals = env_.env_.Count("SELECT COUNT(*) FROM message_approvals");
  EXPECT_EQ(approvals, 1);
  EXPECT_EQ(Done("message.approve"), 1);

  // officer: drafts and sends, approves nothing.
  Apply(approver, grant.value(), "officer", south_east_);
  ExpectRefused(env_.Send("POST", drafts[1] + "/approve", R"({"version": 1})", &s), "approve");
  EXPECT_EQ(env_.env_.Count("SELECT COUNT(*) FROM message_approvals"), approvals);
  EXPECT_EQ(Done("message.approve"), 1);
  HttpResponse second = env_.Send("GET", drafts[1], "", &a);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_TRUE(Body(second)["message"]["approvals"].empty()) << second.body;
  ExpectSessionAfter(s, approver, "officer");
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiSessionChangeTest,
                         ::testing::Combine(::testing::Values("sqlite", "postgres"),
                                            ::testing::Values(Change::kGrantEnds, Change::kRevoked,
                                                              Change::kSuspended,
                                                              Change::kRoleChanged)),
                         [](const ::testing::TestParamInfo<ApiSessionChangeTest::ParamType>& p) {
                           return std::get<0>(p.param) + "_" + ChangeName(std::get<1>(p.param));
                         });

}  // namespace
}  // namespace switchboard::server
