#include "access/store/auth_service.h"

#include <gtest/gtest.h>

#include "access/credentials/token.h"
#include "access/credentials/totp.h"
#include "access/store/access_service.h"
#include "audit/audit_log.h"
#include "members/testing_env.h"

namespace switchboard::access {
namespace {

constexpr const char* kPassword = "correct horse battery";

class AuthServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    policy_ = std::move(ParsePolicy(DefaultPolicyToml(), "policy").value());
    AuthOptions o;
    o.hash = PasswordHashOptions::Minimum();
    o.recovery_pepper.fill(7);
    auth_ = std::make_unique<AuthService>(*env_.store_, policy_, *env_.sealer_, clock_, o);
    service_ = std::make_unique<AccessService>(*env_.store_, policy_, env_.tree_, clock_);
    auto hash = HashPassword(kPassword, PasswordHashOptions::Minimum());
    ASSERT_TRUE(hash);
    auto id = service_->AddAccount({"volunteer", "Volunteer", MemberId(), false}, *hash);
    ASSERT_TRUE(id) << id.error().ToString();
    volunteer_ = *id;
  }

  Credentials Creds(std::string password = kPassword, std::string client = "192.0.2.0/24") {
    Credentials c;
    c.login = "volunteer";
    c.password = std::move(password);
    c.client = std::move(client);
    c.request_id = "req1";
    return c;
  }

  std::string EnrolTotp() {
    const std::string secret = GenerateTotpSecret();
    const crypto::Sealed sealed = env_.sealer_->Seal(secret, "totp");
    EXPECT_TRUE(service_->EnrolTotp(volunteer_, {sealed.key_id, sealed.bytes, -1}).ok());
    return secret;
  }

  std::vector<audit::Event> Events(std::string_view action) {
    std::vector<audit::Event> out;
    EXPECT_TRUE(env_.store_
                    ->Read([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(auto all, audit::AuditLog::Query(tx, {}));
                      for (auto& e : all) {
                        if (e.action == action) out.push_back(e);
                      }
                      return Status::Ok();
                    })
                    .ok());
    return out;
  }

  members::testing::RegisterEnv env_;
  ManualClock clock_{*ParseTimestamp("2026-03-01T09:00:00Z")};
  Policy policy_;
  std::unique_ptr<AuthService> auth_;
  std::unique_ptr<AccessService> service_;
  AccountId volunteer_;
};

TEST_P(AuthServiceTest, LoginIssuesASessionStoredOnlyAsAHash) {
  auto out = auth_->Login(Creds(), SessionKind::kCookie);
  ASSERT_TRUE(out) << out.error().ToString();
  ASSERT_TRUE(out->ok()) << out->message;
  ASSERT_TRUE(out->session);
  EXPECT_EQ(out->session->token.size(), kTokenChars);
  EXPECT_FALSE(out->session->csrf_token.empty());
  EXPECT_EQ(
      env_.Count("SELECT COUNT(*) FROM sessions WHERE token_hash = '" + out->session->token + "'"),
      0);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM sessions WHERE token_hash = '" +
                       HashToken(out->session->token) + "'"),
            1);
  auto resumed = auth_->Resume(out->session->token, SessionKind::kCookie);
  ASSERT_TRUE(resumed);
  ASSERT_TRUE(resumed->ok()) << resumed->message;
  EXPECT_EQ(resumed->active->data.account.id, volunteer_);
  EXPECT_TRUE(AuthService::CheckCsrf(resumed->active->session, out->session->csrf_token));
  EXPECT_FALSE(AuthService::CheckCsrf(resumed->active->session, out->session->token));
  auto logins = Events("session.login");
  ASSERT_EQ(logins.size(), 1u);
  EXPECT_EQ(logins[0].decision, "allow");
  EXPECT_EQ(logins[0].client, "192.0.2.0/24");
}

