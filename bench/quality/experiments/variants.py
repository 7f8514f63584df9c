"""Issue 3 quality experiments: which features / LightGBM settings move MdAPE and R²(log).

Run (one core):  python bench/quality/experiments/variants.py [--seeds 5] [--only 'NAME|...']
Writes bench/quality/experiments/results_current.json (results.json holds the runs made
before the process step kept the copy naming its broker) and prints a table. See NOTES.md.

Honesty rules, the same as bench/quality/run.py: rows come from run.py's ``clean_rows``
(the pipeline's own ingest + process), the split is run.py's property-grouped 80/20
``split_parts(..., seed)`` for seeds 0..4, and every feature that uses prices is fitted on
training rows only, out of fold for the training rows (homeval's own property folds,
``features._property_folds``), so no row ever sees its own price and no test price is
used.  Features that use no price (ZIP coordinates, medians of size) use training rows only.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # bench/quality: run.py
sys.path.insert(0, str(HERE.parents[2]))  # the repo: homeval

from common import DEFAULT_DATA  # noqa: E402
from common import clean_folder as clean_rows  # noqa: E402

from homeval.model.encoding import city_key  # noqa: E402
from homeval.model.estimator import LIGHTGBM_DEFAULTS, price_metrics  # noqa: E402
from homeval.model.features import ListingEncoder, _property_folds  # noqa: E402
from homeval.model.training import split_parts  # noqa: E402

CACHE = HERE / ".work"
N_FOLDS = 5
M = 20.0  # smoothing, as ListingEncoder's default


# --- data --------------------------------------------------------------------------------


def clean_rows_full_schema_first(realtor_dir: Path) -> pd.DataFrame:
    """run.py's ``clean_rows``, but the 12-column file (street, broker) is ingested first.

    The pipeline keeps the first copy of a repeated listing; in file-name order the old
    10-column copies come first, so only ~3,200 of the 9,831 listings keep ``street`` and
    ``brokered_by``.  Ingesting the current-version file first keeps the same listings with
    their ids (~9,100 with a broker), as the national Kaggle file would have them.
    """
    import tempfile

    from homeval.data.listing_parser import parse_frame, read_listings_csv
    from homeval.data.process import process_new
    from homeval.data.store import Store
    from homeval.model.training import load_clean

    files = sorted(realtor_dir.glob("*.csv"), key=lambda p: ("cmaldikar" not in p.name, p.name))
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{Path(folder) / 'quality.db'}")
        store.init()
        for path in files:
            store.ingest_batch(parse_frame(read_listings_csv(path)), batch_id=path.name)
        process_new(store)
        frame = load_clean(store)
        store.dispose()
    return frame


def load_frame(order: str = "pipeline") -> pd.DataFrame:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / ("frame.pkl" if order == "pipeline" else "frame_full_first.pkl")
    if path.exists():
        return pd.read_pickle(path)  # noqa: S301 - our own cache
    if order == "pipeline":
        frame = clean_rows(DEFAULT_DATA)
    else:
        frame = clean_rows_full_schema_first(DEFAULT_DATA)
    frame.to_pickle(path)
    return frame


def zip_coordinates(frame: pd.DataFrame) -> pd.DataFrame:
    """lat/lon of each ZIP (package ``zipcodes``), else the mean of its city's known ZIPs."""
    import zipcodes

    rows = {}
    for z in frame["zip_code"].dropna().unique():
        match = zipcodes.matching(str(z))
        if match and match[0].get("lat"):
            rows[z] = (float(match[0]["lat"]), float(match[0]["long"]))
    coords = frame["zip_code"].map(lambda z: rows.get(z, (np.nan, np.nan)))
    out = pd.DataFrame(coords.tolist(), columns=["lat", "lon"], index=frame.index)
    city = [city_key(s, c) for s, c in zip(frame["state"], frame["city"], strict=True)]
    fill = out.groupby(city).transform("mean")
    return out.fillna(fill)


# --- generic helpers -----------------------------------------------------------------------


def is_land(df: pd.DataFrame) -> np.ndarray:
    return df[["bed", "bath", "house_size"]].isna().all(axis=1).to_numpy()


