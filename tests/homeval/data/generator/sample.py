"""What "close to the real data" means for the generator's tests: tolerances and the views of
a frame they compare.

Most tolerances are three standard errors of the comparison (the real sample's sampling
error and the generated one's) plus a small, named allowance for what the generator leaves
out, so a check fails when the generator moves, not when the dice do.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from types import ModuleType

import numpy as np
import pandas as pd

from tests.conftest import REPO

# --- tolerances (what "close to the real data" means here) --------------------------------
SE = 3.0  # standard errors of a comparison
SHARE_SLACK = 0.005  # shares and missing rates: 0.5 percentage point beyond sampling error
LEVEL_SLACK = 0.05  # per-state medians (log): shrinkage to priors, ZIP mix within a state
MEDIAN_SLACK = 0.06  # national medians by status (log)
QUANTILE_RATIO = 1.15  # 5%..95% quantiles within a factor 1.15 of the real ones
TAIL_RATIO = 1.30  # 1% and 99% quantiles
CORRELATION = 0.05  # Pearson r with log(price), absolute
R2_GAP = 0.06  # LightGBM R²(log price): generated vs real rows, same recipe and size
R2_FLOOR = 0.55  # ... and never below this, whatever the real sample gives
R2_SPLITS = 3

REPEAT_ANCHOR = 0.104  # records of a property listed twice, whole Kaggle file (STATS.md §9)
SHARE_PP = 1.5  # repeat records and price endings, percentage points
PROPERTY_KEY = ["brokered_by", "street", "city", "zip_code", "bed", "bath", "house_size",
                "acre_lot"]  # fmt: skip
HELD_OUT = ("Massachusetts", "New Jersey", "Pennsylvania")


def numeric_columns(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[["price", "bed", "bath", "acre_lot", "house_size"]].astype(float)


def is_land(frame: pd.DataFrame) -> pd.Series:
    """Land listings: no bed, bath or size (ready_to_build rows are plans of houses)."""
    return frame[["bed", "bath", "house_size"]].isna().all(axis=1) & (
        frame["status"] != "ready_to_build"
    )


def priced_houses(frame: pd.DataFrame) -> pd.DataFrame:
    """Houses with a usable price and size (junk of either side left out)."""
    x = frame[~is_land(frame) & frame["status"].isin(["for_sale", "sold"])]
    return x[x["house_size"].between(100, 100_000) & x["price"].between(1e4, 1e8)]


def share_tolerance(p: float, n_real: int, n_fake: int) -> float:
    se = math.sqrt(p * (1 - p) * (1 / max(n_real, 1) + 1 / max(n_fake, 1)))
    return SE * se + SHARE_SLACK


def robust_sd(values: pd.Series) -> float:
    q75, q25 = np.percentile(values, [75, 25])
    return float((q75 - q25) / 1.349)


def median_se(values: pd.Series) -> float:
    """Standard error of a median (of logs): 1.2533 sd / sqrt(n)."""
    return 1.2533 * robust_sd(values) / math.sqrt(len(values))


def load_calibrate_script() -> ModuleType:
    path = REPO / "scripts/calibrate_generator.py"
    spec = importlib.util.spec_from_file_location("calibrate_generator", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
