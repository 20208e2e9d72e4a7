#include "access/store/member_reader.h"

#include <gtest/gtest.h>

#include "members/register.h"
#include "members/testing_env.h"

namespace switchboard::access {
namespace {

class MemberReaderTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    policy_ = std::move(ParsePolicy(DefaultPolicyToml(), "policy").value());
    aldershot_ = env_.tree_.FindByCode("E14000530")->id;
    aldridge_ = env_.tree_.FindByCode("E14000531")->id;
    south_east_ = env_.tree_.Find(aldershot_)->parent;
    a1_ = AddMember("a1", aldershot_, "Ada", "Lovelace", "current");
    a2_ = AddMember("a2", aldershot_, "Alan", "Lovell", "lapsed");
    a3_ = AddMember("a3", aldershot_, "Grace", "Hopper", "current");
    b1_ = AddMember("b1", aldridge_, "Lucy", "Lovelock", "current");
  }

  MemberId AddMember(const std::string& ext, UnitId unit, const std::string& first,
                     const std::string& last, const std::string& status) {
    members::MemberRecord r;
    r.source = "native";
    r.external_id = ext;
    r.unit = unit;
    r.first_name = first;
    r.last_name = last;
    r.status = status;
    r.joined_on = 18000;
    r.postcode_district = "GU11";
    r.content_hash = "h" + ext;
    const std::string email = ext + "@example.org";
    r.contacts.push_back({"email", "primary", env_.sealer_->Seal(email, "email"),
                          env_.sealer_->BlindIndex("email", email)});
    MemberId id;
    EXPECT_TRUE(env_.store_
                    ->Write([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(auto up, members::UpsertMember(tx, r, Now(), "test"));
                      id = up.id;
                      return Status::Ok();
                    })
                    .ok());
    return id;
  }

  Micros Now() const { return *ParseTimestamp("2026-03-01T09:00:00Z"); }

  Decision DecideFor(const std::string& role, UnitId scope, std::string_view capability,
                     UnitId target) {
    grants_ = {Grant{GrantId(1), AccountId(1), role, scope, "p", Now() - kMicrosPerDay,
                     Now() + kMicrosPerDay, AccountId(2), "r"}};
    Principal who{AccountId(1), AccountState::kActive, false, true, grants_};
    return Decide(policy_, env_.tree_, who, capability, Target{target}, Now());
  }

  template <typename F>
  auto InRead(F f) {
    decltype(f(std::declval<store::Tx&>())) out = Status::Internal("not run");
    EXPECT_TRUE(env_.store_
                    ->Read([&](store::Tx& tx) -> Status {
                      out = f(tx);
                      return Status::Ok();
                    })
                    .ok());
    return out;
  }

  members::testing::RegisterEnv env_;
  Policy policy_;
  std::vector<Grant> grants_;
  UnitId aldershot_, aldridge_, south_east_;
  MemberId a1_, a2_, a3_, b1_;
};

TEST_P(MemberReaderTest, ViewReturnsOnlyTheRolesFieldClasses) {
  const Decision d = DecideFor("officer", aldershot_, "member.view", aldershot_);
  ASSERT_TRUE(d.allow) << d.reason();
  auto v = InRead([&](store::Tx& tx) { return ViewMember(tx, d, env_.tree_, a1_, Now()); });
  ASSERT_TRUE(v) << v.error().ToString();
  EXPECT_EQ(v->classes, (std::set<std::string>{"first_name", "location", "membership", "name"}));
  EXPECT_EQ(v->last_name, "Lovelace");
  EXPECT_EQ(v->unit->code, "E14000530");
  EXPECT_TRUE(v->years.has_value());

  // A role without `name` gets no last name.
  Policy narrow = std::move(
      ParsePolicy("[roles.narrow]\ncapabilities = [\"member.view\"]\nfields = [\"first_name\"]\n",
                  "p")
          .value());
  grants_ = {Grant{GrantId(1), AccountId(1), "narrow", aldershot_, "p", Now() - kMicrosPerDay,
                   Now() + kMicrosPerDay, AccountId(2), "r"}};
  const Decision nd =
      Decide(narrow, env_.tree_, {AccountId(1), AccountState::kActive, false, true, grants_},
             "member.view", Target{aldershot_}, Now());
  ASSERT_TRUE(nd.allow);
  auto nv = InRead([&](store::Tx& tx) { return ViewMember(tx, nd, env_.tree_, a1_, Now()); });
  ASSERT_TRUE(nv);
  EXPECT_EQ(nv->first_name, "Ada");
  EXPECT_FALSE(nv->last_name.has_value());
  EXPECT_FALSE(nv->unit.has_value());
  EXPECT_FALSE(nv->status.has_value());
}

