// P4: audience queries. "Current members of one region with phone consent,
// not contacted in the last 30 days" (not canaries): the count, and the first
// page of 50 ids, from the AudienceIndex; baseline in the same run: the same
// COUNT(*) as one SQL query (segment::SegmentCountSql) on the SQLite database
// the index was built from, with its indexes (members_unit,
// contact_log_member; ANALYZEd), plus the same query narrowed to the
// indexed unit_id column only (what a hand-tuned query would do).
//
// Sizes: SB_SEGMENT_MEMBERS, comma-separated (default 1000000; the P4 figures
// for 10 M use SB_SEGMENT_MEMBERS=1000000,10000000). For each size the
// benchmark writes a fresh SQLite database under SB_BENCH_DIR (default /tmp)
// once: the UK tree, three branches per constituency, N members and their
// contact history, then builds the index from it (its time is reported as the
// counter build_s) and deletes everything afterwards.
//
// Members are inserted with plain SQL, not through `switchboard generate`:
// the generator seals contact points and writes contact_points and audit
// rows, which the audience query never reads and which would take ~6 minutes
// for 10 M members. The columns the index reads follow the generator's
// distributions (members/generate.cc): uneven constituency sizes, 85 % in a
// branch, statuses 78/12/5/1/4 %, phone consent 62 %, join dates skewed
// recent, suppressions ~4 %; 30 % of members have 1-2 contacts in the last
// 180 days. updated_at advances every 20,000 members, as an import stamps it.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "members/org_tree.h"
#include "members/register.h"
#include "schema/migrations.h"
#include "segment/segment.h"
#include "store/sqlite/sqlite_store.h"

namespace switchboard::segment {
namespace {

class Rng {  // splitmix64, as the generator
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double Unit() { return static_cast<double>(Next() >> 11) / 0x1.0p53; }
  bool Chance(double p) { return Unit() < p; }
  std::uint64_t Below(std::uint64_t n) { return Next() % n; }

