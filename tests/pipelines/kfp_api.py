"""A stand-in KFP API (v2beta1) on a loopback port: records what kfp.Client sends.

Only the calls ``homeval pipeline submit`` makes are answered: health, experiments
(find or create), create a run, get a run, terminate it.  The states a run goes through are scripted
per test; everything else answers 404 so an unexpected call shows up as a failure.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API = "/apis/v2beta1"


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


@dataclass
class KfpApi:
    """What the stub was asked, and the states it will report for the created run."""

    url: str = ""
    calls: list[Call] = field(default_factory=list)
    states: list[str] = field(default_factory=lambda: ["RUNNING", "SUCCEEDED"])
    refuse_runs: bool = False
    run_id: str = "run-0001"

    def created_runs(self) -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and c.path == f"{API}/runs"]

    def next_state(self) -> str:
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]


def _handler(api: KfpApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _call(self) -> Call:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            call = Call(
                self.command, parts.path, parse_qs(parts.query), json.loads(raw) if raw else None
            )
            api.calls.append(call)
            return call

        def do_GET(self) -> None:
            call = self._call()
            if call.path == f"{API}/healthz":
                self._send(200, {"multi_user": False})
            elif call.path == f"{API}/experiments":
                self._send(200, {"experiments": [], "total_size": 0})
            elif call.path == f"{API}/runs/{api.run_id}":
                state = api.next_state()
                self._send(
                    200,
                    {
                        "run_id": api.run_id,
                        "display_name": "run",
                        "state": state,
                        "error": {"message": "step train failed"} if state == "FAILED" else None,
                        "run_details": {
                            "task_details": [
                                {
                                    "task_id": "t1",
                                    "display_name": "collect listings from the feed",
                                    "state": "SUCCEEDED",
                                }
                            ]
                        },
                    },
                )
            else:
                self._send(404, {"error": f"no route {call.path}", "code": 5})

        def do_POST(self) -> None:
            call = self._call()
            if call.path == f"{API}/experiments":
                name = (call.body or {}).get("display_name", "")
                self._send(200, {"experiment_id": "exp-1", "display_name": name})
            elif call.path == f"{API}/runs":
                if api.refuse_runs:
                    self._send(400, {"error": "pipeline spec is invalid", "code": 3})
                    return
                self._send(
                    200,
                    {
                        "run_id": api.run_id,
                        "display_name": call.body["display_name"],
                        "state": "PENDING",
                    },
                )
            elif call.path == f"{API}/runs/{api.run_id}:terminate":
                self._send(200, {})
            else:
                self._send(404, {"error": f"no route {call.path}", "code": 5})

    return Handler


@contextmanager
def kfp_api() -> Iterator[KfpApi]:
    api = KfpApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
