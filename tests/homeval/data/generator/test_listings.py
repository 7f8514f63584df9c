"""generate against the real rows: same shape, same statistics, prices that mean something,
and its drift knobs and arguments.

The reference is the national random sample of the Kaggle file (``realtor-national``),
parsed as the platform parses feeds; the generator is run with that sample's state mix so
both sides describe the same places (the sample lacks MA, NJ and PA on purpose).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from homeval.data.generator.listings import generate
from homeval.data.listing_parser import parse_frame
from homeval.data.schema import LISTING_FIELDS, STATES
from tests.homeval.data.generator.sample import (
    CORRELATION,
    MEDIAN_SLACK,
    PROPERTY_KEY,
    QUANTILE_RATIO,
    R2_FLOOR,
    R2_GAP,
    R2_SPLITS,
    REPEAT_ANCHOR,
    SE,
    SHARE_PP,
    TAIL_RATIO,
    is_land,
    median_se,
    numeric_columns,
    priced_houses,
    share_tolerance,
)

# --- shape ---------------------------------------------------------------------------------


def test_rows_look_like_feed_rows() -> None:
    frame = generate(2_000, seed=3)
    assert list(frame.columns) == list(LISTING_FIELDS)
    assert len(frame) == 2_000
    for name in ("brokered_by", "price", "bed", "bath", "acre_lot", "street", "house_size"):
        assert frame[name].dtype == np.float64, name
    for name in ("status", "city", "state", "zip_code", "prev_sold_date"):
        values = frame[name].dropna()
        assert values.map(lambda v: isinstance(v, str)).all(), name
    dates = frame["prev_sold_date"].dropna()
    assert dates.str.fullmatch(r"\d{4}-\d{2}-\d{2}").mean() > 0.99


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    a, b, c = generate(3_000, seed=5), generate(3_000, seed=5), generate(3_000, seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not a["price"].equals(c["price"])


# --- statuses and missing values -------------------------------------------------------------


def test_status_mix_matches_the_sample(real: pd.DataFrame, fake: pd.DataFrame) -> None:
    want = real["status"].value_counts(normalize=True)
    got = fake["status"].value_counts(normalize=True)
    for status, share in want.items():
        limit = share_tolerance(share, len(real), len(fake))
        assert abs(got[status] - share) <= limit, f"{status}: {got[status]:.4f} vs {share:.4f}"


@pytest.mark.parametrize("status", ["for_sale", "sold"])
def test_missing_rates_per_status_match_the_sample(
    real: pd.DataFrame, fake: pd.DataFrame, status: str
) -> None:
    r, f = real[real["status"] == status], fake[fake["status"] == status]
    for name in ("bed", "bath", "acre_lot", "house_size", "prev_sold_date", "street"):
        want, got = r[name].isna().mean(), f[name].isna().mean()
        limit = share_tolerance(want, len(r), len(f))
        assert abs(got - want) <= limit, (
            f"{status} {name}: {got:.1%} missing vs real {want:.1%} (limit {limit:.1%})"
        )
    want, got = is_land(r).mean(), is_land(f).mean()
    assert abs(got - want) <= share_tolerance(want, len(r), len(f)), f"{status} land share"


def test_overall_missing_rates_match_the_sample(real: pd.DataFrame, fake: pd.DataFrame) -> None:
    for name in ("bed", "bath", "acre_lot", "house_size", "prev_sold_date", "street", "city",
                 "zip_code", "brokered_by", "price"):  # fmt: skip
        want, got = real[name].isna().mean(), fake[name].isna().mean()
        limit = share_tolerance(want, len(real), len(fake))
        assert abs(got - want) <= limit, f"{name}: {got:.2%} missing vs real {want:.2%}"


def test_ready_to_build_rows_are_plans_of_houses(real: pd.DataFrame, fake: pd.DataFrame):
    """In the sample they have beds and a size but never a bath, a lot or an earlier sale."""
    for frame in (real, fake):
        plans = frame[frame["status"] == "ready_to_build"]
        assert len(plans) >= 50
        # (all but a junk row or two: a lot the size of a county lands anywhere)
        assert (plans[["bath", "acre_lot", "prev_sold_date"]].isna().mean() >= 0.99).all()
        assert (plans[["bed", "house_size"]].notna().mean() >= 0.99).all()
    want = real.loc[real["status"] == "ready_to_build", "house_size"].median()
    got = fake.loc[fake["status"] == "ready_to_build", "house_size"].median()
    assert want / 1.1 <= got <= want * 1.1


def test_sold_rows_carry_their_own_sale_date(real: pd.DataFrame, fake: pd.DataFrame) -> None:
    """A sold row's prev_sold_date is that sale (Oct 2021 - May 2022 in the sample); a
    for_sale row's is the sale before the listing, spread over decades."""

    def dates(frame: pd.DataFrame, status: str) -> pd.Series:
        return pd.to_datetime(frame.loc[frame["status"] == status, "prev_sold_date"].dropna())

    sold_real, sold_fake = dates(real, "sold"), dates(fake, "sold")
    assert sold_fake.min() >= sold_real.min()
    assert sold_fake.max() <= sold_real.max()
    assert abs((sold_fake.median() - sold_real.median()).days) <= 15
    earlier_real, earlier_fake = dates(real, "for_sale"), dates(fake, "for_sale")
    assert abs((earlier_fake.median() - earlier_real.median()).days) <= 365
    assert (earlier_fake < pd.Timestamp("2000-01-01")).mean() == pytest.approx(
        (earlier_real < pd.Timestamp("2000-01-01")).mean(), abs=0.03
    )


