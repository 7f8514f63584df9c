"""The Training tab: the pipeline's decisions as a table and a chosen metric over them."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from ui import charts, handlers
from ui.events import PAGE_ONLY, guard
from ui.metric_labels import metric_label


def build(services: handlers.Services) -> None:
    """The tab's layout and events (inside the page's ``gr.Tabs``)."""
    with gr.Tab("Training", id="training") as training_tab:
        training_message = gr.Markdown(elem_id="training-message")
        metric_choice = gr.Dropdown(label="Metric", choices=[], elem_id="metric")
        training_chart = gr.Plot(
            label="Metric over runs", show_label=False, elem_id="training-chart"
        )
        training_table = gr.Dataframe(interactive=False, elem_id="training-table")
        training_refresh = gr.Button("Refresh", size="sm")
        training_history = gr.State(pd.DataFrame())

    @guard(lambda text: [text, gr.update(), None, pd.DataFrame(), pd.DataFrame()])
    def on_training() -> list[Any]:
        view = handlers.training_view(services)
        metric = view.metrics[0] if view.metrics else None
        figure = None if view.history.empty else charts.training_figure(view.history, metric)
        return [
            view.message,
            gr.update(choices=[(metric_label(m), m) for m in view.metrics], value=metric),
            figure,
            view.table,
            view.history,
        ]

    for trigger in (training_tab.select, training_refresh.click):
        trigger(
            on_training,
            outputs=[
                training_message, metric_choice, training_chart, training_table,
                training_history,
            ],
            **PAGE_ONLY,
        )  # fmt: skip

    @guard(lambda text: None)
    def on_metric(metric: str | None, history: pd.DataFrame) -> Any:
        if not metric or history is None or history.empty:
            return None
        return charts.training_figure(history, metric)

    metric_choice.input(
        on_metric,
        inputs=[metric_choice, training_history],
        outputs=[training_chart],
        **PAGE_ONLY,
    )
