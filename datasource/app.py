"""The feed simulator: the HTTP face of the external Realtor feed the platform collects from.

It speaks the seed project's protocol — ``GET /data?group_number=N&day=D`` hands out the
next batch of a (group, day), ``400`` once all are served, ``GET /restart_data_generation``
starts over — and adds what tests and demos need: a drift schedule, injected 503s and
latency, and (when enabled) ``POST /admin/drift`` to change drift without a restart.

A batch is handed out once: the cursor moves only after the batch is built and the
client is still there, so an injected failure or a client that timed out never loses it.
But the feed cannot know whether the client *stored* what it was handed, so a collector
that dies after the answer loses that batch.  homeval's own collector therefore keeps its
position in its store and asks by number (``&batch_number=K``): the same rows again on
request, no cursor moved.  ``&peek=true`` shows the next batch without taking it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from typing import Annotated, Any, Final

from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from datasource.cursors import Cursors
from datasource.drift import DriftSchedule
from datasource.sources import BatchSource, open_source
from homeval.platform.settings import Settings

log = logging.getLogger("homeval.datasource")

EXHAUSTED_HEADER = "X-Feed-Exhausted"
"""Set on the 400 that means "no more batches", so clients tell it from a bad request."""

GroupNumber = Annotated[int, Query(ge=1, le=100_000, description="Your group's number.")]
Day = Annotated[
    str,
    Query(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$", description="e.g. Tuesday"),
]

BatchNumber = Annotated[
    int | None,
    Query(ge=0, le=10_000_000, description="This batch (from 0), served again on request; "
          "moves no cursor. Without it: the next batch of the group's cursor."),
]  # fmt: skip
Peek = Annotated[
    bool, Query(description="Show the next batch without taking it (moves no cursor).")
]


def _batch(group_number: int, day: str, number: int, rows: list[Any]) -> JSONResponse:
    body = {"group_number": group_number, "day": day, "batch_number": number, "data": rows}
    return JSONResponse(body)  # plain json.dumps: 60k values need no jsonable_encoder


class DriftRequest(BaseModel):
    """Body of ``POST /admin/drift``; ``states`` as 'CA:0.5,TX:0.3' or {name: share}."""

    start_batch: int | None = Field(default=None, ge=0)
    price_shift_per_batch: float = Field(default=0.0, gt=-1)
    states: str | dict[str, float] = ""


class RequestLog:
    """Logs every request with its status and time.

    Plain ASGI on purpose: Starlette's ``@app.middleware("http")`` hides a client's
    disconnect from the endpoint, which must see it to keep an abandoned batch.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            query = scope.get("query_string", b"").decode("latin-1")
            log.info("%s %s%s -> %s (%.0f ms)", scope["method"], scope["path"],
                     f"?{query}" if query else "", status or "no answer",
                     (time.perf_counter() - started) * 1000)  # fmt: skip


class Feed:
    """The simulator's state: the data, the cursors, the drift schedule, the fault dice."""

    def __init__(self, settings: Settings, source: BatchSource | None = None) -> None:
        self.settings = settings
        self.source = source or open_source(settings)
        self.cursors = Cursors(self.source.identity, settings.datasource_state_file)
        # names the data (not the URL) so a collector's stored position follows the data
        self.data_id = hashlib.sha256(self.source.identity.encode()).hexdigest()[:16]
        self.drift = DriftSchedule.from_settings(settings)
        self.fail_rate = settings.datasource_fail_rate
        self.latency_s = settings.datasource_latency_s
        self.dice = random.Random(settings.datasource_seed)
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}

    def lock(self, key: tuple[int, str]) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())


FEED_PARAMETERS: Final = ("group_number", "day")
DATA_PARAMETERS: Final = (*FEED_PARAMETERS, "batch_number", "peek")


def _refuse_unknown_parameters(request: Request, known: tuple[str, ...]) -> None:
    """400 for a query parameter the feed does not know: a misspelt one used to be ignored
    and the next batch served (and consumed) as if the caller had got what it asked for."""
    unknown = sorted(set(request.query_params) - set(known))
    if unknown:
        raise HTTPException(
            status_code=400,
            detail=f"unknown query parameter(s) {', '.join(map(repr, unknown))}: "
            f"this path takes only {', '.join(known)}",
        )


def _exhausted(detail: str) -> HTTPException:
    return HTTPException(status_code=400, detail=detail, headers={EXHAUSTED_HEADER: "true"})


