"""C2SP signed notes (c2sp.org/signed-note) holding tlog checkpoints
(c2sp.org/tlog-checkpoint), written here from the specifications, independently
of the C++ code, and the checkpoint log files that hold them (docs/security.md).
Parsing only; signatures are checked with PyNaCl in checkpoint_note_test.py."""
import base64
import hashlib

DASH = "\u2014 "  # a signature line starts with an em dash and a space


def b64(data):
    return base64.b64encode(data).decode()


def unb64(text):
    return base64.b64decode(text.encode(), validate=True)


def key_hash(name, typed_key):
    """The 4-byte key hash: SHA-256(name || 0x0A || type || key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + typed_key).digest()[:4]


def parse_vkey(vkey):
    """name+hex(hash)+base64(type || key) -> (name, hash, Ed25519 public key)."""
    name, hexhash, keyb64 = vkey.split("+", 2)
    typed = unb64(keyb64)
    if typed[0] != 0x01 or len(typed) != 33:
        raise ValueError("not an Ed25519 verifier key")
    if key_hash(name, typed).hex() != hexhash:
        raise ValueError("the key hash does not match the key")
    return name, bytes.fromhex(hexhash), typed[1:]


def split_note(note):
    """(text, [(name, key hash, signature)]) of a signed note."""
    if not note.endswith("\n"):
        raise ValueError("a note ends with a newline")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise ValueError("no blank line before the signatures")
    text, sigs = note[:cut + 1], note[cut + 2:]
    out = []
    for line in sigs.splitlines():
        if not line.startswith(DASH):
            raise ValueError("a signature line must start with an em dash")
        name, sig = line[len(DASH):].split(" ")
        raw = unb64(sig)
        out.append((name, raw[:4], raw[4:]))
    if not out:
        raise ValueError("no signature")
    return text, out


def parse_checkpoint(text):
    """origin, tree size, root (bytes), extension lines of a checkpoint body."""
    lines = text.split("\n")
    if lines[-1] != "" or len(lines) < 4:
        raise ValueError("a checkpoint has origin, size and root lines")
    origin, size, root = lines[0], lines[1], lines[2]
    if not origin or " " in origin or "+" in origin:
        raise ValueError("bad origin")
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise ValueError("the size is a decimal without leading zeroes")
    rootb = unb64(root)
    if len(rootb) != 32:
        raise ValueError("the root is 32 bytes")
    extensions = lines[3:-1]
    if any(not e for e in extensions):
        raise ValueError("empty extension line")
    return origin, int(size), rootb, extensions


def entries(path_or_text, is_text=False):
    """The checkpoints of a checkpoint log file, in order: ("note", text) for
    signed notes, ("legacy", line) for one-line checkpoints from before them."""
    if is_text:
        content = path_or_text
    else:
        with open(path_or_text, encoding="utf-8") as f:
            content = f.read()
    lines = content.split("\n")
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.startswith("#"):
            i += 1
            continue
        if len(line.split()) == 6:
            out.append(("legacy", line))
            i += 1
            continue
        start = i
        while i < len(lines) and lines[i]:
            i += 1                       # the body
        i += 1                           # the blank line
        while i < len(lines) and lines[i].startswith(DASH):
            i += 1                       # the signatures
        out.append(("note", "\n".join(lines[start:i]) + "\n"))
    return out


def sizes(path):
    """The tree size of each checkpoint of a checkpoint log file."""
    out = []
    for kind, text in entries(path):
        out.append(int(text.split()[0]) if kind == "legacy" else
                   parse_checkpoint(split_note(text)[0])[1])
    return out
