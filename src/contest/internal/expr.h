// The qualification expression's syntax tree (contest/rulebook.h has the
// grammar) and its parser. Private to the contest module.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "contest/rulebook.h"
#include "core/status.h"

namespace switchboard::contest {

enum class Measure {
  kCount,       // BODY: distinct nominators
  kUnions,      // BODY.unions: nominating affiliates that are trade unions
  kMembership,  // BODY.membership: the members those nominators represent
};

struct Expr {
  enum class Kind { kAnd, kOr, kCompare };
  Kind kind = Kind::kCompare;
  std::vector<Expr> children;  // kAnd, kOr: two or more

  // kCompare: `body[.measure] (>= | >) value[%]`.
  std::string body;
  Measure measure = Measure::kCount;
  bool strict = false;     // ">" rather than ">="
  bool percent = false;    // value is a percentage, in hundredths (5% = 500)
  std::int64_t value = 0;  // a count, or hundredths of a percent
  std::string text;        // normalised: "clps >= 5%"
};

namespace internal {

// Parses `text` against the rulebook's bodies. The byte, token and depth
// limits (rulebook.h) are checked by a tokenising pass before the recursive
// descent starts. Errors are kInvalidArgument, "at character N: what" (N
// counted from 1), for the caller to prefix with the file, line and field.
Result<std::shared_ptr<const Expr>> ParseExpr(std::string_view text,
                                              const std::vector<Body>& bodies);

}  // namespace internal
}  // namespace switchboard::contest
