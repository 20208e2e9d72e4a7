#!/usr/bin/python3
"""Verifies a message's first DKIM-Signature with python3-dkim (dkimpy), an
implementation independent of libopendkim. DNS is not asked: the one TXT
record the test published is answered from the command line.

usage: dkim_verify.py MESSAGE_FILE DNS_NAME TXT_RECORD
Prints the signature's tags as tag=value lines; exits 0 when it verifies,
1 when it does not.
"""

import sys

import dkim


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    with open(sys.argv[1], "rb") as f:
        message = f.read()
    name = sys.argv[2].rstrip(".").encode()
    txt = sys.argv[3].encode()

    def dnsfunc(qname, timeout=5):
        if isinstance(qname, str):
            qname = qname.encode()
        return txt if qname.rstrip(b".") == name else None

    verifier = dkim.DKIM(message)
    ok = verifier.verify(dnsfunc=dnsfunc)
    for tag, value in sorted((verifier.signature_fields or {}).items()):
        if tag != b"b":
            print(f"{tag.decode()}={b''.join(value.split()).decode()}")
    if not ok:
        print("dkim_verify: the signature does not verify", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