def log_pos(values: pd.Series | np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(v)
    out[~np.isfinite(out)] = np.nan
    return out


def targets(df: pd.DataFrame, y: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "price": y,
        "ppsf": y - log_pos(df["house_size"]),
        "ppa": y - log_pos(df["acre_lot"]),
    }


def keys(df: pd.DataFrame) -> dict[str, pd.Series]:
    z = df["zip_code"].astype(object)
    city = pd.Series(
        [city_key(s, c) for s, c in zip(df["state"], df["city"], strict=True)], index=df.index
    )
    return {
        "state": df["state"].astype(object),
        "zip3": z.str[:3].where(z.notna()),
        "zip4": z.str[:4].where(z.notna()),
        "city": city,
        "zip": z,
    }


def hier_encode(
    fit_keys: list[pd.Series], values: np.ndarray, target_keys: list[pd.Series], m: float = M
) -> list[np.ndarray]:
    """Smoothed mean of ``values`` at each level, shrunk to the previous level (and global)."""
    ok = np.isfinite(values)
    prior = np.full(len(target_keys[0]), values[ok].mean() if ok.any() else 0.0)
    out = []
    for fk, tk in zip(fit_keys, target_keys, strict=True):
        s = pd.Series(values[ok]).groupby(fk.to_numpy()[ok]).agg(["sum", "count"])
        got = s.reindex(tk.to_numpy())
        sm, n = got["sum"].to_numpy(), got["count"].to_numpy()
        seen = np.isfinite(n)
        prior = np.where(seen, (np.nan_to_num(sm) + m * prior) / (np.nan_to_num(n) + m), prior)
        out.append(prior.copy())
    return out


def oof(
    fn: Callable[[pd.DataFrame, np.ndarray, pd.DataFrame], pd.DataFrame],
    train: pd.DataFrame,
    y: np.ndarray,
    test: pd.DataFrame,
    folds: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training rows encoded by tables fitted on the other folds; test rows on all train."""
    parts = []
    for k in range(N_FOLDS):
        held = folds == k
        parts.append(fn(train[~held], y[~held], train[held]))
    tr = pd.concat(parts).loc[train.index]
    return tr, fn(train, y, test)


# --- feature groups (each fit on (fit rows, their log prices), applied to target rows) -----


def f_zip3(fit: pd.DataFrame, y: np.ndarray, tgt: pd.DataFrame) -> pd.DataFrame:
    """ZIP prefixes as extra hierarchy levels: state → zip3 → zip4."""
    fk, tk, t = keys(fit), keys(tgt), targets(fit, y)
    out = {}
    for name, values in t.items():
        enc = hier_encode(
            [fk["state"], fk["zip3"], fk["zip4"]], values, [tk["state"], tk["zip3"], tk["zip4"]]
        )
        out[f"zip3_{name}"], out[f"zip4_{name}"] = enc[1], enc[2]
    # a finer chain: state → zip3 → city → zip
    out["chain_zip_price"] = hier_encode(
        [fk["state"], fk["zip3"], fk["city"], fk["zip"]],
        t["price"],
        [tk["state"], tk["zip3"], tk["city"], tk["zip"]],
    )[3]
    out["zip3_listings"] = np.log1p(tk["zip3"].map(fk["zip3"].value_counts()).fillna(0).to_numpy())
    return pd.DataFrame(out, index=tgt.index)


def f_segment(fit: pd.DataFrame, y: np.ndarray, tgt: pd.DataFrame) -> pd.DataFrame:
    """Encodings from one segment only: land prices per acre from land, house prices from houses."""
    fk, tk, t = keys(fit), keys(tgt), targets(fit, y)
    land = is_land(fit)
    levels = ["state", "city", "zip"]
    out = {}
    for seg, mask in (("land", land), ("house", ~land)):
        for name in ("price", "ppa") if seg == "land" else ("price", "ppa", "ppsf"):
            v = np.where(mask, t[name], np.nan)
            enc = hier_encode([fk[lv] for lv in levels], v, [tk[lv] for lv in levels])
            out[f"{seg}_city_{name}"], out[f"{seg}_zip_{name}"] = enc[1], enc[2]
    acre = log_pos(tgt["acre_lot"])
    out["land_lot_price"] = out["land_zip_ppa"] + acre
    out["house_lot_price"] = out["house_zip_ppa"] + acre
    out["house_size_price"] = out["house_zip_ppsf"] + log_pos(tgt["house_size"])
    return pd.DataFrame(out, index=tgt.index)


def f_stats(fit: pd.DataFrame, y: np.ndarray, tgt: pd.DataFrame) -> pd.DataFrame:
    """Dispersion of log price in the ZIP / city (smoothed towards the global sd)."""
    fk, tk = keys(fit), keys(tgt)
    out = {}
    g_sd = float(np.std(y))
    for lv in ("city", "zip"):
        g = pd.DataFrame({"y": y, "k": fk[lv].to_numpy()}).groupby("k")["y"]
        var = g.var(ddof=0).reindex(tk[lv].to_numpy()).to_numpy()
        n = g.count().reindex(tk[lv].to_numpy()).fillna(0).to_numpy()
        q25 = g.quantile(0.25).reindex(tk[lv].to_numpy()).to_numpy()
        q75 = g.quantile(0.75).reindex(tk[lv].to_numpy()).to_numpy()
        out[f"{lv}_price_sd"] = np.sqrt((np.nan_to_num(var) * n + 5 * g_sd**2) / (n + 5))
        out[f"{lv}_price_q25"] = np.where(n >= 5, q25, np.nan)
        out[f"{lv}_price_q75"] = np.where(n >= 5, q75, np.nan)
    return pd.DataFrame(out, index=tgt.index)


def f_broker(fit: pd.DataFrame, y: np.ndarray, tgt: pd.DataFrame) -> pd.DataFrame:
    """The broker's mean log price per sqft / per acre, and per acre of land (smoothed)."""
    fb, tb = fit["brokered_by"].astype(object), tgt["brokered_by"].astype(object)
    t = targets(fit, y)
    land = is_land(fit)
    out = {}
    for name, v in (
        ("ppsf", t["ppsf"]),
        ("ppa", t["ppa"]),
        ("landppa", np.where(land, t["ppa"], np.nan)),
        ("landprice", np.where(land, t["price"], np.nan)),
    ):
        out[f"broker_{name}"] = hier_encode([fb], v, [tb], m=10.0)[0]
    out["broker_size_price"] = out["broker_ppsf"] + log_pos(tgt["house_size"])
    out["broker_lot_price"] = out["broker_landppa"] + log_pos(tgt["acre_lot"])
    out["broker_land_share"] = (
        tb.map(pd.Series(land).groupby(fb.to_numpy()).mean()).astype("float64").to_numpy()
    )
    return pd.DataFrame(out, index=tgt.index)


def make_geo(coords: pd.DataFrame) -> Callable[..., pd.DataFrame]:
    """Distance-weighted target encodings over ZIP centroids (a Gaussian kernel, several widths)."""

    def f_geo(fit: pd.DataFrame, y: np.ndarray, tgt: pd.DataFrame) -> pd.DataFrame:
        t = targets(fit, y)
        land = is_land(fit)
        t["landppa"] = np.where(land, t["ppa"], np.nan)
        fz = fit["zip_code"].to_numpy()
        table = {}
        for name, v in t.items():
            ok = np.isfinite(v) & pd.notna(fz)
            s = pd.Series(v[ok]).groupby(fz[ok]).agg(["sum", "count"])
            table[name] = s
        zips = table["price"].index
        zc = coords.loc[fit.index].groupby(fit["zip_code"].to_numpy()).first().reindex(zips)
        tc = coords.loc[tgt.index]
        lat1, lon1 = (
            np.radians(tc["lat"].to_numpy())[:, None],
            np.radians(tc["lon"].to_numpy())[:, None],
        )
        lat2, lon2 = (
            np.radians(zc["lat"].to_numpy())[None, :],
            np.radians(zc["lon"].to_numpy())[None, :],
        )
        a = (
            np.sin((lat2 - lat1) / 2) ** 2
            + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
        )
        dist = 2 * 6371 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))  # km, rows × train zips
        dist = np.where(np.isfinite(dist), dist, np.inf)
        out = {"lat": tc["lat"].to_numpy(), "lon": tc["lon"].to_numpy()}
        for bw in (3.0, 10.0, 30.0):
            w = np.exp(-((dist / bw) ** 2))
            for name in ("price", "ppsf", "ppa", "landppa"):
                s = table[name].reindex(zips)
                sm, n = np.nan_to_num(s["sum"].to_numpy()), np.nan_to_num(s["count"].to_numpy())
                ok = np.isfinite(t[name])
                prior = float(t[name][ok].mean())
                ws, wn = w @ sm, w @ n
                out[f"geo{int(bw)}_{name}"] = (ws + 5.0 * prior) / (wn + 5.0)
            out[f"geo{int(bw)}_n"] = np.log1p(
                w @ np.nan_to_num(table["price"].reindex(zips)["count"].to_numpy())
            )
        out["geo_size_price"] = out["geo10_ppsf"] + log_pos(tgt["house_size"])
        out["geo_lot_price"] = out["geo10_ppa"] + log_pos(tgt["acre_lot"])
        out["geo_landlot_price"] = out["geo10_landppa"] + log_pos(tgt["acre_lot"])
        return pd.DataFrame(out, index=tgt.index)

    return f_geo


