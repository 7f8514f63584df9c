"""The two sides every generator test compares: the national sample and generated rows
with its state mix."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from homeval.data.generator.listings import generate
from homeval.data.listing_parser import parse_frame, read_listings_csv


@pytest.fixture(scope="module")
def real(realtor_national_files: list[Path]) -> pd.DataFrame:
    """The national sample, parsed as the platform parses feeds."""
    assert realtor_national_files, "the national Realtor sample is missing from the shared data"
    frames = [parse_frame(read_listings_csv(p)).rows for p in realtor_national_files]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def fake(real: pd.DataFrame) -> pd.DataFrame:
    mix = real["state"].value_counts().to_dict()
    return parse_frame(generate(120_000, seed=11, state_weights=mix)).rows
