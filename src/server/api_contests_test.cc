// A contest run through its timeline on both backends, through the API (the
// gate, its contest overlay and the services' hooks), as issue 15's tests
// name them: staff neutrality (and leave lifting it), data closed to
// candidate campaigns until release, one instant of release to qualifying
// candidates only and only to the consenting electorate, the statement word
// limit, the end of every candidate grant at ballot close, official notices,
// the equal-access ledger, and rulebook changes needing a second person.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "access/store/access_store.h"
#include "contest/contests.h"
#include "members/register.h"
#include "phonebank/phonebank.h"
#include "server/api_testing.h"

namespace switchboard::server {
namespace {

using testing::Body;
using testing::TestSession;

constexpr const char* kSlug = "leader";

class ApiContestsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    if (HasFatalFailure()) return;
    now_ = env_.clock_.Now();
    announced_ = now_ - kMicrosPerDay;  // neutrality is in force from here
    aldershot_ = env_.Unit("E14000530");
    south_east_ = env_.env_.tree_.Find(aldershot_)->parent;
    const Micros from = now_ - 30 * kMicrosPerDay, until = now_ + 60 * kMicrosPerDay;

    ro_ = env_.AddAccount("returning.officer", /*staff=*/true);
    env_.Grant(ro_, "staff", env_.Root(), from, until);
    manager_ = env_.AddAccount("manager", /*staff=*/true);
    env_.Grant(manager_, "staff", env_.Root(), from, until);
    committee_ = env_.AddAccount("committee");
    // A staff organiser who drafts (staff, in the region) and sends
    // (officer, in the constituency).
    organiser_ = env_.AddAccount("organiser", /*staff=*/true);
    env_.Grant(organiser_, "staff", south_east_, from, until);
    env_.Grant(organiser_, "officer", aldershot_, from, until);
    // The same, on leave for alpha's campaign.
    leaver_ = env_.AddAccount("leaver", /*staff=*/true);
    env_.Grant(leaver_, "officer", aldershot_, from, until);
    local_ = env_.AddAccount("local");  // a local figure, in whose name mail is sent

    const std::string leave =
        "[neutrality]\nstaff_flag = true\n[[neutrality.leave]]\naccount = \"leaver\"\n"
        "candidate = \"alpha\"\nfrom = " +
        FormatTimestamp(announced_) +
        "\nuntil = " + FormatTimestamp(announced_ + 30 * kMicrosPerDay) + "\n";
    toml_ = env_.ContestToml(kSlug, announced_, "returning.officer", "committee", 1, leave);
    ASSERT_TRUE(env_.env_.store_
                    ->Write([&](store::Tx& tx) -> Status {
                      contest::ContestRules rules(env_.env_.tree_);
                      contest::ContestOperations ops(env_.policy_, env_.env_.tree_, rules);
                      access::Acting op;
                      op.now = now_;
                      SB_ASSIGN_OR_RETURN(auto s, ops.Load(tx, op, toml_, "leader.toml"));
                      contest_ = s.id;
                      return Status::Ok();
                    })
                    .ok());
    for (const char* c : {"alpha", "beta", "gamma"}) {
      ASSERT_TRUE(env_.env_.store_
                      ->Read([&](store::Tx& tx) -> Status {
                        SB_ASSIGN_OR_RETURN(auto a,
                                            access::FindAccount(tx, kSlug + std::string(".") + c));
                        campaign_[c] = a.id;
                        return Status::Ok();
                      })
                      .ok());
    }
    // The register: only `voter_` is in the electorate and consents to
    // contact by candidates.
    const std::uint32_t all =
        members::kConsentEmail | members::kConsentPhone | members::kConsentCandidates;
    const std::int64_t frozen = announced_ / kMicrosPerDay;
    voter_ = Member("501", "current", frozen - 400, all);
    Member("502", "current", frozen - 400, members::kConsentEmail | members::kConsentPhone);
    Member("503", "lapsed", frozen - 400, all);
    Member("504", "current", frozen + 1, all);  // joined after the freeze
  }

