"""The UI's charts as a person reads them."""

from __future__ import annotations

import pandas as pd

from ui.charts import decision_ticks, training_figure


def test_decision_ticks_never_repeat_a_label() -> None:
    # decisions in bursts: several within one minute
    times = pd.Series(
        pd.to_datetime(["2026-12-07 10:00:05"] * 9 + ["2026-12-07 10:01:00"] * 9)
        + pd.to_timedelta(range(18), unit="s")
    )
    ticks, labels = decision_ticks(times)
    assert len(labels) == len(set(labels)) == 2
    assert ticks[0] == 1
    assert all(1 <= t <= len(times) for t in ticks)


def test_the_training_chart_names_the_metric_in_words() -> None:
    history = pd.DataFrame(
        {
            "time": pd.to_datetime(["2026-12-07 10:00", "2026-12-07 11:00"]),
            "status": ["promoted", "kept"],
            "test_mdape": [0.2, 0.19],
        }
    )
    figure = training_figure(history, "test_mdape")
    ax = figure.axes[0]
    assert ax.get_ylabel() == "median % error"
    assert ax.get_title(loc="left").startswith("median % error over pipeline runs")
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(labels) == len(set(labels))
