"""Wiring: kserve.ModelServer with homeval's models, watcher, metrics and error answers.

Two things differ from a stock ``ModelServer.start``: the server binds
``settings.predictor_host`` (KServe always binds 0.0.0.0), and per-request logging
(KServe's timing middleware and uvicorn's access log) is off unless
``predictor_access_log`` is set — at one row per request it costs more than the trees.
Models are registered before they are loaded: the server answers "not ready" (503) until
the watcher has loaded the first version, instead of refusing to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import struct
import warnings
from functools import partial
from importlib import metadata
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, ORJSONResponse
from fastapi_offline import FastAPIOffline
from kserve import ModelServer
from kserve.errors import InferenceError, InvalidInput, ModelNotFound, ModelNotReady
from kserve.protocol.rest.server import RESTServer

from homeval.model.pricing import Pricer
from homeval.platform.settings import Settings
from homeval.registry.packaging import load_pricer
from inference import metrics
from inference.bodylimit import BodyLimit
from inference.fastpath import V1FastPath
from inference.model import HousePriceModel
from inference.model_slots import ModelSlot, ModelWatcher, NotLoadedError, WatchEvents
from inference.versions import PinnedVersions

log = logging.getLogger("homeval.predictor")

# KServe answers with ORJSONResponse, which FastAPI now flags on every first use.
warnings.filterwarnings("ignore", message="ORJSONResponse is deprecated")


def _endpoint(path: str) -> str:
    if path.endswith(":predict"):
        return "predict"
    if path.endswith(":explain"):
        return "explain"
    if path.endswith("/infer"):
        return "infer"
    return "other"


_DECODERS = ("kserve.protocol.infer_type", "kserve.protocol.dataplane")


def _raised_decoding_the_request(exc: BaseException) -> bool:
    """True when KServe's body decoding (binary v2 tensors and the like) raised a plain
    Python error before any homeval code ran: a malformed request, not a server fault."""
    modules = []
    frame = exc.__traceback__
    while frame is not None:
        modules.append(str(frame.tb_frame.f_globals.get("__name__", "")))
        frame = frame.tb_next
    ours = any(m.startswith("homeval") or m == "inference.model" for m in modules)
    return not ours and any(m in _DECODERS for m in modules)


def _refused_body(path: str) -> None:
    log.warning("413 on %s: request body over HOMEVAL_PREDICTOR_MAX_BODY_BYTES", path)


class HomevalRESTServer(RESTServer):
    """KServe's REST server on our own FastAPI app, bound where settings say."""

    def __init__(
        self,
        server: ModelServer,
        *,
        host: str,
        port: int,
        access_log: bool,
        model_name: str,
        max_body_bytes: int,
        fast_path: bool = True,
    ) -> None:
        super().__init__(
            "kserve.model_server:app",
            server.dataplane,
            server.model_repository_extension,
            port,
            workers=1,
        )
        self.config.host = host
        self.access_log = access_log
        self.fast_path = fast_path
        self.model_name = model_name
        self.max_body_bytes = max_body_bytes
        if not access_log:
            access = logging.getLogger("uvicorn.access")
            access.handlers = []
            access.propagate = False

    def create_app(self) -> FastAPI:
        # /docs with Swagger UI served from this server (fastapi-offline's copy):
        # FastAPI's own page loads it from a CDN and is blank where no CDN is reachable
        app = FastAPIOffline(
            title="homeval predictor (KServe v1/v2)",
            version=metadata.version("kserve"),
            docs_url="/docs",
            redoc_url=None,
            static_url="/docs/assets",
            default_response_class=ORJSONResponse,
        )
        if self.access_log:
            self._add_middlewares(app)
        self._guard_endpoints(app)  # first: a path matched here is not KServe's any more
        self._register_endpoints(app)
        self._add_exception_handlers(app)
        return app

    def _guard_endpoints(self, app: FastAPI) -> None:
        """No request may take the model offline, and ready means a model serves.

        KServe mounts its model repository's load/unload endpoints: an unload made every
        predict 404 for good while liveness stayed green, so nothing restarted the pod.
        They answer 404 here, registered before KServe's routes so that they match first
        (models follow the registry's alias, see ``watcher``).  And KServe's
        ``/v2/health/ready`` answers 200 whether a model is loaded or not; here it answers
        like ``/v1/models/<name>``: 200 once the served model is loaded."""
        registry = self.dataplane.model_registry
        name = self.model_name

        @app.post("/v2/repository/models/{model_name}/{action}", include_in_schema=False)
        async def repository(model_name: str, action: str) -> JSONResponse:
            return JSONResponse(
                status_code=404,
                content={"error": "models are loaded from the registry's alias, not by request"},
            )

        @app.get("/v2/models/{model_name}", include_in_schema=True)
        async def model_metadata(model_name: str) -> JSONResponse:
            """KServe's v2 metadata plus what it leaves out: the version served and the
            model's kind as the platform."""
            metadata = await self.dataplane.model_metadata(model_name)
            model = registry.get_model(model_name)
            try:
                pricer = model.slot.pricer if isinstance(model, HousePriceModel) else None
            except NotLoadedError:
                pricer = None
            metadata["versions"] = [pricer.version] if pricer and pricer.version else []
            metadata["platform"] = pricer.kind if pricer else ""
            return JSONResponse(content=metadata)

        @app.get("/v2/health/ready", include_in_schema=True)
        async def server_ready() -> JSONResponse:
            model = registry.get_model(name)
            if model is None or not model.ready:
                return JSONResponse(
                    status_code=503,
                    content={"ready": False, "error": f"model {name} is not loaded yet"},
                )
            return JSONResponse(content={"ready": True})

    def create_application(self) -> None:
        app = self.create_app()
        # outside FastAPI's own middleware stack (its error, telemetry and body-limit
        # layers cost a few per cent of a 100-listing request's event-loop time);
        # everything the fast path does not answer goes through that stack unchanged
        models = self.dataplane.model_registry
        served = V1FastPath(app, models) if self.fast_path else app
        self.config.app = BodyLimit(
            PinnedVersions(served, models), self.max_body_bytes, _refused_body
        )

    def _add_exception_handlers(self, app: FastAPI) -> None:
        super()._add_exception_handlers(app)
        registry = self.dataplane.model_registry

        def answer(request: Request, code: int, kind: str, message: str) -> JSONResponse:
            name = request.path_params.get("model_name", "")
            if registry.get_model(name) is None:
                name = "unknown"  # never a label per made-up name
            metrics.record_error(name, _endpoint(request.url.path), code, kind)
            return JSONResponse(status_code=code, content={"error": message})

        async def invalid_input(request: Request, exc: Exception) -> JSONResponse:
            log.debug("400 %s: %s", request.url.path, exc)
            return answer(request, 400, "invalid_input", str(exc))

        async def invalid_body(request: Request, exc: Exception) -> JSONResponse:
            assert isinstance(exc, RequestValidationError)
            first = exc.errors()[0] if exc.errors() else {}
            where = ".".join(str(p) for p in first.get("loc", ()))
            message = f"{where}: {first.get('msg', 'invalid request body')}"
            return answer(request, 400, "invalid_input", message)

        async def not_ready(request: Request, exc: Exception) -> JSONResponse:
            return answer(request, 503, "not_ready", str(exc))

        async def not_found(request: Request, exc: Exception) -> JSONResponse:
            return answer(request, 404, "not_found", str(exc))

        async def internal(request: Request, exc: Exception) -> JSONResponse:
            if _raised_decoding_the_request(exc):
                message = f"the request body cannot be decoded: {type(exc).__name__}: {exc}"
                return answer(request, 400, "invalid_input", message)
            log.error("500 on %s", request.url.path, exc_info=exc)
            return answer(request, 500, "internal", f"internal error: {type(exc).__name__}")

        app.add_exception_handler(InvalidInput, invalid_input)
        # homeval's model never raises InferenceError; KServe does, while decoding a binary
        # v2 body it cannot read (e.g. BYTES that are not UTF-8): the caller's mistake
        app.add_exception_handler(InferenceError, invalid_input)
        app.add_exception_handler(RequestValidationError, invalid_body)
        app.add_exception_handler(ModelNotReady, not_ready)
        app.add_exception_handler(ModelNotFound, not_found)
        app.add_exception_handler(Exception, internal)
        # Starlette re-raises whatever reaches its Exception handler (uvicorn then logs a
        # stack trace even when the answer was a 400); the usual error types are handled
        # one level in, where a handled error stays handled
        for kind in (ValueError, TypeError, LookupError, ArithmeticError, AttributeError,
                     struct.error):  # fmt: skip
            app.add_exception_handler(kind, internal)


