#!/usr/bin/python3
"""Parses a message with Python's email module (policy=default, an
implementation independent of GMime) and prints what a mail client would see
as JSON:

  {"headers": [[name, decoded value], ...],   in order, RFC 2047 decoded
   "from": [[display name, address], ...], "to": ..., "sender": ..., "reply_to": ...,
   "defects": [...],                           parser complaints, all parts
   "parts": [{"content_type", "charset", "cte", "text"}, ...]}  leaf parts in order,
   "content_type": top-level type}

usage: inspect_message.py MESSAGE_FILE
"""

import email
import email.policy
import json
import sys


def mailboxes(msg, name):
    header = msg[name]
    if header is None:
        return None
    return [[a.display_name, a.addr_spec] for a in header.addresses]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1], "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    defects = [type(d).__name__ for d in msg.defects]
    parts = []
    for part in msg.walk():
        defects += [type(d).__name__ for d in part.defects]
        if part.is_multipart():
            continue
        parts.append({
            "content_type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "cte": part.get("Content-Transfer-Encoding"),
            "text": part.get_content(),
        })
    out = {
        "headers": [[k, str(v)] for k, v in msg.items()],
        "from": mailboxes(msg, "From"),
        "to": mailboxes(msg, "To"),
        "sender": mailboxes(msg, "Sender"),
        "reply_to": mailboxes(msg, "Reply-To"),
        "defects": defects,
        "content_type": msg.get_content_type(),
        "parts": parts,
    }
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
