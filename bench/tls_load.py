#!/usr/bin/env python3
"""Requests/s over TLS against plain HTTP, in one run (docs/benchmarks.md,
"TLS against plain HTTP"). One demo data directory; `serve` started in
turn plain and with a throwaway certificate (ECDSA P-256, made here with the
openssl command), each round measured by wrk on /healthz and on an
authenticated GET (/api/v1/campaigns with a bearer token). Prints each
round and the medians.

  bench/tls_load.py --bin build/release/switchboard [--rounds 5]
      [--seconds 10] [--connections 64] [--threads 2]
"""
import argparse
import json
import os
import re
import shutil
import signal
import ssl
import statistics
import subprocess
import tempfile
import urllib.request


def sh(*args, cwd=None):
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True)


def make_cert(directory):
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=localhost",
       "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", cwd=directory)
    return os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")


def set_tls(data_dir, cert, key):
    path = os.path.join(data_dir, "switchboard.toml")
    with open(path) as f:
        text = f.read()
    text = re.sub(r"(?m)^tls_cert = .*$", f"tls_cert = {json.dumps(cert)}", text)
    text = re.sub(r"(?m)^tls_key = .*$", f"tls_key = {json.dumps(key)}", text)
    with open(path, "w") as f:
        f.write(text)


def serve(binary, data_dir):
    proc = subprocess.Popen([binary, "serve", "--data-dir", data_dir, "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        m = re.search(r"serving on (https?)://127\.0\.0\.1:(\d+)", line)
        if m:
            return proc, f"{m.group(1)}://127.0.0.1:{m.group(2)}"
    raise SystemExit("serve did not start")


def token(base, login, password):
    # The benchmark's own throwaway certificate: not verified here (tls_test.py does).
    ctx = ssl._create_unverified_context() if base.startswith("https") else None
    req = urllib.request.Request(
        base + "/api/v1/session", method="POST",
        data=json.dumps({"login": login, "password": password, "client": "api"}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30, context=ctx) as r:
        return json.loads(r.read())["token"]


def wrk(url, args, header=None):
    cmd = ["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d",
           f"{args.seconds}s", "--latency"]
    if header:
        cmd += ["-H", header]
    out = sh(*cmd, url).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
    if errors:
        raise SystemExit(f"wrk saw errors against {url}:\n{out}")
    return rps, float(p99.group(1)) * scale


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/release/switchboard")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--members", type=int, default=10000)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="sb-tls-bench-")
    try:
        data = os.path.join(tmp, "demo")
        out = sh(args.bin, "demo", "--data-dir", data, "--count", str(args.members),
                 "--no-serve").stdout
        m = re.search(r"volunteer: login (\S+)\s+password (\S+)", out)
        cert, key = make_cert(tmp)
        with open(os.path.join(data, "switchboard.toml")) as f:
            plain_config = f.read()
        results = {}  # (mode, path) -> [(rps, p99 ms)]
        for rnd in range(args.rounds):
            for mode in ("plain", "tls"):
                with open(os.path.join(data, "switchboard.toml"), "w") as f:
                    f.write(plain_config)
                if mode == "tls":
                    set_tls(data, cert, key)
                proc, base = serve(args.bin, data)
                try:
                    auth = "Authorization: Bearer " + token(base, m.group(1), m.group(2))
                    for path, header in (("/healthz", None), ("/api/v1/campaigns", auth)):
                        rps, p99 = wrk(base + path, args, header)
                        results.setdefault((mode, path), []).append((rps, p99))
                        print(f"round {rnd + 1} {mode:5} {path:18} {rps:10.0f} req/s  "
                              f"p99 {p99:.2f} ms", flush=True)
                finally:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout=60)
        print("\nmedians:")
        for path in ("/healthz", "/api/v1/campaigns"):
            plain = statistics.median(r for r, _ in results[("plain", path)])
            tls = statistics.median(r for r, _ in results[("tls", path)])
            p_plain = statistics.median(p for _, p in results[("plain", path)])
            p_tls = statistics.median(p for _, p in results[("tls", path)])
            print(f"{path:18} plain {plain:10.0f} req/s (p99 {p_plain:.2f} ms)  "
                  f"tls {tls:10.0f} req/s (p99 {p_tls:.2f} ms)  tls/plain {tls / plain:.3f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
