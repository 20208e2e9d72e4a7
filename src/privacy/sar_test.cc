// The subject-access report from the store up: what each module holds about
// one member, nothing about the neighbour who shares their household, and
// the HTML and PDF forms. Both backends. The report across a phone bank, a
// mailing, a search and a refused probe is server/api_privacy_test.cc.
#include "privacy/sar.h"

#include <gtest/gtest.h>

#include "access/store/access_store.h"
#include "audit/audit_log.h"
#include "audit/checkpoint.h"
#include "core/clock.h"
#include "members/preferences.h"
#include "members/register.h"
#include "members/testing_env.h"

namespace switchboard::privacy {
namespace {

class SarTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    if (HasFatalFailure()) return;
    unit_ = env_.tree_.FindByCode("E14000530")->id;
    ada_ = Add("1", "Ada", "Household<b>", "ada@example.org", "+447700900001");
    // Same household: same postal address, same district, same surname.
    ben_ = Add("2", "Benedict", "Household<b>", "ben@example.org", "+447700900002");
  }

  MemberId Add(const std::string& ext, const std::string& first, const std::string& last,
               const std::string& email, const std::string& phone) {
    members::MemberRecord r;
    r.source = "native";
    r.external_id = ext;
    r.unit = unit_;
    r.first_name = first;
    r.last_name = last;
    r.postcode_district = "GU11";
    r.consents = members::kConsentEmail;
    r.content_hash = "h" + ext;
    const std::string address = "1 Shared Lane, Aldershot GU11 1AA";
    auto seal = [&](const char* kind, const std::string& v) {
      return members::SealedContact{kind,
                                    kind == std::string("email")   ? "primary"
                                    : kind == std::string("phone") ? "mobile"
                                                                   : "postal",
                                    env_.sealer_->Seal(v, kind), env_.sealer_->BlindIndex(kind, v)};
    };
    r.contacts = {seal("email", email), seal("phone", phone), seal("address", address)};
    MemberId id;
    EXPECT_TRUE(env_.store_
                    ->Write([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(auto up, members::UpsertMember(tx, r, 1000, "import"));
                      id = up.id;
                      return Status::Ok();
                    })
                    .ok());
    return id;
  }

  Report Build(MemberId m) {
    Report r;
    Status st = env_.store_->Write([&](store::Tx& tx) -> Status {
      access::Acting who;
      who.now = *ParseTimestamp("2026-03-02T10:00:00Z");
      who.request_id = "sar";
      SB_ASSIGN_OR_RETURN(r, SubjectAccess(tx, *env_.sealer_, who, m));
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    st = AddProofs(*env_.store_, r);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return r;
  }

  members::testing::RegisterEnv env_;
  UnitId unit_;
  MemberId ada_, ben_;
};

TEST_P(SarTest, TheReportHoldsTheMembersOwnDataAndNothingOfTheirHousehold) {
  // Ada withdraws e-mail consent; a search page names both; Ben alone is viewed.
  ASSERT_TRUE(env_.store_
                  ->Write([&](store::Tx& tx) -> Status {
                    SB_RETURN_IF_ERROR(members::SetPreferences(
                                           tx, ada_, {members::kConsentEmail, 0},
                                           {members::kConsentPhone, 0}, "member:preferences", 2000)
                                           .status());
                    audit::Event search;
                    search.at = 3000;
                    search.action = "member.search";
                    search.decision = "allow";
                    search.members = {ada_.value(), ben_.value()};
                    search.field_classes = {"name"};
                    SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, search).status());
                    audit::Event view = search;
                    view.action = "member.view";
                    view.members = {ben_.value()};
                    return audit::AuditLog::Append(tx, view).status();
                  })
                  .ok());
  const Report r = Build(ada_);
  EXPECT_EQ(r.member.first_name, "Ada");
  ASSERT_EQ(r.member.contacts.size(), 3u);
  EXPECT_EQ(r.member.contacts[0].value, "ada@example.org");
  ASSERT_EQ(r.member.consent_history.size(), 2u);  // the import, then the withdrawal
  EXPECT_EQ(r.member.consent_history[1].bits, members::kConsentPhone);
  // The search (naming both) and the report itself; not Ben's view.
  ASSERT_EQ(r.audit.size(), 1u);
  EXPECT_EQ(r.audit[0].action, "member.search");
  EXPECT_TRUE(r.audit[0].with_others);

