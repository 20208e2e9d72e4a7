#!/usr/bin/env python3
"""Checks the layering rules of src/ (src/README.md, "Keeping the layers").

Rules, each named in the messages and in the allowlist:

  server-sql             SQL in src/server/ (a string literal that starts a
                         statement, or a Tx call: .Query( .Exec( .QueryInt( );
                         the SQL belongs in the module that owns the table
  server-test-sql-write  a test under src/server/ that writes with SQL
                         (INSERT/UPDATE/DELETE/DDL, .Exec): seed through the
                         services instead. Reads are allowed: a test may look
                         at what landed in the store
  server-store-internals src/server/ includes store/internal/, store/sqlite/ or
                         store/postgres/; only server/app.cc, which chooses the
                         backend, may name a concrete one
  server-audit-append    src/server/ calls AuditLog::Append; the service that
                         acts appends its own event in the same transaction
  audit-table-write      a file outside src/audit/ writes an audit_* table
                         (INSERT, UPDATE, DELETE, TRUNCATE, ALTER, DROP)
  layer-include          an #include of a header whose library the including
                         file's CMake target does not link, directly or
                         through what it links (src/*/CMakeLists.txt)

Known violations are listed in scripts/layering_allowlist.txt as
`path rule count reason`. The count must equal what the check finds in that
file for that rule, so an entry that is outgrown, shrunk or stale fails too.

  scripts/check_layers.py [--root DIR] [--allowlist FILE]

Exit status 0 when clean, 1 with one line per problem, 2 on a usage error.
"""

import argparse
import os
import re
import sys
from collections import defaultdict

# The one file that may name a concrete store backend (src/README.md).
BACKEND_CHOOSER = "src/server/app.cc"

RULES = (
    "server-sql",
    "server-test-sql-write",
    "server-store-internals",
    "server-audit-append",
    "audit-table-write",
    "layer-include",
)

SQL_START = re.compile(
    r"""\s*(
        SELECT\s
      | INSERT\s+INTO\s
      | UPDATE\s+\w+\s+SET\s
      | DELETE\s+FROM\s
      | CREATE\s+(UNIQUE\s+)?(TABLE|INDEX|VIEW|TRIGGER|SEQUENCE)\s
      | ALTER\s+TABLE\s
      | DROP\s+(TABLE|INDEX|VIEW|TRIGGER|SEQUENCE)\s
      | TRUNCATE\s
      | PRAGMA\s
      | WITH\s+(RECURSIVE\s+)?\w+\s*(\([^)]*\)\s*)?AS\s*\(
    )""",
    re.VERBOSE,
)
SQL_WRITE_START = re.compile(
    r"\s*(INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|TRUNCATE|WITH\s.*\b(INSERT|UPDATE|DELETE)\b)",
    re.DOTALL,
)
AUDIT_WRITE = re.compile(
    r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(\s+TABLE)?|ALTER\s+TABLE"
    r"|DROP\s+TABLE(\s+IF\s+EXISTS)?)\s+(audit_\w+)",
    re.IGNORECASE,
)
TX_CALLS = {"Query", "Exec", "QueryInt"}
STORE_INTERNALS = ("store/internal/", "store/sqlite/", "store/postgres/")
STRING_PREFIXES = {"u8", "u", "U", "L", "R", "u8R", "uR", "UR", "LR"}


# ---------------------------------------------------------------- C++ lexing


class Token:
    __slots__ = ("kind", "text", "line", "pieces")

    def __init__(self, kind, text, line):
        self.kind = kind  # "id", "str", "punct", "num", "include"
        self.text = text
        self.line = line
        self.pieces = [(0, line)]  # a joined string: (offset in text, line) of each piece

    def line_at(self, offset):
        """The source line of a character of a (joined) string literal."""
        start, line = max(p for p in self.pieces if p[0] <= offset)
        return line + self.text.count("\n", start, offset)


