from __future__ import annotations

from ui.metric_labels import format_metric, headline, metric_label


def test_metrics_read_as_a_person_reads_them() -> None:
    assert metric_label("test_mdape") == "median % error"
    assert metric_label("rmse") == "RMSE"
    assert metric_label("drift_share") == "drift share"  # unknown keys lose underscores
    assert format_metric("test_rmse", 731504.316) == "$731,504"
    assert format_metric("mdape", 0.1834) == "18.3%"
    assert format_metric("r2_log", 0.78123) == "0.781"


def test_the_headline_metrics_are_found_whatever_their_prefix() -> None:
    logged = {"test_mdape": 0.2, "r2_log": 0.8, "fit_seconds": 3.0, "holdout_rmse": 1e5}
    assert headline(logged) == {"mdape": 0.2, "r2_log": 0.8, "rmse": 1e5}
    assert list(headline(logged)) == ["mdape", "r2_log", "rmse"]  # in the headline order
