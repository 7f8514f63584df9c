#!/usr/bin/env python3
"""Write the synthetic generator's numbers (``homeval/data/calibration.json``) from real rows.

The input is the national sample of the Kaggle "USA Real Estate Dataset" (a uniform random
sample of the whole 2.2M-row file, see ``shared/data/realtor-national/README.md``), parsed
the way the platform parses feeds (``read_listings_csv`` + ``parse_frame``).  Everything the
generator draws from comes out of it, except what the sample cannot say:

* Massachusetts, New Jersey and Pennsylvania were removed from the sample (kept apart for
  evaluation).  Their 737 rows of the 10,000-row source are shared out by population
  (``states.csv``) for the state mix, and their price levels and house sizes are the
  ``states.csv`` figures, moved by the sample's overall gap to that table.
* States with few rows get price levels, sizes, land prices and status mixes shrunk
  towards a prior (empirical Bayes: the weight of a state's own estimate is
  between-state variance / (between-state variance + its sampling variance)).

Nothing of the real rows is copied: the file holds shares, medians, quantiles and a few
fitted coefficients.  The generator reads only the JSON at run time.

    uv run python scripts/calibrate_generator.py \
        ../shared/data/realtor-national/nghiapham1026__RealEstatePredictor__realtor-data_small.csv
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from homeval.data.generator.parameters import URBAN_RADIUS_KM  # noqa: E402
from homeval.data.generator.places import count_within, places, unit_km  # noqa: E402
from homeval.data.listing_parser import parse_frame, read_listings_csv  # noqa: E402
from homeval.data.schema import STATE_CODES, STATES  # noqa: E402

DEFAULT_INPUT = (
    REPO.parent
    / "shared/data/realtor-national/nghiapham1026__RealEstatePredictor__realtor-data_small.csv"
)
OUTPUT = REPO / "homeval/data/calibration.json"
PRIORS = REPO / "homeval/data/states.csv"

SOURCE_ROWS = 10_000
"""Rows of the source sample before three states were removed (README: 737 removed)."""
HELD_OUT = ("Massachusetts", "New Jersey", "Pennsylvania")
STATUSES = ("for_sale", "sold", "ready_to_build")

URBAN_BINS = (1, 3, 10, 30, 100)
"""Upper edges of the urbanity bins (ZIPs within URBAN_RADIUS_KM): 1, 2-3, 4-10, 11-30,
31-100, more."""
QUANTILE_PROBS = (0.001, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999)
REPORT_PROBS = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
DATE_PROBS = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)
MAX_ROOMS = 12
"""Bed/bath counts above this are left to the generator's junk rows."""
FIELD_SCALES_KM = (10.0, 60.0)
"""Length scales of the two smooth random price fields whose sizes are fitted here."""
DISTANCE_BINS_KM = (0.0, 0.5, 5.0, 15.0, 40.0, 100.0, 300.0)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def rounded(value: Any, digits: int = 4) -> Any:
    """Floats to ``digits`` significant digits, recursively (a diff-friendly file)."""
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v, digits) for v in value]
    if isinstance(value, float | np.floating):
        value = float(value)
        if value == 0 or not math.isfinite(value):
            return value
        return float(f"{value:.{digits}g}")
    if isinstance(value, np.integer):
        return int(value)
    return value


def shrink(
    estimate: pd.Series, variance: pd.Series, prior: pd.Series, weight: pd.Series
) -> tuple[pd.Series, float]:
    """Empirical-Bayes shrinkage of per-state estimates towards their priors.

    The between-state variance tau² is the (row-weighted) spread of estimate - prior minus
    the average sampling variance; each state keeps tau² / (tau² + its variance) of its own.
    """
    gap = estimate - prior
    w = weight / weight.sum()
    tau2 = float(w @ (gap - w @ gap) ** 2 - w @ variance)
    tau2 = max(tau2, 1e-4)
    keep = tau2 / (tau2 + variance)
    return prior + keep * gap, tau2


