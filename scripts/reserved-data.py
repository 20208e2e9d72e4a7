#!/usr/bin/env python3
"""Prints the files among its arguments that hold an e-mail address outside
the reserved example domains (example.org/.com/.net, .invalid, .test) and
documentation or loopback addresses or a
UK mobile number outside Ofcom's drama range 07700 900xxx. run-fuzz.sh keeps
no such input in fuzz/corpus/: the repository holds only reserved-range data."""
import re
import sys

EMAIL = re.compile(rb"[A-Za-z0-9._%+-]+@([A-Za-z0-9.-]+\.[A-Za-z0-9-]+)")
RESERVED = re.compile(rb"(.*\.)?example\.(org|com|net)|(.*\.)?invalid|(.*\.)?test|localhost"
                      rb"|127\.0\.0\.1|192\.0\.2\.\d+|198\.51\.100\.\d+|203\.0\.113\.\d+")
MOBILE = re.compile(rb"(?<!\d)(?:\+?44\s?|0)7\d{3}\s?\d{6}(?!\d)")


def outside(data):
    if any(not RESERVED.fullmatch(m.group(1).lower()) for m in EMAIL.finditer(data)):
        return True
    return any(not re.search(rb"7700900\d{3}$", re.sub(rb"\D", b"", m.group(0)))
               for m in MOBILE.finditer(data))


for path in sys.argv[1:]:
    with open(path, "rb") as f:
        if outside(f.read()):
            print(path)
