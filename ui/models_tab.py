"""The Models tab: the registered versions, their aliases and hold-out metrics."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from ui import handlers
from ui.events import PAGE_ONLY, guard


def build(services: handlers.Services) -> None:
    """The tab's layout and events (inside the page's ``gr.Tabs``)."""
    with gr.Tab("Models", id="models") as models_tab:
        models_message = gr.Markdown(elem_id="models-message")
        models_table = gr.Dataframe(interactive=False, elem_id="models-table")
        models_refresh = gr.Button("Refresh", size="sm")

    @guard(lambda text: [text, pd.DataFrame()])
    def on_models() -> list[Any]:
        view = handlers.models_view(services)
        return [view.message, view.table]

    for trigger in (models_tab.select, models_refresh.click):
        trigger(on_models, outputs=[models_message, models_table], **PAGE_ONLY)
