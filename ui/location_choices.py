"""States, cities and ZIPs people can pick from, taken from the listings the store holds.

A form that suggests "Hartford" after "Connecticut" and "06106" after "Hartford" is
quicker and makes fewer typos than free text.  The suggestions come from the clean
listings (teacher rows; raw teacher rows before the first processing run), ordered by how
many listings each place has, and are cached: the query scans the table, the page asks on
every change of state.  An empty or unreachable store gives every known state and free
text for the rest, so the form always works.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import sqlalchemy as sa

from homeval.data.schema import STATES
from homeval.data.store import Store
from homeval.data.tables import clean_houses, raw_houses

MAX_CITIES: Final = 2_000
"""Per state; more would only slow the drop-down (free text still takes any city)."""


@dataclass(frozen=True)
class LocationChoices:
    """Places known to the store, most listed first."""

    states: tuple[str, ...]
    cities: dict[str, tuple[str, ...]] = field(default_factory=dict)
    zips: dict[tuple[str, str | None], tuple[str, ...]] = field(default_factory=dict)
    source: str = "none"
    """``cleandata``, ``rawdata`` or ``none`` (nothing stored: every state, no cities)."""
    problem: str | None = None
    """Why the store could not be read, when it could not."""

    def cities_of(self, state: str | None) -> tuple[str, ...]:
        return self.cities.get(state or "", ())

    def zips_of(self, state: str | None, city: str | None = None) -> tuple[str, ...]:
        """ZIPs of a city, or of the whole state when the city is unknown here."""
        if state is None:
            return ()
        return self.zips.get((state, city)) or self.zips.get((state, None), ())

    @property
    def default_state(self) -> str | None:
        return self.states[0] if self.source != "none" and self.states else None


EMPTY: Final = LocationChoices(states=tuple(sorted(STATES)))


Place = tuple[str, str | None, str | None, int]


def _rows(store: Store, table: sa.Table, teacher_only: bool) -> list[Place]:
    query = sa.select(table.c.state, table.c.city, table.c.zip_code, sa.func.count()).where(
        table.c.state.is_not(None)
    )
    if teacher_only:
        query = query.where(table.c.data_origin == "teacher")
    query = query.group_by(table.c.state, table.c.city, table.c.zip_code)
    with store.engine.connect() as conn:
        return [(str(s), c, z, int(n)) for s, c, z, n in conn.execute(query)]


def load_location_choices(store: Store) -> LocationChoices:
    """Read the places from the store (raises SQLAlchemy errors when it is unreachable)."""
    source = "cleandata"
    rows = _rows(store, clean_houses, teacher_only=True)
    if not rows:
        source = "rawdata"
        rows = _rows(store, raw_houses, teacher_only=True)
    if not rows:
        return EMPTY
    by_state: dict[str, int] = {}
    by_city: dict[str, dict[str, int]] = {}
    by_zip: dict[tuple[str, str | None], dict[str, int]] = {}
    for state, city, zip_code, n in rows:
        by_state[state] = by_state.get(state, 0) + n
        if city:
            cities = by_city.setdefault(state, {})
            cities[city] = cities.get(city, 0) + n
        if zip_code:
            for key in ((state, city or None), (state, None)):
                zips = by_zip.setdefault(key, {})
                zips[zip_code] = zips.get(zip_code, 0) + n

    def ranked(counts: dict[str, int], limit: int | None = None) -> tuple[str, ...]:
        ordered = sorted(counts, key=lambda k: (-counts[k], k))
        return tuple(ordered[:limit] if limit else ordered)

    return LocationChoices(
        states=ranked(by_state),
        cities={s: ranked(c, MAX_CITIES) for s, c in by_city.items()},
        zips={k: ranked(z) for k, z in by_zip.items()},
        source=source,
    )


class CachedLocationChoices:
    """``load_location_choices`` at most once per ``ttl_s``; the last good answer (or every
    state) when the store fails, with the failure in ``problem``."""

    def __init__(
        self, store: Store, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._value: LocationChoices | None = None
        self._loaded_at = float("-inf")

    def get(self) -> LocationChoices:
        with self._lock:
            now = self._clock()
            if self._value is not None and now - self._loaded_at < self.ttl_s:
                return self._value
            try:
                value = load_location_choices(self.store)
            except sa.exc.SQLAlchemyError as exc:
                problem = f"the listing store is not reachable ({type(exc).__name__})"
                stale = self._value or EMPTY
                # retry soon, not at every keystroke
                self._loaded_at = now - self.ttl_s + min(self.ttl_s, 5.0)
                self._value = LocationChoices(
                    stale.states, stale.cities, stale.zips, stale.source, problem
                )
                return self._value
            self._value, self._loaded_at = value, now
            return value

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = float("-inf")
