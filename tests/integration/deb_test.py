"""The Debian package (`make deb`, packaging/) and serve's systemd readiness.

PackageTest builds the .deb with CPack from this build tree, checks its
contents, modes, control fields and conffiles with dpkg-deb, installs it with
`dpkg --root` into a throwaway root (maintainer scripts run chrootless with
DPKG_ROOT, as mmdebstrap does), checks what postinst made, verifies the unit
with `systemd-analyze verify` and scores it with `systemd-analyze security`,
initialises the data directory as the switchboard user and serves it from
the installed binary, then purges. NotifyTest starts serve with NOTIFY_SOCKET
pointing at a datagram socket it binds, as systemd does for Type=notify.
systemd is not PID 1 here; nothing needs it to be."""
import os
import re
import select
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from harness import BIN, DataDirTest, run

BUILD = os.environ.get("SB_BUILD_DIR", "")
IS_ROOT = os.geteuid() == 0

# What the unit must say (issue 19; docs/operations.md, "Install from the package").
UNIT_SETTINGS = [
    "Type=notify", "User=switchboard", "Group=switchboard", "ProtectSystem=strict",
    "ReadWritePaths=/var/lib/switchboard", "NoNewPrivileges=yes", "PrivateTmp=yes",
    "ProtectHome=yes", "PrivateDevices=yes", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    "CapabilityBoundingSet=", "SystemCallFilter=@system-service", "Restart=on-failure",
    "RestartPreventExitStatus=2 3", "ExecReload=/bin/kill -HUP $MAINPID",
    "ExecStart=/usr/bin/switchboard serve --data-dir /var/lib/switchboard",
]


def runs_as(uid, gid):
    """A preexec_fn that drops to uid and gid."""
    def drop():
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    return drop


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def readyz(port):
    """/readyz's status code, or None while nothing listens."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (ConnectionError, urllib.error.URLError):
        return None


class Notifications:
    """A Unix datagram socket bound like systemd's NOTIFY_SOCKET."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o777)  # the switchboard user sends to it too
        self.messages = []

    def poll(self, timeout):
        """The next datagram's lines, or None when none came within timeout."""
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return None
        lines = self.sock.recv(65536).decode().split("\n")
        self.messages.append(lines)
        return lines

    def close(self):
        self.sock.close()


def serve_until_ready(test, argv, notify, port, env=None, preexec=None):
    """Starts serve and probes /readyz until READY=1 arrives (bounded, no
    sleep: the wait is the select on the socket). Returns the process and
    the probes' answers before READY=1."""
    full_env = dict(os.environ, NOTIFY_SOCKET=notify.path, **(env or {}))
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log, env=full_env,
                            preexec_fn=preexec)
    test.addCleanup(log.close)
    test.addCleanup(lambda: proc.poll() is None and proc.kill())
    probes = []
    seen_200_at = None
    deadline = time.monotonic() + 120
    while True:
        if time.monotonic() > deadline or proc.poll() is not None:
            log.seek(0)
            proc.kill()
            test.fail(f"no READY=1 (exit {proc.poll()}); got {notify.messages}; "
                      f"log: {log.read().decode()[-2000:]}")
        lines = notify.poll(0.005)
        if lines is not None and "READY=1" in lines:
            break
        if lines is None:
            probes.append(readyz(port))
            if probes[-1] == 200 and seen_200_at is None:
                seen_200_at = time.monotonic()
        # /readyz answered 200 a moment before READY=1 was read: it must
        # follow promptly (listening and notifying are two steps).
        if seen_200_at is not None:
            test.assertLess(time.monotonic() - seen_200_at, 30, "READY=1 lagged /readyz")
    # READY=1 means /readyz answers 200 now.
    test.assertEqual(readyz(port), 200)
    return proc, probes


def stop_and_expect_stopping(test, proc, notify):
    proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 60
    stopping = False
    while not stopping and time.monotonic() < deadline:
        lines = notify.poll(0.1)
        stopping = lines is not None and "STOPPING=1" in lines
    test.assertTrue(stopping, f"no STOPPING=1 after SIGTERM; got {notify.messages}")
    test.assertEqual(proc.wait(timeout=60), 0)


