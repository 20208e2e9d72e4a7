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

// Each part of the module adds its tables as a step of its own.
const std::vector<store::Migration> kSteps = {
    {17, "privacy", "subject-access and erasure requests", kV17Requests},
    {17, "privacy", "erasure records", kV17Erasures},
};

}  // namespace

std::span<const store::Migration> Migrations() { return kSteps; }

}  // namespace switchboard::privacy