def make_knn(coords: pd.DataFrame, k: int = 10) -> Callable[..., pd.DataFrame]:
    """Mean log price of the k most similar training listings of the same segment nearby."""
    from sklearn.neighbors import NearestNeighbors

    def space(df: pd.DataFrame, land: bool, med: dict[str, float]) -> np.ndarray:
        c = coords.loc[df.index]
        lat = c["lat"].fillna(med["lat"]).to_numpy()
        lon = c["lon"].fillna(med["lon"]).to_numpy()
        x = [lat * 111.0 / 5.0, lon * 111.0 * math.cos(math.radians(35)) / 5.0]  # 5 km = 1
        acre = log_pos(df["acre_lot"])
        x.append(np.where(np.isfinite(acre), acre, med["acre"]) * (2.0 if land else 1.0))
        if not land:
            size = log_pos(df["house_size"])
            x.append(np.where(np.isfinite(size), size, med["size"]) * 3.0)
            x.append(df["bed"].fillna(med["bed"]).clip(upper=10).to_numpy() * 0.5)
            x.append(df["bath"].fillna(med["bath"]).clip(upper=10).to_numpy() * 0.5)
        return np.column_stack(x)

    def f_knn(fit: pd.DataFrame, y: np.ndarray, tgt: pd.DataFrame) -> pd.DataFrame:
        c = coords.loc[fit.index]
        med = {
            "lat": float(c["lat"].median()),
            "lon": float(c["lon"].median()),
            "acre": float(np.nanmedian(log_pos(fit["acre_lot"]))),
            "size": float(np.nanmedian(log_pos(fit["house_size"]))),
            "bed": float(fit["bed"].median()),
            "bath": float(fit["bath"].median()),
        }
        out = pd.DataFrame(
            np.nan, index=tgt.index, columns=["knn_price", "knn_wprice", "knn_dist", "knn_sd"]
        )
        fl, tl = is_land(fit), is_land(tgt)
        for land in (False, True):
            fm, tm = fl == land, tl == land
            if not tm.any():
                continue
            nn = NearestNeighbors(n_neighbors=k).fit(space(fit[fm], land, med))
            d, i = nn.kneighbors(space(tgt[tm], land, med))
            yy = y[fm][i]
            w = 1.0 / (d + 0.3)
            out.loc[tm, "knn_price"] = yy.mean(axis=1)
            out.loc[tm, "knn_wprice"] = (yy * w).sum(axis=1) / w.sum(axis=1)
            out.loc[tm, "knn_dist"] = d.mean(axis=1)
            out.loc[tm, "knn_sd"] = yy.std(axis=1)
        return out

    return f_knn


