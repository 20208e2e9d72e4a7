#include "phonebank/migrations.h"

namespace switchboard::phonebank {
namespace {

// Version 6: the phone bank (RULEBOOK §6). A campaign's audience is a
// segment (JSON, see phonebank/campaign.h) fixed when it goes live into
// campaign_targets, one row per member with its recall state and lease.
// contact_log is every contact attempt on any channel, for "not contacted
// since" audiences; it holds ids and outcomes only.
constexpr const char* kV6 = R"sql(
CREATE TABLE campaigns (
  id {{pk}},
  name TEXT NOT NULL,
  owner_id {{int}} NOT NULL REFERENCES accounts(id),
  scope_unit {{int}} NOT NULL REFERENCES units(id),
  purpose TEXT NOT NULL,
  audience TEXT NOT NULL,
  script TEXT NOT NULL,
  survey TEXT NOT NULL,
  fields TEXT NOT NULL,
  calling_start {{int}} NOT NULL,
  calling_end {{int}} NOT NULL,
  starts_at {{int}} NOT NULL,
  ends_at {{int}} NOT NULL,
  state TEXT NOT NULL,
  eligibility TEXT NOT NULL,
  pace TEXT NOT NULL,
  recall_minutes {{int}} NOT NULL,
  max_passes {{int}} NOT NULL,
  created_at {{int}} NOT NULL,
  updated_at {{int}} NOT NULL,
  CHECK (ends_at > starts_at)
);

CREATE TABLE campaign_invites (
  id {{pk}},
  campaign_id {{int}} NOT NULL REFERENCES campaigns(id),
  token_hash TEXT NOT NULL UNIQUE,
  label TEXT NOT NULL,
  created_by {{int}} NOT NULL REFERENCES accounts(id),
  created_at {{int}} NOT NULL,
  expires_at {{int}} NOT NULL,
  max_joins {{int}} NOT NULL,
  joins {{int}} NOT NULL DEFAULT 0,
  revoked_at {{int}}
);
CREATE INDEX campaign_invites_campaign ON campaign_invites(campaign_id);

CREATE TABLE campaign_callers (
  campaign_id {{int}} NOT NULL REFERENCES campaigns(id),
  account_id {{int}} NOT NULL REFERENCES accounts(id),
  invite_id {{int}} REFERENCES campaign_invites(id),
  grant_id {{int}} NOT NULL REFERENCES grants(id),
  joined_at {{int}} NOT NULL,
  PRIMARY KEY (campaign_id, account_id)
);

CREATE TABLE campaign_targets (
  campaign_id {{int}} NOT NULL REFERENCES campaigns(id),
  member_id {{int}} NOT NULL REFERENCES members(id),
  passes {{int}} NOT NULL DEFAULT 0,
  next_at {{int}} NOT NULL DEFAULT 0,
  done {{int}} NOT NULL DEFAULT 0,
  last_outcome TEXT,
  leased_by {{int}} REFERENCES accounts(id),
  lease_expires {{int}},
  PRIMARY KEY (campaign_id, member_id)
);
CREATE INDEX campaign_targets_queue ON campaign_targets(campaign_id, done, next_at);
CREATE INDEX campaign_targets_lease ON campaign_targets(campaign_id, leased_by);

CREATE TABLE calls (
  id {{pk}},
  campaign_id {{int}} NOT NULL REFERENCES campaigns(id),
  member_id {{int}} NOT NULL REFERENCES members(id),
  caller_id {{int}} NOT NULL REFERENCES accounts(id),
  connector TEXT NOT NULL,
  state TEXT NOT NULL,
  started_at {{int}} NOT NULL,
  connected_at {{int}},
  answered_at {{int}},
  ended_at {{int}},
  duration_seconds {{int}},
  outcome TEXT,
  answers TEXT,
  recorded_at {{int}}
);
CREATE INDEX calls_campaign ON calls(campaign_id, caller_id);

CREATE TABLE caller_endpoints (
  account_id {{int}} PRIMARY KEY REFERENCES accounts(id),
  key_id {{int}} NOT NULL,
  sealed {{blob}} NOT NULL,
  verify_hash TEXT,
  verified_at {{int}},
  created_at {{int}} NOT NULL
);

CREATE TABLE contact_log (
  id {{pk}},
  member_id {{int}} NOT NULL REFERENCES members(id),
  channel TEXT NOT NULL,
  campaign_id {{int}},
  outcome TEXT NOT NULL,
  at {{int}} NOT NULL
);
CREATE INDEX contact_log_member ON contact_log(member_id, at);
)sql";

// Version 8: a campaign's version, counting saved changes (live edits of the
// script and the fields shown to callers included; phonebank.h).
constexpr const char* kV8 = R"sql(
ALTER TABLE campaigns ADD COLUMN version {{int}} NOT NULL DEFAULT 1;
)sql";