  MemberId Member(const std::string& ext, const std::string& status, std::int64_t joined,
                  std::uint32_t consents) {
    members::MemberRecord r;
    r.source = "native";
    r.external_id = ext;
    r.unit = aldershot_;
    r.first_name = "First" + ext;
    r.last_name = "Last" + ext;
    r.status = status;
    r.joined_on = joined;
    r.consents = consents;
    r.content_hash = "h" + ext;
    const std::string email = "m" + ext + "@example.org";
    const std::string phone = "+447700900" + ext;
    r.contacts.push_back({"email", "primary", env_.env_.sealer_->Seal(email, "email"),
                          env_.env_.sealer_->BlindIndex("email", email)});
    r.contacts.push_back({"phone", "mobile", env_.env_.sealer_->Seal(phone, "phone"),
                          env_.env_.sealer_->BlindIndex("phone", phone)});
    MemberId id;
    EXPECT_TRUE(env_.env_.store_
                    ->Write([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(auto up,
                                          members::UpsertMember(tx, r, env_.clock_.Now(), "test"));
                      id = up.id;
                      return Status::Ok();
                    })
                    .ok());
    return id;
  }

  TestSession As(const std::string& login) { return env_.Login(login); }
  std::string Path(const std::string& tail = "") {
    return "/api/v1/contests/" + std::to_string(contest_) + tail;
  }

  // Two constituency parties nominate alpha and beta, one gamma: alpha and
  // beta qualify ("clps >= 2"), gamma does not.
  void Nominate() {
    TestSession ro = As("returning.officer");
    const std::vector<std::pair<std::string, std::string>> noms = {{"E14000530", "alpha"},
                                                                   {"E14000531", "alpha"},
                                                                   {"E14000532", "beta"},
                                                                   {"E14000533", "beta"},
                                                                   {"E14000534", "gamma"}};
    for (const auto& [unit, cand] : noms) {
      nlohmann::json body{{"body", "clps"},
                          {"nominator", unit},
                          {"candidate", cand},
                          {"decided_by", "all-member meeting"},
                          {"meeting_on", FormatTimestamp(now_).substr(0, 10)},
                          {"votes_for", 40},
                          {"votes_against", 3}};
      HttpResponse r = env_.Send("POST", Path("/nominations"), body.dump(), &ro);
      ASSERT_EQ(r.status, 201) << r.body;
    }
  }

  // Past nominations close (and data release), plus `late`; then serve's
  // release check, as it runs every second.
  int CloseNominations(Micros late = 5 * (60 * kMicrosPerSecond)) {
    env_.clock_.Set(DataRelease() + late);
    auto n = env_.api_->ReleaseDueContests();
    EXPECT_TRUE(n) << n.error().ToString();
    return n ? *n : -1;
  }
  Micros DataRelease() const { return announced_ + 10 * kMicrosPerDay; }
  Micros BallotClose() const { return announced_ + 30 * kMicrosPerDay; }

  std::vector<access::Grant> ContestGrants(AccountId a) {
    std::vector<access::Grant> out;
    EXPECT_TRUE(env_.env_.store_
                    ->Read([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(auto all,
                                          access::ListGrants(tx, access::GrantFilter{a, false}, 0));
                      for (auto& g : all) {
                        if (g.source == "contest:" + std::to_string(contest_)) out.push_back(g);
                      }
                      return Status::Ok();
                    })
                    .ok());
    return out;
  }

  nlohmann::json Ledger(const std::string& login = "committee") {
    TestSession s = As(login);
    HttpResponse r = env_.Send("GET", Path("/ledger"), "", &s);
    EXPECT_EQ(r.status, 200) << r.body;
    return Body(r)["ledger"];
  }

  // Drafts through the API; returns the response.
  HttpResponse Draft(const TestSession& s, const std::string& subject, const std::string& text,
                     const std::string& kind = "campaign", AccountId named = AccountId()) {
    nlohmann::json body{
        {"scope", "E14000530"}, {"kind", kind}, {"subject", subject}, {"text_body", text}};
    if (named.valid()) body["from"] = {{"kind", "person"}, {"account", named.value()}};
    return env_.Send("POST", "/api/v1/messages", body.dump(), &s);
  }

