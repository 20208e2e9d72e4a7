#!/usr/bin/python3
"""R7: the soak. One `switchboard serve` under phone-bank and e-mail load at a
steady rate for a long time (an hour by default), sampled at fixed intervals.

    soak.py --bin build/release/switchboard --load build/release/bench/phonebank_load
            --dir D [--seconds 3600] [--sample 60] [--warmup 600]
            [--call-rate 9800] [--mail-rate 570] [--members 50000] [--callers 500]

Set-up (not measured, once per D): `phonebank_load prepare` (members, a live
campaign whose no_answer members come straight back, callers signed in with
verified sandbox phones, an organiser with an officer grant over the whole
organisation) and a DKIM key. Each run copies that template, starts
Postfix's `smtp-sink` on loopback and `switchboard serve` with [mail]
pointing at it (DKIM-signed, as production), then for --seconds:
 - phone bank: `phonebank_load run --attach` offers --call-rate requests/s
   (next -> connect -> outcome, open loop: latency counted from the time a
   request was due);
 - e-mail: the organiser drafts and sends a service notice to one unit
   (at most 1,000 recipients, so no second approval) every
   (recipients / --mail-rate) seconds, so that --mail-rate messages/s are
   queued on average and delivered by serve's outbox.
Every --sample seconds one row: serve's VmRSS and VmHWM (/proc), p50/p99
per route, requests answered, refusals, I/O errors, mail queued, sent,
pending and failed. Rows go to D/soak.csv and a summary to D/soak.md.

It fails (exit 1) on any error (a refusal, an I/O error, a caller left with
nobody to call, an e-mail API call not answered 2xx, a message failed,
bounced or deferred, serve not stopping cleanly, `audit verify` failing) or
when resident memory grew more than 5 % beyond the database's own growth:
the median VmRSS of the last five samples, less the growth of the database
file (median of the same samples) since the baseline, against the first
sample at or after --warmup seconds. SQLite keeps the pages it writes in its
cache, so memory that follows the data is not a leak; the raw growth is
reported beside it. The warm-up
lets what is meant to fill up do so before the baseline is taken: SQLite's
page cache on each of serve's connections (it fills as the database grows),
glibc's per-thread malloc arenas, the outbox's connections and compiled
messages, the sessions of every caller.
"""
import argparse
import csv
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import email_load  # noqa: E402  (its Sink, Api, serve, mail config and set-up CLI)

MARKER = ".soak"
ROUTES = ("calling.next", "calling.connect", "calling.outcome", "messages.draft",
          "messages.send", "messages.report")


def env_default(name, default, kind=float):
    v = os.environ.get(name)
    return kind(v) if v not in (None, "") else default


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--load", required=True, help="the phonebank_load binary")
    p.add_argument("--dir", required=True)
    p.add_argument("--seconds", type=float, default=env_default("SB_SOAK_SECONDS", 3600))
    p.add_argument("--sample", type=float, default=env_default("SB_SOAK_SAMPLE", 60))
    p.add_argument("--warmup", type=float, default=env_default("SB_SOAK_WARMUP", 600))
    p.add_argument("--call-rate", type=float, default=env_default("SB_SOAK_CALL_RATE", 9800))
    p.add_argument("--mail-rate", type=float, default=env_default("SB_SOAK_MAIL_RATE", 570))
    p.add_argument("--members", type=int, default=env_default("SB_SOAK_MEMBERS", 50000, int))
    p.add_argument("--callers", type=int, default=env_default("SB_SOAK_CALLERS", 500, int))
    p.add_argument("--mail-workers", type=int, default=4)
    p.add_argument("--server-threads", type=int, default=64,
                   help="[server] threads and [store] readers (64: as P3 measures)")
    p.add_argument("--sink", choices=("smtp-sink", "aiosmtpd"), default="smtp-sink",
                   help="Postfix's smtp-sink (fast; `scripts/setup.sh --bench`) or "
                   "tests/mail/smtp_sink.py (aiosmtpd, for short runs: keeps every message)")
    p.add_argument("--growth-limit", type=float, default=0.05)
    a = p.parse_args()
    a.bin, a.load, a.dir = map(os.path.abspath, (a.bin, a.load, a.dir))
    if a.seconds < a.warmup + 5 * a.sample:
        p.error("--seconds must leave five samples after --warmup")
    return a


