#!/usr/bin/env python3
"""P7/P8 report: reads scale_bench's JSON objects (one a line) and prints a
Markdown table, medians of the starts, with the targets at 1 M members."""
import json
import sys

P7_MIB = 1.5 * 1024  # resident memory of serve with 1 M members
P8_MS = 2000         # serve ready with 1 M members


def main():
    runs = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
    print("| members | backend | starts | listening (ms) | ready (ms) | RSS at ready (MiB) "
          "| RSS after warm-up (MiB) | peak RSS (MiB) | warm-up | data on disk | prepare |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in runs:
        m, s, p = r["median"], r["starts"], r["prepared"]
        ready = ", ".join(f"{x['ready_ms']:.0f}" for x in s)
        prep = "cached" if p.get("cached") else f"import {p['import_seconds']:.0f} s"
        print(f"| {r['members']:,} | {r['backend']}{' (cold cache)' if r['cold'] else ''} "
              f"| {len(s)} | {m['listen_ms']:.0f} | **{m['ready_ms']:.0f}** ({ready}) "
              f"| {m['rss_ready_mib']:.0f} (anon {m['anon_ready_mib']:.0f}) "
              f"| **{m['rss_warm_mib']:.0f}** (anon {m['anon_warm_mib']:.0f}) "
              f"| {m['hwm_warm_mib']:.0f} "
              f"| {s[0]['warm_requests']} requests, {m['warm_seconds']:.1f} s, "
              f"{r['warm_errors']} errors "
              f"| {r['data_bytes'] / 2**30:.2f} GiB | {prep} |")
    print()
    for r in runs:
        if r["members"] != 1000000:
            continue
        m = r["median"]
        p7 = "met" if m["hwm_warm_mib"] <= P7_MIB else "SHORT"
        p8 = "met" if m["ready_ms"] <= P8_MS else "SHORT"
        print(f"- {r['backend']}, 1 M: P7 peak {m['hwm_warm_mib']:.0f} MiB against "
              f"{P7_MIB:.0f} ({p7}); P8 ready {m['ready_ms']:.0f} ms against {P8_MS} ({p8}).")
    bad = [r for r in runs if r["warm_errors"] or r["bad_exits"]]
    if bad:
        print(f"- {len(bad)} run(s) had warm-up errors or an unclean exit: see the JSON.")


if __name__ == "__main__":
    main()