  std::vector<audit::Event> ContestDenials(const std::string& rule) {
    std::vector<audit::Event> out;
    for (const std::string action : {"message.draft", "message.send", "message.approve",
                                     "phonebank.call", "phonebank.manage"}) {
      for (auto& e : env_.Events(action)) {
        if (e.decision == "deny" && e.rule == rule) out.push_back(e);
      }
    }
    return out;
  }

  testing::ApiEnv env_;
  Micros now_ = 0, announced_ = 0;
  UnitId aldershot_, south_east_;
  AccountId ro_, manager_, committee_, organiser_, leaver_, local_;
  std::map<std::string, AccountId> campaign_;
  MemberId voter_;
  std::string toml_;
  std::int64_t contest_ = 0;
};

constexpr const char* kEventMail =
    "Come and meet Ada Alpha-Smith at the Aldershot hustings on Friday at 7pm.";

TEST_P(ApiContestsTest, AStaffersMailNamingACandidateIsRefusedWithTheRuleAndTheName) {
  TestSession org = As("organiser");
  HttpResponse r = Draft(org, "Friday's event", kEventMail, "campaign", local_);
  ASSERT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(Body(r)["error"]["rule"], "contest.neutrality");
  const std::string msg = Body(r)["error"]["message"];
  EXPECT_NE(msg.find("Ada Alpha-Smith"), std::string::npos) << msg;
  EXPECT_NE(msg.find("text_body, line 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("take leave"), std::string::npos) << msg;
  // The refusal is on the record, under the contest.
  auto denied = ContestDenials("contest.neutrality");
  ASSERT_EQ(denied.size(), 1u);
  EXPECT_EQ(denied[0].actor, organiser_.value());
  EXPECT_EQ(denied[0].contest, contest_);
  // A look-alike spelling does not get round it.
  r = Draft(org, "Friday", "Meet ada ALPHA\u2011SMITH on Friday.", "campaign", local_);
  EXPECT_EQ(r.status, 403) << r.body;
  // Text naming nobody is fine.
  r = Draft(org, "Friday", "The branch meets on Friday at 7pm.", "campaign", local_);
  EXPECT_EQ(r.status, 201) << r.body;
}

TEST_P(ApiContestsTest, TheNamedPersonsApprovalDoesNotLiftNeutrality) {
  // Drafted before the contest was announced, approved by the local figure
  // in whose name it speaks; sending it now is still refused.
  env_.clock_.Set(announced_ - (3600 * kMicrosPerSecond));
  TestSession org = As("organiser");
  HttpResponse r = Draft(org, "Friday's event", kEventMail, "campaign", local_);
  ASSERT_EQ(r.status, 201) << r.body;
  const std::int64_t id = Body(r)["message"]["id"];
  TestSession local = As("local");
  r = env_.Send("POST", "/api/v1/me/approvals/" + std::to_string(id), R"({"version": 1})", &local);
  ASSERT_EQ(r.status, 200) << r.body;
  env_.clock_.Set(now_);
  org = As("organiser");
  r = env_.Send("POST", "/api/v1/messages/" + std::to_string(id) + "/send", R"({"version": 1})",
                &org);
  ASSERT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(Body(r)["error"]["rule"], "contest.neutrality");
  EXPECT_NE(Body(r)["error"]["message"].get<std::string>().find("Ada Alpha-Smith"),
            std::string::npos);
  EXPECT_TRUE(Ledger().empty());
}

TEST_P(ApiContestsTest, AStaffMemberNamedAsTheIdentityCannotApproveItInTheirOwnName) {
  // The local figure is staff too: their own approval of a message naming a
  // candidate is refused and recorded, and nothing is approved.
  const AccountId figure = env_.AddAccount("figure", /*staff=*/true);
  env_.clock_.Set(announced_ - (3600 * kMicrosPerSecond));
  TestSession org = As("organiser");
  HttpResponse r = Draft(org, "Friday's event", kEventMail, "campaign", figure);
  ASSERT_EQ(r.status, 201) << r.body;
  const std::int64_t id = Body(r)["message"]["id"];
  env_.clock_.Set(now_);
  TestSession s = As("figure");
  r = env_.Send("POST", "/api/v1/me/approvals/" + std::to_string(id), R"({"version": 1})", &s);
  ASSERT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(Body(r)["error"]["rule"], "contest.neutrality");
  EXPECT_NE(Body(r)["error"]["message"].get<std::string>().find("Ada Alpha-Smith"),
            std::string::npos);
  int recorded = 0;
  for (const auto& e : env_.Events("message.approve_in_own_name")) {
    EXPECT_EQ(e.decision, "deny");
    EXPECT_EQ(e.rule, "contest.neutrality");
    EXPECT_EQ(e.contest, contest_);
    ++recorded;
  }
  EXPECT_EQ(recorded, 1);
  r = env_.Send("GET", "/api/v1/me/approvals", "", &s);
  ASSERT_EQ(r.status, 200) << r.body;
  const nlohmann::json list = Body(r);
  ASSERT_EQ(list["messages"].size(), 1u);
  EXPECT_EQ(list["messages"][0]["approved_by_you"], false);
}

TEST_P(ApiContestsTest, OnLeaveTheSameMailGoesOutAndEveryQualifiedRivalGetsTheSame) {
  Nominate();
  ASSERT_EQ(CloseNominations(), 2);  // alpha and beta
  TestSession leaver = As("leaver");
  HttpResponse r = Draft(leaver, "Friday's event", kEventMail);
  ASSERT_EQ(r.status, 201) << r.body;
  // Working for a campaign, the audience is the consenting electorate.
  const auto audience = Body(r)["message"]["audience"];
  EXPECT_EQ(audience["statuses"], nlohmann::json({"current"})) << audience;
  const std::int64_t id = Body(r)["message"]["id"];
  r = env_.Send("POST", "/api/v1/messages/" + std::to_string(id) + "/send", R"({"version": 1})",
                &leaver);
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(Body(r)["queued"], 1);  // only the one consenting elector
  const nlohmann::json ledger = Ledger();
  int used = 0, entitled = 0;
  for (const auto& e : ledger) {
    if (e["entry"] == "used" && e["facility"] == "mailing") {
      ++used;
      EXPECT_EQ(e["candidate"], "alpha");
      EXPECT_EQ(e["size"], 1);
      EXPECT_EQ(e["ref"], "message:" + std::to_string(id));
    }
    if (e["entry"] == "entitlement") {
      ++entitled;
      EXPECT_EQ(e["candidate"], "beta") << "gamma did not qualify";
      EXPECT_EQ(e["facility"], "mailing");
      EXPECT_EQ(e["size"], 1);
      EXPECT_EQ(e["used"], false);
    }
  }
  EXPECT_EQ(used, 1);
  EXPECT_EQ(entitled, 1);
  // Beta's campaign uses it: the entitlement is taken up, and nobody gets a
  // new one.
  TestSession beta = As(std::string(kSlug) + ".beta");
  r = Draft(beta, "From Bea", "Bea Beta will be at the Friday hustings too.", "campaign");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::int64_t id2 = Body(r)["message"]["id"];
  r = env_.Send("POST", "/api/v1/messages/" + std::to_string(id2) + "/send", R"({"version": 1})",
                &beta);
  ASSERT_EQ(r.status, 202) << r.body;
  int open = 0, taken = 0;
  for (const auto& e : Ledger()) {
    if (e["entry"] != "entitlement") continue;
    (e["used"] == true ? taken : open)++;
  }
  EXPECT_EQ(taken, 1);
  EXPECT_EQ(open, 0);
  // A rival candidate's account can read it too; an unrelated one cannot.
  EXPECT_FALSE(Ledger(std::string(kSlug) + ".gamma").empty());
  TestSession org = As("local");
  EXPECT_EQ(env_.Send("GET", Path("/ledger"), "", &org).status, 404);
}

TEST_P(ApiContestsTest, BeforeDataReleaseACandidateCampaignReachesNoMemberThroughALink) {
  // A phone bank left open, with its link shared with alpha's campaign.
  phonebank::Campaign c;
  c.name = "Old phone bank";
  c.owner = organiser_;
  c.scope = aldershot_;
  c.purpose = "general election";
  c.starts_at = now_ - 40 * kMicrosPerDay;
  c.ends_at = now_ + 50 * kMicrosPerDay;
  std::string token;
  ASSERT_TRUE(
      env_.env_.store_
          ->Write([&](store::Tx& tx) -> Status {
            SB_ASSIGN_OR_RETURN(c.id,
                                phonebank::InsertCampaign(tx, env_.env_.tree_, c, c.starts_at));
            SB_RETURN_IF_ERROR(phonebank::SetState(tx, env_.env_.tree_, c,
                                                   phonebank::CampaignState::kLive, c.starts_at)
                                   .status());
            SB_ASSIGN_OR_RETURN(
                auto inv, phonebank::CreateInvite(tx, c, organiser_, "old", 0, 100, c.starts_at));
            token = inv.token;
            return Status::Ok();
          })
          .ok());
  TestSession alpha = As(std::string(kSlug) + ".alpha");
  HttpResponse r = env_.Send("POST", "/api/v1/join/" + token, "", &alpha);
  ASSERT_EQ(r.status, 201) << r.body;  // the link works; the data does not
  for (int i = 0; i < 3; ++i) {
    r = env_.Send("POST", "/api/v1/campaigns/" + c.id.ToString() + "/next", "", &alpha);
    ASSERT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(Body(r)["error"]["rule"], "contest.data_release");
    EXPECT_NE(Body(r)["error"]["message"].get<std::string>().find("until data release"),
              std::string::npos);
    EXPECT_FALSE(Body(r).contains("contact"));
  }
  auto denied = ContestDenials("contest.data_release");
  ASSERT_EQ(denied.size(), 3u);
  for (const auto& e : denied) {
    EXPECT_EQ(e.actor, campaign_["alpha"].value());
    EXPECT_EQ(e.contest, contest_);
  }
  // After release the contest's own grants reach only the campaign's own
  // phone banks: the old link still reaches nobody.
  Nominate();
  ASSERT_EQ(CloseNominations(), 2);
  alpha = As(std::string(kSlug) + ".alpha");
  r = env_.Send("POST", "/api/v1/campaigns/" + c.id.ToString() + "/next", "", &alpha);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(Body(r)["error"]["rule"], "contest.own_facility");
  EXPECT_FALSE(Body(r).contains("contact"));
}

TEST_P(ApiContestsTest, DataReleaseStartsEveryQualifiedCandidateAtOneInstant) {
  Nominate();
  // Nothing before nominations close.
  auto none = env_.api_->ReleaseDueContests();
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0);
  EXPECT_TRUE(ContestGrants(campaign_["alpha"]).empty());
  // The release check runs late: the grants still start at the rulebook's
  // instant, all the same.
  ASSERT_EQ(CloseNominations(/*late=*/3 * (60 * kMicrosPerSecond)), 2);
  const auto alpha = ContestGrants(campaign_["alpha"]);
  const auto beta = ContestGrants(campaign_["beta"]);
  ASSERT_EQ(alpha.size(), 1u);
  ASSERT_EQ(beta.size(), 1u);
  EXPECT_EQ(alpha[0].not_before, DataRelease());
  EXPECT_EQ(beta[0].not_before, alpha[0].not_before);
  EXPECT_EQ(alpha[0].not_after, BallotClose());
  EXPECT_EQ(beta[0].not_after, BallotClose());
  EXPECT_EQ(alpha[0].role, "candidate_campaign");
  EXPECT_EQ(alpha[0].scope, env_.Root());
  EXPECT_TRUE(ContestGrants(campaign_["gamma"]).empty()) << "gamma did not qualify";
  // Running the check again releases nobody twice.
  auto again = env_.api_->ReleaseDueContests();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0);
  EXPECT_EQ(ContestGrants(campaign_["alpha"]).size(), 1u);

  // Alpha's phone bank reaches only the consenting electorate: not the
  // member without the consent, the lapsed one or the late joiner.
  TestSession s = As(std::string(kSlug) + ".alpha");
  HttpResponse r =
      env_.Send("POST", "/api/v1/campaigns",
                R"({"name": "Alpha calls", "scope": "E14000530", "purpose": "leadership contest",
          "ends_at": "+60d", "audience": {"statuses": ["current", "lapsed"]}})",
                &s);
  ASSERT_EQ(r.status, 201) << r.body;
  const auto campaign = Body(r)["campaign"];
  EXPECT_EQ(campaign["audience_count"], 1) << campaign;
  EXPECT_EQ(campaign["ends_at"], FormatTimestamp(BallotClose())) << "ends at ballot close";
  r = env_.Send(
      "POST", "/api/v1/campaigns/" + std::to_string(campaign["id"].get<std::int64_t>()) + "/state",
      R"({"state": "live"})", &s);
  ASSERT_EQ(r.status, 200) << r.body;
  bool used = false;
  for (const auto& e : Ledger()) {
    if (e["entry"] == "used" && e["facility"] == "phonebank") {
      used = true;
      EXPECT_EQ(e["size"], 1);
    }
  }
  EXPECT_TRUE(used);
  // Gamma's campaign never gets in.
  TestSession g = As(std::string(kSlug) + ".gamma");
  r = Draft(g, "Gamma", "Vote Gus.", "endorsement");
  EXPECT_EQ(r.status, 403) << r.body;
}

