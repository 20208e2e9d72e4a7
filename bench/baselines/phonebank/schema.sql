-- P3 baseline: the phone bank as a capable team would build it directly on
-- PostgreSQL 15: row-level security keyed by current_setting('app.caller'),
-- the next contact leased with FOR UPDATE SKIP LOCKED, and an append-only
-- audit table written by triggers. Loaded with the same members, audience
-- and callers as Switchboard's benchmark data directory (load.sh), driven by
-- pgbench (cycle.sql). Run by run.sh; see docs/benchmarks.md (P3).
--
-- The tables are owned by the cluster's superuser; pgbench connects as
-- `caller_app`, which is neither owner nor superuser, so every policy applies.

CREATE TABLE members (
  id bigint PRIMARY KEY,
  unit_id bigint NOT NULL,
  branch_id bigint,
  status text NOT NULL,
  first_name text NOT NULL,
  joined_on int,            -- days since 1970-01-01, as in Switchboard
  lapsed_on int,
  consents int NOT NULL,
  suppressions int NOT NULL
);

CREATE TABLE contact_points (
  id bigint PRIMARY KEY,
  member_id bigint NOT NULL REFERENCES members(id),
  kind text NOT NULL,
  label text NOT NULL,
  key_id int NOT NULL,
  sealed bytea NOT NULL,     -- encrypted by the application; copied as is
  blind_index bytea NOT NULL,
  valid boolean NOT NULL,
  UNIQUE (member_id, kind, label)
);
CREATE INDEX contact_points_blind ON contact_points(blind_index);

CREATE TABLE canaries (member_id bigint PRIMARY KEY REFERENCES members(id));

CREATE TABLE accounts (id bigint PRIMARY KEY, login text NOT NULL UNIQUE);

CREATE TABLE grants (
  id bigint PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts(id),
  role text NOT NULL,
  scope_unit bigint NOT NULL,
  not_before timestamptz NOT NULL,
  not_after timestamptz NOT NULL,
  revoked_at timestamptz
);

CREATE TABLE campaigns (
  id bigint PRIMARY KEY,
  state text NOT NULL,
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL,
  per_hour int NOT NULL,
  per_day int NOT NULL,
  recall interval NOT NULL,
  max_passes int NOT NULL
);

CREATE TABLE campaign_callers (
  campaign_id bigint NOT NULL REFERENCES campaigns(id),
  account_id bigint NOT NULL REFERENCES accounts(id),
  grant_id bigint NOT NULL REFERENCES grants(id),
  PRIMARY KEY (account_id, campaign_id)
);

CREATE TABLE caller_endpoints (
  account_id bigint PRIMARY KEY REFERENCES accounts(id),
  sealed bytea NOT NULL,
  verified_at timestamptz
);

CREATE TABLE campaign_targets (
  campaign_id bigint NOT NULL REFERENCES campaigns(id),
  member_id bigint NOT NULL REFERENCES members(id),
  passes int NOT NULL DEFAULT 0,
  next_at timestamptz NOT NULL,
  done boolean NOT NULL DEFAULT false,
  last_outcome text,
  leased_by bigint REFERENCES accounts(id),
  lease_expires timestamptz,
  PRIMARY KEY (campaign_id, member_id)
) WITH (fillfactor = 80);  -- room for HOT updates of the lease columns
-- The free queue in the order leases are handed out (as Switchboard's), and
-- only the free: the lease query never walks past targets others hold.
-- Expired leases go back to it through reclaim_expired_leases(), a periodic
-- job (none expires during a benchmark run: a lease lasts 10 minutes).
CREATE INDEX campaign_targets_free
  ON campaign_targets(campaign_id, passes, next_at, member_id)
  WHERE NOT done AND leased_by IS NULL;
CREATE INDEX campaign_targets_lease ON campaign_targets(campaign_id, leased_by);
CREATE INDEX campaign_targets_member ON campaign_targets(member_id);

CREATE TABLE calls (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  campaign_id bigint NOT NULL REFERENCES campaigns(id),
  member_id bigint NOT NULL REFERENCES members(id),
  caller_id bigint NOT NULL REFERENCES accounts(id),
  connector text NOT NULL,
  state text NOT NULL,
  started_at timestamptz NOT NULL,
  connected_at timestamptz,
  outcome text,
  answers jsonb,
  recorded_at timestamptz
);
CREATE INDEX calls_caller ON calls(campaign_id, caller_id, started_at);

CREATE TABLE contact_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  member_id bigint NOT NULL REFERENCES members(id),
  channel text NOT NULL,
  campaign_id bigint,
  outcome text NOT NULL,
  at timestamptz NOT NULL
);
CREATE INDEX contact_log_member ON contact_log(member_id, at);

-- Append-only: callers cannot touch it; only the trigger below writes it.
CREATE TABLE audit_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor bigint NOT NULL,
  action text NOT NULL,
  campaign_id bigint,
  member_id bigint,
  call_id bigint,
  detail jsonb
);
CREATE INDEX audit_events_at ON audit_events(at);

-- ---- who is calling ------------------------------------------------------------

CREATE FUNCTION app_caller() RETURNS bigint LANGUAGE sql STABLE AS
  $$ SELECT current_setting('app.caller')::bigint $$;

-- The helpers below run with the owner's rights (callers may not read grants
-- or other members' numbers), so PostgreSQL cannot inline them; in PL/pgSQL
-- their plans are cached per connection (an SQL function's body is parsed and
-- planned again in every statement that calls it: 37 % fewer cycles/s).

