"""A small real KFP API (v2beta1) on loopback: the endpoints ``kfp.Client`` calls to run.

It answers healthz, experiments (list by name, create) and runs (create, get, terminate), records
every request, and plays a scripted sequence of states for each run it creates, so a
test decides whether the run succeeds or fails and what the task details are.  No
Kubernetes, no KFP backend: only the HTTP contract the client speaks.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API = "/apis/v2beta1"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


@dataclass
class KfpStub:
    """State of the stub: what it was asked, and what it will answer."""

    host: str = ""
    states: list[str] = field(default_factory=lambda: ["PENDING", "RUNNING", "SUCCEEDED"])
    error_message: str | None = None
    failing_gets: int = 0  # answer this many run GETs with HTTP 503 first
    refuse_terminate: bool = False  # answer terminate with HTTP 500
    refuse_runs: bool = False  # answer every run creation with HTTP 400
    requests: list[Request] = field(default_factory=list)
    experiments: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    polls: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def created_runs(self) -> list[Request]:
        return [r for r in self.requests if r.method == "POST" and r.path == f"{API}/runs"]

    def run_view(self, run_id: str) -> dict[str, Any]:
        """The run as GET reports it now: the next scripted state on each poll."""
        run = dict(self.runs[run_id])
        index = min(self.polls.get(run_id, 0), len(self.states) - 1)
        self.polls[run_id] = self.polls.get(run_id, 0) + 1
        state = self.states[index]
        run["state"] = state
        if index == len(self.states) - 1:
            task_state = "SUCCEEDED" if state == "SUCCEEDED" else "FAILED"
            run["run_details"] = {
                "task_details": [
                    {"task_id": "t1", "display_name": "collect", "state": "SUCCEEDED"},
                    {"task_id": "t2", "display_name": "train", "state": task_state},
                ]
            }
            if self.error_message:
                run["error"] = {"code": 2, "message": self.error_message}
        return run


class _Handler(BaseHTTPRequestHandler):
    stub: KfpStub

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _record(self) -> Request:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        request = Request(self.command, parts.path, parse_qs(parts.query), body)
        with self.stub.lock:
            self.stub.requests.append(request)
        return request

    def do_GET(self) -> None:
        request = self._record()
        stub = self.stub
        if request.path == f"{API}/healthz":
            self._answer(200, {"commit_sha": "stub", "tag_name": "stub", "multi_user": False})
        elif request.path == f"{API}/experiments":
            wanted = _filter_value(request.query)
            found = [e for e in stub.experiments.values() if e["display_name"] == wanted]
            self._answer(200, {"experiments": found, "total_size": len(found)} if found else {})
        elif request.path.startswith(f"{API}/runs/"):
            run_id = request.path.rsplit("/", 1)[-1]
            with stub.lock:
                if stub.failing_gets > 0:
                    stub.failing_gets -= 1
                    self._answer(503, {"error": "upstream connect error", "code": 14})
                    return
                if run_id not in stub.runs:
                    self._answer(404, {"error": f"run {run_id} not found", "code": 5})
                    return
                view = stub.run_view(run_id)
            self._answer(200, view)
        else:
            self._answer(404, {"error": f"no route {request.path}", "code": 5})

    def do_POST(self) -> None:
        request = self._record()
        stub = self.stub
        body = request.body or {}
        if request.path == f"{API}/experiments":
            experiment = {
                "experiment_id": str(uuid.uuid4()),
                "display_name": body.get("display_name"),
                "namespace": body.get("namespace") or "",
            }
            with stub.lock:
                stub.experiments[experiment["experiment_id"]] = experiment
            self._answer(200, experiment)
        elif request.path == f"{API}/runs":
            if stub.refuse_runs:
                self._answer(400, {"error": "pipeline spec is invalid", "code": 3})
                return
            if not body.get("pipeline_spec"):
                self._answer(400, {"error": "pipeline_spec is required", "code": 3})
                return
            run = {
                "run_id": str(uuid.uuid4()),
                "experiment_id": body.get("experiment_id"),
                "display_name": body.get("display_name"),
                "runtime_config": body.get("runtime_config"),
                "state": "PENDING",
            }
            with stub.lock:
                stub.runs[run["run_id"]] = run
            self._answer(200, run)
        elif request.path.startswith(f"{API}/runs/") and request.path.endswith(":terminate"):
            run_id = request.path[len(f"{API}/runs/") : -len(":terminate")]
            with stub.lock:
                if stub.refuse_terminate:
                    self._answer(500, {"error": "terminate failed", "code": 13})
                elif run_id not in stub.runs:
                    self._answer(404, {"error": f"run {run_id} not found", "code": 5})
                else:
                    self._answer(200, {})
        else:
            self._answer(404, {"error": f"no route {request.path}", "code": 5})


def _filter_value(query: dict[str, list[str]]) -> str | None:
    """The display name a list call filters on (kfp.Client sends one EQUALS predicate)."""
    raw = (query.get("filter") or [None])[0]
    if not raw:
        return None
    predicates = json.loads(raw).get("predicates", [])
    return next((p.get("stringValue") for p in predicates if p.get("key") == "display_name"), None)


@contextmanager
def serve_kfp_stub() -> Iterator[KfpStub]:
    """Run the stub on a free loopback port for the duration of the block."""
    stub = KfpStub()
    handler = type("Handler", (_Handler,), {"stub": stub})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    stub.host = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
