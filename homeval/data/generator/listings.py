"""``generate``: raw listings in ``LISTING_FIELDS`` order, the same for the same arguments."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from homeval.data.generator.feed_rows import (
    add_junk,
    add_malformed,
    as_frame,
)
from homeval.data.generator.hedonic import (
    house_noise,
    house_terms,
    land_noise,
    land_terms,
    median_lifts,
)
from homeval.data.generator.parameters import (
    BROKER_SPAN,
    EXACT_DUPLICATE_SHARE,
    FEATURE_CORRELATION,
    JUNK_SHARE,
    MALFORMED_SHARE,
    REPEAT_RECORD_SHARE,
    SALE_DISCOUNT,
    SIZE_LOG_SD,
    STATUSES,
    calibration,
)
from homeval.data.generator.sampling import (
    date_ordinals,
    from_counts,
    from_quantiles,
    pick_zips,
    round_prices,
)
from homeval.data.generator.state_mix import (
    state_probabilities,
)
from homeval.data.generator.world import (
    World,
    state_table,
    world,
)

# --- the generator ------------------------------------------------------------------------


def generate(
    n: int,
    *,
    seed: int = 0,
    price_shift: float = 0.0,
    state_weights: Mapping[str, float] | None = None,
    junk_share: float = JUNK_SHARE,
    malformed_share: float = MALFORMED_SHARE,
) -> pd.DataFrame:
    """``n`` raw listings in ``LISTING_FIELDS`` order, the same for the same arguments.

    ``price_shift`` moves the price level (0.1 = every price 10% higher) and
    ``state_weights`` replaces the state mix (names or codes → weights, normalised; unlisted
    states get none): the two drift knobs of the feed simulator.  ``junk_share`` and
    ``malformed_share`` default to the calibrated shares; 0 gives clean rows.
    """
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a whole number >= 0, got {n!r}")
    if not math.isfinite(price_shift) or price_shift <= -1:
        raise ValueError(f"price_shift must be > -1 (a price can't vanish), got {price_shift}")
    for name, share in (("junk_share", junk_share), ("malformed_share", malformed_share)):
        if not 0 <= share <= 0.5:
            raise ValueError(f"{name} must be between 0 and 0.5, got {share}")
    probs = state_probabilities(state_weights)
    rng = np.random.default_rng(seed)
    w = world()
    n = int(n)

    pairs = round(n * REPEAT_RECORD_SHARE / 2) if n >= 20 else 0
    dups = round(n * EXACT_DUPLICATE_SHARE)
    base_n = n - pairs - dups
    props, twin_weight = _properties(rng, w, probs, base_n, pairs, n, price_shift)

    # the second record of each repeated property: the same house, now sold.  Which for_sale
    # listings sold follows each state's sold share (states with many sold records have
    # many pairs); the sold record's prev_sold_date is that sale, and the for_sale record's
    # is the sale before it (or missing, as for any for_sale listing)
    on_sale = np.flatnonzero(props["status"] == 0)
    race = rng.exponential(size=len(on_sale)) / twin_weight[on_sale]
    twin = np.sort(on_sale[np.argpartition(race, pairs - 1)[:pairs]]) if pairs else on_sale[:0]
    second = {name: values[twin] for name, values in props.items()}
    second["status"] = np.ones(pairs, dtype=np.int64)
    second["price"] = round_prices(rng, second["price"] * np.exp(rng.normal(*SALE_DISCOUNT, pairs)))
    sale = date_ordinals(rng, pairs, "sold")
    second["prev_sold_date"] = sale
    earlier = date_ordinals(rng, pairs, "for_sale", before=sale)
    gone = rng.random(pairs) < calibration()["missing"]["for_sale"]["prev_sold_date"]
    props["prev_sold_date"][twin] = np.where(gone, 0, earlier)

    columns = {name: np.concatenate((props[name], second[name])) for name in props}
    records = base_n + pairs
    order = np.concatenate((np.arange(records), rng.integers(0, records, dups))) if dups else None
    shuffle = rng.permutation(n)
    frame = as_frame(w, columns, shuffle if order is None else order[shuffle])
    add_junk(rng, frame, junk_share)
    add_malformed(rng, frame, malformed_share)
    return frame


def _properties(
    rng: np.random.Generator,
    w: World,
    state_probs: np.ndarray,
    n: int,
    pairs: int,
    total: int,
    price_shift: float,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``n`` distinct listings (coded columns), and each one's weight for becoming a
    for_sale → sold pair."""
    cal, st = calibration(), state_table()

    # status: each pair adds a sold record later, so a state's distinct listings hold
    # fewer sold ones (rho = share of sold records that are the second of a pair)
    sold = st.status[:, 1]
    rho = min(pairs / max(total * float(state_probs @ sold), 1e-9), 0.9) if pairs else 0.0
    keep = 1.0 - rho * sold  # distinct listings per record, by state
    base = state_probs * keep
    state = rng.choice(len(st.names), size=n, p=base / base.sum())
    zip_index = pick_zips(rng, w, state)
    status_p = st.status / keep[:, None]
    status_p[:, 1] *= 1.0 - rho
    p = status_p[state]
    u = rng.random(n)
    code = (u >= p[:, 0]).astype(np.int64) + (u >= p[:, 0] + p[:, 1])
    if pairs:
        short = pairs - int((code == 0).sum())
        if short > 0:  # tiny n: make room for the pairs
            code[rng.choice(np.flatnonzero(code != 0), short, replace=False)] = 0
    building = code == 2
    land_share = w.zip_land_share[:, zip_index]  # for_sale, sold
    land = ~building & (rng.random(n) < land_share[np.minimum(code, 1), np.arange(n)])
    # the for_sale listings that will sell look like sold ones: land sells less often
    as_sold = np.where(
        land,
        land_share[1] / np.maximum(land_share[0], 1e-9),
        (1 - land_share[1]) / np.maximum(1 - land_share[0], 1e-9),
    )
    twin_weight = np.maximum(sold[state] / st.status[state, 0] * as_sold, 1e-9)

    # the typical house of the place (state, urbanity), a little bigger when for sale;
    # where houses are bigger they also have more rooms: the room latents move with size
    quant = cal["quantiles"]
    on_sale, sold_share = st.status[:, 0], st.status[:, 1]
    sold_size = cal["status_size"]["sold"]
    ref_size = (
        st.log_size[state]
        + w.zip_size[zip_index]
        + np.where(code == 1, sold_size, 0.0)
        - (sold_share * sold_size / (on_sale + sold_share))[state]
    )
    shift = (st.log_size[state] - float(st.weight @ st.log_size)) / SIZE_LOG_SD
    within = rng.standard_normal((n, 4)) @ np.linalg.cholesky(FEATURE_CORRELATION).T
    z_size, z_lot = within[:, 0], within[:, 3]  # the place's typical sizes are set apart
    z_bed = within[:, 1] + shift * FEATURE_CORRELATION[0, 1]
    z_bath = within[:, 2] + shift * FEATURE_CORRELATION[0, 2]
    size = np.exp(ref_size) * from_quantiles(z_size, quant["relative_size"])
    size[building] = from_quantiles(z_size[building], quant["ready_to_build_size"])
    size = np.round(size)
    bed = from_counts(z_bed, cal["counts"]["bed"])
    bed[building] = from_counts(z_bed[building], cal["counts"]["ready_to_build_bed"])
    bath = from_counts(z_bath, cal["counts"]["bath"])
    lot = np.where(
        land,
        np.exp(w.zip_land_lot[zip_index]) * from_quantiles(z_lot, quant["land_lot"]),
        np.exp(w.zip_house_lot[zip_index]) * from_quantiles(z_lot, quant["house_lot"]),
    )
    lot = np.maximum(np.where(lot < 10, np.round(lot, 2), np.round(lot, 1)), 0.01)

    # prices: the place ($/sqft of the state and the ZIP), then the house.  Status effects
    # are centred on each state's for_sale/sold mix, whose median the calibration gives.
    effect = cal["status_price"]
    mixed = sold_share * effect["sold"] / (on_sale + sold_share)
    land_of = cal["land_share"]  # land's own mix leans to for_sale
    land_sold = sold_share * land_of["sold"]
    mixed_land = land_sold * effect["sold"] / (on_sale * land_of["for_sale"] + land_sold)
    status_effect = np.array([effect[s] for s in STATUSES])[code] - np.where(
        land, mixed_land[state], mixed[state]
    )
    house_lift, land_lift = median_lifts()
    house_price = (
        st.log_ppsf[state]
        + w.zip_location[zip_index]
        + ref_size
        + house_terms(within, np.log(size) - ref_size, house_noise(rng, n))
        - house_lift
    )
    land_price = (
        st.log_land_price[state]
        + w.zip_location[zip_index]
        - w.state_land_offset[state]  # land lies in other places than houses
        + land_terms(z_lot, land_noise(rng, n))
        - land_lift
    )
    log_price = np.where(land, land_price, house_price) + status_effect
    price = round_prices(rng, np.exp(log_price) * (1.0 + price_shift))

    # missing values: land has no bed/bath/size, ready_to_build no bath and no lot, and
    # houses miss some in each status's own pattern (calibration: house_missing_patterns)
    no_bed, no_bath, no_size = land.copy(), land | building, land.copy()
    for k, name in enumerate(("for_sale", "sold")):
        rows = np.flatnonzero((code == k) & ~land)
        table = cal["house_missing_patterns"][name]
        patterns = sorted(table)
        cuts = np.cumsum([table[c] for c in patterns])
        drawn = np.minimum(np.searchsorted(cuts / cuts[-1], rng.random(len(rows))), len(cuts) - 1)
        flags = np.array([[c == "1" for c in pattern] for pattern in patterns])[drawn]
        no_bed[rows] |= flags[:, 0]
        no_bath[rows] |= flags[:, 1]
        no_size[rows] |= flags[:, 2]
    lot_rate = np.array([[cal["lot_missing"][s]["house"], cal["lot_missing"][s]["land"]]
                         for s in STATUSES])  # fmt: skip
    lot_gap = rng.random(n) < lot_rate[code, land.astype(np.int64)]
    missing = cal["missing"]
    price_gap = rng.random(n) < np.array([missing[s]["price"] for s in STATUSES])[code]
    price[price_gap] = np.nan

    psd_gap = rng.random(n) < np.array([missing[s]["prev_sold_date"] for s in STATUSES])[code]
    ordinal = date_ordinals(rng, n, "for_sale")
    sold_rows = code == 1
    ordinal[sold_rows] = date_ordinals(rng, int(sold_rows.sum()), "sold")
    ordinal[psd_gap] = 0

    other = cal["other_missing"]
    broker_low, _ = cal["ids"]["brokered_by"]
    broker = (
        broker_low
        + state * BROKER_SPAN
        + np.floor(w.broker_pool[state] * rng.random(n) ** 2.5).astype(np.int64)
    ).astype(np.float64)
    broker[rng.random(n) < other["brokered_by"]] = np.nan
    street_low, street_high = cal["ids"]["street"]
    street = rng.integers(street_low, street_high, size=n, endpoint=True).astype(np.float64)
    street[rng.random(n) < other["street"]] = np.nan
    city = np.where(rng.random(n) < other["city"], -1, zip_index)
    zip_code = np.where(rng.random(n) < other["zip_code"], -1, zip_index)

    # text fields stay codes until the rows are final (see as_frame)
    columns = {
        "brokered_by": broker,
        "status": code,
        "price": price,
        "bed": np.where(no_bed, np.nan, bed),
        "bath": np.where(no_bath, np.nan, bath),
        "acre_lot": np.where(lot_gap | building, np.nan, lot),
        "street": street,
        "city": city,
        "state": state,
        "zip_code": zip_code,
        "house_size": np.where(no_size, np.nan, size),
        "prev_sold_date": ordinal,
    }
    return columns, twin_weight