def lex(text):
    """Tokens of a C++ file without comments; adjacent string literals are
    joined, as the compiler joins them. #include directives become "include"
    tokens; other directives are dropped."""
    tokens = []
    i, n, line = 0, len(text), 1
    line_start = True
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
            line_start = True
            continue
        if c in " \t\r\f\v":
            i += 1
            continue
        if c == "\\" and text.startswith("\n", i + 1):
            i += 2
            line += 1
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            line += text.count("\n", i, j)
            i = j
            continue
        if c == "#" and line_start:
            j = i
            while True:  # the directive, with its continuation lines
                k = text.find("\n", j)
                if k < 0:
                    k = n
                    break
                if text[k - 1] == "\\":
                    j = k + 1
                    continue
                break
            directive = text[i:k]
            m = re.match(r'#\s*include\s*(["<])([^">]+)[">]', directive)
            if m:
                tokens.append(Token("include", (m.group(1), m.group(2)), line))
            line += directive.count("\n")
            i = k
            continue
        line_start = False
        if c.isalpha() or c == "_":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            if j < n and text[j] in "\"'" and word in STRING_PREFIXES:
                i = j
                if word.endswith("R") and text[j] == '"':
                    i, line = _raw_string(text, j, line, tokens)
                continue
            tokens.append(Token("id", word, line))
            i = j
            continue
        if c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
            m = re.compile(r"\.?\d(?:[eEpP][+-]|[\w.']|)*").match(text, i)
            tokens.append(Token("num", m.group(0), line))
            i = m.end()
            continue
        if c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            if c == '"':
                _add_string(tokens, text[i + 1 : j], line)
            i = j + 1
            continue
        if text.startswith("->", i) or text.startswith("::", i):
            tokens.append(Token("punct", text[i : i + 2], line))
            i += 2
            continue
        tokens.append(Token("punct", c, line))
        i += 1
    return tokens


def _raw_string(text, quote, line, tokens):
    open_paren = text.find("(", quote)
    delim = text[quote + 1 : open_paren]
    end = text.find(")" + delim + '"', open_paren)
    if end < 0:
        end = len(text)
    body = text[open_paren + 1 : end]
    _add_string(tokens, body, line)
    return end + len(delim) + 2, line + body.count("\n")


def _add_string(tokens, body, line):
    if tokens and tokens[-1].kind == "str":
        tokens[-1].pieces.append((len(tokens[-1].text), line))
        tokens[-1].text += body
    else:
        tokens.append(Token("str", body, line))


# ------------------------------------------------------------- CMake targets


def _cmake_calls(text, command):
    text = re.sub(r"#[^\n]*", "", text)
    for m in re.finditer(r"\b%s\s*\(" % command, text):
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
        yield text[m.end() : j - 1].split()


class Targets:
    """What each CMake target in src/ compiles and links."""

    def __init__(self, root):
        self.sources = {}  # "src/x/y.cc" -> target
        self.deps = defaultdict(set)  # target -> directly linked sb_* targets
        self.tests = set()  # test executables (sb_test)
        self.lib_dirs = defaultdict(set)  # "src/x" -> libraries with sources there
        src = os.path.join(root, "src")
        for dirpath, _, files in sorted(os.walk(src)):
            if "CMakeLists.txt" not in files:
                continue
            with open(os.path.join(dirpath, "CMakeLists.txt"), encoding="utf-8") as f:
                text = f.read()
            rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
            for cmd in ("add_library", "add_executable"):
                for args in _cmake_calls(text, cmd):
                    self._add_sources(rel, args[0], args[1:], library=cmd == "add_library")
            for args in _cmake_calls(text, "target_link_libraries"):
                self.deps[args[0]].update(a for a in args[1:] if a.startswith("sb_"))
            for args in _cmake_calls(text, "sb_test"):
                name, mode = args[0], None
                self.tests.add(name)
                for a in args[1:]:
                    if a in ("SOURCES", "LIBS", "LABELS"):
                        mode = a
                    elif mode == "SOURCES":
                        self._add_sources(rel, name, [a], library=False)
                    elif mode == "LIBS" and a.startswith("sb_"):
                        self.deps[name].add(a)

    def _add_sources(self, rel, target, args, library):
        for a in args:
            if "$" in a or not a.endswith(".cc"):
                continue
            path = rel + "/" + a
            self.sources[path] = target
            if library:
                self.lib_dirs[os.path.dirname(path)].add(target)

    def closure(self, target):
        seen, todo = {target}, [target]
        while todo:
            for d in self.deps.get(todo.pop(), ()):
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
        return seen

    def owners(self, path):
        """The library (or libraries) a file belongs to: its own target for a
        listed source; for a header, the library that compiles its .cc, else
        the libraries with sources in its folder or the nearest one above."""
        if path in self.sources:
            return {self.sources[path]}
        stem = os.path.splitext(path)[0] + ".cc"
        if stem in self.sources and self.sources[stem] not in self.tests:
            return {self.sources[stem]}
        d = os.path.dirname(path)
        while d and d != "src":
            if self.lib_dirs.get(d):
                return set(self.lib_dirs[d])
            d = os.path.dirname(d)
        return set()