class NotifyTest(DataDirTest):
    def test_ready_exactly_when_readyz_answers_and_stopping_on_sigterm(self):
        self.init()
        run("generate", "members", "--count", "50", "--data-dir", self.data, check=0)
        notify = Notifications(self.tmp)
        port = free_port()
        try:
            proc, probes = serve_until_ready(
                self, [BIN, "serve", "--data-dir", self.data, "--port", str(port)], notify, port)
            try:
                # The test saw serve before it was ready: not listening, or 503.
                self.assertTrue(probes, "no probe before READY=1")
                self.assertIn(probes[0], (None, 503), probes[:5])
                self.assertTrue(set(probes) <= {None, 503, 200}, set(probes))
                # STATUS= lines told the supervisor what start-up was doing.
                statuses = [l for m in notify.messages for l in m if l.startswith("STATUS=")]
                self.assertIn("STATUS=checking the audit log", statuses)
                self.assertIn(f"STATUS=serving on 127.0.0.1:{port}", statuses)
            finally:
                stop_and_expect_stopping(self, proc, notify)
            self.assertIn("STATUS=stopping", [l for m in notify.messages for l in m])
        finally:
            notify.close()

    def test_no_notify_socket_no_notifications(self):
        # Without NOTIFY_SOCKET serve sends nothing and still serves.
        self.init()
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        proc = subprocess.Popen([BIN, "serve", "--data-dir", self.data, "--port", str(port)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                env=env)
        try:
            for line in proc.stdout:  # the banner comes once it listens
                if "serving on" in line:
                    break
            self.assertEqual(readyz(port), 200)
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=60), 0)
            proc.stdout.close()


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        assert BUILD, "SB_BUILD_DIR (set by CTest) names the build tree to package"
        cls.tmp = tempfile.mkdtemp(prefix="sb-deb-")
        os.chmod(cls.tmp, 0o755)  # the switchboard user runs the installed binary
        out = os.path.join(cls.tmp, "out")
        p = subprocess.run(["cpack", "-G", "DEB", "--config",
                            os.path.join(BUILD, "CPackConfig.cmake"), "-B", out],
                           capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise AssertionError(f"cpack failed: {p.stdout}\n{p.stderr}")
        debs = [f for f in os.listdir(out) if f.endswith(".deb")]
        assert len(debs) == 1, debs
        cls.deb = os.path.join(out, debs[0])
        cls.fakeroot_state = os.path.join(cls.tmp, "fakeroot.state")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # --- running dpkg into a throwaway root ---

    def privileged(self, argv):
        """argv as root: for real when root, else under fakeroot (its state kept)."""
        if IS_ROOT:
            return argv
        state = self.fakeroot_state
        return ["fakeroot", "-s", state] + (["-i", state] if os.path.exists(state) else []) + \
            ["--"] + argv

    def new_root(self, name):
        root = os.path.join(self.tmp, name)
        for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "etc"):
            os.makedirs(os.path.join(root, d))
        for f in ("status", "available"):
            open(os.path.join(root, "var/lib/dpkg", f), "w").close()
        return root

    def dpkg(self, root, *args, check=True):
        # Depends (libraries, systemd) are the host's: the binary runs from
        # the root with the host's libraries.
        argv = ["dpkg", f"--root={root}", "--force-script-chrootless", "--force-depends",
                "--force-not-root", "--log=/dev/null", *args]
        p = subprocess.run(self.privileged(argv), capture_output=True, text=True, timeout=300)
        if check and p.returncode != 0:
            self.fail(f"dpkg {args} failed: {p.stdout}\n{p.stderr}")
        return p

    def owner_mode(self, path):
        if IS_ROOT:
            st = os.lstat(path)
            return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)
        out = subprocess.run(self.privileged(["stat", "-c", "%u %g %a", path]),
                             capture_output=True, text=True, check=True).stdout.split()
        return int(out[0]), int(out[1]), int(out[2], 8)

    def user(self, root):
        with open(os.path.join(root, "etc/passwd")) as f:
            rows = [l.split(":") for l in f if l.startswith("switchboard:")]
        self.assertEqual(len(rows), 1, rows)
        return rows[0]

    # --- the tests ---

    def test_package_contents_and_control(self):
        listing = subprocess.run(["dpkg-deb", "-c", self.deb], capture_output=True, text=True,
                                 check=True).stdout
        entries = {}
        for line in listing.splitlines():
            f = line.split()
            entries[f[5].lstrip(".")] = (f[0], f[1])
        expect = {
            "/usr/bin/switchboard": "-rwxr-xr-x",
            "/lib/systemd/system/switchboard.service": "-rw-r--r--",
            "/usr/lib/sysusers.d/switchboard.conf": "-rw-r--r--",
            "/usr/lib/tmpfiles.d/switchboard.conf": "-rw-r--r--",
            "/etc/switchboard/switchboard.toml": "-rw-r--r--",
            "/etc/switchboard/policy.toml": "-rw-r--r--",
            "/usr/share/doc/switchboard/operations.md": "-rw-r--r--",
        }
        for path, mode in expect.items():
            self.assertIn(path, entries, listing)
            self.assertEqual(entries[path][0], mode, path)
        for path, (mode, owner) in entries.items():
            self.assertEqual(owner, "root/root", path)
            self.assertNotIn("w", mode[5] + mode[8], path)  # nothing group- or world-writable
        # The data directory is made by postinst (systemd-tmpfiles), not shipped.
        self.assertFalse([p for p in entries if p.startswith("/var/")], listing)

        info = subprocess.run(["dpkg-deb", "-I", self.deb], capture_output=True, text=True,
                              check=True).stdout
        self.assertRegex(info, r"(?m)^ Package: switchboard$")
        depends = re.search(r"(?m)^ Depends: (.*)$", info).group(1)
        # dpkg-shlibdeps read the binary: its libraries are in Depends.
        for dep in ("systemd", "procps", "tzdata", "libsqlite3-0", "libsystemd0", "libpq5",
                    "libsodium23"):
            self.assertRegex(depends, rf"(^|, ){re.escape(dep)}( |,|$)", depends)

        control = os.path.join(self.tmp, "control")
        subprocess.run(["dpkg-deb", "-e", self.deb, control], check=True)
        with open(os.path.join(control, "conffiles")) as f:
            self.assertEqual(f.read().split(), ["/etc/switchboard/switchboard.toml",
                                                "/etc/switchboard/policy.toml"])
        for script in ("postinst", "prerm", "postrm"):
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(control, script)).st_mode),
                             0o755, script)
        # The packaged configuration is the documented one; the policy is the
        # one `switchboard init` writes.
        subprocess.run(["dpkg-deb", "-x", self.deb, os.path.join(self.tmp, "x")], check=True)
        with open(os.path.join(self.tmp, "x/etc/switchboard/switchboard.toml")) as f, \
                open(os.path.join(os.environ["SB_SOURCE_DIR"], "docs/config.example.toml")) as g:
            self.assertEqual(f.read(), g.read())
        scratch = os.path.join(self.tmp, "init")
        run("init", "--data-dir", scratch, check=0)
        with open(os.path.join(self.tmp, "x/etc/switchboard/policy.toml")) as f, \
                open(os.path.join(scratch, "policy.toml")) as g:
            self.assertEqual(f.read(), g.read())

    def test_install_verify_init_serve_purge(self):
        root = self.new_root("root")
        self.dpkg(root, "-i", self.deb)
        # postinst: the system user, with no login shell.
        pw = self.user(root)
        uid, gid = int(pw[2]), int(pw[3])
        self.assertLess(uid, 1000)
        self.assertEqual(pw[5], "/var/lib/switchboard")
        self.assertEqual(pw[6].strip(), "/usr/sbin/nologin")
        data = os.path.join(root, "var/lib/switchboard")
        self.assertEqual(self.owner_mode(data), (uid, gid, 0o700))
        self.assertEqual(self.owner_mode(os.path.join(data, "keys")), (uid, gid, 0o700))
        for name in ("switchboard.toml", "policy.toml"):
            link = os.path.join(data, name)
            self.assertTrue(os.path.islink(link), link)
            self.assertEqual(os.path.realpath(link),
                             os.path.realpath(os.path.join(root, "etc/switchboard", name)))
            self.assertEqual(self.owner_mode(os.path.join(root, "etc/switchboard", name)),
                             (0, 0, 0o644))
        self.assertEqual(self.owner_mode(os.path.join(root, "usr/bin/switchboard"))[2], 0o755)
        q = subprocess.run(["dpkg-query", f"--root={root}", "-W", "-f=${Status}\n${Conffiles}",
                            "switchboard"], capture_output=True, text=True, check=True).stdout
        self.assertIn("install ok installed", q)
        self.assertIn("/etc/switchboard/switchboard.toml", q)
        self.assertIn("/etc/switchboard/policy.toml", q)

        # Installing again (what an upgrade runs) changes nothing: one user, same modes.
        self.dpkg(root, "-i", self.deb)
        self.assertEqual(self.user(root)[2], str(uid))
        self.assertEqual(self.owner_mode(data), (uid, gid, 0o700))

        self.check_unit(root)
        if IS_ROOT:
            self.init_and_serve_as_switchboard(root, uid, gid)
        self.upgrade(root, uid, gid)

        self.dpkg(root, "--purge", "switchboard")
        for gone in ("usr/bin/switchboard", "lib/systemd/system/switchboard.service",
                     "etc/switchboard", "var/lib/switchboard/switchboard.toml"):
            self.assertFalse(os.path.lexists(os.path.join(root, gone)), gone)
        if IS_ROOT:
            # Purge keeps the register: keyring, database and audit log, and their owner.
            for kept in ("keys/keyring", "switchboard.db", "audit-checkpoints.log"):
                self.assertTrue(os.path.exists(os.path.join(data, kept)), kept)
            self.user(root)
        else:
            self.assertFalse(os.path.exists(data))  # never initialised: nothing kept
        # Purging again is harmless.
        self.dpkg(root, "--purge", "switchboard")

    def upgrade(self, root, uid, gid):
        """A newer version over this one keeps an edited conffile, the user
        and the data directory; the upgraded install still serves it."""
        out = os.path.join(self.tmp, "newer")
        subprocess.run(["cpack", "-G", "DEB", "--config", os.path.join(BUILD, "CPackConfig.cmake"),
                        "-B", out, "-D", "CPACK_PACKAGE_VERSION=999.0.0"], capture_output=True,
                       check=True, timeout=600)
        newer = os.path.join(out, "switchboard_999.0.0_amd64.deb")
        conf = os.path.join(root, "etc/switchboard/switchboard.toml")
        with open(conf, "a") as f:
            f.write("# edited by the administrator\n")
        data = os.path.join(root, "var/lib/switchboard")
        before = sorted(os.listdir(data))
        self.dpkg(root, "-i", newer)
        q = subprocess.run(["dpkg-query", f"--root={root}", "-W", "-f=${Version}", "switchboard"],
                           capture_output=True, text=True, check=True).stdout
        self.assertEqual(q, "999.0.0")
        with open(conf) as f:
            self.assertTrue(f.read().endswith("# edited by the administrator\n"))
        self.assertEqual(self.user(root)[2], str(uid))
        self.assertEqual(sorted(os.listdir(data)), before)
        self.assertEqual(self.owner_mode(data), (uid, gid, 0o700))
        if IS_ROOT:
            self.assertEqual(self.owner_mode(os.path.join(data, "keys/keyring")),
                             (uid, gid, 0o600))
            self.serve_as_switchboard(root, uid, gid)

    def test_purge_of_an_unused_install_leaves_nothing_in_var(self):
        root = self.new_root("unused")
        self.dpkg(root, "-i", self.deb)
        self.dpkg(root, "--purge", "switchboard")
        self.assertFalse(os.path.exists(os.path.join(root, "var/lib/switchboard")))
        self.assertFalse(os.path.exists(os.path.join(root, "etc/switchboard")))

    def check_unit(self, root):
        unit = os.path.join(root, "lib/systemd/system/switchboard.service")
        with open(unit) as f:
            lines = [l.strip() for l in f]
        for setting in UNIT_SETTINGS:
            self.assertIn(setting, lines)
        # ReadWritePaths names the data directory only.
        self.assertEqual([l for l in lines if l.startswith("ReadWritePaths=")],
                         ["ReadWritePaths=/var/lib/switchboard"])
        # systemd-analyze verify resolves ExecStart= and the unit's
        # dependencies inside the root: the systemd and procps packages
        # (Depends) stand in as the host's unit files and kill.
        host_units = "/usr/lib/systemd/system"
        for name in os.listdir(host_units):
            src = os.path.join(host_units, name)
            if not name.startswith("switchboard") and os.path.isfile(src) and \
                    not os.path.islink(src):
                shutil.copy(src, os.path.join(root, "lib/systemd/system", name))
        os.makedirs(os.path.join(root, "bin"), exist_ok=True)
        shutil.copy("/bin/kill", os.path.join(root, "bin/kill"))
        verify = ["systemd-analyze", "verify", "--man=no", f"--root={root}",
                  "/lib/systemd/system/switchboard.service"]
        p = subprocess.run(verify, capture_output=True, text=True)
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))
        # The same check fails when ExecStart's binary is not there.
        binary = os.path.join(root, "usr/bin/switchboard")
        os.rename(binary, binary + ".away")
        try:
            p = subprocess.run(verify, capture_output=True, text=True)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("/usr/bin/switchboard is not executable", p.stderr)
        finally:
            os.rename(binary + ".away", binary)
        sec = subprocess.run(["systemd-analyze", "security", "--offline=yes", f"--root={root}",
                              "switchboard.service"], capture_output=True, text=True)
        score = re.search(r"Overall exposure level for switchboard\.service: ([0-9.]+)",
                          sec.stdout)
        self.assertIsNotNone(score, sec.stdout + sec.stderr)
        # 1.3 when written (docs/operations.md); 2.0 or more means a setting was lost.
        self.assertLess(float(score.group(1)), 2.0, sec.stdout)

    def init_and_serve_as_switchboard(self, root, uid, gid):
        """The runbook's first start, from the installed files, as the switchboard user."""
        binary = os.path.join(root, "usr/bin/switchboard")
        data = os.path.join(root, "var/lib/switchboard")
        as_switchboard = runs_as(uid, gid)

        p = subprocess.run([binary, "init", "--data-dir", data], capture_output=True, text=True,
                           preexec_fn=as_switchboard, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.owner_mode(os.path.join(data, "keys/keyring")), (uid, gid, 0o600))
        self.assertEqual(self.owner_mode(os.path.join(data, "keys")), (uid, gid, 0o700))
        self.assertEqual(self.owner_mode(data), (uid, gid, 0o700))
        # init read the configuration and policy in /etc and left them alone.
        for name in ("switchboard.toml", "policy.toml"):
            self.assertTrue(os.path.islink(os.path.join(data, name)), name)
        self.serve_as_switchboard(root, uid, gid)

    def serve_as_switchboard(self, root, uid, gid):
        """serve from the installed binary, readiness through NOTIFY_SOCKET."""
        binary = os.path.join(root, "usr/bin/switchboard")
        data = os.path.join(root, "var/lib/switchboard")
        as_switchboard = runs_as(uid, gid)

        notify_dir = tempfile.mkdtemp(prefix="sb-notify-", dir=self.tmp)
        os.chmod(notify_dir, 0o755)
        notify = Notifications(notify_dir)
        port = free_port()
        try:
            proc, _ = serve_until_ready(self, [binary, "serve", "--data-dir", data, "--port",
                                               str(port)], notify, port, preexec=as_switchboard)
            stop_and_expect_stopping(self, proc, notify)
        finally:
            notify.close()


if __name__ == "__main__":
    unittest.main()
