"""docs/openapi.yaml describes exactly the routes the server has, with the same
access rule for each: the server's own table (`switchboard api routes --json`)
is compared with the file, in both directions."""
import json
import os
import unittest

import yaml

from harness import run

ROOT = os.environ.get("SB_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


class OpenApiTest(unittest.TestCase):
    def setUp(self):
        self.routes = json.loads(run("api", "routes", "--json", check=0).stdout)
        with open(os.path.join(ROOT, "docs", "openapi.yaml"), encoding="utf-8") as f:
            self.spec = yaml.safe_load(f)
        self.ops = {}
        for path, item in self.spec["paths"].items():
            for method, op in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    self.ops[(method.upper(), path)] = op

    def test_every_route_is_documented_and_nothing_else(self):
        served = {(r["method"], r["path"]) for r in self.routes}
        documented = set(self.ops)
        self.assertEqual(served - documented, set(), "routes missing from docs/openapi.yaml")
        self.assertEqual(documented - served, set(), "documented routes the server does not have")

    def test_access_rules_match(self):
        for r in self.routes:
            op = self.ops[(r["method"], r["path"])]
            where = f'{r["method"]} {r["path"]}'
            self.assertEqual(op.get("operationId"), r["id"], where)
            self.assertEqual(op.get("x-switchboard-auth"), r["auth"], where)
            self.assertEqual(op.get("x-switchboard-capability", ""), r["capability"], where)
            self.assertEqual(op.get("x-switchboard-also", ""), r.get("also", ""), where)
            if r["auth"] == "public":
                self.assertEqual(op.get("security"), [], where + ": public routes need security: []")
            else:
                self.assertNotIn("security", op, where + ": uses the global cookie/bearer security")
                self.assertIn("401", op["responses"], where)
            if r["auth"] == "capability":
                self.assertIn("403", op["responses"], where)
                self.assertIn("x-switchboard-target", op, where)

    def test_path_parameters_are_declared(self):
        for (method, path), op in self.ops.items():
            if "{id}" in path:
                params = op.get("parameters", [])
                self.assertTrue(params, f"{method} {path} declares no parameters")


if __name__ == "__main__":
    unittest.main()