TEST_P(AuthServiceTest, WrongPasswordAndUnknownLoginGetTheSameAnswer) {
  auto wrong = auth_->Login(Creds("not the password!"), SessionKind::kCookie);
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->refusal, LoginRefusal::kBadCredentials);
  Credentials unknown = Creds();
  unknown.login = "nobody";
  auto none = auth_->Login(unknown, SessionKind::kCookie);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->refusal, LoginRefusal::kBadCredentials);
  EXPECT_EQ(wrong->message, none->message);
  auto events = Events("session.login");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].rule, "login.password");
  EXPECT_EQ(events[1].rule, "login.unknown_account");
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM sessions"), 0);
}

TEST_P(AuthServiceTest, FailuresLockTheAccountUntilTheLockEnds) {
  for (int i = 0; i < policy_.login_max_failures_per_account; ++i) {
    auto r = auth_->Login(Creds("wrong password " + std::to_string(i), "198.51.100.0/24"),
                          SessionKind::kCookie);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->refusal, LoginRefusal::kBadCredentials) << i;
  }
  // Now even the right password is refused, from another address too.
  auto locked = auth_->Login(Creds(kPassword, "203.0.113.0/24"), SessionKind::kCookie);
  ASSERT_TRUE(locked);
  EXPECT_EQ(locked->refusal, LoginRefusal::kThrottled);
  EXPECT_EQ(locked->retry_at, clock_.Now() + policy_.login_lock_minutes * 60 * kMicrosPerSecond);
  EXPECT_NE(locked->message.find("try again after"), std::string::npos);
  clock_.Advance(policy_.login_lock_minutes * 60 * kMicrosPerSecond);
  auto after = auth_->Login(Creds(), SessionKind::kCookie);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->ok()) << after->message;
}

TEST_P(AuthServiceTest, FailuresFromOneAddressLockThatAddress) {
  Credentials c = Creds("wrong password", "198.51.100.0/24");
  c.login = "nobody";
  for (int i = 0; i < policy_.login_max_failures_per_address; ++i) {
    auto r = auth_->Login(c, SessionKind::kCookie);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->refusal, LoginRefusal::kBadCredentials) << i;
  }
  auto same = auth_->Login(Creds(kPassword, "198.51.100.0/24"), SessionKind::kCookie);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->refusal, LoginRefusal::kThrottled);
  auto other = auth_->Login(Creds(kPassword, "203.0.113.0/24"), SessionKind::kCookie);
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->ok()) << other->message;
}

TEST_P(AuthServiceTest, EnrolledSecondFactorIsRequiredAndCodesWorkOnce) {
  const std::string secret = EnrolTotp();
  auto without = auth_->Login(Creds(), SessionKind::kCookie);
  ASSERT_TRUE(without);
  EXPECT_EQ(without->refusal, LoginRefusal::kSecondFactorRequired);
  Credentials c = Creds();
  c.totp = *GenerateTotp(secret, clock_.Now());
  auto with = auth_->Login(c, SessionKind::kCookie);
  ASSERT_TRUE(with);
  ASSERT_TRUE(with->ok()) << with->message;
  EXPECT_TRUE(with->session->second_factor);
  auto replay = auth_->Login(c, SessionKind::kCookie);
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->refusal, LoginRefusal::kSecondFactorWrong);
}

TEST_P(AuthServiceTest, RecoveryCodesAreSingleUse) {
  EnrolTotp();
  auto codes = auth_->IssueRecoveryCodes(volunteer_);
  ASSERT_TRUE(codes) << codes.error().ToString();
  ASSERT_EQ(codes->size(), 10u);
  Credentials c = Creds();
  c.recovery_code = (*codes)[3];
  auto first = auth_->Login(c, SessionKind::kCookie);
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->ok()) << first->message;
  EXPECT_TRUE(first->session->second_factor);
  auto again = auth_->Login(c, SessionKind::kCookie);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->refusal, LoginRefusal::kSecondFactorWrong);
}

