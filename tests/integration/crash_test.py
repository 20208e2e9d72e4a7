"""A crash (SIGKILL) in the middle of an import leaves a consistent database,
and running the import again completes it without duplicates."""
import os
import signal
import sqlite3
import unittest

from harness import DataDirTest, run, synthetic_members_csv

ROWS = 6000
BATCH = 500


class CrashTest(DataDirTest):
    def check_consistent(self):
        db = sqlite3.connect(os.path.join(self.data, "switchboard.db"))
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            self.assertEqual(db.execute("PRAGMA foreign_key_check").fetchall(), [])
            # Every member is whole: it has its consent history and its email.
            orphans = db.execute(
                "SELECT COUNT(*) FROM members m WHERE NOT EXISTS (SELECT 1 FROM consent_events e "
                "WHERE e.member_id = m.id) OR NOT EXISTS (SELECT 1 FROM contact_points c WHERE "
                "c.member_id = m.id AND c.kind = 'email')").fetchone()[0]
            self.assertEqual(orphans, 0)
            return db.execute("SELECT COUNT(*) FROM members").fetchone()[0]
        finally:
            db.close()

    def test_kill_9_mid_import_then_reimport(self):
        self.init()
        csv = os.path.join(self.tmp, "m.csv")
        synthetic_members_csv(csv, ROWS)
        for kill_after in (1, 4):
            p = run("import", "members", csv, "--data-dir", self.data, "--unit-column",
                    "constituency", "--batch-size", str(BATCH),
                    env={"SWITCHBOARD_TEST_KILL_AFTER_BATCHES": str(kill_after)})
            self.assertEqual(p.returncode, -signal.SIGKILL, p.stderr)
            members = self.check_consistent()
            self.assertGreaterEqual(members, kill_after * BATCH)
            self.assertLess(members, ROWS)
        s = self.import_json(csv, "--unit-column", "constituency", "--batch-size", str(BATCH))
        self.assertEqual(s["rows"], ROWS)
        self.assertEqual(s["rejected"], 0)
        self.assertEqual(s["imported"] + s["unchanged"], ROWS)
        self.assertGreater(s["unchanged"], 0)
        self.assertEqual(self.check_consistent(), ROWS)

    def test_kill_9_from_outside(self):
        """A real external kill -9 while the import runs: whatever it managed
        to commit is whole, and a re-import completes it."""
        import subprocess
        import time
        self.init()
        csv = os.path.join(self.tmp, "big.csv")
        synthetic_members_csv(csv, 40000, seed=3)
        env = dict(os.environ)
        proc = subprocess.Popen(
            [os.environ["SWITCHBOARD_BIN"], "import", "members", csv, "--data-dir", self.data,
             "--unit-column", "constituency", "--batch-size", "200"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        # Wait (bounded) until the first batches are visible, then kill.
        db_path = os.path.join(self.data, "switchboard.db")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            db = sqlite3.connect(db_path)
            n = db.execute("SELECT COUNT(*) FROM members").fetchone()[0]
            db.close()
            if n > 0:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.check_consistent()
        s = self.import_json(csv, "--unit-column", "constituency")
        self.assertEqual(s["imported"] + s["unchanged"], 40000)
        self.assertEqual(self.check_consistent(), 40000)


if __name__ == "__main__":
    unittest.main()
