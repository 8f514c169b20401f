#!/usr/bin/env python3
"""Our exposition as Prometheus itself reads it.

  prometheus_test.py promtool SAMPLE_BIN
      `promtool check metrics` on SAMPLE_BIN's output (every escaping and number case).
  prometheus_test.py scrape GRPC_ECHO_BIN
      Starts grpc_echo (127.0.0.1, port 0) with /metrics, makes calls of known methods and
      codes, starts a real Prometheus server (its own temporary data dir, 127.0.0.1, scrape
      interval 1 s) scraping it, and queries Prometheus' HTTP API until
      krishiv_grpc_call_duration_seconds_count shows the calls: counts, codes and the `le`
      values of the buckets. Also runs `promtool check metrics` on the live /metrics.
Exits 77 (skip) with a line saying why when promtool or prometheus is not installed.
Every process it starts is killed before it exits.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

METRIC = "krishiv_grpc_call_duration_seconds"
# Krishiv's default buckets as Prometheus' Go client writes them; Prometheus 2 keeps le as text.
DEFAULT_LE = ["0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
              "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]
DEADLINE_S = 90


def need(tool):
    path = shutil.which(tool)
    if path is None:
        print(f"SKIP: {tool} not installed (Debian package 'prometheus'; scripts/deps.sh "
              "installs it)")
        sys.exit(77)
    return path


def promtool_check(promtool, text):
    r = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=60)
    out = (r.stdout + r.stderr).decode(errors="replace")
    if r.returncode != 0 or out.strip():
        print(text)
        print(f"FAIL: promtool check metrics (exit {r.returncode}):\n{out}")
        return False
    return True


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def stop(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def read_line(proc, prefix):
    line = proc.stdout.readline().decode().strip()
    if not line.startswith(prefix + " "):
        raise RuntimeError(f"expected '{prefix} PORT', got {line!r}")
    return int(line.split()[1])


def query(prom_port, expr):
    url = (f"http://127.0.0.1:{prom_port}/api/v1/query?" +
           urllib.parse.urlencode({"query": expr}))
    _, _, body = http_get(url)
    doc = json.loads(body)
    if doc.get("status") != "success":
        raise RuntimeError(f"query {expr}: {body}")
    return doc["data"]["result"]


def scrape(echo_bin):
    promtool = need("promtool")
    prometheus = need("prometheus")
    work = tempfile.mkdtemp(prefix="kt-prom-")
    echo = prom = None
    ok = True
    try:
        echo = subprocess.Popen([echo_bin, "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0"],
                                stdout=subprocess.PIPE)
        grpc_port = read_line(echo, "listening")
        metrics_port = read_line(echo, "metrics")

        calls = [("/kt.Echo/Ping", 5, "OK", 30), ("/kt.Echo/Other", 3, "OK", 0),
                 ("/kt.Echo/Fail", 2, "INVALID_ARGUMENT", 0)]
        for method, n, code, delay in calls:
            out = subprocess.run([echo_bin, "--call", f"127.0.0.1:{grpc_port}", "--method",
                                  method, "--count", str(n), "--delay-ms", str(delay)],
                                 capture_output=True, timeout=120, check=True).stdout.decode()
            if f"code {code} {n}" not in out:
                print(f"FAIL: client calls of {method}: {out!r}")
                return False

        status, ctype, text = http_get(f"http://127.0.0.1:{metrics_port}/metrics")
        if status != 200 or ctype != "text/plain; version=0.0.4; charset=utf-8":
            print(f"FAIL: /metrics answered {status} with Content-Type {ctype!r}")
            ok = False
        ok = promtool_check(promtool, text) and ok
        try:
            http_get(f"http://127.0.0.1:{metrics_port}/nothing")
            print("FAIL: /nothing was answered")
            ok = False
        except urllib.error.HTTPError as e:
            if e.code != 404:
                print(f"FAIL: /nothing answered {e.code}, not 404")
                ok = False

        config = os.path.join(work, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: grpc_echo\n    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{metrics_port}']\n")
        prom_port = free_port()
        prom = subprocess.Popen([prometheus, f"--config.file={config}",
                                 f"--storage.tsdb.path={os.path.join(work, 'data')}",
                                 f"--web.listen-address=127.0.0.1:{prom_port}"],
                                stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(work, "prometheus.log"), "w"))

        want = {(m, code): n for m, n, code, _ in calls}
        got = {}
        end = time.monotonic() + DEADLINE_S
        while time.monotonic() < end:
            if prom.poll() is not None:
                print(f"FAIL: prometheus exited with {prom.returncode}")
                print(open(os.path.join(work, "prometheus.log")).read()[-3000:])
                return False
            try:
                result = query(prom_port, f'{METRIC}_count{{side="server"}}')
                got = {(r["metric"]["method"], r["metric"]["code"]): float(r["value"][1])
                       for r in result}
                if all(k in got for k in want):
                    break
            except (OSError, RuntimeError, ValueError):
                pass  # not up yet, or no scrape yet
            time.sleep(0.5)
        else:
            print(f"FAIL: Prometheus did not show {METRIC}_count for {sorted(want)} within "
                  f"{DEADLINE_S} s; it shows {got}")
            print(open(os.path.join(work, "prometheus.log")).read()[-3000:])
            return False
        print(f"Prometheus scraped: {got}")
        if got != {k: float(v) for k, v in want.items()}:
            print(f"FAIL: counts {got}, expected {want}")
            ok = False

        buckets = query(prom_port, f'{METRIC}_bucket{{side="server",method="/kt.Echo/Ping"}}')
        le = sorted((r["metric"]["le"] for r in buckets), key=lambda v: float(v))
        if le != DEFAULT_LE:
            print(f"FAIL: le values {le}, expected {DEFAULT_LE}")
            ok = False
        by_le = {r["metric"]["le"]: float(r["value"][1]) for r in buckets}
        # Each Ping call slept 30 ms on the server: never in a bucket under 0.03.
        for v in DEFAULT_LE:
            if v != "+Inf" and float(v) < 0.03 and by_le.get(v) != 0:
                print(f"FAIL: le={v} holds {by_le.get(v)} calls that slept 30 ms")
                ok = False
        if by_le.get("+Inf") != 5:
            print(f"FAIL: le=+Inf is {by_le.get('+Inf')}, expected 5")
            ok = False
        # What Prometheus computes from the buckets, as a user's query would.
        p99 = query(prom_port, f'histogram_quantile(0.99, {METRIC}_bucket{{method="/kt.Echo/Ping"}})')
        if not p99 or float(p99[0]["value"][1]) < 0.025:
            print(f"FAIL: histogram_quantile over the Ping buckets: {p99}")
            ok = False
        return ok
    finally:
        stop(prom)
        stop(echo)
        if echo is not None and echo.returncode not in (0, None):
            print(f"FAIL: grpc_echo exited with {echo.returncode} on SIGTERM")
            ok = False
        shutil.rmtree(work, ignore_errors=True)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("promtool", "scrape"):
        print(__doc__)
        return 2
    if sys.argv[1] == "promtool":
        promtool = need("promtool")
        text = subprocess.run([sys.argv[2]], capture_output=True, check=True,
                              timeout=60).stdout.decode()
        return 0 if promtool_check(promtool, text) else 1
    return 0 if scrape(sys.argv[2]) else 1


if __name__ == "__main__":
    sys.exit(main())
