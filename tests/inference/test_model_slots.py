"""The watcher's promises, with a loader that can be told to fail (the registry itself is
exercised over HTTP in tests/inference/test_reload.py)."""

from __future__ import annotations

from typing import Any

import pytest

from homeval.model.price_model import ResolvedModel
from inference.model_slots import (
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


def loader_failing_on(broken: set[str]) -> Any:
    """A loader of ``models:/m/<version>`` that fails for the versions in ``broken`` (a set
    the test may change between polls)."""

    def load(uri: str) -> Any:
        version = uri.rsplit("/", 1)[1]
        if version in broken:
            raise OSError(f"artifact of {version} gone")
        return FakePricer(version)

    return load


def watcher_of(main: ModelSlot, loader: Any, resolver: Any, **options: Any) -> ModelWatcher:
    """The watcher of model ``m``'s production alias, polled by hand."""
    return ModelWatcher(
        main=main, uri="models:/m@production", model_name="m", period_s=0,
        loader=loader, resolver=resolver, **options,
    )  # fmt: skip


def test_the_slot_swaps_only_after_a_successful_load() -> None:
    pointer = {"version": "1"}
    events: list[tuple[str, Any]] = []
    slot = ModelSlot("m")
    with pytest.raises(NotLoadedError):
        _ = slot.pricer
    watcher = watcher_of(
        slot,
        loader_failing_on({"2"}),
        lambda uri: ResolvedModel(f"models:/m/{pointer['version']}", "m", pointer["version"]),
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


def test_a_restart_onto_a_broken_alias_serves_the_newest_version_that_loads() -> None:
    broken = {"3", "2"}  # the alias's version and the one before do not load
    events: list[tuple[str, Any]] = []
    registry = type(
        "Client",
        (),
        {"search_model_versions": lambda self, query: [
            type("V", (), {"version": v})() for v in ("1", "2", "3")
        ]},
    )  # fmt: skip
    slot = ModelSlot("m")
    watcher = watcher_of(
        slot,
        loader_failing_on(broken),
        lambda uri: ResolvedModel(
            uri if "@" not in uri else "models:/m/3", "m", "3" if "@" in uri else uri[-1]
        ),
        client_factory=registry,
        events=WatchEvents(
            swapped=lambda name, new, old: events.append(("swapped", new.version)),
            failed=lambda name, uri, exc: events.append(("failed", str(exc))),
            fell_back=lambda name, new, exc: events.append(("fell_back", new.version)),
        ),
    )
    assert watcher.poll() is True
    assert slot.pricer.version == "1"  # not 503 for good: the newest version that loads
    assert events == [("failed", "artifact of 3 gone"), ("fell_back", "1")]
    assert watcher.poll() is False  # the alias is tried again, and still fails
    assert slot.pricer.version == "1"
    broken.clear()  # the artifact is back
    assert watcher.poll() is True
    assert slot.pricer.version == "3"


def test_a_broken_alias_does_not_replace_a_model_already_serving() -> None:
    pointer = {"version": "1"}
    fell: list[str] = []
    watcher = watcher_of(
        ModelSlot("m"),
        loader_failing_on({"2"}),
        lambda uri: ResolvedModel(f"models:/m/{pointer['version']}", "m", pointer["version"]),
        events=WatchEvents(fell_back=lambda name, new, exc: fell.append(new.version)),
    )
    assert watcher.poll() is True
    pointer["version"] = "2"
    assert watcher.poll() is False
    assert watcher.main.pricer.version == "1"
    assert fell == []  # the old model serves on; no fallback is needed
