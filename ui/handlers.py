"""What each button of the page does, as plain functions of plain values.

Nothing here imports Gradio: ``ui/app.py`` only wires these to components, so the tests
call the handlers directly against a real store, a real registry and a real predictor.
Every handler catches what it knows can fail (predictor down or slow, registry or store
unreachable, no report yet) and answers with a message a person can read; the rest of
the page keeps working because no handler depends on another's success.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import pandas as pd
import sqlalchemy as sa

from homeval.data.listing_input import FIELD_LABELS, check_field, check_listing
from homeval.data.store import Store, StoreError
from homeval.drift.report import DriftSummary, read_drift_summary, serving_reports_dir
from homeval.platform.settings import Settings
from homeval.registry.catalog import (
    RegistryUnavailableError,
    VersionInfo,
    list_versions,
    promotion_times,
)
from ui import metrics
from ui.feedback import record_prediction, rows_added_by
from ui.limits import RateLimiter
from ui.location_choices import CachedLocationChoices, LocationChoices
from ui.metric_labels import format_metric, headline, metric_label
from ui.predictor_client import PredictorClient, PredictorError, PricePrediction
from ui.price_explanation import Waterfall, money, waterfall
from ui.training_history import history_frame, metric_columns

log = logging.getLogger("homeval.ui")


@dataclass
class Services:
    """Everything the handlers talk to, built once per process from settings."""

    settings: Settings
    predictor: PredictorClient
    store: Store
    choices: CachedLocationChoices
    registry: Callable[[], Any]
    """Returns an ``mlflow.MlflowClient`` (made lazily: MLflow is slow to import)."""
    limiter: RateLimiter | None = None
    """Requests per client address; None: unlimited."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        store = Store.from_settings(settings)
        return cls(
            settings=settings,
            predictor=PredictorClient(
                settings.predictor_url, timeout_s=settings.ui_predictor_timeout_s
            ),
            store=store,
            choices=CachedLocationChoices(store, ttl_s=settings.ui_choices_ttl_s),
            registry=_registry_factory(settings),
            limiter=RateLimiter(settings.ui_requests_per_client_minute),
        )

    def close(self) -> None:
        self.predictor.close()
        self.store.dispose()


def _registry_factory(settings: Settings) -> Callable[[], Any]:
    """The registry client, made on first use: MLflow is slow to import."""
    client: list[Any] = []

    def get() -> Any:
        if not client:
            from homeval.registry.tracking import fail_fast_client

            client.append(fail_fast_client(settings, timeout_s=settings.ui_registry_timeout_s))
        return client[0]

    return get


