"""The feed and UI images, built here and run as the manifests run them: uid 1000 with a
passwd entry, read-only root, an empty /data volume, configured only by the
homeval-config ConfigMap's keys (cluster addresses replaced by loopback ones)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import free_port
from tests.images.conftest import Container, cluster_env

pytestmark = pytest.mark.slow


def test_the_feed_image_serves_and_keeps_its_cursors_under_data(
    built: Callable[[str], str], run_container: Callable[..., Container]
) -> None:
    port = free_port()
    feed = run_container(
        built("datasource"),
        {
            "HOMEVAL_DATASOURCE_PORT": str(port),
            "HOMEVAL_DATASOURCE_STATE_FILE": "/data/feed-cursors.jsonl",
        },
    )
    health = feed.wait_http(f"http://127.0.0.1:{port}/health").json()
    assert health["status"] == "ok"
    feed.assert_runs_as_the_manifests_say()
    query: dict[str, str | int] = {"group_number": 1, "day": "Monday"}
    first = httpx.get(f"http://127.0.0.1:{port}/data", params=query, timeout=60)
    assert first.status_code == 200, first.text[:500]
    assert first.json()["batch_number"] == 0
    assert first.json()["data"]
    journal = feed.exec("cat", "/data/feed-cursors.jsonl").splitlines()
    assert json.loads(journal[-1]) == {"group_number": 1, "day": "Monday", "next": 1}
    second = httpx.get(f"http://127.0.0.1:{port}/data", params=query, timeout=60)
    assert second.json()["batch_number"] == 1


def test_the_ui_image_starts_on_an_empty_data_volume(
    built: Callable[[str], str], run_container: Callable[..., Container]
) -> None:
    port = free_port()
    ui = run_container(built("ui"), cluster_env() | {"HOMEVAL_UI_PORT": str(port)})
    ui.wait_http(f"http://127.0.0.1:{port}/healthz")
    ui.assert_runs_as_the_manifests_say()
    page = httpx.get(f"http://127.0.0.1:{port}/", timeout=30)
    assert page.status_code == 200
    assert "gradio" in page.text.lower()
