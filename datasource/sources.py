"""What the simulated feed serves: batches cut from a real CSV or made by the generator.

Both sources answer the same question — the rows of batch ``k`` of a (group, day) under a
drift schedule — and always the same rows for the same question, so a client that asks
again after a failure gets what it missed, and a batch's content hash identifies it.
"""

from __future__ import annotations

import csv
import logging
import math
import zlib
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from datasource.drift import DriftSchedule
from homeval.data.generator.listings import generate
from homeval.data.generator.state_mix import state_mix
from homeval.data.generator.world import world
from homeval.data.listing_parser import detect_columns
from homeval.data.schema import ID_FIELDS, LISTING_FIELDS, NUMERIC_FIELDS, normalise_state
from homeval.platform.settings import Settings

log = logging.getLogger("homeval.datasource")

Rows = list[list[Any]]


class BatchSource(Protocol):
    """A feed's data: ``batches`` batches per (group, day)."""

    batches: int
    identity: str

    def batch(self, group: int, day: str, number: int, drift: DriftSchedule) -> Rows: ...

    def describe(self) -> dict[str, Any]: ...


def batch_seed(seed: int, group: int, day: str, number: int) -> int:
    """One independent random stream per (seed, group, day, batch)."""
    entropy = [seed % 2**32, group % 2**32, zlib.crc32(day.encode()), number % 2**32]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def to_feed_rows(frame: pd.DataFrame) -> Rows:
    """A frame as JSON-ready lists: missing values (NaN) become None."""
    values = frame.astype(object).where(frame.notna(), None)
    rows: Rows = values.to_numpy().tolist()
    return rows


class GeneratorSource:
    """Listings from ``homeval.data.generator``: ``batches`` batches of ``batch_size`` rows."""

    def __init__(self, *, seed: int, batch_size: int, batches: int) -> None:
        self.seed, self.batch_size, self.batches = seed, batch_size, batches
        self.identity = f"generator seed={seed} batch_size={batch_size} batches={batches}"

    def batch(self, group: int, day: str, number: int, drift: DriftSchedule) -> Rows:
        overrides = drift.state_overrides(number)
        frame = generate(
            self.batch_size,
            seed=batch_seed(self.seed, group, day, number),
            price_shift=drift.price_shift(number),
            state_weights=state_mix(overrides) if overrides else None,
        )
        return to_feed_rows(frame)

    def describe(self) -> dict[str, Any]:
        return {"mode": "generator", "batches": self.batches, "batch_size": self.batch_size}


