#!/usr/bin/env python3
"""The P9 section of scripts/run-bench.sh: bench/sip_load runs (SIP through
SIPp, and the sandbox baseline through the same API path), one round per
line, then medians, as Markdown.

Usage: sip_report.py PREPARE_JSON RUNS_JSONL"""
import json
import statistics
import sys

NAN = float("nan")


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else NAN


def fmt(x, digits=1):
    return "n/a" if x is None or x != x else f"{x:,.{digits}f}"


def name(r):
    return f"sip ({r['transport']})" if r["connector"] == "sip" else r["connector"]


def trunk(r, key, field):
    return r.get("trunk", {}).get(key, {}).get(field)


def main():
    prep = json.load(open(sys.argv[1]))
    runs = [json.loads(line) for line in open(sys.argv[2]) if line.strip()]
    print(f"Data: {prep['members']:,} generated members; a live campaign with "
          f"{prep['targets']:,} targets; {prep['callers']} callers, each on its own keep-alive "
          "connection: next -> connect -> hold -> hangup -> outcome. SIPp "
          "(tests/telephony/answer.xml) is the trunk and both phones; latencies are from the "
          "time a call was due to SIPp's own stamp. Each row is one run.")
    print()
    print("| run | connector | offered calls/s | hold s | calls set up/s | call -> member's "
          "INVITE p50 ms | p99 ms | connect request p50 ms | p99 ms | bridged at once (peak) "
          "| server CPU s | recorded, audit verify |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for i, r in enumerate(runs, 1):
        sip = r["connector"] == "sip"
        setups = r["trunk"]["setups_per_second"] if sip else r["connects_accepted_per_second"]
        ok = r["check"]["recorded"] and r["check"]["audit_verify_exit"] == 0 and \
            r["io_errors"] == 0 and r.get("trunk", {}).get("sipp_error_lines", 0) == 0
        print(f"| {i} | {name(r)} | {r['offered_rate']:.0f} | {r['hold_seconds']:.1f} | "
              f"{fmt(setups)} | {fmt(trunk(r, 'call_to_member_invite', 'p50_ms'))} | "
              f"{fmt(trunk(r, 'call_to_member_invite', 'p99_ms'))} | "
              f"{fmt(r['connect_request'].get('p50_ms'))} | "
              f"{fmt(r['connect_request'].get('p99_ms'))} | "
              f"{r.get('trunk', {}).get('bridged_at_once_peak', 'n/a')} | "
              f"{fmt(r['server_cpu_seconds'])} | {'yes' if ok else 'NO'} |")
    print()
    print("Medians:")
    print()
    print("| connector | offered calls/s | calls set up/s | call -> member's INVITE p50 ms | "
          "p99 ms | connect request p50 ms | p99 ms | bridged at once (peak) | SIPp errors |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    groups = {}
    for r in runs:
        groups.setdefault((name(r), r["offered_rate"]), []).append(r)
    for (connector, rate), rs in groups.items():
        sip = connector.startswith("sip")
        setups = med([r["trunk"]["setups_per_second"] if sip
                      else r["connects_accepted_per_second"] for r in rs])
        peak = med([r.get("trunk", {}).get("bridged_at_once_peak") for r in rs])
        print(f"| {connector} | {rate:.0f} | {fmt(setups)} | "
              f"{fmt(med([trunk(r, 'call_to_member_invite', 'p50_ms') for r in rs]))} | "
              f"{fmt(med([trunk(r, 'call_to_member_invite', 'p99_ms') for r in rs]))} | "
              f"{fmt(med([r['connect_request'].get('p50_ms') for r in rs]))} | "
              f"{fmt(med([r['connect_request'].get('p99_ms') for r in rs]))} | "
              f"{fmt(peak, 0)} | "
              f"{fmt(med([r.get('trunk', {}).get('sipp_error_lines') for r in rs]), 0)} |")
    print()
    print("Call -> member's INVITE, the slowest call due in each second of the window (ms), "
          "per SIP run:")
    print()
    for i, r in enumerate(runs, 1):
        if "trunk" in r:
            series = r["trunk"].get("call_to_member_invite_max_ms_by_second", [])
            print(f"- run {i}, {name(r)} at {r['offered_rate']:.0f}/s: " +
                  " ".join(f"{x:.0f}" for x in series))
    bad = [r for r in runs if not r["check"]["recorded"] or r["check"]["audit_verify_exit"] != 0]
    print()
    print("Every call recorded and audited, audit verify passing: " +
          ("yes, in every run" if not bad else f"NO, in {len(bad)} run(s)"))


if __name__ == "__main__":
    main()
