"""Data commands: ``homeval generate``, ``homeval collect`` and ``homeval datasource serve``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from homeval.cli.common import (
    command_group,
    console,
    err_console,
    fail,
    load_settings,
    refuse_taken_port,
)

if TYPE_CHECKING:
    from homeval.data.collect import BatchOutcome, CollectSummary
    from homeval.data.store import Store
    from homeval.platform.settings import Settings

app = command_group(help="Listings in: synthetic rows, the feed, the store.")
datasource_app = command_group(help="The feed simulator (plays the Realtor feed).",
                             no_args_is_help=True)  # fmt: skip

GENERATE_CHUNK = 250_000
"""Rows generated and written at a time; chunk k > 0 has its own seed derived from --seed."""


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )


def log_warnings() -> None:
    """Retries and skipped lines are worth seeing; the rest stays quiet."""
    handler = RichHandler(console=err_console, show_path=False, show_time=False)
    logging.basicConfig(level=logging.WARNING, handlers=[handler], format="%(message)s")


# --- generate -----------------------------------------------------------------------------


@app.command("generate")
def generate(
    rows: Annotated[int, typer.Option("--rows", "-n", min=1, help="How many listings.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write: .csv or .parquet")],
    seed: Annotated[int, typer.Option(help="Same seed, same rows.")] = 0,
    price_shift: Annotated[
        float, typer.Option(help="Price-level drift: 0.1 makes every price 10% higher.")
    ] = 0.0,
    states: Annotated[
        str, typer.Option(help="State-mix drift, e.g. 'CA:0.5,TX:0.3' (rest as usual).")
    ] = "",
    clean: Annotated[
        bool, typer.Option(help="No junk and no malformed rows (they are in by default).")
    ] = False,
) -> None:
    """Write synthetic Realtor listings, calibrated on the real rows, to CSV or Parquet."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from homeval.data.generator.listings import generate
    from homeval.data.generator.state_mix import parse_state_mix, state_mix
    from homeval.data.schema import LISTING_FIELDS

    kind = out.suffix.lower()
    if kind not in (".csv", ".parquet"):
        fail(f"--out must end in .csv or .parquet, got {out.name!r}")
    if price_shift <= -1:
        fail(f"--price-shift must be > -1, got {price_shift}")
    try:
        mix = state_mix(parse_state_mix(states)) if states else None
    except ValueError as exc:
        fail(f"--states: {exc}")
    if out.exists() and out.is_dir():
        fail(f"--out {out} is a folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"--out: cannot create {out.parent}: {exc}")
    noise = {"junk_share": 0.0, "malformed_share": 0.0} if clean else {}
    schema = pa.schema(
        [(name, pa.float64() if name in _FLOAT_FIELDS else pa.string()) for name in LISTING_FIELDS]
    )
    tmp = out.with_name(f".{out.name}.part")
    writer: pq.ParquetWriter | None = None
    try:
        with _progress() as progress:
            task = progress.add_task("generating", total=rows, note=str(out))
            done, chunk = 0, 0
            while done < rows:
                size = min(GENERATE_CHUNK, rows - done)
                chunk_seed = (
                    seed
                    if chunk == 0
                    else int(np.random.SeedSequence([seed % 2**32, chunk]).generate_state(1)[0])
                )
                frame = generate(
                    size, seed=chunk_seed, price_shift=price_shift, state_weights=mix, **noise
                )
                if kind == ".csv":
                    frame.to_csv(tmp, mode="a" if chunk else "w", header=chunk == 0, index=False)
                else:
                    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
                    writer = writer or pq.ParquetWriter(tmp, schema)
                    writer.write_table(table)
                done += size
                chunk += 1
                progress.update(task, completed=done)
        if writer is not None:
            writer.close()
            writer = None
        tmp.replace(out)
    except OSError as exc:
        fail(f"cannot write {out}: {exc}", code=1)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    console.print(f"wrote {rows:,} listings to {out}")


_FLOAT_FIELDS = frozenset(
    ("brokered_by", "price", "bed", "bath", "acre_lot", "street", "house_size")
)


# --- collect ------------------------------------------------------------------------------


@app.command("collect")
def collect(
    batches: Annotated[
        int | None,
        typer.Option(min=1, help="Batches to fetch at most [default: HOMEVAL_COLLECT_MAX_BATCHES]"),
    ] = None,
    restart: Annotated[
        bool,
        typer.Option(help="When the feed is exhausted, restart it once and keep collecting."),
    ] = False,
    group: Annotated[
        int | None, typer.Option(min=1, help="group_number [default: HOMEVAL_FEED_GROUP]")
    ] = None,
    day: Annotated[str | None, typer.Option(help="day [default: HOMEVAL_FEED_DAY]")] = None,
) -> None:
    """Fetch batches from the feed into the store (replayed batches are stored once)."""
    settings = load_settings(feed_group=group, feed_day=day)
    log_warnings()
    summary = run_collect(settings, batches or settings.collect_max_batches, restart=restart)
    if summary.exhausted and not summary.batches:
        console.print("the feed has no more batches (--restart starts it over)")


def store_address(settings: Settings) -> str:
    """The store's URL without its password; exit 2 when it is not a database URL."""
    import sqlalchemy as sa
    import sqlalchemy.exc

    try:  # never print a password, not even from a URL that does not parse
        return sa.make_url(settings.database_url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        fail("HOMEVAL_DATABASE_URL is not a database URL (e.g. postgresql://user@host/db)")


def open_store(settings: Settings) -> tuple[Store, str]:
    """The store, its tables created; exit 2 naming the URL when it cannot be reached."""
    import sqlalchemy.exc

    from homeval.data.store import Store

    where = store_address(settings)
    try:
        store = Store.from_settings(settings)
        store.init()
    except sqlalchemy.exc.SQLAlchemyError as exc:
        fail(f"cannot reach the store at {where}: {getattr(exc, 'orig', None) or exc}")
    return store, where


def prepare_store(settings: Settings) -> str:
    """Open the store, its tables created, and say so; exit 2 when it cannot be reached."""
    _, where = open_store(settings)
    console.print(f"[green]✓[/] store ready: {where}")
    return where


def run_collect(settings: Settings, batches: int, *, restart: bool) -> CollectSummary:
    """Collect with a progress bar; exits 1 with the reason when the feed or store fails."""
    from homeval.data.collect import CollectError, collect
    from homeval.data.feed_client import FeedClient, FeedError

    store, where = open_store(settings)
    group, day = settings.feed_group, settings.feed_day
    failure: str | None = None
    with _progress() as progress, FeedClient.from_settings(settings) as client:
        task = progress.add_task(f"collecting {group}/{day}", total=batches, note="")
        stored = {"rows": 0}

        def advance(outcome: BatchOutcome) -> None:
            stored["rows"] += outcome.inserted
            note = f"{stored['rows']:,} rows stored"
            progress.update(task, advance=1, note=note)

        try:
            summary = collect(store, client, group=group, day=day, max_batches=batches,
                              restart_when_exhausted=restart, progress=advance)  # fmt: skip
        except (FeedError, CollectError) as exc:
            # the error is the last line: the bar goes, and the error is printed once the
            # bar's display has stopped (it would otherwise draw itself again below it)
            progress.update(task, visible=False)
            failure = str(exc)
        else:
            progress.update(task, total=summary.batches or 1, completed=summary.batches or 1)
    if failure is not None:
        fail(failure, code=1)
    console.print(
        f"collected {summary.batches} batch(es) from {client.base_url} into {where}: "
        f"{summary.inserted:,} rows stored, {summary.rejected:,} rejected, "
        f"{summary.duplicates} batch(es) already stored"
        + ("; the feed is exhausted" if summary.exhausted else "")
    )
    return summary


# --- datasource serve ---------------------------------------------------------------------


@datasource_app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="[default: HOMEVAL_DATASOURCE_HOST]")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="[default: HOMEVAL_DATASOURCE_PORT]")
    ] = None,
    csv: Annotated[
        Path | None,
        typer.Option(help="Serve this Realtor CSV [default: HOMEVAL_DATASOURCE_CSV]"),
    ] = None,
) -> None:
    """Run the feed simulator (GET /data, /restart_data_generation, /health) until Ctrl-C."""
    from datasource.app import serve as serve_feed
    from homeval.data.schema import SchemaError

    settings = load_settings(datasource_host=host, datasource_port=port, datasource_csv=csv)
    source = settings.datasource_csv
    if source is not None and not source.is_file():
        fail(f"--csv / HOMEVAL_DATASOURCE_CSV: no such file {source}")
    refuse_taken_port(
        settings.datasource_host, settings.datasource_port, "--port or HOMEVAL_DATASOURCE_PORT"
    )
    try:
        serve_feed(settings)
    except (SchemaError, ValueError) as exc:
        fail(f"cannot serve {source or 'generated rows'}: {exc}")
