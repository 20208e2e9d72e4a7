#!/usr/bin/env bash
# P3 baseline: PostgreSQL 15 with row-level security, driven by pgbench.
#
#   run.sh setup STATE SWITCHBOARD_DB   throwaway cluster (initdb in a temp dir,
#                                       Unix socket only, durable settings),
#                                       schema.sql, and the members, audience,
#                                       callers and grants copied from the
#                                       benchmark's Switchboard database
#   run.sh run STATE SECONDS WARMUP CLIENTS
#                                       one run on a fresh copy of the loaded
#                                       database; prints one JSON object, and
#                                       exits 1 saying why when the run cannot
#                                       be trusted (pgbench_result.py)
#   run.sh database STATE NAME          creates an empty database NAME in the
#                                       cluster and prints its postgresql://
#                                       URL (Switchboard's own store, P3 on
#                                       PostgreSQL: phonebank_load --store)
#   run.sh stop STATE                   stops the cluster and deletes it
#
# STATE is a directory of the caller's (it records where the cluster lives).
# Binaries from /usr/lib/postgresql/15/bin (or $SB_PG_BINDIR). As root, the
# server runs as the `postgres` user, as initdb requires.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bindir=${SB_PG_BINDIR:-/usr/lib/postgresql/15/bin}
cmd=${1:?setup, run, database or stop}
state=${2:?state directory}
mkdir -p "$state"

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pgdir() { cat "$state/pgdir"; }
psql_su() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$(pgdir)" -U postgres "$@"; }

case "$cmd" in
setup)
  db=${3:?the Switchboard database (switchboard.db) to copy the data from}
  dir=$(mktemp -d "${SB_PG_TMPDIR:-/tmp}/sb-p3-pg-XXXXXX")
  echo "$dir" >"$state/pgdir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  as_pg "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C \
    --no-instructions >"$dir/initdb.log"
  # Durable like Switchboard (fsync, synchronous commit, full pages); tuned as
  # a capable team would for 1,000 connections on this machine.
  cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$dir'
max_connections = 1050
fsync = on
synchronous_commit = on
full_page_writes = on
wal_level = minimal
max_wal_senders = 0
shared_buffers = 2GB
effective_cache_size = 8GB
wal_buffers = 64MB
max_wal_size = 16GB
min_wal_size = 1GB
checkpoint_timeout = 30min
random_page_cost = 1.1
jit = off
EOF
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 120 start >/dev/null
  psql_su -d postgres -c "CREATE DATABASE bench"
  psql_su -d bench -f "$here/schema.sql"
  # The same data as Switchboard's benchmark: exported from its database.
  csv="$dir/csv"
  mkdir -p "$csv"
  ts() { echo "strftime('%Y-%m-%d %H:%M:%f', $1 / 1000000.0, 'unixepoch') || '+00'"; }
  q() { sqlite3 -csv "$db" "$1" >"$csv/$2.csv"; }
  q "SELECT id, unit_id, branch_id, status, first_name, joined_on, lapsed_on, consents,
       suppressions FROM members" members
  q "SELECT id, member_id, kind, label, key_id, '\\x' || hex(sealed), '\\x' || hex(blind_index),
       CASE valid WHEN 1 THEN 't' ELSE 'f' END FROM contact_points" contact_points
  q "SELECT member_id FROM canaries" canaries
  q "SELECT id, login FROM accounts" accounts
  q "SELECT id, account_id, role, scope_unit, $(ts not_before), $(ts not_after),
       CASE WHEN revoked_at IS NULL THEN NULL ELSE $(ts revoked_at) END FROM grants" grants
  q "SELECT id, state, $(ts starts_at), $(ts ends_at), json_extract(pace, '\$.per_hour'),
       json_extract(pace, '\$.per_day'), recall_minutes || ' minutes', max_passes
       FROM campaigns" campaigns
  q "SELECT campaign_id, account_id, grant_id FROM campaign_callers" campaign_callers
  q "SELECT account_id, '\\x' || hex(sealed), CASE WHEN verified_at IS NULL THEN NULL
       ELSE $(ts verified_at) END FROM caller_endpoints" caller_endpoints
  q "SELECT campaign_id, member_id, passes, $(ts next_at), CASE done WHEN 1 THEN 't' ELSE 'f' END
       FROM campaign_targets" campaign_targets
  for t in members contact_points canaries accounts grants campaigns campaign_callers \
    caller_endpoints; do
    psql_su -d bench -c "\\copy $t FROM '$csv/$t.csv' WITH (FORMAT csv)"
  done
  psql_su -d bench -c "\\copy campaign_targets (campaign_id, member_id, passes, next_at, done)
    FROM '$csv/campaign_targets.csv' WITH (FORMAT csv)"
  rm -rf "$csv"
  psql_su -d bench -c "VACUUM (ANALYZE)" -c "CHECKPOINT"
  psql_su -d bench -At -c "SELECT json_build_object('members', (SELECT COUNT(*) FROM members),
    'targets', (SELECT COUNT(*) FROM campaign_targets),
    'callers', (SELECT COUNT(*) FROM campaign_callers))"
  ;;
