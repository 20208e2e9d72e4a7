// Records of processing from a policy and a register: roles, field classes,
// retention and sessions from the policy file, purposes from the grants,
// recipients as given; Markdown and escaped HTML. Both backends.
#include "privacy/records.h"

#include <gtest/gtest.h>

#include "access/store/access_store.h"
#include "members/testing_env.h"

namespace switchboard::privacy {
namespace {

class RecordsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { env_.SetUp(GetParam()); }
  members::testing::RegisterEnv env_;
};

TEST_P(RecordsTest, TheRecordsSayWhatThePolicyAndTheRegisterSay) {
  // A policy of its own: a role, a retention period and sessions not the defaults'.
  auto policy = access::ParsePolicy(R"toml(
[roles.canvasser]
capabilities = ["phonebank.call"]
fields = ["first_name", "location"]
max_grant_days = 21

[roles.dpo]
capabilities = ["audit.read", "privacy.sar"]
fields = ["name"]
privileged = true

[retention]
lapsed_years = 3

[sessions]
idle_minutes_privileged = 11
idle_minutes_other = 99
absolute_hours = 7
)toml",
                                    "policy.toml");
  ASSERT_TRUE(policy) << policy.error().ToString();
  const Micros now = *ParseTimestamp("2026-03-02T10:00:00Z");
  ASSERT_TRUE(
      env_.store_
          ->Write([&](store::Tx& tx) -> Status {
            SB_ASSIGN_OR_RETURN(
                AccountId a, access::CreateAccount(tx, {"c.one", "C One", MemberId(), false}, now));
            const UnitId root = env_.tree_.root()->id;
            for (const char* purpose :
                 {"GOTV <Aldershot> calls", "GOTV <Aldershot> calls", "AGM | reminders"}) {
              access::GrantRequest g{
                  a,     "canvasser", root, purpose, now - kMicrosPerDay, now + kMicrosPerDay,
                  "why", "direct",    0};
              SB_RETURN_IF_ERROR(access::InsertGrant(tx, g, AccountId(), true, now).status());
            }
            return Status::Ok();
          })
          .ok());
  ProcessingRecords r;
  ASSERT_TRUE(env_.store_
                  ->Read([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(
                        r,
                        GatherRecords(tx, *policy, "Example & Party",
                                      {{"SMTP relay", "smtp.example.org:587", "addresses"}}, now));
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_EQ(r.grant_purposes.size(), 2u);
  const std::string md = RecordsMarkdown(r, env_.tree_);
  const std::string html = RecordsHtml(r, env_.tree_);
  for (const std::string& doc : {md, html}) {
    EXPECT_NE(doc.find("canvasser"), std::string::npos);
    EXPECT_NE(doc.find("21 days"), std::string::npos);
    EXPECT_NE(doc.find("3 years after lapsing"), std::string::npos);
    EXPECT_NE(doc.find("11 minutes idle"), std::string::npos);
    EXPECT_NE(doc.find("7 hours at most"), std::string::npos);
    EXPECT_NE(doc.find("smtp.example.org:587"), std::string::npos);
    EXPECT_EQ(doc.find("membership_admin"), std::string::npos) << "a role the policy lacks";
  }
  // The purposes with their counts; a table cell cannot break the Markdown table.
  EXPECT_NE(md.find("| canvasser | GOTV <Aldershot> calls | 2 | 2 |"), std::string::npos) << md;
  EXPECT_NE(md.find("AGM \\| reminders"), std::string::npos);
  EXPECT_NE(md.find("## How long data is kept"), std::string::npos);
  // Escaped HTML.
  EXPECT_EQ(html.find("<Aldershot>"), std::string::npos);
  EXPECT_NE(html.find("GOTV &lt;Aldershot&gt; calls"), std::string::npos);
  EXPECT_NE(html.find("Example &amp; Party"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, RecordsTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::privacy
