#include "access/store/enrolment.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "access/credentials/token.h"
#include "access/store/access_service.h"
#include "audit/audit_log.h"
#include "members/register.h"
#include "members/testing_env.h"

namespace switchboard::access {
namespace {

constexpr const char* kPassword = "a long enough passphrase for tests";

class EnrolmentTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    policy_ = std::move(ParsePolicy(DefaultPolicyToml(), "policy").value());
    AuthOptions o;
    o.hash = PasswordHashOptions::Minimum();
    o.csrf_key.fill(3);
    auth_ = std::make_unique<AuthService>(*env_.store_, policy_, *env_.sealer_, clock_, o);
    EnrolmentOptions eo;
    eo.public_base_url = "https://sb.example.org";
    eo.hash = PasswordHashOptions::Minimum();
    enrol_ = std::make_unique<EnrolmentService>(*env_.store_, policy_, *env_.sealer_, clock_,
                                                *auth_, eo);
    service_ = std::make_unique<AccessService>(*env_.store_, policy_, env_.tree_, clock_);
    member_ = AddMember("M100", "m100@example.org");
  }

  MemberId AddMember(const std::string& ext, const std::string& email) {
    members::MemberRecord r;
    r.source = "native";
    r.external_id = ext;
    r.unit = env_.tree_.FindByCode("E14000530")->id;
    r.first_name = "First";
    r.last_name = "Last";
    r.content_hash = "h" + ext;
    r.contacts.push_back({"email", "primary", env_.sealer_->Seal(email, "email"),
                          env_.sealer_->BlindIndex("email", email)});
    MemberId id;
    EXPECT_TRUE(env_.store_
                    ->Write([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(auto up, members::UpsertMember(tx, r, clock_.Now(), "t"));
                      id = up.id;
                      return Status::Ok();
                    })
                    .ok());
    return id;
  }

  SignUpRequest SignUp(std::string who, bool own = false, std::string client = "192.0.2.0/24") {
    SignUpRequest r;
    r.who = std::move(who);
    r.invite_token = std::string(kTokenChars, 'I');
    r.campaign_name = "Spring calls";
    r.allow_own_address = own;
    r.client = std::move(client);
    r.request_id = "req";
    return r;
  }

  // The mails queued, opened: {to, subject, text}.
  std::vector<nlohmann::json> Mails() {
    std::vector<nlohmann::json> out;
    EXPECT_TRUE(env_.store_
                    ->Read([&](store::Tx& tx) {
                      return tx.Query(
                          "SELECT key_id, sealed FROM account_mail ORDER BY id", {},
                          [&](const store::Row& r) {
                            auto m = env_.sealer_->Open(
                                {static_cast<std::uint32_t>(r.Int(0)), std::string(r.Bytes(1))},
                                "account-mail");
                            EXPECT_TRUE(m);
                            out.push_back(nlohmann::json::parse(*m));
                            return true;
                          });
                    })
                    .ok());
    return out;
  }

  static std::string TokenIn(const nlohmann::json& mail) {
    std::smatch m;
    const std::string text = mail["text"];
    EXPECT_TRUE(std::regex_search(text, m, std::regex("#/(welcome|reset)/([A-Za-z0-9_-]{43})")));
    return m.size() > 2 ? m[2].str() : "";
  }

  std::vector<audit::Event> Events() {
    std::vector<audit::Event> out;
    EXPECT_TRUE(env_.store_
                    ->Read([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(out, audit::AuditLog::Query(tx, {}));
                      return Status::Ok();
                    })
                    .ok());
    return out;
  }

  CompleteLink Complete(const std::string& token, std::string login = "newvol") {
    CompleteLink c;
    c.token = token;
    c.password = kPassword;
    c.login = std::move(login);
    c.display_name = "New Volunteer";
    c.client = "192.0.2.0/24";
    c.request_id = "req2";
    return c;
  }

  members::testing::RegisterEnv env_;
  ManualClock clock_{*ParseTimestamp("2026-03-01T09:00:00Z")};
  Policy policy_;
  std::unique_ptr<AuthService> auth_;
  std::unique_ptr<EnrolmentService> enrol_;
  std::unique_ptr<AccessService> service_;
  MemberId member_;
};