TEST_P(AuthServiceTest, SessionsEndAfterIdleAndAbsoluteTimeouts) {
  policy_.session_idle_minutes_other = 60;  // the service reads the policy it was given
  auto out = auth_->Login(Creds(), SessionKind::kCookie);
  ASSERT_TRUE(out && out->ok());
  const std::string token = out->session->token;
  // Activity keeps a session alive up to the absolute timeout.
  const Micros idle = policy_.session_idle_minutes_other * 60 * kMicrosPerSecond;
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(idle - kMicrosPerSecond);
    auto r = auth_->Resume(token, SessionKind::kCookie);
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->ok()) << i << ": " << r->message;
  }
  clock_.Advance(idle);
  auto idled = auth_->Resume(token, SessionKind::kCookie);
  ASSERT_TRUE(idled);
  EXPECT_EQ(idled->refusal, ResumeRefusal::kIdle);

  auto second = auth_->Login(Creds(), SessionKind::kCookie);
  ASSERT_TRUE(second && second->ok());
  const Micros absolute = policy_.session_absolute_hours * 3600 * kMicrosPerSecond;
  Micros elapsed = 0;
  while (elapsed + idle / 2 < absolute) {
    clock_.Advance(idle / 2);
    elapsed += idle / 2;
    auto r = auth_->Resume(second->session->token, SessionKind::kCookie);
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->ok()) << r->message;
  }
  clock_.Advance(absolute - elapsed);
  auto expired = auth_->Resume(second->session->token, SessionKind::kCookie);
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->refusal, ResumeRefusal::kExpired) << expired->message;
}

TEST_P(AuthServiceTest, TokensOnlyWorkOverTheirOwnTransport) {
  auto bearer = auth_->Login(Creds(), SessionKind::kBearer);
  ASSERT_TRUE(bearer && bearer->ok());
  EXPECT_TRUE(bearer->session->csrf_token.empty());
  auto as_cookie = auth_->Resume(bearer->session->token, SessionKind::kCookie);
  ASSERT_TRUE(as_cookie);
  EXPECT_EQ(as_cookie->refusal, ResumeRefusal::kWrongTransport);
  auto ok = auth_->Resume(bearer->session->token, SessionKind::kBearer);
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->ok());
}

TEST_P(AuthServiceTest, LogoutEverywhereAndSuspensionEndSessions) {
  auto a = auth_->Login(Creds(), SessionKind::kCookie);
  auto b = auth_->Login(Creds(), SessionKind::kBearer);
  ASSERT_TRUE(a && a->ok() && b && b->ok());
  auto n = auth_->LogoutEverywhere(volunteer_, "req", "");
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(auth_->Resume(a->session->token, SessionKind::kCookie)->refusal,
            ResumeRefusal::kRevoked);
  EXPECT_EQ(auth_->Resume(b->session->token, SessionKind::kBearer)->refusal,
            ResumeRefusal::kRevoked);

  auto c = auth_->Login(Creds(), SessionKind::kCookie);
  ASSERT_TRUE(c && c->ok());
  ASSERT_TRUE(service_->SetState(volunteer_, AccountState::kSuspended, "test").ok());
  EXPECT_EQ(auth_->Resume(c->session->token, SessionKind::kCookie)->refusal,
            ResumeRefusal::kRevoked);
  auto refused = auth_->Login(Creds(), SessionKind::kCookie);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->refusal, LoginRefusal::kNotActive);
}