std::string Words(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? " " : "") + std::string("word");
  return s;
}

TEST_P(ApiContestsTest, AnEndorsementOverTheWordLimitIsRefusedWithTheCount) {
  Nominate();
  ASSERT_EQ(CloseNominations(), 2);
  TestSession s = As(std::string(kSlug) + ".alpha");
  HttpResponse r = Draft(s, "Why I back Ada", Words(51), "endorsement");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_NE(Body(r)["error"]["message"].get<std::string>().find("51 / 50"), std::string::npos)
      << r.body;
  r = Draft(s, "Why I back Ada", "Don't miss Long-Bailey's rally on 5,000 doorsteps " + Words(43),
            "endorsement");
  ASSERT_EQ(r.status, 201) << r.body;  // 7 + 43 = 50 words, as words-v1 counts them
  const std::int64_t id = Body(r)["message"]["id"];
  r = env_.Send("POST", "/api/v1/messages/" + std::to_string(id) + "/send", R"({"version": 1})",
                &s);
  ASSERT_EQ(r.status, 202) << r.body;
  bool counted = false;
  const nlohmann::json sent = Body(r);
  for (const auto& c : sent["checks"]) {
    if (c["rule"] == "contest.statement") {
      counted = true;
      EXPECT_EQ(c["passed"], true);
      EXPECT_EQ(c["detail"], "50 / 50 words");
    }
  }
  EXPECT_TRUE(counted) << r.body;
  // Edited past the limit later, it is refused again.
  r = env_.Send("POST", "/api/v1/messages",
                nlohmann::json{{"scope", "E14000530"},
                               {"kind", "endorsement"},
                               {"subject", "Again"},
                               {"text_body", Words(50)},
                               {"html_body", "<p>hi</p>"}}
                    .dump(),
                &s);
  EXPECT_EQ(r.status, 400) << "an endorsement is plain text during the contest: " << r.body;
}

