// Switchboard's own mail and calls reaching a canary (canary_contact.h): an
// export's canary, and a canary planted in the register, each re-imported
// under a new member after the file left, are recognised by the blind index
// the send and call paths hold, and the alert names the export.
#include "privacy/canary_contact.h"

#include <gtest/gtest.h>

#include "core/csv.h"
#include "members/contact.h"
#include "members/register.h"
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

class CanaryContactTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam(), 60);
    if (HasFatalFailure()) return;
    alice_ = env_.NewAccount("alice", "membership_admin");
    bob_ = env_.NewAccount("bob", "membership_admin");
  }

  Status Write(const store::TxFn& fn) { return env_.reg_.store_->Write(fn); }

  // A member of the register, marked a canary as the generator and
  // `canary plant` mark them; returns its e-mail address.
  std::string PlantOn(MemberId m) {
    EXPECT_TRUE(Write([&](store::Tx& tx) {
                  return members::PlantCanary(tx, m, env_.clock_.Now(), "unit");
                }).ok());
    std::string email;
    EXPECT_TRUE(env_.reg_.store_
                    ->Read([&](store::Tx& tx) {
                      return tx.Query(
                          "SELECT key_id, sealed FROM contact_points WHERE member_id = $1 AND "
                          "kind = 'email'",
                          {m.value()}, [&](const store::Row& r) {
                            email = *env_.reg_.sealer_->Open(
                                {static_cast<std::uint32_t>(r.Int(0)), std::string(r.Bytes(1))},
                                "email");
                            return false;
                          });
                    })
                    .ok());
    return email;
  }

  // A row of a leaked file imported back as a new member (another source,
  // another name): its contact points sealed and indexed as an import would.
  MemberId Reimport(const std::string& ext, const std::string& email, const std::string& phone) {
    members::MemberRecord r;
    r.source = "leaked";
    r.external_id = ext;
    r.unit = env_.Root();
    r.first_name = "Imported";
    r.last_name = "Row" + ext;
    r.status = "current";
    r.joined_on = 18000;
    r.consents = members::kConsentEmail | members::kConsentPhone;
    r.content_hash = "h" + ext;
    if (!email.empty()) {
      auto e = members::NormaliseEmail(email);
      EXPECT_TRUE(e);
      r.contacts.push_back({"email", "primary", env_.reg_.sealer_->Seal(e->address, "email"),
                            env_.reg_.sealer_->BlindIndex("email", e->match_key)});
    }
    if (!phone.empty()) {
      r.contacts.push_back({"phone", "mobile", env_.reg_.sealer_->Seal(phone, "phone"),
                            env_.reg_.sealer_->BlindIndex("phone", phone)});
    }
    MemberId id;
    EXPECT_TRUE(Write([&](store::Tx& tx) -> Status {
                  SB_ASSIGN_OR_RETURN(auto up,
                                      members::UpsertMember(tx, r, env_.clock_.Now(), "import"));
                  id = up.id;
                  return Status::Ok();
                }).ok());
    return id;
  }

  // What the send (kind email) or call (phone) path does for `member`: the
  // check on the blind index of its contact point, in a transaction of its
  // own; returns the alerts raised.
  int Reach(MemberId member, const std::string& kind) {
    int raised = -1;
    const Status st = Write([&](store::Tx& tx) -> Status {
      std::string index;
      SB_RETURN_IF_ERROR(
          tx.Query("SELECT blind_index FROM contact_points WHERE member_id = $1 AND kind = $2",
                   {member.value(), kind}, [&](const store::Row& r) {
                     index = std::string(r.Bytes(0));
                     return false;
                   }));
      SB_ASSIGN_OR_RETURN(
          raised, CheckOutboundContact(tx, kind, index, kind == "email" ? "outbound-mail" : "call",
                                       "req-1", env_.clock_.Now()));
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return raised;
  }

  std::int64_t Alerts(const std::string& detail_like) {
    return env_.reg_.Count(
        "SELECT COUNT(*) FROM alerts WHERE rule = 'export.canary_touch' AND severity = 'severe' "
        "AND account_id = " +
        alice_.ToString() + " AND detail LIKE '" + detail_like + "'");
  }

  ExportEnv env_;
  AccountId alice_, bob_;
};

TEST_P(CanaryContactTest, ReimportedCanariesOfBothKindsNameTheExport) {
  // A member of the register with an e-mail address.
  const MemberId planted(
      env_.reg_.Count("SELECT MIN(member_id) FROM contact_points WHERE kind = 'email'"));
  const std::string planted_email = PlantOn(planted);
  ASSERT_FALSE(planted_email.empty());
  ExportId id;
  const std::string csv = env_.Make(alice_, bob_, &id);
  const auto rows = Rows(csv);
  ASSERT_GT(rows.size(), 1u);
  ASSERT_EQ(rows[0][9], "email");
  ASSERT_EQ(rows[0][10], "mobile");
  const std::set<std::string> real = env_.RealEmails();
  std::string canary_email, canary_mobile;
  for (size_t i = 1; i < rows.size() && canary_email.empty(); ++i) {
    const std::string& e = rows[i][9];
    if (!e.empty() && !real.contains(text::CaseFold(e)) && !rows[i][10].empty()) {
      canary_email = e;
      canary_mobile = std::string(csv::Unneutralise(rows[i][10]));
    }
  }
  ASSERT_FALSE(canary_email.empty());
  // The planted canary left in the file like every other row.
  EXPECT_NE(csv.find(planted_email), std::string::npos);
  // One that joined the register after the export: no file carried it.
  const std::string later_email =
      PlantOn(Reimport("5", "planted.after.export@example.org", "+447700900002"));

  // The leaked rows come back into the register under new members.
  const MemberId ordinary = Reimport("1", "someone.new.1@example.org", "+447700900001");
  const MemberId export_canary = Reimport("2", canary_email, canary_mobile);
  const MemberId register_canary = Reimport("3", planted_email, "");
  const MemberId never_exported = Reimport("4", later_email, "");
  ASSERT_TRUE(ordinary.valid() && export_canary.valid() && register_canary.valid() &&
              never_exported.valid());
  const std::int64_t events_before = env_.reg_.Count("SELECT COUNT(*) FROM audit_events");

  EXPECT_EQ(Reach(ordinary, "email"), 0);
  EXPECT_EQ(env_.reg_.Count("SELECT COUNT(*) FROM alerts"), 0);
  EXPECT_EQ(Reach(export_canary, "email"), 1);
  EXPECT_EQ(Alerts("export:" + id.ToString() + " canary:% email via:outbound-mail"), 1);
  EXPECT_GE(Reach(export_canary, "phone"), 1);
  EXPECT_EQ(Alerts("export:" + id.ToString() + " canary:% phone via:call"), 1);
  EXPECT_EQ(Reach(register_canary, "email"), 1);
  EXPECT_EQ(Alerts("export:" + id.ToString() + " register-canary:" + planted.ToString() +
                   " email via:outbound-mail"),
            1);
  // The planted canary itself, were it ever mailed, names the same export.
  EXPECT_EQ(Reach(planted, "email"), 1);
  // No export carried it: nothing to name (reading it raised anomaly.canary).
  EXPECT_EQ(Reach(never_exported, "email"), 0);
  const std::int64_t alerts = env_.reg_.Count("SELECT COUNT(*) FROM alerts");
  EXPECT_EQ(alerts, env_.reg_.Count("SELECT COUNT(*) FROM alerts WHERE detail LIKE 'export:" +
                                    id.ToString() + " %'"));
  // Each alert is on the record, and nothing else was written.
  EXPECT_EQ(env_.reg_.Count("SELECT COUNT(*) FROM audit_events WHERE action = 'alert.raised' AND "
                            "rule = 'export.canary_touch'"),
            alerts);
  EXPECT_EQ(env_.reg_.Count("SELECT COUNT(*) FROM audit_events"), events_before + alerts);
  // The account that made the export is not suspended: the DPO decides.
  EXPECT_EQ(env_.reg_.Count("SELECT COUNT(*) FROM accounts WHERE id = " + alice_.ToString() +
                            " AND state = 'active'"),
            1);
}

INSTANTIATE_TEST_SUITE_P(Backends, CanaryContactTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::privacy
