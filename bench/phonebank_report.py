#!/usr/bin/env python3
"""The P3 section of scripts/run-bench.sh: medians of the runs of
bench/phonebank_load (closed loop, and at a fixed offered rate) and of the
PostgreSQL baseline (bench/baselines/phonebank/run.sh) with as many clients as
callers and with a few, as Markdown.

Usage: phonebank_report.py PREPARE_JSON RUNS_JSONL OFFERED_RATE"""
import json
import os
import statistics
import sys

NAN = float("nan")


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else NAN


def fmt(x, digits=1):
    return "n/a" if x != x else f"{x:,.{digits}f}"


def main():
    prep = json.load(open(sys.argv[1]))
    runs = [json.loads(line) for line in open(sys.argv[2]) if line.strip()]
    rate = float(sys.argv[3])
    callers = prep["callers"]
    closed = [r for r in runs if r["kind"] == "closed"]
    paced = [r for r in runs if r["kind"] == "rate"]
    pg_many = [r for r in runs if r["kind"] == "pg" and r["clients"] == callers]
    pg_few = [r for r in runs if r["kind"] == "pg" and r["clients"] != callers]
    few = pg_few[0]["clients"] if pg_few else 0
    print(f"Data: {prep['members']:,} generated members; a live campaign over the whole "
          f"organisation with {prep['targets']:,} targets; {callers:,} callers (set-up "
          f"{prep['seconds']:.0f} s, not measured). Runs alternate; each row is one round.")
    print()
    print(f"| round | ours, closed loop: req/s | p50 ms | p99 ms | ours, {rate:,.0f} req/s "
          f"offered: p50 ms | p99 ms | baseline, {callers:,} clients: req/s | baseline, "
          f"{few} clients: req/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for i in range(max(len(closed), len(paced), len(pg_many), len(pg_few))):
        def get(rs, *path):
            if i >= len(rs):
                return NAN
            v = rs[i]
            for p in path:
                v = v.get(p, NAN) if isinstance(v, dict) else NAN
            return v
        print(f"| {i + 1} | {fmt(get(closed, 'all', 'per_second'), 0)} | "
              f"{fmt(get(closed, 'all', 'p50_ms'))} | {fmt(get(closed, 'all', 'p99_ms'))} | "
              f"{fmt(get(paced, 'all', 'p50_ms'))} | {fmt(get(paced, 'all', 'p99_ms'))} | "
              f"{fmt(get(pg_many, 'requests_per_second'), 0)} | "
              f"{fmt(get(pg_few, 'requests_per_second'), 0)} |")
    print()
    print("Medians:")
    print()
    print("| measure | requests/s | p50 ms | p99 ms | p99.9 ms | cycle p50 ms | cycle p99 ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")

    def row(name, rs, cycle=True):
        print(f"| {name} | {fmt(med([r['all'].get('per_second') for r in rs]), 0)} | "
              f"{fmt(med([r['all'].get('p50_ms') for r in rs]))} | "
              f"{fmt(med([r['all'].get('p99_ms') for r in rs]))} | "
              f"{fmt(med([r['all'].get('p999_ms') for r in rs]))} | "
              + (f"{fmt(med([r['cycle'].get('p50_ms') for r in rs]))} | "
                 f"{fmt(med([r['cycle'].get('p99_ms') for r in rs]))} |" if cycle else " | |"))
        for route in ("calling.next", "calling.connect", "calling.outcome"):
            print(f"| &nbsp;&nbsp;{route} | "
                  f"{fmt(med([r['routes'][route].get('per_second') for r in rs]), 0)} | "
                  f"{fmt(med([r['routes'][route].get('p50_ms') for r in rs]))} | "
                  f"{fmt(med([r['routes'][route].get('p99_ms') for r in rs]))} | "
                  f"{fmt(med([r['routes'][route].get('p999_ms') for r in rs]))} | | |")

    row(f"ours, {callers:,} callers, closed loop", closed)
    row(f"ours, {callers:,} callers, {rate:,.0f} req/s offered", paced, cycle=False)
    for name, rs in ((f"baseline, {callers:,} clients", pg_many), (f"baseline, {few} clients", pg_few)):
        print(f"| {name} (PostgreSQL 15 + RLS, pgbench) | "
              f"{fmt(med([r.get('requests_per_second') for r in rs]), 0)} | | | | "
              f"{fmt(med([r.get('cycle_p50_ms') for r in rs]))} | "
              f"{fmt(med([r.get('cycle_p99_ms') for r in rs]))} |")
    ours = med([r["all"].get("per_second") for r in closed])
    many = med([r.get("requests_per_second") for r in pg_many])
    best = med([r.get("requests_per_second") for r in pg_few])
    print()
    print(f"Ratio, ours closed loop / baseline (medians): {fmt(ours / many if many else NAN)}x "
          f"against {callers:,} clients, {fmt(ours / best if best else NAN)}x against {few}.")
    print(f"Server peak resident memory (median): "
          f"{fmt(med([r.get('server_peak_rss_mib') for r in closed]), 0)} MiB; server CPU in "
          f"the measured window (median): "
          f"{fmt(med([r.get('server_cpu_seconds_in_window') for r in closed]))} s of "
          f"{fmt(med([r.get('seconds') for r in closed]), 0)} s; the driver's: "
          f"{fmt(med([r.get('driver_cpu_seconds_in_window') for r in closed]))} s.")
    problems = []
    for r in closed + paced:
        ck = r.get("check", {})
        if not ck.get("recorded") or ck.get("audit_verify_exit") != 0:
            problems.append(f"a {r['kind']} run's records do not match its answers: {ck}")
        if r.get("refusals") or r.get("io_errors") or r.get("exhausted_callers"):
            problems.append(f"a {r['kind']} run had refusals {r.get('refusals')}, "
                            f"{r.get('io_errors')} I/O errors, "
                            f"{r.get('exhausted_callers')} callers with nobody left to call")
    for r in pg_many + pg_few:
        if r.get("pgbench_exit") or r.get("failed") or r.get("aborted_clients"):
            problems.append(f"a baseline run ({r['clients']} clients): pgbench exit "
                            f"{r.get('pgbench_exit')}, {r.get('failed')} failed, "
                            f"{r.get('aborted_clients')} clients aborted")
    print()
    if problems:
        print("Problems:")
        for p in problems:
            print(f"- {p}")
    else:
        print("Checks: after every run of ours, each outcome answered 200 has its call row and "
              "each next/connect/outcome answered its audit event, and `switchboard audit "
              "verify` passed; no refusals or I/O errors. pgbench: no failed transactions or "
              "aborted clients.")
    print()
    print("CPU seconds used by other processes during each of our measured windows (of "
          f"{os.cpu_count() * closed[0]['seconds'] if closed else 0:.0f} available on "
          f"{os.cpu_count()} cores; the server "
          "and the driver excluded): closed loop " +
          ", ".join(f"{r.get('other_cpu_seconds_in_window', -1):.1f}" for r in closed) +
          "; paced " +
          ", ".join(f"{r.get('other_cpu_seconds_in_window', -1):.1f}" for r in paced) + ".")


if __name__ == "__main__":
    main()
