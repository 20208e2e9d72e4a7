// Each member e-mail operation and its audit event commit together or not at
// all (audit/testing/pairing.h), on both backends.
#include "messaging/operations.h"

#include <gtest/gtest.h>

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

INSTANTIATE_TEST_SUITE_P(Backends, OperationsPairingTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace switchboard::messaging
