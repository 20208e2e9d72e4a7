#!/usr/bin/python3
"""P6: member e-mail at volume, through the real binary.

    email_load.py --bin build/release/switchboard --dir D [--members 500000]
                  [--rounds 3] [--workers 8] [--window 100000]

`prepare` (not measured, once): `switchboard init`, `generate members`, three
accounts (an owner, an officer and a staff member over the whole
organisation, granted through the CLI like an administrator would), a
2048-bit RSA DKIM key. The data directory is then the template of every
round.

Each round copies the template, starts Postfix's `smtp-sink` on a loopback
port (a real SMTP server written in C, so that the sink is not what is
measured), points `[mail]` at it with DKIM signing on and starts `switchboard
serve`. Through the HTTP API, like any client: the officer drafts a
personalised service notice (first name, unit name and the member's own
unsubscribe and preferences links, text and HTML) to the whole organisation,
the staff member gives the second approval the policy asks for above 1,000
recipients, and the officer sends it.

 - queue: the wall time of the send request, from the request to the 202
   that says every recipient is in the outbox (the rule checks, the audience
   query and one outbox row per recipient, in one durable transaction);
 - delivery: messages handed to the SMTP server per second, from the
   report's `sent` count: over `--window` messages after the first 2,000
   (steady state: connections open, the message cached), then the whole
   send (each message read, rendered for its recipient, DKIM-signed,
   submitted over its own SMTP transaction and recorded twice: handed, sent).

Baselines, measured in the same run on the same machine:
 - queue: the same INSERT ... SELECT of one row per recipient, run by
   Python's sqlite3 module on a copy of the round's database, with no rule
   checks, audience query or API around it (the floor for this storage);
 - delivery: Postfix's `smtp-source` (C) sending the same number of messages
   of the same size over the same number of connections, one transaction per
   message, into the same kind of `smtp-sink` (the floor for this SMTP path).

Prints one JSON object per round to stdout.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

PW = {"owner": "bench owner passphrase one", "officer": "bench officer passphrase two",
      "staff": "bench staff passphrase three"}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cli(bin_, *args, stdin=None):
    p = subprocess.run([bin_, *args], input=stdin, capture_output=True, text=True, timeout=3600)
    if p.returncode != 0:
        sys.exit(f"switchboard {' '.join(args[:2])} failed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout


def totp(secret_b32, at):
    import base64
    import hashlib
    import hmac
    import struct
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


def prepare(args, template):
    bin_ = args.bin
    cli(bin_, "init", "--data-dir", template)
    cli(bin_, "generate", "members", "--count", str(args.members), "--data-dir", template)
    for login, name in [("owner", "Bench Owner"), ("officer", "Bench Officer"),
                        ("staff", "Bench Staff")]:
        cli(bin_, "account", "add", login, "--name", name, "--password-stdin",
            "--data-dir", template, stdin=PW[login] + "\n")
    cli(bin_, "grant", "bootstrap", "--to", "owner", "--until", "+60d", "--reason",
        "benchmark set-up", "--data-dir", template)
    out = cli(bin_, "account", "totp", "owner", "--password-stdin", "--data-dir", template,
              stdin=PW["owner"] + "\n")
    secret = [l.split()[1] for l in out.splitlines() if l.startswith("Secret:")][0]
    now = time.time()
    for step, (login, role) in enumerate([("officer", "officer"), ("staff", "staff")]):
        # Each grant needs its own TOTP step (codes are not accepted twice).
        cli(bin_, "grant", "add", "--as", "owner", "--password-stdin", "--totp",
            totp(secret, now + 30 * step), "--to", login, "--role", role, "--scope", "UK",
            "--purpose", "benchmark: member e-mail", "--reason", "benchmark set-up", "--until",
            "+30d", "--data-dir", template, stdin=PW["owner"] + "\n")
    key = os.path.join(template, "dkim.key")
    subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True, capture_output=True)
    os.chmod(key, 0o600)


class Sink:
    """Postfix's smtp-sink on loopback: accepts everything, keeps nothing
    (unless `dump` names a file to append every transaction to)."""

    def __init__(self, dump=None):
        self.port = free_port()
        user = [] if os.getuid() != 0 else ["-u", "nobody"]
        extra = ["-D", dump] if dump else []
        self.proc = subprocess.Popen(["/usr/sbin/smtp-sink", *user, *extra,
                                      f"127.0.0.1:{self.port}", "1024"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.time() > deadline:
                    sys.exit("smtp-sink did not start")
                time.sleep(0.05)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def mail_config(port, key, workers):
    dkim = "" if not key else f"""
dkim_domain = "example.org"
dkim_selector = "sb2026"
dkim_key_file = "{key}"
"""
    return f"""
