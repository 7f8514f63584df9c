"""``python -m datasource``: run the feed simulator from HOMEVAL_* settings (the image's CMD)."""

from __future__ import annotations

import sys

from pydantic import ValidationError

from datasource.app import serve
from homeval.data.schema import SchemaError
from homeval.platform.ports import PortInUseError, ensure_free
from homeval.platform.settings import Settings


def main() -> int:
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"error: invalid settings: {exc}", file=sys.stderr)
        return 2
    try:
        ensure_free(settings.datasource_host, settings.datasource_port, "HOMEVAL_DATASOURCE_PORT")
    except PortInUseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        serve(settings)
    except (OSError, SchemaError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
