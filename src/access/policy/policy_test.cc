#include "access/policy/policy.h"

#include <gtest/gtest.h>

namespace switchboard::access {
namespace {

TEST(PolicyTest, DefaultPolicyIsValid) {
  auto p = ParsePolicy(DefaultPolicyToml(), "policy.toml");
  ASSERT_TRUE(p) << p.error().ToString();
  ASSERT_NE(p->FindRole("caller"), nullptr);
  EXPECT_FALSE(p->FindRole("caller")->fields.count("contact"));
  EXPECT_FALSE(p->FindRole("candidate_campaign")->fields.count("contact"));
  EXPECT_TRUE(p->FindRole("membership_admin")->privileged);
  EXPECT_FALSE(p->FindRole("officer")->privileged);
  EXPECT_EQ(p->FindRole("officer")->quotas.at("member.view").per_day, 300);
  EXPECT_EQ(p->calling_start_minute, 9 * 60);
  EXPECT_EQ(p->source_hash.size(), 64u);
  EXPECT_EQ(p->login_max_failures_per_account, 5);
  EXPECT_EQ(p->search_page_max, 50);
  EXPECT_EQ(p->anomaly_probe_run, 20);
}

TEST(PolicyTest, LoginSearchAndAnomalySectionsAreValidated) {
  const std::string roles = "[roles.x]\ncapabilities = [\"member.view\"]\n";
  auto ok =
      ParsePolicy(roles + "[login]\nmax_failures_per_account = 3\n[anomaly]\nprobe_run = 7\n", "p");
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(ok->login_max_failures_per_account, 3);
  EXPECT_EQ(ok->anomaly_probe_run, 7);
  auto zero = ParsePolicy(roles + "[search]\npage_max = 0\n", "policy.toml");
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message().find("policy.toml:4"), std::string::npos)
      << zero.error().message();
  auto unknown = ParsePolicy(roles + "[anomaly]\nfactor = 3\n", "p");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message().find("factor"), std::string::npos);
}

TEST(PolicyTest, ThePrivacySectionNamesVolunteersOnlyWhenAsked) {
  auto d = ParsePolicy(DefaultPolicyToml(), "policy.toml");
  ASSERT_TRUE(d) << d.error().ToString();
  EXPECT_FALSE(d->privacy_name_volunteers);
  const std::string roles = "[roles.x]\ncapabilities = [\"member.view\"]\n";
  auto on = ParsePolicy(roles + "[privacy]\nname_volunteers = true\n", "p");
  ASSERT_TRUE(on) << on.error().ToString();
  EXPECT_TRUE(on->privacy_name_volunteers);
  auto bad = ParsePolicy(roles + "[privacy]\nname_volunteers = \"yes\"\n", "p");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("name_volunteers"), std::string::npos);
  auto unknown = ParsePolicy(roles + "[privacy]\nname_callers = true\n", "p");
  ASSERT_FALSE(unknown);
}

TEST(PolicyTest, ExportMakesARolePrivileged) {
  auto p = ParsePolicy(
      "[roles.x]\ncapabilities = [\"member.view\", \"member.export\"]\nprivileged = false\n", "p");
  ASSERT_TRUE(p) << p.error().ToString();
  EXPECT_TRUE(p->FindRole("x")->privileged);
}

TEST(PolicyTest, ErrorsNameTheLine) {
  auto unknown_cap = ParsePolicy("[roles.x]\ncapabilities = [\"member.view\",\n  \"member.fly\"]\n",
                                 "policy.toml");
  ASSERT_FALSE(unknown_cap);
  EXPECT_NE(unknown_cap.error().message().find("policy.toml:3"), std::string::npos)
      << unknown_cap.error().message();
  EXPECT_NE(unknown_cap.error().message().find("member.fly"), std::string::npos);

  auto contact_without_cap =
      ParsePolicy("[roles.x]\ncapabilities = [\"member.view\"]\nfields = [\"contact\"]\n", "p");
  ASSERT_FALSE(contact_without_cap);
  EXPECT_NE(contact_without_cap.error().message().find("member.contact.view"), std::string::npos);

  auto typo = ParsePolicy("[roles.x]\ncapabilities = [\"member.view\"]\nmax_grant_dayz = 3\n", "p");
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message().find("max_grant_dayz"), std::string::npos);

  auto quota_without_cap = ParsePolicy(
      "[roles.x]\ncapabilities = [\"member.view\"]\nquotas = { \"member.export\" = { per_day = 1 } "
      "}\n",
      "p");
  ASSERT_FALSE(quota_without_cap);

  auto hours = ParsePolicy(
      "[roles.x]\ncapabilities = [\"member.view\"]\n[calling_hours]\nstart = \"21:00\"\nend = "
      "\"09:00\"\n",
      "p");
  ASSERT_FALSE(hours);
  EXPECT_FALSE(ParsePolicy("", "p"));
  EXPECT_FALSE(ParsePolicy("[roles.x]\ncapabilities = [\"member.view\"]\n[rolez]\n", "p"));
}

TEST(PolicyTest, HashChangesWithTheFile) {
  auto a = ParsePolicy("[roles.x]\ncapabilities = [\"member.view\"]\n", "p");
  auto b = ParsePolicy("[roles.x]\ncapabilities = [\"member.view\"]\n# changed\n", "p");
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->source_hash, b->source_hash);
}

}  // namespace
}  // namespace switchboard::access