TEST_P(EnrolmentTest, AMemberSignsUpByNumberWithTheAddressOnRecord) {
  auto out = enrol_->RequestSignUp(SignUp("M100"));
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(out->answer, LinkAnswer::kAsked);
  auto mails = Mails();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0]["to"], "m100@example.org");
  EXPECT_NE(mails[0]["text"].get<std::string>().find("Spring calls"), std::string::npos);
  const std::string token = TokenIn(mails[0]);
  // Only the hash is stored; the mail is sealed.
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM account_links WHERE token_hash = '" + token + "'"), 0);
  auto info = enrol_->Inspect(token);
  ASSERT_TRUE(info) << info.error().ToString();
  EXPECT_EQ(info->purpose, LinkPurpose::kSignUp);
  EXPECT_TRUE(info->member);

  auto done = enrol_->Complete(Complete(token));
  ASSERT_TRUE(done) << done.error().ToString();
  EXPECT_EQ(done->account.member, member_);
  EXPECT_EQ(done->account.login, "newvol");
  auto resumed = auth_->Resume(done->session.token, SessionKind::kCookie);
  ASSERT_TRUE(resumed && resumed->ok());
  EXPECT_TRUE(AuthService::CheckCsrf(resumed->active->session, done->session.csrf_token));
  // The link works once.
  EXPECT_EQ(enrol_->Complete(Complete(token, "other")).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(enrol_->Inspect(token).error().code(), StatusCode::kNotFound);
  // Audited without the address or name.
  for (const auto& e : Events()) {
    const std::string canon = audit::Encode(e);
    EXPECT_EQ(canon.find("example.org"), std::string::npos) << canon;
    EXPECT_EQ(canon.find("M100"), std::string::npos) << canon;
  }
}

TEST_P(EnrolmentTest, ATypedAddressThatDiffersGetsNothingAndTheAnswerIsTheSame) {
  auto known = enrol_->RequestSignUp(SignUp("M100@EXAMPLE.ORG"));
  auto unknown = enrol_->RequestSignUp(SignUp("nobody@example.org"));
  ASSERT_TRUE(known && unknown);
  EXPECT_EQ(known->answer, unknown->answer);
  auto mails = Mails();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0]["to"], "m100@example.org");  // the register's form, not the typed one
  // Both requests were recorded.
  int requests = 0;
  for (const auto& e : Events()) requests += e.action == "account.signup_request";
  EXPECT_EQ(requests, 2);
}

TEST_P(EnrolmentTest, OwnAddressesOnlyWhereTheCampaignAllowsNonMembers) {
  ASSERT_TRUE(enrol_->RequestSignUp(SignUp("friend@example.org", false)));
  EXPECT_EQ(Mails().size(), 0u);
  ASSERT_TRUE(enrol_->RequestSignUp(SignUp("friend@example.org", true)));
  auto mails = Mails();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0]["to"], "friend@example.org");
  auto done = enrol_->Complete(Complete(TokenIn(mails[0]), "friend"));
  ASSERT_TRUE(done) << done.error().ToString();
  EXPECT_FALSE(done->account.member.valid());
  // The proved address lets the account reset its password later.
  ASSERT_TRUE(enrol_->RequestReset({"friend@example.org", "198.51.100.0/24", "r"}));
  mails = Mails();
  ASSERT_EQ(mails.size(), 2u);
  EXPECT_EQ(mails[1]["to"], "friend@example.org");
  auto info = enrol_->Inspect(TokenIn(mails[1]));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->purpose, LinkPurpose::kReset);
  EXPECT_EQ(info->login, "friend");
}