def test_repeat_listings_sell_after_their_previous_sale() -> None:
    """About 10.4% of records are a property listed twice: for sale, then sold."""
    frame = generate(50_000, seed=4, junk_share=0, malformed_share=0)
    frame = frame.drop_duplicates()  # verbatim resends are not repeat listings
    repeated = frame[frame.duplicated(PROPERTY_KEY, keep=False)]
    assert abs(len(repeated) / len(frame) - REPEAT_ANCHOR) * 100 <= SHARE_PP
    pairs = repeated.groupby(PROPERTY_KEY, dropna=False)
    statuses = pairs["status"].agg(lambda s: tuple(sorted(s)))
    assert (statuses == ("for_sale", "sold")).mean() > 0.98
    assert (pairs["price"].nunique() == 2).mean() > 0.9  # sold for another price
    dates = pairs[["status", "prev_sold_date"]].apply(
        lambda g: dict(zip(g["status"], g["prev_sold_date"], strict=True))
    )
    both = [d for d in dates if d.get("for_sale") and d.get("sold")]
    assert len(both) > 500
    assert all(d["for_sale"] < d["sold"] for d in both)  # the sale before this one


# --- values --------------------------------------------------------------------------------


def test_land_listings_have_no_rooms_and_bigger_lots(fake: pd.DataFrame) -> None:
    lot = fake["acre_lot"].astype(float)
    assert lot[is_land(fake)].median() > 1.5 * lot[~is_land(fake)].median()
    price = fake["price"].astype(float)
    assert price[is_land(fake)].median() < 0.4 * price[~is_land(fake)].median()


@pytest.mark.parametrize("name", ["price", "bed", "bath", "acre_lot", "house_size"])
def test_quantiles_match_the_sample(real: pd.DataFrame, fake: pd.DataFrame, name: str):
    want = numeric_columns(real)[name].dropna()
    got = numeric_columns(fake)[name].dropna()
    for q in (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99):
        limit = TAIL_RATIO if q in (0.01, 0.99) else QUANTILE_RATIO
        w, g = want.quantile(q), got.quantile(q)
        assert w / limit <= g <= w * limit, f"{name} {q:.0%}: generated {g:,.2f} vs real {w:,.2f}"


def test_medians_by_status_and_kind_match(real: pd.DataFrame, fake: pd.DataFrame) -> None:
    for status in ("for_sale", "sold", "ready_to_build"):
        r = np.log(real.loc[real["status"] == status, "price"].dropna())
        f = np.log(fake.loc[fake["status"] == status, "price"].dropna())
        limit = SE * math.hypot(median_se(r), median_se(f)) + MEDIAN_SLACK
        gap = f.median() - r.median()
        assert abs(gap) <= limit, f"{status}: median price off by {gap:+.3f} (log)"
    for kind, pick in (("houses", lambda x: x[~is_land(x)]), ("land", lambda x: x[is_land(x)])):
        r, f = np.log(pick(real)["price"].dropna()), np.log(pick(fake)["price"].dropna())
        limit = SE * math.hypot(median_se(r), median_se(f)) + MEDIAN_SLACK
        assert abs(f.median() - r.median()) <= limit, kind


def test_log_price_correlations_match(real: pd.DataFrame, fake: pd.DataFrame) -> None:
    def correlations(frame: pd.DataFrame) -> pd.Series:
        x = numeric_columns(priced_houses(frame)).dropna()
        x = x[(x["acre_lot"] > 0) & (x["bed"] <= 15)]
        logs = pd.DataFrame(
            {
                "log_size": np.log(x["house_size"]),
                "bed": x["bed"],
                "bath": x["bath"],
                "log_lot": np.log(x["acre_lot"]),
            }
        )
        return logs.corrwith(np.log(x["price"]))

    want, got = correlations(real), correlations(fake)
    for name in want.index:
        assert abs(got[name] - want[name]) <= CORRELATION, (
            f"corr(log price, {name}) = {got[name]:.3f}, real {want[name]:.3f}"
        )
    assert got["log_size"] > 0.5  # prices rise with size ...
    assert got["bath"] > 0.4  # ... and with baths


def test_price_endings_match(real: pd.DataFrame, fake: pd.DataFrame) -> None:
    for ending in (0, 900):
        want = (real["price"].astype(float) % 1000 == ending).mean()
        got = (fake["price"].astype(float) % 1000 == ending).mean()
        assert abs(got - want) * 100 <= SHARE_PP, f"prices ending in {ending:03d}"


# --- drift knobs and arguments ---------------------------------------------------------


