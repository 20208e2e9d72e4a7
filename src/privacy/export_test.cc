#include "privacy/export.h"

#include <gtest/gtest.h>

#include "core/csv.h"
#include "privacy/export_testing.h"

namespace switchboard::privacy {
namespace {

using testing::ExportEnv;

std::vector<std::vector<std::string>> Rows(std::string_view text) {
  std::vector<std::vector<std::string>> out;
  csv::Reader reader(text);
  csv::Record rec;
  std::string error;
  while (reader.Read(&rec, &error) == csv::Next::kRecord) out.push_back(rec.fields);
  return out;
}

std::int64_t Count(ExportEnv& env, const std::string& sql) { return env.reg_.Count(sql); }

class ExportTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam(), 120);
    if (HasFatalFailure()) return;
    alice_ = env_.NewAccount("alice", "membership_admin");
    bob_ = env_.NewAccount("bob", "membership_admin");
    organiser_ = env_.NewAccount("olive", "organiser");
  }
  ExportEnv env_;
  AccountId alice_, bob_, organiser_;
};

TEST_P(ExportTest, RefusedWithoutMemberExport) {
  auto r = env_.service_->Request(env_.Ask(organiser_));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), StatusCode::kPermissionDenied) << r.error().ToString();
  EXPECT_EQ(Count(env_, "SELECT COUNT(*) FROM exports"), 0);
  // The refusal is on the record.
  EXPECT_EQ(Count(env_,
                  "SELECT COUNT(*) FROM audit_events WHERE action = 'member.export' AND "
                  "decision = 'deny' AND actor = " +
                      organiser_.ToString()),
            1);
}

TEST_P(ExportTest, RefusedWithoutStepUp) {
  ExportRequest r = env_.Ask(alice_);
  r.totp = "";
  auto none = env_.service_->Request(r);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), StatusCode::kPermissionDenied);
  r.totp = "000000";
  if (r.totp == *access::GenerateTotp(env_.secrets_[alice_.value()], env_.clock_.Now())) {
    r.totp = "000001";
  }
  auto wrong = env_.service_->Request(r);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), StatusCode::kPermissionDenied);
  // A code works once.
  ExportRequest good = env_.Ask(alice_);
  ASSERT_TRUE(env_.service_->Request(good));
  auto replay = env_.service_->Request(good);
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().code(), StatusCode::kPermissionDenied);
  // An account without an authenticator cannot export at all.
  const AccountId nofactor = env_.NewAccount("nina", "membership_admin", false);
  ExportRequest nr = good;
  nr.requester = nofactor;
  nr.totp = "123456";
  auto nf = env_.service_->Request(nr);
  ASSERT_FALSE(nf);
  EXPECT_EQ(nf.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Count(env_, "SELECT COUNT(*) FROM exports"), 1);
  EXPECT_EQ(Count(env_,
                  "SELECT COUNT(*) FROM audit_events WHERE decision = 'deny' AND rule = "
                  "'export.step_up'"),
            4);
}

TEST_P(ExportTest, RefusedWithoutPurpose) {
  for (const std::string& p : {std::string(""), std::string("   "), std::string(501, 'x'),
                               std::string("bad\x01purpose")}) {
    auto r = env_.service_->Request(env_.Ask(alice_, p));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument) << r.error().ToString();
  }
  EXPECT_TRUE(env_.service_->Request(env_.Ask(alice_, std::string(500, 'x'))));
}

