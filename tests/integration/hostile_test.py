"""No request stops `switchboard serve`: every route, as every kind of caller,
is sent hostile bodies (nesting hundreds of thousands deep, duplicate keys,
numbers no integer holds, NUL, lone surrogates, bad UTF-8, wrong media types)
and the server must answer each with a 4xx and a stable error code, then
still answer /healthz. Before the JSON limits, one volunteer's outcome with
answers nested 70,000 deep killed the process (issue 13)."""
import http.client
import json
import os
import re
import signal
import subprocess
import shutil
import tempfile
import threading
import unittest

from harness import BIN, run

def deep(open_, close, inner="1", depth=300_000):
    return open_ * depth + inner + close * depth


def hostile_bodies():
    """(name, bytes, content-type, the error codes that are right for it). Each
    is under the 1 MiB body limit, so it reaches the JSON parser: 300,000
    arrays or 150,000 objects deep, where 70,000 once killed the server."""
    arrays = deep("[", "]")
    objects = deep('{"a":', "}", depth=150_000)
    json_ct = "application/json"
    return [
        ("deep arrays", arrays, json_ct, {"json_too_deep"}),
        ("deep objects", objects, json_ct, {"json_too_deep"}),
        ("deep survey answers",
         '{"outcome":"answered","answers":{"q1":' + arrays + "}}", json_ct, {"json_too_deep"}),
        ("deep audience", '{"scope":"E14000530","audience":' + objects + "}", json_ct,
         {"json_too_deep"}),
        ("deep in a string field", '{"reason":' + deep("[", "]", depth=40) + "}", json_ct,
         {"json_too_deep"}),
        ("duplicate keys", '{"outcome":"answered","outcome":"do_not_call","state":"live",'
         '"state":"killed","login":"a","login":"b"}', json_ct, {"json_duplicate_key"}),
        ("number too large", '{"max_joins":99999999999999999999999,"limit":1e400}', json_ct,
         {"json_number_out_of_range"}),
        ("negative number too large", '{"version":-1e300}', json_ct,
         {"json_number_out_of_range"}),
        ("NUL in a string", '{"reason":"a\\u0000b","login":"x\\u0000"}', json_ct,
         {"json_nul_character"}),
        ("lone surrogate", '{"reason":"\\ud800","name":"\\udc00x"}', json_ct, {"invalid_json"}),
        ("bad UTF-8", b'{"reason":"\xff\xfe"}', json_ct, {"invalid_json"}),
        ("raw NUL byte", b'{"reason":"a\x00b"}', json_ct, {"invalid_json"}),
        ("not JSON", "{\"outcome\": ", json_ct, {"invalid_json"}),
        ("trailing garbage", "{} {}", json_ct, {"invalid_json"}),
        ("JSON in UTF-16", '{"a":1}'.encode("utf-16"), "application/json; charset=utf-16",
         {"unsupported_media_type"}),
        ("a lookalike type", '{"a":1}', "application/jsonx", {"unsupported_media_type"}),
        ("a form", "login=a&password=b", "application/x-www-form-urlencoded",
         {"unsupported_media_type"}),
    ]