[mail]
relay = "smtp://127.0.0.1:{port}"
tls = "none"
from_address = "members@example.org"
bounce_address = "bounces@example.org"
message_id_domain = "example.org"
public_base_url = "https://members.example.org"
workers = {workers}
""" + dkim


def set_mail_config(path, text):
    """Replaces the [mail] table of the configuration with `text`."""
    with open(path, encoding="utf-8") as f:
        cur = f.read()
    cur = re.sub(r"(?ms)^\[mail\]\n.*?(?=^\[|\Z)", "", cur)
    with open(path, "w", encoding="utf-8") as f:
        f.write(cur.rstrip("\n") + "\n" + text)


class Api:
    def __init__(self, port, login):
        self.base = f"http://127.0.0.1:{port}"
        self.token = None
        status, out = self.call("POST", "/api/v1/session",
                                {"login": login, "password": PW[login], "client": "api"})
        if status != 201:
            sys.exit(f"sign-in of {login}: {status} {out}")
        self.token = out["token"]

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")


def serve(bin_, data_dir):
    proc = subprocess.Popen([bin_, "serve", "--data-dir", data_dir, "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        m = re.search(r"serving on http://127\.0\.0\.1:(\d+)", line)
        if m:
            for s in (proc.stdout, proc.stderr):  # drain, so logging never blocks it
                threading.Thread(target=lambda s=s: [None for _ in s], daemon=True).start()
            return proc, int(m.group(1))
    sys.exit("serve did not start: " + proc.stderr.read())


TEXT = ("Dear {{first_name}},\n\nThe {{unit_name}} branch meets on Thursday at 7pm. "
        "Your membership card for next year is on its way.\n\n"
        "Change what we send you: {{preferences_url}}\n")
HTML = ("<p>Dear {{first_name}},</p><p>The <b>{{unit_name}}</b> branch meets on Thursday at "
        "7pm. Your membership card for next year is on its way.</p>"
        "<p><a href=\"{{preferences_url}}\">Change what we send you</a></p>")


def one_round(args, template, work, index, dkim=True, scope="UK", dump=None, full=False):
    """One send: returns the queue time and the delivery rate. Unless `full`,
    the server is stopped once the measurement window has been delivered."""
    run_dir = os.path.join(work, f"run{index}")
    shutil.rmtree(run_dir, ignore_errors=True)
    shutil.copytree(template, run_dir)
    sink = Sink(dump)
    set_mail_config(os.path.join(run_dir, "switchboard.toml"),
                    mail_config(sink.port, os.path.join(run_dir, "dkim.key") if dkim else "",
                                args.workers))
    proc, port = serve(args.bin, run_dir)
    try:
        officer, staff = Api(port, "officer"), Api(port, "staff")
        status, out = officer.call("POST", "/api/v1/messages", {
            "scope": scope, "kind": "service", "subject": "Your {{unit_name}} branch",
            "text_body": TEXT, "html_body": HTML})
        if status != 201:
            sys.exit(f"draft: {status} {out}")
        msg = out["message"]
        if msg["requirements"]["second_approval"]:
            status, out = staff.call("POST", f"/api/v1/messages/{msg['id']}/approve",
                                     {"version": msg["version"]})
            if status != 200:
                sys.exit(f"approve: {status} {out}")
        t0 = time.monotonic()
        status, out = officer.call("POST", f"/api/v1/messages/{msg['id']}/send",
                                   {"version": msg["version"]})
        t1 = time.monotonic()
        if status != 202:
            sys.exit(f"send: {status} {out}")
        queued = out["queued"]
        # Delivery, from the report's counts: the window starts once 2,000
        # have gone (connections open, the message compiled and cached).
        start_at = min(2000, queued // 10)
        window_end = min(queued, start_at + args.window)
        marks = {}
        while True:
            status, rep = officer.call("GET", f"/api/v1/messages/{msg['id']}/report")
            now = time.monotonic()
            if status != 200:
                sys.exit(f"report: {status} {rep}")
            c = rep["report"]["counts"]
            sent = c["sent"]
            for mark in (start_at, window_end):
                if mark not in marks and sent >= mark:
                    marks[mark] = (now, sent)
            finished = c["queued"] + c["deferred"] + c["handed"] == 0
            if finished or (not full and window_end in marks):
                break
            if now - t1 > args.timeout:
                sys.exit(f"delivery did not finish in {args.timeout} s: {c}")
            time.sleep(0.05)
        if c["failed"] or c["deferred"]:
            sys.exit(f"delivery went wrong: {c}")
        # Rows the outbox settled without sending (suppressed or cancelled
        # when their turn came) end the send below `queued`: the window then
        # ends at the last count seen, and the counts go into the result.
        if window_end not in marks and finished:
            marks[window_end] = (now, sent)
        if start_at not in marks:
            sys.exit(f"delivery finished with {sent} of {queued} sent: {c}")
        (a, sa), (b, sb) = marks[start_at], marks[window_end]
        result = {"round": index, "dkim": dkim, "workers": args.workers, "queued": queued, "queue_s": round(t1 - t0, 3),
                  "window": sb - sa, "window_s": round(b - a, 2),
                  "deliver_per_s": round((sb - sa) / (b - a), 1) if b > a else None}
        if finished:
            result["sent"] = c["sent"]
            result["counts"] = c
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=300)
        sink.stop()
    if not dump:
        result.update(baseline_queue(run_dir, work))
    shutil.rmtree(run_dir, ignore_errors=True)
    return result


def probe_size(args, template, work):
    """Bytes per message as delivered (headers, DKIM signature and both parts):
    one constituency's send, in full, into an smtp-sink that keeps what it gets."""
    import tempfile
    # The sink runs as nobody when we are root: a directory it can reach.
    dump = tempfile.mkdtemp(prefix="sb-p6-probe-")
    os.chmod(dump, 0o777)
    r = one_round(args, template, work, "probe", scope="E14000530",
                  dump=os.path.join(dump, "dump"), full=True)
    total = sum(os.path.getsize(os.path.join(dump, f)) for f in os.listdir(dump))
    shutil.rmtree(dump)
    return total // max(1, r["sent"]), r["sent"]


