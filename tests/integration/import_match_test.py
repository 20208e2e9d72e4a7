"""Importing the same people from two sources: matches by e-mail and phone are
reported, never silently duplicated (--on-match skip|update|reject); columns a
profile does not read are listed; log lines never share the progress bar's
line."""
import json
import os
import pty
import re
import sqlite3
import subprocess
import unittest

from harness import BIN, DataDirTest, run

PEOPLE = 300
UNITS = ["E14000530", "E14000531", "Aldershot", "E14000639"]


def person(i):
    return {
        "id": i,
        "first": f"Test{i % 97}",
        "last": f"Person{i % 89}",
        "email": f"test.person.{i}@example.org",
        # Drama numbers are few: every person gets their own here, so a phone
        # match means the same person.
        "mobile": f"07700 900{i:03d}",
        "unit": UNITS[i % len(UNITS)],
    }


def write_native(path, people):
    with open(path, "w", encoding="utf-8") as f:
        f.write("member_id,first_name,last_name,email,mobile,constituency,status\n")
        for p in people:
            f.write(f"X{p['id']},{p['first']},{p['last']},{p['email']},{p['mobile']},"
                    f"{p['unit']},current\n")


def write_nationbuilder(path, people, last_name=None):
    with open(path, "w", encoding="utf-8") as f:
        f.write("nationbuilder_id,first_name,last_name,email,mobile_number,pcon,tags,"
                "recruiter_id\n")
        for p in people:
            last = last_name(p) if last_name else p["last"]
            # Half the rows give no e-mail: those match by phone and name.
            email = p["email"].upper() if p["id"] % 2 else ""
            f.write(f"{9000 + p['id']},{p['first']},{last},{email},+44{p['mobile'][1:]},"
                    f"{p['unit']},supporter,\n")


