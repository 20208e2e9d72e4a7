#include "members/org_tree.h"

#include <gtest/gtest.h>

#include "members/testing_env.h"

namespace switchboard::members {
namespace {

using testing::SourceFile;

TEST(OrgTreeTest, UkConstituenciesShape) {
  auto specs = ParseConstituencyCsv(SourceFile("data/constituencies.csv"));
  ASSERT_TRUE(specs) << specs.error().ToString();
  int nations = 0, regions = 0, constituencies = 0;
  for (const auto& s : *specs) {
    nations += s.kind == "nation";
    regions += s.kind == "region";
    constituencies += s.kind == "constituency";
  }
  EXPECT_EQ(nations, 1);
  EXPECT_EQ(regions, 12);
  EXPECT_EQ(constituencies, 650);
}

std::vector<Unit> Small() {
  // 1 nation > 2 regions > constituencies > a branch.
  return {{UnitId(1), "UK", "United Kingdom", "nation", UnitId()},
          {UnitId(2), "R-LON", "London", "region", UnitId(1)},
          {UnitId(3), "R-WAL", "Wales", "region", UnitId(1)},
          {UnitId(4), "E1", "Hackney South", "constituency", UnitId(2)},
          {UnitId(5), "W1", "Ynys Môn", "constituency", UnitId(3)},
          {UnitId(6), "E1-B1", "Hackney South North branch", "branch", UnitId(4)}};
}

TEST(OrgTreeTest, ScopeIsSubtree) {
  auto t = OrgTree::Build(Small());
  ASSERT_TRUE(t) << t.error().ToString();
  EXPECT_TRUE(t->IsWithin(UnitId(6), UnitId(1)));
  EXPECT_TRUE(t->IsWithin(UnitId(6), UnitId(2)));
  EXPECT_TRUE(t->IsWithin(UnitId(6), UnitId(4)));
  EXPECT_TRUE(t->IsWithin(UnitId(4), UnitId(4)));
  EXPECT_FALSE(t->IsWithin(UnitId(6), UnitId(3)));
  EXPECT_FALSE(t->IsWithin(UnitId(5), UnitId(2)));
  EXPECT_FALSE(t->IsWithin(UnitId(2), UnitId(4)));  // parent is not inside child
  EXPECT_FALSE(t->IsWithin(UnitId(99), UnitId(1)));
  EXPECT_EQ(t->AncestorOfKind(UnitId(6), "constituency")->code, "E1");
  EXPECT_EQ(t->AncestorOfKind(UnitId(6), "region")->code, "R-LON");
  EXPECT_EQ(t->root()->code, "UK");
  EXPECT_EQ(t->Children(UnitId(1)).size(), 2u);
}

TEST(OrgTreeTest, LookupByCodeAndName) {
  auto t = OrgTree::Build(Small());
  ASSERT_TRUE(t);
  EXPECT_EQ(t->FindByCode("W1")->name, "Ynys Môn");
  EXPECT_EQ(t->FindByName("Ynys Môn")->code, "W1");
  EXPECT_EQ(t->FindByName("ynys mon")->code, "W1");  // case and accents folded
  EXPECT_EQ(t->FindByCodeOrName("hackney south")->code, "E1");
  EXPECT_EQ(t->FindByName("Nowhere"), nullptr);
}

TEST(OrgTreeTest, RejectsBrokenTrees) {
  auto two_roots = Small();
  two_roots[2].parent = UnitId();
  EXPECT_FALSE(OrgTree::Build(two_roots));
  auto cycle = Small();
  cycle[0].parent = UnitId(6);  // no root at all
  EXPECT_FALSE(OrgTree::Build(cycle));
  auto orphan = Small();
  orphan[4].parent = UnitId(42);
  EXPECT_FALSE(OrgTree::Build(orphan));
  auto dup = Small();
  dup[5].code = "E1";
  EXPECT_FALSE(OrgTree::Build(dup));
}

TEST(OrgTreeTest, CustomTreeCsvOrdersParentsFirst) {
  const std::string csv =
      "ons_code,name,region,parent,kind\n"
      "BR1,Docks branch,,LOC1,branch\n"
      "LOC1,Port local,,NAT,local\n"
      "NAT,Transport Union,,,national\n";
  auto specs = ParseTreeCsv(csv);
  ASSERT_TRUE(specs) << specs.error().ToString();
  ASSERT_EQ(specs->size(), 3u);
  EXPECT_EQ((*specs)[0].code, "NAT");
  EXPECT_EQ((*specs)[1].code, "LOC1");
  EXPECT_EQ((*specs)[2].kind, "branch");
}

TEST(OrgTreeTest, CustomTreeCsvErrors) {
  auto cyc = ParseTreeCsv("ons_code,name,region,parent\nA,a,,B\nB,b,,A\n");
  ASSERT_FALSE(cyc);
  EXPECT_NE(cyc.error().message().find("own ancestor"), std::string::npos);
  auto missing = ParseTreeCsv("ons_code,name\nA,a\n");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("parent"), std::string::npos);
  auto width = ParseTreeCsv("ons_code,name,region,parent\nA,a,,\nB,b\n");
  ASSERT_FALSE(width);
  EXPECT_NE(width.error().message().find("line 3"), std::string::npos);
}

class OrgTreeStoreTest : public ::testing::TestWithParam<std::string> {};

TEST_P(OrgTreeStoreTest, SaveAndLoadRoundTrip) {
  testing::RegisterEnv env;
  env.SetUp(GetParam());
  EXPECT_EQ(env.tree_.size(), 663u);
  const Unit* c = env.tree_.FindByCode("E14000530");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->name, "Aldershot");
  EXPECT_EQ(env.tree_.Find(c->parent)->name, "South East");
  // Saving again updates in place and adds nothing.
  auto specs = ParseConstituencyCsv(testing::SourceFile("data/constituencies.csv"));
  int added = -1;
  ASSERT_TRUE(env.store_
                  ->WriteNow([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(added, SaveUnits(tx, *specs));
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(added, 0);
  // An unknown parent changes nothing.
  Status bad = env.store_->WriteNow([&](store::Tx& tx) {
    return SaveUnits(tx, {{"X1", "Orphan", "branch", "NOPE", false}}).status();
  });
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(env.Count("SELECT COUNT(*) FROM units"), 663);
}

INSTANTIATE_TEST_SUITE_P(Backends, OrgTreeStoreTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::members
