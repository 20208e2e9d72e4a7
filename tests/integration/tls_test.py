"""`serve` terminating TLS itself ([server] tls_cert, tls_key): real TLS
connections on loopback, verified against a throwaway CA made here with the
openssl command (no key is ever committed); certificate reload on SIGHUP; a
bad certificate at start or at reload; clients that speak plain HTTP, TLS
1.1, garbage or nothing at all."""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from harness import BIN, run


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class Pki:
    """A root CA, an intermediate under it, and server certificates for
    localhost and 127.0.0.1 issued by the intermediate."""

    def __init__(self, directory):
        self.dir = directory
        ca_ext = os.path.join(directory, "ca.ext")
        with open(ca_ext, "w") as f:
            f.write("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "root.key", "-out", "root.pem", "-days", "2",
                "-subj", "/CN=Switchboard test root", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "inter.key", "-out", "inter.csr", "-subj", "/CN=Switchboard test issuer",
                cwd=directory)
        openssl("x509", "-req", "-in", "inter.csr", "-CA", "root.pem", "-CAkey", "root.key",
                "-set_serial", "0x77", "-days", "2", "-extfile", "ca.ext", "-out", "inter.pem",
                cwd=directory)
        self.root = os.path.join(directory, "root.pem")

    def server(self, name, serial, key_type="ec"):
        """Writes <name>.pem (leaf, then the intermediate) and <name>.key."""
        newkey = (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if key_type == "ec"
                  else ["-newkey", "rsa:2048"])
        ext = os.path.join(self.dir, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        openssl("req", "-new", *newkey, "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
                "-subj", "/CN=localhost", cwd=self.dir)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "inter.pem", "-CAkey", "inter.key",
                "-set_serial", hex(serial), "-days", "2", "-extfile", ext,
                "-out", name + ".leaf.pem", cwd=self.dir)
        with open(os.path.join(self.dir, name + ".pem"), "w") as out:
            for part in (name + ".leaf.pem", "inter.pem"):
                with open(os.path.join(self.dir, part)) as f:
                    out.write(f.read())
        return os.path.join(self.dir, name + ".pem"), os.path.join(self.dir, name + ".key")


def install(src, dst):
    """Replaces dst as certbot does: a new file moved over the old."""
    shutil.copyfile(src, dst + ".new")
    os.replace(dst + ".new", dst)


def set_server_options(data_dir, **values):
    path = os.path.join(data_dir, "switchboard.toml")
    with open(path) as f:
        text = f.read()
    for key, value in values.items():
        text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {json.dumps(value)}", text)
        assert n == 1, key
    with open(path, "w") as f:
        f.write(text)


