"""The command line: help, exit codes, the JSON summary, and refusals."""
import json
import os
import stat
import unittest

from harness import DataDirTest, run, synthetic_members_csv


class HelpTest(unittest.TestCase):
    def test_every_subcommand_has_help(self):
        for cmd in [[], ["init"], ["import"], ["import", "members"], ["import", "postcodes"],
                    ["import", "units"], ["generate"], ["generate", "members"], ["serve"],
                    ["demo"], ["status"], ["policy"], ["policy", "check"]]:
            p = run(*cmd, "--help")
            self.assertEqual(p.returncode, 0, cmd)
            self.assertIn("--help", p.stdout, cmd)
            if cmd and cmd[-1] not in ("import", "generate", "policy"):
                self.assertIn("--data-dir", p.stdout, cmd)
                self.assertIn("--store", p.stdout, cmd)

    def test_bad_usage_exits_2(self):
        self.assertEqual(run().returncode, 2)
        self.assertEqual(run("frobnicate").returncode, 2)
        self.assertEqual(run("import", "members").returncode, 2)  # FILE missing
        self.assertEqual(run("import", "members", "x.csv", "--profile", "salesforce").returncode, 2)

    def test_mistyped_subcommands_get_a_suggestion(self):
        p = run("improt", "members", "x.csv")
        self.assertEqual(p.returncode, 2)
        self.assertIn('"improt" is not a subcommand of switchboard', p.stderr)
        self.assertIn("Did you mean switchboard import?", p.stderr)
        p = run("audit", "verfy")
        self.assertEqual(p.returncode, 2)
        self.assertIn("Did you mean switchboard audit verify?", p.stderr)
        p = run("stauts", "--json")
        self.assertIn("Did you mean switchboard status?", p.stderr)
        # Nothing near: no guess, but the list of what there is.
        p = run("frobnicate")
        self.assertEqual(p.returncode, 2)
        self.assertNotIn("Did you mean", p.stderr)
        self.assertIn("The subcommands are: init, import", p.stderr)
        # A real subcommand with a mistyped option is CLI11's to explain.
        p = run("status", "--jsno")
        self.assertEqual(p.returncode, 2)
        self.assertNotIn("is not a subcommand", p.stderr)


