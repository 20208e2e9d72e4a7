"""`switchboard contest ...` end to end on a real data directory: check (a bad
file refused naming the line), words and names on standard input, load (the
SHA-256 recorded), a nomination after close that releases member data at
once, standing, the ledger as JSON, and the report whose inclusion proofs
verify against a signed checkpoint."""
import datetime
import hashlib
import json
import os
import subprocess
import unittest

from harness import BIN, DataDirTest, run


def instant(delta):
    t = datetime.datetime.now(datetime.timezone.utc) + delta
    return t.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def rulebook(version=1, extra=""):
    """Nominations closed a minute ago; data release then; ballot in 20 days."""
    d = datetime.timedelta
    frozen = (datetime.datetime.now(datetime.timezone.utc) - d(days=3)).strftime("%Y-%m-%d")
    return f"""[contest]
id = "deputy"
name = "Deputy leadership election"
version = {version}
returning_officer = "ro.cli"
procedures_committee = ["committee.cli"]
[timeline]
announced = {instant(-d(days=3))}
nominations_open = {instant(-d(days=2))}
nominations_close = {instant(-d(minutes=1))}
data_release = {instant(-d(minutes=1))}
ballot_open = {instant(d(days=1))}
ballot_close = {instant(d(days=20))}
[[candidates]]
id = "okafor"
name = "Chidi Okafor-Lind"
aliases = ["COL"]
accounts = ["camp.okafor"]
[[candidates]]
id = "maalouf"
name = "Rana Maalouf"
accounts = ["camp.maalouf"]
[bodies.clps]
label = "Constituency parties"
kind = "units"
unit_kind = "constituency"
[qualification]
expression = "clps >= 2"
[electorate]
statuses = ["current"]
frozen_on = {frozen}
[statements]
word_limit = 5
{extra}"""


class ContestCliTest(DataDirTest):
    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def stdin(self, *args, text):
        return subprocess.run([BIN, *args], input=text, capture_output=True, text=True,
                              timeout=60)

    def test_check_words_and_names_need_no_data_directory(self):
        good = self.write("deputy.toml", rulebook())
        p = run("contest", "check", good, check=0)
        self.assertIn("is valid", p.stdout)
        with open(good, "rb") as f:
            self.assertIn(hashlib.sha256(f.read()).hexdigest(), p.stdout)
        bad = self.write("bad.toml", rulebook(extra="[candidates_receive]\nexport = \"all\"\n"))
        p = run("contest", "check", bad, check=2)
        last = len(rulebook().splitlines()) + 2
        self.assertIn(f"bad.toml:{last}:", p.stderr)
        self.assertIn("export", p.stderr)

        p = self.stdin("contest", "words", "--rulebook", good, text="Don't stop, Long-Bailey's 50,000!")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout), {"words": 4, "limit": 5, "ok": True})
        p = self.stdin("contest", "words", "--rulebook", good, text="one two three four five six")
        self.assertEqual(json.loads(p.stdout), {"words": 6, "limit": 5, "ok": False})

        text = "Thanks to chidi OKAFOR\u2011LIND and Rana Maalouf.\nNot Maaloufism."
        p = self.stdin("contest", "names", "--rulebook", good, text=text)
        self.assertEqual(p.returncode, 0, p.stderr)
        names = json.loads(p.stdout)["names"]
        self.assertEqual([n["candidate"] for n in names], ["okafor", "maalouf"])
        raw = text.encode("utf-8")
        for n in names:
            self.assertEqual(raw[n["begin"]:n["end"]].decode("utf-8"), n["text"])
            self.assertEqual(n["line"], 1)

    def test_load_nominate_release_ledger_and_report(self):
        self.init()
        for login, staff in (("ro.cli", True), ("committee.cli", False), ("camp.okafor", False),
                             ("camp.maalouf", False)):
            args = ["account", "add", login, "--name", login, "--data-dir", self.data]
            run(*(args + ["--staff"] if staff else args), check=0)
        path = self.write("deputy.toml", rulebook())
        p = run("contest", "load", path, "--data-dir", self.data, check=0)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        self.assertIn(digest, p.stdout)
        # Loading it twice is refused, once.
        p = run("contest", "load", path, "--data-dir", self.data, check=2)
        self.assertEqual(p.stderr.count("already loaded"), 1, p.stderr)

        yesterday = (datetime.datetime.now(datetime.timezone.utc)
                     - datetime.timedelta(days=1)).strftime("%Y-%m-%d")
        for unit, cand in (("E14000530", "okafor"), ("E14000531", "okafor"),
                           ("E14000532", "maalouf")):
            run("contest", "nominate", "deputy", "--body", "clps", "--nominator", unit,
                "--candidate", cand, "--decided-by", "all-member meeting", "--meeting-on",
                yesterday, "--for", "30", "--against", "2", "--data-dir", self.data, check=0)
        # The same party again is refused, naming it.
        p = run("contest", "nominate", "deputy", "--body", "clps", "--nominator", "E14000530",
                "--candidate", "maalouf", "--decided-by", "meeting", "--meeting-on", yesterday,
                "--data-dir", self.data)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("E14000530", p.stderr)

        standing = json.loads(run("contest", "standing", "deputy", "--json", "--data-dir",
                                  self.data, check=0).stdout)
        by = {c["candidate"]: c for c in standing["candidates"]}
        self.assertTrue(by["okafor"]["qualified"])
        self.assertFalse(by["maalouf"]["qualified"])
        # Nominated after close for a meeting before it: released at once.
        self.assertNotEqual(by["okafor"]["access_from"], "")
        self.assertEqual(by["maalouf"]["access_from"], "")

        ledger = json.loads(run("contest", "ledger", "deputy", "--json", "--data-dir", self.data,
                                check=0).stdout)["ledger"]
        self.assertEqual([(e["candidate"], e["entry"], e["facility"]) for e in ledger],
                         [("okafor", "released", "data")])

        run("audit", "checkpoint", "--data-dir", self.data, check=0)
        lines = [json.loads(l) for l in run("contest", "report", "deputy", "--json",
                                            "--data-dir", self.data, check=0).stdout.splitlines()]
        actions = [l["action"] for l in lines]
        self.assertIn("contest.load", actions)
        self.assertEqual(actions.count("contest.nominate"), 3)
        self.assertIn("contest.release", actions)
        for l in lines:
            self.assertTrue(l["proof"]["verified"], l)
            self.assertIn("path", l["proof"])
        run("audit", "verify", "--data-dir", self.data, check=0)


if __name__ == "__main__":
    unittest.main()
