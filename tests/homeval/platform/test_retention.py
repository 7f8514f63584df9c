"""Local history stays bounded without touching what is not history."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from homeval.platform.retention import prune


def _aged(path: Path, age_s: float) -> Path:
    stamp = 1_700_000_000 - age_s
    os.utime(path, (stamp, stamp))
    return path


def test_keeps_the_newest_run_folders_and_leaves_hidden_ones(tmp_path: Path) -> None:
    runs = []
    for i in range(6):
        run = tmp_path / f"house-price-pipeline-2026-11-30-10-0{i}-00-000000"
        (run / "drift").mkdir(parents=True)
        (run / "drift" / "report.html").write_text("<html/>")
        runs.append(_aged(run, 600 - 60 * i))  # the higher i, the newer
    cache = tmp_path / ".kfp_cache"
    cache.mkdir()
    _aged(cache, 10_000)
    (tmp_path / "notes.txt").write_text("a file among run folders")

    removed = prune(tmp_path, "*", 2, folders=True)

    assert sorted(removed) == sorted(runs[:4])
    assert [p.exists() for p in runs] == [False] * 4 + [True] * 2
    assert cache.exists()
    assert (tmp_path / "notes.txt").exists()


def _file(path: Path, age_s: float, text: str = "{}") -> Path:
    path.write_text(text)
    return _aged(path, age_s)


def test_keeps_the_newest_reports_of_a_pattern_only(tmp_path: Path) -> None:
    html = [_file(tmp_path / f"drift-2026113{i}T000000Z.html", 100 - i) for i in range(5)]
    scores = _file(tmp_path / "drift-20261101T000000Z.json", 500)
    latest = _file(tmp_path / "latest.html", 1_000, "newest")
    half_written = _file(tmp_path / ".latest.html.x1y2", 1_000)

    prune(tmp_path, "drift-*.html", 3)

    assert [p.exists() for p in html] == [False, False, True, True, True]
    assert [p.exists() for p in (scores, latest, half_written)] == [True, True, True]


def test_same_time_falls_back_to_the_stamp_in_the_name(tmp_path: Path) -> None:
    older = _file(tmp_path / "drift-20261130T010000Z.json", 0)
    newer = _file(tmp_path / "drift-20261130T020000Z.json", 0)
    prune(tmp_path, "drift-*.json", 1)
    assert (older.exists(), newer.exists()) == (False, True)


def test_nothing_to_prune_and_bad_keep(tmp_path: Path) -> None:
    assert prune(tmp_path / "absent", "*", 3) == []
    with pytest.raises(ValueError, match="at least 1"):
        prune(tmp_path, "*", 0)