-- The campaigns the caller has joined with a grant in force now.
CREATE FUNCTION my_campaigns() RETURNS SETOF bigint LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = public AS $$
BEGIN
  RETURN QUERY
    SELECT cc.campaign_id FROM campaign_callers cc JOIN grants g ON g.id = cc.grant_id
    WHERE cc.account_id = app_caller() AND g.role = 'caller' AND g.revoked_at IS NULL
      AND g.not_before <= now() AND now() < g.not_after;
END $$;

-- Whether anyone else shares the member's phone number (whom to ask for),
-- as Switchboard asks it (EXISTS, since schema v11's change to ContactFor),
-- computed with the owner's rights since callers see no other member's rows.
CREATE FUNCTION sharing_phone(m bigint) RETURNS bigint LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = public AS $$
BEGIN
  RETURN (SELECT COUNT(*) FROM contact_points p
          WHERE p.member_id = m AND p.kind = 'phone' AND p.valid AND EXISTS (
            SELECT 1 FROM contact_points o WHERE o.blind_index = p.blind_index
              AND o.kind = 'phone' AND o.member_id <> p.member_id));
END $$;

-- Whether the member has a valid phone number: the lease must know, though
-- callers see no number but the one of the member they hold.
CREATE FUNCTION has_valid_phone(m bigint) RETURNS boolean LANGUAGE plpgsql STABLE
  SECURITY DEFINER SET search_path = public AS $$
BEGIN
  RETURN EXISTS (SELECT 1 FROM contact_points p WHERE p.member_id = m AND p.kind = 'phone'
                 AND p.valid);
END $$;

-- ---- row-level security --------------------------------------------------------

ALTER TABLE campaigns ENABLE ROW LEVEL SECURITY;
CREATE POLICY caller_campaigns ON campaigns FOR SELECT
  USING (id IN (SELECT my_campaigns()));

ALTER TABLE campaign_targets ENABLE ROW LEVEL SECURITY;
CREATE POLICY caller_targets ON campaign_targets FOR ALL
  USING (campaign_id IN (SELECT my_campaigns()))
  WITH CHECK (campaign_id IN (SELECT my_campaigns())
              AND (leased_by IS NULL OR leased_by = app_caller()));

-- Members of the audiences of the caller's campaigns (their first name,
-- branch and years are what a caller may be shown).
ALTER TABLE members ENABLE ROW LEVEL SECURITY;
CREATE POLICY caller_members ON members FOR SELECT
  USING (EXISTS (SELECT 1 FROM campaign_targets t
                 WHERE t.member_id = members.id AND t.campaign_id IN (SELECT my_campaigns())));

-- Phone numbers: to place the call, only the member the caller holds now.
ALTER TABLE contact_points ENABLE ROW LEVEL SECURITY;
CREATE POLICY caller_contact ON contact_points FOR SELECT
  USING (EXISTS (SELECT 1 FROM campaign_targets t
                 WHERE t.member_id = contact_points.member_id
                   AND t.campaign_id IN (SELECT my_campaigns())
                   AND t.leased_by = app_caller() AND t.lease_expires > now()));

ALTER TABLE calls ENABLE ROW LEVEL SECURITY;
CREATE POLICY caller_calls ON calls FOR ALL
  USING (caller_id = app_caller())
  WITH CHECK (caller_id = app_caller() AND campaign_id IN (SELECT my_campaigns()));

ALTER TABLE contact_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY caller_log ON contact_log FOR INSERT
  WITH CHECK (campaign_id IN (SELECT my_campaigns()));

ALTER TABLE caller_endpoints ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_endpoint ON caller_endpoints FOR SELECT USING (account_id = app_caller());

-- ---- the audit trail -----------------------------------------------------------

CREATE FUNCTION audit_call() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = public AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO audit_events (actor, action, campaign_id, member_id, call_id, detail)
    VALUES (app_caller(), 'phonebank.next', NEW.campaign_id, NEW.member_id, NEW.id,
            '{"fields": ["first_name", "membership", "location"]}');
  ELSIF NEW.outcome IS DISTINCT FROM OLD.outcome THEN
    INSERT INTO audit_events (actor, action, campaign_id, member_id, call_id, detail)
    VALUES (app_caller(), 'phonebank.outcome', NEW.campaign_id, NEW.member_id, NEW.id,
            jsonb_build_object('outcome', NEW.outcome));
  ELSIF NEW.state IS DISTINCT FROM OLD.state THEN
    INSERT INTO audit_events (actor, action, campaign_id, member_id, call_id)
    VALUES (app_caller(), 'phonebank.connect', NEW.campaign_id, NEW.member_id, NEW.id);
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER calls_audit AFTER INSERT OR UPDATE ON calls
  FOR EACH ROW EXECUTE FUNCTION audit_call();

CREATE FUNCTION reclaim_expired_leases() RETURNS bigint LANGUAGE sql AS $$
  WITH r AS (UPDATE campaign_targets SET leased_by = NULL, lease_expires = NULL
             WHERE leased_by IS NOT NULL AND lease_expires <= now() RETURNING 1)
  SELECT COUNT(*) FROM r
$$;

-- ---- the application's role ----------------------------------------------------

CREATE ROLE caller_app LOGIN NOSUPERUSER NOBYPASSRLS;
GRANT SELECT ON members, contact_points, canaries, campaigns, caller_endpoints TO caller_app;
GRANT SELECT, UPDATE ON campaign_targets TO caller_app;
GRANT SELECT, INSERT, UPDATE ON calls TO caller_app;
GRANT INSERT ON contact_log TO caller_app;
REVOKE ALL ON audit_events, grants, campaign_callers, accounts FROM caller_app;
