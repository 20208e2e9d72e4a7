#include "messaging/messaging.h"

#include <gtest/gtest.h>

#include "access/store/access_store.h"
#include "members/register.h"
#include "members/testing_env.h"
#include "messaging/suppressions.h"
#include "messaging/tokens.h"

namespace switchboard::messaging {
namespace {

using members::kConsentCandidates;
using members::kConsentEmail;

class MessagingTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    policy_ = std::move(access::ParsePolicy(access::DefaultPolicyToml(), "policy").value());
    aldershot_ = env_.tree_.FindByCode("E14000530")->id;
    aldridge_ = env_.tree_.FindByCode("E14000531")->id;
    staff_ = Account("staff.one", "Pat Staff", true);
    person_ = Account("named.person", "Sam Example");
    approver_ = Account("approver", "Kim Approver");
  }

  AccountId Account(const std::string& login, const std::string& name, bool staff = false) {
    AccountId id;
    EXPECT_TRUE(Write([&](store::Tx& tx) -> Status {
                  SB_ASSIGN_OR_RETURN(id, access::CreateAccount(
                                              tx, {login, name, MemberId(), staff}, clock_.Now()));
                  return Status::Ok();
                }).ok());
    return id;
  }

  MemberId Member(const std::string& ext, UnitId unit, std::uint32_t consents,
                  std::uint32_t suppressions = 0, bool with_email = true) {
    members::MemberRecord r;
    r.source = "native";
    r.external_id = ext;
    r.unit = unit;
    r.first_name = "First" + ext;
    r.last_name = "Last";
    r.status = "current";
    r.membership_type = "standard";
    r.joined_on = 18000;
    r.consents = consents;
    r.suppressions = suppressions;
    r.content_hash = "h" + ext;
    if (with_email) {
      const std::string e = "member" + ext + "@example.org";
      r.contacts.push_back({"email", "primary", env_.sealer_->Seal(e, "email"),
                            env_.sealer_->BlindIndex("email", e)});
    }
    MemberId id;
    EXPECT_TRUE(Write([&](store::Tx& tx) -> Status {
                  SB_ASSIGN_OR_RETURN(auto up, members::UpsertMember(tx, r, clock_.Now(), "t"));
                  id = up.id;
                  return Status::Ok();
                }).ok());
    return id;
  }

  Status Write(const std::function<Status(store::Tx&)>& f) { return env_.store_->Write(f); }

  Message Draft(FromKind from = FromKind::kUnit) {
    Message m;
    m.author = staff_;
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
    m.html_body = "<p>Dear {{first_name}},</p><p>The AGM is on Monday.</p>";
    return m;
  }

  MessageId Create(Message& m) {
    MessageId id;
    EXPECT_TRUE(Write([&](store::Tx& tx) -> Status {
                  SB_ASSIGN_OR_RETURN(id, CreateDraft(tx, env_.tree_, m, clock_.Now()));
                  return Status::Ok();
                }).ok());
    return id;
  }

  access::Decision SendDecision(AccountId who, UnitId scope) {
    grants_ = {access::Grant{access::GrantId(1), who, "officer", scope, "p", clock_.Now() - 1,
                             clock_.Now() + kMicrosPerDay, approver_, "r"}};
    access::Principal p{who, access::AccountState::kActive, false, true, grants_};
    return access::Decide(policy_, env_.tree_, p, "message.send", {scope}, clock_.Now());
  }

  Result<SendResult> DoSend(MessageId id, int version, AccountId sender, SendPolicy sp = {}) {
    Result<SendResult> out = Status::Internal("not run");
    const access::Decision d = SendDecision(sender, aldershot_);
    Status st = Write([&](store::Tx& tx) -> Status {
      out = Send(tx, env_.tree_, id, version, sender, false, d, sp, NoContestHooks(), clock_.Now());
      return out.status();
    });
    if (!st.ok()) return st;
    return out;
  }

  Status DoApprove(MessageId id, int version, ApprovalKind k, AccountId by) {
    return Write(
        [&](store::Tx& tx) { return Approve(tx, env_.tree_, id, version, k, by, clock_.Now()); });
  }

  std::int64_t Count(const segment::Segment& s, Kind k) {
    std::int64_t n = -1;
    EXPECT_TRUE(env_.store_
                    ->Read([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(n, CountRecipients(tx, env_.tree_, s, k));
                      return Status::Ok();
                    })
                    .ok());
    return n;
  }

