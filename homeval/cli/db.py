"""``homeval db``: create the store's schemas and tables."""

from __future__ import annotations

from homeval.cli.common import command_group, console, fail, load_settings

app = command_group(help="The store (rawdata, cleandata, trainlogs).", no_args_is_help=True)


@app.command("init")
def init() -> None:
    """Create the schemas and tables if they do not exist (safe to repeat)."""
    import sqlalchemy.exc

    from homeval.store import Store

    settings = load_settings()
    store = Store.from_settings(settings)
    try:
        store.init()
    except sqlalchemy.exc.OperationalError as exc:
        fail(f"cannot reach the store at {store.engine.url.render_as_string()}: {exc.orig}")
    console.print(f"store ready: {store.engine.url.render_as_string()}")
