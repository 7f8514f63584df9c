"""The UI's pictures, drawn with matplotlib's object API (no pyplot: thread-safe, no global
figure state), so each request gets its own figure."""

from __future__ import annotations

from typing import Final

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ui.metric_labels import metric_label
from ui.price_explanation import Waterfall, money, signed_money

UP: Final = "#2e7d32"
DOWN: Final = "#c62828"
NEUTRAL: Final = "#78909c"
FINAL: Final = "#1565c0"


def _dollars(value: float, _pos: object = None) -> str:
    if abs(value) >= 1e6:
        return f"${value / 1e6:.1f}M"
    if abs(value) >= 1e3:
        return f"${value / 1e3:.0f}k"
    return f"${value:.0f}"


def _percent(value: float) -> str:
    return f"{value:+.1%}" if abs(value) < 0.095 else f"{value:+.0%}"


def waterfall_figure(fall: Waterfall) -> Figure:
    """From the typical listing's price, each factor's push up (green) or down (red), to
    the predicted price; every bar is labelled in dollars and per cent.  The axis spans
    the prices the steps pass through, so small effects stay visible."""
    labels = ["Typical listing", *(e.label for e in fall.effects), "Predicted price"]
    n = len(labels)
    fig = Figure(figsize=(8.5, 0.9 + 0.4 * n), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    y = list(range(n))[::-1]
    points = [fall.base_price, fall.price, *(e.start for e in fall.effects)]
    points += [e.end for e in fall.effects]
    low, high = min(points), max(points)
    span = max(high - low, 0.05 * high)
    left = max(0.0, low - 0.35 * span)
    right = high + 0.6 * span  # room for the labels
    ax.barh(y[0], fall.base_price - left, left=left, color=NEUTRAL, height=0.6)
    ax.text(fall.base_price, y[0], f"  {money(fall.base_price)}", va="center", fontsize=9)
    for row, effect in zip(y[1:-1], fall.effects, strict=True):
        start, end = sorted((effect.start, effect.end))
        colour = UP if effect.dollars >= 0 else DOWN
        ax.barh(row, max(end - start, span * 0.002), left=start, color=colour, height=0.6)
        text = f"  {signed_money(effect.dollars)} ({_percent(effect.percent)})"
        ax.text(end, row, text, va="center", fontsize=9, color=colour)
    ax.barh(y[-1], fall.price - left, left=left, color=FINAL, height=0.6)
    ax.text(fall.price, y[-1], f"  {money(fall.price)}", va="center", fontsize=9, weight="bold")
    ax.set_yticks(y, labels, fontsize=9)
    ax.xaxis.set_major_formatter(FuncFormatter(_dollars))
    ax.set_xlim(left, right)
    ax.set_title("Why this price: from a typical listing to this one", loc="left", fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


_STATUS_STYLE: Final[dict[str, tuple[str, str, str]]] = {
    "promoted": ("*", UP, "promoted"),
    "kept_champion": ("o", NEUTRAL, "kept the champion"),
    "trained": (".", FINAL, "trained"),
}


def decision_ticks(times: pd.Series, most: int = 8) -> tuple[list[int], list[str]]:
    """At most ``most`` ticks over evenly spaced decisions (1-based positions), each
    labelled with its time; a label that would repeat the previous one (decisions come in
    bursts within a minute) is left out, so no two ticks read the same."""
    step = max(1, len(times) // most)
    ticks: list[int] = []
    labels: list[str] = []
    for position in range(1, len(times) + 1, step):
        label = f"{times.iloc[position - 1]:%m-%d %H:%M}"
        if label not in labels:
            ticks.append(position)
            labels.append(label)
    return ticks, labels


def training_figure(history: pd.DataFrame, metric: str | None) -> Figure:
    """One metric over the pipeline's logged decisions, oldest to newest (evenly spaced:
    runs come in bursts); promotions as stars, kept champions as grey dots, skipped runs
    as red ticks along the bottom."""
    fig = Figure(figsize=(9, 3.4), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    rows = history.sort_values("time", kind="stable").reset_index(drop=True)
    rows["run"] = range(1, len(rows) + 1)
    if metric is not None and metric in rows.columns:
        measured = rows[rows[metric].notna()]
        ax.plot(measured["run"], measured[metric], color="#b0bec5", linewidth=1, zorder=1)
        for status, (marker, colour, label) in _STATUS_STYLE.items():
            part = measured[measured["status"] == status]
            if not part.empty:
                ax.scatter(
                    part["run"], part[metric], marker=marker, s=110 if marker == "*" else 40,
                    color=colour, label=label, zorder=2,
                )  # fmt: skip
        others = measured[~measured["status"].isin(list(_STATUS_STYLE))]
        if not others.empty:
            ax.scatter(others["run"], others[metric], marker=".", color="black", label="other")
        ax.set_ylabel(metric_label(metric))
    skipped = rows[rows["status"] == "skipped"]
    if not skipped.empty:
        ax.scatter(
            skipped["run"], [0.03] * len(skipped), marker="|", s=200, color=DOWN,
            transform=ax.get_xaxis_transform(), label="skipped", zorder=3,
        )  # fmt: skip
    ax.set_xlim(0.5, len(rows) + 0.5)
    ticks, labels = decision_ticks(rows["time"])
    ax.set_xticks(ticks, labels)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel("pipeline decisions, oldest → newest")
    title = metric_label(metric) if metric else "Runs"
    ax.set_title(f"{title} over pipeline runs", loc="left", fontsize=11)
    ax.grid(alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize=8, frameon=False, ncols=4)
    return fig


def drift_figure(scores: pd.DataFrame) -> Figure:
    """Per-column drift scores as bars (drifted in red) with each column's threshold."""
    fig = Figure(figsize=(8, 0.9 + 0.38 * max(len(scores), 1)), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    if scores.empty:
        ax.text(0.5, 0.5, "no drift scores yet", ha="center", va="center")
        ax.set_axis_off()
        return fig
    ordered = scores.sort_values("score")
    colours = [DOWN if flag else NEUTRAL for flag in ordered["drifted"].fillna(False)]
    positions = list(range(len(ordered)))
    ax.barh(positions, ordered["score"], color=colours, height=0.6)
    if "threshold" in ordered:
        for y, limit in zip(positions, ordered["threshold"], strict=True):
            if pd.notna(limit):
                ax.plot([limit, limit], [y - 0.4, y + 0.4], color="black", linewidth=1)
    ax.set_yticks(positions, list(ordered["column"]), fontsize=9)
    ax.set_xlabel("drift score (red: drifted; black tick: the column's threshold)")
    ax.set_title("Drift per column", loc="left", fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    return fig