def f_rel(fit: pd.DataFrame, _y: np.ndarray, tgt: pd.DataFrame) -> pd.DataFrame:
    """Size, beds, baths and lot relative to the ZIP's (else city's, state's) median; no prices."""
    fk, tk = keys(fit), keys(tgt)
    cols = {
        "size": log_pos(fit["house_size"]),
        "acre": log_pos(fit["acre_lot"]),
        "bed": fit["bed"].to_numpy(),
        "bath": fit["bath"].to_numpy(),
    }
    tv = {
        "size": log_pos(tgt["house_size"]),
        "acre": log_pos(tgt["acre_lot"]),
        "bed": tgt["bed"].to_numpy(),
        "bath": tgt["bath"].to_numpy(),
    }
    out = {}
    for name, v in cols.items():
        med = np.full(len(tgt), np.nanmedian(v))
        for lv in ("state", "city", "zip"):
            g = pd.DataFrame({"v": v, "k": fk[lv].to_numpy()}).groupby("k")["v"]
            m_, n = (
                g.median().reindex(tk[lv].to_numpy()).to_numpy(),
                g.count().reindex(tk[lv].to_numpy()).to_numpy(),
            )
            med = np.where(np.nan_to_num(n) >= 5, m_, med)
        out[f"rel_{name}"] = tv[name] - med
    out["rel_acre_per_size"] = tv["acre"] - tv["size"]
    out["size_per_bed"] = tv["size"] - log_pos(tgt["bed"])
    return pd.DataFrame(out, index=tgt.index)