# ------------------------------------------------------------------- checks


def is_test(path):
    return path.endswith("_test.cc")


class Checker:
    def __init__(self, root):
        self.root = root
        self.findings = []  # (path, line, rule, message)
        self.files = {}  # "src/..." -> tokens
        for dirpath, _, files in os.walk(os.path.join(root, "src")):
            for name in sorted(files):
                if name.endswith((".cc", ".h")):
                    full = os.path.join(dirpath, name)
                    rel = os.path.relpath(full, root).replace(os.sep, "/")
                    with open(full, encoding="utf-8", errors="replace") as f:
                        self.files[rel] = lex(f.read())
        self.targets = Targets(root)

    def add(self, path, line, rule, message):
        self.findings.append((path, line, rule, message))

    def run(self):
        for path in sorted(self.files):
            tokens = self.files[path]
            if not path.startswith("src/audit/"):
                self.audit_writes(path, tokens)
            if path.startswith("src/server/"):
                self.server(path, tokens)
        self.layers()
        return self.findings

    def audit_writes(self, path, tokens):
        for t in tokens:
            if t.kind == "str":
                for m in AUDIT_WRITE.finditer(t.text):
                    verb = " ".join(m.group(1).upper().split())
                    self.add(path, t.line_at(m.start()), "audit-table-write",
                             f"{verb} {m.group(4)}; only src/audit/ writes the audit tables")

    def server(self, path, tokens):
        test = is_test(path)
        in_call_until = -1  # literals inside a reported Tx call are not reported again
        for k, t in enumerate(tokens):
            if t.kind == "include":
                header = t.text[1]
                if header.startswith(STORE_INTERNALS) and path != BACKEND_CHOOSER:
                    self.add(path, t.line, "server-store-internals",
                             f'includes "{header}"; only {BACKEND_CHOOSER} names a backend')
            elif (t.kind == "id" and t.text in TX_CALLS and k > 0
                  and tokens[k - 1].text in (".", "->")
                  and k + 1 < len(tokens) and tokens[k + 1].text == "("):
                end = _close_paren(tokens, k + 1)
                if not test:
                    self.add(path, t.line, "server-sql",
                             f"calls .{t.text}(); SQL belongs in the module that owns the table")
                    in_call_until = end
                elif t.text == "Exec":
                    self.add(path, t.line, "server-test-sql-write",
                             "writes with .Exec(); seed through the services")
                    in_call_until = end
            elif t.kind == "str" and k > in_call_until and SQL_START.match(t.text):
                if not test:
                    self.add(path, t.line, "server-sql",
                             f'SQL "{_head(t.text)}"; it belongs in the module that owns the table')
                elif SQL_WRITE_START.match(t.text):
                    self.add(path, t.line, "server-test-sql-write",
                             f'SQL "{_head(t.text)}"; seed through the services')
            elif (t.kind == "id" and t.text == "Append" and not test and k >= 2
                  and tokens[k - 1].text == "::" and tokens[k - 2].text == "AuditLog"):
                self.add(path, t.line, "server-audit-append",
                         "calls AuditLog::Append; the service that acts appends its event")

    def layers(self):
        t = self.targets
        # Headers included only by tests (fixtures such as api_testing.h) are
        # checked as part of each test that includes them.
        includers = defaultdict(set)
        for path, tokens in self.files.items():
            for tok in tokens:
                if tok.kind == "include":
                    target = self.resolve(path, tok.text)
                    if target:
                        includers[target].add(path)
        test_only = set()
        changed = True
        while changed:
            changed = False
            for h, by in includers.items():
                if h.endswith(".h") and h not in test_only and all(
                        is_test(p) or p in test_only for p in by):
                    test_only.add(h)
                    changed = True

        for path in sorted(self.files):
            if path in test_only:
                continue
            owners = t.owners(path)
            if not owners:
                continue
            allowed = set().union(*(t.closure(o) for o in owners))
            seen, todo = {path}, [path]
            while todo:
                cur = todo.pop()
                for tok in self.files[cur]:
                    if tok.kind != "include":
                        continue
                    header = self.resolve(cur, tok.text)
                    if not header or header in seen:
                        continue
                    if header in test_only:
                        seen.add(header)
                        todo.append(header)
                        continue
                    libs = t.owners(header)
                    if libs and not libs & allowed:
                        where = "" if cur == path else f" (through {cur}:{tok.line})"
                        line = tok.line if cur == path else self._include_line(path, cur)
                        self.add(path, line, "layer-include",
                                 f'includes "{tok.text[1]}" of {"/".join(sorted(libs))}, which '
                                 f'{"/".join(sorted(owners))} does not link{where}')

    def _include_line(self, path, header):
        for tok in self.files[path]:
            if tok.kind == "include" and self.resolve(path, tok.text) == header:
                return tok.line
        return 1

    def resolve(self, path, inc):
        quote, name = inc
        if quote != '"':
            return None
        for cand in ("src/" + name, os.path.dirname(path) + "/" + name):
            cand = os.path.normpath(cand).replace(os.sep, "/")
            if cand in self.files:
                return cand
        return None


