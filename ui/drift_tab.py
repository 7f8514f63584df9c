"""The Drift tab: the pipeline's latest drift check with its Evidently report, and the
latest serving-drift check (the listings people priced against what the production model
learnt from).  Both are computed by the pipeline (serving drift also by ``homeval drift
serving``); the tab only reads their reports."""

from __future__ import annotations

import html
from typing import Any

import gradio as gr
import pandas as pd

from ui import charts, handlers
from ui.events import PAGE_ONLY, guard


def build(services: handlers.Services) -> None:
    """The tab's layout and events (inside the page's ``gr.Tabs``)."""
    with gr.Tab("Drift", id="drift") as drift_tab:
        drift_message = gr.Markdown(elem_id="drift-message")
        with gr.Row():
            drift_chart = gr.Plot(label="Drift per column", show_label=False, elem_id="drift-chart")
            drift_table = gr.Dataframe(interactive=False, elem_id="drift-table")
        with gr.Accordion("Serving drift: the listings people priced vs what the model learnt"):
            serving_message = gr.Markdown(elem_id="serving-message")
            with gr.Row():
                serving_chart = gr.Plot(
                    label="Serving drift per column", show_label=False,
                    elem_id="serving-chart",
                )  # fmt: skip
                serving_table = gr.Dataframe(interactive=False, elem_id="serving-table")
        drift_report = gr.HTML(elem_id="drift-report")
        drift_refresh = gr.Button("Refresh", size="sm")

    @guard(lambda text: [text, None, pd.DataFrame(), ""])
    def on_drift() -> list[Any]:
        summary = handlers.drift_view(services)
        parts = []
        if summary.updated is not None:
            parts.append(f"Last drift check: {summary.updated:%Y-%m-%d %H:%M UTC}.")
            parts.append(summary.verdict())
            reference, current = summary.rows
            if reference and current:
                parts.append(
                    f"Compared {current:,} new listings with {reference:,} "
                    "the production model learnt from."
                )
        if summary.problem:
            parts.append(summary.problem)
        figure = None if summary.scores.empty else charts.drift_figure(summary.scores)
        report = ""
        if summary.report is not None:
            version = int(summary.report.stat().st_mtime)
            report = (
                f'<iframe src="drift/report?v={version}" title="Evidently drift report" '
                'style="width:100%;height:900px;border:1px solid #ddd;border-radius:6px">'
                "</iframe>"
            )
        table = summary.scores.round({"score": 3})
        return [" ".join(html.escape(p) for p in parts), figure, table, report]

    for trigger in (drift_tab.select, drift_refresh.click):
        trigger(
            on_drift,
            outputs=[drift_message, drift_chart, drift_table, drift_report],
            **PAGE_ONLY,
        )

    @guard(lambda text: [text, None, pd.DataFrame()])
    def on_serving() -> list[Any]:
        summary = handlers.serving_drift_view(services)
        parts = []
        if summary.updated is not None:
            parts.append(f"Last serving-drift check: {summary.updated:%Y-%m-%d %H:%M UTC}.")
            parts.append(html.escape(summary.verdict()))
        if summary.problem:
            parts.append(html.escape(summary.problem))
        if summary.report is not None:
            version = int(summary.report.stat().st_mtime)
            parts.append(f'<a href="drift/serving-report?v={version}" target="_blank">'
                         "Open the full report</a>.")  # fmt: skip
        figure = None if summary.scores.empty else charts.drift_figure(summary.scores)
        return [" ".join(parts), figure, summary.scores.round({"score": 3})]

    for trigger in (drift_tab.select, drift_refresh.click):
        trigger(on_serving, outputs=[serving_message, serving_chart, serving_table], **PAGE_ONLY)