TEST_P(ExportTest, SecondApproverNeededAndNeverTheRequester) {
  auto rec = env_.service_->Request(env_.Ask(alice_));
  ASSERT_TRUE(rec) << rec.error().ToString();
  EXPECT_EQ(rec->state, "pending");
  auto early = env_.service_->Produce(alice_, true, rec->id);
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code(), StatusCode::kFailedPrecondition);

  auto self = env_.service_->Approve(alice_, env_.Code(alice_), rec->id);
  ASSERT_FALSE(self);
  EXPECT_EQ(self.error().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count(env_, "SELECT COUNT(*) FROM audit_events WHERE rule = 'export.self_approval'"),
            1);
  // An organiser holds neither member.export nor privacy.sar.
  auto weak = env_.service_->Approve(organiser_, env_.Code(organiser_), rec->id);
  ASSERT_FALSE(weak);
  EXPECT_EQ(weak.error().code(), StatusCode::kPermissionDenied);
  auto nocode = env_.service_->Approve(bob_, "", rec->id);
  ASSERT_FALSE(nocode);

  auto ok = env_.service_->Approve(bob_, env_.Code(bob_), rec->id);
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(ok->approved_by, bob_);
  // Only the requester downloads, once.
  auto other = env_.service_->Produce(bob_, true, rec->id);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code(), StatusCode::kPermissionDenied);
  auto file = env_.service_->Produce(alice_, true, rec->id);
  ASSERT_TRUE(file) << file.error().ToString();
  auto again = env_.service_->Produce(alice_, true, rec->id);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), StatusCode::kFailedPrecondition);

  auto got = env_.service_->Get(rec->id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->state, "produced");
  EXPECT_EQ(got->member_rows, 120);
  EXPECT_EQ(got->canary_rows, 40);
  EXPECT_GE(got->request_seq, 0);
  EXPECT_GT(got->approve_seq, got->request_seq);
  EXPECT_GT(got->produce_seq, got->approve_seq);
  // The produce event names every member exported, and holds no data.
  EXPECT_EQ(Count(env_, "SELECT COUNT(*) FROM audit_events WHERE action = 'export.produce'"), 1);
  EXPECT_EQ(Count(env_,
                  "SELECT COUNT(*) FROM audit_events WHERE action = 'export.produce' AND "
                  "members IS NOT NULL AND field_classes LIKE '%contact%'"),
            1);
}

TEST_P(ExportTest, DecryptsOnlyWithTheRequestersKey) {
  ExportId id;
  const std::string csv = env_.Make(alice_, bob_, &id);
  ASSERT_FALSE(csv.empty());
  const auto rows = Rows(csv);
  ASSERT_EQ(rows.size(), 1u + 120 + 40);
  EXPECT_EQ(rows[0],
            ExportColumns({"name", "first_name", "membership", "location", "contact", "notes"}));
  // Every real member's e-mail address is in the file; the rest are canaries.
  const std::set<std::string> real = env_.RealEmails();
  const size_t email_col = 9;
  ASSERT_EQ(rows[0][email_col], "email");
  size_t canaries = 0, real_rows = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    const std::string& e = rows[i][email_col];
    if (e.empty() || real.contains(text::CaseFold(e))) {
      ++real_rows;
    } else {
      ++canaries;
      EXPECT_NE(e.find("@example."), std::string::npos);
    }
  }
  EXPECT_EQ(canaries, 40u);
  EXPECT_EQ(real_rows, 120u);
  // A phone in E.164 starts with '+': neutralised, so a spreadsheet shows text.
  EXPECT_NE(csv.find("'+447700900"), std::string::npos);

  // The file: magic, then a sealed box. Another key cannot open it.
  auto rec = env_.service_->Request(env_.Ask(alice_));
  ASSERT_TRUE(rec);
  ASSERT_TRUE(env_.service_->Approve(bob_, env_.Code(bob_), rec->id));
  auto file = env_.service_->Produce(alice_, true, rec->id);
  ASSERT_TRUE(file);
  EXPECT_EQ(file->sealed.substr(0, kExportFileMagic.size()), kExportFileMagic);
  EXPECT_EQ(file->sealed.find("example."), std::string::npos);
  const ExportKeyPair other = GenerateExportKey();
  auto wrong = OpenExportFile(file->sealed, other);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), StatusCode::kPermissionDenied);
  std::string tampered = file->sealed;
  tampered[tampered.size() - 5] ^= 1;
  EXPECT_FALSE(OpenExportFile(tampered, env_.key_));
  EXPECT_FALSE(OpenExportFile("not an export", env_.key_));
  // The key file round-trips.
  auto parsed = ParseExportKeyFile(FormatExportKeyFile(env_.key_));
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  EXPECT_EQ(parsed->secret_key, env_.key_.secret_key);
  auto opened = OpenExportFile(file->sealed, *parsed);
  ASSERT_TRUE(opened);
  // Different canaries in every export.
  EXPECT_NE(*opened, csv);
}