class ImportMatchTest(DataDirTest):
    def setUp(self):
        super().setUp()
        self.init()
        self.people = [person(i) for i in range(PEOPLE)]
        self.native = os.path.join(self.tmp, "native.csv")
        self.nb = os.path.join(self.tmp, "nb.csv")
        write_native(self.native, self.people)
        first = self.import_json(self.native, "--unit-column", "constituency")
        self.assertEqual(first["imported"], PEOPLE)
        self.assertEqual(first["matched"], 0)

    def members(self):
        return int(self.status()["members"].split()[0])

    def test_cross_profile_reimport_changes_nothing_and_reports_matches(self):
        write_nationbuilder(self.nb, self.people)
        audit_before = run("audit", "verify", "--data-dir", self.data, check=0).stdout
        s = self.import_json(self.nb, "--profile", "nationbuilder", "--unit-column", "pcon")
        self.assertEqual(self.members(), PEOPLE)
        self.assertEqual((s["imported"], s["skipped"], s["matched"]), (0, PEOPLE, PEOPLE))
        self.assertEqual(s["matched_by"], {"email": PEOPLE // 2, "phone": PEOPLE // 2})
        self.assertEqual(s["on_match"], "skip")
        self.assertEqual(s["unmapped_columns"], ["tags", "recruiter_id"])
        self.assertEqual(len(s["matches"]), PEOPLE)
        self.assertEqual([m["line"] for m in s["matches"]], list(range(2, PEOPLE + 2)))
        self.assertEqual({m["outcome"] for m in s["matches"]}, {"skipped"})
        # The rejects file names every matched row with the member and key.
        with open(s["rejects_file"], encoding="utf-8") as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), PEOPLE + 1)
        self.assertIn("matches member", lines[1])
        # Nothing was written, so the audit log did not grow.
        self.assertEqual(run("audit", "verify", "--data-dir", self.data, check=0).stdout,
                         audit_before)
        # The human summary lists lines and keys, never an address or number.
        p = run("import", "members", self.nb, "--profile", "nationbuilder", "--unit-column",
                "pcon", "--data-dir", self.data, check=0)
        self.assertIn(f"{PEOPLE} rows match members already held", p.stdout)
        self.assertIn("2 (phone)", p.stdout)  # person 0 has no e-mail in this file
        self.assertIn("3 (email+phone)", p.stdout)
        self.assertIn("Columns not imported (the nationbuilder profile does not map them): "
                      "tags, recruiter_id", p.stdout)
        for out in (p.stdout, p.stderr):
            self.assertNotIn("example.org", out.lower())
            self.assertNotIn("7700", out)
        self.assertEqual(self.members(), PEOPLE)

    def test_on_match_update_by_email_changes_the_name(self):
        write_nationbuilder(self.nb, self.people,
                            last_name=lambda p: "Renamed" if p["id"] == 9 else p["last"])
        s = self.import_json(self.nb, "--profile", "nationbuilder", "--unit-column", "pcon",
                             "--on-match", "update")
        self.assertEqual(self.members(), PEOPLE)
        self.assertEqual(s["imported"], 0)
        self.assertEqual(s["matched"], PEOPLE)
        renamed = [m for m in s["matches"] if m["line"] == 9 + 2]
        self.assertEqual(len(renamed), 1)
        self.assertEqual(renamed[0]["outcome"], "updated")
        # The phone alone would not match under a new name; the e-mail does.
        self.assertEqual(renamed[0]["key"], "email")
        # Re-running changes nothing more.
        again = self.import_json(self.nb, "--profile", "nationbuilder", "--unit-column", "pcon",
                                 "--on-match", "update")
        self.assertEqual((again["updated"], again["unchanged"]), (0, PEOPLE))
        # The member kept its own source and id and took the file's name.
        db = sqlite3.connect(os.path.join(self.data, "switchboard.db"))
        rows = db.execute("SELECT source, external_id FROM members WHERE last_name = 'Renamed'")
        self.assertEqual(rows.fetchall(), [("native", "X9")])
        db.close()

    def test_on_match_reject(self):
        write_nationbuilder(self.nb, self.people[:10])
        s = self.import_json(self.nb, "--profile", "nationbuilder", "--unit-column", "pcon",
                             "--on-match", "reject")
        self.assertEqual((s["rejected"], s["skipped"], s["imported"]), (10, 0, 0))
        self.assertEqual(self.members(), PEOPLE)

    def test_no_log_line_shares_the_progress_bar_line(self):
        big = [person(i) for i in range(PEOPLE, PEOPLE + 3000)]
        for p in big:
            p["mobile"] = ""
        path = os.path.join(self.tmp, "big.csv")
        write_native(path, big)
        # Debug logs: a line per batch, written while the bar is drawn.
        config = os.path.join(self.data, "switchboard.toml")
        with open(config, encoding="utf-8") as f:
            text = f.read()
        if re.search(r'(?m)^\[log\]', text):
            text = re.sub(r'(?ms)(^\[log\].*?^level\s*=\s*)"\w+"', r'\1"debug"', text, count=1)
        else:
            text += '\n[log]\nlevel = "debug"\n'
        with open(config, "w", encoding="utf-8") as f:
            f.write(text)
        # Standard error on a terminal, so the bar is drawn.
        leader, follower = pty.openpty()
        proc = subprocess.Popen(
            [BIN, "import", "members", path, "--data-dir", self.data, "--unit-column",
             "constituency", "--batch-size", "100"],
            stdout=subprocess.PIPE, stderr=follower)
        os.close(follower)
        raw = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            raw += chunk
        proc.wait(timeout=120)
        os.close(leader)
        self.assertEqual(proc.returncode, 0, raw[-2000:])
        text = raw.decode("utf-8", "replace").replace("\r\n", "\n")
        self.assertIn("importing [", text)
        logs = 0
        for line in text.split("\n"):
            # What a terminal shows: the text after the last carriage return
            # or line clear.
            shown = re.split(r"\r|\x1b\[K", line)[-1]
            if "{" in shown:
                logs += 1
                self.assertTrue(shown.startswith("{"), repr(line))
                json.loads(shown)
        self.assertGreater(logs, 0, "no log line was written; the check proves nothing")


if __name__ == "__main__":
    unittest.main()