TEST_P(ApiContestsTest, AfterBallotCloseEveryCandidateGrantHasEnded) {
  Nominate();
  ASSERT_EQ(CloseNominations(), 2);
  TestSession s = As(std::string(kSlug) + ".alpha");
  EXPECT_EQ(Draft(s, "Before", "Vote for Ada.", "campaign").status, 201);
  env_.clock_.Set(BallotClose());
  s = As(std::string(kSlug) + ".alpha");
  HttpResponse r = Draft(s, "After", "Thank you.", "campaign");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(Body(r)["error"]["rule"], "grant.ended") << r.body;
}

TEST_P(ApiContestsTest, AnOfficialNoticeNamingEveryCandidateNeedsTheReturningOfficer) {
  Nominate();
  ASSERT_EQ(CloseNominations(), 2);
  TestSession org = As("organiser");
  // Naming every qualifying candidate alike, staff may draft it.
  HttpResponse r = Draft(org, "Hustings", "Hear Ada Alpha-Smith and Bea Beta on Friday.");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string path =
      "/api/v1/messages/" + std::to_string(Body(r)["message"]["id"].get<std::int64_t>());
  r = env_.Send("POST", path + "/send", R"({"version": 1})", &org);
  ASSERT_EQ(r.status, 409) << r.body;
  bool notice = false;
  const nlohmann::json refused = Body(r);
  for (const auto& c : refused["error"]["checks"]) {
    if (c["rule"] == "contest.official_notice") notice = c["passed"] == false;
  }
  EXPECT_TRUE(notice) << r.body;
  // A staff manager's approval is not the returning officer's.
  TestSession manager = As("manager");
  ASSERT_EQ(env_.Send("POST", path + "/approve", R"({"version": 1})", &manager).status, 200);
  EXPECT_EQ(env_.Send("POST", path + "/send", R"({"version": 1})", &org).status, 409);
  TestSession ro = As("returning.officer");
  r = env_.Send("POST", path + "/approve", R"({"version": 1})", &ro);
  ASSERT_EQ(r.status, 200) << r.body;
  r = env_.Send("POST", path + "/send", R"({"version": 1})", &org);
  ASSERT_EQ(r.status, 202) << r.body;
  bool listed = false;
  for (const auto& e : Ledger()) {
    listed = listed || (e["facility"] == "notice" && e["candidate"] == "*");
  }
  EXPECT_TRUE(listed);
  // Naming only some candidates is refused even with approvals to come.
  r = Draft(org, "Hustings", "Hear Ada Alpha-Smith on Friday.");
  EXPECT_EQ(r.status, 403) << r.body;
}

