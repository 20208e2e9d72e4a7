#include "store/migrations.h"

#include <chrono>

namespace switchboard::store {

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

CREATE TABLE settings (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql";

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

// Version 7: lets the audience index (segment/) find members changed since
// its last sync without scanning the table (56 ms -> 8 ms at 1 M members).
constexpr const char* kV7 = R"sql(
CREATE INDEX members_updated ON members(updated_at);
)sql";

// Version 8: a campaign's version, counting saved changes (live edits of the
// script and the fields shown to callers included; phonebank.h).
constexpr const char* kV8 = R"sql(
ALTER TABLE campaigns ADD COLUMN version {{int}} NOT NULL DEFAULT 1;
)sql";

// Version 9: member e-mail (RULEBOOK §7). A message is versioned; approvals
// bind to one version and its content hash, so any edit voids them. The
// outbox holds one row per (message, recipient): the idempotency key. Rows
// move queued -> handed (committed just before the end-of-data marker goes to
// the relay, re-checking consent) -> sent, or deferred / failed / bounced /
// suppressed / cancelled. Suppression-list entries are blind indexes (from plain
// addresses) or a previous provider's SHA-256 hashes, never addresses.
constexpr const char* kV9 = R"sql(
CREATE TABLE messages (
  id {{pk}},
  author_id {{int}} NOT NULL REFERENCES accounts(id),
  scope_unit {{int}} NOT NULL REFERENCES units(id),
  from_kind TEXT NOT NULL,
  from_unit {{int}} REFERENCES units(id),
  from_account {{int}} REFERENCES accounts(id),
  from_name TEXT NOT NULL,
  kind TEXT NOT NULL,
  audience TEXT NOT NULL,
  subject TEXT NOT NULL,
  text_body TEXT NOT NULL,
  html_body TEXT NOT NULL,
  version {{int}} NOT NULL,
  content_hash TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at {{int}} NOT NULL,
  updated_at {{int}} NOT NULL,
  sent_by {{int}} REFERENCES accounts(id),
  sent_role TEXT,
  queued_at {{int}},
  completed_at {{int}},
  recipients {{int}}
);
CREATE INDEX messages_author ON messages(author_id);
CREATE INDEX messages_from_account ON messages(from_account);

CREATE TABLE message_approvals (
  id {{pk}},
  message_id {{int}} NOT NULL REFERENCES messages(id),
  version {{int}} NOT NULL,
  content_hash TEXT NOT NULL,
  kind TEXT NOT NULL,
  account_id {{int}} NOT NULL REFERENCES accounts(id),
  at {{int}} NOT NULL,
  UNIQUE (message_id, version, kind, account_id)
);

CREATE TABLE message_checks (
  id {{pk}},
  message_id {{int}} NOT NULL REFERENCES messages(id),
  version {{int}} NOT NULL,
  rule TEXT NOT NULL,
  passed {{int}} NOT NULL,
  detail TEXT NOT NULL,
  at {{int}} NOT NULL
);
CREATE INDEX message_checks_message ON message_checks(message_id);

CREATE TABLE outbox (
  id {{pk}},
  message_id {{int}} NOT NULL REFERENCES messages(id),
  member_id {{int}} NOT NULL REFERENCES members(id),
  state TEXT NOT NULL,
  attempts {{int}} NOT NULL DEFAULT 0,
  next_attempt_at {{int}} NOT NULL,
  updated_at {{int}} NOT NULL,
  smtp_code {{int}},
  detail TEXT,
  UNIQUE (message_id, member_id)
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
CREATE INDEX outbox_message ON outbox(message_id, state);

CREATE TABLE email_suppressions (
  id {{pk}},
  hash_kind TEXT NOT NULL,
  hash {{blob}} NOT NULL,
  reason TEXT NOT NULL,
  source TEXT NOT NULL,
  imported_at {{int}} NOT NULL,
  UNIQUE (hash_kind, hash)
);

CREATE TABLE email_bounces (
  member_id {{int}} PRIMARY KEY REFERENCES members(id),
  hard_count {{int}} NOT NULL,
  last_at {{int}} NOT NULL,
  last_code {{int}}
);

CREATE TABLE unsubscribes (
  id {{pk}},
  member_id {{int}} NOT NULL REFERENCES members(id),
  message_id {{int}},
  at {{int}} NOT NULL,
  how TEXT NOT NULL
);
CREATE INDEX unsubscribes_message ON unsubscribes(message_id);

ALTER TABLE audit_events ADD COLUMN message {{int}};
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

// Probing counts refusals within a window (policy [anomaly]
// probe_window_minutes) that opens at the first refusal counted.
constexpr const char* kV14 = R"sql(
ALTER TABLE anomaly_state ADD COLUMN probe_since {{int}} NOT NULL DEFAULT 0;
)sql";

