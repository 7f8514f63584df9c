"""Where each (group, day) stands in its data: the feed's only state.

The cursor moves only when a batch has been handed over, so a failed or abandoned request
never skips data.  With a file it survives a restart of the simulator (``homeval up`` run
twice resumes instead of replaying); the file names the data it belongs to, and cursors
kept for other data (another seed, batch size or CSV) are ignored rather than misapplied.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger("homeval.datasource")

Key = tuple[int, str]


class Cursors:
    """Next batch number per (group, day); thread-safe, optionally kept in a JSON file."""

    def __init__(self, identity: str, path: Path | None = None) -> None:
        self.identity = identity
        self.path = path
        self._lock = threading.Lock()
        self._next: dict[Key, int] = {}
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            log.warning("cursor file %s unreadable (%s); starting every group over", path, exc)
            return
        if not isinstance(saved, dict) or saved.get("data") != self.identity:
            log.warning("cursor file %s belongs to other data; starting every group over", path)
            return
        for entry in saved.get("cursors", []):
            self._next[(int(entry["group_number"]), str(entry["day"]))] = int(entry["next"])
        log.info("resumed %d cursor(s) from %s", len(self._next), path)

    def peek(self, key: Key) -> int:
        with self._lock:
            return self._next.get(key, 0)

    def advance(self, key: Key, served: int) -> None:
        """Record that batch ``served`` was handed over."""
        with self._lock:
            self._next[key] = served + 1
            self._save()

    def reset(self, key: Key) -> None:
        with self._lock:
            self._next.pop(key, None)
            self._save()

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "data": self.identity,
            "cursors": [
                {"group_number": g, "day": d, "next": n} for (g, d), n in sorted(self._next.items())
            ],
        }
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(body, indent=1))
        tmp.replace(self.path)  # atomic: a crash never leaves half a file
