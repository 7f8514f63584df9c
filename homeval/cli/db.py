"""``homeval db``: create the store's schemas and tables."""

from __future__ import annotations

from homeval.cli.common import command_group, load_settings

app = command_group(help="The store (rawdata, cleandata, trainlogs).", no_args_is_help=True)


@app.command("init")
def init() -> None:
    """Create the schemas and tables if they do not exist (safe to repeat)."""
    from homeval.cli.data import prepare_store

    prepare_store(load_settings())
