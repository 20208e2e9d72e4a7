-- One caller's cycle, as three transactions (the three requests Switchboard
-- answers: next, connect, outcome). pgbench client N is caller account
-- :first_caller + N. Every transaction names its caller first; row-level
-- security (schema.sql) does the rest. Variables from run.sh: campaign,
-- first_caller.
\set caller :first_caller + :client_id

-- 1. next: pace-checked lease of the first due, callable target; the call row
-- (its trigger writes the audit event); the fields the caller is shown.
BEGIN;
SELECT set_config('app.caller', :caller::text, true);
WITH c AS (
  SELECT id, per_hour, per_day FROM campaigns
  WHERE id = :campaign AND state = 'live' AND starts_at <= now() AND now() < ends_at
), pick AS (
  SELECT t.campaign_id, t.member_id FROM campaign_targets t
    JOIN c ON c.id = t.campaign_id
    JOIN members m ON m.id = t.member_id
  WHERE t.campaign_id = :campaign AND NOT t.done AND t.leased_by IS NULL AND t.next_at <= now()
    AND (m.consents & 2) <> 0 AND (m.suppressions & 15) = 0
    AND NOT EXISTS (SELECT 1 FROM canaries k WHERE k.member_id = m.id)
    AND has_valid_phone(m.id)
    AND (SELECT COUNT(*) FROM calls WHERE campaign_id = :campaign AND caller_id = :caller
         AND started_at > now() - interval '1 hour') < c.per_hour
    AND (SELECT COUNT(*) FROM calls WHERE campaign_id = :campaign AND caller_id = :caller
         AND started_at > now() - interval '1 day') < c.per_day
  ORDER BY t.passes, t.next_at, t.member_id
  LIMIT 1
  FOR UPDATE OF t SKIP LOCKED
)
UPDATE campaign_targets t SET leased_by = :caller, lease_expires = now() + interval '10 minutes'
  FROM pick WHERE t.campaign_id = pick.campaign_id AND t.member_id = pick.member_id
  RETURNING t.member_id AS member \gset
INSERT INTO calls (campaign_id, member_id, caller_id, connector, state, started_at)
  VALUES (:campaign, :member, :caller, 'none', 'leased', now()) RETURNING id AS call_id \gset
SELECT first_name, joined_on, lapsed_on, branch_id, sharing_phone(id) FROM members
  WHERE id = :member;
COMMIT;

-- 2. connect: the caller's own verified phone, the member's sealed number
-- (visible only while leased to this caller), the call rings (audited).
BEGIN;
SELECT set_config('app.caller', :caller::text, true);
SELECT verified_at FROM caller_endpoints WHERE account_id = :caller AND verified_at IS NOT NULL;
SELECT key_id, sealed FROM contact_points WHERE member_id = :member AND kind = 'phone' AND valid
  ORDER BY label LIMIT 1;
UPDATE calls SET connector = 'sandbox', state = 'ringing', connected_at = now()
  WHERE id = :call_id AND outcome IS NULL;
COMMIT;

-- 3. outcome: release the lease (answered: done; no answer: back after the
-- recall interval, up to max_passes), the call's outcome (audited), the
-- contact log. A third of sandbox calls are not answered, as in Switchboard.
\set answered (:call_id % 3) != 0
BEGIN;
SELECT set_config('app.caller', :caller::text, true);
\if :answered
UPDATE campaign_targets t SET passes = passes + 1, next_at = now() + c.recall, done = true,
    last_outcome = 'answered', leased_by = NULL, lease_expires = NULL
  FROM campaigns c
  WHERE c.id = t.campaign_id AND t.campaign_id = :campaign AND t.member_id = :member
    AND t.leased_by = :caller AND t.lease_expires > now();
UPDATE calls SET outcome = 'answered',
    answers = '{"agm": true, "topic": "housing", "volunteer": 4}', recorded_at = now(),
    state = 'completed'
  WHERE id = :call_id;
INSERT INTO contact_log (member_id, channel, campaign_id, outcome, at)
  VALUES (:member, 'phone', :campaign, 'answered', now());
\else
UPDATE campaign_targets t SET passes = passes + 1, next_at = now() + c.recall,
    done = passes + 1 >= c.max_passes, last_outcome = 'no_answer', leased_by = NULL,
    lease_expires = NULL
  FROM campaigns c
  WHERE c.id = t.campaign_id AND t.campaign_id = :campaign AND t.member_id = :member
    AND t.leased_by = :caller AND t.lease_expires > now();
UPDATE calls SET outcome = 'no_answer', recorded_at = now(), state = 'completed'
  WHERE id = :call_id;
INSERT INTO contact_log (member_id, channel, campaign_id, outcome, at)
  VALUES (:member, 'phone', :campaign, 'no_answer', now());
\endif
COMMIT;