def prepare(a):
    """D/template, unless D already holds one made with the same sizes."""
    want = f"{a.members} {a.callers} {a.server_threads}\n"
    marker = os.path.join(a.dir, MARKER)
    if os.path.exists(marker) and open(marker).read() == want:
        return
    shutil.rmtree(a.dir, ignore_errors=True)
    os.makedirs(a.dir)
    t0 = time.monotonic()
    p = subprocess.run([a.load, "prepare", "--dir", a.dir, "--bin", a.bin, "--members",
                        str(a.members), "--callers", str(a.callers), "--recall-minutes", "0",
                        "--max-passes", "1000000000", "--server-threads", str(a.server_threads)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"phonebank_load prepare failed: {p.stderr[-2000:]}")
    template = os.path.join(a.dir, "template")
    key = os.path.join(template, "dkim.key")
    subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True, capture_output=True)
    os.chmod(key, 0o600)
    with open(marker, "w") as f:
        f.write(want)
    print(f"soak: prepared {a.members} members, {a.callers} callers in "
          f"{time.monotonic() - t0:.0f} s", file=sys.stderr)


def mail_scope(run_dir):
    """The unit the e-mail load writes to: the largest with at most 1,000
    members holding an e-mail address (a small burst; no second approval)."""
    db = sqlite3.connect(os.path.join(run_dir, "switchboard.db"))
    try:
        rows = db.execute(
            "SELECT u.code, COUNT(*) FROM members m JOIN units u ON u.id = m.unit_id "
            "WHERE EXISTS (SELECT 1 FROM contact_points c WHERE c.member_id = m.id AND "
            "c.kind = 'email') GROUP BY u.id ORDER BY 2 DESC").fetchall()
    finally:
        db.close()
    small = [r for r in rows if r[1] <= 1000]
    return (small or rows[-1:])[0]


class Organiser(email_load.Api):
    """email_load's API client, signed in as the template's organiser."""

    def __init__(self, port, password):
        self.base = f"http://127.0.0.1:{port}"
        self.token = None
        status, out = self.call("POST", "/api/v1/session", {
            "login": "bench.organiser", "password": password, "client": "api"})
        if status != 201:
            sys.exit(f"sign-in of the organiser: {status} {out}")
        self.token = out["token"]


class Latency:
    """Per-route latency samples since the last take(), thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.samples = {}

    def add(self, route, ms):
        with self.lock:
            self.samples.setdefault(route, []).append(ms)

    def take(self):
        with self.lock:
            s, self.samples = self.samples, {}
        return s


class MailLoad(threading.Thread):
    def __init__(self, port, password, rate, scope, recipients, seconds, latency):
        super().__init__(daemon=True)
        self.port, self.password, self.rate, self.scope = port, password, rate, scope
        self.every = recipients / rate if rate > 0 else 0
        self.seconds, self.latency = seconds, latency
        self.errors = []
        self.messages = []  # ids
        self.queued = 0
        self.stop = threading.Event()

    def call(self, api, route, method, path, body=None, want=(200, 201, 202)):
        t0 = time.monotonic()
        try:
            status, out = api.call(method, path, body)
        except OSError as e:
            status, out = 0, {"error": str(e)}
        self.latency.add(route, (time.monotonic() - t0) * 1000)
        if status not in want:
            self.errors.append(f"{route}: {status} {json.dumps(out)[:200]}")
            return None
        return out

    def run(self):
        officer = Organiser(self.port, self.password)
        t0 = time.monotonic()
        k = 0
        while self.rate > 0 and not self.stop.is_set():
            due = t0 + k * self.every
            if due >= t0 + self.seconds:
                return
            if self.stop.wait(max(0.0, due - time.monotonic())):
                return
            k += 1
            out = self.call(officer, "messages.draft", "POST", "/api/v1/messages", {
                "scope": self.scope, "kind": "service", "subject": "Your {{unit_name}} branch",
                "text_body": email_load.TEXT, "html_body": email_load.HTML})
            if not out:
                continue
            msg = out["message"]
            out = self.call(officer, "messages.send", "POST",
                            f"/api/v1/messages/{msg['id']}/send", {"version": msg["version"]})
            if out:
                self.messages.append(msg["id"])
                self.queued += out["queued"]

    def counts(self, api, finished):
        """Summed report counts of every message sent so far; `finished`
        caches those with nothing left to deliver."""
        total = {}
        for mid in list(self.messages):
            c = finished.get(mid)
            if c is None:
                out = self.call(api, "messages.report", "GET", f"/api/v1/messages/{mid}/report")
                if not out:
                    continue
                c = out["report"]["counts"]
                if c["queued"] + c["deferred"] + c["handed"] == 0:
                    finished[mid] = c
            for key, v in c.items():
                if isinstance(v, int):
                    total[key] = total.get(key, 0) + v
        return total


class FileSink:
    """tests/mail/smtp_sink.py (aiosmtpd), which the test set-up installs."""

    def __init__(self, directory):
        os.makedirs(directory, exist_ok=True)
        here = os.path.dirname(os.path.abspath(__file__))
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(here, "..", "tests", "mail", "smtp_sink.py"),
             directory], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            sys.exit("smtp_sink.py did not start: " + line)
        self.port = int(line)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads"):
                out[k] = int(v.split()[0])
    return out


def cpu_seconds(pid):
    """User + system CPU seconds of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def q(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(p * len(v)))]