# --- per-seed feature matrices -------------------------------------------------------------


def seed_features(
    frame: pd.DataFrame, coords: pd.DataFrame, seed: int, tag: str = ""
) -> dict[str, object]:
    path = CACHE / f"features{tag}_seed{seed}.pkl"
    if path.exists():
        return pd.read_pickle(path)  # noqa: S301 - our own cache
    parts = split_parts(frame["property_id"], test_share=0.2, calibration_share=0.0, seed=seed)
    train, test = frame[parts == "train"], frame[parts == "test"]
    y = np.log(train["price"].to_numpy())
    enc = ListingEncoder(random_state=seed)
    base_tr, base_te = enc.fit_transform(train, y), enc.transform(test)
    folds = _property_folds(train, N_FOLDS, seed)
    groups = {"base": (base_tr, base_te)}
    for name, fn in (
        ("zip3", f_zip3),
        ("segment", f_segment),
        ("stats", f_stats),
        ("geo", make_geo(coords)),
        ("knn", make_knn(coords)),
        ("broker", f_broker),
    ):
        groups[name] = oof(fn, train, y, test, folds)
    groups["rel"] = (f_rel(train, y, train), f_rel(train, y, test))
    enc10 = ListingEncoder(n_folds=10, random_state=seed)
    groups["base_f10"] = (enc10.fit_transform(train, y), enc10.transform(test))
    out = {
        "groups": groups,
        "y_train": y,
        "y_test": np.log(test["price"].to_numpy()),
        "land_train": is_land(train),
        "land_test": is_land(test),
        "state_test": test["state"].to_numpy(),
        "folds": folds,
    }
    pd.to_pickle(out, path)
    return out


# --- models --------------------------------------------------------------------------------

BASE_PARAMS = {**LIGHTGBM_DEFAULTS}


def lgbm(params: dict, seed: int):  # type: ignore[no-untyped-def]
    from lightgbm import LGBMRegressor

    return LGBMRegressor(**{**BASE_PARAMS, **params}, random_state=seed, n_jobs=1, verbose=-1)