@contextmanager
def _timed(call: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        metrics.PREDICTOR_LATENCY.labels(call=call).observe(time.perf_counter() - start)


# --- Price tab --------------------------------------------------------------------------------


@dataclass
class PriceView:
    """What the Price tab shows after a click."""

    errors: dict[str, str] = field(default_factory=dict)
    """Per form field, a message to show next to it."""
    message: str = ""
    """A line above the result: why there is no price, or what else went wrong."""
    prediction: PricePrediction | None = None
    listing: dict[str, Any] = field(default_factory=dict)
    fall: Waterfall | None = None
    explain_problem: str | None = None
    stored: bool = False
    model: str = ""

    @property
    def ok(self) -> bool:
        return self.prediction is not None

    def headline(self) -> str:
        """Price and interval as a person reads them (Markdown)."""
        if self.prediction is None:
            return ""
        p = self.prediction
        text = f"## Estimated price: {money(p.price)}"
        if p.lower is not None and p.upper is not None:
            cover = f"{p.coverage:.0%} " if p.coverage else ""
            text += f"\n\n{cover}likely range: **{money(p.lower)} – {money(p.upper)}**"
            known = place_note(p.segment)
            if known:
                text += f"\n\n{known}"
        who = f"model `{self.model}`" + (f", version {p.model_version}" if p.model_version else "")
        return f"{text}\n\n<small>Priced by {who}.</small>"


PLACE_NOTES: Final = {
    "known_zip": "The model learnt from listings in this ZIP code.",
    "new_zip": "No listings of this ZIP code were seen, but some of this city: "
    "the range is a little wider.",
    "new_city": "Few listings near this place: no listings of this city were seen, so the "
    "price comes from the places around it and the range is wide.",
    "new_state": "No listings of this state were seen: the price comes from the nearest "
    "places the model knows, and the range is very wide.",
}
"""What a person reads about how well the model knows the listing's place (``NOVELTY``)."""


def place_note(segment: str | None) -> str:
    """A sentence for the interval's segment (``'house:new_city'``), or '' if unknown."""
    if not segment:
        return ""
    kind, _, place = segment.partition(":")
    note = PLACE_NOTES.get(place, "")
    if kind == "land" and note:
        note += " Land (no beds, baths or living area) is priced less surely than a house."
    return note


def _error_kind(exc: PredictorError) -> str:
    return f"predictor_{exc.kind}"


def _predict(services: Services, model: str, listing: dict[str, Any]) -> PricePrediction:
    """The price with its interval; a model logged without one is priced without it."""
    try:
        with _timed("predict"):
            return services.predictor.predict(model, [listing], interval=True)[0]
    except PredictorError as exc:
        if exc.kind != "rejected" or "has no interval" not in str(exc):
            raise
    with _timed("predict"):
        return services.predictor.predict(model, [listing], interval=False)[0]


class PriceRefusedError(Exception):
    """No price for a listing a script sent: the message names what is wrong."""


def price_answer(
    services: Services, values: Mapping[str, Any], model: str, client: str | None = None
) -> dict[str, Any]:
    """``price_listing`` for a script: the price, its range and segment as plain JSON."""
    view = price_listing(services, values, model, client)
    if view.prediction is None:
        wrong = "; ".join(f"{field}: {problem}" for field, problem in view.errors.items())
        raise PriceRefusedError(wrong or view.message or "no price")
    p = view.prediction
    return {
        "price": p.price,
        "lower": p.lower,
        "upper": p.upper,
        "coverage": p.coverage,
        "segment": p.segment,
        "model": view.model,
        "model_version": p.model_version,
    }


def price_listing(
    services: Services, values: Mapping[str, Any], model: str, client: str | None = None
) -> PriceView:
    """Check the form, price the listing, explain it, store it as a user row.

    ``client`` is the caller's address: it is held to a request rate and to a number of
    stored rows a day, so no one client can hammer the predictor or, with thousands of
    made-up listings, outweigh the feed's rows and close the teacher-share gate.
    """
    metrics.REQUESTS.labels(action="price").inc()
    model = model or services.settings.model_name
    if client and services.limiter is not None and not services.limiter.allow(client):
        metrics.ERRORS.labels(kind="rate_limited").inc()
        per_minute = services.settings.ui_requests_per_client_minute
        return PriceView(
            message=f"Too many listings from your address (at most {per_minute} a minute): "
            "wait a moment and try again.",
            model=model,
        )
    check = check_listing(values)
    if not check.ok:
        metrics.ERRORS.labels(kind="invalid_input").inc()
        return PriceView(
            errors=check.errors, message=f"Please correct: {check.summary()}.", model=model
        )
    listing = check.listing
    try:
        prediction = _predict(services, model, listing)
    except PredictorError as exc:
        metrics.ERRORS.labels(kind=_error_kind(exc)).inc()
        log.warning("predict failed (%s): %s", exc.kind, exc)
        view = PriceView(message=f"No price: {exc}.", listing=listing, model=model)
        if exc.kind == "rejected":
            view.errors = field_errors_from_message(str(exc))
        return view
    metrics.PREDICTIONS.inc()
    view = PriceView(prediction=prediction, listing=listing, model=model)

    try:
        with _timed("explain"):
            explanation = services.predictor.explain(model, [listing])[0]
        view.fall = waterfall(explanation, listing)
    except PredictorError as exc:
        metrics.ERRORS.labels(kind=_error_kind(exc)).inc()
        view.explain_problem = f"The explanation is not available: {exc}."

    if services.settings.ui_store_feedback:
        _store_user_row(services, view, prediction, client)
    return view


def _store_user_row(
    services: Services, view: PriceView, prediction: PricePrediction, client: str | None
) -> None:
    cap = services.settings.ui_user_rows_per_client_day
    try:
        if client and rows_added_by(services.store, client) >= cap:
            metrics.ERRORS.labels(kind="user_rows_capped").inc()
            view.message = (
                f"The price is shown but not saved: your address has added its {cap} "
                "listings of the day."
            )
            return
        record_prediction(
            services.store,
            view.listing,
            predicted_price=prediction.price,
            model_version=prediction.model_version or view.model,
            request_id=uuid.uuid4().hex,
            client=client,
        )
        view.stored = True
    except (StoreError, sa.exc.SQLAlchemyError) as exc:
        metrics.ERRORS.labels(kind="store").inc()
        log.warning("prediction not stored: %s", exc)
        view.message = "The price is shown but could not be saved (the store is unreachable)."


_FIELD_IN_MESSAGE = re.compile(r"(?:instances\[\d+\]: )?(?P<field>[a-z_]+): (?P<what>.+)")


def field_errors_from_message(message: str) -> dict[str, str]:
    """The predictor names the field in its 400 message ("instances[0]: bed: must not be
    negative, got -1"); put the rest next to that field."""
    match = _FIELD_IN_MESSAGE.match(message)
    if match and match["field"] in FIELD_LABELS:
        return {match["field"]: match["what"]}
    return {}


def validate_field(name: str, value: Any) -> str | None:
    """What is wrong with one box, if anything (checked when the cursor leaves it)."""
    return check_field(name, value)


def model_options(services: Services) -> tuple[list[tuple[str, str]], str]:
    """(label, model name) pairs for the selector, and a note when the list is partial.

    The served model names come from the predictor; the alias the platform serves as
    default comes first and says so.
    """
    default = services.settings.model_name
    try:
        names = services.predictor.models()
    except PredictorError as exc:
        metrics.ERRORS.labels(kind=_error_kind(exc)).inc()
        label = model_label(default, default, services.settings.model_alias)
        return [(label, default)], str(exc)
    alias = services.settings.model_alias
    ordered = sorted(names, key=lambda n: _model_order(n, default))
    return [(model_label(n, default, alias), n) for n in ordered] or [(default, default)], ""


def _model_order(name: str, default: str) -> tuple[int, int, str]:
    """The aliased model first, then pinned versions newest first."""
    if name == default:
        return (0, 0, name)
    suffix = name.removeprefix(f"{default}-v")
    return (1, -int(suffix), name) if suffix.isdigit() else (2, 0, name)


def model_label(name: str, default: str, alias: str) -> str:
    """house-price → "Production (house-price)", house-price-v3 → "Version 3"."""
    if name == default:
        return f"{alias.capitalize()} ({name})"
    suffix = name.removeprefix(f"{default}-v")
    return f"Version {suffix}" if suffix.isdigit() else name


def location_choices(services: Services) -> LocationChoices:
    metrics.REQUESTS.labels(action="choices").inc()
    choices = services.choices.get()
    if choices.problem:
        metrics.ERRORS.labels(kind="store").inc()
    return choices


# --- Models tab -------------------------------------------------------------------------------


@dataclass
class ModelsView:
    table: pd.DataFrame
    message: str = ""
    versions: list[VersionInfo] = field(default_factory=list)


MODEL_COLUMNS = ["version", "aliases", "kind", "registered", "production since"]


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def models_view(services: Services) -> ModelsView:
    """Registered versions, aliases, metrics, which one is production and since when."""
    metrics.REQUESTS.labels(action="models").inc()
    settings = services.settings
    try:
        promotions = promotion_times(services.store)
    except (StoreError, sa.exc.SQLAlchemyError):
        metrics.ERRORS.labels(kind="store").inc()
        promotions = {}
    try:
        versions = list_versions(
            services.registry(),
            settings.model_name,
            production_alias=settings.model_alias,
            promotions=promotions,
        )
    except RegistryUnavailableError as exc:
        metrics.ERRORS.labels(kind="registry").inc()
        return ModelsView(pd.DataFrame(columns=MODEL_COLUMNS), f"{exc}.")
    except Exception as exc:  # MLflow raises many types when its server is down
        metrics.ERRORS.labels(kind="registry").inc()
        log.warning("registry unreachable: %r", exc)
        return ModelsView(
            pd.DataFrame(columns=MODEL_COLUMNS),
            f"The model registry is not reachable ({type(exc).__name__}).",
        )
    if not versions:
        return ModelsView(
            pd.DataFrame(columns=MODEL_COLUMNS),
            f"No version of `{settings.model_name}` is registered yet: run the pipeline.",
        )
    rows = []
    for v in versions:
        row: dict[str, Any] = {
            "version": v.version,
            "aliases": ", ".join(v.aliases),
            "kind": v.kind or "",
            "registered": _when(v.created_at),
            "production since": _when(v.production_since),
        }
        for name, value in headline(v.metrics).items():
            row[metric_label(name)] = format_metric(name, value)
        rows.append(row)
    production = next((v for v in versions if settings.model_alias in v.aliases), None)
    message = (
        f"Production: version {production.version} since {_when(production.production_since)}."
        if production
        else f"No version has the alias `{settings.model_alias}` yet."
    )
    return ModelsView(pd.DataFrame(rows), message, versions)


# --- Training tab -----------------------------------------------------------------------------


@dataclass
class TrainingView:
    table: pd.DataFrame
    metrics: list[str]
    history: pd.DataFrame
    message: str = ""


def training_view(services: Services) -> TrainingView:
    metrics.REQUESTS.labels(action="training").inc()
    try:
        history = history_frame(services.store)
    except (StoreError, sa.exc.SQLAlchemyError) as exc:
        metrics.ERRORS.labels(kind="store").inc()
        log.warning("training log unreadable: %s", exc)
        empty = pd.DataFrame()
        return TrainingView(empty, [], empty, "The training log is not reachable right now.")
    names = metric_columns(history)
    if history.empty:
        return TrainingView(history, names, history, "No pipeline run has been logged yet.")
    table = history.copy()
    table["time"] = table["time"].dt.strftime("%Y-%m-%d %H:%M:%S")
    keep = ["time", "step", "status", "model_version", "message", *names[:6]]
    return TrainingView(table.loc[:, keep], names, history)


# --- Drift tab --------------------------------------------------------------------------------


def _fetched_summary(services: Services, folder: Path, kind: str) -> DriftSummary:
    """The newest published report of ``kind`` (copied from MLflow when new), as read."""
    from homeval.registry.drift_reports import fetch_latest

    try:  # the check may have run elsewhere (a pipeline pod): take its copy from MLflow
        fetch_latest(services.registry(), services.settings.mlflow_experiment, folder, kind=kind)
    except Exception as exc:  # registry down: show what this machine has
        metrics.ERRORS.labels(kind="registry").inc()
        log.warning("drift report not fetched from MLflow: %s", exc)
    summary = read_drift_summary(folder)
    if summary.problem:
        metrics.ERRORS.labels(kind="drift_report").inc()
    return summary


def drift_view(services: Services) -> DriftSummary:
    """The latest market-drift check (the pipeline's drift step)."""
    from homeval.registry.drift_reports import MARKET

    metrics.REQUESTS.labels(action="drift").inc()
    return _fetched_summary(services, services.settings.reports_dir, MARKET)


NO_SERVING_CHECK: Final = (
    "No serving-drift check yet: the pipeline's drift step computes one "
    "(or run `homeval drift serving`)."
)


def serving_drift_view(services: Services) -> DriftSummary:
    """The latest serving-drift check (the listings people priced vs what the production
    model learnt from), as the pipeline or ``homeval drift serving`` published it.  The UI
    never computes one: that takes Evidently and minutes of CPU."""
    from homeval.registry.drift_reports import SERVING

    metrics.REQUESTS.labels(action="serving_drift").inc()
    summary = _fetched_summary(services, serving_reports_dir(services.settings), SERVING)
    if summary.problem and summary.updated is None:
        return replace(summary, problem=NO_SERVING_CHECK)
    return summary