TEST_P(MemberReaderTest, ReadsRefuseDenialsAndDecisionsForOtherCapabilities) {
  const Decision deny = DecideFor("officer", aldridge_, "member.view", aldershot_);
  ASSERT_FALSE(deny.allow);
  auto v = InRead([&](store::Tx& tx) { return ViewMember(tx, deny, env_.tree_, a1_, Now()); });
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), StatusCode::kPermissionDenied);

  // An allow for phonebank.call is not an allow to view a member.
  const Decision call = DecideFor("caller", aldershot_, "phonebank.call", aldershot_);
  ASSERT_TRUE(call.allow);
  auto c = InRead([&](store::Tx& tx) { return ViewMember(tx, call, env_.tree_, a1_, Now()); });
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), StatusCode::kPermissionDenied);

  const Decision officer = DecideFor("officer", aldershot_, "member.view", aldershot_);
  auto contact =
      InRead([&](store::Tx& tx) { return ViewContact(tx, officer, *env_.sealer_, a1_); });
  ASSERT_FALSE(contact);
  EXPECT_EQ(contact.error().code(), StatusCode::kPermissionDenied);
}

TEST_P(MemberReaderTest, ContactViewOpensSealedContactsForPrivilegedRoles) {
  const Decision d = DecideFor("membership_admin", aldershot_, "member.contact.view", aldershot_);
  ASSERT_TRUE(d.allow) << d.reason();
  auto c = InRead([&](store::Tx& tx) { return ViewContact(tx, d, *env_.sealer_, a2_); });
  ASSERT_TRUE(c) << c.error().ToString();
  ASSERT_EQ(c->points.size(), 1u);
  EXPECT_EQ(c->points[0].kind, "email");
  EXPECT_EQ(c->points[0].value, "a2@example.org");
  auto missing =
      InRead([&](store::Tx& tx) { return ViewContact(tx, d, *env_.sealer_, MemberId(999999)); });
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
}

TEST_P(MemberReaderTest, SearchStaysInsideTheScopeAndPages) {
  const Decision d = DecideFor("officer", aldershot_, "member.search", aldershot_);
  ASSERT_TRUE(d.allow);
  SearchQuery q{aldershot_, "", "", 1, 2};
  auto p1 = InRead([&](store::Tx& tx) {
    return SearchMembers(tx, d, env_.tree_, q, policy_.search_page_max, Now());
  });
  ASSERT_TRUE(p1) << p1.error().ToString();
  ASSERT_EQ(p1->members.size(), 2u);
  EXPECT_TRUE(p1->more);
  q.page = 2;
  auto p2 = InRead([&](store::Tx& tx) {
    return SearchMembers(tx, d, env_.tree_, q, policy_.search_page_max, Now());
  });
  ASSERT_TRUE(p2);
  ASSERT_EQ(p2->members.size(), 1u);
  EXPECT_FALSE(p2->more);
  EXPECT_EQ(p2->members[0].id, a3_);

  // "lov" matches Lovelace and Lovell in Aldershot, never Lovelock in Aldridge.
  SearchQuery byname{aldershot_, "LOV", "", 1, 50};
  auto named = InRead([&](store::Tx& tx) {
    return SearchMembers(tx, d, env_.tree_, byname, policy_.search_page_max, Now());
  });
  ASSERT_TRUE(named);
  ASSERT_EQ(named->members.size(), 2u);
  for (const auto& m : named->members) EXPECT_NE(m.id, b1_);

  // A regional grant searching the region sees both constituencies.
  const Decision region = DecideFor("staff", south_east_, "member.search", south_east_);
  ASSERT_TRUE(region.allow);
  SearchQuery wide{south_east_, "lov", "current", 1, 50};
  auto w = InRead([&](store::Tx& tx) {
    return SearchMembers(tx, region, env_.tree_, wide, policy_.search_page_max, Now());
  });
  ASSERT_TRUE(w);
  ASSERT_EQ(w->members.size(), 1u);  // Lovell is lapsed; Lovelock is in the West Midlands
  EXPECT_EQ(w->members[0].id, a1_);
}

TEST_P(MemberReaderTest, SearchRejectsBadPagesStatusesAndWildcards) {
  const Decision d = DecideFor("officer", aldershot_, "member.search", aldershot_);
  auto run = [&](SearchQuery q) {
    return InRead([&](store::Tx& tx) {
      return SearchMembers(tx, d, env_.tree_, q, policy_.search_page_max, Now());
    });
  };
  auto big = run({aldershot_, "", "", 1, policy_.search_page_max + 1});
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message().find("page_max"), std::string::npos);
  EXPECT_FALSE(run({aldershot_, "", "", 0, 10}));
  auto status = run({aldershot_, "", "gone", 1, 10});
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message().find("gone"), std::string::npos);
  // '%' is matched literally, not as a wildcard.
  auto wild = run({aldershot_, "%", "", 1, 10});
  ASSERT_TRUE(wild);
  EXPECT_TRUE(wild->members.empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, MemberReaderTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::access