def _close_paren(tokens, k):
    depth = 0
    for j in range(k, len(tokens)):
        if tokens[j].text == "(" and tokens[j].kind == "punct":
            depth += 1
        elif tokens[j].text == ")" and tokens[j].kind == "punct":
            depth -= 1
            if depth == 0:
                return j
    return len(tokens)


def _head(sql):
    words = sql.split()
    return " ".join(words[:4]) + (" ..." if len(words) > 4 else "")


# ---------------------------------------------------------------- allowlist


def read_allowlist(path):
    entries, problems = {}, []
    if not os.path.exists(path):
        return entries, problems
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split(None, 3)
            where = f"{path}:{n}"
            if len(parts) < 4 or not parts[2].isdigit():
                problems.append(f"{where}: expected `path rule count reason`")
            elif parts[1] not in RULES:
                problems.append(f"{where}: unknown rule {parts[1]} (one of {', '.join(RULES)})")
            elif (parts[0], parts[1]) in entries:
                problems.append(f"{where}: {parts[0]} {parts[1]} is listed twice")
            else:
                entries[(parts[0], parts[1])] = (int(parts[2]), n)
    return entries, problems


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.dirname(here), help="the repository (holds src/)")
    ap.add_argument("--allowlist", help="default: ROOT/scripts/layering_allowlist.txt")
    args = ap.parse_args(argv)
    allow_path = args.allowlist or os.path.join(args.root, "scripts", "layering_allowlist.txt")
    if not os.path.isdir(os.path.join(args.root, "src")):
        print(f"check_layers: no src/ under {args.root}", file=sys.stderr)
        return 2

    findings = Checker(args.root).run()
    entries, problems = read_allowlist(allow_path)
    allow_name = os.path.relpath(allow_path, args.root)

    by_key = defaultdict(list)
    for f in findings:
        by_key[(f[0], f[2])].append(f)
    for key in sorted(by_key):
        found = by_key[key]
        allowed, n = entries.get(key, (0, 0))
        if allowed == len(found):
            continue
        if allowed:
            problems.append(f"{allow_name}:{n}: {key[0]} {key[1]}: allows {allowed}, found "
                            f"{len(found)}; set the count to {len(found)}")
        for path, line, rule, message in sorted(found):
            problems.append(f"{path}:{line}: {rule}: {message}")
    for key, (allowed, n) in sorted(entries.items(), key=lambda e: e[1][1]):
        if key not in by_key:
            problems.append(f"{allow_name}:{n}: {key[0]} {key[1]}: allows {allowed}, found none; "
                            "delete the entry")

    if problems:
        for p in problems:
            print(p)
        print(f"check_layers: {len(problems)} problem(s); the rules are in src/README.md "
              "(Keeping the layers)")
        return 1
    print(f"check_layers: ok ({len(findings)} allowlisted finding(s) in {len(entries)} entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
