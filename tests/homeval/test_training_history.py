from __future__ import annotations

from homeval.store import Store
from homeval.training_history import history_frame, metric_columns


def test_the_log_flattens_into_metric_columns_headline_first(store_url: str) -> None:
    store = Store(store_url)
    store.init()
    assert history_frame(store).empty
    store.log_training(step="gates", status="skipped", message="only 10 clean rows")
    store.log_training(
        step="train", status="trained", message="two candidates",
        metrics={"lightgbm": {"mdape": 0.2, "r2_log": 0.8}, "zzz": 1.0, "flag": True},
    )  # fmt: skip
    store.log_training(
        step="promote", status="promoted", message="beats nothing", model_version="1",
        metrics={"mdape": 0.15, "r2_log": 0.85, "rmse": 90_000.0},
    )  # fmt: skip
    frame = history_frame(store)
    assert list(frame["status"]) == ["promoted", "trained", "skipped"]  # newest first
    assert frame.loc[0, "mdape"] == 0.15
    assert frame.loc[1, "lightgbm.mdape"] == 0.2
    assert "flag" not in frame.columns  # booleans are not metrics
    assert frame["time"].dt.tz is not None
    names = metric_columns(frame)
    assert names.index("mdape") < names.index("r2_log") < names.index("rmse")
    assert names.index("lightgbm.mdape") < names.index("zzz")
    store.dispose()
