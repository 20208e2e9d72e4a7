#!/usr/bin/env python3
"""Summarises bench/email_load.py's JSON lines (P6) as Markdown: medians of
the rounds, with every round's figure, against the baselines of the same run."""
import json
import statistics
import sys


def main():
    rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
    probe = next((r for r in rows if "message_bytes" in r), {})
    prep = next((r for r in rows if "prepare_s" in r), {})
    runs = [r for r in rows if "round" in r]
    if not runs:
        sys.exit("email_report: no rounds")

    def fig(key, sel, fmt="{:,.0f}"):
        vals = [r[key] for r in runs if sel(r)]
        return fmt.format(statistics.median(vals)), ", ".join(fmt.format(v) for v in vals)

    dk = lambda r: r["dkim"]
    nodk = lambda r: not r["dkim"]
    queued = runs[0]["queued"]
    print(f"Members: {prep.get('members', '?'):,}; recipients per send: {queued:,}; "
          f"message: {probe.get('message_bytes', '?')} bytes as delivered (text and HTML "
          f"parts, DKIM signature); SMTP connections: {runs[0].get('workers', '?')}.")
    print()
    print("| measure | median | rounds | baseline median | rounds | ours / baseline |")
    print("| --- | --- | --- | --- | --- | --- |")
    q, qr = fig("queue_s", lambda r: True, "{:.2f} s")
    b, br = fig("baseline_queue_s", lambda r: True, "{:.2f} s")
    qm = statistics.median(r["queue_s"] for r in runs)
    bm = statistics.median(r["baseline_queue_s"] for r in runs)
    print(f"| queue {queued:,} (send request to 202) | {q} | {qr} | {b} | {br} | "
          f"{qm / bm:.1f}x the time |")
    for label, sel in (("deliver, DKIM-signed (messages/s)", dk),
                       ("deliver, unsigned (messages/s)", nodk)):
        if not any(sel(r) for r in runs):
            continue
        d, dr = fig("deliver_per_s", sel)
        s, sr = fig("baseline_per_s", sel)
        dm = statistics.median(r["deliver_per_s"] for r in runs if sel(r))
        sm = statistics.median(r["baseline_per_s"] for r in runs if sel(r))
        print(f"| {label} | {d} | {dr} | {s} | {sr} | {dm / sm:.2f} |")
    print()
    print("Queue baseline: the same outbox rows by one INSERT ... SELECT in one transaction "
          "(Python's sqlite3, WAL, synchronous=FULL), no API or rule checks. Delivery "
          "baseline: Postfix's smtp-source (C) sending as many messages of the same size over "
          "the same number of connections into smtp-sink, with nothing to read, render, sign "
          "or record.")


if __name__ == "__main__":
    main()
