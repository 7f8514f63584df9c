"""The page: four tabs wired to ``ui/handlers.py``.  Layout and Gradio glue only."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable
from typing import Any, Final

import gradio as gr
import pandas as pd

from homeval.listing_input import FIELD_LABELS, STATUS_LABELS
from homeval.model_catalog import metric_label
from homeval.schema import STATUSES
from ui import charts, handlers, metrics

log = logging.getLogger("homeval.ui")

FORM_FIELDS: Final = (
    "state",
    "city",
    "zip_code",
    "status",
    "bed",
    "bath",
    "house_size",
    "acre_lot",
    "prev_sold_date",
    "brokered_by",
    "street",
)
"""Order of the form's inputs after the model selector (the price handler's arguments)."""

PAGE_ONLY: Final[dict[str, Any]] = {"api_visibility": "undocumented"}
"""The page's own events: callable by the page, left out of the API a script sees (which
is the one ``/price_listing`` endpoint, ``_price_api``)."""

DEFAULTS: Final[dict[str, Any]] = {
    "status": "for_sale",
    "bed": 3,
    "bath": 2,
    "house_size": 1800,
    "acre_lot": 0.25,
    "prev_sold_date": "",
}

CSS: Final = """
.field-error p { color: #c62828; font-size: 0.85em; margin: -4px 0 6px 4px; }
#price-result h2 { margin-bottom: 0.2em; }
.section-title p { font-weight: 600; margin: 8px 0 0 2px; }
"""

ERROR_PREFIX: Final = "⚠ "


def _guard(fallback: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Any unexpected failure becomes the fallback's message, never a traceback."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def run(*args: Any) -> Any:
            try:
                return fn(*args)
            except Exception as exc:
                metrics.ERRORS.labels(kind="internal").inc()
                log.exception("handler %s failed", fn.__name__)
                return fallback(f"Something went wrong ({type(exc).__name__}); please retry.")

        return run

    return wrap


def client_address(request: gr.Request | None) -> str | None:
    """The caller's address as the server saw it (behind a proxy uvicorn puts the
    forwarded one here only for proxies it trusts: ``FORWARDED_ALLOW_IPS``)."""
    client = getattr(request, "client", None) if request is not None else None
    host = getattr(client, "host", None)
    return str(host) if host else None


def _error_updates(errors: dict[str, str]) -> list[Any]:
    return [
        gr.update(value=ERROR_PREFIX + errors[name], visible=True)
        if name in errors
        else gr.update(value="", visible=False)
        for name in FORM_FIELDS
    ]


def _price_api(services: handlers.Services) -> None:
    """``/price_listing``: the web page's pricing for scripts (``gradio_client``), fields
    by name, a JSON answer; bad input raises an error naming the fields."""

    def price_listing(
        state: str,
        city: str | None = None,
        zip_code: str | None = None,
        status: str = "for_sale",
        bed: float | None = None,
        bath: float | None = None,
        house_size: float | None = None,
        acre_lot: float | None = None,
        prev_sold_date: str | None = None,
        brokered_by: str | None = None,
        street: str | None = None,
        model: str | None = None,
        request: gr.Request | None = None,
    ) -> dict[str, Any]:
        """Price one listing as the Price tab does (and store it as a user row). `model`:
        any served name (house-price, or a pinned house-price-vN); empty means the
        production model; `status` is for_sale unless given, as on the page. Returns price,
        lower, upper, coverage, segment, model, model_version."""
        values = {
            "state": state, "city": city, "zip_code": zip_code, "status": status,
            "bed": bed, "bath": bath, "house_size": house_size, "acre_lot": acre_lot,
            "prev_sold_date": prev_sold_date, "brokered_by": brokered_by, "street": street,
        }  # fmt: skip
        try:
            return handlers.price_answer(services, values, model or "", client_address(request))
        except handlers.PriceRefusedError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    gr.api(price_listing, api_name="price_listing")


def build_blocks(services: handlers.Services) -> gr.Blocks:
    """The Blocks app, bound to ``services``."""
    settings = services.settings

    with gr.Blocks(title="homeval — what is this house worth?", analytics_enabled=False) as demo:
        gr.Markdown(
            "# homeval\nEstimate a US house price from its listing, see what drives it, "
            "and follow the models behind it."
        )
        with gr.Tabs():
            # --- Price ---------------------------------------------------------------------
            with gr.Tab("Price a house", id="price"), gr.Row(equal_height=False):
                with gr.Column(scale=5):
                    model = gr.Dropdown(
                        label="Model",
                        choices=[(settings.model_name, settings.model_name)],
                        value=settings.model_name,
                        info="Production, or a specific registered version.",
                        elem_id="model",
                    )
                    model_note = gr.Markdown(elem_id="model-note")
                    inputs: dict[str, Any] = {}
                    errors: dict[str, Any] = {}

                    def error_box(name: str) -> None:
                        errors[name] = gr.Markdown(
                            visible=False, elem_classes="field-error",
                            elem_id=f"{name}-error",
                        )  # fmt: skip

                    gr.Markdown("Location", elem_classes="section-title")
                    with gr.Group():
                        inputs["state"] = gr.Dropdown(
                            label=FIELD_LABELS["state"], allow_custom_value=True,
                            elem_id="state",
                        )  # fmt: skip
                        error_box("state")
                        inputs["city"] = gr.Dropdown(
                            label=FIELD_LABELS["city"], allow_custom_value=True,
                            elem_id="city",
                        )  # fmt: skip
                        error_box("city")
                        inputs["zip_code"] = gr.Dropdown(
                            label=FIELD_LABELS["zip_code"], allow_custom_value=True,
                            elem_id="zip_code",
                        )  # fmt: skip
                        error_box("zip_code")
                    location_note = gr.Markdown(elem_id="location-note")

                    gr.Markdown("House", elem_classes="section-title")
                    with gr.Group():
                        inputs["status"] = gr.Dropdown(
                            label=FIELD_LABELS["status"],
                            choices=[(STATUS_LABELS[s], s) for s in STATUSES],
                            value=DEFAULTS["status"], elem_id="status",
                        )  # fmt: skip
                        error_box("status")
                        with gr.Row():
                            inputs["bed"] = gr.Number(
                                label=FIELD_LABELS["bed"], value=DEFAULTS["bed"],
                                elem_id="bed",
                            )  # fmt: skip
                            inputs["bath"] = gr.Number(
                                label=FIELD_LABELS["bath"], value=DEFAULTS["bath"],
                                elem_id="bath",
                            )  # fmt: skip
                        error_box("bed")
                        error_box("bath")
                        with gr.Row():
                            inputs["house_size"] = gr.Number(
                                label=FIELD_LABELS["house_size"],
                                value=DEFAULTS["house_size"], elem_id="house_size",
                            )  # fmt: skip
                            inputs["acre_lot"] = gr.Number(
                                label=FIELD_LABELS["acre_lot"], value=DEFAULTS["acre_lot"],
                                elem_id="acre_lot",
                            )  # fmt: skip
                        error_box("house_size")
                        error_box("acre_lot")

                    gr.Markdown("History", elem_classes="section-title")
                    with gr.Group():
                        inputs["prev_sold_date"] = gr.Textbox(
                            label=FIELD_LABELS["prev_sold_date"],
                            placeholder="YYYY-MM-DD, empty if never sold",
                            value=DEFAULTS["prev_sold_date"], elem_id="prev_sold_date",
                        )  # fmt: skip
                        error_box("prev_sold_date")
                    with gr.Accordion("Listing ids (optional)", open=False):
                        inputs["brokered_by"] = gr.Textbox(
                            label=FIELD_LABELS["brokered_by"], elem_id="brokered_by"
                        )
                        error_box("brokered_by")
                        inputs["street"] = gr.Textbox(
                            label=FIELD_LABELS["street"], elem_id="street"
                        )
                        error_box("street")
                    price_button = gr.Button(
                        "Estimate price", variant="primary", elem_id="estimate"
                    )
                with gr.Column(scale=6):
                    message = gr.Markdown(elem_id="price-message")
                    result = gr.Markdown(elem_id="price-result")
                    chart = gr.Plot(label="Why this price", show_label=False, elem_id="price-chart")
                    explain_note = gr.Markdown(elem_id="explain-note")

            # --- Models ----------------------------------------------------------------------
            with gr.Tab("Models", id="models") as models_tab:
                models_message = gr.Markdown(elem_id="models-message")
                models_table = gr.Dataframe(interactive=False, elem_id="models-table")
                models_refresh = gr.Button("Refresh", size="sm")

            # --- Training --------------------------------------------------------------------
            with gr.Tab("Training", id="training") as training_tab:
                training_message = gr.Markdown(elem_id="training-message")
                metric_choice = gr.Dropdown(label="Metric", choices=[], elem_id="metric")
                training_chart = gr.Plot(
                    label="Metric over runs", show_label=False, elem_id="training-chart"
                )
                training_table = gr.Dataframe(interactive=False, elem_id="training-table")
                training_refresh = gr.Button("Refresh", size="sm")
                training_history = gr.State(pd.DataFrame())

            # --- Drift -----------------------------------------------------------------------
            with gr.Tab("Drift", id="drift") as drift_tab:
                drift_message = gr.Markdown(elem_id="drift-message")
                with gr.Row():
                    drift_chart = gr.Plot(
                        label="Drift per column", show_label=False, elem_id="drift-chart"
                    )
                    drift_table = gr.Dataframe(interactive=False, elem_id="drift-table")
                with gr.Accordion("Serving drift: the listings people priced vs the feed"):
                    serving_message = gr.Markdown(elem_id="serving-message")
                    with gr.Row():
                        serving_chart = gr.Plot(
                            label="Serving drift per column", show_label=False,
                            elem_id="serving-chart",
                        )  # fmt: skip
                        serving_table = gr.Dataframe(interactive=False, elem_id="serving-table")
                    serving_check = gr.Button("Check now", size="sm", elem_id="serving-check")
                drift_report = gr.HTML(elem_id="drift-report")
                drift_refresh = gr.Button("Refresh", size="sm")

        form = [inputs[name] for name in FORM_FIELDS]
        error_boxes = [errors[name] for name in FORM_FIELDS]

        # --- Price handlers ----------------------------------------------------------------

        def price_fallback(text: str) -> list[Any]:
            return [
                f"**{text}**", "", None, "", *_error_updates({}),
            ]  # fmt: skip

        @_guard(price_fallback)
        def on_price(request: gr.Request, model_name: str, *values: Any) -> list[Any]:
            view = handlers.price_listing(
                services, dict(zip(FORM_FIELDS, values, strict=True)), model_name,
                client_address(request),
            )  # fmt: skip
            figure = charts.waterfall_figure(view.fall) if view.fall is not None else None
            note = view.explain_problem or ""
            if view.ok and view.fall is not None:
                note = (
                    "Each bar is what one fact about the house does to the price, starting "
                    "from a typical listing. Green raises it, red lowers it."
                )
            return [
                f"**{view.message}**" if view.message else "",
                view.headline(),
                figure,
                note,
                *_error_updates(view.errors),
            ]

        def blur_check(name: str) -> Callable[[Any], Any]:
            @_guard(lambda text: gr.update())
            def check(value: Any) -> Any:
                problem = handlers.validate_field(name, value)
                if problem is None:
                    return gr.update(value="", visible=False)
                return gr.update(value=ERROR_PREFIX + problem, visible=True)

            check.__name__ = f"check_{name}"
            return check

        for name in FORM_FIELDS:
            inputs[name].blur(
                blur_check(name), inputs=[inputs[name]], outputs=[errors[name]],
                show_progress="hidden", queue=False, **PAGE_ONLY,
            )  # fmt: skip

        price_button.click(
            on_price,
            inputs=[model, *form],
            outputs=[message, result, chart, explain_note, *error_boxes],
            api_name="price",
            **PAGE_ONLY,
        )
        _price_api(services)

        def load_fallback(text: str) -> list[Any]:
            return [gr.update(), gr.update(), gr.update(), gr.update(), text, ""]

        @_guard(load_fallback)
        def on_load() -> list[Any]:
            choices = handlers.location_choices(services)
            state = choices.default_state
            city = next(iter(choices.cities_of(state)), None)
            zip_code = next(iter(choices.zips_of(state, city)), None)
            options, model_note = handlers.model_options(services)
            place_note = choices.problem or ""
            if choices.source == "none" and not choices.problem:
                place_note = "No listings stored yet: type the city and ZIP code."
            return [
                gr.update(choices=list(choices.states), value=state),
                gr.update(choices=list(choices.cities_of(state)), value=city),
                gr.update(choices=list(choices.zips_of(state, city)), value=zip_code),
                gr.update(choices=options, value=options[0][1]),
                f"_{place_note}_" if place_note else "",
                f"_{model_note}_" if model_note else "",
            ]

        demo.load(
            on_load,
            outputs=[
                inputs["state"], inputs["city"], inputs["zip_code"], model, location_note,
                model_note,
            ],
            **PAGE_ONLY,
        )  # fmt: skip

        def place_fallback(text: str) -> list[Any]:
            return [gr.update(), gr.update()]

        @_guard(place_fallback)
        def on_state(state: str | None) -> list[Any]:
            choices = handlers.location_choices(services)
            cities = choices.cities_of(state)
            city = cities[0] if cities else None
            zips = choices.zips_of(state, city)
            return [
                gr.update(choices=list(cities), value=city),
                gr.update(choices=list(zips), value=zips[0] if zips else None),
            ]

        inputs["state"].input(
            on_state,
            inputs=[inputs["state"]],
            outputs=[inputs["city"], inputs["zip_code"]],
            **PAGE_ONLY,
        )

        @_guard(lambda text: gr.update())
        def on_city(state: str | None, city: str | None) -> Any:
            zips = handlers.location_choices(services).zips_of(state, city)
            return gr.update(choices=list(zips), value=zips[0] if zips else None)

        inputs["city"].input(
            on_city,
            inputs=[inputs["state"], inputs["city"]],
            outputs=[inputs["zip_code"]],
            **PAGE_ONLY,
        )

        # --- Models ------------------------------------------------------------------------

        @_guard(lambda text: [text, pd.DataFrame()])
        def on_models() -> list[Any]:
            view = handlers.models_view(services)
            return [view.message, view.table]

        for trigger in (models_tab.select, models_refresh.click):
            trigger(on_models, outputs=[models_message, models_table], **PAGE_ONLY)

        # --- Training ----------------------------------------------------------------------

        @_guard(lambda text: [text, gr.update(), None, pd.DataFrame(), pd.DataFrame()])
        def on_training() -> list[Any]:
            view = handlers.training_view(services)
            metric = view.metrics[0] if view.metrics else None
            figure = None if view.history.empty else charts.training_figure(view.history, metric)
            return [
                view.message,
                gr.update(choices=[(metric_label(m), m) for m in view.metrics], value=metric),
                figure,
                view.table,
                view.history,
            ]

        for trigger in (training_tab.select, training_refresh.click):
            trigger(
                on_training,
                outputs=[
                    training_message, metric_choice, training_chart, training_table,
                    training_history,
                ],
                **PAGE_ONLY,
            )  # fmt: skip

        @_guard(lambda text: None)
        def on_metric(metric: str | None, history: pd.DataFrame) -> Any:
            if not metric or history is None or history.empty:
                return None
            return charts.training_figure(history, metric)

        metric_choice.input(
            on_metric,
            inputs=[metric_choice, training_history],
            outputs=[training_chart],
            **PAGE_ONLY,
        )

        # --- Drift -------------------------------------------------------------------------

        @_guard(lambda text: [text, None, pd.DataFrame(), ""])
        def on_drift() -> list[Any]:
            summary = handlers.drift_view(services)
            parts = []
            if summary.updated is not None:
                parts.append(f"Last drift check: {summary.updated:%Y-%m-%d %H:%M UTC}.")
                parts.append(summary.verdict())
                reference, current = summary.rows
                if reference and current:
                    parts.append(
                        f"Compared {current:,} new listings with {reference:,} "
                        "the production model learnt from."
                    )
            if summary.problem:
                parts.append(summary.problem)
            figure = None if summary.scores.empty else charts.drift_figure(summary.scores)
            report = ""
            if summary.report is not None:
                version = int(summary.report.stat().st_mtime)
                report = (
                    f'<iframe src="drift/report?v={version}" title="Evidently drift report" '
                    'style="width:100%;height:900px;border:1px solid #ddd;border-radius:6px">'
                    "</iframe>"
                )
            table = summary.scores.round({"score": 3})
            return [" ".join(html.escape(p) for p in parts), figure, table, report]

        for trigger in (drift_tab.select, drift_refresh.click):
            trigger(
                on_drift,
                outputs=[drift_message, drift_chart, drift_table, drift_report],
                **PAGE_ONLY,
            )

        def serving_outputs(check: bool) -> list[Any]:
            summary = handlers.serving_drift_view(services, check=check)
            parts = []
            if summary.updated is not None:
                parts.append(f"Last check: {summary.updated:%Y-%m-%d %H:%M UTC}.")
                parts.append(html.escape(summary.verdict()))
            if summary.problem:
                parts.append(html.escape(summary.problem))
            if summary.report is not None:
                version = int(summary.report.stat().st_mtime)
                parts.append(f'<a href="drift/serving-report?v={version}" target="_blank">'
                             "Open the full report</a>.")  # fmt: skip
            figure = None if summary.scores.empty else charts.drift_figure(summary.scores)
            return [" ".join(parts), figure, summary.scores.round({"score": 3})]

        serving_fallback = _guard(lambda text: [text, None, pd.DataFrame()])

        @serving_fallback
        def on_serving() -> list[Any]:
            return serving_outputs(check=False)

        @serving_fallback
        def on_serving_check() -> list[Any]:
            return serving_outputs(check=True)

        serving_views = [serving_message, serving_chart, serving_table]
        for trigger in (drift_tab.select, drift_refresh.click):
            trigger(on_serving, outputs=serving_views, **PAGE_ONLY)
        serving_check.click(on_serving_check, outputs=serving_views, **PAGE_ONLY)

    demo.queue(default_concurrency_limit=8)
    return demo
