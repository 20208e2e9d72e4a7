"""Audit checkpoints checked by an independent verifier written from the C2SP
specifications (tlog.py; Ed25519 by PyNaCl, Debian's python3-nacl): those
printed by `audit checkpoint --note`, stored in the database and kept in the
checkpoint log verify against `audit key`; tampered ones do not. Run under
Debian's /usr/bin/python3."""
import hashlib
import json
import os
import sqlite3
import subprocess
import unittest

import nacl.exceptions
import nacl.signing

import tlog
from harness import BIN, DataDirTest

PASSWORD = "correct horse battery staple"


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(leaves):
    """RFC 6962 Merkle tree hash."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(merkle_root(leaves[:k]), merkle_root(leaves[k:]))


def verify(note, vkey):
    """The checkpoint (origin, size, root, extensions) if `note` carries a
    valid signature by `vkey` whose name is the checkpoint's origin; raises
    ValueError otherwise."""
    name, khash, public = tlog.parse_vkey(vkey)
    text, sigs = tlog.split_note(note)
    ok = False
    for sig_name, sig_hash, sig in sigs:
        if sig_name != name or sig_hash != khash:
            continue
        try:
            nacl.signing.VerifyKey(public).verify(text.encode(), sig)
            ok = True
        except nacl.exceptions.BadSignatureError as e:
            raise ValueError("bad signature") from e
    if not ok:
        raise ValueError("no signature by " + name)
    checkpoint = tlog.parse_checkpoint(text)
    if checkpoint[0] != name:
        raise ValueError("the origin is not the key's name")
    return checkpoint


class CheckpointNoteTest(DataDirTest):
    def cli(self, *args, check=0, stdin=None):
        p = subprocess.run([BIN, *args, "--data-dir", self.data], capture_output=True,
                           text=True, timeout=120, input=stdin)
        self.assertEqual(p.returncode, check, p.stdout + p.stderr)
        return p.stdout

    def sql(self, query, params=()):
        db = sqlite3.connect(os.path.join(self.data, "switchboard.db"))
        try:
            rows = db.execute(query, params).fetchall()
            db.commit()
            return rows
        finally:
            db.close()

    def setUp(self):
        super().setUp()
        self.init()
        self.cli("generate", "members", "--count", "20")
        self.cli("account", "add", "alice", "--name", "Test Person", "--password-stdin",
                 stdin=PASSWORD + "\n")
        self.vkey = self.cli("audit", "key").strip()

    def test_the_verifier_key_is_in_the_standard_form(self):
        name, khash, public = tlog.parse_vkey(self.vkey)
        info = json.loads(self.cli("audit", "key", "--json"))
        self.assertEqual(info["vkey"], self.vkey)
        self.assertEqual(info["name"], name)
        self.assertEqual(info["origin"], name)
        self.assertEqual(bytes.fromhex(info["public_key"]), public)
        self.assertEqual(tlog.key_hash(name, b"\x01" + public), khash)

    def test_notes_from_the_binary_verify_independently(self):
        note = self.cli("audit", "checkpoint", "--note")
        origin, size, root, extensions = verify(note, self.vkey)
        events = self.sql("SELECT body FROM audit_events ORDER BY seq")
        self.assertEqual(size, len(events))
        # The root is the RFC 6962 hash of the events, computed here.
        self.assertEqual(root, merkle_root([leaf_hash(b) for (b,) in events]))
        self.assertEqual([e.split(" ")[0] for e in extensions], ["time", "previous"])
        # In the database, whole, for every checkpoint.
        stored = self.sql("SELECT tree_size, note FROM audit_checkpoints WHERE format = 2 "
                          "ORDER BY tree_size")
        self.assertGreaterEqual(len(stored), 2)
        for tree_size, text in stored:
            self.assertEqual(verify(text, self.vkey)[1], tree_size)
        self.assertEqual(stored[-1][1], note)
        # In the checkpoint log outside it, the same notes.
        logged = tlog.entries(os.path.join(self.data, "audit-checkpoints.log"))
        self.assertEqual([t for _, t in logged], [t for _, t in stored])
        previous = 0
        for _, text in logged:
            _, size, _, ext = verify(text, self.vkey)
            self.assertEqual(ext[1], f"previous {previous}")
            previous = size

    def test_tampered_notes_are_rejected(self):
        note = self.cli("audit", "checkpoint", "--note")
        verify(note, self.vkey)
        lines = note.split("\n")

        def changed(i, new):
            out = list(lines)
            out[i] = new
            return "\n".join(out)

        size = int(lines[1])
        root = tlog.unb64(lines[2])
        sig = tlog.unb64(lines[6].split(" ")[2])
        forged_root = bytes([root[0] ^ 1]) + root[1:]
        forged_sig = sig[:10] + bytes([sig[10] ^ 1]) + sig[11:]
        tampered = {
            "size": changed(1, str(size + 1)),
            "root": changed(2, tlog.b64(forged_root)),
            "time": changed(3, lines[3] + "1"),
            "previous": changed(4, "previous 1"),
            "origin": changed(0, lines[0] + "x"),
            "signature": changed(6, lines[6].rsplit(" ", 1)[0] + " " + tlog.b64(forged_sig)),
            "key name": changed(6, tlog.DASH + "someone.else/audit " + lines[6].split(" ")[2]),
            "extension added": note.replace("\n\n", "\nextra line\n\n", 1),
        }
        for what, text in tampered.items():
            with self.assertRaises(ValueError, msg=what):
                verify(text, self.vkey)
        # Another deployment's key does not verify this log's notes.
        other = DataDirTest()
        other.setUp()
        try:
            run = subprocess.run([BIN, "init", "--data-dir", other.data], capture_output=True)
            self.assertEqual(run.returncode, 0)
            other_vkey = subprocess.run([BIN, "audit", "key", "--data-dir", other.data],
                                        capture_output=True, text=True).stdout.strip()
            with self.assertRaises(ValueError):
                verify(note, other_vkey)
        finally:
            other.tearDown()
        # A note altered in the database fails `audit verify`.
        self.sql("UPDATE audit_checkpoints SET note = ? WHERE tree_size = ?",
                 (tampered["time"], size))
        v = json.loads(self.cli("audit", "verify", "--json", check=3))
        self.assertFalse(v["ok"])
        self.assertIn("note", v["reason"])


if __name__ == "__main__":
    unittest.main()
