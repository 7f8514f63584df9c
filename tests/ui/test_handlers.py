"""The page's handlers against the real predictor, registry and store (no browser)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from homeval.data.store import Store
from tests.conftest import free_port
from tests.ui.conftest import Platform
from tests.ui.test_predictor_client import silent_server  # noqa: F401  (fixture)
from ui.feedback import recent_user_rows
from ui.handlers import (
    Services,
    drift_view,
    location_choices,
    model_options,
    models_view,
    price_listing,
    training_view,
)
from ui.predictor_client import PredictorClient, PredictorError

FORM: dict[str, Any] = {
    "state": "Puerto Rico",
    "city": "San Juan",
    "zip_code": "00926",
    "status": "for_sale",
    "bed": 3.0,
    "bath": 2.0,
    "house_size": 1800.0,
    "acre_lot": 0.25,
    "prev_sold_date": "2015-06-01",
    "brokered_by": "",
    "street": "",
}


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def services(platform: Platform, tmp_path: Path, any_seeded_store: str) -> Iterator[Services]:
    settings = platform.settings(tmp_path / "ui-home", database_url=any_seeded_store)
    made = Services.from_settings(settings)
    yield made
    made.close()


def test_a_listing_is_priced_explained_and_stored_as_a_user_row(services: Services) -> None:
    predictions = metric("homeval_ui_predictions_total")
    latency = metric("homeval_ui_predictor_latency_seconds_count", call="predict")
    view = price_listing(services, FORM, "house-price")

    assert view.ok, view.message
    assert view.errors == {}
    assert view.prediction is not None
    price = view.prediction.price
    assert 10_000 < price < 20_000_000
    assert view.prediction.lower is not None
    assert view.prediction.upper is not None
    assert view.prediction.lower < price < view.prediction.upper
    assert view.prediction.coverage == pytest.approx(0.9)
    assert view.prediction.model_version == "1"
    assert "Estimated price: $" in view.headline()
    assert "90% likely range" in view.headline()
    # how well the model knows the place, in words: San Juan 00926 has many listings
    assert view.prediction.segment == "house:known_zip"
    assert "The model learnt from listings in this ZIP code." in view.headline()

    # the waterfall starts at the model's base price and ends exactly at the prediction
    assert view.fall is not None
    assert view.fall.price == pytest.approx(price, rel=1e-6)
    labels = [e.label for e in view.fall.effects]
    assert any(label.startswith("Living area (sq ft) = 1,800 sq ft") for label in labels)
    # one dollar figure: each step of the chart is what :explain calls that field's dollars
    answer = httpx.post(
        f"{services.settings.predictor_url}/v1/models/house-price:explain",
        json={"instances": [view.listing]},
        timeout=30,
    ).json()["explanations"][0]
    for effect in view.fall.effects:
        if effect.field != "other":
            assert effect.dollars == pytest.approx(answer["dollars"][effect.field], rel=1e-9)

    # the feedback row: the listing, the prediction, the version; no sale price
    stored = recent_user_rows(services.store)
    assert len(stored) == 1
    row = stored[0]
    assert row["data_origin"] == "user"
    assert row["price"] is None
    assert row["predicted_price"] == pytest.approx(price)
    assert row["model_version"] == "1"
    assert row["zip_code"] == "00926"
    assert row["state"] == "Puerto Rico"
    assert view.stored

    assert metric("homeval_ui_predictions_total") == predictions + 1
    assert metric("homeval_ui_predictor_latency_seconds_count", call="predict") == latency + 1


def test_a_place_the_model_never_saw_gets_a_wide_range_and_says_why(services: Services) -> None:
    """No Massachusetts listing is in the real rows the test model learnt from."""
    known = price_listing(services, FORM, "house-price")
    boston = {**FORM, "state": "Massachusetts", "city": "Boston", "zip_code": "02108"}
    view = price_listing(services, boston, "house-price")
    assert view.ok, view.message
    assert view.prediction is not None
    assert known.prediction is not None
    assert view.prediction.segment == "house:new_state"
    assert "No listings of this state were seen" in view.headline()
    assert "very wide" in view.headline()
    land = price_listing(
        services, {**boston, "bed": None, "bath": None, "house_size": None}, "house-price"
    )
    assert land.prediction is not None
    assert land.prediction.segment == "land:new_state"
    assert "Land (no beds, baths or living area) is priced less surely" in land.headline()


def test_the_form_is_checked_before_any_call_and_nothing_is_stored(services: Services) -> None:
    invalid = metric("homeval_ui_errors_total", kind="invalid_input")
    latency = metric("homeval_ui_predictor_latency_seconds_count", call="predict")
    view = price_listing(
        services, {**FORM, "bed": -1.0, "zip_code": "1234567", "state": ""}, "house-price"
    )
    assert not view.ok
    assert view.errors["bed"] == "must not be negative, got -1.0"
    assert view.errors["zip_code"] == "not a ZIP code (up to 5 digits): '1234567'"
    assert view.errors["state"] == "missing (required)"
    assert "Please correct" in view.message
    assert recent_user_rows(services.store) == []
    assert metric("homeval_ui_errors_total", kind="invalid_input") == invalid + 1
    assert metric("homeval_ui_predictor_latency_seconds_count", call="predict") == latency


def test_a_refusal_by_the_predictor_is_marked_at_its_field(services: Services) -> None:
    """The form checks with the predictor's rules, so a 400 reaching the page means the
    two disagree (another version of the predictor); the message still lands at the field."""
    from ui.handlers import field_errors_from_message

    client = PredictorClient(services.settings.predictor_url, timeout_s=10)
    with pytest.raises(PredictorError) as refused:
        client.predict("house-price", [{**FORM, "bed": -1}])
    client.close()
    assert refused.value.kind == "rejected"
    assert field_errors_from_message(str(refused.value)) == {"bed": "must not be negative, got -1"}
    assert field_errors_from_message("something else went wrong") == {}


def test_the_client_reads_the_real_predictors_answers(platform: Platform) -> None:
    with PredictorClient(platform.predictor_url, timeout_s=10) as client:
        assert "house-price" in client.models()
        assert client.ready("house-price")
        assert not client.ready("no-such-model")
        (plain,) = client.predict("house-price", [FORM], interval=False)
        assert plain.lower is None
        assert plain.model_version == "1"
        (why,) = client.explain("house-price", [FORM])
        assert why.log_space
        assert math.exp(why.base_value + sum(why.contributions.values())) == pytest.approx(
            plain.price, rel=1e-6
        )
        with pytest.raises(PredictorError, match="state") as refused:
            client.predict("house-price", [{"state": "Atlantis"}])
        assert refused.value.kind == "rejected"
        with pytest.raises(PredictorError) as unknown:
            client.predict("no-such-model", [FORM])
        assert unknown.value.kind == "not_found"


def test_the_model_selector_lists_what_the_predictor_serves(services: Services) -> None:
    options, note = model_options(services)
    assert note == ""
    assert options[0] == ("Production (house-price)", "house-price")
    assert ("Version 1", "house-price-v1") in options  # aliased versions are served pinned
    view = price_listing(services, FORM, "house-price-v1")
    assert view.ok
    assert view.prediction is not None
    assert view.prediction.model_version == "1"


def test_a_predictor_that_is_down_gives_a_message_not_a_traceback(
    platform: Platform, tmp_path: Path, seeded_store: str
) -> None:
    settings = platform.settings(
        tmp_path / "h", database_url=seeded_store, predictor_url=f"http://127.0.0.1:{free_port()}"
    )
    services = Services.from_settings(settings)
    before = metric("homeval_ui_errors_total", kind="predictor_unavailable")
    view = price_listing(services, FORM, "house-price")
    assert not view.ok
    assert "not reachable" in view.message
    assert view.errors == {}
    assert recent_user_rows(services.store) == []
    assert metric("homeval_ui_errors_total", kind="predictor_unavailable") == before + 1
    options, note = model_options(services)  # the selector still offers production
    assert options == [("Production (house-price)", "house-price")]
    assert "not reachable" in note
    assert models_view(services).table.shape[0] == 1  # the rest of the page works
    services.close()


def test_a_slow_predictor_times_out_with_a_message(
    platform: Platform,
    tmp_path: Path,
    seeded_store: str,
    silent_server: str,  # noqa: F811
) -> None:
    settings = platform.settings(
        tmp_path / "h",
        database_url=seeded_store,
        predictor_url=silent_server,
        ui_predictor_timeout_s=0.5,
    )
    services = Services.from_settings(settings)
    before = metric("homeval_ui_errors_total", kind="predictor_timeout")
    view = price_listing(services, FORM, "house-price")
    assert not view.ok
    assert "did not answer within 0.5 s" in view.message
    assert metric("homeval_ui_errors_total", kind="predictor_timeout") == before + 1
    services.close()


def test_a_price_is_still_shown_when_the_store_is_down(platform: Platform, tmp_path: Path) -> None:
    down = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none?connect_timeout=2"
    services = Services.from_settings(platform.settings(tmp_path / "h", database_url=down))
    before = metric("homeval_ui_errors_total", kind="store")
    view = price_listing(services, FORM, "house-price")
    assert view.ok
    assert not view.stored
    assert "could not be saved" in view.message
    assert metric("homeval_ui_errors_total", kind="store") == before + 1
    training = training_view(services)
    assert "not reachable" in training.message
    places = location_choices(services)  # the form still offers every state
    assert places.problem is not None
    assert "not reachable" in places.problem
    assert len(places.states) > 50
    services.close()


def test_the_models_tab_shows_versions_aliases_metrics_and_since_when(
    services: Services,
) -> None:
    services.store.log_training(
        step="promote", status="promoted", message="first model", model_version="1"
    )
    view = models_view(services)
    assert view.message.startswith("Production: version 1 since ")
    row = view.table.iloc[0]
    assert row["version"] == "1"
    assert row["aliases"] == "production"
    assert row["kind"] == "lightgbm"
    assert row["production since"] != ""
    assert row["median % error"].endswith("%")
    assert 0 < float(row["R² (log)"]) <= 1
    assert re.fullmatch(r"\$\d{1,3}(,\d{3})*", row["RMSE"]), row["RMSE"]  # not "RMSE $ 731504.316"


def test_the_models_tab_says_when_the_registry_is_unreachable(
    platform: Platform, tmp_path: Path
) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    settings = platform.settings(
        tmp_path / "h", mlflow_tracking_uri=down, mlflow_registry_uri=down,
        ui_registry_timeout_s=2,
    )  # fmt: skip
    services = Services.from_settings(settings)
    before = metric("homeval_ui_errors_total", kind="registry")
    view = models_view(services)
    assert view.table.empty
    assert "registry" in view.message
    assert "reach" in view.message
    assert metric("homeval_ui_errors_total", kind="registry") == before + 1
    services.close()


def test_the_training_tab_tables_the_log_with_metric_columns(services: Services) -> None:
    assert training_view(services).message == "No pipeline run has been logged yet."
    services.store.log_training(step="gates", status="skipped", message="only 10 rows")
    services.store.log_training(
        step="promote", status="promoted", message="better", model_version="1",
        metrics={"mdape": 0.18, "r2_log": 0.82},
    )  # fmt: skip
    view = training_view(services)
    assert view.message == ""
    assert list(view.table["status"]) == ["promoted", "skipped"]
    assert view.metrics[:2] == ["mdape", "r2_log"]
    assert view.table.loc[0, "mdape"] == 0.18
    assert isinstance(view.history, pd.DataFrame)


def test_the_drift_tab_reads_what_the_drift_step_wrote(
    services: Services, realtor_files: list[Path]
) -> None:
    from homeval.data.listing_parser import parse_frame, read_listings_csv
    from homeval.drift.compare import compare, evidently_page
    from homeval.drift.report import write_reports

    first = drift_view(services)
    assert first.report is None
    assert first.problem is not None
    reference = parse_frame(read_listings_csv(realtor_files[0])).rows
    current = parse_frame(read_listings_csv(realtor_files[1])).rows
    result, snapshot = compare(reference, current, share_threshold=0.3, sample_rows=2000)
    write_reports(result, evidently_page(snapshot), services.settings.reports_dir)

    summary = drift_view(services)
    assert summary.problem is None
    assert summary.report is not None
    assert summary.report.read_text(encoding="utf-8").lstrip().lower().startswith("<")
    assert set(summary.scores["column"]) == set(result.columns)
    for name, column in result.columns.items():
        row = summary.scores[summary.scores["column"] == name].iloc[0]
        assert row["score"] == pytest.approx(column.score)
        assert bool(row["drifted"]) == column.drifted
    assert summary.detected == result.detected
    assert summary.share == pytest.approx(result.share)


def test_user_rows_are_counted_by_the_teacher_share(services: Services) -> None:
    store: Store = services.store
    before = store.origin_counts()
    price_listing(services, FORM, "house-price")
    after = store.origin_counts()
    assert after["user"] == before["user"] + 1
    assert after["teacher"] == before["teacher"]


def test_priced_listings_are_watched_for_serving_drift(
    platform: Platform, tmp_path: Path, seeded_store: str, real_rows: Any
) -> None:
    """The pipeline (here its serving-drift job, on another "machine": its own home)
    computes serving drift and publishes it to MLflow; the UI only fetches and reads it."""
    from homeval.workflow.serving_drift import serving_drift_step
    from tests.homeval.drift.test_serving import store_clean_rows
    from ui.handlers import NO_SERVING_CHECK, serving_drift_view

    settings = platform.settings(
        tmp_path / "h", database_url=seeded_store, ui_serving_drift_min_rows=5
    )
    services = Services.from_settings(settings)
    store_clean_rows(services.store, real_rows.head(1500))
    first = serving_drift_view(services)
    assert first.problem == NO_SERVING_CHECK
    assert first.report is None
    for size in (900.0, 1200.0, 1800.0, 2500.0, 4000.0, 6000.0):
        assert price_listing(services, {**FORM, "house_size": size}, "house-price").ok
    assert serving_drift_view(services).problem == NO_SERVING_CHECK, "the UI computes none"

    pipeline = settings.model_copy(update={"home": tmp_path / "pipeline-pod"})
    computed = serving_drift_step(pipeline, pipeline_run="run-9").result
    summary = serving_drift_view(services)
    assert summary.problem is None
    assert summary.report is not None
    assert summary.detected is not None
    assert summary.detected == computed.detected
    assert summary.updated is not None
    assert summary.updated.isoformat() == computed.checked_at  # when it was computed
    assert summary.reason.startswith("6 priced listings compared with 1,500 feed listings")
    assert "log_house_size" in set(summary.scores["column"])
    assert "log_price" not in set(summary.scores["column"])
    services.close()


def test_the_drift_tab_shows_the_last_report_when_the_registry_is_down(
    tmp_path: Path, any_seeded_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from homeval.drift.report import serving_reports_dir, write_reports
    from homeval.drift.result import DriftResult
    from homeval.platform.settings import Settings
    from ui.handlers import serving_drift_view

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    settings = Settings(home=tmp_path / "h", database_url=any_seeded_store,
                        mlflow_tracking_uri=f"http://127.0.0.1:{free_port()}",
                        ui_registry_timeout_s=2)  # fmt: skip
    services = Services.from_settings(settings)
    before = metric("homeval_ui_errors_total", kind="registry")
    kept = DriftResult(False, 0.0, {}, 10, 10, "0 of 9 columns drifted", share_threshold=0.3)
    write_reports(kept, "<html><body>kept</body></html>", serving_reports_dir(settings))
    summary = serving_drift_view(services)
    assert summary.problem is None
    assert summary.reason == "0 of 9 columns drifted"
    assert metric("homeval_ui_errors_total", kind="registry") == before + 1
    services.close()


def test_priced_listings_never_become_training_rows(services: Services) -> None:
    """The whole loop: a listing priced in the UI stays a raw user row; processing (which
    makes the training data) drops it by its origin."""
    from homeval.data.process import process_new
    from homeval.data.tables import clean_houses, raw_houses

    assert price_listing(services, FORM, "house-price").ok
    summary = process_new(services.store)
    assert summary.dropped.get("user_row") == 1
    assert services.store.count(clean_houses, data_origin="user") == 0
    assert services.store.count(clean_houses, data_origin="teacher") > 0
    assert services.store.count(raw_houses, data_origin="user") == 1


def test_one_client_is_held_to_its_rate_and_its_rows_a_day(
    platform: Platform, tmp_path: Path, any_seeded_store: str
) -> None:
    from ui.feedback import rows_added_by

    settings = platform.settings(tmp_path / "ui-home", database_url=any_seeded_store,
                                 ui_requests_per_client_minute=3,
                                 ui_user_rows_per_client_day=2)  # fmt: skip
    services = Services.from_settings(settings)
    try:
        views = [price_listing(services, FORM, "", "203.0.113.7") for _ in range(4)]
        assert [v.stored for v in views[:2]] == [True, True]
        assert views[2].prediction is not None, "priced all the same"
        assert not views[2].stored
        assert "not saved: your address has added its 2 listings of the day" in views[2].message
        assert views[3].prediction is None
        assert "Too many listings from your address (at most 3 a minute)" in views[3].message
        assert rows_added_by(services.store, "203.0.113.7") == 2
        other = price_listing(services, FORM, "", "198.51.100.1")
        assert other.stored, "another address is not held by the first one's limits"
        with services.store.engine.connect() as conn:
            sources = conn.execute(sa.text("SELECT source FROM rawdata.batches")).scalars()
            assert not any("203.0.113.7" in (s or "") for s in sources), "addresses kept hashed"
    finally:
        services.close()
