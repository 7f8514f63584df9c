"""The page: four tabs, each built by its own module (``ui/*_tab.py``) and wired to
``ui/handlers.py``.  Layout and Gradio glue only."""

from __future__ import annotations

from typing import Final

import gradio as gr

from ui import drift_tab, handlers, models_tab, price_tab, training_tab

CSS: Final = """
.field-error p { color: #c62828; font-size: 0.85em; margin: -4px 0 6px 4px; }
#price-result h2 { margin-bottom: 0.2em; }
.section-title p { font-weight: 600; margin: 8px 0 0 2px; }
"""


def build_blocks(services: handlers.Services) -> gr.Blocks:
    """The Blocks app, bound to ``services``."""
    with gr.Blocks(title="homeval — what is this house worth?", analytics_enabled=False) as demo:
        gr.Markdown(
            "# homeval\nEstimate a US house price from its listing, see what drives it, "
            "and follow the models behind it."
        )
        with gr.Tabs():
            price_tab.build(services, demo)
            models_tab.build(services)
            training_tab.build(services)
            drift_tab.build(services)
    demo.queue(default_concurrency_limit=8)
    return demo
