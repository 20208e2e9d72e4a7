#!/usr/bin/env python3
"""Writes a native-profile CSV of N synthetic members for import benchmarks.
Only reserved data: emails @example.org/.com, phones in Ofcom's drama ranges."""
import csv
import random
import sys


def letters(i):
    """A distinct suffix per row: drama numbers are few, so people sharing a
    number must not also share a name (import would rightly match them)."""
    out = ""
    while True:
        out = chr(ord("a") + i % 26) + out
        i //= 26
        if i == 0:
            return out.capitalize()


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    rnd = random.Random(seed)
    codes = []
    with open(sys.argv[4] if len(sys.argv) > 4 else "data/constituencies.csv",
              encoding="utf-8") as f:
        for row in csv.DictReader(f):
            codes.append(row["ons_code"])
    first = ["Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Zoë", "Rhys"]
    last = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Patel", "Khan", "O'Brien"]
    statuses = ["current"] * 8 + ["lapsed", "arrears"]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["member_id", "first_name", "last_name", "email", "phone", "mobile",
                    "address_line1", "town", "postcode", "constituency", "status", "joined",
                    "consent_email", "consent_phone", "consent_sms", "consent_candidates"])
        for i in range(n):
            fn, ln = rnd.choice(first), f"{rnd.choice(last)}-{letters(i)}"
            w.writerow([
                f"B{i:08d}", fn, ln, f"{fn.lower()}.{i}@example.{'org' if i % 2 else 'com'}",
                f"0113 496 0{rnd.randrange(1000):03d}" if i % 3 == 0 else "",
                f"07700 900{rnd.randrange(1000):03d}", f"{1 + i % 200} High Street", "Leeds",
                f"LS{1 + i % 28} {rnd.randrange(10)}AB", codes[i % len(codes)],
                rnd.choice(statuses), f"20{10 + i % 15}-0{1 + i % 9}-1{i % 9}",
                "yes" if i % 4 else "no", "yes" if i % 3 else "no", "no",
                "yes" if i % 2 else "no"])


if __name__ == "__main__":
    main()