def create_app(settings: Settings | None = None, source: BatchSource | None = None) -> FastAPI:
    """The FastAPI app over the settings' data (a CSV or the generator)."""
    feed = Feed(settings or Settings(), source)
    # /docs with Swagger UI served from this app (FastAPI's own page loads it from a CDN
    # and is blank offline)
    app = FastAPIOffline(
        title="homeval feed simulator",
        description="Plays the external Realtor.com feed: batches of listings per group/day.",
        version="1",
        redoc_url=None,
        static_url="/docs/assets",
    )
    app.state.feed = feed

    app.add_middleware(RequestLog)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            where = [str(p) for p in error.get("loc", ()) if p not in ("query", "body")]
            problems.append(f"{'.'.join(where) or 'request'}: {error.get('msg', 'invalid')}")
        return JSONResponse(status_code=422, content={"detail": "; ".join(problems)})

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "data_id": feed.data_id,
            **feed.source.describe(),
            "drift": feed.drift.describe(),
        }

    @app.get("/data")
    async def data(
        request: Request,
        group_number: GroupNumber,
        day: Day,
        batch_number: BatchNumber = None,
        peek: Peek = False,
    ) -> Any:
        _refuse_unknown_parameters(request, DATA_PARAMETERS)
        key = (group_number, day)
        if feed.fail_rate and feed.dice.random() < feed.fail_rate:
            return JSONResponse(
                status_code=503,
                content={"detail": f"injected failure (fail rate {feed.fail_rate:g}); retry"},
            )
        if feed.latency_s:
            await asyncio.sleep(feed.latency_s)
        if batch_number is not None:  # asked by number: served again on request, no cursor
            if batch_number >= feed.source.batches:
                raise _exhausted(
                    f"group {group_number} day {day}: no batch {batch_number}, the data has "
                    f"{feed.source.batches} (numbered from 0)"
                )
            rows = await run_in_threadpool(feed.source.batch, group_number, day, batch_number,
                                           feed.drift)  # fmt: skip
            return _batch(group_number, day, batch_number, rows)
        async with feed.lock(key):
            number = feed.cursors.peek(key)
            if number >= feed.source.batches:
                raise _exhausted(
                    f"group {group_number} day {day}: all {feed.source.batches} "
                    f"batches were served; GET /restart_data_generation?group_number="
                    f"{group_number}&day={day} starts over"
                )
            rows = await run_in_threadpool(feed.source.batch, group_number, day, number,
                                           feed.drift)  # fmt: skip
            if peek:
                return _batch(group_number, day, number, rows)
            if await request.is_disconnected():
                log.warning("client left before batch %d of group %d/%s; not advancing",
                            number, group_number, day)  # fmt: skip
                return Response(status_code=499)
            feed.cursors.advance(key, number)
        return _batch(group_number, day, number, rows)

    @app.get("/restart_data_generation")
    async def restart(request: Request, group_number: GroupNumber, day: Day) -> dict[str, Any]:
        _refuse_unknown_parameters(request, FEED_PARAMETERS)
        key = (group_number, day)
        async with feed.lock(key):
            feed.cursors.reset(key)
        return {"group_number": group_number, "day": day, "restarted": True, "next_batch": 0}

    if feed.settings.datasource_admin:

        @app.get("/admin/drift")
        def get_drift() -> dict[str, Any]:
            return feed.drift.describe()

        @app.post("/admin/drift")
        def set_drift(body: DriftRequest) -> dict[str, Any]:
            try:
                feed.drift = DriftSchedule.build(
                    body.start_batch, body.price_shift_per_batch, body.states
                )
            except ValueError as exc:
                raise HTTPException(status_code=422, detail=f"drift: {exc}") from None
            log.info("drift schedule now %s", feed.drift.describe())
            return feed.drift.describe()

    return app


def serve(settings: Settings) -> None:
    """Run the simulator with uvicorn until interrupted (requests are logged above)."""
    import uvicorn

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_app(settings)
    feed: Feed = app.state.feed
    log.info("serving %s on http://%s:%d", feed.source.describe(), settings.datasource_host,
             settings.datasource_port)  # fmt: skip
    uvicorn.run(
        app,
        host=settings.datasource_host,
        port=settings.datasource_port,
        access_log=False,
        log_level="info",
        timeout_graceful_shutdown=5,
    )
