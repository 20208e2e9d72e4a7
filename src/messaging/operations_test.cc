// Each member e-mail operation and its audit event commit together or not at
// all (audit/testing/pairing.h), on both backends.
#include "messaging/operations.h"

#include <gtest/gtest.h>

#include <tuple>

#include "access/store/access_store.h"
#include "audit/testing/pairing.h"
#include "core/testing/status_matchers.h"
#include "members/register.h"
#include "members/testing_env.h"
#include "store/testing/faulty_store.h"

namespace switchboard::messaging {
namespace {

using audit::testing::ExpectPaired;
using audit::testing::Pairing;

class OperationsPairingTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    ASSERT_FALSE(HasFatalFailure());
    faulty_ = std::make_unique<store::testing::FaultyStore>(*env_.store_);
    policy_ = std::move(access::ParsePolicy(access::DefaultPolicyToml(), "policy").value());
    aldershot_ = env_.tree_.FindByCode("E14000530")->id;
    author_ = Account("author", "Pat Author");
    person_ = Account("named.person", "Sam Example");
    approver_ = Account("approver", "Kim Approver");
    for (const char* ext : {"1", "2", "3"}) member_ = Member(ext);
    ops_ = std::make_unique<Operations>(policy_, env_.tree_);
  }

  Status Write(const store::TxFn& fn) { return env_.store_->Write(fn); }
  Micros Now() const { return clock_.Now(); }

  AccountId Account(const std::string& login, const std::string& name) {
    AccountId id;
    EXPECT_OK(Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(id, access::CreateAccount(tx, {login, name, MemberId(), false}, Now()));
      return Status::Ok();
    }));
    return id;
  }

  MemberId Member(const std::string& ext) {
    members::MemberRecord r;
    r.source = "native";
    r.external_id = ext;
    r.unit = aldershot_;
    r.first_name = "First" + ext;
    r.last_name = "Last";
    r.status = "current";
    r.membership_type = "standard";
    r.joined_on = 18000;
    r.consents = members::kConsentEmail;
    r.content_hash = "h" + ext;
    const std::string e = "member" + ext + "@example.org";
    r.contacts.push_back(
        {"email", "primary", env_.sealer_->Seal(e, "email"), env_.sealer_->BlindIndex("email", e)});
    MemberId id;
    EXPECT_OK(Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(auto up, members::UpsertMember(tx, r, Now(), "t"));
      id = up.id;
      return Status::Ok();
    }));
    return id;
  }

  // `account` acting under an allow for message.send over Aldershot (an
  // officer's grant), as the gate would make it.
  access::Acting As(AccountId account) {
    grants_ = {access::Grant{access::GrantId(1), account, "officer", aldershot_, "p", Now() - 1,
                             Now() + kMicrosPerDay, approver_, "r"}};
    access::Principal p{account, access::AccountState::kActive, false, true, grants_};
    decision_ = access::Decide(policy_, env_.tree_, p, "message.send", {aldershot_}, Now());
    EXPECT_TRUE(decision_.allow) << decision_.deny_reason;
    access::Acting a;
    a.account = account;
    a.display_name = "Test";
    a.decision = &decision_;
    a.now = Now();
    a.request_id = "req-1";
    return a;
  }

  Message Draft(FromKind from = FromKind::kUnit) const {
    Message m;
    m.author = author_;
    m.scope = aldershot_;
    m.from.kind = from;
    m.from.unit = aldershot_;
    if (from == FromKind::kPerson) {
      m.from.account = person_;
      m.from.name = "Sam Example";
    }
    m.kind = Kind::kCampaign;
    m.audience.scope = aldershot_;
    m.subject = "Branch news for {{first_name}}";
    m.text_body = "Dear {{first_name}},\nThe AGM is on Monday.";
    return m;
  }

  Message Stored(Message m) {
    EXPECT_OK(Write([&](store::Tx& tx) { return CreateDraft(tx, env_.tree_, m, Now()).status(); }));
    return m;
  }

  // A stored message, sent by the author.
  Message Sending() {
    Message m = Stored(Draft());
    const access::Acting who = As(author_);
    EXPECT_OK(Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(SendResult r, ops_->SendAs(tx, who, m.id, m.version));
      return r.sent ? Status::Ok() : Status::Internal("not sent");
    }));
    return m;
  }

  MemberLink Link(MessageId message = MessageId()) const {
    return MemberLink{member_, message, "req-link", Now()};
  }

  std::string OfMember(const std::string& column) const {
    return "SELECT " + column + " FROM members WHERE id = " + member_.ToString();
  }

  members::testing::RegisterEnv env_;
  std::unique_ptr<store::testing::FaultyStore> faulty_;
  ManualClock clock_{1'790'000'000'000'000};
  access::Policy policy_;
  UnitId aldershot_;
  AccountId author_, person_, approver_;
  MemberId member_;
  std::vector<access::Grant> grants_;
  access::Decision decision_;
  std::unique_ptr<Operations> ops_;
};

