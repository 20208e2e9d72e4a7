// A contest's rulebook (RULEBOOK §8): one TOML file per contest, versioned,
// its SHA-256 recorded. ParseRulebook validates everything that can be
// checked without the database (the store-level checks — accounts and units
// that must exist — are contest::Operations::Load's); every error is
// kInvalidArgument and names the file, the line and the field:
//   "leader-2020.toml:41: neutrality.leave[2].candidate: no candidate 'xyz'".
// The format is documented in docs/contests.md; ExampleRulebookToml() is
// the demo's (the 2020 leadership contest's shape), and
// examples/contest-2020.toml the same with its dates in 2027.
//
// Qualification is a small expression over nomination counts, e.g.
//   "mps >= 10% and (clps >= 5% or (affiliates >= 3 and affiliates.unions >= 2
//    and affiliates.membership >= 5%))"
// Grammar (keywords case-sensitive, limits checked before any recursion:
// 2,000 bytes, 200 tokens, 16 levels of parentheses):
//   expr    := and ("or" and)*
//   and     := atom ("and" atom)*
//   atom    := "(" expr ")" | measure (">=" | ">") number ["%"]
//   measure := BODY                 nominators from that body
//            | BODY ".unions"       nominating affiliates that are trade unions
//                                   (affiliates bodies only)
//            | BODY ".membership"   affiliated membership those nominators
//                                   represent (affiliates bodies only)
// A percentage is of the body's size (people: `size`; units: the number of
// units of `unit_kind` in the contest's scope, given at evaluation;
// affiliates: the number listed) or, for ".membership", of the total
// membership of the affiliates listed.
//
// Immutable once parsed; safe to share between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace switchboard::contest {

// Limits on a rulebook file beyond TomlReader's own (each refused with the
// field and line).
inline constexpr int kMaxCandidates = 100;
inline constexpr int kMaxAffiliates = 10'000;  // per body
inline constexpr int kMaxLeaveRecords = 1'000;
// The qualification expression's limits, checked before any recursion.
inline constexpr size_t kMaxExpressionBytes = 2'000;
inline constexpr int kMaxExpressionTokens = 200;
inline constexpr int kMaxExpressionDepth = 16;  // levels of parentheses

// One instant of the timeline, with the zone it was written in (shown back).
struct Moment {
  Micros at = 0;
  std::string zone;  // IANA name, or "+01:00" for an offset ("UTC" for Z)
  int line = 0;      // where in the file
};

struct Timeline {
  Moment announced, nominations_open, nominations_close, data_release, ballot_open, ballot_close;
};

// Where the contest stands at an instant.
enum class Phase {
  kBefore,       // before announcement: no contest rules apply yet
  kAnnounced,    // neutrality in force; nominations not yet open
  kNominations,  // nominations open
  kClosed,       // nominations closed, data not yet released
  kReleased,     // data released to qualifying candidates, ballot not open
  kBallot,       // ballot open
  kOver,         // ballot closed: every candidate grant has ended
};
std::string_view PhaseName(Phase p);

struct Candidate {
  std::string id;                     // [a-z0-9-]{1,32}, unique
  std::string name;                   // display name, as on the ballot
  std::vector<std::string> aliases;   // initials, other spellings (matched too)
  std::vector<std::string> accounts;  // the campaign's accounts (usernames)
};

enum class BodyKind { kPeople, kUnits, kAffiliates };
std::string_view BodyKindName(BodyKind k);

struct Affiliate {
  std::string id;  // [a-z0-9-]{1,32}, unique within the body
  std::string name;
  bool trade_union = false;
  std::int64_t membership = 0;  // affiliated members it represents
};

struct Body {
  std::string id;  // [a-z][a-z0-9_]{0,31}, not "and"/"or"; the name used in the expression
  std::string label;
  BodyKind kind = BodyKind::kPeople;
  std::int64_t size = 0;              // kPeople: how many may nominate
  std::string unit_kind;              // kUnits: the kind of unit that nominates
  std::vector<Affiliate> affiliates;  // kAffiliates: who may nominate
};

struct LeaveRecord {
  std::string account;    // a staff account (username)
  std::string candidate;  // the campaign they work for while on leave
  Micros from = 0, until = 0;
  int line = 0;
};

enum class Receive { kPlatformOnly, kWatermarkedExports };

struct Rulebook {
  std::string id;  // [a-z0-9-]{1,48}: the contest's stable name
  std::string name;
  int version = 1;
  std::string time_zone = "Europe/London";        // for display
  std::string scope;                              // unit code; "" = the whole organisation
  std::string returning_officer;                  // account username
  std::vector<std::string> procedures_committee;  // usernames (read the ledger)
  Timeline timeline;
  std::vector<Candidate> candidates;
  std::vector<Body> bodies;
  std::string qualification;  // the expression as written
  // The electorate: statuses that may vote, and members who joined on or
  // before `frozen_on` (days since 1970-01-01).
  std::vector<std::string> electorate_statuses;
  std::int64_t frozen_on = 0;
  // Neutrality: the accounts with the staff flag count as staff (when
  // `staff_flag`), and so do these usernames; leave records lift it.
  bool staff_flag = true;
  std::vector<std::string> staff_accounts;
  std::vector<LeaveRecord> leave;
  int word_limit = 50;
  std::string counting = "words-v1";
  Receive receive = Receive::kPlatformOnly;
  std::string sha256;  // hex SHA-256 of the file's text

  Phase PhaseAt(Micros t) const;
  // Neutrality is in force from announcement to ballot close.
  bool NeutralityAt(Micros t) const;
  const Candidate* FindCandidate(std::string_view id) const;
  const Body* FindBody(std::string_view id) const;
  // The candidate `username` is on leave for at `t`, or nullptr.
  const LeaveRecord* LeaveAt(std::string_view username, Micros t) const;

  // The parsed qualification expression (shared, immutable).
  std::shared_ptr<const struct Expr> expr;
};

Result<Rulebook> ParseRulebook(std::string_view toml_text, std::string_view source_name);

// The nominations a candidate holds, by body id: the nominators' ids (unit
// codes, affiliate ids, or the people's identifiers), each once.
using Nominations = std::map<std::string, std::vector<std::string>, std::less<>>;

// One comparison of the expression, evaluated.
struct Clause {
  std::string text;  // "clps >= 5%"
  bool met = false;
  std::int64_t have = 0;  // the measure's value
  std::int64_t need = 0;  // the smallest value that meets it
  std::int64_t of = 0;    // what a percentage was of (0 for plain numbers)
};

struct Qualification {
  bool qualified = false;
  std::vector<Clause> clauses;  // in the expression's order
  std::string explanation;      // for people: "qualified: mps >= 10% (23 of 212) and ..."
};

// Evaluates the expression for one candidate. `unit_counts` gives, per body
// of kind kUnits, how many units may nominate. Nominators unknown to a body
// (an affiliate not listed) are refused: kInvalidArgument naming them.
Result<Qualification> Qualify(const Rulebook& rb, const Nominations& nominations,
                              const std::map<std::string, std::int64_t, std::less<>>& unit_counts);

// The rulebook as JSON for the API and `switchboard contest show` (every
// field above, instants as RFC 3339 UTC plus the zone as written).
std::string RulebookJson(const Rulebook& rb);

// The demo's rulebook (the 2020 shape), with its timeline starting at
// `announced` (instants a fixed number of days apart).
std::string ExampleRulebookToml(Micros announced);

}  // namespace switchboard::contest
