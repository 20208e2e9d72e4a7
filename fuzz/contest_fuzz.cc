// Fuzzes the contest rulebook (contest/rulebook.h): the TOML file through
// ParseRulebook, the qualification expression, Qualify and RulebookJson. The
// first byte picks what the rest is:
//   0  a whole rulebook file
//   1  the example rulebook, then the rest (a key repeated is a duplicate;
//      new tables reach the validation behind a valid file)
//   2  the example rulebook with the rest as its qualification expression
// Besides not crashing:
//   - every refusal is kInvalidArgument naming the file;
//   - an accepted rulebook keeps its own rules (timeline in order, limits,
//     leave for known candidates), its JSON parses, and Qualify, given
//     nominators the rulebook knows, answers with each clause consistent
//     (met exactly when have >= need) — and refuses an unknown affiliate.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "contest/rulebook.h"

namespace sb = switchboard;
namespace ct = switchboard::contest;

namespace {

constexpr const char* kSource = "contest.toml";

void Require(bool ok, const char* what, const std::string& detail = "") {
  if (!ok) {
    std::fprintf(stderr, "contest_fuzz: %s\n%s\n", what, detail.substr(0, 2000).c_str());
    std::abort();
  }
}

void RequireNamed(const sb::Status& st) {
  Require(st.code() == sb::StatusCode::kInvalidArgument, "a refusal that is not InvalidArgument",
          st.ToString());
  Require(st.message().rfind(std::string(kSource) + ":", 0) == 0,
          "a refusal that does not name the file", st.message());
}

void CheckRulebook(const ct::Rulebook& rb) {
  const ct::Timeline& t = rb.timeline;
  Require(t.announced.at <= t.nominations_open.at &&
              t.nominations_open.at < t.nominations_close.at &&
              t.nominations_close.at <= t.data_release.at &&
              t.data_release.at <= t.ballot_open.at && t.ballot_open.at < t.ballot_close.at,
          "a timeline out of order");
  Require(!rb.candidates.empty() && rb.candidates.size() <= ct::kMaxCandidates,
          "a candidate count out of range");
  Require(rb.expr != nullptr, "an accepted rulebook without its expression");
  Require(rb.word_limit >= 1 && rb.word_limit <= 1000, "a word limit out of range");
  Require(rb.counting == "words-v1", "an unknown counting method");
  Require(rb.sha256.size() == 64, "a rulebook without its hash");
  Require(!rb.electorate_statuses.empty(), "an electorate without statuses");
  for (const ct::LeaveRecord& l : rb.leave) {
    Require(rb.FindCandidate(l.candidate) != nullptr, "leave for an unknown candidate",
            l.candidate);
    Require(l.until > l.from, "leave ending before it starts");
  }
  for (const ct::Body& b : rb.bodies) {
    if (b.kind == ct::BodyKind::kPeople) Require(b.size >= 1, "a body of people without a size");
    if (b.kind == ct::BodyKind::kUnits) Require(!b.unit_kind.empty(), "units without a kind");
    if (b.kind == ct::BodyKind::kAffiliates) {
      Require(!b.affiliates.empty() && b.affiliates.size() <= ct::kMaxAffiliates,
              "an affiliate count out of range");
    }
  }
  const std::string json = ct::RulebookJson(rb);
  Require(nlohmann::json::accept(json), "RulebookJson that does not parse", json);
  // PhaseAt agrees with NeutralityAt at each boundary.
  for (sb::Micros at : {t.announced.at, t.ballot_close.at, t.ballot_close.at - 1}) {
    const ct::Phase p = rb.PhaseAt(at);
    Require(rb.NeutralityAt(at) == (p != ct::Phase::kBefore && p != ct::Phase::kOver),
            "neutrality and phase disagree");
  }
}

// Nominations from the rulebook's own lists, `n` of each body (as many as
// the body allows), and 10 units per units body.
void CheckQualify(const ct::Rulebook& rb, size_t n) {
  ct::Nominations noms;
  std::map<std::string, std::int64_t, std::less<>> units;
  for (const ct::Body& b : rb.bodies) {
    auto& v = noms[b.id];
    switch (b.kind) {
      case ct::BodyKind::kPeople:
        for (size_t i = 0; i < n && static_cast<std::int64_t>(i) < b.size; ++i) {
          v.push_back("p" + std::to_string(i));
        }
        break;
      case ct::BodyKind::kUnits:
        units[b.id] = 10;
        for (size_t i = 0; i < n && i < 10; ++i) v.push_back("u" + std::to_string(i));
        break;
      case ct::BodyKind::kAffiliates:
        for (size_t i = 0; i < n && i < b.affiliates.size(); ++i) {
          v.push_back(b.affiliates[i].id);
          v.push_back(b.affiliates[i].id);  // a duplicate counts once
        }
        break;
    }
  }
  auto q = ct::Qualify(rb, noms, units);
  Require(q.has_value(), "Qualify refused known nominators", q.error().ToString());
  Require(!q->clauses.empty(), "no clauses");
  for (const ct::Clause& c : q->clauses) {
    Require(c.have >= 0 && c.need >= 0, "a negative count", c.text);
    if (c.met) Require(c.have >= c.need, "a clause met below its need", c.text);
    if (!c.met && c.of != 0) Require(c.have < c.need, "a clause unmet at its need", c.text);
  }
  Require(q->explanation.rfind(q->qualified ? "qualified: " : "not qualified: ", 0) == 0,
          "an explanation that does not say the outcome", q->explanation);
  // A nominator no affiliates body lists is refused.
  for (const ct::Body& b : rb.bodies) {
    if (b.kind != ct::BodyKind::kAffiliates) continue;
    const std::string stranger = "stranger-" + std::to_string(b.affiliates.size());
    const bool listed = std::any_of(b.affiliates.begin(), b.affiliates.end(),
                                    [&](const ct::Affiliate& a) { return a.id == stranger; });
    ct::Nominations bad = noms;
    bad[b.id].push_back(stranger);
    auto r = ct::Qualify(rb, bad, units);
    Require(listed || (!r.has_value() && r.error().code() == sb::StatusCode::kInvalidArgument),
            "an unlisted affiliate accepted", stranger);
  }
}

// The example with its expression replaced by `expr` as a TOML literal
// string (''' cannot appear inside one: those inputs stay in the file).
std::string WithExpression(std::string_view expr) {
  std::string t = ct::ExampleRulebookToml(1'800'000'000'000'000);
  const size_t from = t.find("expression = ");
  const size_t to = t.find("\"\"\"", t.find("\"\"\"", from) + 3) + 3;
  return t.replace(from, to - from, "expression = '''" + std::string(expr) + "'''");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string text;
  switch (data[0] % 3) {
    case 0:
      text = std::string(rest);
      break;
    case 1:
      text = ct::ExampleRulebookToml(1'800'000'000'000'000) + std::string(rest);
      break;
    default:
      text = WithExpression(rest);
  }
  auto rb = ct::ParseRulebook(text, kSource);
  if (!rb) {
    RequireNamed(rb.error());
    return 0;
  }
  CheckRulebook(*rb);
  CheckQualify(*rb, size % 23);
  return 0;
}
