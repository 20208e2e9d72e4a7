"""Member e-mail end to end through the real binary: a real SMTP server on
loopback (aiosmtpd), DKIM verified by an independent verifier (python3-dkim),
RFC 8058 one-click unsubscribe, carried-over suppression lists, the on-behalf
incident, and kill -9 during a 50,000-recipient send (TARGETS R3)."""
import base64
import hashlib
import hmac
import json
import os
import signal
import struct
import time
import unittest
import urllib.request

from harness import DataDirTest, run
from mailtest import (Api, Sink, dkim_verify, make_dkim_key, mail_config, serve,
                      set_mail_config, wait_for)

PW = {"alice": "correct horse battery staple", "bob": "another long passphrase",
      "carol": "a third long passphrase", "sam": "sam's own long passphrase"}


def totp(secret_b32, at=None):
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = struct.pack(">Q", int(at if at is not None else time.time()) // 30)
    mac = hmac.new(key, counter, hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


def members_csv(path, rows, unit="E14000530"):
    """Synthetic members in one constituency; even rows consent to e-mail."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("member_id,first_name,last_name,email,postcode,constituency,status,joined,"
                "consent_email\n")
        for i in range(rows):
            f.write(f"M{i},Test{i % 97},Person{i % 89},mail.test.{i}@example.org,,{unit},"
                    f"current,2020-01-{1 + i % 28:02d},{'yes' if i % 2 == 0 else 'no'}\n")


class EmailTest(DataDirTest):
    def cli(self, *args, stdin=None, check=0):
        import subprocess
        p = subprocess.run([os.environ["SWITCHBOARD_BIN"], *args, "--data-dir", self.data],
                           input=stdin, capture_output=True, text=True, timeout=300)
        if check is not None:
            self.assertEqual(p.returncode, check, p.stdout + p.stderr)
        return p

    def setUp(self):
        super().setUp()
        self.init()
        for login, name in [("alice", "Alice Owner"), ("bob", "Bob Officer"),
                            ("carol", "Carol Staff"), ("sam", "Sam Candidate")]:
            self.cli("account", "add", login, "--name", name, "--password-stdin",
                     stdin=PW[login] + "\n")
        self.cli("grant", "bootstrap", "--to", "alice", "--until", "+300d", "--reason", "setup")
        out = self.cli("account", "totp", "alice", "--password-stdin",
                       stdin=PW["alice"] + "\n").stdout
        self.secret = [l.split()[1] for l in out.splitlines() if l.startswith("Secret:")][0]
        step = 0
        for login, role in [("bob", "officer"), ("carol", "staff")]:
            # Each grant needs a fresh TOTP step (replay protection).
            at = time.time() + 30 * step
            step += 1
            self.cli("grant", "add", "--as", "alice", "--password-stdin", "--totp",
                     totp(self.secret, at), "--to", login, "--role", role, "--scope", "Aldershot",
                     "--purpose", "branch e-mail", "--reason", "test", "--until", "+90d",
                     stdin=PW["alice"] + "\n")
        self.sink = Sink(os.path.join(self.tmp, "sink"))
        self.key, self.pub = make_dkim_key(self.tmp)
        self.proc = None

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        self.sink.stop()
        super().tearDown()

    def start(self, workers=4):
        set_mail_config(self.data, mail_config(self.sink.port, self.key, "http://127.0.0.1:1",
                                               workers))
        self.proc, self.port = serve(self.data)
        return self.port

    def draft(self, api, **fields):
        body = {"scope": "E14000530", "kind": "campaign", "subject": "Branch news",
                "text_body": "Dear {{first_name}},\nThe AGM is on Monday.",
                "html_body": "<p>Dear {{first_name}},</p><p>The AGM is on <b>Monday</b>.</p>"}
        body.update(fields)
        status, out = api.call("POST", "/api/v1/messages", body)
        self.assertEqual(status, 201, out)
        return out["message"]

    def report(self, api, mid):
        status, out = api.call("GET", f"/api/v1/messages/{mid}/report")
        self.assertEqual(status, 200, out)
        return out["report"]

    def wait_done(self, api, mid, timeout=300):
        def done():
            r = self.report(api, mid)
            c = r["counts"]
            return r if c["queued"] + c["deferred"] + c["handed"] == 0 else None
        return wait_for(f"message {mid} to finish", done, timeout)

    def test_delivery_dkim_one_click_and_suppressions(self):
        csv = os.path.join(self.tmp, "members.csv")
        members_csv(csv, 60)
        self.cli("import", "members", csv, "--unit-column", "constituency")
        self.start()
        bob = Api(self.port, "bob", PW["bob"])
        msg = self.draft(bob)
        status, out = bob.call("POST", f"/api/v1/messages/{msg['id']}/send",
                               {"version": msg["version"]})
        self.assertEqual(status, 202, out)
        self.assertEqual(out["queued"], 30)
        r = self.wait_done(bob, msg["id"])
        self.assertEqual(r["counts"]["sent"], 30, r)
        self.assertEqual(r["sent_by"]["name"], "Bob Officer")

        got = self.sink.messages()
        rcpts = [env["rcpt_tos"][0] for env, _, _ in got]
        self.assertEqual(len(rcpts), 30)
        self.assertEqual(len(set(rcpts)), 30, "a recipient got the message twice")
        self.assertTrue(all(int(a.split(".")[2].split("@")[0]) % 2 == 0 for a in rcpts),
                        "a member without e-mail consent was mailed")
        ids = set()
        for env, m, raw in got:
            self.assertEqual(env["mail_from"], "bounces@example.org")
            self.assertTrue(dkim_verify(raw, "example.org", "sb2026", self.pub),
                            "DKIM signature does not verify")
            self.assertEqual(m["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
            self.assertRegex(m["List-Unsubscribe"], r"^<http://127\.0\.0\.1:1/u/[A-Za-z0-9_-]+>$")
            self.assertIn("Aldershot", str(m["From"]))
            ids.add(m["Message-ID"])
            self.assertTrue(m.is_multipart())
            text = m.get_body(preferencelist=("plain",)).get_content()
            self.assertIn("sent by Bob Officer, a local officer", text)
            self.assertIn("Dear Test", text)
            html = m.get_body(preferencelist=("html",)).get_content()
            self.assertIn("<b>Monday</b>", html)
        self.assertEqual(len(ids), 30)

        # Delivery opened 30 addresses: one event for the message, on the record.
        def delivered():
            events = [json.loads(l) for l in self.cli("audit", "query").stdout.splitlines()]
            return [e for e in events
                    if e["action"] == "message.deliver" and e.get("message") == msg["id"]]
        events = wait_for("the delivery's audit event", delivered, timeout=60)
        self.assertEqual(len(events), 1, events)
        self.assertEqual(events[0]["field_classes"], ["contact"])
        self.assertNotIn("@", json.dumps(events))

        # RFC 8058 one-click from the first recipient's own header.
        first_rcpt = rcpts[0]
        url = got[0][1]["List-Unsubscribe"].strip("<>").replace("http://127.0.0.1:1",
                                                                 f"http://127.0.0.1:{self.port}")
        req = urllib.request.Request(url, data=b"List-Unsubscribe=One-Click", method="POST")
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        with urllib.request.urlopen(req, timeout=10) as resp:
            self.assertEqual(resp.status, 200)
            page = resp.read().decode()
        self.assertNotIn("@", page)
        self.assertEqual(self.report(bob, msg["id"])["counts"]["unsubscribed"], 1)

        # A previous provider's list, hashed: one more member never mailed again.
        second = rcpts[1]
        listing = os.path.join(self.tmp, "old-provider.csv")
        with open(listing, "w", encoding="utf-8") as f:
            f.write("sha256,reason\n" + hashlib.sha256(second.encode()).hexdigest() + ",bounced\n"
                    "not a valid line\n")
        p = self.cli("import", "suppressions", listing, "--json")
        summary = json.loads(p.stdout)
        self.assertEqual(summary["hashes"], 1)
        self.assertEqual(summary["rejected"], 1)
        self.assertEqual(summary["members_suppressed"], 1)
        self.assertIn("line 3", p.stderr)
        self.assertNotIn("not a valid line", p.stderr)

        before = self.sink.count()
        msg2 = self.draft(bob, subject="More news")
        status, out = bob.call("POST", f"/api/v1/messages/{msg2['id']}/send",
                               {"version": msg2["version"]})
        self.assertEqual(status, 202, out)
        self.assertEqual(out["queued"], 28)
        self.wait_done(bob, msg2["id"])
        later = [env["rcpt_tos"][0] for env, _, _ in self.sink.messages()[before:]]
        self.assertEqual(len(later), 28)
        self.assertNotIn(first_rcpt, later)
        self.assertNotIn(second, later)

    def test_hard_bounces_suppress_after_the_policy_count(self):
        csv = os.path.join(self.tmp, "members.csv")
        members_csv(csv, 10)  # five consent: mail.test.{0,2,4,6,8}
        self.cli("import", "members", csv, "--unit-column", "constituency")
        self.sink.stop()
        self.sink = Sink(os.path.join(self.tmp, "sink-bounce"), "--reject-rcpt",
                         "mail.test.0@example.org=550")
        self.start()
        bob = Api(self.port, "bob", PW["bob"])
        for attempt in (1, 2):
            msg = self.draft(bob, subject=f"News {attempt}")
            status, out = bob.call("POST", f"/api/v1/messages/{msg['id']}/send",
                                   {"version": msg["version"]})
            self.assertEqual((status, out["queued"]), (202, 5), out)
            counts = self.wait_done(bob, msg["id"])["counts"]
            self.assertEqual((counts["bounced"], counts["sent"]), (1, 4), counts)
        # Two hard bounces (policy [messaging] hard_bounce_limit): no more mail to it.
        msg = self.draft(bob, subject="News 3")
        status, out = bob.call("POST", f"/api/v1/messages/{msg['id']}/send",
                               {"version": msg["version"]})
        self.assertEqual((status, out["queued"]), (202, 4), out)
        events = [json.loads(l) for l in self.cli("audit", "query").stdout.splitlines()]
        suppressed = [e for e in events if e["action"] == "member.suppress"]
        self.assertEqual(len(suppressed), 1, suppressed)
        self.assertEqual(suppressed[0]["rule"], "messaging.hard_bounces")

    def test_internationalised_addresses(self):
        """A domain in Unicode is sent as A-labels; a non-ASCII local part
        (which needs SMTPUTF8) fails with a reason and is never counted as a
        bounce, so the member is not suppressed for our limitation."""
        csv = os.path.join(self.tmp, "members.csv")
        with open(csv, "w", encoding="utf-8") as f:
            f.write("member_id,first_name,last_name,email,postcode,constituency,status,joined,"
                    "consent_email\n"
                    "I1,Test,One,plain.test@example.org,,E14000530,current,2020-01-01,yes\n"
                    "I2,Test,Two,idn.test@b\u00fccher.example,,E14000530,current,2020-01-01,yes\n"
                    "I3,Test,Three,t\u00ebst.three@example.org,,E14000530,current,2020-01-01,"
                    "yes\n")
        self.cli("import", "members", csv, "--unit-column", "constituency")
        self.start()
        bob = Api(self.port, "bob", PW["bob"])
        for attempt in (1, 2, 3):  # past the hard-bounce limit of 2
            msg = self.draft(bob, subject=f"News {attempt}")
            status, out = bob.call("POST", f"/api/v1/messages/{msg['id']}/send",
                                   {"version": msg["version"]})
            self.assertEqual((status, out["queued"]), (202, 3), out)
            r = self.wait_done(bob, msg["id"])
            c = r["counts"]
            self.assertEqual((c["sent"], c["failed"], c["bounced"]), (2, 1, 0), c)
        got = self.sink.messages()
        rcpts = sorted({env["rcpt_tos"][0] for env, _, _ in got})
        self.assertEqual(rcpts, ["idn.test@xn--bcher-kva.example", "plain.test@example.org"])
        for env, m, raw in got:
            self.assertEqual(m["To"].addresses[0].addr_spec, env["rcpt_tos"][0])
            self.assertTrue(dkim_verify(raw, "example.org", "sb2026", self.pub))
        events = [json.loads(l) for l in self.cli("audit", "query").stdout.splitlines()]
        self.assertEqual([e for e in events if e["action"] == "member.suppress"], [])

    def test_staff_cannot_send_in_another_persons_name(self):
        """The incident: a staffer used the member-email tool to promote one
        candidate in someone else's name."""
        csv = os.path.join(self.tmp, "members.csv")
        members_csv(csv, 10)
        self.cli("import", "members", csv, "--unit-column", "constituency")
        self.start()
        carol = Api(self.port, "carol", PW["carol"])
        bob = Api(self.port, "bob", PW["bob"])
        accounts = [json.loads(l) for l in
                    self.cli("account", "list", "--json").stdout.splitlines() if l.strip()]
        sam_id = [a for a in accounts if a["login"] == "sam"][0]["id"]
        msg = self.draft(carol, kind="campaign", **{"from": {"kind": "person", "account": sam_id}})
        self.assertTrue(msg["requirements"]["on_behalf_approval"])
        # Bob (who may send) cannot send it: Sam has not approved.
        status, out = bob.call("POST", f"/api/v1/messages/{msg['id']}/send",
                               {"version": msg["version"]})
        self.assertEqual(status, 409, out)
        failed = [c for c in out["error"]["checks"] if not c["passed"]]
        self.assertEqual([c["rule"] for c in failed], ["message.on_behalf"])
        self.assertIn("Sam Candidate", failed[0]["detail"])
        # Nobody but Sam can approve in Sam's name.
        status, _ = carol.call("POST", f"/api/v1/me/approvals/{msg['id']}",
                               {"version": msg["version"]})
        self.assertEqual(status, 404)
        sam = Api(self.port, "sam", PW["sam"])
        status, out = sam.call("GET", "/api/v1/me/approvals")
        self.assertEqual([m["id"] for m in out["messages"]], [msg["id"]])
        # An edit after Sam's approval voids it.
        status, _ = sam.call("POST", f"/api/v1/me/approvals/{msg['id']}",
                             {"version": msg["version"]})
        self.assertEqual(status, 200)
        status, edited = carol.call("PATCH", f"/api/v1/messages/{msg['id']}",
                                    {"subject": "Vote for my friend"})
        self.assertEqual(status, 200, edited)
        status, out = bob.call("POST", f"/api/v1/messages/{msg['id']}/send",
                               {"version": edited["message"]["version"]})
        self.assertEqual(status, 409, out)
        status, _ = sam.call("POST", f"/api/v1/me/approvals/{msg['id']}",
                             {"version": edited["message"]["version"]})
        self.assertEqual(status, 200)
        status, out = bob.call("POST", f"/api/v1/messages/{msg['id']}/send",
                               {"version": edited["message"]["version"]})
        self.assertEqual(status, 202, out)
        self.wait_done(bob, msg["id"])
        for _, m, _ in self.sink.messages():
            text = m.get_body(preferencelist=("plain",)).get_content()
            # The footer names the real sender, the identity and that it was approved.
            self.assertIn("sent by Bob Officer, a local officer, on behalf of Sam Candidate",
                          text)
            self.assertIn("Sam Candidate", str(m["From"]))

    def test_kill_9_during_a_50000_recipient_send(self):
        """TARGETS R3 for mail: kill -9 mid-send, restart, finish; every
        recipient got the message exactly once (one Message-ID each)."""
        csv = os.path.join(self.tmp, "members.csv")
        members_csv(csv, 50_000)
        self.cli("import", "members", csv, "--unit-column", "constituency")
        self.start(workers=4)
        bob = Api(self.port, "bob", PW["bob"])
        carol = Api(self.port, "carol", PW["carol"])
        msg = self.draft(bob, kind="service", text_body="Dear {{first_name}}, the AGM is on.")
        self.assertTrue(msg["requirements"]["second_approval"])
        status, out = carol.call("POST", f"/api/v1/messages/{msg['id']}/approve",
                                 {"version": msg["version"]})
        self.assertEqual(status, 200, out)
        status, out = bob.call("POST", f"/api/v1/messages/{msg['id']}/send",
                               {"version": msg["version"]})
        self.assertEqual(status, 202, out)
        total = out["queued"]
        self.assertEqual(total, 50_000)  # service notices need no marketing consent
        wait_for("part of the send", lambda: self.sink.count() >= 5000, timeout=300)
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        at_kill = self.sink.count()
        self.assertLess(at_kill, total, "the send finished before the kill; nothing was tested")
        self.proc, self.port = serve(self.data)
        bob = Api(self.port, "bob", PW["bob"])
        r = self.wait_done(bob, msg["id"], timeout=900)
        got = [(env["rcpt_tos"][0], m["Message-ID"], raw) for env, m, raw in
               self.sink.messages()]
        by_rcpt = {}
        for rcpt, mid, raw in got:
            by_rcpt.setdefault(rcpt, {}).setdefault(mid, []).append(raw)
        # Nobody lost: every recipient has the message.
        self.assertEqual(len(by_rcpt), total, f"{total - len(by_rcpt)} recipients got nothing")
        # Nobody got two messages: one Message-ID per recipient (the idempotency key).
        two = [r for r, ids in by_rcpt.items() if len(ids) != 1]
        self.assertEqual(two, [], "a recipient got two different messages")
        # A transfer in flight at the kill may reach the relay twice; it is the
        # same message (DKIM signatures aside), and there are at most one per worker.
        repeats = [r for r, ids in by_rcpt.items() for copies in ids.values() if len(copies) > 1]
        self.assertLessEqual(len(repeats), 4, repeats)
        def content(raw):
            # What a reader gets: the headers (the DKIM signature and the
            # MIME boundary aside, which GMime picks afresh) and each part.
            import email as em
            import email.policy as ep
            m = em.message_from_bytes(raw, policy=ep.default)
            heads = tuple((k, str(v)) for k, v in m.items()
                          if k.lower() not in ("dkim-signature", "content-type"))
            parts = tuple(p.get_content() for p in m.walk() if not p.is_multipart())
            return heads, parts
        for who in repeats:
            copies = [content(c) for c in list(by_rcpt[who].values())[0]]
            self.assertTrue(all(c == copies[0] for c in copies), "a repeat differs")
        print(f"\nkill -9 at {at_kill} of {total} delivered; repeated transfers: {len(repeats)}")
        self.assertEqual(r["counts"]["sent"], total, r)
        self.assertEqual(self.cli("audit", "verify", "--json", check=None).returncode, 0)


if __name__ == "__main__":
    unittest.main()
