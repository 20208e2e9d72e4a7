// P1: access decisions in process, warm. A local officer with three grants
// (one covering, one revoked, one elsewhere) asks to view a member in scope;
// and the deny path (out of scope). Target: median <= 0.5 us, >= 2 M/s per core.
#include <benchmark/benchmark.h>

#include <fstream>
#include <map>
#include <sstream>

#include "access/policy/decision.h"
#include "access/policy/policy.h"
#include "core/check.h"

namespace switchboard::access {
namespace {

struct World {
  Policy policy;
  members::OrgTree tree;
  std::vector<Grant> grants;
  Principal who;
  UnitId in_scope, out_of_scope;

  World() {
    policy = std::move(ParsePolicy(DefaultPolicyToml(), "policy").value());
    std::ifstream in(std::string(SB_SOURCE_DIR_DEFAULT) + "/data/constituencies.csv");
    std::stringstream ss;
    ss << in.rdbuf();
    auto specs = members::ParseConstituencyCsv(ss.str()).value();
    std::vector<members::Unit> units;
    std::map<std::string, std::int64_t> ids;
    for (const auto& s : specs) {
      const std::int64_t id = static_cast<std::int64_t>(units.size()) + 1;
      ids[s.code] = id;
      units.push_back({UnitId(id), s.code, s.name, s.kind,
                       s.parent_code.empty() ? UnitId() : UnitId(ids.at(s.parent_code))});
    }
    tree = std::move(members::OrgTree::Build(std::move(units)).value());
    in_scope = tree.FindByCode("E14000530")->id;
    out_of_scope = tree.FindByCode("E14000639")->id;
    const Micros t0 = *ParseTimestamp("2026-01-01T00:00:00Z");
    const Micros t1 = *ParseTimestamp("2027-01-01T00:00:00Z");
    grants = {
        {GrantId(1), AccountId(10), "officer", tree.FindByCode("E14000531")->id, "cover", t0, t1,
         AccountId(1), "r", "direct", 0, t0 + 1, true},
        {GrantId(2), AccountId(10), "caller", tree.FindByCode("S14000001")->id, "survey", t0, t1,
         AccountId(1), "r", "campaign:3", 0, 0, true},
        {GrantId(3), AccountId(10), "officer", in_scope, "local organising", t0, t1, AccountId(1),
         "r", "direct", 0, 0, true},
    };
    who.account = AccountId(10);
    who.grants = grants;
  }
};

World& GetWorld() {
  static World w;
  return w;
}

void BM_DecideAllow(benchmark::State& state) {
  World& w = GetWorld();
  const Micros now = *ParseTimestamp("2026-06-01T12:00:00Z");
  Target t{w.in_scope};
  for (auto _ : state) {
    Decision d = Decide(w.policy, w.tree, w.who, "member.view", t, now);
    SB_CHECK(d.allow);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecideAllow);

void BM_DecideDenyOutOfScope(benchmark::State& state) {
  World& w = GetWorld();
  const Micros now = *ParseTimestamp("2026-06-01T12:00:00Z");
  Target t{w.out_of_scope};
  for (auto _ : state) {
    Decision d = Decide(w.policy, w.tree, w.who, "member.view", t, now);
    SB_CHECK(!d.allow);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecideDenyOutOfScope);

}  // namespace
}  // namespace switchboard::access

BENCHMARK_MAIN();
