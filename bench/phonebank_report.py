#!/usr/bin/env python3
"""The P3 section of scripts/run-bench.sh: medians of the runs of
bench/phonebank_load (closed loop, and at a fixed offered rate; closed loop
on the PostgreSQL store too when run) and of the PostgreSQL baseline
(bench/baselines/phonebank/run.sh) with as many clients as callers and with a
few, as Markdown. The headline is the ratio of ours to the baseline in the
same run, with the absolute rates and the machine beside it: absolute rates
move with the machine (2.5x between two machines of the same kind), the
ratio holds.

Exits 1, after the tables, when any run had a problem (a failed check, a
refusal, an I/O error, a baseline run that pgbench or its parser flagged) or
a figure is missing: a benchmark that cannot be trusted says so rather than
printing a number.

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


def machine():
    model = "unknown CPU"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = 0
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) / 1024 / 1024
    return f"{os.cpu_count()} cores, {model}, {mem:.0f} GiB"


def ratio(a, b):
    return a / b if b and a == a and b == b else NAN


def main():
    prep = json.load(open(sys.argv[1]))
    runs = [json.loads(line) for line in open(sys.argv[2]) if line.strip()]
    rate = float(sys.argv[3])
    callers = prep["callers"]
    closed = [r for r in runs if r["kind"] == "closed"]
    paced = [r for r in runs if r["kind"] == "rate"]
    on_pg = [r for r in runs if r["kind"] == "closed_pg"]
    pg_many = [r for r in runs if r["kind"] == "pg" and r["clients"] == callers]
    pg_few = [r for r in runs if r["kind"] == "pg" and r["clients"] != callers]
    few = pg_few[0]["clients"] if pg_few else 0
    ours = med([r["all"].get("per_second") for r in closed])
    many = med([r.get("requests_per_second") for r in pg_many])
    best = med([r.get("requests_per_second") for r in pg_few])
    ours_pg = med([r["all"].get("per_second") for r in on_pg])
    p99 = med([r["all"].get("p99_ms") for r in paced])
    print(f"**Ours / the PostgreSQL + row-level security baseline, same run, medians of "
          f"{len(closed)} rounds: {fmt(ratio(ours, many))}x with {callers:,} clients, "
          f"{fmt(ratio(ours, best))}x with {few}** (target >= 5x). Ours "
          f"{fmt(ours, 0)} requests/s closed loop on SQLite (target >= 20,000), p99 "
          f"{fmt(p99)} ms at {rate:,.0f} offered (target <= 20 ms); the baseline "
          f"{fmt(many, 0)} and {fmt(best, 0)} requests/s. Machine: {machine()}.")
    if on_pg:
        print()
        print(f"**On the PostgreSQL store** (the baseline's cluster, same run): ours "
              f"{fmt(ours_pg, 0)} requests/s closed loop, {fmt(ratio(ours_pg, many))}x the "
              f"baseline with {callers:,} clients, {fmt(ratio(ours_pg, best))}x with {few}; "
              f"{fmt(ratio(ours_pg, ours), 2)}x ours on SQLite.")
    print()
    print(f"Data: {prep['members']:,} generated members; a live campaign over the whole "
          f"organisation with {prep['targets']:,} targets; {callers:,} callers (set-up "
          f"{prep['seconds']:.0f} s, not measured). Runs alternate; each row is one round.")
    print()
    print(f"| round | ours / baseline {callers:,} | ours / baseline {few} | ours, closed loop: "
          f"req/s | p50 ms | p99 ms | ours, {rate:,.0f} req/s offered: p50 ms | p99 ms | "
          f"baseline, {callers:,} clients: req/s | baseline, {few} clients: req/s |"
          + (" ours on PostgreSQL: req/s |" if on_pg else ""))
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
          + (" --- |" if on_pg else ""))
    for i in range(max(len(closed), len(paced), len(pg_many), len(pg_few), len(on_pg))):
        def get(rs, *path):
            if i >= len(rs):
                return NAN
            v = rs[i]
            for p in path:
                v = v.get(p, NAN) if isinstance(v, dict) else NAN
            return v
        print(f"| {i + 1} | "
              f"{fmt(ratio(get(closed, 'all', 'per_second'), get(pg_many, 'requests_per_second')))}x | "
              f"{fmt(ratio(get(closed, 'all', 'per_second'), get(pg_few, 'requests_per_second')))}x | "
              f"{fmt(get(closed, 'all', 'per_second'), 0)} | "
              f"{fmt(get(closed, 'all', 'p50_ms'))} | {fmt(get(closed, 'all', 'p99_ms'))} | "
              f"{fmt(get(paced, 'all', 'p50_ms'))} | {fmt(get(paced, 'all', 'p99_ms'))} | "
              f"{fmt(get(pg_many, 'requests_per_second'), 0)} | "
              f"{fmt(get(pg_few, 'requests_per_second'), 0)} |"
              + (f" {fmt(get(on_pg, 'all', 'per_second'), 0)} |" if on_pg else ""))
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
    if on_pg:
        row(f"ours on PostgreSQL, {callers:,} callers, closed loop", on_pg)
    for name, rs in ((f"baseline, {callers:,} clients", pg_many), (f"baseline, {few} clients", pg_few)):
        print(f"| {name} (PostgreSQL 15 + RLS, pgbench) | "
              f"{fmt(med([r.get('requests_per_second') for r in rs]), 0)} | | | | "
              f"{fmt(med([r.get('cycle_p50_ms') for r in rs]))} | "
              f"{fmt(med([r.get('cycle_p99_ms') for r in rs]))} |")
    print()
    print(f"Server peak resident memory (median): "
          f"{fmt(med([r.get('server_peak_rss_mib') for r in closed]), 0)} MiB; server CPU in "
          f"the measured window (median): "
          f"{fmt(med([r.get('server_cpu_seconds_in_window') for r in closed]))} s of "
          f"{fmt(med([r.get('seconds') for r in closed]), 0)} s; the driver's: "
          f"{fmt(med([r.get('driver_cpu_seconds_in_window') for r in closed]))} s.")
    problems = []
    for r in closed + paced + on_pg:
        ck = r.get("check", {})
        if not ck.get("recorded") or ck.get("audit_verify_exit") != 0:
            problems.append(f"a {r['kind']} run's records do not match its answers: {ck}")
        if r.get("refusals") or r.get("io_errors") or r.get("exhausted_callers"):
            problems.append(f"a {r['kind']} run had refusals {r.get('refusals')}, "
                            f"{r.get('io_errors')} I/O errors, "
                            f"{r.get('exhausted_callers')} callers with nobody left to call")
    for r in pg_many + pg_few:
        if (r.get("pgbench_exit") or r.get("failed") or r.get("aborted_clients")
                or r.get("problems") or not r.get("requests_per_second")):
            problems.append(f"a baseline run ({r['clients']} clients): pgbench exit "
                            f"{r.get('pgbench_exit')}, {r.get('failed')} failed, "
                            f"{r.get('aborted_clients')} clients aborted, "
                            f"{r.get('requests_per_second')} requests/s; {r.get('problems')}")
    for name, value in (("ours, closed loop", ours), ("the baseline with many clients", many),
                        ("the baseline with few clients", best)):
        if value != value or value <= 0:
            problems.append(f"no figure for {name}")
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
    if problems:
        sys.stderr.write("phonebank_report: P3 has problems; its figures cannot be used:\n"
                         + "".join(f"  - {p}\n" for p in problems))
        sys.exit(1)


if __name__ == "__main__":
    main()
