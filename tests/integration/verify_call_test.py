"""A volunteer's phone verified through `serve` with [telephony] connector =
"sip" (issue 17): SIPp on loopback is the phone behind the trunk and keys
the code the API shows, as SIP INFO; GET /api/v1/me/endpoint follows the
call until the phone is verified. Typing the code back is refused."""
import os
import re
import signal
import socket
import subprocess
import time
import unittest

from harness import DataDirTest, run
from serve_test import browser_session, call, start

SOURCE = os.environ.get("SB_SOURCE_DIR",
                        os.path.join(os.path.dirname(__file__), "..", ".."))
PASSWORD = "vic volunteers on tuesdays"


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def info_scenario(keys, directory):
    """tests/telephony/verify.xml with its KEYS marker replaced by SIP INFO
    requests for `keys` (as src/telephony/testing/sipp.cc does)."""
    with open(os.path.join(SOURCE, "tests", "telephony", "verify.xml")) as f:
        text = f.read()
    steps = []
    for cseq, key in enumerate(keys, start=2):
        steps.append(f"""<send retrans="500"><![CDATA[

      INFO [$contact] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: [$to_hdr];tag=[pid]SIPpTag01[call_number]
      To: [$from_hdr]
      [last_Call-ID:]
      CSeq: {cseq} INFO
      Max-Forwards: 70
      Content-Type: application/dtmf-relay
      Content-Length: [len]

      Signal={key}
      Duration=160
]]></send>
<recv response="200"/>
""")
    assert "<!-- KEYS -->" in text
    path = os.path.join(directory, "verify-info.xml")
    with open(path, "w") as f:
        f.write(text.replace("<!-- KEYS -->", "".join(steps)))
    return path


class VerifyCallTest(DataDirTest):
    def test_the_code_keyed_on_the_phone_verifies_it(self):
        self.init()
        p = subprocess.run([os.environ["SWITCHBOARD_BIN"], "account", "add", "vic", "--name",
                            "Vic Volunteer", "--password-stdin", "--data-dir", self.data],
                           input=PASSWORD + "\n", capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        sipp_port = free_udp_port()
        toml = os.path.join(self.data, "switchboard.toml")
        with open(toml) as f:
            before, tel = f.read().split("[telephony]\n", 1)
        nxt = tel.find("\n[")
        text, rest = (tel, "") if nxt < 0 else (tel[:nxt + 1], tel[nxt + 1:])
        for key, value in (("connector", '"sip"'),
                           ("trunk_uri", f'"sip:127.0.0.1:{sipp_port}"'),
                           ("caller_id", '"+441632960000"'),
                           ("port", "0")):
            text, n = re.subn(rf"^{key} = .*$", f"{key} = {value}", text, count=1, flags=re.M)
            self.assertEqual(n, 1, key)
        with open(toml, "w") as f:
            f.write(before + "[telephony]\n" + text + rest)

        proc, port, lines = start(["serve", "--data-dir", self.data, "--port", "0"])
        sipp = None
        try:
            cookie, csrf, _ = browser_session(port, "vic", PASSWORD)
            headers = dict(cookie, **{"X-CSRF-Token": csrf,
                                      "Origin": f"http://127.0.0.1:{port}"})
            status, body, _ = call(port, "POST", "/api/v1/me/endpoint",
                                   {"phone": "07700 900555"}, headers)
            self.assertEqual(status, 201, body)
            self.assertEqual(body["method"], "call")
            self.assertNotIn("sandbox_code", body)
            code = body["code"]
            self.assertRegex(code, r"^\d{6}$")
            # The phone answers the INVITE's retransmission (nothing
            # listened for the first one): SIPp keys the code shown.
            sipp = subprocess.Popen(
                ["sipp", "-sf", info_scenario(code, self.tmp), "-i", "127.0.0.1",
                 "-p", str(sipp_port), "-t", "u1", "-m", "1", "-nostdin", "-timeout", "60s",
                 "-timeout_error", "-set", "phone", "keys"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # Typing the shown code back proves nothing about the phone.
            status, body, _ = call(port, "POST", "/api/v1/me/endpoint/verify",
                                   {"code": code}, headers)
            self.assertEqual(status, 409, body)
            deadline = time.monotonic() + 40
            seen = []
            while time.monotonic() < deadline:
                status, body, _ = call(port, "GET", "/api/v1/me/endpoint", None, headers)
                self.assertEqual(status, 200, body)
                seen.append(body.get("call", {}).get("state"))
                if body["verified"] or body.get("call", {}).get("state") == "failed":
                    break
                time.sleep(0.2)
            self.assertTrue(body["verified"], (body, seen))
            self.assertEqual(body["call"]["state"], "verified")
            self.assertEqual(sipp.wait(timeout=30), 0)
        finally:
            if sipp and sipp.poll() is None:
                sipp.kill()
                sipp.wait()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        log = "".join(lines) + proc.stdout.read() + proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        self.assertNotIn("7700900", log)
        self.assertNotIn(code, log)
        run("audit", "verify", "--data-dir", self.data, check=0)


if __name__ == "__main__":
    unittest.main()
