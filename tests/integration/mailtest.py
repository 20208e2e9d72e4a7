"""Helpers for the e-mail tests: a real SMTP server on loopback (aiosmtpd,
tests/mail/smtp_sink.py), a DKIM key pair, and a data directory whose
[mail] section points at both. Run under Debian's /usr/bin/python3, which
has python3-aiosmtpd and python3-dkim."""
import email
import email.policy
import glob
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

from harness import BIN

HERE = os.path.dirname(os.path.abspath(__file__))
SINK = os.path.join(HERE, "..", "mail", "smtp_sink.py")


class Sink:
    """aiosmtpd on 127.0.0.1; every message it accepts is a file in `directory`."""

    def __init__(self, directory, *extra):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.proc = subprocess.Popen(["/usr/bin/python3", SINK, directory, *extra],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            raise AssertionError("smtp_sink did not start: " + line)
        self.port = int(line)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)

    def count(self):
        return len(glob.glob(os.path.join(self.directory, "msg-*.json")))

    def messages(self):
        """[(envelope, email.message.EmailMessage, raw bytes)] in arrival order."""
        out = []
        for meta in sorted(glob.glob(os.path.join(self.directory, "msg-*.json"))):
            with open(meta, encoding="utf-8") as f:
                env = json.load(f)
            with open(meta[:-5] + ".eml", "rb") as f:
                raw = f.read()
            out.append((env, email.message_from_bytes(raw, policy=email.policy.default), raw))
        return out


def make_dkim_key(directory):
    """A fresh 2048-bit RSA key: (private key path, public key base64 for the TXT record)."""
    key = os.path.join(directory, "dkim.key")
    subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True, capture_output=True)
    os.chmod(key, 0o600)
    pub = subprocess.run(["openssl", "rsa", "-in", key, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    import base64
    return key, base64.b64encode(pub).decode()


def dkim_verify(raw, domain, selector, pub_b64):
    """Verifies with the independent python3-dkim, answering its DNS query ourselves."""
    import dkim
    record = f"v=DKIM1; k=rsa; p={pub_b64}".encode()

    def dnsfunc(name, timeout=5):
        want = f"{selector}._domainkey.{domain}."
        name = name.decode() if isinstance(name, bytes) else name
        return record if name.rstrip(".") == want.rstrip(".") else None

    return dkim.verify(raw, dnsfunc=dnsfunc)


def mail_config(port, key, public_base_url, workers=4):
    return f"""
[mail]
relay = "smtp://127.0.0.1:{port}"
tls = "none"
from_address = "members@example.org"
bounce_address = "bounces@example.org"
message_id_domain = "example.org"
public_base_url = "{public_base_url}"
dkim_domain = "example.org"
dkim_selector = "sb2026"
dkim_key_file = "{key}"
workers = {workers}
retry_seconds = 1
"""


def set_mail_config(data_dir, text):
    path = os.path.join(data_dir, "switchboard.toml")
    with open(path, encoding="utf-8") as f:
        cur = f.read()
    if "[mail]" in cur:
        cur = cur[:cur.index("[mail]")]
    with open(path, "w", encoding="utf-8") as f:
        f.write(cur + text)


class Api:
    """A bearer-token API client for one account."""

    def __init__(self, port, login, password, totp=None):
        self.base = f"http://127.0.0.1:{port}"
        body = {"login": login, "password": password, "client": "api"}
        if totp:
            body["totp"] = totp
        status, out = self.call("POST", "/api/v1/session", body, auth=False)
        if status != 201:
            raise AssertionError(f"sign-in of {login}: {status} {out}")
        self.token = out["token"]

    def call(self, method, path, body=None, auth=True):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if auth:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")


def wait_for(what, predicate, timeout=300, interval=0.2):
    """Polls `predicate` until it returns a true value (returned) or the deadline passes."""
    deadline = time.time() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def serve(data_dir):
    """Starts `switchboard serve`; its output is drained so logging never blocks it."""
    import threading
    from serve_test import start
    proc, port, lines = start(["serve", "--data-dir", data_dir, "--port", "0"])
    for stream in (proc.stdout, proc.stderr):
        threading.Thread(target=lambda s=stream: [None for _ in s], daemon=True).start()
    return proc, port
