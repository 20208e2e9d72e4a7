"""scripts/reserved-data.py names files holding contact data outside the
reserved ranges, and no committed fuzz corpus input holds any (personal-data
discipline: the repository holds only reserved-range data)."""
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "reserved-data.py")
CORPUS = os.path.join(os.path.dirname(HERE), "fuzz", "corpus")


def flagged(paths):
    out = []
    for i in range(0, len(paths), 2000):
        p = subprocess.run([sys.executable, SCRIPT, *paths[i:i + 2000]], capture_output=True,
                           text=True, check=True)
        out += p.stdout.split()
    return out


class ReservedDataTest(unittest.TestCase):
    def test_flags_data_outside_the_reserved_ranges_only(self):
        # Built here, not written out: an address at a non-reserved domain
        # and a mobile number outside 07700 900xxx.
        outside_email = "someone@" + "not-reserved" + ".zz"
        outside_mobile = "0" + "7" + "9" * 9
        cases = {"reserved": b"a.b@example.org, +447700900123, 07700 900999, x@y.test",
                 "email": outside_email.encode(), "mobile": outside_mobile.encode()}
        with tempfile.TemporaryDirectory() as tmp:
            paths = {}
            for name, data in cases.items():
                paths[name] = os.path.join(tmp, name)
                with open(paths[name], "wb") as f:
                    f.write(data)
            self.assertEqual(sorted(flagged(list(paths.values()))),
                             sorted([paths["email"], paths["mobile"]]))

    def test_no_corpus_input_holds_data_outside_the_reserved_ranges(self):
        files = [os.path.join(d, f) for d, _, fs in os.walk(CORPUS) for f in fs]
        self.assertGreater(len(files), 1000)
        self.assertEqual(flagged(files), [])


if __name__ == "__main__":
    unittest.main()
