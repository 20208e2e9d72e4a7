"""`switchboard serve` and `switchboard demo` answer /healthz and /readyz on
loopback and stop cleanly on SIGTERM."""
import json
import os
import re
import signal
import subprocess
import unittest
import urllib.request

from harness import BIN, DataDirTest, run


def start(args):
    proc = subprocess.Popen([BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    lines = []
    for line in proc.stdout:  # ends when the process exits
        lines.append(line)
        m = re.search(r"serving on http://127\.0\.0\.1:(\d+)", line)
        if m:
            return proc, int(m.group(1)), lines
    raise AssertionError("server did not start: " + "".join(lines) + proc.stderr.read())


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


class ServeTest(DataDirTest):
    def test_serve_health_and_readiness(self):
        self.init()
        run("generate", "members", "--count", "300", "--data-dir", self.data, check=0)
        proc, port, _ = start(["serve", "--data-dir", self.data, "--port", "0"])
        try:
            self.assertEqual(get(port, "/healthz"), (200, {"status": "ok"}))
            status, body = get(port, "/readyz")
            self.assertEqual(status, 200)
            self.assertEqual(body["status"], "ready")
            self.assertEqual(body["members"], 300)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                self.assertEqual(r.status, 200)
                self.assertIn("frame-ancestors 'none'", r.headers["Content-Security-Policy"])
                self.assertEqual(r.headers["X-Frame-Options"], "DENY")
                metrics = r.read().decode()
            self.assertIn('switchboard_http_requests_total{method="GET",route="/readyz",'
                          'status="200"} 1', metrics)
            self.assertIn("switchboard_units 2613", metrics)
            status, body = get(port, "/no-such-route")
            self.assertEqual(status, 404)
            self.assertEqual(body["error"]["code"], "not_found")
            self.assertTrue(body["error"]["request_id"])
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=30), 0)

    def test_demo_sets_up_and_serves(self):
        demo = os.path.join(self.tmp, "demo")
        proc, port, lines = start(["demo", "--data-dir", demo, "--count", "3000", "--port", "0"])
        try:
            text = "".join(lines)
            self.assertIn("members: 3000 synthetic", text)
            status, body = get(port, "/readyz")
            self.assertEqual((status, body["members"]), (200, 3000))
            # The printed volunteer can sign in and is handed a member to call.
            m = re.search(r"volunteer: login (\S+)\s+password (\S+)", text)
            self.assertTrue(m, text)
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/session", method="POST",
                data=json.dumps({"login": m.group(1), "password": m.group(2),
                                 "client": "api"}).encode(),
                headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=10) as r:
                token = json.loads(r.read())["token"]
            auth = {"Authorization": "Bearer " + token}
            with urllib.request.urlopen(urllib.request.Request(
                    f"http://127.0.0.1:{port}/api/v1/campaigns", headers=auth), timeout=10) as r:
                campaigns = json.loads(r.read())["campaigns"]
            self.assertEqual([c["role"] for c in campaigns], ["caller"])
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/campaigns/{campaigns[0]['id']}/next",
                method="POST", headers=auth)
            with urllib.request.urlopen(req, timeout=10) as r:
                nxt = json.loads(r.read())
            self.assertIn("first_name", nxt["contact"])
            self.assertNotIn("@", json.dumps(nxt))
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=30), 0)
        # A second demo run recreates its own directory...
        run("demo", "--data-dir", demo, "--count", "10", "--no-serve", check=0)
        # ...but never replaces a directory that is not a demo's.
        other = os.path.join(self.tmp, "precious")
        os.makedirs(other)
        p = run("demo", "--data-dir", other, "--count", "10", "--no-serve")
        self.assertEqual(p.returncode, 2)
        self.assertTrue(os.path.isdir(other))


if __name__ == "__main__":
    unittest.main()
