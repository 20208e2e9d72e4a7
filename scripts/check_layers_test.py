#!/usr/bin/env python3
"""Tests of scripts/check_layers.py on small source trees written here: a
clean one passes, and each rule fails, naming the file and line."""

import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_layers.py")

# A clean tree: core <- store (+ sqlite backend) <- audit <- members <- server.
CLEAN = {
    "src/core/CMakeLists.txt": "add_library(sb_core status.cc)\n",
    "src/core/status.h": "#pragma once\n",
    "src/core/status.cc": '#include "core/status.h"\n',
    "src/store/CMakeLists.txt": """
        # Interface and backends.
        add_library(sb_store store.cc)
        target_link_libraries(sb_store PUBLIC sb_core)
        add_library(sb_store_sqlite sqlite/sqlite_store.cc)
        target_link_libraries(sb_store_sqlite PUBLIC sb_store PRIVATE PkgConfig::SQLITE3)
        """,
    "src/store/store.h": '#pragma once\n#include "core/status.h"\n',
    "src/store/store.cc": '#include "store/store.h"\n',
    "src/store/sqlite/sqlite_store.h": '#pragma once\n#include "store/store.h"\n',
    "src/store/sqlite/sqlite_store.cc": '#include "store/sqlite/sqlite_store.h"\n',
    "src/audit/CMakeLists.txt": """
        add_library(sb_audit audit_log.cc)
        target_link_libraries(sb_audit PUBLIC sb_store)
        """,
    "src/audit/audit_log.h": '#pragma once\n#include "store/store.h"\n',
    "src/audit/audit_log.cc": """
        #include "audit/audit_log.h"
        void Append(Tx& tx) {
          tx.Exec("INSERT INTO audit_events (seq) VALUES ($1)", {1});
          tx.Exec("DELETE FROM audit_checkpoints");
        }
        """,
    "src/members/CMakeLists.txt": """
        add_library(sb_members register.cc)
        target_link_libraries(sb_members PUBLIC sb_store sb_audit)
        sb_test(members_test SOURCES register_test.cc LIBS sb_members sb_store_sqlite
          LABELS store)
        """,
    "src/members/register.h": '#pragma once\n#include "store/store.h"\n',
    "src/members/register.cc": """
        #include "members/register.h"
        #include "audit/audit_log.h"
        Status Upsert(Tx& tx) { return tx.Exec("UPDATE members SET name = $1").status(); }
        """,
    "src/members/testing_env.h": '#pragma once\n#include "store/sqlite/sqlite_store.h"\n',
    "src/members/register_test.cc": '#include "members/testing_env.h"\n',
    "src/server/CMakeLists.txt": """
        add_library(sb_server api.cc app.cc
          ${CMAKE_CURRENT_BINARY_DIR}/builtin_data.cc)
        target_link_libraries(sb_server PUBLIC sb_members sb_audit PRIVATE sb_store_sqlite)
        sb_test(server_test SOURCES api_test.cc LIBS sb_server)
        """,
    "src/server/api.h": '#pragma once\n#include "members/register.h"\n',
    "src/server/api.cc": """
        #include "server/api.h"
        // Was: SELECT id FROM members WHERE ...; now members::Find.
        /* "DELETE FROM audit_events" in a comment is no write. */
        const char* kMethod = "DELETE";
        const char* kLine = "DELETE /hello HTTP/1.1";
        const char* kHint = "Select a campaign";
        const char* kJson = R"({"status":"ok"})";
        int n = 1'000'000;
        char quote = '"';
        auto events = audit::AuditLog::Query(tx, filter);
        """,
    "src/server/app.cc": """
        #include "server/api.h"
        #include "store/sqlite/sqlite_store.h"
        """,
    "src/server/api_test.cc": """
        #include "server/api.h"
        TEST(Api, Reads) {
          EXPECT_EQ(env.Count("SELECT COUNT(*) FROM members"), 1);
          tx.QueryInt("SELECT COUNT(*) FROM sessions");
        }
        """,
}


class CheckLayersTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.root = self.dir.name
        for path, text in CLEAN.items():
            self.write(path, text)

    def tearDown(self):
        self.dir.cleanup()

    def write(self, path, text):
        full = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text).lstrip("\n"))

    def append(self, path, text):
        with open(os.path.join(self.root, path), "a", encoding="utf-8") as f:
            f.write(textwrap.dedent(text).lstrip("\n"))

    def allow(self, text):
        self.write("scripts/layering_allowlist.txt", text)

    def check(self):
        run = subprocess.run([sys.executable, SCRIPT, "--root", self.root],
                             capture_output=True, text=True)
        return run.returncode, run.stdout + run.stderr

    def assert_fails(self, *lines):
        code, out = self.check()
        self.assertEqual(code, 1, out)
        for line in lines:
            self.assertIn(line, out)
        return out

    def problems(self, out):
        return [l for l in out.splitlines() if not l.startswith("check_layers:")]

    def test_clean_tree_passes(self):
        code, out = self.check()
        self.assertEqual(code, 0, out)
        self.assertIn("check_layers: ok", out)

    def test_the_repository_passes_with_its_allowlist(self):
        run = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)

    def test_sql_literal_in_server(self):
        self.append("src/server/api.cc", """
            constexpr char kFind[] =
                "SELECT id FROM members "
                "WHERE unit_id = $1";
            """)
        out = self.assert_fails('src/server/api.cc:12: server-sql: SQL "SELECT id FROM members')
        self.assertEqual(len(self.problems(out)), 1, out)

    def test_raw_string_sql_in_server(self):
        self.append("src/server/app.cc", 'auto k = R"sql(\n  CREATE TABLE x (id INT);\n)sql";\n')
        self.assert_fails("src/server/app.cc:3: server-sql")

    def test_tx_call_in_server_is_one_finding(self):
        self.append("src/server/api.cc", """
            Status F(store::Tx& tx) {
              SB_RETURN_IF_ERROR(tx.Query(
                  "SELECT member_id FROM canaries", {}, fn));
              return tx->Exec(sql).status();
            }
            """)
        out = self.assert_fails("src/server/api.cc:12: server-sql: calls .Query()",
                                "src/server/api.cc:14: server-sql: calls .Exec()")
        self.assertEqual(len(self.problems(out)), 2, out)

    def test_store_internals_in_server(self):
        self.append("src/server/api.cc", '#include "store/postgres/pg_store.h"\n')
        self.write("src/server/api.h", '#pragma once\n#include "store/internal/group_commit.h"\n')
        out = self.assert_fails(
            'src/server/api.cc:11: server-store-internals: includes "store/postgres/pg_store.h"',
            'src/server/api.h:2: server-store-internals: includes "store/internal/group_commit.h"')
        self.assertEqual(len(self.problems(out)), 2, out)  # not app.cc, which chooses the backend

    def test_audit_append_in_server(self):
        self.append("src/server/api.cc", "auto r = audit::AuditLog::Append(tx, e);\n")
        self.assert_fails("src/server/api.cc:11: server-audit-append")

    def test_audit_append_in_a_server_test_is_allowed(self):
        self.append("src/server/api_test.cc", "auto r = audit::AuditLog::Append(tx, e);\n")
        code, out = self.check()
        self.assertEqual(code, 0, out)

    def test_audit_table_write_outside_audit(self):
        self.append("src/members/register.cc", """
            void A(Tx& tx) { tx.Exec("DELETE FROM "
                                     "audit_checkpoints WHERE tree_size > 3"); }
            void B(Tx& tx) { tx.Exec("with x as (select 1) update Audit_Events set a = 1"); }
            constexpr const char* kV2 = R"sql(
            CREATE TABLE t (id INT);
            ALTER TABLE audit_events ADD COLUMN c INT;
            )sql";
            """)
        out = self.assert_fails(
            "src/members/register.cc:4: audit-table-write: DELETE FROM audit_checkpoints",
            "src/members/register.cc:6: audit-table-write: UPDATE Audit_Events",
            "src/members/register.cc:9: audit-table-write: ALTER TABLE audit_events")
        self.assertEqual(len(self.problems(out)), 3, out)

    def test_server_test_may_read_but_not_write(self):
        self.append("src/server/api_test.cc", """
            TEST(Api, Seeds) {
              Sql("INSERT INTO calls (id) VALUES (1)");
              tx.Exec(sql);
            }
            """)
        out = self.assert_fails(
            'src/server/api_test.cc:7: server-test-sql-write: SQL "INSERT INTO calls (id)',
            "src/server/api_test.cc:8: server-test-sql-write: writes with .Exec()")
        self.assertEqual(len(self.problems(out)), 2, out)

    def test_upward_include(self):
        self.write("src/core/status.cc", '#include "core/status.h"\n#include "members/register.h"\n')
        self.assert_fails('src/core/status.cc:2: layer-include: includes "members/register.h" '
                          "of sb_members, which sb_core does not link")

    def test_upward_include_in_a_header(self):
        self.write("src/audit/audit_log.h", '#pragma once\n#include "server/api.h"\n')
        self.assert_fails('src/audit/audit_log.h:2: layer-include: includes "server/api.h" '
                          "of sb_server, which sb_audit does not link")

    def test_private_link_does_not_reach_further_up(self):
        # sb_store_sqlite is private to sb_server: members may not use it.
        self.append("src/members/register.cc", '#include "store/sqlite/sqlite_store.h"\n')
        self.assert_fails("src/members/register.cc:4: layer-include")

    def test_test_only_header_is_checked_for_each_test(self):
        # testing_env.h may use sqlite (members_test links it) but not the server.
        self.append("src/members/testing_env.h", '#include "server/api.h"\n')
        self.assert_fails('src/members/register_test.cc:1: layer-include: includes "server/api.h"'
                          " of sb_server, which members_test does not link (through "
                          "src/members/testing_env.h:3)")

    def test_allowlist_with_the_right_count_passes(self):
        self.append("src/server/api.cc", 'auto a = "SELECT 1";\nauto b = "SELECT 2";\n')
        self.allow("# comment\nsrc/server/api.cc  server-sql  2  issue 14: moving out\n")
        code, out = self.check()
        self.assertEqual(code, 0, out)
        self.assertIn("2 allowlisted finding(s) in 1 entries", out)

    def test_allowlist_count_too_high_or_too_low_fails(self):
        self.append("src/server/api.cc", 'auto a = "SELECT 1";\n')
        self.allow("src/server/api.cc server-sql 2 issue 14\n")
        self.assert_fails("scripts/layering_allowlist.txt:1: src/server/api.cc server-sql: "
                          "allows 2, found 1; set the count to 1",
                          "src/server/api.cc:11: server-sql")
        self.append("src/server/api.cc", 'auto b = "SELECT 2";\nauto c = "SELECT 3";\n')
        self.assert_fails("allows 2, found 3; set the count to 3")

    def test_stale_allowlist_entry_fails(self):
        self.allow("src/server/api.cc server-sql 1 issue 14: gone now\n")
        self.assert_fails("scripts/layering_allowlist.txt:1: src/server/api.cc server-sql: "
                          "allows 1, found none; delete the entry")

    def test_malformed_allowlist_fails(self):
        self.allow("src/server/api.cc server-sequel 1 typo\nsrc/server/api.cc server-sql\n")
        self.assert_fails("scripts/layering_allowlist.txt:1: unknown rule server-sequel",
                          "scripts/layering_allowlist.txt:2: expected `path rule count reason`")

    def test_allowlist_for_one_rule_does_not_cover_another(self):
        self.append("src/server/api.cc", "auto r = audit::AuditLog::Append(tx, e);\n")
        self.allow("src/server/api.cc server-sql 1 wrong rule\n")
        self.assert_fails("src/server/api.cc:11: server-audit-append", "found none")


if __name__ == "__main__":
    unittest.main()
