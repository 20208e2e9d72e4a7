#!/usr/bin/env python3
"""One baseline run's figures from pgbench's output and per-cycle log
(run.sh run calls it). Prints one JSON object; exits 1, saying why on stderr,
when the run cannot be trusted: pgbench failed or its summary is missing,
transactions failed, clients aborted or never completed a cycle, the log does
not hold what pgbench counted, or the database does not hold what the log
says. Exits 3 when pgbench's time ran out before the measured window ended,
so run.sh can run again with a longer -T.

The measured window starts after the warm-up, and not before every client
has completed its first cycle: with 1,000 clients the first cycles are a
stampede of cold backends (35 s on the development machine under load), and
a window inside it measured only first cycles, or none (the 0 requests/s
of a run at e4a295a).

Usage: pgbench_result.py LOG_DIR SECONDS WARMUP CLIENTS PGBENCH_EXIT AUDIT_ROWS
                         OUTCOME_ROWS LAUNCHED ASKED_SECONDS READY_FILE

LOG_DIR holds out.txt, err.txt and the per-thread logs tx.*; LAUNCHED is
when pgbench started (Unix seconds) and ASKED_SECONDS its -T, which counts
from then, connecting included. READY_FILE gets the seconds from launch until
every client had completed a cycle, which run.sh uses for the next -T."""
import glob
import json
import re
import sys


def main():
    logs, seconds, warmup, clients, rc, audit, outcomes, launched, asked, ready_file = sys.argv[1:]
    seconds, warmup, launched, asked = float(seconds), float(warmup), float(launched), float(asked)
    clients, rc, audit, outcomes = int(clients), int(rc), int(audit), int(outcomes)
    out_txt = open(logs + "/out.txt").read()
    err_txt = open(logs + "/err.txt").read()
    problems = []

    def summary(pattern):
        m = re.search(pattern, out_txt)
        return m.group(1) if m else None

    processed = summary(r"number of transactions actually processed: (\d+)")
    failed = summary(r"number of failed transactions: (\d+)")
    connect_ms = summary(r"initial connection time = ([0-9.]+) ms")
    if rc != 0:
        problems.append(f"pgbench exited with {rc}")
    if processed is None or failed is None:
        problems.append("pgbench's summary has no count of processed and failed transactions")
    processed = int(processed or 0)
    failed = int(failed or 0)
    if failed:
        problems.append(f"{failed} transactions failed")
    aborted = [l for l in err_txt.splitlines() if re.search(r"client \d+ .*aborted", l)]
    if aborted:
        problems.append(f"{len(aborted)} clients aborted, the first: {aborted[0].strip()}")
    connect = float(connect_ms) / 1000.0 if connect_ms else None

    rows = []  # (end time in s, latency in us)
    failed_rows = 0
    first_end = {}  # client -> when its first cycle ended
    for path in glob.glob(logs + "/tx.*"):
        for line in open(path):
            p = line.split()
            if len(p) < 6:
                problems.append(f"a line of {path} is not a pgbench log line: {line.strip()!r}")
                break
            if not p[2].isdigit():
                failed_rows += 1
                continue
            end = int(p[4]) + int(p[5]) / 1e6
            rows.append((end, int(p[2])))
            client = int(p[0])
            first_end[client] = min(end, first_end.get(client, end))
    if len(rows) != processed:
        problems.append(f"pgbench counted {processed} cycles but its log holds {len(rows)}")
    if failed_rows:
        problems.append(f"pgbench's log holds {failed_rows} failed cycles")
    if len(first_end) < clients:
        problems.append(f"{clients - len(first_end)} of {clients} clients never completed a "
                        "cycle")
    # Each logged cycle committed its outcome, and the trigger audited its
    # three changes of the call row; cycles cut short by the end add more.
    if outcomes < len(rows):
        problems.append(f"{len(rows)} cycles logged but {outcomes} calls with an outcome")
    if audit < 3 * len(rows):
        problems.append(f"{len(rows)} cycles logged but {audit} audit rows (3 a cycle)")

    out = {"clients": clients, "seconds": seconds, "warmup": warmup, "pgbench_exit": rc,
           "failed": failed + failed_rows, "aborted_clients": len(aborted),
           "processed": processed, "audit_rows": audit, "outcome_rows": outcomes,
           "asked_seconds": asked, "connect_seconds": connect}
    too_short = False
    if rows:
        start = min(end - lat / 1e6 for end, lat in rows)
        ready = max(first_end.values())
        lo = max(start + warmup, ready)
        hi = lo + seconds
        out["ready_seconds"] = ready - launched
        out["window_starts_seconds"] = lo - launched
        with open(ready_file, "w") as f:
            f.write(f"{ready - launched:.3f}\n")
        if hi > launched + asked:
            too_short = True
            problems.append(
                f"pgbench's -T {asked:.0f} s ran out {hi - launched - asked:.1f} s before the "
                f"measured window ended: connecting took {connect or 0:.1f} s and every client "
                f"had completed a cycle only {ready - launched:.1f} s after launch")
        lat = sorted(l for end, l in rows if lo <= end < hi)
        n = len(lat)
        out["cycles"] = n
        out["cycles_per_second"] = n / seconds
        out["requests_per_second"] = 3 * n / seconds
        if n:
            at = lambda q: lat[min(n - 1, int(q * n))] / 1000.0
            out.update(cycle_mean_ms=sum(lat) / n / 1000.0, cycle_p50_ms=at(0.5),
                       cycle_p99_ms=at(0.99), cycle_max_ms=lat[-1] / 1000.0)
        elif not too_short:
            problems.append("no cycle ended inside the measured window")
    else:
        problems.append("pgbench's log holds no completed cycle")
    out["problems"] = problems
    print(json.dumps(out))
    if problems:
        tail = "\n".join(err_txt.strip().splitlines()[-5:])
        sys.stderr.write(f"baseline, {clients} clients: the run cannot be used:\n"
                         + "".join(f"  - {p}\n" for p in problems)
                         + (f"  pgbench's last messages:\n{tail}\n" if tail else ""))
        sys.exit(3 if too_short and len(problems) == 1 else 1)


if __name__ == "__main__":
    main()
