#include "segment/segment.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "members/generate.h"
#include "members/register.h"
#include "members/testing_env.h"

namespace switchboard::segment {
namespace {

using members::testing::RegisterEnv;

// ---------------------------------------------------------------- ParseSegment

class ParseTest : public ::testing::Test {
 protected:
  void SetUp() override { env_.SetUp("sqlite"); }
  const members::OrgTree& tree() { return env_.tree_; }
  UnitId Code(const char* code) { return tree().FindByCode(code)->id; }
  RegisterEnv env_;
};

TEST_F(ParseTest, GoodJsonRoundTrips) {
  const std::string text = R"({"scope": "South East", "units": ["E14000530", "E14000531"],
      "statuses": ["current", "arrears"], "types": ["standard", "life"],
      "consents": ["phone", "email"], "suppressions_none": ["do_not_contact", "no_phone"],
      "joined_from": "2020-01-01", "joined_to": "2024-06-30", "lapsed_from": "2021-02-03",
      "not_contacted_since": "2026-10-01T00:00:00Z", "exclude_canaries": false})";
  // E14000531 (Aldridge-Brownhills) is in the West Midlands, not the South East.
  auto bad = ParseSegment(text, tree());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("segment.units[1]"), std::string::npos)
      << bad.error().ToString();

  std::string good = text;
  good.replace(good.find("\"South East\""), 12, "\"UK\"");
  auto s = ParseSegment(good, tree());
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(s->scope, tree().FindByCode("UK")->id);
  ASSERT_EQ(s->units.size(), 2u);
  EXPECT_EQ(s->units[0], Code("E14000530"));
  EXPECT_EQ(s->statuses, (std::vector<std::string>{"current", "arrears"}));
  EXPECT_EQ(s->types, (std::vector<std::string>{"standard", "life"}));
  EXPECT_EQ(s->consents_all, members::kConsentPhone | members::kConsentEmail);
  EXPECT_EQ(s->suppressions_none, members::kDoNotContact | members::kNoPhone);
  EXPECT_EQ(s->joined_from, *ParseDate("2020-01-01"));
  EXPECT_EQ(s->joined_to, *ParseDate("2024-06-30"));
  EXPECT_EQ(s->lapsed_from, *ParseDate("2021-02-03"));
  EXPECT_FALSE(s->lapsed_to);
  EXPECT_EQ(s->not_contacted_since, *ParseTimestamp("2026-10-01T00:00:00Z"));
  EXPECT_FALSE(s->exclude_canaries);

  const std::string json = SegmentToJson(*s, tree());
  auto again = ParseSegment(json, tree());
  ASSERT_TRUE(again) << again.error().ToString() << " in " << json;
  EXPECT_EQ(SegmentToJson(*again, tree()), json);
  EXPECT_EQ(again->units, s->units);
  EXPECT_EQ(again->not_contacted_since, s->not_contacted_since);
  EXPECT_EQ(again->joined_to, s->joined_to);
}

TEST_F(ParseTest, MinimalAndIdsAndSubSecondTimes) {
  const UnitId london = tree().FindByName("London")->id;
  auto s = ParseSegment(R"({"scope": )" + std::to_string(london.value()) + "}", tree());
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(s->scope, london);
  EXPECT_TRUE(s->exclude_canaries);
  EXPECT_TRUE(s->statuses.empty());
  Segment t;
  t.scope = london;
  t.not_contacted_since = *ParseTimestamp("2026-10-01T12:00:00Z") + 1234;
  auto back = ParseSegment(SegmentToJson(t, tree()), tree());
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(back->not_contacted_since, t.not_contacted_since);
}

