#include "audit/migrations.h"

namespace switchboard::audit {
namespace {

// Version 2: the audit log (audit/audit_log.h). `body` holds the canonical
// bytes hashed as the Merkle leaf; the other event columns are for queries and
// must agree with it. Only `at` is indexed: an index on actor cost about a
// third of the durable append rate (bench/audit_bench.cc).
constexpr const char* kV2 = R"sql(
CREATE TABLE audit_events (
  seq {{int}} PRIMARY KEY,
  at {{int}} NOT NULL,
  actor {{int}},
  on_behalf_of {{int}},
  action TEXT NOT NULL,
  decision TEXT,
  rule TEXT,
  grant_id {{int}},
  members TEXT,
  field_classes TEXT,
  campaign {{int}},
  contest {{int}},
  request_id TEXT,
  client TEXT,
  body {{blob}} NOT NULL
);
CREATE INDEX audit_events_at ON audit_events(at);

CREATE TABLE audit_checkpoints (
  tree_size {{int}} PRIMARY KEY,
  root {{blob}} NOT NULL,
  at {{int}} NOT NULL,
  key_id TEXT NOT NULL,
  signature {{blob}} NOT NULL
);
)sql";

// Version 9, with member e-mail (messaging/migrations.cc): an event names the
// message it concerns.
constexpr const char* kV9 = R"sql(
ALTER TABLE audit_events ADD COLUMN message {{int}};
)sql";

// Version 16: checkpoints are C2SP signed notes. Rows from before keep
// format 1 (the legacy signed text) and no note; they verify as they are.
constexpr const char* kV16 = R"sql(
ALTER TABLE audit_checkpoints ADD COLUMN format {{int}} NOT NULL DEFAULT 1;
ALTER TABLE audit_checkpoints ADD COLUMN note TEXT;
)sql";

constexpr store::Migration kSteps[] = {
    {2, "audit", "audit log", kV2},
    {9, "audit", "audit events name their message", kV9},
    {16, "audit", "checkpoints as signed notes", kV16},
};

}  // namespace

std::span<const store::Migration> Migrations() { return kSteps; }

}  // namespace switchboard::audit