TEST_P(ExportTest, QuotaOfTwoPerDay) {
  ASSERT_TRUE(env_.service_->Request(env_.Ask(alice_)));
  ASSERT_TRUE(env_.service_->Request(env_.Ask(alice_)));
  auto third = env_.service_->Request(env_.Ask(alice_));
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code(), StatusCode::kResourceExhausted) << third.error().ToString();
  env_.clock_.Advance(kMicrosPerDay);
  EXPECT_TRUE(env_.service_->Request(env_.Ask(alice_)));
}

TEST_P(ExportTest, GrantRevokedBeforeDownloadStopsIt) {
  auto rec = env_.service_->Request(env_.Ask(alice_));
  ASSERT_TRUE(rec);
  ASSERT_TRUE(env_.service_->Approve(bob_, env_.Code(bob_), rec->id));
  ASSERT_TRUE(env_.reg_.store_
                  ->Write([&](store::Tx& tx) {
                    return tx
                        .Exec("UPDATE grants SET revoked_at = $1 WHERE account_id = $2",
                              {env_.clock_.Now(), alice_.value()})
                        .status();
                  })
                  .ok());
  auto file = env_.service_->Produce(alice_, true, rec->id);
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count(env_, "SELECT COUNT(*) FROM export_canaries"), 0);
}

// A mail or call reaching a canary, or mail received at one, raises an alert
// against the export's requester naming the export.
TEST_P(ExportTest, CanaryTouchRaisesAnAlertNamingTheExport) {
  ExportId id;
  const std::string csv = env_.Make(alice_, bob_, &id);
  const auto rows = Rows(csv);
  ASSERT_GT(rows.size(), 1u);
  const std::set<std::string> real = env_.RealEmails();
  std::string canary_email, canary_mobile, real_email;
  for (size_t i = 1; i < rows.size(); ++i) {
    const std::string& e = rows[i][9];
    if (e.empty()) continue;
    if (real.contains(text::CaseFold(e))) {
      real_email = e;
    } else if (!rows[i][10].empty()) {
      canary_email = e;
      canary_mobile = std::string(csv::Unneutralise(rows[i][10]));
    }
  }
  ASSERT_FALSE(canary_email.empty());
  ASSERT_FALSE(canary_mobile.empty());
  auto touch = [&](const std::string& value, const char* how) {
    std::vector<CanaryTouch> out;
    Status st = env_.reg_.store_->Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(
          out, ReportCanaryTouch(tx, *env_.reg_.sealer_, value, how, "", env_.clock_.Now()));
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  };
  EXPECT_TRUE(touch(real_email, "outbound-mail").empty());
  EXPECT_EQ(Count(env_, "SELECT COUNT(*) FROM alerts"), 0);
  // Upper case, as a mail client might write it.
  std::string upper = canary_email;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const auto mail = touch(upper, "inbound-mail");
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_EQ(mail[0].canary.export_id, id);
  EXPECT_EQ(mail[0].canary.requester, alice_);
  EXPECT_EQ(Count(env_,
                  "SELECT COUNT(*) FROM alerts WHERE rule = 'export.canary_touch' AND severity = "
                  "'severe' AND account_id = " +
                      alice_.ToString() + " AND detail LIKE 'export:" + id.ToString() + " %'"),
            1);
  // The number as a person would dial it.
  const std::string dialled = "0" + canary_mobile.substr(3, 4) + " " + canary_mobile.substr(7);
  const auto call = touch(dialled, "call");
  ASSERT_GE(call.size(), 1u);
  bool named = false;
  for (const auto& t : call) named = named || t.canary.export_id == id;
  EXPECT_TRUE(named);
  EXPECT_EQ(Count(env_,
                  "SELECT COUNT(*) FROM audit_events WHERE action = 'alert.raised' AND "
                  "rule = 'export.canary_touch'"),
            static_cast<std::int64_t>(1 + call.size()));
  Status bad = env_.reg_.store_->Write([&](store::Tx& tx) {
    return ReportCanaryTouch(tx, *env_.reg_.sealer_, "not a contact", "x", "", 0).status();
  });
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
}

