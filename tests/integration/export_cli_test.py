"""Exports from the command line (docs/privacy.md, "Exports and leak tracing"):
the owner, who has an authenticator as exports require, asks with her
password and a step-up code, cannot approve her own, and withdraws it."""
import base64
import hashlib
import hmac
import os
import re
import struct
import subprocess
import time

from harness import DataDirTest, run, synthetic_members_csv

PASSWORD = "a long passphrase for the owner"


def totp(secret_b32, at=None):
    """RFC 6238 (SHA-1, 6 digits, 30 s), independent of the code under test."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = struct.pack(">Q", int(at if at is not None else time.time()) // 30)
    mac = hmac.new(key, counter, hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


class ExportCliTest(DataDirTest):
    def cli(self, *args, stdin=None, check=None):
        p = subprocess.run([os.environ["SWITCHBOARD_BIN"], *args, "--data-dir", self.data],
                           input=stdin, capture_output=True, text=True, timeout=300)
        if check is not None:
            self.assertEqual(p.returncode, check, f"{args}: {p.stdout}\n{p.stderr}")
        return p

    def setUp(self):
        super().setUp()
        self.init()
        csv = os.path.join(self.tmp, "members.csv")
        synthetic_members_csv(csv, 30)
        self.import_json(csv, "--unit-column", "constituency")
        self.cli("account", "add", "alice", "--name", "Alice Owner", "--password-stdin",
                 stdin=PASSWORD + "\n", check=0)
        self.cli("grant", "bootstrap", "--to", "alice", "--until", "+30d", "--reason", "test",
                 check=0)
        out = self.cli("account", "totp", "alice", "--password-stdin", stdin=PASSWORD + "\n",
                       check=0).stdout
        self.secret = re.search(r"^Secret:\s+(\S+)", out, re.M).group(1)
        self.key = os.path.join(self.tmp, "export.key")
        run("export", "keygen", "--out", self.key, check=0)
        # Each code works once: every use takes the next 30-second step,
        # within the one-step window either side of now.
        self.step = -30

    def code(self):
        self.step += 30
        return totp(self.secret, time.time() + self.step)

    def test_ask_refused_self_approval_withdraw(self):
        # The password and the step-up code: the code is the second factor.
        asked = self.cli("export", "request", "--as", "alice", "--step-up", self.code(),
                         "--scope", "E14000530", "--purpose", "Mailing house for the AGM",
                         "--key", self.key, stdin=PASSWORD + "\n", check=0)
        first = int(re.search(r"export (\d+) requested", asked.stdout).group(1))
        self.assertIn("waiting for a second approver", asked.stdout)
        # Nobody approves their own (refused before any code is looked at).
        own = self.cli("export", "approve", str(first), "--as", "alice", "--step-up", "000000",
                       stdin=PASSWORD + "\n")
        self.assertNotEqual(own.returncode, 0)
        self.assertIn("nobody approves their own export", own.stderr)
        # Withdrawn by its requester, with a reason kept with it.
        withdrawn = self.cli("export", "withdraw", str(first), "--as", "alice", "--totp",
                             self.code(), "--reason", "asked for the wrong unit",
                             stdin=PASSWORD + "\n", check=0)
        self.assertIn(f"export {first} cancelled", withdrawn.stdout)
        listed = self.cli("export", "list", check=0).stdout
        self.assertRegex(listed, rf"(?m)^{first}\s+cancelled\s+by alice")
        # Once withdrawn, for good; a wrong password is still refused.
        again = self.cli("export", "withdraw", str(first), "--as", "alice", "--reason", "twice",
                         stdin=PASSWORD + "\n")
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("only one not yet downloaded can be withdrawn", again.stderr)
        wrong = self.cli("export", "withdraw", str(first), "--as", "alice", "--reason", "x",
                         stdin="not the password\n")
        self.assertNotEqual(wrong.returncode, 0)
        self.assertIn("login name or password is not right", wrong.stderr)

if __name__ == "__main__":
    import unittest
    unittest.main()
