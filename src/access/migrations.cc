#include "access/migrations.h"

namespace switchboard::access {
namespace {

// Version 3: accounts and grants (access control).
constexpr const char* kV3 = R"sql(
CREATE TABLE accounts (
  id {{pk}},
  login TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  member_id {{int}} REFERENCES members(id),
  staff {{int}} NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'active',
  state_reason TEXT,
  state_changed_at {{int}},
  password_hash TEXT,
  totp_key_id {{int}},
  totp_secret {{blob}},
  totp_last_step {{int}},
  created_at {{int}} NOT NULL
);

CREATE TABLE grants (
  id {{pk}},
  account_id {{int}} NOT NULL REFERENCES accounts(id),
  role TEXT NOT NULL,
  scope_unit {{int}} NOT NULL REFERENCES units(id),
  purpose TEXT NOT NULL,
  not_before {{int}} NOT NULL,
  not_after {{int}} NOT NULL,
  granted_by {{int}} REFERENCES accounts(id),
  reason TEXT NOT NULL,
  source TEXT NOT NULL,
  source_end {{int}},
  approved {{int}} NOT NULL,
  approved_by {{int}} REFERENCES accounts(id),
  approved_at {{int}},
  revoked_at {{int}},
  revoked_by {{int}} REFERENCES accounts(id),
  revoke_reason TEXT,
  created_at {{int}} NOT NULL,
  CHECK (not_after > not_before)
);
CREATE INDEX grants_account ON grants(account_id);
)sql";

// Version 4: sessions, recovery codes and sign-in throttling. A session is found by the
// SHA-256 of its token (the token itself is never stored); `kind` is the
// transport it was issued for ('cookie' sessions need a CSRF token on every
// state-changing request, 'bearer' ones are for API clients).
constexpr const char* kV4 = R"sql(
CREATE TABLE sessions (
  id {{pk}},
  token_hash TEXT NOT NULL UNIQUE,
  account_id {{int}} NOT NULL REFERENCES accounts(id),
  kind TEXT NOT NULL,
  second_factor {{int}} NOT NULL,
  csrf_hash TEXT,
  client TEXT,
  created_at {{int}} NOT NULL,
  last_seen_at {{int}} NOT NULL,
  expires_at {{int}} NOT NULL,
  revoked_at {{int}},
  revoke_reason TEXT
);
CREATE INDEX sessions_account ON sessions(account_id);

CREATE TABLE recovery_codes (
  account_id {{int}} NOT NULL REFERENCES accounts(id),
  code_hash TEXT NOT NULL,
  created_at {{int}} NOT NULL,
  used_at {{int}},
  PRIMARY KEY (account_id, code_hash)
);

CREATE TABLE login_throttle (
  subject TEXT PRIMARY KEY,
  failures {{int}} NOT NULL,
  window_start {{int}} NOT NULL,
  locked_until {{int}} NOT NULL
);
)sql";

// Version 5: quotas and anomaly rules (access/guard). quota_buckets holds one
// token bucket per (account, capability, period) in milli-tokens, with the
// instant its refill was last accounted for; a missing row is a full bucket.
// anomaly_hours counts record touches per account per clock hour (hours since
// the epoch), the rate rule's baseline; rows older than the baseline window
// are pruned. anomaly_state keeps the probing run and the hour of the last
// rate alert. alerts are the DPO's queue; `detail` holds ids and counts only.
constexpr const char* kV5 = R"sql(
CREATE TABLE quota_buckets (
  account_id {{int}} NOT NULL REFERENCES accounts(id),
  capability TEXT NOT NULL,
  period TEXT NOT NULL,
  milli_tokens {{int}} NOT NULL,
  updated_at {{int}} NOT NULL,
  PRIMARY KEY (account_id, capability, period)
);

CREATE TABLE anomaly_hours (
  account_id {{int}} NOT NULL REFERENCES accounts(id),
  hour {{int}} NOT NULL,
  touches {{int}} NOT NULL,
  PRIMARY KEY (account_id, hour)
);

