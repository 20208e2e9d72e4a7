"""TARGETS R7 in CI: bench/soak.py for three minutes at a modest rate (a
sample every 5 s after a 90-second warm-up; four server threads and readers,
so that their caches settle inside the warm-up), so that the soak itself keeps
working; `make soak` runs the hour at half of peak (docs/operations.md).
Fails when the soak does: any error, or resident memory grown above 5 %."""
import csv
import os
import subprocess
import tempfile
import shutil
import unittest

from harness import BIN

SOURCE = os.environ.get("SB_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
LOAD = os.environ.get("SB_PHONEBANK_LOAD", "")


class SoakTest(unittest.TestCase):
    def test_three_minute_soak(self):
        self.assertTrue(LOAD, "SB_PHONEBANK_LOAD names bench/phonebank_load")
        work = tempfile.mkdtemp(prefix="sb-soak-")
        try:
            seconds, sample = 180, 5
            p = subprocess.run(
                ["/usr/bin/python3", os.path.join(SOURCE, "bench", "soak.py"), "--bin", BIN,
                 "--load", LOAD, "--dir", os.path.join(work, "d"), "--seconds", str(seconds),
                 "--sample", str(sample), "--warmup", "90", "--call-rate", "400",
                 "--mail-rate", "40", "--members", "5000", "--callers", "40", "--sink", "aiosmtpd",
                 "--server-threads", "4"],
                capture_output=True, text=True, timeout=800)
            print(p.stderr[-4000:])
            self.assertEqual(p.returncode, 0, p.stdout[-3000:])
            with open(os.path.join(work, "d", "soak.csv"), newline="") as f:
                rows = list(csv.DictReader(f))
            self.assertEqual(len(rows), seconds // sample)
            for r in rows:
                self.assertGreater(float(r["rss_mib"]), 0)
                self.assertEqual((r["refusals"], r["io_errors"], r["mail_failed"]), ("0", "0", "0"))
            # The load was offered and served: requests and e-mail in every sample.
            self.assertTrue(all(int(r["phone_req_s"]) > 0 for r in rows))
            self.assertGreater(sum(int(r["mail_sent_s"]) for r in rows), 0)
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
