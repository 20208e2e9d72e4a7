// Test fixture for the API: a store ("sqlite" or "postgres": the suites run
// on both) with the UK tree, the default policy (optionally amended), a
// ManualClock, and the API's routes on an HttpServer that is never started —
// requests go through Dispatch(), the same path a connection takes after
// parsing. Header-only, for tests.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "access/credentials/password.h"
#include "access/credentials/totp.h"
#include "access/store/access_store.h"
#include "members/register.h"
#include "members/testing_env.h"
#include "server/api.h"
#include "server/http_server.h"

namespace switchboard::server::testing {

inline constexpr const char* kTestPassword = "correct horse battery";

struct TestSession {
  std::string token;  // cookie value or bearer token
  std::string csrf;
  bool bearer = false;
};

class ApiEnv {
 public:
  void SetUp(const std::string& backend, const std::string& policy_extra = "") {
    env_.SetUp(backend);
    if (::testing::Test::HasFatalFailure()) return;
    auto p = access::ParsePolicy(access::DefaultPolicyToml() + policy_extra, "policy.toml");
    ASSERT_TRUE(p) << p.error().ToString();
    policy_ = std::move(*p);
    ApiDeps d;
    d.store = env_.store_.get();
    d.policy = &policy_;
    d.tree = &env_.tree_;
    d.sealer = env_.sealer_.get();
    d.clock = &clock_;
    d.time_zone = *TimeZone::Find(time_zone_);
    d.auth.hash = access::PasswordHashOptions::Minimum();
    d.auth.recovery_pepper.fill(3);
    d.connector = connector_;
    d.caller_line = caller_line_;
    api_ = std::make_unique<Api>(d);
    http_ = std::make_unique<HttpServer>(ServerConfig{});
    api_->Register(*http_);
    password_hash_ = *access::HashPassword(kTestPassword, access::PasswordHashOptions::Minimum());
  }

  UnitId Unit(const std::string& code) { return env_.tree_.FindByCode(code)->id; }
  UnitId Root() { return env_.tree_.root()->id; }

  // `member`: the member record the account belongs to (none by default).
  AccountId AddAccount(const std::string& login, bool staff = false, MemberId member = MemberId()) {
    AccountId id;
    EXPECT_TRUE(env_.store_
                    ->Write([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(
                          id,
                          access::CreateAccount(tx, {login, "Test", member, staff}, clock_.Now()));
                      return access::SetPasswordHash(tx, id, password_hash_);
                    })
                    .ok());
    return id;
  }

  // Enrols a second factor; returns the secret.
  std::string EnrolTotp(AccountId id) {
    const std::string secret = access::GenerateTotpSecret();
    const crypto::Sealed sealed = env_.sealer_->Seal(secret, "totp");
    EXPECT_TRUE(env_.store_
                    ->Write([&](store::Tx& tx) {
                      return access::SetTotp(tx, id, {sealed.key_id, sealed.bytes, -1});
                    })
                    .ok());
    totp_[id.value()] = secret;
    return secret;
  }

  // A grant written directly (the grant rules have their own tests).
  access::GrantId Grant(AccountId to, const std::string& role, UnitId scope, Micros from,
                        Micros until, bool approved = true, AccountId by = AccountId()) {
    access::GrantId id;
    access::GrantRequest r{to,       role, scope, "test purpose", from, until, "test reason",
                           "direct", 0};
    EXPECT_TRUE(env_.store_
                    ->Write([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(id,
                                          access::InsertGrant(tx, r, by, approved, clock_.Now()));
                      return Status::Ok();
                    })
                    .ok());
    return id;
  }

  MemberId AddMember(const std::string& ext, UnitId unit, const std::string& first,
                     const std::string& last, std::uint32_t consents = 0) {
    members::MemberRecord r;
    r.source = "native";
    r.external_id = ext;
    r.unit = unit;
    r.first_name = first;
    r.last_name = last;
    r.joined_on = 18000;
    r.consents = consents;
    r.content_hash = "h" + ext;
    const std::string email = ext + "@example.org";
    const std::string phone =
        "+447700900" + std::string(3 - std::min<size_t>(3, ext.size()), '0') + ext.substr(0, 3);
    r.contacts.push_back({"email", "primary", env_.sealer_->Seal(email, "email"),
                          env_.sealer_->BlindIndex("email", email)});
    r.contacts.push_back({"phone", "mobile", env_.sealer_->Seal(phone, "phone"),
                          env_.sealer_->BlindIndex("phone", phone)});
    MemberId id;
    EXPECT_TRUE(env_.store_
                    ->Write([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(auto up,
                                          members::UpsertMember(tx, r, clock_.Now(), "test"));
                      id = up.id;
                      return Status::Ok();
                    })
                    .ok());
    return id;
  }