TEST_P(OperationsPairingTest, Draft) {
  const Message draft = Draft();
  const access::Acting who = As(author_);
  ExpectPaired(*faulty_, {"message.draft",
                          "INSERT INTO messages",
                          {"SELECT COUNT(*) FROM messages"},
                          [&](store::Tx& tx) {
                            Message m = draft;
                            return ops_->Draft(tx, who, m);
                          }});
}

TEST_P(OperationsPairingTest, Edit) {
  const Message m = Stored(Draft());
  const access::Acting who = As(author_);
  ExpectPaired(*faulty_, {"message.edit",
                          "UPDATE messages SET",
                          {"SELECT version FROM messages WHERE id = " + m.id.ToString()},
                          [&](store::Tx& tx) {
                            Message after;
                            auto edit = [](Message& d) {
                              d.text_body = "Dear {{first_name}},\nThe AGM moved to Tuesday.";
                              return Status::Ok();
                            };
                            return ops_->Edit(tx, who, m.id, edit, after);
                          }});
}

TEST_P(OperationsPairingTest, ApproveSecond) {
  const Message m = Stored(Draft());
  const access::Acting who = As(approver_);
  ExpectPaired(*faulty_,
               {"message.approve",
                "INSERT INTO message_approvals",
                {"SELECT COUNT(*) FROM message_approvals"},
                [&](store::Tx& tx) { return ops_->ApproveSecond(tx, who, m.id, m.version); }});
}

TEST_P(OperationsPairingTest, ApproveInOwnName) {
  const Message m = Stored(Draft(FromKind::kPerson));
  access::Acting who;
  who.account = person_;
  who.now = Now();
  ExpectPaired(*faulty_,
               {"message.approve_in_own_name",
                "INSERT INTO message_approvals",
                {"SELECT COUNT(*) FROM message_approvals"},
                [&](store::Tx& tx) { return ops_->ApproveInOwnName(tx, who, m.id, m.version); }});
}

TEST_P(OperationsPairingTest, SendAs) {
  const Message m = Stored(Draft());
  const access::Acting who = As(author_);
  ExpectPaired(*faulty_, {"message.send",
                          "INSERT INTO outbox",
                          {"SELECT COUNT(*) FROM outbox", "SELECT COUNT(*) FROM message_checks",
                           "SELECT COUNT(*) FROM messages WHERE state = 'sending'"},
                          [&](store::Tx& tx) -> Status {
                            SB_ASSIGN_OR_RETURN(SendResult r,
                                                ops_->SendAs(tx, who, m.id, m.version));
                            return r.sent ? Status::Ok() : Status::Internal("refused");
                          }});
}

// A refused send records its checks and a "message.send_refused" event: the
// two go together too.
TEST_P(OperationsPairingTest, SendAsRefused) {
  const Message m = Stored(Draft(FromKind::kPerson));  // Sam has not approved it
  const access::Acting who = As(author_);
  ExpectPaired(*faulty_, {"message.send_refused",
                          "INSERT INTO message_checks",
                          {"SELECT COUNT(*) FROM message_checks"},
                          [&](store::Tx& tx) -> Status {
                            SB_ASSIGN_OR_RETURN(SendResult r,
                                                ops_->SendAs(tx, who, m.id, m.version));
                            return r.sent ? Status::Internal("sent") : Status::Ok();
                          }});
  EXPECT_EQ(audit::testing::EventsOf(*env_.store_, "message.send"), 0);
}

TEST_P(OperationsPairingTest, CancelAs) {
  const Message m = Sending();
  const access::Acting who = As(author_);
  ExpectPaired(*faulty_, {"message.cancel",
                          "UPDATE outbox SET state = 'cancelled'",
                          {"SELECT COUNT(*) FROM outbox WHERE state = 'cancelled'",
                           "SELECT COUNT(*) FROM messages WHERE state = 'cancelled'"},
                          [&](store::Tx& tx) { return ops_->CancelAs(tx, who, m.id).status(); }});
}