class Server:
    """`switchboard serve`, its stderr log collected as it comes."""

    def __init__(self, data_dir):
        self.proc = subprocess.Popen([BIN, "serve", "--data-dir", data_dir, "--port", "0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.log = []
        self.cv = threading.Condition()
        self.reader = threading.Thread(target=self._collect, daemon=True)
        self.reader.start()
        out = []
        for line in self.proc.stdout:
            out.append(line)
            m = re.search(r"serving on https://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                return
        self.proc.wait(timeout=30)
        self.reader.join(timeout=60)
        raise AssertionError("serve did not start: " + "".join(out) + self.log_text())

    def _collect(self):
        for line in self.proc.stderr:
            with self.cv:
                self.log.append(line)
                self.cv.notify_all()

    def log_text(self):
        with self.cv:
            return "".join(self.log)

    def wait_for_log(self, pattern, after):
        """The first log line from index `after` on matching `pattern`."""
        deadline = time.monotonic() + 60
        with self.cv:
            while True:
                for line in self.log[after:]:
                    if re.search(pattern, line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError(f"no log line {pattern!r}:\n" + "".join(self.log))
                self.cv.wait(left)

    def mark(self):
        with self.cv:
            return len(self.log)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.reader.join(timeout=60)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code


def client_context(root):
    ctx = ssl.create_default_context(cafile=root)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    return ctx


def peer_serial(conn):
    return int(conn.sock.getpeercert()["serialNumber"], 16)


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sb-tls-")
        cls.pki = Pki(cls.tmp)
        cls.first = cls.pki.server("first", 0x1001)
        cls.second = cls.pki.server("second", 0x2002, key_type="rsa")
        # A demo data directory (synthetic members, a volunteer who can sign in).
        cls.data = os.path.join(cls.tmp, "demo")
        p = run("demo", "--data-dir", cls.data, "--count", "1000", "--no-serve", check=0)
        m = re.search(r"volunteer: login (\S+)\s+password (\S+)", p.stdout)
        assert m, p.stdout
        cls.volunteer = (m.group(1), m.group(2))
        # The files serve reads, under the data directory (relative paths).
        os.makedirs(os.path.join(cls.data, "tls"))
        cls.cert = os.path.join(cls.data, "tls", "cert.pem")
        cls.key = os.path.join(cls.data, "tls", "key.pem")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        install(self.first[0], self.cert)
        install(self.first[1], self.key)
        set_server_options(self.data, tls_cert="tls/cert.pem", tls_key="tls/key.pem",
                           tls_min_version="1.2", request_timeout_seconds=2)
        self.server = None

    def tearDown(self):
        if self.server:
            self.assertEqual(self.server.stop(), 0)

    def start(self):
        self.server = Server(self.data)
        return self.server.port

    def connect(self, port, host="localhost"):
        conn = http.client.HTTPSConnection(host, port, timeout=30,
                                           context=client_context(self.pki.root))
        conn.connect()
        return conn

    def request(self, conn, method, path, body=None, headers=None):
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        return r.status, r.getheaders(), json.loads(r.read() or b"null")

    def test_requests_over_tls_verified_against_the_ca(self):
        port = self.start()
        conn = self.connect(port)
        self.assertEqual(conn.sock.selected_alpn_protocol(), "http/1.1")
        self.assertIn(conn.sock.version(), ("TLSv1.2", "TLSv1.3"))
        self.assertEqual(peer_serial(conn), 0x1001)
        status, headers, body = self.request(conn, "GET", "/healthz")
        self.assertEqual((status, body), (200, {"status": "ok"}))
        self.assertEqual(dict(headers)["Strict-Transport-Security"], "max-age=31536000")
        # A browser session: its cookie is Secure, and an authenticated GET works.
        status, headers, body = self.request(
            conn, "POST", "/api/v1/session",
            {"login": self.volunteer[0], "password": self.volunteer[1], "client": "browser"})
        self.assertEqual(status, 201, body)
        cookie = dict(headers)["Set-Cookie"]
        self.assertIn("; Secure", cookie)
        status, _, body = self.request(conn, "GET", "/api/v1/campaigns",
                                       headers={"Cookie": cookie.split(";")[0]})
        self.assertEqual(status, 200, body)
        self.assertTrue(body["campaigns"])
        conn.close()
        # TLS 1.2 with the modern suites only: ECDHE and AEAD.
        ctx = client_context(self.pki.root)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                self.assertEqual(tls.version(), "TLSv1.2")
                name = tls.cipher()[0]
                self.assertTrue(name.startswith("ECDHE-"), name)
                self.assertRegex(name, r"GCM|CHACHA20")
        # curl, verifying the chain and the name 127.0.0.1 against the same root.
        p = subprocess.run(["curl", "-sS", "--cacert", self.pki.root, "-o", "-", "-w",
                            "\n%{http_code} %{http_version}",
                            f"https://127.0.0.1:{port}/readyz"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.endswith("\n200 1.1"), p.stdout)
        # A client that does not trust the root refuses the server.
        with self.assertRaises(ssl.SSLCertVerificationError):
            with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
                ssl.create_default_context().wrap_socket(raw, server_hostname="localhost")

    def test_plaintext_and_old_tls_are_refused(self):
        port = self.start()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            got = b""
            while chunk := s.recv(4096):
                got += chunk
        self.assertNotIn(b"HTTP/1.1", got)
        self.assertNotIn(b"status", got)
        # TLS 1.1 offered for real (the client's own floor lowered): the server
        # answers with a protocol_version alert.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(self.pki.root)
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
            with self.assertRaisesRegex(ssl.SSLError, "ALERT_PROTOCOL_VERSION"):
                ctx.wrap_socket(raw, server_hostname="localhost")
        # The server still serves.
        conn = self.connect(port)
        self.assertEqual(self.request(conn, "GET", "/healthz")[0], 200)
        conn.close()

    def test_minimum_version_1_3(self):
        set_server_options(self.data, tls_min_version="1.3")
        port = self.start()
        ctx = client_context(self.pki.root)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
            with self.assertRaisesRegex(ssl.SSLError, "ALERT_PROTOCOL_VERSION"):
                ctx.wrap_socket(raw, server_hostname="localhost")
        conn = self.connect(port)
        self.assertEqual(conn.sock.version(), "TLSv1.3")
        self.assertEqual(self.request(conn, "GET", "/healthz")[0], 200)
        conn.close()

    def test_sighup_reloads_the_certificate_and_refuses_a_bad_one(self):
        port = self.start()
        kept = self.connect(port)  # keep-alive across the reloads
        self.assertEqual(self.request(kept, "GET", "/healthz")[0], 200)
        self.assertEqual(peer_serial(kept), 0x1001)

        # Renewed: new connections get the new certificate (RSA this time).
        install(self.second[0], self.cert)
        install(self.second[1], self.key)
        mark = self.server.mark()
        self.server.proc.send_signal(signal.SIGHUP)
        line = self.server.wait_for_log(r"TLS certificate loaded", mark)
        self.assertIn("20:02", line)
        fresh = self.connect(port)
        self.assertEqual(peer_serial(fresh), 0x2002)
        self.assertEqual(self.request(fresh, "GET", "/healthz")[0], 200)
        fresh.close()
        self.assertEqual(self.request(kept, "GET", "/healthz")[0], 200)
        self.assertEqual(peer_serial(kept), 0x1001)

        # Broken files: each refused with a reason naming the file; the
        # certificate loaded before is still served.
        broken = os.path.join(self.tmp, "broken.pem")
        with open(broken, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
        cases = [
            (broken, self.second[1], r"TLS reload refused.*certificate .*cert\.pem"),
            # A valid certificate with a key that is not its own.
            (self.first[0], self.second[1], r"TLS reload refused.*key\.pem does not belong"),
        ]
        for cert, key, why in cases:
            install(cert, self.cert)
            install(key, self.key)
            mark = self.server.mark()
            self.server.proc.send_signal(signal.SIGHUP)
            self.server.wait_for_log(why, mark)
            conn = self.connect(port)
            self.assertEqual(peer_serial(conn), 0x2002)
            self.assertEqual(self.request(conn, "GET", "/healthz")[0], 200)
            conn.close()
        # A missing file: the same.
        os.remove(self.cert)
        mark = self.server.mark()
        self.server.proc.send_signal(signal.SIGHUP)
        self.server.wait_for_log(r"TLS reload refused.*cannot read the TLS certificate", mark)
        conn = self.connect(port)
        self.assertEqual(peer_serial(conn), 0x2002)
        conn.close()
        self.assertEqual(self.request(kept, "GET", "/healthz")[0], 200)
        kept.close()
        self.assertIsNone(self.server.proc.poll())

    def test_a_bad_certificate_at_start_stops_serve_naming_the_file(self):
        garbage = os.path.join(self.data, "tls", "garbage.pem")
        with open(garbage, "w") as f:
            f.write("this is not a certificate\n")
        cases = [
            ({"tls_cert": "tls/missing.pem"}, "cannot read the TLS certificate",
             "tls/missing.pem"),
            ({"tls_cert": "tls/garbage.pem"}, "is not a PEM certificate chain", "garbage.pem"),
            ({"tls_key": "tls/garbage.pem"}, "is not a PEM private key", "garbage.pem"),
            ({"tls_key": os.path.relpath(self.second[1], self.data)}, "does not belong",
             "second.key"),
            ({"tls_key": ""}, "tls_cert and tls_key go together", "switchboard.toml"),
            ({"tls_min_version": "1.1"}, "tls_min_version must be", "switchboard.toml"),
        ]
        for options, message, file in cases:
            with self.subTest(options=options):
                set_server_options(self.data, **{"tls_cert": "tls/cert.pem",
                                                 "tls_key": "tls/key.pem",
                                                 "tls_min_version": "1.2", **options})
                p = run("serve", "--data-dir", self.data, "--port", "0", timeout=120)
                self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                self.assertIn(message, p.stderr)
                self.assertIn(file, p.stderr)
                self.assertNotIn("serving on", p.stdout)

    def test_garbage_and_silence_do_not_stop_the_server(self):
        port = self.start()
        hello_header = bytes([0x16, 0x03, 0x01, 0x40, 0x00])  # a handshake record, 16 KiB long
        payloads = [
            os.urandom(517),
            b"\x16\x03\x01\x00\x05" + os.urandom(5),  # a record too short for a ClientHello
            hello_header + b"\x01\xff\xff\xff" + os.urandom(200),  # an absurd hello length
            b"\x16\x03\x03" + b"\xff" * 64,
            b"\x80" * 300,  # an SSLv2-style header
        ]
        for i in range(50):
            payloads.append(os.urandom(1 + i * 37))
        for data in payloads:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                try:
                    s.sendall(data)
                    s.shutdown(socket.SHUT_WR)
                    while s.recv(4096):
                        pass
                except (ConnectionResetError, BrokenPipeError):
                    pass
        # A client that connects and says nothing is disconnected at the
        # request deadline (2 s here), as over plain HTTP.
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            self.assertEqual(s.recv(4096), b"")
        # And the server serves, and counted what it refused.
        conn = self.connect(port)
        status, _, _ = self.request(conn, "GET", "/healthz")
        self.assertEqual(status, 200)
        conn.request("GET", "/metrics")
        metrics = conn.getresponse().read().decode()
        conn.close()
        failed = int(re.search(r'switchboard_tls_handshakes_total\{result="failed"\} (\d+)',
                               metrics).group(1))
        self.assertGreaterEqual(failed, len(payloads) + 1)
        self.assertIsNone(self.server.proc.poll())


if __name__ == "__main__":
    unittest.main()
