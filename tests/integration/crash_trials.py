"""TARGETS R3: `kill -9` at random points during an import, an e-mail send
(serve delivering an outbox to a real SMTP server on loopback) and phone-bank
calling (callers through the HTTP API, the sandbox connector), restarting
after each kill. After every restart:
 - no acknowledged write lost: the import's committed rows seen before the
   kill, a send answered 202 (its outbox rows), every outcome answered 200;
 - e-mail: every outbox row of the message reached the SMTP server, each
   recipient got one Message-ID, and a Message-ID arrived twice only if its
   row was `handed` at the kill (the one window SMTP leaves open: the relay
   took the message but serve died before recording it; docs/email-guide.md);
 - `switchboard audit verify` passes.
Each trial checks that the kill landed mid-work: the import had committed
some rows but not all; the send had delivered some messages but not all;
callers had requests in flight and outcomes acknowledged.

SWITCHBOARD_CRASH_TRIALS is the number of trials, shared evenly by the three
kinds (default 12); SWITCHBOARD_CRASH_SEED the master seed (default: fresh
from the OS, printed), from which each trial draws its own seed, printed
with it; SWITCHBOARD_CRASH_REPLAY=kind:seed (kind import, mail or calls)
runs that one trial again. Runs under Debian's python3 (aiosmtpd)."""
import glob
import http.client
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
import unittest

import crash_test
from email_test import PW, members_csv, totp
from harness import BIN, DataDirTest, run, synthetic_members_csv
from mailtest import (Api, Sink, make_dkim_key, mail_config, serve, set_mail_config,
                      wait_for)

TRIALS = int(os.environ.get("SWITCHBOARD_CRASH_TRIALS", "12"))
SEED = int(os.environ.get("SWITCHBOARD_CRASH_SEED") or random.SystemRandom().getrandbits(32))
REPLAY = os.environ.get("SWITCHBOARD_CRASH_REPLAY", "")
LOAD = os.environ.get("SB_PHONEBANK_LOAD", "")
IMPORT_ROWS = 6000
MAIL_MEMBERS = 1600  # even rows consent: 800 recipients a send
CALLERS = 8
LIVE = ("calling_you", "calling_member", "connected", "ringing", "answered")


def trial_seeds():
    """[(kind, seed)]: the trials to run, each with its own seed."""
    if REPLAY:
        kind, seed = REPLAY.split(":")
        return [(kind, int(seed))]
    master = random.Random(SEED)
    kinds = ("import", "mail", "calls")
    return [(kinds[i % 3], master.getrandbits(32)) for i in range(max(TRIALS, 3))]


STARTED = time.monotonic()


def report(kind, seed, text):
    print(f"\nR3 {kind} seed {seed} (replay: SWITCHBOARD_CRASH_REPLAY={kind}:{seed}): {text} "
          f"[{time.monotonic() - STARTED:.1f} s]", flush=True)