 private:
  std::uint64_t s_;
};

std::string ReadSource(const std::string& rel) {
  const char* dir = std::getenv("SB_SOURCE_DIR");
#ifdef SB_SOURCE_DIR_DEFAULT
  if (!dir) dir = SB_SOURCE_DIR_DEFAULT;
#endif
  std::ifstream in(std::string(dir ? dir : ".") + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Check(const Status& st, const char* what) {
  if (!st.ok()) {
    std::fprintf(stderr, "segment_bench: %s: %s\n", what, st.ToString().c_str());
    std::exit(1);
  }
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

struct Dataset {
  std::uint64_t members = 0;
  std::string dir;
  std::unique_ptr<store::Store> store;
  members::OrgTree tree;
  std::unique_ptr<AudienceIndex> index;
  Segment segment;
  double load_s = 0, build_s = 0;
  std::uint64_t expected = 0;
  bool updated_at_index = false;

  ~Dataset() {
    index.reset();
    store.reset();
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
};

const Micros kNow = 1795521600LL * kMicrosPerSecond;  // 2026-11-24T12:00:00Z
// Like `switchboard import`, every 20,000 members share one updated_at.
constexpr std::uint64_t kImportBatch = 20000;

std::unique_ptr<Dataset> MakeDataset(std::uint64_t n) {
  auto d = std::make_unique<Dataset>();
  d->members = n;
  const char* base = std::getenv("SB_BENCH_DIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sb-segment-XXXXXX";
  d->dir = mkdtemp(tmpl.data());
  store::StoreOptions o;
  o.migrations = schema::AllMigrations();
  o.durable = false;
  d->store = std::move(store::OpenSqliteStore(d->dir + "/bench.db", o).value());
  store::Store& st = *d->store;
  const auto t0 = std::chrono::steady_clock::now();

  // The UK tree and three synthetic branches per constituency.
  auto specs = members::ParseConstituencyCsv(ReadSource("data/constituencies.csv"));
  Check(specs.status(), "reading data/constituencies.csv");
  std::vector<members::UnitSpec> all = *specs;
  for (const members::UnitSpec& u : *specs) {
    if (u.kind != "constituency") continue;
    for (int b = 1; b <= 3; ++b) {
      all.push_back({u.code + "-B" + std::to_string(b), u.name + " branch " + std::to_string(b),
                     "branch", u.code, true});
    }
  }
  Check(st.WriteNow([&](store::Tx& tx) { return members::SaveUnits(tx, all).status(); }),
        "saving units");
  Check(st.Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(d->tree, members::OrgTree::Load(tx));
    return Status::Ok();
  }),
        "loading the tree");
  const auto constituencies = d->tree.OfKind("constituency");
  std::vector<double> weights(constituencies.size());
  {
    Rng wr(0xC0FFEE);
    double total = 0;
    for (double& w : weights) total += (w = 0.4 + wr.Unit() * 1.6);
    double acc = 0;
    for (double& w : weights) w = (acc += w / total);
  }
  std::vector<std::vector<UnitId>> branches(constituencies.size());
  for (size_t i = 0; i < constituencies.size(); ++i) {
    for (const members::Unit* b : d->tree.Children(constituencies[i]->id)) {
      branches[i].push_back(b->id);
    }
  }
  std::vector<bool> has_canary(constituencies.size());
  const std::int64_t today = kNow / kMicrosPerDay;
  const std::uint64_t batch = 100000;
  for (std::uint64_t from = 0; from < n; from += batch) {
    const std::uint64_t to = std::min(n, from + batch);
    Check(st.WriteNow([&](store::Tx& tx) -> Status {
      for (std::uint64_t i = from; i < to; ++i) {
        Rng r(i * 0x9E3779B97F4A7C15ULL + 1);
        size_t c = static_cast<size_t>(std::lower_bound(weights.begin(), weights.end(), r.Unit()) -
                                       weights.begin());
        c = std::min(c, constituencies.size() - 1);
        // 0 is stored as NULL (NULLIF below): no branch, not lapsed.
        const std::int64_t branch = r.Chance(0.85) ? branches[c][r.Below(3)].value() : 0;
        const double u = r.Unit();
        const std::int64_t ago = static_cast<std::int64_t>(u * u * 40 * 365.25) + 1;
        const double s = r.Unit();
        const char* status = s < 0.78   ? "current"
                             : s < 0.90 ? "lapsed"
                             : s < 0.95 ? "arrears"
                             : s < 0.96 ? "suspended"
                                        : "resigned";
        std::int64_t lapsed = 0;
        if (s >= 0.78 && (s < 0.90 || s >= 0.96)) {
          lapsed = today - ago + static_cast<std::int64_t>(r.Unit() * static_cast<double>(ago));
        }
        const double t = r.Unit();
        const char* type = t < 0.70   ? "standard"
                           : t < 0.85 ? "reduced"
                           : t < 0.95 ? "young"
                                      : "life";
        std::int64_t consents = 0, supp = 0;
        if (r.Chance(0.72)) consents |= members::kConsentEmail;
        if (r.Chance(0.62)) consents |= members::kConsentPhone;
        if (r.Chance(0.30)) consents |= members::kConsentSms;
        if (r.Chance(0.45)) consents |= members::kConsentCandidates;
        if (r.Chance(0.01)) supp |= members::kDoNotContact;
        if (r.Chance(0.004)) supp |= members::kDeceased;
        if (r.Chance(0.01)) supp |= members::kMoved;
        if (r.Chance(0.02)) supp |= members::kNoPhone;
        SB_RETURN_IF_ERROR(tx.Exec(
            "INSERT INTO members (id, source, external_id, unit_id, branch_id, first_name, "
            "last_name, status, membership_type, joined_on, lapsed_on, consents, suppressions, "
            "content_hash, created_at, updated_at) VALUES ($1, 'bench', $2, $3, NULLIF($4, 0), "
            "'A', 'B', $5, $6, $7, NULLIF($8, 0), $9, $10, $11, $12, $13)",
            {static_cast<std::int64_t>(i + 1), std::to_string(i), constituencies[c]->id.value(),
             branch, status, type, today - ago, lapsed, consents, supp, store::Value::Bytes("h"),
             kNow, kNow + static_cast<Micros>(i / kImportBatch)}));
        if (!has_canary[c]) {
          has_canary[c] = true;
          SB_RETURN_IF_ERROR(members::PlantCanary(tx, MemberId(i + 1), kNow, "unit"));
        }
        if (r.Chance(0.30)) {
          for (int k = 1 + static_cast<int>(r.Below(2)); k > 0; --k) {
            const Micros at = kNow - static_cast<Micros>(r.Below(180 * kMicrosPerDay));
            SB_RETURN_IF_ERROR(tx.Exec(
                "INSERT INTO contact_log (member_id, channel, outcome, at) VALUES ($1, 'phone', "
                "'answered', $2)",
                {static_cast<std::int64_t>(i + 1), at}));
          }
        }
      }
      return Status::Ok();
    }),
          "inserting members");
  }
  Check(st.WriteNow([](store::Tx& tx) { return tx.Exec("ANALYZE").status(); }), "ANALYZE");
  d->load_s = Seconds(t0);

  const auto t1 = std::chrono::steady_clock::now();
  auto index = AudienceIndex::Build(st, d->tree);
  Check(index.status(), "building the index");
  d->index = std::move(*index);
  d->build_s = Seconds(t1);

  d->segment.scope = d->tree.FindByName("London")->id;
  d->segment.statuses = {"current"};
  d->segment.consents_all = members::kConsentPhone;
  d->segment.not_contacted_since = kNow - 30 * kMicrosPerDay;
  d->expected = d->index->Count(d->segment);
  std::fprintf(stderr,
               "segment_bench: %llu members loaded in %.1f s, index built in %.1f s (%.0f MiB), "
               "audience %llu\n",
               static_cast<unsigned long long>(n), d->load_s, d->build_s,
               static_cast<double>(d->index->memory_bytes()) / (1 << 20),
               static_cast<unsigned long long>(d->expected));
  return d;
}

// The dataset of the benchmark running now. Benchmarks run in registration
// order, each size's together, so one dataset is alive at a time.
std::unique_ptr<Dataset> g_owned;
Dataset* g_data = nullptr;

void Use(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  if (!g_owned || g_owned->members != n) {
    g_owned.reset();
    g_owned = MakeDataset(n);
  }
  g_data = g_owned.get();
}

void Counters(benchmark::State& state) {
  state.counters["members"] = static_cast<double>(g_data->members);
  state.counters["audience"] = static_cast<double>(g_data->expected);
  state.counters["build_s"] = g_data->build_s;
  state.counters["index_MiB"] = static_cast<double>(g_data->index->memory_bytes()) / (1 << 20);
}

void BM_IndexCount(benchmark::State& state) {
  Use(state);
  for (auto _ : state) {
    const std::uint64_t n = g_data->index->Count(g_data->segment);
    if (n != g_data->expected) state.SkipWithError("count changed");
    benchmark::DoNotOptimize(n);
  }
  Counters(state);
}

void BM_IndexFirstPage(benchmark::State& state) {
  Use(state);
  for (auto _ : state) {
    auto page = g_data->index->Page(g_data->segment, MemberId(0), 50);
    if (page.size() != std::min<std::uint64_t>(50, g_data->expected)) {
      state.SkipWithError("short page");
    }
    benchmark::DoNotOptimize(page);
  }
  Counters(state);
}

void RunSqlCount(benchmark::State& state, const SqlQuery& q) {
  for (auto _ : state) {
    std::int64_t n = -1;
    Check(g_data->store->Read([&](store::Tx& tx) {
      return tx.Query(q.sql, store::Params(q.params.data(), q.params.size()),
                      [&](const store::Row& r) {
                        n = r.Int(0);
                        return false;
                      });
    }),
          "baseline query");
    if (static_cast<std::uint64_t>(n) != g_data->expected) state.SkipWithError("SQL disagrees");
  }
  state.counters["members"] = static_cast<double>(g_data->members);
}

// Sync when nothing changed: re-reads the last import batch (the rows that
// share the latest updated_at) and the canaries, and applies nothing. The
// schema has no index on members.updated_at, so finding those rows is a scan
// of the table.
void BM_SyncUnchanged(benchmark::State& state) {
  Use(state);
  for (auto _ : state) Check(g_data->index->Sync(*g_data->store), "sync");
  if (g_data->index->Count(g_data->segment) != g_data->expected) state.SkipWithError("changed");
  state.counters["members"] = static_cast<double>(g_data->members);
}

// The same with an index on members(updated_at), created here in the
// benchmark's own database only, to measure what a migration adding it would
// buy.
void BM_SyncUnchangedUpdatedAtIndex(benchmark::State& state) {
  Use(state);
  if (!g_data->updated_at_index) {
    Check(g_data->store->WriteNow([](store::Tx& tx) {
      return tx.Exec("CREATE INDEX bench_members_updated ON members(updated_at)").status();
    }),
          "creating the index");
    g_data->updated_at_index = true;
  }
  for (auto _ : state) Check(g_data->index->Sync(*g_data->store), "sync");
  state.counters["members"] = static_cast<double>(g_data->members);
}

// Baseline: the segment's own SQL (unit_id or branch_id in the region).
void BM_SqlCount(benchmark::State& state) {
  Use(state);
  RunSqlCount(state, SegmentCountSql(g_data->segment, g_data->tree));
}

// Baseline, hand-tuned: in this data every branch lies in its member's
// constituency, so "unit_id in the region" alone is equivalent and can use
// the members_unit index.
void BM_SqlCountUnitIndexOnly(benchmark::State& state) {
  Use(state);
  SqlQuery q = SegmentCountSql(g_data->segment, g_data->tree);
  const size_t from = q.sql.find(" OR m.branch_id IN (");
  const size_t to = q.sql.find("))", from);
  q.sql.erase(from, to + 1 - from);  // keeps one ')' closing the group
  RunSqlCount(state, q);
}

std::vector<std::uint64_t> Sizes() {
  const char* env = std::getenv("SB_SEGMENT_MEMBERS");
  std::string text = env && *env ? env : "1000000";
  std::vector<std::uint64_t> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    if (!item.empty()) out.push_back(std::stoull(item));
  }
  return out;
}

}  // namespace
}  // namespace switchboard::segment

int main(int argc, char** argv) {
  using namespace switchboard::segment;
  benchmark::Initialize(&argc, argv);
  for (std::uint64_t n : Sizes()) {
    const auto size = static_cast<std::int64_t>(n);
    benchmark::RegisterBenchmark("BM_IndexCount", BM_IndexCount)
        ->Arg(size)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("BM_IndexFirstPage", BM_IndexFirstPage)
        ->Arg(size)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("BM_SyncUnchanged", BM_SyncUnchanged)
        ->Arg(size)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("BM_SyncUnchangedUpdatedAtIndex", BM_SyncUnchangedUpdatedAtIndex)
        ->Arg(size)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("BM_SqlCount", BM_SqlCount)
        ->Arg(size)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(2.0);
    benchmark::RegisterBenchmark("BM_SqlCountUnitIndexOnly", BM_SqlCountUnitIndexOnly)
        ->Arg(size)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(2.0);
  }
  benchmark::RunSpecifiedBenchmarks();
  g_owned.reset();
  benchmark::Shutdown();
  return 0;
}