def robust_sd(values: pd.Series) -> float:
    q75, q25 = np.nanpercentile(values, [75, 25])
    return float((q75 - q25) / 1.349)


def quantiles(values: pd.Series, probs: tuple[float, ...] = QUANTILE_PROBS) -> list[list[float]]:
    v = values.dropna().to_numpy(dtype=float)
    return [[p, float(np.quantile(v, p))] for p in probs]


def date_quantiles(values: pd.Series) -> list[list[Any]]:
    days = np.array([d.toordinal() for d in values.dropna()], dtype=float)
    return [
        [p, date.fromordinal(round(float(np.quantile(days, p)))).isoformat()] for p in DATE_PROBS
    ]


def urban_bin(neighbours: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.array(URBAN_BINS), neighbours, side="left")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", nargs="?", type=Path, default=DEFAULT_INPUT)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)

    rows = parse_frame(read_listings_csv(args.csv)).rows.reset_index(drop=True)
    priors = pd.read_csv(PRIORS).set_index("state")
    world = places()
    out: dict[str, Any] = {
        "source": {
            "file": args.csv.name,
            "sha256": sha256(args.csv),
            "rows": len(rows),
            "command": "uv run python scripts/calibrate_generator.py "
            f"../shared/data/realtor-national/{args.csv.name}",
            "zipcodes": _zipcodes_version(),
        }
    }

    # --- where each row is: ZIP → lat/lon (zipcodes) → urbanity ---------------------------
    import zipcodes

    known = {z["zip_code"]: z for z in zipcodes.list_all()}
    zip_codes = rows["zip_code"].to_numpy(dtype=object)
    lat = np.array([float(known[z]["lat"]) if z in known else np.nan for z in zip_codes])
    lon = np.array([float(known[z]["long"]) if z in known else np.nan for z in zip_codes])
    placed = ~np.isnan(lat)
    neighbours = np.ones(len(rows), dtype=np.int64)  # a place counts itself (PO boxes too)
    neighbours[placed] = np.maximum(
        count_within(lat[placed], lon[placed], world.lat, world.lon, URBAN_RADIUS_KM), 1
    )
    rows["lat"], rows["lon"], rows["neighbours"] = lat, lon, neighbours
    rows["urban"] = np.where(placed, urban_bin(neighbours), -1)
    out["placed_share"] = float(placed.mean())

    status = rows["status"]
    land = rows[["bed", "bath", "house_size"]].isna().all(axis=1) & (status != "ready_to_build")
    rows["land"] = land
    price = rows["price"].astype(float)
    size = rows["house_size"].astype(float)
    houses = rows[
        ~land
        & status.isin(["for_sale", "sold"])
        & size.between(100, 100_000)
        & price.between(1e4, 1e8)
    ].copy()
    houses["log_ppsf"] = np.log(houses["price"] / houses["house_size"])
    houses["log_price"] = np.log(houses["price"])
    houses["log_size"] = np.log(houses["house_size"])
    lands = rows[land & price.between(1e3, 1e8)].copy()
    lands["log_price"] = np.log(lands["price"])

    # --- state mix --------------------------------------------------------------------------
    counts = rows["state"].value_counts()
    held_out = SOURCE_ROWS - len(rows)
    pop = priors["weight"]
    states: dict[str, dict[str, Any]] = {}
    for name in STATES:
        entry: dict[str, Any] = {"code": STATE_CODES[name], "rows": int(counts.get(name, 0))}
        if name in HELD_OUT:
            share = held_out * pop[name] / pop[list(HELD_OUT)].sum()
            entry["share_from"] = "held-out rows shared by population (states.csv)"
        else:
            share = float(counts.get(name, 0))
            entry["share_from"] = "sample"
        entry["share"] = share / SOURCE_ROWS
        states[name] = entry

    # --- price levels: houses' $/sqft and size, land price -------------------------------
    by_state = houses.groupby("state")
    n_h = by_state.size().reindex(STATES, fill_value=0)
    med_ppsf = by_state["log_ppsf"].median().reindex(STATES)
    med_size = by_state["log_size"].median().reindex(STATES)
    med_price = by_state["log_price"].median().reindex(STATES)
    sd_ppsf = robust_sd(houses["log_ppsf"] - by_state["log_ppsf"].transform("median"))
    sd_size = robust_sd(houses["log_size"] - by_state["log_size"].transform("median"))
    national_ppsf = float(houses["log_ppsf"].median())
    national_size = float(houses["log_size"].median())
    prior_ppsf = pd.Series(
        {s: math.log(priors.loc[s, "ppsf"]) if s in priors.index else np.nan for s in STATES}
    )
    have = (n_h > 0) & prior_ppsf.notna()
    table_gap = float(np.average((med_ppsf - prior_ppsf)[have], weights=n_h[have]))
    prior_ppsf = (prior_ppsf + table_gap).fillna(national_ppsf)
    prior_size = pd.Series(
        {
            s: national_size + math.log(priors.loc[s, "size_factor"])
            if s in priors.index
            else national_size
            for s in STATES
        }
    )
    var_median = math.pi / 2  # sampling variance of a median = pi/2 sd² / n (normal data)
    sampled = n_h > 0
    ppsf, tau_ppsf = shrink(
        med_ppsf[sampled],
        var_median * sd_ppsf**2 / n_h[sampled],
        prior_ppsf[sampled],
        n_h[sampled],
    )
    house_size, tau_size = shrink(
        med_size[sampled],
        var_median * sd_size**2 / n_h[sampled],
        prior_size[sampled],
        n_h[sampled],
    )
    sd_price = robust_sd(houses["log_price"] - by_state["log_price"].transform("median"))
    house_price, tau_price = shrink(
        med_price[sampled],
        var_median * sd_price**2 / n_h[sampled],
        (prior_ppsf + prior_size)[sampled],
        n_h[sampled],
    )
    ppsf = ppsf.reindex(STATES).fillna(prior_ppsf)
    house_size = house_size.reindex(STATES).fillna(prior_size)
    house_price = house_price.reindex(STATES).fillna(prior_ppsf + prior_size)

    # land: price relative to the state's houses, shrunk to the national ratio
    n_l = lands.groupby("state").size().reindex(STATES, fill_value=0)
    med_land = lands.groupby("state")["log_price"].median().reindex(STATES)
    sd_land = robust_sd(
        lands["log_price"] - lands.groupby("state")["log_price"].transform("median")
    )
    national_land_gap = float(lands["log_price"].median() - houses["log_price"].median())
    land_gap = med_land - med_price
    both = (n_l > 0) & (n_h > 0)
    land_var = var_median * (sd_land**2 / n_l[both] + sd_price**2 / n_h[both])
    land_ratio, tau_land = shrink(
        land_gap[both],
        land_var,
        pd.Series(national_land_gap, index=land_gap[both].index),
        n_l[both],
    )
    land_ratio = land_ratio.reindex(STATES).fillna(national_land_gap)

    # --- status mix per state, shrunk to the national mix ---------------------------------
    status_counts = pd.crosstab(rows["state"], status).reindex(STATES, fill_value=0)
    status_counts = status_counts.reindex(columns=list(STATUSES), fill_value=0)
    national_status = (status_counts.sum() / status_counts.to_numpy().sum()).to_dict()
    n_s = status_counts.sum(axis=1)
    status_mix: dict[str, pd.Series] = {}
    status_tau: dict[str, float] = {}
    for name in ("sold", "ready_to_build"):
        p0 = national_status[name]
        share = status_counts[name][n_s > 0] / n_s[n_s > 0]
        var = p0 * (1 - p0) / n_s[n_s > 0]
        shrunk, status_tau[name] = shrink(
            share, var, pd.Series(p0, index=share.index), n_s[n_s > 0]
        )
        status_mix[name] = shrunk.clip(lower=0).reindex(STATES).fillna(p0)

    for name in STATES:
        entry = states[name]
        sampled_here = name not in HELD_OUT and entry["rows"] > 0
        entry.update(
            {
                "houses": int(n_h[name]),
                "land_rows": int(n_l[name]),
                "ppsf": math.exp(ppsf[name]),
                "median_size": math.exp(house_size[name]),
                "house_price": math.exp(house_price[name]),
                "land_ratio": math.exp(land_ratio[name]),
                "land_price": math.exp(house_price[name] + land_ratio[name]),
                "sold": float(status_mix["sold"][name]),
                "ready_to_build": float(status_mix["ready_to_build"][name]),
                "levels_from": "sample, shrunk to states.csv"
                if sampled_here
                else "states.csv (not in the sample)"
                if name in priors.index
                else "national median (not in states.csv)",
            }
        )
        if n_h[name]:
            entry["sample_ppsf"] = math.exp(med_ppsf[name])
            entry["sample_house_price"] = math.exp(med_price[name])
        if n_l[name]:
            entry["sample_land_price"] = math.exp(med_land[name])
    out["states"] = states
    out["shrinkage"] = {
        "ppsf_tau": math.sqrt(tau_ppsf),
        "size_tau": math.sqrt(tau_size),
        "house_price_tau": math.sqrt(tau_price),
        "land_ratio_tau": math.sqrt(tau_land),
        "sold_tau": math.sqrt(status_tau["sold"]),
        "ready_to_build_tau": math.sqrt(status_tau["ready_to_build"]),
        "within_state_sd_log_ppsf": sd_ppsf,
        "within_state_sd_log_size": sd_size,
        "states_csv_ppsf_gap": math.exp(table_gap),
    }

    # --- urbanity: listings per ZIP, price, lot and size by ZIPs within 10 km ---------------
    houses = houses.assign(
        res_ppsf=houses["log_ppsf"] - houses.groupby("state")["log_ppsf"].transform("median"),
        res_size=houses["log_size"] - houses.groupby("state")["log_size"].transform("median"),
    )
    houses = houses[houses["urban"] >= 0]
    house_lots = houses[houses["acre_lot"].astype(float) > 0]
    land_lots = lands[(lands["acre_lot"].astype(float) > 0) & (lands["urban"] >= 0)]
    centre = np.log(houses["neighbours"]).groupby(houses["urban"]).median()
    ppsf_effect = houses.groupby("urban")["res_ppsf"].median()
    size_effect = houses.groupby("urban")["res_size"].median()
    house_lot_effect = (
        np.log(house_lots["acre_lot"].astype(float)).groupby(house_lots["urban"]).median()
    )
    land_lot_effect = (
        np.log(land_lots["acre_lot"].astype(float)).groupby(land_lots["urban"]).median()
    )
    bins = list(range(len(URBAN_BINS) + 1))
    land_lot_effect = land_lot_effect.reindex(bins).ffill()  # few land rows in cities
    land_share: dict[str, list[float]] = {}
    placed_rows = rows[rows["urban"] >= 0]
    for name in ("for_sale", "sold"):
        of = placed_rows[placed_rows["status"] == name]
        share = of.groupby("urban")["land"].agg(["sum", "size"]).reindex(bins, fill_value=0)
        # a bin leans on the next less urban one with 20 pseudo-rows (the densest bins
        # hold few rows: 59 houses in ZIPs with more than 100 neighbours, all in New York)
        shares = [float(share["sum"][0] / share["size"][0])]
        for k in bins[1:]:
            shares.append(float((share["sum"][k] + 20 * shares[-1]) / (share["size"][k] + 20)))
        land_share[name] = shares
    out["urbanity"] = {
        "radius_km": URBAN_RADIUS_KM,
        "bin_upper_edges": list(URBAN_BINS),
        "houses": houses.groupby("urban").size().reindex(bins, fill_value=0).tolist(),
        "log_neighbours": centre.reindex(bins).tolist(),
        "ppsf_effect": ppsf_effect.reindex(bins).tolist(),
        "size_effect": size_effect.reindex(bins).tolist(),
        "house_lot_effect": (house_lot_effect - house_lot_effect.median()).reindex(bins).tolist(),
        "land_lot_effect": (land_lot_effect - land_lot_effect.median()).reindex(bins).tolist(),
        "land_share": land_share,
        "zip_log_weight": _zip_weights(rows, centre.reindex(bins).tolist(), world),
        "sample_bin_share": placed_rows["urban"].value_counts(normalize=True).sort_index().tolist(),
        "sample_mean_log_neighbours": float(np.log(rows.loc[placed, "neighbours"]).mean()),
    }

    # --- what location leaves over: spatially correlated price residuals ------------------
    interp_effect = np.interp(
        np.log(houses["neighbours"]),
        centre.reindex(bins).to_numpy(),
        ppsf_effect.reindex(bins).to_numpy(),
    )
    residual = (houses["res_ppsf"] - interp_effect).clip(-1.5, 1.5)
    cov = spatial_covariance(
        houses["lat"].to_numpy(),
        houses["lon"].to_numpy(),
        houses["state"].to_numpy(dtype=object),
        residual.to_numpy(),
        DISTANCE_BINS_KM,
    )
    out["spatial"] = _fit_fields(cov, float(residual.var()))

    # --- statuses, missing values, land -------------------------------------------------
    out["status_shares"] = national_status
    out["missing"] = {
        name: {
            field: float(group[field].isna().mean())
            for field in (
                "price",
                "bed",
                "bath",
                "acre_lot",
                "house_size",
                "prev_sold_date",
                "brokered_by",
                "street",
                "city",
                "zip_code",
            )
        }
        for name, group in rows.groupby("status")
    }
    out["land_share"] = {name: float(land[status == name].mean()) for name in STATUSES}
    patterns: dict[str, dict[str, float]] = {}
    for name in ("for_sale", "sold"):
        of = rows[(status == name) & ~land]
        code = (
            of["bed"].isna().astype(int).astype(str)
            + of["bath"].isna().astype(int).astype(str)
            + of["house_size"].isna().astype(int).astype(str)
        )
        patterns[name] = code.value_counts(normalize=True).sort_index().to_dict()
    out["house_missing_patterns"] = patterns
    out["lot_missing"] = {
        name: {
            "house": float(rows.loc[(status == name) & ~land, "acre_lot"].isna().mean()),
            "land": float(rows.loc[(status == name) & land, "acre_lot"].isna().mean())
            if (land & (status == name)).any()
            else 0.0,
        }
        for name in STATUSES
    }
    out["other_missing"] = {
        field: float(rows[field].isna().mean())
        for field in ("brokered_by", "street", "city", "zip_code")
    }

    # --- prices by status, within state -------------------------------------------------
    rtb = rows[(status == "ready_to_build") & size.between(100, 100_000) & price.notna()].copy()
    rtb_res = np.log(rtb["price"] / rtb["house_size"]) - rtb["state"].map(
        houses.groupby("state")["log_ppsf"].median()
    )
    out["status_price"] = {
        "for_sale": 0.0,
        "sold": float(
            houses.loc[houses["status"] == "sold", "res_ppsf"].median()
            - houses.loc[houses["status"] == "for_sale", "res_ppsf"].median()
        ),
        "ready_to_build": float(
            rtb_res.median() - houses.loc[houses["status"] == "for_sale", "res_ppsf"].median()
        ),
    }

    # for_sale houses are bigger than sold ones (within a state)
    size_sold = float(
        houses.loc[houses["status"] == "sold", "res_size"].median()
        - houses.loc[houses["status"] == "for_sale", "res_size"].median()
    )
    out["status_size"] = {"for_sale": 0.0, "sold": size_sold}
    sold_of = houses["state"].map(status_mix["sold"])
    on_sale_of = 1 - sold_of - houses["state"].map(status_mix["ready_to_build"])
    status_shift = np.where(houses["status"] == "sold", size_sold, 0.0) - (
        sold_of * size_sold / (sold_of + on_sale_of)
    )

    # --- distributions ------------------------------------------------------------------
    relative_size = houses["house_size"] / np.exp(
        status_shift
        + houses["state"].map(house_size)
        + np.interp(
            np.log(houses["neighbours"]),
            centre.reindex(bins).to_numpy(),
            size_effect.reindex(bins).to_numpy(),
        )
    )
    lot_shift = out["urbanity"]
    house_lot_rel = house_lots["acre_lot"].astype(float) / np.exp(
        np.interp(
            np.log(house_lots["neighbours"]),
            centre.reindex(bins).to_numpy(),
            np.array(lot_shift["house_lot_effect"]),
        )
    )
    land_lot_rel = land_lots["acre_lot"].astype(float) / np.exp(
        np.interp(
            np.log(land_lots["neighbours"]),
            centre.reindex(bins).to_numpy(),
            np.array(lot_shift["land_lot_effect"]),
        )
    )
    houses_all = rows[~land & status.isin(["for_sale", "sold"])]
    out["quantiles"] = {
        "relative_size": quantiles(relative_size),
        "house_lot": quantiles(house_lot_rel),
        "land_lot": quantiles(land_lot_rel),
        "ready_to_build_size": quantiles(
            rtb["house_size"], (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
        ),
    }
    out["counts"] = {
        "bed": _counts(houses_all["bed"]),
        "bath": _counts(houses_all["bath"]),
        "ready_to_build_bed": _counts(rows.loc[status == "ready_to_build", "bed"]),
    }
    out["prev_sold_date"] = {
        name: date_quantiles(rows.loc[status == name, "prev_sold_date"])
        for name in ("for_sale", "sold")
    }
    cents = price.dropna() % 1000
    out["price_endings"] = {"000": float((cents == 0).mean()), "900": float((cents == 900).mean())}
    out["ids"] = {
        "brokered_by": [
            int(rows["brokered_by"].dropna().astype(float).min()),
            int(rows["brokered_by"].dropna().astype(float).max()),
        ],
        "street": [
            int(rows["street"].dropna().astype(float).min()),
            int(rows["street"].dropna().astype(float).max()),
        ],
    }

    # --- for the README and the tests' sake: what the sample looks like -------------------
    out["reference"] = {
        "price_quantiles": quantiles(price, REPORT_PROBS),
        "house_size_quantiles": quantiles(size, REPORT_PROBS),
        "acre_lot_quantiles": quantiles(rows["acre_lot"].astype(float), REPORT_PROBS),
        "median_price": {name: float(g.median()) for name, g in price.groupby(status)},
        "median_house_price": float(houses_all["price"].median()),
        "median_land_price": float(rows.loc[land, "price"].median()),
        "missing_overall": {
            field: float(rows[field].isna().mean())
            for field in ("bed", "bath", "acre_lot", "house_size", "prev_sold_date")
        },
        "correlations_with_log_price": _correlations(houses),
    }

    args.output.write_text(json.dumps(rounded(out), indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {args.output} from {len(rows):,} rows of {args.csv.name}")
    return 0


def _zipcodes_version() -> str:
    import zipcodes

    return str(getattr(zipcodes, "__version__", "?"))


def _counts(values: pd.Series) -> dict[str, int]:
    v = values.dropna().astype(float)
    v = v[(v >= 1) & (v <= MAX_ROOMS) & (v == v.round())]
    return {str(int(k)): int(c) for k, c in v.value_counts().sort_index().items()}


def _correlations(houses: pd.DataFrame) -> dict[str, float]:
    x = houses.dropna(subset=["bed", "bath", "acre_lot"])
    x = x[x["acre_lot"].astype(float) > 0]
    logs = pd.DataFrame(
        {
            "log_size": x["log_size"],
            "bed": x["bed"].astype(float),
            "bath": x["bath"].astype(float),
            "log_lot": np.log(x["acre_lot"].astype(float)),
        }
    )
    return {k: float(v) for k, v in logs.corrwith(x["log_price"]).items()}


def _zip_weights(rows: pd.DataFrame, knots: list[float], world: Any) -> list[float]:
    """Log listing weight of a ZIP at each urbanity knot (piecewise linear in between) so
    that generated listings, with the sample's state mix, fall in the urbanity bins as
    often as the sample's do (multiplicative fitting, a few dozen rounds)."""
    placed = rows[rows["urban"] >= 0]
    want = placed["urban"].value_counts(normalize=True).sort_index()
    want = want.reindex(range(len(knots)), fill_value=0).to_numpy()
    mix = placed["state"].value_counts()
    share = np.array([mix.get(s, 0) for s in STATES], dtype=float)
    log_n = np.log(world.neighbours)
    zip_bin = urban_bin(world.neighbours)
    values = np.zeros(len(knots))
    for _ in range(60):
        w = np.exp(np.interp(log_n, knots, values))
        total = np.bincount(world.state, weights=w, minlength=len(STATES))
        p = w / np.where(total > 0, total, 1)[world.state] * share[world.state]
        got = np.bincount(zip_bin, weights=p, minlength=len(knots)) / p.sum()
        values += np.log(np.where(got > 0, want / got, 1.0))
        values -= values[0]
    return [float(v) for v in values]


def spatial_covariance(
    lat: np.ndarray,
    lon: np.ndarray,
    state: np.ndarray,
    value: np.ndarray,
    bins_km: tuple[float, ...] = DISTANCE_BINS_KM,
) -> dict[str, list[float]]:
    """Mean product of (centred) values over pairs of rows of one state, by distance."""
    from scipy.spatial import cKDTree

    ok = ~(np.isnan(lat) | np.isnan(value))
    lat, lon, state, value = lat[ok], lon[ok], state[ok], value[ok] - value[ok].mean()
    points = unit_km(lat, lon)
    pairs = cKDTree(points).query_pairs(bins_km[-1], output_type="ndarray")
    pairs = pairs[state[pairs[:, 0]] == state[pairs[:, 1]]]
    distance = np.linalg.norm(points[pairs[:, 0]] - points[pairs[:, 1]], axis=1)
    product = value[pairs[:, 0]] * value[pairs[:, 1]]
    which = np.searchsorted(np.array(bins_km), distance, side="right") - 1
    found: dict[str, list[float]] = {"mid_km": [], "pairs": [], "covariance": []}
    for k in range(len(bins_km) - 1):
        inside = which == k
        found["mid_km"].append(float(distance[inside].mean()) if inside.any() else 0.0)
        found["pairs"].append(int(inside.sum()))
        found["covariance"].append(float(product[inside].mean()) if inside.any() else 0.0)
    return found


def _fit_fields(cov: dict[str, list[float]], variance: float) -> dict[str, Any]:
    """Sizes of a per-ZIP effect and two Gaussian-kernel fields (scales FIELD_SCALES_KM)
    that best give the residuals' covariance at each distance (non-negative least squares
    on the variances)."""
    from scipy.optimize import nnls

    mid = np.array(cov["mid_km"])
    target = np.array(cov["covariance"])
    same_zip = (mid < DISTANCE_BINS_KM[1]).astype(float)  # the first bin: pairs in one ZIP
    design = np.column_stack([same_zip, *(np.exp(-(mid**2) / (2 * s**2)) for s in FIELD_SCALES_KM)])
    weights = np.sqrt(np.array(cov["pairs"], dtype=float))
    solution, _ = nnls(design * weights[:, None], target * weights)
    return {
        "distance_bins_km": list(DISTANCE_BINS_KM),
        **cov,
        "residual_variance": variance,
        "zip_sd": math.sqrt(solution[0]),
        "field_scales_km": list(FIELD_SCALES_KM),
        "field_sd": [math.sqrt(v) for v in solution[1:]],
    }


if __name__ == "__main__":
    raise SystemExit(main())