TEST_F(ParseTest, BadFieldsNameTheField) {
  struct Case {
    std::string json;
    std::string field;
  };
  const std::vector<Case> cases = {
      {R"({"scope": "UK", "colour": "red"})", "segment.colour"},
      {R"({"units": ["E14000530"]})", "segment.scope"},
      {R"({"scope": "Atlantis"})", "segment.scope"},
      {R"({"scope": ["UK"]})", "segment.scope"},
      {R"({"scope": "London", "units": ["E14000530"]})", "segment.units[0]"},
      {R"({"scope": "UK", "units": ["E14000530", "nowhere"]})", "segment.units[1]"},
      {R"({"scope": "UK", "units": "E14000530"})", "segment.units"},
      {R"({"scope": "UK", "statuses": ["current", "zombie"]})", "segment.statuses[1]"},
      {R"({"scope": "UK", "statuses": "current"})", "segment.statuses"},
      {R"({"scope": "UK", "types": [""]})", "segment.types[0]"},
      {R"({"scope": "UK", "consents": ["telepathy"]})", "segment.consents[0]"},
      {R"({"scope": "UK", "suppressions_none": ["phone"]})", "segment.suppressions_none[0]"},
      {R"({"scope": "UK", "joined_from": "2020-02-30"})", "segment.joined_from"},
      {R"({"scope": "UK", "joined_to": "yesterday"})", "segment.joined_to"},
      {R"({"scope": "UK", "lapsed_from": 20200101})", "segment.lapsed_from"},
      {R"({"scope": "UK", "lapsed_from": "2021-01-01", "lapsed_to": "2020-01-01"})",
       "segment.lapsed_to"},
      {R"({"scope": "UK", "not_contacted_since": "2026-10-01T00:00:00"})",
       "segment.not_contacted_since"},
      {R"({"scope": "UK", "exclude_canaries": "no"})", "segment.exclude_canaries"},
      {R"([1, 2])", "segment:"},
      {R"({"scope": )", "segment:"},
  };
  for (const Case& c : cases) {
    auto s = ParseSegment(c.json, tree());
    ASSERT_FALSE(s) << c.json;
    EXPECT_EQ(s.error().code(), StatusCode::kInvalidArgument) << c.json;
    EXPECT_NE(s.error().message().find(c.field), std::string::npos)
        << c.json << " -> " << s.error().ToString();
  }
}

// ------------------------------------------------------------- AudienceIndex

class IndexTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    if (HasFatalFailure()) return;
    members::GenerateOptions opt;
    opt.count = 3000;
    opt.seed = 11;
    opt.batch_size = 1500;
    auto sum = members::GenerateMembers(*env_.store_, env_.tree_, *env_.sealer_, opt, clock_);
    ASSERT_TRUE(sum) << sum.error().ToString();
    env_.ReloadTree();
    clock_.Advance(kMicrosPerSecond);
    // Contact history: a quarter of the members, some several times, over 90 days.
    std::vector<std::int64_t> ids = Ids("SELECT id FROM members ORDER BY id");
    std::vector<std::pair<std::int64_t, Micros>> rows;
    for (size_t i = 0; i < ids.size(); i += 4) {
      for (int k = 1 + static_cast<int>(rng_() % 3); k > 0; --k)
        rows.emplace_back(ids[i], RandomAt());
    }
    Status st = env_.store_->Write([&](store::Tx& tx) -> Status {
      for (auto [member, at] : rows) {
        SB_RETURN_IF_ERROR(tx.Exec(kInsertContact, {member, at}).status());
      }
      return Status::Ok();
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  static constexpr const char* kInsertContact =
      "INSERT INTO contact_log (member_id, channel, campaign_id, outcome, at) VALUES ($1, "
      "'phone', NULL, 'answered', $2)";

  Micros Now() const { return clock_.Now(); }
  Micros RandomAt() { return Now() - static_cast<Micros>(rng_() % (90 * kMicrosPerDay)); }

  void Exec(const std::string& sql, std::initializer_list<store::Value> params = {}) {
    std::vector<store::Value> p(params);
    Status st = env_.store_->Write(
        [&](store::Tx& tx) { return tx.Exec(sql, store::Params(p.data(), p.size())).status(); });
    ASSERT_TRUE(st.ok()) << st.ToString() << " in " << sql;
  }
  void AddContact(std::int64_t member, Micros at) { Exec(kInsertContact, {member, at}); }

  std::vector<std::int64_t> Ids(const std::string& sql,
                                const std::vector<store::Value>& params = {}) {
    std::vector<std::int64_t> out;
    Status st = env_.store_->Read([&](store::Tx& tx) {
      out.clear();
      return tx.Query(sql, store::Params(params.data(), params.size()), [&](const store::Row& r) {
        out.push_back(r.Int(0));
        return true;
      });
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  // A random segment: scopes from the nation down to a branch, any mix of
  // conditions, some matching nobody.
  Segment RandomSegment() {
    const members::OrgTree& t = env_.tree_;
    Segment s;
    const auto regions = t.OfKind("region");
    const auto constituencies = t.OfKind("constituency");
    const auto branches = t.OfKind("branch");
    switch (rng_() % 6) {
      case 0:
        s.scope = t.root()->id;
        break;
      case 1:
      case 2:
      case 3:
        s.scope = regions[rng_() % regions.size()]->id;
        break;
      case 4:
        s.scope = constituencies[rng_() % constituencies.size()]->id;
        break;
      default:
        s.scope = branches[rng_() % branches.size()]->id;
    }
    if (rng_() % 4 == 0) {  // narrow to 1-3 units within the scope
      std::vector<UnitId> within;
      for (const members::Unit& u : t.units())
        if (t.IsWithin(u.id, s.scope) && u.id != s.scope) within.push_back(u.id);
      for (int k = 1 + static_cast<int>(rng_() % 3); k > 0 && !within.empty(); --k) {
        s.units.push_back(within[rng_() % within.size()]);
      }
    }
    for (const char* st : members::kStatuses)
      if (rng_() % 3 == 0) s.statuses.push_back(st);
    for (const char* ty : {"standard", "reduced", "young", "life", "honorary"})
      if (rng_() % 4 == 0) s.types.push_back(ty);
    if (rng_() % 2) s.consents_all = static_cast<std::uint32_t>(rng_() % 16);
    if (rng_() % 2) s.suppressions_none = static_cast<std::uint32_t>(rng_() % 128) & ~8u;
    const std::int64_t today = Now() / kMicrosPerDay;
    auto maybe_day = [&](std::optional<std::int64_t>& d, std::int64_t back) {
      if (rng_() % 3 == 0) d = today - static_cast<std::int64_t>(rng_() % back);
    };
    maybe_day(s.joined_from, 15000);
    maybe_day(s.joined_to, 8000);
    maybe_day(s.lapsed_from, 8000);
    maybe_day(s.lapsed_to, 4000);
    if (rng_() % 2) s.not_contacted_since = RandomAt();
    s.exclude_canaries = rng_() % 4 != 0;
    return s;
  }

  std::vector<std::int64_t> Reference(const Segment& s) {
    SqlQuery q = SegmentPageSql(s, env_.tree_, MemberId(0), 1 << 30);
    return Ids(q.sql, q.params);
  }

  // Count, Page and Contains against plain SQL, for `n` random segments.
  void ExpectExact(const AudienceIndex& index, int n) {
    const std::vector<std::int64_t> all = Ids("SELECT id FROM members ORDER BY id");
    int nonempty = 0;
    for (int i = 0; i < n; ++i) {
      const Segment s = RandomSegment();
      const std::string what = SegmentToJson(s, env_.tree_);
      const std::vector<std::int64_t> want = Reference(s);
      SqlQuery cq = SegmentCountSql(s, env_.tree_);
      ASSERT_EQ(Ids(cq.sql, cq.params), std::vector<std::int64_t>{std::int64_t(want.size())});
      ASSERT_EQ(index.Count(s), want.size()) << what;
      nonempty += !want.empty();
      // Paging in random page sizes gives exactly the list, in order.
      std::vector<std::int64_t> got;
      MemberId after(0);
      for (;;) {
        const int limit = 1 + static_cast<int>(rng_() % 40);
        auto page = index.Page(s, after, limit);
        ASSERT_LE(page.size(), static_cast<size_t>(limit));
        for (MemberId m : page) got.push_back(m.value());
        if (static_cast<int>(page.size()) < limit) break;
        after = page.back();
      }
      ASSERT_EQ(got, want) << what;
      if (!want.empty()) {  // a page starting in the middle
        const size_t k = rng_() % want.size();
        auto page = index.Page(s, MemberId(want[k]), 5);
        std::vector<std::int64_t> tail(want.begin() + k + 1,
                                       want.begin() + std::min(want.size(), k + 6));
        std::vector<std::int64_t> ids;
        for (MemberId m : page) ids.push_back(m.value());
        ASSERT_EQ(ids, tail) << what;
      }
      // Contains for every listed member and a sample of the others.
      for (std::int64_t id : want) ASSERT_TRUE(index.Contains(s, MemberId(id))) << what;
      for (int k = 0; k < 60; ++k) {
        const std::int64_t id = all[rng_() % all.size()];
        const bool in = std::binary_search(want.begin(), want.end(), id);
        ASSERT_EQ(index.Contains(s, MemberId(id)), in) << what << " member " << id;
      }
      ASSERT_FALSE(index.Contains(s, MemberId(0)));
      ASSERT_FALSE(index.Contains(s, MemberId(all.back() + 1000)));
    }
    EXPECT_GT(nonempty, n / 4);  // the segments are not all trivially empty
  }

  RegisterEnv env_;
  ManualClock clock_{*ParseTimestamp("2026-11-24T12:00:00Z")};
  std::mt19937_64 rng_{20261124};
};

TEST_P(IndexTest, CountPageContainsEqualSql) {
  auto index = AudienceIndex::Build(*env_.store_, env_.tree_);
  ASSERT_TRUE(index) << index.error().ToString();
  EXPECT_EQ((*index)->size(), 3000u);
  EXPECT_GT((*index)->memory_bytes(), 3000u * 28);
  ExpectExact(**index, 150);
}

TEST_P(IndexTest, HandPickedSegments) {
  auto index = AudienceIndex::Build(*env_.store_, env_.tree_);
  ASSERT_TRUE(index) << index.error().ToString();
  const AudienceIndex& x = **index;
  Segment s;
  s.scope = env_.tree_.root()->id;
  s.exclude_canaries = false;
  EXPECT_EQ(x.Count(s), 3000u);
  s.exclude_canaries = true;
  EXPECT_EQ(x.Count(s),
            static_cast<std::uint64_t>(3000 - env_.Count("SELECT COUNT(*) FROM canaries")));
  s.statuses = {"no-such-status"};
  EXPECT_EQ(x.Count(s), 0u);
  EXPECT_TRUE(x.Page(s, MemberId(0), 10).empty());
  s.statuses = {};
  s.scope = UnitId(999999);  // not in the tree
  EXPECT_EQ(x.Count(s), 0u);
  s.scope = env_.tree_.root()->id;
  s.joined_from = 20000;
  s.joined_to = 10000;  // empty range
  EXPECT_EQ(x.Count(s), 0u);
  EXPECT_TRUE(x.Page(s, MemberId(0), 0).empty());
}

TEST_P(IndexTest, StaysExactThroughChangesAndSync) {
  auto built = AudienceIndex::Build(*env_.store_, env_.tree_);
  ASSERT_TRUE(built) << built.error().ToString();
  AudienceIndex& index = **built;
  ASSERT_TRUE(index.Sync(*env_.store_).ok());  // nothing changed: a no-op
  ExpectExact(index, 30);

  std::vector<std::int64_t> ids = Ids("SELECT id FROM members ORDER BY id");
  const auto constituencies = env_.tree_.OfKind("constituency");
  auto pick = [&] { return ids[rng_() % ids.size()]; };
  for (int round = 0; round < 3; ++round) {
    clock_.Advance(kMicrosPerSecond);
    const Micros now = Now();
    for (int k = 0; k < 20; ++k) {
      Exec("UPDATE members SET status = 'lapsed', lapsed_on = $2, updated_at = $3 WHERE id = $1",
           {pick(), now / kMicrosPerDay - 3, now});
      Exec("UPDATE members SET consents = consents & 13, updated_at = $2 WHERE id = $1",
           {pick(), now});  // phone consent withdrawn
      Exec("UPDATE members SET suppressions = suppressions | 33, updated_at = $2 WHERE id = $1",
           {pick(), now});  // do not contact, no phone
      const members::Unit* c = constituencies[rng_() % constituencies.size()];
      const auto kids = env_.tree_.Children(c->id);
      const store::Value branch =
          kids.empty() || rng_() % 3 == 0 ? store::Value() : store::Value(kids[0]->id.value());
      Exec(
          "UPDATE members SET unit_id = $2, branch_id = $3, membership_type = 'honorary', "
          "updated_at = $4 WHERE id = $1",
          {pick(), c->id.value(), branch, now});
      AddContact(pick(), now - static_cast<Micros>(rng_() % (10 * kMicrosPerDay)));
    }
    // New members through the register, one of them a canary.
    for (int k = 0; k < 10; ++k) {
      members::MemberRecord r;
      r.source = "test";
      r.external_id = "r" + std::to_string(round) + "-" + std::to_string(k);
      r.unit = constituencies[rng_() % constituencies.size()]->id;
      r.first_name = "A";
      r.last_name = "B";
      r.status = k % 2 ? "current" : "arrears";
      r.membership_type = k % 3 ? "standard" : "young";
      r.joined_on = now / kMicrosPerDay - k * 100;
      r.consents = static_cast<std::uint32_t>(k % 16);
      r.suppressions = k == 7 ? std::uint32_t{members::kNoPhone} : 0u;
      r.content_hash = r.external_id;
      Status st = env_.store_->Write([&](store::Tx& tx) -> Status {
        SB_ASSIGN_OR_RETURN(auto res, members::UpsertMember(tx, r, now, "test"));
        if (k == 0) SB_RETURN_IF_ERROR(members::PlantCanary(tx, res.id, now, "test"));
        return Status::Ok();
      });
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
    ASSERT_TRUE(index.Sync(*env_.store_).ok());
    ExpectExact(index, 40);
    // Changes stamped with the same time as the last Sync's latest row are
    // still seen (the boundary is re-read).
    const std::int64_t same = pick();
    Exec("UPDATE members SET status = 'suspended', updated_at = $2 WHERE id = $1", {same, now});
    ASSERT_TRUE(index.Sync(*env_.store_).ok());
    Segment s;
    s.scope = env_.tree_.root()->id;
    s.statuses = {"suspended"};
    s.exclude_canaries = false;
    EXPECT_TRUE(index.Contains(s, MemberId(same)));
    ExpectExact(index, 20);
  }
  EXPECT_EQ(index.size(), 3030u);
}

TEST_P(IndexTest, QueriesRunWhileSyncing) {
  auto built = AudienceIndex::Build(*env_.store_, env_.tree_);
  ASSERT_TRUE(built) << built.error().ToString();
  AudienceIndex& index = **built;
  Segment s;
  s.scope = env_.tree_.root()->id;
  s.consents_all = members::kConsentPhone;
  s.not_contacted_since = Now() - 30 * kMicrosPerDay;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> queries{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        const std::uint64_t n = index.Count(s);
        auto page = index.Page(s, MemberId(0), 20);
        EXPECT_LE(page.size(), n);
        queries.fetch_add(1);
      }
    });
  }
  std::vector<std::int64_t> ids = Ids("SELECT id FROM members ORDER BY id");
  for (int k = 0; k < 20; ++k) {
    clock_.Advance(kMicrosPerSecond);
    Exec(
        "UPDATE members SET consents = CASE WHEN (consents & 2) = 2 THEN consents - 2 ELSE "
        "consents + 2 END, updated_at = $2 WHERE id = $1",
        {ids[rng_() % ids.size()], Now()});
    ASSERT_TRUE(index.Sync(*env_.store_).ok());
  }
  while (queries.load() < 10) std::this_thread::yield();
  stop = true;
  for (auto& t : readers) t.join();
  SqlQuery q = SegmentCountSql(s, env_.tree_);
  EXPECT_EQ(Ids(q.sql, q.params), std::vector<std::int64_t>{std::int64_t(index.Count(s))});
}

INSTANTIATE_TEST_SUITE_P(Backends, IndexTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::segment
