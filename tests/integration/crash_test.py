"""A crash (SIGKILL from outside) at a random point of an import leaves a
consistent database, and running the import again completes it: the right
totals, nothing duplicated, an audit log that verifies.

Each trial kills a running import twice, the second time while the re-run
is catching up, at points drawn from a seeded generator; the trial fails
unless each kill landed while the import was running with some, but not all,
of its rows committed. SWITCHBOARD_CRASH_TRIALS sets the number of trials
(default 3) and SWITCHBOARD_CRASH_SEED the seed (default 13), for a longer
soak or to replay a failure."""
import os
import random
import signal
import sqlite3
import subprocess
import time
import unittest

from harness import BIN, DataDirTest, run, synthetic_members_csv

ROWS = 30000
BATCH = 250
TRIALS = int(os.environ.get("SWITCHBOARD_CRASH_TRIALS", "3"))
SEED = int(os.environ.get("SWITCHBOARD_CRASH_SEED", "13"))


class ImportCrashChecks:
    """Killing an import and checking what it left (also crash_trials.py)."""

    def db(self):
        return sqlite3.connect(os.path.join(self.data, "switchboard.db"), timeout=30)

    def members(self):
        db = self.db()
        try:
            return db.execute("SELECT COUNT(*) FROM members").fetchone()[0]
        finally:
            db.close()

    def check_consistent(self):
        """Every member is whole and appears once; returns how many there are."""
        db = self.db()
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            self.assertEqual(db.execute("PRAGMA foreign_key_check").fetchall(), [])
            n = db.execute("SELECT COUNT(*) FROM members").fetchone()[0]
            self.assertEqual(
                db.execute("SELECT COUNT(DISTINCT source || ':' || external_id) FROM members")
                .fetchone()[0], n, "a member imported twice")
            # Each has its consent history, exactly one e-mail address and one phone.
            orphans = db.execute(
                "SELECT COUNT(*) FROM members m WHERE NOT EXISTS (SELECT 1 FROM consent_events e "
                "WHERE e.member_id = m.id)").fetchone()[0]
            self.assertEqual(orphans, 0)
            for kind in ("email", "phone"):
                per_member = db.execute(
                    "SELECT COUNT(*) FROM members m WHERE (SELECT COUNT(*) FROM contact_points c "
                    "WHERE c.member_id = m.id AND c.kind = ?) != 1", (kind,)).fetchone()[0]
                self.assertEqual(per_member, 0, f"members without exactly one {kind}")
            # The audit log names each imported member in exactly one addition.
            added = []
            for (members,) in db.execute(
                    "SELECT members FROM audit_events WHERE action = 'member.import.add'"):
                added.extend(int(m) for m in members.split(","))
            self.assertEqual(len(added), n, "audit additions, counted with repeats")
            self.assertEqual(set(added),
                             {r[0] for r in db.execute("SELECT id FROM members")})
            return n
        finally:
            db.close()

    def kill_mid_import(self, csv, rnd, at_least, below, rows=ROWS):
        """Starts the import, waits until a random number of members in
        (`at_least`, `below`) is committed and then a random part of a batch's
        time, kills it with SIGKILL and proves the kill landed mid-import.
        Returns the members committed."""
        target = rnd.randrange(at_least + 1, below)
        part_of_batch = rnd.random()
        proc = subprocess.Popen(
            [BIN, "import", "members", csv, "--data-dir", self.data, "--unit-column",
             "constituency", "--batch-size", str(BATCH), "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            growing = None  # (time, members) when this run's first batch was seen
            n = self.members()
            while n < target:
                if proc.poll() is not None:
                    out, err = proc.communicate()
                    self.fail(f"the import ended (exit {proc.returncode}) with {n} members, "
                              f"before the kill point {target}: {out} {err}")
                self.assertLess(time.monotonic(), deadline, f"stuck at {n} of {target} members")
                time.sleep(0.005)
                n = self.members()
                if growing is None and n > at_least:
                    growing = (time.monotonic(), n)
            # Then a random part of a batch's time: the kill may land inside a
            # transaction, not only just after a commit.
            now = time.monotonic()
            if growing and n > growing[1]:
                time.sleep(part_of_batch * (now - growing[0]) * BATCH / (n - growing[1]))
            self.assertIsNone(proc.poll(), "the import finished before the kill")
            proc.send_signal(signal.SIGKILL)
            out, err = proc.communicate()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        # Killed, not exited: the signal landed while the import was running.
        self.assertEqual(proc.returncode, -signal.SIGKILL, f"{out} {err}")
        self.assertEqual(out, "", "the import printed its summary: it had finished")
        committed = self.check_consistent()
        self.assertGreaterEqual(committed, target)
        self.assertLess(committed, rows, "every row was committed before the kill")
        return committed


class CrashTest(ImportCrashChecks, DataDirTest):
    def test_kill_9_at_random_points_then_reimport(self):
        rnd = random.Random(SEED)
        csv_dir = os.path.join(self.tmp, "in")
        os.mkdir(csv_dir)
        csv = os.path.join(csv_dir, "members.csv")
        synthetic_members_csv(csv, ROWS, seed=3)
        for trial in range(TRIALS):
            with self.subTest(trial=trial, seed=SEED):
                self.data = os.path.join(self.tmp, f"data{trial}")
                self.init()
                # Early in what is left, so a busy machine cannot miss the point.
                first = self.kill_mid_import(csv, rnd, 0, ROWS // 2)
                # The re-run passes the committed rows as unchanged, then is killed again.
                second = self.kill_mid_import(csv, rnd, first, (first + ROWS) // 2)
                s = self.import_json(csv, "--unit-column", "constituency", "--batch-size",
                                     str(BATCH))
                self.assertEqual(s["rows"], ROWS)
                self.assertEqual(s["rejected"], 0)
                self.assertEqual(s["updated"], 0)
                self.assertEqual(s["unchanged"], second, "exactly the committed rows were kept")
                self.assertEqual(s["imported"], ROWS - second)
                self.assertEqual(self.check_consistent(), ROWS)
                run("audit", "verify", "--data-dir", self.data, check=0)
                print(f"\ntrial {trial}: killed at {first} and {second} of {ROWS} members")


if __name__ == "__main__":
    unittest.main()