run)
  seconds=${3:?seconds}
  warmup=${4:?warm-up seconds}
  clients=${5:?clients}
  dir=$(pgdir)
  # pgbench's -T counts from before it connects its clients, and with 1,000
  # clients the connecting and everyone's first, cold cycle took 35 s on the
  # development machine under load; the measured window starts only when
  # every client has completed a cycle (pgbench_result.py). So -T is the time
  # that took in the last run with as many clients (else an estimate), plus
  # the window, with half as much again to spare: the stampede's length
  # varies from run to run (connecting 1,000 clients took 9.5 s and then
  # 26.2 s in two runs in a row on a quiet machine, 2026-12-07). When it
  # still proves too short the run is made again, up to twice, with what
  # the last one took. A longer -T only lengthens the run; the measured
  # window stays the same.
  ready_file="$state/ready-seconds.$clients"
  for attempt in 1 2 3; do
    ready=$(cat "$ready_file" 2>/dev/null || python3 -c "print($clients * 0.025 + $warmup)")
    total=$(python3 -c "import math; print(math.ceil(1.5 * max($ready, $warmup) + $seconds + 5))")
    psql_su -d postgres -c "DROP DATABASE IF EXISTS run" \
      -c "CREATE DATABASE run TEMPLATE bench STRATEGY FILE_COPY" -c "CHECKPOINT"
    campaign=$(psql_su -d run -At -c "SELECT MIN(id) FROM campaigns")
    first=$(psql_su -d run -At -c "SELECT MIN(account_id) FROM campaign_callers")
    logs="$dir/pgbench"
    rm -rf "$logs"
    mkdir -p "$logs"
    launched=$(date +%s.%N)
    set +e
    (cd "$logs" && "$bindir/pgbench" -n -h "$dir" -U caller_app -M prepared -c "$clients" -j 2 \
      -T "$total" -D campaign="$campaign" -D first_caller="$first" -f "$here/cycle.sql" \
      -l --log-prefix=tx run >"$logs/out.txt" 2>"$logs/err.txt")
    rc=$?
    set -e
    audit=$(psql_su -d run -At -c "SELECT COUNT(*) FROM audit_events")
    outcomes=$(psql_su -d run -At -c "SELECT COUNT(*) FROM calls WHERE outcome IS NOT NULL")
    set +e
    # One JSON object on stdout, the last attempt's: a retried attempt's
    # goes nowhere (its reasons are on stderr).
    python3 "$here/pgbench_result.py" "$logs" "$seconds" "$warmup" "$clients" "$rc" "$audit" \
      "$outcomes" "$launched" "$total" "$ready_file" >"$logs/result.json"
    parsed=$?
    set -e
    psql_su -d postgres -c "DROP DATABASE run"
    [ "$parsed" = 3 ] && [ "$attempt" != 3 ] && continue
    cat "$logs/result.json"
    [ "$parsed" = 3 ] && parsed=1
    exit "$parsed"
  done
  ;;
database)
  name=${3:?database name}
  psql_su -d postgres -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name"
  echo "postgresql:///$name?host=$(pgdir)&user=postgres"
  ;;
stop)
  if [ -f "$state/pgdir" ]; then
    dir=$(pgdir)
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir" "$state/pgdir"
  fi
  ;;
*)
  echo "usage: run.sh setup|run|database|stop STATE ..." >&2
  exit 2
  ;;
esac
