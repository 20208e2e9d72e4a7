"""Shared helpers for integration tests: run the binary, make data dirs and
synthetic CSV files (reserved example domains and Ofcom drama numbers only)."""
import json
import os
import random
import shutil
import subprocess
import tempfile
import unittest

BIN = os.environ.get("SWITCHBOARD_BIN", "switchboard")


def run(*args, env=None, check=None, timeout=300):
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run([BIN, *args], capture_output=True, text=True, env=full_env,
                       timeout=timeout)
    if check is not None and p.returncode != check:
        raise AssertionError(f"{args} exited {p.returncode}, wanted {check}\n"
                             f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def synthetic_members_csv(path, rows, seed=1):
    """Native-profile CSV with `rows` synthetic members."""
    rnd = random.Random(seed)
    units = ["E14000530", "E14000531", "Aldershot", "E14000639"]
    with open(path, "w", encoding="utf-8") as f:
        f.write("member_id,first_name,last_name,email,mobile,postcode,constituency,status,"
                "joined,consent_email,consent_phone\n")
        for i in range(rows):
            f.write(f"X{i},Test{i % 97},Person{i % 89},test.person.{i}@example.org,"
                    f"07700 900{rnd.randrange(1000):03d},,{units[i % len(units)]},current,"
                    f"2020-01-{1 + i % 28:02d},{'yes' if i % 2 else 'no'},yes\n")


class DataDirTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sb-it-")
        self.data = os.path.join(self.tmp, "data")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def init(self):
        run("init", "--data-dir", self.data, check=0)

    def status(self):
        """`status --json`'s top-level counts, as strings."""
        out = json.loads(run("status", "--data-dir", self.data, "--json", check=0).stdout)
        return {k: str(v) for k, v in out.items() if not isinstance(v, (dict, list))}

    def status_json(self):
        return json.loads(run("status", "--data-dir", self.data, "--json", check=0).stdout)

    def import_json(self, path, *extra, env=None, check=0):
        p = run("import", "members", path, "--data-dir", self.data, "--json", *extra, env=env,
                check=check)
        return json.loads(p.stdout) if check == 0 else p


class PgCluster:
    """A throwaway PostgreSQL cluster on a Unix socket (trust, no TCP), as
    src/store/testing/pg_cluster.cc makes for the C++ tests; as root, the
    server runs as the `postgres` user. `url(db)` names a database in it."""

    def __init__(self):
        import glob
        import pwd
        bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
        self.bin = os.environ.get("SB_PG_BINDIR") or (bindirs[0] if bindirs else "")
        if not os.path.exists(os.path.join(self.bin, "initdb")):
            raise unittest.SkipTest("PostgreSQL server binaries not found")
        self.dir = tempfile.mkdtemp(prefix="sb-pg-", dir="/tmp")
        self.as_pg = []
        if os.getuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_pg = ["runuser", "-u", "postgres", "--"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        subprocess.run([*self.as_pg, os.path.join(self.bin, "initdb"), "-D", self.dir + "/data",
                        "-A", "trust", "-U", "switchboard", "-E", "UTF8", "--locale=C",
                        "--no-instructions"], check=True, capture_output=True, env=env)
        with open(self.dir + "/data/postgresql.conf", "a", encoding="utf-8") as f:
            f.write(f"listen_addresses = ''\nunix_socket_directories = '{self.dir}'\n"
                    "fsync = off\n")
        subprocess.run([*self.as_pg, os.path.join(self.bin, "pg_ctl"), "-D", self.dir + "/data",
                        "-l", self.dir + "/postgres.log", "-w", "-t", "120", "start"],
                       check=True, capture_output=True, env=env)

    def url(self, db):
        return f"postgresql://switchboard@/{db}?host={self.dir}"

    def createdb(self, db):
        subprocess.run([os.path.join(self.bin, "createdb"), "-h", self.dir, "-U", "switchboard",
                        db], check=True, capture_output=True)
        return self.url(db)

    def stop(self):
        subprocess.run([*self.as_pg, os.path.join(self.bin, "pg_ctl"), "-D", self.dir + "/data",
                        "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
