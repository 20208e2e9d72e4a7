// Erasure on both backends: afterwards neither the SQLite files (database
// and write-ahead log) nor a pg_dump hold the member's name, e-mail address
// or phone number in any form the code writes; the suppression still blocks
// them; the audit log still verifies; the operation pairs with its event.
#include "privacy/erasure.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "access/store/access_store.h"
#include "audit/audit_log.h"
#include "audit/checkpoint.h"
#include "audit/testing/pairing.h"
#include "core/text.h"
#include "members/contact.h"
#include "members/draft.h"
#include "members/erase.h"
#include "members/preferences.h"
#include "members/testing_env.h"
#include "messaging/suppressions.h"
#include "store/testing/faulty_store.h"

namespace switchboard::privacy {
namespace {

using json = nlohmann::json;
using members::testing::ReadFile;

constexpr Micros kNow = 1'780'000'000'000'000;

// The person to erase; every value is synthetic (example.org, Ofcom drama).
constexpr const char* kFirst = "Zoë";
constexpr const char* kLast = "Quennell-Ashdown";
constexpr const char* kEmail = "Zoe.Quennell@Example.org";
constexpr const char* kPhone = "07700 900461";
constexpr const char* kMobile = "07700 900462";
constexpr const char* kStreet = "14 Larkspur Row";

std::string Base64(std::string_view s) {
  std::string out(sodium_base64_encoded_len(s.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(s.data()),
                    s.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Every encoding of the person's data the code could leave behind.
std::vector<std::string> Needles() {
  std::vector<std::string> n;
  const std::string full = std::string(kFirst) + " " + kLast;
  for (const std::string& s : {std::string(kFirst), std::string(kLast), full}) {
    n.push_back(s);
    n.push_back(Lower(s));
    n.push_back(json(s).dump().substr(1, json(s).dump().size() - 2));  // JSON-escaped (raw UTF-8)
    n.push_back(json(s).dump(-1, ' ', true).substr(1, json(s).dump(-1, ' ', true).size() - 2));
    n.push_back(Base64(s));
  }
  for (const std::string& e : {std::string(kEmail), Lower(kEmail)}) {
    n.push_back(e);
    n.push_back(e.substr(0, e.find('@')));  // the local part alone
    n.push_back(Base64(e));
  }
  auto match = members::NormaliseEmail(kEmail);
  EXPECT_TRUE(match.has_value());
  if (match.has_value()) n.push_back(match->match_key);
  for (const char* p : {kPhone, kMobile}) {
    auto phone = members::NormalisePhone(p);
    EXPECT_TRUE(phone.has_value());
    if (!phone.has_value()) continue;
    n.push_back(phone->e164);            // +447700900461
    n.push_back(phone->e164.substr(1));  // 447700900461
    n.push_back(p);                      // 07700 900461 (national, spaced)
    std::string digits;
    for (char c : std::string(p)) {
      if (c != ' ') digits += c;
    }
    n.push_back(digits);            // 07700900461
    n.push_back(digits.substr(1));  // 7700900461
    n.push_back(Base64(phone->e164));
  }
  n.push_back(kStreet);
  n.push_back(Lower(kStreet));
  return n;
}

class ErasureTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    auto dir = store::testing::ScopedTempDir::Create("sb-erase");
    ASSERT_TRUE(dir) << dir.error().ToString();
    dir_ = std::make_unique<store::testing::ScopedTempDir>(std::move(*dir));
    store::StoreOptions o;
    o.migrations = schema::AllMigrations();
    o.durable = false;
    if (GetParam() == "postgres") {
      auto cluster = store::testing::PgCluster::Shared();
      ASSERT_TRUE(cluster) << cluster.error().ToString();
      auto url = (*cluster)->CreateUniqueDatabase("erase");
      ASSERT_TRUE(url) << url.error().ToString();
      url_ = *url;
      auto s = store::OpenPostgresStore(url_, o);
      ASSERT_TRUE(s) << s.error().ToString();
      base_ = std::move(*s);
    } else {
      db_path_ = dir_->Join("sb.db");
      auto s = store::OpenSqliteStore(db_path_, o);
      ASSERT_TRUE(s) << s.error().ToString();
      base_ = std::move(*s);
    }
    store_ = std::make_unique<store::testing::FaultyStore>(*base_);
    keyring_ = crypto::Keyring::Generate();
    sealer_ = std::make_unique<crypto::Sealer>(*keyring_);
    key_ = audit::SigningKey::Generate();
    ASSERT_TRUE(store_
                    ->WriteNow([&](store::Tx& tx) -> Status {
                      return tx
                          .Exec(
                              "INSERT INTO units (id, code, name, kind) VALUES (1, 'E1', "
                              "'Testshire', 'constituency')")
                          .status();
                    })
                    .ok());
  }

  members::MemberRecord Record(const std::string& external_id, const std::string& first,
                               const std::string& last, const std::string& email,
                               const std::string& phone, const std::string& mobile) {
    members::MemberDraft d;
    d.base.source = "native";
    d.base.external_id = external_id;
    d.base.unit = UnitId(1);
    d.base.first_name = first;
    d.base.last_name = last;
    d.base.birth_year = 1984;
    d.base.postcode_district = "SW1A";
    d.base.consents = members::kConsentEmail | members::kConsentPhone;
    d.email = *members::NormaliseEmail(email);
    d.phone = *members::NormalisePhone(phone);
    d.mobile = *members::NormalisePhone(mobile);
    d.address_line1 = kStreet;
    d.town = "Westminster";
    d.postcode = "SW1A 1AA";
    return members::SealDraft(std::move(d), *sealer_);
  }

  // The target member with something in every table that can name them.
  void Populate() {
    ASSERT_TRUE(
        store_
            ->WriteNow([&](store::Tx& tx) -> Status {
              SB_ASSIGN_OR_RETURN(
                  auto r,
                  members::UpsertMember(tx, Record("m-1", kFirst, kLast, kEmail, kPhone, kMobile),
                                        kNow, "import"));
              member_ = r.id;
              SB_ASSIGN_OR_RETURN(
                  auto o, members::UpsertMember(
                              tx,
                              Record("m-2", "Other", "Bystander", "other.bystander@example.org",
                                     "07700 900471", "07700 900472"),
                              kNow, "import"));
              other_ = o.id;
              const std::int64_t m = member_.value();
              SB_RETURN_IF_ERROR(
                  members::SetPreferences(
                      tx, member_, {members::kConsentEmail | members::kConsentPhone, 0},
                      {members::kConsentEmail, members::kNoPhone}, "member:preferences", kNow)
                      .status());
              // Their volunteer account, named as people name themselves.
              SB_ASSIGN_OR_RETURN(
                  AccountId acc,
                  access::CreateAccount(
                      tx, {"zq-volunteer", std::string(kFirst) + " " + kLast, member_, false},
                      kNow));
              account_ = acc;
              const std::int64_t a = acc.value();
              const auto email = *members::NormaliseEmail(kEmail);
              const std::string index = sealer_->BlindIndex("email", email.match_key);
              const crypto::Sealed addr = sealer_->Seal(kEmail, "account-address");
              SB_RETURN_IF_ERROR(
                  tx.Exec("INSERT INTO account_addresses (account_id, key_id, sealed, "
                          "blind_index, verified_at) VALUES ($1, $2, $3, $4, $5)",
                          {a, static_cast<std::int64_t>(addr.key_id),
                           store::Value::Bytes(addr.bytes), store::Value::Bytes(index), kNow})
                      .status());
              SB_RETURN_IF_ERROR(
                  tx.Exec(
                        "INSERT INTO account_links (token_hash, purpose, member_id, "
                        "address_key_id, address_sealed, address_index, created_at, "
                        "expires_at) VALUES ('th1', 'signup', $1, $2, $3, $4, $5, $6)",
                        {m, static_cast<std::int64_t>(addr.key_id), store::Value::Bytes(addr.bytes),
                         store::Value::Bytes(index), kNow, kNow + 3600'000'000})
                      .status());
              const crypto::Sealed mail = sealer_->Seal(
                  json{{"to", kEmail}, {"subject", "Your link"}, {"text", "Hello Zoë"}}.dump(),
                  "account-mail");
              SB_RETURN_IF_ERROR(
                  tx.Exec("INSERT INTO account_mail (purpose, key_id, sealed, state, "
                          "next_attempt_at, created_at, updated_at) VALUES ('signup', $1, $2, "
                          "'queued', $3, $3, $3)",
                          {static_cast<std::int64_t>(mail.key_id), store::Value::Bytes(mail.bytes),
                           kNow})
                      .status());
              SB_RETURN_IF_ERROR(
                  tx.Exec("INSERT INTO sessions (token_hash, account_id, kind, second_factor, "
                          "client, created_at, last_seen_at, expires_at) VALUES ('s1', $1, "
                          "'browser', 0, '203.0.113.0/24', $2, $2, $3)",
                          {a, kNow, kNow + 3600'000'000})
                      .status());
              const crypto::Sealed caller_phone = sealer_->Seal("+447700900462", "caller-phone");
              SB_RETURN_IF_ERROR(
                  tx.Exec("INSERT INTO caller_endpoints (account_id, key_id, sealed, created_at) "
                          "VALUES ($1, $2, $3, $4)",
                          {a, static_cast<std::int64_t>(caller_phone.key_id),
                           store::Value::Bytes(caller_phone.bytes), kNow})
                      .status());
              // A message they were sent, and the relay's reply quoting them.
              SB_RETURN_IF_ERROR(
                  tx.Exec("INSERT INTO messages (id, author_id, scope_unit, from_kind, "
                          "from_name, kind, audience, subject, text_body, html_body, version, "
                          "content_hash, state, created_at, updated_at) VALUES (1, $1, 1, "
                          "'unit', 'Testshire', 'newsletter', '{}', 'News', 'Hi', '<p>Hi</p>', "
                          "1, 'h', 'sent', $2, $2)",
                          {a, kNow})
                      .status());
              SB_RETURN_IF_ERROR(
                  tx.Exec("INSERT INTO outbox (message_id, member_id, state, next_attempt_at, "
                          "updated_at, smtp_code, detail) VALUES (1, $1, 'bounced', $2, $2, 550, "
                          "$3)",
                          {m, kNow, "550 5.1.1 <" + Lower(kEmail) + ">: no such user"})
                      .status());
              SB_RETURN_IF_ERROR(tx.Exec("INSERT INTO outbox (message_id, member_id, state, "
                                         "next_attempt_at, updated_at) VALUES (1, $1, 'sent', "
                                         "$2, $2)",
                                         {other_.value(), kNow})
                                     .status());
              SB_RETURN_IF_ERROR(tx.Exec("INSERT INTO email_bounces (member_id, hard_count, "
                                         "last_at, last_code) VALUES ($1, 1, $2, 550)",
                                         {m, kNow})
                                     .status());
              SB_RETURN_IF_ERROR(tx.Exec("INSERT INTO unsubscribes (member_id, message_id, at, "
                                         "how) VALUES ($1, 1, $2, 'one-click')",
                                         {m, kNow})
                                     .status());
              // A phone-bank call whose free-text answer names them.
              SB_RETURN_IF_ERROR(
                  tx.Exec("INSERT INTO campaigns (id, name, owner_id, scope_unit, purpose, "
                          "audience, script, survey, fields, calling_start, calling_end, "
                          "starts_at, ends_at, state, eligibility, pace, recall_minutes, "
                          "max_passes, created_at, updated_at) VALUES (1, 'Spring', $1, 1, "
                          "'canvassing', '{}', 'Hello', $2, 'name', 540, 1260, $3, $4, "
                          "'active', '{}', '{}', 60, 3, $3, $3)",
                          {a,
                           json::array({{{"id", "support"}, {"type", "yesno"}},
                                        {{"id", "notes"}, {"type", "text"}}})
                               .dump(),
                           kNow, kNow + 86400'000'000})
                      .status());
              SB_RETURN_IF_ERROR(
                  tx.Exec("INSERT INTO campaign_targets (campaign_id, member_id, passes, "
                          "last_outcome, leased_by, lease_expires) VALUES (1, $1, 1, "
                          "'answered', $2, $3)",
                          {m, a, kNow + 600'000'000})
                      .status());
              SB_RETURN_IF_ERROR(
                  tx.Exec("INSERT INTO calls (campaign_id, member_id, caller_id, connector, "
                          "state, started_at, outcome, answers) VALUES (1, $1, $2, 'manual', "
                          "'recorded', $3, 'answered', $4)",
                          {m, a, kNow,
                           json{{"support", true},
                                {"notes", std::string(kFirst) + " " + kLast + " says ring " +
                                              kMobile + " or mail " + kEmail}}
                               .dump()})
                      .status());
              SB_RETURN_IF_ERROR(tx.Exec("INSERT INTO contact_log (member_id, channel, "
                                         "campaign_id, outcome, at) VALUES ($1, 'phone', 1, "
                                         "'answered', $2)",
                                         {m, kNow})
                                     .status());
              audit::Event e;
              e.at = kNow;
              e.actor = a;
              e.action = "member.read";
              e.decision = "allow";
              e.members = {m};
              e.field_classes = {"contact"};
              return audit::AuditLog::Append(tx, e).status();
            })
            .ok());
  }

  // The bytes a backend keeps: the SQLite file and its WAL, or a pg_dump.
  std::string Bytes() {
    if (GetParam() == "sqlite") {
      std::string all = ReadFile(db_path_);
      if (std::filesystem::exists(db_path_ + "-wal")) all += ReadFile(db_path_ + "-wal");
      return all;
    }
    std::string bin = "pg_dump";
    if (const char* d = std::getenv("SB_PG_BINDIR")) {
      bin = std::string(d) + "/pg_dump";
    } else {
      std::string newest;
      for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql")) {
        const std::string p = e.path().string() + "/bin/pg_dump";
        if (std::filesystem::exists(p) && p > newest) newest = p;
      }
      if (!newest.empty()) bin = newest;
    }
    const std::string out = dir_->Join("dump.sql");
    const std::string cmd = bin + " --no-owner '" + url_ + "' > '" + out + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return ReadFile(out);
  }

  std::vector<std::string> Found(const std::string& bytes) {
    std::vector<std::string> found;
    for (const std::string& n : Needles()) {
      if (bytes.find(n) != std::string::npos) found.push_back(n);
    }
    return found;
  }

  Result<EraseCounts> DoErase(EraseKind kind = EraseKind::kRequest) {
    EraseCounts counts;
    Status st = store_->Write([&](store::Tx& tx) -> Status {
      EraseRequest r;
      r.member = member_;
      r.kind = kind;
      r.reason = "the member asked by letter";
      SB_ASSIGN_OR_RETURN(counts, Erase(tx, *sealer_, r, kNow + 1000));
      return Status::Ok();
    });
    if (!st.ok()) return st;
    SB_RETURN_IF_ERROR(store_->Scrub());
    return counts;
  }

  std::int64_t Count(const std::string& sql, std::initializer_list<store::Value> p = {}) {
    return audit::testing::internal::ReadInt(*base_, sql, p);
  }

  std::unique_ptr<store::testing::ScopedTempDir> dir_;
  std::string db_path_, url_;
  std::unique_ptr<store::Store> base_;
  std::unique_ptr<store::testing::FaultyStore> store_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::unique_ptr<crypto::Sealer> sealer_;
  std::unique_ptr<audit::SigningKey> key_;
  MemberId member_, other_;
  AccountId account_;
};

TEST_P(ErasureTest, NothingOfThePersonIsLeftInTheFiles) {
  Populate();
  // The scan can see what it looks for: before, the name is there.
  const std::vector<std::string> before = Found(Bytes());
  EXPECT_FALSE(before.empty());
  EXPECT_NE(std::find(before.begin(), before.end(), kLast), before.end());

  auto counts = DoErase();
  ASSERT_TRUE(counts.has_value()) << counts.status().ToString();
  EXPECT_EQ(counts->at("members"), 1);
  EXPECT_EQ(counts->at("contact_points"), 4);  // email, phone, mobile, postal
  EXPECT_EQ(counts->at("contact_suppressions"), 3);
  EXPECT_EQ(counts->at("outbox"), 1);
  EXPECT_EQ(counts->at("calls"), 1);
  EXPECT_EQ(counts->at("accounts"), 1);
  EXPECT_EQ(counts->at("account_mail"), 1);
  EXPECT_EQ(counts->at("caller_endpoints"), 1);

  const std::vector<std::string> after = Found(Bytes());
  EXPECT_TRUE(after.empty()) << "still found: " << ::testing::PrintToString(after);

  // The other member is untouched; the tombstone keeps its id.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM members WHERE last_name = 'Bystander'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_points WHERE member_id = $1", {other_.value()}), 4);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE member_id = $1", {other_.value()}), 1);
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM members WHERE id = $1 AND status = 'erased'", {member_.value()}),
      1);
  // The counted answer and the contact log stay, under the opaque id.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM calls WHERE member_id = $1 AND answers = $2",
                  {member_.value(), json{{"support", true}}.dump()}),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM contact_log WHERE member_id = $1", {member_.value()}), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM accounts WHERE id = $1 AND state = 'disabled'",
                  {account_.value()}),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM grants WHERE account_id = $1 AND revoked_at IS NULL",
                  {account_.value()}),
            0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_events WHERE action = 'privacy.erase' AND "
                  "members = $1",
                  {std::to_string(member_.value())}),
            1);
}

