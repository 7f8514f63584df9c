from __future__ import annotations

from homeval.data.store import Store
from ui.training_history import history_frame, metric_columns


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


def test_the_promote_steps_metrics_open_on_the_challenger(store_url: str) -> None:
    store = Store(store_url)
    store.init()
    store.log_training(
        step="promote", status="kept_champion", message="champion stays", model_version="1",
        metrics={"baseline_mdape": 0.4, "champion_mdape": 0.2, "challenger_mdape": 0.25,
                 "challenger_r2_log": 0.8, "clean_rows": 30000},
    )  # fmt: skip
    names = metric_columns(history_frame(store))
    assert names[:4] == [
        "challenger_mdape",
        "champion_mdape",
        "baseline_mdape",
        "challenger_r2_log",
    ]
    assert names[-1] == "clean_rows"
    store.dispose()
    store.dispose()