TEST_P(OperationsPairingTest, Unsubscribe) {
  const Message m = Sending();
  const MemberLink link = Link(m.id);
  ExpectPaired(*faulty_, {"member.unsubscribe",
                          "INSERT INTO unsubscribes",
                          {"SELECT COUNT(*) FROM unsubscribes", OfMember("consents"),
                           "SELECT COUNT(*) FROM consent_events"},
                          [&](store::Tx& tx) { return Unsubscribe(tx, link).status(); }});
}

TEST_P(OperationsPairingTest, ReadPreferences) {
  const MemberLink link = Link();
  ExpectPaired(*faulty_, {"member.preferences.view",
                          "SELECT consents, suppressions FROM members",
                          {},
                          [&](store::Tx& tx) { return ReadPreferences(tx, link).status(); }});
}

TEST_P(OperationsPairingTest, SavePreferences) {
  const MemberLink link = Link();
  ExpectPaired(*faulty_, {"member.preferences",
                          "UPDATE members SET consents",
                          {OfMember("consents"), "SELECT COUNT(*) FROM consent_events"},
                          [&](store::Tx& tx) {
                            return SavePreferences(tx, link,
                                                   [](members::Preferences p) {
                                                     p.consents |= members::kConsentCandidates;
                                                     return p;
                                                   })
                                .status();
                          }});
}

// The person a draft speaks for sees it rendered for a made-up member, by the
// same path as the drafter's preview; nobody else gets it.
TEST_P(OperationsPairingTest, PreviewInOwnNameRendersForASampleMember) {
  Message draft = Draft(FromKind::kPerson);
  draft.text_body =
      "{{#first_name}}Dear {{first_name}},{{/first_name}}{{^first_name}}Dear member,"
      "{{/first_name}}\nNews from {{unit_name}}.";
  draft.html_body = "<p>Dear {{first_name}}, news from <strong>{{unit_name}}</strong>.</p>";
  const Message m = Stored(draft);
  access::Acting named;
  named.account = person_;
  named.now = Now();
  Preview p;
  ASSERT_OK(Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(
        p, ops_->PreviewInOwnName(tx, named, m, "https://sb.example.org", "Example Party"));
    return Status::Ok();
  }));
  const std::string unit = env_.tree_.Find(aldershot_)->name;
  EXPECT_EQ(p.sample_first_name, "Alex");
  EXPECT_EQ(p.sample_unit_name, unit);
  EXPECT_EQ(p.subject, "Branch news for Alex");
  EXPECT_EQ(p.text.rfind("Dear Alex,\nNews from " + unit + ".", 0), 0u) << p.text;
  EXPECT_EQ(p.text.find("{{"), std::string::npos) << p.text;
  EXPECT_NE(p.html.find("<strong>" + unit + "</strong>"), std::string::npos) << p.html;
  EXPECT_EQ(p.html.find("{{"), std::string::npos) << p.html;
  // The author stands in as the sender until someone sends it.
  EXPECT_NE(p.text.find("sent by Pat Author"), std::string::npos) << p.text;
  EXPECT_EQ(p.from_name, "Sam Example");

  // The drafter's preview is the same rendering.
  Preview drafted;
  access::Acting author = As(author_);
  author.display_name = "Pat Author";
  ASSERT_OK(Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(
        drafted, ops_->PreviewAs(tx, author, m.id, "https://sb.example.org", "Example Party"));
    return Status::Ok();
  }));
  EXPECT_EQ(drafted.subject, p.subject);
  EXPECT_EQ(drafted.html.substr(0, drafted.html.find("<hr>")),
            p.html.substr(0, p.html.find("<hr>")));

  for (AccountId other : {author_, approver_}) {
    access::Acting who;
    who.account = other;
    who.now = Now();
    EXPECT_EQ(Write([&](store::Tx& tx) {
                return ops_->PreviewInOwnName(tx, who, m, "https://x", "P").status();
              }).code(),
              StatusCode::kNotFound);
  }
}

