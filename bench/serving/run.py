"""The serving benchmark: homeval's predictor against MLServer, `mlflow models serve` and a
plain KServe + ColumnTransformer model — one run, same machine, same model size, 1 worker
each, loopback, wrk with a Lua script for the POST bodies.

    bench/serving/setup_peers.sh          # peers' virtualenvs (once)
    .venv/bin/python bench/serving/prepare.py
    .venv/bin/python bench/serving/run.py  # writes bench/serving/RESULTS.md

All servers are started and checked for correct answers first; then every measurement
(1-row and 100-row bodies, concurrency 1, 8 and 32, ``--reps`` times) is taken on each
server in turn, so all of them meet the same load on a shared machine; the table shows
medians (requests/s, rows/s, p50, p99) and the machine's load.
Explain is measured on homeval's predictor only (no peer explains): KServe's own
``request_explain_seconds`` histogram gives the server time per 1-row explain.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WORK = HERE / ".work"
BODIES = WORK / "bodies"
sys.path.insert(0, str(HERE))

from prepare import env as registry_env  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load() -> float:
    return float(Path("/proc/loadavg").read_text().split(" ")[0])


@dataclass
class Server:
    name: str
    label: str
    command: list[str]
    env: dict[str, str]
    port: int
    path: str
    body: str  # body file prefix
    ready: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def start(self, log: Path) -> None:
        handle = log.open("wb")
        self.process = subprocess.Popen(
            self.command,
            cwd=REPO,
            env={**os.environ, **self.env},
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}{self.ready}", timeout=2).is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"{self.name} not ready:\n{log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def servers() -> list[Server]:
    venv = REPO / ".venv" / "bin"
    mlserver = REPO / ".venv-bench-mlserver" / "bin"
    reg = registry_env()
    ports = {
        name: free_port() for name in ("homeval", "mlserver", "mlserver-omp1", "mlflow", "kserve")
    }
    return [
        Server(
            "homeval",
            "homeval predictor (KServe v1, compiled trees)",
            [str(venv / "homeval"), "serve"],
            {
                **reg,
                "HOMEVAL_PREDICTOR_HOST": "127.0.0.1",
                "HOMEVAL_PREDICTOR_PORT": str(ports["homeval"]),
                "HOMEVAL_PREDICTOR_VERSIONS": "none",
            },
            ports["homeval"],
            "/v1/models/house-price:predict",
            "listings",
            "/v1/models/house-price",
        ),
        Server(
            "mlserver",
            "MLServer 1.7.1 + mlserver-lightgbm (v2, encoded features)",
            [str(mlserver / "mlserver"), "start", str(WORK / "mlserver")],
            {
                "MLSERVER_HOST": "127.0.0.1",
                "MLSERVER_HTTP_PORT": str(ports["mlserver"]),
                "MLSERVER_GRPC_PORT": str(free_port()),
                "MLSERVER_METRICS_PORT": str(free_port()),
                "MLSERVER_PARALLEL_WORKERS": "0",
            },
            ports["mlserver"],
            "/v2/models/house-price/infer",
            "mlserver",
            "/v2/models/house-price/ready",
        ),
        Server(
            "mlserver-omp1",
            "MLServer 1.7.1 as above, LightGBM limited to one thread (OMP_NUM_THREADS=1)",
            [str(mlserver / "mlserver"), "start", str(WORK / "mlserver")],
            {
                "MLSERVER_HOST": "127.0.0.1",
                "MLSERVER_HTTP_PORT": str(ports["mlserver-omp1"]),
                "MLSERVER_GRPC_PORT": str(free_port()),
                "MLSERVER_METRICS_PORT": str(free_port()),
                "MLSERVER_PARALLEL_WORKERS": "0",
                "OMP_NUM_THREADS": "1",
            },
            ports["mlserver-omp1"],
            "/v2/models/house-price/infer",
            "mlserver",
            "/v2/models/house-price/ready",
        ),
        Server(
            "mlflow",
            "mlflow models serve (same model, pyfunc)",
            [
                str(venv / "mlflow"),
                "models",
                "serve",
                "-m",
                "models:/house-price@production",
                "--env-manager",
                "local",
                "--host",
                "127.0.0.1",
                "--port",
                str(ports["mlflow"]),
                "--workers",
                "1",
            ],
            {**reg, "PATH": f"{venv}:{os.environ.get('PATH', '')}"},
            ports["mlflow"],
            "/invocations",
            "mlflow",
            "/health",
        ),
        Server(
            "kserve-ct",
            "plain KServe model + sklearn ColumnTransformer",
            [
                str(venv / "python"),
                str(HERE / "peers" / "kserve_ct.py"),
                "--model_dir",
                str(WORK / "kserve_ct"),
                "--http_port",
                str(ports["kserve"]),
            ],
            {},
            ports["kserve"],
            "/v1/models/house-price:predict",
            "listings",
            "/v1/models/house-price",
        ),
    ]


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(text)
    return float(match[1]) * _UNIT[match[2]]


def wrk(url: str, body: Path, connections: int, seconds: float) -> dict[str, float]:
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
        "--timeout", "10s",
        "-s", str(HERE / "post.lua"), url,
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "BODY_FILE": str(body)}
    )
    out = done.stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if found is None:
        raise RuntimeError(f"wrk failed: {done.stdout}{done.stderr}")
    rps = float(found[1])
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50_ms": _ms(latency["50"]),
        "p99_ms": _ms(latency["99"]),
        "errors": float(errors[1]) if errors else 0.0,
        "socket_errors": 1.0 if socket_errors else 0.0,
    }


def check(server: Server) -> list[float]:
    """Each server must answer the 100-row body with the model's prices."""
    import math

    body = json.loads((BODIES / f"{server.body}_100.json").read_text())
    answer = httpx.post(server.url, json=body, timeout=60).json()
    if server.name.startswith("mlserver"):
        prices = [math.exp(v) for v in answer["outputs"][0]["data"]]
    elif server.name == "mlflow":
        prices = answer["predictions"]
    else:
        prices = answer["predictions"]
    return [float(p) for p in prices]