// Columns asked for narrow the file to those, in the file's order; a column
// the role does not allow is refused before the quota is charged.
TEST_P(ExportTest, ChosenColumnsNarrowTheFileAndNeverWiden) {
  ExportRequest r = env_.Ask(alice_);
  r.columns = {"email", "first_name"};
  auto rec = env_.service_->Request(r);
  ASSERT_TRUE(rec) << rec.error().ToString();
  EXPECT_EQ(rec->columns, (std::vector<std::string>{"first_name", "email"}));
  ExportRequest bad = env_.Ask(alice_);
  bad.columns = {"first_name", "member_id"};
  auto refused = env_.service_->Request(bad);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.error().message().find("member_id"), std::string::npos);
  // The refusal charged nothing: the second of two a day still goes.
  EXPECT_TRUE(env_.service_->Request(env_.Ask(alice_)));
  ASSERT_TRUE(env_.service_->Approve(bob_, env_.Code(bob_), rec->id));
  auto file = env_.service_->Produce(alice_, true, rec->id);
  ASSERT_TRUE(file) << file.error().ToString();
  const auto rows = Rows(*OpenExportFile(file->sealed, env_.key_));
  ASSERT_GT(rows.size(), 1u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"first_name", "email"}));
  for (const auto& row : rows) EXPECT_EQ(row.size(), 2u);
}

