"""Where each (group, day) stands in its data: the feed's only state.

The cursor moves only when a batch has been handed over, so a failed or abandoned request
never skips data.  With a file it survives a restart of the simulator (``homeval up`` run
twice resumes instead of replaying); the file names the data it belongs to, and cursors
kept for other data (another seed, batch size or CSV) are ignored rather than misapplied.

The file is a journal: one JSON line per move, appended, so a request costs one short
write however many cursors there are (rewriting the whole file on every request cut the
feed from 48 to 15 requests a second at 8,000 cursors).  It is compacted to one line per
live cursor when the journal has grown well past them, and the number of cursors is
capped: any client may invent groups and days, and the least recently used cursor is
forgotten first (its client starts that group over; a replayed batch is stored once).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("homeval.datasource")

Key = tuple[int, str]

MAX_CURSORS = 10_000
"""Cursors kept at most; the least recently moved is forgotten first."""

COMPACT_FACTOR = 4
"""Compact when the journal holds this many lines per live cursor (and at least 1,000)."""


class Cursors:
    """Next batch number per (group, day); thread-safe, optionally kept in a journal file."""

    def __init__(
        self, identity: str, path: Path | None = None, *, max_cursors: int = MAX_CURSORS
    ) -> None:
        if max_cursors < 1:
            raise ValueError(f"max_cursors must be at least 1, got {max_cursors}")
        self.identity = identity
        self.path = path
        self.max_cursors = max_cursors
        self._lock = threading.Lock()
        self._next: OrderedDict[Key, int] = OrderedDict()
        self._journal: IO[str] | None = None
        self._lines = 0
        self._forgot = False
        if path is not None:
            if path.exists():
                self._load(path)
            self._compact()

    # --- the cursors ---------------------------------------------------------------------

    def peek(self, key: Key) -> int:
        with self._lock:
            return self._next.get(key, 0)

    def advance(self, key: Key, served: int) -> None:
        """Record that batch ``served`` was handed over."""
        with self._lock:
            self._set(key, served + 1)

    def reset(self, key: Key) -> None:
        with self._lock:
            self._set(key, 0)

    def __len__(self) -> int:
        return len(self._next)

    def close(self) -> None:
        with self._lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None

    def _apply(self, key: Key, value: int) -> int:
        """One move, as the journal replays it too; returns the cursors it forgot."""
        if value:
            self._next[key] = value
            self._next.move_to_end(key)
        else:
            self._next.pop(key, None)
        forgotten = 0
        while len(self._next) > self.max_cursors:
            self._next.popitem(last=False)
            forgotten += 1
        return forgotten

    def _set(self, key: Key, value: int) -> None:
        forgotten = self._apply(key, value)
        if forgotten and not self._forgot:
            self._forgot = True  # once: a client inventing groups would fill the log
            log.warning("more than %d cursors: forgetting the least recently used (their "
                        "clients start those groups over)", self.max_cursors)  # fmt: skip
        if self.path is None:
            return
        # the journal needs no line for a forgotten cursor: replayed in order, it forgets
        # the same ones
        if self._lines >= max(1000, COMPACT_FACTOR * len(self._next)):
            self._compact()
            return
        self._append({"group_number": key[0], "day": key[1], "next": value})

    # --- the journal ---------------------------------------------------------------------

    def _load(self, path: Path) -> None:
        try:
            text = path.read_text()
        except OSError as exc:
            log.warning("cursor file %s unreadable (%s); starting every group over", path, exc)
            return
        entries = self._parse(path, text)
        if entries is None:
            return
        for entry in entries:
            try:
                key, value = (int(entry["group_number"]), str(entry["day"])), int(entry["next"])
            except (KeyError, TypeError, ValueError):
                continue
            self._apply(key, max(value, 0))
        log.info("resumed %d cursor(s) from %s", len(self._next), path)

    def _parse(self, path: Path, text: str) -> list[Any] | None:
        """The moves a file holds, or None when it belongs to other data."""
        try:  # the single-document file of earlier versions
            whole = json.loads(text)
        except ValueError:
            whole = None
        if isinstance(whole, dict) and "cursors" in whole:
            if whole.get("data") != self.identity:
                log.warning("cursor file %s belongs to other data; starting every group over",
                            path)  # fmt: skip
                return None
            return list(whole["cursors"])
        lines = text.splitlines()
        try:
            header = json.loads(lines[0]) if lines else None
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get("data") != self.identity:
            log.warning("cursor file %s belongs to other data; starting every group over", path)
            return None
        moves = []
        for number, line in enumerate(lines[1:], start=2):
            try:
                moves.append(json.loads(line))
            except ValueError:  # a write cut short by a crash: only that move is lost
                log.warning("cursor file %s: line %d unreadable, skipped", path, number)
        return moves

    def _append(self, entry: dict[str, Any]) -> None:
        if self._journal is None:
            assert self.path is not None
            self._journal = self.path.open("a", encoding="utf-8")
        self._journal.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._journal.flush()
        self._lines += 1

    def _compact(self) -> None:
        """Rewrite the journal as one line per live cursor (atomically: a crash never
        leaves half a file)."""
        assert self.path is not None
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lines = [json.dumps({"data": self.identity})]
        lines += [
            json.dumps({"group_number": g, "day": d, "next": n}, separators=(",", ":"))
            for (g, d), n in self._next.items()
        ]
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        tmp.replace(self.path)
        self._lines = len(self._next)