def main():
    a = parse_args()
    prepare(a)
    run_dir = os.path.join(a.dir, "run")
    shutil.rmtree(run_dir, ignore_errors=True)
    shutil.copytree(os.path.join(a.dir, "template"), run_dir)
    scope, recipients = mail_scope(run_dir)
    sink = (email_load.Sink() if a.sink == "smtp-sink" else
            FileSink(os.path.join(a.dir, "sink")))
    email_load.set_mail_config(
        os.path.join(run_dir, "switchboard.toml"),
        email_load.mail_config(sink.port, os.path.join(run_dir, "dkim.key"), a.mail_workers))
    proc, port = email_load.serve(a.bin, run_dir)
    pid = proc.pid
    print(f"soak: serve pid {pid} port {port}; {a.call_rate:.0f} phone-bank requests/s, "
          f"{a.mail_rate:.0f} e-mails/s ({recipients} to {scope} every "
          f"{recipients / a.mail_rate if a.mail_rate else 0:.1f} s), {a.seconds:.0f} s, "
          f"a sample every "
          f"{a.sample:.0f} s, warm-up {a.warmup:.0f} s", file=sys.stderr)

    latency = Latency()
    lines = []
    lines_lock = threading.Lock()
    # Only the reader thread reads the driver's stdout (its interval lines and
    # the final "done" line); stderr goes to a file so neither pipe can fill.
    load_err = open(os.path.join(run_dir, "phonebank_load.stderr"), "w+")
    load = subprocess.Popen(
        [a.load, "run", "--dir", a.dir, "--bin", a.bin, "--attach", str(port), "--callers",
         str(a.callers), "--rate", str(a.call_rate), "--seconds", str(a.seconds), "--warmup", "0",
         "--report-every", str(a.sample), "--outcome", "no_answer"],
        stdout=subprocess.PIPE, stderr=load_err, text=True)

    def read_load():
        for line in load.stdout:
            with lines_lock:
                lines.append(json.loads(line))
    reader = threading.Thread(target=read_load, daemon=True)
    reader.start()
    password = open(os.path.join(a.dir, "organiser.password")).read().strip()
    mail = MailLoad(port, password, a.mail_rate, scope, recipients, a.seconds, latency)
    mail.start()
    reporter = Organiser(port, password)
    finished = {}

    rows, errors = [], []
    t0 = time.monotonic()
    next_at = t0 + a.sample
    phone_seen = 0
    prev_sent = 0
    prev_cpu = cpu_seconds(pid)
    while True:
        time.sleep(max(0.0, next_at - time.monotonic()))
        elapsed = time.monotonic() - t0
        if proc.poll() is not None:
            errors.append(f"serve exited with {proc.returncode} at {elapsed:.0f} s")
            break
        st = proc_status(pid)
        cpu = cpu_seconds(pid)
        # The driver prints its interval line on its own clock: wait briefly for it.
        deadline = time.monotonic() + min(10, a.sample / 2)
        while time.monotonic() < deadline:
            with lines_lock:
                if len(lines) > phone_seen:
                    break
            time.sleep(0.05)
        with lines_lock:
            fresh = lines[phone_seen:]
            phone_seen = len(lines)
        mail_lat = latency.take()
        counts = mail.counts(reporter, finished)
        sent = counts.get("sent", 0)
        row = {"elapsed_s": round(elapsed), "rss_mib": round(st["VmRSS"] / 1024, 1),
               "hwm_mib": round(st["VmHWM"] / 1024, 1), "threads": st["Threads"],
               "serve_cpu_pct": round(100 * (cpu - prev_cpu) / a.sample),
               "loadavg": round(os.getloadavg()[0], 1)}
        prev_cpu = cpu
        answered, refusals, io_errors, exhausted = 0, 0, 0, 0
        per_route = {}
        for ln in fresh:
            if "routes" not in ln:
                continue
            answered += ln["answered"]
            refusals += sum(ln["refusals"].values())
            io_errors += ln["io_errors"]
            exhausted = ln["exhausted_callers"]
            for r, v in ln["routes"].items():
                per_route[r] = v
            if ln["refusals"]:
                errors.append(f"{elapsed:.0f} s: refusals {ln['refusals']}")
            if ln["io_errors"]:
                errors.append(f"{elapsed:.0f} s: {ln['io_errors']} I/O errors")
        row["phone_req_s"] = round(answered / a.sample)
        for r in ROUTES[:3]:
            v = per_route.get(r, {})
            row[f"{r}_p50_ms"] = v.get("p50_ms")
            row[f"{r}_p99_ms"] = v.get("p99_ms")
        row["refusals"], row["io_errors"], row["exhausted"] = refusals, io_errors, exhausted
        for r in ROUTES[3:]:
            v = mail_lat.get(r, [])
            row[f"{r}_p50_ms"] = round(q(v, 0.5), 1) if v else None
            row[f"{r}_p99_ms"] = round(q(v, 0.99), 1) if v else None
        row["mail_queued"] = mail.queued
        row["mail_sent_s"] = round((sent - prev_sent) / a.sample)
        prev_sent = sent
        row["mail_pending"] = (counts.get("queued", 0) + counts.get("handed", 0) +
                               counts.get("deferred", 0))
        bad = sum(counts.get(k, 0) for k in ("failed", "bounced", "deferred"))
        row["mail_failed"] = bad
        row["mail_api_errors"] = len(mail.errors)
        # The database grows under the load; SQLite's page cache (per
        # connection) follows it, so resident memory is read beside it.
        row["db_mib"] = round(sum(os.path.getsize(os.path.join(run_dir, f))
                                  for f in ("switchboard.db", "switchboard.db-wal")
                                  if os.path.exists(os.path.join(run_dir, f))) / 2**20, 1)
        rows.append(row)
        print("soak: " + json.dumps(row), file=sys.stderr, flush=True)
        if elapsed >= a.seconds - 1:
            break
        next_at += a.sample

    mail.stop.set()
    mail.join(timeout=60)
    # communicate() would race the reader thread for stdout and could take
    # the "done" line from it; wait for the exit and let the reader reach EOF.
    try:
        load.wait(timeout=120)
    except subprocess.TimeoutExpired:
        load.kill()
        load.wait()
        errors.append("phonebank_load did not finish")
    reader.join(timeout=30)
    load_err.seek(0)
    load_tail = load_err.read()[-1000:]
    load_err.close()
    with lines_lock:
        done = [ln for ln in lines if ln.get("done")]
    if load.returncode != 0:
        errors.append(f"phonebank_load exited {load.returncode}: {load_tail}")
    elif not done:
        errors.append(f"phonebank_load exited 0 without its final report: {load_tail}")
    elif done[0]["exhausted_callers"]:
        errors.append(f"{done[0]['exhausted_callers']} callers ran out of members to call")
    # Let the outbox finish what was queued, then count.
    drain_deadline = time.monotonic() + 300
    while time.monotonic() < drain_deadline:
        counts = mail.counts(reporter, finished)
        if counts.get("queued", 0) + counts.get("handed", 0) == 0:
            break
        time.sleep(1)
    counts = mail.counts(reporter, finished)
    errors.extend(mail.errors[:20])
    for k in ("failed", "bounced", "deferred", "queued", "handed"):
        if counts.get(k):
            errors.append(f"e-mail: {counts[k]} {k} at the end")
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=300)
    sink.stop()
    if rc != 0:
        errors.append(f"serve exited with {rc} on SIGTERM")
    verify = subprocess.run([a.bin, "audit", "verify", "--data-dir", run_dir],
                            capture_output=True, text=True)
    if verify.returncode != 0:
        errors.append(f"audit verify exited {verify.returncode}: {verify.stderr[-500:]}")

    # Memory: the first sample at or after the warm-up against the median of
    # the last five. SQLite keeps the pages it writes in the connection's
    # cache (up to 512 MiB, src/store/sqlite), so resident memory may follow
    # the database's own growth one for one; what grows beyond that is the
    # process's. Both are reported; the limit applies to the second.
    after = [r for r in rows if r["elapsed_s"] >= a.warmup]
    growth = beyond = None
    if len(after) < 6:
        errors.append(f"only {len(after)} samples after the warm-up; need six")
    else:
        base = after[0]["rss_mib"]
        last = statistics.median(r["rss_mib"] for r in rows[-5:])
        data = statistics.median(r["db_mib"] for r in rows[-5:]) - after[0]["db_mib"]
        growth = last / base - 1
        beyond = (last - max(0.0, data)) / base - 1
        if beyond > a.growth_limit:
            errors.append(f"resident memory grew {growth * 100:.1f} % ({base} -> {last} MiB, "
                          f"median of the last five), {beyond * 100:.1f} % beyond the "
                          f"database's growth of {data:.1f} MiB: above "
                          f"{a.growth_limit * 100:.0f} %")

    with open(os.path.join(a.dir, "soak.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()) if rows else ["elapsed_s"])
        w.writeheader()
        w.writerows(rows)
    summary = {
        "seconds": a.seconds, "sample_s": a.sample, "warmup_s": a.warmup,
        "call_rate": a.call_rate, "mail_rate": a.mail_rate, "members": a.members,
        "callers": a.callers, "mail_scope_recipients": recipients,
        "phone_answered_2xx": done[0]["answered_2xx"] if done else None,
        "mail_queued": mail.queued, "mail_sent": counts.get("sent", 0),
        "rss_mib_first": rows[0]["rss_mib"] if rows else None,
        "rss_mib_baseline": after[0]["rss_mib"] if after else None,
        "rss_mib_last5_median":
            statistics.median(r["rss_mib"] for r in rows[-5:]) if rows else None,
        "hwm_mib_end": rows[-1]["hwm_mib"] if rows else None,
        "rss_growth_pct": round(growth * 100, 2) if growth is not None else None,
        "rss_growth_beyond_data_pct": round(beyond * 100, 2) if beyond is not None else None,
        "db_mib_end": rows[-1]["db_mib"] if rows else None,
        "errors": errors, "passed": not errors}
    write_markdown(os.path.join(a.dir, "soak.md"), summary, rows)
    print(json.dumps(summary))
    print(f"soak: {'PASS' if not errors else 'FAIL'}; report in {a.dir}/soak.md, "
          f"{a.dir}/soak.csv", file=sys.stderr)
    return 0 if not errors else 1


def write_markdown(path, s, rows):
    with open(path, "w") as f:
        f.write(f"# Soak ({'passed' if s['passed'] else 'FAILED'})\n\n")
        f.write(f"{s['seconds']:.0f} s at {s['call_rate']:.0f} phone-bank requests/s and "
                f"{s['mail_rate']:.0f} e-mails/s; {s['members']} members, {s['callers']} "
                f"callers; a sample every {s['sample_s']:.0f} s, "
                f"warm-up {s['warmup_s']:.0f} s.\n\n")
        f.write(f"- phone bank answered 2xx: {s['phone_answered_2xx']}\n")
        f.write(f"- e-mail queued {s['mail_queued']}, sent {s['mail_sent']}\n")
        f.write(f"- VmRSS: first {s['rss_mib_first']} MiB, after warm-up "
                f"{s['rss_mib_baseline']} MiB, median of the last five "
                f"{s['rss_mib_last5_median']} MiB: growth {s['rss_growth_pct']} %, "
                f"{s['rss_growth_beyond_data_pct']} % beyond the database's growth "
                f"(database {s['db_mib_end']} MiB at the end); "
                f"VmHWM at the end {s['hwm_mib_end']} MiB\n")
        f.write("- errors: " + ("none" if not s["errors"] else "; ".join(s["errors"])) + "\n\n")
        if rows:
            keys = list(rows[0].keys())
            f.write("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys) + "\n")
            for r in rows:
                f.write("| " + " | ".join("" if r[k] is None else str(r[k]) for k in keys)
                        + " |\n")


if __name__ == "__main__":
    sys.exit(main())
