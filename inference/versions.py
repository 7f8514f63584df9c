"""``/v2/models/{name}/versions/{N}[/infer|/ready]``: the Open Inference Protocol's way to
ask for one version, mapped to the name that version is served under (``{name}-vN``,
``HOMEVAL_PREDICTOR_VERSIONS``).

KServe answers these paths 501 ("model versioning not supported yet", a stack trace
logged at ERROR); here a served version answers as its pinned name does, and a version
not served is a clean 404 naming what is.
"""

from __future__ import annotations

import re
from typing import Any, Final

import orjson

from inference.asgi import ASGIApp, Receive, Scope, Send, send_json
from inference.model_slots import version_name

_VERSIONED: Final = re.compile(r"^/v2/models/([^/]+)/versions/([^/]+)(/infer|/ready)?$")


class PinnedVersions:
    """ASGI middleware; ``models`` is the server's model registry (name → model)."""

    def __init__(self, app: ASGIApp, models: Any) -> None:
        self.app = app
        self.models = models

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _VERSIONED.match(scope["path"]) if scope["type"] == "http" else None
        if match is None:
            return await self.app(scope, receive, send)
        name, version, rest = match.groups()
        pinned = version_name(name, version)
        if self.models.get_model(pinned) is None:
            prefix = version_name(name, "")
            served = sorted(
                n.removeprefix(prefix) for n in self.models.get_models() if n.startswith(prefix)
            )
            listing = ", ".join(served) if served else "none"
            message = (
                f"version {version} of {name} is not served (versions served: {listing}; "
                "HOMEVAL_PREDICTOR_VERSIONS chooses them)"
            )
            return await send_json(send, 404, orjson.dumps({"error": message}))
        path = f"/v2/models/{pinned}{rest or ''}"
        return await self.app({**scope, "path": path, "raw_path": path.encode()}, receive, send)
