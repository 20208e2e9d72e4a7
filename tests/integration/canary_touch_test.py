"""A leaked export re-imported, then mailed and called, through the real binary
(docs/privacy.md, "When a canary is contacted"): an export is made, approved,
downloaded and opened; a few of its canary rows are imported back into the
register as if someone had bought the file; a mailing to their unit goes to a
real SMTP server on loopback (aiosmtpd), and a phone-bank call in the sandbox
reaches one of them. Each raises a severe export.canary_touch alert naming the
export, against the account that made it, which the DPO sees."""
import csv
import json
import os
import signal
import subprocess
import time
import unittest

from email_test import totp
from harness import DataDirTest, run
from mailtest import Api, Sink, make_dkim_key, mail_config, serve, set_mail_config, wait_for

PW = {"alice": "correct horse battery staple", "bob": "another long passphrase",
      "carol": "a third long passphrase", "dave": "dave administers grants",
      "sam": "sam's own long passphrase"}
REAL, ELSEWHERE = "E14000530", "E14000639"


class CanaryTouchTest(DataDirTest):
    def cli(self, *args, stdin=None, check=0, data_dir=True):
        extra = ["--data-dir", self.data] if data_dir else []
        p = subprocess.run([os.environ["SWITCHBOARD_BIN"], *args, *extra],
                           input=stdin, capture_output=True, text=True, timeout=300)
        if check is not None:
            self.assertEqual(p.returncode, check, p.stdout + p.stderr)
        return p

    def enrol(self, login):
        out = self.cli("account", "totp", login, "--password-stdin",
                       stdin=PW[login] + "\n").stdout
        return [l.split()[1] for l in out.splitlines() if l.startswith("Secret:")][0]

    def code(self, login):
        """A code of `login` for a step not used yet: a code works once, and the
        steps either side of now are accepted."""
        now = int(time.time()) // 30
        step = max(self.steps.get(login, now - 2) + 1, now - 1)
        self.assertLessEqual(step, now + 1, f"{login} used every code of this minute")
        self.steps[login] = step
        return totp(self.secrets[login], step * 30)

    def setUp(self):
        super().setUp()
        self.init()
        policy = os.path.join(self.data, "policy.toml")
        with open(policy, encoding="utf-8") as f:
            text = f.read()
        # Calls at any hour, so the test does not depend on when it runs.
        text = text.replace('start = "09:00"', 'start = "00:00"').replace('end = "21:00"',
                                                                          'end = "24:00"')
        with open(policy, "w", encoding="utf-8") as f:
            f.write(text)
        members = os.path.join(self.tmp, "members.csv")
        with open(members, "w", encoding="utf-8") as f:
            f.write("member_id,first_name,last_name,email,mobile,constituency,status,joined,"
                    "consent_email,consent_phone\n")
            for i in range(8):
                f.write(f"R{i},Real{i},Member,real.member.{i}@example.org,07700 900{100 + i},"
                        f"{REAL},current,2020-01-0{1 + i % 8},yes,yes\n")
        self.real_emails = {f"real.member.{i}@example.org" for i in range(8)}
        self.cli("import", "members", members, "--unit-column", "constituency")
        for login in PW:
            self.cli("account", "add", login, "--name", login.title(), "--password-stdin",
                     stdin=PW[login] + "\n")
        # alice and dave are the two founding owners: the privileged grants
        # alice makes wait for dave's approval.
        self.cli("grant", "bootstrap", "--to", "alice", "--and", "dave", "--until", "+300d",
                 "--reason", "setup")
        self.steps = {}
        self.secrets = {login: self.enrol(login) for login in ("alice", "bob", "carol", "dave")}
        pending = [self.grant("alice", "bob", "membership_admin", REAL),
                   self.grant("alice", "carol", "dpo", "UK")]
        for grant_id in pending:
            self.cli("grant", "approve", str(grant_id), "--as", "dave", "--password-stdin",
                     "--totp", self.code("dave"), stdin=PW["dave"] + "\n")
        self.grant("dave", "sam", "officer", ELSEWHERE)
        self.sink = Sink(os.path.join(self.tmp, "sink"))
        self.key, _ = make_dkim_key(self.tmp)
        self.proc = None

    def grant(self, by, to, role, scope, until="+90d"):
        out = self.cli("grant", "add", "--as", by, "--password-stdin", "--totp", self.code(by),
                       "--to", to, "--role", role, "--scope", scope, "--purpose", "canary test",
                       "--reason", "test", "--until", until, stdin=PW[by] + "\n").stdout
        return int(out.split()[1].rstrip(":"))

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        self.sink.stop()
        super().tearDown()

    def export(self):
        """bob's export of REAL, approved by carol, opened: (export id, rows as dicts)."""
        key = os.path.join(self.tmp, "bob.key")
        self.cli("export", "keygen", "--out", key, data_dir=False)
        out = self.cli("export", "request", "--as", "bob", "--step-up", self.code("bob"),
                       "--scope", REAL, "--purpose", "Mailing house for the spring appeal",
                       "--key", key, stdin=PW["bob"] + "\n").stdout
        export_id = int(out.split()[1])
        self.cli("export", "approve", str(export_id), "--as", "carol", "--step-up",
                 self.code("carol"), stdin=PW["carol"] + "\n")
        sealed = os.path.join(self.tmp, "export.sbx")
        self.cli("export", "download", str(export_id), "--as", "bob", "--totp", self.code("bob"),
                 "--out", sealed, stdin=PW["bob"] + "\n")
        plain = os.path.join(self.tmp, "export.csv")
        self.cli("export", "open", sealed, "--key", key, "--out", plain, data_dir=False)
        with open(plain, encoding="utf-8") as f:
            return export_id, list(csv.DictReader(f))

    def alerts(self, dpo):
        status, out = dpo.call("GET", "/api/v1/alerts")
        self.assertEqual(status, 200, out)
        return [a for a in out["alerts"] if a["rule"] == "export.canary_touch"]

    def test_mail_and_a_call_to_reimported_canaries_raise_alerts_naming_the_export(self):
        export_id, rows = self.export()
        canaries = [r for r in rows if r["email"] and r["email"].lower() not in self.real_emails]
        self.assertGreaterEqual(len(canaries), 40)
        # Three with a mobile number (a few canaries have a landline instead).
        canaries = [r for r in canaries if r["mobile"]]
        # Someone with the file imports three of its rows into another unit.
        leaked = os.path.join(self.tmp, "leaked.csv")
        with open(leaked, "w", encoding="utf-8") as f:
            f.write("member_id,first_name,last_name,email,mobile,constituency,status,joined,"
                    "consent_email,consent_phone\n")
            for i, r in enumerate(canaries[:3]):
                f.write(f"L{i},{r['first_name']},{r['last_name']},{r['email']},"
                        f"{r['mobile'].lstrip(chr(39))},{ELSEWHERE},current,2021-03-01,yes,yes\n")
        imported = json.loads(self.cli("import", "members", leaked, "--unit-column",
                                       "constituency", "--json").stdout)
        self.assertEqual(imported["imported"], 3, imported)

        set_mail_config(self.data, mail_config(self.sink.port, self.key, "http://127.0.0.1:1"))
        self.proc, port = serve(self.data)
        carol = Api(port, "carol", PW["carol"], totp=self.code("carol"))
        self.assertEqual(self.alerts(carol), [])

        # The mailing: sam, an officer of the other unit, mails it.
        sam = Api(port, "sam", PW["sam"])
        status, msg = sam.call("POST", "/api/v1/messages", {
            "scope": ELSEWHERE, "kind": "campaign", "subject": "Branch news",
            "text_body": "Dear {{first_name}},\nThe AGM is on Monday."})
        self.assertEqual(status, 201, msg)
        msg = msg["message"]
        status, out = sam.call("POST", f"/api/v1/messages/{msg['id']}/send",
                               {"version": msg["version"]})
        self.assertEqual(status, 202, out)
        self.assertEqual(out["queued"], 3)
        wait_for("the mailing to reach the sink", lambda: self.sink.count() == 3)
        # The mail went out: nothing tells the sender which rows were canaries.
        sent_to = sorted(env["rcpt_tos"][0].lower() for env, _, _ in self.sink.messages())
        self.assertEqual(sent_to, sorted(r["email"].lower() for r in canaries[:3]))
        # The alerts committed with the hand-off, before the relay had the mail.
        mail_alerts = self.alerts(carol)
        self.assertEqual(len(mail_alerts), 3, mail_alerts)
        bob_id = self.account_id("bob")
        for a in mail_alerts:
            self.assertEqual(a["severity"], "severe")
            self.assertEqual(a["account"], bob_id, a)
            self.assertRegex(a["detail"],
                             rf"^export:{export_id} canary:\d+ email via:outbound-mail$")
            self.assertEqual(a["request_id"], f"message:{msg['id']}")

        # The phone bank: sam's campaign over that unit, sam calling in the sandbox.
        status, c = sam.call("POST", "/api/v1/campaigns", {
            "name": "AGM calls", "scope": ELSEWHERE, "purpose": "invite members to the AGM",
            "ends_at": "+14d", "script": "Hello, I'm calling from the branch.",
            "calling_hours": {"start": "00:00", "end": "24:00"}})
        self.assertEqual(status, 201, c)
        cid = c["campaign"]["id"]
        self.assertEqual(c["campaign"]["audience_count"], 3)
        status, out = sam.call("POST", f"/api/v1/campaigns/{cid}/state", {"state": "live"})
        self.assertEqual(status, 200, out)
        status, inv = sam.call("POST", f"/api/v1/campaigns/{cid}/invites",
                               {"label": "callers", "max_joins": 5})
        self.assertEqual(status, 201, inv)
        status, out = sam.call("POST", f"/api/v1/join/{inv['token']}")
        self.assertEqual(status, 201, out)
        status, ep = sam.call("POST", "/api/v1/me/endpoint", {"phone": "07700 900555"})
        self.assertEqual(status, 201, ep)
        status, out = sam.call("POST", "/api/v1/me/endpoint/verify", {"code": ep["sandbox_code"]})
        self.assertEqual(status, 200, out)
        status, out = sam.call("POST", f"/api/v1/campaigns/{cid}/next")
        self.assertEqual(status, 200, out)
        status, out = sam.call("POST", f"/api/v1/campaigns/{cid}/connect")
        self.assertEqual(status, 201, out)
        self.assertTrue(out["call"]["simulated"])
        after = self.alerts(carol)
        calls = [a for a in after if a["detail"].endswith("via:call")]
        self.assertEqual(len(after), 3 + len(calls))
        self.assertGreaterEqual(len(calls), 1)
        self.assertTrue(any(a["detail"].startswith(f"export:{export_id} canary:") and
                            a["account"] == bob_id for a in calls), calls)
        # Each alert is on the record; the maker of the export is not suspended.
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=60), 0)
        events = [json.loads(l) for l in run("audit", "query", "--actor", str(bob_id),
                                              "--data-dir", self.data, check=0).stdout.splitlines()
                  if l.startswith("{")]
        raised = [e for e in events
                  if e["action"] == "alert.raised" and e.get("rule") == "export.canary_touch"]
        self.assertEqual(len(raised), len(after), events)
        self.assertEqual(self.account(bob_id)[2], "active")
        self.assertEqual(run("audit", "verify", "--data-dir", self.data).returncode, 0)

    def account(self, key):
        """(id, login, state) of the account with that login or id."""
        for line in self.cli("account", "list").stdout.splitlines():
            fields = line.split()
            if len(fields) > 2 and key in (fields[1], int(fields[0])):
                return int(fields[0]), fields[1], fields[2]
        raise AssertionError(f"no account {key}")

    def account_id(self, login):
        return self.account(login)[0]


if __name__ == "__main__":
    unittest.main()
