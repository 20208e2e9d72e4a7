"""`make demo` installs no test-only package and builds only the binary.

A newcomer's first command should take minutes, not the eleven it took when
it installed the whole test stack and built every test and benchmark. This
reads what the Makefile's demo recipe would run (make -n), the package set
it asks scripts/setup.sh for, and the build graph its configure produces.
"""
import os
import re
import shlex
import subprocess
import tempfile
import unittest

SOURCE = os.environ.get("SB_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))

# Packages only tests, fuzzing, benchmarks or the browser tests use.
TEST_TOOLS = {
    "libgtest-dev", "libgmock-dev", "libbenchmark-dev", "postgresql", "postgresql-contrib",
    "chromium", "nodejs", "npm", "clang-14", "libclang-rt-14-dev", "clang-format",
    "python3-dkim", "python3-yaml", "postfix", "bc", "sip-tester",
}


def packages(mode):
    out = subprocess.run([os.path.join(SOURCE, "scripts", "setup.sh"), "--list", mode],
                         check=True, capture_output=True, text=True).stdout
    return set(out.split())


def demo_recipe():
    out = subprocess.run(["make", "-n", "--no-print-directory", "-C", SOURCE, "demo"],
                         check=True, capture_output=True, text=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


class DemoTargetTest(unittest.TestCase):

    def test_demo_packages_are_a_subset_without_test_tools(self):
        demo, test = packages("demo"), packages("test")
        self.assertTrue(demo, "setup.sh --list demo printed nothing")
        self.assertLessEqual(demo, test, "make test must install everything make demo does")
        self.assertEqual(demo & TEST_TOOLS, set())
        # The demo's SMTP capture runs under Debian's python3 with aiosmtpd.
        self.assertIn("python3-aiosmtpd", demo)
        self.assertTrue(TEST_TOOLS - {"postfix"} <= test | {"nodejs", "npm"})

    def test_recipe_asks_only_for_demo_packages_and_the_binary(self):
        lines = demo_recipe()
        setups = [l for l in lines if "scripts/setup.sh" in l]
        self.assertTrue(setups, lines)
        for l in setups:
            self.assertIn("--demo", shlex.split(l), l)
        builds = [l for l in lines if "cmake --build" in l]
        self.assertTrue(builds, lines)
        for l in builds:
            self.assertRegex(l, r"--target switchboard(\s|$)")
        configures = [l for l in lines if re.search(r"cmake --preset", l)]
        self.assertTrue(configures, lines)
        for l in configures:
            self.assertIn("-DSB_TESTS=OFF", l)
            self.assertIn("-DSB_BENCH=OFF", l)

    def test_demo_configuration_builds_no_test_or_benchmark(self):
        lines = demo_recipe()
        configure = next(l for l in lines if re.search(r"cmake --preset", l))
        args = shlex.split(configure[configure.index("cmake --preset"):].split(">")[0])
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(args + ["-B", tmp], cwd=SOURCE, check=True, capture_output=True)
            inputs = subprocess.run(["ninja", "-C", tmp, "-t", "inputs", "switchboard"],
                                    check=True, capture_output=True, text=True).stdout.split()
            self.assertTrue(any(i.endswith("src/cli/main.cc") for i in inputs), inputs[:20])
            offenders = [i for i in inputs
                         if re.search(r"(_test\.cc|/tests/|/bench/|gtest|gmock|benchmark)", i)]
            self.assertEqual(offenders, [])
            targets = subprocess.run(["ninja", "-C", tmp, "-t", "targets", "all"],
                                     check=True, capture_output=True, text=True).stdout
            executables = {t.split(":")[0] for t in targets.splitlines()
                           if re.search(r"_(test|bench|fuzz)(:| )", t)}
            self.assertEqual(executables, set())


if __name__ == "__main__":
    unittest.main()
