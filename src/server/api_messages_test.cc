// The member e-mail routes' lists: which messages an account sees in
// GET /api/v1/messages (its own, and every message the access decision lets
// it open), and who drafted each message waiting in GET /api/v1/me/approvals.
// Neither carries member data.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "access/store/access_store.h"
#include "members/register.h"
#include "server/api_testing.h"

namespace switchboard::server {
namespace {

using testing::Body;
using testing::TestSession;

class ApiMessagesTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    aldershot_ = env_.Unit("E14000530");
    aldridge_ = env_.Unit("E14000531");
    south_east_ = env_.env_.tree_.Find(aldershot_)->parent;
    const Micros now = env_.clock_.Now();
    const Micros until = now + 30 * kMicrosPerDay;
    olga_ = Account("olga", "Olga Officer");
    env_.Grant(olga_, "officer", aldershot_, now - kMicrosPerDay, until);
    bob_ = Account("bob", "Bob Officer");
    env_.Grant(bob_, "officer", aldershot_, now - kMicrosPerDay, until);
    sam_ = Account("sam", "Sam Staff", /*staff=*/true);
    env_.Grant(sam_, "staff", south_east_, now - kMicrosPerDay, until);
    alan_ = Account("alan", "Alan Officer");
    env_.Grant(alan_, "officer", aldridge_, now - kMicrosPerDay, until);
    lee_ = Account("lee", "Lee Lapsed");  // was an officer in Aldridge
    env_.Grant(lee_, "officer", aldridge_, now - 60 * kMicrosPerDay, now - kMicrosPerDay);
    vic_ = Account("vic", "Vic Caller");  // calls in Aldershot, drafts nothing
    env_.Grant(vic_, "caller", aldershot_, now - kMicrosPerDay, until);
    nina_ = Account("nina", "Nina Named");  // no grants; messages speak in her name
    env_.AddMember("101", aldershot_, "Ada", "Lovelace", members::kConsentEmail);
    env_.AddMember("102", aldridge_, "Alan", "Turing", members::kConsentEmail);

    bob_aldershot_ = Draft(bob_, "E14000530", "Bob's branch news");
    bob_for_nina_ = Draft(bob_, "E14000530", "Nina's letter", nina_);
    sam_aldershot_ = Draft(sam_, "E14000530", "Sam's notice to Aldershot");
    sam_region_ = Draft(sam_, env_.env_.tree_.Find(south_east_)->code, "Sam's regional notice");
    alan_aldridge_ = Draft(alan_, "E14000531", "Alan's Aldridge news");
    all_ = {bob_aldershot_, bob_for_nina_, sam_aldershot_, sam_region_, alan_aldridge_};
  }

  AccountId Account(const std::string& login, const std::string& name, bool staff = false) {
    AccountId id;
    EXPECT_TRUE(env_.env_.store_
                    ->Write([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(
                          id, access::CreateAccount(tx, {login, name, MemberId(), staff},
                                                    env_.clock_.Now()));
                      return access::SetPasswordHash(tx, id, env_.password_hash_);
                    })
                    .ok());
    return id;
  }

  // A draft made through the API by `author`, optionally in `named`'s name.
  std::int64_t Draft(AccountId author, const std::string& scope, const std::string& subject,
                     AccountId named = AccountId()) {
    nlohmann::json body{{"scope", scope},
                        {"kind", "campaign"},
                        {"subject", subject + " for {{first_name}}"},
                        {"text_body", "Dear {{first_name}}, see you at the meeting."}};
    if (named.valid()) body["from"] = {{"kind", "person"}, {"account", named.value()}};
    TestSession s = Session(author);
    HttpResponse r = env_.Send("POST", "/api/v1/messages", body.dump(), &s);
    EXPECT_EQ(r.status, 201) << r.body;
    return Body(r)["message"]["id"].get<std::int64_t>();
  }

  TestSession Session(AccountId who) {
    auto it = sessions_.find(who.value());
    if (it != sessions_.end()) return it->second;
    std::string login;
    EXPECT_TRUE(env_.env_.store_
                    ->Read([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(auto a, access::GetAccount(tx, who));
                      login = a.login;
                      return Status::Ok();
                    })
                    .ok());
    return sessions_[who.value()] = env_.Login(login);
  }

