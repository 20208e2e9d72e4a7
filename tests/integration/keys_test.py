"""Key rotation while serve runs (issue 19): `keys rotate` adds an active key,
serve takes it on its own within a second (or at once on SIGHUP), `keys
reseal` seals every value again under it while serve writes, `keys retire`
removes the old key only once nothing uses it; every value still opens
(checked here with libsodium directly) and the raw database holds no value
under the old key."""
import ctypes
import ctypes.util
import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
import unittest

from harness import BIN, DataDirTest, run
from serve_test import browser_session, call

# Every sealed column: table, key-id column, value column, associated data
# (a fixed purpose, or None where the row's `kind` is it).
SEALED = [
    ("contact_points", "key_id", "sealed", None),
    ("accounts", "totp_key_id", "totp_secret", "totp"),
    ("account_links", "address_key_id", "address_sealed", "account-address"),
    ("account_addresses", "key_id", "sealed", "account-address"),
    ("account_mail", "key_id", "sealed", "account-mail"),
    ("caller_endpoints", "key_id", "sealed", "caller-endpoint"),
    ("sip_legs", "key_id", "sealed", "sip-leg"),
    ("export_canaries", "key_id", "sealed", "export-canary"),
]


class Served:
    """`switchboard serve` with its log read as it comes (a full pipe would
    stall the server)."""

    def __init__(self, data, *extra):
        self.proc = subprocess.Popen([BIN, "serve", "--data-dir", data, "--port", "0", *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.log = []
        self.lock = threading.Lock()
        threading.Thread(target=self.drain, daemon=True).start()
        for line in self.proc.stdout:
            m = re.search(r"serving on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                threading.Thread(target=lambda: self.proc.stdout.read(), daemon=True).start()
                return
        raise AssertionError("serve did not start: " + "".join(self.log))

    def drain(self):
        for line in self.proc.stderr:
            with self.lock:
                self.log.append(line)

    def wait_for_log(self, text, count=1, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if sum(text in line for line in self.log) >= count:
                    return
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} in serve's log")

    def wait_for_log_after(self, first, then, timeout=30):
        """Waits for a line holding `then` later than the first holding `first`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                at = next((i for i, line in enumerate(self.log) if first in line), None)
                if at is not None and any(then in line for line in self.log[at + 1:]):
                    return
            time.sleep(0.05)
        raise AssertionError(f"no {then!r} after {first!r} in serve's log")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


def keyring(path):
    """{id: key bytes} and the active id, read from the keyring file."""
    keys, active = {}, None
    with open(path, encoding="ascii") as f:
        for line in f:
            parts = line.split()
            if parts[:1] == ["enc"]:
                keys[int(parts[1])] = bytes.fromhex(parts[2])
            elif parts[:1] == ["active"]:
                active = int(parts[1])
    return keys, active


def opener():
    """libsodium's XChaCha20-Poly1305 decryption, called directly."""
    lib = ctypes.CDLL(ctypes.util.find_library("sodium"))
    assert lib.sodium_init() >= 0

    def open_(key, sealed, ad):
        nonce, ct = sealed[:24], sealed[24:]
        out = ctypes.create_string_buffer(len(ct))
        outlen = ctypes.c_ulonglong(0)
        rc = lib.crypto_aead_xchacha20poly1305_ietf_decrypt(
            out, ctypes.byref(outlen), None, ct, ctypes.c_ulonglong(len(ct)), ad,
            ctypes.c_ulonglong(len(ad)), nonce, key)
        return out.raw[:outlen.value] if rc == 0 else None
    return open_


class KeysTest(DataDirTest):
    def caller(self, port, login, password):
        cookie, csrf, _ = browser_session(port, login, password)
        return dict(cookie, **{"X-CSRF-Token": csrf, "Origin": f"http://127.0.0.1:{port}"})

    def set_phone(self, port, headers, phone):
        status, body, _ = call(port, "POST", "/api/v1/me/endpoint", {"phone": phone}, headers)
        self.assertEqual(status, 201, body)

    def endpoint_keys(self, data):
        db = sqlite3.connect(os.path.join(data, "switchboard.db"), timeout=30)
        try:
            return sorted(r[0] for r in db.execute("SELECT key_id FROM caller_endpoints"))
        finally:
            db.close()

    def test_rotate_reload_reseal_retire_while_serving(self):
        demo = os.path.join(self.tmp, "demo")
        out = run("demo", "--data-dir", demo, "--count", "200", "--no-serve", check=0).stdout
        volunteer = re.search(r"volunteer: login (\S+)\s+password (\S+)", out)
        organiser = re.search(r"organiser: login (\S+)\s+password (\S+)", out)
        self.assertTrue(volunteer and organiser, out)
        ring_path = os.path.join(demo, "keys", "keyring")
        serve = Served(demo)
        try:
            v = self.caller(serve.port, volunteer.group(1), volunteer.group(2))
            o = self.caller(serve.port, organiser.group(1), organiser.group(2))
            self.set_phone(serve.port, v, "07700 900555")
            self.assertEqual(self.endpoint_keys(demo), [1])

            p = run("keys", "rotate", "--data-dir", demo)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("key 2 is now the active key", p.stdout)
            self.assertEqual(keyring(ring_path)[1], 2)
            self.assertEqual(os.stat(ring_path).st_mode & 0o777, 0o600)
            self.assertFalse(os.path.exists(ring_path + ".new"))

            # Serve notices the replaced keyring file by itself (no SIGHUP)
            # and seals with the new key from then on.
            serve.wait_for_log("keyring reloaded")
            self.assertFalse(any("reload requested (SIGHUP)" in line for line in serve.log))
            self.set_phone(serve.port, o, "07700 900556")
            self.set_phone(serve.port, v, "07700 900557")
            self.assertEqual(self.endpoint_keys(demo), [2, 2])

            p = run("keys", "retire", "1", "--data-dir", demo)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertRegex(p.stderr, r"\d+ sealed values still use key 1; run `switchboard "
                                       r"keys reseal` first")

            # Re-sealing in batches while serve keeps sealing values.
            stop = threading.Event()
            writes = []

            def keep_writing():
                n = 0
                while not stop.is_set():
                    status, _, _ = call(serve.port, "POST", "/api/v1/me/endpoint",
                                        {"phone": f"07700 900{600 + n % 300}"}, o)
                    writes.append(status)
                    n += 1
            writer = threading.Thread(target=keep_writing)
            writer.start()
            try:
                p = run("keys", "reseal", "--batch", "50", "--data-dir", demo)
            finally:
                stop.set()
                writer.join()
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertGreater(len(writes), 0)
            self.assertEqual(set(writes), {201})
            m = re.search(r"members: (\d+) values re-sealed under key 2", p.stdout)
            self.assertTrue(m, p.stdout)
            self.assertGreaterEqual(int(m.group(1)), 200)
            self.assertIn("key 1: 0 values still use it", p.stdout)

            p = run("keys", "retire", "1", "--data-dir", demo)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertEqual(sorted(keyring(ring_path)[0]), [2])
            # SIGHUP (`systemctl reload`) reads it again at once, too.
            serve.proc.send_signal(signal.SIGHUP)
            serve.wait_for_log("reload requested (SIGHUP)")
            serve.wait_for_log_after("reload requested (SIGHUP)", "keyring reloaded")
            # Serve still opens what it holds: the volunteer is handed a contact.
            status, body, _ = call(serve.port, "GET", "/api/v1/campaigns", headers=v)
            campaign = body["campaigns"][0]["id"]
            status, body, _ = call(serve.port, "POST", f"/api/v1/campaigns/{campaign}/next",
                                   None, v)
            self.assertEqual(status, 200, body)
        finally:
            self.assertEqual(serve.stop(), 0)

        keys, active = keyring(ring_path)
        self.assertEqual(active, 2)
        open_ = opener()
        db = sqlite3.connect(os.path.join(demo, "switchboard.db"))
        opened = 0
        for table, key_col, value_col, purpose in SEALED:
            old = db.execute(f"SELECT COUNT(*) FROM {table} WHERE {key_col} = 1").fetchone()[0]
            self.assertEqual(old, 0, table)
            kind = "kind" if purpose is None else "''"
            for key_id, value, k in db.execute(
                    f"SELECT {key_col}, {value_col}, {kind} FROM {table} "
                    f"WHERE {key_col} IS NOT NULL"):
                if not value:
                    continue  # emptied after use
                ad = (k if purpose is None else purpose).encode()
                self.assertIsNotNone(open_(keys[key_id], bytes(value), ad), table)
                opened += 1
        events = db.execute("SELECT action, rule FROM audit_events WHERE action LIKE 'keys.%' "
                            "ORDER BY seq").fetchall()
        db.close()
        self.assertGreater(opened, 400)
        self.assertEqual(events[0], ("keys.rotate", "key:2"))
        self.assertEqual(events[-1], ("keys.retire", "key:1"))
        for action, rule in events[1:-1]:
            self.assertEqual(action, "keys.reseal")
            self.assertRegex(rule, r"^(members|access|phonebank|privacy):\d+:key:2$")
        p = run("keys", "list", "--data-dir", demo)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"^key 2 \(active\): \d+ sealed values\n$")
        self.assertEqual(run("audit", "verify", "--data-dir", demo).returncode, 0)


if __name__ == "__main__":
    unittest.main()