// Version 10: the phone bank's queue in the order Next() hands out leases
// (passes, next_at, member_id). The lease query walks it and stops at the
// first callable target; the old index (done, next_at) only bounded next_at,
// so every lease sorted the whole due audience: 0.1 s per lease over 84,000
// targets, a few phone-bank requests a second (bench/phonebank_load.cc).
constexpr const char* kV10 = R"sql(
DROP INDEX campaign_targets_queue;
CREATE INDEX campaign_targets_queue ON campaign_targets(campaign_id, done, passes, next_at, member_id);
)sql";

// Version 11: Next() without walking other callers' leases. The queue's
// head is mostly targets leased to the callers at work (1,000 callers hold
// 1,000 leases), and the v10 index made every lease step over all of them.
// Free targets now have their own partial index in lease order, and leased
// ones an index by expiry, so that a lapsed lease (a caller who walked away)
// is found without a scan; Next() takes the better of the two. The v10
// queue index goes (SQLite preferred it to the partial one and stepped over
// the leases again); progress counts finished targets from their own partial
// index. The pace limits count a caller's calls by start time.
constexpr const char* kV11 = R"sql(
DROP INDEX campaign_targets_queue;
CREATE INDEX campaign_targets_done ON campaign_targets(campaign_id) WHERE done = 1;
CREATE INDEX campaign_targets_free ON campaign_targets(campaign_id, passes, next_at, member_id) WHERE done = 0 AND leased_by IS NULL;
CREATE INDEX campaign_targets_leased ON campaign_targets(campaign_id, lease_expires) WHERE done = 0 AND leased_by IS NOT NULL;
DROP INDEX calls_campaign;
CREATE INDEX calls_campaign ON calls(campaign_id, caller_id, started_at);
)sql";

// Version 12: a lease names its call. Next() writes the call row when it
// leases a member; connect and outcome used to find it again with
// MAX(id) over the caller's calls in the campaign, a walk that grows with
// every call the caller has made (a fifth of the writer's time in P3).
// Leases taken before this version have none and are found the old way.
constexpr const char* kV12 = R"sql(
ALTER TABLE campaign_targets ADD COLUMN lease_call {{int}};
)sql";

// Version 17: why a call ended (phonebank/connector.h, CallState::end), for
// real calls through a SIP trunk as for the sandbox.
constexpr const char* kV17 = R"sql(
ALTER TABLE calls ADD COLUMN end_reason TEXT;
)sql";

// Version 17: what the SIP connector needs to hang up a leg after a crash
// (phonebank/sip_connector.h). The dialog's identifiers and the remote URIs,
// which may name a phone number, sealed together; a row lives while its
// call is up.
constexpr const char* kV17SipLegs = R"sql(
CREATE TABLE sip_legs (
  call_id {{int}} NOT NULL REFERENCES calls(id),
  leg TEXT NOT NULL,
  key_id {{int}} NOT NULL,
  sealed {{blob}} NOT NULL,
  created_at {{int}} NOT NULL,
  PRIMARY KEY (call_id, leg)
);
)sql";

// Version 17: calls going on now, counted for the concurrency limits and the
// organiser's live view on every connect, without walking every call ever
// made.
constexpr const char* kV17Active = R"sql(
CREATE INDEX calls_active ON calls(campaign_id)
  WHERE state IN ('calling_you', 'calling_member', 'connected');
)sql";

// Version 18: a campaign's own caller ID (one of the organisation's numbers
// in [telephony]) and how long the member's phone rings; NULL: the server's
// defaults. A call records what its connection used, so that an edit while
// it rings changes nothing for it and the carrier's log can be matched.
// Version 19: every call still live in any of the five states a connector
// uses, so that settling the sandbox's due calls on each connect (and the
// reconciliation at start) reads the calls going on, not every call ever made.
constexpr const char* kV19Live = R"sql(
CREATE INDEX calls_live ON calls(state)
  WHERE state IN ('calling_you', 'calling_member', 'connected', 'ringing', 'answered');
)sql";

constexpr const char* kV18CallerId = R"sql(
ALTER TABLE campaigns ADD COLUMN caller_id_number TEXT;
ALTER TABLE campaigns ADD COLUMN ring_seconds {{int}};
ALTER TABLE calls ADD COLUMN caller_id_number TEXT;
ALTER TABLE calls ADD COLUMN ring_seconds {{int}};
)sql";

constexpr store::Migration kSteps[] = {
    {6, "phonebank", "phone bank", kV6},
    {8, "phonebank", "campaign versions", kV8},
    {10, "phonebank", "the phone-bank queue in lease order", kV10},
    {11, "phonebank", "the phone-bank queue: free and leased targets apart", kV11},
    {12, "phonebank", "a phone-bank lease names its call", kV12},
    {17, "phonebank", "why a call ended", kV17},
    {17, "phonebank", "sip legs", kV17SipLegs},
    {17, "phonebank", "an index of the calls going on now", kV17Active},
    {18, "phonebank", "a campaign's caller ID and ring time", kV18CallerId},
    {19, "phonebank", "an index of every live call", kV19Live},
};

}  // namespace

std::span<const store::Migration> Migrations() { return kSteps; }

}  // namespace switchboard::phonebank
