#include "members/migrations.h"

namespace switchboard::members {
namespace {

// Version 1: the organisation tree and the member register.
constexpr const char* kV1 = R"sql(
CREATE TABLE units (
  id {{pk}},
  code TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  parent_id {{int}} REFERENCES units(id),
  synthetic {{int}} NOT NULL DEFAULT 0
);
CREATE INDEX units_parent ON units(parent_id);
CREATE INDEX units_name ON units(name);

CREATE TABLE members (
  id {{pk}},
  source TEXT NOT NULL,
  external_id TEXT NOT NULL,
  unit_id {{int}} NOT NULL REFERENCES units(id),
  branch_id {{int}} REFERENCES units(id),
  first_name TEXT NOT NULL,
  last_name TEXT NOT NULL,
  birth_year {{int}},
  postcode_district TEXT,
  status TEXT NOT NULL,
  membership_type TEXT NOT NULL,
  joined_on {{int}},
  lapsed_on {{int}},
  consents {{int}} NOT NULL DEFAULT 0,
  suppressions {{int}} NOT NULL DEFAULT 0,
  content_hash {{blob}} NOT NULL,
  created_at {{int}} NOT NULL,
  updated_at {{int}} NOT NULL,
  UNIQUE (source, external_id)
);
CREATE INDEX members_unit ON members(unit_id);

CREATE TABLE contact_points (
  id {{pk}},
  member_id {{int}} NOT NULL REFERENCES members(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  label TEXT NOT NULL,
  key_id {{int}} NOT NULL,
  sealed {{blob}} NOT NULL,
  blind_index {{blob}} NOT NULL,
  valid {{int}} NOT NULL DEFAULT 1,
  created_at {{int}} NOT NULL,
  UNIQUE (member_id, kind, label)
);
CREATE INDEX contact_points_blind ON contact_points(blind_index);

CREATE TABLE consent_events (
  id {{pk}},
  member_id {{int}} NOT NULL REFERENCES members(id) ON DELETE CASCADE,
  at {{int}} NOT NULL,
  consents {{int}} NOT NULL,
  source TEXT NOT NULL
);
CREATE INDEX consent_events_member ON consent_events(member_id);

CREATE TABLE suppression_events (
  id {{pk}},
  member_id {{int}} NOT NULL REFERENCES members(id) ON DELETE CASCADE,
  at {{int}} NOT NULL,
  suppressions {{int}} NOT NULL,
  source TEXT NOT NULL
);
CREATE INDEX suppression_events_member ON suppression_events(member_id);

CREATE TABLE canaries (
  member_id {{int}} PRIMARY KEY REFERENCES members(id) ON DELETE CASCADE,
  planted_at {{int}} NOT NULL,
  purpose TEXT NOT NULL
);

CREATE TABLE postcodes (
  postcode TEXT PRIMARY KEY,
  unit_id {{int}} NOT NULL REFERENCES units(id)
);
)sql";

// Version 16: import reports a possible duplicate by name and postcode
// district, so it looks members up by them.
constexpr const char* kV16 = R"sql(
CREATE INDEX members_district_name ON members(postcode_district, lower(last_name));
)sql";

// Version 17: what outlives an erasure (docs/privacy.md). The keyed hash
// (blind index) of an erased e-mail address or phone number, so that a
// re-import or a send never reaches it again; no member id, no plaintext.
constexpr const char* kV17 = R"sql(
CREATE TABLE contact_suppressions (
  id {{pk}},
  kind TEXT NOT NULL,
  blind_index {{blob}} NOT NULL,
  reason TEXT NOT NULL,
  created_at {{int}} NOT NULL,
  UNIQUE (kind, blind_index)
);
)sql";

// Version 19: the canary check on every hand-off and connect
// (members::CanariesHolding) looks contact points up by blind index and kind
// and needs only their member: an index covering all three answers it
// without reading a row, even when a number is shared by many members. It
// replaces the index on blind_index alone, which is its prefix.
constexpr const char* kV19 = R"sql(
CREATE INDEX contact_points_blind_kind ON contact_points(blind_index, kind, member_id);
DROP INDEX contact_points_blind;
)sql";

constexpr store::Migration kSteps[] = {
    {1, "members", "organisation tree and member register", kV1},
    {16, "members", "members by postcode district and name", kV16},
    {17, "members", "contact suppressions that outlive an erasure", kV17},
    {19, "members", "contact points by blind index, kind and member", kV19},
};

}  // namespace

std::span<const store::Migration> Migrations() { return kSteps; }

}  // namespace switchboard::members