def design(
    data: dict, groups: list[str], drop: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    tr = pd.concat([data["groups"][g][0] for g in groups], axis=1)
    te = pd.concat([data["groups"][g][1] for g in groups], axis=1)
    keep = [c for c in tr.columns if c not in drop]
    return tr[keep].astype("float64"), te[keep].astype("float64")


def fit_predict(
    data: dict,
    seed: int,
    groups: list[str],
    params: dict,
    split: str = "one",
    drop: tuple[str, ...] = (),
    land_params: dict | None = None,
    weights: str | None = None,
    bag: int = 1,
    clean: float | None = None,
) -> np.ndarray:
    """Log-price predictions for the test rows.

    ``clean``: drop training rows whose out-of-fold residual (same property folds) exceeds
    this many log units, then refit: junk listings out of the training set only.
    """
    xtr, xte = design(data, groups, drop)
    y = data["y_train"]
    if clean is not None:
        res = np.zeros(len(y))
        for k in range(N_FOLDS):
            held = data["folds"] == k
            res[held] = y[held] - lgbm(params, seed).fit(xtr[~held], y[~held]).predict(xtr[held])
        keep = np.abs(res) <= clean
        xtr, y = xtr[keep], y[keep]
        data = {**data, "land_train": data["land_train"][keep]}
    w = None
    if weights == "land2":
        w = np.where(data["land_train"], 2.0, 1.0)
    pred = np.zeros(len(xte))
    for b in range(bag):
        s = seed * 100 + b
        if split == "one":
            m = lgbm(params, s).fit(xtr, y, sample_weight=w)
            pred += m.predict(xte)
        else:  # separate models for houses and land
            p = np.zeros(len(xte))
            for land in (False, True):
                fm, tm = data["land_train"] == land, data["land_test"] == land
                prm = {**params, **(land_params or {})} if land else params
                m = lgbm(prm, s).fit(xtr[fm], y[fm])
                p[tm] = m.predict(xte[tm])
            pred += p
    return pred / bag


def scores(data: dict, log_pred: np.ndarray) -> dict[str, float]:
    true, pred = np.exp(data["y_test"]), np.exp(log_pred)
    out = {}
    for seg, mask in (
        ("all", np.ones(len(true), bool)),
        ("houses", ~data["land_test"]),
        ("land", data["land_test"]),
    ):
        m = price_metrics(true[mask], pred[mask])
        out[f"{seg}_mdape"], out[f"{seg}_r2log"] = m["mdape"], m["r2_log"]
    return out


BASE = ["base"]
TUNED = {
    "extra_trees": True,
    "n_estimators": 2000,
    "learning_rate": 0.02,
    "min_child_samples": 5,
    "reg_lambda": 0.0,
    "colsample_bytree": 0.7,
    "max_bin": 63,
}
ALLF = ["base", "zip3", "segment", "stats", "geo", "knn", "rel"]
VARIANTS: dict[str, dict] = {
    "baseline (homeval today)": {"groups": BASE, "params": {}},
    # --- params on the base features
    "base, min_child_samples 5": {"groups": BASE, "params": {"min_child_samples": 5}},
    "base, min_child_samples 40": {"groups": BASE, "params": {"min_child_samples": 40}},
    "base, colsample 0.5": {"groups": BASE, "params": {"colsample_bytree": 0.5}},
    "base, lambda_l2 10": {"groups": BASE, "params": {"reg_lambda": 10.0}},
    "base, huber alpha 0.15": {"groups": BASE, "params": {"alpha": 0.15}},
    "base, huber alpha 0.6": {"groups": BASE, "params": {"alpha": 0.6}},
    "base, L2 regression": {"groups": BASE, "params": {"objective": "regression"}},
    "base, lr 0.03 x 800": {"groups": BASE, "params": {"learning_rate": 0.03, "n_estimators": 800}},
    # --- segments
    "base, separate land/house models": {"groups": BASE, "params": {}, "split": "two"},
    "base, land weight x2": {"groups": BASE, "params": {}, "weights": "land2"},
    # --- feature groups, one at a time
    "+zip3": {"groups": ["base", "zip3"], "params": {}},
    "+segment encodings": {"groups": ["base", "segment"], "params": {}},
    "+price dispersion": {"groups": ["base", "stats"], "params": {}},
    "+geo (ZIP lat/lon kernel)": {"groups": ["base", "geo"], "params": {}},
    "+knn": {"groups": ["base", "knn"], "params": {}},
    "+relative size": {"groups": ["base", "rel"], "params": {}},
    "base, encoder 10 folds": {"groups": ["base_f10"], "params": {}},
    "base, drop train rows |OOF res|>1.0": {"groups": BASE, "params": {}, "clean": 1.0},
    "base, drop train rows |OOF res|>1.5": {"groups": BASE, "params": {}, "clean": 1.5},
    "base, bag of 3 seeds": {"groups": BASE, "params": {}, "bag": 3},
    "all+broker, colsample 0.5": {"groups": [*ALLF, "broker"], "params": {"colsample_bytree": 0.5}},
    "all+broker, colsample 0.3": {"groups": [*ALLF, "broker"], "params": {"colsample_bytree": 0.3}},
    "all+broker, colsample 0.5, mcs 10, l2 5": {
        "groups": [*ALLF, "broker"],
        "params": {"colsample_bytree": 0.5, "min_child_samples": 10, "reg_lambda": 5.0},
    },
    "all+broker, colsample 0.5, lr .03 x 800": {
        "groups": [*ALLF, "broker"],
        "params": {"colsample_bytree": 0.5, "learning_rate": 0.03, "n_estimators": 800},
    },
    "all+broker, colsample 0.5, drop |OOF res|>1.5": {
        "groups": [*ALLF, "broker"],
        "params": {"colsample_bytree": 0.5},
        "clean": 1.5,
    },
    **{
        f"all+broker, colsample 0.3, without {g}": {
            "groups": [x for x in [*ALLF, "broker"] if x != g],
            "params": {"colsample_bytree": 0.3},
        }
        for g in ("zip3", "segment", "stats", "geo", "knn", "rel", "broker")
    },
    "base+geo+knn+segment+broker, colsample 0.3": {
        "groups": ["base", "geo", "knn", "segment", "broker"],
        "params": {"colsample_bytree": 0.3},
    },
    "RECOMMENDED: base+stats+geo+knn+rel+broker, colsample 0.3": {
        "groups": ["base", "stats", "geo", "knn", "rel", "broker"],
        "params": {"colsample_bytree": 0.3},
    },
    "+broker extras": {"groups": ["base", "broker"], "params": {}},
    "base, tuned (extra trees, 2000 x lr .02, mcs 5)": {"groups": BASE, "params": TUNED},
    "base, tuned, 500 trees x lr .05 (the served size)": {
        "groups": BASE,
        "params": {**TUNED, "n_estimators": 500, "learning_rate": 0.05},
    },
    "base, tuned, 500 trees x lr .05, 255 bins": {
        "groups": BASE,
        "params": {**TUNED, "n_estimators": 500, "learning_rate": 0.05, "max_bin": 255},
    },
    "base, extra trees, min_child_samples 5 (500 trees)": {
        "groups": BASE,
        "params": {"extra_trees": True, "min_child_samples": 5},
    },
    "RECOMMENDED, tuned": {
        "groups": ["base", "stats", "geo", "knn", "rel", "broker"],
        "params": {**TUNED, "colsample_bytree": 0.3},
    },
    "RECOMMENDED, tuned, 500 trees x lr .05 (the served size)": {
        "groups": ["base", "stats", "geo", "knn", "rel", "broker"],
        "params": {**TUNED, "colsample_bytree": 0.3, "n_estimators": 500, "learning_rate": 0.05},
    },
    "base+stats+rel+broker (no ZIP table), tuned": {
        "groups": ["base", "stats", "rel", "broker"],
        "params": {**TUNED, "colsample_bytree": 0.3},
    },
    "base+stats+rel+broker (no ZIP table), colsample 0.3": {
        "groups": ["base", "stats", "rel", "broker"],
        "params": {"colsample_bytree": 0.3},
    },
    "base+rel, colsample 0.5": {"groups": ["base", "rel"], "params": {"colsample_bytree": 0.5}},
    "base+rel+stats, colsample 0.5": {
        "groups": ["base", "rel", "stats"],
        "params": {"colsample_bytree": 0.5},
    },
    "base+rel+broker, colsample 0.5": {
        "groups": ["base", "rel", "broker"],
        "params": {"colsample_bytree": 0.5},
    },
    "base+stats+rel+broker (no ZIP table), colsample 0.5": {
        "groups": ["base", "stats", "rel", "broker"],
        "params": {"colsample_bytree": 0.5},
    },
    "+all groups": {"groups": ALLF, "params": {}},
    "+all groups +broker": {"groups": [*ALLF, "broker"], "params": {}},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--only",
        default="",
        help="variant names (substrings) separated by '|' (names contain commas)",
    )
    parser.add_argument(
        "--frame",
        choices=("pipeline", "full_first"),
        default="pipeline",
        help="full_first: ingest the 12-column file first (brokers kept)",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    tag = "_current" if args.frame == "pipeline" else "_full_first"
    args.out = args.out or HERE / f"results{tag}.json"
    frame = load_frame(args.frame)
    coords = zip_coordinates(frame)
    started = time.perf_counter()
    data = {s: seed_features(frame, coords, s, tag) for s in range(args.seeds)}
    print(f"features ready in {time.perf_counter() - started:.0f} s", flush=True)
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    wanted = [v for v in VARIANTS if not args.only or any(o in v for o in args.only.split("|"))]
    for name in wanted:
        spec = VARIANTS[name]
        t0 = time.perf_counter()
        runs = [scores(data[s], fit_predict(data[s], s, **spec)) for s in range(args.seeds)]
        agg = {
            k: [float(np.mean([r[k] for r in runs])), float(np.std([r[k] for r in runs]))]
            for k in runs[0]
        }
        agg["seconds_per_seed"] = (time.perf_counter() - t0) / args.seeds
        agg["per_seed"] = runs
        results[name] = agg
        args.out.write_text(json.dumps(results, indent=1))
        print(
            f"{name:45s} all {agg['all_mdape'][0]:.1%}±{agg['all_mdape'][1]:.1%} "
            f"R2 {agg['all_r2log'][0]:.3f}±{agg['all_r2log'][1]:.3f} | houses "
            f"{agg['houses_mdape'][0]:.1%} {agg['houses_r2log'][0]:.3f} | land "
            f"{agg['land_mdape'][0]:.1%} {agg['land_r2log'][0]:.3f} | "
            f"{agg['seconds_per_seed']:.1f}s",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
