"""A lean route for the two hot calls: v1 ``:predict`` and ``:explain`` on a ready model.

At one listing per request FastAPI's per-request machinery (routing, dependency
resolution, Request objects, response classes) costs several times what validating,
encoding and pricing the listing does.  This ASGI middleware answers exactly those two
calls itself — same model object, same ``Model.__call__`` (so KServe's step histograms
and homeval's metrics are recorded as before), same JSON in and out, same 400/503
answers — and hands everything else to the KServe app unchanged: other paths and
methods, models that are not ready or not homeval's, CloudEvents (``ce-*`` headers or a
structured event body) and non-JSON content types.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from kserve.errors import InvalidInput, ModelNotReady
from kserve.model import InferenceVerb

from inference import metrics
from inference.asgi import ASGIApp, Receive, Scope, Send, replay, send_json
from inference.model import HousePriceModel

log = logging.getLogger("homeval.predictor")

_PREFIX = "/v1/models/"
_VERBS = {"predict": InferenceVerb.PREDICT, "explain": InferenceVerb.EXPLAIN}
_JSON = (b"application/json",)


class V1FastPath:
    """ASGI middleware; ``models`` is the server's model registry (name → model)."""

    def __init__(self, app: ASGIApp, models: Any) -> None:
        self.app = app
        self.models = models

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        path: str = scope["path"]
        if not path.startswith(_PREFIX):
            return await self.app(scope, receive, send)
        name, _, verb_name = path[len(_PREFIX) :].rpartition(":")
        verb = _VERBS.get(verb_name)
        model = self.models.get_model(name) if verb is not None else None
        if not isinstance(model, HousePriceModel) or not model.ready:
            return await self.app(scope, receive, send)
        headers: dict[str, str] = {}
        for key, value in scope["headers"]:
            if key.startswith(b"ce-"):
                return await self.app(scope, receive, send)
            if key == b"content-type" and not value.startswith(_JSON):
                return await self.app(scope, receive, send)
            headers[key.decode("latin-1")] = value.decode("latin-1")

        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        endpoint = verb_name
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return await self._error(send, name, endpoint, 400, "invalid_input",
                                     f"Unrecognized request format: {exc}")  # fmt: skip
        if isinstance(payload, dict) and "specversion" in payload:  # a structured CloudEvent
            return await self.app(scope, replay(body), send)
        try:
            response, _ = await model(payload, headers, verb)
        except InvalidInput as exc:
            return await self._error(send, name, endpoint, 400, "invalid_input", str(exc))
        except ModelNotReady as exc:
            return await self._error(send, name, endpoint, 503, "not_ready", str(exc))
        except Exception as exc:
            log.error("500 on %s", path, exc_info=exc)
            return await self._error(send, name, endpoint, 500, "internal",
                                     f"internal error: {type(exc).__name__}")  # fmt: skip
        await send_json(send, 200, orjson.dumps(response))
        return None

    async def _error(
        self, send: Send, name: str, endpoint: str, code: int, kind: str, message: str
    ) -> None:
        metrics.record_error(name, endpoint, code, kind)
        await send_json(send, code, orjson.dumps({"error": message}))
