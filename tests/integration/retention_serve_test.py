"""Retention inside `switchboard serve` (docs/privacy.md, "Retention"): the
daily job runs from serve's own loop, purges expired sessions, sign-up and
reset links and finished outbox rows, and records the counts in one
privacy.retention audit event; once it has run for the day, a restarted
server does not run it again.

Time is moved the honest way: rows are made by the real server (a session, a
mailing delivered to a real SMTP server on loopback), then their timestamps
are set back past their retention periods, and the record of the last run is
set to yesterday, as if the days had passed."""
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
import unittest

from email_test import members_csv, totp
from harness import BIN, DataDirTest, run
from mailtest import Api, Sink, make_dkim_key, mail_config, set_mail_config, wait_for
from serve_test import start

PW = {"alice": "correct horse battery staple", "sam": "sam's own long passphrase"}
DAY = 24 * 3600 * 1_000_000
LAST_RUN = "privacy.retention.last_run"


class RetentionServeTest(DataDirTest):
    def cli(self, *args, stdin=None, check=0):
        p = subprocess.run([BIN, *args, "--data-dir", self.data], input=stdin,
                           capture_output=True, text=True, timeout=300)
        if check is not None:
            self.assertEqual(p.returncode, check, p.stdout + p.stderr)
        return p

    def setUp(self):
        super().setUp()
        self.init()
        csv = os.path.join(self.tmp, "members.csv")
        members_csv(csv, 6)
        self.cli("import", "members", csv, "--unit-column", "constituency")
        for login in PW:
            self.cli("account", "add", login, "--name", login.title(), "--password-stdin",
                     stdin=PW[login] + "\n")
        self.cli("grant", "bootstrap", "--to", "alice", "--until", "+300d", "--reason", "setup")
        out = self.cli("account", "totp", "alice", "--password-stdin",
                       stdin=PW["alice"] + "\n").stdout
        secret = [l.split()[1] for l in out.splitlines() if l.startswith("Secret:")][0]
        self.cli("grant", "add", "--as", "alice", "--password-stdin", "--totp", totp(secret),
                 "--to", "sam", "--role", "officer", "--scope", "Aldershot", "--purpose",
                 "branch e-mail", "--reason", "test", "--until", "+90d",
                 stdin=PW["alice"] + "\n")
        self.sink = Sink(os.path.join(self.tmp, "sink"))
        key, _ = make_dkim_key(self.tmp)
        set_mail_config(self.data, mail_config(self.sink.port, key, "http://127.0.0.1:1"))
        self.proc = None

    def tearDown(self):
        self.stop()
        self.sink.stop()
        super().tearDown()

    def serve(self):
        """Starts serve; its log lines are collected in self.log."""
        self.proc, port, lines = start(["serve", "--data-dir", self.data, "--port", "0"])
        self.log = list(lines)
        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=lambda s=stream: [self.log.append(l) for l in s],
                             daemon=True).start()
        return port

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.assertEqual(self.proc.wait(timeout=60), 0)
        self.proc = None

    def logged(self, event):
        """Waits until serve logs `event` (component retention); returns the line's JSON."""
        def find():
            for line in list(self.log):
                if line.startswith("{"):
                    j = json.loads(line)
                    if j.get("component") == "retention" and j.get("event") == event:
                        return j
            return None
        return wait_for(f"serve to log '{event}'", find, timeout=120)

    def db(self):
        return sqlite3.connect(os.path.join(self.data, "switchboard.db"), timeout=30)

    def runs(self):
        """The privacy.retention events, each as {kind: count}."""
        out = []
        for line in run("audit", "query", "--data-dir", self.data, check=0).stdout.splitlines():
            e = json.loads(line)
            if e["action"] == "privacy.retention":
                out.append(dict((k, int(v)) for k, v in
                                (c.rsplit(":", 1) for c in e["field_classes"])))
        return out

    def test_serve_purges_what_expired_once_a_day_and_audits_the_counts(self):
        # A fresh database has never run retention: serve runs it at start.
        port = self.serve()
        self.logged("retention ran")
        self.assertEqual(len(self.runs()), 1)
        # A session and a mailing of three, made by the real server.
        sam = Api(port, "sam", PW["sam"])
        status, msg = sam.call("POST", "/api/v1/messages", {
            "scope": "E14000530", "kind": "campaign", "subject": "Branch news",
            "text_body": "Dear {{first_name}},\nThe AGM is on Monday."})
        self.assertEqual(status, 201, msg)
        status, out = sam.call("POST", f"/api/v1/messages/{msg['message']['id']}/send",
                               {"version": msg["message"]["version"]})
        self.assertEqual(status, 202, out)
        wait_for("the mailing to be delivered", lambda: self.sink.count() == 3)
        wait_for("the message to be finished", lambda: sam.call(
            "GET", f"/api/v1/messages/{msg['message']['id']}")[1]["message"]["state"] == "sent")
        self.stop()

        # Time passes: the session expired 31 days ago, the mail was sent 91 days
        # ago, a reset link expired 8 days ago (and one is still good), and the
        # last run was yesterday.
        now = int(time.time() * 1_000_000)
        db = self.db()
        with db:
            self.assertEqual(db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0], 1)
            self.assertEqual(db.execute("SELECT COUNT(*) FROM outbox WHERE state = 'sent'")
                             .fetchone()[0], 3)
            db.execute("UPDATE sessions SET created_at = ?, last_seen_at = ?, expires_at = ?",
                       (now - 32 * DAY, now - 31 * DAY, now - 31 * DAY))
            db.execute("UPDATE outbox SET updated_at = ?", (now - 91 * DAY,))
            for token, expires in (("old-link", now - 8 * DAY), ("good-link", now + DAY)):
                db.execute("INSERT INTO account_links (token_hash, purpose, created_at, "
                           "expires_at) VALUES (?, 'reset', ?, ?)", (token, expires - DAY, expires))
            last = int(db.execute("SELECT value FROM settings WHERE name = ?", (LAST_RUN,))
                       .fetchone()[0])
            db.execute("UPDATE settings SET value = ? WHERE name = ?", (str(last - DAY), LAST_RUN))
        db.close()

        # Overdue: serve catches up at start.
        self.serve()
        self.logged("retention ran")
        runs = self.runs()
        self.assertEqual(len(runs), 2, runs)
        self.assertEqual(runs[1]["sessions"], 1, runs[1])
        self.assertEqual(runs[1]["account_links"], 1, runs[1])
        self.assertEqual(runs[1]["outbox"], 3, runs[1])
        self.assertEqual(runs[1]["lapsed_members"], 0, runs[1])
        db = self.db()
        with db:
            self.assertEqual(db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0], 0)
            self.assertEqual(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0], 0)
            self.assertEqual([r[0] for r in db.execute("SELECT token_hash FROM account_links")],
                             ["good-link"])
            # Another link expires; today's run is done.
            db.execute("INSERT INTO account_links (token_hash, purpose, created_at, expires_at) "
                       "VALUES ('later-link', 'reset', ?, ?)", (now - 9 * DAY, now - 8 * DAY))
        db.close()
        self.stop()

        # Started again the same day: serve looks, says when the next run is, and
        # does not run.
        self.serve()
        line = self.logged("retention not due")
        self.assertIn("next_run", line)
        self.stop()
        self.assertEqual(len(self.runs()), 2)
        db = self.db()
        with db:
            self.assertEqual(db.execute("SELECT COUNT(*) FROM account_links WHERE token_hash = "
                                        "'later-link'").fetchone()[0], 1)
        db.close()
        self.assertEqual(run("audit", "verify", "--data-dir", self.data).returncode, 0)


if __name__ == "__main__":
    unittest.main()
