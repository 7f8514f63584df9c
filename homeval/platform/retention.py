"""Bounded local history: the newest few runs' files are kept, older ones deleted.

Every local pipeline run leaves a folder of KFP outputs (its metrics and its drift HTML
report, up to a few MB) and every drift check a report and a scores file; `homeval up`
runs the pipeline every half hour, so without a bound the disk fills over weeks.  The
registry (MLflow) and the store keep the history that matters; these files are copies
for the local runner and the UI, which reads only the latest.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

log = logging.getLogger(__name__)


def prune(directory: Path, pattern: str, keep: int, *, folders: bool = False) -> list[Path]:
    """Delete all but the ``keep`` newest entries of ``directory`` matching ``pattern``.

    Newest by modification time, then by name (run folders and report files carry UTC
    stamps in their names).  ``folders`` chooses between run folders and plain files;
    entries of the other kind, hidden ones (KFP's ``.kfp_cache``, half-written
    ``.latest.html.*``) and links are never touched.  Returns what was deleted.
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    if not directory.is_dir():
        return []
    entries = [
        path
        for path in directory.glob(pattern)
        if not path.name.startswith(".")
        and not path.is_symlink()
        and (path.is_dir() if folders else path.is_file())
    ]
    entries.sort(key=lambda path: (_mtime(path), path.name), reverse=True)
    removed = []
    for path in entries[keep:]:
        try:
            if folders:
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue  # another process pruned it first
        except OSError as exc:
            log.warning("could not delete %s: %s", path, exc)
            continue
        removed.append(path)
    if removed:
        log.info("deleted %d old entries of %s (keeping %d)", len(removed), directory, keep)
    return removed


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # deleted since the listing: it sorts as oldest and is skipped
        return 0.0
