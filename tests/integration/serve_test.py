"""`switchboard serve` and `switchboard demo` answer /healthz and /readyz on
loopback and stop cleanly on SIGTERM; the demo's contest and its clock."""
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


def call(port, method, path, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    hdrs = dict(headers or {})
    if data is not None:
        hdrs["Content-Type"] = "application/json"
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, data=data,
                                 headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read()), r.headers
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), e.headers


def browser_session(port, login, password):
    """A cookie session: the Cookie header and the CSRF token."""
    status, body, headers = call(port, "POST", "/api/v1/session",
                                 {"login": login, "password": password, "client": "browser"})
    assert status == 201, body
    cookie = headers["Set-Cookie"].split(";")[0]
    return {"Cookie": cookie}, body["csrf_token"], body["account"]["id"]


def bearer(port, login, password):
    status, body, _ = call(port, "POST", "/api/v1/session",
                           {"login": login, "password": password, "client": "api"})
    assert status == 201, body
    return {"Authorization": "Bearer " + body["token"]}


class ServeTest(DataDirTest):
    def test_serve_health_and_readiness(self):
        self.init()
        run("generate", "members", "--count", "300", "--data-dir", self.data, check=0)
        proc, port, _ = start(["serve", "--data-dir", self.data, "--port", "0"])
        try:
            self.assertEqual(get(port, "/healthz"), (200, {"status": "ok"}))
            # Not a demo directory: the demo clock does not exist.
            self.assertEqual(get(port, "/demo/clock")[0], 404)
            self.assertEqual(call(port, "POST", "/demo/clock", {"advance_seconds": 60})[0], 404)
            status, body = get(port, "/readyz")
            self.assertEqual(status, 200)
            self.assertEqual(body["status"], "ready")
            # Readiness is one cheap read; the members are counted in /metrics.
            self.assertNotIn("members", body)
            self.assertGreaterEqual(body["schema"], 19)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                self.assertEqual(r.status, 200)
                self.assertIn("frame-ancestors 'none'", r.headers["Content-Security-Policy"])
                self.assertEqual(r.headers["X-Frame-Options"], "DENY")
                metrics = r.read().decode()
            self.assertIn('switchboard_http_requests_total{method="GET",route="/readyz",'
                          'status="200"} 1', metrics)
            self.assertIn("switchboard_units 2613", metrics)
            # Latency by route: a histogram whose +Inf bucket and count agree.
            self.assertRegex(metrics, r'switchboard_http_request_duration_seconds_bucket\{method="GET",'
                                      r'route="/readyz",le="\+Inf"\} 1\n')
            self.assertIn('switchboard_http_request_duration_seconds_count{method="GET",'
                          'route="/readyz"} 1', metrics)
            self.assertRegex(metrics, r"switchboard_audit_checkpoint_age_seconds \d")
            self.assertIn('switchboard_outbox_depth{state="queued"} 0', metrics)
            self.assertIn("switchboard_members 300", metrics)
            # No member data in any label: labels are route patterns, states and rules.
            for line in metrics.splitlines():
                self.assertNotRegex(line, r"@|07700|\+447", line)
            # The API description this binary was built with.
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/openapi.yaml",
                                        timeout=10) as r:
                self.assertEqual(r.status, 200)
                self.assertTrue(r.headers["Content-Type"].startswith("application/yaml"))
                served = r.read()
            with open(os.path.join(os.environ.get("SB_SOURCE_DIR", "../.."), "docs",
                                   "openapi.yaml"), "rb") as f:
                self.assertEqual(served, f.read())
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
            self.assertEqual((status, body["status"]), (200, "ready"))
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                self.assertIn("switchboard_members 3000\n", r.read().decode())
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

    def test_demo_contest_and_its_clock(self):
        demo = os.path.join(self.tmp, "demo")
        proc, port, lines = start(["demo", "--data-dir", demo, "--count", "3000", "--port", "0"])
        try:
            text = "".join(lines)
            pw = dict(re.findall(
                r"^\s+(returning-officer|procedures|campaign-[a-z-]+)\s+password (\S+)", text,
                re.M))
            self.assertEqual(sorted(pw), ["campaign-quennell-hart", "campaign-vauquelin",
                                          "campaign-wrenfield", "procedures",
                                          "returning-officer"], text)
            self.assertIn("move the demo clock to nominations close", text)
            # The DPO's login, with its second factor, and a populated dashboard.
            self.assertRegex(text, r"dpo: login dpo  password \S+")
            self.assertRegex(text, r"oathtool --totp -b [A-Z2-7]+")
            self.assertIn("demo-caller-3 and demo-caller-5 were suspended", text)

            # The clock needs a session, and contest.manage.
            self.assertEqual(call(port, "GET", "/demo/clock")[0], 401)
            self.assertEqual(call(port, "POST", "/demo/clock", {"advance_seconds": 60})[0], 401)
            campaign = bearer(port, "campaign-vauquelin", pw["campaign-vauquelin"])
            status, body, _ = call(port, "GET", "/demo/clock", headers=campaign)
            self.assertEqual(status, 403, body)
            status, body, _ = call(port, "POST", "/demo/clock", {"advance_seconds": 60},
                                   headers=campaign)
            self.assertEqual(status, 403, body)

            ro, csrf, ro_id = browser_session(port, "returning-officer", pw["returning-officer"])
            status, clock, _ = call(port, "GET", "/demo/clock", headers=ro)
            self.assertEqual((status, clock["offset_seconds"]), (200, 0), clock)
            # A cookie session must send its CSRF token to move the clock.
            status, body, _ = call(port, "POST", "/demo/clock", {"advance_seconds": 60},
                                   headers=ro)
            self.assertEqual((status, body["error"]["code"]), (403, "csrf_failed"))
            moving = {**ro, "X-CSRF-Token": csrf}
            for bad in ({"advance_seconds": 0}, {"advance_seconds": 91 * 86400},
                        {"advance_seconds": 60, "to": clock["now"]}, {"to": clock["now"]},
                        {"to": "2020-01-01T00:00:00Z"}, {"to": "soon"}, {"by": 60}, {}):
                status, body, _ = call(port, "POST", "/demo/clock", bad, headers=moving)
                self.assertEqual(status, 400, (bad, body))
            self.assertEqual(call(port, "GET", "/demo/clock", headers=ro)[1]["offset_seconds"], 0)

            # The contest as designed: nominations open, two qualify, one does not.
            status, body, _ = call(port, "GET", "/api/v1/contests", headers=ro)
            self.assertEqual(status, 200, body)
            [contest] = body["contests"]
            self.assertEqual(contest["phase"], "nominations")
            self.assertTrue(contest["neutrality_in_force"])
            cid = contest["id"]
            status, standing, _ = call(port, "GET", f"/api/v1/contests/{cid}/standing", headers=ro)
            self.assertEqual(status, 200, standing)
            qualified = {c["candidate"]: c["qualified"] for c in standing["candidates"]}
            self.assertEqual(qualified, {"quennell-hart": True, "vauquelin": True,
                                         "wrenfield": False})
            self.assertTrue(all(c["access_from"] is None for c in standing["candidates"]))
            self.assertGreater(len(standing["nominations"]), 100)
            # The organiser is staff, bound by the contest's neutrality.
            status, body, _ = call(port, "GET", "/api/v1/session",
                                   headers=bearer(port, "organiser", re.search(
                                       r"organiser: login \S+\s+password (\S+)", text).group(1)))
            self.assertTrue(body["account"]["staff"])

            # Past nominations close: data released at once, to the two who qualify.
            release = contest["timeline"]["data_release"]["at"]
            close = contest["timeline"]["nominations_close"]["at"]
            self.assertEqual(release, close)
            status, moved, _ = call(port, "POST", "/demo/clock", {"to": close}, headers=moving)
            self.assertEqual(status, 200, moved)
            # Released by this request or by serve's own check a moment before it.
            self.assertIn(moved["released"], (0, 2))
            self.assertGreaterEqual(moved["now"], close)
            self.assertGreater(moved["offset_seconds"], 3 * 86400)
            # Already released when the move is answered (serve's own check waits up to a
            # second); the returning officer is still signed in after the skipped days.
            status, clock, _ = call(port, "GET", "/demo/clock", headers=ro)
            self.assertEqual((status, clock["offset_seconds"]), (200, moved["offset_seconds"]))
            status, standing, _ = call(port, "GET", f"/api/v1/contests/{cid}/standing", headers=ro)
            access = {c["candidate"]: c["access_from"] for c in standing["candidates"]}
            self.assertEqual(access, {"quennell-hart": release, "vauquelin": release,
                                      "wrenfield": None})
            starts = []
            for login in ("campaign-quennell-hart", "campaign-vauquelin"):
                _, session, _ = call(port, "GET", "/api/v1/session",
                                     headers=bearer(port, login, pw[login]))
                [grant] = session["grants"]
                self.assertEqual(grant["role"], "candidate_campaign")
                starts.append(grant["not_before"])
            self.assertEqual(starts, [release, release])
            _, session, _ = call(port, "GET", "/api/v1/session",
                                 headers=bearer(port, "campaign-wrenfield",
                                                pw["campaign-wrenfield"]))
            self.assertEqual(session["grants"], [])
            # On through the ballot: the clock only moves forward.
            status, body, _ = call(port, "POST", "/demo/clock", {"to": release}, headers=moving)
            self.assertEqual(status, 400, body)
            status, moved2, _ = call(port, "POST", "/demo/clock",
                                     {"to": contest["timeline"]["ballot_open"]["at"]},
                                     headers=moving)
            self.assertEqual((status, moved2["released"]), (200, 0), moved2)
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=30), 0)
        # Each move is on the record, by the returning officer.
        out = run("audit", "query", "--actor", str(ro_id), "--data-dir", demo, check=0).stdout
        self.assertEqual(out.count("demo.clock"), 2, out)
        # A restarted demo keeps its time.
        proc, port, _ = start(["serve", "--data-dir", demo, "--port", "0"])
        try:
            ro, _, _ = browser_session(port, "returning-officer", pw["returning-officer"])
            status, clock, _ = call(port, "GET", "/demo/clock", headers=ro)
            self.assertEqual((status, clock["offset_seconds"]), (200, moved2["offset_seconds"]))
            self.assertGreaterEqual(clock["now"], contest["timeline"]["ballot_open"]["at"])
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=30), 0)


if __name__ == "__main__":
    unittest.main()
