"""The web UI's API as a user's script drives it, with ``gradio_client``: one named
endpoint that takes a listing's fields by name and answers JSON; the page's own events
stay out of the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import Platform

HARTFORD = {"state": "Connecticut", "city": "Hartford", "zip_code": "06103", "bed": 3,
            "bath": 2, "house_size": 1500}  # fmt: skip


@pytest.fixture
def client(platform: Platform, run_ui: Any, tmp_path: Path, any_seeded_store: str) -> Any:
    from gradio_client import Client

    ui = run_ui(platform.settings(tmp_path / "ui-home", database_url=any_seeded_store))
    return Client(ui.url, verbose=False)


def test_the_api_is_one_endpoint_with_named_fields(client: Any) -> None:
    api = client.view_api(return_format="dict", print_info=False)
    assert list(api["named_endpoints"]) == ["/price_listing"]
    assert not api["unnamed_endpoints"]
    endpoint = api["named_endpoints"]["/price_listing"]
    params = {p["parameter_name"]: p for p in endpoint["parameters"]}
    assert list(params)[:3] == ["state", "city", "zip_code"]
    assert not params["state"]["parameter_has_default"]  # the one required field
    for optional in ("street", "brokered_by", "bed", "model"):
        assert params[optional]["parameter_has_default"], optional


def test_a_script_prices_a_listing_by_field_name(client: Any, platform: Platform) -> None:
    answer = client.predict(**HARTFORD, api_name="/price_listing")
    assert set(answer) == {"price", "lower", "upper", "coverage", "segment", "model",
                           "model_version"}  # fmt: skip
    assert answer["lower"] < answer["price"] < answer["upper"]
    assert answer["coverage"] == pytest.approx(0.9)
    assert answer["segment"].startswith("house:")
    assert answer["model"] == "house-price"
    # every served version, the pinned one too (the page's dropdown refused it before)
    pinned = client.predict(
        **HARTFORD, model=f"house-price-v{platform.version}", api_name="/price_listing"
    )
    assert pinned["model_version"] == platform.version
    assert pinned["price"] == pytest.approx(answer["price"])


def test_bad_input_is_an_error_naming_the_field(client: Any) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as caught:
        client.predict(state="Atlantis", bed=-2, api_name="/price_listing")
    assert "state" in str(caught.value)
    assert "bed" in str(caught.value)


def test_a_script_is_held_to_the_rate_and_uploads_are_refused(
    platform: Platform, run_ui: Any, tmp_path: Path, any_seeded_store: str
) -> None:
    import httpx
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    settings = platform.settings(tmp_path / "ui-home", database_url=any_seeded_store,
                                 ui_requests_per_client_minute=2)  # fmt: skip
    ui = run_ui(settings)
    client = Client(ui.url, verbose=False)
    for _ in range(2):
        assert client.predict(**HARTFORD, api_name="/price_listing")["price"] > 0
    with pytest.raises(AppError, match="Too many listings from your address"):
        client.predict(**HARTFORD, api_name="/price_listing")
    upload = httpx.post(f"{ui.url}/gradio_api/upload", files={"files": ("x.bin", b"0" * 4096)})
    assert upload.status_code == 403
    assert "no uploads" in upload.json()["detail"]
