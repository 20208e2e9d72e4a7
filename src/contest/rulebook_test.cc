#include "contest/rulebook.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "contest/internal/expr.h"
#include "core/testing/status_matchers.h"

namespace switchboard::contest {
namespace {

constexpr const char* kFile = "leader.toml";

Micros At(std::string_view iso) { return ParseTimestamp(iso).value(); }

const Micros kAnnounced = At("2027-01-07T09:00:00Z");

std::string Example() { return ExampleRulebookToml(kAnnounced); }

std::string SourceFile(const std::string& rel) {
  const char* dir = std::getenv("SB_SOURCE_DIR");
#ifdef SB_SOURCE_DIR_DEFAULT
  if (!dir) dir = SB_SOURCE_DIR_DEFAULT;
#endif
  std::ifstream in(std::string(dir ? dir : ".") + "/" + rel, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `text` with the first `from` replaced by `to` (which must be there).
std::string Replace(std::string text, std::string_view from, std::string_view to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// The line (from 1) of the first `needle` in `text`.
int LineOf(std::string_view text, std::string_view needle) {
  const size_t at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  int line = 1;
  for (size_t i = 0; i < at && i < text.size(); ++i) line += text[i] == '\n';
  return line;
}

// Parses `text`, expects a refusal beginning "leader.toml:<line of needle>: "
// and containing each of `parts`.
void ExpectRefused(const std::string& text, std::string_view line_of,
                   const std::vector<std::string>& parts) {
  auto rb = ParseRulebook(text, kFile);
  ASSERT_FALSE(rb.has_value()) << "accepted; expected: " << parts.front();
  EXPECT_EQ(rb.error().code(), StatusCode::kInvalidArgument);
  const std::string& m = rb.error().message();
  const std::string prefix =
      std::string(kFile) + ":" + std::to_string(LineOf(text, line_of)) + ": ";
  EXPECT_EQ(m.rfind(prefix, 0), 0u) << m << "\n  expected to start with: " << prefix;
  for (const std::string& p : parts) EXPECT_NE(m.find(p), std::string::npos) << m << "\n  " << p;
}

Rulebook ParseOk(const std::string& text) {
  auto rb = ParseRulebook(text, kFile);
  EXPECT_OK(rb);
  return rb ? *rb : Rulebook{};
}

TEST(RulebookTest, ExampleParses) {
  const Rulebook rb = ParseOk(Example());
  EXPECT_EQ(rb.id, "leader-2027");
  EXPECT_EQ(rb.version, 1);
  EXPECT_EQ(rb.time_zone, "Europe/London");
  EXPECT_EQ(rb.returning_officer, "returning-officer");
  EXPECT_EQ(rb.procedures_committee, std::vector<std::string>{"procedures"});
  EXPECT_EQ(rb.timeline.announced.at, kAnnounced);
  EXPECT_EQ(rb.timeline.announced.zone, "UTC");
  EXPECT_EQ(rb.timeline.nominations_open.at, kAnnounced + kMicrosPerDay);
  EXPECT_EQ(rb.timeline.nominations_close.at, kAnnounced + 14 * kMicrosPerDay);
  EXPECT_EQ(rb.timeline.data_release.at, rb.timeline.nominations_close.at);
  EXPECT_EQ(rb.timeline.ballot_open.at, kAnnounced + 21 * kMicrosPerDay);
  EXPECT_EQ(rb.timeline.ballot_close.at, kAnnounced + 42 * kMicrosPerDay);
  ASSERT_EQ(rb.candidates.size(), 3u);
  EXPECT_EQ(rb.candidates[0].name, "Dervla Quennell-Hart");
  EXPECT_EQ(rb.candidates[1].name, "Inès Vauquelin");
  EXPECT_EQ(rb.candidates[2].accounts, std::vector<std::string>{"campaign-wrenfield"});
  for (const Candidate& c : rb.candidates) EXPECT_FALSE(c.aliases.empty()) << c.id;
  ASSERT_EQ(rb.bodies.size(), 3u);
  EXPECT_EQ(rb.bodies[0].id, "mps");  // in the file's order
  EXPECT_EQ(rb.bodies[2].id, "affiliates");
  const Body* mps = rb.FindBody("mps");
  ASSERT_NE(mps, nullptr);
  EXPECT_EQ(mps->kind, BodyKind::kPeople);
  EXPECT_EQ(mps->size, 200);
  ASSERT_NE(rb.FindBody("clps"), nullptr);
  EXPECT_EQ(rb.FindBody("clps")->unit_kind, "constituency");
  const Body* aff = rb.FindBody("affiliates");
  ASSERT_NE(aff, nullptr);
  ASSERT_EQ(aff->affiliates.size(), 6u);
  int unions = 0;
  for (const Affiliate& a : aff->affiliates) unions += a.trade_union;
  EXPECT_EQ(unions, 3);
  EXPECT_NE(rb.expr, nullptr);
  EXPECT_EQ(rb.electorate_statuses, std::vector<std::string>{"current"});
  EXPECT_EQ(FormatDate(rb.frozen_on), "2027-01-07");
  EXPECT_TRUE(rb.staff_flag);
  EXPECT_EQ(rb.word_limit, 50);
  EXPECT_EQ(rb.counting, "words-v1");
  EXPECT_EQ(rb.receive, Receive::kPlatformOnly);
  EXPECT_EQ(rb.sha256.size(), 64u);
  EXPECT_EQ(rb.sha256.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(RulebookTest, ExampleFileIsTheExample) {
  const std::string file = SourceFile("examples/contest-2020.toml");
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(file, Example());
}

TEST(RulebookTest, Sha256FollowsTheText) {
  const Rulebook a = ParseOk(Example());
  const Rulebook b = ParseOk(Example());
  const Rulebook c = ParseOk(Example() + "# one more comment\n");
  EXPECT_EQ(a.sha256, b.sha256);
  EXPECT_NE(a.sha256, c.sha256);
}

TEST(RulebookTest, ZonesAndOffsets) {
  // A zone table: 09:00 in London is 09:00Z in January and 08:00Z in July.
  std::string t = Replace(Example(), "announced = 2027-01-07T09:00:00Z",
                          "announced = { at = 2027-01-07T09:00:00, zone = \"Europe/London\" }");
  Rulebook rb = ParseOk(t);
  EXPECT_EQ(rb.timeline.announced.at, kAnnounced);
  EXPECT_EQ(rb.timeline.announced.zone, "Europe/London");
  EXPECT_EQ(rb.timeline.announced.line, LineOf(t, "announced = {"));

  t = Replace(Example(), "ballot_close = 2027-02-18T09:00:00Z",
              "ballot_close = { at = 2027-07-01T09:00:00, zone = \"Europe/London\" }");
  rb = ParseOk(t);
  EXPECT_EQ(rb.timeline.ballot_close.at, At("2027-07-01T08:00:00Z"));

  t = Replace(Example(), "ballot_close = 2027-02-18T09:00:00Z",
              "ballot_close = 2027-02-18T10:30:00+01:30");
  rb = ParseOk(t);
  EXPECT_EQ(rb.timeline.ballot_close.at, At("2027-02-18T09:00:00Z"));
  EXPECT_EQ(rb.timeline.ballot_close.zone, "+01:30");

  // The clocks go forward at 01:00 on 28 March 2027 and back at 02:00 on 31
  // October 2027 in London.
  t = Replace(Example(), "ballot_close = 2027-02-18T09:00:00Z",
              "ballot_close = { at = 2027-03-28T01:30:00, zone = \"Europe/London\" }");
  ExpectRefused(t, "ballot_close = {", {"timeline.ballot_close.at", "does not exist"});
  t = Replace(Example(), "ballot_close = 2027-02-18T09:00:00Z",
              "ballot_close = { at = 2027-10-31T01:30:00, zone = \"Europe/London\" }");
  ExpectRefused(t, "ballot_close = {", {"timeline.ballot_close.at", "happens twice", "+01:00"});
}

struct BadCase {
  const char* name;
  const char* from;  // replaced in the example by `to`
  std::string to;
  const char* line_of;  // the refusal names this text's line
  std::vector<std::string> parts;
};

TEST(RulebookTest, EachKindOfErrorNamesTheFieldAndLine) {
  const std::vector<BadCase> cases = {
      {"unknown top-level key",
       "[contest]",
       "colour = \"red\"\n[contest]",
       "colour",
       {"'colour'", "the rulebook"}},
      {"unknown key in [contest]",
       "version = 1",
       "version = 1\nflavour = \"x\"",
       "flavour",
       {"'flavour'", "[contest]"}},
      {"unknown key in a candidate",
       "accounts = [\"campaign-vauquelin\"]",
       "accounts = [\"campaign-vauquelin\"]\nemail = \"x@example.org\"",
       "email = ",
       {"'email'", "candidates[2]"}},
      {"unknown key in an affiliate",
       "membership = 1200",
       "membership = 1200\nsize = 3",
       "size = 3",
       {"'size'", "bodies.affiliates.affiliates[6]"}},
      {"unknown key in a zone table",
       "announced = 2027-01-07T09:00:00Z",
       "announced = { at = 2027-01-07T09:00:00, zone = \"Europe/London\", dst = true }",
       "announced = {",
       {"'dst'", "timeline.announced"}},
      {"missing contest name",
       "name = \"Leadership election 2027\"\n",
       "",
       "[contest]",
       {"contest.name: missing"}},
      {"missing returning officer",
       "returning_officer = \"returning-officer\"\n",
       "",
       "[contest]",
       {"contest.returning_officer: missing"}},
      {"missing timeline entry",
       "ballot_open = 2027-01-28T09:00:00Z\n",
       "",
       "[timeline]",
       {"timeline.ballot_open: missing"}},
      {"missing candidate name",
       "name = \"Tobias Wrenfield\"\n",
       "",
       "[[candidates]]\nid = \"wrenfield\"",
       {"candidates[3].name: missing"}},
      {"missing affiliate membership",
       "membership = 98000\n",
       "",
       "[[bodies.affiliates.affiliates]]\nid = \"canal-staff\"",
       {"bodies.affiliates.affiliates[3].membership: missing"}},
      {"reversed dates",
       "nominations_close = 2027-01-21T09:00:00Z",
       "nominations_close = 2027-01-07T12:00:00Z",
       "nominations_close",
       {"timeline.nominations_close", "must be after nominations_open", "line 18"}},
      {"nominations closing as they open",
       "nominations_close = 2027-01-21T09:00:00Z",
       "nominations_close = 2027-01-08T09:00:00Z",
       "nominations_close",
       {"timeline.nominations_close", "must be after nominations_open"}},
      {"data released before nominations close",
       "data_release = 2027-01-21T09:00:00Z",
       "data_release = 2027-01-21T08:59:59Z",
       "data_release",
       {"timeline.data_release", "must be at or after nominations_close"}},
      {"ballot overlapping the nominations",
       "ballot_open = 2027-01-28T09:00:00Z",
       "ballot_open = 2027-01-14T09:00:00Z",
       "ballot_open",
       {"timeline.ballot_open", "at or after data_release"}},
      {"ballot closing before it opens",
       "ballot_close = 2027-02-18T09:00:00Z",
       "ballot_close = 2027-01-28T09:00:00Z",
       "ballot_close",
       {"timeline.ballot_close", "must be after ballot_open"}},
      {"a local date-time",
       "announced = 2027-01-07T09:00:00Z",
       "announced = 2027-01-07T09:00:00",
       "announced",
       {"timeline.announced: needs a time zone"}},
      {"a date without a time",
       "ballot_close = 2027-02-18T09:00:00Z",
       "ballot_close = 2027-02-18",
       "ballot_close",
       {"timeline.ballot_close: needs a time zone"}},
      {"a time without a date",
       "ballot_close = 2027-02-18T09:00:00Z",
       "ballot_close = 09:00:00",
       "ballot_close",
       {"timeline.ballot_close: needs a time zone"}},
      {"a string for a time",
       "ballot_close = 2027-02-18T09:00:00Z",
       "ballot_close = \"2027-02-18T09:00:00Z\"",
       "ballot_close",
       {"timeline.ballot_close: must be a date-time with a time zone"}},
      {"an offset inside a zone table",
       "announced = 2027-01-07T09:00:00Z",
       "announced = { at = 2027-01-07T09:00:00Z, zone = \"Europe/London\" }",
       "announced",
       {"timeline.announced.at", "local date-time"}},
      {"unknown zone",
       "announced = 2027-01-07T09:00:00Z",
       "announced = { at = 2027-01-07T09:00:00, zone = \"Europe/Atlantis\" }",
       "announced",
       {"timeline.announced.zone", "unknown time zone", "Europe/Atlantis"}},
      {"unknown display zone",
       "time_zone = \"Europe/London\"",
       "time_zone = \"Mars/Olympus\"",
       "time_zone",
       {"contest.time_zone", "unknown time zone"}},
      {"duplicate candidate id",
       "id = \"wrenfield\"",
       "id = \"vauquelin\"",
       "id = \"vauquelin\"\nname = \"Tobias",
       {"candidates[3].id", "'vauquelin' is already"}},
      {"alias equal to another's alias",
       "aliases = [\"TW\", \"Toby Wrenfield\"]",
       "aliases = [\"TW\", \"dqh\"]",
       "aliases = [\"TW\"",
       {"candidates[3].aliases[2]", "'dqh'", "candidate 'quennell-hart'"}},
      {"alias equal to another's name",
       "aliases = [\"TW\", \"Toby Wrenfield\"]",
       "aliases = [\"INES VAUQUELIN\"]",
       "aliases = [\"INES",
       {"candidates[3].aliases[1]", "candidate 'vauquelin'"}},
      {"two candidates with one name",
       "name = \"Tobias Wrenfield\"",
       "name = \"Dervla Quennell-Hart\"",
       "name = \"Dervla Quennell-Hart\"\naliases = [\"TW\"",
       {"candidates[3].name", "candidate 'quennell-hart'"}},
      {"an account in two campaigns",
       "accounts = [\"campaign-wrenfield\"]",
       "accounts = [\"campaign-vauquelin\"]",
       "accounts = [\"campaign-vauquelin\"]\n\n[bodies",
       {"candidates[3].accounts[1]", "already an account of candidate 'vauquelin'"}},
      {"leave for an unknown candidate",
       "staff_flag = true",
       "staff_flag = true\n[[neutrality.leave]]\naccount = \"organiser-1\"\ncandidate = "
       "\"xyz\"\nfrom = 2027-01-08T00:00:00Z\nuntil = 2027-02-18T09:00:00Z",
       "candidate = \"xyz\"",
       {"neutrality.leave[1].candidate: no candidate 'xyz'"}},
      {"leave ending as it starts",
       "staff_flag = true",
       "staff_flag = true\n[[neutrality.leave]]\naccount = \"organiser-1\"\ncandidate = "
       "\"wrenfield\"\nfrom = 2027-01-08T00:00:00Z\nuntil = 2027-01-08T00:00:00Z",
       "until = ",
       {"neutrality.leave[1].until", "must be after from"}},
      {"leave without a zone",
       "staff_flag = true",
       "staff_flag = true\n[[neutrality.leave]]\naccount = \"organiser-1\"\ncandidate = "
       "\"wrenfield\"\nfrom = 2027-01-08T00:00:00\nuntil = 2027-01-09T00:00:00Z",
       "from = 2027-01-08",
       {"neutrality.leave[1].from: needs a time zone"}},
      {"expression naming an unknown body",
       "mps >= 10% and (clps",
       "mps >= 10% and (cllps",
       "expression = ",
       {"qualification.expression: at character 17: no body 'cllps'"}},
      {".unions of people",
       "mps >= 10% and",
       "mps.unions >= 10% and",
       "expression = ",
       {"qualification.expression: at character 4", "'.unions'", "\"people\""}},
      {".membership of units",
       "clps >= 5%",
       "clps.membership >= 5%",
       "expression = ",
       {"qualification.expression: at character 21", "'.membership'", "\"units\""}},
      {"a percentage over 100",
       "mps >= 10%",
       "mps >= 100.01%",
       "expression = ",
       {"qualification.expression: at character 8", "more than 100%"}},
      {"a syntax error",
       "mps >= 10% and",
       "mps >= and",
       "expression = ",
       {"qualification.expression: at character 8: expected a number after '>='"}},
      {"an unclosed parenthesis",
       "affiliates.membership >= 5%))",
       "affiliates.membership >= 5%)",
       "expression = ",
       {"qualification.expression: at character 16: '(' is never closed"}},
      {"a comparison the grammar lacks",
       "mps >= 10%",
       "mps <= 10%",
       "expression = ",
       {"qualification.expression: at character 5", "unexpected '<'"}},
      {"units without unit_kind",
       "unit_kind = \"constituency\"\n",
       "",
       "[bodies.clps]",
       {"bodies.clps.unit_kind: missing"}},
      {"people without size", "size = 200\n", "", "[bodies.mps]", {"bodies.mps.size: missing"}},
      {"size on units",
       "unit_kind = \"constituency\"",
       "unit_kind = \"constituency\"\nsize = 600",
       "size = 600",
       {"'size'", "[bodies.clps] (kind \"units\")"}},
      {"an unknown kind of body",
       "kind = \"units\"",
       "kind = \"branches\"",
       "kind = \"branches\"",
       {"bodies.clps.kind", "'branches'"}},
      {"word limit 0",
       "word_limit = 50",
       "word_limit = 0",
       "word_limit",
       {"statements.word_limit", "between 1 and 1000"}},
      {"word limit 1001",
       "word_limit = 50",
       "word_limit = 1001",
       "word_limit",
       {"statements.word_limit", "between 1 and 1000"}},
      {"another counting method",
       "counting = \"words-v1\"",
       "counting = \"words-v2\"",
       "counting",
       {"statements.counting", "'words-v2'"}},
      {"exports of another kind",
       "exports = \"none\"",
       "exports = \"csv\"",
       "exports",
       {"candidates_receive.exports", "'csv'"}},
      {"unknown status",
       "statuses = [\"current\"]",
       "statuses = [\"current\", \"member\"]",
       "statuses",
       {"electorate.statuses[2]", "'member'", "current, lapsed"}},
      {"a status twice",
       "statuses = [\"current\"]",
       "statuses = [\"current\", \"current\"]",
       "statuses",
       {"electorate.statuses[2]", "listed twice"}},
      {"a freeze instant instead of a day",
       "frozen_on = 2027-01-07",
       "frozen_on = 2027-01-07T00:00:00Z",
       "frozen_on",
       {"electorate.frozen_on", "a date"}},
      {"contest id pattern",
       "id = \"leader-2027\"",
       "id = \"Leader 2027\"",
       "id = \"Leader",
       {"contest.id", "'Leader 2027'", "a-z, 0-9 and -"}},
      {"candidate id pattern",
       "id = \"vauquelin\"",
       "id = \"vauquelin!\"",
       "id = \"vauquelin!",
       {"candidates[2].id", "'vauquelin!'"}},
      {"affiliate id pattern",
       "id = \"tinkers\"",
       "id = \"Tinkers\"",
       "id = \"Tinkers",
       {"bodies.affiliates.affiliates[6].id", "'Tinkers'"}},
      {"body id pattern", "[bodies.mps]", "[bodies.MPs]", "[bodies.MPs]", {"bodies.MPs"}},
      {"a body named like a keyword",
       "[bodies.mps]",
       "[bodies.and]",
       "[bodies.and]",
       {"bodies.and", "not 'and' or 'or'"}},
      {"returning officer login",
       "returning_officer = \"returning-officer\"",
       "returning_officer = \"r o\"",
       "returning_officer",
       {"contest.returning_officer", "'r o'"}},
      {"a TOML syntax error",
       "version = 1",
       "version = 1\nversion = 2",
       "version = 2",
       {"version"}},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    ExpectRefused(Replace(Example(), c.from, c.to), c.line_of, c.parts);
  }
}

TEST(RulebookTest, MissingTablesAreNamed) {
  for (const char* table : {"[timeline]", "[qualification]", "[electorate]"}) {
    SCOPED_TRACE(table);
    std::string t = Example();
    const size_t from = t.find(table);
    t.erase(from, t.find("\n[", from + 1) - from);
    auto rb = ParseRulebook(t, kFile);
    ASSERT_FALSE(rb.has_value());
    const std::string name = std::string(table).substr(1, std::string(table).size() - 2);
    EXPECT_NE(rb.error().message().find(name + ": missing"), std::string::npos)
        << rb.error().message();
  }
}

// The [[candidates]] tables of the example, as text.
std::string CandidatesOf(const std::string& t, size_t* from, size_t* to) {
  *from = t.find("[[candidates]]");
  *to = t.find("[bodies.mps]");
  return t.substr(*from, *to - *from);
}

TEST(RulebookTest, CandidateCountLimits) {
  std::string t = Example();
  size_t from = 0, to = 0;
  CandidatesOf(t, &from, &to);
  auto rb = ParseRulebook(t.substr(0, from) + t.substr(to), kFile);
  ASSERT_FALSE(rb.has_value());
  EXPECT_NE(rb.error().message().find("candidates: missing"), std::string::npos);

  t = Replace(Example(), "[[candidates]]", "candidates = []\n[[candidates]]");
  EXPECT_FALSE(ParseRulebook(t, kFile).has_value());  // a key defined twice

  std::string many = Example().substr(0, from);
  for (int i = 0; i <= kMaxCandidates; ++i) {
    many += "[[candidates]]\nid = \"c" + std::to_string(i) + "\"\nname = \"Candidate " +
            std::to_string(i) + "\"\n";
  }
  many += Example().substr(to);
  ExpectRefused(many, "[[candidates]]\nid = \"c100\"", {"candidates", "more than 100 candidates"});
}

TEST(RulebookTest, EmptyCandidateListRefused) {
  std::string t = Example();
  size_t from = 0, to = 0;
  CandidatesOf(t, &from, &to);
  t = "candidates = []\n" + t.substr(0, from) + t.substr(to);
  ExpectRefused(t, "candidates = []", {"candidates: at least one candidate"});
}

TEST(RulebookTest, AffiliateAndLeaveLimits) {
  std::string t = Example();
  std::string extra;
  for (int i = 0; i < kMaxAffiliates; ++i) {
    extra += "[[bodies.affiliates.affiliates]]\nid = \"a" + std::to_string(i) +
             "\"\nname = \"A\"\nmembership = 1\n";
  }
  t = Replace(t, "[qualification]", extra + "\n[qualification]");
  ExpectRefused(t, "[[bodies.affiliates.affiliates]]\nid = \"a9994\"",
                {"bodies.affiliates.affiliates", "more than 10000"});

  std::string leave = "staff_flag = true\n";
  for (int i = 0; i <= kMaxLeaveRecords; ++i) {
    leave += "[[neutrality.leave]]\naccount = \"staff-" + std::to_string(i) +
             "\"\ncandidate = \"wrenfield\"\nfrom = 2027-01-08T00:00:00Z\n"
             "until = 2027-01-09T00:00:00Z\n";
  }
  t = Replace(Example(), "staff_flag = true\n", leave);
  ExpectRefused(t, "[[neutrality.leave]]\naccount = \"staff-1000\"",
                {"neutrality.leave", "more than 1000"});
}

TEST(RulebookTest, ExpressionLimitsBeforeRecursion) {
  const Rulebook rb = ParseOk(Example());
  // 10^5 levels: refused by size, before any token is read.
  const std::string deep = std::string(100'000, '(') + "mps >= 1" + std::string(100'000, ')');
  auto e = internal::ParseExpr(deep, rb.bodies);
  ASSERT_FALSE(e.has_value());
  EXPECT_NE(e.error().message().find("longer than 2000 bytes"), std::string::npos);
  // Within the size: refused at the 17th '(' by the tokenising pass.
  std::string nested = std::string(17, '(') + "mps >= 1" + std::string(17, ')');
  e = internal::ParseExpr(nested, rb.bodies);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().message(), "at character 17: parentheses nested deeper than 16 levels");
  nested = std::string(16, '(') + "mps >= 1" + std::string(16, ')');
  EXPECT_OK(internal::ParseExpr(nested, rb.bodies));
  // 1,000 '(' and no ')' at all: still the depth limit, not recursion.
  e = internal::ParseExpr(std::string(1000, '('), rb.bodies);
  ASSERT_FALSE(e.has_value());
  EXPECT_NE(e.error().message().find("deeper than 16"), std::string::npos);
  // Tokens: 51 clauses of 4 tokens (and 50 'or's) in 600 bytes.
  std::string many = "mps >= 1";
  for (int i = 0; i < 50; ++i) many += " or mps >= 1";
  e = internal::ParseExpr(many, rb.bodies);
  ASSERT_FALSE(e.has_value());
  EXPECT_NE(e.error().message().find("more than 200 tokens"), std::string::npos);
  e = internal::ParseExpr("", rb.bodies);
  ASSERT_FALSE(e.has_value());

  // Through the file: a huge expression names the field and line.
  const std::string huge = "expression = \"" + std::string(1 << 20, '(') + "\"";
  std::string t = Example();
  const size_t from = t.find("expression = ");
  t.replace(from, t.find("))\"\"\"", from) + 5 - from, huge);
  ExpectRefused(t, "expression = ", {"qualification.expression", "longer than 2000 bytes"});
}

TEST(RulebookTest, ExpressionFormsParse) {
  const Rulebook rb = ParseOk(Example());
  for (const char* ok :
       {"mps >= 10%", "mps > 10", "(mps >= 1)", "mps>=12.5%",
        "mps >= 0 or clps >= 1 and affiliates.unions > 0", "affiliates.membership >= 50000"}) {
    EXPECT_OK(internal::ParseExpr(ok, rb.bodies)) << ok;
  }
  for (const char* bad : {"mps >= 10% and", "mps", "mps >= 1.5", "mps >= 12.345%", "mps >= 1 ()",
                          "mps >= 1 mps >= 2", "MPS >= 1", "mps >= 1 AND clps >= 1",
                          "affiliates.branches >= 1", "mps >= 1)", "mps >= 1é"}) {
    EXPECT_FALSE(internal::ParseExpr(bad, rb.bodies).has_value()) << bad;
  }
}

std::vector<std::string> People(int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back("mp-" + std::to_string(i));
  return v;
}

// The example's 2020 expression, with 600 constituency parties.
class QualifyTest : public ::testing::Test {
 protected:
  void SetUp() override { rb_ = ParseOk(Example()); }

  Result<Qualification> Run(const Nominations& n) { return Qualify(rb_, n, {{"clps", 600}}); }

  Rulebook rb_;
};

TEST_F(QualifyTest, ThroughConstituencies) {
  Nominations n{{"mps", People(20)}, {"clps", {}}};
  for (int i = 0; i < 30; ++i) n["clps"].push_back("E" + std::to_string(14000000 + i));
  auto q = Run(n);
  ASSERT_OK(q);
  EXPECT_TRUE(q->qualified);
  ASSERT_EQ(q->clauses.size(), 5u);
  EXPECT_EQ(q->clauses[0].text, "mps >= 10%");
  EXPECT_EQ(q->clauses[0].have, 20);
  EXPECT_EQ(q->clauses[0].need, 20);
  EXPECT_EQ(q->clauses[0].of, 200);
  EXPECT_TRUE(q->clauses[0].met);
  EXPECT_EQ(q->clauses[1].text, "clps >= 5%");
  EXPECT_EQ(q->clauses[1].need, 30);
  EXPECT_TRUE(q->clauses[1].met);
  EXPECT_EQ(q->clauses[2].text, "affiliates >= 3");
  EXPECT_FALSE(q->clauses[2].met);
  EXPECT_EQ(q->clauses[4].text, "affiliates.membership >= 5%");
  EXPECT_EQ(q->clauses[4].of, 784'700);
  EXPECT_EQ(q->clauses[4].need, 39'235);
  EXPECT_EQ(q->explanation.rfind("qualified: mps >= 10% (met: 20 of 200, needs 20) and "
                                 "(clps >= 5% (met: 30 of 600, needs 30) or ",
                                 0),
            0u)
      << q->explanation;

  // One constituency short of 5%.
  n["clps"].pop_back();
  q = Run(n);
  ASSERT_OK(q);
  EXPECT_FALSE(q->qualified);
  EXPECT_EQ(q->explanation.rfind("not qualified: ", 0), 0u);
}

TEST_F(QualifyTest, BoundaryAtExactlyTenPercent) {
  Nominations n{{"mps", People(19)}, {"clps", {}}};
  for (int i = 0; i < 60; ++i) n["clps"].push_back("u" + std::to_string(i));
  auto q = Run(n);
  ASSERT_OK(q);
  EXPECT_FALSE(q->qualified);
  EXPECT_FALSE(q->clauses[0].met);
  n["mps"].push_back("mp-19");
  q = Run(n);
  ASSERT_OK(q);
  EXPECT_TRUE(q->qualified);
}

TEST_F(QualifyTest, ThroughAffiliates) {
  Nominations n{{"mps", People(25)},
                {"affiliates", {"lighthouse-keepers", "orchard-workers", "beekeepers"}}};
  auto q = Run(n);
  ASSERT_OK(q);
  EXPECT_TRUE(q->qualified) << q->explanation;
  EXPECT_FALSE(q->clauses[1].met);
  EXPECT_EQ(q->clauses[2].have, 3);
  EXPECT_EQ(q->clauses[3].have, 2);
  EXPECT_EQ(q->clauses[4].have, 682'000);
}

TEST_F(QualifyTest, TwoUnionsAloneFail) {
  auto q = Run({{"mps", People(25)}, {"affiliates", {"lighthouse-keepers", "orchard-workers"}}});
  ASSERT_OK(q);
  EXPECT_FALSE(q->qualified);
  EXPECT_FALSE(q->clauses[2].met);
  EXPECT_TRUE(q->clauses[3].met);
  // Three affiliates, one of them a union: short of unions.
  q = Run({{"mps", People(25)}, {"affiliates", {"canal-staff", "beekeepers", "tinkers"}}});
  ASSERT_OK(q);
  EXPECT_FALSE(q->qualified);
  EXPECT_EQ(q->clauses[3].have, 1);
  EXPECT_FALSE(q->clauses[3].met);
}

TEST_F(QualifyTest, DuplicatesCountOnce) {
  std::vector<std::string> mps = People(19);
  mps.push_back("mp-0");
  mps.push_back("mp-1");
  auto q = Run({{"mps", mps}, {"clps", std::vector<std::string>(40, "E14000001")}});
  ASSERT_OK(q);
  EXPECT_EQ(q->clauses[0].have, 19);
  EXPECT_EQ(q->clauses[1].have, 1);
  EXPECT_FALSE(q->qualified);
}

TEST_F(QualifyTest, UnknownNominatorsRefused) {
  auto q = Run({{"mps", People(25)}, {"affiliates", {"lighthouse-keepers", "pirates"}}});
  ASSERT_FALSE(q.has_value());
  EXPECT_EQ(q.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(q.error().message().find("'pirates'"), std::string::npos);
  q = Run({{"lords", {"x"}}});
  ASSERT_FALSE(q.has_value());
  EXPECT_NE(q.error().message().find("'lords'"), std::string::npos);
  q = Run({{"mps", People(201)}});
  ASSERT_FALSE(q.has_value());
  EXPECT_NE(q.error().message().find("201"), std::string::npos);
  // A percentage of constituency parties needs their number.
  EXPECT_FALSE(Qualify(rb_, {{"mps", People(25)}}, {}).has_value());
}

Rulebook WithExpression(const std::string& expr, int mps) {
  std::string t = Replace(Example(), "size = 200", "size = " + std::to_string(mps));
  const size_t from = t.find("expression = ");
  t.replace(from, t.find("))\"\"\"", from) + 5 - from, "expression = \"" + expr + "\"");
  return ParseOk(t);
}

TEST(QualifyRoundingTest, NeedIsTheSmallestCountThatMeetsIt) {
  // 10% of 212 is 21.2: 22 meet ">=", and 22 meet ">" too.
  Rulebook rb = WithExpression("mps >= 10%", 212);
  auto q = Qualify(rb, {{"mps", People(21)}}, {});
  ASSERT_OK(q);
  EXPECT_EQ(q->clauses[0].need, 22);
  EXPECT_FALSE(q->qualified);
  rb = WithExpression("mps > 10%", 212);
  q = Qualify(rb, {{"mps", People(22)}}, {});
  ASSERT_OK(q);
  EXPECT_EQ(q->clauses[0].need, 22);
  EXPECT_TRUE(q->qualified);
  // 10% of 200 is 20: ">=" needs 20, ">" needs 21.
  rb = WithExpression("mps > 10%", 200);
  q = Qualify(rb, {{"mps", People(20)}}, {});
  ASSERT_OK(q);
  EXPECT_EQ(q->clauses[0].need, 21);
  EXPECT_FALSE(q->qualified);
  rb = WithExpression("mps > 10 or mps >= 12.5%", 200);
  q = Qualify(rb, {{"mps", People(10)}}, {});
  ASSERT_OK(q);
  EXPECT_EQ(q->clauses[0].need, 11);
  EXPECT_EQ(q->clauses[1].need, 25);
  EXPECT_FALSE(q->qualified);
  EXPECT_EQ(q->explanation,
            "not qualified: mps > 10 (not met: 10, needs 11) or mps >= 12.5% (not met: 10 of 200, "
            "needs 25)");
  // A percentage of no units at all is never met.
  rb = WithExpression("clps >= 0%", 200);
  q = Qualify(rb, {}, {{"clps", 0}});
  ASSERT_OK(q);
  EXPECT_FALSE(q->qualified);
}

TEST(RulebookTest, PhaseAtEachBoundary) {
  const Rulebook rb = ParseOk(Example());
  const Timeline& tl = rb.timeline;
  const struct {
    Micros t;
    Phase want;
  } cases[] = {
      {tl.announced.at - 1, Phase::kBefore},
      {tl.announced.at, Phase::kAnnounced},
      {tl.nominations_open.at - 1, Phase::kAnnounced},
      {tl.nominations_open.at, Phase::kNominations},
      {tl.nominations_close.at - 1, Phase::kNominations},
      // Data release is at nominations close in the example: no kClosed.
      {tl.nominations_close.at, Phase::kReleased},
      {tl.ballot_open.at - 1, Phase::kReleased},
      {tl.ballot_open.at, Phase::kBallot},
      {tl.ballot_close.at - 1, Phase::kBallot},
      {tl.ballot_close.at, Phase::kOver},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(PhaseName(rb.PhaseAt(c.t)), PhaseName(c.want)) << FormatTimestamp(c.t);
  }
  EXPECT_FALSE(rb.NeutralityAt(tl.announced.at - 1));
  EXPECT_TRUE(rb.NeutralityAt(tl.announced.at));
  EXPECT_TRUE(rb.NeutralityAt(tl.ballot_close.at - 1));
  EXPECT_FALSE(rb.NeutralityAt(tl.ballot_close.at));

  // With data released a day after nominations close.
  const Rulebook late = ParseOk(Replace(Example(), "data_release = 2027-01-21T09:00:00Z",
                                        "data_release = 2027-01-22T09:00:00Z"));
  EXPECT_EQ(late.PhaseAt(late.timeline.nominations_close.at), Phase::kClosed);
  EXPECT_EQ(late.PhaseAt(late.timeline.data_release.at - 1), Phase::kClosed);
  EXPECT_EQ(late.PhaseAt(late.timeline.data_release.at), Phase::kReleased);
  EXPECT_EQ(PhaseName(Phase::kClosed), "closed");
  EXPECT_EQ(BodyKindName(BodyKind::kAffiliates), "affiliates");
}

TEST(RulebookTest, LeaveAt) {
  const std::string t =
      Replace(Example(), "staff_flag = true\n",
              "staff_flag = true\nstaff_accounts = [\"organiser-2\"]\n"
              "[[neutrality.leave]]\naccount = \"organiser-1\"\ncandidate = \"wrenfield\"\n"
              "from = 2027-01-10T00:00:00Z\nuntil = { at = 2027-02-01T00:00:00, zone = "
              "\"Europe/London\" }\n");
  const Rulebook rb = ParseOk(t);
  ASSERT_EQ(rb.leave.size(), 1u);
  EXPECT_EQ(rb.leave[0].line, LineOf(t, "[[neutrality.leave]]"));
  EXPECT_EQ(rb.staff_accounts, std::vector<std::string>{"organiser-2"});
  EXPECT_EQ(rb.LeaveAt("organiser-1", At("2027-01-09T23:59:59Z")), nullptr);
  const LeaveRecord* l = rb.LeaveAt("organiser-1", At("2027-01-10T00:00:00Z"));
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->candidate, "wrenfield");
  EXPECT_NE(rb.LeaveAt("organiser-1", At("2027-01-31T23:59:59Z")), nullptr);
  EXPECT_EQ(rb.LeaveAt("organiser-1", At("2027-02-01T00:00:00Z")), nullptr);
  EXPECT_EQ(rb.LeaveAt("organiser-2", At("2027-01-20T00:00:00Z")), nullptr);
  EXPECT_EQ(rb.FindCandidate("wrenfield")->name, "Tobias Wrenfield");
  EXPECT_EQ(rb.FindCandidate("nobody"), nullptr);
}

TEST(RulebookTest, JsonCarriesEveryField) {
  const std::string t =
      Replace(Replace(Example(), "exports = \"none\"", "exports = \"watermarked\""),
              "announced = 2027-01-07T09:00:00Z",
              "announced = { at = 2027-01-07T09:00:00, zone = \"Europe/London\" }");
  const Rulebook rb = ParseOk(t);
  const auto j = nlohmann::json::parse(RulebookJson(rb));
  EXPECT_EQ(j["id"], "leader-2027");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["returning_officer"], "returning-officer");
  EXPECT_EQ(j["timeline"]["announced"]["at"], "2027-01-07T09:00:00Z");
  EXPECT_EQ(j["timeline"]["announced"]["zone"], "Europe/London");
  EXPECT_EQ(j["timeline"]["ballot_close"]["at"], "2027-02-18T09:00:00Z");
  EXPECT_EQ(j["timeline"]["ballot_close"]["zone"], "UTC");
  ASSERT_EQ(j["candidates"].size(), 3u);
  EXPECT_EQ(j["candidates"][1]["name"], "Inès Vauquelin");
  EXPECT_EQ(j["candidates"][0]["aliases"][0], "DQH");
  ASSERT_EQ(j["bodies"].size(), 3u);
  for (const auto& b : j["bodies"]) {
    const Body* body = rb.FindBody(b["id"].get<std::string>());
    ASSERT_NE(body, nullptr);
    EXPECT_EQ(b["kind"], BodyKindName(body->kind));
    if (body->kind == BodyKind::kAffiliates) {
      EXPECT_EQ(b["affiliates"].size(), 6u);
      EXPECT_EQ(b["affiliates"][0]["membership"], 410'000);
    }
  }
  EXPECT_EQ(j["qualification"]["expression"], rb.qualification);
  EXPECT_EQ(j["electorate"]["frozen_on"], "2027-01-07");
  EXPECT_EQ(j["neutrality"]["staff_flag"], true);
  EXPECT_EQ(j["statements"]["word_limit"], 50);
  EXPECT_EQ(j["candidates_receive"]["exports"], "watermarked");
  EXPECT_EQ(j["sha256"], rb.sha256);
}

}  // namespace
}  // namespace switchboard::contest