def kill9(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    if proc.returncode != -signal.SIGKILL:
        raise AssertionError(f"serve had already exited ({proc.returncode}) before the kill")


class CrashTrials(crash_test.ImportCrashChecks, DataDirTest):
    def setUp(self):
        super().setUp()
        self.trials = trial_seeds()
        print(f"\nR3 master seed {SEED} (SWITCHBOARD_CRASH_SEED={SEED}), "
              f"{len(self.trials)} trials", flush=True)
        self.figures = {}

    def audit_verify(self, data):
        p = run("audit", "verify", "--data-dir", data)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_kill_9_during_import_mail_and_calls(self):
        t0 = time.monotonic()
        by_kind = {}
        for kind, seed in self.trials:
            by_kind.setdefault(kind, []).append(seed)
        for kind in ("import", "mail", "calls"):
            seeds = by_kind.get(kind, [])
            if not seeds:
                continue
            k0 = time.monotonic()
            getattr(self, f"{kind}_trials")(seeds)
            self.figures[kind] = (len(seeds), time.monotonic() - k0)
        print("\nR3 " + ", ".join(f"{k}: {n} trials in {s:.0f} s"
                                  for k, (n, s) in self.figures.items())
              + f"; {time.monotonic() - t0:.0f} s in all (failures, if any, below with "
              "their seeds)", flush=True)

    # ---- import -----------------------------------------------------------------

    def import_trials(self, seeds):
        csv_dir = os.path.join(self.tmp, "in")
        os.makedirs(csv_dir, exist_ok=True)
        csv = os.path.join(csv_dir, "members.csv")
        synthetic_members_csv(csv, IMPORT_ROWS, seed=3)
        template = os.path.join(self.tmp, "import-template")
        run("init", "--data-dir", template, check=0)
        for i, seed in enumerate(seeds):
            with self.subTest(kind="import", seed=seed):
                rnd = random.Random(seed)
                self.data = os.path.join(self.tmp, f"import{i}")
                shutil.copytree(template, self.data)
                # The committed rows seen before the kill are the acknowledged
                # writes: kill_mid_import checks that they are all there.
                committed = self.kill_mid_import(csv, rnd, 0, IMPORT_ROWS * 3 // 4,
                                                 rows=IMPORT_ROWS)
                s = self.import_json(csv, "--unit-column", "constituency", "--batch-size",
                                     str(crash_test.BATCH))
                self.assertEqual((s["rows"], s["rejected"], s["updated"]), (IMPORT_ROWS, 0, 0))
                self.assertEqual(s["unchanged"], committed, "exactly the committed rows were kept")
                self.assertEqual(self.check_consistent(), IMPORT_ROWS)
                self.audit_verify(self.data)
                report("import", seed, f"killed at {committed} of {IMPORT_ROWS} rows")
                shutil.rmtree(self.data, ignore_errors=True)

    # ---- e-mail -----------------------------------------------------------------

    def mail_setup(self):
        self.data = os.path.join(self.tmp, "mail")
        self.init()

        def cli(*args, stdin=None):
            p = subprocess.run([BIN, *args, "--data-dir", self.data], input=stdin,
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            return p.stdout
        for login, name in [("alice", "Alice Owner"), ("bob", "Bob Officer")]:
            cli("account", "add", login, "--name", name, "--password-stdin",
                stdin=PW[login] + "\n")
        cli("grant", "bootstrap", "--to", "alice", "--until", "+300d", "--reason", "setup")
        out = cli("account", "totp", "alice", "--password-stdin", stdin=PW["alice"] + "\n")
        secret = [l.split()[1] for l in out.splitlines() if l.startswith("Secret:")][0]
        cli("grant", "add", "--as", "alice", "--password-stdin", "--totp", totp(secret),
            "--to", "bob", "--role", "officer", "--scope", "Aldershot", "--purpose",
            "branch e-mail", "--reason", "test", "--until", "+90d", stdin=PW["alice"] + "\n")
        csv = os.path.join(self.tmp, "mail-members.csv")
        members_csv(csv, MAIL_MEMBERS)
        cli("import", "members", csv, "--unit-column", "constituency")
        self.sink = Sink(os.path.join(self.tmp, "sink"))
        key, _ = make_dkim_key(self.tmp)
        set_mail_config(self.data, mail_config(self.sink.port, key, "http://127.0.0.1:1", 4))

    def sink_files(self, seen):
        """The sink's messages not in `seen` (names), oldest first, as (name, rcpt, Message-ID)."""
        out = []
        for meta in sorted(glob.glob(os.path.join(self.sink.directory, "msg-*.json"))):
            if meta in seen:
                continue
            with open(meta, encoding="utf-8") as f:
                env = json.load(f)
            mid = None
            with open(meta[:-5] + ".eml", "rb") as f:
                for line in f:
                    if not line.strip():
                        break
                    if line.lower().startswith(b"message-id:"):
                        mid = line.split(b":", 1)[1].strip().decode()
            out.append((meta, env["rcpt_tos"][0], mid))
        return out

    def outbox(self, message):
        db = sqlite3.connect(os.path.join(self.data, "switchboard.db"), timeout=30)
        try:
            return {f"<{message}.{rid}@example.org>": state for rid, state in db.execute(
                "SELECT id, state FROM outbox WHERE message_id = ?", (message,))}
        finally:
            db.close()

    def mail_trials(self, seeds):
        self.mail_setup()
        report("mail", "-", "set up")
        proc, port = serve(self.data)
        seen = set()
        repeats_total = 0
        try:
            for seed in seeds:
                with self.subTest(kind="mail", seed=seed):
                    rnd = random.Random(seed)
                    bob = Api(port, "bob", PW["bob"])
                    status, out = bob.call("POST", "/api/v1/messages", {
                        "scope": "E14000530", "kind": "campaign", "subject": "Branch news",
                        "text_body": "Dear {{first_name}},\nThe AGM is on Monday."})
                    self.assertEqual(status, 201, out)
                    msg = out["message"]
                    status, out = bob.call("POST", f"/api/v1/messages/{msg['id']}/send",
                                           {"version": msg["version"]})
                    # Acknowledged: every recipient is in the outbox.
                    self.assertEqual(status, 202, out)
                    total = out["queued"]
                    self.assertEqual(total, MAIL_MEMBERS // 2)
                    target = rnd.randrange(total // 20, total * 3 // 4)
                    extra = rnd.random() * 0.02
                    got = []

                    def arrived():
                        got.extend(self.sink_files(seen | {g[0] for g in got}))
                        return len(got) >= target
                    wait_for("part of the send", arrived, timeout=300, interval=0.002)
                    time.sleep(extra)
                    kill9(proc)
                    rows = self.outbox(msg["id"])
                    self.assertEqual(len(rows), total, "queued rows lost")
                    states = list(rows.values())
                    handed = {m for m, s in rows.items() if s == "handed"}
                    # Mid-send: some delivered, some not.
                    self.assertGreater(states.count("sent"), 0)
                    self.assertLess(states.count("sent"), total,
                                    "the send finished before the kill")
                    at_kill = len(got) + len(self.sink_files(seen | {g[0] for g in got}))
                    proc, port = serve(self.data)
                    bob = Api(port, "bob", PW["bob"])

                    def done():
                        status, out = bob.call("GET", f"/api/v1/messages/{msg['id']}/report")
                        c = out["report"]["counts"]
                        return c if c["queued"] + c["deferred"] + c["handed"] == 0 else None
                    counts = wait_for("the send to finish", done, timeout=300)
                    self.assertEqual(counts["sent"], total, counts)
                    got.extend(self.sink_files(seen | {g[0] for g in got}))
                    seen.update(g[0] for g in got)
                    by_mid = {}
                    by_rcpt = {}
                    for _, rcpt, mid in got:
                        by_mid.setdefault(mid, []).append(rcpt)
                        by_rcpt.setdefault(rcpt, set()).add(mid)
                    rows = self.outbox(msg["id"])
                    # Nothing lost, nothing foreign: the sink's Message-IDs are the outbox's.
                    self.assertEqual(set(by_mid), set(rows), "Message-IDs at the sink vs outbox")
                    self.assertEqual(len(by_rcpt), total)
                    two = [r for r, mids in by_rcpt.items() if len(mids) != 1]
                    self.assertEqual(two, [], "a recipient got two different messages")
                    repeats = {m for m, rcpts in by_mid.items() if len(rcpts) > 1}
                    self.assertTrue(all(len(by_mid[m]) == 2 for m in repeats))
                    self.assertLessEqual(repeats, handed,
                                         "a message repeated that was not in flight at the kill")
                    repeats_total += len(repeats)
                    self.audit_verify(self.data)
                    for name in seen:  # checked: keep the sink's directory small
                        os.remove(name)
                        os.remove(name[:-5] + ".eml")
                    seen.clear()
                    report("mail", seed, f"killed at {at_kill} of {total} delivered, "
                           f"{len(handed)} handed at the kill, {len(repeats)} repeated")
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
            self.sink.stop()
        print(f"\nR3 mail: {repeats_total} repeated transfers in {len(seeds)} trials "
              "(each the same Message-ID, each in flight at its kill)", flush=True)

    # ---- calling ----------------------------------------------------------------

    def calls_trials(self, seeds):
        self.assertTrue(LOAD, "SB_PHONEBANK_LOAD names bench/phonebank_load")
        work = os.path.join(self.tmp, "calls")
        p = subprocess.run([LOAD, "prepare", "--dir", work, "--bin", BIN, "--members", "3000",
                            "--callers", str(CALLERS), "--server-threads", "4",
                            "--recall-minutes", "0", "--max-passes", "1000000"],
                           capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        with open(os.path.join(work, "tokens.txt")) as f:
            campaign, *tokens = f.read().split()
        self.data = os.path.join(work, "template")
        base = f"/api/v1/campaigns/{campaign}"
        acked = {}  # call id -> outcome, every outcome answered 200 in any trial
        proc, port = serve(self.data)
        try:
            for seed in seeds:
                with self.subTest(kind="calls", seed=seed):
                    rnd = random.Random(seed)
                    want = rnd.randrange(5, 80)
                    extra = rnd.random() * 0.05
                    stop = threading.Event()
                    lock = threading.Lock()
                    state = {"in_flight": 0, "acked": 0, "errors": []}

                    def caller(token, crnd):
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                        hdrs = {"Authorization": "Bearer " + token,
                                "Content-Type": "application/json"}

                        def post(path, body=None):
                            with lock:
                                state["in_flight"] += 1
                            try:
                                conn.request("POST", base + path,
                                             json.dumps(body) if body is not None else None, hdrs)
                                r = conn.getresponse()
                                return r.status, json.loads(r.read() or b"{}")
                            finally:
                                with lock:
                                    state["in_flight"] -= 1
                        try:
                            while not stop.is_set():
                                status, out = post("/next")
                                if status != 200 or "lease" not in out:
                                    state["errors"].append(f"next {status} {out}")
                                    return
                                status, out = post("/connect")
                                if status != 201:
                                    state["errors"].append(f"connect {status} {out}")
                                    return
                                call_id = out["call"]["id"]
                                outcome = crnd.choice(["no_answer", "busy", "answered"])
                                body = {"outcome": outcome}
                                if outcome == "answered":
                                    body["answers"] = {"agm": True, "topic": "housing",
                                                       "volunteer": 4}
                                status, out = post("/outcome", body)
                                if status == 200:
                                    with lock:
                                        acked[call_id] = outcome
                                        state["acked"] += 1
                                elif status != 409:  # the sandbox's caller leg may end first
                                    state["errors"].append(f"outcome {status} {out}")
                                    return
                        except (OSError, http.client.HTTPException, ValueError):
                            pass  # the kill
                    threads = [threading.Thread(target=caller,
                                                args=(t, random.Random(rnd.getrandbits(32))))
                               for t in tokens]
                    for t in threads:
                        t.start()
                    wait_for("acknowledged outcomes", lambda: state["acked"] >= want or
                             state["errors"], timeout=120, interval=0.001)
                    self.assertEqual(state["errors"], [])
                    time.sleep(extra)
                    with lock:
                        in_flight, acked_at_kill = state["in_flight"], state["acked"]
                    kill9(proc)
                    stop.set()
                    for t in threads:
                        t.join(timeout=60)
                    self.assertEqual(state["errors"], [])
                    # Mid-work: outcomes acknowledged and requests the kill cut short.
                    self.assertGreaterEqual(acked_at_kill, want)
                    self.assertGreater(in_flight, 0, "no request was in flight at the kill")
                    proc, port = serve(self.data)
                    db = sqlite3.connect(os.path.join(self.data, "switchboard.db"), timeout=30)
                    try:
                        marks = ",".join("?" * len(LIVE))
                        self.assertEqual(db.execute(
                            f"SELECT COUNT(*) FROM calls WHERE state IN ({marks})",
                            LIVE).fetchone()[0], 0, "a call left live after the restart")
                        recorded = dict(db.execute("SELECT id, outcome FROM calls WHERE "
                                                   "outcome IS NOT NULL").fetchall())
                    finally:
                        db.close()
                    lost = {c: o for c, o in acked.items() if recorded.get(c) != o}
                    self.assertEqual(lost, {}, "acknowledged outcomes lost")
                    self.audit_verify(self.data)
                    report("calls", seed, f"killed after {acked_at_kill} outcomes acknowledged "
                           f"with {in_flight} requests in flight; {len(acked)} in all, none lost")
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)


if __name__ == "__main__":
    unittest.main()