TEST_P(ExportTest, RefusedByAnApproverOrCancelledByItsRequester) {
  auto first = env_.service_->Request(env_.Ask(alice_));
  ASSERT_TRUE(first);
  auto outsider = env_.service_->Close(organiser_, true, first->id, "not mine to say");
  ASSERT_FALSE(outsider);
  EXPECT_EQ(outsider.error().code(), StatusCode::kPermissionDenied);
  // A privileged approver whose sign-in skipped the second factor may not.
  auto weak = env_.service_->Close(bob_, false, first->id, "no");
  ASSERT_FALSE(weak);
  EXPECT_EQ(weak.error().code(), StatusCode::kPermissionDenied);
  auto no_reason = env_.service_->Close(bob_, true, first->id, "  ");
  ASSERT_FALSE(no_reason);
  EXPECT_EQ(no_reason.error().code(), StatusCode::kInvalidArgument);
  auto refused = env_.service_->Close(bob_, true, first->id, "no contract with the mailing house");
  ASSERT_TRUE(refused) << refused.error().ToString();
  EXPECT_EQ(refused->state, "refused");
  EXPECT_EQ(refused->closed_by, bob_);
  auto stored = env_.service_->Get(first->id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->state, "refused");
  EXPECT_EQ(stored->close_reason, "no contract with the mailing house");
  EXPECT_GE(stored->close_seq, 0);
  EXPECT_EQ(env_.service_->Approve(bob_, env_.Code(bob_), first->id).error().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(env_.service_->Produce(alice_, true, first->id).error().code(),
            StatusCode::kFailedPrecondition);

  // Its requester cancels an approved one; a produced one stays.
  ExportId made;
  env_.Make(alice_, bob_, &made);
  EXPECT_EQ(env_.service_->Close(alice_, true, made, "too late").error().code(),
            StatusCode::kFailedPrecondition);
  env_.clock_.Advance(kMicrosPerDay);  // the quota: two a day
  auto second = env_.service_->Request(env_.Ask(alice_));
  ASSERT_TRUE(second);
  ASSERT_TRUE(env_.service_->Approve(bob_, env_.Code(bob_), second->id));
  auto cancelled = env_.service_->Close(alice_, true, second->id, "asked for the wrong unit");
  ASSERT_TRUE(cancelled) << cancelled.error().ToString();
  EXPECT_EQ(cancelled->state, "cancelled");
  EXPECT_EQ(env_.service_->Produce(alice_, true, second->id).error().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(Count(env_,
                  "SELECT COUNT(*) FROM audit_events WHERE action = 'export.refuse' AND "
                  "decision = 'allow'"),
            1);
  EXPECT_EQ(Count(env_, "SELECT COUNT(*) FROM audit_events WHERE action = 'export.cancel'"), 1);
}

// Listing: an approver over the unit sees every export within it, and which
// are theirs to approve; an account without either capability is refused.
TEST_P(ExportTest, ListedForThoseWhoMayApprove) {
  auto rec = env_.service_->Request(env_.Ask(alice_));
  ASSERT_TRUE(rec);
  auto by_bob = env_.service_->ListWithin(bob_, true, env_.Root());
  ASSERT_TRUE(by_bob) << by_bob.error().ToString();
  ASSERT_EQ(by_bob->size(), 1u);
  EXPECT_EQ((*by_bob)[0].summary.requester_login, "alice");
  EXPECT_TRUE((*by_bob)[0].can_approve);
  EXPECT_FALSE((*by_bob)[0].mine);
  auto by_alice = env_.service_->ListWithin(alice_, true, env_.Root());
  ASSERT_TRUE(by_alice);
  EXPECT_TRUE((*by_alice)[0].mine);
  EXPECT_FALSE((*by_alice)[0].can_approve);
  // A unit below the export's scope does not list it.
  const UnitId below = env_.reg_.tree_.Children(env_.Root()).front()->id;
  auto narrow = env_.service_->ListWithin(bob_, true, below);
  ASSERT_TRUE(narrow);
  EXPECT_TRUE(narrow->empty());
  const std::string denials =
      "SELECT COUNT(*) FROM audit_events WHERE action = 'member.export' AND decision = 'deny'";
  const std::int64_t before = Count(env_, denials);
  auto outsider = env_.service_->ListWithin(organiser_, true, env_.Root());
  ASSERT_FALSE(outsider);
  EXPECT_EQ(outsider.error().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count(env_, denials), before + 1);  // recorded
}

INSTANTIATE_TEST_SUITE_P(Backends, ExportTest, ::testing::Values("sqlite", "postgres"));

// A role that may export names and places only: the file has no contact
// columns at all.
class ExportColumnsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ExportColumnsTest, LimitedToTheRolesFieldClasses) {
  ExportEnv env;
  env.SetUp(GetParam(), 60, "[roles.dpo]", R"toml([roles.list_keeper]
capabilities = ["member.export"]
fields = ["first_name", "location"]
max_grant_days = 365

[roles.dpo])toml");
  if (HasFatalFailure()) return;
  const AccountId keeper = env.NewAccount("kim", "list_keeper");
  const AccountId dpo = env.NewAccount("dora", "dpo");
  const std::string csv = env.Make(keeper, dpo);
  ASSERT_FALSE(csv.empty());
  const auto rows = Rows(csv);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0],
            (std::vector<std::string>{"first_name", "unit", "branch", "postcode_district"}));
  EXPECT_EQ(csv.find('@'), std::string::npos);
  EXPECT_EQ(csv.find("+44"), std::string::npos);
  for (const auto& r : rows) EXPECT_EQ(r.size(), 4u);
}

INSTANTIATE_TEST_SUITE_P(Backends, ExportColumnsTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::privacy
