#include "contest/migrations.h"

namespace switchboard::contest {
namespace {

// Version 15: internal elections (RULEBOOK §8). A contest keeps every version
// of its rulebook (the one in force, superseded ones, a proposed change
// waiting for its second approver). Nominations: one per nominator per
// contest. contest_candidates records when each candidate qualified and when
// their grants start (the same instant for all released together). The
// ledger holds facilities used by candidate campaigns and the matching
// entitlements of their rivals. contest_version is bumped by every change,
// so servers re-read contests only when one changed.
constexpr const char* kV15 = R"sql(
CREATE TABLE contests (
  id {{pk}},
  slug TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  version {{int}} NOT NULL,
  scope_unit {{int}} NOT NULL REFERENCES units(id),
  released_at {{int}},
  created_at {{int}} NOT NULL
);

CREATE TABLE contest_rulebooks (
  contest_id {{int}} NOT NULL REFERENCES contests(id),
  version {{int}} NOT NULL,
  text TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  state TEXT NOT NULL,
  proposed_by {{int}} REFERENCES accounts(id),
  proposed_at {{int}} NOT NULL,
  approved_by {{int}} REFERENCES accounts(id),
  approved_at {{int}},
  PRIMARY KEY (contest_id, version)
);

CREATE TABLE contest_nominations (
  id {{pk}},
  contest_id {{int}} NOT NULL REFERENCES contests(id),
  body TEXT NOT NULL,
  nominator TEXT NOT NULL,
  candidate TEXT NOT NULL,
  decided_by TEXT NOT NULL,
  meeting_on {{int}} NOT NULL,
  votes_for {{int}} NOT NULL,
  votes_against {{int}} NOT NULL,
  votes_abstaining {{int}} NOT NULL,
  recorded_by {{int}} REFERENCES accounts(id),
  recorded_at {{int}} NOT NULL,
  UNIQUE (contest_id, body, nominator)
);

CREATE TABLE contest_candidates (
  contest_id {{int}} NOT NULL REFERENCES contests(id),
  candidate TEXT NOT NULL,
  qualified_at {{int}} NOT NULL,
  access_from {{int}} NOT NULL,
  PRIMARY KEY (contest_id, candidate)
);

CREATE TABLE contest_ledger (
  id {{pk}},
  contest_id {{int}} NOT NULL REFERENCES contests(id),
  at {{int}} NOT NULL,
  candidate TEXT NOT NULL,
  entry TEXT NOT NULL,
  facility TEXT NOT NULL,
  size {{int}} NOT NULL,
  ref TEXT NOT NULL,
  matches {{int}},
  used_at {{int}},
  used_ref TEXT,
  account_id {{int}} REFERENCES accounts(id)
);
CREATE INDEX contest_ledger_contest ON contest_ledger(contest_id, candidate);

CREATE TABLE contest_version (
  id {{int}} PRIMARY KEY,
  n {{int}} NOT NULL
);
INSERT INTO contest_version (id, n) VALUES (1, 0);
)sql";

constexpr store::Migration kSteps[] = {
    {15, "contest", "internal elections: rulebooks, nominations, candidates, ledger", kV15},
};

}  // namespace

std::span<const store::Migration> Migrations() { return kSteps; }

}  // namespace switchboard::contest
