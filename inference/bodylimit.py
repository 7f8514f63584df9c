"""Refuse a request body over a size before reading it (HTTP 413).

The whole body used to be parsed before the 1,000-instance cap applied: a 100 MB body
peaked at 1.5 GB of memory and a 289 MB one at 6.4 GB, enough for one request to get a
2 Gi pod killed.  This ASGI middleware sits outside everything (the fast path and
KServe's routes alike): a declared ``content-length`` over the limit is answered 413 at
once; a body without one (chunked) is read up to the limit, then 413, or handed on.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

from inference.asgi import ASGIApp, Message, Receive, Scope, Send, replay, send_json


class BodyLimit:
    """ASGI middleware: bodies over ``max_bytes`` get 413 and are never read whole."""

    def __init__(self, app: ASGIApp, max_bytes: int, on_refused: Callable[[str], None]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.on_refused = on_refused
        """Called with the request path of each refused body (metrics)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = None
        for key, value in scope["headers"]:
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return await self._refuse(scope, send, 400, "content-length is not a number")
        if declared is not None:
            if declared > self.max_bytes:
                return await self._refuse(scope, send, 413, self._too_large(declared))
            return await self.app(scope, receive, send)
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        # no declared length (chunked): read up to the limit, then hand the body on
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return await self.app(scope, _replay_messages([message]), send)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return await self._refuse(scope, send, 413, self._too_large(None))
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return await self.app(scope, replay(b"".join(chunks)), send)

    def _too_large(self, declared: int | None) -> str:
        size = f"{declared:,} bytes" if declared is not None else "more"
        return (
            f"request body of {size} is over the limit of {self.max_bytes:,} bytes "
            "(HOMEVAL_PREDICTOR_MAX_BODY_BYTES); send fewer listings per request"
        )

    async def _refuse(self, scope: Scope, send: Send, status: int, message: str) -> None:
        self.on_refused(scope["path"])
        await send_json(send, status, orjson.dumps({"error": message}), close=True)


def _replay_messages(messages: list[Message]) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return {"type": "http.disconnect"}

    return receive