  std::int64_t OutboxRows(MessageId id) {
    std::int64_t n = -1;
    EXPECT_TRUE(env_.store_
                    ->Read([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(
                          n, tx.QueryInt("SELECT COUNT(*) FROM outbox WHERE message_id = $1",
                                         {id.value()}));
                      return Status::Ok();
                    })
                    .ok());
    return n;
  }

  members::testing::RegisterEnv env_;
  access::Policy policy_;
  ManualClock clock_{1'790'000'000'000'000};
  UnitId aldershot_, aldridge_;
  AccountId staff_, person_, approver_;
  std::vector<access::Grant> grants_;
};

TEST_P(MessagingTest, CountAppliesConsentSuppressionAddressAndScope) {
  Member("1", aldershot_, kConsentEmail);
  Member("2", aldershot_, kConsentEmail | kConsentCandidates);
  Member("3", aldershot_, 0);                                 // no e-mail consent
  Member("4", aldershot_, kConsentEmail, members::kNoEmail);  // suppressed
  Member("5", aldershot_, kConsentEmail, members::kDeceased);
  Member("6", aldershot_, kConsentEmail, 0, /*with_email=*/false);
  Member("7", aldridge_, kConsentEmail);  // outside the scope
  segment::Segment s;
  s.scope = aldershot_;
  EXPECT_EQ(Count(s, Kind::kCampaign), 2);
  EXPECT_EQ(Count(s, Kind::kEndorsement), 1);
  EXPECT_EQ(Count(s, Kind::kService), 3);  // governance notices need no marketing consent
}

TEST_P(MessagingTest, EditsMakeVersionsAndVoidApprovals) {
  for (int i = 0; i < 3; ++i) Member(std::to_string(i), aldershot_, kConsentEmail);
  Message m = Draft();
  const MessageId id = Create(m);
  EXPECT_EQ(m.version, 1);
  // The author cannot be the second approver.
  Status self = DoApprove(id, 1, ApprovalKind::kSecond, staff_);
  EXPECT_EQ(self.code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(DoApprove(id, 1, ApprovalKind::kSecond, approver_).ok());
  m.text_body = "Dear {{first_name}},\nThe AGM moved to Tuesday.";
  ASSERT_TRUE(
      Write([&](store::Tx& tx) { return UpdateDraft(tx, env_.tree_, m, clock_.Now()); }).ok());
  EXPECT_EQ(m.version, 2);
  std::vector<Approval> approvals;
  ASSERT_TRUE(env_.store_
                  ->Read([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(Message cur, GetMessage(tx, env_.tree_, id));
                    SB_ASSIGN_OR_RETURN(approvals, CurrentApprovals(tx, cur));
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_TRUE(approvals.empty());
  // Approving an old version is refused with the current one named.
  Status stale = DoApprove(id, 1, ApprovalKind::kSecond, approver_);
  EXPECT_EQ(stale.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(stale.message().find("(2)"), std::string::npos) << stale.message();
  // With a threshold below the audience, sending needs the second approval again.
  SendPolicy strict;
  strict.approval_audience_above = 1;
  auto refused = DoSend(id, 2, approver_, strict);
  ASSERT_TRUE(refused.has_value()) << refused.status().message();
  EXPECT_FALSE(refused->sent);
  EXPECT_EQ(OutboxRows(id), 0);
  ASSERT_TRUE(DoApprove(id, 2, ApprovalKind::kSecond, person_).ok());
  auto sent = DoSend(id, 2, approver_, strict);
  ASSERT_TRUE(sent.has_value());
  EXPECT_TRUE(sent->sent);
  EXPECT_EQ(sent->recipients, 3);
}

TEST_P(MessagingTest, OnBehalfNeedsTheNamedPersonsOwnApproval) {
  Member("1", aldershot_, kConsentEmail);
  Message m = Draft(FromKind::kPerson);
  const MessageId id = Create(m);
  // The incident: staff send in another person's name. Refused, and said why.
  auto r = DoSend(id, 1, staff_);
  ASSERT_TRUE(r.has_value()) << r.status().message();
  EXPECT_FALSE(r->sent);
  bool named = false;
  for (const auto& c : r->checks) {
    if (c.rule == "message.on_behalf") {
      EXPECT_FALSE(c.passed);
      named = c.detail.find("Sam Example") != std::string::npos;
    }
  }
  EXPECT_TRUE(named);
  EXPECT_EQ(OutboxRows(id), 0);
  // Nobody else can approve in Sam's name, not even an approver.
  EXPECT_EQ(DoApprove(id, 1, ApprovalKind::kOnBehalf, approver_).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(DoApprove(id, 1, ApprovalKind::kOnBehalf, staff_).code(),
            StatusCode::kPermissionDenied);
  ASSERT_TRUE(DoApprove(id, 1, ApprovalKind::kOnBehalf, person_).ok());
  auto ok = DoSend(id, 1, staff_);
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(ok->sent);
  EXPECT_EQ(OutboxRows(id), 1);
  // Sending twice queues nobody twice.
  auto again = DoSend(id, 1, staff_);
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(OutboxRows(id), 1);
}

TEST_P(MessagingTest, ValidationNamesTheField) {
  Message m = Draft();
  m.text_body = "{{email}}";
  Status st = Validate(m, env_.tree_);
  EXPECT_NE(st.message().find("text_body"), std::string::npos) << st.message();
  m = Draft();
  m.html_body = "<p onmouseover=\"x\">hi</p>";
  EXPECT_NE(Validate(m, env_.tree_).message().find("html_body"), std::string::npos);
  m = Draft();
  m.subject = "line one\r\nBcc: everyone@example.org";
  EXPECT_NE(Validate(m, env_.tree_).message().find("subject"), std::string::npos);
  m = Draft();
  m.text_body = std::string(300 * 1024, 'a');
  EXPECT_NE(Validate(m, env_.tree_).message().find("longer than"), std::string::npos);
  m = Draft();
  m.from.unit = aldridge_;  // speaking for a unit outside the scope
  EXPECT_NE(Validate(m, env_.tree_).message().find("from.unit"), std::string::npos);
  m = Draft(FromKind::kOrganisation);  // only a whole-organisation message may
  EXPECT_NE(Validate(m, env_.tree_).message().find("from:"), std::string::npos);
}

TEST_P(MessagingTest, CarriedOverSuppressionsStopMembersAtOnce) {
  const MemberId a = Member("1", aldershot_, kConsentEmail);
  const MemberId b = Member("2", aldershot_, kConsentEmail);
  Member("3", aldershot_, kConsentEmail);
  segment::Segment s;
  s.scope = aldershot_;
  ASSERT_EQ(Count(s, Kind::kCampaign), 3);
  const std::string file =
      "email,reason\n"
      "MEMBER1@example.org,unsubscribed\n" +  // plain, different case
      AddressSha256("member2@example.org") +
      ",bounced\n" +  // hashed
      "not-an-address\n"
      "\n"
      "# a comment\n"
      "member1@example.org\n";  // duplicate
  auto sum =
      ImportSuppressions(*env_.store_, *env_.sealer_, file, "old-provider.csv", clock_.Now());
  ASSERT_TRUE(sum.has_value()) << sum.status().message();
  EXPECT_EQ(sum->plain, 2);
  EXPECT_EQ(sum->hashed, 1);
  EXPECT_EQ(sum->duplicates, 1);
  EXPECT_EQ(sum->members_suppressed, 2);
  ASSERT_EQ(sum->rejected.size(), 1u);
  EXPECT_EQ(sum->rejected[0].line, 4);
  EXPECT_EQ(sum->rejected[0].reason.find("not-an-address"), std::string::npos);
  EXPECT_EQ(Count(s, Kind::kCampaign), 1);
  std::int64_t suppress_events = -1;
  ASSERT_TRUE(env_.store_
                  ->Read([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(
                        suppress_events,
                        tx.QueryInt("SELECT COUNT(*) FROM audit_events WHERE "
                                    "action = 'member.suppress' AND members = $1",
                                    {std::to_string(a.value()) + "," + std::to_string(b.value())}));
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(suppress_events, 1);
  // The list itself answers for addresses whether or not a member matched.
  ASSERT_TRUE(env_.store_
                  ->Read([&](store::Tx& tx) -> Status {
                    EXPECT_TRUE(*OnSuppressionList(tx, *env_.sealer_, "member1@example.org"));
                    EXPECT_TRUE(*OnSuppressionList(tx, *env_.sealer_, "member2@example.org"));
                    EXPECT_FALSE(*OnSuppressionList(tx, *env_.sealer_, "member3@example.org"));
                    return Status::Ok();
                  })
                  .ok());
}

TEST_P(MessagingTest, CancelStopsRowsNotYetHanded) {
  for (int i = 0; i < 4; ++i) Member(std::to_string(i), aldershot_, kConsentEmail);
  Message m = Draft();
  const MessageId id = Create(m);
  ASSERT_TRUE(DoSend(id, 1, approver_)->sent);
  std::int64_t n = -1;
  ASSERT_TRUE(Write([&](store::Tx& tx) -> Status {
                SB_ASSIGN_OR_RETURN(n, Cancel(tx, id, clock_.Now()));
                return Status::Ok();
              }).ok());
  EXPECT_EQ(n, 4);
  ASSERT_TRUE(env_.store_
                  ->Read([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(Message cur, GetMessage(tx, env_.tree_, id));
                    EXPECT_EQ(cur.state, State::kCancelled);
                    SB_ASSIGN_OR_RETURN(Report r, MessageReport(tx, cur));
                    EXPECT_EQ(r.cancelled, 4);
                    EXPECT_EQ(r.recipients, 4);
                    EXPECT_EQ(r.sender_name, "Kim Approver");
                    EXPECT_EQ(r.author_name, "Pat Staff");
                    EXPECT_FALSE(r.checks.empty());
                    return Status::Ok();
                  })
                  .ok());
}

TEST_P(MessagingTest, ListFindsOwnMessagesAndThoseWithinTheScopesGiven) {
  const AccountId officer = Account("officer", "Olga Officer");
  const UnitId south_east = env_.tree_.Find(aldershot_)->parent;
  Message own = Draft();
  own.author = officer;
  own.scope = aldridge_;
  own.audience.scope = aldridge_;
  own.from.unit = aldridge_;
  const MessageId own_id = Create(own);
  Message in_aldershot = Draft();
  const MessageId aldershot_id = Create(in_aldershot);
  Message named = Draft(FromKind::kPerson);
  named.from.account = officer;
  named.from.unit = UnitId();
  named.scope = aldridge_;
  named.audience.scope = aldridge_;
  const MessageId named_id = Create(named);
  Message regional = Draft();  // wider than Aldershot
  regional.scope = south_east;
  regional.audience.scope = south_east;
  regional.from.unit = south_east;
  const MessageId regional_id = Create(regional);

  auto list = [&](std::vector<UnitId> scopes, std::function<bool(const Message&)> in_scope,
                  int limit = 100) {
    std::vector<std::int64_t> ids;
    EXPECT_TRUE(env_.store_
                    ->Read([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(
                          auto l, ListMessages(tx, env_.tree_, officer, scopes, in_scope, limit));
                      for (const auto& m : l) ids.push_back(m.id.value());
                      return Status::Ok();
                    })
                    .ok());
    return ids;
  };
  auto yes = [](const Message&) { return true; };
  using V = std::vector<std::int64_t>;
  // No scopes: only the account's own (drafted, or in its name).
  EXPECT_EQ(list({}, yes), (V{named_id.value(), own_id.value()}));
  // A constituency: its messages, never the region's.
  EXPECT_EQ(list({aldershot_}, yes), (V{named_id.value(), aldershot_id.value(), own_id.value()}));
  // The caller's decision has the last word on messages found by scope only.
  EXPECT_EQ(list({aldershot_}, [](const Message&) { return false; }),
            (V{named_id.value(), own_id.value()}));
  // A region covers itself and the units in it.
  EXPECT_EQ(list({south_east}, yes),
            (V{regional_id.value(), named_id.value(), aldershot_id.value(), own_id.value()}));
  // The root: every message.
  EXPECT_EQ(list({env_.tree_.root()->id}, yes).size(), 4u);
  // Newest first, at most `limit`.
  EXPECT_EQ(list({south_east}, yes, 2), (V{regional_id.value(), named_id.value()}));
}

INSTANTIATE_TEST_SUITE_P(Backends, MessagingTest, ::testing::Values("sqlite", "postgres"));

TEST(TokenTest, RoundTripsAndRefusesTampering) {
  auto keyring = crypto::Keyring::Generate();
  crypto::Sealer sealer(*keyring);
  TokenSigner signer(sealer);
  const std::string t = signer.Make({MemberId(42), MessageId(7)});
  auto c = signer.Verify(t);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->member, MemberId(42));
  EXPECT_EQ(c->message, MessageId(7));
  EXPECT_EQ(t.find("42"), std::string::npos);
  std::string bad = t;
  bad[3] = bad[3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(signer.Verify(bad));
  EXPECT_FALSE(signer.Verify(""));
  EXPECT_FALSE(signer.Verify(t + "x"));
  // Another deployment's key signs differently.
  auto other = crypto::Keyring::Generate();
  crypto::Sealer other_sealer(*other);
  EXPECT_FALSE(TokenSigner(other_sealer).Verify(t));
}

}  // namespace
}  // namespace switchboard::messaging
