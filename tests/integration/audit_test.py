"""The audit log against someone who can write to the database (issue 13):
every command ends under a signed checkpoint that is also appended to the
checkpoint log outside the database, and `audit verify` and `serve` check the
database against that log without being asked to (no --witness anywhere)."""
import json
import os
import signal
import sqlite3
import subprocess
import unittest

import tlog
from harness import BIN, DataDirTest
from serve_test import get, start

AUDIT_FAILED = 3
PASSWORD = "correct horse battery staple"


def canonical(event):
    """The audit event encoding (audit_log.h): sorted keys, no whitespace."""
    return json.dumps(event, separators=(",", ":"), sort_keys=True).encode()


class AuditTest(DataDirTest):
    def cli(self, *args, stdin=None, check=None):
        p = subprocess.run([BIN, *args, "--data-dir", self.data], input=stdin,
                           capture_output=True, text=True, timeout=120)
        if check is not None:
            self.assertEqual(p.returncode, check, p.stdout + p.stderr)
        return p

    def sql(self, *statements):
        db = sqlite3.connect(os.path.join(self.data, "switchboard.db"))
        rows = None
        for s in statements:
            rows = db.execute(*s if isinstance(s, tuple) else (s,)).fetchall()
        db.commit()
        db.close()
        return rows

    def log_path(self):
        return os.path.join(self.data, "audit-checkpoints.log")

    def logged_sizes(self, path=None):
        return tlog.sizes(path or self.log_path())

    def events(self):
        return self.sql("SELECT COUNT(*) FROM audit_events")[0][0]

    def verify(self, code):
        return json.loads(self.cli("audit", "verify", "--json", check=code).stdout)

    def serve_refuses(self):
        p = subprocess.run([BIN, "serve", "--data-dir", self.data, "--port", "0"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, AUDIT_FAILED, p.stdout + p.stderr)
        self.assertIn("refusing to serve", p.stderr)
        self.assertNotIn("serving on", p.stdout)
        return p.stderr

    def setUp(self):
        super().setUp()
        self.init()
        self.cli("generate", "members", "--count", "20", check=0)
        for login in ("alice", "bob", "carol"):
            self.cli("account", "add", login, "--name", "Test Person", "--password-stdin",
                     stdin=PASSWORD + "\n", check=0)

    def test_every_command_ends_under_a_signed_checkpoint(self):
        commands = [
            ("grant", "bootstrap", "--to", "alice", "--until", "+300d", "--reason", "new"),
            ("account", "suspend", "bob", "--reason", "probing detected"),
            ("account", "reinstate", "bob", "--reason", "cleared"),
            ("generate", "members", "--count", "5", "--seed", "2"),
            ("status",),
        ]
        for command in commands:
            self.cli(*command, check=0)
            n = self.events()
            signed = self.sql("SELECT MAX(tree_size) FROM audit_checkpoints")[0][0]
            self.assertEqual(signed, n, command)
            self.assertEqual(self.logged_sizes()[-1], n, command)
        # The file holds every checkpoint the database does.
        stored = [r[0] for r in self.sql("SELECT tree_size FROM audit_checkpoints "
                                         "ORDER BY tree_size")]
        self.assertEqual(self.logged_sizes(), stored)
        v = self.verify(0)
        self.assertEqual(v["external_checkpoints"], len(stored))

    def test_consistent_edit_with_deleted_checkpoints_is_caught(self):
        """(a) The event rewritten in its columns and body alike, and every
        checkpoint signed after it deleted: the database agrees with itself."""
        target = 3  # carol's account.add
        body, = self.sql(("SELECT body FROM audit_events WHERE seq = ?", (target,)))[0]
        event = json.loads(body)
        self.assertEqual(event["action"], "account.add")
        event["at"] += 1
        self.sql(("UPDATE audit_events SET at = ?, body = ? WHERE seq = ?",
                  (event["at"], canonical(event), target)),
                 ("DELETE FROM audit_checkpoints WHERE tree_size > ?", (target,)))
        v = self.verify(AUDIT_FAILED)
        self.assertFalse(v["ok"])
        self.assertEqual(v["first_bad"], target)
        self.assertIn("was altered", v["reason"])
        self.assertIn("checkpoint log", v["reason"])
        self.assertIn("was altered", self.serve_refuses())
        # Nothing was signed over the altered history.
        self.assertEqual(self.sql("SELECT MAX(tree_size) FROM audit_checkpoints")[0][0], target)

    def test_tail_truncation_is_caught(self):
        """(b) The newest events deleted with the checkpoints after them."""
        n = self.events()
        self.sql(("DELETE FROM audit_events WHERE seq >= ?", (n - 2,)),
                 ("DELETE FROM audit_checkpoints WHERE tree_size > ?", (n - 2,)))
        v = self.verify(AUDIT_FAILED)
        self.assertEqual(v["first_bad"], n - 2)
        self.assertIn(f"events {n - 2} to {n - 1} were deleted", v["reason"])
        # Any other command refuses too, before doing anything.
        p = self.cli("account", "add", "dave", "--name", "D", "--password-stdin",
                     stdin=PASSWORD + "\n", check=AUDIT_FAILED)
        self.assertIn("were deleted", p.stderr)
        self.assertEqual(self.events(), n - 2)

    def test_deleting_the_newest_event_after_generate_is_caught(self):
        """(c) A fresh init + generate ends under a checkpoint."""
        fresh = os.path.join(self.tmp, "fresh")
        self.data = fresh
        self.init()
        self.cli("generate", "members", "--count", "10", check=0)
        n = self.events()
        self.assertEqual(self.logged_sizes(), [n])
        self.sql(("DELETE FROM audit_events WHERE seq = ?", (n - 1,)),
                 "DELETE FROM audit_checkpoints")
        v = self.verify(AUDIT_FAILED)
        self.assertEqual(v["first_bad"], n - 1)
        self.assertIn(f"event {n - 1} was deleted", v["reason"])

    def test_serve_refuses_a_rolled_back_database_until_adopted(self):
        """(d) A database restored from an older copy: serve refuses it, with a
        log line and exit code 3, until the operator adopts it on the record."""
        backup = os.path.join(self.tmp, "backup.db")
        self.sql(f"VACUUM INTO '{backup}'")
        kept = self.events()
        self.cli("grant", "bootstrap", "--to", "alice", "--until", "+300d", "--reason", "new",
                 check=0)
        signed = self.events()
        db = os.path.join(self.data, "switchboard.db")
        os.replace(backup, db)
        for stale in (db + "-wal", db + "-shm"):
            if os.path.exists(stale):
                os.remove(stale)
        stderr = self.serve_refuses()
        self.assertIn('"event":"refusing to serve', stderr)
        self.assertIn(f"the checkpoint at size {signed}", stderr)
        self.assertIn(f" {kept} ", stderr)
        out = self.cli("audit", "adopt", check=0).stdout
        self.assertIn("superseded", out)
        superseded = [f for f in os.listdir(self.data) if ".superseded-" in f]
        self.assertEqual(len(superseded), 1)
        self.assertEqual(self.logged_sizes(os.path.join(self.data, superseded[0]))[-1], signed)
        events = [json.loads(l) for l in self.cli("audit", "query", check=0).stdout.splitlines()]
        self.assertEqual((events[-1]["action"], events[-1]["rule"]),
                         ("audit.adopt", f"checkpoint_log.replaced:{signed}"))
        proc, port, _ = start(["serve", "--data-dir", self.data, "--port", "0"])
        try:
            self.assertEqual(get(port, "/healthz"), (200, {"status": "ok"}))
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=30), 0)
            proc.stdout.close()
            proc.stderr.close()
        self.verify(0)

    def test_a_missing_checkpoint_log_needs_adopt(self):
        os.remove(self.log_path())
        p = self.cli("status", check=AUDIT_FAILED)
        self.assertIn("switchboard audit adopt", p.stderr)
        self.assertFalse(os.path.exists(self.log_path()))
        v = self.verify(AUDIT_FAILED)
        self.assertEqual(v["first_bad"], -1)
        self.assertIn("does not exist", v["reason"])
        self.assertIn("created", self.cli("audit", "adopt", check=0).stdout)
        self.verify(0)
        self.cli("status", check=0)

    def test_a_torn_last_line_is_tolerated_and_repaired(self):
        last = tlog.entries(self.log_path())[-1][1]
        with open(self.log_path(), "a", encoding="utf-8") as f:
            f.write(last[:40])  # a crash in the middle of an append
        v = self.verify(0)
        self.assertIn("cut short", v["notes"][0])
        self.cli("account", "add", "dave", "--name", "D", "--password-stdin",
                 stdin=PASSWORD + "\n", check=0)
        with open(self.log_path(), encoding="utf-8") as f:
            text = f.read()
        self.assertTrue(text.endswith("\n\n"))
        self.assertEqual(self.logged_sizes()[-1], self.events())
        self.assertEqual(self.verify(0)["notes"], [])

    def test_a_second_checkpoint_log_elsewhere(self):
        """A copy on another mount: added to the configuration, adopted once,
        then it catches a rollback even with the data directory's copy gone."""
        elsewhere = os.path.join(self.tmp, "elsewhere", "sb-checkpoints.log")
        os.makedirs(os.path.dirname(elsewhere))
        config = os.path.join(self.data, "switchboard.toml")
        with open(config, encoding="utf-8") as f:
            text = f.read()
        text = text.replace('checkpoint_logs = ["audit-checkpoints.log"]',
                            f'checkpoint_logs = ["audit-checkpoints.log", "{elsewhere}"]')
        with open(config, "w", encoding="utf-8") as f:
            f.write(text)
        self.assertIn("switchboard audit adopt", self.cli("status", check=AUDIT_FAILED).stderr)
        out = self.cli("audit", "adopt", check=0).stdout
        self.assertIn("kept " + self.log_path(), out)
        self.assertIn("created " + elsewhere, out)
        self.cli("account", "add", "dave", "--name", "D", "--password-stdin",
                 stdin=PASSWORD + "\n", check=0)
        self.assertEqual(self.logged_sizes(elsewhere)[-1], self.events())
        # Someone with the database and the data directory cuts both...
        n = self.events()
        self.sql(("DELETE FROM audit_events WHERE seq >= ?", (n - 1,)),
                 ("DELETE FROM audit_checkpoints WHERE tree_size >= ?", (n - 1,)))
        kept = [(kind, text) for (kind, text), size in
                zip(tlog.entries(self.log_path()), self.logged_sizes()) if size < n - 1]
        with open(self.log_path(), "w", encoding="utf-8") as f:
            f.writelines(text + "\n" for _, text in kept)
        # ...but not the copy elsewhere.
        v = self.verify(AUDIT_FAILED)
        self.assertEqual(v["first_bad"], n - 1)
        self.assertIn(elsewhere, v["reason"])
        self.serve_refuses()


if __name__ == "__main__":
    unittest.main()