def baseline_queue(run_dir, work):
    """The floor: the same recipients' outbox rows written by one plain
    statement in one transaction (no API, rule checks or audience query)."""
    db = os.path.join(work, "baseline.db")
    for ext in ("", "-wal", "-shm"):
        if os.path.exists(os.path.join(run_dir, "switchboard.db" + ext)):
            shutil.copyfile(os.path.join(run_dir, "switchboard.db" + ext), db + ext)
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    mid = con.execute("SELECT MAX(id) FROM messages").fetchone()[0]
    con.execute("CREATE TEMP TABLE ids AS SELECT member_id FROM outbox WHERE message_id = ?",
                (mid,))
    con.execute("DELETE FROM outbox")
    t0 = time.monotonic()
    con.execute("BEGIN")
    n = con.execute("INSERT INTO outbox (message_id, member_id, state, attempts, next_attempt_at, "
                    "updated_at) SELECT ?, member_id, 'queued', 0, 0, 0 FROM ids",
                    (mid,)).rowcount
    con.execute("COMMIT")
    t1 = time.monotonic()
    con.close()
    for ext in ("", "-wal", "-shm"):
        if os.path.exists(db + ext):
            os.remove(db + ext)
    return {"baseline_queue_rows": n, "baseline_queue_s": round(t1 - t0, 3)}


def baseline_delivery(count, size, workers):
    """Postfix's smtp-source into smtp-sink: the same messages, sizes, connections."""
    sink = Sink()
    try:
        t0 = time.monotonic()
        subprocess.run(["/usr/sbin/smtp-source", "-s", str(workers), "-m", str(count), "-l",
                        str(size), "-d", "-f", "bounces@example.org", "-t",
                        "member@example.org", "-M", "bench.example.org",
                        f"127.0.0.1:{sink.port}"], check=True, capture_output=True,
                       timeout=3600)
        t1 = time.monotonic()
    finally:
        sink.stop()
    return {"baseline_messages": count, "baseline_s": round(t1 - t0, 2),
            "baseline_per_s": round(count / (t1 - t0), 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--members", type=int, default=500_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--window", type=int, default=100_000)
    ap.add_argument("--size", type=int, default=0,
                    help="baseline message size in bytes (default: measured from one message)")
    ap.add_argument("--timeout", type=int, default=3600)
    ap.add_argument("--full", action="store_true",
                    help="deliver every message of each send, not only the window")
    args = ap.parse_args()
    for tool in ("/usr/sbin/smtp-sink", "/usr/sbin/smtp-source"):
        if not os.access(tool, os.X_OK):
            sys.exit(f"{tool} is missing: install Debian's postfix package (scripts/setup.sh "
                     "--bench does)")
    work = os.path.abspath(args.dir)
    template = os.path.join(work, "template")
    if not os.path.exists(os.path.join(template, "switchboard.db")):
        t = time.monotonic()
        prepare(args, template)
        print(json.dumps({"prepare_s": round(time.monotonic() - t, 1),
                          "members": args.members}), flush=True)
    size = args.size
    if not size:
        size, probed = probe_size(args, template, work)
        print(json.dumps({"message_bytes": size, "probe_messages": probed}), flush=True)
    for i in range(args.rounds):
        for dkim in (True, False):
            r = one_round(args, template, work, i, dkim=dkim, full=args.full)
            # smtp-source adds ~250 bytes of headers of its own to -l bytes of body.
            r.update(baseline_delivery(r["window"], max(100, size - 250), args.workers))
            print(json.dumps(r), flush=True)

if __name__ == "__main__":
    main()
