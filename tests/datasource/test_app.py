"""The feed simulator over real HTTP: protocol, determinism, drift, faults, CSV data."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from datasource.app import EXHAUSTED_HEADER, create_app
from homeval.data.listing_parser import parse_rows, read_listings_csv
from homeval.data.schema import LISTING_FIELDS, SchemaError
from homeval.platform.settings import Settings
from tests.datasource.server import running_feed

Q: dict[str, Any] = {"group_number": 1, "day": "Tuesday"}


def _data(http: httpx.Client, url: str, **params: Any) -> httpx.Response:
    return http.get(f"{url}/data", params={**Q, **params})


def test_batches_in_order_then_400_then_restart(http: httpx.Client) -> None:
    with running_feed(datasource_batches=3) as (url, _):
        answers = [_data(http, url) for _ in range(3)]
        for number, answer in enumerate(answers):
            assert answer.status_code == 200
            body = answer.json()
            assert body["batch_number"] == number
            assert (body["group_number"], body["day"]) == (1, "Tuesday")
            assert len(body["data"]) == 50
            assert all(len(row) == len(LISTING_FIELDS) for row in body["data"])
        done = _data(http, url)
        assert done.status_code == 400
        assert done.headers[EXHAUSTED_HEADER] == "true"
        assert "all 3 batches were served" in done.json()["detail"]
        assert "restart_data_generation" in done.json()["detail"]
        # other groups and days have their own cursor
        assert _data(http, url, day="Wednesday").json()["batch_number"] == 0
        assert _data(http, url, group_number=2).json()["batch_number"] == 0

        restart = http.get(f"{url}/restart_data_generation", params=Q)
        assert restart.status_code == 200
        again = _data(http, url)
        assert again.json()["batch_number"] == 0
        assert again.json()["data"] == answers[0].json()["data"]


def test_same_seed_same_batches_other_group_other_rows(http: httpx.Client) -> None:
    with running_feed(datasource_seed=7) as (a, _), running_feed(datasource_seed=7) as (b, _):
        first = _data(http, a).json()["data"]
        assert _data(http, b).json()["data"] == first
        assert _data(http, a, group_number=2).json()["data"] != first
    with running_feed(datasource_seed=8) as (c, _):
        assert _data(http, c).json()["data"] != first


def test_rows_are_json_feed_values(http: httpx.Client) -> None:
    with running_feed(datasource_batch_size=2000, datasource_batches=1) as (url, _):
        rows = _data(http, url).json()["data"]
    assert any(v is None for row in rows for v in row)  # missing values travel as null
    parsed = parse_rows(rows)
    assert len(parsed.rows) > 1950  # a few malformed rows are part of the feed


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"group_number": "abc"}, "group_number"),
        ({"group_number": 0}, "group_number"),
        ({"day": ""}, "day"),
        ({"day": "Tues day"}, "day"),
        ({"day": None}, "day"),
    ],
)
def test_bad_parameters_are_named(http: httpx.Client, params: dict[str, Any], named: str) -> None:
    query = {k: v for k, v in {**Q, **params}.items() if v is not None}
    with running_feed() as (url, _):
        for path in ("/data", "/restart_data_generation"):
            answer = http.get(f"{url}{path}", params=query)
            assert answer.status_code == 422
            assert answer.json()["detail"].startswith(named), answer.json()


def test_injected_failures_do_not_move_the_cursor(http: httpx.Client) -> None:
    with running_feed(datasource_fail_rate=1.0) as (url, app):
        for _ in range(5):
            failed = _data(http, url)
            assert failed.status_code == 503
            assert "injected failure" in failed.json()["detail"]
        app.state.feed.fail_rate = 0.0
        assert _data(http, url).json()["batch_number"] == 0


def test_injected_failures_follow_the_rate(http: httpx.Client) -> None:
    with running_feed(datasource_fail_rate=0.3, datasource_batches=1000) as (url, _):
        codes = [_data(http, url).status_code for _ in range(200)]
    share = codes.count(503) / len(codes)
    assert 0.18 <= share <= 0.42, share
    assert set(codes) == {200, 503}


def test_a_client_that_timed_out_does_not_lose_its_batch(http: httpx.Client) -> None:
    with running_feed(datasource_latency_s=0.6) as (url, app):
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{url}/data", params=Q, timeout=0.15)
        time.sleep(0.8)  # the server finishes the abandoned request meanwhile
        assert app.state.feed.cursors.peek((1, "Tuesday")) == 0
        answer = _data(http, url)
        assert answer.json()["batch_number"] == 0
        assert answer.elapsed.total_seconds() >= 0.6


def test_drift_schedule_shifts_prices_from_its_start(http: httpx.Client) -> None:
    plain = {"datasource_seed": 3, "datasource_batches": 3}
    drift = {**plain, "datasource_drift_start_batch": 1, "datasource_price_shift_per_batch": 0.5}
    with running_feed(**plain) as (a, _), running_feed(**drift) as (b, _):
        for number, factor in enumerate([1.0, 1.5, 2.25]):
            usual, drifted = _data(http, a).json()["data"], _data(http, b).json()["data"]
            price = LISTING_FIELDS.index("price")
            for u, d in zip(usual, drifted, strict=True):
                assert u[:price] + u[price + 1 :] == d[:price] + d[price + 1 :]
            ratios = sorted(
                d[price] / u[price]
                for u, d in zip(usual, drifted, strict=True)
                if isinstance(u[price], float) and u[price] > 10_000
            )
            median = ratios[len(ratios) // 2]
            assert median == pytest.approx(factor, rel=0.01), (number, median)


def test_drift_schedule_changes_the_state_mix(http: httpx.Client) -> None:
    settings = {
        "datasource_batch_size": 1000,
        "datasource_drift_start_batch": 1,
        "datasource_drift_states": "VT:0.6,Alaska:0.2",
    }
    with running_feed(**settings) as (url, _):
        before = parse_rows(_data(http, url).json()["data"]).rows["state"]
        after = parse_rows(_data(http, url).json()["data"]).rows["state"]
    assert (before == "Vermont").mean() < 0.05
    assert 0.54 <= (after == "Vermont").mean() <= 0.66
    assert 0.15 <= (after == "Alaska").mean() <= 0.25
    assert after.nunique() > 10  # the rest keeps the usual mix


def test_admin_drift_is_off_unless_enabled(http: httpx.Client) -> None:
    with running_feed() as (url, _):
        answer = http.post(f"{url}/admin/drift", json={"start_batch": 0})
        assert answer.status_code in (404, 405)


def test_admin_drift_turns_drift_on_at_run_time(http: httpx.Client) -> None:
    with running_feed(datasource_admin=True, datasource_batch_size=500) as (url, _):
        assert http.get(f"{url}/admin/drift").json()["start_batch"] is None
        first = parse_rows(_data(http, url).json()["data"]).rows
        answer = http.post(
            f"{url}/admin/drift",
            json={"start_batch": 1, "price_shift_per_batch": 1.0, "states": {"Texas": 1.0}},
        )
        assert answer.status_code == 200
        assert answer.json() == {
            "start_batch": 1,
            "price_shift_per_batch": 1.0,
            "states": {"Texas": 1.0},
        }
        second = parse_rows(_data(http, url).json()["data"]).rows
        assert set(first["state"]) != {"Texas"}
        assert set(second["state"]) == {"Texas"}
        assert http.get(f"{url}/health").json()["drift"]["start_batch"] == 1

        bad = http.post(f"{url}/admin/drift", json={"start_batch": 0, "states": "Narnia:0.5"})
        assert bad.status_code == 422
        assert "unknown state 'Narnia'" in bad.json()["detail"]
        bad = http.post(f"{url}/admin/drift", json={"price_shift_per_batch": -2})
        assert bad.status_code == 422
        assert bad.json()["detail"].startswith("price_shift_per_batch")


def test_bad_drift_settings_fail_at_start() -> None:
    with pytest.raises(ValueError, match="unknown state"):
        create_app(Settings(datasource_drift_states="Atlantis:0.2"))


def test_health_describes_the_data(http: httpx.Client) -> None:
    with running_feed(datasource_batches=7) as (url, _):
        body = http.get(f"{url}/health").json()
    assert body["status"] == "ok"
    assert (body["mode"], body["batches"], body["batch_size"]) == ("generator", 7, 50)


def test_each_request_is_logged(http: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="homeval.datasource")
    with running_feed() as (url, _):
        _data(http, url)
        http.get(f"{url}/data", params={"group_number": "x", "day": "Tuesday"})
    lines = [r.getMessage() for r in caplog.records if r.name == "homeval.datasource"]
    assert any("GET /data?group_number=1&day=Tuesday -> 200" in line for line in lines), lines
    assert any("-> 422" in line for line in lines), lines


def test_cursors_survive_a_restart_of_the_simulator(http: httpx.Client, tmp_path: Path) -> None:
    state = tmp_path / "cursors.jsonl"
    with running_feed(datasource_state_file=state) as (url, _):
        _data(http, url)
        _data(http, url)
    saved = [json.loads(line) for line in state.read_text().splitlines()]
    assert saved[-1] == {"group_number": 1, "day": "Tuesday", "next": 2}
    with running_feed(datasource_state_file=state) as (url, _):
        assert _data(http, url).json()["batch_number"] == 2
    # cursors of other data (another seed) are not applied to this data
    with running_feed(datasource_state_file=state, datasource_seed=99) as (url, _):
        assert _data(http, url).json()["batch_number"] == 0


# --- serving a real CSV ---------------------------------------------------------------------


def test_serves_every_row_of_the_real_files(http: httpx.Client, realtor_files: list[Path]):
    for path in realtor_files:
        expected = read_listings_csv(path)
        settings = {"datasource_csv": path, "datasource_batch_size": 4000}
        with running_feed(**settings) as (url, _):
            rows: list[list[object]] = []
            while (answer := _data(http, url)).status_code == 200:
                rows.extend(answer.json()["data"])
            assert answer.status_code == 400
        assert len(rows) == len(expected), path.name
        parsed = parse_rows(rows)
        assert len(parsed.rows) >= 0.99 * len(rows), (path.name, parsed.rejected[:3])
        old_version = "brokered_by" not in path.read_text().splitlines()[0]
        if old_version:
            assert all(row[0] is None and row[6] is None for row in rows)
        assert rows[0][LISTING_FIELDS.index("state")] == expected.iloc[0]["state"]


def test_csv_price_drift_and_state_mix(http: httpx.Client, realtor_files: list[Path]) -> None:
    path = next(p for p in realtor_files if "brokered_by" in p.read_text().splitlines()[0])
    settings = {
        "datasource_csv": path,
        "datasource_batch_size": 1000,
        "datasource_drift_start_batch": 1,
        "datasource_price_shift_per_batch": 0.1,
        "datasource_drift_states": "Vermont:0.5",
    }
    with running_feed(**settings) as (url, _):
        plain = _data(http, url).json()["data"]
        drifted = _data(http, url).json()["data"]
    state = LISTING_FIELDS.index("state")
    assert sum(r[state] == "Vermont" for r in plain) < 100
    assert 420 <= sum(r[state] == "Vermont" for r in drifted) <= 580
    first = read_listings_csv(path).iloc[0]
    assert plain[0][2] == float(first["price"])  # undrifted batches are the file's rows


def test_csv_with_other_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "houses.csv"
    path.write_text("id,price,rooms\n1,100000,3\n")
    with pytest.raises(SchemaError, match="missing column"):
        create_app(Settings(datasource_csv=path))


def test_csv_skips_lines_with_the_wrong_width(tmp_path: Path, http: httpx.Client) -> None:
    path = tmp_path / "houses.csv"
    header = ",".join(LISTING_FIELDS)
    good = "1.0,for_sale,100000.0,3,2,0.1,2.0,Hartford,Connecticut,06103,1500.0,"
    path.write_text(f"{header}\n{good}\n1,2,3\n{good}\n")
    with running_feed(datasource_csv=path) as (url, app):
        rows = _data(http, url).json()["data"]
        assert app.state.feed.source.skipped_lines == 1
    assert len(rows) == 2


def test_the_api_docs_need_no_cdn(http: httpx.Client) -> None:
    with running_feed() as (url, _):
        page = http.get(f"{url}/docs")
        assert page.status_code == 200
        assert "/docs/assets/swagger-ui-bundle.js" in page.text
        assert "cdn" not in page.text.lower()
        script = http.get(f"{url}/docs/assets/swagger-ui-bundle.js")
        assert script.status_code == 200
        assert len(script.content) > 100_000
        assert http.get(f"{url}/openapi.json").json()["paths"].keys() >= {"/data", "/health"}


def test_an_unknown_query_parameter_is_refused_and_consumes_no_batch(http: httpx.Client) -> None:
    with running_feed(datasource_batches=3) as (url, _):
        refused = _data(http, url, batch=2)
        assert refused.status_code == 400
        assert "unknown query parameter(s) 'batch'" in refused.json()["detail"]
        assert "batch_number" in refused.json()["detail"]  # says what it takes
        again = http.get(f"{url}/restart_data_generation", params={**Q, "batch_number": "1"})
        assert again.status_code == 400
        assert _data(http, url).json()["batch_number"] == 0, "nothing was consumed"


def test_a_numbered_batch_is_served_again_on_request_and_moves_no_cursor(
    http: httpx.Client,
) -> None:
    with running_feed(datasource_batches=3) as (url, _):
        second = _data(http, url, batch_number=1)
        assert second.status_code == 200
        assert second.json()["batch_number"] == 1
        assert _data(http, url, batch_number=1).json() == second.json()
        cursor = [_data(http, url).json() for _ in range(3)]
        assert [b["batch_number"] for b in cursor] == [0, 1, 2], "no cursor moved"
        assert cursor[1] == second.json()
        past = _data(http, url, batch_number=3)
        assert past.status_code == 400
        assert past.headers["X-Feed-Exhausted"] == "true"
        assert "no batch 3, the data has 3" in past.json()["detail"]
        assert _data(http, url, batch_number=-1).status_code == 422


def test_a_peek_shows_the_next_batch_without_taking_it(http: httpx.Client) -> None:
    with running_feed(datasource_batches=2) as (url, _):
        peeks = [_data(http, url, peek="true").json() for _ in range(2)]
        assert peeks[0] == peeks[1]
        assert peeks[0]["batch_number"] == 0
        assert _data(http, url).json() == peeks[0]  # taken now
        assert _data(http, url, peek="true").json()["batch_number"] == 1


def test_health_names_the_data_not_the_address(http: httpx.Client) -> None:
    with (
        running_feed() as (a, _),
        running_feed() as (b, _),
        running_feed(datasource_seed=9) as (c, _),
    ):
        ids = [http.get(f"{u}/health").json()["data_id"] for u in (a, b, c)]
    assert ids[0] == ids[1] != ids[2]