TEST_P(ApiContestsTest, ChangingARunningContestsRulebookNeedsTheReturningOfficerAndASecond) {
  const std::string v2 = env_.ContestToml(kSlug, announced_, "returning.officer", "committee", 2);
  const std::string body = nlohmann::json{{"rulebook", v2}}.dump();
  TestSession manager = As("manager");
  HttpResponse r = env_.Send("POST", Path("/rulebook"), body, &manager);
  EXPECT_EQ(r.status, 403) << r.body;
  TestSession ro = As("returning.officer");
  r = env_.Send("POST", Path("/rulebook"), body, &ro);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["in_force"], false);
  r = env_.Send("POST", Path("/rulebook/approve"), R"({"version": 2})", &ro);
  EXPECT_EQ(r.status, 403) << "the proposer cannot approve: " << r.body;
  r = env_.Send("GET", Path(), "", &ro);
  EXPECT_EQ(Body(r)["contest"]["version"], 1);
  r = env_.Send("POST", Path("/rulebook/approve"), R"({"version": 2})", &manager);
  ASSERT_EQ(r.status, 200) << r.body;
  r = env_.Send("GET", Path(), "", &ro);
  EXPECT_EQ(Body(r)["contest"]["version"], 2);
  // The old version stays readable, with its own hash.
  r = env_.Send("GET", Path("/rulebook?version=1"), "", &ro);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["text"], toml_);
  EXPECT_EQ(Body(r)["in_force"], false);
  // Every step is on the record under the contest.
  auto amend = env_.Events("contest.amend");
  auto approve = env_.Events("contest.amend_approve");
  ASSERT_EQ(amend.size(), 1u);
  ASSERT_EQ(approve.size(), 1u);
  EXPECT_EQ(amend[0].actor, ro_.value());
  EXPECT_EQ(approve[0].actor, manager_.value());
  EXPECT_EQ(approve[0].contest, contest_);
}

TEST_P(ApiContestsTest, EveryBoundAccountSeesTheRulebooksHash) {
  for (const std::string login : {"returning.officer", "committee", "organiser", "leader.alpha"}) {
    TestSession s = As(login);
    HttpResponse r = env_.Send("GET", "/api/v1/contests", "", &s);
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(Body(r)["contests"].size(), 1u) << login;
    const auto c = Body(r)["contests"][0];
    EXPECT_EQ(c["sha256"].get<std::string>().size(), 64u);
    EXPECT_FALSE(c["your_parts"].empty()) << login;
    EXPECT_EQ(c["neutrality_in_force"], true);
  }
  TestSession s = As("local");
  HttpResponse r = env_.Send("GET", "/api/v1/contests", "", &s);
  EXPECT_TRUE(Body(r)["contests"].empty()) << "the contest does not bind a non-staff account";
  // The load itself is recorded with the file's hash.
  auto loaded = env_.Events("contest.load");
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_NE(loaded[0].rule.find("sha256:"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiContestsTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::server
