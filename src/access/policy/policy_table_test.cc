// Runs every decision table in tests/policy/*.toml against the default policy.
#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "access/policy/decision.h"
#include "access/policy/policy.h"

namespace switchboard::access {
namespace {

std::string SourceDir() {
  const char* dir = std::getenv("SB_SOURCE_DIR");
  return dir ? dir : SB_SOURCE_DIR_DEFAULT;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

members::OrgTree UkTree() {
  auto specs = members::ParseConstituencyCsv(Slurp(SourceDir() + "/data/constituencies.csv"));
  SB_CHECK(specs.has_value());
  specs->push_back({"E14000530-B1", "Aldershot North branch", "branch", "E14000530", true});
  std::vector<members::Unit> units;
  std::map<std::string, std::int64_t> ids;
  for (const auto& s : *specs) {
    const std::int64_t id = static_cast<std::int64_t>(units.size()) + 1;
    ids[s.code] = id;
    units.push_back({UnitId(id), s.code, s.name, s.kind,
                     s.parent_code.empty() ? UnitId() : UnitId(ids.at(s.parent_code))});
  }
  auto tree = members::OrgTree::Build(std::move(units));
  SB_CHECK(tree.has_value());
  return std::move(*tree);
}

Micros Time(const toml::node_view<const toml::node>& n) {
  auto v = n.value<std::string>();
  if (!v) return 0;
  auto t = ParseTimestamp(*v);
  SB_CHECK(t.has_value());
  return *t;
}

TEST(PolicyTableTest, EveryCaseDecidesAsTheRulebookSays) {
  auto policy = ParsePolicy(DefaultPolicyToml(), "default policy");
  ASSERT_TRUE(policy) << policy.error().ToString();
  const members::OrgTree tree = UkTree();
  int files = 0, cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(SourceDir() + "/tests/policy")) {
    if (entry.path().extension() != ".toml") continue;
    ++files;
    const std::string name = entry.path().filename().string();
    toml::table doc;
    try {
      doc = toml::parse_file(entry.path().string());
    } catch (const toml::parse_error& e) {
      FAIL() << name << ": " << e.description();
    }
    std::map<std::int64_t, Principal> principals;
    std::vector<Grant> grants;
    if (auto* gs = doc["grant"].as_array()) {
      for (const auto& gn : *gs) {
        const auto& g = *gn.as_table();
        Grant grant;
        grant.id = GrantId(g["id"].value_or<std::int64_t>(0));
        grant.account = AccountId(g["account"].value_or<std::int64_t>(0));
        grant.role = g["role"].value_or<std::string>("");
        const members::Unit* scope = tree.FindByCode(g["scope"].value_or<std::string>(""));
        ASSERT_NE(scope, nullptr) << name << ": grant " << grant.id.value() << " scope";
        grant.scope = scope->id;
        grant.purpose = g["purpose"].value_or<std::string>("");
        grant.not_before = Time(g["not_before"]);
        grant.not_after = Time(g["not_after"]);
        grant.revoked_at = Time(g["revoked_at"]);
        grant.source = g["source"].value_or<std::string>("direct");
        grant.approved = g["approved"].value_or(true);
        grants.push_back(grant);
      }
    }
    for (const auto& an : *doc["account"].as_array()) {
      const auto& a = *an.as_table();
      Principal p;
      p.account = AccountId(a["id"].value_or<std::int64_t>(0));
      p.staff = a["staff"].value_or(false);
      p.second_factor = a["second_factor"].value_or(false);
      const std::string state = a["state"].value_or<std::string>("active");
      p.state = state == "suspended"  ? AccountState::kSuspended
                : state == "disabled" ? AccountState::kDisabled
                                      : AccountState::kActive;
      p.grants = grants;
      principals[p.account.value()] = p;
    }
    for (const auto& cn : *doc["case"].as_array()) {
      const auto& c = *cn.as_table();
      ++cases;
      const std::string what = name + ": " + c["name"].value_or<std::string>("?");
      const std::int64_t account = c["account"].value_or<std::int64_t>(0);
      Principal who;
      if (auto it = principals.find(account); it != principals.end()) {
        who = it->second;
      } else {
        who.account = AccountId(account);  // unknown account: no grants at all
      }
      Target target;
      const members::Unit* unit = tree.FindByCode(c["unit"].value_or<std::string>(""));
      ASSERT_NE(unit, nullptr) << what;
      target.unit = unit->id;
      const Decision d = Decide(*policy, tree, who, c["capability"].value_or<std::string>(""),
                                target, Time(c["at"]));
      const std::string expect = c["expect"].value_or<std::string>("");
      ASSERT_TRUE(expect == "allow" || expect == "deny") << what;
      EXPECT_EQ(d.allow, expect == "allow") << what << " — " << d.rule << ": " << d.reason();
      EXPECT_EQ(d.rule, c["rule"].value_or<std::string>("")) << what << " — " << d.reason();
      EXPECT_FALSE(d.reason().empty()) << what;
      if (auto g = c["grant"].value<std::int64_t>()) {
        EXPECT_EQ(d.grant.value(), *g) << what;
      }
      if (auto* fields = c["fields"].as_array()) {
        std::set<std::string> want;
        for (const auto& f : *fields) want.insert(f.value_or<std::string>(""));
        EXPECT_EQ(d.fields(), want) << what;
      }
      if (!d.allow) {
        EXPECT_TRUE(d.fields().empty()) << what;
      }
    }
  }
  EXPECT_GE(files, 2);
  EXPECT_GE(cases, 20);
}

}  // namespace
}  // namespace switchboard::access
