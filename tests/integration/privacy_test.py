"""Subject access and the records of processing through the real binary:
`switchboard sar` for an account holding privacy.sar (JSON, member HTML and
PDF), recorded in the audit log; refused and recorded for an account
without it; `switchboard privacy records` from the policy file."""
import json
import os
import subprocess
import time

from access_test import ALICE_PW, BOB_PW, totp
from harness import DataDirTest, run, synthetic_members_csv


class PrivacyTest(DataDirTest):
    def cli(self, *args, stdin=None, check=None):
        p = subprocess.run([os.environ["SWITCHBOARD_BIN"], *args, "--data-dir", self.data],
                           input=stdin, capture_output=True, timeout=120)
        if check is not None:
            self.assertEqual(p.returncode, check, (p.stdout + p.stderr).decode("utf-8", "replace"))
        return p

    def setUp(self):
        super().setUp()
        self.init()
        csv = os.path.join(self.tmp, "m.csv")
        synthetic_members_csv(csv, 8)
        self.import_json(csv, "--unit-column", "constituency")
        self.cli("account", "add", "alice", "--name", "Alice Owner", "--password-stdin",
                 stdin=(ALICE_PW + "\n").encode(), check=0)
        self.cli("account", "add", "bob", "--name", "Bob Officer", "--password-stdin",
                 stdin=(BOB_PW + "\n").encode(), check=0)
        self.cli("grant", "bootstrap", "--to", "alice", "--until", "+300d", "--reason",
                 "new deployment", check=0)
        out = self.cli("account", "totp", "alice", "--password-stdin",
                       stdin=(ALICE_PW + "\n").encode(), check=0).stdout.decode()
        self.secret = [l.split()[1] for l in out.splitlines() if l.startswith("Secret:")][0]
        self.codes = 0

    def sar(self, *extra, who="alice", pw=ALICE_PW, check=0):
        args = ["sar", "3", "--as", who, "--password-stdin", *extra]
        if who == "alice":
            # A code works once: each report takes the next step (within the +-1 window).
            offset = (-30, 0, 30)[self.codes]
            self.codes += 1
            args += ["--totp", totp(self.secret, time.time() + offset)]
        return self.cli(*args, stdin=(pw + "\n").encode(), check=check)

    def test_a_report_as_json_html_and_pdf_each_on_the_record(self):
        report = json.loads(self.sar().stdout)
        self.assertEqual(report["member"]["id"], 3)
        self.assertEqual(report["member"]["contact_points"][0]["value"],
                         "test.person.2@example.org")
        self.assertNotIn("test.person.3@", json.dumps(report))
        html_path = os.path.join(self.tmp, "r.html")
        self.sar("--format", "html", "--for", "member", "--out", html_path)
        with open(html_path, encoding="utf-8") as f:
            html = f.read()
        self.assertIn("Everything we hold about you", html)
        self.assertNotIn("Alice Owner", html, "members see roles, not names")
        pdf_path = os.path.join(self.tmp, "r.pdf")
        self.sar("--format", "pdf", "--out", pdf_path)
        with open(pdf_path, "rb") as f:
            self.assertEqual(f.read(5), b"%PDF-")
        # Each report is an event naming the member, by alice.
        events = [json.loads(l) for l in run("audit", "query", "--member", "3", "--data-dir",
                                              self.data, check=0).stdout.splitlines()
                  if l.startswith("{")]
        sars = [e for e in events if e["action"] == "privacy.sar"]
        self.assertEqual(len(sars), 3, events)
        self.assertTrue(all(e["decision"] == "allow" for e in sars))
        self.assertEqual(run("audit", "verify", "--data-dir", self.data).returncode, 0)

    def test_an_account_without_privacy_sar_is_refused_on_the_record(self):
        p = self.sar(who="bob", pw=BOB_PW, check=1)
        self.assertEqual(p.stdout, b"")
        self.assertIn(b"refused", p.stderr)
        events = [json.loads(l) for l in run("audit", "query", "--member", "3", "--data-dir",
                                              self.data, check=0).stdout.splitlines()
                  if l.startswith("{")]
        self.assertEqual([e["decision"] for e in events if e["action"] == "privacy.sar"],
                         ["deny"])

    def test_records_of_processing_from_the_policy(self):
        md = self.cli("privacy", "records", check=0).stdout.decode()
        self.assertIn("# Records of processing activities", md)
        self.assertIn("| owner |", md)
        self.assertIn("6 years after lapsing", md)
        self.assertRegex(md, r"\| owner \| [^|]+ \| 1 \| 1 \|", "the bootstrap grant's purpose")
        html = self.cli("privacy", "records", "--format", "html", check=0).stdout.decode()
        self.assertTrue(html.startswith("<!doctype html>"))
