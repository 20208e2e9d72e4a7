"""`kill -9` of `serve` with sandbox calls going on, then a restart: every
call is reconciled before a request is taken (ended `lost`, or as its
simulated timeline had ended), no lease is lost, the callers can still
record their outcomes, and the audit log verifies (issue 17)."""
import os
import re
import signal
import sqlite3
import unittest

from harness import DataDirTest, run
from serve_test import browser_session, call, start

ACTIVE = ("calling_you", "calling_member", "connected")
CALLER_ENDS = ("caller_busy", "caller_no_answer", "caller_declined")


class CallsCrashTest(DataDirTest):
    def caller(self, port, login, password):
        """A signed-in caller with a verified phone: headers for its requests."""
        cookie, csrf, account = browser_session(port, login, password)
        headers = dict(cookie, **{"X-CSRF-Token": csrf, "Origin": f"http://127.0.0.1:{port}"})
        status, body, _ = call(port, "POST", "/api/v1/me/endpoint", {"phone": "07700 900555"},
                               headers)
        self.assertEqual(status, 201, body)
        status, body, _ = call(port, "POST", "/api/v1/me/endpoint/verify",
                               {"code": body["sandbox_code"]}, headers)
        self.assertEqual(status, 200, body)
        return headers, account

    def test_calls_going_on_are_reconciled_after_kill_9(self):
        demo = os.path.join(self.tmp, "demo")
        proc, port, lines = start(["demo", "--data-dir", demo, "--count", "200", "--port", "0"])
        calls = {}
        try:
            text = "".join(lines)
            volunteer = re.search(r"volunteer: login (\S+)\s+password (\S+)", text)
            organiser = re.search(r"organiser: login (\S+)\s+password (\S+)", text)
            self.assertTrue(volunteer and organiser, text)
            v, v_id = self.caller(port, volunteer.group(1), volunteer.group(2))
            o, o_id = self.caller(port, organiser.group(1), organiser.group(2))
            status, body, _ = call(port, "GET", "/api/v1/campaigns", headers=v)
            campaign = body["campaigns"][0]["id"]
            # The organiser joins its own campaign as a second caller.
            status, body, _ = call(port, "POST", f"/api/v1/campaigns/{campaign}/invites",
                                   {"label": "crash test", "max_joins": 5}, o)
            self.assertEqual(status, 201, body)
            status, body, _ = call(port, "POST", f"/api/v1/join/{body['token']}", None, o)
            self.assertEqual(status, 201, body)
            for who, account in ((v, v_id), (o, o_id)):
                status, body, _ = call(port, "POST", f"/api/v1/campaigns/{campaign}/next", None,
                                       who)
                self.assertEqual(status, 200, body)
                status, body, _ = call(port, "POST", f"/api/v1/campaigns/{campaign}/connect",
                                       None, who)
                self.assertEqual(status, 201, body)
                self.assertEqual(body["call"]["state"], "calling_you")
                calls[body["call"]["id"]] = account
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        db = sqlite3.connect(os.path.join(demo, "switchboard.db"), timeout=30)
        try:
            marks = ",".join("?" * len(ACTIVE))
            active = db.execute(f"SELECT COUNT(*) FROM calls WHERE state IN ({marks})",
                                ACTIVE).fetchone()[0]
            self.assertEqual(active, 2, "the calls were not going on when serve was killed")
            passes_before = dict(db.execute(
                "SELECT member_id, passes FROM campaign_targets WHERE campaign_id = ?",
                (campaign,)).fetchall())
        finally:
            db.close()

        proc, port, lines = start(["serve", "--data-dir", demo, "--port", "0"])
        try:
            db = sqlite3.connect(os.path.join(demo, "switchboard.db"), timeout=30)
            try:
                # Reconciled before the server said it was serving.
                active = db.execute(f"SELECT COUNT(*) FROM calls WHERE state IN ({marks})",
                                    ACTIVE).fetchone()[0]
                self.assertEqual(active, 0)
                for call_id, account in calls.items():
                    state, end, member = db.execute(
                        "SELECT state, end_reason, member_id FROM calls WHERE id = ?",
                        (call_id,)).fetchone()
                    self.assertEqual(state, "ended")
                    leased_by, lease_call, passes = db.execute(
                        "SELECT leased_by, lease_call, passes FROM campaign_targets WHERE "
                        "campaign_id = ? AND member_id = ?", (campaign, member)).fetchone()
                    # Nothing counted: no pass used by the crash.
                    self.assertEqual(passes, passes_before[member])
                    if end in CALLER_ENDS:
                        # The simulated caller did not answer before the crash: the member
                        # went back untried.
                        self.assertIsNone(leased_by)
                    else:
                        self.assertIn(end, ("lost", "completed", "busy", "no_answer"))
                        self.assertEqual((leased_by, lease_call), (account, call_id))
            finally:
                db.close()
            # The callers still hold their contacts and record outcomes.
            held = 0
            for login, password in (volunteer.groups(), organiser.groups()):
                cookie, csrf, _ = browser_session(port, login, password)
                headers = dict(cookie,
                               **{"X-CSRF-Token": csrf, "Origin": f"http://127.0.0.1:{port}"})
                status, body, _ = call(port, "POST", f"/api/v1/campaigns/{campaign}/outcome",
                                       {"outcome": "no_answer"}, headers)
                if status == 200:
                    held += 1
                else:
                    self.assertEqual(status, 409, body)
            db = sqlite3.connect(os.path.join(demo, "switchboard.db"), timeout=30)
            try:
                kept = db.execute(
                    "SELECT COUNT(*) FROM calls WHERE id IN (?, ?) AND (end_reason IS NULL OR "
                    "end_reason NOT IN ('caller_busy', 'caller_no_answer', 'caller_declined'))",
                    tuple(calls)).fetchone()[0]
            finally:
                db.close()
            self.assertEqual(held, kept)
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=30), 0)
        out = run("audit", "verify", "--data-dir", demo)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)


if __name__ == "__main__":
    unittest.main()