class CliTest(DataDirTest):
    def test_init_import_json_and_idempotence(self):
        self.init()
        mode = os.stat(os.path.join(self.data, "keys", "keyring")).st_mode
        self.assertEqual(stat.S_IMODE(mode), 0o600)
        csv = os.path.join(self.tmp, "m.csv")
        synthetic_members_csv(csv, 500)
        with open(csv, "a", encoding="utf-8") as f:
            f.write("BAD1,No,Unit,,,,Atlantis,current,,,\n")
            f.write("BAD2,Bad,Phone,,12,,E14000530,current,,,\n")
        s = self.import_json(csv, "--unit-column", "constituency")
        self.assertEqual(set(s), {"rows", "imported", "updated", "unchanged", "skipped",
                                  "rejected", "on_match", "matched", "matched_by", "conflicts",
                                  "possible_duplicates", "matches", "unmapped_columns",
                                  "rejects_file", "seconds"})
        self.assertEqual(s["rows"], 502)
        self.assertEqual(s["imported"], 500)
        self.assertEqual(s["rejected"], 2)
        self.assertEqual(s["imported"] + s["updated"] + s["unchanged"] + s["rejected"], s["rows"])
        with open(s["rejects_file"], encoding="utf-8") as f:
            rejects = f.read()
        self.assertIn("Atlantis", rejects)
        self.assertIn("too short", rejects)
        again = self.import_json(csv, "--unit-column", "constituency")
        self.assertEqual((again["imported"], again["unchanged"], again["rejected"]), (0, 500, 2))
        self.assertEqual(self.status()["members"], "500")

    def test_status_json(self):
        self.init()
        run("generate", "members", "--count", "200", "--data-dir", self.data, check=0)
        s = self.status_json()
        self.assertEqual(s["store"]["kind"], "sqlite")
        self.assertTrue(s["store"]["location"].startswith("sqlite:"))
        self.assertGreaterEqual(s["schema_version"], 15)
        self.assertEqual(s["members"], 200)
        self.assertGreater(s["contact_points"], 0)
        # Every command ends by signing what it appended.
        self.assertGreater(s["audit"]["events"], 0)
        self.assertEqual(s["audit"]["unsigned"], 0)
        self.assertEqual(s["audit"]["last_checkpoint"]["tree_size"], s["audit"]["events"])
        self.assertGreaterEqual(s["audit"]["last_checkpoint"]["age_seconds"], 0)
        self.assertEqual(s["outbox"]["pending"], 0)
        self.assertEqual(set(s["outbox"]), {"queued", "handed", "deferred", "sent", "failed",
                                            "suppressed", "cancelled", "pending"})
        self.assertEqual(s["alerts"], {"open": 0, "by_rule": []})
        text = run("status", "--data-dir", self.data, check=0).stdout
        self.assertIn("schema %d" % s["schema_version"], text)
        self.assertIn("no checkpoint yet" if s["audit"]["last_checkpoint"] is None
                      else "last checkpoint", text)

    def test_policy_check(self):
        self.init()
        p = run("policy", "check", "--data-dir", self.data, check=0)
        self.assertIn("is valid", p.stdout)
        self.assertIn("caller", p.stdout)
        bad = os.path.join(self.tmp, "bad-policy.toml")
        with open(bad, "w", encoding="utf-8") as f:
            f.write('[roles.x]\ncapabilities = ["member.view",\n  "member.fly"]\n')
        p = run("policy", "check", bad)
        self.assertEqual(p.returncode, 2)
        self.assertIn("bad-policy.toml:3", p.stderr)
        self.assertIn("member.fly", p.stderr)
        # A broken policy in the data directory stops every command.
        with open(os.path.join(self.data, "policy.toml"), "a", encoding="utf-8") as f:
            f.write("[roles.y]\nfields = []\n")
        p = run("status", "--data-dir", self.data)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("policy.toml", p.stderr)

    def test_missing_file_is_bad_input(self):
        self.init()
        p = run("import", "members", os.path.join(self.tmp, "nope.csv"), "--data-dir", self.data,
                "--unit-column", "x")
        self.assertEqual(p.returncode, 2)
        self.assertIn("nope.csv", p.stderr)

    def test_world_readable_keyring_is_refused(self):
        self.init()
        os.chmod(os.path.join(self.data, "keys", "keyring"), 0o644)
        p = run("status", "--data-dir", self.data)
        self.assertEqual(p.returncode, 1)
        self.assertIn("chmod 600", p.stderr)

    def test_uninitialised_data_dir(self):
        p = run("status", "--data-dir", self.data)
        self.assertEqual(p.returncode, 1)
        self.assertIn("switchboard init", p.stderr)

    def test_generate_is_deterministic_and_safe(self):
        self.init()
        out = json.loads(run("generate", "members", "--count", "2000", "--seed", "5", "--json",
                             "--data-dir", self.data, check=0).stdout)
        self.assertEqual(out["members"], 2000)
        self.assertGreater(out["canaries"], 500)
        again = json.loads(run("generate", "members", "--count", "2000", "--seed", "5", "--json",
                               "--data-dir", self.data, check=0).stdout)
        self.assertEqual(again["branches_created"], 0)
        self.assertEqual(self.status()["members"], "2000")

    def test_custom_tree_and_units(self):
        tree = os.path.join(self.tmp, "tree.csv")
        with open(tree, "w", encoding="utf-8") as f:
            f.write("ons_code,name,region,parent,kind\nNAT,Transport Union,,,national\n"
                    "L1,Port local,,NAT,constituency\nL2,Rail local,,NAT,constituency\n")
        p = run("init", "--data-dir", self.data, "--tree", tree, check=0)
        self.assertIn("units added: 3", p.stdout)
        units = os.path.join(self.tmp, "units.csv")
        with open(units, "w", encoding="utf-8") as f:
            f.write("ons_code,name,parent,kind\nL1-B1,Docks branch,L1,branch\n")
        run("import", "units", units, "--data-dir", self.data, check=0)
        self.assertEqual(self.status()["units"], "4")
        bad = os.path.join(self.tmp, "bad.csv")
        with open(bad, "w", encoding="utf-8") as f:
            f.write("ons_code,name,parent\nX,Orphan,NOWHERE\n")
        p = run("import", "units", bad, "--data-dir", self.data)
        self.assertEqual(p.returncode, 2)
        self.assertIn("NOWHERE", p.stderr)
        self.assertEqual(self.status()["units"], "4")

    def test_logs_hold_no_personal_data(self):
        self.init()
        csv = os.path.join(self.tmp, "m.csv")
        synthetic_members_csv(csv, 50)
        with open(csv, "a", encoding="utf-8") as f:
            f.write("BAD,Bad,Email,not-an-address@,,,E14000530,current,,,\n")
        p = run("import", "members", csv, "--data-dir", self.data, "--unit-column",
                "constituency", check=0)
        self.assertNotIn("@example.org", p.stderr)
        self.assertNotIn("not-an-address", p.stderr)
        self.assertNotIn("07700", p.stderr)
        self.assertNotIn("Test1", p.stderr)


if __name__ == "__main__":
    unittest.main()
