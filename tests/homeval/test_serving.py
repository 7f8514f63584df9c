"""The watcher's promises, with a loader that can be told to fail (the registry itself is
exercised over HTTP in tests/inference/test_reload.py)."""

from __future__ import annotations

from typing import Any

import pytest

from homeval.packaging import ResolvedModel
from homeval.serving import (
    ModelSlot,
    ModelWatcher,
    NotLoadedError,
    WatchEvents,
    check_versions_spec,
)


class FakePricer:
    def __init__(self, version: str) -> None:
        self.version = version
        self.model = type(
            "M", (), {"resolved": ResolvedModel(f"models:/m/{version}", "m", version)}
        )


def test_the_slot_swaps_only_after_a_successful_load() -> None:
    pointer = {"version": "1"}
    broken = {"2"}
    events: list[tuple[str, Any]] = []

    def loader(uri: str) -> Any:
        version = uri.rsplit("/", 1)[1]
        if version in broken:
            raise OSError("artifact gone")
        return FakePricer(version)

    slot = ModelSlot("m")
    with pytest.raises(NotLoadedError):
        _ = slot.pricer
    watcher = ModelWatcher(
        main=slot,
        uri="models:/m@production",
        model_name="m",
        period_s=0,
        loader=loader,
        resolver=lambda uri: ResolvedModel(
            f"models:/m/{pointer['version']}", "m", pointer["version"]
        ),
        events=WatchEvents(
            swapped=lambda name, new, old: events.append(("swapped", new.version)),
            failed=lambda name, uri, exc: events.append(("failed", uri)),
        ),
    )
    assert watcher.poll() is True
    assert slot.pricer.version == "1"
    assert watcher.poll() is False  # same version: nothing loaded
    pointer["version"] = "2"
    assert watcher.poll() is False
    assert slot.pricer.version == "1"  # the failed load left the old model serving
    pointer["version"] = "3"
    assert watcher.poll() is True
    assert slot.pricer.version == "3"
    assert events == [("swapped", "1"), ("failed", "models:/m@production"), ("swapped", "3")]


@pytest.mark.parametrize("spec", ["none", "aliased", "ALL", "3", " 3, 5 "])
def test_versions_spec_accepts(spec: str) -> None:
    assert check_versions_spec(spec)


@pytest.mark.parametrize("spec", ["", "latest", "3;5", "v3"])
def test_versions_spec_refuses(spec: str) -> None:
    with pytest.raises(ValueError, match="predictor_versions"):
        check_versions_spec(spec)
