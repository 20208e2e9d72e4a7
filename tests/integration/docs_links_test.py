"""Every link in the README and docs/ points at a file in this repository.

A reader of a clone has nothing else: a link to ../shared/... or to a file
that was renamed is a dead end. Web addresses (https://...) are allowed.
"""
import os
import re
import unittest

SOURCE = os.environ.get("SB_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))

LINK = re.compile(r"\]\(([^)\s]+)\)")
OUTSIDE = re.compile(r"(?<![\w/.])\.\./shared\b|/work/shared\b")


def documents():
    yield os.path.join(SOURCE, "README.md")
    yield os.path.join(SOURCE, "src", "README.md")
    for root, _, files in os.walk(os.path.join(SOURCE, "docs")):
        for f in files:
            if f.endswith(".md"):
                yield os.path.join(root, f)


class DocsLinksTest(unittest.TestCase):

    def test_links_resolve_inside_the_repository(self):
        broken = []
        checked = 0
        for doc in documents():
            with open(doc, encoding="utf-8") as f:
                text = f.read()
            for n, line in enumerate(text.splitlines(), 1):
                if OUTSIDE.search(line):
                    broken.append(f"{os.path.relpath(doc, SOURCE)}:{n}: points outside the repository")
                for target in LINK.findall(line):
                    if re.match(r"[a-z]+:", target) or target.startswith("#"):
                        continue
                    path = os.path.normpath(
                        os.path.join(os.path.dirname(doc), target.split("#")[0]))
                    checked += 1
                    if not path.startswith(SOURCE + os.sep) or not os.path.exists(path):
                        broken.append(f"{os.path.relpath(doc, SOURCE)}:{n}: {target}")
        self.assertGreater(checked, 10, "found almost no links: is the pattern right?")
        self.assertEqual(broken, [])


if __name__ == "__main__":
    unittest.main()
