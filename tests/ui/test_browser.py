"""The page in a real browser: Debian chromium, headless, driven by Playwright."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.ui.conftest import Platform
from ui.feedback import recent_user_rows

pytestmark = pytest.mark.browser

SCREENSHOTS = REPO / "test-results"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def page(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1100})
        yield context.new_page()
        context.close()
        browser.close()


def _fill(page: Any, elem_id: str, value: str) -> None:
    box = page.locator(f"#{elem_id} input")
    box.fill(value)
    box.blur()


def test_a_person_prices_a_house_and_sees_why(
    platform: Platform, tmp_path: Path, seeded_store: str, run_ui: Any, page: Any
) -> None:
    from playwright.sync_api import expect

    ui = run_ui(platform.settings(tmp_path / "ui-home", database_url=seeded_store))
    page.goto(ui.url)
    # places are suggested from the stored listings: the most listed state is preselected
    state = page.locator("#state input")
    expect(state).not_to_have_value("", timeout=30_000)
    expect(page.locator("#city input")).not_to_have_value("")
    expect(page.locator("#zip_code input")).to_have_value(re.compile(r"^\d{5}$"))
    expect(page.locator("#model input")).to_have_value("Production (house-price)")

    _fill(page, "bed", "4")
    _fill(page, "house_size", "2400")
    page.locator("#estimate").click()

    headline = page.locator("#price-result h2")
    expect(headline).to_contain_text(re.compile(r"Estimated price: \$[\d,]+"), timeout=30_000)
    expect(page.locator("#price-result")).to_contain_text("90% likely range")
    # how well the model knows the place, in words (the preselected place is the most listed)
    expect(page.locator("#price-result")).to_contain_text(
        "The model learnt from listings in this ZIP code."
    )
    chart = page.locator("#price-chart img")
    expect(chart).to_be_visible()
    assert chart.evaluate("img => img.naturalWidth") > 300
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "ui-price.png"), full_page=True)

    shown = int(re.sub(r"\D", "", headline.inner_text()))
    stored = recent_user_rows(ui.services.store)
    assert len(stored) == 1
    assert stored[0]["bed"] == 4.0
    assert stored[0]["house_size"] == 2400.0
    assert round(stored[0]["predicted_price"]) == shown
    assert stored[0]["price"] is None

    # a wrong value is named next to its field as soon as the cursor leaves it,
    # a click does not send it, and the message goes once the value is fixed
    bath_error = page.locator("#bath-error")
    _fill(page, "bath", "-2")
    expect(bath_error).to_contain_text("must not be negative", timeout=20_000)
    page.locator("#estimate").click()
    expect(page.locator("#price-message")).to_contain_text("Please correct", timeout=20_000)
    expect(page.locator("#price-result h2")).to_have_count(0)
    assert len(recent_user_rows(ui.services.store)) == 1
    _fill(page, "bath", "2")
    expect(bath_error).to_be_hidden(timeout=20_000)

    # the other tabs answer too
    page.get_by_role("tab", name="Models").click()
    expect(page.locator("#models-message")).to_contain_text("Production: version 1", timeout=30_000)
    page.get_by_role("tab", name="Drift").click()
    expect(page.locator("#drift-message")).to_contain_text("No drift check yet", timeout=30_000)


def test_the_page_says_when_the_predictor_is_down(
    platform: Platform, tmp_path: Path, seeded_store: str, run_ui: Any, page: Any
) -> None:
    from playwright.sync_api import expect

    from tests.conftest import free_port

    settings = platform.settings(
        tmp_path / "ui-home",
        database_url=seeded_store,
        predictor_url=f"http://127.0.0.1:{free_port()}",
    )
    ui = run_ui(settings)
    page.goto(ui.url)
    expect(page.locator("#model-note")).to_contain_text("not reachable", timeout=30_000)
    expect(page.locator("#state input")).not_to_have_value("")
    page.locator("#estimate").click()
    expect(page.locator("#price-message")).to_contain_text(
        "No price: the price service at", timeout=30_000
    )
    assert "Traceback" not in page.content()
    assert page.locator("#price-result h2").count() == 0


def test_the_drift_tab_and_its_report_give_one_verdict(
    platform: Platform, tmp_path: Path, seeded_store: str, run_ui: Any, page: Any
) -> None:
    """A price-only move: Evidently's own line says "NOT detected" (share rule), so the
    report must carry homeval's verdict, the one the tab shows and the pipeline acted on."""
    from playwright.sync_api import expect

    from homeval.data.generator.listings import generate
    from homeval.data.listing_parser import parse_frame
    from homeval.drift.compare import compare, evidently_page
    from homeval.drift.report import VERDICT_ID, write_reports

    def listings(seed: int, price_shift: float) -> Any:
        frame = generate(
            3_000, seed=seed, junk_share=0.0, malformed_share=0.0, price_shift=price_shift
        )
        return parse_frame(frame).rows

    settings = platform.settings(tmp_path / "ui-home", database_url=seeded_store)
    result, snapshot = compare(
        listings(1, 0.0), listings(2, 0.3), share_threshold=0.3, sample_rows=5_000, price_alone=True
    )
    assert result.price_moved
    assert result.share is not None
    assert result.share < 0.3
    write_reports(result, evidently_page(snapshot), settings.reports_dir)

    ui = run_ui(settings)
    page.goto(ui.url)
    page.get_by_role("tab", name="Drift").click()
    message = page.locator("#drift-message")
    expect(message).to_contain_text("Drift detected: the price level moved", timeout=30_000)
    report = page.frame_locator("iframe[title='Evidently drift report']")
    banner = report.locator(f"#{VERDICT_ID}")
    expect(banner).to_contain_text("homeval: Drift detected: the price level moved", timeout=30_000)
    expect(banner).to_contain_text("counts drifted columns only")
    # Evidently's own dashboard still renders below the banner
    expect(report.get_by_text("Dataset Drift is NOT detected")).to_be_visible(timeout=30_000)
    sentence = banner.locator("strong").inner_text().removeprefix("homeval: ")
    assert sentence in message.inner_text()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "ui-drift.png"), full_page=True)
