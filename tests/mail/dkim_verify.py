#!/usr/bin/python3
"""Verifies every DKIM-Signature of a message with python3-dkim (dkimpy), an
implementation independent of ours and of libopendkim. DNS is not asked: the
TXT records the test published are answered from the command line.

usage: dkim_verify.py MESSAGE_FILE DNS_NAME TXT_RECORD [DNS_NAME TXT_RECORD ...]
Prints the first signature's tags as tag=value lines, then signatures=N;
exits 0 when every signature verifies, 1 when one does not (or there is none).
"""

import sys

import dkim


def main():
    if len(sys.argv) < 4 or len(sys.argv) % 2 != 0:
        sys.exit(__doc__)
    with open(sys.argv[1], "rb") as f:
        message = f.read()
    records = {}
    for i in range(2, len(sys.argv), 2):
        records[sys.argv[i].rstrip(".").lower().encode()] = sys.argv[i + 1].encode()

    def dnsfunc(qname, timeout=5):
        if isinstance(qname, str):
            qname = qname.encode()
        return records.get(qname.rstrip(b".").lower())

    count = sum(1 for name, _ in dkim.DKIM(message).headers
                if name.lower() == b"dkim-signature")
    failed = []
    first_fields = None
    for idx in range(count):
        verifier = dkim.DKIM(message)
        if not verifier.verify(idx=idx, dnsfunc=dnsfunc):
            failed.append(idx)
        if idx == 0:
            first_fields = verifier.signature_fields or {}
    for tag, value in sorted((first_fields or {}).items()):
        if tag != b"b":
            print(f"{tag.decode()}={b''.join(value.split()).decode()}")
    print(f"signatures={count}")
    if count == 0 or failed:
        print(f"dkim_verify: signature(s) {failed or 'none'} do not verify", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
