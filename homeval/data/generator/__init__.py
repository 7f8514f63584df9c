"""Synthetic Realtor listings that look like the real national feed, for tests, demos and drift.

The real file is 2.2M rows we may not redistribute, so the feed simulator and the tests
need listings made up on the spot that behave like real ones: the national state mix and
price levels, the status mix (for_sale / sold / ready_to_build) with each status's missing
values, land listings with no bed/bath/size, the same skewed quantiles, properties listed
twice (for sale, then sold), real places whose location moves prices, and a little junk
that the cleaning step must catch.

Where the numbers come from (``homeval/data/README.md`` has the details):

* ``homeval/data/calibration.json``, written by ``scripts/calibrate_generator.py`` from the
  national random sample of the Kaggle file (``shared/data/realtor-national``): state mix,
  per-state $/sqft, house size, land price and status mix, missing-value rates per status,
  land share and lot/size effects by urbanity, quantiles, dates, the sizes of the spatial
  price effects.  The real rows are not needed at run time.
* the ``zipcodes`` package: every listing is in an active STANDARD ZIP of its state, with
  that ZIP's city, so ZIP → latitude/longitude/county agrees with what the model is taught.
  A ZIP's *urbanity* is the number of such ZIPs within 10 km; it sets how many listings
  the ZIP gets, its price premium, its lot and house sizes and its share of land listings.
* the hedonic model (``hedonic`` and ``parameters``; hand-tuned so generated correlations
  match the sample's).

Features are drawn with a Gaussian copula: correlated standard normals pushed through
each field's quantile function (piecewise log-linear between the calibrated quantiles).
Prices then follow a hedonic model (log price rises with log size, baths, lot and
location), and location is spatially coherent: a smooth function of latitude/longitude
(two random Gaussian-kernel fields, 10 and 60 km) plus the urbanity premium plus a small
per-ZIP effect, centred so each state's median $/sqft is the calibrated one.

A generated frame carries values as the feed would send them: floats (NaN when missing)
for the numeric and id fields, strings or None for the rest, dates as ISO strings.

The modules, in the order they build on each other: ``parameters`` (the fixed numbers and
the calibration file), ``places`` (the ZIPs), ``world`` (states and per-ZIP effects),
``state_mix`` (the drift knob), ``sampling``, ``hedonic``, ``feed_rows`` (codes to the
feed's values, junk, malformed values) and ``listings`` (``generate``).
"""