class PredictorServer(ModelServer):
    """ModelServer + the watcher that keeps its models on the registry's versions."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            http_port=settings.predictor_port,
            workers=1,
            enable_grpc=False,
            enable_docs_url=True,
            enable_latency_logging=False,
            access_log_format=None,
        )
        self.settings = settings
        self.main_slot = ModelSlot(settings.model_name)
        self.watcher = ModelWatcher(
            main=self.main_slot,
            uri=settings.predictor_model_uri,
            model_name=settings.model_name,
            period_s=settings.predictor_reload_s,
            versions_spec=settings.predictor_versions,
            max_versions=settings.predictor_max_versions,
            loader=partial(load_pricer, threads=settings.predictor_threads),
            events=WatchEvents(
                swapped=self._swapped,
                failed=self._failed,
                added=self._added,
                removed=self._removed,
                fell_back=self._fell_back,
            ),
        )
        self.register_model(self._model(self.main_slot))

    def _model(self, slot: ModelSlot) -> HousePriceModel:
        return HousePriceModel(slot.name, slot, max_instances=self.settings.predictor_max_instances)

    # --- watcher events -------------------------------------------------------------------

    def _swapped(self, name: str, new: Pricer, old: Pricer | None) -> None:
        if old is not None and (old.version, old.run_id) != (new.version, new.run_id):
            with contextlib.suppress(KeyError):
                metrics.MODEL_INFO.remove(name, old.version or "local", old.run_id or "")
        metrics.MODEL_INFO.labels(name, new.version or "local", new.run_id or "").set(1)
        metrics.RELOADS.labels(name, "success").inc()
        model = self.registered_models.get_model(name)
        if model is not None:
            model.ready = True
        # the libraries and the model are long-lived: keep the collector from re-scanning
        # their million objects in the middle of requests (a p99 of tens of ms otherwise)
        gc.freeze()
        log.info(
            "%s now serves version %s (run %s, %s trees%s)%s",
            name,
            new.version or "local",
            new.run_id,
            new.kind,
            ", compiled" if new.forest is not None else ", library",
            f"; was version {old.version}" if old is not None else "",
        )

    def _failed(self, name: str, uri: str, exc: BaseException) -> None:
        metrics.RELOADS.labels(name, "failure").inc()
        serving = self.main_slot.loaded if name == self.main_slot.name else False
        log.error(
            "loading %s for %s failed (%s: %s); %s",
            uri,
            name,
            type(exc).__name__,
            exc,
            "keeping the version it serves" if serving else "not ready yet, will retry",
        )

    def _fell_back(self, name: str, new: Pricer, exc: BaseException) -> None:
        log.warning(
            "%s: the alias's version does not load (%s: %s); serving version %s, the newest "
            "that does, until it does",
            name, type(exc).__name__, exc, new.version,
        )  # fmt: skip
        metrics.RELOADS.labels(name, "fallback").inc()
        self._swapped(name, new, None)

    def _added(self, name: str, slot: ModelSlot) -> None:
        self.register_model(self._model(slot))

    def _removed(self, name: str) -> None:
        if self.registered_models.get_model(name) is not None:
            self.registered_models.unload(name)
        metrics.forget_model(name)
        log.info("%s no longer served (version no longer selected)", name)

    # --- running ----------------------------------------------------------------------------

    def rest_server(self) -> HomevalRESTServer:
        return HomevalRESTServer(
            self,
            host=self.settings.predictor_host,
            port=self.settings.predictor_port,
            access_log=self.settings.predictor_access_log,
            model_name=self.settings.model_name,
            max_body_bytes=self.settings.predictor_max_body_bytes,
        )

    def start(self, models: list[Any] | None = None) -> None:
        """Serve until SIGTERM/SIGINT; the watcher loads models in the background."""
        for model in models or []:
            self.register_model(model)
        self._rest_server = self.rest_server()
        self.servers.append(self._rest_server.start())
        self.setup_event_loop()
        self.register_signal_handler()
        self.watcher.start()
        try:
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                runner.run(self._serve())
        finally:
            self.watcher.stop()


def _loop_factory() -> Any:
    """uvloop when installed, as uvicorn's own "auto" would pick (KServe's ``_serve`` runs
    inside the loop ``start`` creates, so uvicorn's choice never applies): its socket and
    callback paths cost less of every request than asyncio's selector loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return None
    return uvloop.new_event_loop


def serve(settings: Settings) -> None:
    """``homeval serve``: configure MLflow from settings and run the predictor."""
    from homeval.registry.tracking import configure

    configure(settings, create_experiment=False)
    log.info(
        "predictor on %s:%s serving %s (poll every %ss, versions: %s)",
        settings.predictor_host,
        settings.predictor_port,
        settings.predictor_model_uri,
        settings.predictor_reload_s,
        settings.predictor_versions,
    )
    PredictorServer(settings).start()
