#include "privacy/migrations.h"

#include <vector>

namespace switchboard::privacy {

namespace {

// Version 17: the DPO's queue of requests from members (RULEBOOK §10):
// subject access and erasure, each with the deadline it is tracked against
// (one month from receipt) and who closed it. The member id is the opaque
// register id, kept after an erasure.
constexpr const char* kV17Requests = R"sql(
CREATE TABLE privacy_requests (
  id {{pk}},
  kind TEXT NOT NULL,
  member_id {{int}} NOT NULL REFERENCES members(id),
  source TEXT NOT NULL,
  received_at {{int}} NOT NULL,
  due_at {{int}} NOT NULL,
  recorded_by {{int}} REFERENCES accounts(id),
  state TEXT NOT NULL,
  closed_at {{int}},
  closed_by {{int}} REFERENCES accounts(id)
);
CREATE INDEX privacy_requests_open ON privacy_requests(state, due_at);
)sql";

// Version 17: the breach register (privacy/breach.h). The affected members
// are a snapshot computed from the audit log: the scope it was computed for
// (an account or a campaign, and a time window), the count per field class
// (JSON), and one row per member with the classes its reads revealed.
constexpr const char* kV17Breaches = R"sql(
CREATE TABLE breaches (
  id {{pk}},
  discovered_at {{int}} NOT NULL,
  recorded_at {{int}} NOT NULL,
  recorded_by {{int}} REFERENCES accounts(id),
  description TEXT NOT NULL,
  data_categories TEXT NOT NULL,
  people_categories TEXT NOT NULL,
  consequences TEXT NOT NULL,
  measures TEXT NOT NULL,
  reported_at {{int}},
  notified_at {{int}},
  closed_at {{int}},
  updated_at {{int}} NOT NULL,
  scope_kind TEXT,
  scope_id {{int}},
  scope_from {{int}},
  scope_to {{int}},
  computed_at {{int}},
  affected {{int}} NOT NULL,
  class_counts TEXT
);
CREATE TABLE breach_members (
  breach_id {{int}} NOT NULL REFERENCES breaches(id),
  member_id {{int}} NOT NULL REFERENCES members(id),
  field_classes TEXT NOT NULL,
  events {{int}} NOT NULL,
  PRIMARY KEY (breach_id, member_id)
);
)sql";

// Version 17: one row per erased member (privacy/erasure.h): when, by whom,
// on request or by retention, and the DPO's note. The member row itself is
// the tombstone; this says why it is one.
constexpr const char* kV17Erasures = R"sql(
CREATE TABLE privacy_erasures (
  member_id {{int}} PRIMARY KEY REFERENCES members(id),
  at {{int}} NOT NULL,
  actor {{int}} REFERENCES accounts(id),
  kind TEXT NOT NULL,
  reason TEXT NOT NULL
);
)sql";

// Version 17: member exports (RULEBOOK §3, §10; docs/privacy.md, "Exports
// and leak tracing"). One row per request: who asked, over which unit, under
// which role and grant, for what purpose, the X25519 public key the file is
// sealed to, who approved, when it was produced with how many rows, and the
// audit events of each step (their sequence numbers). Its
// canaries: synthetic people of that file alone, sealed (purpose
// "export-canary") so a copy of the database cannot tell them apart, with the
// blind indexes of their e-mail address and phone number (the same keyed
// hashes as contact_points, so the send and call paths find them by index).
constexpr const char* kV17Exports = R"sql(
CREATE TABLE exports (
  id {{pk}},
  requested_by {{int}} NOT NULL REFERENCES accounts(id),
  scope_unit {{int}} NOT NULL REFERENCES units(id),
  role TEXT NOT NULL,
  grant_id {{int}},
  purpose TEXT NOT NULL,
  columns TEXT NOT NULL,
  recipient_key {{blob}} NOT NULL,
  state TEXT NOT NULL,
  requested_at {{int}} NOT NULL,
  approved_by {{int}} REFERENCES accounts(id),
  approved_at {{int}},
  produced_at {{int}},
  member_rows {{int}},
  canary_rows {{int}},
  request_seq {{int}},
  approve_seq {{int}},
  produce_seq {{int}}
);
CREATE INDEX exports_requester ON exports(requested_by, requested_at);

CREATE TABLE export_canaries (
  id {{pk}},
  export_id {{int}} NOT NULL REFERENCES exports(id),
  email_index {{blob}} NOT NULL,
  phone_index {{blob}} NOT NULL,
  key_id {{int}} NOT NULL,
  sealed {{blob}} NOT NULL
);
CREATE UNIQUE INDEX export_canaries_email ON export_canaries(email_index);
CREATE INDEX export_canaries_phone ON export_canaries(phone_index);
CREATE INDEX export_canaries_export ON export_canaries(export_id);
)sql";

// Version 18: an export can be withdrawn before it is downloaded: refused by
// an approver or cancelled by its requester (who, when, why, and the audit
// event of it).
constexpr const char* kV18ExportClose = R"sql(
ALTER TABLE exports ADD COLUMN closed_by {{int}} REFERENCES accounts(id);
ALTER TABLE exports ADD COLUMN closed_at {{int}};
ALTER TABLE exports ADD COLUMN close_reason TEXT;
ALTER TABLE exports ADD COLUMN close_seq {{int}};
)sql";

// Each part of the module adds its tables as a step of its own.
const std::vector<store::Migration> kSteps = {
    {17, "privacy", "subject-access and erasure requests", kV17Requests},
    {17, "privacy", "the breach register", kV17Breaches},
    {17, "privacy", "erasure records", kV17Erasures},
    {17, "privacy", "member exports and their canaries", kV17Exports},
    {18, "privacy", "refused and cancelled exports", kV18ExportClose},
};

}  // namespace

std::span<const store::Migration> Migrations() { return kSteps; }

}  // namespace switchboard::privacy
