from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from homeval.platform.settings import Settings


def test_defaults_work_locally(tmp_path: Path) -> None:
    home = (tmp_path / "homeval-home").resolve()
    s = Settings()
    assert s.home == home
    assert s.database_url == f"sqlite:///{home / 'homeval.db'}"
    assert s.mlflow_tracking_uri.startswith("sqlite:///")
    assert s.mlflow_registry_uri == s.mlflow_tracking_uri
    assert s.model_name == "house-price"
    assert s.predictor_model_uri == "models:/house-price@production"
    assert s.min_clean_rows == 20_000


def test_standard_variables_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-access-id-123")
    monkeypatch.setenv("HOMEVAL_DATABASE_URL", "postgresql://u@db/homeval")
    s = Settings()
    assert s.mlflow_tracking_uri == "http://mlflow:5000"
    assert s.aws_access_key_id is not None
    assert s.aws_access_key_id.get_secret_value() == "test-access-id-123"
    assert "test-access-id-123" not in repr(s)
    assert s.database_url == "postgresql://u@db/homeval"


def test_homeval_name_wins_over_standard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://a")
    monkeypatch.setenv("HOMEVAL_MLFLOW_TRACKING_URI", "http://b")
    assert Settings().mlflow_tracking_uri == "http://b"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HOMEVAL_MIN_TEACHER_SHARE", "1.5"),
        ("HOMEVAL_FEED_RETRIES", "-1"),
        ("HOMEVAL_UI_PORT", "x"),
    ],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()
