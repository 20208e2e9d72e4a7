"""Accounts, grants and the audit log through the real binary: authentication
with password and TOTP, the rules for granting, explain, and a tampered
database that `audit verify` catches."""
import base64
import hashlib
import hmac
import json
import os
import sqlite3
import struct
import time
import unittest

from harness import DataDirTest, run, synthetic_members_csv

ALICE_PW = "correct horse battery staple"
BOB_PW = "another long passphrase"


def totp(secret_b32, at=None):
    """RFC 6238 (SHA-1, 6 digits, 30 s), independent of the code under test."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = struct.pack(">Q", int(at if at is not None else time.time()) // 30)
    mac = hmac.new(key, counter, hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


class AccessTest(DataDirTest):
    def cli(self, *args, stdin=None, check=None):
        import subprocess
        p = subprocess.run([os.environ["SWITCHBOARD_BIN"], *args, "--data-dir", self.data],
                           input=stdin, capture_output=True, text=True, timeout=120)
        if check is not None:
            self.assertEqual(p.returncode, check, p.stdout + p.stderr)
        return p

    def setUp(self):
        super().setUp()
        self.init()
        self.cli("account", "add", "alice", "--name", "Alice Owner", "--password-stdin",
                 stdin=ALICE_PW + "\n", check=0)
        self.cli("account", "add", "bob", "--name", "Bob Officer", "--password-stdin",
                 stdin=BOB_PW + "\n", check=0)
        self.cli("grant", "bootstrap", "--to", "alice", "--until", "+300d", "--reason",
                 "new deployment", check=0)
        out = self.cli("account", "totp", "alice", "--password-stdin", stdin=ALICE_PW + "\n",
                       check=0).stdout
        self.secret = [l.split()[1] for l in out.splitlines() if l.startswith("Secret:")][0]
        self.recovery = [l.strip() for l in out.split("Recovery codes")[1].splitlines()[1:]
                         if l.strip()]

    def grant_officer(self, code, check):
        return self.cli("grant", "add", "--as", "alice", "--password-stdin", "--totp", code,
                        "--to", "bob", "--role", "officer", "--scope", "Aldershot",
                        "--purpose", "local organising", "--reason", "elected secretary",
                        "--until", "+90d", stdin=ALICE_PW + "\n", check=check)

    def test_policy_changes_are_recorded(self):
        with open(os.path.join(self.data, "policy.toml"), "a", encoding="utf-8") as f:
            f.write("\n# calling hours reviewed\n")
        self.cli("status", check=0)
        self.cli("status", check=0)  # unchanged since: recorded once
        events = [json.loads(l) for l in self.cli("audit", "query", check=0).stdout.splitlines()]
        changes = [e for e in events if e["action"] == "policy.change"]
        self.assertEqual(len(changes), 1)
        self.assertTrue(changes[0]["rule"].startswith("sha256:"))

    def test_password_reset_is_on_the_record(self):
        self.cli("account", "password", "bob", stdin="a brand new passphrase\n", check=0)
        events = [json.loads(l) for l in self.cli("audit", "query", check=0).stdout.splitlines()]
        resets = [e for e in events if e["action"] == "account.password"]
        self.assertEqual(len(resets), 1)
        self.assertNotIn("brand new", json.dumps(events))

    def test_weak_password_is_refused_without_echo(self):
        p = self.cli("account", "add", "carol", "--name", "C", "--password-stdin",
                     stdin="password1234\n", check=2)
        self.assertNotIn("password1234", p.stderr)

    def test_grant_needs_password_and_second_factor(self):
        # Wrong password.
        p = self.cli("grant", "add", "--as", "alice", "--password-stdin", "--to", "bob",
                     "--role", "officer", "--scope", "Aldershot", "--purpose", "x", "--reason",
                     "y", "--until", "+90d", stdin="wrong password here\n", check=1)
        self.assertIn("login name or password is not right", p.stderr)
        # Right password, no TOTP: an enrolled second factor is always asked for.
        p = self.cli("grant", "add", "--as", "alice", "--password-stdin", "--to", "bob",
                     "--role", "officer", "--scope", "Aldershot", "--purpose", "x", "--reason",
                     "y", "--until", "+90d", stdin=ALICE_PW + "\n", check=1)
        self.assertIn("authenticator app", p.stderr)
        # With a current code it works; the same code cannot be used twice.
        code = totp(self.secret)
        self.grant_officer(code, 0)
        p = self.grant_officer(code, 1)
        self.assertIn("codes work once", p.stderr)

    def test_explain_scope_and_end(self):
        self.grant_officer(totp(self.secret), 0)
        ok = self.cli("access", "explain", "--account", "bob", "--capability", "member.view",
                      "--unit", "E14000530", check=0)
        self.assertIn("ALLOW", ok.stdout)
        self.assertNotIn("contact", ok.stdout.split("fields:")[1])
        out = self.cli("access", "explain", "--account", "bob", "--capability", "member.view",
                       "--unit", "E14000639", check=1)
        self.assertIn("grant.out_of_scope", out.stdout)
        later = self.cli("access", "explain", "--account", "bob", "--capability",
                         "member.view", "--unit", "E14000530", "--at", "+91d", check=1)
        self.assertIn("grant.ended", later.stdout)
        # The officer cannot grant onwards, even to others.
        p = self.cli("grant", "add", "--as", "bob", "--password-stdin", "--to", "alice",
                     "--role", "caller", "--scope", "Aldershot", "--purpose", "x", "--reason",
                     "y", "--until", "+10d", stdin=BOB_PW + "\n", check=1)
        self.assertIn("may not grant", p.stderr)

    def test_suspension_is_immediate(self):
        self.grant_officer(totp(self.secret), 0)
        self.cli("account", "suspend", "bob", "--reason", "probing detected", check=0)
        out = self.cli("access", "explain", "--account", "bob", "--capability", "member.view",
                       "--unit", "E14000530", check=1)
        self.assertIn("account.suspended", out.stdout)
        self.cli("account", "reinstate", "bob", "--reason", "cleared by the DPO", check=0)
        self.cli("access", "explain", "--account", "bob", "--capability", "member.view",
                 "--unit", "E14000530", check=0)

    def test_everything_is_on_the_record_and_tampering_is_caught(self):
        self.grant_officer(totp(self.secret), 0)
        witness = os.path.join(self.tmp, "witness.txt")
        self.cli("audit", "checkpoint", "--witness", witness, check=0)
        v = json.loads(self.cli("audit", "verify", "--witness", witness, "--json",
                                check=0).stdout)
        self.assertTrue(v["ok"])
        actions = [json.loads(l)["action"] for l in
                   self.cli("audit", "query", check=0).stdout.splitlines()]
        for a in ["policy.load", "account.add", "grant.bootstrap", "account.totp_enrol",
                  "auth.cli", "grant.add"]:
            self.assertIn(a, actions)
        # No personal data in the log: no password, no name, no login.
        dump = self.cli("audit", "query", check=0).stdout
        for secret in [ALICE_PW, "Alice Owner", self.secret]:
            self.assertNotIn(secret, dump)
        # Alter one event directly in the database.
        db = sqlite3.connect(os.path.join(self.data, "switchboard.db"))
        db.execute("UPDATE audit_events SET decision = 'deny' WHERE seq = 2")
        db.commit()
        db.close()
        v = json.loads(self.cli("audit", "verify", "--json", check=3).stdout)  # 3: audit failed
        self.assertFalse(v["ok"])
        self.assertEqual(v["first_bad"], 2)
        self.assertIn("altered", v["reason"])


    def test_the_api_over_http_end_to_end(self):
        """Sign in over a real socket, read within scope, be refused outside it
        and for contact details, and find everything under a signed checkpoint
        after a clean shutdown."""
        import signal
        import sqlite3
        import urllib.request
        from serve_test import start
        self.grant_officer(totp(self.secret), 0)
        csv = os.path.join(self.tmp, "members.csv")
        synthetic_members_csv(csv, 40)
        self.import_json(csv, "--unit-column", "constituency")
        proc, port, _ = start(["serve", "--data-dir", self.data, "--port", "0"])
        base = f"http://127.0.0.1:{port}"

        def call(method, path, body=None, headers=None):
            data = json.dumps(body).encode() if body is not None else None
            req = urllib.request.Request(base + path, data=data, method=method)
            if data is not None:
                req.add_header("Content-Type", "application/json")
            for k, v in (headers or {}).items():
                req.add_header(k, v)
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    return r.status, dict(r.headers), r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, dict(e.headers), e.read().decode()

        try:
            status, headers, body = call("POST", "/api/v1/session",
                                         {"login": "bob", "password": BOB_PW})
            self.assertEqual(status, 201, body)
            cookie = headers["Set-Cookie"].split(";")[0]
            self.assertIn("HttpOnly", headers["Set-Cookie"])
            csrf = json.loads(body)["csrf_token"]
            h = {"Cookie": cookie}
            status, _, body = call("GET", "/api/v1/members?unit=E14000530&page_size=5", None, h)
            self.assertEqual(status, 200, body)
            members = json.loads(body)["members"]
            self.assertTrue(members)
            mid = members[0]["id"]
            status, _, body = call("GET", f"/api/v1/members/{mid}", None, h)
            self.assertEqual(status, 200, body)
            self.assertNotIn("@", body)
            self.assertNotIn("7700", body)
            status, _, body = call("GET", f"/api/v1/members/{mid}/contact", None, h)
            self.assertEqual(status, 403, body)
            self.assertNotIn("@", body)
            status, _, body = call("GET", "/api/v1/members?unit=E14000531", None, h)
            self.assertEqual(status, 403, body)
            self.assertEqual(json.loads(body)["error"]["code"], "denied")
            # Signing out needs the CSRF token.
            status, _, _ = call("DELETE", "/api/v1/session", None, h)
            self.assertEqual(status, 403)
            status, _, _ = call("DELETE", "/api/v1/session", None, {**h, "X-CSRF-Token": csrf})
            self.assertEqual(status, 200)
            status, _, _ = call("GET", "/api/v1/session", None, h)
            self.assertEqual(status, 401)
            # Alice, with her second factor, as an API client reads the record.
            status, _, body = call("POST", "/api/v1/session",
                                   {"login": "alice", "password": ALICE_PW,
                                    "totp": totp(self.secret, time.time() + 30), "client": "api"})
            self.assertEqual(status, 201, body)
            bearer = {"Authorization": "Bearer " + json.loads(body)["token"]}
            status, _, body = call("GET", f"/api/v1/audit/events?member={mid}", None, bearer)
            self.assertEqual(status, 200, body)
            actions = [e["action"] for e in json.loads(body)["events"]]
            self.assertIn("member.view", actions)
            self.assertIn("member.contact.view", actions)
            # A recovery code stands in for the authenticator, once.
            self.assertEqual(len(self.recovery), 10)
            creds = {"login": "alice", "password": ALICE_PW, "recovery_code": self.recovery[0]}
            status, _, body = call("POST", "/api/v1/session", creds)
            self.assertEqual(status, 201, body)
            self.assertTrue(json.loads(body)["second_factor"])
            status, _, body = call("POST", "/api/v1/session", creds)
            self.assertEqual(status, 401, body)
            self.assertEqual(json.loads(body)["error"]["code"], "second_factor_invalid")
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=30), 0)
        db = sqlite3.connect(os.path.join(self.data, "switchboard.db"))
        events = db.execute("SELECT COUNT(*) FROM audit_events").fetchone()[0]
        signed = db.execute("SELECT MAX(tree_size) FROM audit_checkpoints").fetchone()[0]
        db.close()
        self.assertEqual(signed, events, "the shutdown checkpoint covers every event")
        self.cli("audit", "verify", check=0)


if __name__ == "__main__":
    unittest.main()