  HttpResponse Send(const std::string& method, const std::string& target,
                    const std::string& body = "", const TestSession* s = nullptr,
                    std::map<std::string, std::string> headers = {}) {
    if (!body.empty() && !headers.count("content-type")) {
      headers["content-type"] = "application/json";
    }
    if (s && s->bearer) {
      headers["authorization"] = "Bearer " + s->token;
    } else if (s) {
      headers["cookie"] = std::string(Api::kSessionCookie) + "=" + s->token;
      if (!headers.count("x-csrf-token")) headers["x-csrf-token"] = s->csrf;
    }
    headers["host"] = "127.0.0.1:8080";
    HttpRequest req = MakeRequest(method, target, body, headers);
    return http_->Dispatch(req);
  }

  // Signs in (with a TOTP code when enrolled). Fails the test when refused.
  TestSession Login(const std::string& login, AccountId id = AccountId(), bool bearer = false) {
    nlohmann::json body{{"login", login}, {"password", kTestPassword}};
    if (id.valid() && totp_.count(id.value())) {
      body["totp"] = *access::GenerateTotp(totp_[id.value()], clock_.Now());
    }
    if (bearer) body["client"] = "api";
    HttpResponse r = Send("POST", "/api/v1/session", body.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    TestSession s;
    s.bearer = bearer;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (r.status != 201 || j.is_discarded()) return s;
    if (bearer) {
      s.token = j["token"];
    } else {
      s.csrf = j["csrf_token"];
      for (const auto& [k, v] : r.headers) {
        if (k == "Set-Cookie") s.token = v.substr(v.find('=') + 1, v.find(';') - v.find('=') - 1);
      }
    }
    return s;
  }

  // A small contest rulebook: `slug`, announced at `announced`, nominations
  // open a day later and close at +10 days (data released then), ballot
  // open at +11 days and closed at +30 days; candidates "alpha" (Ada
  // Alpha-Smith), "beta" (Bea Beta) and "gamma" (Gus Gamma), whose campaign
  // accounts are "<slug>.alpha" etc. (created here); the returning officer
  // `ro`, committee `committee`; qualification: 2 constituency parties.
  std::string ContestToml(const std::string& slug, Micros announced, const std::string& ro,
                          const std::string& committee, int version = 1,
                          const std::string& extra = "") {
    for (const char* c : {"alpha", "beta", "gamma"}) {
      const std::string login = slug + "." + c;
      bool exists = false;
      (void)env_.store_->Read([&](store::Tx& tx) -> Status {
        exists = static_cast<bool>(access::FindAccount(tx, login));
        return Status::Ok();
      });
      if (!exists) AddAccount(login);
    }
    auto at = [&](int days) { return FormatTimestamp(announced + days * kMicrosPerDay); };
    return "[contest]\nid = \"" + slug + "\"\nname = \"Contest " + slug +
           "\"\nversion = " + std::to_string(version) + "\nreturning_officer = \"" + ro +
           "\"\nprocedures_committee = [\"" + committee + "\"]\n[timeline]\nannounced = " + at(0) +
           "\nnominations_open = " + at(1) + "\nnominations_close = " + at(10) +
           "\ndata_release = " + at(10) + "\nballot_open = " + at(11) +
           "\nballot_close = " + at(30) +
           "\n[[candidates]]\nid = \"alpha\"\nname = \"Ada Alpha-Smith\"\naliases = "
           "[\"AAS\"]\naccounts = [\"" +
           slug +
           ".alpha\"]\n"
           "[[candidates]]\nid = \"beta\"\nname = \"Bea Beta\"\naccounts = [\"" +
           slug +
           ".beta\"]\n[[candidates]]\nid = \"gamma\"\nname = \"Gus Gamma\"\naccounts = "
           "[\"" +
           slug +
           ".gamma\"]\n"
           "[bodies.clps]\nlabel = \"Constituency parties\"\nkind = \"units\"\n"
           "unit_kind = \"constituency\"\n[qualification]\nexpression = \"clps >= 2\"\n"
           "[electorate]\nstatuses = [\"current\"]\nfrozen_on = " +
           FormatTimestamp(announced).substr(0, 10) + "\n" + extra;
  }

  std::vector<audit::Event> Events(std::string_view action) {
    std::vector<audit::Event> out;
    EXPECT_TRUE(env_.store_
                    ->Read([&](store::Tx& tx) -> Status {
                      audit::QueryFilter f;
                      f.limit = 1000000;
                      SB_ASSIGN_OR_RETURN(auto all, audit::AuditLog::Query(tx, f));
                      for (auto& e : all) {
                        if (e.action == action) out.push_back(e);
                      }
                      return Status::Ok();
                    })
                    .ok());
    return out;
  }

  members::testing::RegisterEnv env_;
  ManualClock clock_{*ParseTimestamp("2026-03-02T10:00:00Z")};
  // The organisation's time zone; set before SetUp to try another.
  std::string time_zone_ = "Europe/London";
  // The telephony connector; set before SetUp to try another than the sandbox.
  std::shared_ptr<phonebank::Connector> connector_;
  // [telephony] caller_id, caller_ids and ring_seconds; set before SetUp.
  phonebank::CallerLine caller_line_;
  access::Policy policy_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> http_;
  std::string password_hash_;
  std::map<std::int64_t, std::string> totp_;
};

inline nlohmann::json Body(const HttpResponse& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  return j.is_discarded() ? nlohmann::json() : j;
}

}  // namespace switchboard::server::testing
