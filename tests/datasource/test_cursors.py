"""The simulator's cursor journal: one line per move, bounded, and it resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datasource.cursors import Cursors


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_move_appends_one_line_and_a_restart_resumes(tmp_path: Path) -> None:
    path = tmp_path / "cursors.jsonl"
    cursors = Cursors("data-a", path)
    for key in [(1, "Tuesday"), (2, "Monday"), (1, "Tuesday")]:
        before = path.stat().st_size
        cursors.advance(key, cursors.peek(key))
        written = path.read_bytes()[before:]
        assert written.count(b"\n") == 1, "one short line a move, not the whole file again"
    cursors.reset((2, "Monday"))
    cursors.close()
    again = Cursors("data-a", path)
    assert (again.peek((1, "Tuesday")), again.peek((2, "Monday"))) == (2, 0)
    assert len(again) == 1
    assert lines(path) == [{"data": "data-a"}, {"group_number": 1, "day": "Tuesday", "next": 2}]


def test_other_data_and_a_torn_last_line_are_handled(tmp_path: Path) -> None:
    path = tmp_path / "cursors.jsonl"
    cursors = Cursors("data-a", path)
    cursors.advance((1, "Tuesday"), 0)
    cursors.advance((1, "Tuesday"), 1)
    cursors.close()
    with path.open("a") as journal:  # the simulator died in the middle of a write
        journal.write('{"group_number": 1, "day": "Tues')
    assert Cursors("data-a", path).peek((1, "Tuesday")) == 2
    assert Cursors("data-b", path).peek((1, "Tuesday")) == 0, "not applied to other data"


def test_the_single_document_file_of_before_is_read(tmp_path: Path) -> None:
    path = tmp_path / "cursors.json"
    old = {"data": "data-a", "cursors": [{"group_number": 3, "day": "Friday", "next": 7}]}
    path.write_text(json.dumps(old, indent=1))
    assert Cursors("data-a", path).peek((3, "Friday")) == 7
    assert lines(path)[0] == {"data": "data-a"}


def test_cursors_are_capped_and_the_journal_compacted(tmp_path: Path) -> None:
    """Clients may invent any number of groups: the least recently used are forgotten and
    the file stays within a few lines per kept cursor."""
    path = tmp_path / "cursors.jsonl"
    cursors = Cursors("data-a", path, max_cursors=100)
    cursors.advance((1, "keep"), 0)
    for group in range(2, 5_000):
        cursors.advance((group, "Tuesday"), 0)
        if group % 50 == 0:
            cursors.advance((1, "keep"), cursors.peek((1, "keep")))  # used recently
    assert len(cursors) == 100
    assert cursors.peek((1, "keep")) == 100
    assert cursors.peek((2, "Tuesday")) == 0, "forgotten: that client starts over"
    cursors.close()
    assert len(path.read_text().splitlines()) <= 1 + 1000
    again = Cursors("data-a", path, max_cursors=100)
    assert again.peek((1, "keep")) == 100
    assert again.peek((4_999, "Tuesday")) == 1


def test_the_cap_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_cursors"):
        Cursors("data-a", None, max_cursors=0)


def test_the_journal_replays_to_the_live_state_with_forgetting_and_resets(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cursors.jsonl"
    live = Cursors("data-a", path, max_cursors=2)
    for group in (1, 2, 3):  # 1 is forgotten when 3 arrives
        live.advance((group, "Tuesday"), 0)
    live.reset((3, "Tuesday"))
    state = {key: live.peek(key) for key in [(g, "Tuesday") for g in (1, 2, 3)]}
    live.close()
    again = Cursors("data-a", path, max_cursors=2)
    assert {key: again.peek(key) for key in state} == state == {
        (1, "Tuesday"): 0, (2, "Tuesday"): 1, (3, "Tuesday"): 0,
    }  # fmt: skip
