"""`switchboard backup` while serve takes writes, `switchboard restore` into a
new directory: every write acknowledged before the backup began is there and
the audit log verifies; a damaged, altered or wrongly keyed backup is refused
(issue 19)."""
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import threading
import time
import unittest
import urllib.request

from harness import DataDirTest, PgCluster, run, synthetic_members_csv
from keys_test import Served
from serve_test import bearer, call, get


class Load:
    """Threads creating campaign invites through the API; each acknowledged
    write is kept with the moment its answer arrived."""

    def __init__(self, port, auth, campaign, threads=2):
        self.port, self.auth, self.campaign = port, auth, campaign
        self.acked = []  # (monotonic time of the answer, invite id, label)
        self.errors = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.work, args=(t,)) for t in range(threads)]

    def work(self, t):
        n = 0
        while not self.stop.is_set():
            label = f"load-{t}-{n}"
            n += 1
            status, body, _ = call(self.port, "POST",
                                   f"/api/v1/campaigns/{self.campaign}/invites",
                                   {"label": label, "max_joins": 1}, self.auth)
            done = time.monotonic()
            with self.lock:
                if status == 201:
                    self.acked.append((done, body["invite"]["id"], label))
                else:
                    self.errors.append((status, body))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


def manifest(path):
    with open(os.path.join(path, "manifest.json"), encoding="utf-8") as f:
        return json.load(f)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class BackupTest(DataDirTest):
    def demo(self):
        """A demo data directory of 300 members, and its organiser's login and password."""
        demo = os.path.join(self.tmp, "demo")
        out = run("demo", "--data-dir", demo, "--count", "300", "--no-serve", check=0).stdout
        m = re.search(r"organiser: login (\S+)\s+password (\S+)", out)
        self.assertTrue(m, out)
        return demo, (m.group(1), m.group(2))

    def test_backup_under_load_restores_every_acknowledged_write(self):
        demo, organiser = self.demo()
        serve = Served(demo)
        port = serve.port
        backup = os.path.join(self.tmp, "backup")
        try:
            auth = bearer(port, *organiser)
            status, body, _ = call(port, "GET", "/api/v1/campaigns", headers=auth)
            self.assertEqual(status, 200, body)
            campaign = body["campaigns"][0]["id"]
            with Load(port, auth, campaign) as load:
                while len(load.acked) < 40:  # writes are flowing before the backup
                    time.sleep(0.01)
                began = time.monotonic()
                p = run("backup", "--data-dir", demo, "--to", backup)
                ended = time.monotonic()
                after = len(load.acked)
                while len(load.acked) < after + 20:  # and go on after it
                    time.sleep(0.01)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(load.errors, [])
            before = [(i, label) for (t, i, label) in load.acked if t < began]
            during_or_after = [a for a in load.acked if a[0] >= ended]
            self.assertGreaterEqual(len(before), 40)
            self.assertGreaterEqual(len(during_or_after), 20)
        finally:
            self.assertEqual(serve.stop(), 0)

        m = manifest(backup)
        self.assertEqual((m["format"], m["store"], m["with_keyring"]),
                         ("switchboard-backup", "sqlite", False))
        self.assertEqual(sorted(m["files"]), ["audit-verify.pub", "policy.toml",
                                              "switchboard.db", "switchboard.toml"])
        self.assertFalse(os.path.exists(os.path.join(backup, "keys")))
        self.assertGreater(m["checkpoint"]["tree_size"], 0)
        self.assertIn("\u2014 ", m["checkpoint"]["text"])  # a signed note's signature line
        # The backup itself is on the live record.
        live = sqlite3.connect(os.path.join(demo, "switchboard.db"))
        rule = live.execute("SELECT rule FROM audit_events WHERE action = 'backup.create'"
                            ).fetchall()
        live.close()
        self.assertEqual(rule, [(f"without_keyring:checkpoint:{m['checkpoint']['tree_size']}",)])

        # Without --with-keyring, restore needs the keys from elsewhere.
        restored = os.path.join(self.tmp, "restored")
        p = run("restore", "--from", backup, "--to", restored)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("made without --with-keyring", p.stderr)
        self.assertFalse(os.path.exists(restored))

        p = run("restore", "--from", backup, "--to", restored, "--keys",
                os.path.join(demo, "keys"), "--checkpoint-log",
                os.path.join(demo, "audit-checkpoints.log"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("audit log verified", p.stdout)
        self.assertRegex(p.stdout, r"the live checkpoint log covers events \d+ to \d+")
        db = sqlite3.connect(os.path.join(restored, "switchboard.db"))
        rows = dict(db.execute("SELECT id, label FROM campaign_invites").fetchall())
        db.close()
        missing = [(i, label) for (i, label) in before if rows.get(i) != label]
        self.assertEqual(missing, [])
        # Restoring never writes into a directory that holds anything.
        p = run("restore", "--from", backup, "--to", restored, "--keys",
                os.path.join(demo, "keys"))
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("is not empty", p.stderr)

        # The restored directory verifies and serves.
        p = run("audit", "verify", "--data-dir", restored)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        serve = Served(restored)
        try:
            status, body = get(serve.port, "/readyz")
            self.assertEqual((status, body["status"]), (200, "ready"))
            with urllib.request.urlopen(f"http://127.0.0.1:{serve.port}/metrics",
                                        timeout=30) as r:
                self.assertIn("switchboard_members 300\n", r.read().decode())
        finally:
            self.assertEqual(serve.stop(), 0)

    def test_damaged_altered_or_wrongly_keyed_backups_are_refused(self):
        demo, _ = self.demo()
        backup = os.path.join(self.tmp, "backup")
        p = run("backup", "--data-dir", demo, "--to", backup, "--with-keyring")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("as sensitive as the live system", p.stderr)
        m = manifest(backup)
        self.assertTrue(m["with_keyring"])
        self.assertIn("keys/keyring", m["files"])
        self.assertEqual(os.stat(os.path.join(backup, "keys", "keyring")).st_mode & 0o777, 0o600)
        # A backup never overwrites one.
        p = run("backup", "--data-dir", demo, "--to", backup)
        self.assertEqual(p.returncode, 2, p.stderr)

        # One byte flipped in the database copy.
        damaged = os.path.join(self.tmp, "damaged")
        subprocess.run(["cp", "-a", backup, damaged], check=True)
        dbfile = os.path.join(damaged, "switchboard.db")
        with open(dbfile, "r+b") as f:
            f.seek(os.path.getsize(dbfile) // 2)
            b = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([b[0] ^ 0x01]))
        target = os.path.join(self.tmp, "t1")
        p = run("restore", "--from", damaged, "--to", target)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("switchboard.db does not match its SHA-256 in the manifest", p.stderr)
        self.assertFalse(os.path.exists(target))

        # Another deployment's keys.
        other = os.path.join(self.tmp, "other")
        run("init", "--data-dir", other, check=0)
        p = run("restore", "--from", backup, "--to", target, "--keys",
                os.path.join(other, "keys"))
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertRegex(p.stderr, r"the keyring .* \(fingerprint [0-9a-f]+\) is not this "
                                   r"backup's \([0-9a-f]+\)")

        # An audit event altered and the manifest's hash made to agree: the
        # log no longer verifies against its signed checkpoint.
        altered = os.path.join(self.tmp, "altered")
        subprocess.run(["cp", "-a", backup, altered], check=True)
        dbfile = os.path.join(altered, "switchboard.db")
        db = sqlite3.connect(dbfile)
        db.execute("UPDATE audit_events SET rule = 'altered' WHERE seq = 1")
        db.commit()
        db.close()
        for suffix in ("-wal", "-shm"):
            self.assertFalse(os.path.exists(dbfile + suffix))
        am = manifest(altered)
        am["files"]["switchboard.db"] = sha256(dbfile)
        with open(os.path.join(altered, "manifest.json"), "w", encoding="utf-8") as f:
            json.dump(am, f)
        p = run("restore", "--from", altered, "--to", target)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("its audit log failed verification at index 1", p.stderr)
        self.assertFalse(os.listdir(target) if os.path.exists(target) else [])

        # The untouched backup restores with its own keys.
        p = run("restore", "--from", backup, "--to", target)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(run("audit", "verify", "--data-dir", target).returncode, 0)

    def test_postgresql_backup_and_restore(self):
        pg = PgCluster()
        self.addCleanup(pg.stop)
        pg.createdb("live")
        # A password in the URL (the cluster trusts the socket and ignores
        # it): it must reach pg_dump and nothing else.
        live = pg.url("live").replace("switchboard@", "switchboard:s3cretpw@")
        run("init", "--data-dir", self.data, "--store", live, check=0)
        members = os.path.join(self.tmp, "members.csv")
        synthetic_members_csv(members, 200)
        self.import_json(members, "--store", live, "--unit-column", "constituency")
        backup = os.path.join(self.tmp, "backup")
        serve = Served(self.data, "--store", live)
        try:
            p = run("backup", "--data-dir", self.data, "--store", live, "--to", backup)
        finally:
            self.assertEqual(serve.stop(), 0)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn("s3cretpw", p.stdout + p.stderr)
        m = manifest(backup)
        self.assertEqual((m["store"], m["database"]), ("postgresql", "switchboard.pgdump"))
        self.assertNotIn("s3cretpw", json.dumps(m))
        with open(os.path.join(backup, "switchboard.pgdump"), "rb") as f:
            self.assertEqual(f.read(5), b"PGDMP")

        # Only into an empty database.
        restored = os.path.join(self.tmp, "restored")
        p = run("restore", "--from", backup, "--to", restored, "--store", live, "--keys",
                os.path.join(self.data, "keys"))
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("is not empty", p.stderr)
        self.assertEqual(os.listdir(restored) if os.path.exists(restored) else [], [])

        target = pg.createdb("restored")
        p = run("restore", "--from", backup, "--to", restored, "--store", target, "--keys",
                os.path.join(self.data, "keys"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("audit log verified", p.stdout)
        p = run("audit", "verify", "--data-dir", restored, "--store", target)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        out = json.loads(run("status", "--data-dir", restored, "--store", target, "--json",
                             check=0).stdout)
        self.assertEqual(out["members"], 200)


if __name__ == "__main__":
    unittest.main()