  for (Audience a : {Audience::kDpo, Audience::kMember}) {
    RenderOptions o;
    o.audience = a;
    const std::string json = ReportJson(r, env_.tree_, o).dump();
    const std::string html = ReportHtml(r, env_.tree_, o);
    for (const std::string& doc : {json, html}) {
      EXPECT_NE(doc.find("ada@example.org"), std::string::npos);
      EXPECT_NE(doc.find("+447700900001"), std::string::npos);
      EXPECT_EQ(doc.find("Benedict"), std::string::npos);
      EXPECT_EQ(doc.find("ben@example.org"), std::string::npos);
      EXPECT_EQ(doc.find("+447700900002"), std::string::npos);
      // Ben's id appears nowhere as a member of an event.
      EXPECT_EQ(doc.find("\"members\""), std::string::npos);
    }
    // Escaped, self-contained.
    EXPECT_EQ(html.find("Household<b>"), std::string::npos);
    EXPECT_NE(html.find("Household&lt;b&gt;"), std::string::npos);
    EXPECT_EQ(html.find("http://"), std::string::npos);
    EXPECT_EQ(html.find("https://"), std::string::npos);
    EXPECT_EQ(html.find("<script"), std::string::npos);
  }
  // The report is on the record, naming Ada only.
  std::vector<audit::Event> sar;
  ASSERT_TRUE(env_.store_
                  ->Read([&](store::Tx& tx) -> Status {
                    audit::QueryFilter f;
                    SB_ASSIGN_OR_RETURN(auto all, audit::AuditLog::Query(tx, f));
                    for (auto& e : all) {
                      if (e.action == "privacy.sar") sar.push_back(e);
                    }
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_EQ(sar.size(), 1u);
  EXPECT_EQ(sar[0].members, std::vector<std::int64_t>{ada_.value()});
  // A second report lists the first.
  EXPECT_EQ(Build(ada_).audit.back().action, "privacy.sar");
}

TEST_P(SarTest, MembersSeeVolunteersByRoleAndUnitUnlessThePolicyNamesThem) {
  const Micros now = *ParseTimestamp("2026-03-02T10:00:00Z");
  ASSERT_TRUE(
      env_.store_
          ->Write([&](store::Tx& tx) -> Status {
            SB_ASSIGN_OR_RETURN(
                AccountId vera,
                access::CreateAccount(tx, {"vera", "Vera Volunteer", MemberId(), false}, now));
            access::GrantRequest g{vera,  "caller", unit_, "AGM calls", now - 1, now + 1000,
                                   "why", "direct", 0};
            SB_ASSIGN_OR_RETURN(access::GrantId grant,
                                access::InsertGrant(tx, g, AccountId(), true, now));
            audit::Event e;
            e.at = now;
            e.actor = vera.value();
            e.grant_id = grant.value();
            e.action = "phonebank.next";
            e.decision = "allow";
            e.members = {ada_.value()};
            return audit::AuditLog::Append(tx, e).status();
          })
          .ok());
  const Report r = Build(ada_);
  ASSERT_EQ(r.audit.size(), 1u);
  EXPECT_EQ(r.audit[0].role, "caller");
  EXPECT_EQ(r.audit[0].purpose, "AGM calls");
  RenderOptions member;
  member.audience = Audience::kMember;
  const std::string hidden = ReportHtml(r, env_.tree_, member);
  EXPECT_EQ(hidden.find("Vera"), std::string::npos);
  EXPECT_NE(hidden.find("A caller in Aldershot"), std::string::npos);
  EXPECT_EQ(ReportJson(r, env_.tree_, member).dump().find("Vera"), std::string::npos);
  member.name_volunteers = true;
  EXPECT_NE(ReportHtml(r, env_.tree_, member).find("Vera Volunteer (a caller in Aldershot)"),
            std::string::npos);
  EXPECT_NE(ReportJson(r, env_.tree_, member).dump().find("Vera"), std::string::npos);
  // The DPO always sees the account.
  EXPECT_NE(ReportHtml(r, env_.tree_, {}).find("Vera Volunteer"), std::string::npos);
}

// Each event below the newest checkpoint carries its leaf hash and inclusion
// proof, and the report the signed checkpoint: all check out without the
// database. An event rewritten in the database (a refusal turned into an
// allow, body and columns alike) no longer does.
TEST_P(SarTest, EveryEventCarriesAProofThatChecksAgainstTheSignedCheckpoint) {
  std::int64_t probe_seq = -1;
  auto append = [&](const std::string& action, const std::string& decision,
                    std::vector<std::int64_t> members) {
    ASSERT_TRUE(env_.store_
                    ->Write([&](store::Tx& tx) -> Status {
                      audit::Event e;
                      e.at = 3000;
                      e.actor = 7;
                      e.action = action;
                      e.decision = decision;
                      e.members = std::move(members);
                      e.field_classes = {"name"};
                      e.client = "203.0.113.0/24";
                      SB_ASSIGN_OR_RETURN(auto a, audit::AuditLog::Append(tx, e));
                      if (decision == "deny") probe_seq = a.seq;
                      return Status::Ok();
                    })
                    .ok());
  };
  append("member.view", "allow", {ada_.value()});
  append("member.search", "allow", {ada_.value(), ben_.value()});
  append("member.view", "deny", {ada_.value()});
  append("member.view", "allow", {ben_.value()});
  auto key = audit::SigningKey::Generate();
  ManualClock clock(5000);
  audit::AuditLog log;
  ASSERT_TRUE(log.Checkpoint(*env_.store_, *key, clock).has_value());
  append("member.view", "allow", {ada_.value()});  // after the checkpoint

  RenderOptions dpo;
  RenderOptions member;
  member.audience = Audience::kMember;
  const Report r = Build(ada_);
  ASSERT_EQ(r.audit.size(), 4u);
  ASSERT_EQ(r.checkpoint_size, 4);
  const nlohmann::json dpo_json = ReportJson(r, env_.tree_, dpo);
  auto checked = CheckReportProofs(dpo_json, key->verify_key());
  ASSERT_TRUE(checked) << checked.error().ToString();
  EXPECT_TRUE(checked->ok()) << checked->failures.front();
  EXPECT_EQ(checked->tree_size, 4);
  EXPECT_EQ(checked->verified, 3);
  EXPECT_EQ(checked->with_bytes, 2);  // the search names Ben: no bytes
  EXPECT_EQ(checked->unprovable, 1);
  // The member's copy: the same proofs, no event bytes (they hold the network).
  const nlohmann::json member_json = ReportJson(r, env_.tree_, member);
  EXPECT_EQ(member_json.dump().find("203.0.113"), std::string::npos);
  checked = CheckReportProofs(member_json, key->verify_key());
  ASSERT_TRUE(checked);
  EXPECT_TRUE(checked->ok());
  EXPECT_EQ(checked->verified, 3);
  EXPECT_EQ(checked->with_bytes, 0);
  // The HTML says how, and carries the checkpoint.
  const std::string html = ReportHtml(r, env_.tree_, member);
  EXPECT_NE(html.find("switchboard audit check-report"), std::string::npos);
  EXPECT_NE(html.find(audit::CheckpointOrigin(key->key_id())), std::string::npos);

  // Another key's checkpoint is refused outright.
  auto other = audit::SigningKey::Generate();
  EXPECT_EQ(CheckReportProofs(dpo_json, other->verify_key()).error().code(), StatusCode::kDataLoss);
  // A proof altered in the file fails for its event.
  nlohmann::json altered = dpo_json;
  std::string& first = altered["audit"]["events"][0]["proof"][0].get_ref<std::string&>();
  first[0] = first[0] == '0' ? '1' : '0';
  checked = CheckReportProofs(altered, key->verify_key());
  ASSERT_TRUE(checked);
  ASSERT_FALSE(checked->ok());
  EXPECT_NE(checked->failures[0].find("event " + std::to_string(r.audit[0].seq)),
            std::string::npos);
  // An event's bytes altered in the file no longer hash to its leaf.
  altered = dpo_json;
  for (auto& e : altered["audit"]["events"]) {
    if (e["seq"] == probe_seq) {
      std::string body = e["body"];
      body.replace(body.find("deny"), 4, "allo");
      e["body"] = body;
    }
  }
  checked = CheckReportProofs(altered, key->verify_key());
  ASSERT_TRUE(checked);
  ASSERT_EQ(checked->failures.size(), 1u);
  EXPECT_NE(checked->failures[0].find("do not hash"), std::string::npos);

  // The refusal rewritten in the database as an allowed read.
  ASSERT_TRUE(env_.store_
                  ->Write([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(audit::Event e, audit::AuditLog::EventAt(tx, probe_seq));
                    e.decision = "allow";
                    return tx
                        .Exec(
                            "UPDATE audit_events SET decision = 'allow', body = $1 WHERE seq = $2",
                            {store::Value::Bytes(audit::Encode(e)), probe_seq})
                        .status();
                  })
                  .ok());
  const Report tampered = Build(ada_);
  checked = CheckReportProofs(ReportJson(tampered, env_.tree_, dpo), key->verify_key());
  ASSERT_TRUE(checked);
  ASSERT_FALSE(checked->ok());
  bool named = false;
  for (const auto& f : checked->failures) {
    named = named || f.rfind("event " + std::to_string(probe_seq) + ":", 0) == 0;
  }
  EXPECT_TRUE(named);
}

TEST_P(SarTest, AnUnknownMemberIsNotFoundAndRecordsNothing) {
  access::Acting who;
  who.now = 5000;
  Status st = env_.store_->Write([&](store::Tx& tx) -> Status {
    return SubjectAccess(tx, *env_.sealer_, who, MemberId(ben_.value() + 100)).status();
  });
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM audit_events"), 0);
}

TEST_P(SarTest, ThePdfIsPrintedByHeadlessChromium) {
  if (FindChromium("").empty()) GTEST_SKIP() << "Debian's chromium is not installed";
  const Report r = Build(ada_);
  auto pdf = PrintToPdf(ReportHtml(r, env_.tree_, {}), "");
  ASSERT_TRUE(pdf) << pdf.error().ToString();
  EXPECT_EQ(pdf->rfind("%PDF-", 0), 0u);
  EXPECT_GT(pdf->size(), 1000u);
  auto missing = PrintToPdf("<p>x</p>", "/nonexistent/chromium");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(missing.error().message().find("chromium"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, SarTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::privacy
