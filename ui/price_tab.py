"""The Price tab: the listing form, its checks as a person types, the price with its
range and the chart of what drives it; and ``/price_listing``, the same for scripts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import gradio as gr

from homeval.data.listing_input import FIELD_LABELS, STATUS_LABELS
from homeval.data.schema import STATUSES
from ui import charts, handlers
from ui.events import PAGE_ONLY, guard

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

DEFAULTS: Final[dict[str, Any]] = {
    "status": "for_sale",
    "bed": 3,
    "bath": 2,
    "house_size": 1800,
    "acre_lot": 0.25,
    "prev_sold_date": "",
}

ERROR_PREFIX: Final = "⚠ "


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


def price_api(services: handlers.Services) -> None:
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


def build(services: handlers.Services, demo: gr.Blocks) -> None:
    """The tab's layout and events (inside the page's ``gr.Tabs``)."""
    settings = services.settings
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
                inputs["street"] = gr.Textbox(label=FIELD_LABELS["street"], elem_id="street")
                error_box("street")
            price_button = gr.Button("Estimate price", variant="primary", elem_id="estimate")
        with gr.Column(scale=6):
            message = gr.Markdown(elem_id="price-message")
            result = gr.Markdown(elem_id="price-result")
            chart = gr.Plot(label="Why this price", show_label=False, elem_id="price-chart")
            explain_note = gr.Markdown(elem_id="explain-note")

    form = [inputs[name] for name in FORM_FIELDS]
    error_boxes = [errors[name] for name in FORM_FIELDS]

    # --- Price handlers ----------------------------------------------------------------

    def price_fallback(text: str) -> list[Any]:
        return [
            f"**{text}**", "", None, "", *_error_updates({}),
        ]  # fmt: skip

    @guard(price_fallback)
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
        @guard(lambda text: gr.update())
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
    price_api(services)

    def load_fallback(text: str) -> list[Any]:
        return [gr.update(), gr.update(), gr.update(), gr.update(), text, ""]

    @guard(load_fallback)
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

    @guard(place_fallback)
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

    @guard(lambda text: gr.update())
    def on_city(state: str | None, city: str | None) -> Any:
        zips = handlers.location_choices(services).zips_of(state, city)
        return gr.update(choices=list(zips), value=zips[0] if zips else None)

    inputs["city"].input(
        on_city,
        inputs=[inputs["state"], inputs["city"]],
        outputs=[inputs["zip_code"]],
        **PAGE_ONLY,
    )
