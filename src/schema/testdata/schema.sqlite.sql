CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);
CREATE TABLE units (
  id INTEGER PRIMARY KEY,
  code TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  parent_id INTEGER REFERENCES units(id),
  synthetic INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX units_parent ON units(parent_id);
CREATE INDEX units_name ON units(name);
CREATE TABLE members (
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  external_id TEXT NOT NULL,
  unit_id INTEGER NOT NULL REFERENCES units(id),
  branch_id INTEGER REFERENCES units(id),
  first_name TEXT NOT NULL,
  last_name TEXT NOT NULL,
  birth_year INTEGER,
  postcode_district TEXT,
  status TEXT NOT NULL,
  membership_type TEXT NOT NULL,
  joined_on INTEGER,
  lapsed_on INTEGER,
  consents INTEGER NOT NULL DEFAULT 0,
  suppressions INTEGER NOT NULL DEFAULT 0,
  content_hash BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (source, external_id)
);
CREATE INDEX members_unit ON members(unit_id);
CREATE TABLE contact_points (
  id INTEGER PRIMARY KEY,
  member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  label TEXT NOT NULL,
  key_id INTEGER NOT NULL,
  sealed BLOB NOT NULL,
  blind_index BLOB NOT NULL,
  valid INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  UNIQUE (member_id, kind, label)
);
CREATE TABLE consent_events (
  id INTEGER PRIMARY KEY,
  member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
  at INTEGER NOT NULL,
  consents INTEGER NOT NULL,
  source TEXT NOT NULL
);
CREATE INDEX consent_events_member ON consent_events(member_id);
CREATE TABLE suppression_events (
  id INTEGER PRIMARY KEY,
  member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
  at INTEGER NOT NULL,
  suppressions INTEGER NOT NULL,
  source TEXT NOT NULL
);
CREATE INDEX suppression_events_member ON suppression_events(member_id);
CREATE TABLE canaries (
  member_id INTEGER PRIMARY KEY REFERENCES members(id) ON DELETE CASCADE,
  planted_at INTEGER NOT NULL,
  purpose TEXT NOT NULL
);
CREATE TABLE postcodes (
  postcode TEXT PRIMARY KEY,
  unit_id INTEGER NOT NULL REFERENCES units(id)
);
CREATE TABLE settings (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE audit_events (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor INTEGER,
  on_behalf_of INTEGER,
  action TEXT NOT NULL,
  decision TEXT,
  rule TEXT,
  grant_id INTEGER,
  members TEXT,
  field_classes TEXT,
  campaign INTEGER,
  contest INTEGER,
  request_id TEXT,
  client TEXT,
  body BLOB NOT NULL
, message INTEGER);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE TABLE audit_checkpoints (
  tree_size INTEGER PRIMARY KEY,
  root BLOB NOT NULL,
  at INTEGER NOT NULL,
  key_id TEXT NOT NULL,
  signature BLOB NOT NULL
, format INTEGER NOT NULL DEFAULT 1, note TEXT);
CREATE TABLE accounts (
  id INTEGER PRIMARY KEY,
  login TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  member_id INTEGER REFERENCES members(id),
  staff INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'active',
  state_reason TEXT,
  state_changed_at INTEGER,
  password_hash TEXT,
  totp_key_id INTEGER,
  totp_secret BLOB,
  totp_last_step INTEGER,
  created_at INTEGER NOT NULL
);
CREATE TABLE grants (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  role TEXT NOT NULL,
  scope_unit INTEGER NOT NULL REFERENCES units(id),
  purpose TEXT NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  granted_by INTEGER REFERENCES accounts(id),
  reason TEXT NOT NULL,
  source TEXT NOT NULL,
  source_end INTEGER,
  approved INTEGER NOT NULL,
  approved_by INTEGER REFERENCES accounts(id),
  approved_at INTEGER,
  revoked_at INTEGER,
  revoked_by INTEGER REFERENCES accounts(id),
  revoke_reason TEXT,
  created_at INTEGER NOT NULL,
  CHECK (not_after > not_before)
);
CREATE INDEX grants_account ON grants(account_id);
CREATE TABLE sessions (
  id INTEGER PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  kind TEXT NOT NULL,
  second_factor INTEGER NOT NULL,
  csrf_hash TEXT,
  client TEXT,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER,
  revoke_reason TEXT
);
CREATE INDEX sessions_account ON sessions(account_id);
CREATE TABLE recovery_codes (
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  code_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  used_at INTEGER,
  PRIMARY KEY (account_id, code_hash)
);
CREATE TABLE login_throttle (
  subject TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  window_start INTEGER NOT NULL,
  locked_until INTEGER NOT NULL
);
CREATE TABLE quota_buckets (
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  capability TEXT NOT NULL,
  period TEXT NOT NULL,
  milli_tokens INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, capability, period)
);
CREATE TABLE anomaly_hours (
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  hour INTEGER NOT NULL,
  touches INTEGER NOT NULL,
  PRIMARY KEY (account_id, hour)
);
CREATE TABLE anomaly_state (
  account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
  probe_run INTEGER NOT NULL DEFAULT 0,
  rate_alert_hour INTEGER NOT NULL DEFAULT -1
, probe_since INTEGER NOT NULL DEFAULT 0);
CREATE TABLE alerts (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  rule TEXT NOT NULL,
  severity TEXT NOT NULL,
  at INTEGER NOT NULL,
  detail TEXT NOT NULL,
  request_id TEXT,
  acknowledged_at INTEGER,
  acknowledged_by INTEGER REFERENCES accounts(id),
  acknowledge_note TEXT
);
CREATE INDEX alerts_account ON alerts(account_id, at);
CREATE INDEX alerts_open ON alerts(at) WHERE acknowledged_at IS NULL;
CREATE TABLE campaigns (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  owner_id INTEGER NOT NULL REFERENCES accounts(id),
  scope_unit INTEGER NOT NULL REFERENCES units(id),
  purpose TEXT NOT NULL,
  audience TEXT NOT NULL,
  script TEXT NOT NULL,
  survey TEXT NOT NULL,
  fields TEXT NOT NULL,
  calling_start INTEGER NOT NULL,
  calling_end INTEGER NOT NULL,
  starts_at INTEGER NOT NULL,
  ends_at INTEGER NOT NULL,
  state TEXT NOT NULL,
  eligibility TEXT NOT NULL,
  pace TEXT NOT NULL,
  recall_minutes INTEGER NOT NULL,
  max_passes INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL, version INTEGER NOT NULL DEFAULT 1, caller_id_number TEXT, ring_seconds INTEGER,
  CHECK (ends_at > starts_at)
);
CREATE TABLE campaign_invites (
  id INTEGER PRIMARY KEY,
  campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
  token_hash TEXT NOT NULL UNIQUE,
  label TEXT NOT NULL,
  created_by INTEGER NOT NULL REFERENCES accounts(id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  max_joins INTEGER NOT NULL,
  joins INTEGER NOT NULL DEFAULT 0,
  revoked_at INTEGER
);
CREATE INDEX campaign_invites_campaign ON campaign_invites(campaign_id);
CREATE TABLE campaign_callers (
  campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  invite_id INTEGER REFERENCES campaign_invites(id),
  grant_id INTEGER NOT NULL REFERENCES grants(id),
  joined_at INTEGER NOT NULL,
  PRIMARY KEY (campaign_id, account_id)
);
CREATE TABLE campaign_targets (
  campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
  member_id INTEGER NOT NULL REFERENCES members(id),
  passes INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL DEFAULT 0,
  done INTEGER NOT NULL DEFAULT 0,
  last_outcome TEXT,
  leased_by INTEGER REFERENCES accounts(id),
  lease_expires INTEGER, lease_call INTEGER,
  PRIMARY KEY (campaign_id, member_id)
);
CREATE INDEX campaign_targets_lease ON campaign_targets(campaign_id, leased_by);
CREATE TABLE calls (
  id INTEGER PRIMARY KEY,
  campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
  member_id INTEGER NOT NULL REFERENCES members(id),
  caller_id INTEGER NOT NULL REFERENCES accounts(id),
  connector TEXT NOT NULL,
  state TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  connected_at INTEGER,
  answered_at INTEGER,
  ended_at INTEGER,
  duration_seconds INTEGER,
  outcome TEXT,
  answers TEXT,
  recorded_at INTEGER
, end_reason TEXT, caller_id_number TEXT, ring_seconds INTEGER);
CREATE TABLE caller_endpoints (
  account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
  key_id INTEGER NOT NULL,
  sealed BLOB NOT NULL,
  verify_hash TEXT,
  verified_at INTEGER,
  created_at INTEGER NOT NULL
);
CREATE TABLE contact_log (
  id INTEGER PRIMARY KEY,
  member_id INTEGER NOT NULL REFERENCES members(id),
  channel TEXT NOT NULL,
  campaign_id INTEGER,
  outcome TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX contact_log_member ON contact_log(member_id, at);
CREATE INDEX members_updated ON members(updated_at);
CREATE TABLE messages (
  id INTEGER PRIMARY KEY,
  author_id INTEGER NOT NULL REFERENCES accounts(id),
  scope_unit INTEGER NOT NULL REFERENCES units(id),
  from_kind TEXT NOT NULL,
  from_unit INTEGER REFERENCES units(id),
  from_account INTEGER REFERENCES accounts(id),
  from_name TEXT NOT NULL,
  kind TEXT NOT NULL,
  audience TEXT NOT NULL,
  subject TEXT NOT NULL,
  text_body TEXT NOT NULL,
  html_body TEXT NOT NULL,
  version INTEGER NOT NULL,
  content_hash TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  sent_by INTEGER REFERENCES accounts(id),
  sent_role TEXT,
  queued_at INTEGER,
  completed_at INTEGER,
  recipients INTEGER
);
CREATE INDEX messages_author ON messages(author_id);
CREATE INDEX messages_from_account ON messages(from_account);
CREATE TABLE message_approvals (
  id INTEGER PRIMARY KEY,
  message_id INTEGER NOT NULL REFERENCES messages(id),
  version INTEGER NOT NULL,
  content_hash TEXT NOT NULL,
  kind TEXT NOT NULL,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  at INTEGER NOT NULL,
  UNIQUE (message_id, version, kind, account_id)
);
CREATE TABLE message_checks (
  id INTEGER PRIMARY KEY,
  message_id INTEGER NOT NULL REFERENCES messages(id),
  version INTEGER NOT NULL,
  rule TEXT NOT NULL,
  passed INTEGER NOT NULL,
  detail TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX message_checks_message ON message_checks(message_id);
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  message_id INTEGER NOT NULL REFERENCES messages(id),
  member_id INTEGER NOT NULL REFERENCES members(id),
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  smtp_code INTEGER,
  detail TEXT,
  UNIQUE (message_id, member_id)
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
CREATE INDEX outbox_message ON outbox(message_id, state);
CREATE TABLE email_suppressions (
  id INTEGER PRIMARY KEY,
  hash_kind TEXT NOT NULL,
  hash BLOB NOT NULL,
  reason TEXT NOT NULL,
  source TEXT NOT NULL,
  imported_at INTEGER NOT NULL,
  UNIQUE (hash_kind, hash)
);
CREATE TABLE email_bounces (
  member_id INTEGER PRIMARY KEY REFERENCES members(id),
  hard_count INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  last_code INTEGER
);
CREATE TABLE unsubscribes (
  id INTEGER PRIMARY KEY,
  member_id INTEGER NOT NULL REFERENCES members(id),
  message_id INTEGER,
  at INTEGER NOT NULL,
  how TEXT NOT NULL
);
CREATE INDEX unsubscribes_message ON unsubscribes(message_id);
CREATE INDEX campaign_targets_done ON campaign_targets(campaign_id) WHERE done = 1;
CREATE INDEX campaign_targets_free ON campaign_targets(campaign_id, passes, next_at, member_id) WHERE done = 0 AND leased_by IS NULL;
CREATE INDEX campaign_targets_leased ON campaign_targets(campaign_id, lease_expires) WHERE done = 0 AND leased_by IS NOT NULL;
CREATE INDEX calls_campaign ON calls(campaign_id, caller_id, started_at);
CREATE TABLE access_version (
  id INTEGER PRIMARY KEY,
  n INTEGER NOT NULL
);
CREATE TABLE contests (
  id INTEGER PRIMARY KEY,
  slug TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  scope_unit INTEGER NOT NULL REFERENCES units(id),
  released_at INTEGER,
  created_at INTEGER NOT NULL
);
CREATE TABLE contest_rulebooks (
  contest_id INTEGER NOT NULL REFERENCES contests(id),
  version INTEGER NOT NULL,
  text TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  state TEXT NOT NULL,
  proposed_by INTEGER REFERENCES accounts(id),
  proposed_at INTEGER NOT NULL,
  approved_by INTEGER REFERENCES accounts(id),
  approved_at INTEGER,
  PRIMARY KEY (contest_id, version)
);
CREATE TABLE contest_nominations (
  id INTEGER PRIMARY KEY,
  contest_id INTEGER NOT NULL REFERENCES contests(id),
  body TEXT NOT NULL,
  nominator TEXT NOT NULL,
  candidate TEXT NOT NULL,
  decided_by TEXT NOT NULL,
  meeting_on INTEGER NOT NULL,
  votes_for INTEGER NOT NULL,
  votes_against INTEGER NOT NULL,
  votes_abstaining INTEGER NOT NULL,
  recorded_by INTEGER REFERENCES accounts(id),
  recorded_at INTEGER NOT NULL,
  UNIQUE (contest_id, body, nominator)
);
CREATE TABLE contest_candidates (
  contest_id INTEGER NOT NULL REFERENCES contests(id),
  candidate TEXT NOT NULL,
  qualified_at INTEGER NOT NULL,
  access_from INTEGER NOT NULL,
  PRIMARY KEY (contest_id, candidate)
);
CREATE TABLE contest_ledger (
  id INTEGER PRIMARY KEY,
  contest_id INTEGER NOT NULL REFERENCES contests(id),
  at INTEGER NOT NULL,
  candidate TEXT NOT NULL,
  entry TEXT NOT NULL,
  facility TEXT NOT NULL,
  size INTEGER NOT NULL,
  ref TEXT NOT NULL,
  matches INTEGER,
  used_at INTEGER,
  used_ref TEXT,
  account_id INTEGER REFERENCES accounts(id)
);
CREATE INDEX contest_ledger_contest ON contest_ledger(contest_id, candidate);
CREATE TABLE contest_version (
  id INTEGER PRIMARY KEY,
  n INTEGER NOT NULL
);
CREATE TABLE account_links (
  id INTEGER PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  purpose TEXT NOT NULL,
  member_id INTEGER REFERENCES members(id) ON DELETE CASCADE,
  account_id INTEGER REFERENCES accounts(id),
  address_key_id INTEGER,
  address_sealed BLOB,
  address_index BLOB,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
);
CREATE TABLE account_addresses (
  account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
  key_id INTEGER NOT NULL,
  sealed BLOB NOT NULL,
  blind_index BLOB NOT NULL,
  verified_at INTEGER NOT NULL
);
CREATE INDEX account_addresses_blind ON account_addresses(blind_index);
CREATE TABLE account_mail (
  id INTEGER PRIMARY KEY,
  purpose TEXT NOT NULL,
  key_id INTEGER NOT NULL,
  sealed BLOB NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  smtp_code INTEGER,
  detail TEXT
);
CREATE INDEX account_mail_due ON account_mail(state, next_attempt_at);
CREATE INDEX members_district_name ON members(postcode_district, lower(last_name));
CREATE TABLE privacy_requests (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  member_id INTEGER NOT NULL REFERENCES members(id),
  source TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  recorded_by INTEGER REFERENCES accounts(id),
  state TEXT NOT NULL,
  closed_at INTEGER,
  closed_by INTEGER REFERENCES accounts(id)
);
CREATE INDEX privacy_requests_open ON privacy_requests(state, due_at);
CREATE TABLE breaches (
  id INTEGER PRIMARY KEY,
  discovered_at INTEGER NOT NULL,
  recorded_at INTEGER NOT NULL,
  recorded_by INTEGER REFERENCES accounts(id),
  description TEXT NOT NULL,
  data_categories TEXT NOT NULL,
  people_categories TEXT NOT NULL,
  consequences TEXT NOT NULL,
  measures TEXT NOT NULL,
  reported_at INTEGER,
  notified_at INTEGER,
  closed_at INTEGER,
  updated_at INTEGER NOT NULL,
  scope_kind TEXT,
  scope_id INTEGER,
  scope_from INTEGER,
  scope_to INTEGER,
  computed_at INTEGER,
  affected INTEGER NOT NULL,
  class_counts TEXT
);
CREATE TABLE breach_members (
  breach_id INTEGER NOT NULL REFERENCES breaches(id),
  member_id INTEGER NOT NULL REFERENCES members(id),
  field_classes TEXT NOT NULL,
  events INTEGER NOT NULL,
  PRIMARY KEY (breach_id, member_id)
);
CREATE TABLE privacy_erasures (
  member_id INTEGER PRIMARY KEY REFERENCES members(id),
  at INTEGER NOT NULL,
  actor INTEGER REFERENCES accounts(id),
  kind TEXT NOT NULL,
  reason TEXT NOT NULL
);
CREATE TABLE exports (
  id INTEGER PRIMARY KEY,
  requested_by INTEGER NOT NULL REFERENCES accounts(id),
  scope_unit INTEGER NOT NULL REFERENCES units(id),
  role TEXT NOT NULL,
  grant_id INTEGER,
  purpose TEXT NOT NULL,
  columns TEXT NOT NULL,
  recipient_key BLOB NOT NULL,
  state TEXT NOT NULL,
  requested_at INTEGER NOT NULL,
  approved_by INTEGER REFERENCES accounts(id),
  approved_at INTEGER,
  produced_at INTEGER,
  member_rows INTEGER,
  canary_rows INTEGER,
  request_seq INTEGER,
  approve_seq INTEGER,
  produce_seq INTEGER
, closed_by INTEGER REFERENCES accounts(id), closed_at INTEGER, close_reason TEXT, close_seq INTEGER);
CREATE INDEX exports_requester ON exports(requested_by, requested_at);
CREATE TABLE export_canaries (
  id INTEGER PRIMARY KEY,
  export_id INTEGER NOT NULL REFERENCES exports(id),
  email_index BLOB NOT NULL,
  phone_index BLOB NOT NULL,
  key_id INTEGER NOT NULL,
  sealed BLOB NOT NULL
);
CREATE UNIQUE INDEX export_canaries_email ON export_canaries(email_index);
CREATE INDEX export_canaries_phone ON export_canaries(phone_index);
CREATE INDEX export_canaries_export ON export_canaries(export_id);
CREATE TABLE sip_legs (
  call_id INTEGER NOT NULL REFERENCES calls(id),
  leg TEXT NOT NULL,
  key_id INTEGER NOT NULL,
  sealed BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (call_id, leg)
);
CREATE INDEX calls_active ON calls(campaign_id)
  WHERE state IN ('calling_you', 'calling_member', 'connected');
CREATE TABLE contact_suppressions (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  blind_index BLOB NOT NULL,
  reason TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (kind, blind_index)
);
CREATE INDEX calls_live ON calls(state)
  WHERE state IN ('calling_you', 'calling_member', 'connected', 'ringing', 'answered');
CREATE INDEX contact_points_blind_kind ON contact_points(blind_index, kind, member_id);
