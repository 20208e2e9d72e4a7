#!/usr/bin/env python3
"""bench.scale_smoke: runs scale_bench on 5,000 members, on SQLite (imported)
and on PostgreSQL (generated), two starts each, and checks the report's fields (no figure is
judged: timings belong to `make bench`). Usage: scale_smoke.py SCALE_BENCH
SWITCHBOARD WORK_DIR SOURCE_DIR"""
import json
import os
import shutil
import subprocess
import sys

MEMBERS = 5000


def fail(msg):
    sys.exit(f"scale_smoke: {msg}")


def main():
    bench, sb, work, src = sys.argv[1:5]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    csv = os.path.join(work, "members.csv")
    subprocess.run([sys.executable, os.path.join(src, "bench/make_members_csv.py"), csv,
                    str(MEMBERS), "1", os.path.join(src, "data/constituencies.csv")], check=True)
    lines = []
    # SQLite loads the CSV with `import`, PostgreSQL with `generate` (as make bench does).
    for backend, source in (("sqlite", "import"), ("postgres", "generate")):
        out = subprocess.run([bench, "--dir", os.path.join(work, backend), "--bin", sb, "--csv",
                              csv, "--members", str(MEMBERS), "--backend", backend, "--source",
                              source, "--starts", "2", "--warm", "60", "--callers", "3"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            fail(f"{backend}: exit {out.returncode}: {out.stderr[-2000:]}")
        r = json.loads(out.stdout)
        lines.append(out.stdout)
        if (r["backend"], r["members"], r["source"], r["threads"]) != (backend, MEMBERS, source, 2):
            fail(f"{backend}: the report names {r['backend']}, {r['members']}")
        p = r["prepared"]
        # The generator adds a canary per constituency.
        if not MEMBERS <= p["members"] <= MEMBERS + 1000 or p["cached"]:
            fail(f"{backend}: prepared {p}")
        if not 0 < p["targets"] < MEMBERS or p["email_queued"] <= 0:
            fail(f"{backend}: no targets or nothing queued: {p}")
        if len(r["starts"]) != 2 or r["warm_errors"] or r["bad_exits"]:
            fail(f"{backend}: starts {r['starts']}")
        for s in r["starts"]:
            if not 0 < s["listen_ms"] <= s["ready_ms"]:
                fail(f"{backend}: ready before listening: {s}")
            if not 0 < s["rss_ready_mib"] <= s["hwm_ready_mib"] <= s["hwm_warm_mib"]:
                fail(f"{backend}: memory fields out of order: {s}")
            if s["warm_requests"] < 60 or s["exit"] != 0:
                fail(f"{backend}: warm-up or exit: {s}")
        if r["data_bytes"] <= 0:
            fail(f"{backend}: no data size")
    # A second SQLite run reuses the prepared data.
    out = subprocess.run([bench, "--dir", os.path.join(work, "sqlite"), "--bin", sb, "--csv", csv,
                          "--members", str(MEMBERS), "--starts", "1", "--warm", "10",
                          "--callers", "3"], capture_output=True, text=True)
    if out.returncode != 0 or not json.loads(out.stdout)["prepared"]["cached"]:
        fail(f"the second SQLite run did not reuse the data: {out.stdout} {out.stderr[-2000:]}")
    runs = os.path.join(work, "runs.jsonl")
    with open(runs, "w", encoding="utf-8") as f:
        f.writelines(lines)
    rep = subprocess.run([sys.executable, os.path.join(src, "bench/scale_report.py"), runs],
                         capture_output=True, text=True, check=True).stdout
    if rep.count(f"| {MEMBERS:,} |") != 2:
        fail(f"the report lacks a row per backend:\n{rep}")
    print(rep)
    shutil.rmtree(work, ignore_errors=True)
    print("scale_smoke: 2 backends, report fields sane")


if __name__ == "__main__":
    main()
