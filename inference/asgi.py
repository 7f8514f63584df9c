"""What homeval's ASGI layers around the KServe app share: the types and a JSON answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def send_json(send: Send, status: int, content: bytes, *, close: bool = False) -> None:
    """Answer with a JSON body already encoded (``close``: ask the client to hang up, for
    a request whose body was not read)."""
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def replay(body: bytes) -> Receive:
    """A ``receive`` that hands an already read body on (as the whole body, every time
    it is asked: the app behind reads it once)."""

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
