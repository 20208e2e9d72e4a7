"""`kill -9` of `serve` with SIP calls connected, then a restart (issue 17).

SIPp (Debian's sip-tester) plays the carrier's trunk and every phone behind
it on loopback (tests/telephony/answer.xml: each leg is answered and held
until a BYE). Several callers' calls are bridged, `serve` is killed with
SIGKILL and started again. Before it serves a request every call is
recorded as ended (`lost`), every leg the trunk still had up gets a BYE that
SIPp sees in that leg's own dialog, no lease is lost and no pass is counted,
the callers record their outcomes and carry on calling through the trunk,
and `switchboard audit verify` passes. Every wait is on a condition with a
deadline."""
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import time
import unittest

from harness import BIN, DataDirTest, run
from serve_test import browser_session, call

SOURCE_DIR = os.environ.get("SB_SOURCE_DIR",
                            os.path.join(os.path.dirname(__file__), "..", ".."))
SCENARIO = os.path.join(SOURCE_DIR, "tests", "telephony", "answer.xml")
ACTIVE = ("calling_you", "calling_member", "connected")
CALLERS = 4  # the demo's volunteer and organiser, and two more accounts
DEADLINE = 60  # seconds for any one thing to happen


def wait_for(what, check, deadline=DEADLINE):
    """Polls `check` until it returns something true; fails after `deadline` seconds."""
    end = time.monotonic() + deadline
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def udp_port_taken(port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return False
        except OSError:
            return True


class Sipp:
    """SIPp as the trunk, answering `calls` legs, logging each step (answer.xml)."""

    def __init__(self, workdir, calls):
        self.log = os.path.join(workdir, "sipp-steps.log")
        self.out = os.path.join(workdir, "sipp-output.log")
        self.errors = os.path.join(workdir, "sipp-errors.log")
        for _ in range(5):
            self.port = free_udp_port()
            with open(self.out, "w") as out:
                self.proc = subprocess.Popen(
                    ["sipp", "-sf", SCENARIO, "-i", "127.0.0.1", "-p", str(self.port), "-t", "u1",
                     "-m", str(calls), "-nostdin", "-trace_logs", "-log_file", self.log,
                     "-trace_err", "-error_file", self.errors, "-max_recv_loops", "10000"],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            try:
                wait_for("SIPp to bind its port",
                         lambda: self.proc.poll() is not None or udp_port_taken(self.port), 10)
            except AssertionError:
                self.stop()
                raise
            if self.proc.poll() is None:
                return
        raise AssertionError("SIPp did not start: " + self.output())

    def steps(self, kind):
        """The logged steps of one kind ("caller", "member", "bridged", "bye"), as field lists."""
        try:
            with open(self.log) as f:
                return [line.split() for line in f if line.startswith(kind + " ")]
        except FileNotFoundError:
            return []

    def output(self):
        text = ""
        for path in (self.out, self.errors):
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text += f.read()[-4000:]
        return text

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


def set_telephony(data_dir, values):
    """Sets keys of the [telephony] section of the data directory's switchboard.toml."""
    path = os.path.join(data_dir, "switchboard.toml")
    with open(path) as f:
        text = f.read()
    head, sep, section = text.partition("\n[telephony]\n")
    assert sep, "no [telephony] section"
    body, nxt, rest = section.partition("\n[")
    for key, value in values.items():
        body, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", body)
        assert n == 1, key
    with open(path, "w") as f:
        f.write(head + sep + body + nxt + rest)


class Serve:
    """`switchboard serve`, its JSON log in a file (so it never fills a pipe)."""

    def __init__(self, data_dir, log_path):
        self.log = open(log_path, "a")
        self.proc = subprocess.Popen([BIN, "serve", "--data-dir", data_dir, "--port", "0"],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        lines = []
        for line in self.proc.stdout:
            lines.append(line)
            m = re.search(r"serving on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                return
        self.proc.wait(timeout=30)
        self.log.close()
        with open(log_path) as f:
            raise AssertionError("serve did not start: " + "".join(lines) + f.read()[-4000:])

    def kill(self, sig):
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=60)
        self.proc.stdout.close()
        self.log.close()
        return code


class SipCrashTest(DataDirTest):
    def db(self, demo):
        return sqlite3.connect(os.path.join(demo, "switchboard.db"), timeout=30)

    def query(self, demo, sql, args=()):
        db = self.db(demo)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def headers(self, port, login, password):
        cookie, csrf, account = browser_session(port, login, password)
        return dict(cookie, **{"X-CSRF-Token": csrf,
                               "Origin": f"http://127.0.0.1:{port}"}), account

    def enrol(self, demo):
        """The demo's volunteer and organiser and two new accounts, each joined to the
        campaign with a verified phone (verified on the sandbox, before SIP is on)."""
        out = run("demo", "--data-dir", demo, "--count", "3000", "--no-serve", check=0).stdout
        logins = [re.search(rf"{who}: login (\S+)\s+password (\S+)", out).groups()
                  for who in ("volunteer", "organiser")]
        for i in range(CALLERS - len(logins)):
            login, password = f"sip.caller.{i}", secrets.token_urlsafe(18)
            p = subprocess.run([BIN, "account", "add", login, "--name", f"SIP caller {i}",
                                "--password-stdin", "--data-dir", demo], input=password + "\n",
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            logins.append((login, password))
        server = Serve(demo, os.path.join(self.tmp, "serve-enrol.log"))
        try:
            port = server.port
            v, _ = self.headers(port, *logins[0])
            status, body, _ = call(port, "GET", "/api/v1/campaigns", headers=v)
            self.assertEqual(status, 200, body)
            campaign = body["campaigns"][0]["id"]
            o, _ = self.headers(port, *logins[1])
            status, body, _ = call(port, "POST", f"/api/v1/campaigns/{campaign}/invites",
                                   {"label": "sip crash test", "max_joins": 10}, o)
            self.assertEqual(status, 201, body)
            token = body["token"]
            for i, (login, password) in enumerate(logins):
                h, _ = self.headers(port, login, password)
                if i > 0:
                    status, body, _ = call(port, "POST", f"/api/v1/join/{token}", None, h)
                    self.assertEqual(status, 201, body)
                status, body, _ = call(port, "POST", "/api/v1/me/endpoint",
                                       {"phone": f"07700 90055{i}"}, h)
                self.assertEqual(status, 201, body)
                status, body, _ = call(port, "POST", "/api/v1/me/endpoint/verify",
                                       {"code": body["sandbox_code"]}, h)
                self.assertEqual(status, 200, body)
        finally:
            self.assertEqual(server.kill(signal.SIGTERM), 0)
        return campaign, logins

    def test_sip_calls_connected_are_reconciled_after_kill_9(self):
        demo = os.path.join(self.tmp, "demo")
        campaign, logins = self.enrol(demo)
        # Every leg of the calls cut by the crash, and both legs of one more call after it.
        sipp = Sipp(self.tmp, 2 * CALLERS + 2)
        try:
            set_telephony(demo, {"connector": '"sip"',
                                 "trunk_uri": f'"sip:127.0.0.1:{sipp.port}"',
                                 "caller_id": '"+441632960000"', "port": "0",
                                 "ring_seconds": "30"})
            serve_log = os.path.join(self.tmp, "serve.log")
            server = Serve(demo, serve_log)
            calls = {}
            try:
                for login, password in logins:
                    h, account = self.headers(server.port, login, password)
                    status, body, _ = call(server.port, "POST",
                                           f"/api/v1/campaigns/{campaign}/next", None, h)
                    self.assertEqual(status, 200, body)
                    status, body, _ = call(server.port, "POST",
                                           f"/api/v1/campaigns/{campaign}/connect", None, h)
                    self.assertEqual(status, 201, body)
                    self.assertEqual(body["call"]["connector"], "sip")
                    calls[body["call"]["id"]] = account
                ids = tuple(calls)
                marks = ",".join("?" * len(ids))

                # Bridged at the trunk (SIPp saw each caller's phone re-invited with the
                # member's media) and both legs of each call stored.
                def bridged():
                    legs = self.query(demo, f"SELECT COUNT(*) FROM sip_legs WHERE call_id IN "
                                      f"({marks})", ids)[0][0]
                    connected = self.query(demo, f"SELECT COUNT(*) FROM calls WHERE id IN "
                                           f"({marks}) AND state = 'connected'", ids)[0][0]
                    return (len(sipp.steps("bridged")) == CALLERS and legs == 2 * CALLERS
                            and connected == CALLERS)
                wait_for("every call bridged", bridged)
            finally:
                self.assertEqual(server.kill(signal.SIGKILL), -signal.SIGKILL)

            passes_before = dict(self.query(
                demo, "SELECT member_id, passes FROM campaign_targets WHERE campaign_id = ?",
                (campaign,)))
            self.assertEqual(len(sipp.steps("bye")), 0, "a leg was hung up before the crash")
            legs = {(s[0], s[1]) for s in sipp.steps("caller")} | {
                ("member", s[2]) for s in sipp.steps("member")}
            self.assertEqual(len(legs), 2 * CALLERS)

            server = Serve(demo, serve_log)
            try:
                # Reconciled before the server said it was serving.
                rows = self.query(demo, f"SELECT id, state, end_reason, member_id FROM calls "
                                  f"WHERE id IN ({marks})", ids)
                self.assertEqual({r[0]: (r[1], r[2]) for r in rows},
                                 {c: ("ended", "lost") for c in ids})
                self.assertEqual(self.query(demo, "SELECT COUNT(*) FROM sip_legs")[0][0], 0)
                self.assertEqual(self.query(demo, "SELECT COUNT(*) FROM calls WHERE state IN "
                                            "(?, ?, ?)", ACTIVE)[0][0], 0)
                for call_id, _, _, member in rows:
                    leased_by, lease_call, passes = self.query(
                        demo, "SELECT leased_by, lease_call, passes FROM campaign_targets WHERE "
                        "campaign_id = ? AND member_id = ?", (campaign, member))[0]
                    # No lease lost, no pass counted by the crash.
                    self.assertEqual((leased_by, lease_call), (calls[call_id], call_id))
                    self.assertEqual(passes, passes_before[member])

                # Every leg the trunk had up got a BYE in its own dialog.
                wait_for("a BYE on every leg", lambda: len(sipp.steps("bye")) == 2 * CALLERS)
                byes = {(s[1], s[2]) for s in sipp.steps("bye")}
                self.assertEqual(byes, legs)
                # In sequence (RFC 3261 12.2.1.1): each caller leg's BYE takes a CSeq above
                # the re-INVITE's that bridged it, as stored before the crash.
                reinvite = {s[1]: int(s[2]) for s in sipp.steps("bridged")}
                for s in sipp.steps("bye"):
                    if s[1] == "caller":
                        self.assertGreater(int(s[3]), reinvite[s[2]], s)

                # The callers record their outcomes and carry on, through the trunk.
                heads = [self.headers(server.port, *lp)[0] for lp in logins]
                for h in heads:
                    status, body, _ = call(server.port, "POST",
                                           f"/api/v1/campaigns/{campaign}/outcome",
                                           {"outcome": "no_answer"}, h)
                    self.assertEqual(status, 200, body)
                h = heads[0]
                status, body, _ = call(server.port, "POST", f"/api/v1/campaigns/{campaign}/next",
                                       None, h)
                self.assertEqual(status, 200, body)
                status, body, _ = call(server.port, "POST",
                                       f"/api/v1/campaigns/{campaign}/connect", None, h)
                self.assertEqual(status, 201, body)
                again = body["call"]["id"]
                wait_for("the new call bridged",
                         lambda: len(sipp.steps("bridged")) == CALLERS + 1 and self.query(
                             demo, "SELECT state FROM calls WHERE id = ?",
                             (again,))[0][0] == "connected")
                status, body, _ = call(server.port, "POST",
                                       f"/api/v1/campaigns/{campaign}/calls/{again}/hangup",
                                       None, h)
                self.assertEqual(status, 200, body)
                # SIPp ends once every leg it expected has had its BYE, each as scripted.
                try:
                    code = sipp.proc.wait(timeout=DEADLINE)
                except subprocess.TimeoutExpired:
                    code = None
                self.assertEqual(code, 0, sipp.output())
                self.assertEqual(len(sipp.steps("bye")), 2 * CALLERS + 2)
                status, body, _ = call(server.port, "POST",
                                       f"/api/v1/campaigns/{campaign}/outcome",
                                       {"outcome": "answered"}, h)
                self.assertEqual(status, 200, body)
            finally:
                self.assertEqual(server.kill(signal.SIGTERM), 0)
        finally:
            sipp.stop()
        with open(serve_log) as f:
            log = f.read()
        self.assertIn("calls found unfinished at start-up", log)
        out = run("audit", "verify", "--data-dir", demo)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)


if __name__ == "__main__":
    unittest.main()