def test_junk_passes_validation_and_malformed_rows_are_rejected() -> None:
    frame = generate(50_000, seed=9)
    parsed = parse_frame(frame)
    rejected = len(parsed.rejected) / len(frame)
    assert 0.001 <= rejected <= 0.004, rejected
    reasons = {r.split(":")[0] for rejection in parsed.rejected for r in rejection.reasons}
    assert reasons >= {"price", "house_size", "status", "state", "zip_code", "prev_sold_date"}
    rows = parsed.rows
    junk = (
        (rows["price"] < 1_000)
        | (rows["price"] > 1e8)
        | (rows["house_size"] < 100)
        | (rows["house_size"] > 100_000)
        | (rows["bed"] > 15)
    )
    assert 0.002 <= junk.mean() <= 0.01, junk.mean()  # cleaning's job, not the schema's
    clean = parse_frame(generate(20_000, seed=9, junk_share=0, malformed_share=0))
    assert clean.rejected == []


def test_price_shift_moves_only_the_price_level() -> None:
    base = generate(20_000, seed=12, junk_share=0, malformed_share=0)
    shifted = generate(20_000, seed=12, price_shift=0.25, junk_share=0, malformed_share=0)
    pd.testing.assert_frame_equal(base.drop(columns="price"), shifted.drop(columns="price"))
    ratio = shifted["price"].median() / base["price"].median()
    assert 1.22 <= ratio <= 1.28, ratio


def test_state_weights_replace_the_state_mix() -> None:
    frame = generate(5_000, seed=1, state_weights={"CA": 3, "Texas": 1}, malformed_share=0)
    shares = frame["state"].value_counts(normalize=True)
    assert set(shares.index) == {"California", "Texas"}
    assert 0.72 <= shares["California"] <= 0.78


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"state_weights": {"CA": 0.8, "TX": 0.5}}, None),  # weights: normalised, fine
        ({"price_shift": -1.0}, "price_shift"),
        ({"price_shift": math.nan}, "price_shift"),
        ({"state_weights": {"Narnia": 1.0}}, "unknown state"),
        ({"state_weights": {"CA": -1.0}}, "must be a number >= 0"),
        ({"state_weights": {"CA": 0.0}}, "no state a positive weight"),
    ],
)
def test_generator_arguments_are_checked(kwargs: dict, message: str | None) -> None:
    if message is None:
        assert len(generate(10, **kwargs)) == 10
        return
    with pytest.raises(ValueError, match=message):
        generate(10, **kwargs)


@pytest.mark.parametrize("n", [0, 1, 7, 19, 20, 57])
def test_any_size_works(n: int) -> None:
    frame = generate(n, seed=n)
    assert len(frame) == n
    assert list(frame.columns) == list(LISTING_FIELDS)


def test_a_model_learns_as_much_from_generated_rows_as_from_real_ones(
    real: pd.DataFrame,
) -> None:
    """LightGBM explains log price of generated rows about as well as of the real sample's
    (same recipe, same number of rows, same splits): the generated prices mean something,
    and no more than real ones do (a generator too easy to learn would flatter models)."""
    lightgbm = pytest.importorskip("lightgbm")
    mix = real["state"].value_counts().to_dict()
    fake = parse_frame(generate(len(real), seed=21, state_weights=mix)).rows
    states = pd.CategoricalDtype(sorted(STATES))
    statuses = pd.CategoricalDtype(["for_sale", "sold", "ready_to_build"])

    def r2(frame: pd.DataFrame) -> float:
        frame = frame[
            frame["price"].between(1e4, 1e8)
            & ~(frame["house_size"] < 100)
            & ~(frame["house_size"] > 50_000)
            & ~(frame["bed"] > 15)
            & ~(frame["acre_lot"] > 10_000)
        ]
        features = pd.DataFrame(
            {
                "log_size": np.log(frame["house_size"].astype(float)),
                "bed": frame["bed"].astype(float),
                "bath": frame["bath"].astype(float),
                "log_lot": np.log1p(frame["acre_lot"].astype(float)),
                "zip": pd.to_numeric(frame["zip_code"], errors="coerce"),
                "state": frame["state"].astype(states),
                "status": frame["status"].astype(statuses),
            }
        )
        target = np.log(frame["price"].astype(float)).to_numpy()
        scores = []
        for split in range(R2_SPLITS):
            order = np.random.default_rng(split).permutation(len(frame))
            train, test = order[: int(len(order) * 0.8)], order[int(len(order) * 0.8) :]
            model = lightgbm.LGBMRegressor(n_estimators=300, learning_rate=0.05, n_jobs=1,
                                           verbose=-1)  # fmt: skip
            model.fit(features.iloc[train], target[train])
            error = target[test] - model.predict(features.iloc[test])
            scores.append(1 - np.sum(error**2) / np.sum((target[test] - target[test].mean()) ** 2))
        return float(np.mean(scores))

    want, got = r2(real), r2(fake)
    assert got >= R2_FLOOR, f"R²(log price) = {got:.3f} on held-out generated rows"
    assert abs(got - want) <= R2_GAP, f"R²(log price): generated {got:.3f}, real {want:.3f}"
