"""What every quality script here shares: the real rows, cleaned as the pipeline cleans
them, the options, and a line on the machine the figures were measured on.

The rows are the two real folders (``shared/data/realtor``: north-east, Puerto Rico and
the Virgin Islands; ``shared/data/realtor-national``: a uniform national sample),
ingested and processed exactly as the pipeline does, dedup across folders included.
Each clean listing keeps where it first came from (``source``: ``ne`` or ``national``),
so a benchmark can score the two kinds of test rows apart.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

import pandas as pd

from homeval.data.listing_parser import parse_frame, read_listings_csv
from homeval.data.process import process_new
from homeval.data.store import Store
from homeval.model.training import load_clean

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[2] / "shared" / "data"
DEFAULT_DIRS = {
    "ne": Path(os.environ.get("HOMEVAL_TEST_REALTOR_DIR", DATA / "realtor")),
    "national": Path(
        os.environ.get("HOMEVAL_TEST_REALTOR_NATIONAL_DIR", DATA / "realtor-national")
    ),
}
DEFAULT_DATA = DEFAULT_DIRS["ne"]
"""The north-eastern folder alone: what the experiments of before issue 17 read."""
OUTSIDE_CONTIGUOUS = ("Alaska", "Hawaii", "Puerto Rico", "Virgin Islands", "Guam")
"""States and territories that border no other state (full names, as the cleaned rows
write them): held out alone, reported apart."""
COVERAGE_GOAL = (0.875, 0.925)
"""Issue 17's goal for the 90 % interval: the share of prices inside, in every segment."""


def clean_rows(dirs: dict[str, Path]) -> pd.DataFrame:
    """Clean listings of the folders (source name → folder), in order, with ``source``."""
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{Path(folder) / 'quality.db'}")
        store.init()
        sources: list[tuple[int, str]] = []
        for source, directory in dirs.items():
            for path in sorted(directory.glob("*.csv")):
                frame = parse_frame(read_listings_csv(path))
                store.ingest_batch(frame, batch_id=f"{source}/{path.name}")
            process_new(store)
            sources.append((int(load_clean(store)["id"].max()), source))
        frame = load_clean(store)
        store.dispose()
    # a clean row keeps its id when a later copy updates it: it counts for the first folder
    frame["source"] = ""
    lower = 0
    for upper, source in sources:
        frame.loc[(frame["id"] > lower) & (frame["id"] <= upper), "source"] = source
        lower = upper
    return frame


def clean_folder(directory: Path) -> pd.DataFrame:
    """Clean listings of one folder (the experiments written before issue 17)."""
    return clean_rows({"ne": directory})


def bench_args(description: str | None, out: Path) -> argparse.Namespace:
    """The options every script here shares; exits 2 when the real rows are missing.

    ``args.dirs`` maps a source name to its folder; ``args.out`` is where the results go:
    the default file only when the default folders were read (results of other rows
    never overwrite the committed ones), else ``--out`` or nothing.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--realtor-dir", type=Path, default=DEFAULT_DIRS["ne"])
    parser.add_argument("--national-dir", type=Path, default=DEFAULT_DIRS["national"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help=f"default {out.name} here")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    args.dirs = {"ne": args.realtor_dir, "national": args.national_dir}
    for directory in args.dirs.values():
        if not directory.is_dir() or not list(directory.glob("*.csv")):
            parser.error(f"real rows (*.csv) not found in {directory}")
    defaults = all(args.dirs[k].resolve() == DEFAULT_DIRS[k].resolve() for k in DEFAULT_DIRS)
    if args.out is None and defaults:
        args.out = out
    return args


def describe_data(frame: pd.DataFrame, dirs: dict[str, Path]) -> str:
    """One paragraph saying which rows were read and what they became."""
    counts = frame["source"].value_counts()
    folders = " and ".join(
        f"`{d.name}/` ({counts.get(s, 0):,} clean listings)" for s, d in dirs.items()
    )
    return (
        f"Data: the real rows of {folders}, ingested and cleaned by the pipeline's own "
        f"process step (dedup across folders included): {len(frame):,} distinct listings of "
        f"{frame['property_id'].nunique():,} properties in {frame['state'].nunique()} states "
        "and territories."
    )


def machine() -> str:
    """Cores, architecture and the load when the run started: figures depend on them."""
    try:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    return f"{os.cpu_count()} cores, {platform.machine()}, load average at start {load}"