TEST_P(ErasureTest, TheSuppressionStillBlocksTheAddressAndNumber) {
  Populate();
  ASSERT_TRUE(DoErase().has_value());
  // Re-imported under another id (the old CRM still has them): suppressed.
  MemberId back;
  ASSERT_TRUE(store_
                  ->WriteNow([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(
                        auto r,
                        members::UpsertMember(
                            tx, Record("m-1-again", kFirst, kLast, Lower(kEmail), kMobile, kPhone),
                            kNow + 2000, "import"));
                    back = r.id;
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_NE(back, member_);
  std::optional<members::Preferences> prefs;
  bool listed = false;
  ASSERT_TRUE(store_
                  ->Read([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(prefs, members::GetPreferences(tx, back));
                    // The send path's check.
                    SB_ASSIGN_OR_RETURN(
                        listed, messaging::OnSuppressionList(
                                    tx, *sealer_, members::NormaliseEmail(kEmail)->match_key));
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_TRUE(prefs);
  EXPECT_TRUE(prefs->suppressions & members::kNoEmail);
  EXPECT_TRUE(prefs->suppressions & members::kNoPhone);
  EXPECT_TRUE(listed);
  // A stranger is not blocked by it.
  bool stranger = true;
  ASSERT_TRUE(store_
                  ->Read([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(stranger, messaging::OnSuppressionList(
                                                      tx, *sealer_, "someone.else@example.org"));
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_FALSE(stranger);
}

TEST_P(ErasureTest, TheAuditLogStillVerifies) {
  Populate();
  audit::AuditLog log;
  ManualClock clock(kNow);
  ASSERT_TRUE(log.Checkpoint(*base_, *key_, clock).has_value());
  ASSERT_TRUE(DoErase().has_value());
  ASSERT_TRUE(log.Checkpoint(*base_, *key_, clock).has_value());
  audit::VerifyReport report;
  ASSERT_TRUE(base_
                  ->Read([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(report, audit::AuditLog::Verify(tx, key_->verify_key()));
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_TRUE(report.ok) << report.reason;
  EXPECT_EQ(report.events, 2u);
}

TEST_P(ErasureTest, AgainOrUnknownOrWithoutReasonIsRefused) {
  Populate();
  ASSERT_TRUE(DoErase().has_value());
  auto again = DoErase();
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  member_ = MemberId(999'999);
  EXPECT_EQ(DoErase().status().code(), StatusCode::kNotFound);
  const Status no_reason = store_->Write([&](store::Tx& tx) -> Status {
    EraseRequest r;
    r.member = other_;
    return Erase(tx, *sealer_, r, kNow).status();
  });
  EXPECT_EQ(no_reason.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM members WHERE id = $1 AND status = 'erased'", {other_.value()}),
      0);
}

TEST_P(ErasureTest, ErasureAndItsEventCommitTogether) {
  Populate();
  audit::testing::ExpectPaired(*store_, {"privacy.erase",
                                         "UPDATE members SET external_id",
                                         {"SELECT COUNT(*) FROM members WHERE status = 'erased'",
                                          "SELECT COUNT(*) FROM contact_points"},
                                         [&](store::Tx& tx) -> Status {
                                           EraseRequest r;
                                           r.member = member_;
                                           r.reason = "pairing";
                                           return Erase(tx, *sealer_, r, kNow).status();
                                         }});
}

INSTANTIATE_TEST_SUITE_P(Backends, ErasureTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace switchboard::privacy