class CsvSource:
    """Rows of a Kaggle-style file (12- or 10-column version) in file order.

    The file is read once into Arrow columns (the real 2.2M-row file takes a few seconds
    and about 300 MB, against several GB as Python objects); a batch is a slice turned
    into lists.  Drifted batches are drawn from the file's rows with the drifted state mix.
    """

    def __init__(self, path: Path, *, seed: int, batch_size: int) -> None:
        self.path, self.seed, self.batch_size = path, seed, batch_size
        self.skipped_lines = 0
        self.table = self._read(path)
        self.batches = max(math.ceil(self.table.num_rows / batch_size), 1)
        stat = path.stat()
        self.identity = (
            f"csv {path.resolve()} bytes={stat.st_size} mtime={int(stat.st_mtime)} "
            f"batch_size={batch_size}"
        )
        self._index_states()

    def _read(self, path: Path) -> pa.Table:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
        if not header:
            raise ValueError(f"{path} is empty")
        names = list(detect_columns(header))

        def skip(row: Any) -> str:
            self.skipped_lines += 1
            return "skip"

        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(skip_rows=1, column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(invalid_row_handler=skip),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
        if self.skipped_lines:
            log.warning("%s: skipped %d line(s) with the wrong number of fields",
                        path, self.skipped_lines)  # fmt: skip
        columns = []
        for name in LISTING_FIELDS:
            if name not in table.column_names:
                columns.append(pa.nulls(table.num_rows, pa.string()))
                continue
            column = table[name].combine_chunks()
            if name in NUMERIC_FIELDS or name in ID_FIELDS:
                column = _as_numbers(column)
            columns.append(column)
        return pa.table(columns, names=list(LISTING_FIELDS))

    def _index_states(self) -> None:
        """Rows of each state, for drawing drifted batches with another state mix."""
        encoded = pc.dictionary_encode(self.table["state"]).combine_chunks()
        names = [normalise_state(v) for v in encoded.dictionary.to_pylist()]
        known = {s: i for i, s in enumerate(world().states)}
        code_of = np.array([known.get(n, -1) if n else -1 for n in names] + [-1])
        codes = encoded.indices.fill_null(len(names)).to_numpy(zero_copy_only=False)
        self.state_code = code_of[codes]
        self.order = np.argsort(self.state_code, kind="stable")
        present, starts, counts = np.unique(
            self.state_code[self.order], return_index=True, return_counts=True
        )
        self.state_rows = {
            int(s): (int(a), int(c))
            for s, a, c in zip(present, starts, counts, strict=True)
            if s >= 0
        }

    def batch(self, group: int, day: str, number: int, drift: DriftSchedule) -> Rows:
        overrides = drift.state_overrides(number)
        if overrides:
            part = self._drawn(overrides, batch_seed(self.seed, group, day, number))
        else:
            part = self.table.slice(number * self.batch_size, self.batch_size)
        shift = drift.price_shift(number)
        if shift and pa.types.is_floating(part["price"].type):
            shifted = pc.round(pc.multiply(part["price"], 1.0 + shift), 0)
            part = part.set_column(LISTING_FIELDS.index("price"), "price", shifted)
        columns = [part[name].to_pylist() for name in LISTING_FIELDS]
        return [list(row) for row in zip(*columns, strict=True)]

    def _drawn(self, overrides: dict[str, float], seed: int) -> pa.Table:
        states = world().states
        usual = {states[s]: c for s, (_, c) in self.state_rows.items()}
        wanted = {s: p for s, p in overrides.items() if s in usual}
        for missing in set(overrides) - set(wanted):
            log.warning("drift asks for %s but %s has no such rows", missing, self.path.name)
        rest = {s: c for s, c in usual.items() if s not in wanted}
        free = max(1.0 - sum(wanted.values()), 0.0)
        total_rest = sum(rest.values())
        mix = {**wanted, **{s: free * c / total_rest for s, c in rest.items()}}
        names = list(mix)
        probs = np.array([mix[n] for n in names], dtype=float)
        rng = np.random.default_rng(seed)
        drawn = rng.choice(len(names), size=self.batch_size, p=probs / probs.sum())
        index = np.empty(self.batch_size, dtype=np.int64)
        code = {s: i for i, s in enumerate(states)}
        for k, name in enumerate(names):
            rows = np.flatnonzero(drawn == k)
            start, count = self.state_rows[code[name]]
            index[rows] = self.order[start + rng.integers(0, count, len(rows))]
        return self.table.take(pa.array(index))

    def describe(self) -> dict[str, Any]:
        return {
            "mode": "csv",
            "file": self.path.name,
            "rows": self.table.num_rows,
            "batches": self.batches,
            "batch_size": self.batch_size,
        }


def _as_numbers(column: pa.Array) -> pa.Array:
    """Floats when every value parses and is finite; otherwise the text, as the file has it."""
    try:
        numbers = pc.cast(column, pa.float64())
    except pa.ArrowInvalid:
        return column
    finite = pc.is_finite(numbers)
    if not pc.all(pc.or_kleene(finite, pc.is_null(numbers))).as_py():
        return column
    return numbers


def open_source(settings: Settings) -> BatchSource:
    """The source the settings name: the CSV when given, else the generator."""
    if settings.datasource_csv is not None:
        return CsvSource(
            settings.datasource_csv,
            seed=settings.datasource_seed,
            batch_size=settings.datasource_batch_size,
        )
    return GeneratorSource(
        seed=settings.datasource_seed,
        batch_size=settings.datasource_batch_size,
        batches=settings.datasource_batches,
    )