class Server:
    def __init__(self, tmp):
        # The log (one line per request) goes to a file: a pipe nobody reads
        # would fill and stall the server.
        self.log_path = os.path.join(tmp, "serve.log")
        self.log = open(self.log_path, "w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [BIN, "demo", "--data-dir", os.path.join(tmp, "demo"), "--count", "2000", "--port",
             "0"], stdout=subprocess.PIPE, stderr=self.log, text=True)
        text = ""
        for line in self.proc.stdout:
            text += line
            m = re.search(r"serving on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        else:
            raise AssertionError("server did not start: " + text)
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        self.logins = {who: (login, password) for who, login, password in re.findall(
            r"(volunteer|organiser): login (\S+)\s+password (\S+)", text)}

    def request(self, method, path, body=b"", headers=None):
        if isinstance(body, str):
            body = body.encode()
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, data, dict(r.getheaders())
        finally:
            c.close()

    def token(self, who):
        login, password = self.logins[who]
        status, data, _ = self.request(
            "POST", "/api/v1/session",
            json.dumps({"login": login, "password": password, "client": "api"}),
            {"Content-Type": "application/json"})
        assert status == 201, data
        return json.loads(data)["token"]

    def alive(self):
        if self.proc.poll() is not None:
            return False
        status, data, _ = self.request("GET", "/healthz")
        return status == 200 and json.loads(data) == {"status": "ok"}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        self.log.close()
        return self.proc.returncode


class HostileBodiesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sb-hostile-")
        cls.server = Server(cls.tmp)
        cls.routes = json.loads(run("api", "routes", "--json", check=0).stdout)
        cls.tokens = {who: cls.server.token(who) for who in ("volunteer", "organiser")}
        auth = {"Authorization": "Bearer " + cls.tokens["volunteer"]}
        status, data, _ = cls.server.request("GET", "/api/v1/campaigns", headers=auth)
        assert status == 200, data
        cls.campaign = json.loads(data)["campaigns"][0]["id"]
        # The volunteer holds a lease, so the outcome route is live.
        status, data, _ = cls.server.request(
            "POST", f"/api/v1/campaigns/{cls.campaign}/next", headers=auth)
        assert status == 200, data

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert code == 0, f"serve exited {code}"

    def path_for(self, pattern):
        path = pattern.replace("{id}", str(self.campaign)).replace("{token}", "not-a-token")
        return path.replace("{invite}", "1")

    def targets(self):
        """Every route of the API that takes a body, plus the member pages."""
        out = [(r["method"], r["path"]) for r in self.routes
               if r["method"] in ("POST", "PATCH", "PUT", "DELETE")]
        self.assertGreater(len(out), 25)
        return out

    def test_every_route_refuses_every_hostile_body_and_the_server_lives(self):
        bodies = hostile_bodies()
        for who in ("volunteer", "organiser", None):
            for method, pattern in self.targets():
                for name, body, ctype, codes in bodies:
                    headers = {"Content-Type": ctype}
                    if who:
                        headers["Authorization"] = "Bearer " + self.tokens[who]
                    with self.subTest(who=who, route=f"{method} {pattern}", body=name):
                        status, data, _ = self.server.request(
                            method, self.path_for(pattern), body, headers)
                        self.assertIn(status, (400, 415), data[:300])
                        code = json.loads(data)["error"]["code"]
                        self.assertIn(code, codes, data[:300])
            self.assertTrue(self.server.alive(), f"serve died during {who}'s requests")

    def test_extreme_values_within_json_get_answers_not_crashes(self):
        """Valid JSON with values at the edges: the largest and smallest
        integers, wrong types, long strings, offsets of centuries."""
        big, small = 2**63 - 1, -2**63
        values = [big, small, -1, 0, 1.5e18, "", "x" * 30_000, [], {}, None, True,
                  "+9999999999d", "9999-12-31T23:59:59Z", "0000-01-01"]
        fields = ["scope", "max_joins", "limit", "version", "ends_at", "starts_at", "state",
                  "outcome", "answers", "audience", "pace", "burst", "label", "reason",
                  "not_after", "not_before", "account", "role", "phone", "code", "subject",
                  "text_body", "html_body", "kind", "from", "name", "login", "password"]
        # Signing out would end the session the rest of the loop uses.
        sign_out = {("DELETE", "/api/v1/session"), ("POST", "/api/v1/session/sign-out-everywhere")}
        for who in ("organiser", "volunteer"):
            headers = {"Content-Type": "application/json",
                       "Authorization": "Bearer " + self.server.token(who)}
            for method, pattern in self.targets():
                if (method, pattern) in sign_out:
                    continue
                for v in values:
                    body = json.dumps({f: v for f in fields})
                    with self.subTest(who=who, route=f"{method} {pattern}", value=str(v)[:20]):
                        status, data, _ = self.server.request(
                            method, self.path_for(pattern), body, headers)
                        self.assertLess(status, 500, data[:300])
            self.assertTrue(self.server.alive(), f"serve died during {who}'s requests")

    def test_member_pages_take_hostile_forms(self):
        for path in ("/u/not-a-token", "/preferences/not-a-token"):
            for body in (deep("[", "]"), "a=" + "%" * 1000, "&" * 100_000, "x=\x00\xff"):
                status, _, _ = self.server.request(
                    "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})
                self.assertLess(status, 500, path)
        self.assertTrue(self.server.alive())

    def test_next_refuses_a_body_that_is_not_json(self):
        auth = {"Authorization": "Bearer " + self.tokens["volunteer"],
                "Content-Type": "application/json"}
        status, data, _ = self.server.request(
            "POST", f"/api/v1/campaigns/{self.campaign}/next", "{not json", auth)
        self.assertEqual(status, 400, data)
        self.assertEqual(json.loads(data)["error"]["code"], "invalid_json")

    def test_media_types_are_read_as_rfc_9110_says(self):
        """Sign-in reads its body before anything else: a JSON type gets past
        the media-type check (to a refusal of the password), any other is 415."""
        body = json.dumps({"login": "nobody", "password": "not the password"})
        for ctype, json_ok in (("APPLICATION/JSON", True), ("application/json; charset=UTF-8", True),
                               ("application/json;charset=\"utf-8\"", True),
                               ("application/jsonx", False),
                               ("application/json; charset=utf-16", False),
                               ("text/json", False)):
            status, data, _ = self.server.request("POST", "/api/v1/session", body,
                                                  {"Content-Type": ctype})
            code = json.loads(data)["error"]["code"]
            if json_ok:
                self.assertIn(code, ("invalid_credentials", "too_many_attempts"), ctype)
            else:
                self.assertEqual((status, code), (415, "unsupported_media_type"), ctype)

if __name__ == "__main__":
    unittest.main()
