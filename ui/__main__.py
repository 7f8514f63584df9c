"""``python -m ui``: the image's entry point (settings from the environment, no CLI extras)."""

from __future__ import annotations

import logging
import os

from homeval.platform.settings import get_settings
from ui.server import serve

if __name__ == "__main__":
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    serve(get_settings())
