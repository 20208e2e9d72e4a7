// The qualification expression: tokeniser, parser and evaluation (Qualify).
#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "contest/internal/expr.h"
#include "contest/rulebook.h"

namespace switchboard::contest {

namespace internal {

namespace {

enum class Tok { kLParen, kRParen, kGe, kGt, kPercent, kNumber, kWord, kEnd };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;
  size_t at = 0;  // character, from 1
};

Status At(size_t at, const std::string& what) {
  return Status::InvalidArgument("at character " + std::to_string(at) + ": " + what);
}

bool IsWordStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsWordChar(char c) { return IsWordStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// One pass over the text, before any parsing: the tokens, with the token
// count and the depth of parentheses checked as they are met.
Result<std::vector<Token>> Tokenise(std::string_view s) {
  if (s.size() > kMaxExpressionBytes) {
    return Status::InvalidArgument("longer than " + std::to_string(kMaxExpressionBytes) + " bytes");
  }
  std::vector<Token> out;
  std::vector<size_t> open;  // where each unclosed '(' is
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    const size_t at = i + 1;  // everything before a non-ASCII byte is ASCII
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    if (out.size() == static_cast<size_t>(kMaxExpressionTokens)) {
      return At(at, "more than " + std::to_string(kMaxExpressionTokens) + " tokens");
    }
    Token t;
    t.at = at;
    if (c == '(') {
      if (open.size() == static_cast<size_t>(kMaxExpressionDepth)) {
        return At(at, "parentheses nested deeper than " + std::to_string(kMaxExpressionDepth) +
                          " levels");
      }
      open.push_back(at);
      t.kind = Tok::kLParen;
      t.text = "(";
      ++i;
    } else if (c == ')') {
      if (open.empty()) return At(at, "')' without a matching '('");
      open.pop_back();
      t.kind = Tok::kRParen;
      t.text = ")";
      ++i;
    } else if (c == '>') {
      const bool ge = i + 1 < s.size() && s[i + 1] == '=';
      t.kind = ge ? Tok::kGe : Tok::kGt;
      t.text = ge ? ">=" : ">";
      i += ge ? 2 : 1;
    } else if (c == '%') {
      t.kind = Tok::kPercent;
      t.text = "%";
      ++i;
    } else if (IsDigit(c)) {
      size_t j = i;
      while (j < s.size() && (IsDigit(s[j]) || s[j] == '.')) ++j;
      t.kind = Tok::kNumber;
      t.text = std::string(s.substr(i, j - i));
      i = j;
    } else if (IsWordStart(c)) {
      size_t j = i;
      while (j < s.size() && (IsWordChar(s[j]) || s[j] == '.')) ++j;
      t.kind = Tok::kWord;
      t.text = std::string(s.substr(i, j - i));
      i = j;
    } else if (c == '<' || c == '=' || c == '!') {
      return At(at, "unexpected '" + std::string(1, c) + "': a threshold is written with >= or >");
    } else if (static_cast<unsigned char>(c) >= 0x80 || static_cast<unsigned char>(c) < 0x20) {
      return At(at, "unexpected character (only ASCII letters, digits, spaces, ( ) >= > % .)");
    } else {
      return At(at, "unexpected '" + std::string(1, c) + "'");
    }
    out.push_back(std::move(t));
  }
  if (!open.empty()) return At(open.back(), "'(' is never closed");
  Token end;
  end.at = s.size() + 1;
  out.push_back(end);
  return out;
}

std::string Describe(const Token& t) {
  return t.kind == Tok::kEnd ? std::string("the end") : "'" + t.text + "'";
}

// A number as written: an integer, or for a percentage up to two decimals.
// `*value` is the integer, or the percentage in hundredths.
Status ParseNumber(const Token& t, bool percent, std::int64_t* value) {
  const std::string& s = t.text;
  const size_t dot = s.find('.');
  std::string whole = s.substr(0, dot);
  std::string frac = dot == std::string::npos ? "" : s.substr(dot + 1);
  if (dot != std::string::npos && (frac.empty() || frac.find('.') != std::string::npos)) {
    return At(t.at, "'" + s + "' is not a number");
  }
  if (!percent && dot != std::string::npos) {
    return At(t.at, "'" + s + "': a count is a whole number (decimals only in a percentage)");
  }
  if (frac.size() > 2) return At(t.at, "'" + s + "%': at most two decimal places");
  while (whole.size() > 1 && whole[0] == '0') whole.erase(0, 1);
  if (whole.size() > 12) return At(t.at, "'" + s + "' is too large");
  std::int64_t v = 0;
  for (char c : whole) v = v * 10 + (c - '0');
  if (percent) {
    frac.resize(2, '0');
    v = v * 100 + (frac[0] - '0') * 10 + (frac[1] - '0');
    if (v > 10'000) return At(t.at, "'" + s + "%' is more than 100%");
  }
  *value = v;
  return Status::Ok();
}

class Parser {
 public:
  Parser(const std::vector<Token>& toks, const std::vector<Body>& bodies)
      : toks_(toks), bodies_(bodies) {}

  Result<Expr> Parse() {
    SB_ASSIGN_OR_RETURN(Expr e, Or());
    if (Peek().kind != Tok::kEnd) {
      return At(Peek().at, "expected 'and', 'or' or the end, found " + Describe(Peek()));
    }
    return e;
  }

 private:
  const Token& Peek() const { return toks_[pos_]; }
  bool IsKeyword(std::string_view k) const { return Peek().kind == Tok::kWord && Peek().text == k; }

  Result<Expr> Or() {
    SB_ASSIGN_OR_RETURN(Expr first, And());
    if (!IsKeyword("or")) return first;
    Expr e;
    e.kind = Expr::Kind::kOr;
    e.children.push_back(std::move(first));
    while (IsKeyword("or")) {
      ++pos_;
      SB_ASSIGN_OR_RETURN(Expr next, And());
      e.children.push_back(std::move(next));
    }
    return e;
  }

  Result<Expr> And() {
    SB_ASSIGN_OR_RETURN(Expr first, Atom());
    if (!IsKeyword("and")) return first;
    Expr e;
    e.kind = Expr::Kind::kAnd;
    e.children.push_back(std::move(first));
    while (IsKeyword("and")) {
      ++pos_;
      SB_ASSIGN_OR_RETURN(Expr next, Atom());
      e.children.push_back(std::move(next));
    }
    return e;
  }

  // Recursion happens only here, once per '(' — which the tokeniser has
  // already limited to kMaxExpressionDepth levels.
  Result<Expr> Atom() {
    const Token& t = Peek();
    if (t.kind == Tok::kLParen) {
      ++pos_;
      SB_ASSIGN_OR_RETURN(Expr e, Or());
      if (Peek().kind != Tok::kRParen) {
        return At(Peek().at, "expected ')' to close the '(' at character " + std::to_string(t.at) +
                                 ", found " + Describe(Peek()));
      }
      ++pos_;
      return e;
    }
    return Compare();
  }

  Result<Expr> Compare() {
    const Token& m = Peek();
    if (m.kind != Tok::kWord || m.text == "and" || m.text == "or") {
      return At(m.at, "expected a body's name or '(', found " + Describe(m));
    }
    Expr e;
    const size_t dot = m.text.find('.');
    e.body = m.text.substr(0, dot);
    const Body* body = nullptr;
    for (const Body& b : bodies_) {
      if (b.id == e.body) body = &b;
    }
    if (!body) {
      std::string known;
      for (const Body& b : bodies_) known += (known.empty() ? "" : ", ") + b.id;
      return At(m.at, "no body '" + e.body + "' (the [bodies.<id>] tables define: " +
                          (known.empty() ? "none" : known) + ")");
    }
    if (dot != std::string::npos) {
      const std::string suffix = m.text.substr(dot);
      if (suffix == ".unions") {
        e.measure = Measure::kUnions;
      } else if (suffix == ".membership") {
        e.measure = Measure::kMembership;
      } else {
        return At(m.at + dot, "unknown measure '" + suffix + "'; use .unions or .membership");
      }
      if (body->kind != BodyKind::kAffiliates) {
        return At(m.at + dot, "'" + suffix + "' counts affiliates, but body '" + e.body +
                                  "' has kind \"" + std::string(BodyKindName(body->kind)) + "\"");
      }
    }
    ++pos_;
    const Token& op = Peek();
    if (op.kind != Tok::kGe && op.kind != Tok::kGt) {
      return At(op.at, "expected >= or > after '" + m.text + "', found " + Describe(op));
    }
    e.strict = op.kind == Tok::kGt;
    ++pos_;
    const Token& num = Peek();
    if (num.kind != Tok::kNumber) {
      return At(num.at, "expected a number after '" + op.text + "', found " + Describe(num));
    }
    ++pos_;
    e.percent = Peek().kind == Tok::kPercent;
    if (e.percent) ++pos_;
    SB_RETURN_IF_ERROR(ParseNumber(num, e.percent, &e.value));
    e.kind = Expr::Kind::kCompare;
    e.text = m.text + " " + op.text + " " + num.text + (e.percent ? "%" : "");
    return e;
  }

  const std::vector<Token>& toks_;
  const std::vector<Body>& bodies_;
  size_t pos_ = 0;
};

}  // namespace

Result<std::shared_ptr<const Expr>> ParseExpr(std::string_view text,
                                              const std::vector<Body>& bodies) {
  SB_ASSIGN_OR_RETURN(std::vector<Token> toks, Tokenise(text));
  if (toks.size() == 1) return Status::InvalidArgument("the expression is empty");
  Parser p(toks, bodies);
  SB_ASSIGN_OR_RETURN(Expr e, p.Parse());
  return std::shared_ptr<const Expr>(std::make_shared<Expr>(std::move(e)));
}

}  // namespace internal

namespace {

// What each body's nominators add up to, validated.
struct Tally {
  std::int64_t count = 0, unions = 0, membership = 0;
  std::int64_t size = 0;              // what a count's percentage is of
  std::int64_t union_total = 0;       // affiliates bodies: unions listed
  std::int64_t membership_total = 0;  // affiliates bodies: members represented
  bool has_size = false;
};

constexpr std::int64_t kMaxUnitCount = 1'000'000'000;

Result<std::map<std::string, Tally, std::less<>>> Count(
    const Rulebook& rb, const Nominations& nominations,
    const std::map<std::string, std::int64_t, std::less<>>& unit_counts) {
  for (const auto& [id, who] : nominations) {
    if (!rb.FindBody(id)) {
      return Status::InvalidArgument("nominations for '" + id + "', which is not a body of " +
                                     rb.id);
    }
  }
  std::map<std::string, Tally, std::less<>> out;
  for (const Body& b : rb.bodies) {
    Tally& t = out[b.id];
    std::set<std::string_view> seen;
    if (auto it = nominations.find(b.id); it != nominations.end()) {
      for (const std::string& n : it->second) {
        if (n.empty()) return Status::InvalidArgument(b.id + ": an empty nominator");
        seen.insert(n);
      }
    }
    t.count = static_cast<std::int64_t>(seen.size());
    switch (b.kind) {
      case BodyKind::kPeople:
        t.size = b.size;
        t.has_size = true;
        if (t.count > t.size) {
          return Status::InvalidArgument(b.id + ": " + std::to_string(t.count) +
                                         " nominators, but the body has " + std::to_string(t.size));
        }
        break;
      case BodyKind::kUnits:
        if (auto u = unit_counts.find(b.id); u != unit_counts.end()) {
          if (u->second < 0 || u->second > kMaxUnitCount) {
            return Status::InvalidArgument(b.id + ": a unit count out of range");
          }
          t.size = u->second;
          t.has_size = true;
          if (t.count > t.size) {
            return Status::InvalidArgument(b.id + ": " + std::to_string(t.count) +
                                           " nominating units, but only " + std::to_string(t.size) +
                                           " may nominate");
          }
        }
        break;
      case BodyKind::kAffiliates: {
        t.size = static_cast<std::int64_t>(b.affiliates.size());
        t.has_size = true;
        std::map<std::string_view, const Affiliate*> by_id;
        for (const Affiliate& a : b.affiliates) {
          by_id[a.id] = &a;
          t.union_total += a.trade_union ? 1 : 0;
          t.membership_total += a.membership;
        }
        for (std::string_view n : seen) {
          auto a = by_id.find(n);
          if (a == by_id.end()) {
            return Status::InvalidArgument(b.id + ": '" + std::string(n) +
                                           "' is not an affiliate listed in the rulebook");
          }
          t.unions += a->second->trade_union ? 1 : 0;
          t.membership += a->second->membership;
        }
        break;
      }
    }
  }
  return out;
}

std::int64_t CeilDiv(std::int64_t a, std::int64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

Result<Clause> Evaluate(const Expr& e, const std::map<std::string, Tally, std::less<>>& tallies) {
  const auto it = tallies.find(e.body);
  if (it == tallies.end()) {
    return Status::InvalidArgument("the expression names '" + e.body + "', not a body here");
  }
  const Tally& t = it->second;
  Clause c;
  c.text = e.text;
  std::int64_t of = t.size;
  switch (e.measure) {
    case Measure::kCount:
      c.have = t.count;
      break;
    case Measure::kUnions:
      c.have = t.unions;
      of = t.union_total;
      break;
    case Measure::kMembership:
      c.have = t.membership;
      of = t.membership_total;
      break;
  }
  if (e.percent) {
    if (e.measure == Measure::kCount && !t.has_size) {
      return Status::InvalidArgument(e.body + ": how many units may nominate is not known");
    }
    c.of = of;
    // of <= 10^13 and value <= 10^4: no overflow.
    const std::int64_t scaled = of * e.value;
    c.need = e.strict ? scaled / 10'000 + 1 : CeilDiv(scaled, 10'000);
    // A percentage of nothing is never met.
    c.met = of > 0 && c.have >= c.need;
  } else {
    c.need = e.strict ? e.value + 1 : e.value;
    c.met = c.have >= c.need;
  }
  return c;
}

std::string Annotate(const Clause& c) {
  std::string s = c.text + " (" + (c.met ? "met" : "not met") + ": " + std::to_string(c.have);
  if (c.of > 0 || c.text.back() == '%') s += " of " + std::to_string(c.of);
  return s + ", needs " + std::to_string(c.need) + ")";
}

// Evaluates every clause (no short cut, so each is shown), in order. The
// depth is bounded by the parser's limit on parentheses.
Result<bool> Walk(const Expr& e, const std::map<std::string, Tally, std::less<>>& tallies,
                  std::vector<Clause>* clauses, std::string* text) {
  if (e.kind == Expr::Kind::kCompare) {
    SB_ASSIGN_OR_RETURN(Clause c, Evaluate(e, tallies));
    *text += Annotate(c);
    const bool met = c.met;
    clauses->push_back(std::move(c));
    return met;
  }
  const bool is_and = e.kind == Expr::Kind::kAnd;
  bool result = is_and;
  for (size_t i = 0; i < e.children.size(); ++i) {
    if (i > 0) *text += is_and ? " and " : " or ";
    const Expr& child = e.children[i];
    const bool paren = is_and && child.kind == Expr::Kind::kOr;
    if (paren) *text += "(";
    SB_ASSIGN_OR_RETURN(bool v, Walk(child, tallies, clauses, text));
    if (paren) *text += ")";
    result = is_and ? (result && v) : (result || v);
  }
  return result;
}

}  // namespace

Result<Qualification> Qualify(const Rulebook& rb, const Nominations& nominations,
                              const std::map<std::string, std::int64_t, std::less<>>& unit_counts) {
  if (!rb.expr) return Status::FailedPrecondition("the rulebook has no parsed expression");
  SB_ASSIGN_OR_RETURN(auto tallies, Count(rb, nominations, unit_counts));
  Qualification q;
  std::string text;
  SB_ASSIGN_OR_RETURN(q.qualified, Walk(*rb.expr, tallies, &q.clauses, &text));
  q.explanation = (q.qualified ? "qualified: " : "not qualified: ") + text;
  return q;
}

}  // namespace switchboard::contest