// Resume keeps a session, its account and grants between requests; another
// server on the same database (`other`) makes every change here, so nothing
// but the stored access version can tell this one about them.
TEST_P(AuthServiceTest, AResumedSessionSeesEveryLaterChangeAtOnce) {
  AuthOptions o;
  o.hash = PasswordHashOptions::Minimum();
  o.recovery_pepper.fill(7);
  AuthService other(*env_.store_, policy_, *env_.sealer_, clock_, o);
  auto a = auth_->Login(Creds(), SessionKind::kBearer);
  ASSERT_TRUE(a && a->ok());
  const std::string token = a->session->token;
  auto first = auth_->Resume(token, SessionKind::kBearer);
  ASSERT_TRUE(first && first->ok());
  EXPECT_TRUE(first->active->data.grants.empty());

  // A grant given after the session was kept is on the next request.
  auto grant = service_->Bootstrap(volunteer_, clock_.Now() + 30 * kMicrosPerDay, "test");
  ASSERT_TRUE(grant) << grant.error().ToString();
  auto granted = auth_->Resume(token, SessionKind::kBearer);
  ASSERT_TRUE(granted && granted->ok());
  ASSERT_EQ(granted->active->data.grants.size(), 1u);
  EXPECT_EQ(granted->active->data.grants[0].revoked_at, 0);

  // And its revocation.
  ASSERT_TRUE(env_.store_
                  ->Write([&](store::Tx& tx) {
                    return MarkGrantRevoked(tx, *grant, volunteer_, "test", clock_.Now());
                  })
                  .ok());
  auto revoked = auth_->Resume(token, SessionKind::kBearer);
  ASSERT_TRUE(revoked && revoked->ok());
  ASSERT_EQ(revoked->active->data.grants.size(), 1u);
  EXPECT_NE(revoked->active->data.grants[0].revoked_at, 0);

  // Activity recorded by the other server keeps the session alive here
  // too, though it changes no version: an idle refusal looks again first.
  const Micros idle = auth_->IdleTimeout(revoked->active->data, clock_.Now());
  clock_.Advance(idle - 60 * kMicrosPerSecond);
  auto touched = other.Resume(token, SessionKind::kBearer);
  ASSERT_TRUE(touched && touched->ok());
  clock_.Advance(2 * 60 * kMicrosPerSecond);  // past the idle end as this server last saw it
  auto still = auth_->Resume(token, SessionKind::kBearer);
  ASSERT_TRUE(still);
  EXPECT_TRUE(still->ok()) << still->message;

  // Signed out on the other server: refused here at once.
  ASSERT_TRUE(other.Logout(still->active->session, "req", "").ok());
  auto out = auth_->Resume(token, SessionKind::kBearer);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->refusal, ResumeRefusal::kRevoked);

  // Suspension, for a session kept just before it.
  auto b = auth_->Login(Creds(), SessionKind::kBearer);
  ASSERT_TRUE(b && b->ok());
  ASSERT_TRUE(auth_->Resume(b->session->token, SessionKind::kBearer)->ok());
  ASSERT_TRUE(service_->SetState(volunteer_, AccountState::kSuspended, "test").ok());
  EXPECT_FALSE(auth_->Resume(b->session->token, SessionKind::kBearer)->ok());
}

TEST_P(AuthServiceTest, SignInNeverPromotesATokenTheClientAlreadyHad) {
  auto first = auth_->Login(Creds(), SessionKind::kCookie);
  ASSERT_TRUE(first && first->ok());
  auto second = auth_->Login(Creds(), SessionKind::kCookie, first->session->token);
  ASSERT_TRUE(second && second->ok());
  EXPECT_NE(second->session->token, first->session->token);
  EXPECT_EQ(auth_->Resume(first->session->token, SessionKind::kCookie)->refusal,
            ResumeRefusal::kRevoked);
  // A token the server never issued finds nothing.
  const std::string planted(kTokenChars, 'A');
  EXPECT_EQ(auth_->Resume(planted, SessionKind::kCookie)->refusal, ResumeRefusal::kUnknown);
}

TEST(TruncateAddressTest, KeepsOnlyTheNetwork) {
  EXPECT_EQ(TruncateAddress("192.0.2.77"), "192.0.2.0/24");
  EXPECT_EQ(TruncateAddress("::ffff:198.51.100.9"), "198.51.100.0/24");
  EXPECT_EQ(TruncateAddress("2001:db8:1234:5678::1"), "2001:db8:1234::/48");
  EXPECT_EQ(TruncateAddress("not an address"), "");
}

INSTANTIATE_TEST_SUITE_P(Backends, AuthServiceTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::access