// Who a message could speak for: accounts linked to a member within the
// scope, or holding a grant in force within it; by name, paged, recorded.
TEST_P(OperationsPairingTest, SpeakersAreFoundByNameWithinTheScope) {
  const UnitId elsewhere = env_.tree_.FindByCode("E14000531")->id;
  ASSERT_FALSE(env_.tree_.IsWithin(elsewhere, aldershot_));
  auto add = [&](const std::string& login, const std::string& name, MemberId member) {
    AccountId id;
    EXPECT_OK(Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(id, access::CreateAccount(tx, {login, name, member, false}, Now()));
      return Status::Ok();
    }));
    return id;
  };
  auto grant = [&](AccountId to, UnitId scope, Micros from, Micros until) {
    EXPECT_OK(Write([&](store::Tx& tx) -> Status {
      access::GrantRequest g{to, "officer", scope, "p", from, until, "r"};
      return access::InsertGrant(tx, g, approver_, true, Now()).status();
    }));
  };
  const MemberId outside = [&] {
    MemberId id = Member("9");
    EXPECT_OK(Write([&](store::Tx& tx) {
      return tx
          .Exec("UPDATE members SET unit_id = $1, branch_id = NULL WHERE id = $2",
                {elsewhere.value(), id.value()})
          .status();
    }));
    return id;
  }();
  // Imported members have a unit and often no branch: the unit decides.
  ASSERT_OK(Write(
      [&](store::Tx& tx) { return tx.Exec("UPDATE members SET branch_id = NULL", {}).status(); }));
  const AccountId linked = add("linked", "Maria Member", member_);
  const AccountId officer = add("officer", "Mark Officer", MemberId());
  grant(officer, aldershot_, Now() - 1, Now() + kMicrosPerDay);
  const AccountId lapsed = add("lapsed", "Mary Lapsed", MemberId());
  grant(lapsed, aldershot_, Now() - 2 * kMicrosPerDay, Now() - kMicrosPerDay);
  const AccountId far_grant = add("far", "Martha Far", MemberId());
  grant(far_grant, elsewhere, Now() - 1, Now() + kMicrosPerDay);
  add("far.member", "Marcus Far", outside);
  const AccountId gone = add("gone", "Max Suspended", MemberId());
  grant(gone, aldershot_, Now() - 1, Now() + kMicrosPerDay);
  ASSERT_OK(Write([&](store::Tx& tx) {
    return access::SetAccountState(tx, gone, access::AccountState::kSuspended, "t", Now());
  }));

  const access::Acting who = As(author_);
  auto search = [&](std::string_view q, int limit, int offset) -> Result<SpeakerPage> {
    SpeakerPage page;
    SB_RETURN_IF_ERROR(Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(page, ops_->Speakers(tx, who, aldershot_, q, limit, offset));
      return Status::Ok();
    }));
    return page;
  };
  auto names = [](const SpeakerPage& p) {
    std::vector<std::string> out;
    for (const auto& s : p.speakers) out.push_back(s.name);
    return out;
  };
  // "MAR": case ignored; the lapsed grant, the other scope and the
  // suspended account are left out.
  auto all = search("  MAR ", kSpeakersPageMax, 0);
  ASSERT_OK(all.status());
  EXPECT_EQ(names(*all), (std::vector<std::string>{"Maria Member", "Mark Officer"}));
  EXPECT_FALSE(all->more);
  EXPECT_EQ(all->speakers[0].account, linked);
  EXPECT_EQ(all->speakers[1].account, officer);
  // Paged.
  auto first = search("mar", 1, 0);
  ASSERT_OK(first.status());
  EXPECT_EQ(names(*first), std::vector<std::string>{"Maria Member"});
  EXPECT_TRUE(first->more);
  auto second = search("mar", 1, 1);
  ASSERT_OK(second.status());
  EXPECT_EQ(names(*second), std::vector<std::string>{"Mark Officer"});
  EXPECT_FALSE(second->more);
  // A scope above both units finds the other scope's people too.
  const UnitId root = env_.tree_.root()->id;
  SpeakerPage wide;
  ASSERT_OK(Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(wide, ops_->Speakers(tx, who, root, "far", 10, 0));
    return Status::Ok();
  }));
  EXPECT_EQ(names(wide), (std::vector<std::string>{"Marcus Far", "Martha Far"}));
  // Each search is recorded; a refused one is not a search.
  EXPECT_EQ(audit::testing::EventsOf(*env_.store_, "message.speakers"), 4);
  for (auto [q, limit, offset] :
       {std::tuple("m", 10, 0), std::tuple("mar", 0, 0), std::tuple("mar", kSpeakersPageMax + 1, 0),
        std::tuple("mar", 10, kSpeakersOffsetMax + 1)}) {
    EXPECT_EQ(search(q, limit, offset).status().code(), StatusCode::kInvalidArgument) << q;
  }
  EXPECT_EQ(audit::testing::EventsOf(*env_.store_, "message.speakers"), 4);
}

INSTANTIATE_TEST_SUITE_P(Backends, OperationsPairingTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace switchboard::messaging
