"""The component functions run as KFP runs them: settings from the environment only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.datasource.server import running_feed

FAST_TRAINING = {
    "HOMEVAL_TRAIN_N_ESTIMATORS": "20",
    "HOMEVAL_TRAIN_NUM_LEAVES": "15",
    "HOMEVAL_TRAIN_TREE_MAX_DEPTH": "6",
}


@pytest.fixture
def feed(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The real feed simulator on a free loopback port; steps find it via HOMEVAL_FEED_URL."""
    with running_feed(datasource_batch_size=600, datasource_batches=12) as (url, _app):
        monkeypatch.setenv("HOMEVAL_FEED_URL", url)
        monkeypatch.setenv("HOMEVAL_FEED_RETRIES", "0")
        for name, value in FAST_TRAINING.items():
            monkeypatch.setenv(name, value)
        yield url
