// Test fixture for exports and leak tracing: a store on either backend with
// the UK tree and a synthetic register, accounts with authenticators and
// grants, and a clock the tests move.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <set>
#include <string>

#include "access/credentials/totp.h"
#include "access/policy/policy.h"
#include "access/store/access_store.h"
#include "core/clock.h"
#include "core/text.h"
#include "members/generate.h"
#include "members/testing_env.h"
#include "privacy/export.h"

namespace switchboard::privacy::testing {

constexpr Micros kStart = 1'780'000'000'000'000;  // 2026-05-28

// An export as a request leaves it, in `state` ("pending" or "approved"),
// written here for tests that need one whose requester holds no grant (the
// API's authorisation matrix).
inline Result<ExportId> InsertExportForTesting(store::Tx& tx, AccountId requester, UnitId scope,
                                               std::string_view state, std::string_view public_key,
                                               Micros now) {
  std::int64_t id = 0;
  SB_RETURN_IF_ERROR(tx.Query(
      "INSERT INTO exports (requested_by, scope_unit, role, purpose, columns, recipient_key, "
      "state, requested_at) VALUES ($1, $2, 'membership_admin', 'test', 'first_name,email', $3, "
      "$4, $5) RETURNING id",
      {requester.value(), scope.value(), store::Value::Bytes(std::string(public_key)),
       std::string(state), now},
      [&](const store::Row& r) {
        id = r.Int(0);
        return false;
      }));
  return ExportId(id);
}

class ExportEnv {
 public:
  // `policy_edit`: replaces text in the default policy (empty: none).
  void SetUp(const std::string& backend, int members, const std::string& find = {},
             const std::string& replace = {}) {
    reg_.SetUp(backend);
    if (::testing::Test::HasFatalFailure()) return;
    std::string text = access::DefaultPolicyToml();
    if (!find.empty()) {
      const size_t at = text.find(find);
      ASSERT_NE(at, std::string::npos) << find;
      text.replace(at, find.size(), replace);
    }
    auto p = access::ParsePolicy(text, "test policy");
    ASSERT_TRUE(p) << p.error().ToString();
    policy_ = *p;
    members::GenerateOptions g;
    g.count = static_cast<std::uint64_t>(members);
    g.seed = 7;
    g.canaries = false;
    auto sum = members::GenerateMembers(*reg_.store_, reg_.tree_, *reg_.sealer_, g, clock_);
    ASSERT_TRUE(sum) << sum.error().ToString();
    reg_.ReloadTree();
    service_ =
        std::make_unique<ExportService>(*reg_.store_, policy_, reg_.tree_, *reg_.sealer_, clock_);
    // Reproducible canaries and positions.
    service_->SetRandomForTesting([this] { return rng_(); });
    owner_ = NewAccount("owner", "", false);
  }

  UnitId Root() const { return reg_.tree_.root()->id; }

  // An account, with an authenticator when `totp`, and a grant of `role`
  // over the root when `role` is not empty.
  AccountId NewAccount(const std::string& login, const std::string& role, bool totp = true) {
    AccountId id;
    Status st = reg_.store_->Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(
          id, access::CreateAccount(tx, {login, "Test " + login, MemberId(), true}, clock_.Now()));
      if (totp) {
        const std::string secret = access::GenerateTotpSecret();
        secrets_[id.value()] = secret;
        const crypto::Sealed s = reg_.sealer_->Seal(secret, "totp");
        SB_RETURN_IF_ERROR(access::SetTotp(tx, id, {s.key_id, s.bytes, -1}));
      }
      if (!role.empty()) {
        access::GrantRequest g{id,
                               role,
                               Root(),
                               "keeping the register",
                               clock_.Now() - kMicrosPerDay,
                               clock_.Now() + 300 * kMicrosPerDay,
                               "test",
                               "direct",
                               0};
        SB_RETURN_IF_ERROR(
            access::InsertGrant(tx, g, owner_.valid() ? owner_ : id, true, clock_.Now()).status());
      }
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return id;
  }

  // A fresh authenticator code for `account` (the clock moves one step so
  // the last code is never reused).
  std::string Code(AccountId account) {
    clock_.Advance(31 * kMicrosPerSecond);
    auto c = access::GenerateTotp(secrets_[account.value()], clock_.Now());
    EXPECT_TRUE(c) << c.error().ToString();
    return c ? *c : "";
  }

  ExportRequest Ask(AccountId who, const std::string& purpose = "annual register audit") {
    ExportRequest r;
    r.requester = who;
    r.scope = Root();
    r.purpose = purpose;
    r.totp = Code(who);
    r.recipient_key = key_.public_key;
    return r;
  }

  // Requests, approves (by `approver` when valid) and produces an export;
  // returns the decrypted CSV.
  std::string Make(AccountId who, AccountId approver, ExportId* id = nullptr) {
    auto rec = service_->Request(Ask(who));
    EXPECT_TRUE(rec) << rec.error().ToString();
    if (!rec) return "";
    if (approver.valid()) {
      auto ok = service_->Approve(approver, Code(approver), rec->id);
      EXPECT_TRUE(ok) << ok.error().ToString();
    }
    auto file = service_->Produce(who, true, rec->id);
    EXPECT_TRUE(file) << file.error().ToString();
    if (!file) return "";
    if (id) *id = rec->id;
    auto csv = OpenExportFile(file->sealed, key_);
    EXPECT_TRUE(csv) << csv.error().ToString();
    return csv ? *csv : "";
  }

  // The register's real e-mail addresses (case-folded), read and opened
  // here, independently of the code under test.
  std::set<std::string> RealEmails() {
    std::set<std::string> out;
    EXPECT_TRUE(reg_.store_
                    ->Read([&](store::Tx& tx) {
                      return tx.Query(
                          "SELECT key_id, sealed FROM contact_points WHERE kind = 'email'", {},
                          [&](const store::Row& r) {
                            auto v = reg_.sealer_->Open(
                                {static_cast<std::uint32_t>(r.Int(0)), std::string(r.Bytes(1))},
                                "email");
                            EXPECT_TRUE(v);
                            if (v) out.insert(text::CaseFold(*v));
                            return true;
                          });
                    })
                    .ok());
    return out;
  }

  members::testing::RegisterEnv reg_;
  access::Policy policy_;
  ManualClock clock_{kStart};
  std::mt19937_64 rng_{20261207};
  std::unique_ptr<ExportService> service_;
  ExportKeyPair key_ = GenerateExportKey();
  std::map<std::int64_t, std::string> secrets_;
  AccountId owner_;
};

}  // namespace switchboard::privacy::testing