void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
}

// Splits a script at ';' that ends a line.
std::vector<std::string> SplitStatements(const std::string& script) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < script.size(); ++i) {
    cur += script[i];
    if (script[i] == ';' && (i + 1 == script.size() || script[i + 1] == '\n')) {
      out.push_back(cur);
      cur.clear();
    }
  }
  if (cur.find_first_not_of(" \n\t") != std::string::npos) out.push_back(cur);
  return out;
}

}  // namespace

const std::vector<Migration>& AllMigrations() {
  static const std::vector<Migration> kAll = {
      {1, "organisation tree and member register", kV1},
      {2, "audit log", kV2},
      {3, "accounts and grants", kV3},
      {4, "sessions, recovery codes and sign-in throttling", kV4},
      {5, "quotas and anomaly alerts", kV5},
      {6, "phone bank", kV6},
      {7, "members by update time", kV7},
      {8, "campaign versions", kV8},
      {9, "member e-mail: messages, approvals, outbox, suppressions", kV9},
      {10, "the phone-bank queue in lease order", kV10},
      {11, "the phone-bank queue: free and leased targets apart", kV11},
      {12, "a phone-bank lease names its call", kV12},
      {13, "the access version", kV13},
      {14, "probing counted within a window", kV14},
  };
  return kAll;
}

std::string ExpandDialect(std::string_view sql, Dialect dialect) {
  std::string s(sql);
  const bool pg = dialect == Dialect::kPostgres;
  ReplaceAll(s, "{{pk}}",
             pg ? "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" : "INTEGER PRIMARY KEY");
  ReplaceAll(s, "{{int}}", pg ? "BIGINT" : "INTEGER");
  ReplaceAll(s, "{{blob}}", pg ? "BYTEA" : "BLOB");
  return s;
}

Result<int> ReadSchemaVersion(Tx& tx) {
  auto v = tx.QueryInt("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!v) return v.error().WithContext("reading the schema version");
  return static_cast<int>(*v);
}

Result<int> Migrate(internal::Connection& conn) {
  const Dialect d = conn.dialect();
  SB_RETURN_IF_ERROR(conn.Begin());
  Result<std::int64_t> created = std::int64_t{0};
  if (d == Dialect::kPostgres) {
    // Serialise concurrent migrators across processes, before anything is created.
    created = conn.Exec("SELECT pg_advisory_xact_lock(7316)");
  }
  if (created) {
    created = conn.Exec(
        ExpandDialect("CREATE TABLE IF NOT EXISTS schema_migrations (version {{int}} PRIMARY KEY, "
                      "name TEXT NOT NULL, applied_at {{int}} NOT NULL)",
                      d));
  }
  if (!created) {
    conn.Rollback().IgnoreError();
    return created.error();
  }
  auto current = ReadSchemaVersion(conn);
  if (!current) {
    conn.Rollback().IgnoreError();
    return current.error();
  }
  SB_RETURN_IF_ERROR(conn.Commit());
  const auto& all = AllMigrations();
  if (*current > static_cast<int>(all.size())) {
    return Status::FailedPrecondition("the database has schema version " +
                                      std::to_string(*current) +
                                      " but this switchboard knows only up to " +
                                      std::to_string(all.size()) + "; upgrade the binary");
  }
  int version = *current;
  for (const Migration& m : all) {
    if (m.version <= version) continue;
    SB_RETURN_IF_ERROR(conn.Begin());
    Status st;
    if (d == Dialect::kPostgres) st = conn.Exec("SELECT pg_advisory_xact_lock(7316)").status();
    auto again = ReadSchemaVersion(conn);
    if (st.ok() && again && *again >= m.version) {  // another process got there first
      SB_RETURN_IF_ERROR(conn.Commit());
      version = *again;
      continue;
    }
    for (const std::string& stmt : SplitStatements(ExpandDialect(m.sql, d))) {
      if (!st.ok()) break;
      st = conn.Exec(stmt).status();
    }
    if (st.ok()) {
      st = conn.Exec(
                   "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, "
                   "$3)",
                   {m.version, m.name,
                    static_cast<std::int64_t>(
                        std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count())})
               .status();
    }
    if (!st.ok()) {
      conn.Rollback().IgnoreError();
      return st.WithContext("migration " + std::to_string(m.version) + " (" + m.name + ")");
    }
    SB_RETURN_IF_ERROR(conn.Commit());
    version = m.version;
  }
  return version;
}

}  // namespace switchboard::store