def metric_sum(url: str, name: str, label: str = "") -> tuple[float, float]:
    """(sum, count) of a histogram for house-price (and ``label``, e.g. an endpoint)."""
    text = httpx.get(url + "/metrics", timeout=10).text
    total = count = 0.0
    for line in text.splitlines():
        if 'model_name="house-price"' not in line or label not in line:
            continue
        if line.startswith(name + "_sum{"):
            total = float(line.rsplit(" ", 1)[1])
        if line.startswith(name + "_count{"):
            count = float(line.rsplit(" ", 1)[1])
    return total, count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--only", default="", help="comma-separated server names")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk (scripts/install-system-deps.sh)")
    if not (BODIES / "listings_1.json").exists():
        sys.exit("run bench/serving/prepare.py first")
    levels = [int(c) for c in args.concurrency.split(",")]
    chosen = [s for s in servers() if not args.only or s.name in args.only.split(",")]
    expected = json.loads((BODIES / "expected_100.json").read_text())
    results: dict[str, object] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_before": load(),
        "cpus": os.cpu_count(),
        "seconds": args.seconds,
        "reps": args.reps,
        "runs": [],
        "servers": {s.name: s.label for s in chosen},
    }
    runs: list[dict[str, object]] = results["runs"]  # type: ignore[assignment]
    try:
        # all servers up at once (idle ones cost nothing), then each measurement is taken
        # on every server in turn, so they share the machine's load conditions
        for server in chosen:
            print(f"== starting {server.name} (load {load()})", flush=True)
            server.start(WORK / f"{server.name}.log")
            got = check(server)
            worst = max(abs(g - e) / e for g, e in zip(got, expected, strict=True))
            print(f"   answers: worst relative difference to the model {worst:.2e}", flush=True)
            if server.name != "kserve-ct" and worst > 1e-6:
                raise RuntimeError(f"{server.name} does not give the model's prices ({worst})")
            results[f"check_{server.name}"] = worst
        for rows in (1, 100):
            for server in chosen:
                wrk(server.url, BODIES / f"{server.body}_{rows}.json", 8, 2.0)  # warm-up
            for connections in levels:
                for rep in range(args.reps):
                    for server in chosen:
                        body = BODIES / f"{server.body}_{rows}.json"
                        measured = wrk(server.url, body, connections, args.seconds)
                        runs.append({"server": server.name, "rows": rows, "c": connections,
                                     "rep": rep, "load": load(), **measured})  # fmt: skip
                        print(f"   {server.name:<14} {rows:>3} rows c{connections:<3} rep {rep}: "
                              f"{measured['rps']:8.1f} req/s p50 {measured['p50_ms']:.2f} ms "
                              f"p99 {measured['p99_ms']:.2f} ms errors {measured['errors']:.0f}"
                              f" (load {load()})", flush=True)  # fmt: skip
        ours = [s for s in chosen if s.name == "homeval"]
        for server in ours:
            explain_url = server.url.replace(":predict", ":explain")
            base = f"http://127.0.0.1:{server.port}"
            body = BODIES / "listings_1.json"
            wrk(explain_url, body, 1, 2.0)
            for rep in range(args.reps):
                before = metric_sum(base, "request_explain_seconds")
                whole = metric_sum(base, "homeval_predictor_request_seconds", "explain")
                measured = wrk(explain_url, body, 1, args.seconds)
                after = metric_sum(base, "request_explain_seconds")
                whole_after = metric_sum(base, "homeval_predictor_request_seconds", "explain")
                step_ms = 1e3 * (after[0] - before[0]) / max(1.0, after[1] - before[1])
                model_ms = 1e3 * (whole_after[0] - whole[0]) / max(1.0, whole_after[1] - whole[1])
                runs.append({"server": "homeval-explain", "rows": 1, "c": 1, "rep": rep,
                             "load": load(), "explain_step_ms": step_ms,
                             "model_call_ms": model_ms, **measured})  # fmt: skip
                print(f"   explain 1 row rep {rep}: explain step {step_ms:.2f} ms, whole "
                      f"model call {model_ms:.2f} ms, p50 {measured['p50_ms']:.2f} ms",
                      flush=True)  # fmt: skip
    finally:
        for server in chosen:
            server.stop()
    results["load_after"] = load()
    (WORK / "results.json").write_text(json.dumps(results, indent=2))
    from report import write_report

    write_report(results, HERE / "RESULTS.md", " ".join(sys.argv[1:]))
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