CREATE TABLE anomaly_state (
  account_id {{int}} PRIMARY KEY REFERENCES accounts(id),
  probe_run {{int}} NOT NULL DEFAULT 0,
  rate_alert_hour {{int}} NOT NULL DEFAULT -1
);

CREATE TABLE alerts (
  id {{pk}},
  account_id {{int}} NOT NULL REFERENCES accounts(id),
  rule TEXT NOT NULL,
  severity TEXT NOT NULL,
  at {{int}} NOT NULL,
  detail TEXT NOT NULL,
  request_id TEXT,
  acknowledged_at {{int}},
  acknowledged_by {{int}} REFERENCES accounts(id),
  acknowledge_note TEXT
);
CREATE INDEX alerts_account ON alerts(account_id, at);
CREATE INDEX alerts_open ON alerts(at) WHERE acknowledged_at IS NULL;
)sql";

// Version 13: the access version (access/store/access_store.h), raised
// with every change to an existing account, grant or session, so that a
// server may keep a signed-in caller's session and grants between requests
// and still see a revocation at once.
constexpr const char* kV13 = R"sql(
CREATE TABLE access_version (
  id {{int}} PRIMARY KEY,
  n {{int}} NOT NULL
);
INSERT INTO access_version (id, n) VALUES (1, 0);
)sql";

// Version 14: probing counts refusals within a window (policy [anomaly]
// probe_window_minutes) that opens at the first refusal counted.
constexpr const char* kV14 = R"sql(
ALTER TABLE anomaly_state ADD COLUMN probe_since {{int}} NOT NULL DEFAULT 0;
)sql";

// Version 16: people sign themselves up and reset their passwords by a
// one-time link sent by e-mail (access/store/enrolment.h). A link is stored
// as the SHA-256 of its token; it names the member record it binds to, or
// the account it resets, or (non-members, where a campaign allows them) the
// address the person proved, sealed. account_addresses keeps such a proved
// address for a non-member account (sealed, with its blind index), so the
// account can reset its password. account_mail is the transactional outbox:
// the rendered mail (address, subject, text: the link) sealed until it has
// been handed to the relay, then emptied; messaging/account_mail.h delivers.
constexpr const char* kV16 = R"sql(
CREATE TABLE account_links (
  id {{pk}},
  token_hash TEXT NOT NULL UNIQUE,
  purpose TEXT NOT NULL,
  member_id {{int}} REFERENCES members(id) ON DELETE CASCADE,
  account_id {{int}} REFERENCES accounts(id),
  address_key_id {{int}},
  address_sealed {{blob}},
  address_index {{blob}},
  created_at {{int}} NOT NULL,
  expires_at {{int}} NOT NULL,
  used_at {{int}}
);

CREATE TABLE account_addresses (
  account_id {{int}} PRIMARY KEY REFERENCES accounts(id),
  key_id {{int}} NOT NULL,
  sealed {{blob}} NOT NULL,
  blind_index {{blob}} NOT NULL,
  verified_at {{int}} NOT NULL
);
CREATE INDEX account_addresses_blind ON account_addresses(blind_index);

CREATE TABLE account_mail (
  id {{pk}},
  purpose TEXT NOT NULL,
  key_id {{int}} NOT NULL,
  sealed {{blob}} NOT NULL,
  state TEXT NOT NULL,
  attempts {{int}} NOT NULL DEFAULT 0,
  next_attempt_at {{int}} NOT NULL,
  created_at {{int}} NOT NULL,
  updated_at {{int}} NOT NULL,
  smtp_code {{int}},
  detail TEXT
);
CREATE INDEX account_mail_due ON account_mail(state, next_attempt_at);
)sql";

constexpr store::Migration kSteps[] = {
    {3, "access", "accounts and grants", kV3},
    {4, "access", "sessions, recovery codes and sign-in throttling", kV4},
    {5, "access", "quotas and anomaly alerts", kV5},
    {13, "access", "the access version", kV13},
    {14, "access", "probing counted within a window", kV14},
    {16, "access", "self sign-up and password reset by e-mailed link", kV16},
};

}  // namespace

std::span<const store::Migration> Migrations() { return kSteps; }

}  // namespace switchboard::access