  // The ids GET /api/v1/messages lists for `who`, after checking that no
  // member data is in the answer.
  std::set<std::int64_t> Listed(AccountId who) {
    TestSession s = Session(who);
    HttpResponse r = env_.Send("GET", "/api/v1/messages", "", &s);
    EXPECT_EQ(r.status, 200) << r.body;
    ExpectNoMemberData(r.body);
    std::set<std::int64_t> ids;
    const nlohmann::json j = Body(r);
    for (const auto& m : j["messages"]) ids.insert(m["id"].get<std::int64_t>());
    return ids;
  }

  static void ExpectNoMemberData(const std::string& body) {
    for (const char* s : {"Lovelace", "Turing", "Ada", "@example.org", "+44", "07700"}) {
      EXPECT_EQ(body.find(s), std::string::npos) << s << " in " << body;
    }
  }

  testing::ApiEnv env_;
  UnitId aldershot_, aldridge_, south_east_;
  AccountId olga_, bob_, sam_, alan_, lee_, vic_, nina_;
  std::int64_t bob_aldershot_ = 0, bob_for_nina_ = 0, sam_aldershot_ = 0, sam_region_ = 0,
               alan_aldridge_ = 0;
  std::set<std::int64_t> all_;
  std::map<std::int64_t, TestSession> sessions_;
};

using Ids = std::set<std::int64_t>;

TEST_P(ApiMessagesTest, AnOfficerSeesEveryMessageInTheirScopeWhoeverDraftedIt) {
  // Olga drafted nothing: she sees every message to Aldershot, none to the
  // region around it (wider than her grant) or to Aldridge.
  EXPECT_EQ(Listed(olga_), (Ids{bob_aldershot_, bob_for_nina_, sam_aldershot_}));
  // Staff over the region see the region and the constituencies in it.
  EXPECT_EQ(Listed(sam_), (Ids{bob_aldershot_, bob_for_nina_, sam_aldershot_, sam_region_}));
  EXPECT_EQ(Listed(alan_), (Ids{alan_aldridge_}));
  // An ended grant shows nothing; a role without message.draft neither.
  EXPECT_EQ(Listed(lee_), Ids{});
  EXPECT_EQ(Listed(vic_), Ids{});
  // Named in a message without any grant: that message only.
  EXPECT_EQ(Listed(nina_), (Ids{bob_for_nina_}));
}

TEST_P(ApiMessagesTest, TheListAgreesWithTheDecisionOnEachMessage) {
  // For messages an account did not draft and is not named in: listed
  // exactly when GET /api/v1/messages/{id} allows it.
  for (AccountId who : {olga_, sam_, alan_, lee_, vic_}) {
    const Ids listed = Listed(who);
    TestSession s = Session(who);
    for (std::int64_t id : all_) {
      HttpResponse r = env_.Send("GET", "/api/v1/messages/" + std::to_string(id), "", &s);
      EXPECT_EQ(r.status == 200, listed.count(id) == 1)
          << "account " << who.value() << ", message " << id << ": " << r.status;
    }
  }
}

TEST_P(ApiMessagesTest, ListEntriesNameTheAuthorAccount) {
  TestSession s = Session(olga_);
  HttpResponse r = env_.Send("GET", "/api/v1/messages", "", &s);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto list = Body(r)["messages"];
  ASSERT_EQ(list.size(), 3u);
  // Newest first.
  EXPECT_EQ(list[0]["id"], sam_aldershot_);
  EXPECT_EQ(list[0]["author"], sam_.value());
  EXPECT_EQ(list[0]["author_name"], "Sam Staff");
  EXPECT_EQ(list[0]["scope"]["code"], "E14000530");
  EXPECT_EQ(list[1]["id"], bob_for_nina_);
  EXPECT_EQ(list[1]["author_name"], "Bob Officer");
  EXPECT_EQ(list[1]["from"]["kind"], "person");
  EXPECT_EQ(list[1]["from"]["name"], "Nina Named");
  EXPECT_EQ(list[1]["from"]["account"], nina_.value());
  // A summary: no bodies, no audience.
  EXPECT_FALSE(list[0].contains("text_body"));
  EXPECT_FALSE(list[0].contains("audience"));
}

TEST_P(ApiMessagesTest, TheApprovalsInboxSaysWhoDraftedEachMessage) {
  TestSession s = Session(nina_);
  HttpResponse r = env_.Send("GET", "/api/v1/me/approvals", "", &s);
  ASSERT_EQ(r.status, 200) << r.body;
  ExpectNoMemberData(r.body);
  const auto list = Body(r)["messages"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], bob_for_nina_);
  EXPECT_EQ(list[0]["author"], bob_.value());
  EXPECT_EQ(list[0]["author_name"], "Bob Officer");
  EXPECT_EQ(list[0]["approved_by_you"], false);
}