TEST_P(EnrolmentTest, LinksExpire) {
  ASSERT_TRUE(enrol_->RequestSignUp(SignUp("M100")));
  const std::string token = TokenIn(Mails().at(0));
  clock_.Advance(static_cast<Micros>(policy_.link_minutes) * 60 * kMicrosPerSecond);
  EXPECT_EQ(enrol_->Inspect(token).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(enrol_->Complete(Complete(token)).error().code(), StatusCode::kNotFound);
  // A day later the row itself goes, at the next request.
  clock_.Advance(24 * 3600 * kMicrosPerSecond + 1);
  ASSERT_TRUE(enrol_->RequestSignUp(SignUp("Z1")));
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM account_links"), 0);
}

TEST_P(EnrolmentTest, RequestsAreThrottledPerIdentifierAndPerPerson) {
  for (int i = 0; i < policy_.link_requests_per_identifier; ++i) {
    auto r = enrol_->RequestSignUp(SignUp("M100"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->answer, LinkAnswer::kAsked);
  }
  auto r = enrol_->RequestSignUp(SignUp("M100"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->answer, LinkAnswer::kThrottled);
  // The same for an unknown identifier: the refusal tells nothing.
  for (int i = 0; i < policy_.link_requests_per_identifier; ++i) {
    ASSERT_TRUE(enrol_->RequestSignUp(SignUp("Z999")));
  }
  EXPECT_EQ(enrol_->RequestSignUp(SignUp("Z999"))->answer, LinkAnswer::kThrottled);
  // Another way of naming the same member, from elsewhere: answered, but no
  // further mail for this person.
  const size_t before = Mails().size();
  auto other = enrol_->RequestSignUp(SignUp("m100@example.org", false, "203.0.113.0/24"));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->answer, LinkAnswer::kAsked);
  EXPECT_EQ(Mails().size(), before);
  // An hour later it works again.
  clock_.Advance(static_cast<Micros>(policy_.link_window_minutes) * 60 * kMicrosPerSecond + 1);
  EXPECT_EQ(enrol_->RequestSignUp(SignUp("M100"))->answer, LinkAnswer::kAsked);
}

TEST_P(EnrolmentTest, ResetEndsEverySessionAndClearsSignInThrottling) {
  auto hash = HashPassword("the old passphrase is long", PasswordHashOptions::Minimum());
  auto id = service_->AddAccount({"vic", "Vic", member_, false}, *hash);
  ASSERT_TRUE(id) << id.error().ToString();
  Credentials c;
  c.login = "vic";
  c.password = "the old passphrase is long";
  c.client = "192.0.2.0/24";
  auto first = auth_->Login(c, SessionKind::kCookie);
  auto second = auth_->Login(c, SessionKind::kBearer);
  ASSERT_TRUE(first && first->ok() && second && second->ok());
  c.password = "wrong";
  for (int i = 0; i < policy_.login_max_failures_per_account; ++i)
    ASSERT_TRUE(auth_->Login(c, SessionKind::kCookie));
  c.password = "the old passphrase is long";
  EXPECT_EQ(auth_->Login(c, SessionKind::kCookie)->refusal, LoginRefusal::kThrottled);

  // A sign-up request for a member with an account sends a reset link.
  ASSERT_TRUE(enrol_->RequestReset({"vic", "198.51.100.0/24", "r"}));
  auto mails = Mails();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0]["to"], "m100@example.org");
  CompleteLink done_req = Complete(TokenIn(mails[0]));
  done_req.password = "vic";  // refused by the policy; the link stays usable
  EXPECT_EQ(enrol_->Complete(done_req).error().code(), StatusCode::kInvalidArgument);
  done_req.password = kPassword;
  auto done = enrol_->Complete(done_req);
  ASSERT_TRUE(done) << done.error().ToString();
  EXPECT_EQ(done->purpose, LinkPurpose::kReset);
  EXPECT_EQ(done->sessions_ended, 2);
  EXPECT_EQ(auth_->Resume(first->session->token, SessionKind::kCookie)->refusal,
            ResumeRefusal::kRevoked);
  EXPECT_EQ(auth_->Resume(second->session->token, SessionKind::kBearer)->refusal,
            ResumeRefusal::kRevoked);
  EXPECT_TRUE(auth_->Resume(done->session.token, SessionKind::kCookie)->ok());
  c.password = kPassword;
  c.client = "203.0.113.0/24";
  auto again = auth_->Login(c, SessionKind::kCookie);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->ok()) << again->message;
}

TEST_P(EnrolmentTest, HostileInputIsRefusedPlainly) {
  for (const std::string& bad :
       std::vector<std::string>{"", "   ", std::string(300, 'a'), "a b", "x@", "\x01\x02"}) {
    auto r = enrol_->RequestSignUp(SignUp(bad));
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.error().message().find(bad.empty() ? "\x7f" : bad), std::string::npos);
  }
  EXPECT_EQ(enrol_->Inspect("not a token").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(enrol_->Inspect(std::string(kTokenChars, 'A')).error().code(), StatusCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Backends, EnrolmentTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::access
