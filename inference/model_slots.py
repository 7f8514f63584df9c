"""Which model versions the predictor serves, and how it follows the registry without a gap.

A ``ModelWatcher`` polls MLflow every ``predictor_reload_s``: when the alias (e.g.
``production``) points at a new version, the new version is loaded fully off to the side
(download, unpickle, compile, self-check) and only then swapped in with one reference
assignment, so a request that already holds the old pricer finishes on it and the next
one gets the new.  A failed load leaves the old model serving; the watcher reports it and
tries again on the next poll.  Until the first load succeeds the slot is empty and the
server says "not ready".

Besides the alias, specific versions can be served side by side under their own names
(``house-price-v3``) for the UI's model selector; ``predictor_versions`` says which:
``none``, ``aliased`` (every version that has an alias), ``all`` (the newest
``predictor_max_versions``), or a list such as ``3,5``.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from homeval.model.price_model import ResolvedModel
from homeval.model.pricing import Pricer
from homeval.registry.packaging import load_pricer, resolve

log = logging.getLogger(__name__)

_VERSION_LIST = re.compile(r"^\s*\d+(\s*,\s*\d+)*\s*$")


class NotLoadedError(RuntimeError):
    """No model has been loaded into this slot yet."""


class ModelSlot:
    """Holds the pricer a name serves right now; swapping is one assignment."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._pricer: Pricer | None = None

    @property
    def pricer(self) -> Pricer:
        pricer = self._pricer  # read once: a request keeps the pricer it started with
        if pricer is None:
            raise NotLoadedError(f"model {self.name} is not loaded yet")
        return pricer

    @property
    def loaded(self) -> bool:
        return self._pricer is not None

    def swap(self, pricer: Pricer) -> Pricer | None:
        old, self._pricer = self._pricer, pricer
        return old


def version_name(model_name: str, version: str) -> str:
    """The served name of a pinned version: house-price-v3."""
    return f"{model_name}-v{version}"


def check_versions_spec(spec: str) -> str:
    spec = spec.strip().lower()
    if spec in ("none", "aliased", "all") or _VERSION_LIST.match(spec):
        return spec
    raise ValueError(
        f"predictor_versions must be none, aliased, all or a list like 3,5; got {spec!r}"
    )


def selected_versions(
    client: Any, model_name: str, spec: str, limit: int | None = None
) -> list[str]:
    """Registered versions to serve side by side, newest first (at most ``limit``)."""
    spec = check_versions_spec(spec)
    if spec == "none":
        return []
    if _VERSION_LIST.match(spec):
        return [v.strip() for v in spec.split(",")]
    if spec == "aliased":
        # search results do not carry aliases; the registered model lists them
        aliases = client.get_registered_model(model_name).aliases or {}
        versions = {str(v) for v in aliases.values()}
    else:
        found = client.search_model_versions(f"name='{model_name}'")
        versions = {str(mv.version) for mv in found}
    return sorted(versions, key=int, reverse=True)[:limit]


@dataclass
class WatchEvents:
    """What the watcher tells its owner (the server turns these into metrics and routes)."""

    swapped: Callable[[str, Pricer, Pricer | None], None] = lambda name, new, old: None
    failed: Callable[[str, str, BaseException], None] = lambda name, uri, exc: None
    added: Callable[[str, ModelSlot], None] = lambda name, slot: None
    removed: Callable[[str], None] = lambda name: None
    fell_back: Callable[[str, Pricer, BaseException], None] = lambda name, new, exc: None
    """Nothing served and the alias's version would not load: ``new`` serves instead."""


@dataclass
class ModelWatcher:
    """Keeps the main slot on the URI's current version and the pinned slots in step."""

    main: ModelSlot
    uri: str
    model_name: str
    period_s: float
    versions_spec: str = "none"
    max_versions: int = 5
    events: WatchEvents = field(default_factory=WatchEvents)
    loader: Callable[[str], Pricer] = load_pricer
    resolver: Callable[[str], ResolvedModel] = resolve
    client_factory: Callable[[], Any] | None = None
    pinned: dict[str, ModelSlot] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.versions_spec = check_versions_spec(self.versions_spec)

    # --- one poll ---------------------------------------------------------------------------

    def poll(self) -> bool:
        """Bring every slot up to date once; True when something changed."""
        with self._lock:
            changed = self._poll_main()
            if self.versions_spec != "none" and self.uri.startswith("models:/"):
                changed = self._poll_pinned() or changed
            return changed

    def _poll_main(self) -> bool:
        wanted: str | None = None
        try:
            resolved = self.resolver(self.uri)
            wanted = resolved.version
            current = self.main._pricer
            if current is not None and (
                resolved.version is None or resolved.version == current.version
            ):
                return False  # a folder never changes; the same version needs nothing
            pricer = self._load(resolved.uri)
        except Exception as exc:  # any failure leaves the old model serving
            self.events.failed(self.main.name, self.uri, exc)
            if self.main._pricer is None:
                return self._fall_back(wanted, exc)
            return False
        old = self.main.swap(pricer)
        self.events.swapped(self.main.name, pricer, old)
        return True

    def _fall_back(self, failed: str | None, exc: BaseException) -> bool:
        """Nothing serves (a restart) and the alias points at a version that does not
        load (a broken artifact): serve the newest version that does, rather than 503 for
        good; every poll still tries the alias, and takes it as soon as it loads."""
        if not self.uri.startswith("models:/"):
            return False
        try:
            versions = selected_versions(self._client(), self.model_name, "all")
        except Exception:  # the registry itself is down: nothing to fall back on
            return False
        for version in versions:
            if version == failed:
                continue
            try:
                resolved = self.resolver(f"models:/{self.model_name}/{version}")
                pricer = self._load(resolved.uri)
            except Exception as other:
                log.info("fallback: version %s does not load either (%s)", version, other)
                continue
            self.main.swap(pricer)
            self.events.fell_back(self.main.name, pricer, exc)
            return True
        return False

    def _load(self, uri: str) -> Pricer:
        """Reuse a pricer already serving the same version (main or pinned)."""
        for slot in (self.main, *self.pinned.values()):
            pricer = slot._pricer
            if pricer is not None and uri == pricer.model.resolved.uri:
                return pricer
        return self.loader(uri)

    def _client(self) -> Any:
        if self.client_factory is not None:
            return self.client_factory()
        from homeval.registry.tracking import client

        return client()

    def _poll_pinned(self) -> bool:
        try:
            wanted = selected_versions(
                self._client(), self.model_name, self.versions_spec, self.max_versions
            )
        except Exception as exc:
            self.events.failed(self.model_name + "-versions", self.uri, exc)
            return False
        changed = False
        names = {version_name(self.model_name, v): v for v in wanted}
        for name in list(self.pinned):
            if name not in names:
                del self.pinned[name]
                self.events.removed(name)
                changed = True
        for name, version in names.items():
            if name in self.pinned:
                continue
            uri = f"models:/{self.model_name}/{version}"
            try:
                pricer = self._load(uri)
            except Exception as exc:
                self.events.failed(name, uri, exc)
                continue
            slot = ModelSlot(name)
            slot.swap(pricer)
            self.pinned[name] = slot
            self.events.added(name, slot)
            self.events.swapped(name, pricer, None)
            changed = True
        return changed

    # --- in the background ------------------------------------------------------------------

    def start(self) -> None:
        """Poll now and then every ``period_s`` in a daemon thread (0 = never again)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="model-watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.poll()
        while self.period_s > 0 or not self.main.loaded:
            if self._stop.wait(self.period_s if self.period_s > 0 else 5.0):
                return
            self.poll()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
