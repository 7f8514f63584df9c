"""The gates a run may override: one spec for the platform's settings, its CLI and the DAG."""

from __future__ import annotations

import math

import pytest
from homeval_contract.thresholds import THRESHOLDS, Threshold, ThresholdError, Thresholds


def test_unset_thresholds_leave_the_platform_settings_alone() -> None:
    assert Thresholds().as_env() == {}
    assert Thresholds.from_params({"mode": "local", "min_clean_rows": None}).as_dict() == {}


def test_set_thresholds_become_the_platform_variables() -> None:
    thresholds = Thresholds.from_params(
        {
            "min_clean_rows": 500,
            "min_teacher_share": 0.75,
            "drift_share_threshold": 1,
            "collect_max_batches": 3.0,
            "kfp_host": "ignored",
        }
    )
    assert thresholds.as_env() == {
        "HOMEVAL_MIN_CLEAN_ROWS": "500",
        "HOMEVAL_MIN_TEACHER_SHARE": "0.75",
        "HOMEVAL_DRIFT_SHARE_THRESHOLD": "1.0",
        "HOMEVAL_COLLECT_MAX_BATCHES": "3",
    }


def test_cluster_arguments_are_the_thresholds_the_pipeline_takes() -> None:
    thresholds = Thresholds(min_clean_rows=10, min_teacher_share=0.5)
    arguments, refused = thresholds.as_arguments({"min_clean_rows", "other"})
    assert arguments == {"min_clean_rows": 10}
    assert refused == ["min_teacher_share"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_clean_rows": -1}, r"min_clean_rows=-1 is outside"),
        ({"min_clean_rows": 2.5}, "min_clean_rows must be a whole number"),
        ({"min_clean_rows": "100"}, "min_clean_rows must be a number"),
        ({"min_teacher_share": 1.2}, "min_teacher_share=1.2 is outside"),
        ({"drift_share_threshold": True}, "drift_share_threshold must be a number"),
        ({"collect_max_batches": 0}, "collect_max_batches=0 is outside"),
    ],
)
def test_bad_thresholds_are_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ThresholdError, match=message):
        Thresholds(**kwargs)  # type: ignore[arg-type]


def test_the_spec_names_the_four_gates_and_their_platform_variables() -> None:
    assert list(THRESHOLDS) == [
        "min_clean_rows",
        "min_teacher_share",
        "drift_share_threshold",
        "collect_max_batches",
    ]
    assert {t.env for t in THRESHOLDS.values()} == {
        "HOMEVAL_MIN_CLEAN_ROWS",
        "HOMEVAL_MIN_TEACHER_SHARE",
        "HOMEVAL_DRIFT_SHARE_THRESHOLD",
        "HOMEVAL_COLLECT_MAX_BATCHES",
    }


@pytest.mark.parametrize("threshold", THRESHOLDS.values(), ids=list(THRESHOLDS))
def test_the_platform_settings_take_their_bounds_from_the_spec(
    threshold: Threshold, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settings reads the bounds from the spec; this holds it to them (and to the variable)."""
    from pydantic import ValidationError

    from homeval.platform.settings import Settings

    field = Settings.model_fields[threshold.name]
    assert field.annotation is threshold.kind
    ge = [m.ge for m in field.metadata if getattr(m, "ge", None) is not None]
    le = [m.le for m in field.metadata if getattr(m, "le", None) is not None]
    assert ge == [threshold.low]
    assert le == ([] if threshold.high is None else [threshold.high])
    monkeypatch.setenv(threshold.env, str(threshold.low))
    assert getattr(Settings(_env_file=None), threshold.name) == threshold.low
    monkeypatch.setenv(threshold.env, str(threshold.low - (1 if threshold.kind is int else 0.01)))
    with pytest.raises(ValidationError, match=threshold.name):
        Settings(_env_file=None)
    if threshold.high is not None:
        monkeypatch.setenv(threshold.env, str(threshold.high + 0.01))
        with pytest.raises(ValidationError, match=threshold.name):
            Settings(_env_file=None)


@pytest.mark.parametrize("threshold", THRESHOLDS.values(), ids=list(THRESHOLDS))
def test_the_dag_param_schema_has_the_spec_bounds(threshold: Threshold) -> None:
    schema = threshold.json_schema()
    assert schema["type"] == ["null", "integer" if threshold.kind is int else "number"]
    assert schema["minimum"] == threshold.low
    assert schema.get("maximum", math.inf) == (threshold.high or math.inf)
    threshold.check(threshold.low)
    with pytest.raises(ThresholdError, match="is outside"):
        threshold.check(threshold.low - 1)