// The person named sees the message as a sample member gets it, beside the
// source, without message.draft: the drafter's preview route stays closed.
TEST_P(ApiMessagesTest, TheApprovalsInboxShowsTheMessageRenderedForASampleMember) {
  TestSession s = Session(nina_);
  HttpResponse r = env_.Send("GET", "/api/v1/me/approvals", "", &s);
  ASSERT_EQ(r.status, 200) << r.body;
  ExpectNoMemberData(r.body);
  const auto m = Body(r)["messages"][0];
  EXPECT_EQ(m["subject"], "Nina's letter for {{first_name}}");
  const auto p = m["preview"];
  EXPECT_EQ(p["sample_recipient"]["first_name"], "Alex");
  EXPECT_EQ(p["sample_recipient"]["unit_name"], env_.env_.tree_.Find(aldershot_)->name);
  EXPECT_EQ(p["subject"], "Nina's letter for Alex");
  const std::string text = p["text"];
  EXPECT_EQ(text.rfind("Dear Alex, see you at the meeting.", 0), 0u) << text;
  EXPECT_EQ(text.find("{{"), std::string::npos) << text;
  EXPECT_NE(text.find("sent by Bob Officer"), std::string::npos) << text;
  EXPECT_EQ(p["from_name"], "Nina Named");
  HttpResponse direct =
      env_.Send("POST", "/api/v1/messages/" + std::to_string(bob_for_nina_) + "/preview", "", &s);
  EXPECT_EQ(direct.status, 403) << direct.body;
}

// A drafter finds the person a message speaks for by name, inside the scope
// they draft for: display names and account ids, nothing about members.
TEST_P(ApiMessagesTest, SpeakersAreFoundByNameInTheDraftersScope) {
  TestSession s = Session(olga_);
  auto names = [&](const std::string& query) {
    HttpResponse r = env_.Send("GET", "/api/v1/messages/speakers?unit=E14000530&" + query, "", &s);
    EXPECT_EQ(r.status, 200) << r.body;
    ExpectNoMemberData(r.body);
    std::vector<std::string> out;
    const nlohmann::json j = Body(r);
    for (const auto& sp : j["speakers"]) {
      EXPECT_EQ(sp.size(), 2u) << sp.dump();
      EXPECT_TRUE(sp["account"].is_number_integer());
      out.push_back(sp["name"]);
    }
    return out;
  };
  // Alan's grant is in Aldridge, Sam's over the region above Aldershot.
  EXPECT_EQ(names("q=officer"), (std::vector<std::string>{"Bob Officer", "Olga Officer"}));
  EXPECT_EQ(names("q=vic"), std::vector<std::string>{"Vic Caller"});
  EXPECT_EQ(names("q=nina"), std::vector<std::string>{});
  HttpResponse paged =
      env_.Send("GET", "/api/v1/messages/speakers?unit=E14000530&q=officer&limit=1", "", &s);
  ASSERT_EQ(paged.status, 200) << paged.body;
  EXPECT_EQ(Body(paged)["speakers"].size(), 1u);
  EXPECT_EQ(Body(paged)["next_offset"], 1);
  for (const char* bad :
       {"q=o", "q=officer&limit=21", "q=officer&limit=x", "q=officer&offset=-1"}) {
    HttpResponse r =
        env_.Send("GET", std::string("/api/v1/messages/speakers?unit=E14000530&") + bad, "", &s);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
  }
  // Outside the drafter's scope, or without message.draft: refused.
  EXPECT_EQ(env_.Send("GET", "/api/v1/messages/speakers?unit=E14000531&q=officer", "", &s).status,
            403);
  TestSession vic = Session(vic_);
  EXPECT_EQ(env_.Send("GET", "/api/v1/messages/speakers?unit=E14000530&q=officer", "", &vic).status,
            403);
  EXPECT_EQ(env_.Events("message.speakers").size(), 4u);
}

TEST_P(ApiMessagesTest, TheOrganisationIsNamedWithoutASession) {
  HttpResponse r = env_.Send("GET", "/api/v1/organisation", "", nullptr);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["organisation"]["name"], "Example Party");
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiMessagesTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::server
